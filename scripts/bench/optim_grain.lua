-- scripts/bench/optim_grain.lua [THREADS]: one fused Adam step on a single parameter of n elements
-- (16K to 4M) at the given thread count, in us per step and ns per element; run at 1 and at 2 threads
-- to see from what size a second thread pays (ops/optim.c's OPTIM_GRAIN comes from it).
ml.threads(tonumber(arg[1]))
for _, n in ipairs { 16384, 65536, 262144, 1048576, 4194304 } do
  local p = ml.randn(n):requires_grad()
  local opt = ml.optim.Adam({ p }, { lr = 1e-3 })
  local loss = (p * p):sum()
  loss:backward()
  for i = 1, 20 do opt:step() end
  local reps = math.max(20, 20000000 // n)
  local t0 = ml.now()
  for i = 1, reps do opt:step() end
  local dt = (ml.now() - t0) / reps
  print(string.format("threads %s n %8d: %8.1f us/step  %.2f ns/elem", arg[1], n, dt * 1e6, dt * 1e9 / n))
end
