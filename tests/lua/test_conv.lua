-- Convolution layers (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d) and their
-- functional forms: forward and backward against PyTorch fixtures on the
-- same weights (scripts/gen_conv_fixtures.py), float64 finite-difference
-- checks of the input, weight and bias gradients, float32 against float64,
-- threads, errors and model files.
local nn = ml.nn
local F = nn.functional
local gradcheck = dofile("tests/lua/gradcheck.lua")
local H = dofile("tests/lua/conv_helpers.lua")
local FX = dofile("tests/fixtures/conv/layers.lua")
local D = { dtype = "float64" }

T.test("conv fixtures: version", function()
  T.eq(FX.version, 1)
  T.ok(#FX.cases >= 20, "cases")
end)

for _, c in ipairs(H.cases(FX, { "Conv" })) do
  T.test("conv vs torch: " .. c.name, function() H.run_case(c) end)
end

-- ---- gradient checks (float64; input, weight, bias) ---------------------------
local GRAD = {
  { "plain", { 2, 3, 5, 4 }, { 4, 3, 3, 3 }, { padding = 1 } },
  { "stride dilation", { 1, 2, 7, 6 }, { 3, 2, 3, 2 }, { stride = { 2, 1 }, padding = { 1, 0 }, dilation = { 2, 1 } } },
  { "groups", { 2, 4, 5, 5 }, { 6, 2, 3, 3 }, { groups = 2, stride = 2 } },
  { "same even", { 1, 2, 5, 6 }, { 2, 2, 2, 4 }, { padding = "same" } },
  { "reflect", { 1, 2, 5, 4 }, { 2, 2, 3, 3 }, { padding = { 2, 1 }, padding_mode = "reflect" } },
  { "1x1", { 2, 3, 3, 4 }, { 2, 3, 1, 1 }, {} },
}
for _, g in ipairs(GRAD) do
  T.test("conv2d gradcheck: " .. g[1], function()
    local x, w, b = ml.randn(g[2], D), ml.randn(g[3], D), ml.randn({ g[3][1] }, D)
    gradcheck(function(a, ww, bb) return F.conv2d(a, ww, bb, g[4]) end, { x, w, b })
  end)
end

T.test("conv1d gradcheck", function()
  local x, w, b = ml.randn({ 2, 4, 9 }, D), ml.randn({ 2, 2, 3 }, D), ml.randn({ 2 }, D)
  gradcheck(function(a, ww, bb) return F.conv1d(a, ww, bb, { stride = 2, padding = 2, dilation = 2, groups = 2 }) end, { x, w, b })
end)

T.test("conv_transpose2d gradcheck", function()
  local x, w, b = ml.randn({ 2, 4, 3, 4 }, D), ml.randn({ 4, 3, 3, 2 }, D), ml.randn({ 6 }, D)
  gradcheck(function(a, ww, bb)
    return F.conv_transpose2d(a, ww, bb, { stride = 2, padding = 1, output_padding = 1, groups = 2, dilation = { 1, 2 } })
  end, { x, w, b })
end)

T.test("conv2d: float32 matches float64, 1 and 2 threads agree", function()
  local x, w, b = ml.randn({ 5, 3, 11, 9 }, D), ml.randn({ 8, 3, 3, 3 }, D), ml.randn({ 8 }, D)
  local o = { padding = 1, stride = { 1, 2 } }
  local ref = F.conv2d(x, w, b, o)
  local x32, w32, b32 = x:to("float32"):requires_grad(), w:to("float32"):requires_grad(), b:to("float32"):requires_grad()
  local before = ml.threads()
  for _, n in ipairs({ 1, 2 }) do
    ml.threads(n)
    local y = F.conv2d(x32, w32, b32, o)
    T.all_near(y:to("float64"), ref, 1e-4, "float32 forward, threads " .. n)
    y:sum():backward()
    x32.grad, w32.grad, b32.grad = nil, nil, nil
  end
  ml.threads(before)
end)

T.test("conv2d: unbatched (C, H, W) input, non-contiguous input", function()
  local x, w = ml.randn({ 3, 6, 5 }, D), ml.randn({ 2, 3, 3, 3 }, D)
  local y = F.conv2d(x, w)
  T.all_near(y, F.conv2d(x:unsqueeze(1), w):squeeze(1), 0)
  local xt = ml.randn({ 2, 3, 5, 6 }, D):transpose(3, 4)
  T.all_near(F.conv2d(xt, w), F.conv2d(xt:contiguous(), w), 0)
end)

-- ---- errors ----------------------------------------------------------------
T.test("conv errors name the layer and say what was expected", function()
  local c = nn.Conv2d(1, 4, 3)
  T.raises(function() c(ml.randn(2, 3, 8, 8)) end, "nn.Conv2d: input has 3 channels, expected 1")
  T.raises(function() c(ml.randn(2, 8, 8)) end, "nn.Conv2d: input has 2 channels, expected 1")
  T.raises(function() c(ml.randn(8, 8)) end, "nn.Conv2d: expected input (N, C, H, W) or (C, H, W), got 2-D")
  T.raises(function() c(ml.randn(1, 1, 2, 2)) end, "larger than the padded input")
  local net = nn.Sequential { nn.Conv2d(1, 2, 3) }
  T.raises(function() net(ml.randn(1, 3, 5, 5)) end, "Sequential[1] (nn.Conv2d): input has 3 channels, expected 1")
  T.raises(function() nn.Conv2d(3, 4, 3, { paddin = 1 }) end, "did you mean 'padding'")
  T.raises(function() nn.Conv2d(3, 4, 3, { groups = 2 }) end, "in_channels (3) must be divisible by groups (2)")
  T.raises(function() nn.Conv2d(3, 4, 3, { padding = "same", stride = 2 }) end, "padding 'same' needs stride 1")
  T.raises(function() nn.Conv2d(3, 4, 3, { padding = "full" }) end, "'same' or 'valid', got 'full'")
  T.raises(function() nn.Conv2d(3, 4, { 3, 3, 3 }) end, "kernel_size must be an integer or 2 integers")
  T.raises(function() nn.Conv2d(3, 4, 0) end, "kernel_size must be")
  T.raises(function() nn.Conv2d(3, 4, 3, { padding_mode = "circular" }) end, "padding_mode")
  T.raises(function() nn.Conv2d(1, 1, 3, { padding = 4, padding_mode = "reflect" })(ml.randn(1, 1, 4, 4)) end,
    "reflect padding must be smaller than the input size")
  T.raises(function() nn.Conv1d(2, 2, 3)(ml.randn(1, 3, 9)) end, "nn.Conv1d: input has 3 channels, expected 2")
  T.raises(function() nn.ConvTranspose2d(2, 2, 3, { stride = 2, output_padding = 2 }) end, "output_padding (2) must be smaller")
  T.raises(function() F.conv2d(ml.randn(1, 1, 4, 4), ml.randn(1, 1, 3, 3, D)) end, "differs from the weight's")
  T.raises(function() F.conv2d(ml.randn(1, 1, 4, 4), ml.randn(1, 1, 3)) end, "weight must be 4-D")
end)

-- ---- model files and printing -------------------------------------------------
T.test("conv layers save and load through nn serialization", function()
  local m = nn.Sequential { nn.Conv2d(1, 3, 3, { padding = "same", padding_mode = "reflect" }), nn.ReLU(),
    nn.ConvTranspose2d(3, 2, 2, { stride = 2, bias = false }) }
  local path = T.tmpname(".safetensors")
  m:save(path)
  local m2 = nn.load(path)
  local x = ml.randn(2, 1, 5, 4)
  T.all_near(m2(x), m(x), 0)
  T.eq(tostring(m2[1]):match("^[^\n]*"), tostring(m[1]):match("^[^\n]*"))
  local c1 = nn.Conv1d(2, 3, 3, { dilation = 2, bias = false })
  c1:save(path)
  local x1 = ml.randn(2, 2, 9)
  T.all_near(nn.load(path)(x1), c1(x1), 0)
  T.ok(tostring(m[1]):find("padding_mode='reflect'", 1, true), "repr shows padding_mode")
end)

T.test("conv help: every public name has a docstring", function()
  for _, name in ipairs({ "Conv1d", "Conv2d", "ConvTranspose2d" }) do T.ok(ml.doc(nn[name]), name) end
  for _, name in ipairs({ "conv1d", "conv2d", "conv_transpose2d" }) do T.ok(ml.doc(F[name]), name) end
end)
