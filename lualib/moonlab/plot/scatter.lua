--- moonlab.plot.scatter: scatter plots, optionally coloured by class labels.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"
local Figure = require "moonlab.plot.figure"
local artists = require "moonlab.plot.artists"
local colors = require "moonlab.plot.colors"
local values = require "moonlab.plot.values"

local fmt = string.format
local SHAPES = { "circle", "square", "diamond", "triangle", "plus", "x" }

local scatter = {}

--- plot.scatter{x, y, c = labels, sizes = radii (px, one per point), size=3.5, shape='circle', color, alpha=0.8, label, title, xlabel, ylabel, logx, logy, ...} -> figure
-- (c: one class label per point, each class its own colour and legend entry; NaN/Inf points are skipped)
function scatter.scatter(opts)
  local fn = "plot.scatter"
  local fig, ax = Figure.single(fn, opts, { "x", "y", "c", "sizes", "size", "shape", "color", "alpha", "label" })
  if opts.x == nil or opts.y == nil then checks.fail(fn .. ": x and y are required") end
  local x, y = values.pair(fn, opts.x, opts.y)
  local n = x:numel()
  local shape = checks.one_of(fn, "shape", opts.shape, SHAPES, "circle")
  local size = checks.number(fn, "size", opts.size or 3.5, 0)
  local sizes
  if opts.sizes ~= nil then
    sizes = values.vector(fn, "sizes", opts.sizes)
    if sizes:numel() ~= n then checks.fail(fmt("%s: x has %d values but sizes has %d", fn, n, sizes:numel())) end
  end
  local alpha = opts.alpha and checks.number(fn, "alpha", opts.alpha, 0, 1) or 0.8
  if opts.c == nil then
    ax:add(artists.points { x = x, y = y, sizes = sizes, size = size, shape = shape, alpha = alpha, label = opts.label,
      color = colors.parse(fn, opts.color, colors.cycle(1)) })
    return fig
  end
  local m = labels.length(fn, opts.c)
  if m ~= n then checks.fail(fmt("%s: x has %d values but c has %d labels", fn, n, m)) end
  local codes, classes = labels.encode(fn, opts.c)
  for k, cls in ipairs(classes) do
    local mask = codes:eq(k)
    ax:add(artists.points { x = x:masked_select(mask), y = y:masked_select(mask),
      sizes = sizes and sizes:masked_select(mask), size = size, shape = shape, alpha = alpha,
      label = tostring(cls), color = colors.cycle(k) })
  end
  return fig
end

ml.doc(scatter.scatter, "plot.scatter{x, y, c = labels, sizes, size=3.5, shape, color, alpha, label, ...} -> figure — a scatter plot, one colour and legend entry per class of c; NaN/Inf points are skipped")

return scatter
