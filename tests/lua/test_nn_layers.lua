-- nn layers, nn.init and nn.utils: forward and backward against PyTorch
-- fixtures made from the same weights (scripts/gen_nn_fixtures.py writes
-- tests/fixtures/nn/layers.lua), float64 gradient checks of every layer
-- (input and parameters), train/eval behaviour of Dropout and BatchNorm1d,
-- initializer statistics, error messages and printing.
local nn = ml.nn
local gradcheck = dofile("tests/lua/gradcheck.lua")
local FX = dofile("tests/fixtures/nn/layers.lua")
local D = { dtype = "float64" }

local fixture_tensor = T.fixture_tensor

local build = T.build

-- ---- PyTorch fixtures ------------------------------------------------------
T.test("nn fixtures: version and torch", function()
  T.eq(FX.version, 1)
  T.ok(#FX.cases >= 30, "layer cases")
end)

for _, c in ipairs(FX.cases) do
  T.test("nn layer vs torch: " .. c.name, function()
    local m = build(c.ctor)
    local sd = {}
    for k, v in pairs(c.state) do sd[k] = fixture_tensor(v) end
    m:load_state_dict(sd)
    if not c.train then m:eval() end
    local x = fixture_tensor(c.input)
    local is_float = x:dtype() == "float64"
    if is_float then x:requires_grad() end
    local out = m(x)
    local tol = c.tol or 1e-10
    T.all_near(out, fixture_tensor(c.output), tol, "output")
    T.eq(out:dtype(), c.output.dtype, "output dtype")
    local loss = (out * fixture_tensor(c.w)):sum()
    loss:backward()
    if is_float then T.all_near(x.grad, fixture_tensor(c.grad_input), tol, "grad of input") end
    local named = {}
    for _, p in ipairs(m:named_parameters()) do named[p[1]] = p[2] end
    local n = 0
    for name, g in pairs(c.grads) do
      n = n + 1
      T.ok(named[name], "parameter " .. name .. " exists")
      T.all_near(named[name].grad, fixture_tensor(g), tol, "grad of " .. name)
    end
    T.eq(#m:named_parameters(), n, "parameter count")
    if c.running_mean then
      local bn = m.running_mean and m or m[2]
      T.all_near(bn.running_mean, fixture_tensor(c.running_mean), tol, "running_mean")
      T.all_near(bn.running_var, fixture_tensor(c.running_var), tol, "running_var")
      T.eq(bn.num_batches_tracked:item(), 1)
      if c.eval_output then
        m:eval()
        T.all_near(m(x:detach()), fixture_tensor(c.eval_output), tol, "eval output")
      end
    end
  end)
end

-- ---- gradient checks (float64, input and parameters) ------------------------
local function away(shape)
  local x = ml.randn(shape, D)
  return ml.where(x:ge(0), x + 0.2, x - 0.2)
end

local function check_module(name, m, x, opts)
  T.test("gradcheck nn." .. name, function()
    local inputs = { x }
    for _, p in ipairs(m:parameters()) do inputs[#inputs + 1] = p end
    gradcheck(function(a) return m(a) end, inputs, opts)
  end)
end

ml.seed(99)
check_module("Linear", nn.Linear(4, 3, D), ml.randn(5, 4, D))
check_module("Linear 3-D", nn.Linear(4, 3, D), ml.randn(2, 3, 4, D))
check_module("Linear no bias", nn.Linear(4, 3, { bias = false, dtype = "float64" }), ml.randn(5, 4, D))
-- the 2-D product reads W transposed where it lies; these inputs take its other paths
T.test("gradcheck nn.Linear: input stored transposed, strided (copied), weight stored transposed", function()
  local l = nn.Linear(4, 3, D)
  gradcheck(function(a, w, b) return ml._nn.linear(a:t(), w, b) end, { ml.randn(4, 5, D), l.weight, l.bias })
  gradcheck(function(a, w, b) return ml._nn.linear(a:reshape(5, 4, 2):select(3, 1), w, b) end,
    { ml.randn(5, 8, D), l.weight, l.bias })
  gradcheck(function(a, w) return ml._nn.linear(a, w:t()) end, { ml.randn(5, 4, D), ml.randn(4, 3, D) })
end)
T.test("nn.Linear: the bias gradient is the column sum, bit for bit (both dtypes, past one block of 256)", function()
  ml.seed(6)
  for _, dt in ipairs({ "float32", "float64" }) do
    for _, sh in ipairs({ { 32, 32 }, { 300, 600 }, { 7, 1 } }) do
      local b = ml.zeros(sh[2], { dtype = dt }):requires_grad()
      local g = ml.randn(sh[1], sh[2], { dtype = dt })
      ;(ml._nn.linear(ml.zeros(sh[1], 3, { dtype = dt }), ml.zeros(sh[2], 3, { dtype = dt }), b) * g):sum():backward()
      T.ok(b.grad:equal(g:sum(1)), dt .. " " .. sh[1] .. "x" .. sh[2])
      local c = ml.zeros(1, sh[2], { dtype = dt }):requires_grad()
      ;(ml.addmm(c, ml.zeros(sh[1], 3, { dtype = dt }), ml.zeros(3, sh[2], { dtype = dt })) * g):sum():backward()
      T.ok(c.grad:equal(g:sum(1, { keepdim = true })), dt .. " keepdim")
    end
  end
end)

T.test("nn.Linear: the 2-D forward and gradients equal addmm's on W^T", function()
  ml.seed(5)
  for _, dt in ipairs({ "float32", "float64" }) do
    for _, sh in ipairs({ { 32, 10, 32 }, { 32, 32, 1 }, { 1, 7, 3 }, { 40, 50, 60 } }) do
      local x = ml.randn(sh[1], sh[2], { dtype = dt }):requires_grad()
      local w = ml.randn(sh[3], sh[2], { dtype = dt }):requires_grad()
      local b = ml.randn(sh[3], { dtype = dt }):requires_grad()
      local g = ml.randn(sh[1], sh[3], { dtype = dt })
      local y = ml._nn.linear(x, w, b)
      ;(y * g):sum():backward()
      local gx, gw, gb = x.grad, w.grad, b.grad
      x.grad, w.grad, b.grad = nil, nil, nil
      local y2 = ml.addmm(b, x, w:t())
      ;(y2 * g):sum():backward()
      local tol = dt == "float32" and 1e-5 or 1e-12
      T.all_near(y, y2, tol)
      T.all_near(gx, x.grad, tol)
      T.all_near(gw, w.grad, tol)
      T.all_near(gb, b.grad, tol)
    end
  end
end)
check_module("Identity", nn.Identity(), ml.randn(3, 4, D))
check_module("Flatten", nn.Flatten(), ml.randn(2, 3, 2, D))
check_module("Reshape", nn.Reshape(3, 2), ml.randn(2, 6, D))
check_module("ReLU", nn.ReLU(), away({ 3, 4 }))
check_module("LeakyReLU", nn.LeakyReLU(0.1), away({ 3, 4 }))
check_module("ELU", nn.ELU(1.3), away({ 3, 4 }))
check_module("GELU", nn.GELU(), ml.randn(3, 4, D))
check_module("GELU tanh", nn.GELU({ approximate = "tanh" }), ml.randn(3, 4, D))
check_module("SiLU", nn.SiLU(), ml.randn(3, 4, D))
check_module("Sigmoid", nn.Sigmoid(), ml.randn(3, 4, D))
check_module("Tanh", nn.Tanh(), ml.randn(3, 4, D))
check_module("Softmax", nn.Softmax(2), ml.randn(3, 4, D))
check_module("LogSoftmax", nn.LogSoftmax(1), ml.randn(3, 4, D))
do
  local bn = nn.BatchNorm1d(3, D)
  ml.no_grad(function() bn.weight:copy_(ml.rand(3, D) + 0.5); bn.bias:copy_(ml.randn(3, D)) end)
  check_module("BatchNorm1d train", bn, ml.randn(5, 3, D))
  check_module("BatchNorm1d train 3-D", nn.BatchNorm1d(2, D), ml.randn(3, 2, 4, D))
  check_module("BatchNorm1d no affine", nn.BatchNorm1d(3, { affine = false, dtype = "float64" }), ml.randn(4, 3, D))
  local ev = nn.BatchNorm1d(3, D)
  ml.no_grad(function() ev.running_mean:copy_(ml.randn(3, D)); ev.running_var:copy_(ml.rand(3, D) + 0.5) end)
  ev:eval()
  check_module("BatchNorm1d eval", ev, ml.randn(4, 3, D))
  check_module("BatchNorm1d eval 3-D", nn.BatchNorm1d(3, D):eval(), ml.randn(2, 3, 2, D))
end
do
  local ln = nn.LayerNorm(5, D)
  ml.no_grad(function() ln.weight:copy_(ml.rand(5, D) + 0.5); ln.bias:copy_(ml.randn(5, D)) end)
  check_module("LayerNorm", ln, ml.randn(3, 5, D))
  check_module("LayerNorm 2 dims", nn.LayerNorm({ 2, 3 }, D), ml.randn(2, 2, 3, D) * 3)
  check_module("LayerNorm no affine", nn.LayerNorm(4, { elementwise_affine = false, dtype = "float64" }), ml.randn(3, 4, D))
  check_module("LayerNorm no bias", nn.LayerNorm(4, { bias = false, dtype = "float64" }), ml.randn(3, 4, D))
end
T.test("gradcheck nn.Embedding (weight)", function()
  local e = nn.Embedding(5, 3, D)
  local idx = ml.tensor({ { 1, 5, 2 }, { 2, 2, 4 } })
  gradcheck(function(w) return e(idx) end, { e.weight })
  local p = nn.Embedding(5, 3, { padding_idx = 2, dtype = "float64" })
  gradcheck(function(w) return p(idx) end, { p.weight })
end)
T.test("gradcheck nn.Dropout (fixed seed)", function()
  local d = nn.Dropout(0.4)
  gradcheck(function(x) ml.seed(3); return d(x) end, { ml.randn(4, 5, D) })
end)
check_module("Sequential", nn.Sequential { nn.Linear(3, 4, D), nn.Tanh(), nn.Linear(4, 2, D) }, ml.randn(3, 3, D))

-- ---- Linear ------------------------------------------------------------------
T.test("nn.Linear: 2-D forward is one addmm; shapes; extra_repr", function()
  local l = nn.Linear(6, 4)
  T.eq(table.concat(l.weight:shape(), ","), "4,6")
  T.eq(table.concat(l.bias:shape(), ","), "4")
  T.eq(l.weight:dtype(), "float32")
  local y = l(ml.randn(3, 6))
  T.eq(y.grad_fn, "addmm")
  T.eq(table.concat(y:shape(), ","), "3,4")
  T.eq(table.concat(l(ml.randn(2, 5, 6)):shape(), ","), "2,5,4")
  T.eq(l:extra_repr(), "in=6, out=4, bias=true")
  T.eq(nn.Linear(2, 3, { bias = false }):extra_repr(), "in=2, out=3, bias=false")
  T.eq(#nn.Linear(2, 3, { bias = false }):parameters(), 1)
end)

T.test("nn.Linear: errors", function()
  local l = nn.Linear(784, 10)
  T.raises(function() l(ml.randn(3, 783)) end, "nn.Linear: input has 783 features, expected 784")
  T.raises(function() l(ml.randn(3, 784, D)) end, "nn.Linear: input dtype float64 differs from the weight's float32")
  T.raises(function() l({ 1, 2 }) end, "nn.Linear: input must be a tensor, got table")
  T.raises(function() nn.Linear(784, 10, { biass = true }) end, "nn.Linear: unknown option 'biass' (known: bias, dtype)")
  T.raises(function() nn.Linear(784) end, "nn.Linear: out_features must be a non-negative integer, got nil")
  T.raises(function() nn.Linear(7.5, 2) end, "nn.Linear: in_features must be a non-negative integer")
  T.raises(function() nn.Linear(2, 2, { dtype = "int64" }) end, "nn.Linear: dtype must be 'float32' or 'float64'")
  local err = T.raises(function() l(ml.randn(3, 783)) end, "nn.Linear")
  T.ok(err:find("test_nn_layers.lua", 1, true), "the error points at the caller: " .. err)
end)

-- ---- initialization ----------------------------------------------------------
local function stats(t)
  local v = t:reshape(-1):double()
  return v:min():item(), v:max():item(), v:mean():item(), v:std():item()
end

T.test("nn.Linear: PyTorch's default init U(-1/sqrt(in), 1/sqrt(in))", function()
  ml.seed(1)
  local l = nn.Linear(784, 512)
  local bound = 1 / math.sqrt(784)
  local lo, hi, mean, std = stats(l.weight)
  T.ok(lo >= -bound and hi <= bound, "weights within the bound")
  T.ok(hi > 0.99 * bound and lo < -0.99 * bound, "weights fill the range")
  T.near(mean, 0, 2e-4 / bound * bound + 1e-3)
  T.near(std, bound / math.sqrt(3), 0.01 * bound)
  local blo, bhi = stats(l.bias)
  T.ok(blo >= -bound and bhi <= bound, "bias within the bound")
  T.ok(bhi - blo > bound, "bias spread")
  T.ok(l.weight:is_leaf() and l.weight:is_requires_grad())
end)

T.test("nn.init: the same seed gives the same weights", function()
  ml.seed(42)
  local a = nn.Sequential { nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 3) }
  ml.seed(42)
  local b = nn.Sequential { nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 3) }
  ml.seed(43)
  local c = nn.Linear(20, 10)
  for i, p in ipairs(a:parameters()) do T.ok(p:equal(b:parameters()[i]), "parameter " .. i) end
  T.ok(not a[1].weight:equal(c.weight), "another seed, other weights")
end)

T.test("nn.init: kaiming, xavier, normal, uniform, constants", function()
  local init = nn.init
  ml.seed(5)
  local w = ml.empty(400, 300)
  init.kaiming_normal_(w, { nonlinearity = "relu" })
  local _, _, mean, std = stats(w)
  T.near(mean, 0, 2e-3)
  T.near(std, math.sqrt(2 / 300), 0.01 * math.sqrt(2 / 300) + 1e-4)
  init.kaiming_normal_(w, { nonlinearity = "relu", mode = "fan_out" })
  _, _, _, std = stats(w)
  T.near(std, math.sqrt(2 / 400), 0.02 * math.sqrt(2 / 400))
  init.kaiming_uniform_(w, { nonlinearity = "relu" })
  local lo, hi = stats(w)
  local b = math.sqrt(6 / 300)
  T.ok(lo >= -b and hi <= b and hi > 0.99 * b, "kaiming uniform bound")
  init.xavier_uniform_(w, { gain = 2 })
  lo, hi = stats(w)
  b = 2 * math.sqrt(6 / 700)
  T.ok(lo >= -b and hi <= b and hi > 0.99 * b, "xavier uniform bound")
  init.xavier_normal_(w)
  _, _, _, std = stats(w)
  T.near(std, math.sqrt(2 / 700), 0.02 * math.sqrt(2 / 700))
  init.normal_(w, { mean = 3, std = 0.5 })
  _, _, mean, std = stats(w)
  T.near(mean, 3, 0.01)
  T.near(std, 0.5, 0.01)
  init.uniform_(w, { a = -2, b = -1 })
  lo, hi = stats(w)
  T.ok(lo >= -2 and hi < -1 and lo < -1.99 and hi > -1.01, "uniform range")
  T.eq(init.zeros_(w):abs():sum():item(), 0)
  T.eq(init.ones_(w):sum():item(), 120000)
  T.eq(init.constant_(w, 0.25):mean():item(), 0.25)
  -- fans of a conv-like weight [out, in, k, k]
  local fi, fo = init.fans(ml.empty(8, 3, 5, 5))
  T.eq(fi, 75); T.eq(fo, 200)
  T.near(init.calculate_gain("relu"), math.sqrt(2))
  T.near(init.calculate_gain("tanh"), 5 / 3)
  T.near(init.calculate_gain("leaky_relu", 0.2), math.sqrt(2 / 1.04))
  T.near(init.calculate_gain("leaky_relu", math.sqrt(5)), math.sqrt(1 / 3))
  T.eq(init.calculate_gain("linear"), 1)
  -- parameters are filled in place under no_grad, and stay leaves
  local p = ml.zeros(3, 4, { requires_grad = true })
  init.xavier_uniform_(p)
  T.ok(p:is_leaf() and p:is_requires_grad() and p:abs():sum():item() > 0)
end)

T.test("nn.init: errors", function()
  local init = nn.init
  T.raises(function() init.kaiming_uniform_(ml.empty(5)) end, "at least 2 dimensions")
  T.raises(function() init.kaiming_uniform_(ml.empty(3, 3), { mod = "fan_in" }) end,
    "nn.init.kaiming_uniform_: unknown option 'mod' (known: a, mode, nonlinearity)")
  T.raises(function() init.kaiming_normal_(ml.empty(3, 3), { mode = "fan" }) end, "mode must be 'fan_in' or 'fan_out'")
  T.raises(function() init.normal_(ml.empty(3, 3, { dtype = "int64" })) end, "nn.init.normal_: expected a float tensor, got int64")
  T.raises(function() init.calculate_gain("swish") end, "nn.init.calculate_gain: unknown nonlinearity 'swish'")
  T.raises(function() init.uniform_(ml.empty(2), { a = 1, b = 0 }) end, "must not exceed")
end)

-- ---- Dropout -----------------------------------------------------------------
T.test("nn.Dropout: train zeroes about p and rescales; eval is the identity", function()
  local d = nn.Dropout(0.3)
  local x = ml.ones(200, 100)
  ml.seed(7)
  local y = d(x)
  local zeros = y:eq(0):sum():item()
  T.near(zeros / 20000, 0.3, 0.02)
  local kept = y:masked_select(y:ne(0))
  T.near(kept:min():item(), 1 / 0.7, 1e-6)
  T.near(kept:max():item(), 1 / 0.7, 1e-6)
  T.near(y:mean():item(), 1, 0.03)
  ml.seed(7)
  T.ok(d(x):equal(y), "the same seed gives the same mask")
  T.ok(not d(x):equal(y), "the next call draws a new mask")
  d:eval()
  T.ok(d(x) == x, "eval returns the input itself")
  d:train()
  T.ok(d(x) ~= x)
  T.ok(nn.Dropout(0)(x) == x, "p = 0 is the identity")
  T.eq(nn.Dropout(1)(x):abs():sum():item(), 0)
  T.eq(nn.Dropout().p, 0.5)
  T.eq(nn.Dropout(0.2):extra_repr(), "p=0.2")
  T.raises(function() nn.Dropout(1.5) end, "nn.Dropout: p must be a number in [0, 1], got 1.5")
  -- the gradient goes through the kept elements only, scaled
  local xg = ml.ones(4, 5):requires_grad()
  ml.seed(9)
  local yg = d(xg)
  yg:sum():backward()
  T.all_near(xg.grad, yg:detach(), 1e-6)
end)

-- ---- BatchNorm1d ---------------------------------------------------------
T.test("nn.BatchNorm1d: batch statistics in training, running statistics in eval", function()
  local bn = nn.BatchNorm1d(3, { momentum = 0.5 })
  T.eq(bn:extra_repr(), "3, eps=1e-05, momentum=0.5, affine=true, track_running_stats=true")
  local x = ml.randn(64, 3) * 2 + 5
  local y = bn(x)
  T.all_near(y:mean(1), ml.zeros(3), 1e-5)
  T.all_near(y:var(1, { unbiased = false }), ml.ones(3), 1e-3)
  -- running stats: half way from (0, 1) to the batch's mean and unbiased var
  T.all_near(bn.running_mean, x:mean(1) * 0.5, 1e-5)
  T.all_near(bn.running_var, x:var(1) * 0.5 + 0.5, 1e-5)
  T.eq(bn.num_batches_tracked:item(), 1)
  bn:eval()
  local rm = bn.running_mean:clone()
  local ye = bn(x)
  T.ok(bn.running_mean:equal(rm), "eval leaves the running stats alone")
  T.eq(bn.num_batches_tracked:item(), 1)
  T.all_near(ye, (x - rm) / (bn.running_var + 1e-5):sqrt(), 1e-5)
  -- a single sample works in eval, not in training
  T.eq(table.concat(bn(ml.randn(1, 3)):shape(), ","), "1,3")
  bn:train()
  T.raises(function() bn(ml.randn(1, 3)) end, "nn.BatchNorm1d: expected more than 1 value per channel when training")
  -- buffers are saved, not trained
  T.eq(#bn:parameters(), 2)
  local sd = bn:state_dict()
  T.ok(sd.running_mean and sd.running_var and sd.num_batches_tracked and sd.weight and sd.bias)
  -- without running stats, eval uses the batch too
  local nb = nn.BatchNorm1d(3, { track_running_stats = false }):eval()
  T.all_near(nb(x):mean(1), ml.zeros(3), 1e-5)
  T.eq(nb.running_mean, nil)
end)

T.test("nn.BatchNorm1d: errors", function()
  local bn = nn.BatchNorm1d(4)
  T.raises(function() bn(ml.randn(8, 5)) end, "nn.BatchNorm1d: input has 5 channels (dimension 2), expected 4")
  T.raises(function() bn(ml.randn(8)) end, "nn.BatchNorm1d: expected input (N, C) or (N, C, L), got shape [8]")
  T.raises(function() nn.BatchNorm1d(4, { momentun = 0.1 }) end,
    "nn.BatchNorm1d: unknown option 'momentun' (known: eps, momentum, affine, track_running_stats, dtype)")
  T.raises(function() nn.BatchNorm1d(4, { affine = 1 }) end, "option 'affine' must be a boolean")
end)

-- ---- LayerNorm --------------------------------------------------------------
T.test("nn.LayerNorm: normalizes the last dims, float32 agrees with float64", function()
  local ln = nn.LayerNorm(8)
  local x = ml.randn(4, 8) * 3 + 2
  local y = ln(x)
  T.eq(y.grad_fn, "layer_norm")
  T.all_near(y:mean(2), ml.zeros(4), 1e-6)
  T.all_near(y:var(2, { unbiased = false }), ml.ones(4), 1e-4)
  local ln64 = nn.LayerNorm(8, D)
  T.all_near(y, ln64(x:double()), 1e-5)
  T.eq(ln:extra_repr(), "[8], eps=1e-05, elementwise_affine=true")
  T.raises(function() ln(ml.randn(4, 7)) end, "nn.LayerNorm: input of shape [4,7] does not end with the normalized shape [8]")
  T.raises(function() nn.LayerNorm(8, { elementwise_affine = false })(ml.randn(4, 7)) end,
    "nn.LayerNorm: input of shape [4,7] does not end with the normalized shape [8]")
  -- a large input in float32 (many rows, threads)
  local big = ml.randn(3000, 64)
  local yb = nn.LayerNorm(64)(big)
  T.all_near(yb, nn.LayerNorm(64, D)(big:double()), 1e-5)
end)

-- ---- Embedding ----------------------------------------------------------------
T.test("nn.Embedding: 1-based lookup, padding row, errors", function()
  local e = nn.Embedding(10, 3)
  local idx = ml.tensor({ { 1, 10 }, { 4, 4 } })
  local y = e(idx)
  T.eq(table.concat(y:shape(), ","), "2,2,3")
  T.all_near(y[1][2], e.weight[10], 0)
  T.all_near(y[2][1], e.weight[4], 0)
  local _, _, mean, std = stats(nn.Embedding(1000, 50).weight)
  T.near(mean, 0, 0.01)
  T.near(std, 1, 0.02)
  local p = nn.Embedding(5, 2, { padding_idx = -1 })
  T.eq(p.padding_idx, 5)
  T.eq(p.weight[5]:abs():sum():item(), 0)
  T.eq(p:extra_repr(), "5, 2, padding_idx=5")
  local out = p(ml.tensor({ 5, 1, 5 }))
  out:sum():backward()
  T.eq(p.weight.grad[5]:abs():sum():item(), 0, "no gradient into the padding row")
  T.eq(p.weight.grad[1]:sum():item(), 2)
  T.raises(function() e(ml.tensor({ 1, 11 })) end, "nn.Embedding: index 11 is out of range for 10 embeddings")
  T.raises(function() e(ml.tensor({ 0 })) end, "nn.Embedding: index 0 is out of range for 10 embeddings")
  T.raises(function() e(ml.tensor({ 1.0, 2.0 })) end, "nn.Embedding: indices must be an int64 tensor, got float32")
  T.raises(function() nn.Embedding(5, 2, { padding_idx = 6 }) end, "nn.Embedding: padding_idx must be an index in 1..5")
end)

-- ---- shape layers, activations -----------------------------------------------
T.test("nn.Flatten, nn.Reshape, activations: shapes and reprs", function()
  local x = ml.randn(2, 3, 4)
  T.eq(table.concat(nn.Flatten()(x):shape(), ","), "2,12")
  T.eq(table.concat(nn.Flatten(1)(x):shape(), ","), "24")
  T.eq(table.concat(nn.Flatten({ start_dim = 2, end_dim = 2 })(x):shape(), ","), "2,3,4")
  T.eq(nn.Flatten():extra_repr(), "start_dim=2, end_dim=-1")
  T.eq(table.concat(nn.Reshape(4, 3)(x):shape(), ","), "2,4,3")
  T.eq(table.concat(nn.Reshape({ -1 })(x):shape(), ","), "2,12")
  T.eq(nn.Reshape(1, 28, 28):extra_repr(), "shape=[1,28,28]")
  T.raises(function() nn.Reshape(5, 5)(x) end, "nn.Reshape: cannot reshape input of shape [2,3,4] to [2,5,5]")
  T.raises(function() nn.Flatten({ start = 2 }) end, "nn.Flatten: unknown option 'start' (known: start_dim, end_dim)")
  T.raises(function() nn.ReLU({ inplace = true }) end, "nn.ReLU: unknown option 'inplace'")
  T.raises(function() nn.GELU({ approximate = "fast" }) end, "nn.GELU: approximate must be 'none' or 'tanh'")
  T.eq(nn.LeakyReLU():extra_repr(), "negative_slope=0.01")
  T.eq(nn.ELU():extra_repr(), "alpha=1")
  T.eq(nn.Softmax():extra_repr(), "dim=-1")
  -- ELU never overflows on large inputs
  local big = ml.tensor({ -1000, 0, 100, 1000 }, D):requires_grad()
  local yb = nn.ELU()(big)
  T.all_near(yb, ml.tensor({ -1, 0, 100, 1000 }, D), 1e-12)
  yb:sum():backward()
  T.all_near(big.grad, ml.tensor({ 0, 1, 1, 1 }, D), 1e-12)
end)

-- ---- containers ---------------------------------------------------------------
T.test("nn.Sequential: chaining, add, indexing, names, tostring", function()
  ml.seed(0)
  local model = nn.Sequential { nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10) }
  T.eq(#model, 5)
  T.eq(model[2].in_features, 784)
  local y = model(ml.rand(3, 1, 28, 28))
  T.eq(table.concat(y:shape(), ","), "3,10")
  T.eq(model:num_parameters(), 784 * 512 + 512 + 512 * 10 + 10)
  local names = {}
  for _, p in ipairs(model:named_parameters()) do names[#names + 1] = p[1] end
  T.eq(table.concat(names, " "), "2.weight 2.bias 5.weight 5.bias") -- definition order, as PyTorch
  T.eq(tostring(model), table.concat({
    "Sequential(",
    "  (1): Flatten(start_dim=2, end_dim=-1)",
    "  (2): Linear(in=784, out=512, bias=true)  401,920 params",
    "  (3): ReLU()",
    "  (4): Dropout(p=0.2)",
    "  (5): Linear(in=512, out=10, bias=true)  5,130 params",
    ")",
    "407,050 trainable parameters",
  }, "\n"))
  model:add(nn.LogSoftmax(2))
  T.eq(#model, 6)
  T.eq(model._args[1][6], model[6], "the constructor arguments follow add")
  T.eq(table.concat(model(ml.rand(2, 784)):shape(), ","), "2,10")
  -- eval reaches the children
  model:eval()
  T.eq(model[4].training, false)
  local x = ml.rand(2, 784)
  T.ok(model(x):equal(model(x)), "eval is deterministic")
  -- nested Sequential
  local outer = nn.Sequential { nn.Sequential { nn.Linear(3, 4), nn.ReLU() }, nn.Linear(4, 1) }
  names = {}
  for _, p in ipairs(outer:named_parameters()) do names[#names + 1] = p[1] end
  T.eq(table.concat(names, " "), "1.1.weight 1.1.bias 2.weight 2.bias")
  T.eq(table.concat(outer(ml.randn(5, 3)):shape(), ","), "5,1")
  T.eq(table.concat(nn.Sequential {}(x):shape(), ","), "2,784", "an empty Sequential is the identity")
end)

T.test("nn.Sequential / ModuleList: errors", function()
  T.raises(function() nn.Sequential { nn.ReLU(), 3 } end, "nn.Sequential: element 2 is a number, expected a module")
  T.raises(function() nn.Sequential(nn.ReLU()) end, "nn.Sequential: expected a list of modules {m1, m2, ...}, got a module")
  T.raises(function() nn.Sequential { a = nn.ReLU() } end, "key a is not a position")
  T.raises(function() nn.Sequential {}:add(5) end, "nn.Sequential:add: expected a module, got number")
  T.raises(function() nn.ModuleList { nn.ReLU() }(ml.randn(2)) end, "nn.ModuleList: has no forward")
end)

T.test("writing your own module: parameters of ModuleList children are found", function()
  local Tower = nn.Module:extend("Tower")
  function Tower:init(widths)
    self.layers = nn.ModuleList {}
    for i = 1, #widths - 1 do self.layers:add(nn.Linear(widths[i], widths[i + 1])) end
    self.scale = ml.ones(1):requires_grad()
  end
  function Tower:forward(x)
    for _, l in ipairs(self.layers) do x = l(x):tanh() end
    return x * self.scale
  end
  local t = Tower({ 4, 8, 8, 2 })
  T.eq(#t.layers, 3)
  T.eq(#t:parameters(), 7)
  local names = {}
  for _, p in ipairs(t:named_parameters()) do names[#names + 1] = p[1] end
  T.eq(table.concat(names, " "), "scale layers.1.weight layers.1.bias layers.2.weight layers.2.bias layers.3.weight layers.3.bias")
  local y = t(ml.randn(5, 4))
  y:sum():backward()
  for _, p in ipairs(t:parameters()) do T.ok(p.grad ~= nil, "every parameter gets a gradient") end
end)

-- ---- nn.utils --------------------------------------------------------------------
T.test("nn.utils.clip_grad_norm and clip_grad_value", function()
  local a = ml.tensor({ 3.0, 0.0 }, D):requires_grad()
  local b = ml.tensor({ { 0.0, 4.0 } }, D):requires_grad()
  local function grads()
    a:zero_grad(); b:zero_grad();
    ((a * ml.tensor({ 3.0, 0.0 }, D)):sum() + (b * ml.tensor({ { 0.0, 4.0 } }, D)):sum()):backward()
  end
  grads()
  local n = nn.utils.clip_grad_norm({ a, b }, 1)
  T.near(n, 5, 1e-12)
  T.all_near(a.grad, ml.tensor({ 0.6, 0 }, D), 1e-6)
  T.all_near(b.grad, ml.tensor({ { 0, 0.8 } }, D), 1e-6)
  grads()
  T.near(nn.utils.clip_grad_norm({ a, b }, 10), 5, 1e-12)
  T.all_near(a.grad, ml.tensor({ 3, 0 }, D), 1e-12, "below max_norm: unchanged")
  T.near(nn.utils.clip_grad_norm({ a, b }, 10, { norm_type = math.huge }), 4, 1e-12)
  T.near(nn.utils.clip_grad_norm({ a, b }, 10, { norm_type = 1 }), 7, 1e-12)
  T.eq(nn.utils.clip_grad_norm({ ml.zeros(2, { requires_grad = true }) }, 1), 0, "no gradients yet")
  nn.utils.clip_grad_value({ a, b }, 2)
  T.all_near(a.grad, ml.tensor({ 2, 0 }, D), 0)
  T.all_near(b.grad, ml.tensor({ { 0, 2 } }, D), 0)
  -- a module works too
  local l = nn.Linear(3, 2)
  l(ml.randn(4, 3)):sum():backward()
  T.ok(nn.utils.clip_grad_norm(l, 1e-3) > 1e-3)
  local total = 0
  for _, p in ipairs(l:parameters()) do total = total + p.grad:norm():item() ^ 2 end
  T.near(math.sqrt(total), 1e-3, 1e-5)
  T.raises(function() nn.utils.clip_grad_norm({ a, 5 }, 1) end, "element 2 of the parameter list is a number")
  T.raises(function() nn.utils.clip_grad_norm({ a }, 1, { norm = 2 }) end,
    "nn.utils.clip_grad_norm: unknown option 'norm' (known: norm_type, error_if_nonfinite)")
  a.grad:fill_(0 / 0)
  T.raises(function() nn.utils.clip_grad_norm({ a }, 1, { error_if_nonfinite = true }) end, "is nan")
end)

T.test("nn.utils.l1_penalty and l2_penalty: values and gradients", function()
  local a = ml.tensor({ 1.0, -2.0 }, D)
  local b = ml.tensor({ { 3.0 } }, D)
  T.near(nn.utils.l2_penalty({ a, b }, 0.5):item(), 0.5 * 14, 1e-12)
  T.near(nn.utils.l1_penalty({ a, b }, 0.5):item(), 0.5 * 6, 1e-12)
  gradcheck(function(x, y) return nn.utils.l2_penalty({ x, y }, 0.1) end, { ml.randn(3, 2, D), ml.randn(4, D) })
  gradcheck(function(x, y) return nn.utils.l1_penalty({ x, y }, 0.1) end, { away({ 3, 2 }), away({ 4 }) })
  local l = nn.Linear(3, 2)
  local p = nn.utils.l2_penalty(l, 1e-2)
  T.eq(p:dim(), 0)
  p:backward()
  T.all_near(l.weight.grad, l.weight:detach() * 2e-2, 1e-6)
  T.raises(function() nn.utils.l2_penalty({ a }, "x") end, "nn.utils.l2_penalty: lambda must be a number")
end)

T.test("constructors refuse unknown options and surplus arguments, naming the layer", function()
  local function err_of(f)
    local ok, e = pcall(f)
    T.ok(not ok, "expected an error")
    return e
  end
  local cases = {
    { function() local m = nn.Dropout(0.2, { inplace = true }); return m end, "nn.Dropout: unknown option 'inplace' (known: p)" },
    { function() local m = nn.LeakyReLU(0.1, { x = 1 }); return m end, "nn.LeakyReLU: unknown option 'x' (known: negative_slope)" },
    { function() local m = nn.ELU(1, { foo = 1 }); return m end, "nn.ELU: unknown option 'foo' (known: alpha)" },
    { function() local m = nn.Softmax(2, { foo = 1 }); return m end, "nn.Softmax: unknown option 'foo' (known: dim)" },
    { function() local m = nn.LogSoftmax(2, { foo = 1 }); return m end, "nn.LogSoftmax: unknown option 'foo' (known: dim)" },
    { function() local m = nn.Identity(3, 4); return m end, "nn.Identity: takes no arguments, got 2" },
    { function() local m = nn.ReLU({ inplace = true }); return m end, "nn.ReLU: unknown option 'inplace' (nn.ReLU takes no options)" },
    { function() local m = nn.Sigmoid(1); return m end, "nn.Sigmoid: takes no arguments, got 1" },
    { function() local m = nn.Tanh({}, {}); return m end, "nn.Tanh: takes no arguments, got 2" },
    { function() local m = nn.SiLU({ x = 1 }); return m end, "nn.SiLU: unknown option 'x' (nn.SiLU takes no options)" },
    { function() local m = nn.Linear(2, 3, {}, 4); return m end, "nn.Linear: takes at most 3 arguments (in, out, [options]), got 4" },
    { function() local m = nn.GELU({}, 1); return m end, "nn.GELU: takes at most 1 argument (options), got 2" },
    { function() local m = nn.BatchNorm1d(3, {}, 1); return m end, "nn.BatchNorm1d: takes at most 2 arguments (num_features, [options]), got 3" },
    { function() local m = nn.LayerNorm(3, {}, 1); return m end, "nn.LayerNorm: takes at most 2 arguments" },
    { function() local m = nn.Embedding(3, 2, {}, 1); return m end, "nn.Embedding: takes at most 3 arguments" },
    { function() local m = nn.Flatten(2, -1, 5); return m end, "nn.Flatten: takes at most 2 arguments" },
    { function() local m = nn.Flatten({ start_dim = 2 }, 3); return m end, "nn.Flatten: takes start_dim, end_dim or an options table, not both" },
    { function() local m = nn.Sequential(nn.ReLU(), nn.ReLU()); return m end, "nn.Sequential: takes at most 1 argument (a list of modules), got 2" },
    { function() local m = nn.ModuleList({}, 1); return m end, "nn.ModuleList: takes at most 1 argument" },
    { function() local m = nn.Dropout(0.3, { p = 0.3 }); return m end, "nn.Dropout: p is given twice" },
    { function() local m = nn.Dropout({ p = 0.2 }, 1); return m end, "nn.Dropout: takes p or an options table, got 2 arguments" },
    { function() local m = nn.MSELoss({}, 1); return m end, "nn.MSELoss: takes one options table at most, got 2 arguments" },
    { function() local m = nn.CrossEntropyLoss({}, 1); return m end, "nn.CrossEntropyLoss: takes one options table at most" },
  }
  for _, c in ipairs(cases) do
    local e = err_of(c[1])
    T.ok(e:find(c[2], 1, true), "expected " .. c[2] .. ", got " .. e)
    T.ok(e:find("^tests/lua/test_nn_layers%.lua:%d+: nn%."), "the caller's line: " .. e)
  end
  -- what is allowed: trailing nils, an empty options table, the value by name
  T.eq(nn.Dropout({ p = 0.25 }).p, 0.25)
  T.eq(nn.LeakyReLU({ negative_slope = 0.2 }).negative_slope, 0.2)
  T.eq(nn.ELU(2, {}).alpha, 2)
  T.eq(nn.Softmax({ dim = 1 }).dim, 1)
  T.ok(nn.ReLU({}) and nn.Identity() and nn.Linear(2, 3, nil))
  -- a user's class extending a layer chooses its own arguments
  local Wide = nn.Linear:extend("LayersTestWide")
  function Wide:init(a, b, c, d) nn.Linear.init(self, a, b); self.tag = d end
  T.eq(Wide(2, 3, nil, "x").tag, "x")
  -- a model saved with Dropout{p=} comes back
  local dir = T.tmpname()
  local m = nn.Sequential{ nn.Linear(2, 2), nn.Dropout({ p = 0.3 }) }
  m:save(dir)
  T.eq(nn.load(dir)[2].p, 0.3)
  os.remove(dir)
end)

T.test("a custom module's children and parameters come in definition order", function()
  local Net = nn.Module:extend("LayersTestOrder")
  function Net:init()
    self.encoder = nn.Linear(4, 8)
    self.act = nn.ReLU()
    self.decoder = nn.Linear(8, 2)
    self.scale = ml.ones(2):requires_grad()
    self.note = "not a child"
    self.bn = nn.BatchNorm1d(2)
  end
  function Net:forward(x) return self.bn(self.decoder(self.act(self.encoder(x))) * self.scale) end
  local net = Net()
  local names = {}
  for _, c in ipairs(net:children()) do names[#names + 1] = c[1] end
  T.eq(table.concat(names, " "), "encoder act decoder bn")
  T.eq(tostring(net), table.concat({
    "LayersTestOrder(",
    "  (encoder): Linear(in=4, out=8, bias=true)  40 params",
    "  (act): ReLU()",
    "  (decoder): Linear(in=8, out=2, bias=true)  18 params",
    "  (bn): BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)  4 params",
    ")",
    "64 trainable parameters",
  }, "\n"))
  names = {}
  for _, p in ipairs(net:named_parameters()) do names[#names + 1] = p[1] end
  T.eq(table.concat(names, " "), "scale encoder.weight encoder.bias decoder.weight decoder.bias bn.weight bn.bias")
  -- the same order every time, and the same objects
  local a, b = net:parameters(), net:parameters()
  for i = 1, #a do T.ok(rawequal(a[i], b[i])) end
  -- state_dict names are the same names as ever
  local keys = {}
  for k in pairs(net:state_dict()) do keys[#keys + 1] = k end
  table.sort(keys)
  T.eq(table.concat(keys, " "), "bn.bias bn.num_batches_tracked bn.running_mean bn.running_var bn.weight decoder.bias "
    .. "decoder.weight encoder.bias encoder.weight scale")
  -- a field replaced keeps its place; one set to nil leaves; one set again comes back in its first place
  net.encoder = nn.Linear(4, 8)
  net.act = nil
  names = {}
  for _, c in ipairs(net:children()) do names[#names + 1] = c[1] end
  T.eq(table.concat(names, " "), "encoder decoder bn")
  net.act = nn.Tanh()
  names = {}
  for _, c in ipairs(net:children()) do names[#names + 1] = c[1] end
  T.eq(table.concat(names, " "), "encoder act decoder bn")
  -- fields set with rawset (no __newindex) come after, sorted
  rawset(net, "zz", nn.ReLU())
  rawset(net, "aa", nn.ReLU())
  names = {}
  for _, c in ipairs(net:children()) do names[#names + 1] = c[1] end
  T.eq(table.concat(names, " "), "encoder act decoder bn aa zz")
  -- Sequential: by position, whatever the order of add
  local seq = nn.Sequential{ nn.Linear(2, 3) }
  seq:add(nn.ReLU()):add(nn.Linear(3, 1))
  names = {}
  for _, p in ipairs(seq:named_parameters()) do names[#names + 1] = p[1] end
  T.eq(table.concat(names, " "), "1.weight 1.bias 3.weight 3.bias")
  -- reads of fields and later writes do not go through __newindex: no growth of the order list
  local order = rawget(net, "_order")
  local n0 = #order
  for _ = 1, 10 do net.scale = net.scale; local _ = net.decoder end
  T.eq(#rawget(net, "_order"), n0)
end)

-- ---- errors name the module path; printing ---------------------------------

T.test("layer errors name the module path and point at the user's line", function()
  local Net = nn.Module:extend("LayersTestPathNet")
  function Net:init() self.body = nn.Linear(2, 8); self.head = nn.Linear(4, 2) end
  function Net:forward(x)
    local h = self.body(x)
    return self.head(h) -- a tail call: this frame is gone when head fails
  end
  local FORWARD_LINE = debug.getinfo(Net.forward, "S").linedefined
  local net = Net()
  local ok, err = pcall(function() return net(ml.randn(3, 2)) end)
  T.ok(not ok)
  T.eq(err, "tests/lua/test_nn_layers.lua:" .. FORWARD_LINE .. ": LayersTestPathNet.head (nn.Linear): input has 8 features, expected 4")
  -- without a tail call: the line in forward
  local Net2 = nn.Module:extend("LayersTestPathNet2")
  function Net2:init() self.head = nn.Linear(4, 2) end
  function Net2:forward(x)
    local y = self.head(x); local LINE = debug.getinfo(1, "l").currentline
    rawset(self, "_line", LINE)
    return y
  end
  local n2 = Net2()
  ok, err = pcall(function() return n2(ml.randn(3, 5)) end)
  T.ok(err:find("^tests/lua/test_nn_layers%.lua:%d+: LayersTestPathNet2%.head %(nn%.Linear%): input has 5 features, expected 4$"), err)
  -- Sequential positions, nested containers; the prefix once
  local seq = nn.Sequential { nn.Linear(2, 4), nn.ReLU(), nn.Sequential { nn.Linear(8, 3) } }
  ok, err = pcall(function() local y = seq(ml.randn(3, 2)); return y end)
  T.ok(err:find("^tests/lua/test_nn_layers%.lua:%d+: Sequential%[3%]%[1%] %(nn%.Linear%): input has 4 features, expected 8$"), err)
  T.eq(select(2, err:gsub("nn%.Linear", "")), 1, "named once: " .. err)
  -- a user module's own error keeps its position and gets the path
  local U = nn.Module:extend("LayersTestPathU")
  function U:forward(x) error("my own error") end
  local W = nn.Module:extend("LayersTestPathW")
  function W:init() self.u = U() end
  function W:forward(x) local y = self.u(x); return y end
  ok, err = pcall(function() local y = W()(ml.randn(3, 2)); return y end)
  T.ok(err:find("^tests/lua/test_nn_layers%.lua:%d+: LayersTestPathW%.u %(LayersTestPathU%): my own error$"), err)
  -- an error without a position stays without one (fit and predict add their caller's)
  local Q = nn.Module:extend("LayersTestPathQ")
  function Q:forward(x) error("no position", 0) end
  local QW = nn.Module:extend("LayersTestPathQW")
  function QW:init() self.q = Q() end
  function QW:forward(x) local y = self.q(x); return y end
  ok, err = pcall(function() local y = QW()(1); return y end)
  T.eq(err, "LayersTestPathQW.q (LayersTestPathQ): no position")
  ok, err = pcall(function() local y = Q()(1); return y end)
  T.eq(err, "no position")
  -- a layer called alone: its own name, no path
  ok, err = pcall(function() local y = nn.Linear(3, 2)(ml.randn(3, 2)); return y end)
  T.ok(err:find("^tests/lua/test_nn_layers%.lua:%d+: nn%.Linear: input has 2 features, expected 3$"), err)
  -- after an error, calls work and report the right path again
  T.eq(table.concat(net.head(ml.randn(1, 4)):shape(), ","), "1,2")
  ok, err = pcall(function() local y = seq(ml.randn(3, 2)); return y end)
  T.ok(err:find("Sequential[3][1] (nn.Linear)", 1, true), err)
  -- non-string errors pass through untouched
  local E = nn.Module:extend("LayersTestPathE")
  function E:forward() error({ code = 7 }) end
  ok, err = pcall(function() local y = E()(1); return y end)
  T.eq(err.code, 7)
end)

T.test("printing: extra text on its own line, losses without a parameter footer", function()
  local Net = nn.Module:extend("LayersTestPrint")
  function Net:init() self.fc = nn.Linear(2, 3); self.act = nn.ReLU() end
  function Net:forward(x) return self.act(self.fc(x)) end
  function Net:extra_repr() return "hidden=3" end
  T.eq(tostring(Net()), table.concat({
    "LayersTestPrint(",
    "  hidden=3",
    "  (fc): Linear(in=2, out=3, bias=true)  9 params",
    "  (act): ReLU()",
    ")",
    "9 trainable parameters",
  }, "\n"))
  T.eq(tostring(nn.CrossEntropyLoss()), "CrossEntropyLoss(reduction=mean)")
  T.eq(tostring(nn.CrossEntropyLoss({ weight = ml.ones(3) })), "CrossEntropyLoss(reduction=mean, weight=[3])")
  T.eq(tostring(nn.MSELoss()), "MSELoss(reduction=mean)")
  T.eq(tostring(nn.ReLU()), "ReLU()", "no tensors, no footer")
  T.eq(tostring(nn.Linear(2, 2)), "Linear(in=2, out=2, bias=true)  6 params\n6 trainable parameters")
end)

T.test("layers live in nn/layers/ and losses in nn/losses/, one file per family", function()
  local files = {
    Linear = "linear", ReLU = "activation", GELU = "activation", Dropout = "dropout", BatchNorm1d = "norm",
    LayerNorm = "norm", Embedding = "embedding", Flatten = "shape", Identity = "shape", Reshape = "shape",
    Sequential = "container", ModuleList = "container",
  }
  for name, file in pairs(files) do
    T.eq(require("moonlab.nn.layers." .. file)[name], nn[name], name)
  end
  T.eq(require("moonlab.nn.losses.classification").CrossEntropyLoss, nn.CrossEntropyLoss)
  T.eq(require("moonlab.nn.losses.regression").HuberLoss, nn.HuberLoss)
  T.eq(require("moonlab.core.class").get("Linear"), nn.Linear, "registered in the one class registry")
  T.ok(nn.Linear(1, 1):is_a(nn.Module))
end)

-- ---- the call path: library leaves are their forward; containers and subclasses are not ----

T.test("a library layer is called as its forward; a subclass's own forward and children are used; train() reaches a module hung on a layer", function()
  T.ok(rawequal(getmetatable(nn.Linear(2, 2)).__call, nn.Linear.forward), "nn.Linear's call is its forward")
  T.ok(rawequal(nn.MSELoss.__call, nn.MSELoss.forward))
  local Doubled = nn.Linear:extend("LayersTestDoubled")
  function Doubled:forward(x) return nn.Linear.forward(self, x) * 2 end
  local d = Doubled(3, 2)
  local x = ml.randn(4, 3)
  T.all_near(d(x), nn.Linear.forward(d, x) * 2, 1e-6, "the subclass's forward runs")
  -- a subclass that adds a child: its errors name the path
  local Wrapped = nn.Linear:extend("LayersTestWrapped")
  function Wrapped:init(a, b) nn.Linear.init(self, a, b); self.inner = nn.Linear(b, 5) end
  function Wrapped:forward(x) local h = nn.Linear.forward(self, x); return self.inner(h) end
  local ok, err = pcall(function() local y = Wrapped(3, 4)(x); return y end)
  T.ok(ok, err)
  local w = Wrapped(3, 4)
  w.inner = nn.Linear(7, 5) -- now the wrong width
  ok, err = pcall(function() local y = w(x); return y end)
  T.ok(err:find("LayersTestWrapped.inner (nn.Linear): input has 4 features, expected 7", 1, true), err)
  -- a module made without Module.new (setmetatable) is still accepted by Sequential
  local bare = setmetatable({ training = true }, nn.ReLU)
  T.all_near(nn.Sequential{ nn.Identity() }:add(bare)(ml.tensor({ -1, 2 })), ml.tensor({ 0, 2 }), 0)
  -- train/eval reach every module, a child assigned to a library layer included
  local lin = nn.Linear(2, 2)
  lin.drop = nn.Dropout(0.5)
  local seq = nn.Sequential{ lin, nn.Sequential{ nn.ReLU(), nn.Dropout(0.1) } }
  seq:eval()
  for _, m in ipairs(seq:named_modules()) do T.eq(m[2].training, false, m[1]) end
  T.eq(lin.drop.training, false)
  seq:train()
  for _, m in ipairs(seq:named_modules()) do T.eq(m[2].training, true, m[1]) end
end)
