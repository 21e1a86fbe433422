--- prep/scale.lua: the scalers, as scikit-learn's: StandardScaler,
-- MinMaxScaler, RobustScaler, MaxAbsScaler and Normalizer. Statistics ignore
-- NaN and transforms pass it through (Normalizer refuses it, as scikit-learn).
-- The work is in C (ml._prep: one pass of column statistics, one fused affine
-- pass); fitted attributes are float64 tensors of the width seen by fit.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.prep.base"

local K = ml._prep
local fail, fmt = checks.fail, string.format
local EPS = 2.220446049250313e-16

local M = {}

-- scikit-learn's _handle_zeros_in_scale: a scale below 10 eps (or a constant column) is 1.
local function handle_zeros(scale, constant)
  scale = scale:masked_fill(scale:lt(10 * EPS), 1)
  if constant then scale = scale:masked_fill(constant, 1) end
  return scale
end

-- Counts as scikit-learn's n_samples_seen_: an integer when every column saw the same number, else int64 [d].
local function samples_seen(count)
  local mn, mx = count:min():item(), count:max():item()
  if mn == mx then return math.tointeger(mn) end
  return count:to("int64")
end

local function ones(d) return ml.ones(d, { dtype = "float64" }) end
local function zeros(d) return ml.zeros(d, { dtype = "float64" }) end

-- ---- StandardScaler ------------------------------------------------------------------

local StandardScaler = base.define("prep.StandardScaler",
  "prep.StandardScaler([{with_mean=true, with_std=true}]) — removes each column's mean and divides by its standard "
  .. "deviation (NaN ignored by fit, kept by transform); fitted: mean_, var_, scale_, n_samples_seen_",
  { { "with_mean", true }, { "with_std", true } })

function StandardScaler:_check(fn)
  checks.boolean(fn, "with_mean", self.with_mean)
  checks.boolean(fn, "with_std", self.with_std)
end

function StandardScaler:_fit(X, _, fn)
  local count, mean, m2 = base.call(fn, K.colstats, X)
  base.reject_inf(fn, X, count, mean)
  self.n_samples_seen_ = samples_seen(count)
  self.mean_, self.var_, self.scale_ = nil, nil, nil
  if self.with_mean or self.with_std then self.mean_ = mean end
  if self.with_std then
    local var = m2:div(count)
    self.var_ = var
    -- scikit-learn's _is_constant_feature: var below the rounding error of computing it
    local n = count
    local bound = n:mul(EPS):mul(var):add(n:mul(mean):mul(EPS):pow(2))
    self.scale_ = handle_zeros(var:sqrt(), var:le(bound))
  end
end

function StandardScaler:_transform(X, fn)
  local d = X:size(2)
  local a = self.with_mean and self.mean_ or zeros(d)
  local b = self.with_std and ml.div(1, self.scale_) or ones(d)
  return base.call(fn, K.affine, X, a, b)
end

function StandardScaler:_inverse(X, fn)
  X = base.float_matrix(fn, X)
  base.check_width(self, fn, X:size(2))
  local d = X:size(2)
  local c = self.with_mean and self.mean_ or zeros(d)
  local b = self.with_std and self.scale_ or ones(d)
  return base.call(fn, K.affine, X, zeros(d), b, c)
end
M.StandardScaler = StandardScaler

-- ---- MinMaxScaler ------------------------------------------------------------------------

local MinMaxScaler = base.define("prep.MinMaxScaler",
  "prep.MinMaxScaler([{feature_range={0, 1}, clip=false}]) — maps each column's [min, max] onto feature_range "
  .. "(NaN ignored/kept); fitted: data_min_, data_max_, data_range_, scale_, min_",
  { { "feature_range", { 0, 1 } }, { "clip", false } })

function MinMaxScaler:_check(fn)
  local r = self.feature_range
  if type(r) ~= "table" or type(r[1]) ~= "number" or type(r[2]) ~= "number" or #r ~= 2 then
    fail(fmt("%s: feature_range must be a pair {min, max} of numbers, got %s", fn, checks.show(r)))
  end
  if r[1] >= r[2] then
    fail(fmt("%s: feature_range's minimum must be smaller than its maximum, got {%g, %g}", fn, r[1], r[2]))
  end
  checks.boolean(fn, "clip", self.clip)
end

function MinMaxScaler:_fit(X, _, fn)
  local count, _, _, mn, mx = base.call(fn, K.colstats, X, false)
  base.reject_inf(fn, X, nil, mn, mx)
  local lo, hi = self.feature_range[1], self.feature_range[2]
  self.n_samples_seen_ = samples_seen(count)
  self.data_min_, self.data_max_ = mn, mx
  self.data_range_ = mx:sub(mn)
  self.scale_ = ml.div(hi - lo, handle_zeros(self.data_range_))
  self.min_ = ml.sub(lo, mn:mul(self.scale_))
end

function MinMaxScaler:_transform(X, fn)
  local d = X:size(2)
  if self.clip then
    return base.call(fn, K.affine, X, zeros(d), self.scale_, self.min_, self.feature_range[1], self.feature_range[2])
  end
  return base.call(fn, K.affine, X, zeros(d), self.scale_, self.min_)
end

function MinMaxScaler:_inverse(X, fn)
  X = base.float_matrix(fn, X)
  base.check_width(self, fn, X:size(2))
  return base.call(fn, K.affine, X, self.min_, ml.div(1, self.scale_))
end
M.MinMaxScaler = MinMaxScaler

-- ---- RobustScaler --------------------------------------------------------------------------

local RobustScaler = base.define("prep.RobustScaler",
  "prep.RobustScaler([{with_centering=true, with_scaling=true, quantile_range={25, 75}}]) — removes the median and "
  .. "divides by the interquartile range (NaN ignored/kept); fitted: center_, scale_",
  { { "with_centering", true }, { "with_scaling", true }, { "quantile_range", { 25, 75 } } })

function RobustScaler:_check(fn)
  checks.boolean(fn, "with_centering", self.with_centering)
  checks.boolean(fn, "with_scaling", self.with_scaling)
  local q = self.quantile_range
  if type(q) ~= "table" or type(q[1]) ~= "number" or type(q[2]) ~= "number" or not (0 <= q[1] and q[1] <= q[2] and q[2] <= 100) then
    fail(fmt("%s: quantile_range must be {q_min, q_max} with 0 <= q_min <= q_max <= 100, got %s", fn,
      type(q) == "table" and fmt("{%s, %s}", tostring(q[1]), tostring(q[2])) or checks.show(q)))
  end
end

function RobustScaler:_fit(X, _, fn)
  local q = base.call(fn, K.quantiles, X, { 0.5, self.quantile_range[1] / 100, self.quantile_range[2] / 100 })
  base.reject_inf(fn, X, nil, q)
  self.center_ = self.with_centering and q:select(1, 1):contiguous() or nil
  self.scale_ = self.with_scaling and handle_zeros(q:select(1, 3):sub(q:select(1, 2))):contiguous() or nil
end

function RobustScaler:_transform(X, fn)
  local d = X:size(2)
  return base.call(fn, K.affine, X, self.center_ or zeros(d), self.scale_ and ml.div(1, self.scale_) or ones(d))
end

function RobustScaler:_inverse(X, fn)
  X = base.float_matrix(fn, X)
  base.check_width(self, fn, X:size(2))
  local d = X:size(2)
  return base.call(fn, K.affine, X, zeros(d), self.scale_ or ones(d), self.center_ or zeros(d))
end
M.RobustScaler = RobustScaler

-- ---- MaxAbsScaler ----------------------------------------------------------------------------

local MaxAbsScaler = base.define("prep.MaxAbsScaler",
  "prep.MaxAbsScaler() — divides each column by its largest absolute value (NaN ignored/kept); fitted: max_abs_, scale_",
  {})

function MaxAbsScaler:_fit(X, _, fn)
  local count, _, _, mn, mx = base.call(fn, K.colstats, X, false)
  base.reject_inf(fn, X, nil, mn, mx)
  self.n_samples_seen_ = samples_seen(count)
  self.max_abs_ = mn:abs():maximum(mx:abs()):masked_fill(count:eq(0), 0 / 0)
  self.scale_ = handle_zeros(self.max_abs_)
end

function MaxAbsScaler:_transform(X, fn)
  local d = X:size(2)
  return base.call(fn, K.affine, X, zeros(d), ml.div(1, self.scale_))
end

function MaxAbsScaler:_inverse(X, fn)
  X = base.float_matrix(fn, X)
  base.check_width(self, fn, X:size(2))
  local d = X:size(2)
  return base.call(fn, K.affine, X, zeros(d), self.scale_)
end
M.MaxAbsScaler = MaxAbsScaler

-- ---- Normalizer --------------------------------------------------------------------------------

local Normalizer = base.define("prep.Normalizer",
  "prep.Normalizer([{norm='l2'}]) — scales each row to unit norm ('l1', 'l2' or 'max'); stateless (fit only checks the width)",
  { { "norm", "l2" } })

function Normalizer:_check(fn)
  checks.one_of(fn, "norm", self.norm, { "l1", "l2", "max" })
end

function Normalizer:_fit() end

function Normalizer:_transform(X, fn)
  if X:isnan():sum():item() > 0 then
    fail(fn .. ": X has missing values (NaN); a row norm needs finite values (impute first: prep.SimpleImputer)")
  end
  if X:isinf():sum():item() > 0 then -- inf / inf would make the whole row NaN; scikit-learn refuses it too
    fail(fn .. ": X has infinite values; a row norm needs finite values")
  end
  local norms
  if self.norm == "l1" then norms = X:abs():sum(2, true)
  elseif self.norm == "l2" then norms = X:mul(X):sum(2, true):sqrt()
  else norms = X:abs():max(2, true) end
  return X:div(handle_zeros(norms))
end
M.Normalizer = Normalizer

return M
