-- Tabular data end to end, on real data no one here made: scikit-learn's
-- breast-cancer CSV (Debian's python3-sklearn ships it). Reads the file,
-- profiles it, splits it (stratified), fits a ColumnTransformer pipeline on
-- the training rows only, trains a small network, reports test metrics,
-- saves the model with its pipeline in one file, and then, in a fresh
-- process, loads that file and predicts from raw rows.
--   moonlab examples/tabular.lua [epochs=60] [out=/tmp/cancer.safetensors]
local nn, optim, data, prep = ml.nn, ml.optim, ml.data, ml.prep
local epochs = ml.overrides.epochs or 60
local out = ml.overrides.out or ((os.getenv("TMPDIR") or "/tmp") .. "/cancer.safetensors")

-- The second stage, run in its own process below: raw rows in, classes out.
if ml.overrides.predict then
  local model = nn.load(ml.overrides.predict)
  local raw = data.read_csv(ml.overrides.rows)                    -- raw feature columns, as in the file
  local X = model.pipeline:transform(raw):float()                 -- the training-time transforms, exactly
  local classes = model:predict(X):argmax(2)                      -- 1 = malignant, 2 = benign
  local names = { "malignant", "benign" }
  for i = 1, raw.shape[1] do
    print(string.format("fresh process: row %d (mean radius %.2f) -> %s", i, raw:column("mean radius"):get(i),
      names[classes[i]]))
  end
  return
end

ml.seed(0)
local df, target_names = data.load_breast_cancer()
print(string.format("read %d rows x %d columns; targets %s", df.shape[1], df.shape[2], table.concat(target_names, "/")))
local profile = data.profile(df)
print(profile)

-- moonlab's classes are 1..K: target 0 (malignant) -> 1, 1 (benign) -> 2.
local labels = prep.LabelEncoder()
local y = labels:fit_transform(df.target)
local features = df:drop({ "target" })
local train_x, test_x, train_y, test_y = prep.train_test_split(features, y, { test_size = 0.25, stratify = y, seed = 0 })

local pipeline = prep.ColumnTransformer({
  { "num", prep.Pipeline{ prep.SimpleImputer{ strategy = "median" }, prep.StandardScaler() }, "number" },
}, { remainder = "drop" })
local Xtrain = pipeline:fit_transform(train_x):float()          -- fitted on the training rows only
local Xtest = pipeline:transform(test_x):float()

local model = nn.Sequential{ nn.Linear(Xtrain:size(2), 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 2) }
model:compile{ optimizer = optim.Adam(model:parameters(), { lr = 1e-3 }), loss = nn.CrossEntropyLoss(),
  metrics = { "accuracy" } }
model:fit(Xtrain, train_y, { epochs = epochs, batch_size = 32, verbose = 0 })

-- Test metrics, malignant (class 1) as the positive class.
local pred = model:predict(Xtest):argmax(2)
local pos_pred, pos_true = pred:eq(1), test_y:eq(1)
local tp = (pos_pred:long() * pos_true:long()):sum():item()
local precision = tp / math.max(1, pos_pred:long():sum():item())
local recall = tp / math.max(1, pos_true:long():sum():item())
local accuracy = pred:eq(test_y):double():mean():item()
print(string.format("test accuracy %.3f, malignant precision %.3f, recall %.3f (%d test rows)", accuracy, precision,
  recall, test_y:size(1)))

-- One file: the weights, the architecture and the fitted pipeline.
model:save(out, { pipeline = pipeline })
local rows = out:gsub("%.safetensors$", "") .. "_rows.csv"
test_x:head(3):write_csv(rows)
local exe = arg and arg[-1] or "moonlab"
local cmd = string.format("%s examples/tabular.lua predict=%s rows=%s", exe, out, rows)
local h = assert(io.popen(cmd .. " 2>&1"))
local fresh = h:read("a")
assert(h:close(), "the fresh process failed:\n" .. fresh)
io.write(fresh)
local here = model:predict(pipeline:transform(test_x:head(3)):float()):argmax(2)
print(string.format("in this process the same rows give %s", table.concat(here:tolist(), ", ")))
