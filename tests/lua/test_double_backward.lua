-- ml.grad and gradients of gradients (create_graph): second derivatives
-- against finite differences of first derivatives (gradgradcheck, float64)
-- for every op a GAN critic uses, and WGAN-GP's gradient penalty of three
-- critics against PyTorch on the same weights (scripts/gen_double_backward.py).
local gradcheck = dofile("tests/lua/gradcheck.lua")
local FX = dofile("tests/fixtures/double_backward/penalty.lua")
local nn, F = ml.nn, ml.nn.functional
local D = { dtype = "float64" }

-- The first derivative of f, d f / d inputs against fixed random
-- grad_outputs, computed by ml.grad with create_graph, is itself checked by
-- gradcheck: its backward runs through the graph that sweep recorded.
local function gradgradcheck(f, inputs, opts)
  local v
  local function df(...)
    local args = table.pack(...)
    return ml.enable_grad(function()
      local out = f(table.unpack(args, 1, args.n))
      v = v or ml.randn(out:shape(), D)
      local wrt = {}
      for i = 1, args.n do
        local a = args[i]
        if ml.is_tensor(a) and a:is_requires_grad() then wrt[#wrt + 1] = a end
      end
      return ml.grad(out, wrt, { grad_outputs = v, create_graph = true })
    end)
  end
  return gradcheck(df, inputs, opts)
end

local function r(...) return ml.randn({ ... }, D) end
local function pos(...) return ml.rand({ ... }, D) + 0.5 end -- away from 0 for log, sqrt, div
local WG = ml.randn({ 4, 2, 3, 3 }, D) -- a constant grouped weight: groups reach only the input gradient
local away = function(_, _, v) return math.abs(v) < 1e-3 end -- kinks of relu and leaky_relu

-- name, f, inputs, [gradcheck options]; ops linear in their input are squared
-- so that their second derivative is not zero
local CASES = {
  { "linear", function(x, w, b) return ml._nn.linear(x, w, b):tanh() end, { r(3, 4), r(2, 4), r(2) } },
  { "matmul", function(a, b) return ml.matmul(a, b):pow(2) end, { r(3, 4), r(4, 2) } },
  { "matmul batched broadcast", function(a, b) return ml.matmul(a, b):pow(2) end, { r(2, 3, 4), r(4, 2) } },
  { "matmul vector", function(a, b) return ml.matmul(a, b):pow(2) end, { r(3, 4), r(4) } },
  { "mm", function(a, b) return a:mm(b):sigmoid() end, { r(3, 4), r(4, 2) } },
  { "addmm", function(c, a, b) return ml.addmm(c, a, b):pow(2) end, { r(3, 2), r(3, 4), r(4, 2) } },
  { "transpose, t", function(a, b) return (a:t():mm(b:transpose(1, 2))):pow(2) end, { r(4, 3), r(2, 4) } },
  { "add broadcast", function(a, b) return (a + b):pow(2) end, { r(3, 4), r(4) } },
  { "add number", function(a) return (a + 2):pow(2) + (3 + a):pow(3) end, { r(3, 2) } },
  { "sub broadcast", function(a, b) return (a - b):pow(2) end, { r(3, 1), r(1, 4) } },
  { "sub number", function(a) return (a - 2):pow(2) + (1 - a):pow(3) end, { r(5) } },
  { "mul broadcast", function(a, b) return a * b * a end, { r(3, 4), r(3, 1) } },
  { "mul number", function(a) return (a * 3):pow(3) end, { r(4) } },
  { "div", function(a, b) return a / b end, { r(3, 4), pos(4) } },
  { "div number", function(a) return (a / 2):pow(3) + 2 / a end, { pos(5) } },
  { "neg", function(a) return (-a):pow(3) end, { r(5) } },
  { "pow tensor", function(a, b) return a:pow(b) end, { pos(4), r(4) } },
  { "pow number", function(a) return a:pow(3) + a ^ 2.5 end, { pos(5) } },
  { "number ^ tensor", function(a) return ml.pow(2, a) end, { r(5) } },
  { "sqrt", function(a) return a:sqrt() end, { pos(5) } },
  { "exp", function(a) return a:exp() end, { r(5) } },
  { "log", function(a) return a:log() end, { pos(5) } },
  { "sum all", function(a) return a:sum():pow(2) end, { r(3, 4) } },
  { "sum dim", function(a) return a:sum(2):pow(2):sum() + a:sum(1, true):pow(3):sum() end, { r(3, 4) } },
  { "mean all", function(a) return a:mean():pow(2) end, { r(3, 4) } },
  { "mean dim", function(a) return a:mean(-1):pow(2):sum() + a:mean(1):pow(3):sum() end, { r(3, 4) } },
  { "reshape, view, flatten", function(a) return a:reshape(4, 3):pow(2) + a:view(4, 3):pow(3) + a:flatten():view(4, 3) end, { r(3, 4) } },
  { "expand", function(a) return a:expand(3, 4):pow(2) end, { r(3, 1) } },
  { "relu", function(a) return a:relu() * a end, { r(6) }, { skip = away } },
  { "leaky_relu", function(a) return a:leaky_relu(0.2) * a end, { r(6) }, { skip = away } },
  { "tanh", function(a) return a:tanh() end, { r(5) } },
  { "sigmoid", function(a) return a:sigmoid() end, { r(5) } },
  { "norm", function(a) return a:norm(2, 2) end, { r(3, 4) } },
  { "abs, clamp", function(a) return a:abs() * a + a:clamp(-0.5, 0.5) * a end, { r(6) }, { skip = function(_, _, v) return math.abs(v) < 1e-3 or math.abs(math.abs(v) - 0.5) < 1e-3 end } },
  { "narrow, select", function(a) return a:narrow(2, 2, 2):pow(2) + a:select(1, 2):narrow(1, 2, 2):pow(3) end, { r(3, 4) } },
  { "cat", function(a, b) return ml.cat({ a, b }, 1):pow(3) end, { r(2, 3), r(1, 3) } },
  { "layer_norm", function(x, w, b) return ml._nn.layer_norm(x, 1, w, b, 1e-5, "layer_norm"):pow(2) end, { r(3, 4), r(4), r(4) } },
  { "conv2d", function(x, w, b) return F.conv2d(x, w, b, { stride = 2, padding = 1 }):pow(2) end,
    { r(2, 2, 5, 5), r(3, 2, 3, 3), r(3) } },
  { "conv2d stride dilation odd pads", function(x, w) return F.conv2d(x, w, nil, { stride = { 2, 1 }, padding = { 1, 0 }, dilation = { 2, 1 } }):pow(2) end,
    { r(1, 2, 7, 6), r(3, 2, 3, 2) } },
  { "conv2d same even kernel", function(x, w) return F.conv2d(x, w, nil, { padding = "same" }):pow(2) end,
    { r(1, 2, 5, 6), r(2, 2, 2, 4) } },
  { "conv_transpose2d", function(x, w, b) return F.conv_transpose2d(x, w, b, { stride = 2, padding = 1, output_padding = 1, dilation = { 1, 2 } }):pow(2) end,
    { r(2, 3, 3, 4), r(3, 2, 3, 2), r(2) } },
  { "conv2d groups (input gradient)", function(x) return F.conv2d(x, WG, nil, { groups = 2, padding = 1 }):pow(2) end,
    { r(1, 4, 5, 5) } },
  { "conv1d", function(x, w, b) return F.conv1d(x, w, b, { stride = 2, padding = 1 }):pow(2) end,
    { r(2, 2, 7), r(3, 2, 3), r(3) } },
}

for _, c in ipairs(CASES) do
  T.test("gradgradcheck: " .. c[1], function()
    ml.seed(7)
    gradgradcheck(c[2], c[3], c[4])
  end)
end

T.test("ml.grad: first derivatives equal backward's, .grad untouched", function()
  local x, w = r(4, 3):requires_grad(), r(2, 3):requires_grad()
  local loss = ml._nn.linear(x, w):tanh():sum()
  local g = ml.grad(loss, { x, w }, { retain_graph = true })
  T.eq(x.grad, nil)
  T.eq(w.grad, nil)
  loss:backward()
  T.all_near(g[1], x.grad, 1e-12)
  T.all_near(g[2], w.grad, 1e-12)
  T.eq(g[1]:is_requires_grad(), false) -- no create_graph: plain tensors
end)

T.test("ml.grad: second and third derivatives of x^4, by ml.grad and backward", function()
  local x = ml.tensor({ 0.5, -1, 2 }, D):requires_grad()
  local g1 = ml.grad((x:pow(4)):sum(), x, { create_graph = true })[1]
  T.all_near(g1, x:detach():pow(3) * 4, 1e-12)
  local g2 = ml.grad(g1:sum(), x, { create_graph = true })[1]
  T.all_near(g2, x:detach():pow(2) * 12, 1e-12)
  g2:sum():backward()
  T.all_near(x.grad, x:detach() * 24, 1e-12)
end)

T.test("ml.grad: non-leaf inputs, several outputs, grad_outputs, allow_unused", function()
  local x = r(3):requires_grad()
  local h = x * 2
  local y1, y2 = h:pow(2), h:sum()
  local v = ml.tensor({ 1, 2, 3 }, D)
  local g = ml.grad({ y1, y2 }, { h, x }, { grad_outputs = { v, nil } })
  T.all_near(g[1], v * h:detach() * 2 + 1, 1e-12)
  T.all_near(g[2], (v * h:detach() * 2 + 1) * 2, 1e-12)
  local z = r(2):requires_grad()
  local u = ml.grad((x * 3):sum(), { x, z }, { allow_unused = true })
  T.all_near(u[1], ml.full({ 3 }, 3, D), 0)
  T.eq(u[2], nil)
end)

T.test("ml.grad: clear errors", function()
  local x = r(3):requires_grad()
  local c = r(3)
  T.raises(function() ml.grad((x * 2):sum(), c) end, "ml.grad: input 1 does not require grad")
  T.raises(function() ml.grad(x * 2, x) end, "ml.grad: output 1 has shape [3]: pass grad_outputs")
  T.raises(function() ml.grad((x * 2):sum(), { x, r(2):requires_grad() }) end, "ml.grad: input 2 is not connected")
  T.raises(function() ml.grad(c:sum(), x) end, "ml.grad: output 1 does not require grad")
  T.raises(function() ml.grad((x * 2):sum(), x, { create_grpah = true }) end, "create_graph")
  T.raises(function() ml.grad(x * 2, x, { grad_outputs = r(4) }) end, "ml.grad: grad_outputs[1] has shape [4], expected [3]")
  T.raises(function() ml.grad("x", x) end, "ml.grad: outputs: expected a tensor or a list of tensors, got string")
  local y = (x:exp()):sum()
  ml.grad(y, x)
  T.raises(function() ml.grad(y, x) end, "ml.grad: the graph through sum was freed by an earlier backward; pass retain_graph = true")
  T.raises(function() ml.grad(x:softmax(1):pow(2):sum(), x, { create_graph = true }) end,
    "ml.grad: create_graph through softmax is not supported yet")
  local xr, wr = r(1, 1, 5, 5):requires_grad(), r(1, 1, 3, 3):requires_grad()
  T.raises(function() ml.grad(F.conv2d(xr, wr, nil, { padding = 1, padding_mode = "reflect" }):sum(), xr, { create_graph = true }) end,
    "ml.grad: create_graph through conv2d with padding_mode 'reflect' is not supported yet")
  local wg = r(4, 2, 3, 3):requires_grad()
  T.raises(function() ml.grad(F.conv2d(r(1, 4, 5, 5), wg, nil, { groups = 2 }):sum(), wg, { create_graph = true }) end,
    "ml.grad: create_graph through conv2d's weight with groups > 1 is not supported yet")
  local gelu = ml.grad(x:gelu():sum(), x)[1] -- without create_graph: fine
  T.eq(#gelu:shape(), 1)
  T.raises(function() ml.grad(x:gelu():sum(), x, { create_graph = true }) end,
    "ml.grad: create_graph through gelu is not supported yet")
end)

-- ---- the gradient penalty against PyTorch ------------------------------------
T.test("penalty fixtures: version", function()
  T.eq(FX.version, 1)
  T.eq(#FX.cases, 3)
end)

local function penalty_of(critic, x)
  local out = critic(x)
  local g = ml.grad(out, x, { grad_outputs = ml.ones(out:shape(), D), create_graph = true })[1]
  local p = ((g:reshape(x:shape()[1], -1):norm(2, 2) - 1):pow(2)):mean()
  return out, g, p
end

for _, c in ipairs(FX.cases) do
  T.test("gradient penalty vs torch: " .. c.name, function()
    local critic = T.build(c.ctor)
    local params = critic:parameters()
    T.eq(#params, #c.params)
    ml.no_grad(function()
      for i, p in ipairs(params) do p:copy_(T.fixture_tensor(c.params[i])) end
    end)
    local x = T.fixture_tensor(c.x):requires_grad()
    local out, g, p = penalty_of(critic, x)
    T.all_near(out, T.fixture_tensor(c.out), 1e-12)
    T.all_near(g, T.fixture_tensor(c.grad), 1e-12)
    T.near(p:item(), c.penalty, 1e-12)
    p:backward()
    for i, q in ipairs(params) do
      local want = T.fixture_tensor(c.param_grads[i])
      T.all_near(q.grad or ml.zeros(q:shape(), D), want, 1e-10)
    end
  end)
end

T.test("gradient penalty of a conv critic: gradcheck of the penalty in the weights", function()
  ml.seed(3)
  local x = r(2, 1, 6, 6):requires_grad()
  gradcheck(function(w1, w2, b2)
    return ml.enable_grad(function()
      local h = F.conv2d(x, w1, nil, { stride = 2, padding = 1 }):leaky_relu(0.2)
      local out = ml._nn.linear(h:flatten(2), w2, b2)
      local g = ml.grad(out:sum(), x, { create_graph = true })[1]
      return ((g:reshape(2, -1):norm(2, 2) - 1):pow(2)):mean()
    end)
  end, { r(3, 1, 3, 3), r(1, 27), r(1) }, { skip = function() return false end })
end)

T.test("graphs of graphs are freed", function()
  local function live() collectgarbage(); collectgarbage(); return ml.memory_stats().live end
  local function round()
    local x, w = r(64, 32):requires_grad(), r(16, 32):requires_grad()
    local g = ml.grad(ml._nn.linear(x, w):tanh():sum(), x, { create_graph = true })[1]
    local g2 = ml.grad(g:pow(2):sum(), { x, w }, { create_graph = true })
    g2[2]:sum():backward()
  end
  round()
  local before = live()
  for _ = 1, 5 do round() end
  T.ok(live() - before < 64 * 32 * 8, "live bytes grew by " .. (live() - before))
end)
