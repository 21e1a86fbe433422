-- QA of issue 11's model selection and ensembles: regressions for what QA found (values from
-- scikit-learn 1.2.1 where there is one).
local models = ml.models
local cvmod = require "moonlab.models.cross_validation"

local function f64(t) return ml.tensor(t, { dtype = "float64" }) end
local function column(n) local t = {} for i = 1, n do t[i] = { i - 1 } end return f64(t) end

T.test("cross_val_predict decision_function: a fold missing a class gets the lowest float there (scikit-learn)", function()
  local y = { "a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d" }
  local p = models.cross_val_predict(models.LogisticRegression {}, column(12), y,
    { cv = models.KFold { n_splits = 4 }, method = "decision_function" })
  T.eq(table.concat(p:shape(), ","), "12,4")
  -- sklearn: cross_val_predict(LogisticRegression(), arange(12)[:, None], y, cv=KFold(4), method='decision_function')[:4]
  local want = { { -1.7976931348623157e308, 7.1323, 1.0448, -8.1771 }, { -1.7976931348623157e308, 6.0388, 1.0448, -7.0836 },
    { -1.7976931348623157e308, 4.9453, 1.0448, -5.9900 }, { 2.7328, -1.7976931348623157e308, 1.7418, -4.4746 } }
  T.all_near(p:narrow(1, 1, 4), f64(want), 2e-4)
end)

T.test("cross_val_predict decision_function: a two-class fold among more classes is a clear error, not a cat failure", function()
  local y = { "a", "a", "a", "b", "b", "b", "b", "c", "c" }
  T.raises(function()
    models.cross_val_predict(models.LogisticRegression {}, column(9), y, { cv = models.KFold { n_splits = 3 }, method = "decision_function" })
  end, "models.cross_val_predict: fold 1's training rows hold only 2 of the 3 classes")
end)

T.test("BaggingClassifier/Regressor: the estimator defaults to a decision tree (scikit-learn)", function()
  local X = column(40)
  local y = {}
  for i = 1, 40 do y[i] = i <= 20 and 0 or 1 end
  local b = models.BaggingClassifier { n_estimators = 3, random_state = 0 }
  b:fit(X, y)
  T.ok(b.estimators_[1].__name:find("DecisionTreeClassifier", 1, true), b.estimators_[1].__name)
  T.ok(b:score(X, y) > 0.9)
  local r = models.BaggingRegressor { n_estimators = 3, random_state = 0 }
  r:fit(X, X:reshape(40))
  T.ok(r.estimators_[1].__name:find("DecisionTreeRegressor", 1, true), r.estimators_[1].__name)
end)

T.test("Bagging oob_score: out-of-bag accuracy / R², and it needs bootstrap", function()
  local df = ml.data.load_wine()
  local names = {}
  for _, n in ipairs(df._names) do if n ~= "target" then names[#names + 1] = n end end
  local X, y = df:to_tensor(names), df:column("target").values
  local b = models.BaggingClassifier { n_estimators = 30, oob_score = true, random_state = 0 }
  b:fit(X, y)
  -- scikit-learn's oob_score_ on wine, 30-50 trees, seeds 0..2: 0.93 .. 0.97
  T.ok(b.oob_score_ > 0.88 and b.oob_score_ < 1, "oob_score_ " .. b.oob_score_)
  T.ok(b.oob_score_ < b:score(X, y) + 1e-12, "oob below the training score")
  T.eq(table.concat(b.oob_decision_function_:shape(), ","), "178,3")
  T.all_near(b.oob_decision_function_:sum(2), ml.ones(178, { dtype = "float64" }), 1e-12)
  -- the oob score by hand: each row's argmax over the members that missed it
  local r = models.BaggingRegressor { n_estimators = 30, oob_score = true, random_state = 0 }
  local Xr, yr = X:narrow(2, 2, 12), X:select(2, 1)
  r:fit(Xr, yr)
  T.near(r.oob_score_, ml.metrics.r2_score(yr, r.oob_prediction_), 1e-12)
  T.ok(r.oob_score_ > 0.3 and r.oob_score_ < r:score(Xr, yr), "regressor oob_score_ " .. r.oob_score_)
  T.raises(function() models.BaggingClassifier { oob_score = true, bootstrap = false } end, "oob_score = true needs bootstrap = true")
end)

T.test("KFold/StratifiedKFold: random_state without shuffle is an error (scikit-learn), not silently ignored", function()
  T.raises(function() models.KFold { n_splits = 2, random_state = 1 } end, "models.KFold: random_state has no effect since shuffle is false")
  T.raises(function() models.StratifiedKFold { random_state = 0 } end, "models.StratifiedKFold: random_state has no effect")
  models.KFold { n_splits = 2, shuffle = true, random_state = 1 }
end)

T.test("n_jobs = -2 means every core but one (joblib), at least one worker", function()
  T.eq(cvmod.n_workers("f", -1), math.max(1, ml.threads()))
  T.eq(cvmod.n_workers("f", -2), math.max(1, ml.threads() - 1))
  T.eq(cvmod.n_workers("f", -100), 1)
  T.raises(function() cvmod.n_workers("f", 0) end, "f: n_jobs must be >= 1, or negative")
  local X = column(20)
  local y = {}
  for i = 1, 20 do y[i] = i % 2 end
  local s = models.cross_val_score(models.KNeighborsClassifier { n_neighbors = 1 }, X, y, { cv = 2, n_jobs = -2 })
  T.eq(s:numel(), 2)
  models.BaggingClassifier { n_jobs = -2 }
end)

T.test("a fold that raises a table says so, not 'table: 0x...'", function()
  local y = {}
  for i = 1, 20 do y[i] = i % 2 end
  local err = T.raises(function()
    models.cross_val_score(models.KNeighborsClassifier {}, column(20), y, { cv = 2, n_jobs = 1,
      scoring = function() error({ code = 7 }) end })
  end, "fold 1 of 2 failed: the job raised a table {code = 7} instead of an error message")
  T.ok(not err:find("0x", 1, true), err)
end)

T.test("NetClassifier/NetRegressor: sample_weight is refused, not silently ignored", function()
  local nn = ml.nn
  local build = function(_, d, k) return nn.Sequential { nn.Linear(d, k) } end
  local X, y = column(6), { 0, 0, 0, 1, 1, 1 }
  local net = models.NetClassifier { build = build, epochs = 1 }
  T.raises(function() net:fit(X, y, { sample_weight = ml.ones(6) }) end,
    "models.NetClassifier:fit: sample_weight is not supported by models.NetClassifier")
  net:fit(X, y)
  T.raises(function() models.NetRegressor { build = build, epochs = 1 }:fit(X, X:reshape(6), { sample_weight = ml.ones(6) }) end,
    "sample_weight is not supported by models.NetRegressor")
  -- an ensemble passing weights down says which member cannot take them
  T.raises(function()
    models.BaggingClassifier { estimator = net, n_estimators = 2, random_state = 0 }:fit(X, y, { sample_weight = ml.ones(6) })
  end, "sample_weight is not supported")
end)

T.test("pipelines with a ColumnTransformer or a text vectorizer clone, so they cross-validate (were: every fold failed)", function()
  local prep = ml.prep
  local n = 30
  local city, num, y, docs = {}, {}, {}, {}
  for i = 1, n do
    city[i] = ({ "a", "b", "c" })[i % 3 + 1]
    num[i] = (i % 7) * 1.0
    y[i] = i % 3 == 0 and "yes" or "no"
    docs[i] = (y[i] == "yes" and "good great " or "bad poor ") .. city[i]
  end
  local df = ml.data.DataFrame { city = city, num = num }
  local ct = prep.ColumnTransformer({ { "oh", prep.OneHotEncoder { handle_unknown = "ignore" }, { "city" } },
    { "sc", prep.StandardScaler(), "num" } }, { remainder = "drop" })
  local pipe = prep.Pipeline { { "ct", ct }, { "m", models.LogisticRegression {} } }
  pipe:fit(df, y)
  local c = models.clone(pipe)
  local cct = c.steps[1][2]
  T.ok(cct ~= ct and cct.__name == "prep.ColumnTransformer", "a new ColumnTransformer")
  T.ok(cct.transformers[1][2] ~= ct.transformers[1][2], "its transformers are clones, not shared")
  T.eq(cct.transformers[2][3], "num", "the columns as given")
  T.raises(function() c:predict(df) end, "")
  local s = models.cross_val_score(pipe, df, y, { cv = 3 })
  T.all_near(s, f64 { 1, 1, 1 }, 1e-12)
  local text = prep.Pipeline { { "tf", prep.TfidfVectorizer { ngram_range = { 1, 2 } } }, { "nb", models.MultinomialNB {} } }
  local tdf = ml.data.DataFrame { text = docs }
  text:fit(tdf, y)
  local tc = models.clone(text)
  T.ok(tc.steps[1][2] ~= text.steps[1][2] and tc.steps[1][2].vocabulary_ == nil, "an unfitted vectorizer")
  T.eq(table.concat(tc.steps[1][2].ngram_range, ","), "1,2")
  T.all_near(models.cross_val_score(text, tdf, y, { cv = 3 }), f64 { 1, 1, 1 }, 1e-12)
end)

T.test("precision/recall/F1 on more than 65536 distinct labels work (were: 'invalid option %l to lua_pushfstring')", function()
  local n = 70000
  local a = ml.arange(0, n, { dtype = "int64" })
  local b = a:clone()
  b[1] = 1 -- one mistake: label 0 predicted as 1
  T.near(ml.metrics.f1_score(a, b, { average = "micro" }), (n - 1) / n, 1e-12)
  -- per class: label 0 has recall 0 (F 0), label 1 precision 1/2 (F 2/3), the rest 1
  T.near(ml.metrics.f1_score(a, b, { average = "macro", zero_division = 0 }), (n - 2 + 2 / 3) / n, 1e-12)
  T.near(ml.metrics.recall_score(a, b, { average = "macro", zero_division = 0 }), (n - 1) / n, 1e-12)
end)

T.test("ml._proc.tensor_from_bytes: a size mismatch is a readable message", function()
  local err = T.raises(function() ml._proc.tensor_from_bytes("abc", "float64", { 2 }) end, "ml._proc.tensor_from_bytes: 3 bytes do not make 2 float64 values")
  T.ok(not err:find("invalid option", 1, true), err)
end)

T.test("ensembles take scikit-learn's nested parameters (member__option), on clones of the members", function()
  local knn = models.KNeighborsClassifier {}
  local v = models.VotingClassifier { estimators = { { "lr", models.LogisticRegression {} }, { "knn", knn } }, voting = "soft" }
  v:set_params { knn__n_neighbors = 3, lr__C = 0.5 }
  T.eq(v.estimators[2][2].n_neighbors, 3)
  T.eq(v.estimators[1][2].C, 0.5)
  T.eq(knn.n_neighbors, 5, "the caller's estimator is not changed")
  local c = models.clone(v)
  c:set_params { knn__n_neighbors = 9 }
  T.eq(v.estimators[2][2].n_neighbors, 3, "a clone's set_params leaves the original alone")
  local p = v:get_params(true)
  T.eq(p.knn__n_neighbors, 3)
  T.eq(p.voting, "soft")
  T.eq(v:get_params().knn__n_neighbors, nil, "get_params() stays shallow (clone and persist use it)")
  v:set_params { knn = models.GaussianNB {} }
  T.ok(v.estimators[2][2].__name:find("GaussianNB", 1, true))
  T.raises(function() v:set_params { knm__n_neighbors = 1 } end, "models.VotingClassifier:set_params: unknown member 'knm'")
  T.raises(function() v:set_params { lr__CC = 1 } end, "unknown option 'CC'")
  local b = models.BaggingClassifier { estimator = knn, n_estimators = 2 }
  b:set_params { estimator__n_neighbors = 1 }
  T.eq(b.estimator.n_neighbors, 1)
  T.eq(knn.n_neighbors, 5)
  local tree_bag = models.BaggingRegressor {}
  tree_bag:set_params { estimator__max_depth = 2 }
  T.eq(tree_bag.estimator.max_depth, 2, "the default tree takes options too")
  local st = models.StackingClassifier { estimators = { { "knn", knn } }, final_estimator = models.LogisticRegression {} }
  st:set_params { final_estimator__C = 0.25, knn__n_neighbors = 2 }
  T.eq(st.final_estimator.C, 0.25)
  T.eq(st.estimators[1][2].n_neighbors, 2)
  -- and so validation_curve can vary a member's option
  local X = column(30)
  local y = {}
  for i = 1, 30 do y[i] = i <= 15 and 0 or 1 end
  local r = models.validation_curve(models.VotingClassifier { estimators = { { "knn", models.KNeighborsClassifier {} } } }, X, y,
    { param_name = "knn__n_neighbors", param_range = { 1, 3 }, cv = 3 })
  T.eq(r.test_mean:numel(), 2)
end)

T.test("fit's epoch ROC AUC on a one-class validation set is nan with a warning, not an error after the epoch", function()
  local nn = ml.nn
  ml.seed(0)
  local X = ml.randn(32, 3)
  local y = X:select(2, 1):gt(0):to("int64"):add(1)
  local model = nn.Sequential { nn.Linear(3, 2) }
  model:compile { optimizer = "adam", loss = nn.CrossEntropyLoss(), metrics = { "roc_auc", "accuracy" } }
  local h = model:fit(X, y, { epochs = 2, verbose = 0, validation_data = { X:narrow(1, 1, 8), ml.ones(8, { dtype = "int64" }) } })
  T.eq(#h.val_roc_auc, 2, "both epochs ran")
  T.ok(h.val_roc_auc[1] ~= h.val_roc_auc[1], "nan")
  T.ok(h.roc_auc[2] == h.roc_auc[2], "the training set's AUC is a number")
  T.ok(model:evaluate(X:narrow(1, 1, 8), ml.ones(8, { dtype = "int64" })).roc_auc ~= 0, "evaluate: nan too")
  -- other errors still raise
  T.raises(function() ml.metrics.epoch("roc_auc")(ml.randn(4, 3), ml.tensor({ 1, 2, 3, 9 }, { dtype = "int64" }), 0) end, "")
end)

T.test("Voting weights that sum to zero are refused (soft voting divided by zero)", function()
  T.raises(function() models.VotingClassifier { estimators = { { "nb", models.GaussianNB {} } }, weights = { 0 }, voting = "soft" } end,
    "models.VotingClassifier: weights sum to zero")
  models.VotingClassifier { estimators = { { "nb", models.GaussianNB {} }, { "lr", models.LogisticRegression {} } }, weights = { 0, 1 } }
end)

T.test("classification_report names Lua-list integer labels '1', not '1.0' (as scikit-learn for [1, 2, 3])", function()
  local M = ml.metrics
  local txt = M.classification_report({ 1, 2, 2, 3 }, { 1, 2, 3, 3 })
  T.ok(txt:find("\n           1       1.00", 1, true), txt)
  T.ok(not txt:find("1.0 ", 1, true), txt)
  local d = M.classification_report({ 1, 2, 2, 3 }, { 1, 2, 3, 3 }, { output_dict = true })
  T.near(d["2"]["f1-score"], 2 / 3, 1e-12)
  -- float labels stay Python's floats
  local f = M.classification_report(f64 { 1, 2, 2, 3 }, f64 { 1, 2, 3, 3 }, { output_dict = true })
  T.ok(f["2.0"] ~= nil, "float64 labels keep '2.0'")
end)

T.test("ensembles fit on a data frame (rows of a frame counted in the estimator base)", function()
  local models, prep = ml.models, ml.prep
  local df = ml.data.load_iris()
  local feats = {}
  for _, n in ipairs(df.columns) do if n ~= "target" then feats[#feats + 1] = n end end
  local v = models.VotingClassifier { estimators = {
    { "lr", prep.Pipeline { { "s", prep.StandardScaler() }, { "m", models.LogisticRegression {} } } },
    { "knn", models.KNeighborsClassifier {} } }, voting = "soft" }
  v:fit(df:select(feats), df.target)
  T.ok(v:score(df:select(feats), df.target) > 0.9)
end)
