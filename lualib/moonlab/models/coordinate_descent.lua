--- models/coordinate_descent.lua: Lasso and ElasticNet, as scikit-learn's.
-- Minimizes (1 / 2n) ||y - X w - b||^2 + alpha l1_ratio ||w||_1 + (alpha (1 - l1_ratio) / 2) ||w||^2
-- by coordinate descent in C (ml._linear.enet_cd, scikit-learn's cd_fast:
-- the same updates, and its stop: the largest step below tol relative to
-- the largest weight, then a duality gap below tol y'y), so coef_ and n_iter_
-- agree with scikit-learn's on the same data. sample_weight as scikit-learn
-- 1.2: weights rescaled to sum to n, weighted centering, rows times sqrt(w).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.models.base"
local H = require "moonlab.models.linear_helpers"

local K = ml._linear
local fail, fmt = checks.fail, string.format
local M = {}

local COMMON = { { "alpha", 1.0 }, { "fit_intercept", true }, { "max_iter", 1000 }, { "tol", 1e-4 },
  { "warm_start", false }, { "positive", false }, { "random_state", nil }, { "selection", "cyclic" } }

local function params(extra)
  local out = {}
  for i, p in ipairs(COMMON) do out[i] = p end
  if extra then table.insert(out, 2, extra) end
  return out
end

local function check(self, fn)
  H.check_positive(fn, "alpha", self.alpha, true)
  checks.number(fn, "l1_ratio", self.l1_ratio, 0, 1)
  checks.boolean(fn, "fit_intercept", self.fit_intercept)
  checks.integer(fn, "max_iter", self.max_iter, 1)
  H.check_positive(fn, "tol", self.tol, true)
  checks.boolean(fn, "warm_start", self.warm_start)
  checks.boolean(fn, "positive", self.positive)
  checks.one_of(fn, "selection", self.selection, { "cyclic", "random" })
  if self.random_state ~= nil then checks.integer(fn, "random_state", self.random_state, 0) end
end

-- The previous fit's coefficients of target c, when warm_start and their shape still fits.
local function start(self, c, d, t)
  local prev = rawget(self, "coef_")
  if self.warm_start and ml.is_tensor(prev) and prev:numel() == d * t then
    return prev:reshape(t, d):select(1, c):contiguous():clone()
  end
  return ml.zeros(d, { dtype = "float64" })
end

local function fit(self, X, y, fn, opts)
  X = H.dense(fn, X)
  local Y, one = H.as2d(y)
  local n, d, t = X:size(1), X:size(2), Y:size(2)
  local sw = opts.sample_weight
  if sw then sw = sw:mul(n / sw:sum():item()) end
  local Xc, Yc, xo, yo = H.center(X, Y, sw, self.fit_intercept)
  Xc, Yc = H.rescale(Xc, sw), H.rescale(Yc, sw)
  local cols = Xc:t():contiguous() -- [d, n]: each feature's values contiguous, as cd_fast reads them
  local seed = self.selection == "random" and H.seed(fn, self.random_state) or -1
  local l1, l2 = self.alpha * self.l1_ratio * n, self.alpha * (1 - self.l1_ratio) * n
  local rows, gaps, iters = {}, {}, 0
  for c = 1, t do
    local yc = Yc:select(2, c):contiguous()
    local w, gap, it = H.call(fn, K.enet_cd, start(self, c, d, t), cols, yc, l1, l2, self.max_iter, self.tol,
      seed, self.positive)
    rows[c], gaps[c], iters = w:view(1, d), gap / n, math.max(iters, it)
  end
  local coef = ml.cat(rows, 1)
  local intercept = self.fit_intercept and yo:sub(ml.matmul(coef, xo:view(-1, 1)):view(-1)) or ml.zeros(t, { dtype = "float64" })
  if one then
    self.coef_, self.intercept_, self.dual_gap_ = coef:view(-1):contiguous(), intercept:item(), gaps[1]
  else
    self.coef_, self.intercept_, self.dual_gap_ = coef, intercept, ml.tensor(gaps, { dtype = "float64" })
  end
  self.n_iter_ = iters
end

local function predict(self, X, fn)
  return H.linear_predict(H.dense(fn, X), self.coef_, self.intercept_)
end

local ElasticNet = base.define("models.ElasticNet",
  "models.ElasticNet([{alpha=1, l1_ratio=0.5, fit_intercept=true, max_iter=1000, tol=1e-4, warm_start=false, positive=false, "
  .. "random_state, selection='cyclic'|'random'}]) — least squares with L1 and L2 penalties by coordinate descent "
  .. "(scikit-learn's objective and duality-gap stop); fitted: coef_, intercept_, n_iter_, dual_gap_",
  params({ "l1_ratio", 0.5 }))
ElasticNet.KIND = "regressor"
ElasticNet._check, ElasticNet._fit, ElasticNet._predict = check, fit, predict
M.ElasticNet = ElasticNet

local Lasso = base.define("models.Lasso",
  "models.Lasso([{alpha=1, fit_intercept=true, max_iter=1000, tol=1e-4, warm_start=false, positive=false, random_state, "
  .. "selection='cyclic'|'random'}]) — least squares with an L1 penalty alpha ||w||_1 (ElasticNet with l1_ratio 1); "
  .. "fitted: coef_, intercept_, n_iter_, dual_gap_",
  params())
Lasso.KIND = "regressor"
Lasso.l1_ratio = 1.0
Lasso._check, Lasso._fit, Lasso._predict = check, fit, predict
M.Lasso = Lasso

return M
