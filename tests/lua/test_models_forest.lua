-- ml.models' forests (RandomForest, ExtraTrees) against scikit-learn 1.2's scores (fixtures by
-- scripts/gen_tree_fixtures.py), seeding, threads, OOB, persistence, errors, and
-- models.permutation_importance.
local F = dofile("tests/fixtures/trees/trees.lua")
local models = ml.models

local split = dofile("tests/lua/model_helpers.lua").thirds -- X, y and the fixtures' split of a data set

local function all(t) return t:to("int64"):sum():item() == t:numel() end
local function same(a, b) return a:dim() == b:dim() and a:numel() == b:numel() and all(a:eq(b)) end

for _, case in ipairs(F.forests) do
  T.test(string.format("%s on %s scores like scikit-learn's (mean of seeds)", case.model, case.data), function()
    local Xtr, ytr, Xte, yte = split(case.data)
    local seeds, sum = 3, 0
    for seed = 0, seeds - 1 do
      local m = models[case.model] { n_estimators = 100, random_state = seed }:fit(Xtr, ytr)
      T.near(m.feature_importances_:sum():item(), 1, 1e-9)
      if m.KIND == "classifier" then sum = sum + m:predict(Xte):eq(yte:to("int64")):to("float64"):mean():item()
      else sum = sum + m:score(Xte, yte) end
    end
    local mean = sum / seeds
    -- one point, or one test row where a row is worth more (iris and wine have 50 and 60 test rows)
    local slack = math.max(0.01, 1 / Xte:size(1)) + 1e-9
    print(string.format("  %s on %s: %.4f, scikit-learn %.4f", case.model, case.data, mean, case.score))
    T.ok(math.abs(mean - case.score) <= slack,
      string.format("%s on %s: %.4f, scikit-learn %.4f (slack %.4f)", case.model, case.data, mean, case.score, slack))
  end)
end

T.test("same seed, same forest; whatever the thread count", function()
  local Xtr, ytr, Xte = split("breast_cancer")
  local a = models.RandomForestClassifier { n_estimators = 20, random_state = 7, n_jobs = 1 }:fit(Xtr, ytr)
  local b = models.RandomForestClassifier { n_estimators = 20, random_state = 7, n_jobs = 2 }:fit(Xtr, ytr)
  local c = models.RandomForestClassifier { n_estimators = 20, random_state = 8 }:fit(Xtr, ytr)
  T.ok(same(a._forest.threshold, b._forest.threshold))
  T.ok(same(a:predict_proba(Xte), b:predict_proba(Xte)))
  T.ok(not same(a._forest.threshold, c._forest.threshold), "another seed, another forest")
  local e1 = models.ExtraTreesRegressor { n_estimators = 10, random_state = 3 }:fit(Xtr, ytr:to("float64"))
  local e2 = models.ExtraTreesRegressor { n_estimators = 10, random_state = 3 }:fit(Xtr, ytr:to("float64"))
  T.ok(same(e1:predict(Xte), e2:predict(Xte)))
end)

T.test("estimators_: fitted trees whose mean probability is the forest's", function()
  local Xtr, ytr, Xte = split("wine")
  local m = models.RandomForestClassifier { n_estimators = 7, random_state = 0 }:fit(Xtr, ytr)
  T.eq(#m.estimators_, 7)
  local sum = ml.zeros(Xte:size(1), 3, { dtype = "float64" })
  for _, t in ipairs(m.estimators_) do
    T.eq(t.__name, "models.DecisionTreeClassifier")
    sum = sum:add(t:predict_proba(Xte))
  end
  T.all_near(sum:div(7), m:predict_proba(Xte), 1e-12)
  T.eq(m:apply(Xte):size(2), 7)
  T.all_near(m:apply(Xte):select(2, 3), m.estimators_[3]:apply(Xte), 0)
  local r = models.ExtraTreesRegressor { n_estimators = 4, random_state = 0 }:fit(Xtr, ytr:to("float64"))
  T.eq(r.estimators_[1].__name, "models.DecisionTreeRegressor")
  T.all_near(r.estimators_[1]:predict(Xte):add(r.estimators_[2]:predict(Xte)):add(r.estimators_[3]:predict(Xte))
    :add(r.estimators_[4]:predict(Xte)):div(4), r:predict(Xte), 1e-9)
end)

T.test("oob_score_ and oob_decision_function_", function()
  local _, _, _, _, X, y = split("breast_cancer")
  local m = models.RandomForestClassifier { n_estimators = 50, oob_score = true, random_state = 0 }:fit(X, y)
  T.ok(m.oob_score_ > 0.92 and m.oob_score_ < 0.99, "oob " .. m.oob_score_)
  T.eq(m.oob_decision_function_:size(1), 569)
  T.all_near(m.oob_decision_function_:sum(2), ml.ones(569, { dtype = "float64" }), 1e-9)
  local _, _, _, _, Xr, yr = split("diabetes")
  local r = models.RandomForestRegressor { n_estimators = 50, oob_score = true, random_state = 0 }:fit(Xr, yr)
  T.ok(r.oob_score_ > 0.3 and r.oob_score_ < 0.6, "oob r2 " .. r.oob_score_)
  T.eq(r.oob_prediction_:size(1), 442)
end)

T.test("class_weight, max_samples, bootstrap = false", function()
  local Xtr, ytr, Xte, yte = split("breast_cancer")
  for _, cw in ipairs({ "balanced", "balanced_subsample", { [0] = 3.0 } }) do
    local m = models.RandomForestClassifier { n_estimators = 20, class_weight = cw, random_state = 0 }:fit(Xtr, ytr)
    T.ok(m:score(Xte, yte) > 0.9)
  end
  local m = models.RandomForestClassifier { n_estimators = 10, max_samples = 0.3, random_state = 0 }:fit(Xtr, ytr)
  -- each tree saw about 30% of the rows (the root's weight counts the draws)
  T.near(m._forest.weighted_n_node_samples[1], math.floor(379 * 0.3 + 0.5), 1e-9)
  local e = models.ExtraTreesClassifier { n_estimators = 5, random_state = 0 }:fit(Xtr, ytr)
  T.eq(e._forest.n_node_samples[1], 379) -- no bootstrap: every row in every tree
  local b = models.ExtraTreesClassifier { n_estimators = 5, class_weight = "balanced_subsample", random_state = 0 }:fit(Xtr, ytr)
  T.near(b._forest.weighted_n_node_samples[1], 379, 1e-9) -- without bootstrap, 'balanced' weights
end)

T.test("save and load predict identically", function()
  local Xtr, ytr, Xte = split("digits")
  local m = models.RandomForestClassifier { n_estimators = 15, random_state = 0, oob_score = true }:fit(Xtr, ytr)
  local path = T.tmpname(".safetensors")
  m:save(path)
  local back = models.load(path)
  T.eq(back.__name, "models.RandomForestClassifier")
  T.ok(same(back:predict_proba(Xte), m:predict_proba(Xte)))
  T.ok(same(back:predict(Xte), m:predict(Xte)))
  T.eq(#back.estimators_, 15)
  T.near(back.oob_score_, m.oob_score_, 0)
  T.all_near(back.feature_importances_, m.feature_importances_, 0)
  local _, _, _, _, Xr, yr = split("diabetes")
  local r = models.ExtraTreesRegressor { n_estimators = 10, random_state = 0 }:fit(Xr, yr)
  r:save(path)
  T.ok(same(models.load(path):predict(Xr), r:predict(Xr)))
end)

T.test("clone keeps the options, not the fit", function()
  local m = models.RandomForestRegressor { n_estimators = 5, max_depth = 3 }
  local c = m:clone()
  T.eq(c.n_estimators, 5)
  T.eq(c.max_features, 1.0)
  T.eq(models.ExtraTreesClassifier().bootstrap, false)
  T.eq(models.RandomForestClassifier().max_features, "sqrt")
end)

T.test("errors", function()
  local Xtr, ytr = split("iris")
  T.raises(function() models.RandomForestClassifier { oob_score = true, bootstrap = false } end, "oob_score needs bootstrap")
  T.raises(function() models.RandomForestClassifier { n_estimators = 0 } end, "n_estimators must be at least 1")
  T.raises(function() models.RandomForestClassifier { n_estimator = 10 } end, "did you mean 'n_estimators'")
  T.raises(function() models.RandomForestClassifier { max_samples = 1000 }:fit(Xtr, ytr) end, "max_samples = 1000 but X has 100 rows")
  T.raises(function() models.RandomForestClassifier { max_features = 9 }:fit(Xtr, ytr) end, "max_features = 9 but X has 4 features")
  T.raises(function() models.ExtraTreesRegressor { criterion = "gini" } end, "criterion must be one of")
  local Xn = Xtr:clone()
  Xn[5][1] = 0 / 0
  T.raises(function() models.RandomForestClassifier { n_estimators = 3 }:fit(Xn, ytr) end, "models.RandomForestClassifier:fit: X holds NaN")
  T.raises(function() models.RandomForestClassifier { n_estimators = 3 }:fit(Xtr, ytr:narrow(1, 1, 50)) end, "X has 100 rows but y has 50")
  T.raises(function() models.RandomForestRegressor():predict(Xtr) end, "not fitted yet")
end)

T.test("permutation_importance", function()
  local Xtr, ytr, Xte, yte = split("breast_cancer")
  -- an extra column of noise: shuffling it cannot hurt
  local noise = ml.randn(Xte:size(1), 1, { dtype = "float64" })
  local m = models.RandomForestClassifier { n_estimators = 30, random_state = 0 }
    :fit(ml.cat({ Xtr, ml.randn(Xtr:size(1), 1, { dtype = "float64" }) }, 2), ytr)
  local X = ml.cat({ Xte, noise }, 2)
  local r = models.permutation_importance(m, X, yte, { n_repeats = 3, random_state = 0 })
  T.eq(r.importances:size(1), 31)
  T.eq(r.importances:size(2), 3)
  T.ok(math.abs(r.importances_mean[31]) < 0.02, "noise " .. r.importances_mean[31])
  T.ok(r.importances_mean:max():item() > 0.005)
  local again = models.permutation_importance(m, X, yte, { n_repeats = 3, random_state = 0 })
  T.all_near(again.importances, r.importances, 0)
  T.all_near(r.importances_std, r.importances:std(2, { unbiased = false }), 1e-12)
  local f = models.permutation_importance(m, X, yte, { scoring = function(est, A, b) return -est:score(A, b) end, n_repeats = 2, random_state = 1 })
  T.eq(f.importances_mean:size(1), 31)
  T.raises(function() models.permutation_importance(m, X, yte, { n_repeat = 2 }) end, "did you mean 'n_repeats'")
end)
