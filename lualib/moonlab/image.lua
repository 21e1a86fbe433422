--- moonlab.image (ml.image): images as PNG files and grids of images, as
-- torchvision.utils's save_image and make_grid. Images are channels first:
-- [H, W] (grey) or [C, H, W]; a batch is [N, C, H, W]. Float values are
-- taken in [0, 1] (clamped when written), int64 ones in 0..255. The PNG
-- reading and writing is C through libpng (runtime/io/png.c); shaping and
-- scaling here are tensor ops, so nothing loops per pixel in Lua.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local K = ml._image
local fail, fmt, doc = checks.fail, string.format, ml.doc

local image = {}

local function shape_str(t) return "[" .. table.concat(t:shape(), ", ") .. "]" end

local GRID_OPTS = { "nrow", "padding", "pad_value", "normalize", "value_range", "scale_each" }

-- normalize/value_range/scale_each, checked once for grid and save_png.
local function norm_opts(fn, opts)
  local normalize = checks.boolean(fn, "normalize", opts.normalize, false)
  local scale_each = checks.boolean(fn, "scale_each", opts.scale_each, false)
  local range = opts.value_range
  if range ~= nil then
    if type(range) ~= "table" or #range ~= 2 or type(range[1]) ~= "number" or type(range[2]) ~= "number" then
      fail(fmt("%s: value_range must be a table {min, max} of two numbers, got %s", fn, checks.show(range)))
    end
    if not (range[1] < range[2]) then
      fail(fmt("%s: value_range must have min < max, got {%g, %g}", fn, range[1], range[2]))
    end
  end
  return normalize, range, scale_each
end

-- torchvision's norm_ip in place: clamp to [low, high], then map it onto [0, 1].
local function norm_ip(t, range)
  local low, high
  if range then low, high = range[1], range[2]
  else low, high = t:min():item(), t:max():item() end
  t:copy_(t:clamp(low, high))
  t:sub_(low):div_(math.max(high - low, 1e-5))
end

-- A normalized copy of the float batch or image t (as make_grid's normalize=true).
local function normalized(fn, t, range, scale_each)
  if t:dtype() ~= "float32" and t:dtype() ~= "float64" then
    fail(fmt("%s: normalize needs a float tensor, got %s", fn, t:dtype()))
  end
  t = t:clone()
  if scale_each and t:dim() == 4 then
    for k = 1, t:size(1) do norm_ip(t:select(1, k), range) end
  else
    norm_ip(t, range)
  end
  return t
end

local function check_image_tensor(fn, what, t)
  if not ml.is_tensor(t) then fail(fmt("%s: %s must be a tensor, got %s", fn, what, checks.show(t))) end
  if t:dtype() == "bool" then fail(fmt("%s: %s must be a float or int64 tensor, got bool", fn, what)) end
  return t
end

-- The images as one [N, C, H, W] batch, by make_grid's rules: a list is
-- stacked, a [H, W] or [C, H, W] image is a batch of one, grey becomes RGB.
local function as_batch(fn, tensors)
  local t
  if ml.is_tensor(tensors) then
    t = check_image_tensor(fn, "the images", tensors)
    if t:dim() == 2 then t = t:unsqueeze(1) end
    if t:dim() == 3 then t = t:unsqueeze(1) end
    if t:dim() ~= 4 then
      fail(fmt("%s: expected a [N, C, H, W] tensor, a [C, H, W] or [H, W] image, or a list of images, got shape %s",
        fn, shape_str(t)))
    end
  elseif type(tensors) == "table" and #tensors > 0 then
    local list = {}
    for i, x in ipairs(tensors) do
      check_image_tensor(fn, fmt("image %d", i), x)
      if x:dim() == 2 then x = x:unsqueeze(1) end
      if x:dim() ~= 3 then fail(fmt("%s: image %d must be [C, H, W] or [H, W], got shape %s", fn, i, shape_str(x))) end
      if i > 1 and shape_str(x) ~= shape_str(list[1]) then
        fail(fmt("%s: every image must have one shape: image 1 is %s, image %d is %s", fn, shape_str(list[1]), i,
          shape_str(x)))
      end
      if i > 1 and x:dtype() ~= list[1]:dtype() then
        fail(fmt("%s: every image must have one dtype: image 1 is %s, image %d is %s", fn, list[1]:dtype(), i, x:dtype()))
      end
      list[i] = x:detach()
    end
    t = ml.stack(list)
  else
    fail(fmt("%s: expected a [N, C, H, W] tensor or a non-empty list of [C, H, W] images, got %s", fn,
      type(tensors) == "table" and "an empty table" or checks.show(tensors)))
  end
  if t:size(2) == 1 then t = t:expand(t:size(1), 3, t:size(3), t:size(4)) end
  return t:detach()
end

local function grid_impl(fn, tensors, opts)
  opts = checks.options(fn, opts, GRID_OPTS)
  local nrow = checks.integer(fn, "nrow", opts.nrow or 8, 1)
  local padding = checks.integer(fn, "padding", opts.padding or 2, 0)
  local pad_value = checks.number(fn, "pad_value", opts.pad_value or 0)
  local normalize, range, scale_each = norm_opts(fn, opts)
  local t = as_batch(fn, tensors)
  if normalize then t = normalized(fn, t, range, scale_each) end
  local n, c, h, w = t:size(1), t:size(2), t:size(3), t:size(4)
  if n == 1 then return t:select(1, 1):contiguous() end
  local xmaps = math.min(nrow, n)
  local ymaps = (n + xmaps - 1) // xmaps
  local height, width = h + padding, w + padding
  local grid = ml.full({ c, height * ymaps + padding, width * xmaps + padding }, pad_value, { dtype = t:dtype() })
  local k = 1
  for y = 0, ymaps - 1 do
    for x = 0, xmaps - 1 do
      if k > n then break end
      grid:narrow(2, y * height + padding + 1, h):narrow(3, x * width + padding + 1, w):copy_(t:select(1, k))
      k = k + 1
    end
  end
  return grid
end

--- image.grid(tensors, [opts]) -> [C, H', W']: the images in a grid (torchvision's make_grid)
function image.grid(tensors, opts)
  return ml.no_grad(grid_impl, "ml.image.grid", tensors, opts)
end

-- The [C, H, W] image a PNG is made of: a batch laid out as a grid, the options applied.
local function png_image(fn, t, opts)
  check_image_tensor(fn, "the image", t)
  opts = checks.options(fn, opts, GRID_OPTS)
  local img
  if t:dim() == 4 then
    img = grid_impl(fn, t, opts) -- a batch: laid out first, as save_image does
  else
    if t:dim() == 2 then t = t:unsqueeze(1) end
    if t:dim() ~= 3 or t:size(1) > 4 then
      local hint = (t:dim() == 3 and t:size(3) <= 4) and
        fmt(" (channels come first, as torchvision's; for [H, W, C] pass t:permute(3, 1, 2))") or ""
      fail(fmt("%s: expected [H, W], [C, H, W] with C = 1, 2, 3 or 4, or a [N, C, H, W] batch, got shape %s%s", fn,
        shape_str(t), hint))
    end
    for k in pairs(opts) do
      if k == "nrow" or k == "padding" or k == "pad_value" then
        fail(fmt("%s: option '%s' lays out a batch; a single image was given (shape %s)", fn, k, shape_str(t)))
      end
    end
    local normalize, range, scale_each = norm_opts(fn, opts)
    img = normalize and normalized(fn, t:detach(), range, scale_each) or t:detach()
  end
  if img:size(1) > 4 then
    fail(fmt("%s: a PNG holds 1 to 4 channels, the images have %d", fn, img:size(1)))
  end
  return img
end

local function save_impl(fn, t, path, opts)
  check_image_tensor(fn, "the image", t)
  if type(path) ~= "string" or path == "" then fail(fmt("%s: path must be a non-empty string, got %s", fn, checks.show(path))) end
  checks.call(K.save_png, path, png_image(fn, t, opts), fn)
end

--- image.encode_png(tensor, [opts], [fn]) -> string, [C, H, W]: the PNG file's bytes, in memory (as save_png writes them), and the image encoded
function image.encode_png(t, opts, fn)
  fn = fn or "ml.image.encode_png"
  return ml.no_grad(function()
    local img = png_image(fn, t, opts)
    return checks.call(K.encode_png, img, fn), img
  end)
end

--- image.save_png(tensor, path, [opts]): writes [H, W], [C, H, W] (C = 1..4) or a [N, C, H, W] batch as an 8-bit PNG
function image.save_png(t, path, opts)
  ml.no_grad(save_impl, "ml.image.save_png", t, path, opts)
end

--- image.load_png(path) -> float32 [C, H, W] in [0, 1]
function image.load_png(path)
  local fn = "ml.image.load_png"
  if type(path) ~= "string" or path == "" then fail(fmt("%s: path must be a non-empty string, got %s", fn, checks.show(path))) end
  return checks.call(K.load_png, path, fn)
end

doc(image, "ml.image — PNG images through libpng and grids of images: save_png, load_png, grid (torchvision's save_image, read_image, make_grid)")
doc(image.grid, "ml.image.grid(tensors, [{nrow=8, padding=2, pad_value=0, normalize=false, value_range=nil, scale_each=false}]) " ..
  "-> [C, H, W] — a list of [C, H, W] images or a [N, C, H, W] tensor laid out in rows of nrow, as torchvision's make_grid " ..
  "(grey becomes 3 channels; normalize maps value_range, or the min..max, onto [0, 1], per image with scale_each)")
doc(image.save_png, "ml.image.save_png(tensor, path, [{normalize, value_range, scale_each, nrow, padding, pad_value}]) — " ..
  "writes [H, W] (grey), [C, H, W] (C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) or a [N, C, H, W] batch (as a grid) as an 8-bit PNG: " ..
  "floats in [0, 1] (clamped, round(x * 255)) or int64 0..255, as torchvision's save_image")
doc(image.encode_png, "ml.image.encode_png(tensor, [opts]) -> string, image — the PNG file save_png would write, as bytes in memory " ..
  "(same shapes and options), and the [C, H, W] image it encodes")
doc(image.load_png, "ml.image.load_png(path) -> float32 [C, H, W] in [0, 1] — any PNG: grey, grey+alpha, RGB, RGBA, palette (as RGB/RGBA), 1 to 16 bits")

return image
