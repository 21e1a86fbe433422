-- The moonlab side of scripts/bench/math.sh: each op makes a new tensor of N
-- elements (a `local <close>`, freed at once, as PyTorch frees its result).
--   moonlab math.lua N SECONDS op[,op...]
-- ops: add mul exp log tanh sigmoid gelu (float32), exp64 tanh64 (float64).
-- Inputs (the same on both sides): x uniform in [-3, 3), for log p uniform
-- in [0.5, 1.5), the second operand of add/mul uniform in [0.5, 1.5).
-- Prints "OP <name> <median ns/element> <best ns/element> <calls>" per op.
local ml = ml
local N, budget = tonumber(arg[1]), tonumber(arg[2])
local ops = {}
for name in (arg[3] or "exp"):gmatch("[^,]+") do ops[#ops + 1] = name end
ml.threads(1)
ml.seed(1)
local x32 = ml.rand(N) * 6 - 3
local p32 = ml.rand(N) + 0.5
local x64 = x32:to("float64")
local run = {
  add = function() local c <close> = x32 + p32 end,
  mul = function() local c <close> = x32 * p32 end,
  exp = function() local c <close> = x32:exp() end,
  log = function() local c <close> = p32:log() end,
  tanh = function() local c <close> = x32:tanh() end,
  sigmoid = function() local c <close> = x32:sigmoid() end,
  gelu = function() local c <close> = x32:gelu() end,
  exp64 = function() local c <close> = x64:exp() end,
  tanh64 = function() local c <close> = x64:tanh() end,
}
for _, name in ipairs(ops) do
  local once = assert(run[name], "math.lua: unknown op " .. name)
  for _ = 1, 2 do once() end
  local s = {}
  local t_end = ml.now() + budget
  while #s < 5 or (ml.now() < t_end and #s < 100000) do
    local t0 = ml.now()
    once()
    s[#s + 1] = ml.now() - t0
  end
  table.sort(s)
  print(string.format("OP %s %.4f %.4f %d", name, s[#s // 2 + 1] * 1e9 / N, s[1] * 1e9 / N, #s))
end
