--- models/boosting.lua: models.HistGradientBoostingClassifier and
-- HistGradientBoostingRegressor, scikit-learn's histogram gradient boosting
-- (1.2) with the same options and defaults. All the work is in C
-- (runtime/ops/hist_gbm*.c through ml._boosting): binning into at most
-- max_bins quantile bins plus a bin for missing values (NaN is handled
-- natively: each split learns which side missing values go), best-first
-- trees on gradient/hessian histograms, shrinkage and early stopping on a
-- seeded validation fraction. The fitted trees are flat tensors (one row
-- per node), saved and loaded with the model.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"
local base = require "moonlab.models.base"

local fail, fmt = checks.fail, string.format
local kernel = ml._boosting
local M = {}

local COMMON = {
  { "learning_rate", 0.1 }, { "max_iter", 100 }, { "max_leaf_nodes", 31 }, { "max_depth", nil },
  { "min_samples_leaf", 20 }, { "l2_regularization", 0.0 }, { "max_bins", 255 },
  { "early_stopping", "auto" }, { "scoring", "loss" }, { "validation_fraction", 0.1 },
  { "n_iter_no_change", 10 }, { "tol", 1e-7 },
}

local function params(loss, extra)
  local out = { { "loss", loss } }
  for _, p in ipairs(COMMON) do out[#out + 1] = p end
  for _, p in ipairs(extra) do out[#out + 1] = p end
  out[#out + 1] = { "random_state", nil }
  return out
end

-- ---- options -------------------------------------------------------------------------------

local function check_common(self, fn, losses)
  checks.one_of(fn, "loss", self.loss, losses)
  checks.number(fn, "learning_rate", self.learning_rate, 0)
  if self.learning_rate <= 0 then fail(fmt("%s: learning_rate must be > 0, got %s", fn, checks.show(self.learning_rate))) end
  checks.integer(fn, "max_iter", self.max_iter, 1)
  if self.max_leaf_nodes ~= nil then checks.integer(fn, "max_leaf_nodes", self.max_leaf_nodes, 2) end
  if self.max_depth ~= nil then checks.integer(fn, "max_depth", self.max_depth, 1) end
  checks.integer(fn, "min_samples_leaf", self.min_samples_leaf, 1)
  checks.number(fn, "l2_regularization", self.l2_regularization, 0)
  checks.integer(fn, "max_bins", self.max_bins, 2, 255)
  local es = self.early_stopping
  if es ~= "auto" and type(es) ~= "boolean" then
    fail(fmt("%s: early_stopping must be 'auto', true or false, got %s", fn, checks.show(es)))
  end
  if self.scoring ~= "loss" then
    fail(fmt("%s: scoring must be 'loss' (early stopping on the loss; other scorers are not supported yet), got %s", fn,
      checks.show(self.scoring)))
  end
  local vf = self.validation_fraction
  local count = type(vf) == "number" and vf >= 1 and vf == math.floor(vf)
  if vf ~= false and not count and (type(vf) ~= "number" or not (vf > 0 and vf < 1)) then
    fail(fmt("%s: validation_fraction must be a number in (0, 1), a row count >= 1 or false (early stopping on the training loss), got %s", fn,
      checks.show(vf)))
  end
  checks.integer(fn, "n_iter_no_change", self.n_iter_no_change, 1)
  checks.number(fn, "tol", self.tol)
  if self.random_state ~= nil then checks.integer(fn, "random_state", self.random_state, 0) end
end

-- ---- fitting -------------------------------------------------------------------------------

local function seed_of(self)
  if self.random_state ~= nil then return self.random_state end
  return ml.randint(0, 2147483647, 1):item()
end

-- class_weight as per-row weights (scikit-learn's compute_sample_weight), or nil
local function class_weights(self, fn, codes)
  local cw = self.class_weight
  if cw == nil then return nil end
  local K = #self.classes_
  local per = {}
  if cw == "balanced" then
    local n = codes:size(1)
    for k = 1, K do
      local c = codes:eq(k):sum():item()
      per[k] = c > 0 and n / (K * c) or 0
    end
  elseif type(cw) == "table" then
    for k, c in ipairs(self.classes_) do
      local v = cw[c]
      if v == nil then v = 1 end
      if type(v) ~= "number" or v < 0 or v ~= v then fail(fmt("%s: class_weight[%s] must be a number >= 0, got %s", fn, tostring(c), checks.show(v))) end
      per[k] = v
    end
    for key in pairs(cw) do
      local known = false
      for _, c in ipairs(self.classes_) do if c == key then known = true break end end
      if not known then fail(fmt("%s: class_weight names the label %s, which is not one of y's classes", fn, labels.show(key))) end
    end
  else
    fail(fmt("%s: class_weight must be 'balanced', a table {label = weight} or nil, got %s", fn, checks.show(cw)))
  end
  local lut = ml.tensor(per, { dtype = "float64" })
  return ml.index_select(lut, 1, codes)
end

local function take(t, idx) return t and t:index_select(1, idx):contiguous() or nil end

-- X float64 [n, d], y float64 [n] (codes 0..K-1 or values), w float64 [n] or nil
local function boost(self, fn, X, y, w, n_outputs, loss, stratify)
  local n = X:size(1)
  self.do_early_stopping_ = self.early_stopping == true or (self.early_stopping == "auto" and n > 10000)
  local seed = seed_of(self)
  local Xv, yv, wv
  if self.do_early_stopping_ and self.validation_fraction then
    local vf = self.validation_fraction
    if vf >= 1 then vf = math.tointeger(vf) end -- a row count, as scikit-learn's int
    local nv = vf >= 1 and vf or math.ceil(vf * n)
    if nv < 1 or n - nv < 1 then
      fail(fmt("%s: validation_fraction = %g of %d rows leaves no training or validation rows", fn, self.validation_fraction, n))
    end
    local split = require("moonlab.prep.split").train_test_split
    local idx = ml.arange(1, n + 1, { dtype = "int64" })
    local ok, itr, iva = pcall(split, idx, stratify, { test_size = vf, stratify = stratify ~= nil or nil, seed = seed })
    if not ok then fail(fmt("%s: cannot split a validation fraction off: %s", fn, tostring(itr):gsub("^.-prep%.train_test_split: ", ""))) end
    Xv, yv, wv = take(X, iva), take(y, iva), take(w, iva)
    X, y, w = take(X, itr), take(y, itr), take(w, itr)
  end
  local r = kernel.fit(X, y, w, Xv, yv, wv, {
    loss = loss, n_outputs = n_outputs, learning_rate = self.learning_rate, max_iter = self.max_iter,
    max_leaf_nodes = self.max_leaf_nodes or 0, max_depth = self.max_depth or 0, min_samples_leaf = self.min_samples_leaf,
    l2_regularization = self.l2_regularization, max_bins = self.max_bins, early_stopping = self.do_early_stopping_,
    n_iter_no_change = self.n_iter_no_change, tol = self.tol, seed = seed,
  })
  self._nodes, self._tree_start, self._baseline = r.nodes, r.tree_start, r.baseline
  self.n_iter_ = r.n_iter
  self.n_trees_per_iteration_ = n_outputs
  self.train_score_ = r.train_score
  self.validation_score_ = r.validation_score
end

local function float_rows(X)
  return X:to("float64"):contiguous()
end

-- ---- prediction ----------------------------------------------------------------------------

-- raw [n, K]: the baseline plus trees of iterations 1..iters (all by default)
local function raw_predict(self, X, iters)
  local K = self.n_trees_per_iteration_
  local last = iters and iters * K or nil
  local raw = kernel.predict(float_rows(X), self._nodes, self._tree_start, K, 1, last)
  return raw:add(self._baseline:reshape(1, K))
end

-- An iterator over the iterations: i, f(raw after i iterations).
local function staged(self, X, f)
  X = float_rows(X)
  local K, i = self.n_trees_per_iteration_, 0
  local raw = ml.zeros(X:size(1), K, { dtype = "float64" }):add(self._baseline:reshape(1, K))
  return function()
    if i >= self.n_iter_ then return nil end
    i = i + 1
    raw = raw:add(kernel.predict(X, self._nodes, self._tree_start, K, (i - 1) * K + 1, i * K))
    return i, f(raw)
  end
end

local function persist_trees(self, tensors)
  tensors._nodes, tensors._tree_start, tensors._baseline = self._nodes, self._tree_start, self._baseline
end

local function load_trees(self, st)
  local t = st.tensors or {}
  if (st.settings or {}).fitted then
    for _, k in ipairs({ "_nodes", "_tree_start", "_baseline" }) do
      if not ml.is_tensor(t[k]) then error(fmt("the tensor '%s' is missing", k), 0) end
    end
    self._nodes, self._tree_start, self._baseline = t._nodes:to("float64"):contiguous(), t._tree_start:to("int64"):contiguous(),
      t._baseline:to("float64"):contiguous()
  end
end

-- ---- the classifier ------------------------------------------------------------------------

local Classifier = base.define("models.HistGradientBoostingClassifier",
  "models.HistGradientBoostingClassifier{loss='log_loss', learning_rate=0.1, max_iter=100, max_leaf_nodes=31, max_depth, "
  .. "min_samples_leaf=20, l2_regularization=0, max_bins=255, early_stopping='auto', validation_fraction=0.1 (or a row count; false: "
  .. "the training loss), n_iter_no_change=10, tol=1e-7, class_weight, random_state} — histogram gradient boosting (scikit-learn's), binary (log-odds) or multi-class "
  .. "(softmax); NaN handled natively",
  params("log_loss", { { "class_weight", nil } }))
Classifier.KIND = "classifier"
M.HistGradientBoostingClassifier = Classifier

function Classifier:_check(fn)
  check_common(self, fn, { "log_loss" })
  local cw = self.class_weight
  if cw ~= nil and cw ~= "balanced" and type(cw) ~= "table" then
    fail(fmt("%s: class_weight must be 'balanced', a table {label = weight} or nil, got %s", fn, checks.show(cw)))
  end
end

function Classifier:_fit(X, y, fn, opts)
  local K = #self.classes_
  if K < 2 then fail(fmt("%s: y holds a single class (%s); a classifier needs at least 2", fn, tostring(self.classes_[1]))) end
  if K > 256 then fail(fmt("%s: y holds %d classes, at most 256 are supported", fn, K)) end
  local w = opts.sample_weight
  local cw = class_weights(self, fn, y)
  if cw then w = w and w:mul(cw) or cw end
  if w then w = w:contiguous() end
  local codes = y:to("float64"):sub(1):contiguous()
  boost(self, fn, float_rows(X), codes, w, K == 2 and 1 or K, "log_loss", y)
end

local function proba_of(self, raw)
  if self.n_trees_per_iteration_ == 1 then
    local p = raw:sigmoid()
    return ml.cat({ p:neg():add(1), p }, 2)
  end
  return raw:softmax(2)
end

function Classifier:_decision_function(X)
  local raw = raw_predict(self, X)
  if self.n_trees_per_iteration_ == 1 then return raw:reshape(raw:size(1)) end
  return raw
end

function Classifier:_predict_proba(X)
  return proba_of(self, raw_predict(self, X))
end

function Classifier:_predict(X)
  return ml.argmax(self:_predict_proba(X), 2)
end

--- clf:staged_predict(X) -> iterator of i, labels after iteration i
function Classifier:staged_predict(X)
  local fn = self.__name .. ":staged_predict"
  self:check_fitted(fn)
  return staged(self, self:_input(fn, X, false), function(raw) return labels.decode(ml.argmax(proba_of(self, raw), 2), self.classes_) end)
end

--- clf:staged_predict_proba(X) -> iterator of i, probabilities [n, K] after iteration i
function Classifier:staged_predict_proba(X)
  local fn = self.__name .. ":staged_predict_proba"
  self:check_fitted(fn)
  return staged(self, self:_input(fn, X, false), function(raw) return proba_of(self, raw) end)
end

Classifier._extra_state = persist_trees
Classifier._load_extra_state = load_trees

-- ---- the regressor -------------------------------------------------------------------------

local Regressor = base.define("models.HistGradientBoostingRegressor",
  "models.HistGradientBoostingRegressor{loss='squared_error' | 'absolute_error', learning_rate=0.1, max_iter=100, "
  .. "max_leaf_nodes=31, max_depth, min_samples_leaf=20, l2_regularization=0, max_bins=255, early_stopping='auto', "
  .. "validation_fraction=0.1 (or a row count; false: the training loss), n_iter_no_change=10, tol=1e-7, random_state} — histogram gradient boosting (scikit-learn's); "
  .. "NaN handled natively",
  params("squared_error", {}))
Regressor.KIND = "regressor"
M.HistGradientBoostingRegressor = Regressor

function Regressor:_check(fn)
  check_common(self, fn, { "squared_error", "absolute_error" })
end

function Regressor:_fit(X, y, fn, opts)
  if y:dim() ~= 1 then fail(fmt("%s: y must be 1-D (one target), got [%s]", fn, table.concat(y:shape(), ", "))) end
  -- gradients and their histogram sums are float32 (as scikit-learn's gradients): beyond this they overflow
  -- and the trees come out silently wrong
  local ymax = y:abs():max():item()
  if ymax > 1e30 then
    fail(fmt("%s: y holds values up to %.3g; gradient boosting keeps float32 gradients, which overflow beyond ~1e30: "
      .. "rescale y (e.g. divide it by its standard deviation)", fn, ymax))
  end
  boost(self, fn, float_rows(X), y:contiguous(), opts.sample_weight, 1, self.loss, nil)
end

function Regressor:_predict(X)
  local raw = raw_predict(self, X)
  return raw:reshape(raw:size(1))
end

--- reg:staged_predict(X) -> iterator of i, predictions [n] after iteration i
function Regressor:staged_predict(X)
  local fn = self.__name .. ":staged_predict"
  self:check_fitted(fn)
  return staged(self, self:_input(fn, X, false), function(raw) return raw:reshape(raw:size(1)) end)
end

Regressor._extra_state = persist_trees
Regressor._load_extra_state = load_trees

do
  local doc = ml.doc
  doc(Classifier.staged_predict, "clf:staged_predict(X) -> iterator of i, labels — the predictions after each iteration")
  doc(Classifier.staged_predict_proba, "clf:staged_predict_proba(X) -> iterator of i, float64 [n, K] — the probabilities after each iteration")
  doc(Regressor.staged_predict, "reg:staged_predict(X) -> iterator of i, float64 [n] — the predictions after each iteration")
end

return M
