--- nn.KLDivLoss: the Kullback-Leibler divergence.
local ml = require "moonlab"
local B = require "moonlab.nn.losses.base"
local class, fail, check_opts, fmt = B.class, B.fail, B.check_opts, B.fmt
local check_reduction, check_pair, check_same_shape, reduce = B.check_reduction, B.check_pair, B.check_same_shape, B.reduce

local M = {}

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

M.KLDivLoss = KLDivLoss
return B.doc_forwards(M)
