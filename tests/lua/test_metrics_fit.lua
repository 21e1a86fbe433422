-- compile{metrics = {...}} with the scorer names: metrics that do not decompose over batches (F1,
-- precision, recall, AUC ...) are computed over the whole epoch's predictions, in fit, its validation
-- and evaluate; the log says which; the batch metrics (accuracy, mae, mse) keep their batch sums.
local S = dofile("tests/lua/fit_helpers.lua")
local nn, metrics = ml.nn, ml.metrics

-- A frozen model (lr = 0): the epoch's outputs are the model's outputs on the whole training set.
local function frozen(d_in, d_out, loss)
  local model = S.mlp(d_in, 8, d_out, 3)
  model:compile { optimizer = S.SGD(model:parameters(), { lr = 0 }), loss = loss or S.CrossEntropyLoss(),
    metrics = { "accuracy", "f1_macro", "roc_auc", "precision", "recall_weighted", "matthews_corrcoef" } }
  return model
end

-- mean of f1 over batches of bs rows (what averaging per batch would report)
local function mean_batch_f1(y, pred, bs)
  local s, k = 0, 0
  for lo = 1, y:size(1), bs do
    local len = math.min(bs, y:size(1) - lo + 1)
    s, k = s + metrics.f1_score(y:narrow(1, lo, len), pred:narrow(1, lo, len), { average = "macro", zero_division = 0 }), k + 1
  end
  return s / k
end

T.test("an epoch's F1 is f1_score over the whole epoch, not the mean of batch F1s", function()
  local x, y = S.blobs(96, 7)
  local model = frozen(2, 2)
  local write = S.capture()
  local h = model:fit(x, y, { epochs = 1, batch_size = 10, shuffle = false, verbose = 2, output = write })
  local pred = model:predict(x):argmax(2):reshape(-1)
  local whole = metrics.f1_score(y, pred, { average = "macro" })
  T.near(h.f1_macro[1], whole, 1e-12)
  T.ok(math.abs(mean_batch_f1(y, pred, 10) - whole) > 1e-4, "the case must tell the two apart")
  T.near(h.accuracy[1], metrics.accuracy_score(y, pred), 1e-6)
  local prob = ml.softmax(model:predict(x):to("float64"), 2):select(2, 2)
  T.near(h.roc_auc[1], metrics.roc_auc_score(y, prob), 1e-12)
  T.near(h.precision[1], metrics.precision_score(y, pred), 1e-12)
  T.near(h.recall_weighted[1], metrics.recall_score(y, pred, { average = "weighted" }), 1e-12)
  T.near(h.matthews_corrcoef[1], metrics.matthews_corrcoef(y, pred), 1e-12)
end)

T.test("the log says which metrics are computed over the whole epoch", function()
  local x, y = S.blobs(40, 2)
  local model = frozen(2, 2)
  local write, text = S.capture()
  model:fit(x, y, { epochs = 1, batch_size = 8, verbose = 2, output = write })
  local log = text()
  T.ok(log:find("f1_macro, roc_auc, precision, recall_weighted, matthews_corrcoef: computed over each epoch's whole predictions", 1, true), log)
  T.ok(log:find("f1_macro ", 1, true), log)
end)

T.test("validation and evaluate compute epoch metrics over the whole set", function()
  local x, y = S.blobs(80, 4)
  local xv, yv = S.blobs(50, 5)
  local model = frozen(2, 2)
  local h = model:fit(x, y, { epochs = 1, batch_size = 16, validation_data = { xv, yv }, verbose = 0 })
  local pv = model:predict(xv):argmax(2):reshape(-1)
  T.near(h.val_f1_macro[1], metrics.f1_score(yv, pv, { average = "macro" }), 1e-12)
  local r = model:evaluate(xv, yv, { batch_size = 7 })
  T.near(r.f1_macro, metrics.f1_score(yv, pv, { average = "macro" }), 1e-12)
  T.ok(tostring(r):find("f1_macro", 1, true))
end)

T.test("one logit per row with BCEWithLogitsLoss: sigmoid probabilities, label = logit > 0", function()
  local x, y = S.blobs(60, 8)
  local t = (y - 1):to("float32"):reshape(-1, 1)
  local model = S.mlp(2, 8, 1, 5)
  model:compile { optimizer = S.SGD(model:parameters(), { lr = 0 }), loss = S.BCEWithLogitsLoss(),
    metrics = { "f1", "roc_auc", "neg_log_loss" } }
  local h = model:fit(x, t, { epochs = 1, batch_size = 9, shuffle = false, verbose = 0 })
  local logit = model:predict(x):reshape(-1):to("float64")
  local y01 = (y - 1)
  T.near(h.f1[1], metrics.f1_score(y01, logit:gt(0):to("int64")), 1e-12)
  T.near(h.roc_auc[1], metrics.roc_auc_score(y01, logit:sigmoid()), 1e-12)
  T.near(h.neg_log_loss[1], -metrics.log_loss(y01, logit:sigmoid()), 1e-9)
end)

T.test("regression names in compile", function()
  local x, y = S.regression(64, 3)
  local model = S.mlp(3, 8, 1, 2)
  model:compile { optimizer = S.SGD(model:parameters(), { lr = 0 }), loss = S.MSELoss(), metrics = { "mse", "r2" } }
  local h = model:fit(x, y, { epochs = 1, batch_size = 10, verbose = 0 })
  local p = model:predict(x)
  T.near(h.r2[1], metrics.r2_score(y, p), 1e-9)
  T.near(h.mse[1], metrics.mean_squared_error(y, p), 1e-5)
end)

T.test("an unknown metric name suggests a scorer name", function()
  local model = S.mlp(2, 4, 2, 1)
  T.raises(function()
    model:compile { optimizer = S.SGD(model:parameters(), { lr = 0.1 }), loss = S.CrossEntropyLoss(), metrics = { "f1_macr" } }
  end, "did you mean 'f1_macro'?")
end)

T.test("epoch metrics make fit take the general path; batch metrics alone keep their sums", function()
  local x, y = S.blobs(40, 1)
  local model = S.mlp(2, 8, 2, 1)
  model:compile { optimizer = S.SGD(model:parameters(), { lr = 0.1 }), loss = S.CrossEntropyLoss(), metrics = { "f1_macro" } }
  local h = model:fit(x, y, { epochs = 2, batch_size = 8, verbose = 0 })
  T.eq(h.fused_steps, 0)
  T.eq(#h.f1_macro, 2)
  T.ok(metrics.sums("accuracy") ~= nil and metrics.canonical("acc") == "accuracy")
end)
