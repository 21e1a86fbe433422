--- Regression metrics: mae, mse.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local M = { metrics = {}, sums = {} }

local function check(fn, pred, target)
  checks.tensor(fn, "pred", pred)
  checks.tensor(fn, "target", target)
  if pred:numel() ~= target:numel() then
    checks.fail(string.format("%s: pred %s and target %s have different sizes", fn, format.shape(pred), format.shape(target)))
  end
  if pred:numel() == 0 then
    checks.fail(string.format("%s: empty input (pred %s, target %s): the mean of no values is undefined", fn,
      format.shape(pred), format.shape(target)))
  end
end

function M.sums.mae(pred, target) return (pred - target):abs():sum():item(), pred:numel() end
function M.sums.mse(pred, target) return (pred - target):pow(2):sum():item(), pred:numel() end

--- metrics.mae(pred, target) -> the mean absolute error
function M.metrics.mae(pred, target)
  check("metrics.mae", pred, target)
  local s, n = M.sums.mae(pred:reshape(-1), target:reshape(-1))
  return s / n
end

--- metrics.mse(pred, target) -> the mean squared error
function M.metrics.mse(pred, target)
  check("metrics.mse", pred, target)
  local s, n = M.sums.mse(pred:reshape(-1), target:reshape(-1))
  return s / n
end

--- metrics.r2_score(y_true, y_pred) -> the coefficient of determination R²
-- (a first form for the estimators' score; the metrics engineer owns and extends it)
function M.metrics.r2_score(y_true, y_pred)
  local fn = "metrics.r2_score"
  if not ml.is_tensor(y_true) then y_true = ml.tensor(y_true, { dtype = "float64" }) end
  if not ml.is_tensor(y_pred) then y_pred = ml.tensor(y_pred, { dtype = "float64" }) end
  check(fn, y_pred, y_true)
  local t, p = y_true:reshape(-1):to("float64"), y_pred:reshape(-1):to("float64")
  local ss_res = (t - p):pow(2):sum():item()
  local ss_tot = (t - t:mean()):pow(2):sum():item()
  if ss_tot == 0 then return ss_res == 0 and 1.0 or 0.0 end
  return 1 - ss_res / ss_tot
end

ml.doc(M.metrics.r2_score, "metrics.r2_score(y_true, y_pred) -> number — the coefficient of determination R²")
ml.doc(M.metrics.mae, "metrics.mae(pred, target) -> number — the mean absolute error over every element")
ml.doc(M.metrics.mse, "metrics.mse(pred, target) -> number — the mean squared error over every element")
ml.doc(M.sums.mae, "metrics.sums('mae')(pred, target) -> sum, count — mae's batch form for fit")
ml.doc(M.sums.mse, "metrics.sums('mse')(pred, target) -> sum, count — mse's batch form for fit")

return M
