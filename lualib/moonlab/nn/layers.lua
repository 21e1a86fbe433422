--- nn layers: Linear, activations, Dropout, normalization, Embedding,
-- shape layers and the containers Sequential and ModuleList.
--
-- Each layer is an nn.Module class: positional required arguments, then an
-- options table whose unknown keys are an error. Defaults (initialization,
-- eps, momentum) are PyTorch's. Layers with parameters take {dtype = ...}
-- ("float32" by default). Forward paths are compositions of C ops (Linear on
-- 2-D input is one addmm; LayerNorm is one fused kernel), with no Lua loop
-- over elements.
local ml = require "moonlab"
local Module = require("moonlab.nn.module").Module
local init = require("moonlab.nn.initializers").init

local is_module = Module.is_module
local doc = ml.doc or function(v) return v end
local checks = require "moonlab.checks"
local fail, check_opts = checks.fail, checks.options
local fmt = string.format

local M = {}



-- The number of arguments, trailing nils left out.
local function count_args(...)
  local n = select("#", ...)
  while n > 0 and select(n, ...) == nil do n = n - 1 end
  return n
end

local function is_options(v) return type(v) == "table" and not is_module(v) end

local function check_count(fn, what, v)
  if math.type(v) ~= "integer" or v < 0 then
    fail(fmt("%s: %s must be a non-negative integer, got %s", fn, what, tostring(v)))
  end
  return v
end

local function check_number(fn, what, v, lo, hi)
  if type(v) ~= "number" or v ~= v or (lo and v < lo) or (hi and v > hi) then
    local range = (lo and hi) and fmt(" in [%g, %g]", lo, hi) or (lo and fmt(" >= %g", lo) or "")
    fail(fmt("%s: %s must be a number%s, got %s", fn, what, range, tostring(v)))
  end
  return v
end

local function check_bool(fn, what, v, def)
  if v == nil then return def end
  if type(v) ~= "boolean" then fail(fmt("%s: option '%s' must be a boolean, got %s", fn, what, type(v))) end
  return v
end

local function check_dtype(fn, dt)
  if dt == nil then return "float32" end
  if dt ~= "float32" and dt ~= "float64" then
    fail(fmt("%s: dtype must be 'float32' or 'float64', got %s", fn, tostring(dt)))
  end
  return dt
end

local function check_input(fn, x)
  if type(x) ~= "userdata" or not ml.is_tensor(x) then
    fail(fmt("%s: input must be a tensor, got %s", fn, type(x)))
  end
end

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

local function param(shape, dt)
  return ml.empty(shape, { dtype = dt, requires_grad = true })
end

-- A layer class. With max_args, the constructor refuses surplus arguments
-- ("nn.Linear: takes at most 3 arguments (in, out, [options]), got 4");
-- subclasses (a user's class extending a layer) choose their own.
local function class(name, docstring, max_args, usage)
  local cls = Module:extend(name)
  M[name] = cls
  doc(cls, docstring)
  if max_args then
    local fn = "nn." .. name
    function cls.new(c, ...)
      if c == cls then
        local n = count_args(...)
        if n > max_args then
          if max_args == 0 then fail(fmt("%s: takes no arguments, got %d", fn, n)) end
          fail(fmt("%s: takes at most %d argument%s (%s), got %d", fn, max_args, max_args == 1 and "" or "s", usage, n))
        end
      end
      return Module.new(c, ...)
    end
  end
  return cls
end

-- layer(v, [options]) or layer({name = v}): one optional value, by position or by name.
local function value_or_option(fn, name, ...)
  local n = count_args(...)
  local a, b = ...
  if is_options(a) then
    if n > 1 then fail(fmt("%s: takes %s or an options table, got %d arguments", fn, name, n)) end
    return check_opts(fn, a, { name })[name]
  end
  if b ~= nil then
    local o = check_opts(fn, b, { name })
    if o[name] ~= nil then
      if a ~= nil then fail(fmt("%s: %s is given twice (argument 1 and option '%s')", fn, name, name)) end
      return o[name]
    end
  end
  return a
end

-- ---- Linear -------------------------------------------------------------
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
  return linear(x, self.weight, self.bias, "nn.Linear")
end

function Linear:extra_repr()
  return fmt("in=%d, out=%d, bias=%s", self.in_features, self.out_features, tostring(self.bias ~= nil))
end

-- ---- shape layers -------------------------------------------------------
local Identity = class("Identity", "nn.Identity() — returns its input unchanged")
function Identity:forward(x) return x end

local Flatten = class("Flatten",
  "nn.Flatten([{start_dim=2, end_dim=-1}]) — flattens dims start_dim..end_dim into one (a view when possible); keeps the batch dim",
  2, "start_dim, end_dim, or options")

function Flatten:init(a, b)
  local fn = "nn.Flatten"
  local s, e = 2, -1
  if is_options(a) and b ~= nil then fail(fn .. ": takes start_dim, end_dim or an options table, not both") end
  if type(a) == "number" then
    s = a
    if b ~= nil then e = b end
  else
    local opts = check_opts(fn, a, { "start_dim", "end_dim" })
    s, e = opts.start_dim or 2, opts.end_dim or -1
  end
  if math.type(s) ~= "integer" or math.type(e) ~= "integer" then
    fail(fmt("%s: start_dim and end_dim must be integers, got %s and %s", fn, tostring(s), tostring(e)))
  end
  self.start_dim, self.end_dim = s, e
end

function Flatten:forward(x)
  if type(x) ~= "userdata" then check_input("nn.Flatten", x) end
  return x:flatten(self.start_dim, self.end_dim)
end

function Flatten:extra_repr() return fmt("start_dim=%d, end_dim=%d", self.start_dim, self.end_dim) end

local Reshape = class("Reshape",
  "nn.Reshape(size...) — reshapes each sample (the batch dim is kept): [N, ...] -> [N, size...]; one size may be -1")

function Reshape:init(...)
  local fn = "nn.Reshape"
  local shape = select("#", ...) == 1 and type((...)) == "table" and { table.unpack((...)) } or { ... }
  local neg = 0
  for i, s in ipairs(shape) do
    if math.type(s) ~= "integer" or s < -1 then
      fail(fmt("%s: size %d must be a non-negative integer or -1, got %s", fn, i, tostring(s)))
    end
    if s == -1 then neg = neg + 1 end
  end
  if #shape == 0 then fail(fn .. ": expected the per-sample shape, e.g. nn.Reshape(1, 28, 28)") end
  if neg > 1 then fail(fn .. ": at most one size may be -1") end
  self.shape = shape
end

function Reshape:forward(x)
  if type(x) ~= "userdata" then check_input("nn.Reshape", x) end
  if x:dim() == 0 then fail("nn.Reshape: input must have a batch dimension, got a 0-d tensor") end
  local ok, y = pcall(x.reshape, x, x:size(1), table.unpack(self.shape))
  if not ok then
    fail(fmt("nn.Reshape: cannot reshape input of shape %s to [%d,%s]", shape_str(x), x:size(1), table.concat(self.shape, ",")))
  end
  return y
end

function Reshape:extra_repr() return "shape=[" .. table.concat(self.shape, ",") .. "]" end

-- ---- activations ------------------------------------------------------
-- Layers without arguments: nothing, or an empty options table.
local function no_args(cls, fn)
  function cls:init(...)
    local n = count_args(...)
    if n == 0 then return end
    if n == 1 and is_options((...)) then check_opts(fn, (...), {}); return end
    fail(fmt("%s: takes no arguments, got %d", fn, n))
  end
end
no_args(Identity, "nn.Identity")

local ReLU = class("ReLU", "nn.ReLU() — max(x, 0)")
no_args(ReLU, "nn.ReLU")
function ReLU:forward(x) return x:relu() end

local Sigmoid = class("Sigmoid", "nn.Sigmoid() — 1 / (1 + exp(-x))")
no_args(Sigmoid, "nn.Sigmoid")
function Sigmoid:forward(x) return x:sigmoid() end

local Tanh = class("Tanh", "nn.Tanh() — tanh(x)")
no_args(Tanh, "nn.Tanh")
function Tanh:forward(x) return x:tanh() end

local SiLU = class("SiLU", "nn.SiLU() — x * sigmoid(x) (swish)")
no_args(SiLU, "nn.SiLU")
function SiLU:forward(x) return x * x:sigmoid() end

local LeakyReLU = class("LeakyReLU", "nn.LeakyReLU([negative_slope=0.01]) — x if x > 0 else slope * x (or {negative_slope=})")
function LeakyReLU:init(...)
  local slope = value_or_option("nn.LeakyReLU", "negative_slope", ...)
  if slope == nil then slope = 0.01 end
  self.negative_slope = check_number("nn.LeakyReLU", "negative_slope", slope)
end
function LeakyReLU:forward(x) return x:leaky_relu(self.negative_slope) end
function LeakyReLU:extra_repr() return fmt("negative_slope=%g", self.negative_slope) end

local ELU = class("ELU", "nn.ELU([alpha=1]) — x if x > 0 else alpha * (exp(x) - 1) (or {alpha=})")
function ELU:init(...)
  local alpha = value_or_option("nn.ELU", "alpha", ...)
  if alpha == nil then alpha = 1 end
  self.alpha = check_number("nn.ELU", "alpha", alpha)
end
function ELU:forward(x)
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
  cls.forward = method == "softmax" and function(self, x) return x:softmax(self.dim) end
    or function(self, x) return x:log_softmax(self.dim) end
  function cls:extra_repr() return fmt("dim=%d", self.dim) end
  return cls
end
softmax_class("Softmax", "softmax")
softmax_class("LogSoftmax", "log_softmax")

-- ---- Dropout ------------------------------------------------------------
local Dropout = class("Dropout",
  "nn.Dropout([p=0.5]) — in training, zeroes each element with probability p and scales the rest by 1/(1-p); identity in eval (or {p=})")

function Dropout:init(...)
  local p = value_or_option("nn.Dropout", "p", ...)
  if p == nil then p = 0.5 end
  self.p = check_number("nn.Dropout", "p", p, 0, 1)
end

function Dropout:forward(x)
  local p = self.p
  if not self.training or p == 0 then return x end
  if p == 1 then return x * 0 end
  -- a 0/1 mask from the seeded generator, scaled in place: y = x * mask / (1 - p)
  local mask = ml._nn.bernoulli_(ml.empty_like(x), 1 - p)
  mask:mul_(1 / (1 - p))
  return x * mask
end

function Dropout:extra_repr() return fmt("p=%g", self.p) end

-- ---- BatchNorm1d ------------------------------------------------------
local BatchNorm1d = class("BatchNorm1d",
  "nn.BatchNorm1d(C, [{eps=1e-5, momentum=0.1, affine=true, track_running_stats=true, dtype}]) — normalizes (N, C) or (N, C, L) per channel; batch stats in training, running stats in eval",
  2, "num_features, [options]")

function BatchNorm1d:init(num_features, opts)
  local fn = "nn.BatchNorm1d"
  check_count(fn, "num_features", num_features)
  opts = check_opts(fn, opts, { "eps", "momentum", "affine", "track_running_stats", "dtype" })
  local dt = check_dtype(fn, opts.dtype)
  self.num_features = num_features
  self.eps = check_number(fn, "eps", opts.eps or 1e-5, 0)
  self.momentum = check_number(fn, "momentum", opts.momentum or 0.1, 0, 1)
  self.affine = check_bool(fn, "affine", opts.affine, true)
  self.track_running_stats = check_bool(fn, "track_running_stats", opts.track_running_stats, true)
  if self.affine then
    self.weight = init.ones_(param({ num_features }, dt))
    self.bias = init.zeros_(param({ num_features }, dt))
  end
  if self.track_running_stats then
    self:buffer("running_mean", ml.zeros(num_features, { dtype = dt }))
    self:buffer("running_var", ml.ones(num_features, { dtype = dt }))
    self:buffer("num_batches_tracked", ml.tensor(0, { dtype = "int64" }))
  end
end

--- BatchNorm1d:reset_running_stats(): running mean 0, running var 1, batches 0
function BatchNorm1d:reset_running_stats()
  if self.track_running_stats then
    self.running_mean:zero_()
    self.running_var:fill_(1)
    self.num_batches_tracked:zero_()
  end
end
doc(BatchNorm1d.reset_running_stats, "bn:reset_running_stats() — running mean 0, running variance 1, num_batches_tracked 0")

function BatchNorm1d:forward(x)
  local fn = "nn.BatchNorm1d"
  if type(x) ~= "userdata" then check_input(fn, x) end
  local d = x:dim()
  if d ~= 2 and d ~= 3 then fail(fmt("%s: expected input (N, C) or (N, C, L), got shape %s", fn, shape_str(x))) end
  local C = x:size(2)
  if C ~= self.num_features then
    fail(fmt("%s: input has %d channels (dimension 2), expected %d", fn, C, self.num_features))
  end
  local w, b = self.weight, self.bias
  if self.training or not self.track_running_stats then
    local n = d == 2 and x:size(1) or x:size(1) * x:size(3)
    if n <= 1 and self.training then
      fail(fmt("%s: expected more than 1 value per channel when training, got input of shape %s", fn, shape_str(x)))
    end
    local mean = d == 2 and x:mean(1, true) or x:mean(3, true):mean(1, true) -- [1,C] or [1,C,1]
    local xc = x - mean
    local sq = xc * xc
    local var = d == 2 and sq:mean(1, true) or sq:mean(3, true):mean(1, true) -- biased
    if self.training and self.track_running_stats then
      local m = self.momentum
      local rm, rv = self.running_mean, self.running_var
      rm:mul_(1 - m):add_(mean:detach():reshape(C), m)
      rv:mul_(1 - m):add_(var:detach():reshape(C), m * n / math.max(n - 1, 1)) -- unbiased
      self.num_batches_tracked:add_(1)
    end
    local scale = (var + self.eps):rsqrt()
    if w then scale = scale * (d == 2 and w or w:reshape(C, 1)) end
    local y = xc * scale
    if b then y = y + (d == 2 and b or b:reshape(C, 1)) end
    return y
  end
  -- eval: y = x * s + t with s = w / sqrt(running_var + eps), t = b - running_mean * s (all [C])
  local s = (self.running_var + self.eps):rsqrt()
  if w then s = s * w end
  local t = -(self.running_mean * s)
  if b then t = t + b end
  if d == 3 then s, t = s:reshape(C, 1), t:reshape(C, 1) end
  return x * s + t
end

function BatchNorm1d:extra_repr()
  return fmt("%d, eps=%g, momentum=%g, affine=%s, track_running_stats=%s", self.num_features, self.eps,
    self.momentum, tostring(self.affine), tostring(self.track_running_stats))
end

-- ---- LayerNorm ----------------------------------------------------------
local LayerNorm = class("LayerNorm",
  "nn.LayerNorm(shape, [{eps=1e-5, elementwise_affine=true, bias=true, dtype}]) — normalizes over the last #shape dims (fused C kernel)",
  2, "normalized_shape, [options]")

function LayerNorm:init(normalized_shape, opts)
  local fn = "nn.LayerNorm"
  local shape = type(normalized_shape) == "table" and { table.unpack(normalized_shape) } or { normalized_shape }
  if #shape == 0 then fail(fn .. ": normalized_shape must not be empty") end
  for i, s in ipairs(shape) do check_count(fn, "normalized_shape[" .. i .. "]", s) end
  opts = check_opts(fn, opts, { "eps", "elementwise_affine", "bias", "dtype" })
  local dt = check_dtype(fn, opts.dtype)
  self.normalized_shape = shape
  self.eps = check_number(fn, "eps", opts.eps or 1e-5, 0)
  self.elementwise_affine = check_bool(fn, "elementwise_affine", opts.elementwise_affine, true)
  if self.elementwise_affine then
    self.weight = init.ones_(param(shape, dt))
    if check_bool(fn, "bias", opts.bias, true) then self.bias = init.zeros_(param(shape, dt)) end
  end
end

function LayerNorm:forward(x)
  local fn = "nn.LayerNorm"
  if type(x) ~= "userdata" then check_input(fn, x) end
  local shape = self.normalized_shape
  local k = #shape
  if not self.weight then -- the binding checks the shape against weight and bias; without them, here
    local d = x:dim()
    local ok = d >= k
    for i = 1, k do ok = ok and x:size(d - k + i) == shape[i] end
    if not ok then
      fail(fmt("%s: input of shape %s does not end with the normalized shape [%s]", fn, shape_str(x),
        table.concat(shape, ",")))
    end
  end
  return ml._nn.layer_norm(x, k, self.weight, self.bias, self.eps, fn)
end

function LayerNorm:extra_repr()
  return fmt("[%s], eps=%g, elementwise_affine=%s", table.concat(self.normalized_shape, ","), self.eps,
    tostring(self.elementwise_affine))
end

-- ---- Embedding ----------------------------------------------------------
local Embedding = class("Embedding",
  "nn.Embedding(num, dim, [{padding_idx, dtype}]) — looks up rows of weight [num, dim] by 1-based int64 indices; weight ~ N(0, 1)",
  3, "num_embeddings, embedding_dim, [options]")

function Embedding:init(num_embeddings, embedding_dim, opts)
  local fn = "nn.Embedding"
  check_count(fn, "num_embeddings", num_embeddings)
  check_count(fn, "embedding_dim", embedding_dim)
  opts = check_opts(fn, opts, { "padding_idx", "dtype" })
  local dt = check_dtype(fn, opts.dtype)
  self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
  local p = opts.padding_idx
  if p ~= nil then
    if math.type(p) ~= "integer" or p == 0 or p > num_embeddings or p < -num_embeddings then
      fail(fmt("%s: padding_idx must be an index in 1..%d (or negative from the end), got %s", fn, num_embeddings,
        tostring(p)))
    end
    if p < 0 then p = num_embeddings + 1 + p end
    self.padding_idx = p
  end
  self.weight = param({ num_embeddings, embedding_dim }, dt)
  self:reset_parameters()
end

--- Embedding:reset_parameters(): weight ~ N(0, 1), the padding row zero
function Embedding:reset_parameters()
  init.normal_(self.weight)
  if self.padding_idx then
    local w, p = self.weight, self.padding_idx
    ml.no_grad(function() w:select(1, p):fill_(0) end)
  end
end
doc(Embedding.reset_parameters, "emb:reset_parameters() — re-draws the weight from N(0, 1), the padding_idx row zero")

function Embedding:forward(idx)
  local fn = "nn.Embedding"
  if type(idx) ~= "userdata" then check_input(fn, idx) end
  if idx:dtype() ~= "int64" then fail(fmt("%s: indices must be an int64 tensor, got %s", fn, idx:dtype())) end
  local flat = idx:reshape(-1)
  if flat:numel() > 0 then
    local lo, hi = flat:min():item(), flat:max():item()
    if lo < 1 or hi > self.num_embeddings then
      fail(fmt("%s: index %d is out of range for %d embeddings (indices are 1..%d)", fn,
        lo < 1 and lo or hi, self.num_embeddings, self.num_embeddings))
    end
  end
  local out = self.weight:index_select(1, flat)
  local p = self.padding_idx
  if p then -- the padding row gets no gradient: mask its lookups out
    out = out * flat:ne(p):to(out:dtype()):unsqueeze(2)
  end
  local shape = idx:shape()
  shape[#shape + 1] = self.embedding_dim
  return out:reshape(shape)
end

function Embedding:extra_repr()
  local s = fmt("%d, %d", self.num_embeddings, self.embedding_dim)
  if self.padding_idx then s = s .. fmt(", padding_idx=%d", self.padding_idx) end
  return s
end

-- ---- containers -------------------------------------------------------
local function module_list(fn, mods)
  if mods == nil then return {} end
  if type(mods) ~= "table" or is_module(mods) then
    fail(fmt("%s: expected a list of modules {m1, m2, ...}, got %s", fn, is_module(mods) and "a module" or type(mods)))
  end
  local n = #mods
  for k in pairs(mods) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      fail(fmt("%s: expected a list of modules {m1, m2, ...}; key %s is not a position 1..%d", fn, tostring(k), n))
    end
  end
  for i = 1, n do
    if not is_module(mods[i]) then fail(fmt("%s: element %d is a %s, expected a module", fn, i, type(mods[i]))) end
  end
  return mods
end

local function container(name, docstring)
  local cls = class(name, docstring, 1, "a list of modules")
  local fn = "nn." .. name
  function cls:init(mods)
    mods = module_list(fn, mods)
    for i = 1, #mods do rawset(self, i, mods[i]) end
  end
  --- add(m): appends a module; returns the container
  function cls:add(m)
    if not is_module(m) then fail(fmt("%s:add: expected a module, got %s", fn, type(m))) end
    local n = rawlen(self) + 1
    rawset(self, n, m)
    local list = {}
    for i = 1, n do list[i] = rawget(self, i) end
    rawset(self, "_args", table.pack(list)) -- so a saved model rebuilds with every module
    return self
  end
  local var = name == "Sequential" and "seq" or "list"
  doc(cls.add, fmt("%s:add(m) -> %s — appends module m (alias %s:append(m)) and returns the container", var, var, var))
  cls.__len = function(self) return rawlen(self) end
  return cls
end

local Sequential = container("Sequential",
  "nn.Sequential{m1, m2, ...} — chains modules: forward(x) = mn(...m2(m1(x))); seq:add(m) appends; seq[i] is the i-th")
Sequential.append = Sequential.add

function Sequential:forward(x)
  for i = 1, rawlen(self) do x = self[i](x) end
  return x
end
doc(Sequential.forward, "seq:forward(x) -> y — calls the modules in order, each on the previous one's output")

local ModuleList = container("ModuleList",
  "nn.ModuleList{m1, m2, ...} — holds modules whose parameters are found; list[i], #list, ipairs(list), list:add(m)")
ModuleList.append = ModuleList.add

function ModuleList:forward()
  fail("nn.ModuleList: has no forward; call its modules from your own module's forward")
end
doc(ModuleList.forward, "list:forward() — an error: a ModuleList has no forward; call its modules from your own module's forward")

-- each layer's forward: its class doc says what it computes
for _, cls in pairs(M) do
  local f = rawget(cls, "forward")
  if f and not (ml.doc and ml.doc(f)) then doc(f, "layer:forward(x) -> y — applies the layer, as its class doc says; layer(x) calls it") end
end

return M
