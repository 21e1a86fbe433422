-- fit's fused training step (train/fused.lua, runtime/ops/train_step.c): for
-- every supported layer, loss reduction and optimizer, the fused run gives
-- the general run's numbers bit for bit (losses, trained weights, optimizer
-- state); everything unsupported falls back silently; switching paths
-- mid-training continues exactly; the C step declines what it cannot run.
local nn, optim = ml.nn, ml.optim

local N, D = 200, 6 -- 200 rows in batches of 32: the last batch has 8

local function data(dtype)
  ml.seed(11)
  local x = ml.randn({ N, D })
  local y = (x:narrow(2, 1, 1) * 0.7 - x:narrow(2, 2, 1):tanh() + 0.1 * ml.randn({ N, 1 })):contiguous()
  if dtype then x, y = x:to(dtype), y:to(dtype) end
  return x, y
end

local function values(ts)
  local out = {}
  for i, t in ipairs(ts) do out[i] = t:reshape(-1):tolist() end
  return out
end

-- The optimizer state of every parameter, as plain numbers.
local function opt_state(opt, params)
  local out = {}
  for i, p in ipairs(params) do
    local st = opt:state_of(p) or {}
    local names = {}
    for k in pairs(st) do names[#names + 1] = k end
    table.sort(names)
    local row = {}
    for _, k in ipairs(names) do
      local v = st[k]
      row[#row + 1] = { k, ml.is_tensor(v) and v:reshape(-1):tolist() or v }
    end
    out[i] = row
  end
  return out
end

local function same(a, b, what)
  if type(a) == "table" then
    T.eq(type(b), "table", what)
    T.eq(#a, #b, what .. " (length)")
    for k, v in pairs(a) do same(v, b[k], what .. "." .. tostring(k)) end
    return
  end
  if a ~= b and not (a ~= a and b ~= b) then
    error(string.format("%s: fused %.17g, general %.17g", what, tostring(a) == a and 0 or a, b), 2)
  end
end

-- One seeded run: {losses, weights, state, fused_steps, history}.
local function run(spec, fused, opts)
  local x, y = (spec.data or data)(spec.dtype)
  ml.seed(3)
  local model = spec.model()
  local opt = spec.opt(model)
  model:compile{ optimizer = opt, loss = spec.loss and spec.loss() or nn.MSELoss() }
  local fo = { epochs = spec.epochs or 3, batch_size = 32, verbose = 0, seed = 5, fused = fused }
  for k, v in pairs(opts or {}) do fo[k] = v end
  local h = model:fit(x, y, fo)
  local ps = model:parameters()
  return { loss = h.loss, weights = values(ps), state = opt_state(opt, ps), fused = h.fused_steps, h = h,
    model = model, x = x }
end

local function seq(act, bias)
  return function()
    local layers = { nn.Linear(D, 16, { bias = bias ~= false }) }
    for _, a in ipairs(type(act) == "table" and act or { act }) do layers[#layers + 1] = a() end
    layers[#layers + 1] = nn.Linear(16, 1, { bias = bias ~= false })
    return nn.Sequential(layers)
  end
end

local ACTS = {
  ReLU = function() return nn.ReLU() end,
  Tanh = function() return nn.Tanh() end,
  Sigmoid = function() return nn.Sigmoid() end,
  GELU = function() return nn.GELU() end,
  LeakyReLU = function() return nn.LeakyReLU(0.1) end,
  ["Identity+Dropout(0)"] = { function() return nn.Identity() end, function() return nn.Dropout(0) end },
}
local OPTS = {
  SGD = function(m) return optim.SGD(m:parameters(), { lr = 0.05 }) end,
  ["SGD momentum+wd"] = function(m) return optim.SGD(m:parameters(), { lr = 0.02, momentum = 0.9, weight_decay = 1e-3 }) end,
  ["SGD nesterov+dampening 0"] = function(m) return optim.SGD(m:parameters(), { lr = 0.02, momentum = 0.8, nesterov = true }) end,
  Adam = function(m) return optim.Adam(m:parameters(), { lr = 1e-2 }) end,
  ["Adam amsgrad+wd"] = function(m) return optim.Adam(m:parameters(), { lr = 1e-2, amsgrad = true, weight_decay = 1e-2 }) end,
  AdamW = function(m) return optim.AdamW(m:parameters(), { lr = 1e-2 }) end,
  RMSprop = function(m) return optim.RMSprop(m:parameters(), { lr = 1e-3, momentum = 0.5 }) end,
  Adagrad = function(m) return optim.Adagrad(m:parameters(), { lr = 1e-2 }) end,
}

local function check_same(spec, label)
  local f, g = run(spec, true), run(spec, false)
  T.ok(f.fused > 0, label .. ": the fused step ran")
  T.eq(g.fused, 0, label .. ": fused = false keeps the general path")
  same(f.loss, g.loss, label .. ": losses")
  same(f.weights, g.weights, label .. ": weights")
  same(f.state, g.state, label .. ": optimizer state")
  return f, g
end

for aname, act in pairs(ACTS) do
  T.test("fused step: " .. aname .. " with Adam gives the general run bit for bit", function()
    check_same({ model = seq(act), opt = OPTS.Adam }, aname)
  end)
end

for oname, mk in pairs(OPTS) do
  T.test("fused step: " .. oname .. " gives the general run bit for bit (weights and state)", function()
    check_same({ model = seq(ACTS.Tanh), opt = mk }, oname)
  end)
end

T.test("fused step: Linear without bias, a deeper chain, and MSE reduced by sum", function()
  check_same({ model = seq(ACTS.ReLU, false), opt = OPTS.SGD }, "no bias")
  check_same({ model = function()
    return nn.Sequential{ nn.Linear(D, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3), nn.Sigmoid(), nn.Linear(3, 1) }
  end, opt = OPTS.Adam }, "deep")
  check_same({ model = seq(ACTS.GELU), opt = OPTS.SGD, loss = function() return nn.MSELoss{ reduction = "sum" } end }, "sum")
  check_same({ model = function() return nn.Sequential{ nn.Tanh(), nn.Linear(D, 1) } end, opt = OPTS.Adam }, "activation first")
end)

-- Three classes from the same inputs: int64 labels 1..3, and 0/1 float targets.
local function classes()
  local x, y = data()
  local lab = (y:gt(0.3):to("int64") + y:gt(-0.3):to("int64") + 1):reshape(-1):contiguous()
  return x, lab
end
local function binary()
  local x, y = data()
  return x, y:gt(0):to("float32")
end
local function head(k)
  return function()
    return nn.Sequential{ nn.Linear(D, 16), nn.ReLU(), nn.Linear(16, k) }
  end
end

T.test("fused step: cross-entropy and BCE on logits (mean and sum) give the general run bit for bit", function()
  for _, red in ipairs{ "mean", "sum" } do
    check_same({ model = head(3), opt = OPTS.Adam, data = classes,
      loss = function() return nn.CrossEntropyLoss{ reduction = red } end }, "cross-entropy " .. red)
    check_same({ model = head(1), opt = OPTS["SGD momentum+wd"], data = binary,
      loss = function() return nn.BCEWithLogitsLoss{ reduction = red } end }, "BCE with logits " .. red)
  end
end)

T.test("fused step: labels out of range are the general path's error; the C step declines them", function()
  local x, lab = classes()
  lab[150] = 7
  local m = head(3)()
  m:compile{ optimizer = OPTS.Adam(m), loss = nn.CrossEntropyLoss() }
  T.raises(function() m:fit(x, lab, { epochs = 1, batch_size = 32, shuffle = false, verbose = 0 }) end, "has label 7")
  local opt = OPTS.SGD(m)
  local specs = { { kind = "linear", weight = m[1].weight, bias = m[1].bias }, { kind = "relu" },
    { kind = "linear", weight = m[3].weight, bias = m[3].bias } }
  for _, p in ipairs(m:parameters()) do p.grad = ml.zeros_like(p) end
  local plan = ml._train.plan(specs, D, 4, "cross_entropy", "mean", rawget(opt, "_cblocks"))
  local xb = x:narrow(1, 1, 4):contiguous()
  local before = m[1].weight:clone()
  for _, bad in ipairs{ { 1, 2, 4, 1 }, { 0, 1, 2, 3 } } do
    T.eq(ml._train.step(plan, xb, ml.tensor(bad, { dtype = "int64" })), nil, "label out of range: declined")
  end
  T.eq(ml._train.step(plan, xb, ml.tensor({ 1, 2, 3, 1 }):to("float32")), nil, "float labels: declined")
  T.all_near(m[1].weight, before, 0, "nothing touched")
  T.ok(ml._train.step(plan, xb, ml.tensor({ 1, 2, 3, 1 }, { dtype = "int64" })), "int64 labels 1..3 run")
  -- class weights, smoothing, pos_weight: the general path
  local cases = {
    { nn.CrossEntropyLoss{ weight = ml.tensor{ 1, 2, 1 }:to("float32") }, classes, 3 },
    { nn.CrossEntropyLoss{ label_smoothing = 0.1 }, classes, 3 },
    { nn.BCEWithLogitsLoss{ pos_weight = ml.tensor{ 2 }:to("float32") }, binary, 1 },
  }
  for i, c in ipairs(cases) do
    local xx, yy = c[2]()
    local mm = head(c[3])()
    mm:compile{ optimizer = OPTS.Adam(mm), loss = c[1] }
    T.eq(mm:fit(xx, yy, { epochs = 1, batch_size = 32, verbose = 0 }).fused_steps, 0, "case " .. i)
  end
end)

T.test("fused step: two parameter groups, and a wider model at 2 threads, give the general run bit for bit", function()
  check_same({ model = seq(ACTS.Tanh), opt = function(m)
    return optim.Adam({ { params = { m[1].weight, m[1].bias }, lr = 1e-2 }, { params = { m[3].weight, m[3].bias }, lr = 1e-3 } })
  end }, "two groups")
  local threads = ml.threads()
  ml.threads(2)
  local ok, err = pcall(check_same, { model = function()
    return nn.Sequential{ nn.Linear(D, 96), nn.GELU(), nn.Linear(96, 64), nn.ReLU(), nn.Linear(64, 1) }
  end, opt = OPTS.AdamW }, "2 threads")
  ml.threads(threads)
  if not ok then error(err, 0) end
end)

T.test("fused step: fit counts its fused batches; the first batch of a fit is checked by the general path", function()
  local f = run({ model = seq(ACTS.ReLU), opt = OPTS.Adam, epochs = 2 }, nil)
  T.eq(f.fused, 2 * 7 - 1, "7 batches an epoch, the first of the fit general")
end)

T.test("fused step: switching paths mid-training continues exactly (k fused + k general == 2k general)", function()
  for _, oname in ipairs{ "Adam", "SGD momentum+wd" } do
    local function two(first, second)
      local x, y = data()
      ml.seed(3)
      local model = seq(ACTS.Tanh)()
      local opt = OPTS[oname](model)
      model:compile{ optimizer = opt, loss = nn.MSELoss() }
      local h1 = model:fit(x, y, { epochs = 2, batch_size = 32, verbose = 0, seed = 5, fused = first })
      local h2 = model:fit(x, y, { epochs = 4, initial_epoch = 2, batch_size = 32, verbose = 0, seed = 5, fused = second })
      local ps = model:parameters()
      return { h1.loss[1], h1.loss[2], h2.loss[1], h2.loss[2] }, values(ps), opt_state(opt, ps)
    end
    local l1, w1, s1 = two(true, false)
    local l2, w2, s2 = two(false, true)
    local x, y = data()
    ml.seed(3)
    local model = seq(ACTS.Tanh)()
    local opt = OPTS[oname](model)
    model:compile{ optimizer = opt, loss = nn.MSELoss() }
    local h = model:fit(x, y, { epochs = 4, batch_size = 32, verbose = 0, seed = 5, fused = false })
    local ps = model:parameters()
    local w3, s3 = values(ps), opt_state(opt, ps)
    same(l1, h.loss, oname .. ": fused then general, losses")
    same(l2, h.loss, oname .. ": general then fused, losses")
    same(w1, w3, oname .. ": fused then general, weights")
    same(w2, w3, oname .. ": general then fused, weights")
    same(s1, s3, oname .. ": fused then general, state")
    same(s2, s3, oname .. ": general then fused, state")
  end
end)

T.test("fused step: the trained weights are the model's own (parameters, predict, state_dict)", function()
  local f = run({ model = seq(ACTS.ReLU), opt = OPTS.Adam }, true)
  local m = f.model
  local w = m[1].weight
  T.ok(rawequal(m:parameters()[1], w), "the same tensor objects")
  same(w:reshape(-1):tolist(), f.weights[1], "parameters() see the trained values")
  local p = m:predict(f.x)
  m:eval()
  local direct = ml.no_grad(function() return m(f.x) end)
  T.all_near(p, direct, 0, "predict uses the trained weights")
  local sd = m:state_dict()
  T.all_near(sd["0.weight"] or sd["1.weight"], w, 0, "state_dict holds them")
end)

T.test("fused step: the general path for what the plan does not cover, with the same results", function()
  local Custom = nn.Module:extend("FusedTestNet")
  function Custom:init() self.a = nn.Linear(D, 4); self.b = nn.Linear(4, 1) end
  function Custom:forward(x) return self.b(self.a(x):relu()) end
  local cases = {
    { "custom Module", { model = function() return Custom() end, opt = OPTS.Adam } },
    { "SiLU", { model = seq(function() return nn.SiLU() end), opt = OPTS.Adam } },
    { "Dropout(0.5)", { model = seq(function() return nn.Dropout(0.5) end), opt = OPTS.Adam } },
    { "GELU tanh", { model = seq(function() return nn.GELU{ approximate = "tanh" } end), opt = OPTS.Adam } },
    { "L1 loss", { model = seq(ACTS.ReLU), opt = OPTS.Adam, loss = function() return nn.L1Loss() end } },
    { "float64", { model = function()
      return nn.Sequential{ nn.Linear(D, 4, { dtype = "float64" }), nn.ReLU(), nn.Linear(4, 1, { dtype = "float64" }) }
    end, opt = OPTS.Adam, dtype = "float64" } },
    { "optimizer over a subset", { model = seq(ACTS.ReLU), opt = function(m) return optim.Adam({ m[1].weight }, { lr = 1e-2 }) end } },
    { "a forward set on the instance", { model = function()
      local s = seq(ACTS.ReLU)()
      local f = nn.Sequential.forward
      s.forward = function(self, x) return f(self, x) end
      return s
    end, opt = OPTS.Adam } },
  }
  for _, c in ipairs(cases) do
    local a, b = run(c[2], true), run(c[2], false)
    T.eq(a.fused, 0, c[1] .. ": no fused batch")
    same(a.loss, b.loss, c[1] .. ": losses")
  end
  -- metrics, a per-batch callback, validation_split (its loader is over a subset: the per-batch form)
  local spec = { model = seq(ACTS.ReLU), opt = OPTS.Adam }
  local seen = 0
  local cb = { on_batch_end = function() seen = seen + 1 end }
  local with = {
    { "metrics", nil, function(m) m:compile{ optimizer = OPTS.Adam(m), loss = nn.MSELoss(), metrics = { "mae" } } end },
    { "batch callback", { callbacks = { cb } } },
  }
  for _, w in ipairs(with) do
    local x, y = data()
    ml.seed(3)
    local m = spec.model()
    if w[3] then w[3](m) else m:compile{ optimizer = OPTS.Adam(m), loss = nn.MSELoss() } end
    local o = { epochs = 2, batch_size = 32, verbose = 0, seed = 5 }
    for k, v in pairs(w[2] or {}) do o[k] = v end
    T.eq(m:fit(x, y, o).fused_steps, 0, w[1] .. ": general path")
  end
  T.ok(seen > 0, "the batch callback ran")
  local f, g = run(spec, true, { validation_split = 0.25 }), run(spec, false, { validation_split = 0.25 })
  T.ok(f.fused > 0, "validation_split: fused per batch")
  same(f.loss, g.loss, "validation_split: losses")
  same(f.h.val_loss, g.h.val_loss, "validation_split: val_loss")
  same(f.weights, g.weights, "validation_split: weights")
end)

T.test("fused step: an epoch callback that changes the learning rate keeps the fused step, with the same results", function()
  local sched = function(opt)
    return { on_epoch_begin = function(epoch) opt.param_groups[1].lr = 0.05 / epoch end }
  end
  local function go(fused)
    local x, y = data()
    ml.seed(3)
    local m = seq(ACTS.Tanh)()
    local opt = OPTS.SGD(m)
    m:compile{ optimizer = opt, loss = nn.MSELoss() }
    local h = m:fit(x, y, { epochs = 3, batch_size = 32, verbose = 0, seed = 5, fused = fused, callbacks = { sched(opt) } })
    return h, values(m:parameters())
  end
  local hf, wf = go(true)
  local hg, wg = go(false)
  T.ok(hf.fused_steps > 0, "fused with an epoch callback")
  same(hf.loss, hg.loss, "losses")
  same(wf, wg, "weights")
end)

T.test("fused step: a non-finite loss stops fit at the same batch with the same message", function()
  local spec = { model = seq(ACTS.ReLU), opt = function(m) return optim.SGD(m:parameters(), { lr = 1e6 }) end, epochs = 5 }
  local f, g = run(spec, true), run(spec, false)
  T.eq(f.h.stop_reason, "nan")
  T.eq(g.h.stop_reason, "nan")
  T.eq(f.h.message, g.h.message)
  same(f.weights, g.weights, "weights at the stop")
end)

T.test("fused step: MOONLAB_FUSED=0 turns it off; fused must be a boolean", function()
  local code = "local nn = ml.nn; ml.seed(1); local x, y = ml.randn({64, 3}), ml.randn({64, 1}); "
    .. "local m = nn.Sequential{nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1)}; "
    .. "m:compile{optimizer = ml.optim.SGD(m:parameters()), loss = nn.MSELoss()}; "
    .. "print(m:fit(x, y, {epochs = 1, verbose = 0}).fused_steps)"
  local on = T.capture(T.BIN .. " -e " .. T.quote(code))
  local off = T.capture("MOONLAB_FUSED=0 " .. T.BIN .. " -e " .. T.quote(code))
  T.eq(on:match("%d+"), "1", "two batches, the first general")
  T.eq(off:match("%d+"), "0", "MOONLAB_FUSED=0")
  local m = seq(ACTS.ReLU)()
  m:compile{ optimizer = OPTS.SGD(m), loss = nn.MSELoss() }
  local x, y = data()
  T.raises(function() m:fit(x, y, { fused = "yes", verbose = 0 }) end, "fused' must be a boolean")
end)

T.test("fused step: the C step declines batches and gradients it cannot run, and touches nothing", function()
  ml.seed(2)
  local l1, l2 = nn.Linear(4, 3), nn.Linear(3, 2)
  local opt = optim.SGD({ l1.weight, l1.bias, l2.weight, l2.bias }, { lr = 0.1 })
  local specs = { { kind = "linear", weight = l1.weight, bias = l1.bias }, { kind = "relu" },
    { kind = "linear", weight = l2.weight, bias = l2.bias } }
  local plan = ml._train.plan(specs, 4, 8, "mse", "mean", rawget(opt, "_cblocks"))
  local x, y = ml.randn({ 8, 4 }), ml.randn({ 8, 2 })
  T.eq(ml._train.step(plan, x, y), nil, "no .grad yet: declined")
  for _, p in ipairs{ l1.weight, l1.bias, l2.weight, l2.bias } do p.grad = ml.zeros_like(p) end
  local before = l1.weight:clone()
  T.eq(ml._train.step(plan, ml.randn({ 9, 4 }), ml.randn({ 9, 2 })), nil, "more rows than planned")
  T.eq(ml._train.step(plan, ml.randn({ 8, 5 }), y), nil, "another width")
  T.eq(ml._train.step(plan, x, ml.randn({ 8, 1 })), nil, "target of another shape")
  T.eq(ml._train.step(plan, ml.randn({ 4, 8 }):t(), y), nil, "non-contiguous batch")
  T.eq(ml._train.step(plan, x:to("float64"), y:to("float64")), nil, "float64 batch")
  T.eq(ml._train.step(plan, x, "y"), nil, "not a tensor")
  T.all_near(l1.weight, before, 0, "nothing touched")
  -- the general path's gradient and step, side by side
  local lv, rows = ml._train.step(plan, x:narrow(1, 1, 5):contiguous(), y:narrow(1, 1, 5):contiguous())
  T.eq(rows, 5, "a smaller batch runs")
  T.ok(type(lv) == "number" and lv > 0, "a loss")
  T.raises(function() ml._train.plan({ { kind = "conv" } }, 4, 8, "mse", "mean", {}) end, "unknown kind 'conv'")
  T.raises(function() ml._train.plan({ { kind = "linear", weight = "w" } }, 4, 8, "mse", "mean", {}) end, "'weight' must be a tensor")
  T.raises(function() ml._train.plan(specs, 5, 8, "mse", "mean", {}) end, "takes 4 features, gets 5")
  T.raises(function() ml._train.plan({ { kind = "relu" } }, 4, 8, "mse", "mean", {}) end, "no Linear layer")
  T.raises(function() ml._train.plan(specs, 4, 8, "mse", "none", {}) end, "invalid option 'none'")
  T.raises(function() ml._train.plan(specs, 4, 8, "huber", "mean", {}) end, "invalid option 'huber'")
end)

T.test("fused step: a step makes no Lua value and no tensor (heap and tensor bytes stay put)", function()
  ml.seed(4)
  local l1, l2 = nn.Linear(D, 16), nn.Linear(16, 1)
  local ps = { l1.weight, l1.bias, l2.weight, l2.bias }
  local opt = optim.Adam(ps, { lr = 1e-3 })
  for _, p in ipairs(ps) do p.grad = ml.zeros_like(p) end
  local plan = ml._train.plan({ { kind = "linear", weight = l1.weight, bias = l1.bias }, { kind = "tanh" },
    { kind = "linear", weight = l2.weight, bias = l2.bias } }, D, 32, "mse", "mean", rawget(opt, "_cblocks"))
  local x, y = ml.randn({ 32, D }), ml.randn({ 32, 1 })
  local step = ml._train.step
  for _ = 1, 10 do step(plan, x, y) end -- the optimizer's state is made at its first step
  collectgarbage("collect")
  collectgarbage("stop")
  local kb, live = collectgarbage("count"), ml.memory_stats().live
  for _ = 1, 2000 do step(plan, x, y) end
  local grown, live2 = collectgarbage("count") - kb, ml.memory_stats().live
  collectgarbage("restart")
  T.ok(grown < 1, string.format("Lua's heap grew by %.2f KiB over 2000 steps", grown))
  T.eq(live2, live, "tensor bytes live")
end)
