--- models/bagging.lua: models.BaggingClassifier and models.BaggingRegressor,
-- scikit-learn's: n_estimators clones of any estimator (networks included),
-- each fit on a random draw of the rows (bootstrap: with replacement) and of
-- the columns, then averaged (probabilities, or votes for members without
-- predict_proba; the mean prediction for regression).
--
--   local bag = models.BaggingClassifier{estimator = models.NetClassifier{...}, n_estimators = 10, random_state = 0}
--
-- The draws are made with ml's generator seeded by random_state (the caller's
-- stream restored), and each member's fit runs after a seed of its own, so a
-- random_state gives the same ensemble for any n_jobs (members fit in worker
-- processes when n_jobs > 1). Members learn the label codes 1..K; one whose
-- rows miss a class has its probability columns placed among all classes.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.models.base"
local members = require "moonlab.models.members"
local cv = require "moonlab.models.cross_validation"
local splitters = require "moonlab.models.splitters"

local fail, fmt = checks.fail, string.format
local M = {}

local PARAMS = {
  { "estimator", nil }, { "n_estimators", 10 }, { "max_samples", 1.0 }, { "max_features", 1.0 },
  { "bootstrap", true }, { "bootstrap_features", false }, { "random_state", nil }, { "n_jobs", nil },
}

local function check(self, fn)
  if not members.is_estimator(self.estimator) then
    fail(fmt("%s: estimator must be an estimator (with fit and get_params), got %s", fn, checks.show(self.estimator)))
  end
  checks.integer(fn, "n_estimators", self.n_estimators, 1)
  for _, k in ipairs({ "max_samples", "max_features" }) do
    local v = self[k]
    if math.type(v) == "integer" then checks.integer(fn, k, v, 1)
    elseif type(v) ~= "number" or v <= 0 or v > 1 then
      fail(fmt("%s: %s must be a fraction in (0, 1] or a count >= 1, got %s", fn, k, checks.show(v)))
    end
  end
  checks.boolean(fn, "bootstrap", self.bootstrap)
  checks.boolean(fn, "bootstrap_features", self.bootstrap_features)
  if self.random_state ~= nil then checks.integer(fn, "random_state", self.random_state) end
  if self.n_jobs ~= nil then checks.integer(fn, "n_jobs", self.n_jobs, -1) end
end

local function count_of(fn, what, v, n)
  local k = math.type(v) == "integer" and v or math.max(1, math.floor(v * n))
  if k > n then fail(fmt("%s: %s=%d is more than the %d there are", fn, what, k, n)) end
  return k
end

-- m draws of 1..n: with replacement, or the first m of a permutation
local function draw(n, m, replace)
  if replace then return ml.randint(1, n + 1, { m }):to("int64") end
  return ml.randperm(n):narrow(1, 1, m):contiguous()
end

local function columns(X, feats, all)
  if all then return X end
  if ml.is_tensor(X) then return X:index_select(2, feats) end
  if type(X._names) == "table" then
    local names = {}
    for i, j in ipairs(feats:tolist()) do names[i] = X._names[j] end
    return X:select(names)
  end
  fail("models.Bagging: max_features < 1 needs X as a tensor or a data frame (a sparse matrix keeps all its columns)")
end

local function width_of(X)
  if ml.is_tensor(X) then return X:size(2) end
  if type(X._names) == "table" then return #X._names end
  return X:size(2)
end

local function fit_bag(self, fn, X, y, sample_weight)
  local n, d = splitters.n_rows(fn, X), width_of(X)
  local m = count_of(fn, "max_samples", self.max_samples, n)
  local k = count_of(fn, "max_features", self.max_features, d)
  local all_features = k == d and not self.bootstrap_features
  local state = ml.random_state()
  if self.random_state ~= nil then ml.seed(self.random_state) end
  local jobs = {}
  for i = 1, self.n_estimators do
    jobs[i] = { rows = draw(n, m, self.bootstrap), features = draw(d, k, self.bootstrap_features) }
    if not self.bootstrap_features then jobs[i].features = jobs[i].features:sort() end
  end
  local seed = ml.randint(0, 2 ^ 31, { 1 }):item()
  if self.random_state ~= nil then ml.set_random_state(state) end
  local template = self.estimator
  self.estimators_ = members.fit_all(fn, jobs, function(job)
    local e = base.clone(template)
    local Xi, yi = columns(cv.take(X, job.rows), job.features, all_features), cv.take(y, job.rows)
    if sample_weight then e:fit(Xi, yi, { sample_weight = cv.take(sample_weight, job.rows) }) else e:fit(Xi, yi) end
    return e
  end, self.n_jobs, seed)
  self.estimators_features_ = {}
  for i, job in ipairs(jobs) do self.estimators_features_[i] = job.features end
  self.all_features_ = all_features
end

local function member_input(self, i, X)
  return columns(X, self.estimators_features_[i], self.all_features_)
end

-- ---- BaggingClassifier --------------------------------------------------------------------------------

local BaggingClassifier = base.define("models.BaggingClassifier",
  "models.BaggingClassifier{estimator, n_estimators=10, max_samples=1.0, max_features=1.0, bootstrap=true, bootstrap_features=false, "
  .. "random_state, n_jobs} — clones of a classifier on random draws of rows and columns, their probabilities averaged", PARAMS)
M.BaggingClassifier = BaggingClassifier
BaggingClassifier.KIND = "classifier"
BaggingClassifier.INPUT = "any"
BaggingClassifier.SPARSE = true
BaggingClassifier._check = check
members.persist_fitted(BaggingClassifier, { "estimators_" })

function BaggingClassifier:_fit(X, y, fn, opts)
  if self.estimator.KIND ~= nil and self.estimator.KIND ~= "classifier" then
    fail(fmt("%s: estimator is a %s; BaggingClassifier bags classifiers", fn, self.estimator.KIND))
  end
  fit_bag(self, fn, X, y, opts.sample_weight)
end

function BaggingClassifier:_predict_proba(X)
  local K, sum = self.n_classes_, nil
  for i, e in ipairs(self.estimators_) do
    local Xi = member_input(self, i, X)
    local p
    if type(e.predict_proba) == "function" and e.KIND ~= nil then
      p = members.align(e:predict_proba(Xi):to("float64"), e.classes_, K)
    else
      -- a member without probabilities votes (scikit-learn's fallback)
      local codes = e:predict(Xi)
      if not ml.is_tensor(codes) then codes = ml.tensor(codes, { dtype = "int64" }) end
      codes = codes:to("int64")
      local n = codes:numel()
      p = ml.zeros(n, K, { dtype = "float64" }):scatter_add(2, codes:reshape(n, 1), ml.ones(n, 1, { dtype = "float64" }))
    end
    sum = sum and sum + p or p
  end
  return sum / #self.estimators_
end

function BaggingClassifier:_predict(X)
  local _, idx = self:_predict_proba(X):max(2)
  return idx:reshape(idx:numel()):to("int64")
end

-- ---- BaggingRegressor ----------------------------------------------------------------------------------

local BaggingRegressor = base.define("models.BaggingRegressor",
  "models.BaggingRegressor{estimator, n_estimators=10, max_samples=1.0, max_features=1.0, bootstrap=true, bootstrap_features=false, "
  .. "random_state, n_jobs} — clones of a regressor on random draws of rows and columns, their predictions averaged", PARAMS)
M.BaggingRegressor = BaggingRegressor
BaggingRegressor.KIND = "regressor"
BaggingRegressor.INPUT = "any"
BaggingRegressor.SPARSE = true
BaggingRegressor._check = check
members.persist_fitted(BaggingRegressor, { "estimators_" })

function BaggingRegressor:_fit(X, y, fn, opts)
  if self.estimator.KIND ~= nil and self.estimator.KIND ~= "regressor" then
    fail(fmt("%s: estimator is a %s; BaggingRegressor bags regressors", fn, self.estimator.KIND))
  end
  fit_bag(self, fn, X, y, opts.sample_weight)
end

function BaggingRegressor:_predict(X)
  local sum
  for i, e in ipairs(self.estimators_) do
    local p = e:predict(member_input(self, i, X)):to("float64")
    sum = sum and sum + p or p
  end
  return sum / #self.estimators_
end

do
  local doc = ml.doc
  doc(BaggingClassifier._predict_proba, "BaggingClassifier:_predict_proba(X) -> [n, K] — the members' mean probabilities (votes for members without them)")
  doc(BaggingClassifier._predict, "BaggingClassifier:_predict(X) -> codes — the most probable class of the averaged probabilities")
  doc(BaggingRegressor._predict, "BaggingRegressor:_predict(X) -> float64 — the members' mean prediction")
end

return M
