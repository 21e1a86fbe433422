--- optim.Adagrad, as torch.optim.Adagrad:
--   g = g + weight_decay * p
--   clr = lr / (1 + (t - 1) * lr_decay)
--   sum = sum + g^2   (sum starts at initial_accumulator_value)
--   p = p - clr * g / (sqrt(sum) + eps)
local ml = require "moonlab"
local Optimizer = require "moonlab.optim.optimizer"
local H = Optimizer._helpers
local fail = require("moonlab.core.checks").fail

local Adagrad = Optimizer:extend("optim.Adagrad", {
  kind = "Adagrad",
  options = {
    { "lr", 1e-2 }, { "lr_decay", 0 }, { "weight_decay", 0 }, { "initial_accumulator_value", 0 }, { "eps", 1e-10 },
    { "maximize", false },
  },
  check = function(g, where)
    H.number(g.lr, "lr", where, 0, nil, false, false)
    H.number(g.lr_decay, "lr_decay", where, 0, nil, false, false)
    H.number(g.weight_decay, "weight_decay", where, 0, nil, false, false)
    H.number(g.initial_accumulator_value, "initial_accumulator_value", where, 0, nil, false, false)
    H.number(g.eps, "eps", where, 0, nil, false, false)
    H.boolean(g.maximize, "maximize", where)
  end,
  state_used = function() return { sum = true } end,
  -- PyTorch fills the sum when the optimizer is made
  init_state = function(flat, group) flat:state("sum", true, group) end,
})

ml.doc(Adagrad, "optim.Adagrad(params, {lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=false}) — Adagrad as torch.optim.Adagrad, fused in C")

return { Adagrad = Adagrad }
