--- nn.MaxPool1d/2d, nn.AvgPool1d/2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d:
-- pooling layers over nn.functional's kernels (runtime/ops/pool.c).
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local F = require "moonlab.nn.functional.pool"
local A = require "moonlab.nn.functional.args"
local class, check_opts, fmt = B.class, B.check_opts, B.fmt

local M = {}

local function s(t) return type(t) == "table" and "(" .. table.concat(t, ", ") .. ")" or tostring(t) end

-- A windowed pooling layer: (kernel_size, [options]) kept as given, checked now.
local function windowed(name, n, known, defaults, doc, call)
  local fn = "nn." .. name
  local cls = class(name, doc, 2, "kernel_size, [options]")
  function cls:init(k, opts)
    opts = check_opts(fn, opts, known)
    self.kernel_size = A.ints(fn, "kernel_size", k, n, 1)
    self.stride = opts.stride ~= nil and A.ints(fn, "stride", opts.stride, n, 1) or self.kernel_size
    self.padding = A.ints(fn, "padding", opts.padding or 0, n, 0)
    for i = 1, n do
      if 2 * self.padding[i] > self.kernel_size[i] then
        B.fail(fmt("%s: padding (%d) must be at most half the kernel size (%d)", fn, self.padding[i], self.kernel_size[i]))
      end
    end
    for key, def in pairs(defaults) do
      local v = opts[key]
      if key == "dilation" then self.dilation = A.ints(fn, "dilation", v or 1, n, 1)
      else self[key] = B.check_bool(fn, key, v, def) end
    end
  end
  function cls:forward(x)
    local o = { stride = self.stride, padding = self.padding }
    for key in pairs(defaults) do o[key] = self[key] end
    local y, idx = call(x, self.kernel_size, o, fn) -- not a tail call: error messages name the module's path
    return y, idx
  end
  function cls:extra_repr()
    local r = fmt("kernel_size=%s, stride=%s, padding=%s", s(self.kernel_size), s(self.stride), s(self.padding))
    if self.dilation then r = r .. ", dilation=" .. s(self.dilation) end
    if self.ceil_mode then r = r .. ", ceil_mode=true" end
    if self.count_include_pad == false then r = r .. ", count_include_pad=false" end
    return r
  end
  M[name] = cls
end

local MAXD = { dilation = 1, ceil_mode = false, return_indices = false }
local AVGD = { ceil_mode = false, count_include_pad = true }
windowed("MaxPool2d", 2, { "stride", "padding", "dilation", "ceil_mode", "return_indices" }, MAXD,
  "nn.MaxPool2d(kernel_size, [{stride=kernel_size, padding=0, dilation=1, ceil_mode=false, return_indices=false}]) — max over windows of (N, C, H, W); with return_indices, also the 1-based flat argmax per plane",
  F.max_pool2d)
windowed("MaxPool1d", 1, { "stride", "padding", "dilation", "ceil_mode", "return_indices" }, MAXD,
  "nn.MaxPool1d(kernel_size, [{stride=kernel_size, padding=0, dilation=1, ceil_mode=false, return_indices=false}]) — max over windows of (N, C, L)",
  F.max_pool1d)
windowed("AvgPool2d", 2, { "stride", "padding", "ceil_mode", "count_include_pad" }, AVGD,
  "nn.AvgPool2d(kernel_size, [{stride=kernel_size, padding=0, ceil_mode=false, count_include_pad=true}]) — mean over windows of (N, C, H, W)",
  F.avg_pool2d)
windowed("AvgPool1d", 1, { "stride", "padding", "ceil_mode", "count_include_pad" }, AVGD,
  "nn.AvgPool1d(kernel_size, [{stride=kernel_size, padding=0, ceil_mode=false, count_include_pad=true}]) — mean over windows of (N, C, L)",
  F.avg_pool1d)

-- output_size: an int, or {h, w} where nil keeps the input's size
local function adaptive(name, doc, max)
  local fn = "nn." .. name
  local cls = class(name, doc, 2, "output_size, [options]")
  function cls:init(size, opts)
    opts = check_opts(fn, opts, max and { "return_indices" } or {})
    if type(size) == "table" then
      for i = 1, 2 do
        if size[i] ~= nil then A.ints(fn, "output_size", size[i], 1, 1) end
      end
    else
      A.ints(fn, "output_size", size, 1, 1)
    end
    self.output_size = size
    if max then self.return_indices = B.check_bool(fn, "return_indices", opts.return_indices, false) end
  end
  function cls:forward(x)
    local y, idx
    if max then y, idx = F.adaptive_max_pool2d(x, self.output_size, self.return_indices, fn)
    else y = F.adaptive_avg_pool2d(x, self.output_size, fn) end
    return y, idx
  end
  function cls:extra_repr() return "output_size=" .. s(self.output_size) end
  M[name] = cls
end
adaptive("AdaptiveAvgPool2d",
  "nn.AdaptiveAvgPool2d(output_size) — mean pooling of (N, C, H, W) to output_size (an int or {h, w}) whatever the input size", false)
adaptive("AdaptiveMaxPool2d",
  "nn.AdaptiveMaxPool2d(output_size, [{return_indices=false}]) — max pooling of (N, C, H, W) to output_size whatever the input size", true)

return B.doc_forwards(M)
