-- Pooling layers (nn.MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool2d,
-- AdaptiveMaxPool2d) and their functional forms: forward, backward and
-- indices against PyTorch fixtures (scripts/gen_conv_fixtures.py), float64
-- finite-difference checks, errors and model files.
local nn = ml.nn
local F = nn.functional
local gradcheck = dofile("tests/lua/gradcheck.lua")
local H = dofile("tests/lua/conv_helpers.lua")
local FX = dofile("tests/fixtures/conv/layers.lua")
local D = { dtype = "float64" }

for _, c in ipairs(H.cases(FX, { "MaxPool", "AvgPool", "Adaptive" })) do
  T.test("pool vs torch: " .. c.name, function() H.run_case(c) end)
end

for _, c in ipairs(FX.indices) do
  T.test("pool indices vs torch: " .. c.name, function()
    local y, idx = T.build(c.ctor)(T.fixture_tensor(c.input))
    T.all_near(y, T.fixture_tensor(c.output), 0, "output")
    T.eq(idx:dtype(), "int64")
    T.all_near(idx, T.fixture_tensor(c.indices), 0, "indices")
  end)
end

-- distinct values keep max pooling away from ties (its kink)
local function distinct(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return (ml.randperm(n):to("float64") * 0.1 + ml.rand(n, D) * 0.01):reshape(shape)
end

local GRAD = {
  { "max_pool2d", function(x) return F.max_pool2d(x, 3, { stride = 2, padding = 1 }) end, { 2, 2, 7, 6 } },
  { "max_pool2d dilation ceil", function(x) return F.max_pool2d(x, { 2, 3 }, { dilation = 2, ceil_mode = true, stride = 2 }) end, { 1, 2, 9, 8 } },
  { "max_pool1d", function(x) return F.max_pool1d(x, 2, { stride = 1 }) end, { 2, 3, 7 } },
  { "avg_pool2d", function(x) return F.avg_pool2d(x, 3, { stride = 2, padding = 1 }) end, { 2, 2, 7, 6 } },
  { "avg_pool2d no pad count ceil", function(x) return F.avg_pool2d(x, 3, { stride = 2, padding = 1, count_include_pad = false, ceil_mode = true }) end, { 1, 2, 8, 7 } },
  { "avg_pool1d", function(x) return F.avg_pool1d(x, 3, { stride = 2, padding = 1 }) end, { 2, 2, 8 } },
  { "adaptive_avg_pool2d", function(x) return F.adaptive_avg_pool2d(x, { 3, 4 }) end, { 2, 2, 7, 5 } },
  { "adaptive_max_pool2d", function(x) return F.adaptive_max_pool2d(x, { 4, 2 }) end, { 1, 2, 7, 5 } },
}
for _, g in ipairs(GRAD) do
  T.test("pool gradcheck: " .. g[1], function() gradcheck(g[2], { distinct(g[3]) }) end)
end

T.test("pool: float32, threads, unbatched input", function()
  local x = ml.randn(6, 5, 13, 11)
  local before = ml.threads()
  ml.threads(1)
  local a = F.max_pool2d(x, 3, { stride = 2 })
  ml.threads(2)
  T.all_near(F.max_pool2d(x, 3, { stride = 2 }), a, 0)
  ml.threads(before)
  T.all_near(F.avg_pool2d(x:to("float64"), 2), F.avg_pool2d(x, 2):to("float64"), 1e-6)
  local u = ml.randn(3, 6, 6)
  T.all_near(F.max_pool2d(u, 2), F.max_pool2d(u:unsqueeze(1), 2):squeeze(1), 0)
  T.all_near(nn.AdaptiveAvgPool2d({ nil, 2 })(x), F.adaptive_avg_pool2d(x, { 13, 2 }), 0)
end)

T.test("pool: NaN wins max pooling", function()
  local x = ml.tensor({ { { { 1, 0 / 0 }, { 3, 2 } } } })
  T.ok(F.max_pool2d(x, 2):item() ~= F.max_pool2d(x, 2):item(), "NaN propagates")
end)

T.test("pool errors", function()
  T.raises(function() nn.MaxPool2d(2, { padding = 2 }) end, "padding (2) must be at most half the kernel size (2)")
  T.raises(function() nn.MaxPool2d(2, { strid = 1 }) end, "did you mean 'stride'")
  T.raises(function() nn.MaxPool2d(0) end, "kernel_size must be")
  T.raises(function() nn.AvgPool2d(2, { dilation = 2 }) end, "unknown option 'dilation'")
  T.raises(function() nn.MaxPool2d(3)(ml.randn(1, 1, 2, 2)) end, "nn.MaxPool2d: the window (3, dilated) is larger than the padded input (2)")
  T.raises(function() nn.MaxPool1d(2)(ml.randn(2, 3, 4, 5)) end, "nn.MaxPool1d: expected input (N, C, L) or (C, L), got 4-D")
  T.raises(function() nn.AdaptiveAvgPool2d(0) end, "output_size must be")
  T.raises(function() F.max_pool2d(ml.tensor({ { { { 1, 2 } } } }, { dtype = "int64" }), 1) end, "must be a float tensor")
  local net = nn.Sequential { nn.MaxPool2d(2) }
  T.raises(function() net(ml.randn(5, 5)) end, "Sequential[1] (nn.MaxPool2d): expected input")
end)

T.test("pool layers save and load", function()
  local m = nn.Sequential { nn.MaxPool2d(3, { stride = 2, padding = 1, ceil_mode = true }), nn.AvgPool2d(2, { count_include_pad = false }),
    nn.AdaptiveMaxPool2d({ 2, 1 }) }
  local path = T.tmpname(".safetensors")
  m:save(path)
  local x = ml.randn(2, 3, 11, 9)
  T.all_near(nn.load(path)(x), m(x), 0)
  for _, name in ipairs({ "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d" }) do
    T.ok(ml.doc(nn[name]), name)
  end
  T.ok(tostring(m):find("MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1), ceil_mode=true)", 1, true), tostring(m))
end)
