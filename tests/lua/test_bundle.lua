-- serve.bundle: bundles round-trip (network, estimator, pipeline + schema + named fields), their training
-- statistics equal the training data's (NumPy, tests/fixtures/deploy/reference.json from
-- scripts/gen_deploy_fixtures.py), rows() errors name the row and the field, plain files load as bundles.
local nn, prep, models, data = ml.nn, ml.prep, ml.models, ml.data
local bundle = ml.serve.bundle
local ref = ml.json.decode(T.read_file("tests/fixtures/deploy/reference.json"))

-- the breast-cancer frame split into features and the target column
local function cancer()
  local df = data.load_breast_cancer()
  local names = {}
  for _, n in ipairs(df._names) do if n ~= "target" then names[#names + 1] = n end end
  return df:select(names), df:column("target"), names
end

-- the error a bad row raises: a {status = 400, error = ...} table
local function bad_rows(b, rows)
  local ok, e = pcall(b.rows, b, rows)
  T.ok(not ok, "rows() accepted bad input")
  T.eq(type(e), "table")
  T.eq(e.status, 400)
  return e.error
end

local function small_net()
  ml.seed(3)
  local net = nn.Sequential{ nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3) }
  net:compile{ optimizer = ml.optim.Adam(net:parameters()), loss = nn.CrossEntropyLoss() }
  return net
end

T.test("a network bundle round-trips: outputs, classes as trained, statistics, metadata", function()
  local net = small_net()
  local X = ml.randn(30, 4)
  local y = {}
  for i = 1, 30 do y[i] = ({ "cat", "dog", "owl" })[i % 3 + 1] end
  local path = T.tmpname(".safetensors")
  bundle.save(path, { model = net, train = X, y = y, name = "pets", version = 4, metrics = { accuracy = 0.5 } })
  local b = bundle.load(path)
  T.eq(b.name, "pets") T.eq(b.version, 4) T.eq(b.kind, "classifier") T.eq(b.path, path)
  T.eq(b.input.kind, "rows") T.eq(b.input.features, 4)
  T.eq(table.concat(b.classes, ","), "cat,dog,owl")
  T.eq(b.metrics.accuracy, 0.5)
  T.all_near(b.stats.mean, X:to("float64"):mean(1):tolist(), 1e-9)
  T.all_near(b.stats.std, X:to("float64"):std(1, { unbiased = false }):tolist(), 1e-6)
  T.all_near(b.stats.class_freq, { 1 / 3, 1 / 3, 1 / 3 }, 1e-12)
  T.eq(b.stats.n, 30)
  local x = X:narrow(1, 1, 5)
  T.all_near(b:predict_tensor(x), net:predict(x), 1e-6)
  local want = ml.argmax(net:predict(x), 2):tolist()
  local got, P = b:predict(x, { proba = true })
  for i = 1, 5 do T.eq(got[i], b.classes[want[i]]) end
  T.all_near(P, ml.softmax(net:predict(x), 2):to("float64"), 1e-6)
  T.all_near(P:sum(2), ml.ones(5, { dtype = "float64" }), 1e-9)
  local sig = b:signature()
  T.eq(sig.name, "pets") T.eq(sig.version, 4) T.eq(sig.kind, "classifier") T.eq(sig.input.features, 4)
  T.eq(sig.outputs.kind, "labels")
  T.ok(ml.json.encode(sig):find('"classes":%["cat","dog","owl"%]'))
  -- the file is still a model file: nn.load reads it
  T.all_near(nn.load(path):predict(x), net:predict(x), 1e-6)
end)

T.test("plain files load as bundles: model:save, est:save, a fitted Pipeline", function()
  local net = small_net()
  local p1 = T.tmpname(".safetensors")
  net:save(p1)
  local b = bundle.load(p1)
  T.eq(b.kind, "classifier") T.eq(b.input.features, 4) T.eq(table.concat(b.classes, ","), "1,2,3")
  T.eq(b.version, 1)
  local X, y = cancer()
  local lr = models.LogisticRegression():fit(prep.StandardScaler():fit_transform(X), y)
  local p2 = T.tmpname(".safetensors")
  lr:save(p2)
  local be = bundle.load(p2)
  T.eq(be.kind, "classifier") T.eq(be.input.features, 30) T.eq(table.concat(be.classes, ","), "0,1")
  local pipe = prep.Pipeline{ prep.StandardScaler(), models.LogisticRegression() }:fit(X, y)
  local p3 = T.tmpname(".safetensors")
  pipe:save(p3)
  local bp = bundle.load(p3)
  T.eq(bp.input.kind, "fields") T.eq(#bp.input.fields, 30) T.eq(bp.input.fields[1].name, "mean radius")
  local labels = bp:predict(X:head(20))
  local want = pipe:predict(X:head(20)):tolist()
  for i = 1, 20 do T.eq(labels[i], want[i]) end
  local ridge = models.Ridge():fit(ml.randn(20, 3), ml.randn(20))
  local p4 = T.tmpname(".safetensors")
  ridge:save(p4)
  local br = bundle.load(p4)
  T.eq(br.kind, "regressor") T.eq(br.classes, nil)
  local v = br:predict({ { 1, 2, 3 } })
  T.near(v[1], ridge:predict(ml.tensor({ { 1, 2, 3 } })):item(), 1e-9)
  T.raises(function() bundle.load(T.tmpname(".safetensors")) end, "bundle.load:")
  local plain = T.tmpname(".safetensors")
  ml.save(plain, { w = ml.ones(2) })
  T.raises(function() bundle.load(plain) end, "is not a moonlab model file")
end)

T.test("an estimator bundle with a pipeline and schema: named fields in, statistics equal NumPy's", function()
  local X, y = cancer()
  local scaler = prep.StandardScaler():fit(X)
  local lr = models.LogisticRegression():fit(scaler:transform(X), y)
  local path = T.tmpname(".safetensors")
  bundle.save(path, { model = lr, pipeline = scaler, schema = data.schema_of(X), train = X, y = y, name = "cancer" })
  local b = bundle.load(path)
  T.eq(b.input.kind, "fields")
  -- statistics of the MODEL's input (after the scaler): mean 0, std 1; the raw statistics are NumPy's
  T.all_near(b.stats.mean, ml.zeros(30, { dtype = "float64" }):tolist(), 1e-9)
  T.all_near(b.stats.std, ml.ones(30, { dtype = "float64" }):tolist(), 1e-9)
  T.all_near(b.stats.class_freq, ref.breast_cancer.class_freq, 1e-12)
  T.eq(b.stats.n, ref.breast_cancer.n)
  local raw = bundle.load((function()
    local p = T.tmpname(".safetensors")
    bundle.save(p, { model = prep.Pipeline{ prep.StandardScaler(), models.LogisticRegression() }:fit(X, y), train = X, y = y })
    return p
  end)())
  T.eq(raw.input.kind, "fields")
  T.all_near(raw.stats.mean, b.stats.mean, 1e-12) -- the final estimator's input
  local plain_path = T.tmpname(".safetensors")
  bundle.save(plain_path, { model = models.LogisticRegression():fit(X, y), train = X, y = y })
  local plain = bundle.load(plain_path)
  T.all_near(plain.stats.mean, ref.breast_cancer.mean, 1e-9)
  T.all_near(plain.stats.std, ref.breast_cancer.std, 1e-9)
  T.eq(plain.stats.features[1], "mean radius")
  -- named fields through the pipeline give the estimator's answers
  local rows = {}
  local first = X:head(3)
  for i = 1, 3 do
    local r = {}
    for _, name in ipairs(first._names) do r[name] = first:column(name):get(i) end
    rows[i] = r
  end
  local labels, P = b:predict(rows, { proba = true })
  local want = lr:predict(scaler:transform(first)):tolist()
  for i = 1, 3 do T.eq(labels[i], want[i]) end
  T.all_near(P, lr:predict_proba(scaler:transform(first)), 1e-9)
  T.all_near(b:predict_tensor(b:rows(rows)), P, 1e-12)
  -- bad rows: 400 errors naming the row and the field
  local bad = {}
  for i = 1, 3 do
    local r = {}
    for k, v in pairs(rows[i]) do r[k] = v end
    bad[i] = r
  end
  bad[3]["mean radius"] = "x"
  T.eq(bad_rows(b, bad), "row 3: field 'mean radius': expected a number, got \"x\"")
  bad[3]["mean radius"] = nil
  T.ok(bad_rows(b, bad):find("^row 3: field 'mean radius' is missing"))
  bad[3]["mean radius"] = 10
  bad[2]["mean radus"] = 1
  T.eq(bad_rows(b, bad), "row 2: unknown field 'mean radus' (did you mean 'mean radius'?)")
  T.eq(bad_rows(b, {}), "expected at least one row, got an empty batch")
  T.ok(bad_rows(b, { 5 }):find("^row 1: expected an object of named fields"))
  T.ok(bad_rows(b, { { 1, 2, 3 } }):find("^row 1: expected an object of named fields"))
  T.ok(tostring(select(2, pcall(b.rows, b, {}))):find("^bundle:rows: expected at least one row"))
end)

T.test("categorical fields: values unseen in training and wrong types are 400s", function()
  local df = data.DataFrame{ age = { 30, 40, 50, 60, 35, 45 }, city = { "a", "b", "a", "b", "a", "b" } }
  local y = { 0, 1, 0, 1, 0, 1 }
  local pre = prep.ColumnTransformer{ { "num", prep.StandardScaler(), { "age" } }, { "cat", prep.OneHotEncoder(), { "city" } } }
  local pipe = prep.Pipeline{ { "pre", pre }, { "clf", models.LogisticRegression() } }:fit(df, y)
  local path = T.tmpname(".safetensors")
  bundle.save(path, { model = pipe, train = df, y = y, name = "city" })
  local b = bundle.load(path)
  T.eq(b.input.kind, "fields")
  T.eq(b.input.fields[1].name, "age") T.eq(b.input.fields[2].type, "string")
  T.eq(table.concat(b.stats.features, ","), "num__age,cat__city_a,cat__city_b")
  local got = b:predict({ { age = 33, city = "a" }, { age = 61, city = "b" } })
  local want = pipe:predict(data.DataFrame{ age = { 33, 61 }, city = { "a", "b" } }):tolist()
  T.eq(got[1], want[1]) T.eq(got[2], want[2])
  T.eq(bad_rows(b, { { age = 33, city = "a" }, { age = 1, city = "z" } }),
    "row 2: field 'city': 'z' is not one of the values seen in training {a, b}")
  T.eq(bad_rows(b, { { age = 33, city = 5 } }), "row 1: field 'city': expected a string, got 5")
  T.eq(bad_rows(b, { { age = 33.5, city = "a" } }), "row 1: field 'age': expected an integer, got 33.5")
end)

T.test("rows of numbers: width, types and NaN named by row and value", function()
  local net = small_net()
  local path = T.tmpname(".safetensors")
  bundle.save(path, { model = net, classes = { 10, 20, 30 } })
  local b = bundle.load(path)
  T.eq(bad_rows(b, { { 1, 2, 3, 4 }, { 1, 2, 3 } }), "row 2: expected 4 values, got 3")
  T.eq(bad_rows(b, { { 1, 2, 3, 4 }, { 1, 2, "x", 4 } }), "row 2: value 3: expected a number, got \"x\"")
  T.eq(bad_rows(b, { { 1, 2, 3, 4 }, "no" }), "row 2: expected a list of 4 numbers, got \"no\"")
  T.eq(bad_rows(b, { { 1, 2, 3, 4 }, { 1, 0 / 0, 3, 4 } }), "row 2: value 2 is NaN")
  T.eq(bad_rows(b, ml.zeros(2, 5)), "expected 4 values per row, got 5")
  T.eq(bad_rows(b, ml.zeros(0, 4)), "expected at least one row, got an empty batch")
  local X = b:rows({ { 1, 2, 3, 4 } })
  T.eq(X:dtype(), "float32") T.eq(X:size(2), 4)
  local labels = b:predict(X)
  T.ok(labels[1] == 10 or labels[1] == 20 or labels[1] == 30)
end)

T.test("bundle.save checks its options", function()
  local net = small_net()
  T.raises(function() bundle.save(T.tmpname(".safetensors"), { model = net, clases = { 1 } }) end,
    "unknown option 'clases'")
  T.raises(function() bundle.save(T.tmpname(".safetensors"), {}) end, "bundle.save: option 'model' is required")
  T.raises(function() bundle.save(T.tmpname(".safetensors"), { model = 5 }) end, "bundle.save: model must be")
  T.raises(function() bundle.save(T.tmpname(".safetensors"), { model = models.Ridge() }) end, "not fitted")
  T.raises(function() bundle.save(T.tmpname(".safetensors"), { model = net, version = 0 }) end, "bundle.save:")
  local sc = prep.StandardScaler():fit(ml.randn(10, 4))
  local pipe = prep.Pipeline{ prep.StandardScaler(), models.Ridge() }:fit(ml.randn(10, 4), ml.randn(10))
  T.raises(function() bundle.save(T.tmpname(".safetensors"), { model = pipe, pipeline = sc }) end, "give no second pipeline")
  T.raises(function() bundle.save(T.tmpname(".safetensors"), { model = net, pipeline = 3 }) end,
    "bundle.save: pipeline must be a fitted prep transformer")
end)

T.test("a file in a versions directory is that name and version", function()
  local dir = T.tmpdir()
  local lfs = require "lfs"
  lfs.mkdir(dir .. "/fashion") lfs.mkdir(dir .. "/fashion/7")
  local path = dir .. "/fashion/7/model.safetensors"
  bundle.save(path, { model = small_net(), name = "other", version = 1 })
  local b = bundle.load(path)
  T.eq(b.name, "fashion") T.eq(b.version, 7)
  T.eq(ml.serve.bundle, bundle)
end)

T.test("a network that does not start with a Linear (a CNN reshaping rows) takes the training rows' width", function()
  ml.seed(0)
  local net = nn.Sequential { nn.Reshape(1, 4, 4), nn.Conv2d(1, 2, 3, { padding = "same" }), nn.ReLU(), nn.Flatten(),
    nn.Linear(32, 3) }
  local X, y = ml.randn(12, 16), ml.tensor({ 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3 })
  local path = T.tmpdir() .. "/cnn.safetensors"
  bundle.save(path, { model = net, train = X, y = y, name = "cnn", version = 1 })
  local b = bundle.load(path)
  T.eq(b.input.features, 16)
  local preds = b:predict(X:narrow(1, 1, 2))
  T.eq(#preds, 2)
end)
