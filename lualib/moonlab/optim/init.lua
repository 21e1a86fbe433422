--- moonlab.optim: optimizers and learning-rate schedules, as torch.optim.
--
--   local opt = ml.optim.Adam(model:parameters(), {lr = 1e-3})
--   local sched = ml.optim.lr.CosineAnnealingLR(opt, {T_max = 10})
--   opt:zero_grad(); loss:backward(); opt:step(); sched:step()
--
-- optim/optimizer.lua holds the base (groups, flattening, state_dict),
-- optim/sgd.lua, adam.lua (Adam, AdamW), rmsprop.lua and adagrad.lua the
-- optimizers, optim/lr.lua the schedules; runtime/ops/optim.c the fused
-- updates. An optimizer written in Lua alone is optim.Optimizer:extend(name,
-- {options = ...}) with an update(p, grad, state, group) method.
local ml = require "moonlab"

local optim = {}
optim.Optimizer = require "moonlab.optim.optimizer"
for _, part in ipairs { "sgd", "adam", "rmsprop", "adagrad", "lbfgs" } do
  for k, v in pairs(require("moonlab.optim." .. part)) do optim[k] = v end
end
optim.lr = require "moonlab.optim.lr"

ml.doc(optim, "ml.optim — optimizers SGD, Adam, AdamW, RMSprop, Adagrad (fused C updates over flattened parameters), optimizers written in Lua (optim.Optimizer:extend), and optim.lr schedules")

return optim
