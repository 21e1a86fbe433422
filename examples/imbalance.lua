-- Five ways to train on imbalanced data, on the same real data and the same
-- classifier: no rebalancing, class weights, random oversampling, SMOTE and
-- the GAN oversampler (prep.GANOversampler), compared by the minority class's
-- recall and F1 and by balanced accuracy on an untouched test set.
--
-- The data: scikit-learn's breast-cancer set (Debian's python3-sklearn),
-- malignant (the class that matters, and the one a model misses) against
-- benign. It is split 75/25, stratified; in the TRAINING split only, the
-- malignant rows are subsampled to one per ten benign (1:10, 26 rows), the
-- rare-positive case the samplers are for. The test split keeps its natural
-- ratio (53 malignant, 90 benign), so every strategy is judged on the same
-- real rows. Features are standardized on the training rows first (SMOTE's
-- neighbours need comparable scales), then each strategy rebalances them.
-- The classifier: a small MLP 30 -> 16 -> 2 with Adam through model:fit, the
-- same seed per strategy; the table averages `seeds` seeds (the classifier's
-- initialization and the samplers' draws), mean and standard deviation.
--   moonlab examples/imbalance.lua [seeds=5] [epochs=40] [gan_epochs=2000] [ratio=10]
local nn, optim, data, prep = ml.nn, ml.optim, ml.data, ml.prep
local seeds = ml.overrides.seeds or 5
local epochs = ml.overrides.epochs or 40
local gan_epochs = ml.overrides.gan_epochs or 2000
local ratio = ml.overrides.ratio or 10

-- ---- data: a stratified split, then 1:ratio malignant rows in the training part ----
local df = data.load_breast_cancer()
local y = prep.LabelEncoder():fit_transform(df.target) -- target 0 (malignant) -> 1, 1 (benign) -> 2
local MALIGNANT = 1
local X = df:drop({ "target" }):to_tensor(nil, "float64")
local Xtr, Xte, ytr, yte = prep.train_test_split(X, y, { test_size = 0.25, stratify = y, seed = 0 })

local rows = ml.arange(1, ytr:numel() + 1)
local mal, ben = rows:masked_select(ytr:eq(MALIGNANT)), rows:masked_select(ytr:ne(MALIGNANT))
ml.seed(0)
local keep = mal:index_select(1, ml.randperm(mal:numel()):narrow(1, 1, math.max(6, ben:numel() // ratio)))
local idx = ml.cat({ ben, keep }, 1)
Xtr, ytr = Xtr:index_select(1, idx), ytr:index_select(1, idx)

local scaler = prep.StandardScaler()
Xtr, Xte = scaler:fit_transform(Xtr), scaler:transform(Xte)
print(string.format("breast cancer: train %d rows (%d malignant, 1:%.0f), test %d rows (%d malignant, untouched)",
  ytr:numel(), ytr:eq(MALIGNANT):sum():item(), ben:numel() / keep:numel(), yte:numel(), yte:eq(MALIGNANT):sum():item()))

-- ---- the metrics, malignant as the positive class ----
local metrics = ml.metrics
local function scores(y_true, y_pred, pos)
  return {
    recall = metrics.recall_score(y_true, y_pred, { pos_label = pos }),
    f1 = metrics.f1_score(y_true, y_pred, { pos_label = pos }),
    balanced_accuracy = metrics.balanced_accuracy_score(y_true, y_pred),
  }
end

-- ---- the strategies: each returns the training rows to fit and the fit options ----
local strategies = {
  { "none", function(X0, y0) return X0, y0, {} end },
  { "class weights", function(X0, y0) return X0, y0, { class_weight = "balanced" } end },
  { "random oversampling", function(X0, y0, seed) return prep.RandomOverSampler{ seed = seed }:fit_resample(X0, y0) end },
  { "SMOTE", function(X0, y0, seed) return prep.SMOTE{ seed = seed }:fit_resample(X0, y0) end },
  { "GAN oversampler", function(X0, y0, seed)
    return prep.GANOversampler{ epochs = gan_epochs, seed = seed }:fit_resample(X0, y0) end },
}

local function run(strategy, seed)
  local Xs, ys, fit_opts = strategy(Xtr, ytr, seed)
  fit_opts = fit_opts or {}
  ml.seed(seed)
  local model = nn.Sequential { nn.Linear(Xs:size(2), 16), nn.ReLU(), nn.Linear(16, 2) }
  model:compile { optimizer = optim.Adam(model:parameters(), { lr = 1e-3 }), loss = nn.CrossEntropyLoss() }
  fit_opts.epochs, fit_opts.batch_size, fit_opts.verbose, fit_opts.seed = epochs, 32, 0, seed
  model:fit(Xs:float(), ys, fit_opts)
  return scores(yte, model:predict(Xte:float()):argmax(2), MALIGNANT), ys:numel()
end

local function mean_sd(v)
  local m, s = 0, 0
  for _, x in ipairs(v) do m = m + x / #v end
  for _, x in ipairs(v) do s = s + (x - m) ^ 2 end
  return m, #v > 1 and math.sqrt(s / (#v - 1)) or 0
end

local t0 = ml.now()
print(string.format("\nMLP 30-16-2, Adam 1e-3, %d epochs, batch 32; mean (sd) over %d seed%s; malignant = positive",
  epochs, seeds, seeds > 1 and "s" or ""))
print(string.format("%-20s %6s  %-15s %-15s %-17s %6s", "strategy", "rows", "recall", "F1", "balanced acc", "time s"))
for _, s in ipairs(strategies) do
  local name, strategy = s[1], s[2]
  local got, n, t1 = { recall = {}, f1 = {}, balanced_accuracy = {} }, 0, ml.now()
  for seed = 1, seeds do
    local r
    r, n = run(strategy, seed)
    for k, v in pairs(r) do table.insert(got[k], v) end
  end
  local cells = {}
  for _, k in ipairs({ "recall", "f1", "balanced_accuracy" }) do
    cells[#cells + 1] = string.format("%.3f (%.3f)", mean_sd(got[k]))
  end
  print(string.format("%-20s %6d  %-15s %-15s %-17s %6.1f", name, n, cells[1], cells[2], cells[3], ml.now() - t1))
end
print(string.format("(%.0f s in all)", ml.now() - t0))
