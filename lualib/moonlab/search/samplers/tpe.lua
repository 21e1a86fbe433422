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
  "search.TPESampler([{n_startup_trials=10, n_ei_candidates=24, gamma=fn(n)|0.1, prior_weight=1, consider_magic_clip=true}]) — "
  .. "Bayesian optimization by Tree-structured Parzen Estimators (Optuna's default sampler)")

function TPE:init(opts)
  local fn = "search.TPESampler"
  opts = checks.options(fn, opts, { "n_startup_trials", "n_ei_candidates", "gamma", "prior_weight", "consider_magic_clip" })
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
end

-- Optuna's default_weights: flat up to 25 trials, then a ramp that favours recent ones.
local function trial_weights(n)
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

local phi = require("moonlab.search.samplers.normal").cdf

local LOG_SQRT_2PI = 0.5 * log(2 * math.pi)

-- A Parzen estimator on [low, high]: {mus, sigmas, weights} of truncated normals.
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
  local norm = {}
  for i = 1, n + 1 do
    ws[i] = ws[i] / total
    norm[i] = math.max(phi((high - mus[i]) / sigmas[i]) - phi((low - mus[i]) / sigmas[i]), 1e-300)
  end
  return { mus = mus, sigmas = sigmas, ws = ws, norm = norm, low = low, high = high }
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

local function parzen_logpdf(p, x)
  local s = 0
  for i = 1, #p.ws do
    local z = (x - p.mus[i]) / p.sigmas[i]
    s = s + p.ws[i] * exp(-0.5 * z * z - LOG_SQRT_2PI) / (p.sigmas[i] * p.norm[i])
  end
  return s > 0 and log(s) or -huge
end

-- the values of name in the trials where it exists, transformed, with their weights
local function observations(trials, name, transform)
  local xs, ws = {}, {}
  local w = trial_weights(#trials)
  for i, t in ipairs(trials) do
    local v = t.params[name]
    if v ~= nil then xs[#xs + 1], ws[#ws + 1] = transform(v), w[i] end
  end
  return xs, ws
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
  local best, best_score = nil, -huge
  for _ = 1, self.n_ei_candidates do
    local x = parzen_sample(l, r)
    if d.kind == "int" then -- score the integer the candidate rounds to
      local v = space.snap_int(d, d.log and exp(x) or x)
      x = d.log and log(v) or v
    end
    local score = parzen_logpdf(l, x) - parzen_logpdf(g, x)
    if score > best_score then best, best_score = x, score end
  end
  if d.kind == "int" then return space.snap_int(d, d.log and exp(best) or best) end
  local v = d.log and exp(best) or best
  return math.min(d.high, math.max(d.low, v))
end

local function categorical_weights(self, d, trials, name)
  local K = #d.choices
  local w = {}
  for k = 1, K do w[k] = self.prior_weight / K end
  local tw = trial_weights(#trials)
  for i, t in ipairs(trials) do
    local v = t.params[name]
    if v ~= nil then
      for k, c in ipairs(d.choices) do if c == v then w[k] = w[k] + tw[i] break end end
    end
  end
  local total = 0
  for k = 1, K do total = total + w[k] end
  for k = 1, K do w[k] = w[k] / total end
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

return { TPESampler = TPE }
