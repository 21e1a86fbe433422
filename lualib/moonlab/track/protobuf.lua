--- moonlab.track.protobuf: the protobuf wire format, by hand, and the messages
-- of TensorBoard's event files built with it (the schema is TensorFlow's
-- event.proto, summary.proto, tensor.proto, histogram.proto and the hparams
-- plugin's api.proto and plugin_data.proto; a copy for protoc is in
-- tests/fixtures/tensorboard/). Fields are written in field-number order and
-- proto3 defaults (0, "", empty) are left out unless they belong to a oneof,
-- so the bytes equal python-protobuf's SerializeToString(deterministic=True).
-- Every message is a few short strings: nothing here loops per element of a
-- tensor (histogram buckets come packed from C).
local ml = require "moonlab"

local pack, concat = string.pack, table.concat
local pb = {}

-- ---- wire format ----------------------------------------------------------------

local VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5

--- pb.varint(n) -> string: n (a Lua integer; negative ones as 10-byte two's complement) as a base-128 varint
local char = string.char
function pb.varint(n)
  if n >= 0 and n < 0x80 then return char(n) end -- keys, small sizes and enums: most varints
  if n >= 0 and n < 0x4000 then return char((n & 0x7f) | 0x80, n >> 7) end
  local out = {}
  while math.ult(0x7f, n) do
    out[#out + 1] = char((n & 0x7f) | 0x80)
    n = n >> 7 -- logical shift: negative numbers end after 10 bytes
  end
  out[#out + 1] = char(n)
  return concat(out)
end
local varint = pb.varint

local KEYS = {} -- field << 3 | wire -> its encoded key, made once
local function key(field, wire)
  local k = field << 3 | wire
  local s = KEYS[k]
  if not s then s = varint(k); KEYS[k] = s end
  return s
end

--- pb.uint(field, n, [always]) -> string: an int32/int64/enum/bool field (left out when 0 unless always)
function pb.uint(field, n, always)
  if n == nil or (n == 0 and not always) then return "" end
  if n == true then n = 1 elseif n == false then n = 0 end
  return key(field, VARINT) .. varint(n)
end

--- pb.double(field, x, [always]) -> string: a double field (fixed64, left out when 0 unless always)
function pb.double(field, x, always)
  if x == nil or (x == 0 and not always) then return "" end
  return key(field, FIXED64) .. pack("<d", x)
end

--- pb.float(field, x, [always]) -> string: a float field (fixed32)
function pb.float(field, x, always)
  if x == nil or (x == 0 and not always) then return "" end
  return key(field, FIXED32) .. pack("<f", x)
end

--- pb.bytes(field, s, [always]) -> string: a string, bytes or embedded-message field (left out when empty unless always)
function pb.bytes(field, s, always)
  if s == nil or (s == "" and not always) then return "" end
  return key(field, BYTES) .. varint(#s) .. s
end

-- ---- TensorFlow's messages --------------------------------------------------------

pb.DT_FLOAT, pb.DT_DOUBLE, pb.DT_STRING = 1, 2, 7

--- pb.event{wall_time, step, file_version | summary} -> bytes of an Event
function pb.event(e)
  return pb.double(1, e.wall_time) .. pb.uint(2, e.step) .. pb.bytes(3, e.file_version, e.file_version ~= nil)
    .. pb.bytes(5, e.summary, e.summary ~= nil)
end

--- pb.summary({value_bytes...}) -> bytes of a Summary
function pb.summary(values)
  local out = {}
  for i, v in ipairs(values) do out[i] = pb.bytes(1, v, true) end
  return concat(out)
end

--- pb.metadata(plugin_name, [content], [data_class]) -> bytes of a SummaryMetadata
function pb.metadata(plugin, content, data_class)
  return pb.bytes(1, pb.bytes(1, plugin) .. pb.bytes(2, content), true) .. pb.uint(4, data_class)
end

--- pb.value{tag, simple_value | image | histo | tensor, metadata} -> bytes of a Summary.Value (image, histo, tensor, metadata: message bytes)
function pb.value(v)
  return pb.bytes(1, v.tag) .. pb.float(2, v.simple_value, v.simple_value ~= nil)
    .. pb.bytes(4, v.image, v.image ~= nil) .. pb.bytes(5, v.histo, v.histo ~= nil)
    .. pb.bytes(8, v.tensor, v.tensor ~= nil) .. pb.bytes(9, v.metadata, v.metadata ~= nil)
end

--- pb.histogram{min, max, num, sum, sum_squares, bucket_limit, bucket} -> bytes of a HistogramProto (the two lists as packed doubles)
function pb.histogram(h)
  return pb.double(1, h.min) .. pb.double(2, h.max) .. pb.double(3, h.num) .. pb.double(4, h.sum)
    .. pb.double(5, h.sum_squares) .. pb.bytes(6, h.bucket_limit) .. pb.bytes(7, h.bucket)
end

--- pb.image{height, width, colorspace, png} -> bytes of a Summary.Image
function pb.image(im)
  return pb.uint(1, im.height) .. pb.uint(2, im.width) .. pb.uint(3, im.colorspace) .. pb.bytes(4, im.png)
end

--- pb.tensor{dtype, dims = {sizes} | nil, float_val | double_val (packed bytes), string_val = {s...}} -> bytes of a TensorProto
function pb.tensor(t)
  local shape
  if t.dims then
    local dims = {}
    for i, n in ipairs(t.dims) do dims[i] = pb.bytes(2, pb.uint(1, n), true) end
    shape = concat(dims)
  end
  local strings = {}
  for i, s in ipairs(t.string_val or {}) do strings[i] = pb.bytes(8, s, true) end
  return pb.uint(1, t.dtype) .. pb.bytes(2, shape, shape ~= nil) .. pb.bytes(5, t.float_val)
    .. pb.bytes(6, t.double_val) .. concat(strings)
end

-- ---- the hparams plugin (tensorboard.hparams) ----------------------------------------

pb.HP_STRING, pb.HP_BOOL, pb.HP_FLOAT64 = 1, 2, 3
pb.STATUS_SUCCESS, pb.STATUS_FAILURE, pb.STATUS_RUNNING = 1, 2, 3

--- pb.struct_value(x) -> bytes of a google.protobuf.Value: a number, string or boolean
function pb.struct_value(x)
  if type(x) == "number" then return pb.double(2, x, true) end
  if type(x) == "string" then return pb.bytes(3, x, true) end
  return pb.uint(4, x, true)
end

--- pb.experiment{time_created_secs, hparams = {{name, type}...}, metrics = {{group, tag}...}} -> bytes of an Experiment
function pb.experiment(x)
  local out = { pb.double(3, x.time_created_secs) }
  for _, h in ipairs(x.hparams) do out[#out + 1] = pb.bytes(4, pb.bytes(1, h.name) .. pb.uint(4, h.type), true) end
  for _, m in ipairs(x.metrics) do
    out[#out + 1] = pb.bytes(5, pb.bytes(1, pb.bytes(1, m.group) .. pb.bytes(2, m.tag), true), true)
  end
  return concat(out)
end

--- pb.session_start{hparams = {{name, value}...} (sorted by name), group_name, start_time_secs} -> bytes of a SessionStartInfo
function pb.session_start(s)
  local out = {}
  for _, h in ipairs(s.hparams) do
    out[#out + 1] = pb.bytes(1, pb.bytes(1, h.name, true) .. pb.bytes(2, pb.struct_value(h.value), true), true)
  end
  return concat(out) .. pb.bytes(4, s.group_name) .. pb.double(5, s.start_time_secs)
end

--- pb.session_end{status, end_time_secs} -> bytes of a SessionEndInfo
function pb.session_end(s) return pb.uint(1, s.status) .. pb.double(2, s.end_time_secs) end

--- pb.hparams_data(field, message) -> bytes of an HParamsPluginData (version 0): field 2 experiment, 3 session start, 4 session end
function pb.hparams_data(field, msg) return pb.bytes(field, msg, true) end

-- The docstrings (ml.help) are the one-line comments above each function.
local DOCS = {
  varint = "track.protobuf.varint(n) -> string: n (a Lua integer; negative ones as 10-byte two's complement) as a base-128 varint",
  uint = "track.protobuf.uint(field, n, [always]) -> string: an int32/int64/enum/bool field (left out when 0 unless always)",
  double = "track.protobuf.double(field, x, [always]) -> string: a double field (fixed64, left out when 0 unless always)",
  float = "track.protobuf.float(field, x, [always]) -> string: a float field (fixed32)",
  bytes = "track.protobuf.bytes(field, s, [always]) -> string: a string, bytes or embedded-message field (left out when empty unless always)",
  event = "track.protobuf.event{wall_time, step, file_version | summary} -> bytes of an Event",
  summary = "track.protobuf.summary({value_bytes...}) -> bytes of a Summary",
  metadata = "track.protobuf.metadata(plugin_name, [content], [data_class]) -> bytes of a SummaryMetadata",
  value = "track.protobuf.value{tag, simple_value | image | histo | tensor, metadata} -> bytes of a Summary.Value (image, histo, tensor, metadata: message bytes)",
  histogram = "track.protobuf.histogram{min, max, num, sum, sum_squares, bucket_limit, bucket} -> bytes of a HistogramProto (the two lists as packed doubles)",
  image = "track.protobuf.image{height, width, colorspace, png} -> bytes of a Summary.Image",
  tensor = "track.protobuf.tensor{dtype, dims = {sizes} | nil, float_val | double_val (packed bytes), string_val = {s...}} -> bytes of a TensorProto",
  struct_value = "track.protobuf.struct_value(x) -> bytes of a google.protobuf.Value: a number, string or boolean",
  experiment = "track.protobuf.experiment{time_created_secs, hparams = {{name, type}...}, metrics = {{group, tag}...}} -> bytes of an Experiment",
  session_start = "track.protobuf.session_start{hparams = {{name, value}...} (sorted by name), group_name, start_time_secs} -> bytes of a SessionStartInfo",
  session_end = "track.protobuf.session_end{status, end_time_secs} -> bytes of a SessionEndInfo",
  hparams_data = "track.protobuf.hparams_data(field, message) -> bytes of an HParamsPluginData (version 0): field 2 experiment, 3 session start, 4 session end",
}
for name, text in pairs(DOCS) do ml.doc(pb[name], text) end

return pb
