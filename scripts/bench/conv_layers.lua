-- The moonlab side of scripts/bench/conv_layers.sh: forward + backward of
-- single layers (im2col + the fast GEMM for convolutions, our own pooling
-- and batch-norm kernels), float32, batch 128.
--   moonlab conv_layers.lua THREADS REPEATS
-- Prints "LAYER <name> <median ms per forward+backward>".
local nn = ml.nn
local threads = math.tointeger(tonumber(arg[1])) or 1
local reps = math.tointeger(tonumber(arg[2])) or 20
ml.threads(threads)
ml.seed(0)

local cases = {
  { "conv 1->32 3x3 p1 28x28", nn.Conv2d(1, 32, 3, { padding = 1 }), { 128, 1, 28, 28 } },
  { "conv 32->64 3x3 p1 14x14", nn.Conv2d(32, 64, 3, { padding = 1 }), { 128, 32, 14, 14 } },
  { "conv 64->64 3x3 s2 14x14", nn.Conv2d(64, 64, 3, { padding = 1, stride = 2 }), { 128, 64, 14, 14 } },
  { "convT 64->32 4x4 s2 7x7", nn.ConvTranspose2d(64, 32, 4, { stride = 2, padding = 1 }), { 128, 64, 7, 7 } },
  { "maxpool 2 32x28x28", nn.MaxPool2d(2), { 128, 32, 28, 28 } },
  { "batchnorm2d 32x28x28", nn.BatchNorm2d(32), { 128, 32, 28, 28 } },
}
for _, c in ipairs(cases) do
  local name, layer, shape = c[1], c[2], c[3]
  layer:train()
  local x = ml.randn(shape, { requires_grad = true })
  local times = {}
  for r = 1, reps + 2 do
    local t0 = ml.now()
    local y = layer(x)
    y:sum():backward()
    local dt = ml.now() - t0
    if r > 2 then times[#times + 1] = dt end -- the first two warm up
    x.grad = nil
    layer:zero_grad()
  end
  table.sort(times)
  print(string.format("LAYER %s %.3f", name, times[(#times + 1) // 2] * 1e3))
end
