-- TensorBoard event files (track.TensorBoard, callbacks.TensorBoard): CRC-32C
-- against RFC 3720's vectors and a hand-computed mask; every message's bytes
-- against python-protobuf's (tests/fixtures/tensorboard/vectors.json, from
-- scripts/gen_tensorboard_fixtures.py); the files read back by a decoder
-- written here and, where python3-protobuf and protoc are installed, by
-- scripts/decode_tfevents.py, field by field; fit's scalars equal its history.
local pb = require "moonlab.track.protobuf"
local K = ml._tensorboard
local V = ml.json.decode(T.read_file("tests/fixtures/tensorboard/vectors.json"))
T.eq(V.version, 1, "fixture version")

local function unhex(h) return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end)) end
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
local function f32(x) return (string.unpack("<f", string.pack("<f", x))) end

-- ---- a protobuf and TFRecord decoder of our own ------------------------------------

local function varint(s, i)
  local n, shift, b = 0, 0, nil
  repeat
    b = s:byte(i); i = i + 1
    n = n | ((b & 0x7f) << shift); shift = shift + 7
  until b < 0x80
  return n, i
end

-- {[field] = {raw values in order}}: varints as integers, fixed as byte strings, length-delimited as strings.
local function fields(s)
  local out, i = {}, 1
  while i <= #s do
    local key; key, i = varint(s, i)
    local num, wire, v = key >> 3, key & 7, nil
    if wire == 0 then v, i = varint(s, i)
    elseif wire == 1 then v = s:sub(i, i + 7); i = i + 8
    elseif wire == 5 then v = s:sub(i, i + 3); i = i + 4
    elseif wire == 2 then local n; n, i = varint(s, i); v = s:sub(i, i + n - 1); i = i + n
    else error("wire type " .. wire) end
    T.ok(i <= #s + 1, "a field runs past its message")
    out[num] = out[num] or {}
    table.insert(out[num], v)
  end
  return out
end
local function one(f, n) return f[n] and f[n][#f[n]] end
local function dbl(f, n) local v = one(f, n); return v and string.unpack("<d", v) or 0.0 end
local function int(f, n) return one(f, n) or 0 end
local function str(f, n) return one(f, n) or "" end
local function packed(s, code, size)
  local out = {}
  for i = 1, #(s or ""), size do out[#out + 1] = string.unpack(code, s, i) end
  return out
end

local function struct_value(s)
  local f = fields(s)
  if f[2] then return dbl(f, 2) elseif f[3] then return str(f, 3) else return int(f, 4) ~= 0 end
end

local function hparams_content(s)
  local f = fields(s)
  local out = { version = int(f, 1) }
  if f[2] then
    local x = fields(one(f, 2))
    local hps, ms = {}, {}
    for _, h in ipairs(x[4] or {}) do local g = fields(h); hps[#hps + 1] = { name = str(g, 1), type = int(g, 4) } end
    for _, m in ipairs(x[5] or {}) do local g = fields(str(fields(m), 1)); ms[#ms + 1] = { group = str(g, 1), tag = str(g, 2) } end
    out.data, out.experiment = "experiment", { time_created_secs = dbl(x, 3), hparam_infos = hps, metric_infos = ms }
  elseif f[3] then
    local x = fields(one(f, 3))
    local hp = {}
    for _, e in ipairs(x[1] or {}) do local g = fields(e); hp[str(g, 1)] = struct_value(str(g, 2)) end
    out.data, out.session_start_info = "session_start_info", { hparams = hp, group_name = str(x, 4), start_time_secs = dbl(x, 5) }
  elseif f[4] then
    local x = fields(one(f, 4))
    out.data, out.session_end_info = "session_end_info", { status = int(x, 1), end_time_secs = dbl(x, 2) }
  end
  return out
end

-- A Summary.Value as scripts/decode_tfevents.py spells it.
local function value_of(s)
  local f = fields(s)
  local d = { tag = str(f, 1) }
  if f[2] then d.kind, d.simple_value = "simple_value", (string.unpack("<f", one(f, 2)))
  elseif f[5] then
    local h = fields(one(f, 5))
    d.kind, d.histo = "histo", { min = dbl(h, 1), max = dbl(h, 2), num = dbl(h, 3), sum = dbl(h, 4), sum_squares = dbl(h, 5),
      bucket_limit = packed(one(h, 6), "<d", 8), bucket = packed(one(h, 7), "<d", 8) }
  elseif f[4] then
    local im = fields(one(f, 4))
    d.kind, d.image = "image", { height = int(im, 1), width = int(im, 2), colorspace = int(im, 3), png_hex = hex(str(im, 4)) }
  elseif f[8] then
    local t = fields(one(f, 8))
    local dims = {}
    for _, dim in ipairs(fields(str(t, 2))[2] or {}) do dims[#dims + 1] = int(fields(dim), 1) end
    d.kind, d.tensor = "tensor", { dtype = int(t, 1), dims = dims, float_val = packed(one(t, 5), "<f", 4),
      double_val = packed(one(t, 6), "<d", 8), string_val = t[8] or {} }
  end
  if f[9] then
    local m = fields(one(f, 9))
    local p = fields(str(m, 1))
    d.metadata = { plugin_name = str(p, 1), content_hex = hex(str(p, 2)), data_class = int(m, 4) }
    if d.metadata.plugin_name == "hparams" then d.metadata.hparams = hparams_content(str(p, 2)) end
  end
  return d
end

local function event_of(s)
  local f = fields(s)
  local e = { wall_time = dbl(f, 1), step = int(f, 2) }
  if f[3] then e.file_version = str(f, 3) end
  if f[5] then
    e.summary = {}
    for _, v in ipairs(fields(one(f, 5))[1] or {}) do e.summary[#e.summary + 1] = value_of(v) end
  end
  return e
end

-- The records of a file, framing and CRCs checked here (CRC-32C itself is checked against RFC 3720 below).
local function masked(s) return K.masked_crc32c(s) end
local function read_events(path)
  local blob, out, i = T.read_file(path), {}, 1
  while i <= #blob do
    T.ok(#blob - i + 1 >= 12, "a cut record header")
    local len, hcrc = string.unpack("<I8I4", blob, i)
    T.eq(hcrc, masked(blob:sub(i, i + 7)), "length CRC")
    local data = blob:sub(i + 12, i + 11 + len)
    T.eq(#data, len, "a cut record")
    T.eq(string.unpack("<I4", blob, i + 12 + len), masked(data), "data CRC")
    out[#out + 1] = event_of(data)
    i = i + 16 + len
  end
  return out
end

local function same(a, b, path)
  path = path or "event"
  if type(a) == "table" and type(b) == "table" then
    for k, v in pairs(a) do same(v, b[k], path .. "." .. tostring(k)) end
    for k, v in pairs(b) do if a[k] == nil then same(nil, v, path .. "." .. tostring(k)) end end
  else
    T.ok(a == b, string.format("%s: %s vs %s", path, tostring(a), tostring(b)))
  end
end

local function events_file(dir)
  local names = {}
  for _, n in ipairs(T.listdir(dir)) do if n:match("^events%.out%.tfevents%.") then names[#names + 1] = n end end
  T.eq(#names, 1, "one event file in " .. dir)
  return dir .. "/" .. names[1]
end

local HAVE_PY = (function()
  local f = io.open("/usr/bin/python3")
  if not f then return false end
  f:close()
  return os.execute("command -v protoc >/dev/null 2>&1 && /usr/bin/python3 -c 'import google.protobuf' 2>/dev/null") == true
end)()

local function python_events(paths)
  local out = T.tmpname(".json")
  local q = {}
  for i, p in ipairs(paths) do q[i] = T.quote(p) end
  T.ok(os.execute("/usr/bin/python3 scripts/decode_tfevents.py " .. table.concat(q, " ") .. " > " .. T.quote(out)) == true,
    "decode_tfevents.py failed")
  return ml.json.decode(T.read_file(out))
end

-- ---- CRC-32C and framing ---------------------------------------------------------

T.test("CRC-32C: RFC 3720 B.4 vectors, both code paths, and the mask by hand", function()
  for _, c in ipairs(V.crc32c) do
    local s = unhex(c.hex)
    T.eq(K.crc32c(s), c.crc, c.name)
    T.eq(K.crc32c_table(s), c.crc, c.name .. " (table)")
    T.eq(K.masked_crc32c(s), c.masked, c.name .. " (masked)")
  end
  T.eq(K.crc32c("123456789"), 0xE3069283)
  -- by hand: ((0xE3069283 >> 15) | (0xE3069283 << 17)) mod 2^32 = 0x0001C60D | 0x25060000 = 0x2507C60D; + 0xA282EAD8 = 0xC78AB0E5
  T.eq(K.masked_crc32c("123456789"), 0xC78AB0E5)
  T.eq(K.crc32c("6789", K.crc32c("12345")), 0xE3069283, "continued")
  T.eq(K.crc32c(""), 0)
  ml.seed(3)
  local bytes = ml.randint(0, 256, { 300 }):tolist()
  local s = string.char(table.unpack(bytes))
  for n = 0, 300, 7 do -- every alignment and tail length of the 8-byte steps
    for off = 1, 3 do
      local piece = s:sub(off, off + n - 1)
      T.eq(K.crc32c(piece), K.crc32c_table(piece), "length " .. n)
    end
  end
end)

T.test("TFRecord framing equals the Python framing of the same bytes", function()
  for _, e in ipairs(V.events) do
    T.eq(hex(K.frame(unhex(e.hex))), e.record_hex, e.name)
  end
  local recs = K.records(K.frame("a") .. K.frame("") .. K.frame(string.rep("x", 1000)))
  T.eq(#recs, 3); T.eq(recs[1], "a"); T.eq(recs[2], ""); T.eq(#recs[3], 1000)
  local bad = K.frame("hello"):sub(1, -2) .. "\0"
  local r, err = K.records(bad)
  T.eq(r, nil); T.ok(err:find("CRC", 1, true), err)
  r, err = K.records(K.frame("hello"):sub(1, 15))
  T.eq(r, nil); T.ok(err:find("cut", 1, true), err)
end)

-- ---- the messages' bytes against python-protobuf's ----------------------------------------

local vec = {}
for _, e in ipairs(V.events) do vec[e.name] = e end

local function summary_event(wall, step, value) return pb.event { wall_time = wall, step = step, summary = pb.summary { value } } end

T.test("Event bytes: file_version, scalars (float and double), text", function()
  T.eq(hex(pb.event { wall_time = 1700000000.25, file_version = "brain.Event:2" }), vec.file_version.hex)
  T.eq(hex(summary_event(1700000001.5, 3, pb.value { tag = "loss", simple_value = 0.125 })), vec.scalar.hex)
  T.eq(hex(summary_event(1700000002.0, 0, pb.value { tag = "epoch_loss", simple_value = 0.0 })), vec.scalar_zero.hex)
  T.eq(hex(summary_event(1700000003.0, 12, pb.value { tag = "val/acc", metadata = pb.metadata("scalars", nil, 1),
    tensor = pb.tensor { dtype = pb.DT_DOUBLE, double_val = string.pack("<d", 0.8751) } })), vec.scalar_double.hex)
  T.eq(hex(summary_event(1700000006.0, 1, pb.value { tag = "notes", metadata = pb.metadata("text", nil, 2),
    tensor = pb.tensor { dtype = pb.DT_STRING, dims = { 1 }, string_val = { "hello *w\u{f6}rld*" } } })), vec.text.hex)
  -- the C encoder of scalar events (what the writer uses) makes the same bytes
  T.eq(hex(K.scalars_record(1700000001.5, 3, { "loss" }, { 0.125 })), vec.scalar.record_hex)
  T.eq(hex(K.scalars_record(1700000002.0, 0, { "epoch_loss" }, { 0.0 })), vec.scalar_zero.record_hex)
  T.eq(hex(K.scalars_record(1700000003.0, 12, { "val/acc" }, { 0.8751 }, true)), vec.scalar_double.record_hex)
  local function lua_scalars(wall, step, tags, values, double)
    local out = {}
    for i, tag in ipairs(tags) do
      out[i] = double and pb.value { tag = tag, metadata = pb.metadata("scalars", nil, 1),
        tensor = pb.tensor { dtype = pb.DT_DOUBLE, double_val = string.pack("<d", values[i]) } }
        or pb.value { tag = tag, simple_value = values[i] }
    end
    return K.frame(pb.event { wall_time = wall, step = step, summary = pb.summary(out) })
  end
  local tags, values = { "a", string.rep("t", 200), "c" }, { 1, -2.5e-7, 1e30 }
  T.eq(K.scalars_record(1.25, 300, tags, values), lua_scalars(1.25, 300, tags, values))
  T.eq(K.scalars_record(1.25, 2 ^ 40 // 1, tags, values, true), lua_scalars(1.25, 2 ^ 40 // 1, tags, values, true))
  T.eq(hex(pb.varint(-1)), "ffffffffffffffffff01")
  T.eq(hex(pb.varint(300)), "ac02")
end)

T.test("Event bytes: a histogram counted in C equals TensorFlow's, re-implemented in Python", function()
  local e = vec.histogram
  local x = ml.tensor(e.inputs.values, { dtype = "float64" })
  local lim, counts, mn, mx, num, sum, sq = K.histogram(x)
  local got = summary_event(1700000004.0, 5, pb.value { tag = "dense/weight", histo = pb.histogram {
    min = mn, max = mx, num = num, sum = sum, sum_squares = sq, bucket_limit = lim, bucket = counts } })
  T.eq(hex(got), e.hex)
  T.eq(K.default_limits():size(1), 1551)
  -- at the limits' edges (every 7th limit, just above and below, negated; infinities, a subnormal, -0)
  local lims, vals = K.default_limits():tolist(), {}
  for i = 2, #lims - 1, 7 do
    local v = lims[i]
    for _, x in ipairs({ v, v * (1 + 1e-15), v * (1 - 1e-15), -v }) do vals[#vals + 1] = x end
  end
  for _, x in ipairs({ math.huge, -math.huge, 5e-324, -0.0, 1.7976931348623157e308 }) do vals[#vals + 1] = x end
  local el, ec = K.histogram(ml.tensor(vals, { dtype = "float64" }))
  T.eq(hex(summary_event(1.0, 1, pb.value { tag = "edges", histo = pb.histogram { min = 0, max = 0, num = #vals + 0.0,
    sum = 0, sum_squares = 0, bucket_limit = el, bucket = ec } })), vec.histogram_edges.hex)
  -- float32 and int64 inputs count the same values the same way
  local l32, c32 = K.histogram(ml.tensor({ 0.5, -0.5, 2 }, { dtype = "float32" }))
  local l64, c64 = K.histogram(ml.tensor({ 0.5, -0.5, 2 }, { dtype = "float64" }))
  T.eq(l32, l64); T.eq(c32, c64)
  local _, ci = K.histogram(ml.tensor({ 1, 2, 2 }))
  T.eq(#ci, 8 * 5, "int64: empty run, bucket of 1, empty run, bucket of the two 2s, empty run")
  -- empty: one bucket {DBL_MAX: 0}
  local le, ce = K.histogram(ml.zeros(0))
  T.eq(string.unpack("<d", le), math.huge > 0 and 1.7976931348623157e308); T.eq(string.unpack("<d", ce), 0.0)
end)

T.test("Event bytes: an image and the hparams plugin's three summaries", function()
  T.eq(hex(summary_event(1700000005.0, 2, pb.value { tag = "samples", image = pb.image { height = 28, width = 56, colorspace = 3,
    png = unhex(vec.image.inputs.png_hex) } })), vec.image.hex)
  local null = pb.tensor { dtype = pb.DT_FLOAT, dims = {}, float_val = string.pack("<f", 0) }
  local function hpv(tag, field, msg)
    return pb.value { tag = tag, tensor = null, metadata = pb.metadata("hparams", pb.hparams_data(field, msg)) }
  end
  local exp = pb.experiment { time_created_secs = 1700000007.0,
    hparams = { { name = "batch_norm", type = pb.HP_BOOL }, { name = "lr", type = pb.HP_FLOAT64 }, { name = "optimizer", type = pb.HP_STRING } },
    metrics = { { group = "", tag = "accuracy" }, { group = "", tag = "loss" } } }
  T.eq(hex(summary_event(1700000007.0, 0, hpv("_hparams_/experiment", 2, exp))), vec.hparams_experiment.hex)
  local ssi = pb.session_start { start_time_secs = 1700000007.0, hparams = { { name = "batch_norm", value = false },
    { name = "lr", value = 0.001 }, { name = "optimizer", value = "adam" } } }
  T.eq(hex(summary_event(1700000007.0, 0, hpv("_hparams_/session_start_info", 3, ssi))), vec.hparams_session_start.hex)
  local sei = pb.session_end { status = pb.STATUS_SUCCESS, end_time_secs = 1700000008.5 }
  T.eq(hex(summary_event(1700000008.5, 0, hpv("_hparams_/session_end_info", 4, sei))), vec.hparams_session_end.hex)
end)

T.test("the decoder here reads the fixtures' bytes as the Python classes wrote them", function()
  local e = event_of(unhex(vec.histogram.hex))
  T.eq(e.step, 5); T.eq(e.summary[1].tag, "dense/weight")
  T.eq(e.summary[1].histo.num, 10.0); T.eq(e.summary[1].histo.min, -2e5); T.eq(e.summary[1].histo.max, 7.5)
  local t = event_of(unhex(vec.text.hex)).summary[1]
  T.eq(t.tensor.string_val[1], "hello *w\u{f6}rld*"); T.eq(t.tensor.dims[1], 1); T.eq(t.metadata.plugin_name, "text")
  local s = event_of(unhex(vec.hparams_session_start.hex)).summary[1].metadata.hparams.session_start_info
  T.eq(s.hparams.lr, 0.001); T.eq(s.hparams.optimizer, "adam"); T.eq(s.hparams.batch_norm, false)
end)

-- ---- the writer -------------------------------------------------------------------------

-- A file with every kind of summary; returns its path and what went in.
local function write_all(dir)
  ml.seed(7)
  local tb = ml.track.TensorBoard(dir)
  local w = ml.randn(50, 20)
  local img = ml.rand(3, 6, 5)
  tb:scalar("loss", 0.3125, 1)
  tb:scalar("loss", 1 / 3, 2)
  tb:scalars({ acc = 0.75, lr = 1e-3 }, 2)
  tb:histogram("fc/weight", w, 3)
  tb:histogram("few", { 1, 2, 2, 5 }, 3, { bins = 4 })
  tb:image("img", img, 4)
  tb:image("batch", ml.rand(4, 1, 3, 3), 4)
  tb:text("notes", "**bold** and \u{e9}", 5)
  tb:hparams({ lr = 0.01, optimizer = "sgd", bn = true }, { accuracy = 0.875 }, { step = 5 })
  tb:close()
  return events_file(dir), { w = w, img = img }
end

T.test("writer: the file starts with brain.Event:2 and holds every summary, field by field", function()
  local dir = T.tmpdir() .. "/logs/run"
  local path, inp = write_all(dir)
  T.ok(path:match("/events%.out%.tfevents%.%d+%.[^/]+%.%d+%.%d+$"), path)
  local ev = read_events(path)
  T.eq(#ev, 13)
  T.eq(ev[1].file_version, "brain.Event:2"); T.ok(math.abs(ev[1].wall_time - os.time()) < 60)
  local function v(i) return ev[i].summary[1] end
  T.eq(ev[2].step, 1); T.eq(v(2).tag, "loss"); T.eq(v(2).simple_value, 0.3125)
  T.eq(v(3).simple_value, f32(1 / 3))
  T.eq(ev[4].summary[1].tag, "acc"); T.eq(ev[4].summary[2].tag, "lr"); T.eq(ev[4].summary[2].simple_value, f32(1e-3))
  local h = v(5).histo
  T.eq(ev[5].step, 3); T.eq(h.num, 1000.0)
  T.near(h.min, inp.w:min():item(), 0); T.near(h.max, inp.w:max():item(), 0)
  T.near(h.sum, inp.w:double():sum():item(), 1e-9); T.near(h.sum_squares, (inp.w:double() ^ 2):sum():item(), 1e-9)
  local total = 0
  for _, c in ipairs(h.bucket) do total = total + c end
  T.eq(total, 1000.0)
  for i = 2, #h.bucket_limit do T.ok(h.bucket_limit[i] > h.bucket_limit[i - 1], "limits increase") end
  local few = v(6).histo -- 4 equal-width bins over [1, 5]: edges 2, 3, 4, 5
  same(few.bucket_limit, { 2, 3, 4, 5 }, "few.limits"); same(few.bucket, { 1, 2, 0, 1 }, "few.counts") -- 5 falls in the last bucket
  local im = v(7).image
  T.eq(im.height, 6); T.eq(im.width, 5); T.eq(im.colorspace, 3)
  local png = T.tmpname(".png")
  T.write_file(png, unhex(im.png_hex))
  T.all_near(ml.image.load_png(png), inp.img, 0.5 / 255 + 1e-6) -- 8-bit rounding
  local grid = v(8).image
  T.eq(grid.colorspace, 3); T.eq(grid.height, 3 + 4); T.eq(grid.width, 4 * 3 + 5 * 2)
  local text = v(9)
  T.eq(text.tensor.dtype, 7); T.eq(text.tensor.string_val[1], "**bold** and \u{e9}"); T.eq(text.metadata.plugin_name, "text")
  local x = v(10).metadata.hparams.experiment
  same(x.hparam_infos, { { name = "bn", type = 2 }, { name = "lr", type = 3 }, { name = "optimizer", type = 1 } }, "hparam_infos")
  same(x.metric_infos, { { group = "", tag = "accuracy" } }, "metric_infos")
  T.eq(v(10).tag, "_hparams_/experiment")
  local s = v(11).metadata.hparams.session_start_info
  same(s.hparams, { bn = true, lr = 0.01, optimizer = "sgd" }, "session hparams")
  T.eq(ev[12].step, 5); T.eq(v(12).tag, "accuracy"); T.eq(v(12).simple_value, 0.875)
  T.eq(v(13).metadata.hparams.session_end_info.status, 1)
  T.ok(v(13).metadata.hparams.session_end_info.end_time_secs >= s.start_time_secs)
end)

T.test("writer: the Python reader (python3-protobuf, protoc's classes) decodes every field as the decoder here", function()
  if not HAVE_PY then print("  (skipped: /usr/bin/python3 with google.protobuf and protoc not found)"); return end
  local dir = T.tmpdir()
  local path = write_all(dir .. "/a")
  local tb = ml.track.TensorBoard(dir .. "/b", { precision = "float64" })
  tb:scalar("exact", 1 / 3, 7)
  tb:close()
  local path2 = events_file(dir .. "/b")
  local py = python_events({ path, path2 })
  same(read_events(path), py[1], "file a")
  local b = read_events(path2)
  same(b, py[2], "file b")
  T.eq(b[2].summary[1].tensor.double_val[1], 1 / 3, "float64 precision keeps the double")
  T.eq(b[2].summary[1].metadata.plugin_name, "scalars")
end)

T.test("writer: every write is flushed, so a file read mid-run holds whole records", function()
  local dir = T.tmpdir()
  local tb = ml.track.TensorBoard(dir)
  local path = tb.path
  for i = 1, 3 do
    tb:scalar("x", i, i)
    T.eq(#K.records(T.read_file(path)), i + 1)
  end
  tb:close(); tb:close()
  T.raises(function() tb:scalar("x", 1, 4) end, "is closed")
  -- two writers in one directory and second: different files
  local a, b = ml.track.TensorBoard(dir), ml.track.TensorBoard(dir)
  T.ok(a.path ~= b.path); a:close(); b:close()
end)

T.test("writer: clear errors", function()
  local dir = T.tmpdir()
  local tb = ml.track.TensorBoard(dir)
  T.raises(function() tb:scalar(3, 1.0, 1) end, "TensorBoard:scalar: tag must be a non-empty string, got 3")
  T.raises(function() tb:scalar("x", 1.0, 1.5) end, "TensorBoard:scalar: step must be an integer >= 0, got 1.5")
  T.raises(function() tb:scalar("x", 1.0, -1) end, "step must be an integer >= 0")
  T.raises(function() tb:scalar("x", "a", 1) end, "value of 'x' must be a number")
  T.raises(function() tb:scalars({ x = 1, [2] = 3 }, 1) end, "TensorBoard:scalars: tag must be a non-empty string")
  T.raises(function() tb:image("im", ml.rand(5), 1) end, "TensorBoard:image: expected an image [H, W], [C, H, W] or a batch [N, C, H, W], got a 1-D tensor")
  T.raises(function() tb:image("im", ml.rand(1, 1, 2, 2, 2), 1) end, "got a 5-D tensor")
  T.raises(function() tb:image("im", ml.rand(7, 4, 4), 1) end, "TensorBoard:image")
  T.raises(function() tb:image("im", dir .. "/nothing.png", 1) end, "TensorBoard:image: cannot read '" .. dir .. "/nothing.png'")
  T.raises(function() tb:image("im", 3, 1) end, "image must be a tensor or a PNG file's path")
  T.raises(function() tb:histogram("h", ml.tensor({ 1, 0 / 0 }), 1) end, "TensorBoard:histogram: the values hold NaN (element 2 of 2)")
  T.raises(function() tb:histogram("h", { 1 }, 1, { bins = 0 }) end, "bins")
  T.raises(function() tb:histogram("h", { 1 }, 1, { bin = 3 }) end, "did you mean 'bins'?")
  T.raises(function() tb:text("t", 5, 1) end, "TensorBoard:text: text must be a string")
  T.raises(function() tb:hparams({ lr = {} }, {}) end, "TensorBoard:hparams: param 'lr' must be a number, string or boolean")
  T.raises(function() tb:hparams({ lr = 1 }, { acc = "x" }) end, "metric 'acc' must be a number")
  T.raises(function() ml.track.TensorBoard(dir, { precison = "float64" }) end, "did you mean 'precision'?")
  T.raises(function() ml.track.TensorBoard(42) end, "track.TensorBoard: logdir must be a directory name")
  local file = dir .. "/plain"
  T.write_file(file, "x")
  T.raises(function() ml.track.TensorBoard(file .. "/sub") end, "track.TensorBoard: cannot create '" .. file .. "/sub'")
  if os.execute("[ $(id -u) -ne 0 ]") then -- root writes anywhere
    local ro = dir .. "/ro"
    lfs.mkdir(ro); os.execute("chmod 500 " .. T.quote(ro))
    T.raises(function() ml.track.TensorBoard(ro) end, "track.TensorBoard: cannot write in '" .. ro .. "'")
  end
  tb:close()
end)

T.test("writer: an image from a PNG file keeps the file's bytes and reads its size and colour type", function()
  local png = T.tmpname(".png")
  ml.image.save_png(ml.rand(4, 3, 7), png)
  local dir = T.tmpdir()
  local tb = ml.track.TensorBoard(dir)
  tb:image("file", png, 2)
  tb:image("grey", ml.rand(5, 9), 2)
  tb:close()
  local ev = read_events(events_file(dir))
  local im = ev[2].summary[1].image
  T.eq(im.height, 3); T.eq(im.width, 7); T.eq(im.colorspace, 4); T.eq(unhex(im.png_hex), T.read_file(png))
  local g = ev[3].summary[1].image
  T.eq(g.colorspace, 1); T.eq(g.height, 5); T.eq(g.width, 9)
end)

-- ---- the fit callback ----------------------------------------------------------------------

local function small_fit(cb, opts)
  ml.seed(11)
  local X = ml.randn(120, 4)
  local y = (X:select(2, 1) - X:select(2, 3)):gt(0):to("int64") + 1
  local m = ml.nn.Sequential { ml.nn.Linear(4, 6), ml.nn.ReLU(), ml.nn.Linear(6, 2) }
  m:compile { optimizer = ml.optim.Adam(m:parameters(), { lr = 0.01 }), loss = ml.nn.CrossEntropyLoss(),
    metrics = (opts or {}).metrics or { "accuracy" } }
  return m:fit(X, y, { epochs = 3, batch_size = 32, validation_split = ((opts or {}).val or 0.25) > 0 and ((opts or {}).val or 0.25) or nil, verbose = 0, callbacks = { cb } }), m
end

local function by_tag(events)
  local out = {}
  for _, e in ipairs(events) do
    for _, v in ipairs(e.summary or {}) do
      out[v.tag] = out[v.tag] or {}
      table.insert(out[v.tag], { step = e.step, v = v })
    end
  end
  return out
end

T.test("callbacks.TensorBoard: epoch scalars equal the history, train/ and validation/ as Keras", function()
  local dir = T.tmpdir()
  local h, m = small_fit(ml.callbacks.TensorBoard { log_dir = dir, histogram_freq = 2, write_images = true })
  local train = by_tag(read_events(events_file(dir .. "/train")))
  local val = by_tag(read_events(events_file(dir .. "/validation")))
  for _, k in ipairs({ "loss", "accuracy", "lr" }) do
    local pts = train["epoch_" .. k]
    T.eq(#pts, 3, k)
    for e = 1, 3 do T.eq(pts[e].step, e); T.eq(pts[e].v.simple_value, f32(h[k][e]), k .. " epoch " .. e) end
  end
  for _, k in ipairs({ "loss", "accuracy" }) do
    local pts = val["epoch_" .. k]
    T.eq(#pts, 3, "val " .. k)
    for e = 1, 3 do T.eq(pts[e].v.simple_value, f32(h["val_" .. k][e]), "val_" .. k .. " epoch " .. e) end
  end
  T.eq(train.epoch_val_loss, nil)
  -- histograms at epoch 2 only (histogram_freq = 2): every parameter and its gradient
  for _, np in ipairs(m:named_parameters()) do
    local tag = np[1]:gsub("%.", "/")
    T.eq(#train[tag], 1, tag); T.eq(train[tag][1].step, 2)
    T.eq(train[tag][1].v.histo.num, np[2]:numel() + 0.0)
    T.eq(#train[tag .. "_grad"], 1, tag .. "_grad")
  end
  local im = train["1/weight/image"][1].v.image -- [6, 4] shown wide side across: 4 x 6
  T.eq(im.height, 4); T.eq(im.width, 6); T.eq(im.colorspace, 1)
  T.eq(train["1/bias/image"], nil, "1-D weights have no image")
end)

T.test("callbacks.TensorBoard: batch scalars with update_freq, no validation folder without validation, errors", function()
  local dir = T.tmpdir()
  small_fit(ml.callbacks.TensorBoard { log_dir = dir, update_freq = 2 }, { val = 0 })
  T.eq(lfs.attributes(dir .. "/validation"), nil)
  local train = by_tag(read_events(events_file(dir .. "/train")))
  local pts = train.batch_loss
  T.eq(#pts, 6, "4 batches x 3 epochs, every 2nd") ; T.eq(pts[1].step, 2); T.eq(pts[6].step, 12)
  T.ok(train.batch_accuracy ~= nil)
  -- an epoch-level callback keeps fit's fused path (no batch hook)
  local h = small_fit(ml.callbacks.TensorBoard { log_dir = T.tmpdir() }, { metrics = {}, val = 0 })
  T.ok(h.fused_steps > 0, "fused steps " .. tostring(h.fused_steps))
  T.raises(function() ml.callbacks.TensorBoard { log_dir = dir, histogram_frequency = 1 } end, "did you mean 'histogram_freq'?")
  T.raises(function() ml.callbacks.TensorBoard { update_freq = 0 } end, "update_freq")
  T.raises(function() ml.callbacks.TensorBoard { write_images = 1 } end, "write_images must be a boolean")
  T.eq(ml.callbacks.TensorBoard("x").log_dir, "x")
end)
