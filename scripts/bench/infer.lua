-- The moonlab side of scripts/bench/infer.sh: batch-1 inference of the MLP
-- 784-512-256-10 (Linear, ReLU, Linear, ReLU, Linear), float32, eval mode.
--   moonlab infer.lua MODE THREADS SECONDS
-- MODE "predict": model:predict(row) per call (the public API);
-- MODE "raw": model(row) per call, the loop inside ml.no_grad (no graph).
-- row is one [1, 784] input. Prints "US <median> <best> <calls>" (us per call).
local ml, nn = ml, ml.nn
local mode, T, budget = arg[1], tonumber(arg[2]), tonumber(arg[3])
local now = ml.now
ml.threads(T)
ml.seed(0)
local model = nn.Sequential { nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10) }
model:eval()
local row = ml.rand(1, 784)
local once
if mode == "predict" then
  once = function() local y <close> = model:predict(row) end
elseif mode == "raw" then
  once = function() local y <close> = model(row) end
else
  error("infer.lua: MODE is predict or raw, got " .. tostring(mode))
end
local function run()
  for _ = 1, 20 do once() end
  local s, reps = {}, 10
  local t_end = now() + budget
  while #s < 5 or (now() < t_end and #s < 100000) do
    local t0 = now()
    for _ = 1, reps do once() end
    s[#s + 1] = (now() - t0) / reps
  end
  return s
end
local s = mode == "raw" and ml.no_grad(run) or run()
table.sort(s)
print(string.format("US %.3f %.3f %d", s[#s // 2 + 1] * 1e6, s[1] * 1e6, #s * 10))
