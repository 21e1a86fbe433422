--- nn.Dropout: zeroes elements at random in training.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local class, fmt = B.class, B.fmt
local value_or_option, check_number = B.value_or_option, B.check_number

local M = {}

local Dropout = class("Dropout",
  "nn.Dropout([p=0.5]) — in training, zeroes each element with probability p and scales the rest by 1/(1-p); identity in eval (or {p=})")

function Dropout:init(...)
  local p = value_or_option("nn.Dropout", "p", ...)
  if p == nil then p = 0.5 end
  self.p = check_number("nn.Dropout", "p", p, 0, 1)
end

function Dropout:forward(x)
  if type(x) ~= "userdata" or not ml.is_tensor(x) then B.check_input("nn.Dropout", x) end
  local p = self.p
  if not self.training or p == 0 then return x end
  if p == 1 then return x * 0 end
  -- a 0/1 mask from the seeded generator, scaled in place: y = x * mask / (1 - p)
  local mask = ml._nn.bernoulli_(ml.empty_like(x), 1 - p)
  mask:mul_(1 / (1 - p))
  return x * mask
end

function Dropout:extra_repr() return fmt("p=%g", self.p) end

M.Dropout = Dropout
return B.doc_forwards(M)
