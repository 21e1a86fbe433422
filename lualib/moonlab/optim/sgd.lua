--- optim.SGD: stochastic gradient descent with momentum, dampening, Nesterov
-- momentum and (L2) weight decay, as torch.optim.SGD:
--   d = g + weight_decay * p
--   buf = d (first step), else momentum * buf + (1 - dampening) * d
--   d = nesterov and d + momentum * buf or buf
--   p = p - lr * d
local ml = require "moonlab"
local Optimizer = require "moonlab.optim.optimizer"
local H = Optimizer._helpers
local fail = require("moonlab.core.checks").fail

local SGD = Optimizer:extend("optim.SGD", {
  kind = "SGD",
  options = {
    { "lr", 1e-3 }, { "momentum", 0 }, { "dampening", 0 }, { "weight_decay", 0 }, { "nesterov", false },
    { "maximize", false },
  },
  check = function(g, where)
    H.number(g.lr, "lr", where, 0, nil, false, false)
    H.number(g.momentum, "momentum", where, 0, nil, false, false)
    H.number(g.dampening, "dampening", where, nil, nil, false, false)
    H.number(g.weight_decay, "weight_decay", where, 0, nil, false, false)
    H.boolean(g.nesterov, "nesterov", where)
    H.boolean(g.maximize, "maximize", where)
    if g.nesterov and (g.momentum <= 0 or g.dampening ~= 0) then
      fail(where .. ": nesterov momentum needs momentum > 0 and dampening = 0, got momentum " .. H.fmt(g.momentum) ..
        ", dampening " .. H.fmt(g.dampening))
    end
  end,
  state_used = function(g) return { momentum_buffer = g.momentum ~= 0 } end,
})

ml.doc(SGD, "optim.SGD(params, {lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=false, maximize=false}) — SGD as torch.optim.SGD, fused in C")

return { SGD = SGD }
