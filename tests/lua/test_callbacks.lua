-- ml.callbacks in model:fit: monitors, EarlyStopping, ModelCheckpoint and resume,
-- LearningRateScheduler, ReduceLROnPlateau, CSVLogger, user callbacks.
local S = dofile("tests/lua/fit_helpers.lua")
local cb = ml.callbacks
local nn = ml.nn

local X, Y = S.blobs(200, 1)
local dir = T.tmpdir()

local function classifier(seed, lr)
  local m = S.mlp(2, 8, 2, seed or 0)
  m:compile{ optimizer = S.SGD(m:parameters(), { lr = lr or 0.1, momentum = 0.9 }), loss = S.CrossEntropyLoss(), metrics = { "accuracy" } }
  return m
end

-- A plain callback that puts a scripted value into the logs under `name` (runs before the others);
-- adds_logs tells fit, which checks every monitor before the first batch.
local function script(name, values)
  return { adds_logs = { name }, on_epoch_end = function(e, logs) logs[name] = values[e] end }
end

-- Records a copy of the weights at the end of every epoch.
local function recorder(m, snaps)
  return { on_epoch_end = function(e) snaps[e] = m:state_dict()["3.weight"]:clone() end }
end

local function file_exists(p)
  local f = io.open(p, "rb")
  if f then f:close() end
  return f ~= nil
end

T.test("a monitor the logs lack is an error before the first batch, at the fit line, listing the names", function()
  local m = classifier()
  local before = m:state_dict()["1.weight"]:clone()
  local batches = 0
  local ok, err = pcall(function()
    local h = m:fit(X, Y, { epochs = 3, validation_split = 0.2, verbose = 0, callbacks = {
      { on_batch_begin = function() batches = batches + 1 end }, cb.EarlyStopping{ monitor = "val_acc" } } })
    return h
  end)
  T.ok(not ok)
  T.ok(err:find("^tests/lua/test_callbacks%.lua:%d+: EarlyStopping: monitor 'val_acc' is not in the logs; available: "
    .. "loss, accuracy, val_loss, val_accuracy, lr; did you mean 'val_accuracy'%?$"), err)
  T.eq(batches, 0, "before the first batch")
  T.ok(m:state_dict()["1.weight"]:equal(before), "nothing trained")
  local epochs = 0
  T.raises(function()
    m:fit(X, Y, { epochs = 3, verbose = 0, callbacks = { { on_epoch_end = function() epochs = epochs + 1 end }, cb.ReduceLROnPlateau{} } })
  end, "ReduceLROnPlateau: monitor 'val_loss' is not in the logs; available: loss, accuracy, lr (val_ logs need validation_data or validation_split)")
  T.eq(epochs, 0, "before the first epoch")
  T.raises(function()
    m:fit(X, Y, { epochs = 1, verbose = 0, callbacks = { cb.ModelCheckpoint{ path = dir .. "/x.safetensors", save_best_only = true } } })
  end, "ModelCheckpoint: monitor 'val_loss' is not in the logs")
  T.raises(function()
    m:fit(X, Y, { epochs = 1, verbose = 0, callbacks = { cb.ModelCheckpoint(dir .. "/m-{val_los:.3f}.safetensors") } })
  end, "ModelCheckpoint: path names {val_los}, which is not in the logs; available: epoch, loss, accuracy, lr")
  -- a callback that adds a log says so; then it may be monitored
  local h = m:fit(X, Y, { epochs = 2, verbose = 0, callbacks = {
    { adds_logs = { "s" }, on_epoch_end = function(e, logs) logs.s = 1 / e end }, cb.EarlyStopping{ monitor = "s" } } })
  T.eq(h.epochs, 2)
  T.eq(ml._train.sigint_pending(), false)
end)

T.test("EarlyStopping: patience, mode, min_delta and its message", function()
  local m = classifier()
  local w, text = S.capture()
  local h = m:fit(X, Y, { epochs = 10, output = w, callbacks = {
    script("s", { 5, 4, 3, 3.5, 3.2, 2.0, 1.0 }), cb.EarlyStopping{ monitor = "s", patience = 2 } } })
  T.eq(h.epochs, 5)
  T.eq(h.stopped_early, true)
  T.eq(h.stop_reason, "early_stopping")
  T.ok(text():find("EarlyStopping: s did not improve for 2 epochs (best 3.0000 at epoch 3); stopped at epoch 5", 1, true), text())
  -- "acc" in the name: mode max; patience 0 stops at the first epoch without improvement
  h = m:fit(X, Y, { epochs = 10, verbose = 0, callbacks = {
    script("my_acc", { 0.5, 0.6, 0.6, 0.9 }), cb.EarlyStopping{ monitor = "my_acc" } } })
  T.eq(h.epochs, 3)
  -- min_delta: 2.95 is not better than 3 by 0.1
  h = m:fit(X, Y, { epochs = 10, verbose = 0, callbacks = {
    script("s", { 3, 2.95, 2.91, 1 }), cb.EarlyStopping{ monitor = "s", patience = 2, min_delta = 0.1, mode = "min" } } })
  T.eq(h.epochs, 3)
  T.raises(function() cb.EarlyStopping{ monitor = "loss", patience = -1 } end, "EarlyStopping: patience must be an integer >= 0")
  T.raises(function() cb.EarlyStopping{ monitr = "loss" } end, "EarlyStopping: unknown option 'monitr' (known: baseline, min_delta, mode,")
  T.raises(function() cb.EarlyStopping{ mode = "up" } end, "mode must be \"auto\", \"min\" or \"max\"")
end)

T.test("EarlyStopping restore_best: the best weights come back whoever ended training", function()
  -- stopped by EarlyStopping itself
  local m = classifier()
  local snaps = {}
  m:fit(X, Y, { epochs = 10, verbose = 0, callbacks = {
    script("s", { 3, 2, 2.5, 2.4 }), recorder(m, snaps), cb.EarlyStopping{ monitor = "s", patience = 2, restore_best = true } } })
  T.ok(m:state_dict()["3.weight"]:equal(snaps[2]))
  T.ok(not snaps[4]:equal(snaps[2]))
  -- training ran all its epochs
  m = classifier()
  snaps = {}
  local w, text = S.capture()
  m:fit(X, Y, { epochs = 4, output = w, callbacks = {
    script("s", { 3, 1, 2, 2 }), recorder(m, snaps), cb.EarlyStopping{ monitor = "s", patience = 5, restore_best = true } } })
  T.ok(m:state_dict()["3.weight"]:equal(snaps[2]))
  T.ok(text():find("EarlyStopping: restored the weights of epoch 2 (s 1.0000)", 1, true), text())
  -- another callback stopped it
  m = classifier()
  snaps = {}
  m:fit(X, Y, { epochs = 9, verbose = 0, callbacks = {
    script("s", { 3, 1, 2 }), recorder(m, snaps), cb.EarlyStopping{ monitor = "s", patience = 5, restore_best = true },
    { on_epoch_end = function(e) if e == 3 then return "stop" end end } } })
  T.ok(m:state_dict()["3.weight"]:equal(snaps[2]))
end)

T.test("ModelCheckpoint: best and last files, the best value in the metadata", function()
  local m = classifier()
  local snaps = {}
  local best, last = dir .. "/best.safetensors", dir .. "/run.safetensors"
  local w, text = S.capture()
  m:fit(X, Y, { epochs = 4, output = w, callbacks = {
    script("s", { 3, 1, 2, 1.5 }), recorder(m, snaps),
    cb.ModelCheckpoint{ path = best, monitor = "s", save_best_only = true, save_last = last } } })
  T.ok(text():find("ModelCheckpoint: s improved to 1.0000 at epoch 2; saved " .. best, 1, true), text())
  local _, meta = ml.load(best)
  local info = ml.json.decode(meta["moonlab.best"])
  T.eq(info.monitor, "s"); T.eq(info.value, 1.0); T.eq(info.epoch, 2); T.eq(info.mode, "min")
  local mb = nn.load(best)
  T.ok(mb:state_dict()["3.weight"]:equal(snaps[2]), "best file: the weights of epoch 2")
  local ck = nn.load_checkpoint(last)
  T.eq(ck.epoch, 4)
  T.ok(ck.model:state_dict()["3.weight"]:equal(snaps[4]), "last file: the weights of epoch 4")
  T.ok(ck.optimizer_state and next(ck.optimizer_state.tensors) ~= nil, "the optimizer state is in it")
  -- save_last = true names the last file after path; {epoch} and {name:fmt} are filled in
  m:fit(X, Y, { epochs = 2, verbose = 0, callbacks = { cb.ModelCheckpoint{ path = dir .. "/e{epoch:02d}-{loss:.2f}.safetensors", save_last = true, monitor = "loss" } } })
  local h = m:fit(X, Y, { epochs = 1, verbose = 0 })
  T.ok(h)
  local found = 0
  for _, f in ipairs(T.listdir(dir)) do if f:match("^e0[12]%-%d%.%d%d%.safetensors$") then found = found + 1 end end
  T.eq(found, 2)
  T.raises(function() cb.ModelCheckpoint{} end, "ModelCheckpoint: path must be a file name")
  T.raises(function()
    m:fit(X, Y, { epochs = 1, verbose = 0, callbacks = { cb.ModelCheckpoint{ path = dir .. "/{nope}.safetensors" } } })
  end, "ModelCheckpoint: path names {nope}, which is not in the logs")
end)

local function resumable(seed)
  ml.seed(seed)
  local m = S.Sequential{ S.Linear(2, 16), S.ReLU(), S.Dropout(0.2), S.Linear(16, 2) }
  m:compile{ optimizer = S.SGD(m:parameters(), { lr = 0.05, momentum = 0.9 }), loss = S.CrossEntropyLoss(), metrics = { "accuracy" } }
  return m
end

T.test("resume: 2 epochs + resume 2 gives the unbroken 4-epoch run bit for bit", function()
  local opts = function(epochs, extra)
    local o = { epochs = epochs, batch_size = 16, validation_split = 0.2, verbose = 0 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end
  -- unbroken
  local a = resumable(3)
  local ha = a:fit(X, Y, opts(4, { callbacks = { cb.EarlyStopping{ monitor = "val_loss", patience = 10 },
    cb.ReduceLROnPlateau{ monitor = "loss", patience = 1, factor = 0.5, min_delta = 10, verbose = false } } }))
  local rng_a = ml.random_state()
  -- broken at 2, in a "new process": other weights, another generator state
  local path = dir .. "/resume.safetensors"
  local b = resumable(3)
  b:fit(X, Y, opts(2, { callbacks = { cb.ModelCheckpoint{ path = path }, cb.EarlyStopping{ monitor = "val_loss", patience = 10 },
    cb.ReduceLROnPlateau{ monitor = "loss", patience = 1, factor = 0.5, min_delta = 10, verbose = false } } }))
  local c = resumable(99)
  ml.seed(12345)
  local csv = dir .. "/resume.csv"
  local hc = c:fit(X, Y, opts(4, { resume = path, callbacks = { cb.EarlyStopping{ monitor = "val_loss", patience = 10 },
    cb.ReduceLROnPlateau{ monitor = "loss", patience = 1, factor = 0.5, min_delta = 10, verbose = false }, cb.CSVLogger{ path = csv } } }))
  for k, t in pairs(a:state_dict()) do T.ok(t:equal(c:state_dict()[k]), "weights differ: " .. k) end
  T.eq(hc.epochs, 4)
  for i = 1, 4 do
    T.eq(hc.loss[i], ha.loss[i], "loss " .. i)
    T.eq(hc.val_accuracy[i], ha.val_accuracy[i])
    T.eq(hc.lr[i], ha.lr[i], "lr " .. i)
  end
  T.eq(table.concat(ha.lr, ","), table.concat({ 0.05, 0.05, 0.025, 0.0125 }, ","), "ReduceLROnPlateau halves it after each epoch from the second")
  T.eq(ml.random_state(), rng_a, "the generator goes on as in the unbroken run")
  T.raises(function() resumable(1):fit(X, Y, opts(4, { resume = path, initial_epoch = 1 })) end, "initial_epoch 1 differs from the checkpoint's epoch 2")
  T.raises(function() resumable(1):fit(X, Y, opts(4, { resume = dir .. "/none.safetensors" })) end, "fit: cannot resume: nn.load_checkpoint:")
  local other = S.mlp(2, 5, 2)
  other:compile{ optimizer = S.SGD(other:parameters(), { lr = 0.1 }), loss = S.CrossEntropyLoss() }
  T.raises(function() other:fit(X, Y, opts(4, { resume = path })) end, "the weights do not fit the model")
end)

T.test("ModelCheckpoint goes on comparing with the best value after a resume", function()
  local path, best = dir .. "/cmp.safetensors", dir .. "/cmp_best.safetensors"
  local m = classifier()
  m:fit(X, Y, { epochs = 2, verbose = 0, callbacks = { script("s", { 2, 1 }),
    cb.ModelCheckpoint{ path = best, monitor = "s", save_best_only = true, save_last = path } } })
  local m2 = classifier()
  local w, text = S.capture()
  m2:fit(X, Y, { epochs = 4, resume = path, output = w, callbacks = { script("s", { nil, nil, 1.5, 0.5 }),
    cb.ModelCheckpoint{ path = best, monitor = "s", save_best_only = true, save_last = path } } })
  T.ok(not text():find("at epoch 3", 1, true), "1.5 is not better than the 1 of epoch 2: " .. text())
  T.ok(text():find("s improved to 0.5000 at epoch 4", 1, true), text())
end)

T.test("CSVLogger writes a header and one row per epoch with exact values", function()
  local m = classifier()
  local path = dir .. "/log.csv"
  local h = m:fit(X, Y, { epochs = 3, validation_split = 0.2, verbose = 0, callbacks = { cb.CSVLogger{ path = path } } })
  local f = io.open(path)
  local lines = {}
  for l in f:lines() do lines[#lines + 1] = l end
  f:close()
  T.eq(#lines, 4)
  T.eq(lines[1], "epoch,accuracy,loss,lr,val_accuracy,val_loss")
  for i = 1, 3 do
    local cells = {}
    for c in (lines[i + 1] .. ","):gmatch("(.-),") do cells[#cells + 1] = c end
    T.eq(tonumber(cells[1]), i)
    T.eq(tonumber(cells[3]), h.loss[i], "loss round-trips exactly")
    T.eq(tonumber(cells[6]), h.val_loss[i])
  end
  -- append = true adds rows under the same header
  m:fit(X, Y, { epochs = 1, validation_split = 0.2, verbose = 0, callbacks = { cb.CSVLogger{ path = path, append = true } } })
  f = io.open(path)
  local n = 0
  for _ in f:lines() do n = n + 1 end
  f:close()
  T.eq(n, 5)
  -- a separator other than ","
  m:fit(X, Y, { epochs = 1, verbose = 0, callbacks = { cb.CSVLogger{ path = path, separator = ";" } } })
  f = io.open(path)
  T.eq(f:read("l"), "epoch;accuracy;loss;lr")
  f:close()
end)

T.test("LearningRateScheduler: a function of the epoch, or a schedule object", function()
  local m = classifier()
  local h = m:fit(X, Y, { epochs = 4, verbose = 0, callbacks = { cb.LearningRateScheduler(function(e, lr) return 0.1 / e end) } })
  for e = 1, 4 do T.eq(h.lr[e], 0.1 / e) end
  if ml.optim and ml.optim.lr and ml.optim.lr.StepLR then
    m = classifier()
    local sched = ml.optim.lr.StepLR(m._compiled.optimizer, { step_size = 2, gamma = 0.5 })
    h = m:fit(X, Y, { epochs = 5, verbose = 0, callbacks = { cb.LearningRateScheduler(sched) } })
    T.eq(table.concat(h.lr, ","), table.concat({ 0.1, 0.1, 0.05, 0.05, 0.025 }, ","))
  end
  T.raises(function() cb.LearningRateScheduler(42) end, "LearningRateScheduler: expected a function(epoch, lr) -> lr or a schedule")
  T.raises(function()
    m:fit(X, Y, { epochs = 1, verbose = 0, callbacks = { cb.LearningRateScheduler(function() return "fast" end) } })
  end, "the function returned fast for epoch 1")
end)

T.test("ReduceLROnPlateau lowers the learning rate after patience epochs without improvement", function()
  local m = classifier()
  local w, text = S.capture()
  local h = m:fit(X, Y, { epochs = 7, output = w, callbacks = {
    script("s", { 3, 2, 2, 2, 2, 2, 2 }), cb.ReduceLROnPlateau{ monitor = "s", patience = 2, factor = 0.5, cooldown = 1, min_lr = 0.02 } } })
  -- lr in the logs is the one used during the epoch; the change shows from the next epoch
  -- (as Keras: the cooldown epoch counts no wait, the next one does)
  T.eq(table.concat(h.lr, ","), table.concat({ 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025 }, ","))
  T.ok(text():find("ReduceLROnPlateau: epoch 4: s stalled at 2.0000; lr 0.1 -> 0.05", 1, true), text())
  T.raises(function() cb.ReduceLROnPlateau{ factor = 2 } end, "factor must be in (0, 1)")
end)

T.test("user callbacks: plain tables get plain calls, Callback classes get self", function()
  local calls = {}
  local plain = {
    on_train_begin = function(logs) calls[#calls + 1] = "train_begin:" .. type(logs) end,
    on_epoch_begin = function(e) calls[#calls + 1] = "epoch_begin:" .. e end,
    on_epoch_end = function(e, logs) calls[#calls + 1] = "epoch_end:" .. e .. ":" .. (logs.loss and "loss" or "") end,
    on_train_end = function(logs) calls[#calls + 1] = "train_end:" .. (logs.loss and "loss" or "") end,
  }
  local Mine = cb.Callback:extend("Mine")
  function Mine:init(o) self.tag = o.tag end
  function Mine:on_epoch_end(e) self.seen = (self.seen or 0) + 1; self.saw_model = self.model ~= nil end
  local mine = Mine{ tag = "x" }
  local m = classifier()
  m:fit(X, Y, { epochs = 2, verbose = 0, callbacks = { plain, mine } })
  T.eq(table.concat(calls, " "), "train_begin:table epoch_begin:1 epoch_end:1:loss epoch_begin:2 epoch_end:2:loss train_end:loss")
  T.eq(mine.seen, 2)
  T.eq(mine.saw_model, true)
  T.eq(mine.tag, "x")
  -- batch hooks: 1-based batch numbers, running loss
  local bs = {}
  m:fit(X, Y, { epochs = 1, batch_size = 50, verbose = 0, callbacks = { { on_batch_end = function(b, logs) bs[#bs + 1] = b end } } })
  T.eq(table.concat(bs, ","), "1,2,3,4")
  T.raises(function() m:fit(X, Y, { verbose = 0, callbacks = { 42 } }) end, "fit: callback 1 is a number, expected a table")
end)

-- The lines a captured bar log shows: each \r redraw and each \n-ended line, escape codes left out.
local function screen_lines(log)
  local out = {}
  for seg in (log:gsub("\27%[K", "")):gmatch("[^\r\n]+") do out[#out + 1] = seg end
  return out
end

T.test("ProgressBar fits its lines to the terminal: samples/s, then metrics go, the bar shrinks", function()
  local m = classifier()
  local extra = { "accuracy", extra = function() return 0.5 end }
  local function run(width, metrics)
    local mm = S.mlp(2, 8, 2, 0)
    mm:compile{ optimizer = S.SGD(mm:parameters(), { lr = 0.1 }), loss = S.CrossEntropyLoss(), metrics = metrics }
    local w, text = S.capture()
    mm:fit(X, Y, { epochs = 2, batch_size = 16, validation_split = 0.2, output = w,
      callbacks = { cb.ProgressBar{ mode = "bar", width = width } } })
    return text()
  end
  for _, width in ipairs({ 40, 60, 80 }) do
    local log = run(width, extra)
    for _, l in ipairs(screen_lines(log)) do
      T.ok(l:match("^validation: ") or #l <= width - 1, string.format("width %d: a line of %d columns: %q", width, #l, l))
    end
  end
  -- at 80 columns: samples/s goes first, the loss stays; a wide terminal shows everything
  local log80 = run(80, extra)
  T.ok(not log80:find("samples/s", 1, true), log80)
  T.ok(log80:find("\repoch 1/2 1/10 [", 1, true) and log80:find("- loss ", 1, true), log80)
  local wide = run(200, extra)
  T.ok(wide:find("samples/s", 1, true) and wide:find("- extra ", 1, true), wide)
  T.ok(wide:find("epoch 2/2 10/10 [====================] - ", 1, true), "the full bar when it fits")
  -- at 40 columns the epoch's line breaks between fields, with an indent, rather than wrapping
  local log40 = run(40, { "accuracy" })
  T.ok(log40:find("\n  val_accuracy ", 1, true) or log40:find("\n  val_loss ", 1, true), log40)
  -- one finished epoch line (plus its continuation lines) per epoch, no leftover bar lines
  local finished = 0
  for line in (log80:gsub("\27%[K", "")):gmatch("[^\n]*\n") do
    local last = line:match("([^\r]*)\n$")
    if last:match("^epoch %d/2 ") then finished = finished + 1; T.ok(not last:find("ETA", 1, true), last) end
  end
  T.eq(finished, 2)
  T.raises(function() cb.ProgressBar{ width = 5 } end, "ProgressBar: width must be an integer >= 20")
  T.ok(m)
end)

T.test("ml._train.term_width: the terminal's columns, else $COLUMNS, else 80", function()
  local w = ml._train.term_width()
  T.ok(math.type(w) == "integer" and w > 0, tostring(w))
  local function width_with(env)
    local p = io.popen(env .. " ./build/moonlab -e 'print(ml._train.term_width())' < /dev/null 2>&1")
    local s = p:read("a")
    p:close()
    return s
  end
  T.eq(width_with("COLUMNS=57"), "57\n", "stdout is a pipe: $COLUMNS")
  T.eq(width_with("env -u COLUMNS"), "80\n", "neither: 80")
  T.eq(width_with("COLUMNS=abc"), "80\n", "a $COLUMNS that is not a number is ignored")
end)

T.test("ModelCheckpoint: a named monitor the logs lack is an error at the first epoch end", function()
  local m = classifier()
  local ok, err = pcall(m.fit, m, X, Y, { epochs = 3, verbose = 0,
    callbacks = { cb.ModelCheckpoint{ path = dir .. "/mon.safetensors", monitor = "val_acc" } } })
  T.ok(not ok)
  T.ok(tostring(err):find("ModelCheckpoint: monitor 'val_acc' is not in the logs; available: loss, accuracy, lr", 1, true), err)
  T.ok(not file_exists(dir .. "/mon.safetensors"), "nothing written")
  -- without a monitor and without save_best_only, every epoch is saved whether or not val_loss exists
  m:fit(X, Y, { epochs = 1, verbose = 0, callbacks = { cb.ModelCheckpoint{ path = dir .. "/nomon.safetensors" } } })
  T.ok(file_exists(dir .. "/nomon.safetensors"))
end)

T.test("ModelCheckpoint: save_last with a templated path is one file, overwritten every epoch", function()
  local sub = dir .. "/tmpl"
  require("lfs").mkdir(sub)
  local m = classifier()
  m:fit(X, Y, { epochs = 3, verbose = 0, callbacks = {
    cb.ModelCheckpoint{ path = sub .. "/m-{epoch:02d}-{loss:.3f}.safetensors", monitor = "loss", save_last = true } } })
  local files = T.listdir(sub)
  T.eq(#files, 4, table.concat(files, " "))
  T.eq(files[4], "m.last.safetensors")
  T.eq(nn.load_checkpoint(sub .. "/m.last.safetensors").epoch, 3, "the last file holds the last epoch")
  local c = cb.ModelCheckpoint{ path = sub .. "/{epoch}.safetensors", save_last = true }
  T.eq(c:format_path_last(), sub .. "/last.safetensors")
  T.eq(cb.ModelCheckpoint{ path = "run.safetensors", save_last = true }:format_path_last(), "run.last.safetensors")
  T.eq(cb.ModelCheckpoint{ path = "ck_{epoch}", save_last = true }:format_path_last(), "ck.last")
  T.raises(function() cb.ModelCheckpoint{ path = "a.safetensors", save_last = "b{epoch}.safetensors" } end,
    "ModelCheckpoint: save_last names one file, overwritten every epoch; it cannot hold {fields}")
  T.raises(function() cb.ModelCheckpoint{ path = "a.safetensors", save_last = "a.safetensors" } end,
    "save_last names the same file as path")
end)

T.test("ModelCheckpoint: a directory that does not exist is an error at construction", function()
  local ok, err = pcall(function()
    local c = cb.ModelCheckpoint{ path = dir .. "/no/such/dir/best.safetensors" }
    return c
  end)
  T.ok(not ok)
  T.ok(err:find("ModelCheckpoint: cannot write path '" .. dir .. "/no/such/dir/best.safetensors': directory '" .. dir
    .. "/no/such/dir': No such file or directory (create it first)", 1, true), err)
  T.ok(err:find("^tests/lua/test_callbacks%.lua:%d+:"), "the caller's line: " .. err)
  T.raises(function() cb.ModelCheckpoint{ path = dir .. "/best.safetensors", save_last = dir .. "/nope/last.safetensors" } end,
    "cannot write save_last '" .. dir .. "/nope/last.safetensors'")
  local f = io.open(dir .. "/afile", "w"); f:write("x"); f:close()
  T.raises(function() cb.ModelCheckpoint{ path = dir .. "/afile/best.safetensors" } end, "Not a directory")
  T.ok(cb.ModelCheckpoint{ path = "best.safetensors" }, "the current directory")
  T.ok(cb.ModelCheckpoint{ path = dir .. "/{epoch}/best.safetensors" }, "a templated directory is filled in per epoch")
end)

T.test("LearningRateScheduler: a ReduceLROnPlateau schedule needs monitor, at construction", function()
  local lr = ml.optim.lr
  local m = classifier()
  local opt = m._compiled.optimizer
  T.raises(function() cb.LearningRateScheduler(lr.ReduceLROnPlateau(opt)) end,
    "LearningRateScheduler: a ReduceLROnPlateau schedule steps on a metric: give {monitor = \"val_loss\"}")
  T.raises(function() cb.LearningRateScheduler(lr.ReduceLROnPlateau(opt), { monitor = "loss", interval = "batch" }) end,
    "cannot take interval \"batch\"")
  local h = m:fit(X, Y, { epochs = 3, verbose = 0, callbacks = {
    cb.LearningRateScheduler(lr.ReduceLROnPlateau(opt, { patience = 0, factor = 0.5, threshold = 10 }), { monitor = "loss" }) } })
  T.eq(table.concat(h.lr, ","), table.concat({ 0.1, 0.05, 0.025 }, ","))
end)

T.test("LearningRateScheduler interval='batch': the history's lr is the rate of the epoch's first batch", function()
  local lr = ml.optim.lr
  local m = classifier()
  local opt = m._compiled.optimizer
  -- 200 rows, batch 50: 4 steps an epoch; the rate halves after every step
  local seen = {}
  local h = m:fit(X, Y, { epochs = 2, batch_size = 50, verbose = 0, callbacks = {
    { on_batch_begin = function(b) if b == 1 then seen[#seen + 1] = opt.param_groups[1].lr end end },
    cb.LearningRateScheduler(lr.ExponentialLR(opt, { gamma = 0.5 }), { interval = "batch" }) } })
  T.eq(h.lr[1], 0.1)
  T.eq(h.lr[2], 0.1 / 16)
  T.eq(h.lr[1], seen[1]); T.eq(h.lr[2], seen[2])
  T.eq(opt.param_groups[1].lr, 0.1 / 256, "the rate after the last step")
end)


T.test("ModelCheckpoint and CSVLogger take the path positionally, as their docs read", function()
  local m = classifier()
  local p1, p2, p3 = dir .. "/pos1.safetensors", dir .. "/pos2.safetensors", dir .. "/pos3.safetensors"
  local csv1, csv2 = dir .. "/pos1.csv", dir .. "/pos2.csv"
  local h = m:fit(X, Y, { epochs = 2, verbose = 0, validation_split = 0.2, callbacks = {
    cb.ModelCheckpoint{ p1 }, cb.ModelCheckpoint(p2, { monitor = "val_accuracy", save_best_only = true }),
    cb.ModelCheckpoint{ p3, monitor = "loss" }, cb.CSVLogger{ csv1 }, cb.CSVLogger(csv2, { separator = ";" }) } })
  T.eq(h.epochs, 2)
  for _, p in ipairs({ p1, p2, p3 }) do T.eq(nn.load_checkpoint(p).epoch ~= nil, true, p) end
  T.eq(cb.ModelCheckpoint(p2, { monitor = "val_accuracy" }).mode, "max")
  local f = io.open(csv2); local head = f:read("l"); f:close()
  T.eq(head, "epoch;accuracy;loss;lr;val_accuracy;val_loss")
  f = io.open(csv1); head = f:read("l"); f:close()
  T.eq(head, "epoch,accuracy,loss,lr,val_accuracy,val_loss")
  T.raises(function() cb.ModelCheckpoint(p1, { path = p2 }) end, "ModelCheckpoint: the path is given twice")
  T.raises(function() cb.ModelCheckpoint{ p1, path = p2 } end, "ModelCheckpoint: the path is given twice")
  T.raises(function() cb.CSVLogger{} end, "CSVLogger: path must be a file name, got nil")
  T.raises(function() cb.CSVLogger(csv1, { sep = ";" }) end, "CSVLogger: unknown option 'sep' (known: append, path, separator)")
  T.raises(function() cb.CSVLogger(dir .. "/no/such/log.csv") end, "CSVLogger: cannot write path '" .. dir .. "/no/such/log.csv'")
end)

T.test("callbacks print their settings", function()
  T.eq(tostring(cb.EarlyStopping{ patience = 3 }),
    "EarlyStopping(monitor='val_loss', mode='min', patience=3, min_delta=0, restore_best=false)")
  T.eq(tostring(cb.ModelCheckpoint("best.safetensors", { monitor = "val_accuracy", save_best_only = true })),
    "ModelCheckpoint(path='best.safetensors', monitor='val_accuracy', mode='max', save_best_only=true)")
  T.eq(tostring(cb.ReduceLROnPlateau{ factor = 0.5 }),
    "ReduceLROnPlateau(monitor='val_loss', mode='min', factor=0.5, patience=10, min_delta=0.0001, cooldown=0, min_lr=0)")
  T.eq(tostring(cb.CSVLogger{ "log.csv" }), "CSVLogger(path='log.csv', sep=',')")
  local Mine = cb.Callback:extend("MyCallback")
  T.eq(tostring(Mine()), "MyCallback()")
  T.ok(Mine():is_a(cb.Callback))
  T.ok(cb.EarlyStopping{}:is_a(cb.Callback))
  T.eq(require("moonlab.core.class").get("EarlyStopping"), cb.EarlyStopping)
end)

T.test("ModelCheckpoint creates a templated directory when it writes", function()
  local m = classifier()
  m:fit(X, Y, { epochs = 2, verbose = 0, callbacks = { cb.ModelCheckpoint(dir .. "/runs/e{epoch}/ck.safetensors") } })
  T.eq(nn.load_checkpoint(dir .. "/runs/e2/ck.safetensors").epoch, 2)
  local f = io.open(dir .. "/plain", "w"); f:write("x"); f:close()
  local ok, err = pcall(function()
    local h = m:fit(X, Y, { epochs = 1, verbose = 0, callbacks = { cb.ModelCheckpoint(dir .. "/plain/e{epoch}/ck.safetensors") } })
    return h
  end)
  T.ok(not ok and err:find("^tests/lua/test_callbacks%.lua:%d+: ModelCheckpoint: cannot create directory"), err)
end)

os.execute("rm -rf " .. dir)
