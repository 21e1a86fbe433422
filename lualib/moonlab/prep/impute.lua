--- prep/impute.lua: prep.SimpleImputer, scikit-learn's: fills missing cells
-- with each column's mean, median, most frequent value or a constant, and
-- optionally appends indicator columns of where cells were missing.
--
-- A tensor comes back as a tensor (NaN is missing; columns that had no value
-- at fit are dropped, as scikit-learn does, except for "constant"); a data
-- frame comes back as a frame, so string, category and date columns can be
-- imputed too (most_frequent or constant) before an encoder.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.prep.base"

local K = ml._prep
local fail, fmt = checks.fail, string.format

local M = {}

local SimpleImputer = base.define("prep.SimpleImputer",
  "prep.SimpleImputer([{strategy='mean', fill_value, add_indicator=false, missing_values=nan}]) — fills missing cells "
  .. "per column with the mean, median, most_frequent value or fill_value ('constant'); tensors and frames "
  .. "(string/category columns too); fitted: statistics_",
  { { "strategy", "mean" }, { "fill_value", nil }, { "add_indicator", false }, { "missing_values", 0 / 0, nan = true } })
SimpleImputer.INPUT = "any"

local STRATEGIES = { "mean", "median", "most_frequent", "constant" }

function SimpleImputer:_check(fn)
  checks.one_of(fn, "strategy", self.strategy, STRATEGIES)
  checks.boolean(fn, "add_indicator", self.add_indicator)
  local mv = self.missing_values
  if type(mv) ~= "number" then fail(fmt("%s: missing_values must be a number (NaN by default), got %s", fn, checks.show(mv))) end
  local fv = self.fill_value
  if fv ~= nil and type(fv) ~= "number" and type(fv) ~= "string" then
    fail(fmt("%s: fill_value must be a number or a string, got %s", fn, checks.show(fv)))
  end
end

-- A matrix with missing_values (when it is a number) turned into NaN.
local function as_nan(self, X)
  local mv = self.missing_values
  if mv == mv then X = X:masked_fill(X:eq(mv), 0 / 0) end
  return X
end

-- The most frequent non-NaN value of a float column (the smallest among ties), NaN when none.
local function mode_of(v)
  local vals, counts = K.unique(v)
  local best, bestc = 0 / 0, 0
  local vl, cl = vals:tolist(), counts:tolist()
  for i = 1, #vl do
    if vl[i] == vl[i] and cl[i] > bestc then best, bestc = vl[i], cl[i] end
  end
  return best
end

-- The statistic of one float64 column [n] under a numeric strategy.
local function numeric_stat(self, fn, v)
  local s = self.strategy
  if s == "constant" then
    local fv = self.fill_value
    if fv == nil then return 0 end
    if type(fv) ~= "number" then fail(fmt("%s: fill_value '%s' is a string, but the column is numeric", fn, fv)) end
    return fv
  end
  local m = v:reshape(v:size(1), 1)
  if s == "mean" then
    local _, mean = K.colstats(m)
    return mean[1]
  elseif s == "median" then
    return K.quantiles(m, { 0.5 })[1][1]
  end
  return mode_of(v)
end

-- The most frequent string of a column (codes into pool; the first in string order among ties), nil when none.
local function string_mode(c)
  local vals, counts = K.unique(c.values:to("float64"))
  local vl, cl = vals:tolist(), counts:tolist()
  local best, bestc
  for i = 1, #vl do
    if vl[i] ~= 0 then
      local s = c.pool:get(math.tointeger(vl[i]))
      if not bestc or cl[i] > bestc or (cl[i] == bestc and s < best) then best, bestc = s, cl[i] end
    end
  end
  return best
end

local NUMERIC = { float64 = true, int64 = true, bool = true }

function SimpleImputer:_fit(X, _, fn)
  if ml.is_tensor(X) then
    X = as_nan(self, X)
    -- mean and median: one pass of the column kernels over the whole matrix
    if self.strategy == "mean" then
      local count, mean = base.call(fn, K.colstats, X, false)
      base.reject_inf(fn, X, count, mean)
      self.statistics_ = mean
    elseif self.strategy == "median" then
      self.statistics_ = base.call(fn, K.quantiles, X, { 0.5 }):reshape(X:size(2)):contiguous()
      base.reject_inf(fn, X, nil, self.statistics_)
    else
      local stats = {}
      for j = 1, X:size(2) do stats[j] = numeric_stat(self, fn, X:select(2, j):contiguous()) end
      self.statistics_ = ml.tensor(stats, { dtype = "float64" })
    end
    self.indicator_features_ = nil
    if self.add_indicator then
      local missing = X:isnan():sum(1):gt(0):tolist()
      local feats = {}
      for j, m in ipairs(missing) do if m then feats[#feats + 1] = j end end
      self.indicator_features_ = feats
    end
    return
  end
  -- a frame: a statistic per column (numbers, or a string for string/category columns)
  local stats, feats = {}, {}
  for j, name in ipairs(X._names) do
    local c = X._cols[name]
    if NUMERIC[c.kind] then
      stats[j] = numeric_stat(self, fn, as_nan(self, base.col_as_float(c)))
    elseif c.kind == "string" or c.kind == "category" then
      if self.strategy == "mean" or self.strategy == "median" then
        fail(fmt("%s: column '%s' holds %ss; strategy '%s' needs numbers (use 'most_frequent' or 'constant')", fn, name, c.kind, self.strategy))
      end
      if self.strategy == "constant" then
        local fv = self.fill_value
        if fv ~= nil and type(fv) ~= "string" then fv = tostring(fv) end
        stats[j] = fv or "missing_value"
      else stats[j] = string_mode(c) or ml.json.null end
    else
      if self.strategy == "mean" or self.strategy == "median" then
        fail(fmt("%s: column '%s' holds %ss; strategy '%s' needs numbers (use 'most_frequent' or 'constant')", fn, name, c.kind, self.strategy))
      end
      if self.strategy == "constant" then
        if math.type(self.fill_value) ~= "integer" then
          fail(fmt("%s: column '%s' holds %ss; fill_value must be integer seconds since 1970", fn, name, c.kind))
        end
        stats[j] = self.fill_value
      else
        local m = mode_of(c.values:to("float64"):masked_select(c.valid or c.values:eq(c.values)))
        stats[j] = m == m and math.tointeger(m) or ml.json.null
      end
    end
    if self.add_indicator and c:missing_count() > 0 then feats[#feats + 1] = j end
  end
  self.frame_statistics_ = stats
  self.indicator_features_ = self.add_indicator and feats or nil
end

-- The indicator columns of X's missing cells (the features that had missing cells at fit).
local function indicators(self, missing_of)
  local out = {}
  for i, j in ipairs(self.indicator_features_ or {}) do out[i] = missing_of(j) end
  return out
end

function SimpleImputer:_transform(X, fn)
  if ml.is_tensor(X) then
    if self.frame_statistics_ then fail(fn .. ": fitted on a data frame; transform a frame with the same columns") end
    X = as_nan(self, X)
    local stats = self.statistics_
    local out = base.call(fn, K.fillnan, X, stats)
    if self.strategy ~= "constant" then
      local keep = stats:eq(stats)
      if keep:sum():item() < stats:size(1) then
        local idx = {}
        for j, k in ipairs(keep:tolist()) do if k then idx[#idx + 1] = j end end
        out = #idx > 0 and out:index_select(2, ml.tensor(idx, { dtype = "int64" })) or ml.zeros(out:size(1), 0, { dtype = out:dtype() })
      end
    end
    if self.add_indicator then
      local ind = indicators(self, function(j) return X:select(2, j):isnan():to(out:dtype()):reshape(X:size(1), 1) end)
      if #ind > 0 then out = ml.cat({ out, table.unpack(ind) }, 2) end
    end
    return out
  end
  if not self.frame_statistics_ then fail(fn .. ": fitted on a tensor; transform a tensor of the same width") end
  local data = require "moonlab.data"
  local names, cols = {}, {}
  for j, name in ipairs(X._names) do
    local c, s = X._cols[name], self.frame_statistics_[j]
    if c.kind == "string" or c.kind == "category" then s = base.as_saved_string(s) end -- "nan" read back from a saved file
    names[j] = name
    if s == nil or s == ml.json.null or (type(s) == "number" and s ~= s) then cols[name] = c
    elseif c.kind == "string" or c.kind == "category" then
      if type(s) ~= "string" then fail(fmt("%s: column '%s' was numeric at fit, now holds %ss", fn, name, c.kind)) end
      local code = c.pool:intern(s)
      cols[name] = data.Column.new(c.kind, c.values:masked_fill(c.values:eq(0), code), nil, c.pool)
    elseif c.kind == "date" or c.kind == "datetime" then
      cols[name] = data.Column.new(c.kind, c.valid and c.values:masked_fill(c.valid:eq(false), s) or c.values)
    elseif NUMERIC[c.kind] then
      if type(s) ~= "number" then fail(fmt("%s: column '%s' held strings at fit, now holds %s values", fn, name, c.kind)) end
      local v = as_nan(self, base.col_as_float(c))
      cols[name] = data.Column.new("float64", v:masked_fill(v:isnan(), s))
    else cols[name] = c end
  end
  for _, j in ipairs(self.indicator_features_ or {}) do
    local name = X._names[j]
    local ind = "missingindicator_" .. name
    names[#names + 1] = ind
    cols[ind] = data.Column.new("bool", X._cols[name]:is_missing())
  end
  return data.DataFrame.from_columns(names, cols)
end

function SimpleImputer:_feature_names(input)
  input = input or self.feature_names_in_
  local out = {}
  local stats = self.statistics_ and self.statistics_:tolist()
  for j = 1, self.n_features_in_ do
    if not stats or self.strategy == "constant" or stats[j] == stats[j] then out[#out + 1] = input and input[j] or ("x" .. j) end
  end
  for _, j in ipairs(self.indicator_features_ or {}) do
    out[#out + 1] = "missingindicator_" .. (input and input[j] or ("x" .. j))
  end
  return out
end
M.SimpleImputer = SimpleImputer

return M
