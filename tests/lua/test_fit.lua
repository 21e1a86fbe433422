-- model:compile / fit / evaluate / predict on tiny data sets (2-class blobs, a linear regression).
local S = dofile("tests/lua/fit_helpers.lua")
local nn = ml.nn

local function classifier(seed, lr, extra)
  local m = S.mlp(2, 8, 2, seed or 0)
  m:compile{ optimizer = S.SGD(m:parameters(), { lr = lr or 0.1, momentum = 0.9 }), loss = S.CrossEntropyLoss(),
    metrics = extra or { "accuracy" } }
  return m
end

local function same_weights(a, b)
  local sa, sb = a:state_dict(), b:state_dict()
  for k, t in pairs(sa) do
    if not sb[k] or not t:equal(sb[k]) then return false, k end
  end
  return true
end

local X, Y = S.blobs(200, 1)
local format_shape = require("moonlab.core.format").shape

T.test("fit returns the history of every epoch", function()
  local m = classifier()
  local h = m:fit(X, Y, { epochs = 4, batch_size = 32, validation_split = 0.2, verbose = 0 })
  T.eq(h.epochs, 4)
  T.eq(h.stopped_early, false)
  T.eq(h.interrupted, false)
  for _, k in ipairs({ "loss", "accuracy", "val_loss", "val_accuracy", "lr" }) do
    T.eq(#h[k], 4, k)
  end
  T.ok(h.loss[4] < h.loss[1], "the loss falls")
  T.ok(h.val_accuracy[4] > 0.8, "it learns the blobs")
  T.eq(h.lr[1], 0.1)
  T.eq(h.validation, "random 20% split (seed 0), 40 samples")
  T.eq(rawget(m, "training"), true)
end)

T.test("history without validation has no val_ entries", function()
  local m = classifier()
  local h = m:fit(X, Y, { epochs = 2, verbose = 0 })
  T.eq(h.val_loss, nil)
  T.eq(#h.loss, 2)
end)

T.test("the log says once which validation split was used, then one line per epoch", function()
  local m = classifier()
  local w, text = S.capture()
  m:fit(X, Y, { epochs = 3, validation_split = 0.1, output = w })
  local log = text()
  local _, n = log:gsub("validation: ", "")
  T.eq(n, 1)
  T.ok(log:find("validation: random 10% split (seed 0), 20 samples\n", 1, true), log)
  T.ok(log:find("epoch 3/3 %- %d+%.%ds %- loss %d%.%d+ %- accuracy %d%.%d+ %- val_loss %d%.%d+ %- val_accuracy %d%.%d+\n"), log)
  T.ok(not log:find("\r", 1, true), "no bar when the output is not a terminal")
  w, text = S.capture()
  m:fit(X, Y, { epochs = 1, validation_split = 0.25, validation_split_mode = "last", output = w })
  T.ok(text():find("validation: last 25% split (the last rows), 50 samples", 1, true), text())
  w, text = S.capture()
  m:fit(X, Y, { epochs = 1, validation_data = { X, Y }, output = w })
  T.ok(text():find("validation: validation_data, 200 samples", 1, true), text())
  w, text = S.capture()
  m:fit(X, Y, { epochs = 1, verbose = 0, output = w })
  T.eq(text(), "")
end)

T.test("the progress bar redraws with \\r and reports samples/s", function()
  local m = classifier()
  local w, text = S.capture()
  m:fit(X, Y, { epochs = 2, batch_size = 16, output = w, callbacks = { ml.callbacks.ProgressBar{ mode = "bar" } } })
  local log = text()
  T.ok(log:find("\repoch 1/2 1/13 [=>...", 1, true), log)
  T.ok(log:find("samples/s", 1, true), log)
  T.ok(log:find("\repoch 2/2 13/13 [====================] - ", 1, true), log)
  T.eq(select(2, log:gsub("\n", "")), 2, "one finished line per epoch")
end)

T.test("validation_split 'last' is the same as validation_data of the last rows", function()
  local a = classifier(3)
  local ha = a:fit(X, Y, { epochs = 3, batch_size = 16, validation_split = 0.25, validation_split_mode = "last", verbose = 0 })
  local b = classifier(3)
  local hb = b:fit(X:narrow(1, 1, 150), Y:narrow(1, 1, 150), { epochs = 3, batch_size = 16, verbose = 0,
    validation_data = { X:narrow(1, 151, 50), Y:narrow(1, 151, 50) } })
  for i = 1, 3 do
    T.eq(ha.loss[i], hb.loss[i])
    T.eq(ha.val_loss[i], hb.val_loss[i])
  end
  T.ok(same_weights(a, b))
end)

T.test("random and stratified splits are seeded; stratified keeps the class balance", function()
  -- unbalanced labels: 150 of class 1, 50 of class 2, in order
  local y = ml.cat({ ml.full({ 150 }, 1), ml.full({ 50 }, 2) }, 1)
  local x = ml.randn(200, 2)
  local h1 = classifier():fit(x, y, { epochs = 1, validation_split = 0.2, seed = 1, verbose = 0 })
  local h1b = classifier():fit(x, y, { epochs = 1, validation_split = 0.2, seed = 1, verbose = 0 })
  local h2 = classifier():fit(x, y, { epochs = 1, validation_split = 0.2, seed = 2, verbose = 0 })
  T.eq(h1.val_loss[1], h1b.val_loss[1])
  T.ok(h1.val_loss[1] ~= h2.val_loss[1], "another seed, another split")
  -- stratified: a model that always says class 1 scores exactly the class-1 share of the validation rows
  local Const = nn.Module:extend("FitTestConst")
  function Const:init() self.b = ml.zeros(2):requires_grad() end
  function Const:forward(xx) return ml.zeros(xx:shape()[1], 2) + ml.tensor({ 1.0, 0.0 }) + self.b * 0 end
  local c = Const()
  c:compile{ optimizer = S.SGD(c:parameters(), { lr = 0 }), loss = S.CrossEntropyLoss(), metrics = { "accuracy" } }
  local hs = c:fit(x, y, { epochs = 1, validation_split = 0.2, validation_split_mode = "stratified", verbose = 0 })
  T.eq(hs.val_accuracy[1], 0.75)
  T.eq(hs.validation, "stratified 20% split (seed 0), 40 samples")
end)

T.test("class_weight weighs each row's loss (weighted mean)", function()
  local m = classifier(5, 0) -- lr 0: the weights stay, so the epoch loss is the loss of the start weights
  local cw = { [1] = 1.0, [2] = 3.0 }
  local h = m:fit(X, Y, { epochs = 1, batch_size = 200, shuffle = false, class_weight = cw, verbose = 0 })
  local crit = S.CrossEntropyLoss({ reduction = "none" })
  local l = ml.no_grad(function() return crit(m(X), Y) end)
  local w = ml.tensor({ 1.0, 3.0 }):index_select(1, Y)
  T.near(h.loss[1], ((l * w):sum() / w:sum()):item(), 1e-6)
  T.eq(m._compiled.loss.reduction, "mean", "the loss's reduction is put back")
  T.raises(function() m:fit(X, Y, { class_weight = { [1.5] = 2 }, verbose = 0 }) end, "class_weight keys must be integer")
  local f = S.mlp(2, 4, 2)
  f:compile{ optimizer = S.SGD(f:parameters()), loss = function(o, t) return S.CrossEntropyLoss()(o, t) end }
  T.raises(function() f:fit(X, Y, { class_weight = cw, verbose = 0 }) end, "class_weight needs a loss with a 'reduction' field")
end)

T.test("a NaN loss stops training and names the epoch and batch", function()
  local m = S.mlp(2, 4, 2)
  local calls = 0
  local ce = S.CrossEntropyLoss()
  m:compile{ optimizer = S.SGD(m:parameters(), { lr = 0.1 }), loss = function(o, t)
    calls = calls + 1
    local l = ce(o, t)
    if calls == 7 + 3 then return l / 0 * 0 end -- epoch 2 (7 batches of 32 in 200 rows), batch 3
    return l
  end }
  local w, text = S.capture()
  local before
  local h = m:fit(X, Y, { epochs = 5, batch_size = 32, output = w, callbacks = {
    { on_batch_end = function(b) if calls == 9 then before = m:state_dict()["1.weight"]:clone() end end } } })
  T.ok(text():find("fit: loss became nan at epoch 2, batch 3; lower the learning rate or check the data", 1, true), text())
  T.eq(h.stop_reason, "nan")
  T.eq(h.stopped_early, true)
  T.eq(h.epochs, 1, "the cut epoch is not in the history")
  T.ok(m:state_dict()["1.weight"]:equal(before), "the NaN step is not applied")
end)

T.test("Ctrl-C ends the epoch at the next batch and returns the history so far", function()
  local m = classifier()
  local done = 0
  local h = m:fit(X, Y, { epochs = 5, batch_size = 32, verbose = 0, callbacks = {
    { on_batch_end = function(b) if b == 3 and done == 2 then ml._train.sigint_set() end end,
      on_epoch_end = function() done = done + 1 end } } })
  T.eq(h.interrupted, true)
  T.eq(h.stop_reason, "interrupted")
  T.eq(h.epochs, 2)
  T.eq(#h.loss, 2)
  T.ok(h.message:find("fit: interrupted at epoch 3, batch 3/7", 1, true), h.message)
  T.eq(ml._train.sigint_pending(), false, "the flag goes with fit")
end)

T.test("a real SIGINT during fit is caught by fit's handler, which goes afterwards", function()
  local m = classifier()
  local h = m:fit(X, Y, { epochs = 3, batch_size = 32, verbose = 0, callbacks = {
    { on_batch_end = function(b) if b == 2 then ml._train.raise_sigint() end end } } })
  T.eq(h.interrupted, true)
  T.eq(h.epochs, 0)
  T.raises(function() ml._train.raise_sigint() end, "no fit is running")
end)

T.test("Ctrl-C keeps the best weights when EarlyStopping restores them", function()
  local m = classifier()
  local snaps = {}
  local stop_at = 3
  local h = m:fit(X, Y, { epochs = 6, batch_size = 32, verbose = 0, callbacks = {
    { adds_logs = { "score" }, on_epoch_end = function(e, logs)
        logs.score = ({ 0.5, 0.9, 0.7 })[e]
        snaps[e] = m:state_dict()["3.weight"]:clone()
      end,
      on_batch_end = function(b) if #snaps == stop_at and b == 4 then ml._train.sigint_set() end end },
    ml.callbacks.EarlyStopping{ monitor = "score", patience = 5, restore_best = true, verbose = false } } })
  T.eq(h.interrupted, true)
  T.ok(m:state_dict()["3.weight"]:equal(snaps[2]), "the weights of the best epoch (2) are back")
end)

T.test("same seed, bit-identical runs (with dropout and shuffling); another seed differs", function()
  local function run(seed)
    ml.seed(seed)
    local m = S.Sequential{ S.Linear(2, 16), S.ReLU(), S.Dropout(0.3), S.Linear(16, 2) }
    m:compile{ optimizer = S.SGD(m:parameters(), { lr = 0.05, momentum = 0.9 }), loss = S.CrossEntropyLoss(), metrics = { "accuracy" } }
    local h = m:fit(X, Y, { epochs = 3, batch_size = 16, validation_split = 0.2, verbose = 0 })
    return m, h
  end
  local a, ha = run(7)
  local b, hb = run(7)
  local c = run(8)
  T.ok(same_weights(a, b))
  for i = 1, 3 do T.eq(ha.loss[i], hb.loss[i]); T.eq(ha.val_accuracy[i], hb.val_accuracy[i]) end
  T.ok(not same_weights(a, c))
end)

T.test("fit leaves the global generator as the training alone leaves it", function()
  ml.seed(11)
  local m = classifier(11)
  ml.seed(12)
  m:fit(X, Y, { epochs = 2, validation_split = 0.3, verbose = 0 })
  T.eq(ml.random_state(), (function() ml.seed(12); return ml.random_state() end)(), "no dropout: nothing drawn from the stream")
end)

T.test("evaluate and predict: batched, eval mode, no graph", function()
  local m = classifier()
  m:fit(X, Y, { epochs = 2, verbose = 0 })
  local p1 = m:predict(X, { batch_size = 7 })
  local p2 = m:predict(X)
  T.eq(table.concat(p1:shape(), ","), "200,2")
  T.all_near(p1, p2, 1e-6)
  T.eq(p2:is_requires_grad(), false)
  local full = ml.no_grad(function() return m(X) end)
  T.all_near(p2, full, 1e-6)
  local r = m:evaluate(X, Y, { batch_size = 50 })
  local l = ml.no_grad(function() return S.CrossEntropyLoss()(m(X), Y) end):item()
  T.near(r.loss, l, 1e-5)
  local acc = full:argmax(2):eq(Y):sum():item() / 200
  T.near(r.accuracy, acc, 1e-12)
  T.ok(tostring(r):match("^loss %d%.%d%d%d%d %- accuracy %d%.%d%d%d%d$"), tostring(r))
  local d = S.Sequential{ S.Linear(2, 2), S.Dropout(0.9) }
  d:compile{ optimizer = S.SGD(d:parameters()), loss = S.CrossEntropyLoss() }
  T.all_near(d:predict(X), d:predict(X), 0) -- dropout is off in eval mode
  T.eq(rawget(d, "training"), true, "the training flag is put back")
end)

T.test("regression with MSE and the mae metric", function()
  local x, y = S.regression(200, 2)
  ml.seed(0)
  local m = S.Sequential{ S.Linear(3, 1) }
  m:compile{ optimizer = S.SGD(m:parameters(), { lr = 0.05 }), loss = S.MSELoss(), metrics = { "mae", rmse = function(o, t) return (o - t):pow(2):mean():sqrt() end } }
  local h = m:fit(x, y, { epochs = 30, batch_size = 20, verbose = 0 })
  T.ok(h.loss[30] < 0.02, "fits the line: " .. h.loss[30])
  T.ok(h.mae[30] < 0.12)
  T.ok(h.rmse[30] < 0.15)
  local r = m:evaluate(x, y)
  T.ok(r.mae ~= nil and r.rmse ~= nil)
end)

T.test("user callbacks stop training: 'stop' or model.stop_training", function()
  local m = classifier()
  local h = m:fit(X, Y, { epochs = 10, verbose = 0, callbacks = { { on_epoch_end = function(e) if e == 2 then return "stop" end end } } })
  T.eq(h.epochs, 2)
  T.eq(h.stopped_early, true)
  h = m:fit(X, Y, { epochs = 10, verbose = 0, callbacks = { { on_epoch_end = function(e) if e == 3 then m.stop_training = true end end } } })
  T.eq(h.epochs, 3)
  h = m:fit(X, Y, { epochs = 10, verbose = 0, callbacks = { { on_train_begin = function() return "stop" end } } })
  T.eq(h.epochs, 0)
  local batches = 0
  h = m:fit(X, Y, { epochs = 10, batch_size = 32, verbose = 0, callbacks = {
    { on_batch_end = function(b, logs) batches = batches + 1; T.ok(logs.loss > 0 and logs.size > 0); if batches == 10 then return "stop" end end } } })
  T.eq(h.epochs, 1, "stopped inside epoch 2: only epoch 1 is complete")
  T.eq(rawget(m, "stop_training"), nil)
end)

T.test("initial_epoch counts on: epochs is the last epoch's number", function()
  local m = classifier()
  local seen = {}
  local h = m:fit(X, Y, { epochs = 5, initial_epoch = 3, verbose = 0, callbacks = { { on_epoch_begin = function(e) seen[#seen + 1] = e end } } })
  T.eq(h.epochs, 2)
  T.eq(table.concat(seen, ","), "4,5")
end)

T.test("unknown options and bad input are clear errors", function()
  local m = classifier()
  T.raises(function() m:fit(X, Y, { epoch = 3 }) end, "fit: unknown option 'epoch' (known: batch_size, callbacks, class_weight, epochs,")
  T.raises(function() m:compile{ optimizer = S.SGD(m:parameters()), loss = S.MSELoss(), metric = {} } end, "compile: unknown option 'metric'")
  T.raises(function() m:evaluate(X, Y, { batchsize = 3 }) end, "evaluate: unknown option 'batchsize' (known: batch_size)")
  T.raises(function() m:predict(X, { bs = 3 }) end, "predict: unknown option 'bs'")
  T.raises(function() m:fit(X, Y:narrow(1, 1, 199)) end, "fit: X has 200 rows but y has 199 (they must match)")
  T.raises(function() m:fit(X, Y + 1, { verbose = 0 }) end, "fit: y has label 3, but the model has 2 outputs (labels 1..2)")
  T.raises(function() m:fit(X, Y - 1, { verbose = 0 }) end, "fit: y has label 0, but class labels are 1-based (1..2); add 1 to 0-based labels")
  T.raises(function() m:fit(X, Y, { verbose = 0, validation_data = { X, Y + 1 } }) end, "fit: y has label 3")
  T.raises(function() m:fit(X, Y, { validation_split = 1.5 }) end, "validation_split must be a fraction in (0, 1)")
  T.raises(function() m:fit(X, Y, { validation_split = 0.1, validation_data = { X, Y } }) end, "not both")
  T.raises(function() m:fit(X, Y, { validation_split = 0.1, validation_split_mode = "first" }) end, "validation_split_mode must be")
  T.raises(function() m:fit(X, Y, { batch_size = 0 }) end, "batch_size must be a positive integer")
  T.raises(function() m:compile{ optimizer = S.SGD(m:parameters()), loss = S.CrossEntropyLoss(), metrics = { "acuracy" } } end, "compile: unknown metric 'acuracy'")
  T.raises(function() m:fit(X, Y, { callbacks = { { on_epoch_ned = function() end } } }) end, "unknown hook 'on_epoch_ned'")
  local fresh = S.mlp(2, 4, 2)
  T.raises(function() fresh:fit(X, Y) end, "fit: call model:compile{optimizer = ..., loss = ...} first")
  T.raises(function() fresh:evaluate(X, Y) end, "evaluate: call model:compile")
  local reg = S.mlp(2, 4, 1)
  reg:compile{ optimizer = S.SGD(reg:parameters()), loss = function(o, t) return (o - t):pow(2):mean() end, metrics = { "accuracy" } }
  T.raises(function() reg:fit(X, ml.randn(200, 3), { verbose = 0 }) end, "accuracy")
end)

T.test("fit({X, y}, opts) and validation_data", function()
  local m = classifier()
  local h = m:fit({ X, Y }, { epochs = 2, validation_data = { X, Y }, verbose = 0 })
  T.eq(#h.val_loss, 2)
end)

T.test("fit(dataset) batches through data.loader: the same run as fit(X, y)", function()
  local a = classifier(2)
  local ha = a:fit(X, Y, { epochs = 2, batch_size = 16, verbose = 0 })
  local b = classifier(2)
  local hb = b:fit(ml.data.TensorDataset(X, Y), { epochs = 2, batch_size = 16, verbose = 0 })
  T.ok(same_weights(a, b))
  T.eq(ha.loss[2], hb.loss[2])
  T.raises(function() b:fit(ml.data.TensorDataset(X, Y), { validation_split = 0.1 }) end, "validation_split needs tensors X, y")
  local f = S.mlp(2, 4, 2)
  f:compile{ optimizer = S.SGD(f:parameters()), loss = function() return 1.5 end }
  T.raises(function() f:fit(X, Y, { verbose = 0 }) end, "fit: the loss returned a number, expected a 0-d tensor")
end)

T.test("stratified validation split: integer labels only", function()
  local m = classifier()
  local ok, err = pcall(function()
    local h = m:fit(X, Y:float(), { validation_split = 0.2, validation_split_mode = "stratified", verbose = 0 })
    return h
  end)
  T.ok(not ok)
  T.ok(err:find("^tests/lua/test_fit%.lua:%d+: fit: validation_split_mode 'stratified' needs integer class labels, got float32 targets$"), err)
end)

T.test("class_weight: keys are classes of the model, integer labels, weights that leave something to learn", function()
  local m = classifier(5, 0)
  local function fit_cw(cw, y, extra)
    local o = { epochs = 1, batch_size = 50, class_weight = cw, verbose = 0 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return m:fit(X, y or Y, o)
  end
  T.raises(function() fit_cw({ [0] = 1, [1] = 2 }) end,
    "fit: class_weight has key 0, but class labels are 1-based (1..2); shift the keys by 1")
  T.raises(function() fit_cw({ [1] = 1, [3] = 2 }) end, "fit: class_weight has key 3, an unknown class: the model has 2 outputs (classes 1..2)")
  T.raises(function() fit_cw({ [-1] = 1 }) end, "fit: class_weight has key -1, an unknown class")
  T.raises(function() fit_cw({ [1] = 1, [2] = 2 }, Y:float()) end, "fit: class_weight needs integer class labels, got float32 targets")
  T.raises(function() fit_cw({ [1] = -1 }) end, "fit: class_weight[1] must be a finite number >= 0")
  T.raises(function() fit_cw({ [1] = 1 / 0 }) end, "fit: class_weight[1] must be a finite number >= 0")
  T.raises(function() fit_cw({}) end, "fit: class_weight is empty")
  T.raises(function() fit_cw({ [1] = 0, [2] = 0 }) end, "fit: class_weight gives weight 0 to every row of y: nothing to train on")
  local ok, err = pcall(function() local h = fit_cw({ [5] = 1 }); return h end)
  T.ok(not ok and err:find("^tests/lua/test_fit%.lua:%d+: fit: class_weight has key 5"), err)
  -- a batch whose rows all weigh 0: a message that says so, not the NaN one
  local y = Y:clone()
  y:narrow(1, 1, 50):fill_(1)
  local w, text = S.capture()
  local h = m:fit(X, y, { epochs = 1, batch_size = 50, shuffle = false, class_weight = { [1] = 0, [2] = 1 }, output = w })
  T.eq(h.stop_reason, "nan")
  T.ok(text():find("fit: every row of epoch 1, batch 1 has class_weight 0, so its weighted mean loss is 0/0", 1, true), text())
  T.ok(not text():find("lower the learning rate", 1, true), text())
  -- one output per row: binary 0/1 int64 targets, keys 0 and 1
  local b = S.mlp(2, 4, 1)
  b:compile{ optimizer = S.SGD(b:parameters(), { lr = 0.1 }), loss = S.BCEWithLogitsLoss() }
  local yb = (Y - 1):view(-1, 1)
  local hb = b:fit(X, yb, { epochs = 1, class_weight = { [0] = 1, [1] = 2 }, verbose = 0 })
  T.eq(hb.epochs, 1)
  T.raises(function() b:fit(X, yb, { epochs = 1, class_weight = { [2] = 1 }, verbose = 0 }) end,
    "class_weight has key 2, an unknown class: the model has one output per row (binary targets 0 and 1)")
end)

T.test("errors point at the caller's line once, and name the loss", function()
  local m = classifier()
  local ok, err = pcall(function() local h = m:fit(X, Y:view(-1, 1), { verbose = 0 }); return h end)
  T.ok(not ok)
  T.ok(err:find("^tests/lua/test_fit%.lua:%d+: nn%.CrossEntropyLoss: target has shape %[32,1%], expected %[32%] of class indices"), err)
  ok, err = pcall(function() local p = m:predict(ml.randn(3, 5)); return p end)
  T.ok(not ok)
  T.ok(err:find("^tests/lua/test_fit%.lua:%d+: Sequential%[1%] %(nn%.Linear%): input has 5 features, expected 2$"), err)
  ok, err = pcall(function() local r = m:evaluate(X, Y:view(-1, 1)); return r end)
  T.ok(not ok and err:find("^tests/lua/test_fit%.lua:%d+: nn%.CrossEntropyLoss: target has shape %[200,1%]"), err)
  -- a user module's own error keeps its own position, once
  local Bad = nn.Module:extend("FitTestBad")
  function Bad:forward(x) error("broken forward") end
  local bad = Bad()
  ok, err = pcall(function() local p = bad:predict(X); return p end)
  T.ok(not ok and err:find("^tests/lua/test_fit%.lua:%d+: broken forward$"), err)
  T.ok(select(2, err:gsub("test_fit%.lua:", "")) == 1, "one position: " .. err)
  -- an error with no position gets predict's caller's
  local Quiet = nn.Module:extend("FitTestQuiet")
  function Quiet:forward(x) error("no position", 0) end
  ok, err = pcall(function() local p = Quiet():predict(X); return p end)
  T.ok(not ok and err:find("^tests/lua/test_fit%.lua:%d+: predict: no position$"), err)
end)

T.test("resume or initial_epoch at or past epochs: says there is nothing to train", function()
  local dir = T.tmpdir()
  local path = dir .. "/ck.safetensors"
  local m = classifier()
  m:fit(X, Y, { epochs = 3, verbose = 0, callbacks = { ml.callbacks.ModelCheckpoint{ path = path } } })
  local w, text = S.capture()
  local h = classifier():fit(X, Y, { epochs = 3, resume = path, output = w })
  T.ok(text():find("fit: the checkpoint is at epoch 3 and epochs=3: nothing to train", 1, true), text())
  T.eq(h.epochs, 3, "the history of the checkpoint")
  T.ok(h.message:find("nothing to train", 1, true))
  w, text = S.capture()
  h = classifier():fit(X, Y, { epochs = 2, initial_epoch = 2, output = w })
  T.ok(text():find("fit: initial_epoch is 2 and epochs=2: nothing to train", 1, true), text())
  -- silent fits say it on stderr; a resumed fit with epochs left trains on and says nothing of the kind
  w, text = S.capture()
  h = classifier():fit(X, Y, { epochs = 4, resume = path, output = w })
  T.eq(h.epochs, 4)
  T.ok(not text():find("nothing to train", 1, true), text())
  os.execute("rm -rf " .. dir)
end)

T.test("fit and evaluate take {x=, y=} (data.fashion_mnist's form), {X, y} and datasets; validation_data too", function()
  local a = classifier(3)
  local ha = a:fit(X, Y, { epochs = 2, batch_size = 16, validation_data = { X, Y }, verbose = 0 })
  local b = classifier(3)
  local hb = b:fit({ x = X, y = Y }, { epochs = 2, batch_size = 16, validation_data = { x = X, y = Y }, verbose = 0 })
  T.ok(same_weights(a, b), "the same run")
  T.eq(hb.loss[2], ha.loss[2])
  T.eq(hb.val_loss[2], ha.val_loss[2])
  local c = classifier(3)
  local hc = c:fit({ x = X, y = Y }, { epochs = 2, batch_size = 16, validation_data = ml.data.TensorDataset(X, Y), verbose = 0 })
  T.near(hc.val_loss[2], ha.val_loss[2], 1e-6)
  T.eq(hc.validation, "validation_data, 200 samples")
  -- a dataset of my own: get(i) and a length
  local mine = setmetatable({}, { __len = function() return 200 end })
  function mine:get(i) return X[i], Y[i] end
  local d = classifier(3)
  local hd = d:fit(X, Y, { epochs = 2, batch_size = 16, validation_data = mine, verbose = 0 })
  T.near(hd.val_loss[2], ha.val_loss[2], 1e-6)
  T.near(d:evaluate({ x = X, y = Y }).loss, a:evaluate(X, Y).loss, 1e-6)
  T.near(d:evaluate(mine).accuracy, a:evaluate(X, Y).accuracy, 1e-9)
  T.eq(format_shape(d:predict({ x = X, y = Y })), "[200,2]")
  T.raises(function() d:fit(X, Y, { validation_data = { a = 1 } }) end, "fit: validation_data must be {X, y}, {x = X, y = y} or a dataset")
  T.raises(function() d:fit({ z = 1 }) end, "fit: expected X, y (two tensors), {X, y}, {x = X, y = y} or a dataset")
end)

T.test("validation_split_mode: a misspelt mode gets a suggestion, as other fit options do", function()
  local m = classifier(1)
  T.raises(function() m:fit(X, Y, { validation_split = 0.2, validation_split_mode = "stratifed", verbose = 0 }) end,
    "did you mean 'stratified'")
end)

T.test("a dataset as validation_data: its loader is built once per fit, not once per epoch", function()
  local lens = 0
  local val = setmetatable({}, { __len = function() lens = lens + 1; return 200 end })
  function val:get(i) return X[i], Y[i] end
  local m = classifier(3)
  local h = m:fit(X, Y, { epochs = 3, batch_size = 50, validation_data = val, verbose = 0 })
  T.eq(#h.val_loss, 3)
  T.ok(lens <= 2, "the validation set's length was asked " .. lens .. " times in 3 epochs")
  T.near(h.val_loss[3], m:evaluate(X, Y).loss, 1e-6)
end)

T.test("errors from the model's forward keep the user's position, or get the fit line; messages stay whole", function()
  local Net = nn.Module:extend("FitTestTailNet")
  function Net:init() self.body = nn.Linear(2, 4); self.head = nn.Linear(3, 2) end
  function Net:forward(x)
    local h = self.body(x)
    return self.head(h) -- a tail call: this frame is gone when head fails
  end
  local m = Net()
  m:compile{ optimizer = S.SGD(m:parameters(), { lr = 0.1 }), loss = S.CrossEntropyLoss() }
  local line = debug.getinfo(1, "l").currentline + 1
  local ok, err = pcall(function() local h = m:fit(X, Y, { verbose = 0 }); return h end)
  T.ok(not ok)
  -- the tail call left no frame of forward: the position is where that forward is defined
  local def = debug.getinfo(Net.forward, "S").linedefined
  T.ok(err:find("^tests/lua/test_fit%.lua:" .. def .. ": FitTestTailNet%.head %(nn%.Linear%): input has 4 features, expected 3$"), err)
  T.ok(not err:find("fit: fit:", 1, true) and select(2, err:gsub("test_fit%.lua:", "")) == 1, "one position: " .. err)
  -- a message with a module path and no position: kept whole, at the fit line
  local Pathy = nn.Module:extend("FitTestPathy")
  function Pathy:init() self.l = nn.Linear(2, 2) end
  function Pathy:forward(x) error("Net.head (nn.Linear): input has 8 features, expected 4", 0) end
  local p = Pathy()
  p:compile{ optimizer = S.SGD(p:parameters(), { lr = 0.1 }), loss = S.CrossEntropyLoss() }
  line = debug.getinfo(1, "l").currentline + 1
  ok, err = pcall(function() local h = p:fit(X, Y, { verbose = 0 }); return h end)
  -- (the position is the user's: the fit line, or the forward that raised it)
  T.ok(err:find("^tests/lua/test_fit%.lua:%d+: Net%.head %(nn%.Linear%): input has 8 features, expected 4$"), err)
  -- a bare message gets fit's name
  local Quiet = nn.Module:extend("FitTestQuiet2")
  function Quiet:init() self.l = nn.Linear(2, 2) end
  function Quiet:forward(x) error("no position", 0) end
  local q = Quiet()
  q:compile{ optimizer = S.SGD(q:parameters(), { lr = 0.1 }), loss = S.CrossEntropyLoss() }
  ok, err = pcall(function() local h = q:fit(X, Y, { verbose = 0 }); return h end)
  T.ok(err:find("^tests/lua/test_fit%.lua:%d+: fit: no position$"), err)
  ok, err = pcall(function() local r = q:evaluate(X, Y); return r end)
  T.ok(err:find("^tests/lua/test_fit%.lua:%d+: evaluate: no position$"), err)
  -- the user's own error position stays, in fit and in evaluate
  local Bad = nn.Module:extend("FitTestBad2")
  function Bad:init() self.l = nn.Linear(2, 2) end
  function Bad:forward(x) error("broken forward") end
  local bad = Bad()
  bad:compile{ optimizer = S.SGD(bad:parameters(), { lr = 0.1 }), loss = S.CrossEntropyLoss() }
  local fline = debug.getinfo(Bad.forward, "S").linedefined
  ok, err = pcall(function() local h = bad:fit(X, Y, { verbose = 0 }); return h end)
  T.ok(err:find("^tests/lua/test_fit%.lua:" .. fline .. ": broken forward$"), err)
  ok, err = pcall(function() local r = bad:evaluate(X, Y); return r end)
  T.ok(err:find("^tests/lua/test_fit%.lua:" .. fline .. ": broken forward$"), err)
  T.eq(ml._train.sigint_pending(), false)
  T.eq(rawget(bad, "training"), true, "the training flag is back after the error")
end)

T.test("stop_reason: completed, nan; on_interrupt = 'raise' makes a NaN stop or Ctrl-C an error after the best weights are back", function()
  local m = classifier()
  T.eq(m:fit(X, Y, { epochs = 1, verbose = 0 }).stop_reason, "completed")
  local function nan_model(at)
    local n = S.mlp(2, 4, 2)
    local calls, ce = 0, S.CrossEntropyLoss()
    n:compile{ optimizer = S.SGD(n:parameters(), { lr = 0.1 }), loss = function(o, t)
      calls = calls + 1
      local l = ce(o, t)
      if calls == at then return l / 0 * 0 end
      return l
    end }
    return n
  end
  local w, text = S.capture()
  local h = nan_model(10):fit(X, Y, { epochs = 3, batch_size = 32, output = w })
  T.eq(h.stop_reason, "nan")
  T.ok(text():find('fit stopped (history.stop_reason = "nan"): the model is not fully trained', 1, true), text())
  -- raise: at the fit line, after EarlyStopping put back the best epoch's weights
  local n = nan_model(7 * 2 + 3)
  local snaps = {}
  local line = debug.getinfo(1, "l").currentline + 2
  local ok, err = pcall(function()
    local hh = n:fit(X, Y, { epochs = 5, batch_size = 32, verbose = 0, on_interrupt = "raise", callbacks = {
      { adds_logs = { "score" }, on_epoch_end = function(e, logs) logs.score = e; snaps[e] = n:state_dict()["3.weight"]:clone() end },
      ml.callbacks.EarlyStopping{ monitor = "score", mode = "min", patience = 5, restore_best = true, verbose = false } } })
    return hh
  end)
  T.ok(not ok)
  T.ok(err:find("^tests/lua/test_fit%.lua:" .. line .. ": fit: loss became nan at epoch 3, batch 3"), err)
  T.ok(err:find('(on_interrupt = "raise")', 1, true), err)
  T.ok(n:state_dict()["3.weight"]:equal(snaps[1]), "the best epoch's weights are back")
  -- Ctrl-C with raise
  ok, err = pcall(function()
    local hh = classifier():fit(X, Y, { epochs = 3, verbose = 0, on_interrupt = "raise", callbacks = {
      { on_batch_end = function(b) if b == 2 then ml._train.sigint_set() end end } } })
    return hh
  end)
  T.ok(not ok and err:find("^tests/lua/test_fit%.lua:%d+: fit: interrupted at epoch 1, batch 2/7"), err)
  T.eq(ml._train.sigint_pending(), false)
  T.raises(function() m:fit(X, Y, { on_interrupt = "rise" }) end,
    "fit: on_interrupt must be one of 'return', 'raise', got 'rise'; did you mean 'raise'?")
end)

T.test("compile: unknown loss, optimizer and metric names list the known ones and suggest one", function()
  local m = S.mlp(2, 4, 2)
  T.raises(function() m:compile{ optimizer = "adamm", loss = "cross_entropy" } end,
    "compile: unknown optimizer 'adamm' (known: adagrad, adam, adamw, rmsprop, sgd); did you mean 'adam'?")
  T.raises(function() m:compile{ optimizer = "sgd", loss = "cross_entropi" } end,
    "compile: unknown loss 'cross_entropi' (known: bce, bce_with_logits, cross_entropy, crossentropy, huber, l1, mae, mse, nll); did you mean 'cross_entropy'?")
  T.raises(function() m:compile{ optimizer = "sgd", loss = "mse", metrics = { "acuracy" } } end,
    "compile: unknown metric 'acuracy' (known: accuracy, average_precision, balanced_accuracy, explained_variance, f1,")
  T.raises(function() m:compile{ optimizer = "sgd", loss = "mse", metrics = { "acuracy" } } end, "did you mean 'accuracy'?")
  m:compile{ optimizer = "adam", loss = "cross_entropy", metrics = { "acc" } }
  local c = rawget(m, "_compiled")
  T.eq(c.loss_name, "CrossEntropyLoss")
  T.eq(c.metrics[1].name, "accuracy")
  T.eq(c.threshold, 0.5)
end)

T.test("ml.metrics: accuracy, mae, mse as functions of (pred, target)", function()
  local metrics = ml.metrics
  T.eq(metrics.accuracy(ml.tensor({ { 0.9, 0.1 }, { 0.2, 0.8 }, { 0.6, 0.4 } }), ml.tensor({ 1, 2, 2 }, { dtype = "int64" })), 2 / 3)
  T.eq(metrics.accuracy(ml.tensor({ 0.7, 0.2, 0.4 }), ml.tensor({ 1, 0, 1 })), 2 / 3)
  T.eq(metrics.accuracy(ml.tensor({ 0.7, -0.2 }), ml.tensor({ 1, 0 }), { threshold = 0 }), 1)
  T.near(metrics.mae(ml.tensor({ 1, 2, 3 }), ml.tensor({ { 1 }, { 4 }, { 2 } })), 1)
  T.near(metrics.mse(ml.tensor({ 1, 2, 3 }), ml.tensor({ 1, 4, 2 })), 5 / 3)
  T.raises(function() metrics.mse(ml.tensor({ 1, 2 }), ml.tensor({ 1 })) end, "metrics.mse: pred [2] and target [1] have different sizes")
  T.raises(function() metrics.accuracy(ml.tensor({ { 1, 0 } }), ml.tensor({ 1.0 })) end, "metrics.accuracy: with [1,2] outputs it needs int64 class labels")
  T.eq(table.concat(metrics.names(), ","), "accuracy,mae,mse")
end)

T.test("ml.metrics, the train parts and the callbacks' methods have one-line docstrings naming them", function()
  local function check(t, prefix)
    local bad = {}
    for k, v in pairs(t) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" and type(v) == "function" then
        local d = ml.doc(v)
        if type(d) ~= "string" or not d:find(" — ", 1, true) or d:find("\n", 1, true) or not d:find(k, 1, true) then
          bad[#bad + 1] = prefix .. k .. ": " .. tostring(d)
        end
      end
    end
    T.eq(table.concat(bad, "; "), "", prefix)
  end
  check(ml.metrics, "metrics.")
  for _, part in ipairs({ "compile", "inputs", "class_weight", "evaluate", "hooks", "resume", "loop" }) do
    check(require("moonlab.train." .. part), "train." .. part .. ".")
  end
  check(require("moonlab.train"), "train.")
  check(require("moonlab.callbacks.base"), "callbacks.base.")
  for name, cls in pairs(ml.callbacks) do
    T.ok(ml.doc(cls), name)
    local own = {}
    for k, v in pairs(cls) do if type(v) == "function" and k:sub(1, 2) ~= "__" then own[k] = v end end
    check(own, name .. ":")
  end
end)

T.test("predict of one batch: the model on X itself, the same values, modes kept, errors named", function()
  ml.seed(3)
  local m = S.Sequential{ S.Linear(2, 4), S.Dropout(0.5), S.Linear(4, 2) }
  local row = X:narrow(1, 1, 1)
  local full = m:predict(X, { batch_size = 7 }) -- batched
  T.all_near(m:predict(row), full:narrow(1, 1, 1), 1e-6)
  T.all_near(m:predict(X), full, 1e-6, "200 rows: one batch of the default 256")
  T.eq(m:predict(row):is_requires_grad(), false)
  T.eq(rawget(m, "training"), true, "a model in training mode is put back")
  T.eq(m[2].training, true)
  m:eval()
  T.all_near(m:predict(row), full:narrow(1, 1, 1), 1e-6)
  T.eq(m[2].training, false, "a model in eval mode stays so")
  local ok, err = pcall(function() return m:predict(ml.randn(1, 3)) end)
  T.ok(not ok and err:find("Sequential[1] (nn.Linear): input has 3 features, expected 2", 1, true), err)
  T.raises(function() m:predict(row, { batch = 2 }) end, "predict: unknown option 'batch'")
  T.raises(function() m:predict(X:narrow(1, 1, 0)) end, "predict: X needs at least one row")
end)
