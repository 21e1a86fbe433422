--- models/forest.lua: RandomForestClassifier/Regressor and ExtraTreesClassifier/Regressor
-- (scikit-learn 1.2's forests: the same options and defaults).
-- All trees grow in one C call (OpenMP over trees, ml._trees.fit), tree t
-- from its own seed derived from random_state, so the same seed gives the same
-- forest whatever the thread count. The forest lives in a few flat tensors
-- (the arrays of tree_, concatenated, with per-tree offsets); estimators_ is
-- the list of the trees as fitted DecisionTree estimators over views of them.
local ml = require "moonlab"
local base = require "moonlab.models.base"
local checks = require "moonlab.core.checks"
local tree = require "moonlab.models.tree"

local fail, fmt = checks.fail, string.format
local common = tree.DecisionTreeClassifier._common
local ARRAYS = common.ARRAYS

local function forest_params(criterion, max_features, bootstrap, classifier)
  local p = {
    { "n_estimators", 100 }, { "criterion", criterion }, { "max_depth", nil }, { "min_samples_split", 2 },
    { "min_samples_leaf", 1 }, { "min_weight_fraction_leaf", 0.0 }, { "max_features", max_features },
    { "max_leaf_nodes", nil }, { "min_impurity_decrease", 0.0 }, { "bootstrap", bootstrap }, { "oob_score", false },
    { "n_jobs", nil }, { "random_state", nil },
  }
  if classifier then p[#p + 1] = { "class_weight", nil } end
  p[#p + 1] = { "max_samples", nil }
  return p
end

local function check_forest(self, fn, criteria)
  checks.integer(fn, "n_estimators", self.n_estimators, 1)
  checks.boolean(fn, "bootstrap", self.bootstrap)
  checks.boolean(fn, "oob_score", self.oob_score)
  if self.oob_score and not self.bootstrap then fail(fn .. ": oob_score needs bootstrap = true (out-of-bag rows exist only then)") end
  if self.n_jobs ~= nil and self.n_jobs ~= -1 then checks.integer(fn, "n_jobs", self.n_jobs, 1) end
  local ms = self.max_samples
  if ms ~= nil then
    if self.bootstrap == false then fail(fn .. ": max_samples needs bootstrap = true") end
    if not ((math.type(ms) == "integer" and ms >= 1) or (math.type(ms) == "float" and ms > 0 and ms <= 1)) then
      fail(fmt("%s: max_samples must be nil, an integer >= 1 or a fraction in (0, 1], got %s", fn, checks.show(ms)))
    end
  end
  common.check_options(self, fn, criteria)
end

local function define(name, doc, kind, random_splitter, criteria, max_features, bootstrap)
  local cls = base.define(name, doc, forest_params(criteria[1], max_features, bootstrap, kind == "classifier"))
  cls.KIND = kind
  cls.RANDOM_SPLITTER = random_splitter
  -- the trees grow apart, one per thread at a time, with no barrier until the last: the forest loses nothing
  -- when it shares the cores for a while (cross-validation starts its last fold beside a busy worker)
  cls.INDEPENDENT_THREADS = true
  cls.TREE = kind == "classifier" and tree.DecisionTreeClassifier or tree.DecisionTreeRegressor
  function cls:_check(fn) check_forest(self, fn, criteria) end
  return cls
end

local RandomForestClassifier = define("models.RandomForestClassifier",
  "models.RandomForestClassifier{n_estimators=100, criterion='gini', max_depth, min_samples_split=2, min_samples_leaf=1, "
  .. "max_features='sqrt', bootstrap=true, oob_score=false, max_samples, class_weight, random_state, n_jobs} — bagged "
  .. "classification trees grown in parallel in C (scikit-learn's RandomForestClassifier)",
  "classifier", false, { "gini", "entropy", "log_loss" }, "sqrt", true)
local RandomForestRegressor = define("models.RandomForestRegressor",
  "models.RandomForestRegressor{n_estimators=100, criterion='squared_error', max_depth, min_samples_split=2, min_samples_leaf=1, "
  .. "max_features=1.0, bootstrap=true, oob_score=false, max_samples, random_state, n_jobs} — bagged regression trees "
  .. "grown in parallel in C (scikit-learn's RandomForestRegressor)",
  "regressor", false, { "squared_error" }, 1.0, true)
local ExtraTreesClassifier = define("models.ExtraTreesClassifier",
  "models.ExtraTreesClassifier{n_estimators=100, criterion='gini', max_depth, max_features='sqrt', bootstrap=false, ...} — "
  .. "extremely randomized trees (one random threshold per drawn feature), scikit-learn's ExtraTreesClassifier",
  "classifier", true, { "gini", "entropy", "log_loss" }, "sqrt", false)
local ExtraTreesRegressor = define("models.ExtraTreesRegressor",
  "models.ExtraTreesRegressor{n_estimators=100, criterion='squared_error', max_depth, max_features=1.0, bootstrap=false, ...} — "
  .. "extremely randomized regression trees, scikit-learn's ExtraTreesRegressor",
  "regressor", true, { "squared_error" }, 1.0, false)

-- The per-tree seeds: a Weyl sequence from the forest's seed (the kernel mixes each through splitmix64).
local function tree_seeds(seed, n)
  local out = {}
  for t = 1, n do out[t] = seed + t * -7046029254386353131 end -- 0x9E3779B97F4A7C15, wrapping
  return ml.tensor(out, { dtype = "int64" })
end

local function max_samples(fn, ms, n)
  if ms == nil then return n end
  if math.type(ms) == "integer" then
    if ms > n then fail(fmt("%s: max_samples = %d but X has %d rows; expected 1..%d", fn, ms, n, n)) end
    return ms
  end
  return math.max(1, math.floor(n * ms + 0.5))
end

-- One fitted tree estimator over views of the forest's arrays (tree t, 1-based).
local function tree_view(self, forest, importances, t)
  local off = forest.offsets
  local s, e = off[t], off[t + 1]
  local one = {}
  for _, k in ipairs(ARRAYS) do
    if k == "offsets" then one[k] = ml.tensor({ 0, e - s }, { dtype = "int64" })
    elseif k == "max_depth" then one[k] = forest.max_depth:narrow(1, t, 1)
    else one[k] = forest[k]:narrow(1, s + 1, e - s) end
  end
  local p = self:get_params()
  local est = self.TREE {
    criterion = p.criterion, splitter = self.RANDOM_SPLITTER and "random" or "best", max_depth = p.max_depth,
    min_samples_split = p.min_samples_split, min_samples_leaf = p.min_samples_leaf,
    min_weight_fraction_leaf = p.min_weight_fraction_leaf, max_features = p.max_features,
    max_leaf_nodes = p.max_leaf_nodes, min_impurity_decrease = p.min_impurity_decrease,
  }
  common.set_tree(est, one, self.n_features_in_)
  est.feature_importances_ = importances:select(1, t)
  est.n_features_in_, est.classes_, est.n_classes_, est.n_outputs_ = self.n_features_in_, self.classes_, self.n_classes_, self.n_outputs_
  est.max_features_ = self.max_features_
  est._fitted = true
  return est
end

-- The fitted fields that come from the flat forest: estimators_ and feature_importances_.
local function set_forest(self, forest)
  self._forest = forest
  local d = self.n_features_in_
  local per_tree = ml._trees.importances(forest, d)
  -- the mean over the trees that split at least once (scikit-learn's rule), normalized again
  local sizes = forest.offsets:narrow(1, 2, forest.offsets:size(1) - 1):sub(forest.offsets:narrow(1, 1, forest.offsets:size(1) - 1))
  local grown = sizes:gt(1):to("float64")
  local sum = grown:reshape(1, grown:size(1)):matmul(per_tree):reshape(d)
  local total = sum:sum():item()
  self.feature_importances_ = total > 0 and sum:div(total) or ml.zeros(d, { dtype = "float64" })
  local list = {}
  for t = 1, forest.offsets:size(1) - 1 do list[t] = tree_view(self, forest, per_tree, t) end
  self.estimators_ = list
end

local function threads(self)
  if self.n_jobs == nil or self.n_jobs == -1 then return ml.threads() end
  return self.n_jobs
end

local function fit_forest(self, X, y, fn, opts)
  local classify = self.KIND == "classifier"
  local n, d = X:size(1), X:size(2)
  local Xf = common.features(fn, X)
  local k = common.kernel_options(self, fn, n, d)
  k.random_splitter = self.RANDOM_SPLITTER
  k.seeds = tree_seeds(common.seed(self.random_state), self.n_estimators)
  k.bootstrap = self.bootstrap
  k.max_samples = self.bootstrap and max_samples(fn, self.max_samples, n) or n
  k.threads = threads(self)
  k.oob = self.oob_score
  local sw = opts.sample_weight
  if classify then
    k.n_classes = #self.classes_
    local cw = self.class_weight
    k.balanced_subsample = cw == "balanced_subsample" and self.bootstrap
    if cw == "balanced_subsample" and not self.bootstrap then
      self.class_weight = "balanced"
      local ok, err = pcall(common.class_sample_weight, fn, self, y, sw)
      self.class_weight = cw
      if not ok then checks.reraise(err) end
      sw = err
    else
      sw = common.class_sample_weight(fn, self, y, sw)
    end
  else
    self.n_outputs_ = y:dim() == 2 and y:size(2) or 1
    y = y:contiguous()
  end
  k.sample_weight = sw
  self.max_features_ = k.max_features
  local forest, oob = common.grow(fn, Xf, y, k)
  set_forest(self, forest)
  if self.oob_score then
    if classify then
      self.oob_decision_function_ = oob
      self.oob_score_ = ml.argmax(oob, 2):eq(y):to("float64"):mean():item()
    else
      local pred = self.n_outputs_ == 1 and oob:reshape(n) or oob
      self.oob_prediction_ = pred
      self.oob_score_ = require("moonlab.metrics").r2_score(y, pred)
    end
  end
end

local function predict_values(self, X, fn, normalize)
  return ml._trees.predict(self._forest, common.features(fn, X), normalize)
end

for _, cls in ipairs({ RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor }) do
  cls._fit = fit_forest
  if cls.KIND == "classifier" then
    function cls:_predict_proba(X, fn) return predict_values(self, X, fn, true) end
    function cls:_predict(X, fn) return ml.argmax(predict_values(self, X, fn, true), 2) end
  else
    function cls:_predict(X, fn)
      local out = predict_values(self, X, fn, false)
      if self.n_outputs_ == 1 then return out:reshape(out:size(1)) end
      return out
    end
  end
  --- forest:apply(X) -> int64 [n, n_estimators]: the 1-based leaf each row reaches in each tree
  function cls:apply(X)
    local fn = self.__name .. ":apply"
    self:check_fitted(fn)
    return ml._trees.apply(self._forest, common.features(fn, self:_input(fn, X, false)))
  end
  ml.doc(cls.apply, "forest:apply(X) -> int64 [n, n_estimators] — the 1-based leaf id each row reaches in each tree")
  --- forest:tree_arrays() -> the fitted trees as one table of flat arrays (read-only: the forest predicts from them)
  function cls:tree_arrays()
    self:check_fitted(self.__name .. ":tree_arrays")
    return self._forest
  end
  ml.doc(cls.tree_arrays, "forest:tree_arrays() -> {children_left, children_right, feature, threshold, value, impurity, "
    .. "n_node_samples, weighted_n_node_samples, offsets, max_depth} — every tree's nodes in flat arrays, tree t at "
    .. "[offsets[t], offsets[t+1]); 1-based children and features, 0 at leaves (read-only)")
  function cls:persist_state()
    local list = self.estimators_
    self.estimators_ = nil
    local ok, st = pcall(base.Estimator.persist_state, self)
    self.estimators_ = list
    if not ok then error(st, 0) end
    if self._forest then for _, k in ipairs(ARRAYS) do st.tensors["forest." .. k] = self._forest[k] end end
    return st
  end
  function cls:_load_extra_state(st)
    if not st.tensors["forest.children_left"] then return end
    local forest = {}
    for _, k in ipairs(ARRAYS) do
      forest[k] = st.tensors["forest." .. k]
      if not forest[k] then error(fmt("the tensor 'forest.%s' is missing", k), 0) end
    end
    set_forest(self, forest)
  end
end

return {
  RandomForestClassifier = RandomForestClassifier, RandomForestRegressor = RandomForestRegressor,
  ExtraTreesClassifier = ExtraTreesClassifier, ExtraTreesRegressor = ExtraTreesRegressor,
}
