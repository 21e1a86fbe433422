--- prep/augment.lua: prep.augment, random data augmentation on batches (torchvision's names and meanings):
-- image transforms on float32 [N, C, H, W] or [N, H, W], Gaussian noise on any float batch, Compose,
-- and mixup / cutmix with soft labels. The work is C (runtime/ops/augment.c); this file turns options
-- into a plan of ops. A Compose of built-in transforms is one plan, which data.loader's background
-- thread runs without Lua.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local shape_str = require("moonlab.core.format").shape

local C = ml._augment
local fail, fmt, doc = checks.fail, string.format, ml.doc

local augment = {}

-- A seed drawn from the global generator (ml.seed) when none is given.
local function draw_seed() return ml.randint(0, 1 << 62, 1):item() end

-- nil stays nil: the seed is drawn from the global generator when the transform first runs, so the
-- members of a Compose (which use the Compose's seed) draw nothing.
local function check_seed(fn, seed)
  if seed == nil then return nil end
  return checks.integer(fn, "option 'seed'", seed)
end

-- A number n as {-n, n} (n >= 0), or a list {lo, hi} with lo <= hi.
local function sym_range(fn, what, v, lo_limit)
  if type(v) == "number" then
    if not (v >= 0) then fail(fmt("%s: %s must be >= 0 when a single number, got %s", fn, what, checks.show(v))) end
    return { -v, v }
  end
  if type(v) ~= "table" or #v ~= 2 or type(v[1]) ~= "number" or type(v[2]) ~= "number" or not (v[1] <= v[2]) then
    fail(fmt("%s: %s must be a number or a range {lo, hi} with lo <= hi, got %s", fn, what, checks.show(v)))
  end
  if lo_limit and v[1] < lo_limit then fail(fmt("%s: %s must be >= %g, got %g", fn, what, lo_limit, v[1])) end
  return { v[1], v[2] }
end

local function range(fn, what, v, lo_limit)
  if type(v) ~= "table" then fail(fmt("%s: %s must be a range {lo, hi}, got %s", fn, what, checks.show(v))) end
  return sym_range(fn, what, v, lo_limit)
end

-- Options: a table, or the main parameter alone or first (RandomRotation(15), RandomRotation{15, fill = 0}).
local function options(fn, opts, known, main)
  if main and type(opts) ~= "table" and opts ~= nil then return checks.options(fn, { [main] = opts }, known) end
  if main and type(opts) == "table" and opts[1] ~= nil and not class.name_of(opts) then
    local copy = {}
    for k, v in pairs(opts) do copy[k] = v end
    if copy[main] ~= nil then fail(fmt("%s: '%s' given twice (first in the list and by name)", fn, main)) end
    copy[main], copy[1] = copy[1], nil
    opts = copy
  end
  return checks.options(fn, opts, known)
end

local function check_p(fn, p, default)
  if p == nil then return default end
  return checks.number(fn, "option 'p'", p, 0, 1)
end

-- ---- the base class --------------------------------------------------------------------------

local Transform = class.Object:extend("prep.augment.Transform",
  "prep.augment.Transform — base of the built-in transforms: t(x) -> a new batch; t:apply(x, {epoch, batch}) with explicit streams")

-- The C plan of this transform (cached; its ops never change after construction).
function Transform:_plan()
  if not self._c then
    if self.seed == nil then self.seed = draw_seed() end
    self._c = checks.call(C.plan, self:_ops(), self.seed)
  end
  return self._c
end

local function check_batch(fn, x, images)
  if not ml.is_tensor(x) then fail(fmt("%s: expected a tensor batch, got %s", fn, type(x))) end
  local dt, d = x:dtype(), x:dim()
  if images then
    if dt ~= "float32" or (d ~= 3 and d ~= 4) then
      fail(fmt("%s: expected a float32 image batch [N, C, H, W] or [N, H, W], got %s %s", fn, dt, shape_str(x)))
    end
  elseif (dt ~= "float32" and dt ~= "float64") or d < 1 then
    fail(fmt("%s: expected a float32 or float64 batch [N, ...], got %s %s", fn, dt, shape_str(x)))
  end
end

local function run(self, x, a, b)
  check_batch(self.__name, x, self._images)
  return checks.call(C.apply, self:_plan(), x:contiguous(), a, b)
end

-- Each direct call draws new parameters: call k uses the streams (0, k). The loader uses (epoch, batch).
function Transform:__call(x)
  self._calls = (self._calls or 0) + 1
  return run(self, x, 0, self._calls)
end

--- t:apply(x, [{epoch=0, batch=1}]) -> the batch as data.loader's thread makes it for that epoch and batch
function Transform:apply(x, opts)
  local fn = self.__name .. ":apply"
  opts = checks.options(fn, opts, { "epoch", "batch" })
  local e = checks.integer(fn, "option 'epoch'", opts.epoch or 0, 0)
  local b = checks.integer(fn, "option 'batch'", opts.batch or 1, 0)
  return run(self, x, e, b)
end
doc(Transform.apply, "t:apply(x, [{epoch=0, batch=1}]) -> tensor — the transform with the random streams of data.loader's epoch and batch (what the loader's thread computes for them)")

function Transform:extra_repr() return self._repr or "" end

local function define(name, docstring, init, images)
  local cls = Transform:extend("prep.augment." .. name, docstring)
  cls.init = init
  cls._images = images ~= false
  augment[name] = cls
  return cls
end

-- ---- the transforms --------------------------------------------------------------------------

define("RandomHorizontalFlip", "prep.augment.RandomHorizontalFlip([{p=0.5, seed}]) — flips each image left-right with probability p",
  function(self, opts)
    local fn = "prep.augment.RandomHorizontalFlip"
    opts = options(fn, opts, { "p", "seed" }, "p")
    self.p = check_p(fn, opts.p, 0.5)
    self.seed = check_seed(fn, opts.seed)
    self._repr = fmt("p=%g", self.p)
  end)
function augment.RandomHorizontalFlip:_ops() return { { kind = "hflip", p = self.p } } end

define("RandomVerticalFlip", "prep.augment.RandomVerticalFlip([{p=0.5, seed}]) — flips each image upside down with probability p",
  function(self, opts)
    local fn = "prep.augment.RandomVerticalFlip"
    opts = options(fn, opts, { "p", "seed" }, "p")
    self.p = check_p(fn, opts.p, 0.5)
    self.seed = check_seed(fn, opts.seed)
    self._repr = fmt("p=%g", self.p)
  end)
function augment.RandomVerticalFlip:_ops() return { { kind = "vflip", p = self.p } } end

local function affine_ops(self)
  return { { kind = "affine", degrees = self.degrees, translate = self.translate or { 0, 0 }, scale = self.scale or { 1, 1 },
    shear = self.shear or { 0, 0, 0, 0 }, fill = self.fill } }
end

local function check_shear(fn, v)
  if v == nil then return nil end
  if type(v) == "number" then local r = sym_range(fn, "option 'shear'", v) return { r[1], r[2], 0, 0 } end
  if type(v) == "table" and #v == 2 then local r = range(fn, "option 'shear'", v) return { r[1], r[2], 0, 0 } end
  if type(v) == "table" and #v == 4 then
    local a, b = range(fn, "option 'shear' (x)", { v[1], v[2] }), range(fn, "option 'shear' (y)", { v[3], v[4] })
    return { a[1], a[2], b[1], b[2] }
  end
  fail(fmt("%s: option 'shear' must be a number, {lo, hi} or {xlo, xhi, ylo, yhi}, got %s", fn, checks.show(v)))
end

define("RandomAffine", "prep.augment.RandomAffine({degrees, translate={a, b}, scale={lo, hi}, shear, fill=0, seed}) — "
  .. "rotation, translation (fractions of width/height), scaling and shear in one bilinear pass, as torchvision's",
  function(self, opts)
    local fn = "prep.augment.RandomAffine"
    opts = options(fn, opts, { "degrees", "translate", "scale", "shear", "fill", "seed" }, "degrees")
    if opts.degrees == nil then fail(fn .. ": option 'degrees' is required (0 for no rotation)") end
    self.degrees = sym_range(fn, "option 'degrees'", opts.degrees)
    if opts.translate ~= nil then
      local t = opts.translate
      if type(t) ~= "table" or #t ~= 2 or type(t[1]) ~= "number" or type(t[2]) ~= "number"
          or not (t[1] >= 0 and t[1] <= 1 and t[2] >= 0 and t[2] <= 1) then
        fail(fmt("%s: option 'translate' must be {a, b} with fractions in [0, 1], got %s", fn, checks.show(t)))
      end
      self.translate = { t[1], t[2] }
    end
    if opts.scale ~= nil then
      self.scale = range(fn, "option 'scale'", opts.scale)
      if not (self.scale[1] > 0) then fail(fmt("%s: option 'scale' must be positive, got %g", fn, self.scale[1])) end
    end
    self.shear = check_shear(fn, opts.shear)
    self.fill = opts.fill ~= nil and checks.number(fn, "option 'fill'", opts.fill) or 0
    self.seed = check_seed(fn, opts.seed)
    self._repr = fmt("degrees={%g, %g}", self.degrees[1], self.degrees[2])
  end)
augment.RandomAffine._ops = affine_ops

define("RandomRotation", "prep.augment.RandomRotation({degrees, fill=0, seed}) — rotation by an angle uniform in [-degrees, degrees] (or {lo, hi}), bilinear",
  function(self, opts)
    local fn = "prep.augment.RandomRotation"
    opts = options(fn, opts, { "degrees", "fill", "seed" }, "degrees")
    if opts.degrees == nil then fail(fn .. ": option 'degrees' is required") end
    local d = sym_range(fn, "option 'degrees'", opts.degrees)
    self.degrees = { -d[2], -d[1] } -- torchvision's rotate turns counter-clockwise: the affine angle is -angle
    self.fill = opts.fill ~= nil and checks.number(fn, "option 'fill'", opts.fill) or 0
    self.seed = check_seed(fn, opts.seed)
    self._repr = fmt("degrees={%g, %g}", d[1], d[2])
  end)
augment.RandomRotation._ops = affine_ops

local function check_pair_int(fn, what, v, min)
  if type(v) == "number" then v = { v, v } end
  if type(v) ~= "table" or #v ~= 2 then fail(fmt("%s: %s must be an integer or {h, w}, got %s", fn, what, checks.show(v))) end
  return { checks.integer(fn, what, v[1], min), checks.integer(fn, what, v[2], min) }
end

define("RandomCrop", "prep.augment.RandomCrop({size, padding=0, fill=0, seed}) — a random size (h, w) window of each image padded by padding (p, {lr, tb} or {l, t, r, b}) with fill",
  function(self, opts)
    local fn = "prep.augment.RandomCrop"
    opts = options(fn, opts, { "size", "padding", "fill", "seed" }, "size")
    if opts.size == nil then fail(fn .. ": option 'size' is required") end
    self.size = check_pair_int(fn, "option 'size'", opts.size, 1)
    local p = opts.padding or 0
    if type(p) == "number" then p = { p, p, p, p }
    elseif type(p) == "table" and #p == 2 then p = { p[1], p[2], p[1], p[2] } end
    if type(p) ~= "table" or #p ~= 4 then
      fail(fmt("%s: option 'padding' must be an integer, {lr, tb} or {l, t, r, b}, got %s", fn, checks.show(opts.padding)))
    end
    self.padding = {}
    for i = 1, 4 do self.padding[i] = checks.integer(fn, "option 'padding'", p[i], 0) end
    self.fill = opts.fill ~= nil and checks.number(fn, "option 'fill'", opts.fill) or 0
    self.seed = check_seed(fn, opts.seed)
    self._repr = fmt("size={%d, %d}, padding={%d, %d, %d, %d}", self.size[1], self.size[2], table.unpack(self.padding))
  end)
function augment.RandomCrop:_ops()
  return { { kind = "crop", size = self.size, pad = self.padding, fill = self.fill } }
end

define("RandomErasing", "prep.augment.RandomErasing([{p=0.5, scale={0.02, 0.33}, ratio={0.3, 3.3}, value=0 | 'random', seed}]) — "
  .. "with probability p sets a rectangle of random area (a fraction scale of the image) and aspect ratio to value or to normal noise",
  function(self, opts)
    local fn = "prep.augment.RandomErasing"
    opts = options(fn, opts, { "p", "scale", "ratio", "value", "seed" }, "p")
    self.p = check_p(fn, opts.p, 0.5)
    self.scale = range(fn, "option 'scale'", opts.scale or { 0.02, 0.33 }, 0)
    if self.scale[2] > 1 then fail(fmt("%s: option 'scale' must lie within [0, 1], got {%g, %g}", fn, self.scale[1], self.scale[2])) end
    self.ratio = range(fn, "option 'ratio'", opts.ratio or { 0.3, 3.3 })
    if not (self.ratio[1] > 0) then fail(fmt("%s: option 'ratio' must be positive, got {%g, %g}", fn, self.ratio[1], self.ratio[2])) end
    local v = opts.value or 0
    if v ~= "random" and type(v) ~= "number" then
      fail(fmt("%s: option 'value' must be a number or 'random', got %s", fn, checks.show(v)))
    end
    self.value = v
    self.seed = check_seed(fn, opts.seed)
    self._repr = fmt("p=%g, value=%s", self.p, tostring(v))
  end)
function augment.RandomErasing:_ops()
  local random = self.value == "random"
  return { { kind = "erase", p = self.p, area = self.scale, ratio = self.ratio, value = random and 0 or self.value,
    random_value = random } }
end

-- torchvision's jitter factor: b as {max(0, 1 - b), 1 + b}, or a range {lo, hi} of factors >= 0.
local function factor(fn, what, v)
  if v == nil then return { 1, 1 } end
  if type(v) == "number" then
    if not (v >= 0) then fail(fmt("%s: %s must be >= 0, got %s", fn, what, checks.show(v))) end
    return { math.max(0, 1 - v), 1 + v }
  end
  return range(fn, what, v, 0)
end

define("ColorJitter", "prep.augment.ColorJitter({brightness, contrast, seed}) — brightness and contrast factors drawn per image "
  .. "(b as [max(0, 1-b), 1+b], or {lo, hi}), applied in random order and clamped to [0, 1] as torchvision",
  function(self, opts)
    local fn = "prep.augment.ColorJitter"
    opts = options(fn, opts, { "brightness", "contrast", "seed" })
    self.brightness = factor(fn, "option 'brightness'", opts.brightness)
    self.contrast = factor(fn, "option 'contrast'", opts.contrast)
    self.seed = check_seed(fn, opts.seed)
    self._repr = fmt("brightness={%g, %g}, contrast={%g, %g}", self.brightness[1], self.brightness[2], self.contrast[1], self.contrast[2])
  end)
function augment.ColorJitter:_ops()
  return { { kind = "jitter", brightness = self.brightness, contrast = self.contrast } }
end

define("GaussianNoise", "prep.augment.GaussianNoise({std=0.1, mean=0, clip=false, seed}) — adds N(mean, std^2) noise to every element; "
  .. "any float batch [N, ...] (images or tabular rows)",
  function(self, opts)
    local fn = "prep.augment.GaussianNoise"
    opts = options(fn, opts, { "std", "mean", "clip", "seed" }, "std")
    self.std = checks.number(fn, "option 'std'", opts.std or 0.1, 0)
    self.mean = checks.number(fn, "option 'mean'", opts.mean or 0)
    self.clip = checks.boolean(fn, "option 'clip'", opts.clip, false)
    self.seed = check_seed(fn, opts.seed)
    self._repr = fmt("std=%g", self.std)
  end, false)
function augment.GaussianNoise:_ops()
  return { { kind = "noise", std = self.std, mean = self.mean, clip = self.clip } }
end

-- A data frame: noise on its float64 columns (row i is sample i; missing NaN stays NaN), the rest kept.
local function frame_noise(self, df, run_plan)
  local names = {}
  for _, name in ipairs(df.columns) do
    if df:column(name).kind == "float64" then names[#names + 1] = name end
  end
  if #names == 0 then return df end
  local noisy = run_plan(df:to_tensor(names, "float64"):contiguous())
  for k, name in ipairs(names) do
    df = df:with_column(name, noisy:select(2, k):contiguous())
  end
  return df
end

function augment.GaussianNoise:__call(x)
  local DataFrame = require "moonlab.data.frame"
  if DataFrame.is(x) then
    return frame_noise(self, x, function(t) return Transform.__call(self, t) end)
  end
  return Transform.__call(self, x)
end
doc(augment.GaussianNoise.__call, "noise(x) -> tensor | frame — x + N(mean, std^2) per element; on a data frame, its float64 columns")

-- ---- Compose ------------------------------------------------------------------------------------

local Compose = Transform:extend("prep.augment.Compose",
  "prep.augment.Compose({t1, t2, ..., seed=}) — the transforms in order; built-in ones form one C plan drawn from the Compose's seed "
  .. "(data.loader runs it in its thread); Lua functions in the list run in Lua")
augment.Compose = Compose

function Compose:init(list)
  local fn = "prep.augment.Compose"
  if type(list) ~= "table" or class.name_of(list) then fail(fmt("%s: expected a list of transforms, got %s", fn, type(list))) end
  self.transforms = {}
  local builtin, images = true, false
  for k, v in pairs(list) do
    if k ~= "seed" and math.type(k) ~= "integer" then
      checks.options(fn, { [k] = true }, { "seed" })
    end
  end
  for i, t in ipairs(list) do
    -- a nested Compose of built-in transforms joins this plan (drawn from this Compose's seed)
    local is_builtin = class.is_instance(t, Transform) and (not class.is_instance(t, Compose) or t._builtin)
    local mt = getmetatable(t)
    if not (is_builtin or type(t) == "function" or (mt and mt.__call)) then
      fail(fmt("%s: element %d is a %s, expected a transform (prep.augment.*) or a function", fn, i, type(t)))
    end
    if not is_builtin then builtin = false end
    if is_builtin and t._images then images = true end
    self.transforms[i] = t
  end
  self._builtin = builtin
  self._images = images
  self.seed = check_seed(fn, list.seed)
end

function Compose:_ops()
  local ops = {}
  for _, t in ipairs(self.transforms) do
    for _, op in ipairs(t:_ops()) do ops[#ops + 1] = op end
  end
  return ops
end

-- The plan, or nil when the list holds a Lua function (the loader then calls the Compose on its main thread).
function Compose:_plan()
  if not self._builtin then return nil end
  return Transform._plan(self)
end

function Compose:__call(x)
  if self._builtin then return Transform.__call(self, x) end
  for _, t in ipairs(self.transforms) do x = t(x) end
  return x
end

function Compose:apply(x, opts)
  if not self._builtin then fail("prep.augment.Compose:apply: the list holds Lua functions; call the Compose instead") end
  return Transform.apply(self, x, opts)
end

function Compose:extra_repr()
  local parts = {}
  for i, t in ipairs(self.transforms) do parts[i] = type(t) == "function" and "function" or tostring(t) end
  return table.concat(parts, ", ")
end

-- ---- fixed-parameter functions -------------------------------------------------------------------

augment.affine = doc(function(x, opts)
  local fn = "prep.augment.affine"
  check_batch(fn, x, true)
  opts = checks.options(fn, opts, { "angle", "translate", "scale", "shear", "fill" })
  local t = opts.translate or { 0, 0 }
  local sh = opts.shear or { 0, 0 }
  if type(sh) == "number" then sh = { sh, 0 } end
  if type(t) ~= "table" or #t ~= 2 then fail(fn .. ": option 'translate' must be {tx, ty} in pixels") end
  if type(sh) ~= "table" or #sh ~= 2 then fail(fn .. ": option 'shear' must be a number or {sx, sy} in degrees") end
  return checks.call(C.affine, x:contiguous(), opts.angle or 0, t[1], t[2], opts.scale or 1, sh[1], sh[2], opts.fill or 0)
end, "prep.augment.affine(x, {angle=0, translate={tx, ty}, scale=1, shear={sx, sy}, fill=0}) -> tensor — torchvision's F.affine "
  .. "(angle clockwise in degrees, translate in pixels) with bilinear sampling, the same on every image")

augment.warp = doc(function(x, theta, fill)
  local fn = "prep.augment.warp"
  check_batch(fn, x, true)
  if not ml.is_tensor(theta) then fail(fn .. ": theta must be a float64 tensor [N, 2, 3]") end
  return checks.call(C.warp, x:contiguous(), theta:to("float64"):contiguous(), fill or 0)
end, "prep.augment.warp(x, theta, [fill=0]) -> tensor — PyTorch's grid_sample(x, affine_grid(theta), 'bilinear', align_corners=false); theta [N, 2, 3]")

-- ---- mixup and cutmix ------------------------------------------------------------------------------

-- y as class probabilities [N, K]: int64 labels 1..K become one-hot rows.
local function soft_labels(fn, y, n, k, dt)
  if not ml.is_tensor(y) then fail(fmt("%s: y must be a tensor of labels, got %s", fn, type(y))) end
  local ydt = y:dtype()
  if ydt == "int64" then
    if y:dim() ~= 1 or y:size(1) ~= n then fail(fmt("%s: y has shape %s, expected [%d] labels", fn, shape_str(y), n)) end
    local lo, hi = n > 0 and y:min():item() or 1, n > 0 and y:max():item() or 1
    if k == nil then k = hi end
    if lo < 1 or hi > k then
      fail(fmt("%s: labels must be 1..%d (num_classes), got %d..%d", fn, k, lo, hi))
    end
    return ml.zeros({ n, k }, { dtype = dt }):scatter_add(2, y:view(n, 1), ml.ones({ n, 1 }, { dtype = dt }))
  end
  if ydt == "float32" or ydt == "float64" then
    if y:dim() ~= 2 or y:size(1) ~= n or (k and y:size(2) ~= k) then
      fail(fmt("%s: soft labels y have shape %s, expected [%d, %s]", fn, shape_str(y), n, k and tostring(k) or "K"))
    end
    return y:to(dt)
  end
  fail(fmt("%s: y must be int64 labels 1..K or float probabilities [N, K], got %s", fn, ydt))
end

local function mix_setup(fn, x, y, opts, images)
  opts = checks.options(fn, opts, { "alpha", "num_classes", "seed" })
  if not ml.is_tensor(x) then fail(fmt("%s: x must be a tensor batch, got %s", fn, type(x))) end
  local dt = x:dtype()
  if dt ~= "float32" and dt ~= "float64" then fail(fmt("%s: x must be a float batch, got %s", fn, dt)) end
  if images and x:dim() ~= 3 and x:dim() ~= 4 then
    fail(fmt("%s: x must be an image batch [N, C, H, W] or [N, H, W], got %s", fn, shape_str(x)))
  end
  if x:dim() < 1 then fail(fmt("%s: x must have a first dimension of samples, got a 0-d tensor", fn)) end
  local alpha = checks.number(fn, "option 'alpha'", opts.alpha or 1.0)
  if not (alpha > 0) then fail(fmt("%s: option 'alpha' must be > 0, got %g", fn, alpha)) end
  local k = opts.num_classes ~= nil and checks.integer(fn, "option 'num_classes'", opts.num_classes, 1) or nil
  local n = x:size(1)
  return n, alpha, soft_labels(fn, y, n, k, dt), check_seed(fn, opts.seed) or draw_seed()
end

augment.mixup = doc(function(x, y, opts)
  local fn = "prep.augment.mixup"
  local n, alpha, soft, seed = mix_setup(fn, x, y, opts, false)
  local lam, perm = checks.call(C.mix_params, seed, 0, n, alpha)
  local xm = x * lam + x:index_select(1, perm) * (1 - lam)
  return xm, soft * lam + soft:index_select(1, perm) * (1 - lam), lam
end, "prep.augment.mixup(x, y, [{alpha=1, num_classes, seed}]) -> x_mixed, soft_labels [N, K], lam — lam ~ Beta(alpha, alpha); "
  .. "each sample blended with a random partner: lam * x + (1 - lam) * x[perm], labels likewise (for nn.CrossEntropyLoss)")

augment.cutmix = doc(function(x, y, opts)
  local fn = "prep.augment.cutmix"
  local n, alpha, soft, seed = mix_setup(fn, x, y, opts, true)
  local h, w = x:size(-2), x:size(-1)
  local lam, perm, y0, y1, x0, x1 = checks.call(C.mix_params, seed, 0, n, alpha, h, w)
  local xm = checks.call(C.paste_box, x:contiguous(), perm, y0, y1, x0, x1)
  return xm, soft * lam + soft:index_select(1, perm) * (1 - lam), lam
end, "prep.augment.cutmix(x, y, [{alpha=1, num_classes, seed}]) -> x_mixed, soft_labels [N, K], lam — a random box of each image "
  .. "replaced by its partner's (torchvision's CutMix); lam = the share of the image kept")

doc(augment, "ml.prep.augment — random augmentation of batches: RandomHorizontalFlip, RandomVerticalFlip, RandomRotation, RandomAffine, "
  .. "RandomCrop, RandomErasing, ColorJitter, GaussianNoise, Compose, affine, warp, mixup, cutmix")

return { augment = augment }
