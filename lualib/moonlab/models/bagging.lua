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
  { "bootstrap", true }, { "bootstrap_features", false }, { "oob_score", false }, { "random_state", nil }, { "n_jobs", nil },
}

local function check(self, fn)
  -- estimator = nil: a decision tree, as in scikit-learn
  if self.estimator ~= nil and not members.is_estimator(self.estimator) then
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
  checks.boolean(fn, "oob_score", self.oob_score)
  if self.oob_score and not self.bootstrap then
    fail(fn .. ": oob_score = true needs bootstrap = true (out-of-bag rows exist only when rows are drawn with replacement)")
  end
  if self.random_state ~= nil then checks.integer(fn, "random_state", self.random_state) end
  if self.n_jobs ~= nil then require("moonlab.models.cross_validation").n_workers(fn, self.n_jobs) end
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

-- the estimator bagged: the one given, or a decision tree (scikit-learn's default)
local function template_of(self, kind)
  if self.estimator ~= nil then return self.estimator end
  local tree = require "moonlab.models.tree"
  return kind == "classifier" and tree.DecisionTreeClassifier {} or tree.DecisionTreeRegressor {}
end

local function fit_bag(self, fn, X, y, sample_weight, kind)
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
  local template = template_of(self, kind)
  self.estimators_ = members.fit_all(fn, jobs, function(job)
    local e = base.clone(template)
    local Xi, yi = columns(cv.take(X, job.rows), job.features, all_features), cv.take(y, job.rows)
    if sample_weight then e:fit(Xi, yi, { sample_weight = cv.take(sample_weight, job.rows) }) else e:fit(Xi, yi) end
    return e
  end, self.n_jobs, seed)
  self.estimators_features_ = {}
  for i, job in ipairs(jobs) do self.estimators_features_[i] = job.features end
  self.all_features_ = all_features
  if self.oob_score then
    -- each row's out-of-bag rows: the members whose draw missed it
    self._oob_rows = {}
    for i, job in ipairs(jobs) do
      local seen = ml.zeros(n, { dtype = "int64" }):scatter_add(1, job.rows, ml.ones(job.rows:numel(), { dtype = "int64" }))
      self._oob_rows[i] = ml.arange(1, n + 1, { dtype = "int64" }):masked_select(seen:eq(0))
    end
  end
end

-- sum over members of f(member, X rows it did not see) placed at those rows ([n] or [n, K]), and how many
-- members predicted each row
local function oob_sums(self, X, n, width, f)
  local sum = width and ml.zeros(n, width, { dtype = "float64" }) or ml.zeros(n, { dtype = "float64" })
  local count = ml.zeros(n, { dtype = "float64" })
  for i, e in ipairs(self.estimators_) do
    local rows = self._oob_rows[i]
    if rows:numel() > 0 then
      local p = f(e, columns(cv.take(X, rows), self.estimators_features_[i], self.all_features_))
      local m = rows:numel()
      if width then
        local flat = (rows - 1):mul(width):reshape(m, 1) + ml.arange(1, width + 1, { dtype = "int64" }):reshape(1, width)
        sum = sum:reshape(n * width):scatter_add(1, flat:reshape(m * width), p:reshape(m * width)):reshape(n, width)
      else
        sum = sum:scatter_add(1, rows, p)
      end
      count = count:scatter_add(1, rows, ml.ones(m, { dtype = "float64" }))
    end
  end
  self._oob_rows = nil
  if count:eq(0):sum():item() > 0 then
    io.stderr:write("UserWarning: some inputs do not have OOB scores. This probably means too few estimators were used "
      .. "to compute any reliable oob estimates.\n")
  end
  return sum, count
end

local function member_input(self, i, X)
  return columns(X, self.estimators_features_[i], self.all_features_)
end

-- ---- BaggingClassifier --------------------------------------------------------------------------------

local BaggingClassifier = members.define("models.BaggingClassifier",
  "models.BaggingClassifier{estimator, n_estimators=10, max_samples=1.0, max_features=1.0, bootstrap=true, bootstrap_features=false, "
  .. "oob_score=false, random_state, n_jobs} — clones of a classifier on random draws of rows and columns, their probabilities averaged", PARAMS, "classifier", { check = check, fitted = { "estimators_" },
  members = function(self) return { { "estimator", template_of(self, "classifier") } } end,
  replace = function(self, _, est) self.estimator = est end })
M.BaggingClassifier = BaggingClassifier

function BaggingClassifier:_fit(X, y, fn, opts)
  if self.estimator ~= nil and self.estimator.KIND ~= nil and self.estimator.KIND ~= "classifier" then
    fail(fmt("%s: estimator is a %s; BaggingClassifier bags classifiers", fn, self.estimator.KIND))
  end
  fit_bag(self, fn, X, y, opts.sample_weight, "classifier")
  if self.oob_score then
    -- scikit-learn: each row's probabilities summed over the members that did not see it, normalized;
    -- oob_score_ is the accuracy of their argmax
    local K = self.n_classes_
    local sum = oob_sums(self, X, y:numel(), K, function(e, Xi) return self:_member_proba(e, Xi, K) end)
    local total = sum:sum(2, { keepdim = true })
    self.oob_decision_function_ = sum / total
    local _, idx = sum:max(2)
    self.oob_score_ = idx:reshape(-1):to("int64"):eq(y:reshape(-1):to("int64")):to("float64"):mean():item()
  end
end

function BaggingClassifier:_member_proba(e, Xi, K)
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
    return p
end

function BaggingClassifier:_predict_proba(X)
  local K, sum = self.n_classes_, nil
  for i, e in ipairs(self.estimators_) do
    local p = self:_member_proba(e, member_input(self, i, X), K)
    sum = sum and sum + p or p
  end
  return sum / #self.estimators_
end

function BaggingClassifier:_predict(X)
  local _, idx = self:_predict_proba(X):max(2)
  return idx:reshape(idx:numel()):to("int64")
end

-- ---- BaggingRegressor ----------------------------------------------------------------------------------

local BaggingRegressor = members.define("models.BaggingRegressor",
  "models.BaggingRegressor{estimator, n_estimators=10, max_samples=1.0, max_features=1.0, bootstrap=true, bootstrap_features=false, "
  .. "oob_score=false, random_state, n_jobs} — clones of a regressor on random draws of rows and columns, their predictions averaged", PARAMS, "regressor", { check = check, fitted = { "estimators_" },
  members = function(self) return { { "estimator", template_of(self, "regressor") } } end,
  replace = function(self, _, est) self.estimator = est end })
M.BaggingRegressor = BaggingRegressor

function BaggingRegressor:_fit(X, y, fn, opts)
  if self.estimator ~= nil and self.estimator.KIND ~= nil and self.estimator.KIND ~= "regressor" then
    fail(fmt("%s: estimator is a %s; BaggingRegressor bags regressors", fn, self.estimator.KIND))
  end
  fit_bag(self, fn, X, y, opts.sample_weight, "regressor")
  if self.oob_score then
    -- scikit-learn: each row's mean prediction over the members that did not see it (0 when none did);
    -- oob_score_ is their R²
    local sum, count = oob_sums(self, X, y:size(1), nil, function(e, Xi) return e:predict(Xi):to("float64"):reshape(-1) end)
    self.oob_prediction_ = sum / count:clamp(1, math.huge)
    self.oob_score_ = require("moonlab.metrics").r2_score(y, self.oob_prediction_)
  end
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
