-- QA report (issue 7), the training side: FIFOs in the readers, Lua optimizer
-- mistakes, fit's arguments, ModelCheckpoint's templated directories, the
-- data sets' and metrics' errors, schedule state. Each test failed before its fix.
local lfs = require "lfs"
local nn, cb = ml.nn, ml.callbacks
local dir = T.tmpdir()
local BIN, quote = T.BIN, T.quote

-- Runs code in a child under `timeout 5` (a FIFO regression fails instead of hanging); -> exit code, output.
local function child(code)
  local out = T.tmpname()
  local _, _, rc = os.execute(string.format("timeout 5 %s -e %s >%s 2>&1 </dev/null", BIN, quote(code), quote(out)))
  local msg = T.read_file(out)
  os.remove(out)
  return rc, msg
end

-- ---- 9: FIFOs ----------------------------------------------------------------------
T.test("QA 9: data.fashion_mnist on a folder of FIFOs is refused at once", function()
  local d = dir .. "/fifos"
  assert(lfs.mkdir(d))
  for _, split in ipairs({ "train", "t10k" }) do
    for _, n in ipairs({ "-images-idx3-ubyte", "-labels-idx1-ubyte" }) do
      if not os.execute("mkfifo " .. quote(d .. "/" .. split .. n .. ".gz") .. " 2>/dev/null") then return end
    end
  end
  local rc, msg = child(string.format("local ok, e = pcall(ml.data.fashion_mnist, {dir = %q}); io.write(tostring(e))", d))
  T.ok(rc ~= 124, "data.fashion_mnist blocked on a FIFO")
  T.ok(msg:find("data.fashion_mnist: '" .. d .. "/train-images-idx3-ubyte.gz' is not a regular file (a FIFO)", 1, true), msg)
end)

T.test("QA 9: CSVLogger{fifo, append = true} in fit is refused at once", function()
  local fifo = dir .. "/log.fifo"
  if not os.execute("mkfifo " .. quote(fifo) .. " 2>/dev/null") then return end
  local code = string.format([[local m = ml.nn.Linear(2, 1); m:compile{optimizer = "sgd", loss = "mse"}
    local ok, e = pcall(m.fit, m, ml.zeros(4, 2), ml.zeros(4, 1), {epochs = 1, verbose = 0,
      callbacks = {ml.callbacks.CSVLogger{%q, append = true}}}); io.write(tostring(e))]], fifo)
  local rc, msg = child(code)
  T.ok(rc ~= 124, "CSVLogger blocked on a FIFO")
  T.ok(msg:find("CSVLogger: cannot open '" .. fifo .. "': not a regular file (a FIFO)", 1, true), msg)
end)

-- ---- 10: Lua optimizer API mistakes ------------------------------------------------
local optim = ml.optim

local function stepped(O)
  local lin = nn.Linear(2, 2)
  local o = O(lin:parameters())
  local l = lin(ml.randn(3, 2)):sum()
  o:zero_grad(); l:backward(); o:step()
  return o
end

T.test("QA 10: an optimizer class without update, or with update not a function, is a clear error", function()
  local NoUpd = optim.Optimizer:extend("QANoUpd", { options = { { "lr", 0.1 } } })
  local e = T.raises(function() stepped(NoUpd) end, "QANoUpd: define QANoUpd:update(p, grad, state, group)")
  T.ok(e:find("^tests/lua/test_qa_train%.lua:%d+:"), e)
  local U2 = optim.Optimizer:extend("QAU2", { options = { { "lr", 0.1 } } })
  U2.update = 5
  T.raises(function() stepped(U2) end, "QAU2: QAU2.update must be a method function(self, p, grad, state, group), got 5")
  T.raises(function() optim.Optimizer(nn.Linear(2, 2):parameters()) end, "optim.Optimizer: is the base class, not an optimizer")
  T.raises(function() optim.Optimizer() end, "optim.Optimizer: is the base class")
end)

T.test("QA 10: spec.state must be a list of names; update's state values are checked, naming the key", function()
  T.raises(function() optim.Optimizer:extend("QAX4", { options = { { "lr", 1 } }, state = 5 }) end,
    "optim.Optimizer:extend: QAX4: state must be a list of buffer names")
  T.raises(function() optim.Optimizer:extend("QAX5", { options = { { "lr", 1 } }, state = { "buf", 3 } }) end, "state must be a list")
  local U3 = optim.Optimizer:extend("QAU3", { options = { { "lr", 0.1 } }, state = { "buf" } })
  function U3:update(p, g, s, grp) s.buf = 5 end
  T.raises(function() stepped(U3) end, "QAU3:update set state.buf of parameter 1 to 5")
  local U6 = optim.Optimizer:extend("QAU6", { options = { { "lr", 0.1 } } })
  function U6:update(p, g, s, grp) s.step = "x" end
  T.raises(function() stepped(U6) end, "QAU6:update changed state.step of parameter 1 to 'x'")
  local U7 = optim.Optimizer:extend("QAU7", { options = { { "lr", 0.1 } } })
  function U7:update(p, g, s, grp) s.note = "hello" end
  T.raises(function() stepped(U7) end, "QAU7:update set state.note of parameter 1 to 'hello'")
  -- numbers and tensors are fine, and saved
  local U8 = optim.Optimizer:extend("QAU8", { options = { { "lr", 0.1 } }, state = { "m" } })
  function U8:update(p, g, s, grp) s.count = (s.count or 0) + 1; s.m:add_(g); p:sub_(g * grp.lr) end
  local o = stepped(U8)
  T.eq(o:state_dict().meta.values[1].count, 1)
end)

-- ---- 18: a schedule state of the wrong kind ----------------------------------------
T.test("QA 18: StepLR:load_state_dict with a bad or classless state names the field, not 'optim.lr.nil'", function()
  local o = optim.SGD(nn.Linear(2, 2):parameters(), { lr = 0.1 })
  local s = optim.lr.StepLR(o, { step_size = 1 })
  local e = T.raises(function() s:load_state_dict({ last_epoch = "x" }) end, "optim.lr.StepLR:load_state_dict: the state names no schedule class")
  T.ok(not e:find("optim.lr.nil", 1, true), e)
  T.raises(function() s:load_state_dict({ class = "StepLR", last_epoch = "x" }) end, "optim.lr.StepLR:load_state_dict: 'last_epoch' is 'x', expected an integer")
  T.raises(function() s:load_state_dict({ class = "StepLR", gamma = "x" }) end, "'gamma' is 'x', expected a number")
  T.eq(s.last_epoch, 0, "nothing loaded")
  local sd = s:state_dict()
  s:step()
  s:load_state_dict(sd)
  T.eq(s.last_epoch, 0)
end)

-- ---- 13: fit's arguments --------------------------------------------------------------
local function compiled()
  local m = nn.Linear(2, 2)
  m:compile{ optimizer = "sgd", loss = "mse" }
  return m
end
local X2, Y2 = ml.zeros(8, 2), ml.zeros(8, 2)

T.test("QA 13: options inside a data table are an error listing them (fit, evaluate, data.loader); other keys are fine", function()
  local m = compiled()
  local e = T.raises(function() m:fit{ x = X2, y = Y2, epochs = 5, verbose = 0 } end, "fit: the data table holds options ")
  T.ok(e:find("'epochs'", 1, true) and e:find("'verbose'", 1, true), e)
  T.ok(e:find("options go in their own argument", 1, true), e)
  T.ok(e:find("^tests/lua/test_qa_train%.lua:%d+:"), e)
  T.raises(function() m:fit({ X2, Y2, epochs = 2 }, { verbose = 0 }) end, "fit: the data table holds option 'epochs'")
  T.raises(function() m:evaluate{ x = X2, y = Y2, batch_size = 2 } end,
    "evaluate: the data table holds option 'batch_size'; options go in their own argument: evaluate({x = X, y = y}, {batch_size = ...})")
  T.raises(function() ml.data.loader{ x = X2, y = Y2, batch_size = 2 } end, "data.loader: the data table holds option 'batch_size'")
  -- what data.fashion_mnist returns, and a table with a name, still work everywhere
  local h = m:fit({ x = X2, y = Y2, classes = { "a", "b" } }, { epochs = 2, verbose = 0 })
  T.eq(h.epochs, 2)
  h = m:fit({ x = X2, y = Y2, name = "train" }, { epochs = 1, verbose = 0, validation_data = { x = X2, y = Y2, name = "val" } })
  T.eq(h.epochs, 1)
  T.ok(m:evaluate{ x = X2, y = Y2, name = "test" }.loss ~= nil)
  T.eq(#ml.data.loader({ x = X2, y = Y2, name = "d" }, { batch_size = 2 }), 4)
end)

T.test("QA 13: callbacks = one callback (not in a list) is a list of one", function()
  local m = compiled()
  local h = m:fit(X2, Y2, { epochs = 20, verbose = 0, callbacks = cb.EarlyStopping{ monitor = "loss", patience = 1, min_delta = 1, verbose = false } })
  T.ok(h.epochs < 20, "EarlyStopping given alone ran: " .. h.epochs .. " epochs")
  T.eq(h.stop_reason, "early_stopping")
  local seen = 0
  m:fit(X2, Y2, { epochs = 3, verbose = 0, callbacks = { on_epoch_end = function() seen = seen + 1 end } })
  T.eq(seen, 3, "a plain table of hooks alone")
end)

T.test("QA 13: a Callback class with a misspelt hook is refused at fit start, with did-you-mean", function()
  local Typo = cb.Callback:extend("QATypoCallback")
  local ran = false
  function Typo:on_epoc_end() ran = true end
  local m = compiled()
  local e = T.raises(function() m:fit(X2, Y2, { epochs = 1, verbose = 0, callbacks = { Typo() } }) end,
    "fit: callback 1 (QATypoCallback) has an unknown hook 'on_epoc_end'")
  T.ok(e:find("did you mean 'on_epoch_end'?", 1, true), e)
  T.ok(e:find("^tests/lua/test_qa_train%.lua:%d+:"), e)
  -- on the instance, and in a subclass of a subclass
  local obj = cb.Callback:extend("QAInstTypo")()
  obj.on_train_ende = function() end
  T.raises(function() m:fit(X2, Y2, { epochs = 1, verbose = 0, callbacks = { obj } }) end, "did you mean 'on_train_end'?")
  local Sub = Typo:extend("QATypoSub")
  T.raises(function() m:fit(X2, Y2, { epochs = 1, verbose = 0, callbacks = { Sub() } }) end, "unknown hook 'on_epoc_end'")
  -- the built-in callbacks pass
  m:fit(X2, Y2, { epochs = 1, verbose = 0, callbacks = { cb.EarlyStopping{ monitor = "loss", verbose = false },
    cb.CSVLogger(dir .. "/ok.csv"), cb.ReduceLROnPlateau{ monitor = "loss", verbose = false } } })
end)

-- ---- 14: save_last with fields in a directory ------------------------------------------
T.test("QA 14: ModelCheckpoint save_last with fields in the directory: the last file goes next to that epoch's file", function()
  local runs = dir .. "/runs"
  assert(lfs.mkdir(runs))
  local m = compiled()
  m:fit(X2, Y2, { epochs = 2, verbose = 0, callbacks = { cb.ModelCheckpoint{ runs .. "/e{epoch:02d}/sub/ck-{loss:.3f}.safetensors",
    monitor = "loss", save_last = true, verbose = false } } })
  T.ok(lfs.attributes(runs .. "/e{epoch:02d}", "mode") == nil, "no literal template directory")
  for _, e in ipairs({ "e01", "e02" }) do
    T.eq(lfs.attributes(runs .. "/" .. e .. "/sub/ck.last.safetensors", "mode"), "file", e .. "'s last file")
    local n = 0
    for f in lfs.dir(runs .. "/" .. e .. "/sub") do if f:match("^ck%-%d+%.%d+%.safetensors$") then n = n + 1 end end
    T.eq(n, 1, e .. "'s checkpoint")
  end
  local c = cb.ModelCheckpoint{ "r/e{epoch:02d}/ck-{loss:.3f}.safetensors", save_last = true }
  T.eq(c:format_path_last(3, { loss = 0.5 }), "r/e03/ck.last.safetensors")
end)

-- ---- 12 and 18: data sets and metrics ------------------------------------------------
local function at_my_line(e) T.ok(e:find("^tests/lua/test_qa_train%.lua:%d+:"), e) end

T.test("QA 12: TensorDataset:get(0) and get(nil) name the method and the range, at the caller's line", function()
  local ds = ml.data.TensorDataset(ml.zeros(10))
  at_my_line(T.raises(function() local _ = ds:get(0) end, "data.TensorDataset:get: index 0 is out of range 1..10"))
  at_my_line(T.raises(function() local _ = ds:get(nil) end, "data.TensorDataset:get: the index must be an integer in 1..10, got nil"))
  T.raises(function() local _ = ds:get(11) end, "index 11 is out of range 1..10")
  T.raises(function() local _ = ds:get(1.5) end, "must be an integer")
  T.eq(ds:get(10):dim(), 0)
end)

T.test("QA 12: metrics.accuracy with outputs and labels of different row counts is its own error", function()
  local e = T.raises(function() local _ = ml.metrics.accuracy(ml.zeros(2, 2), ml.zeros(3):long()) end,
    "metrics.accuracy: output [2,2] has 2 rows, so it needs 2 labels ([2] or [2,1]); got target [3]")
  at_my_line(e)
  T.ok(not e:find("eq:", 1, true), e)
  T.eq(ml.metrics.accuracy(ml.tensor({ { 0, 1 }, { 1, 0 } }), ml.tensor({ { 2 }, { 2 } }):long()), 0.5)
end)

T.test("QA 12: fit on a dataset whose get returns strings says what the batch is", function()
  local ds = { len = function() return 4 end, get = function() return "x", 1 end }
  local m = nn.Sequential{ nn.Linear(2, 2) }
  m:compile{ optimizer = "sgd", loss = "cross_entropy" }
  local e = T.raises(function() m:fit(ds, { verbose = 0 }) end, "fit: the batch's input is a list of strings, expected a tensor (from dataset:get(i)")
  at_my_line(e)
  T.ok(not e:find("attempt to", 1, true), e)
end)

T.test("QA 18: metrics on empty input are a clear error, not nan", function()
  at_my_line(T.raises(function() local _ = ml.metrics.accuracy(ml.zeros(0, 2), ml.zeros(0):long()) end,
    "metrics.accuracy: empty input (output [0,2], target [0])"))
  T.raises(function() local _ = ml.metrics.accuracy(ml.zeros(0), ml.zeros(0)) end, "metrics.accuracy: empty input")
  T.raises(function() local _ = ml.metrics.mse(ml.zeros(0), ml.zeros(0)) end, "metrics.mse: empty input")
  T.raises(function() local _ = ml.metrics.mae(ml.zeros(0), ml.zeros(0)) end, "metrics.mae: empty input")
end)

T.test("QA 18: examples/regression.lua keeps its epoch log under log=PATH, and says a temporary one was removed", function()
  local keep = T.tmpname(".csv")
  local h = io.popen(string.format("%s examples/regression.lua epochs=2 log=%s 2>&1", BIN, quote(keep)))
  local out = h:read("a")
  T.ok(h:close(), out)
  T.ok(out:find("epoch log written to " .. keep .. "\n", 1, true), out)
  local csv = T.read_file(keep)
  T.ok(csv:find("^epoch,"), csv)
  local _, rows = csv:gsub("\n", "")
  T.eq(rows, 3, "a header and 2 epochs")
  h = io.popen(string.format("%s examples/regression.lua epochs=1 2>&1", BIN))
  out = h:read("a")
  T.ok(h:close(), out)
  local tmp = out:match("epoch log written to (%S+) and removed")
  T.ok(tmp, "says the temporary log was removed: " .. out)
  T.eq(lfs.attributes(tmp, "mode"), nil, "the temporary log is gone")
end)

T.test("QA2: fit resumes in a fresh process that never touched ml.callbacks (class names load their packages)", function()
  local ck = T.tmpname(".safetensors")
  local function run(code)
    local h = io.popen(T.BIN .. " -e " .. T.quote(code) .. " 2>&1")
    local out = h:read("a")
    local ok = h:close()
    return ok, out
  end
  local ok, out = run(string.format([[ml.seed(1); local m = ml.nn.Linear(2, 2); m:compile{optimizer = "sgd", loss = "mse"}
    m:fit(ml.ones(8, 2), ml.zeros(8, 2), {epochs = 1, verbose = 0, callbacks = {ml.callbacks.ModelCheckpoint{%q}}})]], ck))
  T.ok(ok, out)
  ok, out = run(string.format([[ml.seed(1); local m = ml.nn.Linear(2, 2); m:compile{optimizer = "sgd", loss = "mse"}
    local h = m:fit(ml.ones(8, 2), ml.zeros(8, 2), {epochs = 2, verbose = 0, resume = %q}); print("epochs", #h.loss)]], ck))
  T.ok(ok and out:find("epochs", 1, true), out)
end)
