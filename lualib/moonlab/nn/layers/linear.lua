--- nn.Linear: the affine layer y = x W^T + b (one addmm in C).
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local class, check_opts, fmt = B.class, B.check_opts, B.fmt
local doc = ml.doc
local init = require("moonlab.nn.initializers").init
local check_count, check_dtype, check_bool, param = B.check_count, B.check_dtype, B.check_bool, B.param

local M = {}

local Linear = class("Linear",
  "nn.Linear(in, out, [{bias=true, dtype='float32'}]) — y = x W^T + b; weight [out, in], bias [out]; PyTorch's init U(-1/sqrt(in), 1/sqrt(in))",
  3, "in, out, [options]")

function Linear:init(in_features, out_features, opts)
  local fn = "nn.Linear"
  check_count(fn, "in_features", in_features)
  check_count(fn, "out_features", out_features)
  opts = check_opts(fn, opts, { "bias", "dtype" })
  local dt = check_dtype(fn, opts.dtype)
  self.in_features, self.out_features = in_features, out_features
  self.weight = param({ out_features, in_features }, dt)
  if check_bool(fn, "bias", opts.bias, true) then self.bias = param({ out_features }, dt) end
  self:reset_parameters()
end

--- Linear:reset_parameters(): PyTorch's default: kaiming_uniform_(a = sqrt(5)) for the weight, U(-1/sqrt(in), 1/sqrt(in)) for the bias
function Linear:reset_parameters()
  init.kaiming_uniform_(self.weight, { a = math.sqrt(5) })
  if self.bias then
    local bound = self.in_features > 0 and 1 / math.sqrt(self.in_features) or 0
    init.uniform_(self.bias, { a = -bound, b = bound })
  end
end
doc(Linear.reset_parameters, "linear:reset_parameters() — re-draws the weights as PyTorch: kaiming_uniform_(a = sqrt(5)) for the weight, U(-1/sqrt(in), 1/sqrt(in)) for the bias")

-- one C call: the checks, then addmm(bias, x, weight^T) for 2-D x (matmul + add otherwise)
local linear = ml._nn.linear
function Linear:forward(x)
  if getmetatable(x) == ml.sparse.CSR then return self:sparse_forward(x) end
  return linear(x, self.weight, self.bias, "nn.Linear")
end

-- a CSR input (ml.sparse, the text vectorizers' output): S @ W^T + b, gradients to W and b
function Linear:sparse_forward(x)
  if x.shape[2] ~= self.in_features then
    error(fmt("nn.Linear: the sparse input has %d features, expected %d", x.shape[2], self.in_features), 3)
  end
  local y = ml.sparse.matmul(x:to(self.weight:dtype()), self.weight:t())
  return self.bias and y + self.bias or y
end

function Linear:extra_repr()
  return fmt("in=%d, out=%d, bias=%s", self.in_features, self.out_features, tostring(self.bias ~= nil))
end

M.Linear = Linear
return B.doc_forwards(M)
