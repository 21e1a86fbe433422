--- moonlab.nn: modules, layers, losses, initializers and the training loop,
-- as torch/nn's init.lua: this index lists its parts, each adds its names to
-- this table, and a missing part is an error.
--   module.lua        nn.Module, the base class
--   layers/           nn.Linear, activations, Dropout, norms, Embedding, shapes, containers
--   losses/           nn.MSELoss ... nn.CrossEntropyLoss ... nn.KLDivLoss
--   initializers.lua  nn.init
--   utils.lua         nn.utils (clipping, penalties)
--   fit.lua           model:compile/fit/evaluate/predict
--   serialize.lua     model:save, nn.load, checkpoints (through core/persist)
local ml = require "moonlab"

local nn = {}

local function add(part, names)
  for k, v in pairs(names) do
    if nn[k] ~= nil and nn[k] ~= v then error("moonlab.nn: " .. part .. " redefines nn." .. k) end
    nn[k] = v
  end
end

add("module", require "moonlab.nn.module")
add("layers", require "moonlab.nn.layers")
add("losses", require "moonlab.nn.losses")
add("initializers", require "moonlab.nn.initializers")
add("utils", require "moonlab.nn.utils")
for k, v in pairs(require "moonlab.nn.layers.sequence") do nn.utils[k] = v end -- pad_sequence, pack_padded_sequence ...
add("fit", require "moonlab.nn.fit")
add("serialize", require "moonlab.nn.serialize")
add("functional", { functional = require "moonlab.nn.functional" })
add("gan", { gan = require "moonlab.nn.gan" }) -- nn.gan: adversarial losses and the alternating loop

ml.doc(nn, "ml.nn — modules (nn.Module), layers, losses, nn.init, nn.utils, model:compile/fit/evaluate/predict, model:save and nn.load")

return nn
