--- nn activations: ReLU, Sigmoid, Tanh, SiLU, LeakyReLU, ELU, GELU, Softmax, LogSoftmax.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local class, fail, check_opts, fmt = B.class, B.fail, B.check_opts, B.fmt
local no_args, value_or_option, check_number = B.no_args, B.value_or_option, B.check_number

local M = {}
local check_input = B.check_input

-- An activation without arguments that is one tensor method: forward(x) = x:method().
-- forward checks its input with type() first: a tensor costs no extra call.
local function elementwise(name, docstring, method)
  local cls = class(name, docstring)
  local fn = "nn." .. name
  no_args(cls, fn)
  function cls:forward(x)
    if type(x) ~= "userdata" then check_input(fn, x) end
    return x[method](x)
  end
  return cls
end

local ReLU = elementwise("ReLU", "nn.ReLU() — max(x, 0)", "relu")
local Sigmoid = elementwise("Sigmoid", "nn.Sigmoid() — 1 / (1 + exp(-x))", "sigmoid")
local Tanh = elementwise("Tanh", "nn.Tanh() — tanh(x)", "tanh")

local SiLU = class("SiLU", "nn.SiLU() — x * sigmoid(x) (swish)")
no_args(SiLU, "nn.SiLU")
function SiLU:forward(x)
  if type(x) ~= "userdata" then check_input("nn.SiLU", x) end
  return x * x:sigmoid()
end

local LeakyReLU = class("LeakyReLU", "nn.LeakyReLU([negative_slope=0.01]) — x if x > 0 else slope * x (or {negative_slope=})")
function LeakyReLU:init(...)
  local slope = value_or_option("nn.LeakyReLU", "negative_slope", ...)
  if slope == nil then slope = 0.01 end
  self.negative_slope = check_number("nn.LeakyReLU", "negative_slope", slope)
end
function LeakyReLU:forward(x)
  if type(x) ~= "userdata" then check_input("nn.LeakyReLU", x) end
  return x:leaky_relu(self.negative_slope)
end
function LeakyReLU:extra_repr() return fmt("negative_slope=%g", self.negative_slope) end

local ELU = class("ELU", "nn.ELU([alpha=1]) — x if x > 0 else alpha * (exp(x) - 1) (or {alpha=})")
function ELU:init(...)
  local alpha = value_or_option("nn.ELU", "alpha", ...)
  if alpha == nil then alpha = 1 end
  self.alpha = check_number("nn.ELU", "alpha", alpha)
end
function ELU:forward(x)
  if type(x) ~= "userdata" then check_input("nn.ELU", x) end
  -- max(0, x) + alpha * (exp(min(0, x)) - 1): exp never sees a large positive value
  return x:relu() + (x:clamp({ max = 0 }):exp() - 1) * self.alpha
end
function ELU:extra_repr() return fmt("alpha=%g", self.alpha) end

local GELU = class("GELU", "nn.GELU([{approximate='none'}]) — x * Phi(x) (erf form), or the tanh approximation with approximate='tanh'",
  1, "options")
function GELU:init(opts)
  opts = check_opts("nn.GELU", opts, { "approximate" })
  local a = opts.approximate or "none"
  if a ~= "none" and a ~= "tanh" then
    fail("nn.GELU: approximate must be 'none' or 'tanh', got '" .. tostring(a) .. "'")
  end
  self.approximate = a
end
local SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
function GELU:forward(x)
  if type(x) ~= "userdata" then check_input("nn.GELU", x) end
  if self.approximate == "none" then return x:gelu() end
  -- 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  local inner = (x + x * x * x * 0.044715) * SQRT_2_OVER_PI
  return x * 0.5 * (inner:tanh() + 1)
end
function GELU:extra_repr() return self.approximate == "none" and "" or "approximate=" .. self.approximate end

local function softmax_class(name, method)
  local cls = class(name, fmt("nn.%s([dim=-1]) — %s along a 1-based dim (default the last)", name,
    method == "softmax" and "softmax" or "log of softmax, stable"))
  function cls:init(...)
    local dim = value_or_option("nn." .. name, "dim", ...)
    if dim == nil then dim = -1 end
    if math.type(dim) ~= "integer" then fail(fmt("nn.%s: dim must be an integer, got %s", name, tostring(dim))) end
    self.dim = dim
  end
  local fn = "nn." .. name
  function cls:forward(x)
    if type(x) ~= "userdata" then check_input(fn, x) end
    return x[method](x, self.dim)
  end
  function cls:extra_repr() return fmt("dim=%d", self.dim) end
  return cls
end
local Softmax = softmax_class("Softmax", "softmax")
local LogSoftmax = softmax_class("LogSoftmax", "log_softmax")

M.ReLU = ReLU
M.Sigmoid = Sigmoid
M.Tanh = Tanh
M.SiLU = SiLU
M.LeakyReLU = LeakyReLU
M.ELU = ELU
M.GELU = GELU
M.Softmax = Softmax
M.LogSoftmax = LogSoftmax
return B.doc_forwards(M)
