--- nn.functional: the stateless forms of the layers (nn.functional.conv2d,
-- max_pool2d ...), as torch.nn.functional. An index of part files, as
-- layers/init.lua; each part adds its names and a missing part is an error.
local ml = require "moonlab"
local M = {}

local PARTS = {
  "conv", -- conv1d, conv2d, conv_transpose2d
  "pool", -- max/avg/adaptive pooling, 1-D and 2-D
  "upsample", -- interpolate (nearest, bilinear)
}

for _, part in ipairs(PARTS) do
  for name, f in pairs(require("moonlab.nn.functional." .. part)) do
    if M[name] ~= nil then error("moonlab.nn.functional: " .. part .. " redefines " .. name) end
    M[name] = f
  end
end

ml.doc(M, "nn.functional — the stateless forms of the layers: conv1d, conv2d, conv_transpose2d, max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d, adaptive_max_pool2d, interpolate")

return M
