--- nn.utils: gradient clipping and weight penalties.
--
--   local total = nn.utils.clip_grad_norm(model:parameters(), 1.0)        -- after backward, before step
--   nn.utils.clip_grad_value(model:parameters(), 0.5)
--   local loss = crit(model(x), y) + nn.utils.l2_penalty(model:parameters(), 1e-4)
--
-- Parameters are a list of tensors, one tensor, or a module (its parameters()).
-- The penalties are differentiable 0-d tensors, usable in any loss:
-- l2_penalty(ps, lambda) = lambda * sum ||p||^2 (as Keras' l2 regularizer;
-- the gradient is 2 * lambda * p, so it equals an optimizer's weight_decay of
-- 2 * lambda), l1_penalty(ps, lambda) = lambda * sum |p|.
local ml = require "moonlab"
local Module = require("moonlab.nn.module").Module

local doc = ml.doc
local checks = require "moonlab.core.checks"
local fail, check_opts = checks.fail, checks.options
local fmt = string.format

local utils = {}


local function param_list(fn, params)
  if ml.is_tensor(params) then return { params } end
  if Module.is_module(params) then return params:parameters() end
  if type(params) ~= "table" then
    fail(fmt("%s: expected a list of tensors (model:parameters()), a tensor or a module, got %s", fn, type(params)))
  end
  for i, p in ipairs(params) do
    if not ml.is_tensor(p) then fail(fmt("%s: element %d of the parameter list is a %s, expected a tensor", fn, i, type(p))) end
  end
  return params
end


--- clip_grad_norm(params, max_norm, {norm_type=2, error_if_nonfinite=false}) -> total_norm
-- Scales every gradient by max_norm / (total_norm + 1e-6) when that is below 1,
-- total_norm being the norm of all gradients together (as PyTorch's clip_grad_norm_).
function utils.clip_grad_norm(params, max_norm, opts)
  local fn = "nn.utils.clip_grad_norm"
  params = param_list(fn, params)
  if type(max_norm) ~= "number" or not (max_norm >= 0) then
    fail(fmt("%s: max_norm must be a non-negative number, got %s", fn, tostring(max_norm)))
  end
  opts = check_opts(fn, opts, { "norm_type", "error_if_nonfinite" })
  local p = opts.norm_type or 2
  if p == "inf" then p = math.huge end
  if type(p) ~= "number" or not (p > 0) then fail(fmt("%s: norm_type must be a positive number or math.huge, got %s", fn, tostring(p))) end
  local grads = {}
  for _, t in ipairs(params) do
    local g = t.grad
    if g then grads[#grads + 1] = g end
  end
  if #grads == 0 then return 0 end
  local total
  if p == math.huge then
    total = 0
    for _, g in ipairs(grads) do
      local m = g:abs():max():item()
      if m > total or m ~= m then total = m end
    end
  else
    local acc = 0
    for _, g in ipairs(grads) do acc = acc + g:norm(p):item() ^ p end
    total = acc ^ (1 / p)
  end
  if opts.error_if_nonfinite and (total ~= total or total == math.huge) then
    fail(fmt("%s: the total norm of the gradients is %s; set error_if_nonfinite=false to clip anyway", fn,
      total ~= total and "nan" or "inf"))
  end
  local coef = max_norm / (total + 1e-6)
  if coef < 1 then
    ml.no_grad(function()
      for _, g in ipairs(grads) do g:mul_(coef) end
    end)
  end
  return total
end

--- clip_grad_value(params, v): clamps every gradient element to [-v, v], in place
function utils.clip_grad_value(params, v)
  local fn = "nn.utils.clip_grad_value"
  params = param_list(fn, params)
  if type(v) ~= "number" or not (v >= 0) then fail(fmt("%s: clip value must be a non-negative number, got %s", fn, tostring(v))) end
  ml.no_grad(function()
    for _, t in ipairs(params) do
      local g = t.grad
      if g then g:copy_(g:clamp({ min = -v, max = v })) end
    end
  end)
end

local function penalty(fn, params, lambda, term)
  params = param_list(fn, params)
  if type(lambda) ~= "number" then fail(fmt("%s: lambda must be a number, got %s", fn, tostring(lambda))) end
  local total
  for _, p in ipairs(params) do
    local s = term(p)
    total = total and total + s or s
  end
  if not total then return ml.tensor(0.0) end
  return total * lambda
end

--- l2_penalty(params, lambda) -> 0-d tensor lambda * sum of p^2 over every parameter (differentiable)
function utils.l2_penalty(params, lambda)
  return penalty("nn.utils.l2_penalty", params, lambda, function(p)
    local f = p:reshape(-1)
    return ml.dot(f, f)
  end)
end

--- l1_penalty(params, lambda) -> 0-d tensor lambda * sum of |p| over every parameter (differentiable)
function utils.l1_penalty(params, lambda)
  return penalty("nn.utils.l1_penalty", params, lambda, function(p) return p:abs():sum() end)
end

doc(utils.clip_grad_norm, "nn.utils.clip_grad_norm(params, max_norm, [{norm_type=2, error_if_nonfinite=false}]) -> total_norm — scales all gradients so their joint norm is at most max_norm")
doc(utils.clip_grad_value, "nn.utils.clip_grad_value(params, v) — clamps every gradient element to [-v, v], in place")
doc(utils.l2_penalty, "nn.utils.l2_penalty(params, lambda) -> tensor — lambda * sum of squares of the parameters, a differentiable 0-d tensor to add to a loss")
doc(utils.l1_penalty, "nn.utils.l1_penalty(params, lambda) -> tensor — lambda * sum of absolute values of the parameters, a differentiable 0-d tensor to add to a loss")
doc(utils, "nn.utils — gradient clipping and penalties: clip_grad_norm, clip_grad_value, l1_penalty, l2_penalty")

return { utils = utils }
