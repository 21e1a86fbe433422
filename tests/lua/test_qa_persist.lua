-- QA findings on model files and core/persist: each test failed before its fix.
local nn = ml.nn
local format = require "moonlab.core.format"
local persist = require "moonlab.core.persist"
local BIN = T.BIN

-- runs code in a fresh moonlab process; returns its output (stdout and stderr)
local function fresh(code)
  local p = io.popen(BIN .. " -e " .. T.quote(code) .. " 2>&1")
  local out = p:read("a")
  p:close()
  return out
end

-- ---- 1: a compiled model loads in a fresh process ----

T.test("nn.load: a compiled model loads in a process that never used ml.optim", function()
  for _, o in ipairs({ "adam", "sgd", "adamw" }) do
    local path = T.tmpname(".safetensors")
    local m = nn.Linear(3, 2)
    m:compile{ optimizer = o, loss = "mse", metrics = { "mae" } }
    m:save(path)
    local out = fresh("local m = ml.nn.load('" .. path .. "'); local c = rawget(m, '_compiled'); " ..
      "print(getmetatable(c.optimizer).__name, c.loss.__name, c.metrics[1].name)")
    T.ok(out:find("optim%.%a+%s+MSELoss%s+mae") ~= nil, o .. ": " .. out)
  end
end)

T.test("nn.load: a model compiled with an undefined Lua optimizer loads; evaluate works, fit asks for compile", function()
  local path = T.tmpname(".safetensors")
  local Lion = ml.optim.Optimizer:extend("QALion", { options = { { "lr", 0.1 } } })
  function Lion:update(p, g, st, o) p:sub_(g * o.lr) end
  local m = nn.Linear(3, 2)
  m:compile{ optimizer = Lion(m:parameters()), loss = "mse" }
  m:save(path)
  local out = fresh("local m = ml.nn.load('" .. path .. "'); " ..
    "local r = m:evaluate(ml.ones(4, 3), ml.zeros(4, 2)); print('loss', type(r.loss)); " ..
    "print(pcall(m.fit, m, ml.ones(4, 3), ml.zeros(4, 2), {epochs = 1, verbose = 0}))")
  T.ok(out:find("loss\tnumber", 1, true), out)
  T.ok(out:find("optimizer 'QALion', which is not defined here; call model:compile", 1, true), out)
end)

-- ---- 3: file contents quoted escaped and cut ----

T.test("format.excerpt: control bytes and invalid UTF-8 as \\xNN, cut to 40 characters", function()
  T.eq(format.excerpt("plain"), "plain")
  T.eq(format.excerpt("a\27[2J\\\xffé"), "a\\x1b[2J\\\\\\xffé")
  T.eq(format.excerpt(("Y"):rep(50)), ("Y"):rep(40) .. "...")
  T.eq(format.excerpt("\xc2\x85x"), "\\xc2\\x85x") -- a C1 control
end)

T.test("nn.load: a class name or argument with escape bytes comes back escaped and cut", function()
  local path = T.tmpname(".safetensors")
  local evil = "\27[31m" .. ("X"):rep(500)
  ml.save(path, {}, { metadata = { ["moonlab.format"] = "1",
    ["moonlab.model"] = ml.json.encode({ ["$module"] = evil, args = ml.json.array() }) } })
  local err = T.raises(function() nn.load(path) end, "\\x1b[31mXXX")
  T.ok(not err:find("\27", 1, true) and #err < 400, err)
  ml.save(path, {}, { metadata = { ["moonlab.format"] = "1",
    ["moonlab.model"] = ml.json.encode({ ["$module"] = "Linear", args = { "\27[2J" .. ("Y"):rep(500), 2 } }) } })
  err = T.raises(function() nn.load(path) end, "rebuilding Linear failed: nn.Linear:")
  T.ok(not err:find("\27", 1, true) and #err < 400, err)
  T.ok(not err:find("(command line)", 1, true), err) -- 18: no position mid-message
end)

-- ---- 5: core.class objects keep their constructor arguments ----

T.test("persist: a core.class object is rebuilt with its constructor arguments", function()
  local class = require "moonlab.core.class"
  local Scaler = class.Object:extend("QAScaler5")
  function Scaler:init(k, opts) self.k = k; self.opts = opts end
  function Scaler:persist_state() return { tensors = { mean = self.mean }, settings = { fitted = true } } end
  function Scaler:load_persist_state(s) self.mean = s.tensors.mean; self.fitted = s.settings.fitted end
  local s = Scaler(3, { center = true })
  s.mean = ml.tensor{ 1.0, 2.0 }
  local path = T.tmpname(".safetensors")
  persist.save(path, s)
  local r = persist.load(path)
  T.eq(r.k, 3)
  T.eq(r.opts.center, true)
  T.ok(r.fitted and r.mean:equal(s.mean))
  for k in pairs(s) do T.ok(k ~= "_args", "the arguments are not a field") end
end)

T.test("persist.save: a malformed persist_state is an error naming the class", function()
  local class = require "moonlab.core.class"
  local Bad = class.Object:extend("QABadState")
  local path = T.tmpname(".safetensors")
  function Bad:persist_state() return 5 end
  T.raises(function() persist.save(path, Bad()) end, "persist.save: QABadState:persist_state() returned a number, expected {tensors")
  function Bad:persist_state() return { tensor = {} } end
  T.raises(function() persist.save(path, Bad()) end, "QABadState:persist_state() returned a table with the key 'tensor'")
  function Bad:persist_state() return { tensors = 3 } end
  T.raises(function() persist.save(path, Bad()) end, "QABadState:persist_state() returned tensors that are a number")
end)

T.test("persist.save: persist_state() settings that are not a table are an error naming the class (QA2 8)", function()
  local class = require "moonlab.core.class"
  local Bad = class.Object:extend("QA2BadSettings")
  local path = T.tmpname(".safetensors")
  function Bad:persist_state() return { settings = "x" } end
  T.raises(function() persist.save(path, Bad()) end,
    "persist.save: QA2BadSettings:persist_state() returned settings that are a string, expected a JSON-able table")
  function Bad:persist_state() return { settings = 3 } end
  T.raises(function() persist.save(path, Bad()) end, "QA2BadSettings:persist_state() returned settings that are a number")
  function Bad:persist_state() return { settings = { k = 1 } } end
  function Bad:load_persist_state(st) self.k = st.settings.k end
  persist.save(path, Bad())
  T.eq(persist.load(path).k, 1)
end)

-- ---- 6: user classes cannot take a built-in class's name ----

T.test("extend: the name of a built-in class is an error at the user's line; a user class may redefine its own", function()
  local err = T.raises(function() nn.Module:extend("Linear") end,
    "nn.Module:extend: 'Linear' is the name of a built-in class (nn.Linear); choose another name")
  T.ok(err:find("test_qa_persist.lua:%d+:") ~= nil, err)
  T.raises(function() ml.callbacks.Callback:extend("EarlyStopping") end, "'EarlyStopping' is the name of a built-in class")
  T.ok(require("moonlab.core.class").get("Linear") == nn.Linear)
  local A = nn.Module:extend("QARedefined")
  local B = nn.Module:extend("QARedefined")
  T.ok(nn.Module.class_of("QARedefined") == B and A ~= B)
end)

-- ---- 12: nn's public functions name themselves at the user's line ----

T.test("nn: activations, Dropout, load_state_dict, apply, buffer and nn.init name themselves on a bad argument", function()
  local here = "test_qa_persist.lua:%d+: "
  local function at_user(fn, pattern)
    local err = T.raises(fn, pattern)
    T.ok(err:find(here) ~= nil, err)
  end
  for _, name in ipairs({ "ReLU", "Tanh", "Sigmoid", "GELU", "Softmax", "LogSoftmax", "LeakyReLU", "SiLU", "ELU", "Dropout" }) do
    local layer = nn[name]()
    at_user(function() layer(nil) end, "nn." .. name .. ": input must be a tensor, got nil")
    at_user(function() layer("s") end, "nn." .. name .. ": input must be a tensor, got string")
  end
  local m = nn.Linear(2, 2)
  at_user(function() m:load_state_dict(5) end, "load_state_dict: expected a table {name = tensor}")
  at_user(function() m:apply(nil) end, "model:apply: expected a function(module), got nil")
  at_user(function() m:buffer(nil, ml.ones(2)) end, "model:buffer: expected a buffer name string, got nil")
  at_user(function() m:buffer("b", 5) end, "model:buffer: buffer 'b' must be a tensor, got number")
  at_user(function() nn.init.calculate_gain() end, "nn.init.calculate_gain: expected the name of a nonlinearity")
  at_user(function() nn.init.fans() end, "nn.init.fans: expected a tensor, got nil")
  T.near(nn.init.calculate_gain("relu"), math.sqrt(2), 1e-12)
end)

-- ---- 11: Sequential's elements are checked ----

T.test("nn.Sequential: a non-module element, a hole or index 0 is a clear error at assignment, forward and save", function()
  local s = nn.Sequential{ nn.Linear(2, 3) }
  s[1] = 5 -- replacing an element is a plain write: forward and save find it
  T.raises(function() s(ml.ones(1, 2)) end, "Sequential[1]: element 1 is a number, not a module")
  T.raises(function() s:save(T.tmpname(".safetensors")) end, "model:save: Sequential[1]: element 1 is a number, not a module")
  local t = nn.Sequential{ nn.Linear(2, 3) }
  T.raises(function() t[3] = nn.ReLU() end, "Sequential: cannot set [3]: positions are 1..1 (the next is 2)")
  T.raises(function() t[0] = nn.ReLU() end, "Sequential: cannot set [0]")
  T.raises(function() t[2] = 7 end, "Sequential[2]: element 2 is a number, not a module")
  rawset(t, 0, nn.ReLU())
  T.raises(function() t(ml.ones(1, 2)) end, "Sequential[0]: element at index 0 is outside the positions 1..1")
  T.raises(function() t:save(T.tmpname(".safetensors")) end, "Sequential[0]: element at index 0 is outside")
  local u = nn.Sequential{ nn.Linear(2, 3) }
  u[2] = nn.ReLU()
  T.eq(u(ml.ones(1, 2)):shape()[2], 3)
  T.eq(#u, 2)
end)

-- ---- 17: module graphs with a cycle ----

T.test("a module graph with a cycle prints with the repeat marked and is an error to save", function()
  local Net = nn.Module:extend("QACycleNet")
  function Net:init() self.l = nn.Linear(2, 2) end
  local a, b = Net(), Net()
  a.b = b
  b.a = a
  local text = tostring(a)
  T.ok(text:find("(a): <cycle: QACycleNet>", 1, true) ~= nil, text)
  T.raises(function() a:save(T.tmpname(".safetensors")) end,
    "model:save: the model has a cycle: QACycleNet.a is a QACycleNet that contains it")
end)

-- ---- 18: model:save() with no path, called through pcall ----

T.test("model:save with no path, called as pcall(m.save, m), is an error at the user's line", function()
  local m = nn.Linear(2, 2)
  local ok, err = pcall(m.save, m)
  T.ok(not ok and err:find("^[^\n]*test_qa_persist%.lua:%d+: model:save: expected a file path, got nil") ~= nil, err)
end)

-- ---- 4: shared modules and tensors added after construction survive save and load ----

T.test("nn.load: a shared module is rebuilt as one object; buffers and parameters added after construction load", function()
  local path = T.tmpname(".safetensors")
  local sh = nn.Linear(2, 2)
  local S = nn.Sequential{ sh, nn.ReLU(), sh }
  S:save(path)
  local r = nn.load(path)
  T.ok(rawequal(r[1], r[3]), "the shared child is one object")
  T.eq(#r:parameters(), 2)
  local x = ml.randn(3, 2)
  T.ok(r(x):equal(S(x)))
  local b = nn.Linear(2, 2)
  b:buffer("extra_buf", ml.tensor{ 1.0, 2.0, 3.0 })
  b.newp = ml.tensor({ 4.0, 5.0 }, { requires_grad = true })
  b:save(path)
  local rb = nn.load(path)
  T.ok(rb.extra_buf:equal(b.extra_buf) and rb.named_buffers and rb:named_buffers()[1][1] == "extra_buf")
  T.ok(rb.newp:equal(b.newp) and rb.newp:is_requires_grad())
  T.eq(#rb:parameters(), 3)
  -- a shared module two levels down, referenced from another branch
  local Net = nn.Module:extend("QASharedNet")
  function Net:init() self.a = nn.Sequential{ nn.Linear(2, 2) }; self.b = nn.Linear(2, 2) end
  local n = Net()
  n.b = n.a[1]
  n:save(path)
  local rn = nn.load(path)
  T.ok(rawequal(rn.b, rn.a[1]))
end)

-- ---- 2: a tiny file cannot make nn.load allocate gigabytes ----

T.test("ml.alloc_budget caps how much a thread's live tensor storage grows, then is lifted", function()
  local prev = ml.alloc_budget(1024)
  T.eq(prev, nil)
  local a = ml.zeros(100) -- 400 bytes, a 448-byte block
  T.raises(function() ml.zeros(1000) end, "past the allocation budget")
  local left, exceeded = ml.alloc_budget(nil)
  T.eq(left, 1024 - 448)
  T.eq(exceeded, true)
  T.eq(ml.zeros(1000):numel(), 1000)
  T.eq(a:numel(), 100)
end)

-- ---- QA2 3: the budget counts what the constructors keep, not every temporary ----

T.test("ml.alloc_budget: storage freed while it is set makes room again (the block cache's too)", function()
  collectgarbage()
  ml.empty_cache() -- a cached block may be up to twice the size asked for, and counts whole
  ml.alloc_budget(3 * 1024 * 1024)
  local ok, err = pcall(function()
    for _ = 1, 20 do
      local t = ml.empty(256 * 1024) -- 1 MiB, freed (to the block cache) before the next
      t = nil
      collectgarbage()
    end
    local keep = { ml.empty(256 * 1024), ml.empty(256 * 1024), ml.empty(256 * 1024) }
    T.raises(function() ml.empty(256 * 1024) end, "past the allocation budget") -- a fourth MiB kept at once
    return keep
  end)
  ml.alloc_budget(nil)
  T.ok(ok, err)
end)

T.test("nn.load: a constructor computing with temporaries loads; a 64 MiB unsaved mask loads", function()
  local path = T.tmpname(".safetensors")
  local C = nn.Module:extend("QA2Temp")
  function C:init(d)
    self.l = nn.Linear(d, d)
    local p = ml.zeros(256, 1024) -- 1 MiB, 400 MiB of temporaries in all
    for _ = 1, 200 do p = (p + 1) * 0.5 end
    self.scale = p:mean():item()
  end
  function C:forward(x) return self.l(x) * self.scale end
  local c = C(16)
  c:save(path)
  local r = nn.load(path)
  local x = ml.randn(2, 16)
  T.ok(r(x):equal(c(x)))
  local Mask = nn.Module:extend("QA2Mask")
  function Mask:init(d) self.l = nn.Linear(d, d); self.mask = ml.ones(4096, 4096) end -- not saved
  function Mask:forward(x) return self.l(x) end
  Mask(8):save(path)
  T.eq(nn.load(path).mask:numel(), 4096 * 4096)
  T.eq(select(1, ml.alloc_budget(nil)), nil) -- no budget left behind
end)

T.test("nn.load: an architecture that needs far more memory than the file's weights is refused before allocating", function()
  local path = T.tmpname(".safetensors")
  local function crafted(node)
    ml.save(path, {}, { metadata = { ["moonlab.format"] = "1", ["moonlab.model"] = ml.json.encode(node) } })
  end
  local msg = "the architecture needs more memory than the weights in the file (0.0 MiB); refusing to build it " ..
    "(use {trusted = true} for your own files)"
  local before = ml.memory_stats().allocated
  local t0 = os.clock()
  crafted({ ["$module"] = "Linear", args = { 20000, 20000 } })
  T.raises(function() nn.load(path) end, "nn.load: '" .. path .. "': " .. msg)
  crafted({ ["$module"] = "LayerNorm", args = { { 100000, 100000 } } })
  T.raises(function() nn.load(path) end, msg)
  crafted({ ["$module"] = "Sequential", args = { { { ["$module"] = "Linear", args = { 12000, 12000 } },
    { ["$module"] = "Linear", args = { 12000, 12000 } }, { ["$module"] = "Linear", args = { 12000, 12000 } } } } })
  T.raises(function() nn.load(path) end, msg)
  T.ok(os.clock() - t0 < 2, "refused fast")
  T.ok(ml.memory_stats().allocated - before < 128 * 1024 * 1024, "without allocating the tensors")
  T.eq(select(1, ml.alloc_budget(nil)), nil) -- no budget left behind
  -- a real model, compiled, loads under its budget
  local m = nn.Sequential{ nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 2) }
  m:compile{ optimizer = "adam", loss = "cross_entropy" }
  m:save(path)
  T.eq(#nn.load(path):parameters(), 6)
end)

-- ---- QA2 1: constructor arguments are not judged as sizes; the budget alone refuses crafted files ----

T.test("nn.load: class counts, seeds and lengths larger than any tensor dimension load (transfer learning)", function()
  local path = T.tmpname(".safetensors")
  local Net = nn.Module:extend("QA2Pretrained")
  function Net:init(d, n) self.body = nn.Sequential{ nn.Linear(d, d), nn.ReLU() }; self.head = nn.Linear(d, n) end
  function Net:forward(x) return self.head(self.body(x)) end
  local net = Net(256, 5000)
  net.head = nn.Linear(256, 10)
  net:save(path)
  local r = nn.load(path)
  local x = ml.randn(2, 256)
  T.ok(r(x):equal(net(x)))
  local N = nn.Module:extend("QA2Seeded")
  function N:init(i, o, opts) self.seed = opts.seed; self.l = nn.Linear(i, o) end
  function N:forward(x) return self.l(x) end
  N(784, 10, { seed = 20260101 }):save(path)
  T.eq(nn.load(path).seed, 20260101)
  local PE = nn.Module:extend("QA2Positional")
  function PE:init(len, d) self.pe = ml.zeros(len, d); self.l = nn.Linear(d, 2) end -- pe not saved
  function PE:forward(x) return self.l(x) end
  PE(5000, 512):save(path)
  T.eq(nn.load(path).pe:shape()[1], 5000)
  local Big = nn.Module:extend("QA2Big")
  function Big:init(d, n) self.body = nn.Linear(d, d); self.head = nn.Linear(d, n) end -- head: 164 MB when built
  function Big:forward(x) return self.head(self.body(x)) end
  local big = Big(2048, 20000)
  big.head = nn.Linear(2048, 3)
  big:save(path)
  big = nil
  collectgarbage()
  T.eq(nn.load(path).head.out_features, 3)
end)

-- ---- QA2 5: tensors the constructor makes but the saved module no longer had ----

T.test("nn.load: a parameter or buffer removed before saving is removed again; one the node lists but the file lacks is refused", function()
  local path = T.tmpname(".safetensors")
  local l = nn.Linear(4, 2)
  l.bias = nil
  local x = ml.randn(3, 4)
  local y = l(x)
  l:save(path)
  local r = nn.load(path)
  T.eq(r.bias, nil)
  T.ok(r(x):equal(y))
  T.eq(#r:parameters(), 1)
  -- inside a model, a child the constructor made and kept
  local Net = nn.Module:extend("QA2NoBias")
  function Net:init() self.a = nn.Linear(4, 4); self.b = nn.BatchNorm1d(4) end
  function Net:forward(v) return self.b(self.a(v)) end
  local n = Net()
  n.a.bias = nil
  n.b.running_var = nil
  n:save(path)
  local rn = nn.load(path)
  T.eq(rn.a.bias, nil)
  T.eq(rn.b.running_var, nil)
  T.ok(rn.b.running_mean ~= nil and rn.a.weight:equal(n.a.weight))
  -- a file whose node still lists the bias but lacks its tensor is damaged, as before
  nn.Linear(4, 2):save(path)
  local t, meta = ml.load(path)
  t.bias = nil
  ml.save(path, t, { metadata = meta })
  T.raises(function() nn.load(path) end, "missing bias")
end)

T.test("nn: named_modules and nn.init.fans ignore arguments meant for the library; persist_node checks its context", function()
  local s = nn.Sequential{ nn.Linear(2, 3), nn.ReLU() }
  T.eq(#s:named_modules({}), 3)
  T.eq(#nn.Linear(2, 3):named_modules(nn.Linear(2, 2), { foo = 1 }), 1)
  T.raises(function() nn.init.fans({}, {}) end, "nn.init.fans: expected a tensor, got table")
  T.raises(function() s:persist_node() end, "model:persist_node: expected core/persist's context")
end)

T.test("nn.load: the allocation budget allows for shared modules the constructors build more than once", function()
  local path = T.tmpname(".safetensors")
  local sh = nn.Linear(3000, 3000) -- 36 MB, built 5 times by Sequential's constructor
  nn.Sequential{ sh, sh, sh, sh, sh }:save(path)
  local r = nn.load(path)
  T.ok(rawequal(r[1], r[5]) and r[1].weight:equal(sh.weight))
end)

T.test("nn.load: tensor names from the file are escaped in messages too", function()
  local path = T.tmpname(".safetensors")
  local m = nn.Linear(2, 2)
  local tensors = m:state_dict()
  tensors["\27[2Jodd" .. ("Z"):rep(300)] = ml.zeros(1)
  m:save(path)
  local _, meta = ml.load(path)
  ml.save(path, tensors, { metadata = meta })
  local err = T.raises(function() nn.load(path) end, "unexpected \\x1b[2JoddZZ")
  T.ok(not err:find("\27", 1, true) and #err < 600, err)
  err = T.raises(function() nn.Linear(2, 2):load_weights(path) end, "unexpected \\x1b[2Jodd")
  T.ok(not err:find("\27", 1, true), err)
end)

T.test("nn.load: a model whose optimizer class is missing keeps it when saved again; a reference to an ancestor is refused", function()
  local path = T.tmpname(".safetensors")
  local m = nn.Linear(3, 2)
  m:compile{ optimizer = "adam", loss = "mse" }
  m:save(path)
  local _, meta = ml.load(path)
  local rec = ml.json.decode(meta["moonlab.compile"])
  rec.optimizer.class = "QANotDefinedOpt"
  meta["moonlab.compile"] = ml.json.encode(rec)
  ml.save(path, m:state_dict(), { metadata = meta })
  local r = nn.load(path)
  T.raises(function()
    r:fit(ml.ones(4, 3), ml.zeros(4, 2), { epochs = 1, verbose = 0,
      callbacks = { ml.callbacks.LearningRateScheduler(function() return 0.1 end) } })
  end, "optimizer 'QANotDefinedOpt', which is not defined here; call model:compile")
  local path2 = T.tmpname(".safetensors")
  r:save(path2)
  local _, meta2 = ml.load(path2)
  T.eq(ml.json.decode(meta2["moonlab.compile"]).optimizer.class, "QANotDefinedOpt")
  -- a crafted reference to the module that contains it
  local s = nn.Sequential{ nn.Sequential{ nn.Linear(2, 2) } }
  s:save(path)
  _, meta = ml.load(path)
  local arch = ml.json.decode(meta["moonlab.model"])
  arch.children[1].node.children[1] = { key = 1, ref = "1" }
  meta["moonlab.model"] = ml.json.encode(arch)
  ml.save(path, s:state_dict(), { metadata = meta })
  T.raises(function() nn.load(path) end, "a child refers to the module at '1', which contains it (a cycle); the file is damaged")
end)

T.test("frozen parameters stay in state_dict and model files, and load frozen (transfer learning)", function()
  local nn = ml.nn
  local m = nn.Sequential{ nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2) }
  m[1].weight:requires_grad(false)
  m[1].bias:requires_grad(false)
  T.eq(#m:parameters(), 2, "frozen ones leave the optimizer's list")
  T.ok(m:state_dict()["1.weight"] ~= nil and m:state_dict()["1.bias"] ~= nil, "but stay in state_dict")
  local p = T.tmpname(".safetensors")
  m:save(p)
  local r = nn.load(p)
  T.eq(#r:parameters(), 2)
  T.eq(r[1].weight:is_requires_grad(), false)
  T.eq((r[1].weight - m[1].weight):abs():max():item(), 0)
  local x = ml.randn(3, 4)
  T.eq((r(x) - m(x)):abs():max():item(), 0)
  -- load_state_dict into a fresh model expects the frozen tensors too
  local fresh = nn.Sequential{ nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2) }
  fresh:load_state_dict(m:state_dict())
  T.eq((fresh(x) - m(x)):abs():max():item(), 0)
end)
