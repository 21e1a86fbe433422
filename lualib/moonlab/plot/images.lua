--- moonlab.plot.images: a grid of images ([N, C, H, W], a [C, H, W] or [H, W] image, or a
-- list of them) laid out by ml.image.grid (torchvision's make_grid) and painted with
-- nearest-neighbour scaling, so pixels stay sharp.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Figure = require "moonlab.plot.figure"
local artists = require "moonlab.plot.artists"
local values = require "moonlab.plot.values"

local fmt = string.format

local images = {}

--- plot.images{tensor, nrow=8, padding=2, normalize=false, value_range, title, width=800, height} -> figure
-- (float values are taken in [0, 1] unless normalize, int64 ones in 0..255; height follows the grid's aspect by default)
function images.images(opts)
  local fn = "plot.images"
  if type(opts) ~= "table" then checks.fail(fmt("%s: expected one table {tensor = ..., nrow = ...}, got %s", fn, checks.show(opts))) end
  checks.options(fn, opts, { "tensor", "nrow", "padding", "normalize", "value_range", "title", "width", "height", "pad_value" })
  if opts.tensor == nil then checks.fail(fn .. ": tensor (the images) is required") end
  if ml.is_tensor(opts.tensor) and opts.tensor:numel() == 0 then checks.fail(fn .. ": tensor is empty") end
  local grid = values.call(fn, ml.image.grid, opts.tensor, { nrow = opts.nrow, padding = opts.padding,
    normalize = opts.normalize, value_range = opts.value_range, pad_value = opts.pad_value })
  if grid:dtype() == "int64" then grid = grid:to("float32") / 255 end
  grid = grid:to("float32"):clamp(0, 1):contiguous()
  if grid:size(1) == 2 then grid = grid:narrow(1, 1, 1) end -- grey + alpha: the grey
  local H, W = grid:size(2), grid:size(3)
  local width = opts.width or 800
  local title_room = opts.title and 40 or 16
  local height = opts.height or math.max(120, math.min(1600, math.floor((width - 16) * H / W + title_room)))
  local fig = Figure({ width = width, height = height }, fn)
  local ax = fig:axes { title = opts.title, frame = false, grid = false, legend = "none", equal = true }
  ax.yinvert, ax.margin = true, 0
  ax:add(artists.image { img = grid })
  fig.grid = grid
  return fig
end

ml.doc(images.images, "plot.images{tensor = [N, C, H, W] (or a list), nrow=8, padding=2, normalize, title, width} -> figure — an image grid (ml.image.grid), pixels kept sharp")

return images
