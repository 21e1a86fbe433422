--- prep/knn_impute.lua: prep.KNNImputer, scikit-learn 1.2's KNNImputer.
--
--   local imp = prep.KNNImputer{n_neighbors = 5, weights = "distance"}
--   local Xf = imp:fit_transform(X)          -- NaN cells filled from the nearest rows
--
-- Each missing cell gets the mean of its column over the n_neighbors fitted
-- rows nearest to its row (nan_euclidean distance: the present coordinates,
-- scaled up for the missing ones) among those where that column is present;
-- with weights = "distance", weighted by 1 / distance. A row with no
-- coordinate in common with any donor gets the column's mean. Columns
-- missing everywhere at fit are dropped (kept as zeros with
-- keep_empty_features). The distances and the selection run in C
-- (runtime/ops/neighbors.c, ml._neighbors.knn_impute).
--
-- Written on core/class directly: prep's shared transformer base was not on
-- main yet; the method names are the contract's (fit, transform, fit_transform).
local ml = require "moonlab"
local Object = require("moonlab.core.class").Object
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local fail, fmt = checks.fail, string.format
local M = {}

local KNNImputer = Object:extend("prep.KNNImputer",
  "prep.KNNImputer([{n_neighbors=5, weights='uniform'|'distance', missing_values=nan, keep_empty_features=false, "
  .. "add_indicator=false}]) — fills missing cells from the nearest rows (nan_euclidean distance), as scikit-learn's; "
  .. "fit, transform, fit_transform, get_feature_names_out, get_params/set_params, save (prep.load)")

local OPTIONS = { "n_neighbors", "weights", "missing_values", "keep_empty_features", "add_indicator" }

function KNNImputer:init(opts)
  local fn = "prep.KNNImputer"
  opts = checks.options(fn, opts, OPTIONS)
  self.n_neighbors = opts.n_neighbors ~= nil and checks.integer(fn, "n_neighbors", opts.n_neighbors, 1) or 5
  self.weights = checks.one_of(fn, "weights", opts.weights, { "uniform", "distance" }, "uniform")
  if opts.missing_values ~= nil and type(opts.missing_values) ~= "number" then
    fail(fmt("%s: missing_values must be a number (NaN by default), got %s", fn, checks.show(opts.missing_values)))
  end
  self.missing_values = opts.missing_values -- nil: NaN
  self.keep_empty_features = checks.boolean(fn, "keep_empty_features", opts.keep_empty_features, false)
  self.add_indicator = checks.boolean(fn, "add_indicator", opts.add_indicator, false)
end

function KNNImputer:extra_repr()
  return fmt("n_neighbors=%d, weights='%s'", self.n_neighbors, self.weights)
end

-- X as a float64 tensor [n, d] with NaN for the missing cells, the names of a frame, and the input dtype.
function KNNImputer:_as_matrix(fn, X)
  local names, dtype
  local ok, DataFrame = pcall(require, "moonlab.data.frame")
  if ok and DataFrame.is(X) then
    names = X._names
    for _, name in ipairs(names) do
      local kind = X._cols[name].kind
      if kind ~= "float64" and kind ~= "int64" and kind ~= "bool" then
        fail(fmt("%s: X's column '%s' is %s; KNNImputer works on numbers: encode it first or select the numeric columns", fn, name, kind))
      end
    end
    X = X:to_tensor(names, "float64")
  elseif not ml.is_tensor(X) then
    fail(fmt("%s: X must be a tensor [rows, features] or a data frame, got %s", fn, checks.show(X)))
  end
  if X:dim() ~= 2 then fail(fmt("%s: X must be 2-D [rows, features], got %s", fn, format.shape(X))) end
  dtype = X:dtype()
  X = dtype == "float64" and X:contiguous() or X:double()
  local mv = self.missing_values
  if mv ~= nil and mv == mv then X = X:masked_fill(X:eq(mv), 0 / 0) end
  if X:isinf():sum():item() > 0 then fail(fmt("%s: X holds infinite values; only NaN marks a missing cell", fn)) end
  return X, names, dtype
end

--- imputer:fit(X) -> imputer: keeps the rows as donors, the columns' means and which columns have any value
function KNNImputer:fit(X)
  local fn = "prep.KNNImputer:fit"
  local Xt, names = self:_as_matrix(fn, X)
  local missing = Xt:isnan()
  local present = missing:logical_not():double():sum(1)
  self.fit_X_ = Xt
  self.valid_mask_ = present:gt(0)
  self.fit_mean_ = Xt:masked_fill(missing, 0):sum(1) / present -- NaN for a column missing everywhere
  self.n_features_in_ = Xt:shape()[2]
  self.feature_names_in_ = names
  -- scikit-learn's MissingIndicator(features="missing-only"): the columns with a missing cell at fit
  self.indicator_features_ = ml.arange(1, Xt:shape()[2] + 1):masked_select(missing:sum(1):gt(0))
  return self
end

--- imputer:transform(X) -> X with its missing cells filled (a tensor, or a frame when X is one)
function KNNImputer:transform(X)
  local fn = "prep.KNNImputer:transform"
  if not self.fit_X_ then fail(fn .. ": this KNNImputer is not fitted yet; call fit(X) first") end
  local Xt, names, dtype = self:_as_matrix(fn, X)
  if Xt:shape()[2] ~= self.n_features_in_ then
    fail(fmt("%s: X has %d columns, expected %d (the width seen by fit)", fn, Xt:shape()[2], self.n_features_in_))
  end
  local out = checks.call(ml._neighbors.knn_impute, Xt, self.fit_X_, self.n_neighbors, self.weights == "distance",
    self.fit_mean_, self.valid_mask_)
  local keep = ml.arange(1, self.n_features_in_ + 1):masked_select(self.valid_mask_)
  if keep:numel() < self.n_features_in_ then
    if self.keep_empty_features then
      out = out:masked_fill(self.valid_mask_:logical_not():reshape(1, -1):expand_as(out), 0)
      keep = nil
    else
      out = out:index_select(2, keep)
    end
  else
    keep = nil
  end
  local indicator = self.add_indicator and self.indicator_features_:numel() > 0
  if indicator then out = ml.cat({ out, Xt:isnan():index_select(2, self.indicator_features_):double() }, 2) end
  if dtype == "float32" then out = out:float() end
  if names then
    local Column = require "moonlab.data.column"
    local DataFrame = require "moonlab.data.frame"
    local kept, cols = {}, {}
    local idx = keep and keep:tolist() or nil
    local nkept = out:shape()[2] - (indicator and self.indicator_features_:numel() or 0)
    local ind = indicator and self.indicator_features_:tolist() or {}
    for j = 1, out:shape()[2] do
      kept[j] = j <= nkept and names[idx and idx[j] or j] or ("missingindicator_" .. names[ind[j - nkept]])
      cols[j] = Column.new("float64", out:select(2, j):contiguous())
    end
    return DataFrame.from_columns(kept, cols)
  end
  return out
end

--- imputer:fit_transform(X) -> fit(X), then transform(X)
function KNNImputer:fit_transform(X)
  return self:fit(X):transform(X)
end

--- imputer:get_params() -> {option = value}: the options the imputer was made with (or set)
function KNNImputer:get_params()
  local out = {}
  for _, k in ipairs(OPTIONS) do out[k] = self[k] end
  return out
end

--- imputer:set_params{option = value} -> imputer: changes options (checked; the fitted state is dropped)
function KNNImputer:set_params(opts)
  local fn = "prep.KNNImputer:set_params"
  opts = checks.options(fn, opts, OPTIONS)
  local merged = self:get_params()
  for k, v in pairs(opts) do merged[k] = v end
  local fresh = KNNImputer(merged) -- checks them as the constructor does
  for _, k in ipairs(OPTIONS) do self[k] = fresh[k] end
  self.fit_X_, self.fit_mean_, self.valid_mask_, self.indicator_features_ = nil, nil, nil, nil
  self.n_features_in_, self.feature_names_in_ = nil, nil
  return self
end

--- imputer:get_feature_names_out([input_names]) -> the output column names (kept columns, then the indicators)
function KNNImputer:get_feature_names_out(input)
  if not self.fit_X_ then fail("prep.KNNImputer:get_feature_names_out: this KNNImputer is not fitted yet; call fit(X) first") end
  input = input or self.feature_names_in_
  local out = {}
  local valid = self.valid_mask_:tolist()
  for j = 1, self.n_features_in_ do
    if valid[j] or self.keep_empty_features then out[#out + 1] = input and input[j] or ("x" .. j) end
  end
  if self.add_indicator then
    for _, j in ipairs(self.indicator_features_:tolist()) do
      out[#out + 1] = "missingindicator_" .. (input and input[j] or ("x" .. j))
    end
  end
  return out
end

--- imputer:save(path) / prep.load(path): one file through core/persist
function KNNImputer:save(path)
  require("moonlab.core.persist").save(path, self)
end

-- core/persist rebuilds from the current options (set_params included), not the first ones.
function KNNImputer:constructor_args()
  return table.pack(self:get_params())
end

-- core/persist: the fitted donors and statistics as tensors.
function KNNImputer:persist_state()
  if not self.fit_X_ then return {} end
  return { tensors = { fit_X_ = self.fit_X_, fit_mean_ = self.fit_mean_, valid_mask_ = self.valid_mask_,
                       indicator_features_ = self.indicator_features_ },
           settings = { feature_names_in_ = self.feature_names_in_ } }
end

function KNNImputer:load_persist_state(st)
  local t = st.tensors or {}
  if t.fit_X_ then
    self.fit_X_, self.fit_mean_, self.valid_mask_ = t.fit_X_, t.fit_mean_, t.valid_mask_
    self.indicator_features_ = t.indicator_features_
    self.n_features_in_ = self.fit_X_:shape()[2]
    self.feature_names_in_ = st.settings and st.settings.feature_names_in_ or nil
  end
end

ml.doc(KNNImputer.fit, "imputer:fit(X) -> imputer — keeps X's rows as donors (fit_X_), the columns' means (fit_mean_) and valid_mask_")
ml.doc(KNNImputer.transform, "imputer:transform(X) -> X' — each missing cell the (weighted) mean of its column over the n_neighbors "
  .. "nearest donors that have it (scikit-learn's KNNImputer)")
ml.doc(KNNImputer.get_params, "imputer:get_params() -> table — the imputer's options")
ml.doc(KNNImputer.set_params, "imputer:set_params{...} -> imputer — changes options (checked; the fitted state is dropped)")
ml.doc(KNNImputer.get_feature_names_out, "imputer:get_feature_names_out([input_names]) -> list — the kept columns, then 'missingindicator_<name>'")
ml.doc(KNNImputer.save, "imputer:save(path) — writes the fitted imputer to one safetensors file (prep.load reads it)")
ml.doc(KNNImputer.constructor_args, "imputer:constructor_args() -> packed table — the current options, what core/persist saves")
ml.doc(KNNImputer.fit_transform, "imputer:fit_transform(X) -> X' — fit(X), then transform(X)")

ml.doc(KNNImputer.init, "KNNImputer:init(opts) — the constructor behind prep.KNNImputer{...}: checks and keeps the options")
ml.doc(KNNImputer.extra_repr, "KNNImputer:extra_repr() -> string — the options tostring shows")
ml.doc(KNNImputer.persist_state, "KNNImputer:persist_state() -> {tensors, settings} — the fitted donors and means, for core/persist")
ml.doc(KNNImputer.load_persist_state, "KNNImputer:load_persist_state(state) — restores what persist_state saved")

M.KNNImputer = KNNImputer
return M
