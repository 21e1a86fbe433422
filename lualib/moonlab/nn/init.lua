--- moonlab.nn: modules, layers, losses, initializers and the training loop.
-- Each part lives in its own file under lualib/moonlab/nn/ and adds its
-- names to this table: module.lua (the Module base class), layers.lua,
-- initializers.lua (nn.init), losses.lua, utils.lua (nn.utils), fit.lua
-- (compile/fit/evaluate/predict) and serialize.lua (save/nn.load).
local nn = {}

local parts = { "module", "initializers", "layers", "losses", "utils", "fit", "serialize" }
for _, part in ipairs(parts) do
  local name = "moonlab.nn." .. part
  if package.searchpath(name, package.path) then
    local add = require(name)
    for k, v in pairs(add) do
      if nn[k] ~= nil and nn[k] ~= v then error("moonlab.nn: " .. part .. " redefines nn." .. k) end
      nn[k] = v
    end
  end
end

local ml = require "moonlab"
if ml.doc then
  ml.doc(nn, "ml.nn — modules (nn.Module), layers, losses, nn.init, nn.utils, model:compile/fit/evaluate/predict, model:save and nn.load")
end

return nn
