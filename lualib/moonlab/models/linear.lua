--- models/linear.lua: LinearRegression and Ridge, as scikit-learn's.
-- Both center X and y (sample-weighted) when fit_intercept, rescale rows by
-- sqrt(sample_weight), then solve in C (ml._linear): LinearRegression by
-- LAPACK's dgelsd (the SVD's minimum-norm least squares, rank_ and
-- singular_ as scipy.linalg.lstsq gives them), Ridge by the Cholesky factor
-- of X'X + alpha I (scikit-learn's "cholesky" solver). y may be [n] (coef_
-- [d], intercept_ a number) or [n, t] (coef_ [t, d], intercept_ [t]).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.models.base"
local H = require "moonlab.models.linear_helpers"

local K = ml._linear
local fail, fmt = checks.fail, string.format
local M = {}

-- The fitted coef [t, d] and intercept [t] as scikit-learn shapes them: 1-D y gives [d] and a number.
local function set_coef(self, coef, xo, yo, one, fit_intercept)
  local intercept = fit_intercept and yo:sub(ml.matmul(coef, xo:view(-1, 1)):view(-1)) or ml.zeros(coef:size(1), { dtype = "float64" })
  if one then
    self.coef_, self.intercept_ = coef:view(-1):contiguous(), intercept:item()
  else
    self.coef_, self.intercept_ = coef:contiguous(), intercept
  end
end

local function predict(self, X, fn)
  return H.linear_predict(H.dense(fn, X), self.coef_, self.intercept_)
end

-- ---- LinearRegression ----------------------------------------------------------------------

local LinearRegression = base.define("models.LinearRegression",
  "models.LinearRegression([{fit_intercept=true}]) — ordinary least squares through LAPACK's SVD solver (dgelsd); "
  .. "y [n] or [n, t]; fitted: coef_, intercept_, rank_, singular_",
  { { "fit_intercept", true } })
LinearRegression.KIND = "regressor"

function LinearRegression:_check(fn)
  checks.boolean(fn, "fit_intercept", self.fit_intercept)
end

function LinearRegression:_fit(X, y, fn, opts)
  X = H.dense(fn, X)
  local Y, one = H.as2d(y)
  local sw = opts.sample_weight
  local Xc, Yc, xo, yo = H.center(X, Y, sw, self.fit_intercept)
  local coef, rank, sv = H.call(fn, K.lstsq, H.rescale(Xc, sw), H.rescale(Yc, sw))
  self.rank_, self.singular_ = rank, sv
  set_coef(self, coef:t():contiguous(), xo, yo, one, self.fit_intercept)
end

LinearRegression._predict = predict
M.LinearRegression = LinearRegression

-- ---- Ridge ---------------------------------------------------------------------------------

local Ridge = base.define("models.Ridge",
  "models.Ridge([{alpha=1, fit_intercept=true}]) — least squares with an L2 penalty alpha ||w||^2, solved by Cholesky; "
  .. "alpha a number or one per target; fitted: coef_, intercept_",
  { { "alpha", 1.0 }, { "fit_intercept", true } })
Ridge.KIND = "regressor"

-- alpha as a float64 tensor [t]
local function alphas(fn, alpha, t)
  if type(alpha) == "number" then
    H.check_positive(fn, "alpha", alpha, true)
    return ml.full({ t }, alpha, { dtype = "float64" })
  end
  local a = ml.is_tensor(alpha) and alpha:to("float64"):contiguous():view(-1) or ml.tensor(alpha, { dtype = "float64" })
  if a:numel() ~= t then fail(fmt("%s: alpha has %d values but y has %d targets", fn, a:numel(), t)) end
  if a:lt(0):sum():item() > 0 or a:isnan():sum():item() > 0 then fail(fn .. ": alpha must be >= 0") end
  return a
end

function Ridge:_check(fn)
  if type(self.alpha) == "number" then H.check_positive(fn, "alpha", self.alpha, true)
  elseif not (ml.is_tensor(self.alpha) or type(self.alpha) == "table") then
    fail(fmt("%s: alpha must be a number >= 0 or one per target, got %s", fn, type(self.alpha)))
  end
  checks.boolean(fn, "fit_intercept", self.fit_intercept)
end

function Ridge:_fit(X, y, fn, opts)
  X = H.dense(fn, X)
  local Y, one = H.as2d(y)
  local sw = opts.sample_weight
  local Xc, Yc, xo, yo = H.center(X, Y, sw, self.fit_intercept)
  local coef = H.call(fn, K.ridge, H.rescale(Xc, sw), H.rescale(Yc, sw), alphas(fn, self.alpha, Y:size(2)))
  set_coef(self, coef, xo, yo, one, self.fit_intercept)
end

Ridge._predict = predict
M.Ridge = Ridge

return M
