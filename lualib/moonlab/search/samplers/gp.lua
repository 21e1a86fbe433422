--- search.GPSampler: Bayesian optimization with a Gaussian process and
-- expected improvement (Snoek, Larochelle and Adams 2012), for spaces that
-- are mostly continuous.
--
-- Each parameter is encoded in [0, 1] (log parameters in log space,
-- integers as numbers then rounded, a choice as one-hot columns, an absent
-- conditional parameter as zeros). The finished trials' values, standardized,
-- get a GP with a Matérn 5/2 kernel whose length scale and noise are chosen
-- by the marginal likelihood over a small grid; the next trial is the
-- candidate with the largest expected improvement among random draws from
-- the space and perturbations of the best trials so far. The products run
-- as tensor ops (ml.matmul); the Cholesky factor of the n x n kernel matrix
-- is computed here (n is the number of trials, a few hundred at most).
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local space = require "moonlab.search.space"

local exp, log, sqrt, huge = math.exp, math.log, math.sqrt, math.huge

local GP = class.Object:extend("search.GPSampler",
  "search.GPSampler([{n_startup_trials=10, n_candidates=1000, xi=0.01, max_trials=300}]) — Bayesian optimization: "
  .. "a Gaussian process (Matérn 5/2) and expected improvement")

function GP:init(opts)
  local fn = "search.GPSampler"
  opts = checks.options(fn, opts, { "n_startup_trials", "n_candidates", "xi", "max_trials" })
  self.n_startup_trials = opts.n_startup_trials ~= nil and checks.integer(fn, "n_startup_trials", opts.n_startup_trials, 1) or 10
  self.n_candidates = opts.n_candidates ~= nil and checks.integer(fn, "n_candidates", opts.n_candidates, 1) or 1000
  self.xi = opts.xi ~= nil and checks.number(fn, "xi", opts.xi, 0) or 0.01
  self.max_trials = opts.max_trials ~= nil and checks.integer(fn, "max_trials", opts.max_trials, 2) or 300
end

-- ---- encoding -------------------------------------------------------------------------

-- the columns of each parameter: {name, dist, first column, width}
local function layout(compiled)
  local cols, D = {}, 0
  for _, name in ipairs(compiled.order) do
    local d = compiled.dists[name]
    if d.kind ~= "fixed" then
      local w = d.kind == "categorical" and #d.choices or 1
      cols[#cols + 1] = { name = name, dist = d, at = D + 1, width = w }
      D = D + w
    end
  end
  return cols, D
end

local function unit(d, v)
  local lo, hi, x = d.low, d.high, v
  if d.log then lo, hi, x = log(lo), log(hi), log(v) end
  if hi == lo then return 0.5 end
  return (x - lo) / (hi - lo)
end

local function from_unit(d, u)
  u = math.min(1, math.max(0, u))
  local lo, hi = d.low, d.high
  if d.log then lo, hi = log(lo), log(hi) end
  local x = lo + u * (hi - lo)
  if d.log then x = exp(x) end
  if d.kind == "int" then return space.snap_int(d, x) end
  return math.min(d.high, math.max(d.low, x))
end

local function encode(cols, D, params)
  local row = {}
  for j = 1, D do row[j] = 0 end
  for _, c in ipairs(cols) do
    local v = params[c.name]
    if v ~= nil then
      if c.dist.kind == "categorical" then
        for k, ch in ipairs(c.dist.choices) do if ch == v then row[c.at + k - 1] = 1 end end
      else
        row[c.at] = unit(c.dist, v)
      end
    end
  end
  return row
end

-- ---- the Gaussian process -----------------------------------------------------------------

local SQRT5 = sqrt(5)

-- Matérn 5/2 between the rows of A [m, D] and B [n, D] (tensors), length scale l
local function kernel(A, B, l)
  local a2 = (A * A):sum(2, true)
  local b2 = (B * B):sum(2, true):t()
  local d2 = (a2 + b2 - ml.matmul(A, B:t()) * 2):clamp(0, huge)
  local r = d2:sqrt() * (SQRT5 / l)
  return (r + 1 + r * r / 3) * (-r):exp()
end

-- the Cholesky factor of a symmetric positive definite Lua matrix, or nil
local function cholesky(K, n)
  local L = {}
  for i = 1, n do L[i] = {} end
  for j = 1, n do
    local s = K[j][j]
    local Lj = L[j]
    for k = 1, j - 1 do s = s - Lj[k] * Lj[k] end
    if s <= 0 then return nil end
    local d = sqrt(s)
    Lj[j] = d
    for i = j + 1, n do
      local Li = L[i]
      local t = K[i][j]
      for k = 1, j - 1 do t = t - Li[k] * Lj[k] end
      Li[j] = t / d
    end
  end
  return L
end

local function forward(L, b, n)
  local x = {}
  for i = 1, n do
    local s = b[i]
    local Li = L[i]
    for k = 1, i - 1 do s = s - Li[k] * x[k] end
    x[i] = s / Li[i]
  end
  return x
end

local function backward(L, b, n)
  local x = {}
  for i = n, 1, -1 do
    local s = b[i]
    for k = i + 1, n do s = s - L[k][i] * x[k] end
    x[i] = s / L[i][i]
  end
  return x
end

-- the inverse of the lower-triangular L (column by column)
local function tri_inverse(L, n)
  local inv = {}
  for i = 1, n do inv[i] = {} for j = 1, n do inv[i][j] = 0 end end
  for j = 1, n do
    local e = {}
    for i = 1, n do e[i] = i == j and 1 or 0 end
    local col = forward(L, e, n)
    for i = 1, n do inv[i][j] = col[i] end
  end
  return inv
end

-- the GP fit with the best (length scale, noise) by log marginal likelihood
local function fit(X, y, n)
  local best
  for _, l in ipairs({ 0.05, 0.1, 0.2, 0.4, 0.8, 1.6 }) do
    local K = kernel(X, X, l):tolist()
    for _, noise in ipairs({ 1e-6, 1e-4, 1e-2, 1e-1 }) do
      for i = 1, n do K[i][i] = 1 + noise end
      local L = cholesky(K, n)
      if L then
        local alpha = backward(L, forward(L, y, n), n)
        local lml = 0
        for i = 1, n do lml = lml - 0.5 * y[i] * alpha[i] - log(L[i][i]) end
        if not best or lml > best.lml then best = { lml = lml, l = l, L = L, alpha = alpha, noise = noise } end
      end
    end
  end
  return best
end

local normal = require "moonlab.search.samplers.normal"

-- ---- candidates ------------------------------------------------------------------------

local function perturb(compiled, params, r, scale)
  return space.draw(compiled, function(name, d)
    local v = params[name]
    if d.kind == "fixed" then return d.value end
    if v == nil or not d:contains(v) then return d:sample(r) end
    if d.kind == "categorical" then return r:uniform() < 0.2 and d:sample(r) or v end
    return from_unit(d, unit(d, v) + r:normal(0, scale))
  end)
end

--- sampler:suggest(ctx) -> params; ctx = {space (compiled), trials, rng, direction, number}
function GP:suggest(ctx)
  local r, compiled = ctx.rng, ctx.space
  local done = {}
  for _, t in ipairs(ctx.trials) do
    if t.state == "complete" and type(t.value) == "number" and t.value == t.value and t.value > -huge and t.value < huge then
      done[#done + 1] = t
    end
  end
  if #done < self.n_startup_trials then
    return space.draw(compiled, function(_, d) return d:sample(r) end)
  end
  if #done > self.max_trials then done = table.move(done, #done - self.max_trials + 1, #done, 1, {}) end
  local cols, D = layout(compiled)
  if D == 0 then return space.draw(compiled, function(_, d) return d:sample(r) end) end
  local sign = ctx.direction == "maximize" and -1 or 1
  local n = #done
  local rows, y, mean = {}, {}, 0
  for i, t in ipairs(done) do
    rows[i] = encode(cols, D, t.params)
    y[i] = sign * t.value
    mean = mean + y[i]
  end
  mean = mean / n
  local var = 0
  for i = 1, n do var = var + (y[i] - mean) ^ 2 end
  local sd = sqrt(var / n)
  if sd == 0 then sd = 1 end
  local best_y, best_t = huge, nil
  for i = 1, n do
    y[i] = (y[i] - mean) / sd
    if y[i] < best_y then best_y, best_t = y[i], done[i] end
  end
  local X = ml.tensor(rows, { dtype = "float64" })
  local gp = fit(X, y, n)
  if not gp then return space.draw(compiled, function(_, d) return d:sample(r) end) end
  -- candidates: draws from the space, and steps around the best trials
  local ranked = table.move(done, 1, n, 1, {})
  table.sort(ranked, function(a, b) return sign * a.value < sign * b.value end)
  local cands = {}
  local half = self.n_candidates // 2
  for k = 1, self.n_candidates - half do cands[k] = space.draw(compiled, function(_, d) return d:sample(r) end) end
  for k = 1, half do
    local base = ranked[((k - 1) % math.min(5, #ranked)) + 1]
    cands[#cands + 1] = perturb(compiled, base.params, r, k % 2 == 0 and 0.02 or 0.1)
  end
  local crow = {}
  for k, p in ipairs(cands) do crow[k] = encode(cols, D, p) end
  local C = ml.tensor(crow, { dtype = "float64" })
  local Ks = kernel(C, X, gp.l)                                       -- [m, n]
  local mu = ml.matmul(Ks, ml.tensor(gp.alpha, { dtype = "float64" })):tolist()
  local V = ml.matmul(Ks, ml.tensor(tri_inverse(gp.L, n), { dtype = "float64" }):t()) -- [m, n]: Ks L^-T
  local s2 = (1 + gp.noise - (V * V):sum(2)):clamp(1e-12, huge):tolist()
  local pick, pick_ei = 1, -huge
  for k = 1, #cands do
    local s = sqrt(s2[k])
    local imp = best_y - mu[k] - self.xi
    local z = imp / s
    local ei = imp * normal.cdf(z) + s * normal.pdf(z)
    if ei > pick_ei then pick, pick_ei = k, ei end
  end
  return cands[pick]
end

ml.doc(GP.suggest, "sampler:suggest(ctx) -> params — the candidate of largest expected improvement under the fitted GP")

return { GPSampler = GP }
