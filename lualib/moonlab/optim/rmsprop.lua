--- optim.RMSprop, as torch.optim.RMSprop:
--   g = g + weight_decay * p
--   sq = alpha * sq + (1 - alpha) * g^2
--   avg = sqrt(sq) + eps, or centered: ga = alpha * ga + (1 - alpha) * g; avg = sqrt(sq - ga^2) + eps
--   momentum > 0: buf = momentum * buf + g / avg; p = p - lr * buf;  else p = p - lr * g / avg
local ml = require "moonlab"
local Optimizer = require "moonlab.optim.optimizer"
local H = Optimizer._helpers
local fail = require("moonlab.core.checks").fail

local RMSprop = Optimizer:extend("optim.RMSprop", {
  kind = "RMSprop",
  options = {
    { "lr", 1e-2 }, { "alpha", 0.99 }, { "eps", 1e-8 }, { "weight_decay", 0 }, { "momentum", 0 }, { "centered", false },
    { "maximize", false },
  },
  check = function(g, where)
    H.number(g.lr, "lr", where, 0, nil, false, false)
    H.number(g.alpha, "alpha", where, 0, nil, false, false)
    H.number(g.eps, "eps", where, 0, nil, false, false)
    H.number(g.weight_decay, "weight_decay", where, 0, nil, false, false)
    H.number(g.momentum, "momentum", where, 0, nil, false, false)
    H.boolean(g.centered, "centered", where)
    H.boolean(g.maximize, "maximize", where)
  end,
  state_used = function(g)
    return { square_avg = true, momentum_buffer = g.momentum > 0, grad_avg = g.centered }
  end,
})

ml.doc(RMSprop, "optim.RMSprop(params, {lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=false, maximize=false}) — RMSprop as torch.optim.RMSprop, fused in C")

return { RMSprop = RMSprop }
