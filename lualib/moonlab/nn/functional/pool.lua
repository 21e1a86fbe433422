--- nn.functional pooling: max_pool1d/2d (with indices), avg_pool1d/2d,
-- adaptive_avg_pool2d, adaptive_max_pool2d, by runtime/ops/pool.c. The 1-D
-- forms are the 2-D ones over a height of 1.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local A = require "moonlab.nn.functional.args"
local fail, fmt, doc = checks.fail, string.format, ml.doc

local M = {}
local K = ml._conv

-- kernel_size, stride (default: the kernel), padding, dilation over n dimensions
local function window(fn, k, opts, n, known)
  opts = checks.options(fn, opts, known)
  local ks = A.ints(fn, "kernel_size", k, n, 1)
  local stride = opts.stride ~= nil and A.ints(fn, "stride", opts.stride, n, 1) or ks
  local pad = A.ints(fn, "padding", opts.padding or 0, n, 0)
  for i = 1, n do
    if 2 * pad[i] > ks[i] then
      fail(fmt("%s: padding (%d) must be at most half the kernel size (%d)", fn, pad[i], ks[i]))
    end
  end
  return opts, ks, stride, pad
end
M._window = window

local MAX_OPTS = { "stride", "padding", "dilation", "ceil_mode", "return_indices" }
local AVG_OPTS = { "stride", "padding", "ceil_mode", "count_include_pad" }

local function max_pool(fn, x, k, opts, n)
  local xb, added = A.batched(fn, x, n)
  local o, ks, st, pad = window(fn, k, opts, n, MAX_OPTS)
  local dil = A.ints(fn, "dilation", o.dilation or 1, n, 1)
  local ceil = checks.boolean(fn, "ceil_mode", o.ceil_mode, false)
  local want = checks.boolean(fn, "return_indices", o.return_indices, false)
  local y, idx
  if n == 2 then
    y, idx = checks.call(K.max_pool2d, xb, ks[1], ks[2], st[1], st[2], pad[1], pad[2], dil[1], dil[2], ceil, fn, want)
  else
    local N, C, L = xb:size(1), xb:size(2), xb:size(3)
    y, idx = checks.call(K.max_pool2d, xb:reshape(N, C, 1, L), 1, ks[1], 1, st[1], 0, pad[1], 1, dil[1], ceil, fn, want)
    y = y:reshape(N, C, y:size(4))
    if idx then idx = idx:reshape(N, C, idx:size(4)) end
  end
  if added then y = y:squeeze(1); if idx then idx = idx:squeeze(1) end end
  if want then return y, idx end
  return y
end

local function avg_pool(fn, x, k, opts, n)
  local xb, added = A.batched(fn, x, n)
  local o, ks, st, pad = window(fn, k, opts, n, AVG_OPTS)
  local ceil = checks.boolean(fn, "ceil_mode", o.ceil_mode, false)
  local cip = checks.boolean(fn, "count_include_pad", o.count_include_pad, true)
  local y
  if n == 2 then
    y = checks.call(K.avg_pool2d, xb, ks[1], ks[2], st[1], st[2], pad[1], pad[2], ceil, cip, fn)
  else
    local N, C, L = xb:size(1), xb:size(2), xb:size(3)
    y = checks.call(K.avg_pool2d, xb:reshape(N, C, 1, L), 1, ks[1], 1, st[1], 0, pad[1], ceil, cip, fn)
    y = y:reshape(N, C, y:size(4))
  end
  return added and y:squeeze(1) or y
end

--- F.max_pool2d(x, kernel_size, [{stride, padding, dilation, ceil_mode, return_indices}]) -> y[, indices]
function M.max_pool2d(x, k, opts, fn) return max_pool(fn or "nn.functional.max_pool2d", x, k, opts, 2) end
doc(M.max_pool2d, "nn.functional.max_pool2d(x, kernel_size, [{stride=kernel_size, padding=0, dilation=1, ceil_mode=false, return_indices=false}]) -> y[, indices] — max over windows of (N, C, H, W); indices 1-based, flat in each H x W plane")

function M.max_pool1d(x, k, opts, fn) return max_pool(fn or "nn.functional.max_pool1d", x, k, opts, 1) end
doc(M.max_pool1d, "nn.functional.max_pool1d(x, kernel_size, [{stride, padding, dilation, ceil_mode, return_indices}]) -> y[, indices] — max over windows of (N, C, L)")

function M.avg_pool2d(x, k, opts, fn) return avg_pool(fn or "nn.functional.avg_pool2d", x, k, opts, 2) end
doc(M.avg_pool2d, "nn.functional.avg_pool2d(x, kernel_size, [{stride=kernel_size, padding=0, ceil_mode=false, count_include_pad=true}]) — mean over windows of (N, C, H, W)")

function M.avg_pool1d(x, k, opts, fn) return avg_pool(fn or "nn.functional.avg_pool1d", x, k, opts, 1) end
doc(M.avg_pool1d, "nn.functional.avg_pool1d(x, kernel_size, [{stride, padding, ceil_mode, count_include_pad}]) — mean over windows of (N, C, L)")

local function adaptive(fn, x, size, max, return_indices)
  local xb, added = A.batched(fn, x, 2)
  local s = type(size) == "table" and { size[1], size[2] } or { size, size }
  -- nil keeps the input's size, as PyTorch's None
  if s[1] == nil then s[1] = xb:size(3) end
  if s[2] == nil then s[2] = xb:size(4) end
  s = A.ints(fn, "output_size", s, 2, 1)
  local y, idx = checks.call(K.adaptive_pool2d, xb, s[1], s[2], max, fn, return_indices)
  if added then y = y:squeeze(1); if idx then idx = idx:squeeze(1) end end
  if return_indices then return y, idx end
  return y
end
M._adaptive = adaptive

function M.adaptive_avg_pool2d(x, size, fn) return adaptive(fn or "nn.functional.adaptive_avg_pool2d", x, size, false) end
doc(M.adaptive_avg_pool2d, "nn.functional.adaptive_avg_pool2d(x, output_size) — mean pooling of (N, C, H, W) to output_size (an int or {h, w}) with windows [floor(i H/oh), ceil((i+1) H/oh))")

function M.adaptive_max_pool2d(x, size, return_indices, fn)
  return adaptive(fn or "nn.functional.adaptive_max_pool2d", x, size, true, return_indices)
end
doc(M.adaptive_max_pool2d, "nn.functional.adaptive_max_pool2d(x, output_size, [return_indices]) -> y[, indices] — max pooling of (N, C, H, W) to output_size")

return M
