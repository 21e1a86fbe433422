--- search.TPESampler: the Tree-structured Parzen Estimator (Bergstra et al.
-- 2011). After n_startup_trials random trials, the finished trials are split
-- into the best gamma(n) ("below") and the rest ("above"); a Parzen density
-- l(x) is fitted to the below trials and g(x) to the above ones (truncated
-- Gaussians around each observation plus a wide prior component; weighted
-- counts for categorical parameters); n_ei_candidates draws from l are scored
-- by log l(x) - log g(x), which is monotone in expected improvement, and the
-- best is taken. Integers and log scales work in their own (rounded / log)
-- space.
--
-- The parameters that exist under the same condition (all the unconditional
-- ones; those with the same `when`) form a group with one joint density, a
-- kernel per trial over all of them at once, so a candidate keeps the
-- correlations of the good trials (Branin's valley, Rosenbrock's); a
-- conditional group uses only the trials in which it existed, so a tree of
-- parameters is handled the way the method's name says.
--
-- The defaults follow Watanabe's ablation study of TPE (2023, "Tree-structured
-- Parzen estimator: understanding its algorithm components and their roles")
-- and search better than Optuna 3.1's on the standard functions
-- (scripts/bench/search.sh): multivariate kernels, widths by Scott's rule
-- from the spread of the observations (clipped to [min_bandwidth, 0.5] of the
-- range, min_bandwidth 0.05 chosen on seeds the bench does not report; at
-- least one step for integers), the exact mixture density, and the below
-- trials weighted by their improvement over the split. optuna = true gives
-- Optuna 3.1's TPESampler instead (univariate, widths from the gaps to the
-- neighbours with magic clipping, its density without the kernels'
-- -log(sigma), recent trials weighted up beyond 25); both share
-- n_startup_trials 10, n_ei_candidates 24, gamma(n) = min(ceil(0.1 n), 25)
-- and prior_weight 1.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local space = require "moonlab.search.space"
local mass = require("moonlab.search.samplers.normal").mass

local exp, log, sqrt, huge = math.exp, math.log, math.sqrt, math.huge

local TPE = class.Object:extend("search.TPESampler",
  "search.TPESampler([{n_startup_trials=10, n_ei_candidates=24, gamma=fn(n)|0.1, prior_weight=1, multivariate=true, "
  .. "bandwidth='scott'|'optuna', min_bandwidth=0.05, weights='ei'|'optuna', width_weighted=false, consider_magic_clip=true, optuna=false}]) — "
  .. "Bayesian optimization by Tree-structured Parzen Estimators")

function TPE:init(opts)
  local fn = "search.TPESampler"
  opts = checks.options(fn, opts, { "n_startup_trials", "n_ei_candidates", "gamma", "prior_weight", "consider_magic_clip",
    "width_weighted", "multivariate", "bandwidth", "min_bandwidth", "weights", "optuna" })
  local o31 = checks.boolean(fn, "optuna", opts.optuna, false) -- Optuna 3.1's TPESampler, detail for detail
  self.n_startup_trials = opts.n_startup_trials ~= nil and checks.integer(fn, "n_startup_trials", opts.n_startup_trials, 0) or 10
  self.n_ei_candidates = opts.n_ei_candidates ~= nil and checks.integer(fn, "n_ei_candidates", opts.n_ei_candidates, 1) or 24
  local g = opts.gamma
  if g == nil then self.gamma = function(n) return math.min(math.ceil(0.1 * n), 25) end
  elseif type(g) == "function" then self.gamma = g
  else
    checks.number(fn, "gamma", g, 0, 1)
    self.gamma = function(n) return math.ceil(g * n) end
  end
  self.prior_weight = opts.prior_weight ~= nil and checks.number(fn, "prior_weight", opts.prior_weight, 0) or 1.0
  self.consider_magic_clip = checks.boolean(fn, "consider_magic_clip", opts.consider_magic_clip, true)
  self.multivariate = checks.boolean(fn, "multivariate", opts.multivariate, not o31)
  self.bandwidth = checks.one_of(fn, "bandwidth", opts.bandwidth, { "scott", "optuna" }, o31 and "optuna" or "scott")
  self.min_bandwidth = opts.min_bandwidth ~= nil and checks.number(fn, "min_bandwidth", opts.min_bandwidth, 0, 0.5) or 0.05
  self.weights = checks.one_of(fn, "weights", opts.weights, { "ei", "optuna" }, o31 and "optuna" or "ei")
  self.width_weighted = checks.boolean(fn, "width_weighted", opts.width_weighted, o31)
end

local LOG_SQRT_2PI = 0.5 * log(2 * math.pi)

-- log(sum(exp(terms))) with top = max(terms), the mixture's density in log space
local function log_sum_exp(terms, n, top)
  if top == -huge then return -huge end
  local sum = 0
  for i = 1, n do sum = sum + exp(terms[i] - top) end
  return top + log(sum)
end

-- ---- the weights of the kernels ---------------------------------------------------------------

-- Optuna's default_weights over the n observations of one estimator: flat up
-- to 25, then a ramp that favours the recent ones.
local function observation_weights(n)
  local w = {}
  if n < 25 then
    for i = 1, n do w[i] = 1 end
  else
    local ramp = n - 25
    for i = 1, ramp do w[i] = ramp == 1 and 1 / n or (1 / n + (1 - 1 / n) * (i - 1) / (ramp - 1)) end
    for i = ramp + 1, n do w[i] = 1 end
  end
  return w
end

-- The kernels' log-weights (observations in order, the prior last), normalized.
-- weights = "ei": with split (the value that splits below from above, in the
-- minimized sense; given for the below trials) each trial weighs its
-- improvement over the split, scaled to a mean of 1 (Watanabe's
-- expected-improvement weighting), without it all weigh 1. weights =
-- "optuna": Optuna's ramp.
local function kernel_weights(self, trials, sign, split)
  local n = #trials
  local w
  if self.weights == "ei" and split then
    w = {}
    local total = 0
    for i, t in ipairs(trials) do
      w[i] = math.max(split - sign * t.value, 1e-12)
      total = total + w[i]
    end
    for i = 1, n do w[i] = total < huge and w[i] * n / total or 1 end -- infinite values: all alike
  elseif self.weights == "ei" then
    w = {}
    for i = 1, n do w[i] = 1 end
  else
    w = observation_weights(n)
  end
  w[n + 1] = self.prior_weight
  local total = 0
  for i = 1, n + 1 do total = total + w[i] end
  local logw = {}
  for i = 1, n + 1 do logw[i] = w[i] > 0 and log(w[i] / total) or -huge end
  return logw
end

-- ---- one parameter's kernels -------------------------------------------------------------------

-- Optuna 3.1's univariate widths: the larger gap to the neighbours among the
-- sorted centres (the prior's included) with the bounds at both ends, the
-- outermost centres looking only inwards (consider_endpoints = False).
local function gap_widths(mus, low, high)
  local m = #mus
  local idx = {}
  for i = 1, m do idx[i] = i end
  table.sort(idx, function(a, b) return mus[a] < mus[b] end)
  local sigmas = {}
  for r, i in ipairs(idx) do
    local left = r > 1 and mus[idx[r - 1]] or low
    local right = r < m and mus[idx[r + 1]] or high
    if m >= 2 and r == 1 then sigmas[i] = right - mus[i]
    elseif m >= 2 and r == m then sigmas[i] = mus[i] - left
    else sigmas[i] = math.max(mus[i] - left, right - mus[i]) end
  end
  return sigmas
end

-- Scott's rule as in Watanabe's TPE: 1.059 min(IQR / 1.34, sd) m^(-1/5) over
-- the m centres (the prior's included), one width for all of them.
local function scott_width(mus)
  local m = #mus
  local xs, mean = {}, 0
  for i = 1, m do xs[i] = mus[i] mean = mean + mus[i] end
  mean = mean / m
  local var = 0
  for i = 1, m do var = var + (xs[i] - mean) ^ 2 end
  local sd = sqrt(var / math.max(1, m - 1))
  table.sort(xs)
  local function quantile(q) -- linear interpolation, as numpy's percentile
    local h = (m - 1) * q
    local f = math.floor(h)
    local c = math.min(m - 1, f + 1)
    return xs[f + 1] + (h - f) * (xs[c + 1] - xs[f + 1])
  end
  return 1.059 * math.min((quantile(0.75) - quantile(0.25)) / 1.34, sd) * m ^ -0.2
end

-- A numeric parameter's kernels on [low, high] (its internal space) over the
-- observations obs: {mus, sigmas, cq, cs, low, high, q}, the prior last;
-- cq[i] is -log of kernel i's mass within the bounds, cs[i] the constant part
-- of its log density (cq[i], and -log sigma unless width_weighted). How the widths come: "gaps" (Optuna's univariate
-- rule), "joint" (Optuna's multivariate rule, 0.2 n^(-1/(d+4)) of the range)
-- or "scott".
local function numeric_kernels(obs, low, high, rule, opts)
  local n = #obs
  local mus = {}
  for i = 1, n do mus[i] = obs[i] end
  mus[n + 1] = 0.5 * (low + high)
  local range = high - low
  local sigmas, mins, maxs
  if rule == "scott" then
    local s = scott_width(mus)
    sigmas = {}
    for i = 1, n do sigmas[i] = s end
    -- a parameter on a grid: kernels at least one step wide, so that they give the neighbours of a good value a real chance
    mins, maxs = math.max(opts.min_bandwidth * range, opts.q or 0), 0.5 * range
  else
    if rule == "gaps" then sigmas = gap_widths(mus, low, high)
    else
      sigmas = {}
      for i = 1, n do sigmas[i] = opts.sigma0 * range end
    end
    mins = opts.magic_clip and range / math.min(100, 1 + n + 1) or 1e-12
    maxs = range
  end
  for i = 1, n do sigmas[i] = math.min(maxs, math.max(mins, sigmas[i])) end
  sigmas[n + 1] = range
  local cq, cs = {}, {}
  for i = 1, n + 1 do
    local s = sigmas[i]
    cq[i] = -log(math.max(mass((low - mus[i]) / s, (high - mus[i]) / s), 1e-300))
    cs[i] = cq[i] - (opts.width_weighted and 0 or log(s))
  end
  return { mus = mus, sigmas = sigmas, cq = cq, cs = cs, low = low, high = high, q = opts.q }
end

-- add each kernel's log density at x to acc[1..n+1]. With q (a parameter on a
-- grid: integers) each kernel gives the mass of [x - q/2, x + q/2] within the
-- bounds over its truncated mass; without q the truncated normal's log
-- density (without its -log(sigma) when width_weighted: that is what Optuna
-- 3.1's truncnorm.logpdf computes, so its wide kernels count for more).
local function numeric_add(k, x, acc)
  local mus, sigmas, cs = k.mus, k.sigmas, k.cs
  local q = k.q
  if q then
    local lo, hi = math.max(x - q / 2, k.low), math.min(x + q / 2, k.high)
    for i = 1, #mus do
      local s = sigmas[i]
      local m = mass((lo - mus[i]) / s, (hi - mus[i]) / s)
      acc[i] = acc[i] + (m > 0 and log(m) or -huge) + k.cq[i]
    end
  else
    for i = 1, #mus do
      local z = (x - mus[i]) / sigmas[i]
      acc[i] = acc[i] - 0.5 * z * z - LOG_SQRT_2PI + cs[i]
    end
  end
end

-- a draw from kernel i, truncated to the bounds (rejection from its normal)
local function numeric_draw(k, i, r)
  local mu, s = k.mus[i], k.sigmas[i]
  for _ = 1, 100 do
    local x = r:normal(mu, s)
    if x >= k.low and x <= k.high then return x end
  end
  return math.min(k.high, math.max(k.low, mu))
end

-- Optuna's categorical kernels: one per observation (its choice plus
-- prior_weight / (n + 1) on every choice, normalized) and a uniform prior
-- kernel; rows of log-probabilities.
local function categorical_kernels(obs, K, prior_weight)
  local n = #obs
  local c = prior_weight / (n + 1)
  local rows = {}
  local lo, hi = log(c / (1 + K * c)), log((c + 1) / (1 + K * c))
  for i = 1, n do
    local row = {}
    for j = 1, K do row[j] = lo end
    row[obs[i]] = hi
    rows[i] = row
  end
  local prior = {}
  for j = 1, K do prior[j] = -log(K) end
  rows[n + 1] = prior
  return { rows = rows, K = K }
end

-- ---- a group's joint density -------------------------------------------------------------------

-- a parameter's value in the estimator's space: the log of a log-scale one, a choice's index
local function internal(d, v)
  if d.kind == "categorical" then
    for k, c in ipairs(d.choices) do if c == v then return k end end
    return nil
  end
  return d.log and log(v) or v
end

local function numeric_bounds(d)
  if d.kind == "int" then
    if d.log then return log(d.low - 0.5), log(d.high + 0.5) end
    return d.low - d.step / 2, d.high + d.step / 2
  end
  if d.log then return log(d.low), log(d.high) end
  return d.low, d.high
end

-- The joint estimator of the parameters names over trials (all of which have
-- them): shared kernel weights logw and one kernel set per parameter.
local function estimator(self, names, dists, trials, sign, split)
  local n, dims = #trials, {}
  local rule = self.bandwidth == "scott" and "scott" or (#names == 1 and "gaps" or "joint")
  local kopts = { min_bandwidth = self.min_bandwidth, magic_clip = self.consider_magic_clip, width_weighted = self.width_weighted,
    sigma0 = 0.2 * math.max(n, 1) ^ (-1 / (#names + 4)) }
  for j, name in ipairs(names) do
    local d = dists[name]
    local obs = {}
    for i, t in ipairs(trials) do obs[i] = internal(d, t.params[name]) end
    if d.kind == "categorical" then dims[j] = categorical_kernels(obs, #d.choices, self.prior_weight)
    else
      local lo, hi = numeric_bounds(d)
      kopts.q = d.kind == "int" and not d.log and d.step or nil -- integers on a linear scale are discretized, as in Optuna
      dims[j] = numeric_kernels(obs, lo, hi, rule, kopts)
    end
  end
  local logw = kernel_weights(self, trials, sign, split)
  local ws = {}
  for i = 1, n + 1 do ws[i] = exp(logw[i]) end
  return { n = n, logw = logw, ws = ws, dims = dims }
end

-- log of the joint density at x (x[j]: parameter j's internal value)
local function joint_logpdf(est, x, acc)
  local m = est.n + 1
  for i = 1, m do acc[i] = est.logw[i] end
  for j, k in ipairs(est.dims) do
    if k.rows then
      local v = x[j]
      for i = 1, m do acc[i] = acc[i] + k.rows[i][v] end
    else numeric_add(k, x[j], acc) end
  end
  local top = -huge
  for i = 1, m do if acc[i] > top then top = acc[i] end end
  return log_sum_exp(acc, m, top)
end

local function pick_index(ws, r)
  local u, k = r:uniform(), #ws
  for i = 1, #ws do
    u = u - ws[i]
    if u <= 0 then k = i break end
  end
  return k
end

-- a candidate from l: one kernel, then each parameter from it (integers rounded to their grid)
local function draw_candidate(est, names, dists, r)
  local i = pick_index(est.ws, r)
  local x = {}
  for j, k in ipairs(est.dims) do
    if k.rows then
      local row, u, c = k.rows[i], r:uniform(), k.K
      for v = 1, k.K do
        u = u - exp(row[v])
        if u <= 0 then c = v break end
      end
      x[j] = c
    else
      local v = numeric_draw(k, i, r)
      local d = dists[names[j]]
      if d.kind == "int" then
        local iv = space.snap_int(d, d.log and exp(v) or v)
        v = d.log and log(iv) or iv
      end
      x[j] = v
    end
  end
  return x
end

-- the trials that have every one of names within its distribution (a conditional group's; a journal
-- resumed over a changed space may hold others)
local function having(trials, names, dists)
  local out = {}
  for _, t in ipairs(trials) do
    local all = true
    for _, name in ipairs(names) do
      local v = t.params[name]
      if v == nil or not dists[name]:contains(v) then all = false break end
    end
    if all then out[#out + 1] = t end
  end
  return out
end

-- the group's values: the candidate from l with the largest log l - log g
local function suggest_group(self, names, dists, below, above, r, sign, split)
  local l = estimator(self, names, dists, having(below, names, dists), sign, split)
  local g = estimator(self, names, dists, having(above, names, dists), sign, nil)
  local acc = {}
  local best, best_score = nil, -huge
  for _ = 1, self.n_ei_candidates do
    local x = draw_candidate(l, names, dists, r)
    local score = joint_logpdf(l, x, acc) - joint_logpdf(g, x, acc)
    if best == nil or score > best_score then best, best_score = x, score end
  end
  local out = {}
  for j, name in ipairs(names) do
    local d, v = dists[name], best[j]
    if d.kind == "categorical" then out[name] = d.choices[v]
    elseif d.kind == "int" then out[name] = space.snap_int(d, d.log and exp(v) or v)
    else
      v = d.log and exp(v) or v
      out[name] = math.min(d.high, math.max(d.low, v))
    end
  end
  return out
end

-- the key of a parameter's group: the parameters that exist under the same condition share one
local function group_key(d)
  local w = d.when
  if w == nil then return "" end
  if type(w) == "function" then return w end
  local keys = {}
  for k in pairs(w) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = w[k]
    if type(v) == "table" then
      local vs = {}
      for i, x in ipairs(v) do vs[i] = type(x) .. ":" .. tostring(x) end
      v = "{" .. table.concat(vs, ",") .. "}"
    else v = type(v) .. ":" .. tostring(v) end
    parts[#parts + 1] = k .. "=" .. v
  end
  return table.concat(parts, ";")
end

--- sampler:suggest(ctx) -> params; ctx = {space (compiled), trials, rng, direction, number}
function TPE:suggest(ctx)
  local done = {}
  for _, t in ipairs(ctx.trials) do
    if t.state == "complete" and type(t.value) == "number" and t.value == t.value then done[#done + 1] = t end
  end
  if #done < self.n_startup_trials then
    return space.draw(ctx.space, function(_, d) return d:sample(ctx.rng) end)
  end
  local sign = ctx.direction == "maximize" and -1 or 1
  -- the trials in the order they ran (Optuna's weights favour recent ones), split by rank of value
  local ranked = table.move(done, 1, #done, 1, {})
  table.sort(ranked, function(a, b)
    if a.value ~= b.value then return sign * a.value < sign * b.value end
    return a.number < b.number
  end)
  local n_below = math.max(1, math.min(#ranked, self.gamma(#ranked)))
  local split = n_below < #ranked and sign * ranked[n_below + 1].value or nil
  local is_below = {}
  for i = 1, n_below do is_below[ranked[i]] = true end
  local below, above = {}, {}
  for _, t in ipairs(done) do
    if is_below[t] then below[#below + 1] = t else above[#above + 1] = t end
  end
  for _, t in ipairs(ctx.trials) do -- pruned trials: worse than every finished one
    if t.state == "pruned" then above[#above + 1] = t end
  end
  -- the groups: univariate, each parameter its own; multivariate, by condition
  local groups, group_of = {}, {}
  for _, name in ipairs(ctx.space.order) do
    local d = ctx.space.dists[name]
    if d.kind ~= "fixed" then
      local key = self.multivariate and group_key(d) or name
      if not groups[key] then groups[key] = {} end
      table.insert(groups[key], name)
      group_of[name] = key
    end
  end
  local chosen = {}
  return space.draw(ctx.space, function(name, d)
    if d.kind == "fixed" then return d.value end
    if chosen[name] == nil then
      local out = suggest_group(self, groups[group_of[name]], ctx.space.dists, below, above, ctx.rng, sign, split)
      for k, v in pairs(out) do chosen[k] = v end
    end
    return chosen[name]
  end)
end

ml.doc(TPE.suggest, "sampler:suggest(ctx) -> params — TPE's choice for the next trial given the finished ones")

-- Optuna 3.1's univariate Parzen estimator, for the tests that compare it with
-- Optuna's: parzen(obs, weights, low, high, prior_weight, magic_clip) ->
-- {mus, sigmas, logw, ...}; logpdf(p, x, q, width_weighted); categorical(self,
-- d, trials, name) -> the mixture's probabilities.
local function parzen(obs, obs_w, low, high, prior_weight, magic_clip)
  local n = #obs
  local k = numeric_kernels(obs, low, high, "gaps", { magic_clip = magic_clip, width_weighted = true })
  local total = prior_weight
  for i = 1, n do total = total + obs_w[i] end
  k.logw = {}
  for i = 1, n do k.logw[i] = obs_w[i] > 0 and log(obs_w[i] / total) or -huge end
  k.logw[n + 1] = prior_weight > 0 and log(prior_weight / total) or -huge
  return k
end

local function parzen_logpdf(p, x, q, width_weighted)
  local m = #p.mus
  local est = { n = m - 1, logw = p.logw, dims = {} }
  local k = { mus = p.mus, sigmas = p.sigmas, low = p.low, high = p.high, q = q, cq = p.cq, cs = {} }
  for i = 1, m do k.cs[i] = p.cq[i] - (width_weighted and 0 or log(p.sigmas[i])) end
  est.dims[1] = k
  return joint_logpdf(est, { x }, {})
end

local function categorical_weights(self, d, trials, name)
  local K = #d.choices
  local obs = {}
  for _, t in ipairs(trials) do
    local v = t.params[name]
    if v ~= nil then
      for k, c in ipairs(d.choices) do if c == v then obs[#obs + 1] = k break end end
    end
  end
  local n = #obs
  local k = categorical_kernels(obs, K, self.prior_weight)
  local ow = observation_weights(n)
  ow[n + 1] = self.prior_weight
  local total = 0
  for i = 1, n + 1 do total = total + ow[i] end
  local w = {}
  for j = 1, K do
    w[j] = 0
    for i = 1, n + 1 do w[j] = w[j] + ow[i] / total * exp(k.rows[i][j]) end
  end
  return w
end

TPE._parzen, TPE._logpdf, TPE._weights, TPE._categorical = parzen, parzen_logpdf, observation_weights, categorical_weights
-- and the pieces of the default, for its own tests
TPE._scott_width, TPE._kernel_weights, TPE._estimator, TPE._group_key = scott_width, kernel_weights, estimator, group_key

return { TPESampler = TPE }
