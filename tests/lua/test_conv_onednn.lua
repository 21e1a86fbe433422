-- conv2d through oneDNN's primitives (runtime/ops/conv_dnnl.c) gives what
-- im2col gives: forward and the three gradients, float32, on geometries that
-- exercise the trailing-pad arithmetic (floor-divided strides, "same" with
-- an even kernel, dilation, 1x1). Each side runs in its own process with
-- MOONLAB_CONV forcing it.
local script = [[
ml.seed(3)
local F = ml.nn.functional
local cases = {
  { 32, 64, 3, 1, 1, 1, 14, 14 }, { 16, 32, 3, 2, 1, 1, 13, 10 }, { 24, 40, 5, 1, 2, 2, 11, 12 },
  { 32, 32, 1, 1, 0, 1, 7, 7 }, { 16, 16, 3, 3, 0, 1, 10, 11 }, { 16, 20, 4, 1, "same", 1, 9, 8 },
}
for _, c in ipairs(cases) do
  local C, OC, K, s, p, d, H, W = table.unpack(c)
  local x = ml.randn({ 3, C, H, W }, { requires_grad = true })
  local w = ml.randn({ OC, C, K, K }, { requires_grad = true })
  local b = ml.randn({ OC }, { requires_grad = true })
  local y = F.conv2d(x, w, b, { stride = s, padding = p, dilation = d })
  local g = ml.randn(y:shape())
  y:backward(g)
  for _, t in ipairs({ y, x.grad, w.grad, b.grad }) do
    local v = t:reshape(-1)
    io.write(string.format("%.7g %.7g %.7g ", v:sum():item(), (v * v):sum():item(), v[math.max(1, v:numel() // 3)]))
  end
  io.write("\n")
end
]]

local function run(rule)
  local path = T.tmpname(".lua")
  local f = assert(io.open(path, "w")) f:write(script) f:close()
  local h = io.popen(string.format("MOONLAB_CONV=%s %s %s 2>&1", rule, T.BIN, path))
  local out = h:read("a")
  T.ok(h:close(), out)
  local rows = {}
  for line in out:gmatch("[^\n]+") do
    local r = {}
    for v in line:gmatch("%S+") do r[#r + 1] = tonumber(v) end
    rows[#rows + 1] = r
  end
  return rows
end

T.test("conv2d: oneDNN's primitives agree with im2col (forward, input, weight and bias gradients)", function()
  local a, b = run("im2col"), run("onednn")
  T.eq(#a, 6)
  T.eq(#b, 6)
  for i = 1, #a do
    for j = 1, #a[i] do
      local x, y = a[i][j], b[i][j]
      T.ok(math.abs(x - y) <= 1e-4 * math.max(1, math.abs(x)), string.format("case %d value %d: %g vs %g", i, j, x, y))
    end
  end
end)
