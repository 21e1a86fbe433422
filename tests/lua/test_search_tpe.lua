-- search.TPESampler: optuna = true against Optuna 3.1's TPESampler as a
-- distribution of suggestions (fixtures from scripts/gen_tpe_suggest_fixtures.py),
-- the default's pieces (Scott widths, expected-improvement weights, integer
-- kernels, groups by condition) and its search against Optuna's rules.
local search = ml.search
local TPE = search.TPESampler
local rng = require "moonlab.core.rng"
local space = search.space

local fixture = ml.json.decode(T.read_file("tests/fixtures/search/tpe_suggest.json"))

local SPACES = {
  branin = { x1 = search.uniform(-5, 10), x2 = search.uniform(0, 15) },
  mixed = { n = search.int(0, 20), x = search.uniform(-1, 1), kind = { "a", "b", "c" },
    y = search.uniform(0, 1, { when = { kind = "b" } }) },
}

-- the sampler's suggestions after the case's history, over many seeds
local function suggestions(sampler, c, n)
  local compiled = space.compile("t", SPACES[c.name])
  local trials = {}
  for i, h in ipairs(c.history) do trials[i] = { number = i - 1, params = h.params, value = h.value, state = "complete" } end
  local out = {}
  for k = 1, n do
    out[k] = sampler:suggest { space = compiled, trials = trials, rng = rng.new(k), direction = "minimize", number = #trials }
  end
  return out
end

-- mean and histogram of one parameter over the suggestions that have it
local function stats(sug, name, want)
  local bins = #want.freq
  local freq, n, sum, sq = {}, 0, 0, 0
  for b = 1, bins do freq[b] = 0 end
  for _, p in ipairs(sug) do
    local v = p[name]
    if v ~= nil then
      n, sum, sq = n + 1, sum + v, sq + v * v
      local b = math.min(bins, math.floor((v - want.low) / (want.high - want.low) * bins) + 1)
      freq[b] = freq[b] + 1
    end
  end
  for b = 1, bins do freq[b] = freq[b] / n end
  return sum / n, freq, n
end

T.test("TPE{optuna = true} suggests as Optuna 3.1's TPESampler does (floats, an integer, a choice, a conditional float)", function()
  local s = TPE { optuna = true }
  local N = 2000
  for _, c in ipairs(fixture.cases) do
    local sug = suggestions(s, c, N)
    for _, name in ipairs({ "x1", "x2", "n", "x", "y" }) do
      local want = c[name]
      if want then
        local mean, freq = stats(sug, name, want)
        -- the difference of two sample means: 5 standard errors (N of ours, the fixture's n of Optuna's)
        local tol = 5 * want.std * math.sqrt(1 / N + 1 / want.n) + 1e-9
        T.near(mean, want.mean, tol, string.format("%s %s: mean %g, Optuna's %g", c.name, name, mean, want.mean))
        for b = 1, #freq do
          T.ok(math.abs(freq[b] - want.freq[b]) < 0.035,
            string.format("%s %s bin %d: %.4f, Optuna's %.4f", c.name, name, b, freq[b], want.freq[b]))
        end
      end
    end
    if c.kind then
      local count = { a = 0, b = 0, c = 0 }
      for _, p in ipairs(sug) do count[p.kind] = count[p.kind] + 1 end
      for k, want in pairs(c.kind) do T.near(count[k] / N, want, 0.03, k) end
    end
  end
end)

T.test("TPE's default estimator: Scott widths, expected-improvement weights, integer kernels one step wide", function()
  -- Scott's rule over the centres (the prior's 0.5 among them): 1.059 min(IQR / 1.34, sd) m^(-1/5)
  local xs = { 0.3, 0.1, 0.5, 0.2 }
  local mean = (0.1 + 0.2 + 0.3 + 0.5) / 4
  local sd = math.sqrt(((0.1 - mean) ^ 2 + (0.2 - mean) ^ 2 + (0.3 - mean) ^ 2 + (0.5 - mean) ^ 2) / 3)
  local iqr = 0.35 - 0.175 -- numpy's percentiles 75 and 25 of 0.1, 0.2, 0.3, 0.5
  T.near(TPE._scott_width(xs), 1.059 * math.min(iqr / 1.34, sd) * 4 ^ -0.2, 1e-12)
  T.near(TPE._scott_width({ 0.2, 0.9, 0.5, 0.6, 0.55 }), 1.059 * 0.1 / 1.34 * 5 ^ -0.2, 1e-12) -- IQR 0.6 - 0.5 below sd
  -- each below trial weighs its improvement over the split (values 1, 2, 3; split 5: 4, 3, 2), scaled to
  -- a mean of 1, beside the prior's 1: {4/3, 1, 2/3, 1} / 4
  local s = TPE {}
  local trials = { { value = 1 }, { value = 2 }, { value = 3 } }
  local w = TPE._kernel_weights(s, trials, 1, 5)
  T.all_near({ math.exp(w[1]), math.exp(w[2]), math.exp(w[3]), math.exp(w[4]) }, { 1 / 3, 1 / 4, 1 / 6, 1 / 4 }, 1e-12)
  -- maximizing (sign -1): values 5, 4, 3 over a split at 1 (-1 once negated) improve by 4, 3, 2
  local wm = TPE._kernel_weights(s, { { value = 5 }, { value = 4 }, { value = 3 } }, -1, -1)
  T.near(math.exp(wm[1]) / math.exp(wm[3]), 4 / 2, 1e-12)
  -- no split (the above trials): all alike
  local wa = TPE._kernel_weights(s, trials, 1, nil)
  T.near(math.exp(wa[1]), 1 / 4, 1e-12)
  T.near(math.exp(wa[4]), 1 / 4, 1e-12)
  -- an integer whose good trials all hold 6: the kernels stay a step wide (0..20: 5% of the range would be 1.05)
  local d = { n = search.int(0, 100), x = search.uniform(0, 1) }
  local same = {}
  for i = 1, 5 do same[i] = { params = { n = 6, x = 0.1 * i }, value = i } end
  local est = TPE._estimator(s, { "n", "x" }, d, same, 1, 10)
  for i = 1, 5 do T.ok(est.dims[1].sigmas[i] >= 5 and est.dims[1].sigmas[i] < 5.1, est.dims[1].sigmas[i]) end -- 5% of 101
  local narrow = { n = search.int(0, 10), x = search.uniform(0, 1) }
  est = TPE._estimator(s, { "n", "x" }, narrow, same, 1, 10)
  for i = 1, 5 do T.near(est.dims[1].sigmas[i], 1, 1e-12) end -- one step, above 5% of 11
  T.near(est.dims[1].sigmas[6], 11, 1e-12) -- the prior: the whole range
  for i = 1, 5 do T.ok(est.dims[2].sigmas[i] >= 0.05 - 1e-12 and est.dims[2].sigmas[i] <= 0.5) end
end)

T.test("TPE's groups: the parameters under the same condition share a joint density", function()
  local a, b = search.uniform(0, 1, { when = { kind = "b" } }), search.uniform(0, 1, { when = { kind = "b" } })
  T.eq(TPE._group_key(a), TPE._group_key(b))
  T.ok(TPE._group_key(a) ~= TPE._group_key(search.uniform(0, 1, { when = { kind = "c" } })))
  T.ok(TPE._group_key(a) ~= TPE._group_key(search.uniform(0, 1)))
  T.ok(TPE._group_key(search.uniform(0, 1, { when = { k = 1 } })) ~= TPE._group_key(search.uniform(0, 1, { when = { k = "1" } })))
  -- a conditional pair found jointly, and only when its condition holds
  local function f(p)
    if p.kind == "a" then return 1 + (p.u - 0.3) ^ 2 end
    return (p.y - 0.7) ^ 2 + (p.z - p.y) ^ 2
  end
  local sp = { kind = { "a", "b" }, u = search.uniform(0, 1), y = search.uniform(0, 1, { when = { kind = "b" } }),
    z = search.uniform(0, 1, { when = { kind = "b" } }) }
  local res = search.run(f, sp, { method = "tpe", trials = 50, seed = 3, verbose = false })
  T.eq(res.best_params.kind, "b")
  T.ok(res.best_value < 0.02, res.best_value)
  for _, t in ipairs(res.trials) do T.eq(t.params.y == nil, t.params.kind == "a") T.eq(t.params.z == nil, t.params.kind == "a") end
end)

T.test("TPE: the default searches better than Optuna 3.1's rules (optuna = true) on Rosenbrock-4 and a 6-D ellipsoid", function()
  local function rosenbrock4(p)
    local s = 0
    for i = 1, 3 do s = s + 100 * (p["x" .. (i + 1)] - p["x" .. i] ^ 2) ^ 2 + (1 - p["x" .. i]) ^ 2 end
    return s
  end
  local function ellipsoid6(p)
    local s = 0
    for j = 1, 6 do s = s + j * (p["x" .. j] - 0.1 * j) ^ 2 end
    return s
  end
  for _, c in ipairs({ { "Rosenbrock-4", rosenbrock4, 4, -2, 2 }, { "ellipsoid-6", ellipsoid6, 6, 0, 1 } }) do
    local name, f, dims = c[1], c[2], c[3]
    local sp = {}
    for j = 1, dims do sp["x" .. j] = search.uniform(c[4], c[5]) end
    local sum = { new = 0, optuna = 0 }
    for seed = 1, 8 do
      sum.new = sum.new + search.run(f, sp, { method = "tpe", trials = 50, seed = seed, verbose = false }).best_value
      sum.optuna = sum.optuna + search.run(f, sp, { method = "tpe", sampler = { optuna = true }, trials = 50, seed = seed,
        verbose = false }).best_value
    end
    T.ok(sum.new < sum.optuna, string.format("%s: default %.3f, optuna = true %.3f", name, sum.new / 8, sum.optuna / 8))
  end
  -- maximizing works the same way round
  local sp = {}
  for j = 1, 4 do sp["x" .. j] = search.uniform(-2, 2) end
  local res = search.run(function(p) return -rosenbrock4(p) end, sp,
    { method = "tpe", trials = 50, seed = 1, direction = "maximize", verbose = false })
  T.ok(res.best_value > -30, res.best_value)
end)

T.test("TPE: odd histories (values outside a changed space, a vanished choice, infinite values) still give valid suggestions", function()
  local sp = space.compile("t", { x = search.uniform(0, 1), k = { "a", "b" }, n = search.int(1, 100, { log = true }),
    lr = search.loguniform(1e-4, 1) })
  local trials = {}
  for i = 1, 30 do
    trials[i] = { number = i - 1, state = i % 7 == 0 and "pruned" or "complete", value = (i % 5) * 1.0,
      params = { x = i % 3 == 0 and 1.5 or i / 31, k = i % 4 == 0 and "zzz" or "a", n = i, lr = i % 6 ~= 0 and 10 ^ (-i / 8) or nil } }
  end
  trials[31] = { number = 30, state = "complete", value = math.huge, params = { x = 0.5, k = "b", n = 3, lr = 0.1 } }
  trials[32] = { number = 31, state = "complete", value = -math.huge, params = { x = 0.5, k = "b", n = 3, lr = 0.1 } }
  for _, o in ipairs({ {}, { optuna = true } }) do
    local s = TPE(o)
    for k = 1, 10 do
      local p = s:suggest { space = sp, trials = trials, rng = rng.new(k), direction = k % 2 == 0 and "maximize" or "minimize", number = 32 }
      T.ok(p.x >= 0 and p.x <= 1, p.x)
      T.ok(p.k == "a" or p.k == "b", p.k)
      T.ok(math.type(p.n) == "integer" and p.n >= 1 and p.n <= 100, p.n)
      T.ok(p.lr >= 1e-4 and p.lr <= 1, p.lr)
    end
  end
end)

T.test("TPESampler: clear errors for its options", function()
  T.raises(function() TPE { bandwidth = "scot" } end, "bandwidth must be one of 'scott', 'optuna'")
  T.raises(function() TPE { weights = "uniform" } end, "weights must be one of")
  T.raises(function() TPE { min_bandwidth = 0.7 } end, "min_bandwidth must be a number in [0, 0.5]")
  T.raises(function() TPE { optuna = "yes" } end, "optuna must be a boolean")
  T.raises(function() TPE { multivariat = true } end, "did you mean 'multivariate'")
end)
