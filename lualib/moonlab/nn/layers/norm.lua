--- nn.BatchNorm1d, nn.LayerNorm: normalization layers.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local class, fail, check_opts, fmt = B.class, B.fail, B.check_opts, B.fmt
local doc = ml.doc
local init = require("moonlab.nn.initializers").init
local check_count, check_dtype, check_bool, check_number, check_input, param, shape_str = B.check_count, B.check_dtype, B.check_bool, B.check_number, B.check_input, B.param, B.shape_str

local M = {}

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
    -- the fused kernel over (N, C, L) (runtime/ops/batch_norm.c: statistics and output in two passes)
    local N, L = x:size(1), d == 2 and 1 or x:size(3)
    local y, mean, var = ml._conv.batch_norm(x:reshape(N, C, L), w, b, self.eps, fn)
    if self.training and self.track_running_stats then
      local m = self.momentum
      self.running_mean:mul_(1 - m):add_(mean, m)
      self.running_var:mul_(1 - m):add_(var, m * n / math.max(n - 1, 1)) -- unbiased, as PyTorch
      self.num_batches_tracked:add_(1)
    end
    y = d == 2 and y:reshape(N, C) or y
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

M.BatchNorm1d = BatchNorm1d
M.LayerNorm = LayerNorm
return B.doc_forwards(M)
