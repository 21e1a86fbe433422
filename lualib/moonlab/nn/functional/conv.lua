--- nn.functional.conv1d, conv2d, conv_transpose2d: convolutions over
-- (N, C, L) and (N, C, H, W) inputs by the C kernels of runtime/ops/conv.c
-- (im2col + GEMM; autograd for the input, the weight and the bias). A 1-D
-- convolution is the 2-D one over a height of 1.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local A = require "moonlab.nn.functional.args"
local fail, fmt, doc = checks.fail, string.format, ml.doc

local M = {}
local K = ml._conv

local CONV_OPTS = { "stride", "padding", "dilation", "groups", "padding_mode" }

-- Per-side pads {lo_1, hi_1, lo_2, hi_2, ...} for padding = int, ints, "valid" or "same".
-- "same" pads d (k - 1) in total, the odd one at the end, as PyTorch.
local function pads(fn, padding, ks, dil, stride, n)
  local out = {}
  if padding == "valid" then
    for i = 1, n do out[2 * i - 1], out[2 * i] = 0, 0 end
  elseif padding == "same" then
    for i = 1, n do
      if stride[i] ~= 1 then fail(fmt("%s: padding 'same' needs stride 1, got stride %d", fn, stride[i])) end
      local total = dil[i] * (ks[i] - 1)
      out[2 * i - 1], out[2 * i] = total // 2, total - total // 2
    end
  elseif type(padding) == "string" then
    fail(fmt("%s: padding must be an integer, %d integers, 'same' or 'valid', got '%s'", fn, n, padding))
  else
    local p = A.ints(fn, "padding", padding, n, 0)
    for i = 1, n do out[2 * i - 1], out[2 * i] = p[i], p[i] end
  end
  return out
end

-- Options of a convolution over n spatial dimensions, resolved: stride, pads, dilation, groups, reflect.
local function conv_options(fn, opts, ks, n)
  opts = checks.options(fn, opts, CONV_OPTS)
  local stride = A.ints(fn, "stride", opts.stride or 1, n, 1)
  local dil = A.ints(fn, "dilation", opts.dilation or 1, n, 1)
  local groups = opts.groups or 1
  if math.type(groups) ~= "integer" or groups < 1 then
    fail(fmt("%s: groups must be a positive integer, got %s", fn, tostring(groups)))
  end
  local mode = checks.one_of(fn, "padding_mode", opts.padding_mode, { "zeros", "reflect" }, "zeros")
  return stride, pads(fn, opts.padding or 0, ks, dil, stride, n), dil, groups, mode == "reflect"
end
M._conv_options = conv_options

local function check_weight(fn, x, w, b, groups, transposed)
  if not ml.is_tensor(w) then fail(fmt("%s: weight must be a tensor, got %s", fn, type(w))) end
  if b ~= nil and not ml.is_tensor(b) then fail(fmt("%s: bias must be a tensor or nil, got %s", fn, type(b))) end
  if w:dim() ~= x:dim() then
    fail(fmt("%s: weight must be %d-D, got shape [%s]", fn, x:dim(), table.concat(w:shape(), ", ")))
  end
  local want = transposed and w:size(1) or w:size(2) * groups
  if x:size(2) ~= want then
    fail(fmt("%s: input has %d channels, expected %d", fn, x:size(2), want))
  end
  if x:dtype() ~= w:dtype() then
    fail(fmt("%s: input dtype %s differs from the weight's %s", fn, x:dtype(), w:dtype()))
  end
end

-- The 2-D kernel call on batched 4-D tensors, after the checks.
local function conv2d_raw(fn, x, w, b, stride, p, dil, groups, reflect)
  return K.conv2d(x, w, b, stride[1], stride[2], p[1], p[2], p[3], p[4], dil[1], dil[2], groups, reflect, fn)
end
M._conv2d_raw = conv2d_raw

--- F.conv2d(x, weight, [bias], [{stride, padding, dilation, groups, padding_mode}]) -> y
function M.conv2d(x, w, b, opts, fn)
  fn = fn or "nn.functional.conv2d"
  local xb, added = A.batched(fn, x, 2)
  if not ml.is_tensor(w) or w:dim() ~= 4 then check_weight(fn, xb, w, b, 1, false) end
  local stride, p, dil, groups, reflect = conv_options(fn, opts, { w:size(3), w:size(4) }, 2)
  check_weight(fn, xb, w, b, groups, false)
  local y = checks.call(conv2d_raw, fn, xb, w, b, stride, p, dil, groups, reflect)
  return added and y:squeeze(1) or y
end
doc(M.conv2d, "nn.functional.conv2d(x, weight, [bias], [{stride=1, padding=0|'same'|'valid', dilation=1, groups=1, padding_mode='zeros'|'reflect'}]) — 2-D convolution of (N, C, H, W) with weight (OC, C/groups, KH, KW)")

--- F.conv1d(x, weight, [bias], [options]) -> y
function M.conv1d(x, w, b, opts, fn)
  fn = fn or "nn.functional.conv1d"
  local xb, added = A.batched(fn, x, 1)
  if not ml.is_tensor(w) or w:dim() ~= 3 then check_weight(fn, xb, w, b, 1, false) end
  local stride, p, dil, groups, reflect = conv_options(fn, opts, { w:size(3) }, 1)
  check_weight(fn, xb, w, b, groups, false)
  local N, C, L = xb:size(1), xb:size(2), xb:size(3)
  local w4 = w:reshape(w:size(1), w:size(2), 1, w:size(3))
  local y = checks.call(conv2d_raw, fn, xb:reshape(N, C, 1, L), w4, b, { 1, stride[1] }, { 0, 0, p[1], p[2] },
    { 1, dil[1] }, groups, reflect)
  y = y:reshape(N, y:size(2), y:size(4))
  return added and y:squeeze(1) or y
end
doc(M.conv1d, "nn.functional.conv1d(x, weight, [bias], [{stride=1, padding=0|'same'|'valid', dilation=1, groups=1, padding_mode}]) — 1-D convolution of (N, C, L) with weight (OC, C/groups, K)")

--- F.conv_transpose2d(x, weight, [bias], [{stride, padding, output_padding, dilation, groups}]) -> y
function M.conv_transpose2d(x, w, b, opts, fn)
  fn = fn or "nn.functional.conv_transpose2d"
  local xb, added = A.batched(fn, x, 2)
  opts = checks.options(fn, opts, { "stride", "padding", "output_padding", "dilation", "groups" })
  local groups = opts.groups or 1
  check_weight(fn, xb, w, b, groups, true)
  local stride = A.ints(fn, "stride", opts.stride or 1, 2, 1)
  local dil = A.ints(fn, "dilation", opts.dilation or 1, 2, 1)
  local p = A.ints(fn, "padding", opts.padding or 0, 2, 0)
  local op = A.ints(fn, "output_padding", opts.output_padding or 0, 2, 0)
  local y = checks.call(K.conv_transpose2d, xb, w, b, stride[1], stride[2], p[1], p[1], p[2], p[2], dil[1], dil[2],
    groups, op[1], op[2], fn)
  return added and y:squeeze(1) or y
end
doc(M.conv_transpose2d, "nn.functional.conv_transpose2d(x, weight, [bias], [{stride=1, padding=0, output_padding=0, dilation=1, groups=1}]) — the transposed convolution (the input-gradient of conv2d); weight (C, OC/groups, KH, KW)")

return M
