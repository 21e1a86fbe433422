--- nn.BatchNorm2d, nn.GroupNorm: normalization of image batches (N, C, H, W).
-- BatchNorm2d has BatchNorm1d's fields, buffers and eval rule over
-- (N, C, H*W), PyTorch's state names, and in training the fused kernel of
-- runtime/ops/batch_norm.c (ml._conv.batch_norm). GroupNorm runs the fused layer-norm kernel over (N, G, rest).
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local BatchNorm1d = require("moonlab.nn.layers.norm").BatchNorm1d
local class, fail, check_opts, fmt = B.class, B.fail, B.check_opts, B.fmt
local init = require("moonlab.nn.initializers").init
local check_count, check_dtype, check_bool, check_number, param, shape_str = B.check_count, B.check_dtype, B.check_bool, B.check_number, B.param, B.shape_str

local M = {}

local BatchNorm2d = class("BatchNorm2d",
  "nn.BatchNorm2d(C, [{eps=1e-5, momentum=0.1, affine=true, track_running_stats=true, dtype}]) — normalizes (N, C, H, W) per channel; batch stats in training, running stats in eval",
  2, "num_features, [options]")

function BatchNorm2d:init(num_features, opts)
  local fn = "nn.BatchNorm2d"
  check_count(fn, "num_features", num_features)
  opts = check_opts(fn, opts, { "eps", "momentum", "affine", "track_running_stats", "dtype" })
  check_number(fn, "eps", opts.eps or 1e-5, 0)
  check_number(fn, "momentum", opts.momentum or 0.1, 0, 1)
  check_dtype(fn, opts.dtype)
  -- the same fields and buffers as BatchNorm1d (its forward runs on them)
  BatchNorm1d.init(self, num_features, opts)
end

BatchNorm2d.reset_running_stats = BatchNorm1d.reset_running_stats
BatchNorm2d.extra_repr = BatchNorm1d.extra_repr

function BatchNorm2d:forward(x)
  local fn = "nn.BatchNorm2d"
  if type(x) ~= "userdata" or not ml.is_tensor(x) then B.check_input(fn, x) end
  if x:dim() ~= 4 then fail(fmt("%s: expected input (N, C, H, W), got shape %s", fn, shape_str(x))) end
  local N, C, H, W = x:size(1), x:size(2), x:size(3), x:size(4)
  if C ~= self.num_features then
    fail(fmt("%s: input has %d channels (dimension 2), expected %d", fn, C, self.num_features))
  end
  if self.training and N * H * W <= 1 then
    fail(fmt("%s: expected more than 1 value per channel when training, got input of shape %s", fn, shape_str(x)))
  end
  if not (self.training or not self.track_running_stats) then -- eval: BatchNorm1d's x * s + t
    local y = BatchNorm1d.forward(self, x:reshape(N, C, H * W))
    return y:reshape(N, C, H, W)
  end
  -- training: the fused kernel (statistics and output in two passes), then the running averages
  local y, mean, var = ml._conv.batch_norm(x:reshape(N, C, H * W), self.weight, self.bias, self.eps, fn)
  if self.track_running_stats then
    local m, n = self.momentum, N * H * W
    self.running_mean:mul_(1 - m):add_(mean, m)
    self.running_var:mul_(1 - m):add_(var, m * n / math.max(n - 1, 1)) -- unbiased, as PyTorch
    self.num_batches_tracked:add_(1)
  end
  return y:reshape(N, C, H, W)
end

local GroupNorm = class("GroupNorm",
  "nn.GroupNorm(num_groups, C, [{eps=1e-5, affine=true, dtype}]) — normalizes (N, C, ...) over groups of C/num_groups channels, per sample; the same in training and eval",
  3, "num_groups, num_channels, [options]")

function GroupNorm:init(groups, channels, opts)
  local fn = "nn.GroupNorm"
  check_count(fn, "num_groups", groups)
  check_count(fn, "num_channels", channels)
  if groups < 1 or channels % groups ~= 0 then
    fail(fmt("%s: num_channels (%d) must be divisible by num_groups (%d)", fn, channels, groups))
  end
  opts = check_opts(fn, opts, { "eps", "affine", "dtype" })
  local dt = check_dtype(fn, opts.dtype)
  self.num_groups, self.num_channels = groups, channels
  self.eps = check_number(fn, "eps", opts.eps or 1e-5, 0)
  self.affine = check_bool(fn, "affine", opts.affine, true)
  if self.affine then
    self.weight = init.ones_(param({ channels }, dt))
    self.bias = init.zeros_(param({ channels }, dt))
  end
end

function GroupNorm:forward(x)
  local fn = "nn.GroupNorm"
  if type(x) ~= "userdata" or not ml.is_tensor(x) then B.check_input(fn, x) end
  if x:dim() < 2 then fail(fmt("%s: expected input (N, C, ...), got shape %s", fn, shape_str(x))) end
  local N, C = x:size(1), x:size(2)
  if C ~= self.num_channels then
    fail(fmt("%s: input has %d channels (dimension 2), expected %d", fn, C, self.num_channels))
  end
  local y = ml._nn.layer_norm(x:reshape(N, self.num_groups, -1), 1, nil, nil, self.eps, fn):reshape(x:shape())
  if self.weight then
    local s = { 1, C }
    for _ = 3, x:dim() do s[#s + 1] = 1 end
    y = y * self.weight:reshape(s) + self.bias:reshape(s)
  end
  return y
end

function GroupNorm:extra_repr()
  return fmt("%d, %d, eps=%g, affine=%s", self.num_groups, self.num_channels, self.eps, tostring(self.affine))
end

M.BatchNorm2d, M.GroupNorm = BatchNorm2d, GroupNorm
return B.doc_forwards(M)
