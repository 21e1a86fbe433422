--- nn class losses: CrossEntropyLoss (softmax + NLL fused in C), NLLLoss.
local ml = require "moonlab"
local B = require "moonlab.nn.losses.base"
local class, fail, check_opts, fmt = B.class, B.fail, B.check_opts, B.fmt
local nnops = ml._nn
local check_reduction, check_weight, like, check_pair, check_same_shape = B.check_reduction, B.check_weight, B.like, B.check_pair, B.check_same_shape

local M = {}

local function check_ignore(fn, v)
  if v ~= nil and math.type(v) ~= "integer" then fail(fmt("%s: ignore_index must be an integer, got %s", fn, tostring(v))) end
  return v
end

-- Unbatched input (C) with a 0-d target: run it as a batch of one.
local function unbatched(x, y)
  if x:dim() == 1 and y:dim() == 0 then return x:unsqueeze(1), y:reshape(1), true end
  return x, y, false
end

local CrossEntropyLoss = class("CrossEntropyLoss",
  "nn.CrossEntropyLoss([{weight, label_smoothing=0, ignore_index, reduction='mean'}]) — softmax + NLL fused in C; input (N, C[, d...]) logits, target int64 labels 1..C (or class probabilities shaped like input)")

function CrossEntropyLoss:init(opts)
  local fn = "nn.CrossEntropyLoss"
  opts = check_opts(fn, opts, { "weight", "label_smoothing", "ignore_index", "reduction" })
  self:buffer("weight", check_weight(fn, "weight", opts.weight))
  local ls = opts.label_smoothing or 0
  if type(ls) ~= "number" or not (ls >= 0 and ls <= 1) then
    fail(fn .. ": label_smoothing must be a number in [0, 1], got " .. tostring(ls))
  end
  self.label_smoothing = ls
  self.ignore_index = check_ignore(fn, opts.ignore_index)
  self.reduction = check_reduction(fn, opts.reduction)
end

function CrossEntropyLoss:forward(x, y)
  local fn = "nn.CrossEntropyLoss"
  check_pair(fn, x, y)
  local w = self.weight
  if w then w = like(w, x) end
  local ydt = y:dtype()
  if ydt == "int64" then
    local xb, yb, single = unbatched(x, y)
    local l = nnops.cross_entropy(xb, yb, w, self.label_smoothing, self.ignore_index, self.reduction, fn)
    if single and self.reduction == "none" then l = l:reshape({}) end
    return l
  end
  if (ydt == "float32" or ydt == "float64") and x:dim() >= 1 and y:dim() == x:dim() then
    -- class probabilities, shaped like the input (PyTorch's soft targets; mixup/cutmix labels): fused in C
    check_same_shape(fn, x, y)
    local single = x:dim() == 1
    local xb, yb = x, like(y, x)
    if single then xb, yb = x:unsqueeze(1), yb:unsqueeze(1) end
    local l = nnops.cross_entropy_soft(xb, yb, w, self.label_smoothing, self.reduction, fn)
    if single and self.reduction == "none" then l = l:reshape({}) end
    return l
  end
  fail(fmt("%s: target must be int64 class labels 1..C (or float class probabilities shaped like the input), got %s",
    fn, ydt))
end

function CrossEntropyLoss:extra_repr()
  local s = "reduction=" .. self.reduction
  if self.label_smoothing > 0 then s = s .. fmt(", label_smoothing=%g", self.label_smoothing) end
  if self.ignore_index then s = s .. fmt(", ignore_index=%d", self.ignore_index) end
  if self.weight then s = s .. ", weight=[" .. self.weight:numel() .. "]" end
  return s
end

local NLLLoss = class("NLLLoss",
  "nn.NLLLoss([{weight, ignore_index, reduction='mean'}]) — -w[y] * input[y] on log-probabilities (N, C[, d...]); target int64 labels 1..C")

function NLLLoss:init(opts)
  local fn = "nn.NLLLoss"
  opts = check_opts(fn, opts, { "weight", "ignore_index", "reduction" })
  self:buffer("weight", check_weight(fn, "weight", opts.weight))
  self.ignore_index = check_ignore(fn, opts.ignore_index)
  self.reduction = check_reduction(fn, opts.reduction)
end

function NLLLoss:forward(x, y)
  local fn = "nn.NLLLoss"
  check_pair(fn, x, y)
  local xb, yb, single = unbatched(x, y)
  local l = nnops.nll_loss(xb, yb, like(self.weight, x), self.ignore_index, self.reduction, fn)
  if single and self.reduction == "none" then l = l:reshape({}) end
  return l
end
NLLLoss.extra_repr = CrossEntropyLoss.extra_repr
NLLLoss.label_smoothing = 0

M.CrossEntropyLoss = CrossEntropyLoss
M.NLLLoss = NLLLoss
return B.doc_forwards(M)
