--- models/voting.lua: models.VotingClassifier and models.VotingRegressor,
-- scikit-learn's: fit a clone of each member on the same data, then vote
-- (hard: the weighted majority of predicted labels; soft: the argmax of the
-- weighted mean of probabilities) or average (regression).
--
--   local vote = models.VotingClassifier{estimators = {{"lr", models.LogisticRegression{}},
--     {"net", models.NetClassifier{...}}}, voting = "soft"}
--   vote:fit(X, y); vote.named_estimators_.net:score(X, y); vote:score(X, y)
--
-- Members learn the ensemble's label codes 1..K, so their votes line up
-- whatever the label values; members may be pipelines, networks or ensembles.
-- A fitted ensemble saves its fitted members (core/persist).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.models.base"
local members = require "moonlab.models.members"

local fail, fmt = checks.fail, string.format
local M = {}

local function check_common(self, fn)
  members.check_named(fn, self.estimators)
  self.weights = members.check_weights(fn, self.weights, #self.estimators)
  if self.n_jobs ~= nil then require("moonlab.models.cross_validation").n_workers(fn, self.n_jobs) end
end

local function fit_members(self, fn, X, y, sample_weight)
  local list = self.estimators
  self.estimators_ = members.fit_all(fn, list, function(e)
    local c = base.clone(e[2])
    if sample_weight then c:fit(X, y, { sample_weight = sample_weight }) else c:fit(X, y) end
    return c
  end, self.n_jobs)
  self:_members_loaded()
end

-- named_estimators_: the fitted members by name
local function name_members(self)
  self.named_estimators_ = {}
  for i, e in ipairs(self.estimators) do self.named_estimators_[e[1]] = self.estimators_[i] end
end

local function weight_of(self, i) return self.weights and self.weights[i] or 1 end

local function total_weight(self)
  local s = 0
  for i = 1, #self.estimators_ do s = s + weight_of(self, i) end
  return s
end

-- ---- VotingClassifier -------------------------------------------------------------------------------

local VotingClassifier = members.define("models.VotingClassifier",
  "models.VotingClassifier{estimators = {{name, est}, ...}, voting='hard'|'soft', weights, n_jobs} — the (weighted) vote of several classifiers",
  { { "estimators", nil }, { "voting", "hard" }, { "weights", nil }, { "n_jobs", nil } }, "classifier", { fitted = { "estimators_" }, derived = { "named_estimators_" },
  members = function(self) return self.estimators or {} end, replace = members.replace_named })
M.VotingClassifier = VotingClassifier
VotingClassifier._members_loaded = name_members

function VotingClassifier:_check(fn)
  check_common(self, fn)
  checks.one_of(fn, "voting", self.voting, { "hard", "soft" })
  for _, e in ipairs(self.estimators) do
    if e[2].KIND ~= nil and e[2].KIND ~= "classifier" then
      fail(fmt("%s: estimator '%s' is a %s; VotingClassifier combines classifiers", fn, e[1], e[2].KIND))
    end
  end
end

function VotingClassifier:_fit(X, y, fn, opts)
  if self.voting == "soft" then
    for _, e in ipairs(self.estimators) do
      if type(e[2].predict_proba) ~= "function" then fail(fmt("%s: soft voting needs predict_proba, which '%s' lacks", fn, e[1])) end
    end
  end
  fit_members(self, fn, X, y, opts.sample_weight)
end

-- A member's codes as a tensor (members learned the codes 1..K, so their labels are those numbers).
local function member_codes(e, X)
  local p = e:predict(X)
  if not ml.is_tensor(p) then p = ml.tensor(p, { dtype = "int64" }) end
  return p:to("int64"):reshape(p:numel())
end

local function member_proba(self, e, X)
  local classes = e.classes_
  local p = e:predict_proba(X):to("float64")
  if classes and #classes ~= self.n_classes_ then p = members.align(p, classes, self.n_classes_) end
  return p
end

function VotingClassifier:_predict_proba(X, fn)
  if self.voting ~= "soft" then fail(fmt("%s: predict_proba is not available when voting='hard' (use voting='soft')", fn)) end
  local sum
  for i, e in ipairs(self.estimators_) do
    local p = member_proba(self, e, X) * weight_of(self, i)
    sum = sum and sum + p or p
  end
  return sum / total_weight(self)
end

function VotingClassifier:_predict(X, fn)
  local scores
  if self.voting == "soft" then scores = self:_predict_proba(X, fn)
  else
    for i, e in ipairs(self.estimators_) do
      local codes = member_codes(e, X)
      local n = codes:numel()
      local votes = ml.zeros(n, self.n_classes_, { dtype = "float64" })
        :scatter_add(2, codes:reshape(n, 1), ml.full({ n, 1 }, weight_of(self, i), { dtype = "float64" }))
      scores = scores and scores + votes or votes
    end
  end
  local _, idx = scores:max(2)
  return idx:reshape(idx:numel()):to("int64")
end

--- vote:transform(X) -> float64: each member's probabilities side by side (soft) or predicted codes (hard)
function VotingClassifier:transform(X)
  local fn = "models.VotingClassifier:transform"
  self:check_fitted(fn)
  X = self:_input(fn, X, false)
  local parts = {}
  for i, e in ipairs(self.estimators_) do
    if self.voting == "soft" then parts[i] = member_proba(self, e, X)
    else parts[i] = member_codes(e, X):to("float64"):reshape(member_codes(e, X):numel(), 1) end
  end
  return ml.cat(parts, 2)
end

-- ---- VotingRegressor ----------------------------------------------------------------------------------

local VotingRegressor = members.define("models.VotingRegressor",
  "models.VotingRegressor{estimators = {{name, est}, ...}, weights, n_jobs} — the (weighted) mean of several regressors' predictions",
  { { "estimators", nil }, { "weights", nil }, { "n_jobs", nil } }, "regressor", { fitted = { "estimators_" }, derived = { "named_estimators_" },
  members = function(self) return self.estimators or {} end, replace = members.replace_named })
M.VotingRegressor = VotingRegressor
VotingRegressor._members_loaded = name_members

function VotingRegressor:_check(fn)
  check_common(self, fn)
  for _, e in ipairs(self.estimators) do
    if e[2].KIND ~= nil and e[2].KIND ~= "regressor" then
      fail(fmt("%s: estimator '%s' is a %s; VotingRegressor combines regressors", fn, e[1], e[2].KIND))
    end
  end
end

function VotingRegressor:_fit(X, y, fn, opts) fit_members(self, fn, X, y, opts.sample_weight) end

function VotingRegressor:_predict(X)
  local sum
  for i, e in ipairs(self.estimators_) do
    local p = e:predict(X):to("float64") * weight_of(self, i)
    sum = sum and sum + p or p
  end
  return sum / total_weight(self)
end

do
  local doc = ml.doc
  doc(VotingClassifier.transform, "vote:transform(X) -> float64 — the members' probabilities (soft) or predicted classes (hard) side by side")
  doc(VotingClassifier._predict_proba, "VotingClassifier:_predict_proba(X) -> [n, K] — the weighted mean of the members' probabilities")
  doc(VotingClassifier._predict, "VotingClassifier:_predict(X) -> codes — the weighted vote (hard) or the most probable class (soft)")
  doc(VotingRegressor._predict, "VotingRegressor:_predict(X) -> float64 — the weighted mean of the members' predictions")
end

return M
