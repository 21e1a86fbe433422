--- track.TensorBoard(logdir): writes TensorBoard event files (what
-- torch.utils.tensorboard's SummaryWriter and tf.summary write), so
-- `tensorboard --logdir DIR` shows the scalars, histograms, images, text and
-- hyperparameters with no TensorFlow installed.
--
--   local tb = ml.track.TensorBoard("logs/run1")
--   tb:scalar("loss", 0.31, 1); tb:histogram("fc/weight", model.fc.weight, 1)
--   tb:image("samples", X:narrow(1, 1, 16):view(16, 1, 28, 28), 1); tb:text("notes", "**lr** 0.01", 1)
--   tb:hparams({lr = 0.01, optimizer = "adam"}, {accuracy = 0.91}); tb:close()
--
-- A file logdir/events.out.tfevents.<time>.<host>.<pid>.<n> holds TFRecords
-- (runtime/io/tfrecord.c: length, masked CRC-32C, data, masked CRC-32C), each
-- an Event protobuf (track/protobuf.lua); the first says file_version
-- "brain.Event:2". Each write is flushed, so a killed run leaves whole records.
local ml = require "moonlab"
local Object = require("moonlab.core.class").Object
local checks = require "moonlab.core.checks"
local pb = require "moonlab.track.protobuf"
local fs = require "moonlab.core.fs"

local K = ml._tensorboard
local fail, fmt = checks.fail, string.format

local TensorBoard = Object:extend("track.TensorBoard")
local files_made = 0 -- the <n> of the file names, per process


--- TensorBoard(logdir, [{precision = "float32"}]): opens a new event file in logdir (made if missing)
function TensorBoard:init(logdir, opts)
  local fn = "track.TensorBoard"
  if type(logdir) ~= "string" or logdir == "" then
    fail(fmt("%s: logdir must be a directory name, got %s", fn, checks.show(logdir)))
  end
  opts = checks.options(fn, opts, { "precision" })
  self.precision = checks.one_of(fn, "precision", opts.precision, { "float32", "float64" }, "float32")
  fs.mkdir_p(fn, logdir)
  files_made = files_made + 1
  local now = K.wall_time()
  local name = fmt("events.out.tfevents.%010d.%s.%d.%d", math.floor(now), K.hostname(), ml._proc.getpid(), files_made)
  self.logdir, self.path = logdir, logdir .. "/" .. name
  local f, err = io.open(self.path, "wb")
  if not f then fail(fmt("%s: cannot write in '%s': %s", fn, logdir, tostring(err))) end
  self.file = f
  self:_write(pb.event { wall_time = now, file_version = "brain.Event:2" }, fn)
end

-- One framed record (bytes), flushed.
function TensorBoard:_put(record, fn)
  local f = self.file
  if not f then fail(fmt("%s: the writer of '%s' is closed", fn, self.path)) end
  local ok, err = f:write(record)
  if ok then ok, err = f:flush() end
  if not ok then fail(fmt("%s: cannot write '%s': %s", fn, self.path, tostring(err))) end
end

function TensorBoard:_write(event, fn) self:_put(K.frame(event), fn) end

local function check_tag(fn, tag)
  if type(tag) ~= "string" or tag == "" then fail(fmt("%s: tag must be a non-empty string, got %s", fn, checks.show(tag))) end
  return tag
end

local function check_step(fn, step)
  if step == nil then return 0 end
  local s = type(step) == "number" and math.tointeger(step) -- 3.0 is step 3, as checks.integer takes it
  if not s or s < 0 then fail(fmt("%s: step must be an integer >= 0, got %s", fn, checks.show(step))) end
  return s
end

-- A Summary event with the given values at step.
function TensorBoard:_summary(fn, values, step)
  self:_write(pb.event { wall_time = K.wall_time(), step = step, summary = pb.summary(values) }, fn)
end

local function scalar_number(fn, tag, value)
  if type(value) == "number" then return value end
  if ml.is_tensor(value) and value:numel() == 1 then return value:item() end
  fail(fmt("%s: value of '%s' must be a number, got %s", fn, tag, checks.show(value)))
end

-- An event of scalars only, encoded in C (runtime/io/tfevent.c: a fit logging per batch writes many): simple_value
-- (float32), or with precision float64 a DT_DOUBLE tensor of the scalars plugin.
function TensorBoard:_scalars_event(fn, tags, values, step)
  self:_put(K.scalars_record(K.wall_time(), step, tags, values, self.precision == "float64"), fn)
end

--- tb:scalar(tag, value, [step = 0]): one point of the scalar series tag
function TensorBoard:scalar(tag, value, step)
  local fn = "TensorBoard:scalar"
  check_tag(fn, tag)
  step = check_step(fn, step)
  self:_scalars_event(fn, { tag }, { scalar_number(fn, tag, value) }, step)
end

--- tb:scalars({tag = value, ...}, [step = 0]): several scalars in one event (tags in sorted order)
function TensorBoard:scalars(values, step)
  local fn = "TensorBoard:scalars"
  if type(values) ~= "table" then fail(fmt("%s: expected a table {tag = value}, got %s", fn, checks.show(values))) end
  step = check_step(fn, step)
  local tags = {}
  for k in pairs(values) do tags[#tags + 1] = check_tag(fn, k) end
  if #tags == 0 then return end
  if #tags > 256 then fail(fmt("%s: at most 256 scalars per event, got %d", fn, #tags)) end
  table.sort(tags)
  local out = {}
  for i, tag in ipairs(tags) do out[i] = scalar_number(fn, tag, values[tag]) end
  self:_scalars_event(fn, tags, out, step)
end

-- The values of x (a tensor or a list of numbers) as a contiguous detached tensor.
local function as_values(fn, x)
  if type(x) == "table" and not ml.is_tensor(x) then
    if #x == 0 then fail(fmt("%s: the values are an empty list", fn)) end
    x = ml.tensor(x, { dtype = "float64" })
  end
  if not ml.is_tensor(x) then fail(fmt("%s: values must be a tensor or a list of numbers, got %s", fn, checks.show(x))) end
  if x:dtype() == "bool" then x = x:to("int64") end
  return x:detach():contiguous()
end

--- tb:histogram(tag, values, [step = 0], [{bins = "tensorflow" | n}]): the distribution of a tensor's values
function TensorBoard:histogram(tag, values, step, opts)
  local fn = "TensorBoard:histogram"
  check_tag(fn, tag)
  step = check_step(fn, step)
  opts = checks.options(fn, opts, { "bins" })
  local x = as_values(fn, values)
  local limits -- nil: TensorFlow's default exponential buckets
  local bins = opts.bins or "tensorflow"
  if bins ~= "tensorflow" then
    bins = checks.integer(fn, "bins (\"tensorflow\" or a number of equal-width buckets)", bins, 1)
    if x:numel() > 0 then
      local lo, hi = x:min():item(), x:max():item()
      -- right edges of bins equal-width buckets over [lo, hi]; the last one takes hi itself
      limits = ml.linspace(lo, hi, bins + 1, { dtype = "float64" }):narrow(1, 2, bins):contiguous()
    end
  end
  local lim, counts, mn, mx, num, sum, sq = checks.call(K.histogram, x, limits)
  if num == 0 then mn, mx = 0, 0 end
  self:_summary(fn, { pb.value { tag = tag, histo = pb.histogram { min = mn, max = mx, num = num, sum = sum,
    sum_squares = sq, bucket_limit = lim, bucket = counts } } }, step)
end

-- PNG's colour types -> TensorBoard's colorspace (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA).
local COLORSPACE = { [0] = 1, [2] = 3, [3] = 3, [4] = 2, [6] = 4 }

local function png_file(fn, path)
  local f, err = io.open(path, "rb")
  if not f then fail(fmt("%s: cannot read '%s': %s", fn, path, tostring(err))) end
  local png = f:read("a")
  f:close()
  if #png < 33 or png:sub(1, 8) ~= "\137PNG\r\n\26\n" or png:sub(13, 16) ~= "IHDR" then
    fail(fmt("%s: '%s' is not a PNG file", fn, path))
  end
  local w, h, _, ctype = string.unpack(">I4I4BB", png, 17)
  return png, h, w, COLORSPACE[ctype] or 3
end

--- tb:image(tag, image, [step = 0], [opts]): an image: a [H, W], [C, H, W] or [N, C, H, W] (a grid) tensor, or a PNG file's path
function TensorBoard:image(tag, img, step, opts)
  local fn = "TensorBoard:image"
  check_tag(fn, tag)
  step = check_step(fn, step)
  local png, h, w, cs
  if type(img) == "string" then
    if opts ~= nil then fail(fmt("%s: options apply to a tensor, not to a PNG file ('%s')", fn, img)) end
    png, h, w, cs = png_file(fn, img)
  elseif ml.is_tensor(img) then
    local d = img:dim()
    if d < 2 or d > 4 then
      fail(fmt("%s: expected an image [H, W], [C, H, W] or a batch [N, C, H, W], got a %d-D tensor of shape [%s]", fn, d,
        table.concat(img:shape(), ", ")))
    end
    local encoded
    png, encoded = ml.image.encode_png(img, opts, fn)
    cs, h, w = encoded:size(1), encoded:size(2), encoded:size(3)
  else
    fail(fmt("%s: image must be a tensor or a PNG file's path, got %s", fn, checks.show(img)))
  end
  self:_summary(fn, { pb.value { tag = tag, image = pb.image { height = h, width = w, colorspace = cs, png = png } } }, step)
end

local TEXT_META = pb.metadata("text", nil, 2) -- DATA_CLASS_TENSOR

--- tb:text(tag, s, [step = 0]): a text (markdown) entry of the text plugin
function TensorBoard:text(tag, s, step)
  local fn = "TensorBoard:text"
  check_tag(fn, tag)
  step = check_step(fn, step)
  if type(s) ~= "string" then fail(fmt("%s: text must be a string, got %s", fn, checks.show(s))) end
  if not utf8.len(s) then fail(fmt("%s: text must be UTF-8", fn)) end
  self:_summary(fn, { pb.value { tag = tag, metadata = TEXT_META,
    tensor = pb.tensor { dtype = pb.DT_STRING, dims = { 1 }, string_val = { s } } } }, step)
end

-- The hparams plugin's summaries carry their data in the metadata and a null tensor.
local NULL_TENSOR = pb.tensor { dtype = pb.DT_FLOAT, dims = {}, float_val = string.pack("<f", 0) }
local function hp_value(tag, field, msg)
  return pb.value { tag = "_hparams_/" .. tag, tensor = NULL_TENSOR,
    metadata = pb.metadata("hparams", pb.hparams_data(field, msg)) }
end

local function sorted_keys(fn, what, t)
  if type(t) ~= "table" then fail(fmt("%s: %s must be a table {name = value}, got %s", fn, what, checks.show(t))) end
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" or k == "" then fail(fmt("%s: %s names must be non-empty strings, got %s", fn, what, checks.show(k))) end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

--- tb:hparams(params, metrics, [{step = 0, status = "success"}]): one session of the HPARAMS tab: the params (numbers, strings, booleans) and final metrics
function TensorBoard:hparams(params, metrics, opts)
  local fn = "TensorBoard:hparams"
  opts = checks.options(fn, opts, { "step", "status" })
  local step = check_step(fn, opts.step)
  local status = checks.one_of(fn, "status", opts.status, { "success", "failure", "running" }, "success")
  local pnames, mnames = sorted_keys(fn, "params", params), sorted_keys(fn, "metrics", metrics or {})
  local infos, values = {}, {}
  for i, k in ipairs(pnames) do
    local v, kind = params[k], type(params[k])
    local t = kind == "number" and pb.HP_FLOAT64 or kind == "string" and pb.HP_STRING or kind == "boolean" and pb.HP_BOOL
    if not t or v ~= v then fail(fmt("%s: param '%s' must be a number, string or boolean, got %s", fn, k, checks.show(v))) end
    infos[i], values[i] = { name = k, type = t }, { name = k, value = v }
  end
  local minfo = {}
  for i, k in ipairs(mnames) do
    if type(metrics[k]) ~= "number" then fail(fmt("%s: metric '%s' must be a number, got %s", fn, k, checks.show(metrics[k]))) end
    minfo[i] = { group = "", tag = k }
  end
  local now = K.wall_time()
  self:_summary(fn, { hp_value("experiment", 2, pb.experiment { time_created_secs = now, hparams = infos, metrics = minfo }) }, 0)
  self:_summary(fn, { hp_value("session_start_info", 3, pb.session_start { hparams = values, start_time_secs = now }) }, 0)
  if #mnames > 0 then
    local out = {}
    for i, k in ipairs(mnames) do out[i] = metrics[k] end
    self:_scalars_event(fn, mnames, out, step)
  end
  local code = ({ success = pb.STATUS_SUCCESS, failure = pb.STATUS_FAILURE, running = pb.STATUS_RUNNING })[status]
  self:_summary(fn, { hp_value("session_end_info", 4, pb.session_end { status = code, end_time_secs = K.wall_time() }) }, 0)
end

--- tb:flush(): a no-op kept for SummaryWriter's API (every write is flushed already)
function TensorBoard:flush()
  if self.file then self.file:flush() end
end

--- tb:close(): closes the file (idempotent); later writes are an error
function TensorBoard:close()
  if self.file then self.file:close(); self.file = nil end
end
TensorBoard.__close = TensorBoard.close
TensorBoard.__gc = TensorBoard.close

function TensorBoard:__tostring() return fmt("track.TensorBoard('%s')", self.path) end

ml.doc(TensorBoard, "track.TensorBoard(logdir, [{precision = 'float32' | 'float64'}]) — a TensorBoard event file writer " ..
  "(scalar, scalars, histogram, image, text, hparams, flush, close); 'float64' writes scalars as double tensors")
ml.doc(TensorBoard.init, "TensorBoard:init(logdir, [opts]) — the constructor: makes logdir and opens events.out.tfevents.<time>.<host>.<pid>.<n>")
ml.doc(TensorBoard.scalar, "tb:scalar(tag, value, [step = 0]) — one point of the scalar series tag (a number or a one-element tensor)")
ml.doc(TensorBoard.scalars, "tb:scalars({tag = value, ...}, [step = 0]) — several scalars in one event")
ml.doc(TensorBoard.histogram, "tb:histogram(tag, values, [step = 0], [{bins = 'tensorflow' | n}]) — a histogram of a tensor's (or a list's) values: " ..
  "TensorFlow's exponential buckets (1e-12 growing by 10%) or n equal-width ones; counted in C")
ml.doc(TensorBoard.image, "tb:image(tag, image, [step = 0], [opts]) — an image: [H, W], [C, H, W] (C = 1..4) or [N, C, H, W] (a grid) floats in [0, 1] " ..
  "or int64 0..255 (opts as ml.image.save_png's), or the path of a PNG file")
ml.doc(TensorBoard.text, "tb:text(tag, s, [step = 0]) — a text (markdown) entry of the text plugin")
ml.doc(TensorBoard.hparams, "tb:hparams(params, metrics, [{step, status}]) — a session of the HPARAMS tab: params (numbers, strings, booleans) " ..
  "and metrics (also written as scalars at step)")
ml.doc(TensorBoard.flush, "tb:flush() — flushes the file (every write is flushed already)")
ml.doc(TensorBoard.close, "tb:close() — closes the event file; later writes are an error")

return { TensorBoard = TensorBoard }
