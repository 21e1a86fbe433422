-- The moonlab side of scripts/bench/matmul.sh.
--   moonlab matmul.lua M N K TRANS THREADS SECONDS
-- c = ml.matmul(a, b) in float32, op(a) [M, K], op(b) [K, N]; TRANS is NN,
-- NT, TN or TT, a T operand a transposed view of a contiguous tensor (as
-- W^T in nn.Linear). The output is allocated per call, as in user code.
-- A sample is enough calls for ~20 us (tiny products: the clock's grain).
-- Prints "GFLOPS <median> <best> <calls> <median us per call>".
local ml = ml
local M, N, K = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3])
local trans, T, budget = arg[4], tonumber(arg[5]), tonumber(arg[6])
local now = ml.now
ml.threads(T)
ml.seed(1)
local a = trans:sub(1, 1) == "T" and (ml.rand(K, M) - 0.5):t() or ml.rand(M, K) - 0.5
local b = trans:sub(2, 2) == "T" and (ml.rand(N, K) - 0.5):t() or ml.rand(K, N) - 0.5
local matmul = ml.matmul
local function once()
  local c <close> = matmul(a, b)
end
local t0 = now()
for _ = 1, 3 do once() end
local one = (now() - t0) / 3
local reps = one < 20e-6 and math.floor(20e-6 / math.max(one, 1e-8)) + 1 or 1
local s = {}
local t_end = now() + budget
while #s < 5 or (now() < t_end and #s < 100000) do
  t0 = now()
  for _ = 1, reps do once() end
  s[#s + 1] = (now() - t0) / reps
end
table.sort(s)
local med, best = s[#s // 2 + 1], s[1]
local flop = 2.0 * M * N * K
print(string.format("GFLOPS %.2f %.2f %d %.3f", flop / med * 1e-9, flop / best * 1e-9, #s * reps, med * 1e6))
