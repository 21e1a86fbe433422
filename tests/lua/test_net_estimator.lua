-- models.NetClassifier / NetRegressor: a network of ml.nn on the estimator contract.
local models, nn, prep = ml.models, ml.nn, ml.prep
local H = dofile("tests/lua/model_helpers.lua")

local function build(p, d, k)
  return nn.Sequential { nn.Linear(d, p.hidden or 16), nn.ReLU(), nn.Linear(p.hidden or 16, k) }
end

local Xi, yi = H.dataset("iris")
local Xs = prep.StandardScaler():fit_transform(Xi)

T.test("NetClassifier: learns iris, any label values (strings), probabilities in classes_ order", function()
  local names = { "setosa", "versicolor", "virginica" }
  local ys = {}
  for i, v in ipairs(yi:tolist()) do ys[i] = names[v + 1] end
  local net = models.NetClassifier { build = build, params = { hidden = 16 }, epochs = 40, lr = 1e-2, random_state = 0 }
  net:fit(Xs, ys)
  T.eq(net.classes_[1], "setosa")
  T.eq(net.n_classes_, 3)
  T.ok(net:score(Xs, ys) > 0.9, "accuracy " .. net:score(Xs, ys))
  local p = net:predict_proba(Xs)
  T.eq(p:size(2), 3)
  T.all_near(p:sum(2), ml.ones(150, { dtype = "float64" }), 1e-9)
  local pred = net:predict(Xs)
  T.eq(type(pred[1]), "string")
  T.eq(net:decision_function(Xs):size(2), 3)
end)

T.test("NetClassifier: random_state makes fits identical and keeps the caller's stream", function()
  local a = models.NetClassifier { build = build, epochs = 5, random_state = 3 }:fit(Xs, yi)
  ml.seed(1)
  local before = ml.rand(1):item()
  ml.seed(1)
  local b = models.NetClassifier { build = build, epochs = 5, random_state = 3 }:fit(Xs, yi)
  T.eq(ml.rand(1):item(), before, "caller's stream")
  T.all_near(a:predict_proba(Xs), b:predict_proba(Xs), 0)
end)

T.test("NetClassifier: get_params/set_params/clone (build by reference), save/load predict identically", function()
  local net = models.NetClassifier { build = build, epochs = 8, lr = 1e-2, random_state = 0, params = { hidden = 8 } }
  local p = net:get_params()
  T.eq(p.build, build)
  T.eq(p.epochs, 8)
  net:set_params { epochs = 12 }
  T.eq(net.epochs, 12)
  local c = models.clone(net)
  T.eq(c.build, build)
  T.eq(c.params.hidden, 8)
  T.ok(c.params ~= net.params, "params copied")
  T.raises(function() c:predict(Xs) end, "not fitted")
  net:fit(Xs, yi)
  local path = T.tmpname(".safetensors")
  net:save(path)
  local back = models.load(path)
  T.eq(back.__name, "models.NetClassifier")
  T.all_near(back:predict_proba(Xs), net:predict_proba(Xs), 0)
  T.raises(function() back:fit(Xs, yi) end, "needs build")
end)

T.test("NetRegressor: fits diabetes (one and two targets), save/load", function()
  local Xd, yd = H.dataset("diabetes")
  local Xds = prep.StandardScaler():fit_transform(Xd)
  local yz = (yd - yd:mean()) / yd:std()
  local reg = models.NetRegressor { build = build, epochs = 30, lr = 1e-2, random_state = 0 }:fit(Xds, yz)
  T.ok(reg:score(Xds, yz) > 0.4, "R² " .. reg:score(Xds, yz))
  T.eq(reg:predict(Xds):dim(), 1)
  local two = ml.stack({ yz, yz * 2 }, 2)
  local r2 = models.NetRegressor { build = build, epochs = 3, random_state = 0 }:fit(Xds, two)
  T.eq(r2:predict(Xds):size(2), 2)
  local path = T.tmpname(".safetensors")
  reg:save(path)
  T.all_near(models.load(path):predict(Xds), reg:predict(Xds), 0)
end)

T.test("NetClassifier: cross_val_score in workers equals the serial run", function()
  local net = models.NetClassifier { build = build, epochs = 10, lr = 1e-2, random_state = 0 }
  local a = models.cross_val_score(net, Xs, yi, { cv = 3, n_jobs = 2 })
  local b = models.cross_val_score(net, Xs, yi, { cv = 3, n_jobs = 1 })
  T.all_near(a, b, 0)
  T.ok(a:mean():item() > 0.8)
end)

T.test("NetClassifier: bad options and bad networks are clear errors", function()
  T.raises(function() models.NetClassifier { build = 3 } end, "build must be a function")
  T.raises(function() models.NetClassifier { optimizer = "adamm" } end, "did you mean 'adam'")
  T.raises(function() models.NetClassifier { epoch = 3 } end, "did you mean 'epochs'")
  T.raises(function() models.NetClassifier {}:fit(Xs, yi) end, "needs build")
  T.raises(function() models.NetClassifier { build = function() return 1 end }:fit(Xs, yi) end, "build must return an nn module")
  T.raises(function() models.NetClassifier { build = function() error("oops") end }:fit(Xs, yi) end, "models.NetClassifier:fit: build failed: ")
  local wrong = models.NetClassifier { build = function(_, d) return nn.Linear(d, 5) end, epochs = 1 }
  T.raises(function() wrong:fit(Xs, yi) wrong:predict(Xs) end, "expected [n, 3]")
  T.raises(function() models.NetClassifier { build = build }:fit(Xs, ml.zeros(150, { dtype = "int64" })) end, "at least two")
  T.raises(function() models.NetClassifier { build = build }:fit(Xs, ml.zeros(10, { dtype = "int64" })) end, "150 rows but y has 10")
end)
