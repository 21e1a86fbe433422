--- search.TPESampler: the Tree-structured Parzen Estimator (Bergstra et al.
-- 2011), univariate as Optuna's default. After n_startup_trials random
-- trials, the finished trials are split into the best gamma(n) ("below")
-- and the rest ("above"); each parameter gets a Parzen density l(x) over
-- the below values and g(x) over the above ones (truncated Gaussians around
-- each observation, widths from the gaps to the neighbours, plus a wide
-- prior component); n_ei_candidates draws from l are scored by
-- log l(x) - log g(x), which is monotone in expected improvement, and the
-- best is taken. Conditional parameters use only the trials in which they
-- existed, so a tree of parameters is handled the way the method's name
-- says. Integers and log scales work in their own (rounded / log) space;
-- categorical parameters use weighted counts with a prior.
-- Defaults follow Optuna 3.1: n_startup_trials 10, n_ei_candidates 24,
-- gamma(n) = min(ceil(0.1 n), 25), prior_weight 1, magic clipping of the
-- widths, recent trials weighted up once there are more than 25.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local space = require "moonlab.search.space"

local exp, log, sqrt, huge = math.exp, math.log, math.sqrt, math.huge

local TPE = class.Object:extend("search.TPESampler",
  "search.TPESampler([{n_startup_trials=10, n_ei_candidates=24, gamma=fn(n)|0.1, prior_weight=1, consider_magic_clip=true, width_weighted=true, multivariate=false}]) — "
  .. "Bayesian optimization by Tree-structured Parzen Estimators (Optuna's default sampler)")

function TPE:init(opts)
  local fn = "search.TPESampler"
  opts = checks.options(fn, opts, { "n_startup_trials", "n_ei_candidates", "gamma", "prior_weight", "consider_magic_clip",
    "width_weighted", "multivariate" })
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
  self.width_weighted = checks.boolean(fn, "width_weighted", opts.width_weighted, true)
  self.multivariate = checks.boolean(fn, "multivariate", opts.multivariate, false)
end

local mass = require("moonlab.search.samplers.normal").mass

local LOG_SQRT_2PI = 0.5 * log(2 * math.pi)

-- A Parzen estimator on [low, high]: {mus, sigmas, ws} of truncated normals, the prior last.
local function parzen(obs, obs_w, low, high, prior_weight, magic_clip)
  local n = #obs
  local mus, ws = {}, {}
  for i = 1, n do mus[i], ws[i] = obs[i], obs_w[i] end
  local prior_mu, prior_sigma = 0.5 * (low + high), high - low
  mus[n + 1], ws[n + 1] = prior_mu, prior_weight
  -- widths: the larger gap to the neighbours, among the sorted centres with the bounds at both ends
  local idx = {}
  for i = 1, n + 1 do idx[i] = i end
  table.sort(idx, function(a, b) return mus[a] < mus[b] end)
  local sigmas = {}
  local m = #idx
  for r, i in ipairs(idx) do
    local left = r > 1 and mus[idx[r - 1]] or low
    local right = r < m and mus[idx[r + 1]] or high
    if m >= 2 and r == 1 then sigmas[i] = right - mus[i] -- Optuna's consider_endpoints = False: the
    elseif m >= 2 and r == m then sigmas[i] = mus[i] - left -- outermost centres look only inwards
    else sigmas[i] = math.max(mus[i] - left, right - mus[i]) end
  end
  local maxs = high - low
  local mins = magic_clip and (high - low) / math.min(100, 1 + n + 1) or 1e-12
  for i = 1, n + 1 do sigmas[i] = math.min(maxs, math.max(mins, sigmas[i])) end
  sigmas[n + 1] = prior_sigma
  local total = 0
  for i = 1, n + 1 do total = total + ws[i] end
  local logw, lognorm = {}, {}
  for i = 1, n + 1 do
    ws[i] = ws[i] / total
    logw[i] = ws[i] > 0 and log(ws[i]) or -huge
    lognorm[i] = log(math.max(mass((low - mus[i]) / sigmas[i], (high - mus[i]) / sigmas[i]), 1e-300))
  end
  return { mus = mus, sigmas = sigmas, ws = ws, logw = logw, lognorm = lognorm, low = low, high = high }
end

local function parzen_sample(p, r)
  local u, k = r:uniform(), #p.ws
  for i = 1, #p.ws do
    u = u - p.ws[i]
    if u <= 0 then k = i break end
  end
  for _ = 1, 100 do -- rejection from the component's normal, truncated to the bounds
    local x = r:normal(p.mus[k], p.sigmas[k])
    if x >= p.low and x <= p.high then return x end
  end
  return math.min(p.high, math.max(p.low, p.mus[k]))
end

-- log of the mixture's value at x, summed stably (log-sum-exp). With q (a
-- discretized parameter: integers) each kernel gives the mass of [x - q/2,
-- x + q/2] within the bounds. Without q each kernel gives the truncated
-- normal's log density without its -log(sigma) term when width_weighted:
-- that is what Optuna 3.1's truncnorm.logpdf computes, so its wide kernels
-- (the prior, isolated points) count for more, and it searches better on
-- the standard functions than the exact density does (scripts/bench/search.sh).
-- log(sum(exp(terms))) with top = max(terms), the mixture's density in log space
local function log_sum_exp(terms, top)
  if top == -huge then return -huge end
  local sum = 0
  for i = 1, #terms do sum = sum + exp(terms[i] - top) end
  return top + log(sum)
end

local function parzen_logpdf(p, x, q, width_weighted)
  local terms, top = {}, -huge
  for i = 1, #p.ws do
    local mu, s = p.mus[i], p.sigmas[i]
    local lp
    if q then
      local lo, hi = math.max(x - q / 2, p.low), math.min(x + q / 2, p.high)
      local m = mass((lo - mu) / s, (hi - mu) / s)
      lp = (m > 0 and log(m) or -huge) - p.lognorm[i]
    else
      local z = (x - mu) / s
      lp = -0.5 * z * z - LOG_SQRT_2PI - p.lognorm[i]
      if not width_weighted then lp = lp - log(s) end
    end
    lp = lp + p.logw[i]
    terms[i] = lp
    if lp > top then top = lp end
  end
  return log_sum_exp(terms, top)
end

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

-- the values of name in the trials where it exists (in the order they ran), transformed, and their weights
local function observations(trials, name, transform)
  local xs = {}
  for _, t in ipairs(trials) do
    local v = t.params[name]
    if v ~= nil then xs[#xs + 1] = transform(v) end
  end
  return xs, observation_weights(#xs)
end

local function numeric_bounds(d)
  if d.kind == "int" then
    local half = d.step / 2
    if d.log then return log(d.low - 0.5), log(d.high + 0.5) end
    return d.low - half, d.high + half
  end
  if d.log then return log(d.low), log(d.high) end
  return d.low, d.high
end

local function suggest_numeric(self, d, below, above, name, r)
  local lo, hi = numeric_bounds(d)
  local tf = d.log and log or function(v) return v end
  local bx, bw = observations(below, name, tf)
  local ax, aw = observations(above, name, tf)
  local l = parzen(bx, bw, lo, hi, self.prior_weight, self.consider_magic_clip)
  local g = parzen(ax, aw, lo, hi, self.prior_weight, self.consider_magic_clip)
  local q = d.kind == "int" and not d.log and d.step or nil -- integers on a linear scale are discretized, as in Optuna
  local ww = self.width_weighted
  local best, best_score = nil, -huge
  for _ = 1, self.n_ei_candidates do
    local x = parzen_sample(l, r)
    if d.kind == "int" then -- score the integer the candidate rounds to
      local v = space.snap_int(d, d.log and exp(x) or x)
      x = d.log and log(v) or v
    end
    local score = parzen_logpdf(l, x, q, ww) - parzen_logpdf(g, x, q, ww)
    if score > best_score then best, best_score = x, score end
  end
  if d.kind == "int" then return space.snap_int(d, d.log and exp(best) or best) end
  local v = d.log and exp(best) or best
  return math.min(d.high, math.max(d.low, v))
end

-- Optuna's categorical estimator: one kernel per observation (its choice plus
-- prior_weight / (n + 1) on every choice, normalized) and a uniform prior
-- kernel, mixed by the observation weights; returns the mixture's probabilities.
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
  local ow = observation_weights(n)
  local total = self.prior_weight
  for i = 1, n do total = total + ow[i] end
  local c = self.prior_weight / (n + 1)
  local w = {}
  for k = 1, K do w[k] = self.prior_weight / total / K end
  for i = 1, n do
    local wi = ow[i] / total / (1 + K * c)
    for k = 1, K do w[k] = w[k] + wi * c end
    w[obs[i]] = w[obs[i]] + wi
  end
  return w
end

local function suggest_categorical(self, d, below, above, name, r)
  local lw = categorical_weights(self, d, below, name)
  local gw = categorical_weights(self, d, above, name)
  local best, best_score = 1, -huge
  for _ = 1, self.n_ei_candidates do
    local u, k = r:uniform(), #lw
    for i = 1, #lw do
      u = u - lw[i]
      if u <= 0 then k = i break end
    end
    local score = log(lw[k]) - log(gw[k])
    if score > best_score then best, best_score = k, score end
  end
  return d.choices[best]
end

-- ---- multivariate TPE (Optuna's multivariate = True) ----------------------------------------
-- The parameters every trial has (no condition) get one joint estimator: a
-- kernel per observation over all of them at once, widths Scott's rule
-- 0.2 n^(-1/(d+4)) of each range (magic-clipped), so a candidate keeps the
-- correlations of the good trials (Branin's valley, Rosenbrock's). The
-- conditional parameters stay univariate, as in Optuna without group.

local function joint_estimator(self, names, dists, trials)
  local n, d = #trials, #names
  local ow = observation_weights(n)
  local total = self.prior_weight
  for i = 1, n do total = total + ow[i] end
  local logw = {}
  for i = 1, n do logw[i] = ow[i] > 0 and log(ow[i] / total) or -huge end
  logw[n + 1] = log(self.prior_weight / total)
  local sigma0 = 0.2 * math.max(n, 1) ^ (-1 / (d + 4))
  local est = { n = n, logw = logw, ws = {}, params = {} }
  for i = 1, n + 1 do est.ws[i] = exp(logw[i]) end
  for _, name in ipairs(names) do
    local dd = dists[name]
    local e = { kind = dd.kind }
    if dd.kind == "categorical" then
      local K = #dd.choices
      local c = self.prior_weight / (n + 1)
      e.logp = {}
      for i, t in ipairs(trials) do
        local row = {}
        for k = 1, K do row[k] = log(c / (1 + K * c)) end
        for k, ch in ipairs(dd.choices) do if ch == t.params[name] then row[k] = log((c + 1) / (1 + K * c)) break end end
        e.logp[i] = row
      end
      local prior = {}
      for k = 1, K do prior[k] = -log(K) end
      e.logp[n + 1] = prior
    else
      local lo, hi = numeric_bounds(dd)
      local tf = dd.log and log or function(v) return v end
      local mus, sigmas, lognorm = {}, {}, {}
      local mins = self.consider_magic_clip and (hi - lo) / math.min(100, 1 + n + 1) or 1e-12
      for i, t in ipairs(trials) do
        mus[i] = tf(t.params[name])
        sigmas[i] = math.min(hi - lo, math.max(mins, sigma0 * (hi - lo)))
      end
      mus[n + 1], sigmas[n + 1] = 0.5 * (lo + hi), hi - lo
      for i = 1, n + 1 do lognorm[i] = log(math.max(mass((lo - mus[i]) / sigmas[i], (hi - mus[i]) / sigmas[i]), 1e-300)) end
      e.low, e.high, e.mus, e.sigmas, e.lognorm = lo, hi, mus, sigmas, lognorm
      e.q = dd.kind == "int" and not dd.log and dd.step or nil
    end
    est.params[name] = e
  end
  return est
end

-- the joint log-density at x ({name = value in the estimator's space: log scale, category index})
local function joint_logpdf(est, names, x, ww)
  local terms, top = {}, -huge
  for i = 1, est.n + 1 do
    local lp = est.logw[i]
    for _, name in ipairs(names) do
      local e, v = est.params[name], x[name]
      if e.kind == "categorical" then lp = lp + e.logp[i][v]
      else
        local mu, s = e.mus[i], e.sigmas[i]
        if e.q then
          local m = mass((math.max(v - e.q / 2, e.low) - mu) / s, (math.min(v + e.q / 2, e.high) - mu) / s)
          lp = lp + (m > 0 and log(m) or -huge) - e.lognorm[i]
        else
          local z = (v - mu) / s
          lp = lp - 0.5 * z * z - LOG_SQRT_2PI - e.lognorm[i] - (ww and 0 or log(s))
        end
      end
    end
    terms[i] = lp
    if lp > top then top = lp end
  end
  return log_sum_exp(terms, top)
end

-- the trials that have every one of names (a journal resumed over a changed space may hold others)
local function having(trials, names)
  local out = {}
  for _, t in ipairs(trials) do
    local all = true
    for _, name in ipairs(names) do if t.params[name] == nil then all = false break end end
    if all then out[#out + 1] = t end
  end
  return out
end

local function suggest_joint(self, names, dists, below, above, r)
  local l = joint_estimator(self, names, dists, having(below, names))
  local g = joint_estimator(self, names, dists, having(above, names))
  local best, best_score = nil, -huge
  for _ = 1, self.n_ei_candidates do
    local u, k = r:uniform(), #l.ws
    for i = 1, #l.ws do
      u = u - l.ws[i]
      if u <= 0 then k = i break end
    end
    local x = {}
    for _, name in ipairs(names) do
      local e, dd = l.params[name], dists[name]
      if e.kind == "categorical" then
        local v, c = r:uniform(), #dd.choices
        for j = 1, #dd.choices do
          v = v - exp(e.logp[k][j])
          if v <= 0 then c = j break end
        end
        x[name] = c
      else
        local v = parzen_sample({ ws = { 1 }, mus = { e.mus[k] }, sigmas = { e.sigmas[k] }, low = e.low, high = e.high }, r)
        if dd.kind == "int" then
          local iv = space.snap_int(dd, dd.log and exp(v) or v)
          v = dd.log and log(iv) or iv
        end
        x[name] = v
      end
    end
    local score = joint_logpdf(l, names, x, self.width_weighted) - joint_logpdf(g, names, x, self.width_weighted)
    if score > best_score then best, best_score = x, score end
  end
  local out = {}
  for _, name in ipairs(names) do
    local dd, v = dists[name], best[name]
    if dd.kind == "categorical" then out[name] = dd.choices[v]
    elseif dd.kind == "int" then out[name] = space.snap_int(dd, dd.log and exp(v) or v)
    else
      v = dd.log and exp(v) or v
      out[name] = math.min(dd.high, math.max(dd.low, v))
    end
  end
  return out
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
  -- the trials in the order they ran (the weights favour recent ones), split by rank of value
  local ranked = table.move(done, 1, #done, 1, {})
  table.sort(ranked, function(a, b)
    if a.value ~= b.value then return sign * a.value < sign * b.value end
    return a.number < b.number
  end)
  local n_below = math.max(1, math.min(#ranked, self.gamma(#ranked)))
  local is_below = {}
  for i = 1, n_below do is_below[ranked[i]] = true end
  local below, above = {}, {}
  for _, t in ipairs(done) do
    if is_below[t] then below[#below + 1] = t else above[#above + 1] = t end
  end
  for _, t in ipairs(ctx.trials) do -- pruned trials: worse than every finished one
    if t.state == "pruned" then above[#above + 1] = t end
  end
  local joint = {}
  if self.multivariate then
    local names = {}
    for _, name in ipairs(ctx.space.order) do
      local d = ctx.space.dists[name]
      if d.kind ~= "fixed" and d.when == nil then names[#names + 1] = name end
    end
    if #names > 1 then joint = suggest_joint(self, names, ctx.space.dists, below, above, ctx.rng) end
  end
  return space.draw(ctx.space, function(name, d)
    if d.kind == "fixed" then return d.value end
    if joint[name] ~= nil then return joint[name] end
    if d.kind == "categorical" then return suggest_categorical(self, d, below, above, name, ctx.rng) end
    return suggest_numeric(self, d, below, above, name, ctx.rng)
  end)
end

ml.doc(TPE.suggest, "sampler:suggest(ctx) -> params — TPE's choice for the next trial given the finished ones")

-- the Parzen estimator's pieces, for the tests that compare them with Optuna's
TPE._parzen, TPE._logpdf, TPE._weights, TPE._categorical = parzen, parzen_logpdf, observation_weights, categorical_weights

return { TPESampler = TPE }
