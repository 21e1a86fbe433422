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

return nn
