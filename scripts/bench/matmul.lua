-- The moonlab side of scripts/bench/matmul.sh.
--   moonlab matmul.lua N THREADS SECONDS [mode]
-- mode "matmul" (default): c = ml.matmul(a, b), output allocated per call;
-- mode "zeros": ml.zeros(N, N) alone (what matmul's output allocation costs).
-- Prints "GFLOPS <median> <best> <calls>" (for zeros: "SECONDS <median> <best> <calls>").
local ml = ml
local N, T, budget = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3])
local mode = arg[4] or "matmul"
local now = ml.now or os.clock
ml.threads(T)
ml.seed(1)
local a, b = ml.rand(N, N) - 0.5, ml.rand(N, N) - 0.5
local function once()
  if mode == "zeros" then
    local c <close> = ml.zeros(N, N)
  else
    local c <close> = ml.matmul(a, b)
  end
end
for _ = 1, 3 do once() end
local s = {}
local t_end = now() + budget
while #s < 5 or (now() < t_end and #s < 100000) do
  local t0 = now()
  once()
  s[#s + 1] = now() - t0
end
table.sort(s)
local med, best = s[#s // 2 + 1], s[1]
if mode == "zeros" then
  print(string.format("SECONDS %.9f %.9f %d", med, best, #s))
else
  local flop = 2.0 * N * N * N
  print(string.format("GFLOPS %.2f %.2f %d", flop / med * 1e-9, flop / best * 1e-9, #s))
end
