-- QA of ml.models' classic estimators (issue 11): regressions for what a
-- scikit-learn user hit on edge inputs (non-finite targets and weights,
-- continuous labels, frames as y, sample_weight in score, frames in
-- permutation_importance, KNN and sample_weight).
local ml = ml
local models = ml.models

local function iris()
  local df = ml.data.load_iris()
  return df, df:drop("target"):to_tensor(), df:column("target").values
end

T.test("qa11: regressors refuse infinite targets (they used to give NaN coefficients silently)", function()
  local _, X = iris()
  for _, name in ipairs { "LinearRegression", "Ridge", "Lasso", "DecisionTreeRegressor" } do
    local y = X:select(2, 1):contiguous():clone()
    y[5] = math.huge
    T.raises(function() models[name]():fit(X, y) end, "models." .. name .. ":fit: y holds infinite values")
  end
end)

T.test("qa11: sample_weight must be finite and not all zero", function()
  local _, X, y = iris()
  local t = X:select(2, 1):contiguous()
  local w = ml.ones(150, { dtype = "float64" })
  w[3] = math.huge
  T.raises(function() models.Ridge():fit(X, t, { sample_weight = w }) end, "models.Ridge:fit: sample_weight must be finite and >= 0")
  local z = ml.zeros(150, { dtype = "float64" })
  for _, name in ipairs { "GaussianNB", "LogisticRegression", "DecisionTreeClassifier" } do
    T.raises(function() models[name]():fit(X, y, { sample_weight = z }) end, "models." .. name .. ":fit: sample_weight sums to 0")
  end
  T.raises(function() models.Ridge():fit(X, t, { sample_weight = z }) end, "sample_weight sums to 0")
end)

T.test("qa11: KNN refuses sample_weight instead of ignoring it (scikit-learn's KNN takes none)", function()
  local _, X, y = iris()
  T.raises(function() models.KNeighborsRegressor():fit(X, X:select(2, 1), { sample_weight = ml.ones(150) }) end,
    "models.KNeighborsRegressor:fit: models.KNeighborsRegressor takes no sample_weight")
  T.raises(function() models.KNeighborsClassifier():fit(X, y, { sample_weight = ml.ones(150) }) end, "takes no sample_weight")
end)

T.test("qa11: a classifier refuses continuous labels at fit, as scikit-learn does (score used to fail later)", function()
  local _, X, y = iris()
  T.raises(function() models.GaussianNB():fit(X, y:to("float64") * 0.5) end,
    "models.GaussianNB:fit: label 51 is 0.5, not a class label")
  -- whole-valued floats stay fine
  local m = models.GaussianNB():fit(X, y:to("float32"))
  T.ok(m:score(X, y:to("float32")) > 0.9)
end)

T.test("qa11: y as a one-column frame, in fit and score", function()
  local df, X, y = iris()
  local m = models.LogisticRegression():fit(X, df:select({ "target" }))
  T.near(m:score(X, df:select({ "target" })), m:score(X, y), 1e-12)
  T.raises(function() models.Ridge():fit(X, df:select({ "target", "sepal length (cm)" })) end, "y is a data frame of 2 columns")
end)

T.test("qa11: score takes sample_weight (it used to be dropped)", function()
  local _, X, y = iris()
  local m = models.LogisticRegression():fit(X, y)
  local w = ml.zeros(150, { dtype = "float64" })
  w:narrow(1, 1, 50):fill_(1) -- only setosa, which is always right
  T.near(m:score(X, y, { sample_weight = w }), 1.0, 1e-12)
  T.ok(m:score(X, y) < 1)
  local r = models.Ridge():fit(X, X:select(2, 1))
  T.near(r:score(X, X:select(2, 1), { sample_weight = ml.ones(150) }), r:score(X, X:select(2, 1)), 1e-12)
  T.raises(function() m:score(X, y, { weights = w }) end, "models.LogisticRegression:score: unknown option 'weights'")
end)

T.test("qa11: permutation_importance takes a data frame, as the estimators do", function()
  local df, X, y = iris()
  local Xf = df:drop("target")
  local a = models.RandomForestClassifier { n_estimators = 10, random_state = 0 }:fit(X, y)
  local b = models.RandomForestClassifier { n_estimators = 10, random_state = 0 }:fit(Xf, y)
  local ia = models.permutation_importance(a, X, y, { n_repeats = 3, random_state = 0 })
  local ib = models.permutation_importance(b, Xf, y, { n_repeats = 3, random_state = 0 })
  T.all_near(ib.importances_mean, ia.importances_mean, 1e-12)
  T.ok(ib.importances_mean[3] > 0.1, "petal length matters")
end)

T.test("qa11: class_weight keyed by numeric or boolean labels saves, loads and travels to workers", function()
  local _, X, y = iris()
  local path = T.tmpname(".safetensors")
  for _, name in ipairs { "LogisticRegression", "DecisionTreeClassifier", "HistGradientBoostingClassifier" } do
    local m = models[name] { class_weight = { [0] = 1, [1] = 3, [2] = 1 } }:fit(X, y)
    m:save(path) -- used to fail: "class_weight has a key 0; only strings and 1..n can be saved"
    local b = models.load(path)
    T.eq(b.class_weight[1], 3)
    T.eq((b:predict_proba(X) - m:predict_proba(X)):abs():max():item(), 0)
    T.near(b:clone():fit(X, y):score(X, y), m:score(X, y), 1e-12)
  end
  local yb = {}
  for i = 1, 150 do yb[i] = y[i] == 1 end
  local m = models.LogisticRegression { class_weight = { [true] = 3, [false] = 1 } }:fit(X, yb)
  m:save(path)
  T.eq(models.load(path).class_weight[true], 3)
  local r = models.cross_validate(models.LogisticRegression { class_weight = { [0] = 1, [1] = 3, [2] = 1 } }, X, y,
    { cv = 3, return_estimator = true, n_jobs = 2 })
  T.eq(#r.estimator, 3)
  T.eq(r.estimator[1].class_weight[1], 3)
end)

T.test("qa11: class_weight naming an unknown label says so alike in every model", function()
  local _, X, y = iris()
  T.raises(function() models.LogisticRegression { class_weight = { [7] = 2 } }:fit(X, y) end,
    "models.LogisticRegression:fit: class_weight names the label 7, which is not one of y's classes")
  T.raises(function() models.HistGradientBoostingClassifier { class_weight = { [7] = 2 } }:fit(X, y) end,
    "models.HistGradientBoostingClassifier:fit: class_weight names the label 7, which is not one of y's classes")
end)

T.test("qa11: MultinomialNB refuses infinite values in a sparse matrix as it does in a dense one", function()
  local _, X, y = iris()
  local X2 = X:clone()
  X2[1][1] = math.huge
  T.raises(function() models.MultinomialNB():fit(X2, y) end, "X holds infinite values")
  T.raises(function() models.MultinomialNB():fit(ml.sparse.from_dense(X2), y) end, "models.MultinomialNB:fit: X holds infinite values")
  local m = models.MultinomialNB():fit(ml.sparse.from_dense(X), y)
  T.raises(function() m:predict(ml.sparse.from_dense(X2)) end, "models.MultinomialNB:predict: X holds infinite values")
end)

T.test("qa11: a regressor's y of strings or with missing cells is refused clearly (a string column was fitted on its codes)", function()
  local D = ml.data.DataFrame
  T.raises(function() models.Ridge():fit(ml.ones(2, 1), D { s = { "a", "b" } }:column("s")) end,
    "models.Ridge:fit: y is a column of strings; a regressor needs numeric targets")
  T.raises(function() models.DecisionTreeRegressor():fit(ml.ones(3, 1), D { s = { 1, nil, 3 } }:column("s")) end,
    "models.DecisionTreeRegressor:fit: y has 1 missing value")
  T.raises(function() models.Ridge():fit(ml.ones(2, 1), { "1", "2" }) end, "models.Ridge:fit: y[1] is '1'; a regressor needs numeric targets")
  T.near(models.LinearRegression():fit(ml.tensor({ { 1 }, { 2 }, { 3 } }), D { t = { 2, 4, 6 } }):predict(ml.tensor({ { 4 } }))[1], 8, 1e-9)
end)

T.test("qa11: LogisticRegression{multi_class='multinomial'} on two classes is scikit-learn's two-class softmax (it was ignored)", function()
  local df = ml.data.load_breast_cancer()
  local y = df:column("target").values
  local X = ml.prep.StandardScaler():fit_transform(df:drop("target"):to_tensor())
  local m = models.LogisticRegression { multi_class = "multinomial" }:fit(X, y)
  T.eq(m.multi_class_, "multinomial")
  -- scikit-learn 1.2.1: LogisticRegression(multi_class='multinomial').fit(X, y) on standardized breast cancer
  T.all_near(m.coef_[1]:narrow(1, 1, 4), { -0.11284628, -0.12491785, -0.10863951, -0.17903378 }, 1e-4)
  T.near(m.intercept_[1], 0.00956554, 1e-4)
  local p = m:predict_proba(X:narrow(1, 1, 3)):select(2, 2)
  T.all_near(p:div(ml.tensor({ 3.00692985e-11, 5.08768279e-06, 1.44917172e-08 }, { dtype = "float64" })),
    { 1, 1, 1 }, 2e-3)
  T.near(m:score(X, y), 0.9876977152899824, 1e-9)
  local path = T.tmpname(".safetensors")
  m:save(path)
  T.eq((models.load(path):predict_proba(X) - m:predict_proba(X)):abs():max():item(), 0)
  -- the default (auto -> ovr for two classes) is unchanged: one sigmoid
  local o = models.LogisticRegression():fit(X, y)
  T.eq(o.multi_class_, "ovr")
  T.ok(math.abs(o.coef_[1][1] - m.coef_[1][1]) > 0.1)
end)

T.test("qa11: HistGradientBoosting's validation_fraction may be a row count, as scikit-learn's int", function()
  local df = ml.data.load_breast_cancer()
  local X, y = df:drop("target"):to_tensor(), df:column("target").values
  local m = models.HistGradientBoostingClassifier { early_stopping = true, validation_fraction = 100, random_state = 0, max_iter = 20 }:fit(X, y)
  T.ok(m.do_early_stopping_ and #m.validation_score_ >= 1)
  T.raises(function() models.HistGradientBoostingClassifier { validation_fraction = 1.5 } end, "a row count >= 1")
  T.raises(function() models.HistGradientBoostingClassifier { early_stopping = true, validation_fraction = 569 }:fit(X, y) end,
    "leaves no training or validation rows")
end)

T.test("qa11: HistGradientBoostingRegressor refuses targets whose float32 gradients overflow (it predicted garbage)", function()
  ml.seed(0)
  local X = ml.randn(200, 3):to("float64")
  local t = X:select(2, 1):contiguous()
  local a = models.HistGradientBoostingRegressor { max_iter = 10 }:fit(X, t):predict(X)
  local b = models.HistGradientBoostingRegressor { max_iter = 10 }:fit(X, t * 1e20):predict(X):div(1e20)
  T.ok((a - b):abs():max():item() < 1e-6)
  T.raises(function() models.HistGradientBoostingRegressor():fit(X, t * 1e38) end,
    "models.HistGradientBoostingRegressor:fit: y holds values up to")
end)

T.test("qa11: a Lua list of integer labels above 2^53 keeps them apart (float64 merged them into one class)", function()
  local X = ml.tensor({ { 0 }, { 1 }, { 2 }, { 3 } }, { dtype = "float64" })
  local big = 1 << 60
  local yl = { big + 1, big + 2, big + 1, big + 2 }
  local m = models.DecisionTreeClassifier():fit(X, yl)
  T.eq(#m.classes_, 2)
  T.eq(m:predict(X)[2], big + 2)
  T.eq(m:score(X, yl), 1.0)
  T.near(ml.metrics.accuracy_score(yl, { big + 1, big + 1, big + 1, big + 2 }), 0.75, 1e-12)
end)

T.test("qa11: predict_log_proba on every classifier with predict_proba (trees and forests lacked it)", function()
  local _, X, y = iris()
  for _, name in ipairs { "DecisionTreeClassifier", "RandomForestClassifier", "ExtraTreesClassifier", "KNeighborsClassifier",
    "HistGradientBoostingClassifier", "GaussianNB", "LogisticRegression" } do
    local opts = (name:find("Forest") or name:find("Extra")) and { n_estimators = 5, random_state = 0 } or {}
    if name:find("Boosting") then opts = { max_iter = 5 } end
    local m = models[name](opts):fit(X, y)
    T.ok(m:has_method("predict_log_proba"), name)
    T.ok((m:predict_log_proba(X):exp() - m:predict_proba(X)):abs():max():item() < 1e-12, name)
  end
  local r = models.Ridge():fit(X, X:select(2, 1))
  T.ok(not r:has_method("predict_log_proba"))
  T.raises(function() r:predict_log_proba(X) end, "models.Ridge:predict_log_proba: models.Ridge has no predict_proba")
end)

T.test("qa11: kNN refuses values whose squared distances overflow (every neighbour tied at inf)", function()
  local X = ml.tensor({ { 0, 0 }, { 0, 0 }, { 1, 1 }, { 2, 2 }, { 3, 3 } }, { dtype = "float64" })
  local yr = ml.tensor({ 1.0, 3.0, 10, 20, 30 }, { dtype = "float64" })
  T.raises(function() models.KNeighborsRegressor { n_neighbors = 2 }:fit(X * 1e200, yr) end,
    "models.KNeighborsRegressor:fit: X holds values up to 3e+200")
  local m = models.KNeighborsRegressor { n_neighbors = 2 }:fit(X * 1e100, yr)
  T.all_near(m:predict(X * 1e100), { 2, 2, 5.5, 15, 25 }, 1e-9)
  T.raises(function() m:predict(X * 1e200) end, "models.KNeighborsRegressor:predict: X holds values up to")
end)
