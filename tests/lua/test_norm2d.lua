-- Image-batch layers beside the convolutions: nn.BatchNorm2d, nn.GroupNorm,
-- nn.Dropout2d, nn.Upsample (nn.functional.interpolate): forward, backward
-- and running statistics against PyTorch fixtures
-- (scripts/gen_conv_fixtures.py), float64 gradient checks, behaviour and errors.
local nn = ml.nn
local F = nn.functional
local gradcheck = dofile("tests/lua/gradcheck.lua")
local H = dofile("tests/lua/conv_helpers.lua")
local FX = dofile("tests/fixtures/conv/layers.lua")
local D = { dtype = "float64" }

local cases = H.cases(FX, { "BatchNorm2d", "GroupNorm", "Upsample" })
T.test("norm2d fixtures present", function() T.ok(#cases >= 9, "cases") end)
for _, c in ipairs(cases) do
  T.test("vs torch: " .. c.name, function() H.run_case(c) end)
end

T.test("gradcheck: BatchNorm2d (train), GroupNorm, Upsample bilinear and nearest", function()
  local bn = nn.BatchNorm2d(3, D)
  ml.no_grad(function() bn.weight:copy_(ml.randn(3, D)); bn.bias:copy_(ml.randn(3, D)) end)
  gradcheck(function(x, w, b) return bn(x) end, { ml.randn({ 3, 3, 2, 3 }, D), bn.weight, bn.bias })
  local gn = nn.GroupNorm(2, 4, D)
  ml.no_grad(function() gn.weight:copy_(ml.randn(4, D)); gn.bias:copy_(ml.randn(4, D)) end)
  gradcheck(function(x, w, b) return gn(x) end, { ml.randn({ 2, 4, 3, 2 }, D), gn.weight, gn.bias })
  gradcheck(function(x) return F.interpolate(x, { size = { 5, 4 }, mode = "bilinear" }) end, { ml.randn({ 1, 2, 3, 3 }, D) })
  gradcheck(function(x) return F.interpolate(x, { scale_factor = 2, mode = "bilinear", align_corners = true }) end, { ml.randn({ 1, 1, 2, 3 }, D) })
  gradcheck(function(x) return F.interpolate(x, { size = { 5, 3 } }) end, { ml.randn({ 2, 1, 2, 2 }, D) })
end)

T.test("Dropout2d zeroes whole channels, scales the rest, identity in eval", function()
  ml.seed(3)
  local d = nn.Dropout2d(0.5)
  local y = d(ml.ones(8, 16, 3, 3))
  local per = y:sum(4):sum(3) -- (8, 16): 0 or 9 * 2 per channel
  local zeros, twos = per:eq(0):sum():item(), per:eq(18):sum():item()
  T.eq(zeros + twos, 8 * 16, "every channel all kept or all dropped")
  T.ok(zeros > 20 and twos > 20, "about half dropped")
  d:eval()
  local x = ml.randn(2, 3, 4, 4)
  T.all_near(d(x), x, 0)
  T.raises(function() nn.Dropout2d(1.5) end, "nn.Dropout2d: p must be a number in [0, 1]")
  T.raises(function() nn.Dropout2d(0.5)(ml.randn(3, 4)) end, "nn.Dropout2d: expected input (N, C, H, W) or (C, H, W)")
end)

T.test("norm2d and upsample errors", function()
  T.raises(function() nn.BatchNorm2d(3)(ml.randn(2, 4, 3, 3)) end, "nn.BatchNorm2d: input has 4 channels (dimension 2), expected 3")
  T.raises(function() nn.BatchNorm2d(3)(ml.randn(2, 3, 3)) end, "nn.BatchNorm2d: expected input (N, C, H, W)")
  T.raises(function() nn.BatchNorm2d(3)(ml.randn(1, 3, 1, 1)) end, "more than 1 value per channel")
  T.raises(function() nn.BatchNorm2d(3, { momentun = 0.1 }) end, "did you mean 'momentum'")
  T.raises(function() nn.BatchNorm2d(3, { eps = -1 }) end, "nn.BatchNorm2d: eps must be")
  T.raises(function() nn.GroupNorm(3, 4) end, "num_channels (4) must be divisible by num_groups (3)")
  T.raises(function() nn.GroupNorm(2, 4)(ml.randn(2, 6, 3)) end, "nn.GroupNorm: input has 6 channels")
  T.raises(function() nn.Upsample({ mode = "bicubic", scale_factor = 2 }) end, "mode")
  T.raises(function() nn.Upsample({ size = 3, scale_factor = 2 }) end, "exactly one of size and scale_factor")
  T.raises(function() nn.Upsample({ scale_factor = 2, align_corners = true }) end, "align_corners applies to mode 'bilinear' only")
  local net = nn.Sequential { nn.BatchNorm2d(2) }
  T.raises(function() net(ml.randn(2, 3, 2, 2)) end, "Sequential[1] (nn.BatchNorm2d): input has 3 channels")
end)

T.test("norm2d, dropout2d and upsample save and load", function()
  local m = nn.Sequential { nn.Conv2d(1, 4, 3, { padding = 1 }), nn.BatchNorm2d(4), nn.GroupNorm(2, 4), nn.Dropout2d(0.1),
    nn.Upsample({ scale_factor = 2, mode = "bilinear" }) }
  m(ml.randn(4, 1, 5, 5)) -- moves the running statistics
  m:eval()
  local path = T.tmpname(".safetensors")
  m:save(path)
  local m2 = nn.load(path)
  m2:eval()
  local x = ml.randn(2, 1, 5, 5)
  T.all_near(m2(x), m(x), 1e-6)
  T.all_near(m2[2].running_mean, m[2].running_mean, 0)
  for _, name in ipairs({ "BatchNorm2d", "GroupNorm", "Dropout2d", "Upsample" }) do T.ok(ml.doc(nn[name]), name) end
  T.ok(ml.doc(F.interpolate), "interpolate")
end)
