-- scripts/bench/search_jobs.sh's yardstick: one thread of float32 GEMMs for a fixed count; run alone and as two
-- processes at once, it shows how much two processes can get from this machine's two vCPUs.
ml.threads(1) local a = ml.randn(256, 784) local w = ml.randn(784, 256) local t0 = ml.now()
for i = 1, 400 do local y = ml.matmul(a, w) end print(string.format("%.2f", ml.now() - t0))
