--- nn losses: MSELoss, L1Loss, HuberLoss, SmoothL1Loss, CrossEntropyLoss,
-- NLLLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss.
--
-- A loss is a module called as crit(input, target) that returns a 0-d
-- tensor ("mean" or "sum") or the per-element losses ("none"), with
-- PyTorch's semantics. Class targets are int64 labels 1..C (moonlab is
-- 1-based). Cross-entropy, NLL and both binary cross-entropies are fused C
-- kernels (numerically stable, with their own backward); the regression
-- losses are short compositions of ops.
local ml = require "moonlab"
local Module = require("moonlab.nn.module").Module

local is_module = Module.is_module
local doc = ml.doc or function(v) return v end
local checks = require "moonlab.checks"
local fail, check_opts = checks.fail, checks.options
local fmt = string.format
local nnops = ml._nn

local M = {}



local function check_reduction(fn, r, extra)
  r = r or "mean"
  if r ~= "none" and r ~= "mean" and r ~= "sum" and r ~= extra then
    fail(fmt("%s: reduction must be 'none', 'mean'%s or 'sum', got '%s'", fn, extra and (", '" .. extra .. "'") or "",
      tostring(r)))
  end
  return r
end

local function check_weight(fn, what, w)
  if w == nil then return nil end
  if not ml.is_tensor(w) then fail(fmt("%s: %s must be a tensor, got %s", fn, what, type(w))) end
  local dt = w:dtype()
  if dt ~= "float32" and dt ~= "float64" then fail(fmt("%s: %s must be a float tensor, got %s", fn, what, dt)) end
  return w:detach()
end

-- w in x's dtype (a conversion only when they differ)
local function like(w, x)
  if w == nil then return nil end
  local dt = x:dtype()
  if w:dtype() ~= dt then return w:to(dt) end
  return w
end

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

local function check_pair(fn, x, y)
  if type(x) ~= "userdata" or not ml.is_tensor(x) then fail(fmt("%s: input must be a tensor, got %s", fn, type(x))) end
  if type(y) ~= "userdata" or not ml.is_tensor(y) then fail(fmt("%s: target must be a tensor, got %s", fn, type(y))) end
end

-- elementwise losses: input and target of one shape (broadcasting [N,1] against [N] is almost always a bug)
local function check_same_shape(fn, x, y)
  local d = x:dim()
  local same = d == y:dim()
  if same then
    for i = 1, d do
      if x:size(i) ~= y:size(i) then same = false break end
    end
  end
  if not same then
    if d > 0 and y:dim() > 0 and x:size(1) ~= y:size(1) then
      fail(fmt("%s: input has %d rows but target has %d", fn, x:size(1), y:size(1)))
    end
    fail(fmt("%s: input has shape %s but target has shape %s (reshape one of them: they must match)", fn,
      shape_str(x), shape_str(y)))
  end
end

local function reduce(l, r)
  if r == "mean" then return l:mean() end
  if r == "sum" then return l:sum() end
  return l
end

-- A loss class: its constructor takes one options table at most (a user's
-- subclass chooses its own arguments).
local function class(name, docstring)
  local cls = Module:extend(name)
  M[name] = cls
  doc(cls, docstring)
  local fn = "nn." .. name
  function cls.new(c, ...)
    if c == cls then
      local n = select("#", ...)
      while n > 0 and select(n, ...) == nil do n = n - 1 end
      if n > 1 then fail(fmt("%s: takes one options table at most, got %d arguments", fn, n)) end
    end
    return Module.new(c, ...)
  end
  return cls
end

local function reduction_repr(self) return "reduction=" .. self.reduction end

-- ---- regression losses -------------------------------------------------
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
  check_pair("nn.L1Loss", x, y)
  check_same_shape("nn.L1Loss", x, y)
  return reduce((x - y):abs(), self.reduction)
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
  check_pair("nn.HuberLoss", x, y)
  check_same_shape("nn.HuberLoss", x, y)
  local d = (x - y):abs()
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
  check_pair("nn.SmoothL1Loss", x, y)
  check_same_shape("nn.SmoothL1Loss", x, y)
  local d = (x - y):abs()
  local beta = self.beta
  if beta == 0 then return reduce(d, self.reduction) end
  return reduce(ml.where(d:lt(beta), d * d * (0.5 / beta), d - 0.5 * beta), self.reduction)
end
function SmoothL1Loss:extra_repr() return fmt("beta=%g, reduction=%s", self.beta, self.reduction) end

-- ---- class losses -------------------------------------------------------
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
    -- class probabilities, shaped like the input (PyTorch's soft targets)
    check_same_shape(fn, x, y)
    local cdim = x:dim() == 1 and 1 or 2
    local C = x:size(cdim)
    local p = y
    if self.label_smoothing > 0 then p = p * (1 - self.label_smoothing) + self.label_smoothing / C end
    local logp = x:log_softmax(cdim)
    if w then
      local ws = { C }
      for _ = cdim + 1, x:dim() do ws[#ws + 1] = 1 end
      logp = logp * w:reshape(ws)
    end
    local l = -(p * logp):sum(cdim)
    return reduce(l, self.reduction)
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

-- ---- binary losses ------------------------------------------------------
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

local KLDivLoss = class("KLDivLoss",
  "nn.KLDivLoss([{reduction='mean', log_target=false}]) — target * (log target - input) on log-probabilities input; reduction 'batchmean' divides the sum by N")

function KLDivLoss:init(opts)
  local fn = "nn.KLDivLoss"
  opts = check_opts(fn, opts, { "reduction", "log_target" })
  self.reduction = check_reduction(fn, opts.reduction, "batchmean")
  local lt = opts.log_target
  if lt ~= nil and type(lt) ~= "boolean" then fail(fn .. ": option 'log_target' must be a boolean, got " .. type(lt)) end
  self.log_target = lt or false
end

local TINY = { float32 = 1.1754943508222875e-38, float64 = 2.2250738585072014e-308 }

function KLDivLoss:forward(x, y)
  local fn = "nn.KLDivLoss"
  check_pair(fn, x, y)
  check_same_shape(fn, x, y)
  local l
  if self.log_target then
    l = y:exp() * (y - x)
  else
    -- xlogy(y, y) - y * x, with 0 * log 0 = 0
    l = y * (y:clamp({ min = TINY[y:dtype()] or 0 }):log() - x)
  end
  if self.reduction == "batchmean" then
    return x:dim() > 0 and l:sum() / x:size(1) or l:sum()
  end
  return reduce(l, self.reduction)
end
function KLDivLoss:extra_repr() return fmt("reduction=%s, log_target=%s", self.reduction, tostring(self.log_target)) end

-- each loss's forward: its class doc says what it computes
for _, cls in pairs(M) do
  doc(cls.forward, "criterion:forward(input, target) -> tensor — the loss, reduced per reduction; criterion(input, target) calls it")
end

return M
