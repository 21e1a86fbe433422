-- The moonlab side of scripts/bench/elementwise.sh: c = a + b (or a * b), a
-- new float32 tensor of N elements per op.
--   moonlab elementwise.lua N THREADS SECONDS add|mul [close|gc]
-- close (default): the result is a `local <close>`, freed at once (as a loop
--   that drops each result and C's malloc/free);
-- gc: the result is dropped and left to the collector.
-- Prints "GBS <median> <best> <calls>", counting 3*4*N bytes per op.
local ml = ml
local N, T, budget, opname = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3]), arg[4] or "add"
local mode = arg[5] or "close"
local now = ml.now or os.clock
ml.threads(T)
ml.seed(1)
local a = ml.rand(N)
local b = ml.rand(N) + 0.5
local once
if opname == "mul" then
  if mode == "gc" then once = function() local c = a * b end
  else once = function() local c <close> = a * b end end
else
  if mode == "gc" then once = function() local c = a + b end
  else once = function() local c <close> = a + b end end
end
for _ = 1, 2 do once() end
local s = {}
local t_end = now() + budget
while #s < 5 or (now() < t_end and #s < 100000) do
  local t0 = now()
  once()
  s[#s + 1] = now() - t0
end
table.sort(s)
local gb = 3 * 4 * N * 1e-9
print(string.format("GBS %.2f %.2f %d", gb / s[#s // 2 + 1], gb / s[1], #s))
