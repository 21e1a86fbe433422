-- `moonlab eval` and `moonlab promote` as a CI pipeline runs them: exit codes, the metrics table and JSON
-- on real data (breast cancer against scikit-learn's numbers in tests/fixtures/deploy/reference.json,
-- a Fashion-MNIST test subset against ml.metrics), promote's decision both ways and its atomic copy.
local lfs = require "lfs"
local bundle = ml.serve.bundle
local BIN = T.BIN
local ref = ml.json.decode(T.read_file("tests/fixtures/deploy/reference.json"))

local function moonlab(...)
  local parts = { T.quote(BIN) }
  for _, a in ipairs({ ... }) do parts[#parts + 1] = T.quote(a) end
  return T.capture(table.concat(parts, " "))
end

local function cancer_frame()
  local df = ml.data.load_breast_cancer()
  local names = {}
  for _, n in ipairs(df._names) do if n ~= "target" then names[#names + 1] = n end end
  return df:select(names), df:column("target"), df
end

-- scikit-learn's make_pipeline(StandardScaler(), LogisticRegression()) on the whole set, as a bundle
local DIR = T.tmpdir()
local X, y, df = cancer_frame()
local CANCER = DIR .. "/cancer.safetensors"
bundle.save(CANCER, { model = ml.prep.Pipeline{ ml.prep.StandardScaler(), ml.models.LogisticRegression() }:fit(X, y),
  train = X, y = y, name = "cancer" })
-- a weak one: strong regularization
local WEAK = DIR .. "/weak.safetensors"
bundle.save(WEAK, { model = ml.prep.Pipeline{ ml.prep.StandardScaler(), ml.models.LogisticRegression{ C = 0.0005 } }:fit(X, y),
  name = "cancer" })

T.test("eval on breast cancer: scikit-learn's accuracy, f1_macro and roc_auc, a table and JSON", function()
  local out, err, code = moonlab("eval", CANCER, "breast_cancer", "--metric", "accuracy", "--metric", "f1_macro",
    "--metric", "roc_auc", "--json")
  T.eq(code, 0, err)
  local r = ml.json.decode(out)
  T.eq(r.n, 569) T.eq(r.ok, true) T.eq(r.name, "cancer")
  local want = ref.breast_cancer.scores
  T.near(r.metrics.accuracy, want.accuracy, 2 / 569)
  T.near(r.metrics.f1_macro, want.f1_macro, 3e-3)
  T.near(r.metrics.roc_auc, want.roc_auc, 1e-3)
  local text, err2, code2 = moonlab("eval", CANCER, "breast_cancer", "--metric", "accuracy", "--assert", ">=0.9")
  T.eq(code2, 0, err2)
  T.ok(text:find("accuracy%s+0%.98%d%d%s+>=0%.9 ok"), text)
  T.ok(text:find("569 rows"), text)
end)

T.test("eval --assert: a model below the bar exits 1 and says which metric and by how much", function()
  local out, err, code = moonlab("eval", WEAK, "breast_cancer", "--metric", "f1_macro", "--assert", ">=0.95",
    "--metric", "accuracy", "--assert", "accuracy>=0.5")
  T.eq(code, 1, out .. err)
  T.ok(err:find("FAILED f1_macro = 0%.8%d+, required >= 0%.95 %(short by 0%.1%d*"), err)
  T.ok(not err:find("FAILED accuracy"), err)
  T.ok(out:find("f1_macro%s+0%.8%d+%s+>=0%.95 FAILED"), out)
  local j = ml.json.decode((moonlab("eval", WEAK, "breast_cancer", "--assert", "accuracy>0.99", "--json")))
  T.eq(j.ok, false) T.eq(j.asserts[1].metric, "accuracy") T.eq(j.asserts[1].ok, false)
  -- a bare condition without --metric is on the model's default metric (accuracy for a classifier)
  local _, err3, code3 = moonlab("eval", CANCER, "breast_cancer", "--assert", ">=0.999")
  T.eq(code3, 1)
  T.ok(err3:find("FAILED accuracy = 0%.98"), err3)
end)

T.test("eval reads CSV files (--target), .npy pairs and builtin names; usage errors exit 2", function()
  local csv = DIR .. "/cancer.csv"
  local moved = df:select((function()
    local names = { "target" }
    for _, n in ipairs(X._names) do names[#names + 1] = n end
    return names
  end)()):with_column("label", df:column("target").values):select((function()
    local names = {}
    for _, n in ipairs(X._names) do names[#names + 1] = n end
    names[#names + 1] = "label"
    return names
  end)())
  moved:write_csv(csv)
  local out, err, code = moonlab("eval", CANCER, csv, "--target", "label", "--json")
  T.eq(code, 0, err)
  T.near(ml.json.decode(out).metrics.accuracy, ref.breast_cancer.scores.accuracy, 2 / 569)
  -- the last column is the target when no "target" column exists
  local out2, err2, code2 = moonlab("eval", CANCER, csv, "--json")
  T.eq(code2, 0, err2)
  T.eq(ml.json.decode(out2).metrics.accuracy, ml.json.decode(out).metrics.accuracy)
  -- .npy pairs on a model of rows
  local Xt = X:to_tensor("float32")
  local lr = ml.models.LogisticRegression():fit(Xt, y.values)
  local rows_model = DIR .. "/rows.safetensors"
  lr:save(rows_model)
  ml.save(DIR .. "/X.npy", Xt) ml.save(DIR .. "/y.npy", y.values)
  local out3, err3, code3 = moonlab("eval", rows_model, DIR .. "/X.npy," .. DIR .. "/y.npy", "--metric", "accuracy", "--json")
  T.eq(code3, 0, err3)
  T.near(ml.json.decode(out3).metrics.accuracy, lr:score(Xt, y.values), 1e-12)
  for _, case in ipairs({
    { { "eval", CANCER }, "expected MODEL and DATA" },
    { { "eval", CANCER, "breast_cancer", "--metric", "acuracy" }, "did you mean 'accuracy'" },
    { { "eval", CANCER, "breast_cancer", "--asert", ">=1" }, "unknown option '--asert'; did you mean '--assert'" },
    { { "eval", CANCER, "breast_cancer", "--assert", "about 0.9" }, "--assert 'about 0.9': expected a condition" },
    { { "eval", CANCER, "no_such_data" }, "neither a file nor a builtin data set" },
    { { "eval", CANCER, "iris" }, "the data does not fit the model: the frame lacks the field 'mean radius'" },
    { { "eval", DIR .. "/missing.safetensors", "iris" }, "bundle.load:" },
    { { "eval", CANCER, csv, "--target", "labl" }, "no column 'labl' (did you mean 'label'?)" },
  }) do
    local o, e, c = moonlab(table.unpack(case[1]))
    T.eq(c, 2, table.concat(case[1], " ") .. "\n" .. o .. e)
    T.ok(e:find(case[2], 1, true), e)
  end
end)

T.test("eval on a Fashion-MNIST test subset: images flattened for the MLP, ml.metrics' numbers", function()
  ml.seed(0)
  local train, test = ml.data.fashion_mnist()
  local n = 1500
  local net = ml.nn.Sequential{ ml.nn.Flatten(), ml.nn.Linear(784, 32), ml.nn.ReLU(), ml.nn.Linear(32, 10) }
  net:compile{ optimizer = ml.optim.Adam(net:parameters(), { lr = 3e-3 }), loss = ml.nn.CrossEntropyLoss() }
  net:fit(train.x:narrow(1, 1, n), train.y:narrow(1, 1, n), { epochs = 2, batch_size = 64, verbose = 0 })
  local path = DIR .. "/fashion.safetensors"
  bundle.save(path, { model = net, classes = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, name = "fashion" })
  local xs, ys = test.x:narrow(1, 1, 800), test.y:narrow(1, 1, 800)
  local pred = ml.argmax(net:predict(xs), 2)
  local acc = ml.metrics.accuracy_score(ys, pred)
  local f1 = ml.metrics.f1_score(ys, pred, { average = "macro" })
  local out, err, code = moonlab("eval", path, "fashion-mnist:test", "--limit", "800", "--metric", "accuracy",
    "--metric", "f1_macro", "--json", "--assert", "accuracy>=0.5")
  T.eq(code, 0, err)
  local r = ml.json.decode(out)
  T.eq(r.n, 800)
  T.near(r.metrics.accuracy, acc, 1e-12)
  T.near(r.metrics.f1_macro, f1, 1e-12)
  local _, err2, code2 = moonlab("eval", path, "fashion-mnist:test", "--limit", "800", "--assert", "accuracy>=0.99")
  T.eq(code2, 1)
  T.ok(err2:find("FAILED accuracy"), err2)
end)

T.test("promote: the first version, a better candidate, a worse one and a tie", function()
  local root = T.tmpdir()
  local over = root .. "/cancer"
  local out, err, code = moonlab("promote", WEAK, "--over", over, "--data", "breast_cancer", "--metric", "f1_macro")
  T.eq(code, 0, out .. err)
  T.ok(out:find("promoted: no version"), out)
  T.eq(T.read_file(over .. "/1/model.safetensors"), T.read_file(WEAK))
  out, err, code = moonlab("promote", CANCER, "--over", over, "--data", "breast_cancer", "--metric", "f1_macro")
  T.eq(code, 0, out .. err)
  T.ok(out:find("current%s+.-/1/model%.safetensors %(version 1%): f1_macro = 0%.8"), out)
  T.ok(out:find("promoted: the candidate beats the current version by 0%.1"), out)
  T.eq(T.read_file(over .. "/2/model.safetensors"), T.read_file(CANCER))
  -- the same model again: a tie is no win
  out, err, code = moonlab("promote", CANCER, "--over", over, "--data", "breast_cancer", "--metric", "f1_macro")
  T.eq(code, 1, out .. err)
  T.ok(out:find("not promoted: the candidate ties"), out)
  -- a worse one is not copied; the root directory finds the versions by the candidate's name
  out, err, code = moonlab("promote", WEAK, "--over", root, "--data", "breast_cancer", "--metric", "f1_macro")
  T.eq(code, 1, out .. err)
  T.ok(out:find("not promoted: the candidate trails the current version by 0%.1"), out)
  -- min-delta: a win smaller than it is no promotion; a negative one lets a near model through
  out, err, code = moonlab("promote", WEAK, "--over", over .. "/2/model.safetensors", "--data", "breast_cancer",
    "--metric", "f1_macro", "--min-delta", "-1")
  T.eq(code, 0, out .. err)
  local names = T.listdir(over)
  T.eq(table.concat(names, ","), "1,2,3") -- no temporary left behind
  T.eq(T.listdir(over .. "/3")[1], "model.safetensors")
  -- the promoted file is served as that version
  local b = bundle.load(over .. "/3/model.safetensors")
  T.eq(b.version, 3) T.eq(b.name, "cancer")
  local _, e2, c2 = moonlab("promote", CANCER, "--data", "breast_cancer")
  T.eq(c2, 2) T.ok(e2:find("--over DIR is required", 1, true), e2)
  local _, e3, c3 = moonlab("promote", CANCER, "--over", CANCER, "--data", "breast_cancer")
  T.eq(c3, 2) T.ok(e3:find("outside a versions directory", 1, true), e3)
end)

T.test("promote's copy is atomic: the version directory appears whole, hidden temporaries are no versions", function()
  local root = T.tmpdir()
  local over = root .. "/m"
  lfs.mkdir(over)
  lfs.mkdir(over .. "/1")
  T.write_file(over .. "/1/model.safetensors", T.read_file(WEAK))
  -- a hidden half-written directory of another promote is not a version and is left alone
  lfs.mkdir(over .. "/.2.tmp-1")
  local out, err, code = moonlab("promote", CANCER, "--over", over, "--data", "breast_cancer")
  T.eq(code, 0, out .. err)
  T.eq(T.read_file(over .. "/2/model.safetensors"), T.read_file(CANCER))
  T.eq(#T.listdir(over .. "/2"), 1)
  T.eq(table.concat(T.listdir(over), ","), ".2.tmp-1,1,2")
  T.eq(ml.serve.bundle.load(over .. "/2/model.safetensors").version, 2)
end)
