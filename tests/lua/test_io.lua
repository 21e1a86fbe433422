-- ml.save / ml.load: safetensors and .npy, round trips, NumPy-written
-- fixtures (scripts/gen_io_fixtures.py), and damaged files that must fail
-- with a clean "ml.load: ..." error.

local FIX = "tests/fixtures/io/"
local expected = dofile(FIX .. "expected.lua")

-- ---- helpers ---------------------------------------------------------------

local DIR = T.tmpdir()
local function tmp(name) return DIR .. "/" .. name end

local read_bytes = T.read_file

local write_bytes = T.write_file

local listdir = T.listdir

local function dtype_of(t)
  local d = t.dtype
  if type(d) == "function" then d = t:dtype() end
  return d
end

local flatten = T.flatten

local function norm(v)
  if type(v) == "boolean" then return v and 1 or 0 end
  return v
end

-- Exact comparison: dtype, shape, and every value (NaN equals NaN; the sign
-- of zero counts).
local function check(t, dtype, shape, values, what)
  what = what or "tensor"
  T.eq(dtype_of(t), dtype, what .. ": dtype")
  T.eq(table.concat(t:shape(), ","), table.concat(shape, ","), what .. ": shape")
  local got = flatten(t:tolist())
  T.eq(#got, #values, what .. ": number of values")
  for i = 1, #values do
    local a, b = norm(got[i]), norm(values[i])
    local same = (a == b and (a ~= 0 or 1 / a == 1 / b)) or (a ~= a and b ~= b)
    if not same then
      error(string.format("%s: value %d: expected %.17g, got %.17g", what, i, b, a), 2)
    end
  end
end

local function check_like(got, want, what)
  check(got, dtype_of(want), want:shape(), flatten(want:tolist()), what)
end

-- Nested Lua table of the given shape holding values[1..] in row-major order.
local function nest(shape, values)
  local k = 0
  local function build(d)
    local r = {}
    for i = 1, shape[d] do
      if d == #shape then k = k + 1; r[i] = values[k] else r[i] = build(d + 1) end
    end
    return r
  end
  return build(1)
end

local function numel(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return n
end

local function sample_values(dtype, n)
  local v = {}
  for i = 1, n do
    if dtype == "bool" then v[i] = i % 3 == 1
    elseif dtype == "int64" then v[i] = (i % 2 == 0 and -1 or 1) * (i * (1 << 40) + i)
    elseif dtype == "float32" then v[i] = (i - 1) * 0.75 - 3
    else v[i] = (i - 1) / 7 - 1e-300 * i end
  end
  if dtype == "float64" and n >= 3 then v[1], v[2], v[3] = 1 / 0, -0.0, 0 / 0 end
  if dtype == "float32" and n >= 2 then v[1], v[2] = -1 / 0, -0.0 end
  return v
end

local function make(dtype, shape)
  if numel(shape) == 0 then return ml.zeros(shape, {dtype = dtype}), {} end
  local v = sample_values(dtype, numel(shape))
  if #shape == 0 then return ml.tensor(v[1], {dtype = dtype}), v end
  return ml.tensor(nest(shape, v), {dtype = dtype}), v
end

local DTYPES = {"float32", "float64", "int64", "bool"}
local SHAPES = {{}, {0, 3}, {3, 0}, {1}, {5}, {2, 3}, {2, 1, 3}, {1, 2, 1, 2, 1, 2, 1, 2}}

local function shape_name(s) return "[" .. table.concat(s, ",") .. "]" end

-- The header length (first 8 bytes) of a safetensors file's content.
local function header_of(bytes)
  local n = string.unpack("<I8", bytes)
  return n, bytes:sub(9, 8 + n)
end

local function st_bytes(header, data)
  return string.pack("<I8", #header) .. header .. (data or "")
end

-- ---- round trips -----------------------------------------------------------

for _, dt in ipairs(DTYPES) do
  for _, shape in ipairs(SHAPES) do
    T.test("io: safetensors round trip " .. dt .. " " .. shape_name(shape), function()
      local t, v = make(dt, shape)
      local p = tmp("rt.safetensors")
      ml.save(p, {x = t})
      local r, meta = ml.load(p)
      check(r.x, dt, shape, v)
      T.eq(next(meta), nil, "no metadata")
    end)
    T.test("io: npy round trip " .. dt .. " " .. shape_name(shape), function()
      local t, v = make(dt, shape)
      local p = tmp("rt.npy")
      ml.save(p, t)
      local r, meta = ml.load(p)
      check(r, dt, shape, v)
      T.eq(type(meta), "table")
    end)
  end
end

T.test("io: a lone tensor is saved as 'tensor' and loads back as a tensor", function()
  local t = ml.tensor({{1, 2}, {3, 4}}, {dtype = "float64"})
  local p = tmp("single.safetensors")
  ml.save(p, t)
  local r, meta = ml.load(p)
  check_like(r, t)
  T.eq(next(meta), nil)
  local _, h = header_of(read_bytes(p))
  T.ok(h:find('"tensor":', 1, true), "stored under the name 'tensor'")
end)

T.test("io: several tensors with metadata", function()
  local w = ml.tensor({{1.5, -2}, {0.25, 8}})
  local b = ml.tensor({1, 2, 3}, {dtype = "int64"})
  local m = ml.tensor({true, false}, {dtype = "bool"})
  local s = ml.tensor(2.5, {dtype = "float64"})
  local p = tmp("many.safetensors")
  local arch = '{"layers": [{"type": "Linear", "in": 4, "out": 2}], "name": "caf\195\169 \"q\"\n"}'
  ml.save(p, {["layer.1.weight"] = w, b = b, mask = m, s = s, [""] = b},
          {metadata = {arch = arch, epoch = "3", ["k\ty"] = "\1\127"}})
  local r, meta = ml.load(p)
  check_like(r["layer.1.weight"], w)
  check_like(r.b, b)
  check_like(r.mask, m)
  check_like(r.s, s)
  check_like(r[""], b)
  T.eq(meta.arch, arch)
  T.eq(meta.epoch, "3")
  T.eq(meta["k\ty"], "\1\127")
  local n = 0
  for _ in pairs(meta) do n = n + 1 end
  T.eq(n, 3)
end)

T.test("io: an empty table saves and loads as an empty table", function()
  local p = tmp("none.safetensors")
  ml.save(p, {}, {metadata = {only = "metadata"}})
  local r, meta = ml.load(p)
  T.eq(next(r), nil)
  T.eq(meta.only, "metadata")
end)

T.test("io: the header is padded to 8 bytes and the data aligned", function()
  local p = tmp("align.safetensors")
  ml.save(p, {a = ml.tensor({true}, {dtype = "bool"}), b = ml.tensor({1.5}), c = ml.tensor({7}, {dtype = "int64"}),
              d = ml.tensor({1, 2, 3}, {dtype = "float64"})})
  local bytes = read_bytes(p)
  local n, h = header_of(bytes)
  T.eq(n % 8, 0, "header length multiple of 8")
  T.eq(h:sub(1, 1), "{")
  -- widest elements first: every tensor starts aligned to its element size
  for name, b, e in h:gmatch('"(%w)":{[^}]-"data_offsets":%[(%d+),(%d+)%]') do
    local size = ({a = 1, b = 4, c = 8, d = 8})[name]
    T.eq(tonumber(b) % size, 0, name .. " aligned")
  end
  T.eq(#bytes, 8 + n + 1 + 4 + 8 + 24, "file size")
end)

T.test("io: the same tensors always write the same bytes", function()
  local t = {z = ml.tensor({1, 2}), a = ml.tensor({3}, {dtype = "int64"}), m = ml.tensor({true}, {dtype = "bool"})}
  ml.save(tmp("d1.safetensors"), t, {metadata = {b = "2", a = "1"}})
  ml.save(tmp("d2.safetensors"), t, {metadata = {a = "1", b = "2"}})
  T.eq(read_bytes(tmp("d1.safetensors")), read_bytes(tmp("d2.safetensors")))
end)

T.test("io: npy header is version 1.0 and the data starts at a multiple of 64", function()
  local p = tmp("hdr.npy")
  ml.save(p, ml.tensor({{1, 2, 3}, {4, 5, 6}}, {dtype = "float32"}))
  local bytes = read_bytes(p)
  T.eq(bytes:sub(1, 8), "\147NUMPY\1\0")
  local hl = string.unpack("<I2", bytes, 9)
  T.eq((10 + hl) % 64, 0)
  T.ok(bytes:sub(11, 10 + hl):find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 1, true))
  T.eq(#bytes, 10 + hl + 24)
  ml.save(p, ml.tensor({5}, {dtype = "int64"}))
  T.ok(read_bytes(p):find("'shape': (1,)", 1, true), "1-d shape is written '(1,)'")
end)

T.test("io: saving over a file replaces it and leaves no temporary files", function()
  local d = tmp("atomic")
  require("lfs").mkdir(d)
  ml.save(d .. "/a.safetensors", {x = ml.tensor({1.5, 2, 3})})
  ml.save(d .. "/a.safetensors", {y = ml.tensor({4.5})})
  ml.save(d .. "/a.npy", ml.tensor({1.5}))
  ml.save(d .. "/a.npy", ml.tensor({2.5, 3}))
  T.eq(table.concat(listdir(d), " "), "a.npy a.safetensors")
  local r = ml.load(d .. "/a.safetensors")
  T.eq(r.x, nil)
  check(r.y, "float32", {1}, {4.5})
  check(ml.load(d .. "/a.npy"), "float32", {2}, {2.5, 3})
  -- a failed save leaves the old file as it was, and no temporary file
  local before = read_bytes(d .. "/a.safetensors")
  T.raises(function() ml.save(d .. "/a.safetensors", {x = ml.tensor({1}), ["__metadata__"] = ml.tensor({2})}) end,
           "ml.save")
  T.eq(read_bytes(d .. "/a.safetensors"), before)
  T.eq(table.concat(listdir(d), " "), "a.npy a.safetensors")
end)

T.test("io: non-contiguous tensors are written in logical order", function()
  local t = ml.tensor({{1, 2, 3}, {4, 5, 6}}, {dtype = "float64"})
  local ok, tr = pcall(function() return t.transpose and t:transpose(1, 2) or (t.t and t:t()) end)
  if not ok or not tr then return end -- no transpose yet: nothing to check
  local want = {1, 4, 2, 5, 3, 6}
  ml.save(tmp("tr.npy"), tr)
  check(ml.load(tmp("tr.npy")), "float64", {3, 2}, want, "npy")
  ml.save(tmp("tr.safetensors"), {t = tr, u = t})
  local r = ml.load(tmp("tr.safetensors"))
  check(r.t, "float64", {3, 2}, want, "safetensors")
  check(r.u, "float64", {2, 3}, {1, 2, 3, 4, 5, 6}, "safetensors, original")
end)

T.test("io: save_npy / load_npy ignore the extension", function()
  local p = tmp("array.bin")
  ml.save_npy(p, ml.tensor({1, 2}, {dtype = "int64"}))
  T.eq(read_bytes(p):sub(1, 6), "\147NUMPY")
  check(ml.load_npy(p), "int64", {2}, {1, 2})
  T.raises(function() ml.load(p) end, "is a NumPy .npy file")
end)

T.test("io: .NPY in capitals is npy too", function()
  local p = tmp("caps.NPY")
  ml.save(p, ml.tensor({3.5}))
  check(ml.load(p), "float32", {1}, {3.5})
end)

-- ---- files written by NumPy --------------------------------------------------

for name, e in pairs(expected.npy) do
  T.test("io: numpy fixture " .. name, function()
    local t, meta = ml.load(FIX .. name)
    check(t, e.dtype, e.shape, e.values, name)
    T.eq(next(meta), nil)
  end)
end

T.test("io: safetensors written by hand with numpy (every dtype, keys out of data order)", function()
  local r, meta = ml.load(FIX .. "hand.safetensors")
  local n = 0
  for name, e in pairs(expected.hand) do
    check(r[name], e.dtype, e.shape, e.values, name)
    n = n + 1
  end
  for _ in pairs(r) do n = n - 1 end
  T.eq(n, 0, "no extra tensors")
  for k, v in pairs(expected.hand_meta) do T.eq(meta[k], v, "metadata " .. k) end
end)

T.test("io: a file holding one tensor named 'tensor' loads as that tensor", function()
  local e = expected.single
  check(ml.load(FIX .. "single.safetensors"), e.dtype, e.shape, e.values)
end)

T.test("io: the fixtures' version", function() T.eq(expected.version, 1) end)

-- ---- bad files ---------------------------------------------------------------

local function load_fails(p, pattern)
  local err = T.raises(function() ml.load(p) end, "ml.load")
  if pattern and not err:find(pattern, 1, true) then
    error(string.format("error %q does not contain %q", err, pattern), 2)
  end
  return err
end

local function bad_st(header, data, pattern)
  local p = tmp("bad.safetensors")
  write_bytes(p, st_bytes(header, data))
  return load_fails(p, pattern)
end

T.test("io: missing files and directories", function()
  T.raises(function() ml.load("no_such_file.npy") end, "ml.load: cannot open 'no_such_file.npy': No such file or directory")
  T.raises(function() ml.load("no/such.safetensors") end, "ml.load: cannot open 'no/such.safetensors': No such file or directory")
  load_fails(DIR, "is a directory")
  T.raises(function() ml.save(tmp("no/such/dir/x.safetensors"), ml.tensor({1})) end, "ml.save: cannot create")
  T.raises(function() ml.save(tmp("no/such/dir/x.npy"), ml.tensor({1})) end, "ml.save: cannot create")
end)

T.test("io: truncated safetensors files fail cleanly at every length", function()
  local p = tmp("whole.safetensors")
  ml.save(p, {a = ml.tensor({{1, 2}, {3, 4}}), b = ml.tensor({1, 2, 3}, {dtype = "int64"})}, {metadata = {k = "v"}})
  local bytes = read_bytes(p)
  for len = 0, #bytes - 1 do
    write_bytes(tmp("cut.safetensors"), bytes:sub(1, len))
    load_fails(tmp("cut.safetensors"))
  end
end)

T.test("io: truncated npy files fail cleanly at every length", function()
  local bytes
  for _, t in ipairs({ml.tensor({{1, 2}, {3, 4}}, {dtype = "float64"}), ml.tensor(1.5)}) do
    ml.save(tmp("whole.npy"), t)
    bytes = read_bytes(tmp("whole.npy"))
    for len = 0, #bytes - 1 do
      write_bytes(tmp("cut.npy"), bytes:sub(1, len))
      load_fails(tmp("cut.npy"))
    end
  end
  -- and a NumPy-written Fortran-order file
  bytes = read_bytes(FIX .. "fortran_i32.npy")
  for _, len in ipairs({0, 6, 9, 10, 40, #bytes - 24, #bytes - 1}) do
    write_bytes(tmp("cut.npy"), bytes:sub(1, len))
    load_fails(tmp("cut.npy"))
  end
end)

T.test("io: corrupt safetensors header lengths", function()
  local p = tmp("hl.safetensors")
  ml.save(p, {a = ml.tensor({1, 2, 3})})
  local bytes = read_bytes(p)
  local n = header_of(bytes)
  local function with_len(v, pattern)
    write_bytes(tmp("hl2.safetensors"), string.pack("<I8", v) .. bytes:sub(9))
    return load_fails(tmp("hl2.safetensors"), pattern)
  end
  with_len(#bytes, "runs past the end of the file")
  with_len(math.maxinteger, "runs past the end of the file")
  write_bytes(tmp("hl2.safetensors"), "\255\255\255\255\255\255\255\255" .. bytes:sub(9))
  load_fails(tmp("hl2.safetensors"), "runs past the end of the file")
  with_len(0, "not a safetensors file")
  with_len(n - 1, "its tensors take")
  with_len(n + 4, "bad JSON")
  with_len(n - 8, "bad JSON")
end)

T.test("io: bad safetensors headers", function()
  local f4 = string.pack("<ff", 1, 2)
  bad_st("[1, 2]   ", "", "not a safetensors file")
  bad_st("{not json}", "", "bad JSON")
  bad_st('{"a": 1,}', "", "bad JSON")
  bad_st('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}} x', f4, "bad JSON")
  bad_st('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": 1}', f4, "duplicate key")
  bad_st("{" .. string.rep("[", 100000), "", "bad JSON")
  bad_st('{"a": "\\ud800"}', "", "bad JSON")
  bad_st('{"a\255": 1}', "", "invalid UTF-8")
  bad_st('{"a": 5}', "", "not an object")
  bad_st('{"a": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}', "\0\0", "unsupported dtype 'F8_E4M3'")
  bad_st('{"a": {"dtype": 3, "shape": [2], "data_offsets": [0, 8]}}', f4, "dtype")
  bad_st('{"a": {"shape": [2], "data_offsets": [0, 8]}}', f4, "dtype")
  bad_st('{"a": {"dtype": "F32", "data_offsets": [0, 8]}}', f4, "shape")
  bad_st('{"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}', f4, "non-negative")
  bad_st('{"a": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}', f4, "non-negative integer")
  bad_st('{"a": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,2], "data_offsets": [0, 8]}}', f4, "at most 8")
  bad_st('{"a": {"dtype": "F32", "shape": [2]}}', f4, "data_offsets")
  bad_st('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0]}}', f4, "data_offsets")
  bad_st('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}', f4, "end before")
  bad_st('{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}', f4, "needs 12")
  bad_st('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}', f4, "needs 8")
  bad_st('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}', f4, "run past the end")
  bad_st('{"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 8]}}', f4, "needs more than")
  bad_st('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [18446744073709551615, 8]}}', f4, "data_offsets")
  bad_st('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, ' ..
         '"b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', f4, "overlap")
  bad_st('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', f4, "must be contiguous")
  bad_st('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', f4, "its tensors take 4")
  bad_st('{}', "x", "its tensors take 0")
  bad_st('{"__metadata__": {"k": 1}}', "", "not a string")
  bad_st('{"__metadata__": [1]}', "", "__metadata__")
end)

T.test("io: odd but valid safetensors headers load", function()
  local f4 = string.pack("<ff", 1, 2)
  -- white space, __metadata__ null, extra fields, unicode escapes in names
  local r, meta = ml.load((function()
    local p = tmp("odd.safetensors")
    write_bytes(p, st_bytes('{ "__metadata__" : null , "\\u00e9t\\u00e9" : {"data_offsets": [0, 8], "extra": [1],' ..
                            ' "shape": [2], "dtype": "F32"} }  ', f4))
    return p
  end)())
  check(r["\195\169t\195\169"], "float32", {2}, {1, 2})
  T.eq(next(meta), nil)
  -- bool bytes other than 0/1 load as true
  local p = tmp("bool.safetensors")
  write_bytes(p, st_bytes('{"m": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}}', "\0\2\255"))
  check(ml.load(p).m, "bool", {3}, {false, true, true})
  -- a zero-size tensor takes no room
  write_bytes(p, st_bytes('{"e": {"dtype": "F64", "shape": [0, 2], "data_offsets": [0, 0]}, ' ..
                          '"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', f4))
  local r2 = ml.load(p)
  check(r2.a, "float32", {2}, {1, 2})
  check(r2.e, "float64", {0, 2}, {})
end)

local function npy_bytes(header, data, version)
  version = version or 1
  if version == 1 then return "\147NUMPY\1\0" .. string.pack("<I2", #header) .. header .. (data or "") end
  return "\147NUMPY" .. string.char(version, 0) .. string.pack("<I4", #header) .. header .. (data or "")
end

local function bad_npy(header, data, pattern, version)
  local p = tmp("bad.npy")
  write_bytes(p, npy_bytes(header, data, version))
  return load_fails(p, pattern)
end

T.test("io: bad npy files", function()
  local f8 = string.pack("<dd", 1, 2)
  local p = tmp("bad.npy")
  write_bytes(p, "not a numpy file at all")
  load_fails(p, "not a .npy file")
  bad_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f8, "version 9.0", 9)
  bad_npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", f8, "unsupported dtype '<c8'")
  bad_npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", f8, "unsupported dtype '|O'")
  bad_npy("{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }", f8, "unsupported dtype '<u8'")
  bad_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", f8, "structured")
  bad_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }", f8, "negative")
  bad_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,), }", f8, "bad .npy header")
  bad_npy("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2,), }", f8, "fortran_order")
  bad_npy("{'descr': '<f8', 'shape': (2,), }", f8, "lacks")
  bad_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}", f8, "key other than")
  bad_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,) ", f8, "bad .npy header")
  bad_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,2), }", f8, "more than 8")
  bad_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f8, "needs 24 bytes")
  bad_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", f8, "too large")
  bad_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", f8, "needs more than")
  write_bytes(p, "\147NUMPY\1\0\255\255{'descr'")
  load_fails(p, "runs past the end")
  write_bytes(p, "\147NUMPY\2\0\255\255\255\127{'descr'")
  load_fails(p, "runs past the end")
end)

T.test("io: odd but valid npy files load", function()
  local f8 = string.pack("<dd", 1, 2)
  local p = tmp("odd.npy")
  -- double quotes, no trailing comma, Python 2 long, extra spaces, version 2.0
  write_bytes(p, npy_bytes('{"shape": (2L,), "fortran_order": False, "descr": "<f8"}   \n', f8, 2))
  check(ml.load(p), "float64", {2}, {1, 2})
  -- 0-d and 1-element Fortran order are the same as C order
  write_bytes(p, npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (), }", string.pack("<d", 7)))
  check(ml.load(p), "float64", {}, {7})
  -- trailing bytes after the data are ignored, as NumPy does
  write_bytes(p, npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", f8))
  check(ml.load(p), "float64", {1}, {1})
  -- empty Fortran-order array
  write_bytes(p, npy_bytes("{'descr': '>i4', 'fortran_order': True, 'shape': (0, 3), }", ""))
  check(ml.load(p), "int64", {0, 3}, {})
end)

-- ---- argument errors -----------------------------------------------------------

T.test("io: save argument errors", function()
  local t = ml.tensor({1, 2})
  T.raises(function() ml.save(tmp("e.safetensors"), {w = t, b = "nope"}) end, "ml.save: value for 'b' is a string, expected a tensor")
  T.raises(function() ml.save(tmp("e.safetensors"), {t}) end, "ml.save: tensor names must be strings, got a number key")
  T.raises(function() ml.save(tmp("e.safetensors"), 42) end, "ml.save: argument #2: expected a tensor or a table of tensors")
  T.raises(function() ml.save(tmp("e.safetensors")) end, "ml.save: argument #2")
  T.raises(function() ml.save(nil, t) end, "ml.save: argument #1: expected a path string")
  T.raises(function() ml.save("", t) end, "ml.save: argument #1")
  T.raises(function() ml.save(tmp("e.safetensors"), t, {metdata = {}}) end, "ml.save: unknown option 'metdata'")
  T.raises(function() ml.save(tmp("e.safetensors"), t, {metadata = {a = 1}}) end, "ml.save: metadata value for 'a' must be a string")
  T.raises(function() ml.save(tmp("e.safetensors"), t, {metadata = {"x"}}) end, "ml.save: metadata keys must be strings")
  T.raises(function() ml.save(tmp("e.safetensors"), t, {metadata = "x"}) end, "ml.save: option 'metadata' must be a table")
  T.raises(function() ml.save(tmp("e.safetensors"), {__metadata__ = t}) end, "'__metadata__' is reserved")
  T.raises(function() ml.save(tmp("e.npy"), {w = t}) end, "ml.save: a .npy file holds one tensor")
  T.raises(function() ml.save(tmp("e.npy"), t, {metadata = {a = "b"}}) end, "ml.save: .npy files hold no metadata")
  T.raises(function() ml.load(tmp("e.npy"), {mmap = true}) end, "ml.load: unknown option 'mmap'")
  T.raises(function() ml.load(42) end, "ml.load: argument #1: expected a path string")
  T.eq(#listdir(DIR) >= 0, true)
  for _, name in ipairs(listdir(DIR)) do
    T.ok(not name:find("tmp%-"), "no temporary file left: " .. name)
    T.ok(not name:find("^e%."), "no file written by a failed save: " .. name)
  end
end)

-- T.test runs each test at once, so everything is done by now.
os.execute("rm -rf '" .. DIR .. "'")
