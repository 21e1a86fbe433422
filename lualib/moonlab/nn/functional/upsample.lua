--- nn.functional.interpolate: resizing (N, C, H, W) by nearest or bilinear
-- sampling, as PyTorch's F.interpolate. Each spatial dimension is one
-- index_select (nearest) or two and a blend (bilinear): the sampling
-- positions are computed once per output row, not per element, and
-- autograd comes from the ops.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local A = require "moonlab.nn.functional.args"
local fail, fmt, doc = checks.fail, string.format, ml.doc

local M = {}

-- source positions along one dimension: in -> out, scale = in / out (or 1 / scale_factor)
local function nearest_index(inn, out, scale)
  local idx = {}
  for i = 0, out - 1 do idx[i + 1] = math.min(math.floor(i * scale), inn - 1) + 1 end
  return ml.tensor(idx, { dtype = "int64" })
end

-- (lower index, upper index, weight of the upper) along one dimension
local function linear_taps(inn, out, scale, align, dt)
  local lo, hi, w = {}, {}, {}
  for i = 0, out - 1 do
    local src
    if align then src = out > 1 and i * (inn - 1) / (out - 1) or 0
    else src = math.max((i + 0.5) * scale - 0.5, 0) end
    local i0 = math.min(math.floor(src), inn - 1)
    lo[i + 1], hi[i + 1], w[i + 1] = i0 + 1, math.min(i0 + 1, inn - 1) + 1, src - i0
  end
  return ml.tensor(lo, { dtype = "int64" }), ml.tensor(hi, { dtype = "int64" }), ml.tensor(w, { dtype = dt })
end

-- The options checked: mode, align_corners, size (2 ints) or nil, scale_factor (2 numbers) or nil.
function M._options(fn, opts)
  opts = checks.options(fn, opts, { "size", "scale_factor", "mode", "align_corners" })
  local mode = checks.one_of(fn, "mode", opts.mode, { "nearest", "bilinear" }, "nearest")
  local align = checks.boolean(fn, "align_corners", opts.align_corners, false)
  if align and mode == "nearest" then fail(fmt("%s: align_corners applies to mode 'bilinear' only", fn)) end
  if (opts.size == nil) == (opts.scale_factor == nil) then
    fail(fmt("%s: give exactly one of size and scale_factor", fn))
  end
  if opts.size ~= nil then return mode, align, A.ints(fn, "size", opts.size, 2, 1), nil end
  local sf = type(opts.scale_factor) == "table" and opts.scale_factor or { opts.scale_factor, opts.scale_factor }
  for i = 1, 2 do
    if type(sf[i]) ~= "number" or not (sf[i] > 0) then
      fail(fmt("%s: scale_factor must be a positive number or 2 of them, got %s", fn, tostring(sf[i])))
    end
  end
  return mode, align, nil, { sf[1], sf[2] }
end

--- F.interpolate(x, {size | scale_factor, mode='nearest'|'bilinear', align_corners=false}) -> y
function M.interpolate(x, opts, fn)
  fn = fn or "nn.functional.interpolate"
  local mode, align, size, sf = M._options(fn, opts)
  local xb, added = A.batched(fn, x, 2)
  local H, W = xb:size(3), xb:size(4)
  local out, scale = {}, {}
  if size then
    out = size
    scale = { H / out[1], W / out[2] }
  else
    out = { math.floor(H * sf[1]), math.floor(W * sf[2]) }
    if out[1] < 1 or out[2] < 1 then fail(fmt("%s: the output would be empty (%d x %d)", fn, out[1], out[2])) end
    scale = { 1 / sf[1], 1 / sf[2] }
  end
  local y = xb
  local ins = { H, W }
  for d = 1, 2 do
    local dim = d + 2
    if mode == "nearest" then
      y = y:index_select(dim, nearest_index(ins[d], out[d], scale[d]))
    else
      local lo, hi, w = linear_taps(ins[d], out[d], scale[d], align, y:dtype())
      local shape = d == 1 and { 1, 1, out[1], 1 } or { 1, 1, 1, out[2] }
      local a = y:index_select(dim, lo)
      y = a + (y:index_select(dim, hi) - a) * w:reshape(shape)
    end
  end
  return added and y:squeeze(1) or y
end
doc(M.interpolate, "nn.functional.interpolate(x, {size={h, w} | scale_factor=s, mode='nearest'|'bilinear', align_corners=false}) — resizes (N, C, H, W) as PyTorch's F.interpolate")

return M
