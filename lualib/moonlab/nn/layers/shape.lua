--- nn.Identity, nn.Flatten, nn.Reshape: layers that only change shapes.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local class, fail, check_opts, fmt = B.class, B.fail, B.check_opts, B.fmt
local is_options, check_input, shape_str, no_args = B.is_options, B.check_input, B.shape_str, B.no_args

local M = {}

local Identity = class("Identity", "nn.Identity() — returns its input unchanged")
no_args(Identity, "nn.Identity")
function Identity:forward(x) return x end

local Flatten = class("Flatten",
  "nn.Flatten([{start_dim=2, end_dim=-1}]) — flattens dims start_dim..end_dim into one (a view when possible); keeps the batch dim",
  2, "start_dim, end_dim, or options")

function Flatten:init(a, b)
  local fn = "nn.Flatten"
  local s, e = 2, -1
  if is_options(a) and b ~= nil then fail(fn .. ": takes start_dim, end_dim or an options table, not both") end
  if type(a) == "number" then
    s = a
    if b ~= nil then e = b end
  else
    local opts = check_opts(fn, a, { "start_dim", "end_dim" })
    s, e = opts.start_dim or 2, opts.end_dim or -1
  end
  if math.type(s) ~= "integer" or math.type(e) ~= "integer" then
    fail(fmt("%s: start_dim and end_dim must be integers, got %s and %s", fn, tostring(s), tostring(e)))
  end
  self.start_dim, self.end_dim = s, e
end

function Flatten:forward(x)
  if type(x) ~= "userdata" then check_input("nn.Flatten", x) end
  return x:flatten(self.start_dim, self.end_dim)
end

function Flatten:extra_repr() return fmt("start_dim=%d, end_dim=%d", self.start_dim, self.end_dim) end

local Reshape = class("Reshape",
  "nn.Reshape(size...) — reshapes each sample (the batch dim is kept): [N, ...] -> [N, size...]; one size may be -1")

function Reshape:init(...)
  local fn = "nn.Reshape"
  local shape = select("#", ...) == 1 and type((...)) == "table" and { table.unpack((...)) } or { ... }
  local neg = 0
  for i, s in ipairs(shape) do
    if math.type(s) ~= "integer" or s < -1 then
      fail(fmt("%s: size %d must be a non-negative integer or -1, got %s", fn, i, tostring(s)))
    end
    if s == -1 then neg = neg + 1 end
  end
  if #shape == 0 then fail(fn .. ": expected the per-sample shape, e.g. nn.Reshape(1, 28, 28)") end
  if neg > 1 then fail(fn .. ": at most one size may be -1") end
  self.shape = shape
end

function Reshape:forward(x)
  if type(x) ~= "userdata" then check_input("nn.Reshape", x) end
  if x:dim() == 0 then fail("nn.Reshape: input must have a batch dimension, got a 0-d tensor") end
  local ok, y = pcall(x.reshape, x, x:size(1), table.unpack(self.shape))
  if not ok then
    fail(fmt("nn.Reshape: cannot reshape input of shape %s to [%d,%s]", shape_str(x), x:size(1), table.concat(self.shape, ",")))
  end
  return y
end

function Reshape:extra_repr() return "shape=[" .. table.concat(self.shape, ",") .. "]" end

M.Identity = Identity
M.Flatten = Flatten
M.Reshape = Reshape
return B.doc_forwards(M)
