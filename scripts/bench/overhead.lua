-- The moonlab side of scripts/bench/overhead.sh: the cost of one tiny op
-- from Lua, c = a + b on two 10-element float32 tensors (the result is
-- dropped; the collector frees it, as in ordinary code).
--   moonlab overhead.lua [SECONDS]
-- Prints "OPS <form> <median ops/s> <best ops/s>" for a + b and ml.add(a, b).
local ml = ml
local budget = tonumber(arg[1]) or 1
local now = ml.now or os.clock
ml.threads(1)
local a, b = ml.rand(10), ml.rand(10)
local add = ml.add
local forms = {
  {"a+b", function(n) for _ = 1, n do local c = a + b end end},
  {"ml.add", function(n) for _ = 1, n do local c = add(a, b) end end},
}
for _, f in ipairs(forms) do
  local name, run = f[1], f[2]
  run(10000) -- warm-up
  local n = 10000 -- batch size: grow until a batch takes >= 10 ms
  while true do
    local t0 = now()
    run(n)
    if now() - t0 >= 0.01 then break end
    n = n * 2
  end
  local s = {}
  local t_end = now() + budget
  while #s < 5 or now() < t_end do
    local t0 = now()
    run(n)
    s[#s + 1] = (now() - t0) / n
  end
  table.sort(s)
  print(string.format("OPS %s %.0f %.0f", name, 1 / s[#s // 2 + 1], 1 / s[1]))
end
