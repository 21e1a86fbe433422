-- ml.models' linear estimators against scikit-learn 1.2.1 (tests/fixtures/linear/,
-- scripts/gen_linear_fixtures.py): LinearRegression, Ridge, Lasso, ElasticNet, LogisticRegression.
local ml = ml
local models = ml.models

local function fixture(name) return ml.json.decode(assert(T.read_file("tests/fixtures/linear/" .. name .. ".json"))) end
local function mat(spec) return ml.tensor(spec.data, { dtype = "float64" }):reshape(spec.shape):contiguous() end
local function maxerr(a, b) return a:to("float64"):sub(b):abs():max():item() end
local function close(got, want, tol, what)
  local e = maxerr(got, ml.is_tensor(want) and want or mat(want))
  T.ok(e <= tol, string.format("%s: max error %.3g > %.3g", what or "value", e, tol))
end

local load = dofile("tests/lua/model_helpers.lua").xy -- a bundled data set as X (standardized when asked) and y

local Xd, yd = load("diabetes")
local LS, CD, LOG = fixture("least_squares"), fixture("coordinate_descent"), fixture("logistic")

-- ---- least squares and ridge --------------------------------------------------------------

T.test("LinearRegression matches scikit-learn on diabetes (coef, intercept, rank, singular values, R²)", function()
  local m = models.LinearRegression():fit(Xd, yd)
  local f = LS.diabetes
  close(m.coef_, f.coef, 1e-8, "coef_")
  T.near(m.intercept_, f.intercept, 1e-9)
  T.eq(m.rank_, f.rank)
  close(m.singular_, f.singular, 1e-12, "singular_")
  T.near(m:score(Xd, yd), f.r2, 1e-12)
  close(m:predict(Xd:narrow(1, 1, 10)), f.pred, 1e-8, "predict")
end)

T.test("LinearRegression: multi-target, sample_weight, no intercept, rank-deficient X", function()
  local Y2 = ml.stack({ yd, yd:mul(0.5):add(Xd:select(2, 1):mul(100)) }, 2)
  local m = models.LinearRegression():fit(Xd, Y2)
  close(m.coef_, LS.multi.coef, 1e-8, "multi coef_")
  close(m.intercept_, LS.multi.intercept, 1e-9, "multi intercept_")
  T.eq(table.concat(m:predict(Xd):shape(), "x"), "442x2")
  local w = models.LinearRegression():fit(Xd, yd, { sample_weight = mat(LS.weighted.sw) })
  close(w.coef_, LS.weighted.coef, 1e-8, "weighted coef_")
  T.near(w.intercept_, LS.weighted.intercept, 1e-9)
  local ni = models.LinearRegression({ fit_intercept = false }):fit(Xd, yd)
  close(ni.coef_, LS.no_intercept.coef, 1e-8, "no-intercept coef_")
  T.eq(ni.intercept_, 0)
  local Xr = ml.cat({ Xd:narrow(2, 1, 3), Xd:select(2, 1):add(Xd:select(2, 2)):view(-1, 1) }, 2)
  local r = models.LinearRegression():fit(Xr, yd)
  T.eq(r.rank_, LS.rank_deficient.rank)
  close(r.coef_, LS.rank_deficient.coef, 1e-7, "minimum-norm coef_")
end)

T.test("Ridge matches scikit-learn (alpha 1 and 0.1, sample_weight, one alpha per target)", function()
  for _, a in ipairs { 1, 0.1 } do
    local m = models.Ridge({ alpha = a }):fit(Xd, yd)
    local f = LS["ridge_" .. (a == 1 and "1" or "0.1")]
    close(m.coef_, f.coef, 1e-8, "coef_ alpha " .. a)
    T.near(m.intercept_, f.intercept, 1e-9)
    T.near(m:score(Xd, yd), f.r2, 1e-12)
  end
  local w = models.Ridge({ alpha = 0.5 }):fit(Xd, yd, { sample_weight = mat(LS.weighted.sw) })
  close(w.coef_, LS.ridge_weighted.coef, 1e-8, "weighted coef_")
  local Y2 = ml.stack({ yd, yd:mul(0.5):add(Xd:select(2, 1):mul(100)) }, 2)
  local mt = models.Ridge({ alpha = { 0.5, 2.0 } }):fit(Xd, Y2)
  close(mt.coef_, LS.ridge_multi.coef, 1e-8, "per-target alpha coef_")
  close(mt.intercept_, LS.ridge_multi.intercept, 1e-9, "per-target intercept_")
  -- alpha 0 on a rank-deficient X falls back to the minimum-norm solution instead of failing
  local Xr = ml.cat({ Xd:narrow(2, 1, 3), Xd:select(2, 1):add(Xd:select(2, 2)):view(-1, 1) }, 2)
  local z = models.Ridge({ alpha = 0 }):fit(Xr, yd)
  close(z.coef_, LS.rank_deficient.coef, 1e-6, "alpha 0, singular X")
end)

-- ---- coordinate descent -------------------------------------------------------------------

T.test("Lasso and ElasticNet match scikit-learn: coef_, intercept_, n_iter_, dual_gap_", function()
  local cases = {
    lasso = { models.Lasso, { alpha = 0.1 } },
    lasso_tight = { models.Lasso, { alpha = 0.05, tol = 1e-10, max_iter = 100000 } },
    enet = { models.ElasticNet, { alpha = 0.01, l1_ratio = 0.7 } },
    enet_tight = { models.ElasticNet, { alpha = 0.005, l1_ratio = 0.3, tol = 1e-10, max_iter = 100000 } },
    positive = { models.Lasso, { alpha = 0.05, positive = true, tol = 1e-10, max_iter = 100000 } },
    no_intercept = { models.Lasso, { alpha = 0.1, fit_intercept = false, tol = 1e-10, max_iter = 100000 } },
  }
  for name, c in pairs(cases) do
    local f = CD[name]
    local m = c[1](c[2]):fit(Xd, yd)
    close(m.coef_, f.coef, 1e-6, name .. " coef_")
    T.near(m.intercept_, f.intercept, 1e-6)
    T.eq(m.n_iter_, f.n_iter, name .. " n_iter_")
    T.near(m.dual_gap_, f.dual_gap, 1e-6 * math.max(1, math.abs(f.dual_gap)))
    close(m:predict(Xd:narrow(1, 1, 10)), f.pred, 1e-6, name .. " predict")
  end
  local pos = models.Lasso({ alpha = 0.05, positive = true }):fit(Xd, yd)
  T.ok(pos.coef_:min():item() >= 0, "positive coefficients")
end)

T.test("Lasso: sample_weight, multi-target, random selection, warm_start", function()
  local w = models.Lasso({ alpha = 0.05, tol = 1e-10, max_iter = 100000 }):fit(Xd, yd, { sample_weight = mat(LS.weighted.sw) })
  close(w.coef_, CD.weighted.coef, 1e-6, "weighted coef_")
  T.near(w.intercept_, CD.weighted.intercept, 1e-6)
  local Y2 = ml.stack({ yd, yd:mul(0.5):add(Xd:select(2, 1):mul(100)) }, 2)
  local mt = models.ElasticNet({ alpha = 0.01, tol = 1e-10, max_iter = 100000 }):fit(Xd, Y2)
  close(mt.coef_, CD.multi.coef, 1e-6, "multi coef_")
  -- random order reaches the same optimum; the same random_state gives the same path
  local r1 = models.Lasso({ alpha = 0.05, selection = "random", random_state = 3, tol = 1e-10, max_iter = 100000 }):fit(Xd, yd)
  local r2 = models.Lasso({ alpha = 0.05, selection = "random", random_state = 3, tol = 1e-10, max_iter = 100000 }):fit(Xd, yd)
  close(r1.coef_, CD.lasso_tight.coef, 1e-5, "random selection coef_")
  T.eq(r1.n_iter_, r2.n_iter_)
  -- warm start from the solution: converged at once
  local m = models.Lasso({ alpha = 0.05, tol = 1e-10, max_iter = 100000, warm_start = true }):fit(Xd, yd)
  m:fit(Xd, yd)
  T.ok(m.n_iter_ <= 2, "warm-started n_iter_ " .. m.n_iter_)
end)

-- ---- logistic regression ------------------------------------------------------------------

local data = {}
data.bc = { load("breast_cancer", true) }
data.iris = { load("iris", true) }
data.wine = { load("wine", true) }

T.test("LogisticRegression (lbfgs) matches scikit-learn on breast cancer, iris, wine", function()
  for name, f in pairs(LOG) do
    if type(f) == "table" and f.options and f.options.solver == nil then
      local d = data[name:match("^(%a+)")]
      local m = models.LogisticRegression(f.options):fit(d[1], d[2])
      close(m.coef_, f.coef, 1e-4, name .. " coef_")
      close(m.intercept_, f.intercept, 1e-4, name .. " intercept_")
      close(m:predict_proba(d[1]:narrow(1, 1, 8)), f.proba, 1e-5, name .. " predict_proba")
      close(m:decision_function(d[1]:narrow(1, 1, 8)), f.decision, 1e-4, name .. " decision_function")
      T.ok(math.abs(m:score(d[1], d[2]) - f.accuracy) <= 0.01, name .. " accuracy")
      T.ok(math.abs(m.n_iter_:max():item() - f.n_iter) <= 2, name .. " n_iter_")
    end
  end
end)

T.test("LogisticRegression: l1 and elastic net (proximal solver) reach scikit-learn's saga optimum", function()
  local m = models.LogisticRegression({ penalty = "l1", C = 0.1, solver = "proximal", tol = 1e-6, max_iter = 10000 })
  m:fit(data.bc[1], data.bc[2])
  close(m.coef_, LOG.bc_l1.coef, 1e-4, "l1 coef_")
  T.eq(m.coef_:eq(0):sum():item() > 10, true, "l1 zeros coefficients")
  local e = models.LogisticRegression({ penalty = "elasticnet", l1_ratio = 0.5, C = 0.5, solver = "saga", tol = 1e-6, max_iter = 10000 })
  e:fit(data.iris[1], data.iris[2])
  close(e.coef_, LOG.iris_enet.coef, 1e-4, "elasticnet coef_")
  T.near(e:score(data.iris[1], data.iris[2]), LOG.iris_enet.accuracy, 0.01)
end)

T.test("LogisticRegression: labels as strings, predict_log_proba, penalty none, class_weight table", function()
  local X, y = data.iris[1], data.iris[2]
  local names = { "setosa", "versicolor", "virginica" }
  local ys = {}
  for i, v in ipairs(y:tolist()) do ys[i] = names[math.tointeger(v) + 1] end
  local m = models.LogisticRegression():fit(X, ys)
  T.eq(m.classes_[3], "virginica")
  T.eq(m:predict(X:narrow(1, 1, 1))[1], "setosa")
  T.all_near(m:predict_log_proba(X:narrow(1, 1, 5)):exp(), m:predict_proba(X:narrow(1, 1, 5)), 1e-12)
  local n = models.LogisticRegression({ penalty = "none", max_iter = 300 }):fit(data.bc[1], data.bc[2])
  T.ok(n:score(data.bc[1], data.bc[2]) > 0.98)
  local cw = models.LogisticRegression({ class_weight = { [0] = 1, [1] = 5 } }):fit(data.bc[1], data.bc[2])
  local plain = models.LogisticRegression():fit(data.bc[1], data.bc[2])
  T.ok(cw:predict(data.bc[1]):sum():item() > plain:predict(data.bc[1]):sum():item(), "weighting class 1 predicts it more")
end)

-- ---- the estimator contract ---------------------------------------------------------------

T.test("save/load predict identically; get_params, set_params, clone", function()
  local fitted = {
    models.LinearRegression():fit(Xd, yd), models.Ridge({ alpha = 0.3 }):fit(Xd, yd),
    models.Lasso({ alpha = 0.1 }):fit(Xd, yd), models.ElasticNet({ alpha = 0.01 }):fit(Xd, yd),
    models.LogisticRegression():fit(data.wine[1], data.wine[2]),
    models.LogisticRegression({ multi_class = "ovr" }):fit(data.iris[1], data.iris[2]),
  }
  for _, m in ipairs(fitted) do
    local X = m.KIND == "classifier" and (m.n_classes_ == 3 and (m.n_features_in_ == 13 and data.wine[1] or data.iris[1])) or Xd
    local path = T.tmpname(".safetensors")
    m:save(path)
    local back = models.load(path)
    T.eq(back.__name, m.__name)
    T.all_near(back:predict(X), m:predict(X), 0)
    if m.KIND == "classifier" then T.all_near(back:predict_proba(X), m:predict_proba(X), 0) end
    local c = m:clone()
    T.eq(c._fitted, nil)
    for k, v in pairs(m:get_params()) do T.eq(c:get_params()[k], v) end
  end
  local r = models.Ridge({ alpha = 2 })
  T.eq(r:get_params().alpha, 2)
  r:set_params({ alpha = 5 })
  T.eq(r.alpha, 5)
  T.raises(function() r:set_params({ alpha = -1 }) end, "alpha must be >= 0")
  T.eq(r.alpha, 5)
end)

T.test("errors: shapes, NaN, one class, unknown options, unfitted, wrong width", function()
  T.raises(function() models.Ridge():fit(Xd, yd:narrow(1, 1, 10)) end, "models.Ridge:fit: X has 442 rows but y has 10 values")
  local bad = Xd:clone()
  bad[3][2] = 0 / 0
  T.raises(function() models.LinearRegression():fit(bad, yd) end, "models.LinearRegression:fit: X holds NaN")
  T.raises(function() models.Lasso():fit(bad, yd) end, "models.Lasso:fit: X holds NaN")
  T.raises(function() models.LogisticRegression():fit(data.bc[1], ml.zeros(569)) end, "y holds a single class")
  T.raises(function() models.Ridge({ alpah = 1 }) end, "did you mean 'alpha'")
  T.raises(function() models.LogisticRegression({ penalty = "l1" }) end, "solver 'lbfgs' supports only the 'l2' and 'none' penalties")
  T.raises(function() models.LogisticRegression({ penalty = "elasticnet", solver = "proximal" }) end, "needs l1_ratio")
  T.raises(function() models.LogisticRegression({ multi_class = "multi" }) end, "multi_class")
  T.raises(function() models.Lasso({ selection = "randomly" }) end, "selection")
  T.raises(function() models.LinearRegression():predict(Xd) end, "models.LinearRegression:predict: this models.LinearRegression is not fitted yet")
  local m = models.LinearRegression():fit(Xd, yd)
  T.raises(function() m:predict(Xd:narrow(2, 1, 3)) end, "X has 3 columns, expected 10")
  T.raises(function() models.Ridge({ alpha = { 1, 2 } }):fit(Xd, yd) end, "alpha has 2 values but y has 1 targets")
  T.raises(function() models.LogisticRegression({ class_weight = { [7] = 2 } }):fit(data.bc[1], data.bc[2]) end, "class_weight names the label 7")
end)

T.test("frames work as X; help finds the docstrings", function()
  local df = ml.data.load_diabetes()
  local names = {}
  for _, n in ipairs(df._names) do if n ~= "target" then names[#names + 1] = n end end
  local m = models.Ridge():fit(df:select(names), df:to_tensor({ "target" }):view(-1))
  T.all_near(m:predict(df:select(names)), models.Ridge():fit(Xd, yd):predict(Xd), 1e-10)
  for _, name in ipairs { "LinearRegression", "Ridge", "Lasso", "ElasticNet", "LogisticRegression" } do
    T.ok(ml.doc(models[name]) ~= nil, name .. " has a docstring")
  end
end)
