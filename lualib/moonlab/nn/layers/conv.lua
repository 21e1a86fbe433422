--- nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d: convolution layers over the
-- kernels of nn.functional (runtime/ops/conv.c), PyTorch's layouts and init.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local F = require "moonlab.nn.functional.conv"
local A = require "moonlab.nn.functional.args"
local class, check_opts, fmt, fail = B.class, B.check_opts, B.fmt, B.fail
local doc = ml.doc
local init = require("moonlab.nn.initializers").init
local check_count, check_dtype, check_bool, param = B.check_count, B.check_dtype, B.check_bool, B.param

local M = {}

local OPTS = { "stride", "padding", "dilation", "groups", "bias", "padding_mode", "dtype" }
local T_OPTS = { "stride", "padding", "output_padding", "dilation", "groups", "bias", "dtype" }

-- What the three layers share: channel checks, the weight (wshape) and bias (nb), PyTorch's init.
local function setup(self, fn, n, cin, cout, k, opts, known, transposed)
  check_count(fn, "in_channels", cin)
  check_count(fn, "out_channels", cout)
  opts = check_opts(fn, opts, known)
  local dt = check_dtype(fn, opts.dtype)
  local groups = opts.groups or 1
  if math.type(groups) ~= "integer" or groups < 1 then fail(fmt("%s: groups must be a positive integer, got %s", fn, tostring(groups))) end
  if cin % groups ~= 0 then fail(fmt("%s: in_channels (%d) must be divisible by groups (%d)", fn, cin, groups)) end
  if cout % groups ~= 0 then fail(fmt("%s: out_channels (%d) must be divisible by groups (%d)", fn, cout, groups)) end
  self.in_channels, self.out_channels, self.groups = cin, cout, groups
  self.kernel_size = A.ints(fn, "kernel_size", k, n, 1)
  self.stride = A.ints(fn, "stride", opts.stride or 1, n, 1)
  self.dilation = A.ints(fn, "dilation", opts.dilation or 1, n, 1)
  local p = opts.padding or 0
  if type(p) == "string" then
    if p ~= "same" and p ~= "valid" then fail(fmt("%s: padding must be an integer, integers, 'same' or 'valid', got '%s'", fn, p)) end
    if transposed then fail(fmt("%s: padding must be integers, got '%s'", fn, p)) end
    if p == "same" then
      for i = 1, n do
        if self.stride[i] ~= 1 then fail(fmt("%s: padding 'same' needs stride 1, got stride %d", fn, self.stride[i])) end
      end
    end
    self.padding = p
  else
    self.padding = A.ints(fn, "padding", p, n, 0)
  end
  if transposed then
    self.output_padding = A.ints(fn, "output_padding", opts.output_padding or 0, n, 0)
    for i = 1, n do
      if self.output_padding[i] >= self.stride[i] and self.output_padding[i] >= self.dilation[i] then
        fail(fmt("%s: output_padding (%d) must be smaller than the stride or the dilation", fn, self.output_padding[i]))
      end
    end
  else
    self.padding_mode = require("moonlab.core.checks").one_of(fn, "padding_mode", opts.padding_mode, { "zeros", "reflect" }, "zeros")
  end
  local wshape = transposed and { cin, cout // groups } or { cout, cin // groups }
  for i = 1, n do wshape[#wshape + 1] = self.kernel_size[i] end
  self.weight = param(wshape, dt)
  if check_bool(fn, "bias", opts.bias, true) then self.bias = param({ cout }, dt) end
  self:reset_parameters()
end

-- PyTorch's default: kaiming_uniform_(a = sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))
local function reset(self)
  init.kaiming_uniform_(self.weight, { a = math.sqrt(5) })
  if self.bias then
    local fan_in = init.fans(self.weight)
    local bound = fan_in > 0 and 1 / math.sqrt(fan_in) or 0
    init.uniform_(self.bias, { a = -bound, b = bound })
  end
end

local function options(self)
  return { stride = self.stride, padding = self.padding, dilation = self.dilation, groups = self.groups,
    padding_mode = self.padding_mode }
end

local function repr(self)
  local function s(t) return type(t) == "table" and "(" .. table.concat(t, ", ") .. ")" or ("'" .. t .. "'") end
  local r = fmt("%d, %d, kernel_size=%s, stride=%s, padding=%s", self.in_channels, self.out_channels,
    s(self.kernel_size), s(self.stride), s(self.padding))
  if self.output_padding then r = r .. ", output_padding=" .. s(self.output_padding) end
  for _, d in ipairs(self.dilation) do if d ~= 1 then r = r .. ", dilation=" .. s(self.dilation); break end end
  if self.groups ~= 1 then r = r .. ", groups=" .. self.groups end
  if self.padding_mode and self.padding_mode ~= "zeros" then r = r .. ", padding_mode='" .. self.padding_mode .. "'" end
  if not self.bias then r = r .. ", bias=false" end
  return r
end

local Conv2d = class("Conv2d",
  "nn.Conv2d(in, out, kernel_size, [{stride=1, padding=0|'same'|'valid', dilation=1, groups=1, bias=true, padding_mode='zeros'|'reflect', dtype}]) — 2-D convolution of (N, C, H, W); weight (out, in/groups, kh, kw)",
  4, "in_channels, out_channels, kernel_size, [options]")

function Conv2d:init(cin, cout, k, opts) setup(self, "nn.Conv2d", 2, cin, cout, k, opts, OPTS, false) end
Conv2d.reset_parameters = reset
doc(Conv2d.reset_parameters, "conv:reset_parameters() — re-draws the weights as PyTorch: kaiming_uniform_(a = sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))")
-- not a tail call: the module's frame must stay on the stack for error messages to name its path
function Conv2d:forward(x)
  local y = F.conv2d(x, self.weight, self.bias, options(self), "nn.Conv2d")
  return y
end
Conv2d.extra_repr = repr

local Conv1d = class("Conv1d",
  "nn.Conv1d(in, out, kernel_size, [{stride=1, padding=0|'same'|'valid', dilation=1, groups=1, bias=true, padding_mode='zeros'|'reflect', dtype}]) — 1-D convolution of (N, C, L); weight (out, in/groups, k)",
  4, "in_channels, out_channels, kernel_size, [options]")

function Conv1d:init(cin, cout, k, opts) setup(self, "nn.Conv1d", 1, cin, cout, k, opts, OPTS, false) end
Conv1d.reset_parameters = reset
function Conv1d:forward(x)
  local y = F.conv1d(x, self.weight, self.bias, options(self), "nn.Conv1d")
  return y
end
Conv1d.extra_repr = repr

local ConvTranspose2d = class("ConvTranspose2d",
  "nn.ConvTranspose2d(in, out, kernel_size, [{stride=1, padding=0, output_padding=0, dilation=1, groups=1, bias=true, dtype}]) — the transposed 2-D convolution (upsampling); weight (in, out/groups, kh, kw)",
  4, "in_channels, out_channels, kernel_size, [options]")

function ConvTranspose2d:init(cin, cout, k, opts) setup(self, "nn.ConvTranspose2d", 2, cin, cout, k, opts, T_OPTS, true) end
ConvTranspose2d.reset_parameters = reset
function ConvTranspose2d:forward(x)
  local y = F.conv_transpose2d(x, self.weight, self.bias, { stride = self.stride, padding = self.padding,
    output_padding = self.output_padding, dilation = self.dilation, groups = self.groups }, "nn.ConvTranspose2d")
  return y
end
ConvTranspose2d.extra_repr = repr

M.Conv1d, M.Conv2d, M.ConvTranspose2d = Conv1d, Conv2d, ConvTranspose2d
return B.doc_forwards(M)
