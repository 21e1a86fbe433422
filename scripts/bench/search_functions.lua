-- The moonlab side of scripts/bench/search.sh: the best value found on
-- standard test functions (minimized) within a budget of trials, per method
-- and seed, and the sampler's own time for a run of TPE trials.
--   moonlab search_functions.lua SEEDS BUDGET     (SEED0=k: seeds k .. k+SEEDS-1, default 1)
-- Prints "BEST <function> <method> <seed> <best value>" and "TIME tpe <trials> <seconds>".
local search = ml.search
local seeds = math.tointeger(tonumber(arg[1])) or 20
local budget = math.tointeger(tonumber(arg[2])) or 60
local seed0 = math.tointeger(tonumber(os.getenv("SEED0") or "1")) or 1 -- tune on one seed set, report on another

local F = {}
function F.branin(p)
  local b, c, t = 5.1 / (4 * math.pi ^ 2), 5 / math.pi, 1 / (8 * math.pi)
  return (p.x2 - b * p.x1 ^ 2 + c * p.x1 - 6) ^ 2 + 10 * (1 - t) * math.cos(p.x1) + 10
end
local A = { { 10, 3, 17, 3.5, 1.7, 8 }, { 0.05, 10, 17, 0.1, 8, 14 }, { 3, 3.5, 1.7, 10, 17, 8 }, { 17, 8, 0.05, 10, 0.1, 14 } }
local P = { { 1312, 1696, 5569, 124, 8283, 5886 }, { 2329, 4135, 8307, 3736, 1004, 9991 },
  { 2348, 1451, 3522, 2883, 3047, 6650 }, { 4047, 8828, 8732, 5743, 1091, 381 } }
local alpha = { 1.0, 1.2, 3.0, 3.2 }
function F.hartmann6(p)
  local s = 0
  for i = 1, 4 do
    local e = 0
    for j = 1, 6 do e = e + A[i][j] * (p["x" .. j] - P[i][j] * 1e-4) ^ 2 end
    s = s + alpha[i] * math.exp(-e)
  end
  return -s
end
function F.rosenbrock4(p)
  local s = 0
  for i = 1, 3 do s = s + 100 * (p["x" .. (i + 1)] - p["x" .. i] ^ 2) ^ 2 + (1 - p["x" .. i]) ^ 2 end
  return s
end
-- mixed: an integer, a choice and a conditional float
function F.mixed(p)
  local v = (p.n - 7) ^ 2 / 10 + (p.x - 0.2) ^ 2
  if p.kind == "b" then v = v + (p.y - 0.7) ^ 2 else v = v + 0.5 end
  return v
end

local SPACES = {
  branin = { x1 = search.uniform(-5, 10), x2 = search.uniform(0, 15) },
  hartmann6 = {}, rosenbrock4 = {},
  mixed = { n = search.int(0, 20), x = search.uniform(-1, 1), kind = { "a", "b", "c" },
    y = search.uniform(0, 1, { when = { kind = "b" } }) },
}
for j = 1, 6 do SPACES.hartmann6["x" .. j] = search.uniform(0, 1) end
for j = 1, 4 do SPACES.rosenbrock4["x" .. j] = search.uniform(-2, 2) end

for _, name in ipairs({ "branin", "hartmann6", "rosenbrock4", "mixed" }) do
  local methods = {}
  for m in (os.getenv("METHODS") or "random,tpe,gp,genetic"):gmatch("[^,]+") do methods[#methods + 1] = m end
  for _, m in ipairs(methods) do
    for seed = seed0, seed0 + seeds - 1 do
      -- tpe_optuna: our TPE with optuna = true (Optuna 3.1's sampler, detail for detail)
      local method, sampler = m, nil
      if m == "tpe_optuna" then method, sampler = "tpe", { optuna = true } end
      local res = search.run(F[name], SPACES[name], { method = method, sampler = sampler, trials = budget, seed = seed, verbose = false })
      print(string.format("BEST %s %s %d %.10g", name, m, seed, res.best_value))
      io.stdout:flush()
    end
  end
end
local t0 = ml.now()
search.run(function(p) return F.branin(p) end, SPACES.branin, { method = "tpe", trials = 200, seed = 1, verbose = false })
print(string.format("TIME tpe 200 %.4f", ml.now() - t0))
