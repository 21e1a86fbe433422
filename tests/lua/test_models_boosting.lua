-- models.HistGradientBoostingClassifier / Regressor against scikit-learn 1.2
-- and XGBoost 1.7 (fixtures by scripts/gen_boosting_fixtures.py): the same
-- binning and growth give the same raw predictions as sklearn's; scores on
-- real data within a point of both; NaN handled natively; seeds, errors,
-- save/load.
local F = dofile("tests/fixtures/boosting/boosting.lua")
local models = ml.models
local HGBC, HGBR = models.HistGradientBoostingClassifier, models.HistGradientBoostingRegressor

local function load(name)
  local df = ml.data["load_" .. name]()
  local names = {}
  for _, n in ipairs(df._names) do if n ~= "target" then names[#names + 1] = n end end
  local X = df:to_tensor(names):to("float64")
  return X, df:to_tensor({ "target" }):reshape(X:size(1))
end

-- the fixtures' split: test = rows whose 0-based index is a multiple of 4
local function split(X, y)
  local tr, te = {}, {}
  for i = 1, X:size(1) do if (i - 1) % 4 == 0 then te[#te + 1] = i else tr[#tr + 1] = i end end
  tr, te = ml.tensor(tr, { dtype = "int64" }), ml.tensor(te, { dtype = "int64" })
  return X:index_select(1, tr), y:index_select(1, tr), X:index_select(1, te), y:index_select(1, te)
end

local function maxdiff(a, b) return a:sub(b):abs():max():item() end

for _, name in ipairs({ "breast_cancer", "wine", "iris", "digits" }) do
  T.test("classifier on " .. name .. ": sklearn's raw predictions, scores within a point of sklearn and XGBoost", function()
    local ref = F[name]
    local Xtr, ytr, Xte, yte = split(load(name))
    local m = HGBC{ early_stopping = false, random_state = 0 }:fit(Xtr, ytr)
    T.eq(m.n_iter_, ref.sklearn.n_iter)
    local raw = m:decision_function(Xte)
    local want = ml.tensor(ref.sklearn.raw, { dtype = "float64" })
    if name == "digits" then raw = raw:narrow(1, 1, want:size(1)) end
    T.ok(maxdiff(raw, want) < 1e-9, name .. ": raw predictions differ from sklearn's by " .. maxdiff(raw, want))
    local acc = m:score(Xte, yte)
    T.near(acc, ref.sklearn.score, 1e-12)
    T.ok(acc >= ref.xgboost.score - 0.01, name .. ": accuracy " .. acc .. " vs XGBoost's " .. ref.xgboost.score)
    local p = m:predict_proba(Xte)
    T.all_near(p:sum(2), ml.ones(p:size(1), { dtype = "float64" }), 1e-12)
  end)
end

T.test("regressor on diabetes: R² within a point of sklearn and XGBoost", function()
  -- ml.data's diabetes differs from sklearn's arrays by ulps (its scaling), so a test value on a
  -- threshold may fall on the other side: the trees are the same, the predictions close, not equal
  local ref = F.diabetes
  local Xtr, ytr, Xte, yte = split(load("diabetes"))
  local m = HGBR{ early_stopping = false }:fit(Xtr, ytr)
  local r2 = m:score(Xte, yte)
  T.ok(math.abs(r2 - ref.sklearn.score) < 0.01, "R² " .. r2 .. " vs sklearn's " .. ref.sklearn.score)
  T.ok(r2 >= ref.xgboost.score - 0.01, "R² " .. r2 .. " vs XGBoost's " .. ref.xgboost.score)
  local want = ml.tensor(ref.sklearn.raw, { dtype = "float64" })
  T.ok(m:predict(Xte):sub(want):abs():mean():item() < 0.5, "mean difference from sklearn's predictions")
end)

T.test("options as sklearn: l2_regularization, max_depth, min_samples_leaf, max_leaf_nodes, learning_rate, max_bins", function()
  local Xtr, ytr, Xte = split(load("breast_cancer"))
  for _, v in ipairs(F.variants) do
    local opts = { early_stopping = false }
    for k, x in pairs(v.opts) do opts[k] = x end
    local m = HGBC(opts):fit(Xtr, ytr)
    local want = ml.tensor(v.sklearn.raw, { dtype = "float64" })
    local d = maxdiff(m:decision_function(Xte), want)
    T.ok(d < 1e-9, ml.json.encode(v.opts) .. ": raw predictions differ from sklearn's by " .. d)
    T.eq(m.n_iter_, v.sklearn.n_iter)
  end
end)

T.test("missing values carry the signal: NaN goes where the split learned, as sklearn", function()
  local ref = F.missing
  local X, y = ml.tensor(ref.X, { dtype = "float64" }), ml.tensor(ref.y, { dtype = "int64" })
  local Xtr, ytr, Xte, yte = split(X, y)
  local m = HGBC{ early_stopping = false }:fit(Xtr, ytr)
  local d = maxdiff(m:decision_function(Xte), ml.tensor(ref.sklearn.raw, { dtype = "float64" }))
  T.ok(d < 1e-9, "raw predictions differ from sklearn's by " .. d)
  T.near(m:score(Xte, yte), ref.sklearn.score, 1e-12)
  T.ok(m:score(Xte, yte) > 0.7, "the missingness is learned")
  -- regression with missing values
  local R = F.missing_reg
  X, y = ml.tensor(R.X, { dtype = "float64" }), ml.tensor(R.y, { dtype = "float64" })
  Xtr, ytr, Xte = split(X, y)
  local r = HGBR{ early_stopping = false }:fit(Xtr, ytr)
  d = maxdiff(r:predict(Xte), ml.tensor(R.sklearn.raw, { dtype = "float64" }))
  T.ok(d < 1e-9, "regression: predictions differ from sklearn's by " .. d)
  -- NaN in a feature that had none at fit: goes to the bigger child, no error
  local Xn = Xte:clone()
  Xn:select(2, 1):fill_(0 / 0)
  T.eq(r:predict(Xn):isnan():sum():item(), 0)
end)

T.test("early stopping: auto above 10000 rows, seeded validation split, scores recorded", function()
  ml.seed(3)
  local n = 12000
  local X = ml.randn(n, 6, { dtype = "float64" })
  local logit = X:select(2, 1):mul(2):add(X:select(2, 2)):add(ml.randn(n, { dtype = "float64" }):mul(1.5))
  local y = logit:gt(0):to("int64")
  local m = HGBC{ max_iter = 300, random_state = 1 }:fit(X, y)
  T.ok(m.do_early_stopping_)
  T.ok(m.n_iter_ < 300, "stopped early at " .. m.n_iter_)
  T.eq(m.validation_score_:size(1), m.n_iter_ + 1)
  T.eq(m.train_score_:size(1), m.n_iter_ + 1)
  T.ok(m.validation_score_[m.n_iter_ + 1] > m.validation_score_[1])
  local m2 = HGBC{ max_iter = 300, random_state = 1 }:fit(X, y)
  T.eq(m2.n_iter_, m.n_iter_)
  T.eq(maxdiff(m2:decision_function(X), m:decision_function(X)), 0)
  local small = HGBC{ max_iter = 5 }:fit(X:narrow(1, 1, 500), y:narrow(1, 1, 500))
  T.ok(not small.do_early_stopping_)
  T.eq(small.train_score_:size(1), 0)
  -- early stopping on the training loss (validation_fraction = false)
  local r = HGBR{ early_stopping = true, validation_fraction = false, max_iter = 50, n_iter_no_change = 2, tol = 10 }
    :fit(X:narrow(1, 1, 2000), logit:narrow(1, 1, 2000))
  T.ok(r.n_iter_ < 50)
  T.eq(r.validation_score_:size(1), 0)
end)

T.test("string labels, class_weight, sample_weight, absolute_error, staged predictions", function()
  local X, y = load("iris")
  local names = { "setosa", "versicolor", "virginica" }
  local sy = {}
  for i, v in ipairs(y:tolist()) do sy[i] = names[v + 1] end
  local m = HGBC{ max_iter = 20 }:fit(X, sy)
  T.eq(m.classes_[3], "virginica")
  T.eq(m:predict(X:narrow(1, 150, 1))[1], "virginica")
  T.eq(m.n_trees_per_iteration_, 3)
  local n = 0
  for i, p in m:staged_predict_proba(X) do
    n = i
    if i == 20 then T.all_near(p, m:predict_proba(X), 1e-12) end
  end
  T.eq(n, 20)
  local bal = HGBC{ max_iter = 10, class_weight = "balanced" }:fit(X, sy)
  T.ok(bal:score(X, sy) > 0.9)
  local w = ml.ones(150, { dtype = "float64" })
  local wm = HGBC{ max_iter = 10 }:fit(X, sy, { sample_weight = w })
  T.ok(maxdiff(wm:predict_proba(X), HGBC{ max_iter = 10 }:fit(X, sy):predict_proba(X)) < 1e-6)
  local Xd, yd = load("diabetes")
  local a = HGBR{ loss = "absolute_error", max_iter = 30 }:fit(Xd, yd)
  T.ok(a:score(Xd, yd) > 0.3)
  local last
  for _, p in a:staged_predict(Xd) do last = p end
  T.all_near(last, a:predict(Xd), 1e-9)
end)

T.test("save and load predict identically; same seed, same model; clone", function()
  local X, y = load("wine")
  local m = HGBC{ max_iter = 30, random_state = 0 }:fit(X, y)
  local path = T.tmpname(".safetensors")
  m:save(path)
  local back = models.load(path)
  T.eq(back.__name, "models.HistGradientBoostingClassifier")
  T.eq(maxdiff(back:predict_proba(X), m:predict_proba(X)), 0)
  T.eq(back.n_iter_, 30)
  local m2 = HGBC{ max_iter = 30, random_state = 0 }:fit(X, y)
  T.eq(maxdiff(m2:decision_function(X), m:decision_function(X)), 0)
  local c = m:clone()
  T.eq(c.max_iter, 30)
  T.raises(function() c:predict(X) end, "not fitted")
end)

T.test("errors are clear", function()
  local X, y = load("iris")
  T.raises(function() HGBC{ max_iters = 3 } end, "did you mean 'max_iter'")
  T.raises(function() HGBC{ learning_rate = 0 } end, "learning_rate must be > 0")
  T.raises(function() HGBC{ max_bins = 300 } end, "max_bins must be at most 255")
  T.raises(function() HGBC{ loss = "hinge" } end, "loss must be one of 'log_loss'")
  T.raises(function() HGBR{ loss = "log_loss" } end, "loss must be one of")
  T.raises(function() HGBC{ max_leaf_nodes = 1 } end, "max_leaf_nodes must be at least 2")
  T.raises(function() HGBC{ scoring = "accuracy" } end, "scoring must be 'loss'")
  T.raises(function() HGBC{ validation_fraction = 1.5 } end, "validation_fraction must be a number in (0, 1)")
  T.raises(function() HGBC{ early_stopping = "yes" } end, "early_stopping must be 'auto', true or false")
  T.raises(function() HGBC{ class_weight = 3 } end, "class_weight must be")
  T.raises(function() HGBC():fit(X, y:narrow(1, 1, 10)) end, "X has 150 rows but y has 10 labels")
  T.raises(function() HGBC():fit(X, ml.zeros(150)) end, "a single class")
  T.raises(function() HGBC{ max_iter = 2 }:fit(X, y):predict(X:narrow(2, 1, 2)) end, "X has 2 columns, expected 4")
  T.raises(function() HGBR():fit(X, ml.zeros(150):fill_(0 / 0)) end, "y holds NaN")
  T.raises(function() HGBC():predict(X) end, "not fitted")
  T.raises(function() HGBC{ class_weight = { [7] = 2 } }:fit(X, y) end, "class_weight names the label 7")
  T.raises(function() HGBC{ max_iter = 1 }:fit(X, y, { sample_weight = ml.ones(3) }) end, "sample_weight must have one value per row")
end)
