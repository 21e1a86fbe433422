--- prep/clean.lua: cleaning numeric data.
--   prep.outliers(X, {method = "zscore" | "iqr", threshold})  -> row mask, cell mask
--   prep.remove_outliers(X, opts)                             -> X without those rows, kept row numbers
--   prep.Winsorizer{quantiles = {0.05, 0.95}}                 clips each column into its fitted quantiles
--   prep.drop_duplicates(X, {keep = "first" | "last"})         -> unique rows (tensors), kept row numbers
--   prep.rolling_mean(x, window, opts), prep.rolling_median    pandas' rolling(window, center, min_periods)
-- X is a tensor [n, d], a data frame (its numeric columns) or a list of rows;
-- the statistics are the C column kernels (ml._prep), NaN ignored.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.prep.base"

local K = ml._prep
local fail, fmt = checks.fail, string.format

local M = {}

-- X as a float matrix (a frame's numeric columns), and the original (to take rows from).
local function matrix_of(fn, X)
  X = base.normalize(fn, X)
  if base.is_frame(X) then
    local names = {}
    for _, name in ipairs(X._names) do
      local k = X._cols[name].kind
      if k == "float64" or k == "int64" or k == "bool" then names[#names + 1] = name end
    end
    if #names == 0 then fail(fn .. ": the frame has no numeric columns") end
    return base.float_matrix(fn, X:to_tensor(names)), X
  end
  return base.float_matrix(fn, X), X
end

local function take_rows(X, keep)
  local idx = ml.arange(1, keep:size(1) + 1, { dtype = "int64" }):masked_select(keep)
  if base.is_frame(X) then return X:take(idx), idx end
  if X:dim() == 1 then return X:index_select(1, idx), idx end
  return X:index_select(1, idx), idx
end

--- prep.outliers(X, [{method="zscore", threshold=3 (z-score) or 1.5 (IQR multiplier)}]) -> row mask [n], cell mask [n, d]
function M.outliers(X, opts)
  local fn = "prep.outliers"
  opts = checks.options(fn, opts, { "method", "threshold" })
  local method = checks.one_of(fn, "method", opts.method, { "zscore", "iqr" }, "zscore")
  local thr = checks.number(fn, "threshold", opts.threshold or (method == "zscore" and 3 or 1.5), 0)
  local m = matrix_of(fn, X)
  local cells
  if method == "zscore" then
    local count, mean, m2 = K.colstats(m)
    local std = m2:div(count):sqrt()
    std = std:masked_fill(std:eq(0), 1)
    cells = m:sub(mean):div(std):abs():gt(thr)
  else
    local q = K.quantiles(m, { 0.25, 0.75 })
    local q1, q3 = q:select(1, 1), q:select(1, 2)
    local iqr = q3:sub(q1)
    cells = m:lt(q1:sub(iqr:mul(thr))):add(m:gt(q3:add(iqr:mul(thr)))):gt(0)
  end
  return cells:sum(2):gt(0), cells
end

--- prep.remove_outliers(X, [opts as prep.outliers]) -> X without the rows holding an outlier, the kept row numbers
function M.remove_outliers(X, opts)
  local fn = "prep.remove_outliers"
  local rows = checks.call(M.outliers, X, opts)
  local _, orig = matrix_of(fn, X)
  return take_rows(orig, rows:logical_not())
end

--- prep.drop_duplicates(X, [{keep="first"}]) -> X without repeated rows (NaN equals NaN), the kept row numbers
function M.drop_duplicates(X, opts)
  local fn = "prep.drop_duplicates"
  opts = checks.options(fn, opts, { "keep" })
  local keep = checks.one_of(fn, "keep", opts.keep, { "first", "last" }, "first")
  X = base.normalize(fn, X)
  if base.is_frame(X) then
    if X.drop_duplicates then return X:drop_duplicates({ keep = keep }) end
    fail(fn .. ": for data frames use df:drop_duplicates")
  end
  local m = base.float_matrix(fn, X)
  local mask = K.rows_unique(m, keep == "last")
  return take_rows(X, mask)
end

-- ---- rolling windows ------------------------------------------------------------------

local function rolling(fn, x, window, opts, median)
  opts = checks.options(fn, opts, { "center", "min_periods" })
  window = checks.integer(fn, "window", window, 1)
  local center = checks.boolean(fn, "center", opts.center, false)
  local minp = checks.integer(fn, "min_periods", opts.min_periods or window, 0, window)
  if not ml.is_tensor(x) then
    if type(x) ~= "table" then fail(fmt("%s: expected a series (1-D tensor or list of numbers), got %s", fn, type(x))) end
    x = ml.tensor(x, { dtype = "float64" })
  end
  if x:dim() == 1 then return K.rolling(x:to("float64"), window, center, minp, median) end
  if x:dim() ~= 2 then fail(fmt("%s: expected a 1-D series or a 2-D [n, d] matrix of series, got %d dims", fn, x:dim())) end
  local cols = {}
  for j = 1, x:size(2) do
    cols[j] = K.rolling(x:select(2, j):to("float64"):contiguous(), window, center, minp, median):reshape(x:size(1), 1)
  end
  return ml.cat(cols, 2)
end

--- prep.rolling_mean(x, window, [{center=false, min_periods=window}]) -> the moving mean (NaN skipped), as pandas
function M.rolling_mean(x, window, opts) return rolling("prep.rolling_mean", x, window, opts, false) end

--- prep.rolling_median(x, window, [{center=false, min_periods=window}]) -> the moving median (NaN skipped), as pandas
function M.rolling_median(x, window, opts) return rolling("prep.rolling_median", x, window, opts, true) end

-- ---- Winsorizer -------------------------------------------------------------------------

local Winsorizer = base.define("prep.Winsorizer",
  "prep.Winsorizer([{quantiles={0.05, 0.95}}]) — clips each column into its fitted lower and upper quantiles "
  .. "(winsorizing; NaN ignored/kept); fitted: lower_, upper_",
  { { "quantiles", { 0.05, 0.95 } } })

function Winsorizer:_check(fn)
  local q = self.quantiles
  if type(q) ~= "table" or type(q[1]) ~= "number" or type(q[2]) ~= "number" or not (0 <= q[1] and q[1] <= q[2] and q[2] <= 1) then
    fail(fmt("%s: quantiles must be {low, high} with 0 <= low <= high <= 1, got %s", fn,
      type(q) == "table" and fmt("{%s, %s}", tostring(q[1]), tostring(q[2])) or checks.show(q)))
  end
end

function Winsorizer:_fit(X, _, fn)
  local q = base.call(fn, K.quantiles, X, { self.quantiles[1], self.quantiles[2] })
  self.lower_, self.upper_ = q:select(1, 1):contiguous(), q:select(1, 2):contiguous()
end

function Winsorizer:_transform(X, fn)
  return base.call(fn, K.clip, X, self.lower_, self.upper_)
end
M.Winsorizer = Winsorizer

do
  local doc = ml.doc
  doc(M.outliers, "prep.outliers(X, [{method='zscore'|'iqr', threshold=3|1.5}]) -> row mask, cell mask — cells beyond threshold standard deviations, or outside [Q1 - k IQR, Q3 + k IQR]")
  doc(M.remove_outliers, "prep.remove_outliers(X, [opts]) -> X without outlier rows, kept row numbers — as prep.outliers")
  doc(M.drop_duplicates, "prep.drop_duplicates(X, [{keep='first'|'last'}]) -> unique rows, kept row numbers — rows equal value for value (NaN equals NaN)")
  doc(M.rolling_mean, "prep.rolling_mean(x, window, [{center=false, min_periods=window}]) -> tensor — pandas' rolling mean of a series (or each column), NaN skipped")
  doc(M.rolling_median, "prep.rolling_median(x, window, [{center=false, min_periods=window}]) -> tensor — pandas' rolling median of a series (or each column), NaN skipped")
end

return M
