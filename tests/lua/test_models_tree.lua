-- ml.models.DecisionTreeClassifier / DecisionTreeRegressor against scikit-learn 1.2
-- (fixtures by scripts/gen_tree_fixtures.py on the data ml.data.load_* reads), and
-- their errors, persistence and fitted fields.
local F = dofile("tests/fixtures/trees/trees.lua")
local models = ml.models

local split = dofile("tests/lua/model_helpers.lua").thirds -- X, y and the fixtures' split of a data set
T.split = split

local function build(case)
  local opts = { random_state = 0 }
  for k, v in pairs(case.opts) do opts[k] = v end
  return case.kind == "clf" and models.DecisionTreeClassifier(opts) or models.DecisionTreeRegressor(opts)
end

local function all(t) return t:to("int64"):sum():item() == t:numel() end

local function agreement(a, b)
  return ml.tensor(a):eq(ml.tensor(b)):to("float64"):mean():item()
end

local function score(kind, y, pred)
  if kind == "clf" then return pred:to("float64"):eq(y:to("float64")):to("float64"):mean():item() end
  return ml.metrics.r2_score(y, pred)
end

for i, case in ipairs(F.trees) do
  local label = string.format("tree %d (%s, %s)", i, case.data, case.kind)
  if case.variants == 1 then
    -- scikit-learn grows this one tree whatever its seed: ours must be the same tree
    T.test(label .. ": the same tree as scikit-learn", function()
      local Xtr, ytr, Xte = split(case.data)
      local m = build(case):fit(Xtr, ytr)
      T.eq(m.tree_.node_count, case.node_count, "node_count")
      T.eq(m:get_depth(), case.depth, "depth")
      T.eq(m:get_n_leaves(), case.n_leaves, "n_leaves")
      T.eq(agreement(m:apply(Xtr), case.leaf), 1.0, "leaf of every training row")
      local pred = m:predict(Xte):to("float64")
      local want = ml.tensor(case.predict, { dtype = "float64" })
      T.ok(all(pred:sub(want):abs():le(want:abs():mul(1e-12):add(1e-12))), "predictions")
      T.all_near(m.feature_importances_, case.importances, 1e-9)
    end)
  else
    -- ties between equally good splits are broken by scikit-learn's random feature order (drawn even
    -- with max_features = nil) and by ours: the score must fall in the range of scikit-learn's trees
    T.test(label .. ": scores like scikit-learn's trees", function()
      local Xtr, ytr, Xte, yte = split(case.data)
      local sum = 0
      for seed = 0, 4 do
        local c = { kind = case.kind, opts = {} }
        for k, v in pairs(case.opts) do c.opts[k] = v end
        local m = build(c):set_params { random_state = seed }:fit(Xtr, ytr)
        T.near(m.feature_importances_:sum():item(), 1, 1e-12)
        sum = sum + score(case.kind, yte, m:predict(Xte))
      end
      local mean = sum / 5
      local slack = case.kind == "clf" and 0.01 or 0.03
      T.ok(mean >= case.score_min - slack and mean <= case.score_max + slack,
        string.format("mean test score %.4f, scikit-learn's trees %.4f .. %.4f", mean, case.score_min, case.score_max))
    end)
  end
end

local function iris()
  local _, _, _, _, X, y = split("iris")
  return X, y
end

T.test("fitted fields: tree_ arrays, classes_, predict_proba rows sum to 1", function()
  local X, y = iris()
  local m = models.DecisionTreeClassifier { max_depth = 2 }:fit(X, y)
  local t = m.tree_
  T.eq(t.children_left:size(1), t.node_count)
  T.eq(t.value:size(2), 3)
  T.eq(#m.classes_, 3)
  T.eq(m.n_features_in_, 4)
  T.eq(t.children_left[1], 2) -- the root's left child is node 2 (depth first, left first)
  T.eq(t.feature[2], 0)       -- a leaf
  T.eq(t.threshold[2], -2)
  T.all_near(m:predict_proba(X):sum(2), ml.ones(150, { dtype = "float64" }), 1e-12)
  T.eq(t.n_node_samples[1], 150)
  T.near(t.weighted_n_node_samples[1], 150)
  local leaf = m:apply(X)
  T.eq(leaf:dtype(), "int64")
  T.ok(all(t.children_left:index_select(1, leaf):eq(0)))
end)

T.test("string labels and a frame as X", function()
  local df = ml.data.load_iris()
  local names = {}
  for _, c in ipairs(df._names) do if c ~= "target" then names[#names + 1] = c end end
  local y = {}
  for i, v in ipairs(df:to_tensor({ "target" }):reshape(-1):tolist()) do y[i] = ({ "setosa", "versicolor", "virginica" })[v + 1] end
  local m = models.DecisionTreeClassifier { max_depth = 3 }:fit(df:select(names), y)
  local pred = m:predict(df:select(names))
  T.eq(type(pred), "table")
  T.eq(pred[1], "setosa")
  T.ok(m:score(df:select(names), y) > 0.95)
end)

T.test("multi-output regression", function()
  local X, y = iris()
  local Y = ml.stack({ y:to("float64"), X:select(2, 1) }, 2)
  local m = models.DecisionTreeRegressor { max_depth = 4 }:fit(X:narrow(2, 2, 3), Y)
  T.eq(m.n_outputs_, 2)
  local p = m:predict(X:narrow(2, 2, 3))
  T.eq(p:size(2), 2)
  T.eq(m.tree_.value:size(2), 2)
end)

T.test("sample_weight: integer weights grow the tree of repeated rows", function()
  local X, y = iris()
  local w = ml.arange(0, 150):remainder(3):add(1):to("float64")
  local rep = ml.cat({ ml.arange(1, 151), ml.arange(1, 151):masked_select(w:ge(2)), ml.arange(1, 151):masked_select(w:ge(3)) })
  local a = models.DecisionTreeClassifier { max_depth = 3 }:fit(X, y, { sample_weight = w })
  local b = models.DecisionTreeClassifier { max_depth = 3 }:fit(X:index_select(1, rep), y:index_select(1, rep))
  T.all_near(a:predict_proba(X), b:predict_proba(X), 1e-12)
end)

T.test("class_weight: a table and 'balanced'", function()
  local _, _, _, _, X, y = split("breast_cancer")
  local a = models.DecisionTreeClassifier { max_depth = 3, class_weight = "balanced" }:fit(X, y)
  local n0 = y:eq(0):sum():item()
  T.near(a.tree_.weighted_n_node_samples[1], 569, 1e-9) -- balanced weights sum to n
  local b = models.DecisionTreeClassifier { max_depth = 3, class_weight = { [0] = 2.0 } }:fit(X, y)
  T.near(b.tree_.weighted_n_node_samples[1], 569 + n0, 1e-9)
  T.raises(function() models.DecisionTreeClassifier { class_weight = { [7] = 2 } }:fit(X, y) end, "label 7")
end)

T.test("splitter='random', max_features: seeded, the same seed gives the same tree", function()
  local _, _, _, _, X, y = split("wine")
  local a = models.DecisionTreeClassifier { splitter = "random", max_features = "sqrt", random_state = 3 }:fit(X, y)
  local b = models.DecisionTreeClassifier { splitter = "random", max_features = "sqrt", random_state = 3 }:fit(X, y)
  local c = models.DecisionTreeClassifier { splitter = "random", max_features = "sqrt", random_state = 4 }:fit(X, y)
  T.all_near(a.tree_.threshold, b.tree_.threshold, 0)
  T.ok(a.tree_.node_count ~= c.tree_.node_count or not all(a.tree_.threshold:eq(c.tree_.threshold)), "another seed, another tree")
  T.eq(a.max_features_, 3)
end)

T.test("max_depth, min_samples_leaf, max_leaf_nodes are respected", function()
  local _, _, _, _, X, y = split("digits")
  local m = models.DecisionTreeClassifier { max_depth = 5 }:fit(X, y)
  T.ok(m:get_depth() <= 5)
  m = models.DecisionTreeClassifier { min_samples_leaf = 20 }:fit(X, y)
  local leaves = m.tree_.children_left:eq(0)
  T.ok(m.tree_.n_node_samples:masked_select(leaves):min():item() >= 20)
  m = models.DecisionTreeClassifier { max_leaf_nodes = 17 }:fit(X, y)
  T.eq(m:get_n_leaves(), 17)
  m = models.DecisionTreeClassifier { min_samples_leaf = 0.1 }:fit(X, y)
  T.ok(m.tree_.n_node_samples:masked_select(m.tree_.children_left:eq(0)):min():item() >= 180)
end)

T.test("save and load predict identically", function()
  local _, _, _, _, X, y = split("digits")
  local m = models.DecisionTreeClassifier { max_depth = 8, random_state = 1 }:fit(X, y)
  local path = T.tmpname(".safetensors")
  m:save(path)
  local back = models.load(path)
  T.eq(back.__name, "models.DecisionTreeClassifier")
  T.all_near(back:predict_proba(X), m:predict_proba(X), 0)
  T.all_near(back:apply(X), m:apply(X), 0)
  T.all_near(back.feature_importances_, m.feature_importances_, 0)
  T.eq(back:get_depth(), m:get_depth())
  local _, _, _, _, Xr, yr = split("diabetes")
  local r = models.DecisionTreeRegressor { max_depth = 5 }:fit(Xr, yr)
  r:save(path)
  T.all_near(models.load(path):predict(Xr), r:predict(Xr), 0)
end)

T.test("clone and get_params", function()
  local m = models.DecisionTreeClassifier { max_depth = 4, criterion = "entropy" }
  local c = m:clone()
  T.eq(c.max_depth, 4)
  T.eq(c:get_params().criterion, "entropy")
end)

T.test("errors: NaN, lengths, options, unfitted, widths", function()
  local X, y = iris()
  local Xn = X:clone()
  Xn[3][2] = 0 / 0
  T.raises(function() models.DecisionTreeClassifier():fit(Xn, y) end, "models.DecisionTreeClassifier:fit: X holds NaN")
  T.raises(function() models.DecisionTreeClassifier():fit(X, y:narrow(1, 1, 100)) end, "X has 150 rows but y has 100 labels")
  T.raises(function() models.DecisionTreeRegressor():fit(X, y:narrow(1, 1, 100)) end, "X has 150 rows but y has 100 values")
  T.raises(function() models.DecisionTreeClassifier { max_features = 5 }:fit(X, y) end, "max_features = 5 but X has 4 features")
  T.raises(function() models.DecisionTreeClassifier { max_features = 0 } end, "max_features must be")
  T.raises(function() models.DecisionTreeClassifier { max_features = 1.5 } end, "max_features must be")
  T.raises(function() models.DecisionTreeClassifier { max_dpeth = 3 } end, "did you mean 'max_depth'")
  T.raises(function() models.DecisionTreeClassifier { criterion = "squared_error" } end, "criterion must be one of")
  T.raises(function() models.DecisionTreeRegressor { criterion = "gini" } end, "criterion must be one of")
  T.raises(function() models.DecisionTreeClassifier { min_samples_split = 1 } end, "min_samples_split must be")
  T.raises(function() models.DecisionTreeClassifier { min_samples_leaf = 0 } end, "min_samples_leaf must be")
  T.raises(function() models.DecisionTreeClassifier { max_leaf_nodes = 1 } end, "max_leaf_nodes must be at least 2")
  T.raises(function() models.DecisionTreeClassifier { splitter = "fast" } end, "splitter must be one of")
  T.raises(function() models.DecisionTreeClassifier { class_weight = "balanced_subsample" } end, "for forests")
  T.raises(function() models.DecisionTreeClassifier():predict(X) end, "not fitted yet")
  local m = models.DecisionTreeClassifier():fit(X, y)
  T.raises(function() m:predict(X:narrow(2, 1, 3)) end, "X has 3 columns, expected 4")
  T.raises(function() m:predict(Xn) end, "models.DecisionTreeClassifier:predict: X holds NaN")
  local big = X:clone()
  big[1][1] = 1e300
  T.raises(function() m:predict(big) end, "infinite")
  T.raises(function() models.DecisionTreeClassifier():fit(X, y, { sample_weight = ml.zeros(150, { dtype = "float64" }) }) end,
    "sample_weight sums to 0")
end)

T.test("docstrings: ml.help finds the trees", function()
  T.ok(ml.doc(models.DecisionTreeClassifier):find("CART"))
  T.ok(ml.doc(models.DecisionTreeRegressor.apply) ~= nil)
end)
