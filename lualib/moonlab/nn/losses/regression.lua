--- nn regression losses: MSELoss, L1Loss, HuberLoss, SmoothL1Loss.
local ml = require "moonlab"
local B = require "moonlab.nn.losses.base"
local class, fail, check_opts, fmt = B.class, B.fail, B.check_opts, B.fmt
local nnops = ml._nn
local check_reduction, check_pair, check_same_shape, reduce, reduction_repr = B.check_reduction, B.check_pair, B.check_same_shape, B.reduce, B.reduction_repr

local M = {}

-- |input - target| after checking both are tensors of one shape (L1, Huber, SmoothL1).
local function abs_error(fn, x, y)
  check_pair(fn, x, y)
  check_same_shape(fn, x, y)
  return (x - y):abs()
end

local MSELoss = class("MSELoss", "nn.MSELoss([{reduction='mean'}]) — (input - target)^2, reduced")
function MSELoss:init(opts)
  opts = check_opts("nn.MSELoss", opts, { "reduction" })
  self.reduction = check_reduction("nn.MSELoss", opts.reduction)
end
local mse_loss = nnops.mse_loss
function MSELoss:forward(x, y)
  return mse_loss(x, y, self.reduction, "nn.MSELoss") -- fused in C, checks shapes
end
MSELoss.extra_repr = reduction_repr

local L1Loss = class("L1Loss", "nn.L1Loss([{reduction='mean'}]) — |input - target|, reduced")
function L1Loss:init(opts)
  opts = check_opts("nn.L1Loss", opts, { "reduction" })
  self.reduction = check_reduction("nn.L1Loss", opts.reduction)
end
function L1Loss:forward(x, y)
  return reduce(abs_error("nn.L1Loss", x, y), self.reduction)
end
L1Loss.extra_repr = reduction_repr

local HuberLoss = class("HuberLoss",
  "nn.HuberLoss([{delta=1, reduction='mean'}]) — 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); d = input - target")
function HuberLoss:init(opts)
  local fn = "nn.HuberLoss"
  opts = check_opts(fn, opts, { "delta", "reduction" })
  local delta = opts.delta or 1
  if type(delta) ~= "number" or not (delta > 0) then fail(fn .. ": delta must be a positive number, got " .. tostring(delta)) end
  self.delta = delta
  self.reduction = check_reduction(fn, opts.reduction)
end
function HuberLoss:forward(x, y)
  local d = abs_error("nn.HuberLoss", x, y)
  local delta = self.delta
  return reduce(ml.where(d:lt(delta), d * d * 0.5, (d - 0.5 * delta) * delta), self.reduction)
end
function HuberLoss:extra_repr() return fmt("delta=%g, reduction=%s", self.delta, self.reduction) end

local SmoothL1Loss = class("SmoothL1Loss",
  "nn.SmoothL1Loss([{beta=1, reduction='mean'}]) — 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (HuberLoss / beta)")
function SmoothL1Loss:init(opts)
  local fn = "nn.SmoothL1Loss"
  opts = check_opts(fn, opts, { "beta", "reduction" })
  local beta = opts.beta or 1
  if type(beta) ~= "number" or not (beta >= 0) then fail(fn .. ": beta must be a non-negative number, got " .. tostring(beta)) end
  self.beta = beta
  self.reduction = check_reduction(fn, opts.reduction)
end
function SmoothL1Loss:forward(x, y)
  local d = abs_error("nn.SmoothL1Loss", x, y)
  local beta = self.beta
  if beta == 0 then return reduce(d, self.reduction) end
  return reduce(ml.where(d:lt(beta), d * d * (0.5 / beta), d - 0.5 * beta), self.reduction)
end
function SmoothL1Loss:extra_repr() return fmt("beta=%g, reduction=%s", self.beta, self.reduction) end

M.MSELoss = MSELoss
M.L1Loss = L1Loss
M.HuberLoss = HuberLoss
M.SmoothL1Loss = SmoothL1Loss
return B.doc_forwards(M)
