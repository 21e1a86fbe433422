--- models/base.lua: models.Estimator, the base of every estimator in ml.models
-- (scikit-learn's estimator contract on prep.Transformer: the same options,
-- input checks, get_params/set_params and persistence).
--
-- An estimator class is made with base.define(name, doc, params, [parent]),
-- params the ordered list of its options {{"alpha", 1.0}, ...}, and says
--   cls.KIND   = "classifier" | "regressor"
--   cls.INPUT  = "matrix" (a float tensor [n, d], the default; frames of numeric columns become one)
--   cls.SPARSE = true when fit/predict take an ml.sparse matrix as it is
-- then defines
--   self:_fit(X, y, fn, opts)   y: int64 codes 1..K (classifiers; self.classes_ holds the label values)
--                               or a float64 tensor [n] / [n, t] (regressors); opts.sample_weight: float64 [n] or nil
--   self:_predict(X, fn)        -> int64 codes 1..K (classifiers) or a float64 tensor (regressors)
--   self:_predict_proba(X, fn)  -> float64 [n, K], columns in the order of classes_ (optional)
--   self:_decision_function(X, fn) -> float64 [n] (binary) or [n, K] (optional)
-- Fitted attributes are fields ending in "_" (coef_, classes_, n_features_in_);
-- persistence saves them all (tensors as tensors, lists of tensors, the rest
-- as JSON); an estimator with other state (trees) adds _extra_state /
-- _load_extra_state as prep.Transformer documents.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"
local prep_base = require "moonlab.prep.base"

local fail, fmt = checks.fail, string.format
local base = {}

local Estimator = prep_base.Transformer:extend("models.Estimator",
  "models.Estimator — the base of ml.models' estimators: fit(X, y, [{sample_weight=}]), predict, predict_proba, "
  .. "decision_function, score, get_params/set_params, clone, save; X a tensor, a data frame or a sparse matrix")
base.Estimator = Estimator
Estimator.KIND = "regressor"
Estimator.SPARSE = false

local function is_sparse(X)
  return type(X) == "table" and not ml.is_tensor(X) and getmetatable(X) ~= nil
    and require("moonlab.sparse").is(X)
end
base.is_sparse = is_sparse

-- What _fit/_predict take: a sparse matrix as it is (SPARSE estimators), else prep.Transformer's input.
function Estimator:_input(fn, X, fitting)
  if is_sparse(X) then
    if not self.SPARSE then
      fail(fmt("%s: %s does not take a sparse matrix; densify it with X:to_dense() or use a model that does", fn, self.__name))
    end
    prep_base.check_width(self, fn, X:size(2), fitting)
    if fitting then self.feature_names_in_ = nil end
    return X
  end
  return prep_base.Transformer._input(self, fn, X, fitting)
end

-- rows of what _input gave: a tensor, a sparse matrix, a frame (INPUT = "any") or a list of columns
local function rows_of(X)
  if ml.is_tensor(X) or is_sparse(X) then return X:size(1) end
  if prep_base.is_frame(X) then return #X end
  if type(X) == "table" and X[1] and X[1].values then return X[1].values:size(1) end
  return X:size(1)
end

-- y for a regressor: float64 [n] or [n, t]
local function regression_target(fn, y, n)
  if not ml.is_tensor(y) then
    if type(y) == "table" and y.kind and ml.is_tensor(y.values) then
      if y.kind == "string" or y.kind == "category" then
        fail(fmt("%s: y is a column of %ss; a regressor needs numeric targets", fn, y.kind))
      end
      local miss = y.missing_count and y:missing_count() or 0
      if miss > 0 then fail(fmt("%s: y has %d missing value%s; expected finite target values", fn, miss, miss == 1 and "" or "s")) end
      y = y.values
    elseif type(y) == "table" then
      for i = 1, #y do
        if type(y[i]) ~= "number" then
          fail(fmt("%s: y[%d] is %s; a regressor needs numeric targets", fn, i, checks.show(y[i])))
        end
      end
      y = ml.tensor(y, { dtype = "float64" })
    else fail(fmt("%s: y must be a tensor or a list of numbers, got %s", fn, type(y))) end
  end
  if y:dim() == 2 and y:size(2) == 1 then y = y:reshape(y:size(1)) end
  if y:dim() < 1 or y:dim() > 2 then fail(fmt("%s: y must be 1-D [n] or 2-D [n, targets], got a %d-D tensor", fn, y:dim())) end
  y = y:to("float64"):contiguous()
  if y:isnan():sum():item() > 0 then fail(fn .. ": y holds NaN; expected finite target values") end
  if y:abs():eq(math.huge):sum():item() > 0 then fail(fn .. ": y holds infinite values; expected finite target values") end
  return y
end

local function sample_weight(fn, w, n)
  if w == nil then return nil end
  if not ml.is_tensor(w) then w = ml.tensor(w, { dtype = "float64" }) end
  w = w:to("float64"):contiguous()
  if w:dim() ~= 1 or w:size(1) ~= n then
    fail(fmt("%s: sample_weight must have one value per row (%d), got shape [%s]", fn, n, table.concat(w:shape(), ", ")))
  end
  if w:lt(0):sum():item() > 0 or w:isnan():sum():item() > 0 or w:abs():eq(math.huge):sum():item() > 0 then
    fail(fn .. ": sample_weight must be finite and >= 0")
  end
  if n > 0 and w:sum():item() <= 0 then fail(fn .. ": sample_weight sums to 0; expected at least one positive weight") end
  return w
end

-- class_weight = {[label] = weight} keyed by numbers or booleans (the common {[0] = 1, [1] = 5}) is no
-- JSON object: core/persist saves it as {["$label_weights"] = {{label, weight}, ...}} and init reads it back.
local LW = "$label_weights"

function Estimator:init(opts, ...)
  if type(opts) == "table" and type(opts.class_weight) == "table" and opts.class_weight[LW] ~= nil then
    local copy = {}
    for k, v in pairs(opts) do copy[k] = v end
    local cw = {}
    for _, kv in ipairs(opts.class_weight[LW]) do cw[kv[1]] = kv[2] end
    copy.class_weight = cw
    opts = copy
  end
  return prep_base.Transformer.init(self, opts, ...)
end

function Estimator:constructor_args()
  local args = prep_base.Transformer.constructor_args(self)
  local params = args[1]
  local cw = type(params) == "table" and params.class_weight
  if type(cw) == "table" and getmetatable(cw) == nil then
    local plain = true
    for k in pairs(cw) do if type(k) ~= "string" then plain = false end end
    if not plain then
      local list = {}
      for k, v in pairs(cw) do list[#list + 1] = { k, v } end
      table.sort(list, function(a, b)
        if type(a[1]) ~= type(b[1]) then return type(a[1]) < type(b[1]) end
        if type(a[1]) == "boolean" then return (not a[1]) and b[1] end
        return a[1] < b[1]
      end)
      local copy = {}
      for k, v in pairs(params) do copy[k] = v end
      copy.class_weight = { [LW] = list }
      args[1] = copy
    end
  end
  return args
end

--- est:fit(X, y, [{sample_weight = w}]) -> est: learns from X (tensor, frame or sparse) and y (labels or targets)
function Estimator:fit(X, y, opts)
  local fn = self.__name .. ":fit"
  if X == nil then fail(fn .. ": expected X (a tensor, a data frame or a sparse matrix), got nil") end
  if y == nil then fail(fn .. ": expected y (the labels or targets), got nil") end
  opts = checks.options(fn, opts, { "sample_weight" })
  self._fitted = nil
  local input = self:_input(fn, X, true)
  local n = rows_of(input)
  if n == 0 then fail(fn .. ": X has no rows; fit needs at least one") end
  local target
  if prep_base.is_frame(y) then
    local names = y._names or {}
    if #names ~= 1 then fail(fmt("%s: y is a data frame of %d columns; expected one column (or a tensor, a list)", fn, #names)) end
    y = y:column(names[1])
  end
  if self.KIND == "classifier" then
    local vals = labels.read(fn, y)
    if ml.is_tensor(vals) and (vals:dtype() == "float32" or vals:dtype() == "float64") then
      local bad = vals:remainder(1):ne(0)
      if bad:sum():item() > 0 then
        local at = ml.argmax(bad:to("int64")):item()
        fail(fmt("%s: label %d is %s, not a class label; %s is a classifier and needs discrete labels "
          .. "(integers, strings, booleans), not continuous values (use a regressor, or round them)",
          fn, at, tostring(vals[at]), self.__name))
      end
    end
    local ny = labels.length(fn, y)
    if ny ~= n then fail(fmt("%s: X has %d rows but y has %d labels", fn, n, ny)) end
    target, self.classes_ = labels.encode(fn, y)
    self.n_classes_ = #self.classes_
  else
    target = regression_target(fn, y, n)
    if target:size(1) ~= n then fail(fmt("%s: X has %d rows but y has %d values", fn, n, target:size(1))) end
  end
  self:_fit(input, target, fn, { sample_weight = sample_weight(fn, opts.sample_weight, n) })
  self._fitted = true
  return self
end

--- est:predict(X) -> labels (classifiers: the label values seen by fit) or a float64 tensor (regressors)
function Estimator:predict(X)
  local fn = self.__name .. ":predict"
  self:check_fitted(fn)
  local out = self:_predict(self:_input(fn, X, false), fn)
  if self.KIND == "classifier" then return labels.decode(out, self.classes_) end
  return out
end

--- est:predict_proba(X) -> float64 [n, K]: class probabilities, columns in the order of est.classes_
function Estimator:predict_proba(X)
  local fn = self.__name .. ":predict_proba"
  if not self._predict_proba then fail(fmt("%s: %s has no predict_proba", fn, self.__name)) end
  self:check_fitted(fn)
  return self:_predict_proba(self:_input(fn, X, false), fn)
end

--- est:predict_log_proba(X) -> float64 [n, K]: the log of predict_proba (scikit-learn's; -inf where a probability is 0)
function Estimator:predict_log_proba(X)
  local fn = self.__name .. ":predict_log_proba"
  if not self._predict_proba then fail(fmt("%s: %s has no predict_proba", fn, self.__name)) end
  self:check_fitted(fn)
  return self:_predict_proba(self:_input(fn, X, false), fn):log()
end

--- est:decision_function(X) -> float64 [n] (binary) or [n, K]: the model's scores before the link
function Estimator:decision_function(X)
  local fn = self.__name .. ":decision_function"
  if not self._decision_function then fail(fmt("%s: %s has no decision_function", fn, self.__name)) end
  self:check_fitted(fn)
  return self:_decision_function(self:_input(fn, X, false), fn)
end

--- est:has_method(name) -> whether the estimator implements name (predict_proba and decision_function are optional)
function Estimator:has_method(name)
  if name == "predict_proba" or name == "decision_function" then return self["_" .. name] ~= nil end
  if name == "predict_log_proba" then return self._predict_proba ~= nil end
  return type(self[name]) == "function"
end

--- est:score(X, y, [{sample_weight = w}]) -> accuracy (classifiers) or R² (regressors) on X, y
function Estimator:score(X, y, opts)
  local fn = self.__name .. ":score"
  opts = checks.options(fn, opts, { "sample_weight" })
  self:check_fitted(fn)
  local metrics = require "moonlab.metrics"
  if prep_base.is_frame(y) and #(y._names or {}) == 1 then y = y:column(y._names[1]) end
  local pred = self:predict(X)
  local mopts = opts.sample_weight ~= nil and { sample_weight = opts.sample_weight } or nil
  if self.KIND == "classifier" then return metrics.accuracy_score(y, pred, mopts) end
  return metrics.r2_score(y, pred, mopts)
end

function Estimator:transform()
  fail(fmt("%s:transform: %s is an estimator, not a transformer (use predict)", self.__name, self.__name))
end

--- est:clone() -> a new, unfitted estimator with the same options (scikit-learn's clone)
function Estimator:clone()
  return base.clone(self)
end

local function deep_copy(v)
  if type(v) ~= "table" or ml.is_tensor(v) or getmetatable(v) ~= nil then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x) end
  return out
end

--- base.clone(obj) -> a new, unfitted copy of an estimator or transformer built from its get_params
-- (options that are estimators themselves are cloned too)
function base.clone(obj)
  if type(obj) ~= "table" or type(obj.get_params) ~= "function" then
    fail(fmt("models.clone: expected an estimator (with get_params), got %s", ml.is_tensor(obj) and "a tensor" or type(obj)))
  end
  if type(obj.clone) == "function" and obj.clone ~= Estimator.clone then return obj:clone() end
  local params = obj:get_params()
  local copy = {}
  for k, v in pairs(params) do
    if type(v) == "table" and not ml.is_tensor(v) and type(v.get_params) == "function" then copy[k] = base.clone(v)
    else copy[k] = deep_copy(v) end
  end
  return getmetatable(obj)(copy)
end

--- base.define(name, doc, params, [parent=Estimator]) -> an estimator class with those options
function base.define(name, doc, params, parent)
  return prep_base.define(name, doc, params, parent or Estimator)
end

do
  local doc = ml.doc
  doc(Estimator.fit, "est:fit(X, y, [{sample_weight=}]) -> est — learns from X (tensor, data frame or sparse matrix) and y")
  doc(Estimator.predict, "est:predict(X) -> labels | tensor — predicted labels (the values fit saw) or values")
  doc(Estimator.predict_proba, "est:predict_proba(X) -> float64 [n, K] — class probabilities in the order of classes_")
  doc(Estimator.predict_log_proba, "est:predict_log_proba(X) -> float64 [n, K] — the log of the class probabilities")
  doc(Estimator.decision_function, "est:decision_function(X) -> tensor — scores before the link ([n] binary, [n, K] multi-class)")
  doc(Estimator.has_method, "est:has_method(name) -> boolean — whether the estimator implements name (predict_proba, decision_function)")
  doc(Estimator.score, "est:score(X, y, [{sample_weight=}]) -> number — accuracy (classifiers) or R² (regressors)")
  doc(Estimator.clone, "est:clone() -> estimator — a new, unfitted estimator with the same options")
  doc(base.clone, "models.clone(est) -> estimator — a new, unfitted copy built from est:get_params()")
  doc(base.define, "base.define(name, doc, params, [parent]) -> class — an estimator class with ordered options {{name, default}, ...}")
end

return base
