-- The moonlab side of scripts/bench/transformer.sh: one nn.TransformerEncoderLayer
-- (d_model 128, 4 heads, PyTorch's defaults: dim_feedforward 2048, dropout
-- 0.1, ReLU, post-norm), batch_first input (32, 64, 128), training mode.
--   moonlab transformer.lua THREADS STEPS [SEED]
-- A step: zero the gradients, forward, (y * w):sum(), backward. Prints
-- "RESULT <median step ms> <peak RSS MiB> <working set MiB>"
-- (scripts/bench/peak.lua: the steps' peak above the RSS before the first).
local nn = ml.nn
local threads = math.tointeger(tonumber(arg[1])) or 1
local steps = math.tointeger(tonumber(arg[2])) or 20
ml.threads(threads)
ml.seed(math.tointeger(tonumber(arg[3])) or 0)

local peak = dofile("scripts/bench/peak.lua")

local layer = nn.TransformerEncoderLayer(128, 4, { batch_first = true })
local x = ml.randn(32, 64, 128):requires_grad()
local w = ml.randn(32, 64, 128)
local params = layer:parameters()
peak.start()
local times = {}
for s = 1, steps + 3 do
  local t0 = ml.now()
  layer:zero_grad()
  x.grad = nil
  local loss = (layer(x) * w):sum()
  loss:backward()
  local dt = ml.now() - t0
  if s > 3 then times[#times + 1] = dt * 1000 end
end
table.sort(times)
local med = #times % 2 == 1 and times[(#times + 1) // 2] or (times[#times // 2] + times[#times // 2 + 1]) / 2
local total_peak, working = peak.finish()
print(string.format("RESULT %.3f %.1f %.1f", med, total_peak, working))
