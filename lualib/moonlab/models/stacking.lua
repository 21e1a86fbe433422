--- models/stacking.lua: models.StackingClassifier and models.StackingRegressor,
-- scikit-learn's: a meta-model (final_estimator) learns from the members'
-- out-of-fold predictions (cross_val_predict), so it is trained on what the
-- members say about rows they did not see; the members are then refit on all
-- the rows for prediction.
--
--   local stack = models.StackingClassifier{estimators = {{"knn", ...}, {"net", ...}},
--     final_estimator = models.LogisticRegression{}, cv = 5}
--
-- stack_method "auto" takes predict_proba, else decision_function, else
-- predict, per member; for two classes the probability of the second class
-- only (scikit-learn drops the redundant column). passthrough = true gives
-- the meta-model the original columns too (tensor X). final_estimator nil is
-- scikit-learn's default, LogisticRegression (RidgeCV, here Ridge, for
-- regression), when ml.models has it.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.models.base"
local members = require "moonlab.models.members"
local cv = require "moonlab.models.cross_validation"

local fail, fmt = checks.fail, string.format
local M = {}

local PARAMS = {
  { "estimators", nil }, { "final_estimator", nil }, { "cv", 5 }, { "stack_method", "auto" },
  { "passthrough", false }, { "n_jobs", nil },
}

local function check(self, fn)
  members.check_named(fn, self.estimators)
  if self.final_estimator ~= nil and not members.is_estimator(self.final_estimator) then
    fail(fmt("%s: final_estimator must be an estimator, got %s", fn, checks.show(self.final_estimator)))
  end
  checks.one_of(fn, "stack_method", self.stack_method, { "auto", "predict_proba", "decision_function", "predict" })
  checks.boolean(fn, "passthrough", self.passthrough)
  if self.n_jobs ~= nil then require("moonlab.models.cross_validation").n_workers(fn, self.n_jobs) end
end

-- the members nested parameters reach: the estimators and final_estimator (scikit-learn's names)
local function stacking_members(self)
  local out = {}
  for i, e in ipairs(self.estimators or {}) do out[i] = e end
  if self.final_estimator ~= nil then out[#out + 1] = { "final_estimator", self.final_estimator } end
  return out
end

local function stacking_replace(self, name, est)
  if name == "final_estimator" then self.final_estimator = est else members.replace_named(self, name, est) end
end

local function final_template(self, fn, default_name)
  if self.final_estimator then return self.final_estimator end
  local models = require "moonlab.models"
  local cls = rawget(models, default_name)
  if not cls then fail(fmt("%s: final_estimator is nil and models.%s is not available; give one", fn, default_name)) end
  return cls {}
end

local function methods_for(self, fn, classifier)
  local out = {}
  for i, e in ipairs(self.estimators) do
    local m = self.stack_method
    if not classifier then m = "predict"
    elseif m == "auto" then
      m = type(e[2].predict_proba) == "function" and "predict_proba"
        or type(e[2].decision_function) == "function" and "decision_function" or "predict"
    elseif type(e[2][m]) ~= "function" then
      fail(fmt("%s: estimator '%s' has no %s", fn, e[1], m))
    end
    out[i] = m
  end
  return out
end

-- One member's output as meta columns [n, c].
local function as_columns(self, out, method)
  if not ml.is_tensor(out) then out = ml.tensor(out, { dtype = "float64" }) end
  out = out:to("float64")
  if out:dim() == 1 then return out:reshape(out:numel(), 1) end
  if method == "predict_proba" and self.n_classes_ == 2 then return out:narrow(2, 2, 1):contiguous() end
  return out
end

local function meta_features(self, parts, X)
  if self.passthrough then
    if not ml.is_tensor(X) then fail(self.__name .. ": passthrough = true needs X as a tensor (or a frame of numbers)") end
    parts[#parts + 1] = X:to("float64")
  end
  return ml.cat(parts, 2)
end

local function fit_stack(self, fn, X, y, classifier)
  local methods = methods_for(self, fn, classifier)
  local parts = {}
  for i, e in ipairs(self.estimators) do
    local out = cv.cross_val_predict(e[2], X, y,
      { cv = self.cv, method = methods[i], n_jobs = self.n_jobs })
    if methods[i] == "predict_proba" and self.n_classes_ and out:size(2) ~= self.n_classes_ then
      fail(fmt("%s: estimator '%s' gave %d probability columns, expected %d", fn, e[1], out:size(2), self.n_classes_))
    end
    parts[i] = as_columns(self, out, methods[i])
  end
  self.stack_methods_ = methods
  local Z = meta_features(self, parts, X)
  self.n_meta_features_ = Z:size(2)
  self.estimators_ = members.fit_all(fn, self.estimators, function(e) return base.clone(e[2]):fit(X, y) end, self.n_jobs)
  self.final_estimator_ = base.clone(final_template(self, fn, classifier and "LogisticRegression" or "Ridge")):fit(Z, y)
end

local function transform_members(self, X)
  local parts = {}
  for i, e in ipairs(self.estimators_) do
    local m = self.stack_methods_[i]
    local out = e[m](e, X)
    if m == "predict_proba" and e.classes_ and #e.classes_ ~= self.n_classes_ then out = members.align(out, e.classes_, self.n_classes_) end
    parts[i] = as_columns(self, out, m)
  end
  return meta_features(self, parts, X)
end

--- stack:transform(X) -> float64 [n, meta features]: what the final estimator sees (the members' outputs)
local function transform(self, X)
  local fn = self.__name .. ":transform"
  self:check_fitted(fn)
  return transform_members(self, self:_input(fn, X, false))
end

-- ---- StackingClassifier -------------------------------------------------------------------------------

local StackingClassifier = members.define("models.StackingClassifier",
  "models.StackingClassifier{estimators = {{name, est}, ...}, final_estimator, cv=5, stack_method='auto', passthrough=false, n_jobs} — "
  .. "a meta-classifier trained on the members' out-of-fold predictions", PARAMS, "classifier", { check = check, transform = transform, fitted = { "estimators_", "final_estimator_" },
  members = stacking_members, replace = stacking_replace })
M.StackingClassifier = StackingClassifier

function StackingClassifier:_fit(X, y, fn) fit_stack(self, fn, X, y, true) end

-- The final estimator learned the codes 1..K, so its labels are the ensemble's codes.
function StackingClassifier:_predict(X)
  local p = self.final_estimator_:predict(transform_members(self, X))
  if not ml.is_tensor(p) then p = ml.tensor(p, { dtype = "int64" }) end
  return p:to("int64")
end

function StackingClassifier:_predict_proba(X, fn)
  local f = self.final_estimator_
  if type(f.predict_proba) ~= "function" then fail(fmt("%s: the final estimator has no predict_proba", fn)) end
  local p = f:predict_proba(transform_members(self, X)):to("float64")
  if f.classes_ and #f.classes_ ~= self.n_classes_ then p = members.align(p, f.classes_, self.n_classes_) end
  return p
end

-- ---- StackingRegressor ---------------------------------------------------------------------------------

local StackingRegressor = members.define("models.StackingRegressor",
  "models.StackingRegressor{estimators = {{name, est}, ...}, final_estimator, cv=5, passthrough=false, n_jobs} — "
  .. "a meta-regressor trained on the members' out-of-fold predictions", PARAMS, "regressor", { check = check, transform = transform, fitted = { "estimators_", "final_estimator_" },
  members = stacking_members, replace = stacking_replace })
M.StackingRegressor = StackingRegressor

function StackingRegressor:_fit(X, y, fn) fit_stack(self, fn, X, y, false) end

function StackingRegressor:_predict(X)
  return self.final_estimator_:predict(transform_members(self, X)):to("float64")
end

do
  local doc = ml.doc
  doc(transform, "stack:transform(X) -> float64 [n, m] — the members' outputs that the final estimator sees")
  doc(StackingClassifier._predict, "StackingClassifier:_predict(X) -> codes — the final estimator's prediction on the members' outputs")
  doc(StackingClassifier._predict_proba, "StackingClassifier:_predict_proba(X) -> [n, K] — the final estimator's probabilities")
  doc(StackingRegressor._predict, "StackingRegressor:_predict(X) -> float64 — the final estimator's prediction on the members' outputs")
end

return M
