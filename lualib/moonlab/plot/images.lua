--- moonlab.plot.images: a grid of images ([N, C, H, W], [N, H, W] grey ones, a [C, H, W] or
-- [H, W] image, or a list of them) laid out by ml.image.grid (torchvision's make_grid) and painted with
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
  local t = opts.tensor
  if ml.is_tensor(t) and t:numel() == 0 then checks.fail(fn .. ": tensor is empty") end
  -- [N, H, W] with N not a channel count (1 to 4): N grey images, as a dataset holds them (data.fashion_mnist's x)
  if ml.is_tensor(t) and t:dim() == 3 and t:size(1) > 4 then t = t:unsqueeze(2) end
  local grid = values.call(fn, ml.image.grid, t, { nrow = opts.nrow, padding = opts.padding,
    normalize = opts.normalize, value_range = opts.value_range, pad_value = opts.pad_value })
  if grid:size(1) > 4 then
    checks.fail(fmt("%s: images have %d channels; expected 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA): give [N, C, H, W], "
      .. "[C, H, W], [N, H, W] or [H, W]", fn, grid:size(1)))
  end
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

ml.doc(images.images, "plot.images{tensor = [N, C, H, W], [N, H, W] (N > 4: grey images) or a list, nrow=8, padding=2, normalize, title, width} -> figure — an image grid (ml.image.grid), pixels kept sharp")

return images
