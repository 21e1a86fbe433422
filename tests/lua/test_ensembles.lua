-- models ensembles: VotingClassifier/Regressor, BaggingClassifier/Regressor, StackingClassifier/Regressor.
local models, prep, nn = ml.models, ml.prep, ml.nn
local H = dofile("tests/lua/model_helpers.lua")

local Xw, yw = H.dataset("wine")
Xw = prep.StandardScaler():fit_transform(Xw)
local Xd, yd = H.dataset("diabetes")
local function build(_, d, k) return nn.Sequential { nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, k) } end
local function members()
  return { { "near", H.Centroid {} }, { "soft", H.Centroid { temperature = 20 } },
    { "net", models.NetClassifier { build = build, epochs = 15, lr = 1e-2, random_state = 0 } } }
end
local names = { "barolo", "grignolino", "barbera" }
local yn = {}
for i, v in ipairs(yw:tolist()) do yn[i] = names[v + 1] end

T.test("VotingClassifier: hard = the weighted majority, soft = argmax of the weighted mean probabilities", function()
  local hard = models.VotingClassifier { estimators = members(), voting = "hard", weights = { 1, 1, 3 } }:fit(Xw, yn)
  T.eq(hard.classes_[1], "barbera")
  local votes = ml.zeros(178, 3, { dtype = "float64" })
  local w = { 1, 1, 3 }
  for i, e in ipairs(hard.estimators_) do
    local p = e:predict(Xw):to("int64")
    votes = votes:scatter_add(2, p:reshape(178, 1), ml.full({ 178, 1 }, w[i], { dtype = "float64" }))
  end
  local _, want = votes:max(2)
  local got = hard:predict(Xw)
  T.eq(type(got[1]), "string")
  local codes = require("moonlab.core.labels").encode("t", got, hard.classes_)
  T.all_near(codes, want:reshape(178), 0)
  T.raises(function() hard:predict_proba(Xw) end, "voting='hard'")
  local soft = models.VotingClassifier { estimators = members(), voting = "soft" }:fit(Xw, yw)
  local mean = (soft.estimators_[1]:predict_proba(Xw) + soft.estimators_[2]:predict_proba(Xw) + soft.estimators_[3]:predict_proba(Xw)) / 3
  T.all_near(soft:predict_proba(Xw), mean, 1e-12)
  T.ok(soft:score(Xw, yw) >= 0.95)
  T.eq(soft.named_estimators_.net, soft.estimators_[3])
  T.eq(soft:transform(Xw):size(2), 9)
end)

T.test("VotingClassifier in cross-validation (members fitted inside each fold's worker)", function()
  local vote = models.VotingClassifier { estimators = members(), voting = "soft" }
  local s = models.cross_val_score(vote, Xw, yw, { cv = 3 }):mean():item()
  T.ok(s > 0.9, "soft vote accuracy " .. s)
  local r = models.cross_validate(vote, Xw, yw, { cv = 3, return_estimator = true })
  T.eq(#r.estimator[1].estimators_, 3, "fitted members come back from the workers")
end)

T.test("VotingRegressor averages; Voting* refuse members of the other kind", function()
  local a, b = H.LeastSquares {}, H.LeastSquares { steps = 30 }
  local v = models.VotingRegressor { estimators = { { "a", a }, { "b", b } }, weights = { 3, 1 } }:fit(Xd, yd)
  local want = (v.estimators_[1]:predict(Xd) * 3 + v.estimators_[2]:predict(Xd)) / 4
  T.all_near(v:predict(Xd), want, 1e-12)
  T.raises(function() models.VotingRegressor { estimators = { { "c", H.Centroid {} } } } end, "combines regressors")
  T.raises(function() models.VotingClassifier { estimators = { { "a", a } } } end, "combines classifiers")
  T.raises(function() models.VotingClassifier { estimators = { { "a", H.Centroid {} }, { "a", H.Centroid {} } } } end, "two estimators are named 'a'")
  T.raises(function() models.VotingClassifier { estimators = {} } end, "non-empty list")
  T.raises(function() models.VotingClassifier { estimators = members(), weights = { 1 } } end, "list of 3 numbers")
  T.raises(function() models.VotingClassifier { estimators = members(), voting = "sofft" } end, "soft")
end)

T.test("BaggingClassifier: seeded (same ensemble for any n_jobs), feature draws, members that miss a class", function()
  local opts = { estimator = H.Centroid {}, n_estimators = 8, max_samples = 0.5, max_features = 0.6, random_state = 1 }
  local a = models.BaggingClassifier(opts):fit(Xw, yw)
  local o2 = {}
  for k, v in pairs(opts) do o2[k] = v end
  o2.n_jobs = 2
  local b = models.BaggingClassifier(o2):fit(Xw, yw)
  T.all_near(a:predict_proba(Xw), b:predict_proba(Xw), 0)
  T.eq(#a.estimators_, 8)
  T.eq(a.estimators_features_[1]:numel(), 7)
  T.ok(a:score(Xw, yw) > 0.9)
  -- tiny draws: some members see two classes only
  local tiny = models.BaggingClassifier { estimator = H.Centroid {}, n_estimators = 10, max_samples = 4, random_state = 0 }:fit(Xw, yw)
  local short = 0
  for _, e in ipairs(tiny.estimators_) do if #e.classes_ < 3 then short = short + 1 end end
  T.ok(short > 0, "a member missing a class")
  T.all_near(tiny:predict_proba(Xw):sum(2), ml.ones(178, { dtype = "float64" }), 1e-12)
end)

T.test("BaggingClassifier of a network; BaggingRegressor averages", function()
  local bag = models.BaggingClassifier { estimator = models.NetClassifier { build = build, epochs = 5, lr = 1e-2 },
    n_estimators = 3, random_state = 0 }:fit(Xw, yw)
  T.ok(bag:score(Xw, yw) > 0.8)
  local br = models.BaggingRegressor { estimator = H.LeastSquares {}, n_estimators = 4, random_state = 0 }:fit(Xd, yd)
  local sum = ml.zeros(Xd:size(1), { dtype = "float64" })
  for i, e in ipairs(br.estimators_) do sum = sum + e:predict(Xd:index_select(2, br.estimators_features_[i])) end
  T.all_near(br:predict(Xd), sum / 4, 1e-12)
  T.raises(function() models.BaggingClassifier { estimator = 3 } end, "estimator must be an estimator")
  T.raises(function() models.BaggingClassifier { estimator = H.Centroid {}, max_samples = 1.5 } end, "max_samples")
  T.raises(function() models.BaggingClassifier { estimator = H.LeastSquares {} }:fit(Xw, yw) end, "bags classifiers")
end)

T.test("StackingClassifier: the meta-model learns from out-of-fold predictions", function()
  local st = models.StackingClassifier { estimators = members(), final_estimator = H.Centroid {}, cv = 3 }:fit(Xw, yn)
  T.eq(st.n_meta_features_, 9)
  T.eq(st.stack_methods_[1], "predict_proba")
  local Z = models.cross_val_predict(members()[1][2], Xw, require("moonlab.core.labels").encode("t", yn), { cv = 3, method = "predict_proba" })
  -- the final estimator's centroids are means of out-of-fold probabilities
  T.all_near(st.final_estimator_.centroids_:narrow(2, 1, 3), (function()
    local codes = require("moonlab.core.labels").encode("t", yn)
    local rows = {}
    for k = 1, 3 do
      local idx = ml.arange(1, 179, { dtype = "int64" }):masked_select(codes:eq(k))
      rows[k] = Z:index_select(1, idx):mean(1):reshape(1, 3)
    end
    return ml.cat(rows, 1)
  end)(), 1e-12)
  T.eq(type(st:predict(Xw)[1]), "string")
  T.ok(st:score(Xw, yn) > 0.9)
  T.eq(st:transform(Xw):size(2), 9)
  local pass = models.StackingClassifier { estimators = members(), final_estimator = H.Centroid {}, cv = 3, passthrough = true }:fit(Xw, yw)
  T.eq(pass.n_meta_features_, 9 + 13)
  -- two classes: one probability column per member
  local bin = yw:eq(0):to("int64")
  T.eq(models.StackingClassifier { estimators = members(), final_estimator = H.Centroid {} }:fit(Xw, bin).n_meta_features_, 3)
end)

T.test("StackingRegressor: the final estimator on the members' out-of-fold predictions", function()
  local sr = models.StackingRegressor { estimators = { { "a", H.LeastSquares {} }, { "b", H.LeastSquares { steps = 20 } } },
    final_estimator = H.LeastSquares {}, cv = 3 }:fit(Xd, yd)
  T.eq(sr.n_meta_features_, 2)
  T.ok(sr:score(Xd, yd) > 0.3)
  T.raises(function() models.StackingClassifier { estimators = members(), stack_method = "proba" } end, "predict_proba")
end)

T.test("ensembles save and load with their fitted members, predictions identical", function()
  local fitted = {
    models.VotingClassifier { estimators = members(), voting = "soft" }:fit(Xw, yn),
    models.BaggingClassifier { estimator = H.Centroid {}, n_estimators = 4, max_features = 0.5, random_state = 0 }:fit(Xw, yw),
    models.StackingClassifier { estimators = members(), final_estimator = H.Centroid {}, cv = 3 }:fit(Xw, yw),
  }
  for _, e in ipairs(fitted) do
    local path = T.tmpname(".safetensors")
    e:save(path)
    local back = models.load(path)
    T.eq(back.__name, e.__name)
    T.all_near(back:predict_proba(Xw), e:predict_proba(Xw), 0)
  end
  local vr = models.VotingRegressor { estimators = { { "a", H.LeastSquares {} } } }:fit(Xd, yd)
  local path = T.tmpname(".safetensors")
  vr:save(path)
  T.all_near(models.load(path):predict(Xd), vr:predict(Xd), 0)
  -- an unfitted clone of a fitted ensemble
  local c = fitted[1]:clone()
  T.raises(function() c:predict(Xw) end, "not fitted")
end)
