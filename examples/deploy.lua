-- Deployment end to end: train two models, save each as a bundle (the model, its fitted
-- preprocessing, the schema and statistics of its training data), gate them with
-- `moonlab eval --assert`, and promote them into a versions directory that
-- `moonlab serve models/` serves.
--   moonlab examples/deploy.lua [epochs=3] [limit=N training images] [out=DIR] [gate=0.80]
-- 1. a Fashion-MNIST MLP (784-256-10), its class names as labels;
-- 2. a breast-cancer classifier on the raw named columns: a prep.Pipeline
--    (median imputer, standard scaler, logistic regression) fitted on the frame,
--    so the server takes rows like {"mean radius": 14.1, ...} and answers "benign".
local nn, optim, data, prep, models = ml.nn, ml.optim, ml.data, ml.prep, ml.models
local bundle, cli = ml.serve.bundle, require "moonlab.cli"
local lfs = require "lfs"
local epochs = ml.overrides.epochs or 3
local limit = ml.overrides.limit
local gate = ml.overrides.gate or 0.80
local out = ml.overrides.out or ((os.getenv("TMPDIR") or "/tmp") .. "/moonlab_deploy")
lfs.mkdir(out)
ml.seed(0)

-- 1. Fashion-MNIST
local train, test = data.fashion_mnist()
if limit then train = { x = train.x:narrow(1, 1, limit), y = train.y:narrow(1, 1, limit), classes = train.classes } end
local net = nn.Sequential{ nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10) }
net:compile{ optimizer = optim.Adam(net:parameters(), { lr = 2e-3 }), loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
net:fit(train.x, train.y, { epochs = epochs, batch_size = 128, verbose = 0 })
local acc = net:evaluate(test.x, test.y).accuracy
local fashion_path = out .. "/fashion.safetensors"
-- classes: the label values outputs 1..10 stand for, here the data set's own 1..10 (so `moonlab eval` compares
-- them with fashion-mnist:test's labels; train.classes would make the server answer "Sneaker" instead)
bundle.save(fashion_path, { model = net, train = train.x, y = train.y, classes = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 },
  name = "fashion", metrics = { accuracy = acc } })
local b = bundle.load(fashion_path)
print(string.format("saved %s: %s, input %d features, test accuracy %.4f", fashion_path, b.kind, b.input.features, acc))

-- 2. breast cancer from named columns
local df = data.load_breast_cancer()
local features = {}
for _, n in ipairs(df._names) do if n ~= "target" then features[#features + 1] = n end end
local X, y = df:select(features), df:column("target").values
local X_train, X_test, y_train, y_test = prep.train_test_split(X, y, { test_size = 0.25, seed = 0 })
local pipe = prep.Pipeline{ prep.SimpleImputer{ strategy = "median" }, prep.StandardScaler(), models.LogisticRegression() }
pipe:fit(X_train, y_train)
local cancer_path = out .. "/cancer.safetensors"
bundle.save(cancer_path, { model = pipe, train = X_train, y = y_train, name = "cancer",
  metrics = { accuracy = pipe:score(X_test, y_test) } })
local bc = bundle.load(cancer_path)
local row = {}
for _, name in ipairs(features) do row[name] = X_test:column(name):get(1) end
local label, proba = bc:predict({ row }, { proba = true })
print(string.format("saved %s: %d named fields; first test row -> %s (p = %.3f)", cancer_path, #bc.input.fields,
  tostring(label[1]), proba[1][label[1] + 1]))
local ok, err = pcall(bc.rows, bc, { { ["mean radius"] = "big" } })
print("a bad row is refused: " .. tostring(err.error or err))

-- 3. the CI gate: exit status 0 when the model reaches the bar, 1 when it falls short
local status = cli.main("eval", { fashion_path, "fashion-mnist:test", "--metric", "accuracy", "--metric", "f1_macro",
  "--assert", "accuracy>=" .. gate })
print("moonlab eval fashion: exit " .. status)
local status2 = cli.main("eval", { cancer_path, "breast_cancer", "--metric", "f1_macro", "--assert", ">=0.9" })
print("moonlab eval cancer: exit " .. status2)

-- 4. promotion into the versions directory the server watches (models/NAME/N/model.safetensors)
local versions = out .. "/models"
lfs.mkdir(versions)
local p = cli.main("promote", { cancer_path, "--over", versions .. "/cancer", "--data", "breast_cancer", "--metric", "f1_macro" })
print(string.format("moonlab promote cancer: exit %d; serve it with: moonlab serve %s", p, versions))
