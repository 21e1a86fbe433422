--- nn.Upsample: resizing images (nearest or bilinear) by nn.functional.interpolate.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local F = require "moonlab.nn.functional.upsample"
local class, fmt = B.class, B.fmt

local M = {}

local Upsample = class("Upsample",
  "nn.Upsample({size={h, w} | scale_factor=s, mode='nearest'|'bilinear', align_corners=false}) — resizes (N, C, H, W), as PyTorch's nn.Upsample",
  1, "options")

function Upsample:init(opts)
  opts = B.check_opts("nn.Upsample", opts, { "size", "scale_factor", "mode", "align_corners" })
  self.size, self.scale_factor = opts.size, opts.scale_factor
  self.mode, self.align_corners = opts.mode or "nearest", opts.align_corners
  F._options("nn.Upsample", self:options()) -- a bad option fails at construction
end

--- upsample:options() -> the interpolate options this layer applies
function Upsample:options()
  return { size = self.size, scale_factor = self.scale_factor, mode = self.mode, align_corners = self.align_corners }
end
ml.doc(Upsample.options, "upsample:options() -> table — the nn.functional.interpolate options this layer applies")

function Upsample:forward(x)
  local y = F.interpolate(x, self:options(), "nn.Upsample")
  return y
end

function Upsample:extra_repr()
  local what = self.size and ("size=" .. (type(self.size) == "table" and "(" .. table.concat(self.size, ", ") .. ")" or tostring(self.size)))
    or ("scale_factor=" .. (type(self.scale_factor) == "table" and "(" .. table.concat(self.scale_factor, ", ") .. ")" or tostring(self.scale_factor)))
  return fmt("%s, mode='%s'%s", what, self.mode, self.align_corners and ", align_corners=true" or "")
end

M.Upsample = Upsample
return B.doc_forwards(M)
