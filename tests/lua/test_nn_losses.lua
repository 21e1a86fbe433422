-- nn losses: values and gradients against PyTorch fixtures
-- (scripts/gen_nn_fixtures.py writes tests/fixtures/nn/losses.lua), float64
-- gradient checks of every loss, numerical stability of the fused kernels,
-- reductions, weights, label smoothing, ignore_index, and error messages.
local nn = ml.nn
local gradcheck = dofile("tests/lua/gradcheck.lua")
local FX = dofile("tests/fixtures/nn/losses.lua")
local D = { dtype = "float64" }
local TOL = { float32 = 1e-5, float64 = 1e-10 }

local fixture_tensor = T.fixture_tensor

local build = T.build

-- ---- PyTorch fixtures ------------------------------------------------------
T.test("nn loss fixtures: version", function()
  T.eq(FX.version, 1)
  T.ok(#FX.cases >= 35, "loss cases")
end)

for _, c in ipairs(FX.cases) do
  T.test("nn loss vs torch: " .. c.name, function()
    local crit = build(c.ctor, {
      W = c.weight and fixture_tensor(c.weight),
      PW = c.pos_weight and fixture_tensor(c.pos_weight),
    })
    local x = fixture_tensor(c.input):requires_grad()
    local y = fixture_tensor(c.target)
    if c.grad_target then y:requires_grad() end
    local out = crit(x, y)
    local tol = TOL[c.output.dtype]
    T.eq(out:dtype(), c.output.dtype, "dtype")
    T.all_near(out, fixture_tensor(c.output), tol, "loss")
    ;(out * fixture_tensor(c.w)):sum():backward()
    T.all_near(x.grad, fixture_tensor(c.grad_input), tol, "grad of input")
    if c.grad_target then T.all_near(y.grad, fixture_tensor(c.grad_target), tol, "grad of target") end
  end)
end

-- ---- gradient checks ----------------------------------------------------------
local function check(name, crit, x, y, opts)
  T.test("gradcheck nn." .. name, function() gradcheck(function(a, b) return crit(a, b) end, { x, y }, opts) end)
end

ml.seed(2024)
local function rn(...) return ml.randn({ ... }, D) end
local function labels(n, c) return ml.randint(1, c + 1, n) end
local function away(shape)
  local x = ml.randn(shape, D)
  return ml.where(x:ge(0), x + 0.2, x - 0.2)
end

for _, red in ipairs({ "mean", "sum", "none" }) do
  check("MSELoss " .. red, nn.MSELoss({ reduction = red }), rn(3, 4), rn(3, 4))
  check("L1Loss " .. red, nn.L1Loss({ reduction = red }), rn(3, 4), rn(3, 4) + 5)
  check("CrossEntropyLoss " .. red, nn.CrossEntropyLoss({ reduction = red }), rn(5, 4), labels(5, 4))
  check("NLLLoss " .. red, nn.NLLLoss({ reduction = red }), rn(5, 4), labels(5, 4))
  check("BCEWithLogitsLoss " .. red, nn.BCEWithLogitsLoss({ reduction = red }), rn(3, 4) * 3, ml.rand(3, 4, D))
  check("BCELoss " .. red, nn.BCELoss({ reduction = red }), ml.rand(3, 4, D) * 0.9 + 0.05, ml.rand(3, 4, D))
  check("KLDivLoss " .. red, nn.KLDivLoss({ reduction = red }), rn(3, 4):log_softmax(2), ml.rand(3, 4, D):softmax(2))
end
do
  -- Huber / SmoothL1: differences kept away from the kinks at +-delta and 0
  local x, y = rn(4, 3), rn(4, 3)
  local d = x - y
  local function off(k) return (ml.where((d:abs() - k):abs():lt(0.05), d + 0.1, d) + y):detach() end
  check("HuberLoss", nn.HuberLoss({ delta = 0.7 }), off(0.7), y:clone())
  check("SmoothL1Loss", nn.SmoothL1Loss({ beta = 0.7 }), off(0.7), y:clone())
  check("SmoothL1Loss beta 0", nn.SmoothL1Loss({ beta = 0 }), x:clone(), y:clone())
  local w = ml.rand(4, D) + 0.5
  check("CrossEntropyLoss weight smoothing ignore",
    nn.CrossEntropyLoss({ weight = w, label_smoothing = 0.15, ignore_index = 2 }), rn(6, 4), ml.tensor({ 1, 2, 3, 4, 2, 1 }))
  check("CrossEntropyLoss N-d none", nn.CrossEntropyLoss({ reduction = "none", label_smoothing = 0.1 }), rn(2, 4, 3),
    ml.randint(1, 5, 2, 3))
  check("CrossEntropyLoss probabilities", nn.CrossEntropyLoss({ weight = w, label_smoothing = 0.1 }), rn(3, 4),
    ml.rand(3, 4, D):softmax(2))
  check("NLLLoss weight ignore", nn.NLLLoss({ weight = w, ignore_index = 3 }), rn(6, 4), ml.tensor({ 1, 2, 3, 4, 3, 1 }))
  check("BCEWithLogitsLoss pos_weight weight", nn.BCEWithLogitsLoss({ pos_weight = ml.rand(4, D) + 0.5, weight = ml.rand(3, 1, D) }),
    rn(3, 4) * 3, ml.rand(3, 4, D))
  check("BCELoss weight", nn.BCELoss({ weight = ml.rand(4, D) }), ml.rand(3, 4, D) * 0.9 + 0.05, ml.rand(3, 4, D))
  check("KLDivLoss batchmean log_target", nn.KLDivLoss({ reduction = "batchmean", log_target = true }),
    rn(3, 4):log_softmax(2), rn(3, 4):log_softmax(2))
end

-- ---- stability and semantics --------------------------------------------------
T.test("nn.CrossEntropyLoss: stable for huge logits, in float32 too", function()
  for _, dt in ipairs({ "float32", "float64" }) do
    local x = ml.tensor({ { 1e4, -1e4, 0 }, { -3e4, 3e4, 3e4 - 1 } }, { dtype = dt }):requires_grad()
    local l = nn.CrossEntropyLoss()(x, ml.tensor({ 1, 3 }))
    T.near(l:item(), (0 + (1 + math.log(1 + math.exp(-1)))) / 2, 1e-5)
    l:backward()
    T.eq(x.grad:isnan():sum():item() + x.grad:isinf():sum():item(), 0, "finite gradients")
  end
end)

T.test("nn.CrossEntropyLoss: float32 matches float64 on a 128 x 10 batch", function()
  local x = ml.randn(128, 10) * 4
  local y = ml.randint(1, 11, 128)
  local crit = nn.CrossEntropyLoss({ label_smoothing = 0.1 })
  local x32, x64 = x:clone():requires_grad(), x:double():requires_grad()
  local l32, l64 = crit(x32, y), crit(x64, y)
  T.near(l32:item(), l64:item(), 1e-6)
  l32:backward(); l64:backward()
  T.all_near(x32.grad, x64.grad, 1e-7)
  -- and the composition it replaces
  local ref = -(x64:detach():log_softmax(2):gather(2, y:reshape(128, 1))):mean()
  T.near(nn.CrossEntropyLoss()(x64, y):item(), ref:item(), 1e-12)
end)

T.test("nn.CrossEntropyLoss: ignore_index and weights in the mean", function()
  local x = rn(4, 3)
  local y = ml.tensor({ 1, 2, 3, 2 })
  local w = ml.tensor({ 1, 2, 3 }, D)
  local none = nn.CrossEntropyLoss({ reduction = "none" })(x, y)
  local l = nn.CrossEntropyLoss({ weight = w, ignore_index = 2 })(x, y)
  local want = (none[1] * 1 + none[3] * 3) / 4
  T.near(l:item(), want, 1e-12)
  local n = nn.CrossEntropyLoss({ ignore_index = 2, reduction = "none" })(x, y)
  T.eq(n[2], 0); T.eq(n[4], 0)
  -- ignore_index may be any integer (PyTorch's -100)
  T.near(nn.CrossEntropyLoss({ ignore_index = -100 })(x, ml.tensor({ 1, -100, 3, -100 })):item(),
    (none[1] + none[3]) / 2, 1e-12)
  -- every target ignored: the mean is 0/0, as PyTorch
  local all = nn.CrossEntropyLoss({ ignore_index = 2 })(x, ml.tensor({ 2, 2, 2, 2 }))
  T.ok(all:item() ~= all:item(), "NaN when everything is ignored")
  T.eq(nn.CrossEntropyLoss({ ignore_index = 2, reduction = "sum" })(x, ml.tensor({ 2, 2, 2, 2 })):item(), 0)
end)

T.test("nn.BCEWithLogitsLoss: stable for any logit", function()
  local x = ml.tensor({ -1000.0, -100.0, 0.0, 100.0, 1000.0 }):requires_grad()
  local y = ml.tensor({ 1, 0, 1, 1, 0 }, { dtype = "float32" })
  local l = nn.BCEWithLogitsLoss({ reduction = "none" })(x, y)
  T.all_near(l, ml.tensor({ 1000, 0, math.log(2), 0, 1000 }), 1e-6)
  l:sum():backward()
  T.all_near(x.grad, ml.tensor({ -1, 0, -0.5, 0, 1 }), 1e-6)
  -- int64 or bool 0/1 labels are accepted
  T.near(nn.BCEWithLogitsLoss()(ml.zeros(3), ml.tensor({ 1, 0, 1 })):item(), math.log(2), 1e-6)
  T.near(nn.BCEWithLogitsLoss()(ml.zeros(2), ml.tensor({ true, false })):item(), math.log(2), 1e-6)
end)

T.test("nn.BCELoss: clamps its logs like PyTorch", function()
  local x = ml.tensor({ 0, 1, 0.5 }, D):requires_grad()
  local l = nn.BCELoss({ reduction = "none" })(x, ml.tensor({ 1, 0, 1 }, D))
  T.all_near(l, ml.tensor({ 100, 100, math.log(2) }, D), 1e-12)
  l:sum():backward()
  T.all_near(x.grad, ml.tensor({ -1e12, 1e12, -2 }, D), 1e-9)
end)

T.test("nn losses: reductions and shapes", function()
  local x, y = rn(4, 3), rn(4, 3)
  T.eq(nn.MSELoss()(x, y):dim(), 0)
  T.near(nn.MSELoss({ reduction = "sum" })(x, y):item(), ((x - y) ^ 2):sum():item(), 1e-12)
  T.eq(table.concat(nn.L1Loss({ reduction = "none" })(x, y):shape(), ","), "4,3")
  T.eq(table.concat(nn.CrossEntropyLoss({ reduction = "none" })(x, labels(4, 3)):shape(), ","), "4")
  T.eq(nn.CrossEntropyLoss({ reduction = "none" })(rn(3), ml.tensor(2)):dim(), 0, "unbatched")
  local kl = nn.KLDivLoss({ reduction = "batchmean" })
  local lp, p = rn(4, 3):log_softmax(2), rn(4, 3):softmax(2)
  T.near(kl(lp, p):item(), nn.KLDivLoss({ reduction = "sum" })(lp, p):item() / 4, 1e-12)
  T.eq(nn.MSELoss():extra_repr(), "reduction=mean")
  T.eq(nn.CrossEntropyLoss({ label_smoothing = 0.1, ignore_index = 3 }):extra_repr(),
    "reduction=mean, label_smoothing=0.1, ignore_index=3")
  T.eq(tostring(nn.MSELoss()):match("^[^\n]*"), "MSELoss(reduction=mean)")
  -- loss weights are buffers, never parameters
  local ce = nn.CrossEntropyLoss({ weight = ml.ones(3, { requires_grad = true }) })
  T.eq(#ce:parameters(), 0)
  T.ok(ce:state_dict().weight ~= nil)
end)

T.test("nn losses: errors", function()
  local ce = nn.CrossEntropyLoss()
  local x = ml.randn(128, 10)
  T.raises(function() ce(x, ml.randint(1, 11, 64)) end, "nn.CrossEntropyLoss: input has 128 rows but target has 64")
  local y = ml.randint(1, 11, 128)
  y[7] = 11
  T.raises(function() ce(x, y) end, "nn.CrossEntropyLoss: target 11 is out of range for 10 classes")
  y[7] = 0
  T.raises(function() ce(x, y) end, "nn.CrossEntropyLoss: target 0 is out of range for 10 classes")
  T.raises(function() ce(x, ml.rand(128)) end, "nn.CrossEntropyLoss: target must be int64 class labels 1..C")
  T.raises(function() ce(ml.randn(4, 3, 2), ml.randint(1, 4, 4, 3)) end,
    "nn.CrossEntropyLoss: target has shape [4,3], expected [4,2] of class indices (input [4,3,2] without its class dimension 2)")
  -- a [N,1] column of labels (y:view(-1, 1)) names the loss and the shape it wants, at the caller's line
  local ok, err = pcall(function() local l = ce(x, y:view(-1, 1)); return l end)
  T.ok(not ok and err:find("^tests/lua/test_nn_losses%.lua:%d+: nn%.CrossEntropyLoss: target has shape %[128,1%], expected %[128%] of class indices"), err)
  T.raises(function() nn.NLLLoss()(x:log_softmax(2), y:view(-1, 1)) end, "nn.NLLLoss: target has shape [128,1], expected [128]")
  T.raises(function() nn.CrossEntropyLoss({ label_smothing = 0.1 }) end,
    "nn.CrossEntropyLoss: unknown option 'label_smothing' (known: weight, label_smoothing, ignore_index, reduction)")
  T.raises(function() nn.CrossEntropyLoss({ reduction = "avg" }) end,
    "nn.CrossEntropyLoss: reduction must be 'none', 'mean' or 'sum', got 'avg'")
  T.raises(function() nn.CrossEntropyLoss({ label_smoothing = 2 }) end, "label_smoothing must be a number in [0, 1]")
  T.raises(function() nn.CrossEntropyLoss({ weight = ml.ones(3) })(ml.randn(2, 4), ml.tensor({ 1, 2 })) end,
    "nn.CrossEntropyLoss: weight must have one value per class (shape [4]), got [3]")
  T.raises(function() nn.NLLLoss()(ml.randn(3, 5), ml.tensor({ 1, 6, 2 })) end, "nn.NLLLoss: target 6 is out of range for 5 classes")
  T.raises(function() nn.MSELoss()(ml.randn(32, 1), ml.randn(32)) end,
    "nn.MSELoss: input has shape [32,1] but target has shape [32]")
  T.raises(function() nn.MSELoss()(ml.randn(32, 1), ml.randn(16, 1)) end, "nn.MSELoss: input has 32 rows but target has 16")
  T.raises(function() nn.L1Loss({ reduce = true }) end, "nn.L1Loss: unknown option 'reduce' (known: reduction)")
  T.raises(function() nn.BCELoss()(ml.tensor({ 0.5, 1.5 }), ml.tensor({ 0.0, 1.0 })) end,
    "nn.BCELoss: input must hold probabilities in [0, 1]")
  T.raises(function() nn.BCEWithLogitsLoss()(ml.randn(4, 2), ml.rand(3, 2)) end,
    "nn.BCEWithLogitsLoss: input has 4 rows but target has 3")
  T.raises(function() nn.BCEWithLogitsLoss({ pos_weight = ml.ones(3) })(ml.randn(4, 2), ml.rand(4, 2)) end,
    "pos_weight of shape [3] does not broadcast to the input's shape [4,2]")
  T.raises(function() nn.KLDivLoss({ reduction = "batch" }) end, "reduction must be 'none', 'mean', 'batchmean' or 'sum'")
  T.raises(function() nn.HuberLoss({ delta = 0 }) end, "nn.HuberLoss: delta must be a positive number")
  T.raises(function() ce(x) end, "nn.CrossEntropyLoss: target must be a tensor, got nil")
  local err = T.raises(function() nn.MSELoss({ oops = 1 }) end, "nn.MSELoss")
  T.ok(err:find("test_nn_losses.lua", 1, true), "errors point at the caller: " .. err)
end)

T.test("nn losses: a training step lowers the loss (Linear + CrossEntropy)", function()
  ml.seed(3)
  local model = nn.Sequential { nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3) }
  local x = ml.randn(64, 4)
  local y = (x:narrow(2, 1, 1):reshape(64):gt(0):long() + x:narrow(2, 2, 1):reshape(64):gt(0):long()) + 1
  local crit = nn.CrossEntropyLoss()
  local first, last
  for step = 1, 200 do
    model:zero_grad()
    local loss = crit(model(x), y)
    loss:backward()
    ml.no_grad(function()
      for _, p in ipairs(model:parameters()) do p:sub_(p.grad * 0.5) end
    end)
    if step == 1 then first = loss:item() end
    last = loss:item()
  end
  T.ok(last < first * 0.3, string.format("loss fell from %g to %g", first, last))
end)
