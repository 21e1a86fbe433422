-- ml.models' naive Bayes and k-nearest neighbours against scikit-learn 1.2.1
-- (tests/fixtures/linear/naive_bayes.json, neighbors.json; scripts/gen_linear_fixtures.py).
local ml = ml
local models = ml.models

local function fixture(name) return ml.json.decode(assert(T.read_file("tests/fixtures/linear/" .. name .. ".json"))) end
local function mat(spec) return ml.tensor(spec.data, { dtype = "float64" }):reshape(spec.shape):contiguous() end
local function close(got, want, tol, what)
  local e = got:to("float64"):sub(ml.is_tensor(want) and want or mat(want)):abs():max():item()
  T.ok(e <= tol, string.format("%s: max error %.3g > %.3g", what or "value", e, tol))
end
local load = dofile("tests/lua/model_helpers.lua").xy -- a bundled data set as X (standardized when asked) and y
local function every(X, step) return X:index_select(1, ml.arange(1, X:size(1) + 1, step):to("int64")) end

local NB, KN = fixture("naive_bayes"), fixture("neighbors")

-- ---- naive Bayes --------------------------------------------------------------------------

T.test("GaussianNB matches scikit-learn on iris and wine", function()
  for _, name in ipairs { "iris", "wine" } do
    local X, y = load(name)
    local f = NB["gauss_" .. name]
    local m = models.GaussianNB():fit(X, y)
    close(m.theta_, f.theta, 1e-10, name .. " theta_")
    close(m.var_, f.var, 1e-10, name .. " var_")
    close(m.class_prior_, f.class_prior, 1e-15, name .. " class_prior_")
    T.near(m.epsilon_, f.epsilon, 1e-15)
    close(m:predict_proba(every(X, 15)), f.proba, 1e-9, name .. " predict_proba")
    close(m:predict_log_proba(every(X, 15)), f.log_proba, 1e-8, name .. " predict_log_proba")
    T.near(m:score(X, y), f.accuracy, 1e-12)
  end
end)

T.test("GaussianNB: priors, var_smoothing, sample_weight", function()
  local X, y = load("iris")
  local m = models.GaussianNB({ priors = { 0.2, 0.3, 0.5 }, var_smoothing = 1e-3 }):fit(X, y)
  close(m.var_, NB.gauss_priors.var, 1e-10, "var_")
  close(m:predict_proba(every(X, 15)), NB.gauss_priors.proba, 1e-9, "predict_proba")
  local w = models.GaussianNB():fit(X, y, { sample_weight = mat(NB.gauss_weighted.sw) })
  close(w.theta_, NB.gauss_weighted.theta, 1e-10, "weighted theta_")
  close(w.var_, NB.gauss_weighted.var, 1e-10, "weighted var_")
  close(w.class_prior_, NB.gauss_weighted.class_prior, 1e-12, "weighted class_prior_")
  T.raises(function() models.GaussianNB({ priors = { 0.5, 0.6, 0.1 } }):fit(X, y) end, "priors must sum to 1")
  T.raises(function() models.GaussianNB({ priors = { 0.5, 0.5 } }):fit(X, y) end, "priors has 2 values but y has 3 classes")
end)

T.test("MultinomialNB matches scikit-learn on digits (counts), dense and sparse", function()
  local X, y = load("digits")
  for _, name in ipairs { "multi_digits", "multi_alpha" } do
    local f = NB[name]
    local opts = name == "multi_alpha" and { alpha = 0.3, fit_prior = false } or {}
    local m = models.MultinomialNB(opts):fit(X, y)
    close(m.feature_log_prob_, f.feature_log_prob, 1e-12, name .. " feature_log_prob_")
    close(m.class_log_prior_, f.class_log_prior, 1e-12, name .. " class_log_prior_")
    close(m.class_count_, f.class_count, 0, name .. " class_count_")
    close(m:predict_proba(every(X, 100)), f.proba, 1e-10, name .. " predict_proba")
    T.near(m:score(X, y), f.accuracy, 1e-12)
  end
  local S = ml.sparse.from_dense(X)
  local dense, sp = models.MultinomialNB():fit(X, y), models.MultinomialNB():fit(S, y)
  close(sp.feature_log_prob_, dense.feature_log_prob_, 1e-12, "sparse fit")
  close(sp:predict_proba(S), dense:predict_proba(X), 1e-10, "sparse predict_proba")
  T.all_near(sp:predict(S), dense:predict(X), 0)
end)

T.test("MultinomialNB on TF-IDF text (the classic baseline), saved and loaded", function()
  local docs = { "the cat sat on the mat", "dogs chase cats", "the dog barked", "stocks fell sharply today",
    "markets and stocks rallied", "the market closed higher", "my cat purrs", "bond yields and stocks" }
  local y = { "pets", "pets", "pets", "money", "money", "money", "pets", "money" }
  local tf = ml.prep.TfidfVectorizer()
  local S = tf:fit_transform(docs)
  local m = models.MultinomialNB({ alpha = 0.1 }):fit(S, y)
  T.eq(m:score(S, y), 1.0)
  local pred = m:predict(tf:transform({ "a cat and a dog", "stocks and the market" }))
  T.eq(pred[1], "pets")
  T.eq(pred[2], "money")
  local path = T.tmpname(".safetensors")
  m:save(path)
  local back = models.load(path)
  T.all_near(back:predict_proba(S), m:predict_proba(S), 0)
  T.raises(function() models.GaussianNB():fit(S, y) end, "does not take a sparse matrix")
  T.raises(function() models.MultinomialNB():fit(ml.tensor({ { 1, -1 }, { 0, 2 } }), { 1, 2 }) end, "negative values")
end)

-- ---- k-nearest neighbours -----------------------------------------------------------------

local Xw, yw = load("wine", true)
local tr = ml.tensor(KN.wine_split.train, { dtype = "int64" })
local te = ml.tensor(KN.wine_split.test, { dtype = "int64" })
local Xtr, ytr, Xte, yte = Xw:index_select(1, tr), yw:index_select(1, tr), Xw:index_select(1, te), yw:index_select(1, te)

T.test("KNeighborsClassifier matches scikit-learn (uniform, distance, p = 1): proba, kneighbors, accuracy", function()
  for _, name in ipairs { "uniform", "distance", "manhattan" } do
    local f = KN["clf_" .. name]
    local m = models.KNeighborsClassifier(f.options):fit(Xtr, ytr)
    close(m:predict_proba(Xte), f.proba, 1e-12, name .. " predict_proba")
    T.all_near(m:predict(Xte), ml.tensor(f.pred, { dtype = "float64" }), 0)
    local dist, idx = m:kneighbors(Xte)
    close(dist, f.dist, 1e-10, name .. " distances")
    close(idx, f.ind, 0, name .. " indices")
    T.near(m:score(Xte, yte), f.accuracy, 1e-12)
  end
end)

T.test("KNeighborsRegressor matches scikit-learn on diabetes", function()
  local Xd, yd = load("diabetes")
  local trd = ml.tensor(KN.diabetes_split.train, { dtype = "int64" })
  local ted = ml.tensor(KN.diabetes_split.test, { dtype = "int64" })
  for _, name in ipairs { "uniform", "distance" } do
    local f = KN["reg_" .. name]
    local m = models.KNeighborsRegressor(f.options):fit(Xd:index_select(1, trd), yd:index_select(1, trd))
    close(m:predict(Xd:index_select(1, ted)), f.pred, 1e-9, name .. " predict")
    T.near(m:score(Xd:index_select(1, ted), yd:index_select(1, ted)), f.r2, 1e-10)
  end
  -- several targets at once
  local Y2 = ml.stack({ yd, yd:mul(2) }, 2)
  local m2 = models.KNeighborsRegressor():fit(Xd, Y2)
  local p = m2:predict(Xd:narrow(1, 1, 5))
  T.all_near(p:select(2, 2), p:select(2, 1):mul(2), 1e-9)
end)

T.test("kNN: ties go to the lower training row, zero distances, kneighbors() without X", function()
  local X = ml.tensor({ { 0, 0 }, { 1, 0 }, { 1, 0 }, { 0, 1 }, { 5, 5 } }, { dtype = "float64" })
  local y = { 1, 2, 3, 3, 1 }
  local m = models.KNeighborsClassifier({ n_neighbors = 2 }):fit(X, y)
  local dist, idx = m:kneighbors(ml.tensor({ { 1, 0 } }, { dtype = "float64" }))
  T.all_near(idx, { { 2, 3 } }, 0)
  T.all_near(dist, { { 0, 0 } }, 0)
  -- distance weights: the rows at distance 0 alone decide
  local w = models.KNeighborsClassifier({ n_neighbors = 3, weights = "distance" }):fit(X, y)
  T.all_near(w:predict_proba(ml.tensor({ { 0, 0 } }, { dtype = "float64" })), { { 1, 0, 0 } }, 0)
  -- a tie between classes goes to the first class (scikit-learn's mode)
  local t = models.KNeighborsClassifier({ n_neighbors = 2 }):fit(X, y)
  T.eq(t:predict(ml.tensor({ { 0.5, 0 } }, { dtype = "float64" }))[1], 1)
  local d2, i2 = m:kneighbors(nil, 1)
  T.all_near(i2:view(-1), { 2, 3, 2, 1, 2 }, 0) -- row 5 is sqrt(41) from rows 2, 3 and 4: the lowest wins
  T.near(d2[5][1], math.sqrt(16 + 25), 1e-12)
  local only = m:kneighbors(X, 1, false)
  T.all_near(only:view(-1), { 1, 2, 2, 4, 5 }, 0)
end)

T.test("kNN: save/load, clone, errors", function()
  local m = models.KNeighborsClassifier({ n_neighbors = 3, weights = "distance" }):fit(Xtr, ytr)
  local path = T.tmpname(".safetensors")
  m:save(path)
  local back = models.load(path)
  T.all_near(back:predict_proba(Xte), m:predict_proba(Xte), 0)
  T.eq(m:clone():get_params().n_neighbors, 3)
  T.raises(function() models.KNeighborsClassifier({ n_neighbors = 200 }):fit(Xtr, ytr):predict(Xte) end,
    "n_neighbors = 200, expected <= 120")
  T.raises(function() models.KNeighborsClassifier({ p = 3 }) end, "p must be 1 (Manhattan) or 2 (Euclidean), got 3")
  T.raises(function() models.KNeighborsClassifier({ weights = "dist" }) end, "weights")
  T.raises(function() models.KNeighborsClassifier({ n_neigbors = 3 }) end, "did you mean 'n_neighbors'")
  local bad = Xte:clone()
  bad[1][1] = 0 / 0
  T.raises(function() m:predict(bad) end, "models.KNeighborsClassifier:predict: X holds NaN")
  T.raises(function() m:predict(Xte:narrow(2, 1, 5)) end, "X has 5 columns, expected 13")
  T.raises(function() models.KNeighborsRegressor():fit(Xtr, ytr:narrow(1, 1, 7)) end, "X has 120 rows but y has 7 values")
end)

T.test("prep.KNNImputer still works on the shared kernel", function()
  local X = ml.tensor({ { 1, 2 }, { 0 / 0, 3 }, { 7, 6 }, { 2, 2 } }, { dtype = "float64" })
  local out = ml.prep.KNNImputer({ n_neighbors = 2 }):fit_transform(X)
  T.near(out[2][1], 1.5, 1e-12) -- rows 1 and 4 are nearest to (?, 3)
end)
