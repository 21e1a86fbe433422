--- Regression metrics: fit's mae and mse of network outputs (and their batch forms), and
-- sklearn.metrics's mean_squared_error, root_mean_squared_error, mean_absolute_error,
-- median_absolute_error, r2_score, explained_variance_score, mean_absolute_percentage_error, max_error
-- (y [n] or [n, outputs]; sample_weight and multioutput where scikit-learn has them).
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

local inputs = require "moonlab.metrics.inputs"
local fail, fmt = checks.fail, string.format
local metrics = M.metrics

-- y as a float64 [n, d] tensor (a list, a data column or a tensor [n] / [n, d])
local function as_matrix(fn, what, y)
  if type(y) == "table" and not ml.is_tensor(y) and ml.is_tensor(y.values) and y.kind ~= nil then
    if y:missing_count() > 0 then fail(fmt("%s: %s has missing values", fn, what)) end
    y = y.values
  end
  if not ml.is_tensor(y) then
    if type(y) ~= "table" then fail(fmt("%s: %s must be a tensor or a list of numbers, got %s", fn, what, type(y))) end
    local ok, t = pcall(ml.tensor, y, { dtype = "float64" })
    if not ok then fail(fmt("%s: %s must be a tensor or a list of numbers", fn, what)) end
    y = t
  end
  if y:dim() == 1 then y = y:reshape(y:size(1), 1) end
  if y:dim() ~= 2 then fail(fmt("%s: %s must be [n] or [n, outputs], got %d-D", fn, what, y:dim())) end
  y = y:to("float64"):contiguous()
  if y:isnan():sum():item() > 0 then fail(fmt("%s: %s holds NaN", fn, what)) end
  if y:isinf():sum():item() > 0 then fail(fmt("%s: %s holds infinite values", fn, what)) end
  return y
end

-- y_true, y_pred as [n, d], the sample weights [n, 1] or nil, n, d
local function targets(fn, y_true, y_pred, sample_weight)
  local t, p = as_matrix(fn, "y_true", y_true), as_matrix(fn, "y_pred", y_pred)
  if t:size(1) ~= p:size(1) then fail(fmt("%s: y_true has %d values but y_pred has %d", fn, t:size(1), p:size(1))) end
  if t:size(2) ~= p:size(2) then fail(fmt("%s: y_true has %d outputs but y_pred has %d", fn, t:size(2), p:size(2))) end
  local n = t:size(1)
  if n == 0 then fail(fn .. ": empty input (no values)") end
  local w = inputs.weights(fn, sample_weight, n)
  return t, p, w and w:reshape(n, 1), n, t:size(2)
end

-- np.average(v, axis=0, weights=w): [d]
local function col_average(fn, v, w)
  if w == nil then return v:mean(1) end
  local total = w:sum():item()
  if total == 0 then fail(fn .. ": the sample weights sum to zero") end
  return (v * w):sum(1) / total
end

-- The multioutput option: 'raw_values', 'uniform_average' (default), a list/tensor of output weights,
-- or (r2, explained variance) 'variance_weighted'.
local function read_multioutput(fn, v, d, allow_variance)
  if v == nil then return "uniform_average" end
  if type(v) == "string" then
    local allowed = allow_variance and { "raw_values", "uniform_average", "variance_weighted" } or { "raw_values", "uniform_average" }
    return checks.one_of(fn, "multioutput", v, allowed)
  end
  local wt = ml.is_tensor(v) and v:to("float64"):reshape(-1) or ml.tensor(v, { dtype = "float64" })
  if wt:numel() ~= d then fail(fmt("%s: multioutput has %d weights but there are %d outputs", fn, wt:numel(), d)) end
  return wt
end

-- per-output errors [d] combined as multioutput says
local function combine(errors, multioutput, variance)
  if multioutput == "raw_values" then return errors end
  if multioutput == "uniform_average" then return errors:mean():item() end
  local wt = multioutput == "variance_weighted" and variance or multioutput
  return (errors * wt):sum():item() / wt:sum():item()
end

local function regression_metric(fn, op, extra_opts)
  return function(y_true, y_pred, opts)
    local known = { "sample_weight", "multioutput" }
    for _, k in ipairs(extra_opts or {}) do known[#known + 1] = k end
    opts = checks.options(fn, opts, known)
    local t, p, w, _, d = targets(fn, y_true, y_pred, opts.sample_weight)
    local mo = read_multioutput(fn, opts.multioutput, d, false)
    return combine(op(t, p, w, opts), mo)
  end
end

metrics.mean_squared_error = regression_metric("metrics.mean_squared_error", function(t, p, w, opts)
  local e = col_average("metrics.mean_squared_error", (t - p):pow(2), w)
  if checks.boolean("metrics.mean_squared_error", "squared", opts.squared, true) == false then e = e:sqrt() end
  return e
end, { "squared" })

metrics.root_mean_squared_error = regression_metric("metrics.root_mean_squared_error", function(t, p, w)
  return col_average("metrics.root_mean_squared_error", (t - p):pow(2), w):sqrt()
end)

metrics.mean_absolute_error = regression_metric("metrics.mean_absolute_error", function(t, p, w)
  return col_average("metrics.mean_absolute_error", (t - p):abs(), w)
end)

metrics.mean_absolute_percentage_error = regression_metric("metrics.mean_absolute_percentage_error", function(t, p, w)
  local eps = 2.220446049250313e-16
  return col_average("metrics.mean_absolute_percentage_error", (p - t):abs() / t:abs():clamp(eps, math.huge), w)
end)

-- the median of each column of v [n, d] (unweighted: the mean of the middle two; weighted: scikit-learn's
-- _weighted_percentile, the first sorted value whose cumulative weight reaches half the total)
local function col_median(v, w)
  local n = v:size(1)
  local sorted, idx = v:sort(1)
  if w == nil then
    local lo, hi = sorted:select(1, (n + 1) // 2), sorted:select(1, n // 2 + 1)
    return (lo + hi) / 2
  end
  local d = v:size(2)
  local ws = w:expand(n, d):contiguous():gather(1, idx)
  local cdf = ws:cumsum(1)
  local half = cdf:select(1, n) * 0.5
  local at = cdf:lt(half:reshape(1, d)):to("int64"):sum(1):clamp(0, n - 1) + 1
  return sorted:gather(1, at:reshape(1, d)):reshape(d)
end

metrics.median_absolute_error = regression_metric("metrics.median_absolute_error", function(t, p, w)
  return col_median((t - p):abs(), w)
end)

-- R² and explained variance from their per-output numerator and denominator (scikit-learn's
-- _assemble_r2_explained_variance)
local function assemble(num, den, multioutput, force_finite)
  local scores
  if not force_finite then
    scores = 1 - num / den
  else
    local nn, nd = num:ne(0), den:ne(0)
    scores = ml.where(nn, ml.where(nd, 1 - num / den:masked_fill(den:eq(0), 1), 0.0), 1.0)
  end
  if multioutput == "variance_weighted" and den:ne(0):sum():item() == 0 then multioutput = "uniform_average" end
  return combine(scores, multioutput, den)
end

local function variance_metric(fn, parts)
  return function(y_true, y_pred, opts)
    opts = checks.options(fn, opts, { "sample_weight", "multioutput", "force_finite" })
    local t, p, w, n, d = targets(fn, y_true, y_pred, opts.sample_weight)
    local mo = read_multioutput(fn, opts.multioutput, d, true)
    if n < 2 then
      inputs.warn(fn:gsub("^metrics%.", "") .. " is not well-defined with less than two samples.")
      return 0 / 0
    end
    local num, den = parts(fn, t, p, w)
    return assemble(num, den, mo, checks.boolean(fn, "force_finite", opts.force_finite, true))
  end
end

metrics.r2_score = variance_metric("metrics.r2_score", function(fn, t, p, w)
  local ww = w or 1
  local num = ((t - p):pow(2) * ww):sum(1)
  local den = ((t - col_average(fn, t, w)):pow(2) * ww):sum(1)
  return num, den
end)

metrics.explained_variance_score = variance_metric("metrics.explained_variance_score", function(fn, t, p, w)
  local diff = t - p
  local num = col_average(fn, (diff - col_average(fn, diff, w)):pow(2), w)
  local den = col_average(fn, (t - col_average(fn, t, w)):pow(2), w)
  return num, den
end)

--- metrics.max_error(y_true, y_pred) -> the largest absolute error (one output)
function metrics.max_error(y_true, y_pred)
  local fn = "metrics.max_error"
  local t, p, _, _, d = targets(fn, y_true, y_pred)
  if d ~= 1 then fail(fn .. ": multioutput is not supported; pass one output ([n])") end
  return (t - p):abs():max():item()
end

do
  local doc = ml.doc
  local mo = "multioutput='uniform_average'|'raw_values'|weights"
  doc(metrics.mean_squared_error, "metrics.mean_squared_error(y_true, y_pred, [{sample_weight, " .. mo .. ", squared=true}]) -> number (tensor per output for raw_values) — the mean squared error; squared=false: its root")
  doc(metrics.root_mean_squared_error, "metrics.root_mean_squared_error(y_true, y_pred, [{sample_weight, " .. mo .. "}]) -> number — the root of the mean squared error (per output, then averaged)")
  doc(metrics.mean_absolute_error, "metrics.mean_absolute_error(y_true, y_pred, [{sample_weight, " .. mo .. "}]) -> number — the mean absolute error")
  doc(metrics.mean_absolute_percentage_error, "metrics.mean_absolute_percentage_error(y_true, y_pred, [{sample_weight, " .. mo .. "}]) -> number — the mean of |y_pred - y_true| / max(|y_true|, eps) (a fraction, not percent)")
  doc(metrics.median_absolute_error, "metrics.median_absolute_error(y_true, y_pred, [{sample_weight, " .. mo .. "}]) -> number — the median absolute error (weighted: scikit-learn's weighted percentile)")
  doc(metrics.r2_score, "metrics.r2_score(y_true, y_pred, [{sample_weight, " .. mo .. "|'variance_weighted', force_finite=true}]) -> number — the coefficient of determination R²")
  doc(metrics.explained_variance_score, "metrics.explained_variance_score(y_true, y_pred, [{sample_weight, " .. mo .. "|'variance_weighted', force_finite=true}]) -> number — 1 - Var(y_true - y_pred) / Var(y_true)")
  doc(metrics.max_error, "metrics.max_error(y_true, y_pred) -> number — the largest absolute error (one output)")
end

ml.doc(M.metrics.mae, "metrics.mae(pred, target) -> number — the mean absolute error over every element")
ml.doc(M.metrics.mse, "metrics.mse(pred, target) -> number — the mean squared error over every element")
ml.doc(M.sums.mae, "metrics.sums('mae')(pred, target) -> sum, count — mae's batch form for fit")
ml.doc(M.sums.mse, "metrics.sums('mse')(pred, target) -> sum, count — mse's batch form for fit")

return M
