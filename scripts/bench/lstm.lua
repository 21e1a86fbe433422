-- The moonlab side of scripts/bench/lstm.sh: nn.LSTM(64, 128, {num_layers = L}),
-- input (T = 50, B = 64, 64), float32; one iteration is the forward, the
-- loss sum(y * w) + sum(h_n) + sum(c_n) and the backward to every parameter
-- and the input.
--   moonlab lstm.lua THREADS LAYERS ITERS [SEED]
-- Prints "RESULT <median fwd+bwd ms> <median fwd ms> <peak RSS MiB> <loop peak MiB>"
-- (scripts/bench/peak.lua: the loop's peak above the RSS before it).
local nn = ml.nn
local threads = math.tointeger(tonumber(arg[1])) or 1
local layers = math.tointeger(tonumber(arg[2])) or 1
local iters = math.tointeger(tonumber(arg[3])) or 20
ml.threads(threads)
ml.seed(math.tointeger(tonumber(arg[4])) or 0)

local peak = dofile("scripts/bench/peak.lua")

local lstm = nn.LSTM(64, 128, { num_layers = layers })
local x = ml.randn({ 50, 64, 64 }):requires_grad()
local w = ml.randn({ 50, 64, 128 })
peak.start()
local tot, fwd = {}, {}
for i = 1, iters + 3 do
  local t0 = ml.now()
  local y, st = lstm(x)
  local t1 = ml.now()
  local loss = (y * w):sum() + st[1]:sum() + st[2]:sum()
  loss:backward()
  local t2 = ml.now()
  lstm:zero_grad()
  x.grad = nil
  if i > 3 then tot[#tot + 1], fwd[#fwd + 1] = (t2 - t0) * 1e3, (t1 - t0) * 1e3 end
end
local function median(v)
  table.sort(v)
  local n = #v
  return n % 2 == 1 and v[(n + 1) // 2] or (v[n // 2] + v[n // 2 + 1]) / 2
end
local total_peak, loop_peak = peak.finish()
print(string.format("RESULT %.3f %.3f %.1f %.1f", median(tot), median(fwd), total_peak, loop_peak))
