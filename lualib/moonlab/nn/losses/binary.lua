--- nn binary losses: BCELoss, BCEWithLogitsLoss (fused in C).
local ml = require "moonlab"
local B = require "moonlab.nn.losses.base"
local class, check_opts = B.class, B.check_opts
local nnops = ml._nn
local check_reduction, check_weight, like, check_pair, reduction_repr = B.check_reduction, B.check_weight, B.like, B.check_pair, B.reduction_repr

local M = {}

local BCELoss = class("BCELoss",
  "nn.BCELoss([{weight, reduction='mean'}]) — -w (y log p + (1 - y) log(1 - p)) on probabilities p in [0, 1] (logs clamped at -100)")

function BCELoss:init(opts)
  local fn = "nn.BCELoss"
  opts = check_opts(fn, opts, { "weight", "reduction" })
  self:buffer("weight", check_weight(fn, "weight", opts.weight))
  self.reduction = check_reduction(fn, opts.reduction)
end

function BCELoss:forward(x, y)
  local fn = "nn.BCELoss"
  check_pair(fn, x, y)
  return nnops.bce(x, y, like(self.weight, x), self.reduction, fn)
end
BCELoss.extra_repr = reduction_repr

local BCEWithLogitsLoss = class("BCEWithLogitsLoss",
  "nn.BCEWithLogitsLoss([{weight, pos_weight, reduction='mean'}]) — sigmoid + BCE fused in C, stable for any logit; pos_weight weighs positives per class")

function BCEWithLogitsLoss:init(opts)
  local fn = "nn.BCEWithLogitsLoss"
  opts = check_opts(fn, opts, { "weight", "pos_weight", "reduction" })
  self:buffer("weight", check_weight(fn, "weight", opts.weight))
  self:buffer("pos_weight", check_weight(fn, "pos_weight", opts.pos_weight))
  self.reduction = check_reduction(fn, opts.reduction)
end

function BCEWithLogitsLoss:forward(x, y)
  local fn = "nn.BCEWithLogitsLoss"
  check_pair(fn, x, y)
  return nnops.bce_with_logits(x, y, like(self.weight, x), like(self.pos_weight, x), self.reduction, fn)
end
function BCEWithLogitsLoss:extra_repr()
  local s = "reduction=" .. self.reduction
  if self.pos_weight then s = s .. ", pos_weight=[" .. table.concat(self.pos_weight:shape(), ",") .. "]" end
  return s
end

M.BCELoss = BCELoss
M.BCEWithLogitsLoss = BCEWithLogitsLoss
return B.doc_forwards(M)
