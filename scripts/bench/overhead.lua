-- The moonlab side of scripts/bench/overhead.sh: the cost of one tiny op
-- from Lua on 10-element float32 tensors (results are dropped; the
-- collector frees them, as in ordinary code).
--   moonlab overhead.lua [SECONDS] [FORM ...]
--     prints "OPS <form> <median ops/s> <best ops/s>" for each form (all by default)
--   moonlab overhead.lua count FORM N
--     runs FORM N times and nothing else (for callgrind: the instructions of
--     N = 0 and N = 100000 runs, differenced, give instructions per op)
-- The forms and overhead.py's are the same ops with the same names.
local ml = ml
local now = ml.now or os.clock
ml.threads(1)
local a, b = ml.rand(10), ml.rand(10)
local m = ml.rand(2, 5)
local x = ml.rand(1):sum() -- a 0-d tensor
local w = ml.rand(10):requires_grad()
local add, no_grad = ml.add, ml.no_grad
local function noop() end

local forms = {
  {"a+b", function(n) for _ = 1, n do local c = a + b end end},
  {"ml.add", function(n) for _ = 1, n do local c = add(a, b) end end},
  {"a*2", function(n) for _ = 1, n do local c = a * 2 end end},
  {"a:tanh()", function(n) for _ = 1, n do local c = a:tanh() end end},
  {"a:sum()", function(n) for _ = 1, n do local c = a:sum() end end},
  {"a:mean()", function(n) for _ = 1, n do local c = a:mean() end end},
  {"a:reshape(2,5)", function(n) for _ = 1, n do local c = a:reshape(2, 5) end end},
  {"m:t()", function(n) for _ = 1, n do local c = m:t() end end},
  {"m[2]", function(n) for _ = 1, n do local c = m[2] end end},
  {"x:item()", function(n) for _ = 1, n do local c = x:item() end end},
  {"a:shape()", function(n) for _ = 1, n do local c = a:shape() end end},
  {"no_grad(f)", function(n) for _ = 1, n do no_grad(noop) end end},
  -- one recorded product, one sum, and a backward of two nodes into w.grad
  {"(w*a):sum():backward()", function(n)
    for _ = 1, n do
      local l = (w * a):sum()
      l:backward()
    end
  end},
}
local by_name = {}
for _, f in ipairs(forms) do by_name[f[1]] = f end

if arg[1] == "count" then
  local f = by_name[arg[2]] or error("overhead.lua: unknown form '" .. tostring(arg[2]) .. "'")
  f[2](tonumber(arg[3]) or 0)
  return
end

local budget = tonumber(arg[1]) or 1
local chosen = forms
if arg[2] then
  chosen = {}
  for i = 2, #arg do chosen[#chosen + 1] = by_name[arg[i]] or error("overhead.lua: unknown form '" .. arg[i] .. "'") end
end
for _, f in ipairs(chosen) do
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
