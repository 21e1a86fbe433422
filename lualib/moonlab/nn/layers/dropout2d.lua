--- nn.Dropout2d: zeroes whole channels at random in training.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local class, fmt, fail = B.class, B.fmt, B.fail

local M = {}

local Dropout2d = class("Dropout2d",
  "nn.Dropout2d([p=0.5]) — in training, zeroes each channel of (N, C, H, W) with probability p and scales the rest by 1/(1-p); identity in eval (or {p=})")

function Dropout2d:init(...)
  local p = B.value_or_option("nn.Dropout2d", "p", ...)
  if p == nil then p = 0.5 end
  self.p = B.check_number("nn.Dropout2d", "p", p, 0, 1)
end

function Dropout2d:forward(x)
  if type(x) ~= "userdata" or not ml.is_tensor(x) then B.check_input("nn.Dropout2d", x) end
  if x:dim() ~= 3 and x:dim() ~= 4 then
    fail(fmt("nn.Dropout2d: expected input (N, C, H, W) or (C, H, W), got shape %s", B.shape_str(x)))
  end
  local p = self.p
  if not self.training or p == 0 then return x end
  if p == 1 then return x * 0 end
  -- one draw per (sample, channel), broadcast over the plane
  local shape = x:dim() == 4 and { x:size(1), x:size(2), 1, 1 } or { x:size(1), 1, 1 }
  local mask = ml._nn.bernoulli_(ml.empty(shape, { dtype = x:dtype() }), 1 - p)
  mask:mul_(1 / (1 - p))
  return x * mask
end

function Dropout2d:extra_repr() return fmt("p=%g", self.p) end

M.Dropout2d = Dropout2d
return B.doc_forwards(M)
