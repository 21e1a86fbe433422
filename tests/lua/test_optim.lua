-- ml.optim: optimizers and schedules against PyTorch (fixtures written by
-- scripts/gen_optim_fixtures.py), flattening of parameters into one block,
-- state_dict round trips, and errors.
local optim = ml.optim
local OPT = dofile("tests/fixtures/optim/optimizers.lua")
local SCHED = dofile("tests/fixtures/optim/schedules.lua")

local function tensor_of(spec, dtype)
  return ml.tensor(spec.values, { dtype = dtype or spec.dtype or "float32" }):reshape(spec.shape)
end

local function tol_of(dtype) return dtype == "float64" and 1e-12 or 1e-6 end

local function clone_list(ps)
  local out = {}
  for i, p in ipairs(ps) do out[i] = p:clone():detach() end
  return out
end

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

---------------------------------------------------------------------------
-- update math vs torch.optim
---------------------------------------------------------------------------
T.test("fixtures were made by scripts/gen_optim_fixtures.py version 1", function()
  T.eq(OPT.version, 1)
  T.eq(SCHED.version, 1)
  T.ok(#OPT.cases >= 25, "optimizer cases")
end)

local function run_case(case)
  local params = {}
  for i, spec in ipairs(case.params) do params[i] = tensor_of(spec):requires_grad() end
  local arg = params
  if case.groups then
    arg = {}
    for gi, g in ipairs(case.groups) do
      local grp = { params = {} }
      for _, idx in ipairs(g.params) do grp.params[#grp.params + 1] = params[idx] end
      for k, v in pairs(g.opts) do grp[k] = v end
      arg[gi] = grp
    end
  end
  local opt = optim[case.class](arg, case.opts)
  local x, y
  if case.loss then
    x = tensor_of(case.loss.x, case.params[1].dtype)
    y = tensor_of(case.loss.y, case.params[1].dtype)
  end
  for step = 1, 3 do
    if case.loss then
      opt:zero_grad() -- in place: backward then adds into the flat gradient views
      local loss = ((x:matmul(params[1]) + params[2] - y) ^ 2):sum() + (params[3] ^ 2):sum() * 0.5
      loss:backward()
    else
      for i, p in ipairs(params) do
        local g = case.grads[step][i]
        if g then p.grad = tensor_of({ values = g, shape = case.params[i].shape }, case.params[i].dtype)
        else p.grad = nil end
      end
    end
    opt:step()
    for i, p in ipairs(params) do
      T.all_near(p, case.after[step][i], tol_of(case.params[i].dtype),
        string.format("%s: parameter %d after step %d", case.name, i, step))
    end
  end
  return opt, params
end

for _, case in ipairs(OPT.cases) do
  T.test("torch.optim: " .. case.name .. ", 3 steps", function() run_case(case) end)
end

T.test("a skipped parameter keeps its step count (Adam bias correction per parameter)", function()
  for _, case in ipairs(OPT.cases) do
    if case.name == "Adam skip" then
      local opt, params = run_case(case)
      -- steps: p1 skipped at step 2, p2 at step 1, p3 at step 2
      T.eq(opt:state_of(params[1]).step, 2)
      T.eq(opt:state_of(params[2]).step, 2)
      T.eq(opt:state_of(params[3]).step, 2)
      return
    end
  end
  error("no 'Adam skip' case")
end)

---------------------------------------------------------------------------
-- schedules vs torch.optim.lr_scheduler
---------------------------------------------------------------------------
local function build(spec, opt)
  local opts = {}
  for k, v in pairs(spec.opts or {}) do opts[k] = v end
  if spec.class == "Warmup" and opts.after then opts.after = build(opts.after, opt) end
  if spec.class == "SequentialLR" then
    local subs = {}
    for i, s in ipairs(opts.schedulers) do subs[i] = build(s, opt) end
    opts.schedulers = subs
  end
  return optim.lr[spec.class](opt, opts)
end

local function sched_opt(case)
  local p1, p2 = ml.zeros(2):requires_grad(), ml.zeros(3):requires_grad()
  local groups = { { params = { p1 }, lr = case.lrs[1] }, { params = { p2 }, lr = case.lrs[2] } }
  if case.optimizer == "SGD" then return optim.SGD(groups, { lr = case.lrs[1], momentum = 0.9 }) end
  return optim.Adam(groups, { lr = case.lrs[1] })
end

local function momenta(opt)
  local out = {}
  for i, g in ipairs(opt.param_groups) do out[i] = g.betas and g.betas[1] or g.momentum end
  return out
end

for _, case in ipairs(SCHED.cases) do
  T.test("lr_scheduler: " .. case.name .. ", " .. (#case.lr - 1) .. " steps", function()
    local opt = sched_opt(case)
    local sched = build(case.spec, opt)
    for step = 0, #case.lr - 1 do
      if step > 0 then
        opt:step()
        if case.metrics then sched:step(case.metrics[step]) else sched:step() end
        T.all_near(sched:get_last_lr(), case.lr[step + 1], 1e-13, case.name .. ": get_last_lr after step " .. step)
      end
      local lrs = {}
      for i, g in ipairs(opt.param_groups) do lrs[i] = g.lr end
      T.all_near(lrs, case.lr[step + 1], 1e-13, case.name .. ": group lrs after step " .. step)
      T.all_near(momenta(opt), case.momentum[step + 1], 1e-13, case.name .. ": momentum after step " .. step)
    end
  end)
end

T.test("a schedule's state_dict round trip (through JSON) continues identically", function()
  for _, case in ipairs(SCHED.cases) do
    local a_opt = sched_opt(case)
    local a = build(case.spec, a_opt)
    local n = #case.lr - 1
    local half = n // 2
    for s = 1, half do if case.metrics then a:step(case.metrics[s]) else a:step() end end
    local sd = a:state_dict()
    local osd = a_opt:state_dict()
    if ml.json then
      sd = ml.json.decode(ml.json.encode(sd))
      osd.meta = ml.json.decode(ml.json.encode(osd.meta))
    end
    local b_opt = sched_opt(case)
    local b = build(case.spec, b_opt)
    b_opt:load_state_dict(osd)
    b:load_state_dict(sd)
    for s = half + 1, n do
      if case.metrics then a:step(case.metrics[s]); b:step(case.metrics[s]) else a:step(); b:step() end
      T.all_near(b:get_last_lr(), a:get_last_lr(), 0, case.name .. ": lr after step " .. s)
      T.all_near(b:get_last_lr(), case.lr[s + 1], 1e-13, case.name .. ": torch's lr after step " .. s)
      T.all_near(momenta(b_opt), momenta(a_opt), 0, case.name .. ": momentum after step " .. s)
    end
  end
end)

---------------------------------------------------------------------------
-- flattening
---------------------------------------------------------------------------
T.test("the optimizer keeps the parameter objects and their values, in one block", function()
  local nn = ml.nn
  local Two = nn.Module:extend("OptimTestTwo")
  function Two:init()
    self.w = ml.randn(3, 4):requires_grad()
    self.b = ml.randn(4):requires_grad()
    self.v = ml.randn(4, 2):requires_grad()
  end
  function Two:forward(x) return (x:matmul(self.w) + self.b):tanh():matmul(self.v) end
  local model = Two()
  local before = model:parameters()
  local values = clone_list(before)
  local opt = optim.Adam(model:parameters(), { lr = 0.01 })
  local after = model:parameters()
  T.eq(#after, #before)
  for i = 1, #before do
    T.ok(rawequal(after[i], before[i]), "model:parameters()[" .. i .. "] is the same object")
    T.ok(rawequal(opt.param_groups[1].params[i], before[i]), "param_groups[1].params[" .. i .. "] is the same object")
    T.all_near(after[i], values[i], 0, "values of parameter " .. i)
    T.ok(after[i]:is_contiguous() and after[i]:is_requires_grad() and after[i]:is_leaf(), "still a contiguous leaf")
  end
  -- one block: the flat tensor holds every parameter, in order
  local blocks = opt:flat_blocks()
  T.eq(#blocks, 1)
  T.eq(blocks[1].params:numel(), 12 + 4 + 8)
  local cat = ml.cat({ values[1]:reshape(-1), values[2]:reshape(-1), values[3]:reshape(-1) })
  T.all_near(blocks[1].params, cat, 0, "the block holds the values in order")
  -- writing a parameter writes the block, and the other way round
  -- (parameters come in definition order: w [3,4], b [4], v [4,2])
  ml.no_grad(function() model.v:fill_(7) end)
  T.eq(blocks[1].params[17], 7)
  T.eq(blocks[1].params[24], 7)
  T.ok(blocks[1].params[16] ~= 7, "b's last element is not v's")
  ml.no_grad(function() blocks[1].params:narrow(1, 13, 1):fill_(-3) end)
  T.eq(model.b[1], -3)
end)

T.test("forward, backward and step run through the flattened views", function()
  local w = ml.randn(3, 4):requires_grad()
  local b = ml.randn(4):requires_grad()
  local x, y = ml.randn(5, 3), ml.randn(5, 4)
  local opt = optim.SGD({ w, b }, { lr = 0.1 })
  local function loss() return ((x:matmul(w) + b - y) ^ 2):mean() end
  -- the reference gradient, from copies that are not flattened
  local w2, b2 = w:clone():detach():requires_grad(), b:clone():detach():requires_grad();
  ((x:matmul(w2) + b2 - y) ^ 2):mean():backward()
  opt:zero_grad()
  loss():backward()
  T.all_near(w.grad, w2.grad, 1e-6, "w.grad")
  T.all_near(b.grad, b2.grad, 1e-6, "b.grad")
  opt:step() -- the first step gathers the gradients into the block and points p.grad at it
  T.all_near(w, w2:detach() - w2.grad * 0.1, 1e-6, "w after one SGD step")
  local blocks = opt:flat_blocks()
  local g = blocks[1].grads
  T.all_near(g:narrow(1, 1, 12):reshape(3, 4), w.grad, 0, "w.grad is a view into the gradient block")
  -- from now on backward adds into the block in place
  opt:zero_grad()
  T.eq(g:abs():sum():item(), 0, "zero_grad zeroes the block")
  T.ok(w.grad ~= nil, "zero_grad keeps the gradient (zeroed)")
  loss():backward()
  local g1 = g:clone()
  T.all_near(g:narrow(1, 1, 12):reshape(3, 4), w.grad, 0, "backward wrote into the block")
  loss():backward() -- accumulates
  T.all_near(g, g1 * 2, 1e-6, "a second backward adds in place")
  local wv = w:clone():detach()
  opt:step()
  T.all_near(w, wv - w.grad * 0.1, 1e-6, "step uses the accumulated gradient")
  -- Module:zero_grad's p.grad:zero_() works on the views too
  ml.no_grad(function() w.grad:zero_() end)
  T.eq(g:narrow(1, 1, 12):abs():sum():item(), 0)
end)

T.test("non-contiguous, pre-graded and mixed-dtype parameters", function()
  local a = ml.randn(4, 3):t():requires_grad() -- a transposed leaf
  T.ok(not a:is_contiguous())
  local av = a:clone():detach()
  local b = ml.randn(5, { dtype = "float64" }):requires_grad()
  local c = ml.randn(2, 2):requires_grad()
  c.grad = ml.ones(2, 2)
  local opt = optim.SGD({ a, b, c }, { lr = 0.5 })
  T.ok(a:is_contiguous(), "flattened parameters are contiguous")
  T.all_near(a, av, 0, "values survive the copy")
  T.all_near(c.grad, ml.ones(2, 2), 0, "an existing gradient is kept")
  local blocks = opt:flat_blocks()
  T.eq(#blocks, 2, "one block per dtype")
  T.eq(blocks[1].dtype, "float32")
  T.eq(blocks[2].dtype, "float64")
  T.eq(blocks[1].params:numel(), 12 + 4)
  T.eq(b:dtype(), "float64")
  local cv = c:clone():detach()
  opt:step() -- only c has a gradient
  T.all_near(c, cv - 0.5, 1e-6, "c stepped")
  T.all_near(a, av, 0, "a without a gradient is skipped")
end)

T.test("gradients set to nil, replaced, or dropped with zero_grad{set_to_none}", function()
  local p = ml.randn(3):requires_grad()
  local q = ml.randn(3):requires_grad()
  local opt = optim.Adam({ p, q }, { lr = 0.1 })
  p.grad = ml.ones(3)
  q.grad = ml.ones(3)
  opt:step()
  T.eq(opt:state_of(p).step, 1)
  T.eq(opt:state_of(q).step, 1)
  q.grad = nil
  p.grad = ml.full(3, 2.0) -- a user tensor: copied in
  local qv = q:clone():detach()
  opt:step()
  T.eq(opt:state_of(p).step, 2)
  T.eq(opt:state_of(q).step, 1, "q had no gradient: skipped")
  T.all_near(q, qv, 0)
  T.all_near(p.grad, ml.full(3, 2.0), 0, "p.grad keeps its values")
  opt:zero_grad({ set_to_none = true })
  T.eq(p.grad, nil)
  T.eq(q.grad, nil)
  local pv = p:clone():detach()
  opt:step()
  T.all_near(p, pv, 0, "no gradients, no update")
  T.eq(opt:state_of(p).step, 2)
  -- the tensor method drops one gradient too
  p.grad = ml.ones(3)
  p:zero_grad()
  opt:step()
  T.eq(opt:state_of(p).step, 2)
end)

T.test("two optimizers over the same parameters stay correct", function()
  local p = ml.tensor({ 1.0, 2.0, 3.0 }):requires_grad()
  local o1 = optim.SGD({ p }, { lr = 0.1 })
  local o2 = optim.SGD({ p }, { lr = 1.0 }) -- rebinds p into its own block
  p.grad = ml.ones(3)
  o1:step() -- takes p back, with its current values and gradient
  T.all_near(p, { 0.9, 1.9, 2.9 }, 1e-6)
  o2:step()
  T.all_near(p, { -0.1, 0.9, 1.9 }, 1e-6)
  o1:step()
  T.all_near(p, { -0.2, 0.8, 1.8 }, 1e-6)
  o1, o2 = nil, nil
  collectgarbage()
  collectgarbage()
  T.all_near(p + 0, { -0.2, 0.8, 1.8 }, 1e-6, "parameters outlive their optimizers")
end)

T.test("views and loaders made before the optimizer see the parameter block", function()
  local function live() collectgarbage(); collectgarbage(); return ml.memory_stats().live end
  local before = live()
  do
    local w = ml.zeros(4, 3):requires_grad()
    local b = ml.zeros(5):requires_grad()
    local wv, bv = w:view(12), b:narrow(1, 2, 3) -- views made before
    local dl = ml.data.loader({ w }, { batch_size = 4 })
    local opt = optim.SGD({ w, b }, { lr = 1 })
    local live_after_flatten = live()
    w.grad = ml.ones(4, 3)
    b.grad = ml.full({ 5 }, 2.0)
    opt:step()
    T.all_near(wv, ml.full({ 12 }, -1), 0, "a view of w made before the optimizer")
    T.all_near(bv, ml.full({ 3 }, -2), 0, "a narrow of b made before the optimizer")
    for x in dl:iter() do T.all_near(x, ml.full({ 4, 3 }, -1), 0, "a loader made before the optimizer") end
    -- writes through an old view reach the parameter and the block
    ml.no_grad(function() wv:narrow(1, 1, 1):fill_(5) end)
    T.eq(w[1][1], 5)
    T.eq(opt:flat_blocks()[1].params[1], 5)
    -- a second optimizer takes w (and its old views) into its block, the first takes it back
    local opt2 = optim.SGD({ w }, { lr = 10 })
    opt2:step()
    T.eq(wv[2], -11)
    opt:step()
    T.eq(wv[2], -12)
    for x in dl:iter() do T.eq(x[1][2], -12) end
    -- the flattening freed the parameters' own blocks: nothing is held twice
    T.ok(live_after_flatten - before < 2 * (12 + 5) * 4 + 4096, "old blocks freed")
    T.ok(opt ~= nil and opt2 ~= nil)
  end
  T.eq(live() - before, 0, "everything is freed once dropped")
end)

T.test("a parameter that does not own its storage is copied; a step between forward and backward is still caught", function()
  local base = ml.zeros(10)
  local p = base:narrow(1, 3, 4):detach():requires_grad() -- a view into a larger tensor
  local opt = optim.SGD({ p }, { lr = 1 })
  p.grad = ml.ones(4)
  opt:step()
  T.all_near(p, ml.full({ 4 }, -1), 0)
  T.all_near(base, ml.zeros(10), 0, "the rest of base is not the block: left alone")
  -- two parameters sharing one storage become independent, as before
  local s = ml.zeros(3):requires_grad()
  local s2 = s:view(3):detach():requires_grad()
  local o = optim.SGD({ s, s2 }, { lr = 1 })
  s.grad, s2.grad = ml.ones(3), ml.full({ 3 }, 2.0)
  o:step()
  T.all_near(s, ml.full({ 3 }, -1), 0)
  T.all_near(s2, ml.full({ 3 }, -2), 0)
  -- a graph that saved a rebound parameter (through a view made before) sees the step
  -- (the graph is built before the optimizer: flattening alone is not a modification)
  local w = ml.randn(3, 3):requires_grad()
  local wv = w:view(9)
  local y = (wv * wv):sum()
  local o2 = optim.SGD({ w }, { lr = 0.1 })
  y:backward({ retain_graph = true })
  T.all_near(w.grad, w:detach() * 2, 1e-6)
  o2:step()
  T.raises(function() y:backward() end, "modified in place")
end)

T.test("a parameter dropped by the user stays valid inside the optimizer", function()
  local ps = { ml.randn(3):requires_grad(), ml.randn(2):requires_grad() }
  local opt = optim.SGD(ps, { lr = 0.1, momentum = 0.9 })
  ps[1].grad = ml.ones(3)
  ps[2].grad = ml.ones(2)
  ps = nil
  collectgarbage()
  collectgarbage()
  opt:step()
  opt:step()
  T.eq(opt:state_of(opt:parameters()[1]).step, 2)
end)

T.test("a step between forward and backward is caught, as in PyTorch", function()
  local w = ml.randn(3, 3):requires_grad()
  local opt = optim.SGD({ w }, { lr = 0.1 })
  w.grad = ml.ones(3, 3)
  local y = (w:matmul(w)):sum()
  opt:step()
  T.raises(function() y:backward() end, "modified in place")
end)

T.test("large blocks split across threads give the same values as one thread", function()
  local threads = ml.threads()
  local function run(nt)
    ml.threads(nt)
    ml.seed(5)
    local p = ml.randn(300000):requires_grad()
    local q = ml.randn(1000):requires_grad()
    local opt = optim.Adam({ p, q }, { lr = 0.01, amsgrad = true, weight_decay = 0.1 })
    for _ = 1, 3 do
      p.grad = ml.randn(300000)
      q.grad = ml.randn(1000)
      opt:step()
    end
    return p, q
  end
  local p1, q1 = run(1)
  local p4, q4 = run(4)
  ml.threads(threads)
  T.eq((p1 - p4):abs():max():item(), 0, "4 threads vs 1")
  T.eq((q1 - q4):abs():max():item(), 0)
end)

---------------------------------------------------------------------------
-- state_dict
---------------------------------------------------------------------------
local ROUND = {
  { "SGD", { lr = 0.1, momentum = 0.9, nesterov = true } },
  { "SGD", { lr = 0.1 } },
  { "Adam", { lr = 0.01, amsgrad = true } },
  { "AdamW", { lr = 0.01, weight_decay = 0.1 } },
  { "RMSprop", { lr = 0.01, momentum = 0.9, centered = true } },
  { "Adagrad", { lr = 0.1, lr_decay = 0.01, initial_accumulator_value = 0.1 } },
}

local function two_groups(ps, opts)
  local g2 = { params = { ps[3] }, lr = opts.lr * 2 }
  return { { params = { ps[1], ps[2] } }, g2 }
end

local function grads_for(step)
  ml.seed(100 + step)
  return { ml.randn(3, 4), ml.randn(4, { dtype = "float64" }), ml.randn(2) }
end

local function make(seed)
  ml.seed(seed)
  return { ml.randn(3, 4):requires_grad(), ml.randn(4, { dtype = "float64" }):requires_grad(), ml.randn(2):requires_grad() }
end

T.test("load_state_dict(state_dict()) into a fresh optimizer continues identically", function()
  for _, r in ipairs(ROUND) do
    local name, opts = r[1], r[2]
    local pa = make(1)
    local a = optim[name](two_groups(pa, opts), opts)
    for s = 1, 2 do
      local g = grads_for(s)
      for i, p in ipairs(pa) do p.grad = (s == 2 and i == 3) and nil or g[i] end
      a:step()
    end
    a.param_groups[2].lr = 0.005 -- a schedule's change: carried in the state
    local sd = a:state_dict()
    -- through a real file and JSON, the way checkpoints carry it
    local path = T.tmpname(".safetensors")
    local tensors = sd.tensors
    if next(tensors) then
      ml.save(path, tensors)
      tensors = ml.load(path)
      os.remove(path)
    end
    local meta = ml.json and ml.json.decode(ml.json.encode(sd.meta)) or sd.meta
    local pb = clone_list(pa)
    for _, p in ipairs(pb) do p:requires_grad() end
    local b = optim[name](two_groups(pb, opts), opts)
    b:load_state_dict({ tensors = tensors, meta = meta })
    T.eq(b.param_groups[2].lr, 0.005, name .. ": group options come back")
    for i = 1, 3 do T.eq(b:state_of(pb[i]).step, a:state_of(pa[i]).step, name .. ": step count " .. i) end
    for s = 3, 5 do
      local g = grads_for(s)
      for i = 1, 3 do pa[i].grad = g[i]; pb[i].grad = g[i]:clone() end
      a:step()
      b:step()
      for i = 1, 3 do T.all_near(pb[i], pa[i], 0, string.format("%s: parameter %d after step %d", name, i, s)) end
    end
  end
end)

T.test("state_dict names its tensors state.<i>.<name> and its meta is plain", function()
  local ps = make(2)
  local opt = optim.Adam(ps, { lr = 0.01, amsgrad = true })
  local sd0 = opt:state_dict()
  T.eq(next(sd0.tensors), nil, "no state before the first step")
  for i, p in ipairs(ps) do p.grad = grads_for(1)[i] end
  ps[2].grad = nil
  opt:step()
  local sd = opt:state_dict()
  T.eq(table.concat(keys(sd.tensors), " "),
    "state.1.exp_avg state.1.exp_avg_sq state.1.max_exp_avg_sq state.3.exp_avg state.3.exp_avg_sq state.3.max_exp_avg_sq")
  T.eq(table.concat(sd.tensors["state.1.exp_avg"]:shape(), ","), "3,4")
  T.eq(sd.meta.class, "Adam")
  T.eq(table.concat(sd.meta.steps, ","), "1,0,1")
  T.eq(sd.meta.groups[1].lr, 0.01)
  T.eq(table.concat(sd.meta.groups[1].params, ","), "1,2,3")
  if ml.json then ml.json.encode(sd.meta) end -- JSON-able
end)

T.test("load_state_dict rejects a mismatched state before changing anything", function()
  local ps = make(3)
  local opt = optim.Adam(ps, { lr = 0.01 })
  for i, p in ipairs(ps) do p.grad = grads_for(1)[i] end
  opt:step()
  local sd = opt:state_dict()
  local function with(f)
    local copy = { tensors = {}, meta = ml.json and ml.json.decode(ml.json.encode(sd.meta)) or sd.meta }
    for k, v in pairs(sd.tensors) do copy.tensors[k] = v end
    f(copy)
    return copy
  end
  local fresh = make(3)
  local other = optim.Adam(fresh, { lr = 0.5 })
  T.raises(function() other:load_state_dict(with(function(c) c.meta.class = "SGD" end)) end,
    "optim.Adam:load_state_dict: the state is from optim.SGD")
  T.raises(function() other:load_state_dict(with(function(c) c.meta.steps[4] = 1 end)) end, "4 step counts")
  T.raises(function() other:load_state_dict(with(function(c) c.meta.shapes[1] = { 4, 3 } end)) end,
    "parameter 1 has shape [4,3] in the state, [3,4] here")
  T.raises(function() other:load_state_dict(with(function(c) c.tensors["state.1.exp_avg"] = nil end)) end,
    "missing tensor 'state.1.exp_avg'")
  T.raises(function() other:load_state_dict(with(function(c) c.tensors["state.9.exp_avg"] = ml.zeros(2) end)) end,
    "unexpected tensor 'state.9.exp_avg'")
  T.raises(function() other:load_state_dict(with(function(c) c.tensors["state.1.momentum"] = ml.zeros(3, 4) end)) end,
    "unexpected tensor 'state.1.momentum'")
  T.raises(function() other:load_state_dict(with(function(c) c.tensors["state.2.exp_avg"] = ml.zeros(3) end)) end,
    "'state.2.exp_avg' has shape [3], parameter 2 has [4]")
  T.raises(function() other:load_state_dict(with(function(c) c.meta.groups[1].betas = { 1.5, 0.9 } end)) end,
    "betas[1] must be in [0, 1)")
  T.raises(function() other:load_state_dict({}) end, "expected {tensors = {...}, meta = {...}}")
  local two = optim.Adam({ { params = { fresh[1] } }, { params = { fresh[2], fresh[3] } } })
  T.raises(function() two:load_state_dict(sd) end, "the state has 1 parameter groups, this optimizer has 2")
  local fewer = optim.Adam({ fresh[1], fresh[2] })
  T.raises(function() fewer:load_state_dict(sd) end, "param group 1 has 3 parameters in the state, 2 here")
  -- nothing changed
  T.eq(other.param_groups[1].lr, 0.5)
  T.eq(other:state_of(fresh[1]).step, 0)
end)

---------------------------------------------------------------------------
-- errors
---------------------------------------------------------------------------
T.test("unknown options and bad values are errors that name the class", function()
  local p = ml.randn(3):requires_grad()
  T.raises(function() optim.Adam({ p }, { lrate = 0.1 }) end,
    "optim.Adam: unknown option 'lrate' (known: lr, betas, eps, weight_decay, amsgrad, maximize)")
  T.raises(function() optim.SGD({ p }, { lr = -1 }) end, "optim.SGD: lr must be >= 0, got -1")
  T.raises(function() optim.Adam({ p }, { betas = { 0.9, 1.0 } }) end, "optim.Adam: betas[2] must be in [0, 1), got 1")
  T.raises(function() optim.Adam({ p }, { betas = { -0.1, 0.9 } }) end, "betas[1] must be in [0, 1)")
  T.raises(function() optim.Adam({ p }, { betas = 0.9 }) end, "betas must be a table")
  T.raises(function() optim.AdamW({ p }, { eps = -1e-8 }) end, "optim.AdamW: eps must be >= 0")
  T.raises(function() optim.SGD({ p }, { lr = 0.1, nesterov = true }) end, "nesterov momentum needs momentum > 0")
  T.raises(function() optim.SGD({ p }, { lr = 0.1, momentum = 0.9, dampening = 0.1, nesterov = true }) end,
    "dampening = 0")
  T.raises(function() optim.RMSprop({ p }, { alpha = -0.5 }) end, "optim.RMSprop: alpha must be >= 0")
  T.raises(function() optim.RMSprop({ p }, { centered = 1 }) end, "centered must be true or false, got number")
  T.raises(function() optim.Adagrad({ p }, { lr_decay = -1 }) end, "optim.Adagrad: lr_decay must be >= 0")
  T.raises(function() optim.Adagrad({ p }, { lr = "fast" }) end, "lr must be a number, got string")
  T.raises(function() optim.Adam({ p }, 0.1) end, "optim.Adam: options must be a table, got number")
  T.raises(function() optim.Adam({ { params = { p }, lrr = 1 } }) end,
    "optim.Adam: param group 1: unknown option 'lrr'")
  T.raises(function() optim.Adam({ { params = { p }, lr = -2 } }) end, "optim.Adam: param group 1: lr must be >= 0")
  for _, f in ipairs {
    function() optim.Adam({ p }, { lrate = 0.1 }) end,
    function() optim.SGD({ p }, { lr = -1 }) end,
    function() optim.Adam({ { params = { p }, lr = -2 } }) end,
    function() optim.Adam({ { params = { p }, lrr = 1 } }) end,
    function() optim.SGD({ p * 2 }) end,
    function() optim.SGD({}) end,
    function() optim.lr.StepLR(optim.SGD({ p }), { gama = 1 }) end,
    function() optim.lr.StepLR(optim.SGD({ p }), { step_size = 0 }) end,
  } do
    local err = T.raises(f)
    T.ok(tostring(err):find("^tests/lua/test_optim.lua:%d+: "), "the error points at the caller: " .. tostring(err))
  end
end)

T.test("bad parameter lists are errors", function()
  local p = ml.randn(3):requires_grad()
  T.raises(function() optim.SGD({}, { lr = 0.1 }) end, "optim.SGD: got an empty parameter list")
  T.raises(function() optim.SGD(p, { lr = 0.1 }) end, "got a single tensor (wrap it: {t})")
  T.raises(function() optim.SGD({ p, 3 }, { lr = 0.1 }) end, "optim.SGD: parameter 2 is a number, expected a tensor")
  T.raises(function() optim.SGD({ ml.tensor({ 1, 2 }) }, { lr = 0.1 }) end,
    "parameter 1 has dtype int64; only float32 and float64 tensors can be optimized")
  T.raises(function() optim.SGD({ p * 2 }, { lr = 0.1 }) end, "parameter 1 is not a leaf tensor")
  T.raises(function() optim.SGD({ p, p }, { lr = 0.1 }) end, "parameter 2 appears more than once")
  T.raises(function() optim.SGD({ { params = { p } }, { params = { p } } }, { lr = 0.1 }) end,
    "parameter 2 appears more than once")
  T.raises(function() optim.SGD({ { params = {} } }, { lr = 0.1 }) end, "param group 1: has no parameters")
  T.raises(function() optim.SGD({ { "w", p } }) end, "pass model:parameters()")
  -- a failed construction leaves the parameters as they were
  local q = ml.randn(2):requires_grad()
  local qv = q:clone():detach()
  pcall(optim.SGD, { q, q }, { lr = 0.1 })
  T.all_near(q, qv, 0)
end)

T.test("schedules check their options", function()
  local opt = optim.SGD({ ml.randn(2):requires_grad() }, { lr = 0.1 })
  T.raises(function() optim.lr.StepLR(opt, { step_size = 2, gama = 0.5 }) end,
    "optim.lr.StepLR: unknown option 'gama' (known: step_size, gamma)")
  T.raises(function() optim.lr.StepLR(opt, {}) end, "optim.lr.StepLR: option 'step_size' is required")
  T.raises(function() optim.lr.StepLR({}, { step_size = 2 }) end, "argument #1 must be an optimizer")
  T.raises(function() optim.lr.CosineAnnealingLR(opt, { T_max = 0 }) end, "T_max must be an integer >= 1")
  T.raises(function() optim.lr.LinearLR(opt, { start_factor = 0 }) end, "start_factor must be in (0, 1]")
  T.raises(function() optim.lr.OneCycleLR(opt, { max_lr = 1 }) end, "give total_steps, or epochs and steps_per_epoch")
  T.raises(function() optim.lr.OneCycleLR(optim.Adagrad({ ml.randn(2):requires_grad() }), { max_lr = 1, total_steps = 5 }) end,
    "no momentum to cycle")
  T.raises(function() optim.lr.ReduceLROnPlateau(opt, { mode = "up" }) end, "mode must be 'min' or 'max'")
  T.raises(function() optim.lr.ReduceLROnPlateau(opt, { factor = 1 }) end, "factor must be in [0, 1)")
  local r = optim.lr.ReduceLROnPlateau(opt)
  T.raises(function() r:step() end, "expected the monitored metric")
  r:step(ml.tensor(0.5)) -- a one-element tensor is fine
  local oc = optim.lr.OneCycleLR(opt, { max_lr = 1, total_steps = 2 })
  oc:step(); oc:step()
  T.raises(function() oc:step() end, "tried to step 3 times; total_steps is 2")
  local s = optim.lr.StepLR(opt, { step_size = 2 })
  T.raises(function() s:load_state_dict(optim.lr.ExponentialLR(opt, { gamma = 0.5 }):state_dict()) end,
    "the state is from optim.lr.ExponentialLR, not optim.lr.StepLR")
end)

T.test("optimizers and schedules print and carry docs", function()
  local opt = optim.Adam({ ml.randn(2):requires_grad() })
  T.eq(tostring(opt), "optim.Adam(lr=0.001, betas={0.9, 0.999}, eps=1e-08, weight_decay=0, amsgrad=false, maximize=false)")
  T.ok(tostring(optim.lr.StepLR(opt, { step_size = 3 })):find("optim.lr.StepLR(step_size=3", 1, true))
  local two = optim.SGD({ { params = { ml.randn(2, 3):requires_grad() } }, { params = { ml.randn(4):requires_grad() }, lr = 0.5 } },
    { lr = 0.1, momentum = 0.9 })
  T.eq(tostring(two), table.concat({
    "optim.SGD(",
    "  group 1 (1 tensor, 6 elements): lr=0.1, momentum=0.9, dampening=0, weight_decay=0, nesterov=false, maximize=false",
    "  group 2 (1 tensor, 4 elements): lr=0.5, momentum=0.9, dampening=0, weight_decay=0, nesterov=false, maximize=false",
    ")" }, "\n"))
  for _, name in ipairs { "SGD", "Adam", "AdamW", "RMSprop", "Adagrad" } do
    T.ok(ml.doc(optim[name]), "optim." .. name .. " has a doc")
  end
  T.ok(ml.doc(optim.lr.OneCycleLR), "OneCycleLR has a doc")
end)

-- ---- optimizers written in Lua ------------------------------------------

-- Lion (Chen et al. 2023), in Lua alone: c = b1 m + (1 - b1) g; p = p (1 - lr wd) - lr sign(c); m = b2 m + (1 - b2) g
local function lion_class()
  local Lion = optim.Optimizer:extend("TestLion", {
    options = { { "lr", 1e-4 }, { "betas", { 0.9, 0.99 } }, { "weight_decay", 0 } },
    state = { "exp_avg" },
  })
  function Lion:update(p, grad, state, group)
    local b1, b2 = group.betas[1], group.betas[2]
    local m = state.exp_avg
    p:mul_(1 - group.lr * group.weight_decay)
    p:add_((m * b1 + grad * (1 - b1)):sign(), -group.lr)
    m:mul_(b2):add_(grad, 1 - b2)
  end
  return Lion
end

T.test("a Lua optimizer (Lion) matches a hand-computed reference over 3 steps", function()
  local Lion = lion_class()
  local x0 = { 1.0, -2.0, 0.5, 0.0 }
  local w = ml.tensor({ 1.0, 3.0, -2.0, 0.5 }, { dtype = "float64" })
  local p = ml.tensor(x0, { dtype = "float64" }):requires_grad()
  local opt = Lion({ p }, { lr = 0.1, betas = { 0.8, 0.95 }, weight_decay = 0.01 })
  -- reference: loss = sum(w * p^2 + p), grad = 2 w p + 1
  local ref, m = { table.unpack(x0) }, { 0, 0, 0, 0 }
  local wl = w:tolist()
  local function sign(v) return v > 0 and 1 or (v < 0 and -1 or 0) end
  for step = 1, 3 do
    opt:zero_grad()
    local loss = (w * p * p + p):sum()
    loss:backward()
    opt:step()
    for i = 1, 4 do
      local g = 2 * wl[i] * ref[i] + 1
      local c = 0.8 * m[i] + 0.2 * g
      ref[i] = ref[i] * (1 - 0.1 * 0.01) - 0.1 * sign(c)
      m[i] = 0.95 * m[i] + 0.05 * g
    end
    local got = p:tolist()
    for i = 1, 4 do T.near(got[i], ref[i], 1e-12, "step " .. step .. " p[" .. i .. "]") end
    T.eq(opt:state_of(p).step, step)
    local gm = opt:state_of(p).exp_avg:tolist()
    for i = 1, 4 do T.near(gm[i], m[i], 1e-12, "step " .. step .. " exp_avg[" .. i .. "]") end
  end
  T.eq(tostring(opt), "TestLion(lr=0.1, betas={0.8, 0.95}, weight_decay=0.01)")
  -- options are checked against the defaults' types, with "did you mean"
  T.raises(function() Lion({ p }, { lr = "fast" }) end, "TestLion: lr must be a number, got 'fast'")
  T.raises(function() Lion({ p }, { betas = { 0.9 } }) end, "TestLion: betas must be a table of 2 values, got 1 values")
  T.raises(function() Lion({ p }, { lrate = 1 }) end, "did you mean 'lr'?")
end)

T.test("a Lua optimizer trains a small model; its state saves and loads", function()
  local Lion = lion_class()
  ml.seed(3)
  local nn = ml.nn
  local X = ml.randn(64, 3)
  local Y = X:matmul(ml.tensor({ { 1.5 }, { -2.0 }, { 0.5 } })) + 0.3
  local model = nn.Linear(3, 1)
  local opt = Lion(model:parameters(), { lr = 0.02 })
  local crit = nn.MSELoss()
  local first, last
  for i = 1, 200 do
    opt:zero_grad()
    local loss = crit(model(X), Y)
    loss:backward()
    opt:step()
    if i == 1 then first = loss:item() end
    last = loss:item()
  end
  T.ok(last < first * 0.05, string.format("the loss falls: %g -> %g", first, last))
  -- state_dict round trip into a fresh optimizer: same next step
  local sd = opt:state_dict()
  T.ok(sd.tensors["state.1.exp_avg"] ~= nil and sd.meta.steps[1] == 200, "state tensors and steps")
  local model2 = nn.Linear(3, 1)
  model2:load_state_dict(model:state_dict())
  local opt2 = Lion(model2:parameters(), { lr = 0.5 })
  opt2:load_state_dict(sd)
  T.eq(opt2.param_groups[1].lr, 0.02, "options come back")
  for _, pair in ipairs({ { model, opt }, { model2, opt2 } }) do
    pair[2]:zero_grad()
    crit(pair[1](X), Y):backward()
    pair[2]:step()
  end
  T.all_near(model2.weight, model.weight, 0)
  T.all_near(opt2:state_of(model2.weight).exp_avg, opt:state_of(model.weight).exp_avg, 0)
  -- through a checkpoint file
  local path = T.tmpname()
  nn.save_checkpoint(path, { model = model, optimizer = opt, epoch = 1 })
  local opt3 = Lion(nn.Linear(3, 1):parameters())
  local model3 = nn.Linear(3, 1)
  opt3 = Lion(model3:parameters())
  nn.load_checkpoint(path, { model = model3, optimizer = opt3 })
  os.remove(path)
  T.eq(opt3:state_of(model3.weight).step, 201)
  T.all_near(opt3:state_of(model3.weight).exp_avg, opt:state_of(model.weight).exp_avg, 0)
  T.raises(function() optim.Adam(model:parameters()):load_state_dict(sd) end, "the state is from optim.TestLion")
end)

-- ---- the step's fast path: one C call over every block ----

T.test("step and zero_grad reach every group and block, read the groups' options each step, and leave Lua optimizers alone", function()
  local w32 = ml.tensor({ 1, 2 }, { dtype = "float32", requires_grad = true })
  local w64 = ml.tensor({ 3, 4 }, { dtype = "float64", requires_grad = true })
  local later = ml.tensor({ 5 }, { dtype = "float32", requires_grad = true })
  local opt = optim.SGD({ { params = { w32, w64 } } }, { lr = 0.5 })
  opt:add_param_group({ params = { later }, lr = 0.25 })
  local function grads()
    opt:zero_grad()
    local l = (w32 * w32):sum() + (w64 * w64):sum():float() + (later * later):sum()
    l:backward()
  end
  grads()
  T.all_near(w32.grad, ml.tensor({ 2, 4 }, { dtype = "float32" }), 0)
  opt:step() -- w - lr * 2w
  T.all_near(w32, ml.zeros(2), 0)
  T.all_near(w64, ml.zeros(2, { dtype = "float64" }), 0)
  T.all_near(later, ml.tensor({ 2.5 }, { dtype = "float32" }), 0, "the group added later, with its own lr")
  opt.param_groups[2].lr = 0.5 -- a schedule's change is seen at the next step
  grads()
  opt:step()
  T.all_near(later, ml.zeros(1), 0)
  opt:zero_grad()
  T.all_near(w64.grad, ml.zeros(2, { dtype = "float64" }), 0, "every block is zeroed")
  opt:zero_grad({ set_to_none = true })
  T.eq(later.grad, nil)
  -- an optimizer class with an update method in Lua steps through it, not the C kernel
  local Half = optim.Optimizer:extend("TestHalfStep", { options = { { "lr", 1 } } })
  function Half:update(p, g) p:sub_(g * 0.5 * self.param_groups[1].lr) end
  local p = ml.tensor({ 4 }, { dtype = "float32", requires_grad = true })
  local h = Half({ p })
  local l = (p * p):sum()
  l:backward()
  h:step()
  T.all_near(p, ml.zeros(1), 0)
  T.raises(function() ml._optim.step_all({ 5 }) end, "ml._optim.step_all: block 1 is a number")
end)
