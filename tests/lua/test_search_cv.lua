-- search.GridSearchCV / RandomizedSearchCV / SearchCV against scikit-learn's
-- GridSearchCV on the same data, pipelines and folds (values from
-- scikit-learn 1.2.1, from scripts/gen_search_cv_reference.py).
local models, prep, search = ml.models, ml.prep, ml.search

local function xy(df)
  local names = {}
  for _, n in ipairs(df.columns) do if n ~= "target" then names[#names + 1] = n end end
  return df:to_tensor(names), df.target
end

T.test("GridSearchCV over LogisticRegression's C: scikit-learn's scores, ranks and best_params", function()
  local X, y = xy(ml.data.load_breast_cancer())
  local pipe = prep.Pipeline { { "scale", prep.StandardScaler() }, { "lr", models.LogisticRegression {} } }
  local gs = search.GridSearchCV(pipe, { lr__C = { 0.01, 0.1, 1, 10 } }, { cv = 3 }):fit(X, y)
  local want_mean = { 0.9455583402951824, 0.9736470806646246, 0.975392184164114, 0.9666109718741298 }
  local want_std = { 0.01729442137682574, 0.007417113903246893, 0.0025145374736826936, 0.0024426468682359715 }
  local want_rank = { 4, 2, 1, 3 }
  for i = 1, 4 do
    T.near(gs.cv_results_.mean_test_score[i], want_mean[i], 1e-6)
    T.near(gs.cv_results_.std_test_score[i], want_std[i], 1e-6)
    T.eq(gs.cv_results_.rank_test_score[i], want_rank[i])
  end
  T.eq(gs.best_params_.lr__C, 1)
  T.near(gs.best_score_, 0.975392184164114, 1e-6)
  T.eq(gs.best_index_, 3)
  local pred = gs:predict(X)
  T.ok(ml.metrics.accuracy_score(y, pred) > 0.97)
  T.ok(gs:predict_proba(X):size(2) == 2)
end)

T.test("GridSearchCV with scoring and two options; a list of grids; RandomizedSearchCV", function()
  local X, y = xy(ml.data.load_wine())
  local pipe = prep.Pipeline { { "scale", prep.StandardScaler() }, { "knn", models.KNeighborsClassifier {} } }
  local gs = search.GridSearchCV(pipe, { knn__n_neighbors = { 1, 3, 5, 7, 9, 11 }, knn__weights = { "uniform", "distance" } },
    { cv = 5, scoring = "f1_macro" }):fit(X, y)
  T.eq(#gs.cv_results_.params, 12)
  T.eq(gs.best_params_.knn__n_neighbors, 9)
  T.eq(gs.best_params_.knn__weights, "uniform")
  T.near(gs.best_score_, 0.9672459597804293, 1e-6)
  local Xs = prep.StandardScaler():fit_transform(X)
  local g2 = search.GridSearchCV(models.LogisticRegression {},
    { { C = { 0.1, 1 } }, { penalty = { "l1" }, solver = { "saga" }, C = { 1 } } }, { cv = 3 }):fit(Xs, y)
  T.eq(#g2.cv_results_.params, 3)
  T.eq(g2.cv_results_.params[3].penalty, "l1")
  local rs = search.RandomizedSearchCV(models.LogisticRegression {}, { C = search.loguniform(1e-3, 1e2) },
    { n_iter = 6, cv = 3, random_state = 1 }):fit(Xs, y)
  T.eq(#rs.cv_results_.params, 6)
  T.ok(rs.best_score_ > 0.9)
  local tpe = search.SearchCV(models.LogisticRegression {}, { C = search.loguniform(1e-3, 1e2) },
    { method = "tpe", n_iter = 5, cv = 3 }):fit(Xs, y)
  T.ok(tpe.best_estimator_ ~= nil)
end)

T.test("SearchCV: clear errors", function()
  T.raises(function() search.GridSearchCV(models.LogisticRegression {}, { Cc = { 1 } }) end,
    "unknown option of models.LogisticRegression 'Cc'")
  T.raises(function() search.GridSearchCV(42, { C = { 1 } }) end, "argument #1 must be an estimator")
  T.raises(function() search.GridSearchCV(models.LogisticRegression {}, { C = { 1 } }, { cvv = 3 }) end, "did you mean 'cv'")
  T.raises(function() search.GridSearchCV(models.LogisticRegression {}, { C = { 1 } }):predict(ml.zeros(2, 2)) end,
    "no refit estimator")
  T.raises(function()
    search.GridSearchCV(models.LogisticRegression {}, { C = { -1, -2 } }, { cv = 3 }):fit(ml.randn(30, 2), ml.randint(0, 2, { 30 }))
  end, "every candidate failed")
end)
