-- Splitters against scikit-learn 1.2 (tests/fixtures/selection/splits.json, scripts/gen_selection_fixtures.py),
-- and cross-validation (cross_val_score, cross_validate, cross_val_predict, curves, pipelines as estimators).
local models = ml.models
local fx = ml.json.decode(T.read_file("tests/fixtures/selection/splits.json"))

local function labels_of(v)
  if v == nil or v == ml.json.null then return nil end
  if type(v[1]) == "string" then return v end
  return ml.tensor(v, { dtype = "int64" })
end

for _, c in ipairs(fx.cases) do
  T.test("models." .. c.class .. " " .. c.name .. ": scikit-learn's folds exactly", function()
    local cv = models[c.class](c.opts)
    local folds = cv:split(ml.zeros(c.n, 2), labels_of(c.y), labels_of(c.groups))
    T.eq(#folds, #c.folds, "number of folds")
    T.eq(cv:get_n_splits(), #c.folds, "get_n_splits")
    for i, f in ipairs(c.folds) do
      T.eq(folds[i].train:dtype(), "int64")
      T.eq(table.concat(folds[i].train:tolist(), ","), table.concat(f.train, ","), "train of fold " .. i)
      T.eq(table.concat(folds[i].test:tolist(), ","), table.concat(f.test, ","), "test of fold " .. i)
    end
  end)
end

local function class_counts(y, idx, classes)
  local out = {}
  local sub = y:index_select(1, idx)
  for k, c in ipairs(classes) do out[k] = sub:eq(c):sum():item() end
  return out
end

for _, c in ipairs(fx.strat) do
  T.test("models." .. c.class .. " shuffled: per-class fold counts as scikit-learn's, seeded, disjoint", function()
    local y = ml.tensor(c.y, { dtype = "int64" })
    local classes = { 0, 1, 2, 5 }
    local cv = models[c.class](c.opts)
    local folds = cv:split(ml.zeros(#c.y, 1), y)
    T.eq(#folds, #c.counts)
    local again = cv:split(ml.zeros(#c.y, 1), y)
    for i, want in ipairs(c.counts) do
      local got_test = class_counts(y, folds[i].test, classes)
      local got_train = class_counts(y, folds[i].train, classes)
      if c.class == "StratifiedKFold" then
        -- fold allocation is deterministic in scikit-learn: exact counts
        T.eq(table.concat(got_test, ","), table.concat(want.test, ","), "test counts of fold " .. i)
      else
        -- _approximate_mode breaks ties at random: each class within one of scikit-learn's
        for k = 1, #classes do T.ok(math.abs(got_test[k] - want.test[k]) <= 1, "test count of class " .. classes[k]) end
        T.eq(folds[i].test:numel(), want.test[1] + want.test[2] + want.test[3] + want.test[4], "test size")
        T.eq(folds[i].train:numel(), want.train[1] + want.train[2] + want.train[3] + want.train[4], "train size")
      end
      local seen = {}
      for _, v in ipairs(folds[i].train:tolist()) do seen[v] = true end
      for _, v in ipairs(folds[i].test:tolist()) do T.ok(not seen[v], "train and test overlap") end
      T.eq(table.concat(again[i].test:tolist(), ","), table.concat(folds[i].test:tolist(), ","), "random_state repeats")
    end
  end)
end

T.test("models.ShuffleSplit: train and test sizes as scikit-learn's", function()
  for _, c in ipairs(fx.sizes) do
    local opts = { n_splits = 1, random_state = 0 }
    for k, v in pairs(c.opts) do opts[k] = v end
    local f = models.ShuffleSplit(opts):split(ml.zeros(c.n, 1))[1]
    T.eq(f.train:numel(), c.train, "train size n=" .. c.n)
    T.eq(f.test:numel(), c.test, "test size n=" .. c.n)
  end
end)

T.test("splitters: shuffled folds partition the rows; random_state leaves the caller's stream alone", function()
  ml.seed(5)
  local a = ml.rand(1):item()
  ml.seed(5)
  local folds = models.KFold { n_splits = 4, shuffle = true, random_state = 3 }:split(ml.zeros(22, 1))
  T.eq(ml.rand(1):item(), a, "the stream after the split")
  local seen = {}
  for _, f in ipairs(folds) do for _, v in ipairs(f.test:tolist()) do T.ok(not seen[v]) seen[v] = true end end
  for i = 1, 22 do T.ok(seen[i], "row " .. i .. " in no test fold") end
  local r = models.RepeatedKFold { n_splits = 3, n_repeats = 4, random_state = 0 }
  T.eq(#r:split(ml.zeros(9, 1)), 12)
  T.eq(r:get_n_splits(), 12)
end)

T.test("splitters: bad input is a clear error", function()
  T.raises(function() models.KFold { n_splits = 1 } end, "n_splits")
  T.raises(function() models.KFold { n_split = 3 } end, "did you mean 'n_splits'")
  T.raises(function() models.KFold { n_splits = 5 }:split(ml.zeros(3, 1)) end, "n_splits=5 greater than the number of samples n_samples=3")
  T.raises(function() models.StratifiedKFold {}:split(ml.zeros(10, 1)) end, "needs y")
  T.raises(function() models.StratifiedKFold { n_splits = 4 }:split(ml.zeros(5, 1), { 1, 1, 1, 2, 2 }) end, "number of members")
  T.raises(function() models.StratifiedKFold {}:split(ml.zeros(5, 1), { 1, 2 }) end, "X has 5 rows but y has 2 values")
  T.raises(function() models.GroupKFold { n_splits = 3 }:split(ml.zeros(4, 1), nil, { 1, 1, 2, 2 }) end, "number of groups")
  T.raises(function() models.GroupKFold {}:split(ml.zeros(4, 1)) end, "needs groups")
  T.raises(function() models.ShuffleSplit { test_size = 1.5 }:split(ml.zeros(4, 1)) end, "test_size")
  T.raises(function() models.StratifiedShuffleSplit { test_size = 0.5 }:split(ml.zeros(4, 1), { 1, 2, 2, 2 }) end, "only 1 member")
  T.raises(function() models.TimeSeriesSplit { n_splits = 5 }:split(ml.zeros(5, 1)) end, "n_folds=6")
  T.raises(function() models.KFold {}:split("x") end, "models.KFold:split: X must be")
end)

-- ---- cross-validation ------------------------------------------------------------------------------

local H = dofile("tests/lua/model_helpers.lua")
local prep = ml.prep
local Xb, yb, dfb = H.dataset("breast_cancer")

T.test("cross_val_score: equals the serial loop over StratifiedKFold (clone, fit on train, score on test), in workers", function()
  local est = H.Centroid {}
  local scores = models.cross_val_score(est, Xb, yb, { cv = 5 })
  T.eq(scores:numel(), 5)
  local folds = models.StratifiedKFold { n_splits = 5 }:split(Xb, yb)
  for i, f in ipairs(folds) do
    local e = models.clone(est):fit(Xb:index_select(1, f.train), yb:index_select(1, f.train))
    T.near(scores[i], e:score(Xb:index_select(1, f.test), yb:index_select(1, f.test)), 0)
  end
  T.all_near(models.cross_val_score(est, Xb, yb, { cv = 5, n_jobs = 1 }), scores, 0)
  T.eq(est._fitted, nil, "the estimator given is not fitted")
  -- a regressor gets KFold
  local Xd, yd = H.dataset("diabetes")
  local r = models.cross_val_score(H.LeastSquares {}, Xd, yd, { cv = 3 })
  local f1 = models.KFold { n_splits = 3 }:split(Xd)[1]
  local e = H.LeastSquares {}:fit(Xd:index_select(1, f1.train), yd:index_select(1, f1.train))
  T.near(r[1], e:score(Xd:index_select(1, f1.test), yd:index_select(1, f1.test)), 1e-12)
end)

T.test("cross_validate: several function scorers, train scores, times, estimators", function()
  local acc = function(e, X, y) return e:score(X, y) end
  local neg = function(e, X, y) return -e:score(X, y) end
  local r = models.cross_validate(H.Centroid {}, Xb, yb, { cv = 4, scoring = { acc = acc, neg = neg },
    return_train_score = true, return_estimator = true })
  T.eq(r.test_acc:numel(), 4)
  T.all_near(r.test_neg, -r.test_acc, 0)
  T.eq(r.train_acc:numel(), 4)
  T.eq(r.fit_time:numel(), 4)
  T.eq(r.score_time:numel(), 4)
  T.ok(r.fit_time:min():item() >= 0)
  T.eq(#r.estimator, 4)
  T.eq(r.estimator[1].__name, "test.Centroid")
  local cv = models.StratifiedKFold { n_splits = 4 }:split(Xb, yb)
  T.near(r.estimator[2]:score(Xb:index_select(1, cv[2].test), yb:index_select(1, cv[2].test)), r.test_acc[2], 0)
end)

T.test("cross-validation: a pipeline is refit on each training fold only (the scaler sees no test row)", function()
  local pipe = prep.Pipeline { { "scale", prep.StandardScaler() }, { "clf", H.Centroid {} } }
  T.eq(pipe.KIND, "classifier")
  local r = models.cross_validate(pipe, Xb, yb, { cv = 3, return_estimator = true, n_jobs = 2 })
  local folds = models.StratifiedKFold { n_splits = 3 }:split(Xb, yb)
  for i, e in ipairs(r.estimator) do
    T.all_near(e:step("scale").mean_, Xb:index_select(1, folds[i].train):mean(1), 1e-12)
    T.eq(e.classes_[2], 1)
  end
  local serial = {}
  for i, f in ipairs(folds) do
    local p = pipe:clone():fit(Xb:index_select(1, f.train), yb:index_select(1, f.train))
    serial[i] = p:score(Xb:index_select(1, f.test), yb:index_select(1, f.test))
  end
  T.all_near(r.test_score, ml.tensor(serial, { dtype = "float64" }), 0)
end)

T.test("prep.Pipeline as an estimator: predict_proba, decision_function, step__param params, set_params, clone", function()
  local pipe = prep.Pipeline { { "scale", prep.StandardScaler() }, { "clf", H.Centroid { temperature = 2 } } }
  local p = pipe:get_params()
  T.eq(p.clf__temperature, 2)
  T.eq(p.scale__with_mean, true)
  T.eq(#p.steps, 2)
  pipe:set_params { clf__temperature = 5 }
  T.eq(pipe:step("clf").temperature, 5)
  T.raises(function() pipe:set_params { clff__temperature = 1 } end, "did you mean 'clf'")
  T.raises(function() pipe:set_params { clf__temp = 1 } end, "did you mean 'temperature'")
  local c = pipe:clone()
  T.ok(c:step("clf") ~= pipe:step("clf"))
  T.eq(c:step("clf").temperature, 5)
  pipe:fit(Xb, yb)
  T.eq(pipe:predict_proba(Xb):size(2), 2)
  T.eq(pipe:decision_function(Xb):size(2), 2)
  T.ok(pipe:score(Xb, yb) > 0.9)
  T.raises(function() prep.Pipeline { prep.StandardScaler() }:fit(Xb):predict_proba(Xb) end, "has no predict_proba")
end)

T.test("cross-validation: a failing fold is reported with its index; error_score scores it instead", function()
  local Fragile = H.Centroid:extend("test.Fragile")
  function Fragile:_fit(X, y, fn, o)
    if X:size(1) < 500 then error("too few rows: " .. X:size(1)) end
    return H.Centroid._fit(self, X, y, fn, o)
  end
  local folds = { { train = ml.arange(1, 451, { dtype = "int64" }), test = ml.arange(451, 570, { dtype = "int64" }) },
    { train = ml.arange(1, 541, { dtype = "int64" }), test = ml.arange(541, 570, { dtype = "int64" }) } }
  T.raises(function() models.cross_val_score(Fragile {}, Xb, yb, { cv = folds }) end,
    "models.cross_val_score: fold 1 of 2 failed: too few rows: 450")
  local s = models.cross_val_score(Fragile {}, Xb, yb, { cv = folds, error_score = -1 })
  T.eq(s[1], -1)
  T.ok(s[2] > 0.5)
end)

T.test("cross-validation takes frames, sparse matrices, lists of labels and groups", function()
  local Dense = H.Centroid:extend("test.SparseCentroid")
  Dense.SPARSE = true
  function Dense:_fit(X, y, fn, o) return H.Centroid._fit(self, ml.sparse.is(X) and X:to_dense() or X, y, fn, o) end
  function Dense:_decision_function(X) return H.Centroid._decision_function(self, ml.sparse.is(X) and X:to_dense() or X) end
  local a = models.cross_val_score(H.Centroid {}, dfb:select({ "mean radius", "mean texture" }), yb, { cv = 3 })
  local b = models.cross_val_score(H.Centroid {}, Xb:narrow(2, 1, 2), yb, { cv = 3 })
  T.all_near(a, b, 0)
  local S = ml.sparse.from_dense(Xb)
  T.all_near(models.cross_val_score(Dense {}, S, yb, { cv = 3 }), models.cross_val_score(H.Centroid {}, Xb, yb, { cv = 3 }), 1e-12)
  local names = {}
  for i, v in ipairs(yb:tolist()) do names[i] = v == 1 and "benign" or "malignant" end
  T.all_near(models.cross_val_score(H.Centroid {}, Xb, names, { cv = 3 }), models.cross_val_score(H.Centroid {}, Xb, yb, { cv = 3 }), 0)
  local groups = ml.arange(0, 569, { dtype = "int64" }):remainder(7)
  local g = models.cross_val_score(H.Centroid {}, Xb, yb, { cv = models.GroupKFold { n_splits = 7 }, groups = groups })
  T.eq(g:numel(), 7)
end)

T.test("cross_val_predict: every row predicted by the model that did not see it; probabilities; a non-partition refused", function()
  local pred = models.cross_val_predict(H.Centroid {}, Xb, yb, { cv = 4 })
  local folds = models.StratifiedKFold { n_splits = 4 }:split(Xb, yb)
  local f = folds[3]
  local e = H.Centroid {}:fit(Xb:index_select(1, f.train), yb:index_select(1, f.train))
  T.all_near(pred:index_select(1, f.test), e:predict(Xb:index_select(1, f.test)), 0)
  local proba = models.cross_val_predict(H.Centroid {}, Xb, yb, { cv = 4, method = "predict_proba" })
  T.eq(proba:size(1), 569)
  T.all_near(proba:index_select(1, f.test), e:predict_proba(Xb:index_select(1, f.test)), 1e-12)
  T.raises(function() models.cross_val_predict(H.Centroid {}, Xb, yb, { cv = models.ShuffleSplit { n_splits = 2 } }) end, "partition")
  T.raises(function() models.cross_val_predict(H.Centroid {}, Xb, yb, { method = "transform" }) end, "method")
end)

T.test("cross-validation: bad input is a clear error", function()
  T.raises(function() models.cross_val_score(H.Centroid {}, Xb, yb:narrow(1, 1, 10)) end, "models.cross_val_score: X has 569 rows but y has 10 values")
  T.raises(function() models.cross_val_score(3, Xb, yb) end, "expected an estimator")
  T.raises(function() models.cross_val_score(H.Centroid {}, Xb, yb, { cvv = 3 }) end, "did you mean 'cv'")
  T.raises(function() models.cross_val_score(H.Centroid {}, Xb, yb, { cv = "five" }) end, "cv must be")
  T.raises(function() models.cross_val_score(H.Centroid {}, Xb, yb, { cv = 1 }) end, "cv")
  T.raises(function() models.cross_validate(H.Centroid {}, Xb, yb, { scoring = function() return "x" end }) end, "returned string")
  T.raises(function() models.cross_validate(H.Centroid {}, Xb, yb, { error_score = "ignore" }) end, "error_score")
end)

-- ---- learning and validation curves -----------------------------------------------------------------

T.test("learning_curve: scikit-learn's sizes and scores (StandardScaler + nearest centroid on breast cancer)", function()
  local pipe = prep.Pipeline { prep.StandardScaler(), H.Centroid {} }
  local c = fx.curves
  T.all_near(models.cross_val_score(pipe, Xb, yb, { cv = 5 }), c.cv_scores, 1e-12)
  local r = models.learning_curve(pipe, Xb, yb, { cv = 5 })
  T.eq(table.concat(r.train_sizes_abs:tolist(), ","), table.concat(c.train_sizes_abs, ","))
  T.all_near(r.train_scores, c.train_scores, 1e-12)
  T.all_near(r.test_scores, c.test_scores, 1e-12)
  T.all_near(r.train_std, c.train_std, 1e-12)
  T.all_near(r.test_std, c.test_std, 1e-12)
  local lines = {}
  local text = models.print_curve(r, { file = { write = function(_, s) lines[#lines + 1] = s end } })
  T.ok(text:find("train size", 1, true) and text:find("455", 1, true), text)
  T.eq(lines[1], text)
end)

T.test("learning_curve: counts, shuffle with random_state; validation_curve sets the parameter per value", function()
  local r = models.learning_curve(H.Centroid {}, Xb, yb, { train_sizes = { 20, 100 }, cv = 3, shuffle = true, random_state = 0 })
  T.eq(r.train_scores:size(1), 2)
  T.eq(r.train_scores:size(2), 3)
  local r2 = models.learning_curve(H.Centroid {}, Xb, yb, { train_sizes = { 20, 100 }, cv = 3, shuffle = true, random_state = 0 })
  T.all_near(r.test_scores, r2.test_scores, 0)
  local pipe = prep.Pipeline { { "scale", prep.StandardScaler() }, { "clf", models.NetClassifier {
    build = function(_, d, k) return ml.nn.Linear(d, k) end, random_state = 0, lr = 1e-2 } } }
  local v = models.validation_curve(pipe, Xb, yb, { param_name = "clf__epochs", param_range = { 1, 20 }, cv = 3 })
  T.eq(v.test_scores:size(1), 2)
  T.ok(v.train_mean[2] >= v.train_mean[1] - 0.02, "more epochs fit the training rows better")
  T.ok(models.print_curve(v, { file = { write = function() end } }):find("clf__epochs", 1, true))
  T.raises(function() models.validation_curve(pipe, Xb, yb, { param_name = "clf__epoch", param_range = { 1 } }) end, "did you mean 'epochs'")
  T.raises(function() models.learning_curve(H.Centroid {}, Xb, yb, { train_sizes = { 1.5 } }) end, "fractions must be in (0, 1]")
  T.raises(function() models.learning_curve(H.Centroid {}, Xb, yb, { train_sizes = { 10000 } }) end, "counts must be")
  T.raises(function() models.print_curve({}) end, "expected the result")
end)
