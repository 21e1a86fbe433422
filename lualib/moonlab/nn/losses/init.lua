--- nn.losses: the index of the loss files, as torch/nn's init.lua; a missing
-- file is an error. A loss is a module called as crit(input, target) that
-- returns a 0-d tensor ("mean" or "sum") or the per-element losses ("none"),
-- with PyTorch's semantics; class targets are int64 labels 1..C.
local M = {}

local FAMILIES = {
  "regression",     -- MSELoss, L1Loss, HuberLoss, SmoothL1Loss
  "classification", -- CrossEntropyLoss, NLLLoss
  "binary",         -- BCELoss, BCEWithLogitsLoss
  "divergence",     -- KLDivLoss
}

for _, family in ipairs(FAMILIES) do
  for name, cls in pairs(require("moonlab.nn.losses." .. family)) do
    if M[name] ~= nil then error("moonlab.nn.losses: " .. family .. " redefines nn." .. name) end
    M[name] = cls
  end
end

return M
