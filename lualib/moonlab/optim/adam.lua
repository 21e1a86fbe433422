--- optim.Adam and optim.AdamW, as torch.optim.Adam / AdamW:
--   g = g + weight_decay * p              (Adam: L2 penalty in the gradient)
--   p = p * (1 - lr * weight_decay)       (AdamW: decoupled decay)
--   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
--   vmax = max(vmax, v)                   (amsgrad; then v = vmax below)
--   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
-- t counts the steps of each parameter (a parameter without a gradient
-- keeps its count, as PyTorch skips it).
local ml = require "moonlab"
local Optimizer = require "moonlab.optim.optimizer"
local H = Optimizer._helpers
local fail = require("moonlab.core.checks").fail

local function check(g, where)
  H.number(g.lr, "lr", where, 0, nil, false, false)
  if type(g.betas) ~= "table" or #g.betas ~= 2 then
    fail(where .. ": betas must be a table {beta1, beta2}, got " .. (type(g.betas) == "table" and
      (#g.betas .. " values") or type(g.betas)))
  end
  H.number(g.betas[1], "betas[1]", where, 0, 1, false, true)
  H.number(g.betas[2], "betas[2]", where, 0, 1, false, true)
  H.number(g.eps, "eps", where, 0, nil, false, false)
  H.number(g.weight_decay, "weight_decay", where, 0, nil, false, false)
  H.boolean(g.amsgrad, "amsgrad", where)
  H.boolean(g.maximize, "maximize", where)
end

local function state_used(g) return { exp_avg = true, exp_avg_sq = true, max_exp_avg_sq = g.amsgrad } end

local Adam = Optimizer:extend("optim.Adam", {
  kind = "Adam",
  options = {
    { "lr", 1e-3 }, { "betas", { 0.9, 0.999 } }, { "eps", 1e-8 }, { "weight_decay", 0 }, { "amsgrad", false },
    { "maximize", false },
  },
  check = check,
  state_used = state_used,
})

local AdamW = Optimizer:extend("optim.AdamW", {
  kind = "AdamW",
  options = {
    { "lr", 1e-3 }, { "betas", { 0.9, 0.999 } }, { "eps", 1e-8 }, { "weight_decay", 1e-2 }, { "amsgrad", false },
    { "maximize", false },
  },
  check = check,
  state_used = state_used,
})

ml.doc(Adam, "optim.Adam(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0, amsgrad=false, maximize=false}) — Adam as torch.optim.Adam, fused in C")
ml.doc(AdamW, "optim.AdamW(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=1e-2, amsgrad=false, maximize=false}) — Adam with decoupled weight decay, as torch.optim.AdamW")

return { Adam = Adam, AdamW = AdamW }
