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
  "search.TPESampler([{n_startup_trials=10, n_ei_candidates=24, gamma=fn(n)|0.1, prior_weight=1, consider_magic_clip=true, width_weighted=true}]) — "
  .. "Bayesian optimization by Tree-structured Parzen Estimators (Optuna's default sampler)")

function TPE:init(opts)
  local fn = "search.TPESampler"
  opts = checks.options(fn, opts, { "n_startup_trials", "n_ei_candidates", "gamma", "prior_weight", "consider_magic_clip",
    "width_weighted" })
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
  if top == -huge then return -huge end
  local sum = 0
  for i = 1, #terms do sum = sum + exp(terms[i] - top) end
  return top + log(sum)
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
  return space.draw(ctx.space, function(name, d)
    if d.kind == "fixed" then return d.value end
    if d.kind == "categorical" then return suggest_categorical(self, d, below, above, name, ctx.rng) end
    return suggest_numeric(self, d, below, above, name, ctx.rng)
  end)
end

ml.doc(TPE.suggest, "sampler:suggest(ctx) -> params — TPE's choice for the next trial given the finished ones")

-- the Parzen estimator's pieces, for the tests that compare them with Optuna's
TPE._parzen, TPE._logpdf, TPE._weights, TPE._categorical = parzen, parzen_logpdf, observation_weights, categorical_weights

return { TPESampler = TPE }
