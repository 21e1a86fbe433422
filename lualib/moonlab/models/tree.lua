--- models/tree.lua: DecisionTreeClassifier and DecisionTreeRegressor
-- (scikit-learn 1.2's trees: the same options, defaults and split rules).
-- The tree is grown and walked in C (runtime/ops/tree.c through ml._trees);
-- this file checks options, turns them into the kernel's settings, and keeps
-- the fitted tree as flat arrays in tree_ (a table of tensors):
--   children_left, children_right  int64 [nodes]: 1-based node ids, 0 at leaves
--   feature                        int64 [nodes]: 1-based column, 0 at leaves
--   threshold                      float64 [nodes]: go left when x <= threshold (-2 at leaves)
--   value                          float64 [nodes, K]: weighted class counts (classifiers) or
--                                  the mean target [nodes, outputs] (regressors)
--   impurity, n_node_samples, weighted_n_node_samples, and node_count, max_depth (numbers).
-- The forests (models/forest.lua) share the option checks and the kernel call.
local ml = require "moonlab"
local base = require "moonlab.models.base"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"

local fail, fmt = checks.fail, string.format
local common = {}

local ARRAYS = { "children_left", "children_right", "feature", "threshold", "value", "impurity",
  "n_node_samples", "weighted_n_node_samples", "offsets", "max_depth" }
common.ARRAYS = ARRAYS

-- ---- option checks (constructor and set_params; what depends on the data waits for fit) ----

local function is_int(v) return math.type(v) == "integer" or (type(v) == "number" and v == math.floor(v) and v > 1e-300) end

--- common.check_options(self, fn, criteria): validates the options every tree and forest shares
function common.check_options(self, fn, criteria)
  checks.one_of(fn, "criterion", self.criterion, criteria)
  if self.splitter ~= nil then checks.one_of(fn, "splitter", self.splitter, { "best", "random" }) end
  if self.max_depth ~= nil then checks.integer(fn, "max_depth", self.max_depth, 1) end
  local mss = self.min_samples_split
  if not (type(mss) == "number" and ((math.type(mss) == "integer" and mss >= 2) or (math.type(mss) == "float" and mss > 0 and mss <= 1))) then
    fail(fmt("%s: min_samples_split must be an integer >= 2 or a fraction in (0, 1], got %s", fn, checks.show(mss)))
  end
  local msl = self.min_samples_leaf
  if not (type(msl) == "number" and ((math.type(msl) == "integer" and msl >= 1) or (math.type(msl) == "float" and msl > 0 and msl < 1))) then
    fail(fmt("%s: min_samples_leaf must be an integer >= 1 or a fraction in (0, 1), got %s", fn, checks.show(msl)))
  end
  checks.number(fn, "min_weight_fraction_leaf", self.min_weight_fraction_leaf, 0, 0.5)
  local mf = self.max_features
  if mf ~= nil then
    local ok = mf == "sqrt" or mf == "log2" or mf == "auto" or (math.type(mf) == "integer" and mf >= 1)
      or (math.type(mf) == "float" and mf > 0 and mf <= 1)
    if not ok then
      fail(fmt("%s: max_features must be nil (all), 'sqrt', 'log2', an integer >= 1 or a fraction in (0, 1], got %s", fn, checks.show(mf)))
    end
  end
  if self.max_leaf_nodes ~= nil then checks.integer(fn, "max_leaf_nodes", self.max_leaf_nodes, 2) end
  checks.number(fn, "min_impurity_decrease", self.min_impurity_decrease, 0)
  if self.random_state ~= nil then checks.integer(fn, "random_state", self.random_state, 0) end
  local cw = self.class_weight
  if cw ~= nil and cw ~= "balanced" and cw ~= "balanced_subsample" and type(cw) ~= "table" then
    fail(fmt("%s: class_weight must be nil, 'balanced'%s or a table {[label] = weight}, got %s", fn,
      self.bootstrap ~= nil and ", 'balanced_subsample'" or "", checks.show(cw)))
  end
  if cw == "balanced_subsample" and self.bootstrap == nil then
    fail(fn .. ": class_weight 'balanced_subsample' is for forests; a tree takes nil, 'balanced' or a table")
  end
  if type(cw) == "table" then
    for k, w in pairs(cw) do
      if type(w) ~= "number" or w ~= w or w < 0 then fail(fmt("%s: class_weight[%s] must be a number >= 0, got %s", fn, checks.show(k), checks.show(w))) end
    end
  end
end

--- common.max_features(fn, mf, d, default) -> the number of features drawn per node (1..d)
function common.max_features(fn, mf, d, kind)
  if mf == nil then return d end
  if mf == "sqrt" or (mf == "auto" and kind == "classifier") then return math.max(1, math.floor(math.sqrt(d))) end
  if mf == "auto" then return d end
  if mf == "log2" then return math.max(1, math.floor(math.log(d, 2))) end
  if math.type(mf) == "integer" then
    if mf > d then fail(fmt("%s: max_features = %d but X has %d feature%s; expected 1..%d", fn, mf, d, d == 1 and "" or "s", d)) end
    return mf
  end
  return math.max(1, math.floor(mf * d))
end

--- common.kernel_options(self, fn, n, d) -> the settings of ml._trees.fit for these options and data
function common.kernel_options(self, fn, n, d)
  local mss, msl = self.min_samples_split, self.min_samples_leaf
  if math.type(mss) == "float" then mss = math.max(2, math.ceil(mss * n)) end
  if math.type(msl) == "float" then msl = math.max(1, math.ceil(msl * n)) end
  return {
    criterion = self.criterion == "log_loss" and "entropy" or self.criterion,
    random_splitter = self.splitter == "random",
    max_depth = self.max_depth or -1,
    min_samples_split = mss,
    min_samples_leaf = msl,
    min_weight_fraction_leaf = self.min_weight_fraction_leaf,
    max_features = common.max_features(fn, self.max_features, d, self.KIND),
    max_leaf_nodes = self.max_leaf_nodes or 0,
    min_impurity_decrease = self.min_impurity_decrease,
  }
end

--- common.features(fn, X) -> X as a contiguous float32 matrix (scikit-learn's trees work in float32), checked finite
function common.features(fn, X)
  local Xf = X:to("float32"):contiguous()
  if Xf:isnan():sum():item() > 0 then
    fail(fn .. ": X holds NaN; scikit-learn 1.2's trees refuse missing values too (impute them first, e.g. prep.SimpleImputer)")
  end
  if Xf:isinf():sum():item() > 0 then
    fail(fn .. ": X holds infinite values (or values too large for float32); expected finite numbers")
  end
  return Xf
end

--- common.class_sample_weight(fn, self, y, sw) -> float64 [n] or nil: sample weights times class weights
-- (class_weight 'balanced': n / (K * count of the class); a table: weights by label value, 1 for the others)
function common.class_sample_weight(fn, self, y, sw, balanced_only)
  local cw = self.class_weight
  if cw == nil or cw == "balanced_subsample" then return sw end
  local K, n = #self.classes_, y:size(1)
  local per = {}
  if cw == "balanced" then
    for k = 1, K do
      local count = y:eq(k):sum():item()
      per[k] = count > 0 and n / (K * count) or 0
    end
  else
    for k = 1, K do per[k] = 1.0 end
    for label, w in pairs(cw) do
      local found = false
      for k, c in ipairs(self.classes_) do if c == label then per[k] = w found = true end end
      if not found then fail(fmt("%s: class_weight names the label %s, which is not one of y's classes", fn, checks.show(label))) end
    end
  end
  local w = ml.index_select(ml.tensor(per, { dtype = "float64" }), 1, y)
  if sw then w = w:mul(sw) end
  return w:contiguous()
end

--- common.seed(random_state) -> an integer seed: random_state, or one drawn from ml's generator (ml.seed)
function common.seed(random_state)
  if random_state ~= nil then return random_state end
  return ml.randint(0, 1 << 62, 1):item()
end

--- common.grow(fn, Xf, y, opts) -> forest table (and oob, oob_count): the kernel call, errors under fn
function common.grow(fn, Xf, y, opts)
  local r = table.pack(pcall(ml._trees.fit, Xf, y, opts))
  if not r[1] then fail(fn .. ": " .. tostring(r[2]):gsub("^.-ml%._trees%.fit: ", "")) end
  return table.unpack(r, 2, r.n)
end

-- ---- the trees ------------------------------------------------------------------------------

local TREE_PARAMS = {
  { "criterion", "gini" }, { "splitter", "best" }, { "max_depth", nil }, { "min_samples_split", 2 },
  { "min_samples_leaf", 1 }, { "min_weight_fraction_leaf", 0.0 }, { "max_features", nil }, { "random_state", nil },
  { "max_leaf_nodes", nil }, { "min_impurity_decrease", 0.0 },
}

local function params(criterion, classifier)
  local out = {}
  for i, p in ipairs(TREE_PARAMS) do out[i] = { p[1], p[2] } end
  out[1][2] = criterion
  if classifier then out[#out + 1] = { "class_weight", nil } end
  return out
end

local DecisionTreeClassifier = base.define("models.DecisionTreeClassifier",
  "models.DecisionTreeClassifier{criterion='gini'|'entropy'|'log_loss', splitter='best'|'random', max_depth, min_samples_split=2, "
  .. "min_samples_leaf=1, max_features, max_leaf_nodes, min_impurity_decrease, class_weight, random_state} — a CART "
  .. "classification tree grown in C (scikit-learn's DecisionTreeClassifier)", params("gini", true))
DecisionTreeClassifier.KIND = "classifier"

local DecisionTreeRegressor = base.define("models.DecisionTreeRegressor",
  "models.DecisionTreeRegressor{criterion='squared_error', splitter, max_depth, min_samples_split=2, min_samples_leaf=1, "
  .. "max_features, max_leaf_nodes, min_impurity_decrease, random_state} — a CART regression tree grown in C "
  .. "(scikit-learn's DecisionTreeRegressor; y [n] or [n, outputs])", params("squared_error", false))
DecisionTreeRegressor.KIND = "regressor"

function DecisionTreeClassifier:_check(fn) common.check_options(self, fn, { "gini", "entropy", "log_loss" }) end
function DecisionTreeRegressor:_check(fn) common.check_options(self, fn, { "squared_error" }) end

--- common.set_tree(self, forest, d): the fitted fields of one tree from a one-tree forest table
function common.set_tree(self, forest, d)
  local t = {}
  for _, k in ipairs(ARRAYS) do t[k] = forest[k] end
  t.node_count = forest.children_left:size(1)
  t.max_depth = forest.max_depth[1]
  t.n_leaves = forest.children_left:eq(0):sum():item()
  self.tree_ = t
  self._arrays = forest
  self.feature_importances_ = ml._trees.importances(forest, d):reshape(d)
end

local function fit_tree(self, X, y, fn, opts, classify)
  local n, d = X:size(1), X:size(2)
  local Xf = common.features(fn, X)
  local k = common.kernel_options(self, fn, n, d)
  k.seeds = ml.tensor({ common.seed(self.random_state) }, { dtype = "int64" })
  k.sample_weight = classify and common.class_sample_weight(fn, self, y, opts.sample_weight) or opts.sample_weight
  k.threads = 1
  if classify then k.n_classes = #self.classes_ end
  local forest = common.grow(fn, Xf, classify and y or y:contiguous(), k)
  common.set_tree(self, forest, d)
  self.max_features_ = k.max_features
  if not classify then self.n_outputs_ = y:dim() == 2 and y:size(2) or 1 end
end

function DecisionTreeClassifier:_fit(X, y, fn, opts) fit_tree(self, X, y, fn, opts, true) end
function DecisionTreeRegressor:_fit(X, y, fn, opts) fit_tree(self, X, y, fn, opts, false) end

local function tree_forest(self) return self._arrays end

function DecisionTreeClassifier:_predict_proba(X, fn)
  return ml._trees.predict(tree_forest(self), common.features(fn, X), true)
end

function DecisionTreeClassifier:_predict(X, fn)
  return ml.argmax(self:_predict_proba(X, fn), 2)
end

function DecisionTreeRegressor:_predict(X, fn)
  local out = ml._trees.predict(tree_forest(self), common.features(fn, X), false)
  if self.n_outputs_ == 1 then return out:reshape(out:size(1)) end
  return out
end

--- common.methods(cls): apply, get_depth, get_n_leaves and persistence of the tree arrays
local function add_tree_methods(cls)
  --- tree:apply(X) -> int64 [n]: the 1-based id of the leaf each row of X reaches
  function cls:apply(X)
    local fn = self.__name .. ":apply"
    self:check_fitted(fn)
    local leaf = ml._trees.apply(self._arrays, common.features(fn, self:_input(fn, X, false)))
    return leaf:reshape(leaf:size(1))
  end
  --- tree:get_depth() -> the depth of the tree (a lone root has depth 0)
  function cls:get_depth()
    self:check_fitted(self.__name .. ":get_depth")
    return self.tree_.max_depth
  end
  --- tree:get_n_leaves() -> the number of leaves
  function cls:get_n_leaves()
    self:check_fitted(self.__name .. ":get_n_leaves")
    return self.tree_.n_leaves
  end
  function cls:persist_state()
    local tree = self.tree_
    self.tree_ = nil
    local ok, st = pcall(base.Estimator.persist_state, self)
    self.tree_ = tree
    if not ok then error(st, 0) end
    if tree then for _, k in ipairs(ARRAYS) do st.tensors["tree." .. k] = self._arrays[k] end end
    return st
  end
  function cls:_load_extra_state(st)
    if not st.tensors["tree.children_left"] then return end
    local forest = {}
    for _, k in ipairs(ARRAYS) do
      forest[k] = st.tensors["tree." .. k]
      if not forest[k] then error(fmt("the tensor 'tree.%s' is missing", k), 0) end
    end
    common.set_tree(self, forest, self.n_features_in_)
  end
  ml.doc(cls.apply, "tree:apply(X) -> int64 [n] — the 1-based id of the leaf each row reaches (an index into tree_'s arrays)")
  ml.doc(cls.get_depth, "tree:get_depth() -> integer — the depth of the fitted tree (a lone root is 0)")
  ml.doc(cls.get_n_leaves, "tree:get_n_leaves() -> integer — the number of leaves of the fitted tree")
end
add_tree_methods(DecisionTreeClassifier)
add_tree_methods(DecisionTreeRegressor)

-- the forests' shared helpers ride on the classifier's class table, out of the models index
DecisionTreeClassifier._common = common

return { DecisionTreeClassifier = DecisionTreeClassifier, DecisionTreeRegressor = DecisionTreeRegressor }
