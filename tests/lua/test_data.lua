-- ml.data: IDX files, Fashion-MNIST, the batch loader, datasets and splits.
local data = ml.data
local FIX = "tests/fixtures/data/"
local expected = dofile(FIX .. "expected.lua")

local tmpdir = T.tmpdir()
local ntmp = 0
local function tmpfile(bytes)
  ntmp = ntmp + 1
  local p = string.format("%s/f%d.idx", tmpdir, ntmp)
  local f = assert(io.open(p, "wb"))
  f:write(bytes)
  f:close()
  return p
end
local function slurp(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- An IDX file's bytes: magic 00 00 code ndim, big-endian sizes, big-endian values.
local CODES = { u8 = { 0x08, ">B" }, i8 = { 0x09, ">b" }, i16 = { 0x0B, ">i2" }, i32 = { 0x0C, ">i4" },
  f32 = { 0x0D, ">f" }, f64 = { 0x0E, ">d" } }
local function idx_bytes(kind, shape, values)
  local parts = { string.char(0, 0, CODES[kind][1], #shape) }
  for _, n in ipairs(shape) do parts[#parts + 1] = string.pack(">I4", n) end
  for _, v in ipairs(values) do parts[#parts + 1] = string.pack(CODES[kind][2], v) end
  return table.concat(parts)
end

local function same_values(got, want, msg)
  T.eq(#got, #want, msg)
  for i = 1, #want do
    local a, b = got[i], want[i]
    if b ~= b then T.ok(a ~= a, (msg or "") .. ": element " .. i .. " should be NaN")
    else
      T.eq(a, b, (msg or "") .. ": element " .. i)
      if b == 0 and math.type(b) == "float" then T.eq(1 / a, 1 / b, (msg or "") .. ": sign of zero " .. i) end
    end
  end
end

local function flat(t)
  return t:numel() == 0 and {} or t:reshape(t:numel()):tolist()
end

local function thread_count()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return tonumber(s:match("Threads:%s*(%d+)"))
end

-- ---------------------------------------------------------------------------
-- IDX

T.test("read_idx: every fixture (gzip, plain, multi-member, empty, 4-D)", function()
  local n = 0
  for name, e in pairs(expected.files) do
    local t = data.read_idx(FIX .. name)
    T.eq(t:dtype(), e.dtype, name)
    T.eq(table.concat(t:shape(), ","), table.concat(e.shape, ","), name)
    same_values(flat(t), e.values, name)
    n = n + 1
  end
  T.ok(n >= 10, "fixtures found")
end)

T.test("read_idx: plain files of every dtype, written here, read as the gzipped fixtures", function()
  for _, kind in ipairs({ "u8", "i8", "i16", "i32", "f32", "f64" }) do
    local e = expected.files[kind .. ".idx.gz"]
    local p = tmpfile(idx_bytes(kind, e.shape, e.values))
    local plain, gz = data.read_idx(p), data.read_idx(FIX .. kind .. ".idx.gz")
    T.eq(plain:dtype(), gz:dtype(), kind)
    same_values(flat(plain), flat(gz), kind)
  end
end)

T.test("read_idx: scale gives float32 values * scale; u8 / 255 bit for bit as x:float() / 255", function()
  local u = data.read_idx(FIX .. "u8.idx.gz", { scale = 1 / 255 })
  T.eq(u:dtype(), "float32")
  local raw = data.read_idx(FIX .. "u8.idx.gz")
  same_values(flat(u), flat(raw:float() / 255), "u8/255")
  local all = ml.arange(256):reshape(1, 256)
  local p = tmpfile(idx_bytes("u8", { 1, 256 }, all:reshape(256):tolist()))
  same_values(flat(data.read_idx(p, { scale = 1 / 255 })), flat(all:float() / 255), "every byte / 255")
  same_values(flat(data.read_idx(p, { scale = 0.5 })), flat(all:float() * 0.5), "every byte * 0.5")
  local i16 = data.read_idx(FIX .. "i16.idx.gz", { scale = 0.25 })
  T.eq(i16:dtype(), "float32")
  T.all_near(i16, ml.tensor({ { -8192, -75 }, { 75, 8191.75 } }), 0)
  local f64 = data.read_idx(FIX .. "f64.idx.gz", { scale = 2 })
  T.eq(f64:dtype(), "float32")
  local v = f64:tolist()
  T.near(v[1], 2 / 3, 1e-7)
  T.eq(v[3], -math.huge)
  T.ok(v[4] ~= v[4])
  T.raises(function() data.read_idx(p, { scale = "big" }) end, "option 'scale' must be a number")
  T.raises(function() data.read_idx(p, { scal = 1 }) end, "unknown option 'scal'")
end)

T.test("read_idx: missing file, a directory, not a path", function()
  T.raises(function() data.read_idx("/nonexistent/x.idx") end,
    "data.read_idx: cannot open '/nonexistent/x.idx': No such file or directory")
  T.raises(function() data.read_idx(tmpdir) end, "is a directory")
  T.raises(function() data.read_idx(42) end, "expected a path string")
end)

T.test("read_idx: foreign or corrupt headers", function()
  T.raises(function() data.read_idx(tmpfile("PK\3\4hello")) end, "is not an IDX file: it starts with bytes 50 4b 03 04")
  T.raises(function() data.read_idx(tmpfile("")) end, "is not an IDX file: it holds 0 bytes")
  T.raises(function() data.read_idx(tmpfile("\0\0")) end, "is not an IDX file: it holds 2 bytes")
  T.raises(function() data.read_idx(tmpfile("\0\0\7\1" .. string.pack(">I4", 1) .. "x")) end,
    "unknown IDX data type code 0x07")
  T.raises(function() data.read_idx(tmpfile("\0\0\8\0")) end, "declares 0 dimensions")
  T.raises(function() data.read_idx(tmpfile("\0\0\8\9" .. string.rep("\0\0\0\1", 9) .. "x")) end,
    "declares 9 dimensions")
  T.raises(function() data.read_idx(tmpfile("\0\0\8\3" .. string.pack(">I4", 5))) end,
    "the header declares 3 dimensions but ends after 4 of their 12 size bytes")
  -- sizes whose product overflows
  T.raises(function() data.read_idx(tmpfile("\0\0\14\3" .. string.rep("\255\255\255\255", 3) .. "x")) end,
    "too large for any file")
  -- more than the gzip file could ever hold: refused before allocating
  T.raises(function() data.read_idx(FIX .. "absurd.idx.gz") end,
    "declares shape [2147483648,16] (274877906944 bytes of data), more than its")
end)

T.test("read_idx: truncated and overlong data", function()
  local p = tmpfile("\0\0\8\1" .. string.pack(">I4", 1000) .. string.rep("x", 10))
  T.raises(function() data.read_idx(p) end, "is truncated: expected 1000 bytes of data, got 10")
  local big = tmpfile("\0\0\8\3" .. string.pack(">I4I4I4", 60000, 28, 28) .. string.rep("x", 1000))
  T.raises(function() data.read_idx(big) end, "is truncated: expected 47040000 bytes of data, got 1000")
  T.raises(function() data.read_idx(big, { scale = 1 / 255 }) end, "expected 47040000 bytes of data, got 1000")
  T.raises(function() data.read_idx(tmpfile(idx_bytes("u8", { 2 }, { 1, 2, 3 }))) end,
    "has 1 bytes after the data (shape [2] holds 2 bytes)")
  -- every prefix of every gzipped fixture is an error, never a crash or a half tensor
  for name in pairs(expected.files) do
    local bytes = slurp(FIX .. name)
    if name:match("%.gz$") then
      for cut = 1, #bytes - 1 do
        local ok = pcall(data.read_idx, tmpfile(bytes:sub(1, cut)))
        T.ok(not ok, name .. " cut at " .. cut .. " of " .. #bytes .. " bytes was read")
      end
    end
  end
  -- gzip truncated inside the data: the message says how much came
  local f32 = idx_bytes("f32", { 100 }, (function() local v = {} for i = 1, 100 do v[i] = i end return v end)())
  local gzpath = tmpfile(f32)
  if os.execute("gzip -9 -n -f '" .. gzpath .. "' 2>/dev/null") then
    local gz = slurp(gzpath .. ".gz")
    local err = T.raises(function() data.read_idx(tmpfile(gz:sub(1, #gz - 12))) end, "truncated")
    T.ok(err:find("expected 400 bytes of data, got", 1, true), err)
  end
end)

T.test("read_idx: damaged gzip data is an error, never a crash", function()
  for _, name in ipairs({ "f32.idx.gz", "i32.idx.gz", "multi_member.idx.gz" }) do
    local bytes = slurp(FIX .. name)
    -- where gzip members start: their header's time (bytes 5-8), extra flags
    -- and OS (9, 10) may change harmlessly; any other damage must be caught
    local harmless, from = {}, 1
    while true do
      local m = bytes:find("\31\139\8", from, true)
      if not m then break end
      for k = m + 4, m + 9 do harmless[k] = true end
      from = m + 1
    end
    for pos = 1, #bytes do
      local c = bytes:byte(pos)
      local damaged = bytes:sub(1, pos - 1) .. string.char((c + 0x5b) % 256) .. bytes:sub(pos + 1)
      local ok, err = pcall(data.read_idx, tmpfile(damaged))
      if ok then T.ok(harmless[pos], name .. ": damage at byte " .. pos .. " of " .. #bytes .. " went unnoticed")
      else T.ok(tostring(err):find("data.read_idx: ", 1, true), tostring(err)) end
    end
  end
end)

-- ---------------------------------------------------------------------------
-- Fashion-MNIST

local FM = "/usr/share/datasets/fashion-mnist"
local have_fm = io.open(FM .. "/train-images-idx3-ubyte.gz") ~= nil

T.test("fashion_mnist: shapes, ranges, 1-based labels, classes", function()
  if not have_fm then print("  (skipped: " .. FM .. " missing; make deps installs dataset-fashion-mnist)") return end
  local train, test = data.fashion_mnist()
  T.eq(table.concat(train.x:shape(), ","), "60000,28,28")
  T.eq(table.concat(test.x:shape(), ","), "10000,28,28")
  T.eq(train.x:dtype(), "float32")
  T.eq(train.y:dtype(), "int64")
  T.eq(train.y:shape()[1], 60000)
  T.eq(test.y:shape()[1], 10000)
  T.eq(train.x:min():item(), 0)
  T.eq(train.x:max():item(), 1)
  T.eq(train.y:min():item(), 1)
  T.eq(train.y:max():item(), 10)
  T.eq(test.y:min():item(), 1)
  T.eq(test.y:max():item(), 10)
  T.eq(#train.classes, 10)
  T.eq(train.classes[1], "T-shirt/top")
  T.eq(train.classes[10], "Ankle boot")
  -- balanced: 6000 of each class in train, 1000 in test
  for c = 1, 10 do
    T.eq(train.y:eq(c):long():sum():item(), 6000, "train class " .. c)
    T.eq(test.y:eq(c):long():sum():item(), 1000, "test class " .. c)
  end
  -- the first labels of the files (0-based 9, 0, 0, 3 -> 10, 1, 1, 4)
  same_values(train.y:narrow(1, 1, 4):tolist(), { 10, 1, 1, 4 }, "first labels")
  -- pixels are the raw bytes / 255, bit for bit
  local raw = data.read_idx(FM .. "/t10k-images-idx3-ubyte.gz"):narrow(1, 1, 3)
  same_values(flat(test.x:narrow(1, 1, 3)), flat(raw:float() / 255), "pixels")
end)

T.test("fashion_mnist: a clear error naming the package when files are missing", function()
  T.raises(function() data.fashion_mnist({ dir = tmpdir }) end, "data.fashion_mnist: files not found in " .. tmpdir)
  T.raises(function() data.fashion_mnist({ dir = tmpdir }) end, "install the Debian package dataset-fashion-mnist")
  T.raises(function() data.fashion_mnist({ folder = tmpdir }) end, "unknown option 'folder'")
end)

-- ---------------------------------------------------------------------------
-- The loader

-- X rows encode their sample number: X[i] = {i, 10 i, 100 i}; Y[i] = i.
local function numbered(n)
  local Y = ml.arange(1, n + 1)
  local X = ml.stack({ Y, Y * 10, Y * 100 }, 2):float()
  return X, Y
end

-- Runs one epoch; checks every batch's x rows match its y; returns the ys in order and the batch sizes.
local function epoch(iter)
  local seen, sizes = {}, {}
  for x, y in iter do
    T.eq(x:dim(), 2)
    sizes[#sizes + 1] = y:shape()[1]
    T.eq(x:shape()[1], y:shape()[1])
    local xs, ys = x:tolist(), y:tolist()
    for i, v in ipairs(ys) do
      T.eq(xs[i][1], v)
      T.eq(xs[i][3], 100 * v)
      seen[#seen + 1] = v
    end
  end
  return seen, sizes
end

local function is_permutation(list, n)
  if #list ~= n then return false end
  local s = {}
  for _, v in ipairs(list) do
    if s[v] or v < 1 or v > n then return false end
    s[v] = true
  end
  return true
end

T.test("loader: every sample exactly once per epoch, in order and shuffled, any batch size", function()
  local X, Y = numbered(23)
  for _, bs in ipairs({ 1, 4, 5, 22, 23, 24, 100 }) do
    for _, shuffle in ipairs({ false, true }) do
      local dl = data.loader({ X, Y }, { batch_size = bs, shuffle = shuffle })
      T.eq(#dl, math.ceil(23 / bs))
      for _ = 1, 2 do
        local seen, sizes = epoch(dl:iter())
        T.ok(is_permutation(seen, 23), "bs " .. bs)
        T.eq(#sizes, #dl)
        for i, s in ipairs(sizes) do T.eq(s, i < #sizes and bs or 23 - bs * (#sizes - 1)) end
        if not shuffle then for i = 1, 23 do T.eq(seen[i], i) end end
      end
    end
  end
end)

T.test("loader: drop_last drops the short batch only", function()
  local X, Y = numbered(23)
  for _, bs in ipairs({ 1, 4, 23, 24 }) do
    local dl = data.loader({ X, Y }, { batch_size = bs, shuffle = true, drop_last = true })
    T.eq(#dl, 23 // bs)
    local seen, sizes = epoch(dl:iter())
    T.eq(#sizes, 23 // bs)
    T.eq(#seen, bs * (23 // bs))
    local s = {}
    for _, v in ipairs(seen) do T.ok(not s[v]); s[v] = true end
    for _, size in ipairs(sizes) do T.eq(size, bs) end
  end
end)

T.test("loader: the for loop forms: data.loader(...) directly, loader:iter(), the loader itself", function()
  local X, Y = numbered(10)
  T.ok(is_permutation((epoch(data.loader({ X, Y }, { batch_size = 3, shuffle = true }))), 10))
  local dl = data.loader({ X, Y }, { batch_size = 3 })
  T.eq(#epoch(dl), 10)
  T.eq(#epoch(dl), 10) -- a new loop starts a new epoch
  T.eq(dl.epoch, 2)
  -- manual stepping
  local dl2 = data.loader({ X, Y }, { batch_size = 4 })
  local a, b = dl2:next()
  T.eq(b:tolist()[1], 1)
  a, b = dl2:next()
  T.eq(b:tolist()[1], 5)
  a, b = dl2:next()
  T.eq(#b:tolist(), 2)
  T.eq(dl2:next(), nil)
  T.eq(select("#", dl2:next()), 2) -- a new epoch: x and y
  T.ok(tostring(dl):find("data.Loader(10 samples, 4 batches of 3)", 1, true), tostring(dl))
end)

T.test("loader: one tensor, {x=, y=}, TensorDataset, Subset, dtypes and row shapes", function()
  local X, Y = numbered(9)
  local n = 0
  for x in data.loader(X, { batch_size = 4 }) do n = n + x:shape()[1]; T.eq(x:dtype(), "float32") end
  T.eq(n, 9)
  T.ok(is_permutation((epoch(data.loader({ x = X, y = Y, classes = { "a" } }, { batch_size = 2, shuffle = true }))), 9))
  local ds = data.TensorDataset(X, Y)
  T.eq(#ds, 9)
  local xi, yi = ds:get(3)
  T.eq(yi:item(), 3)
  T.eq(xi:tolist()[2], 30)
  T.ok(is_permutation((epoch(data.loader(ds, { batch_size = 4, shuffle = true }))), 9))
  local sub = data.Subset(ds, { 2, 4, 6 })
  local seen = epoch(data.loader(sub, { batch_size = 2 }))
  same_values(seen, { 2, 4, 6 }, "subset")
  -- every dtype, rows of any shape, a strided (transposed) source
  local F64 = ml.randn(9, 2, 3, { dtype = "float64" })
  local B = ml.randn(9, 4):gt(0)
  local T3 = ml.randn(5, 9):t()
  local parts = { F64 = {}, B = {}, T3 = {}, Y = {} }
  for f, b, t, y in data.loader({ F64, B, T3, Y }, { batch_size = 4, shuffle = true, seed = 3 }) do
    T.eq(f:dtype(), "float64"); T.eq(b:dtype(), "bool"); T.eq(t:dtype(), "float32")
    T.eq(table.concat(f:shape(), ","), y:shape()[1] .. ",2,3")
    for i, v in ipairs(y:tolist()) do
      T.all_near(f[i], F64[v], 0)
      T.all_near(b[i], B[v], 0)
      T.all_near(t[i], T3[v], 0)
    end
  end
end)

T.test("loader: the loader keeps its sources alive", function()
  local dl = data.loader({ numbered(50) }, { batch_size = 8, shuffle = true })
  collectgarbage(); collectgarbage()
  T.ok(is_permutation((epoch(dl:iter())), 50))
end)

T.test("loader: a source later flattened by an optimizer stays readable and reads the parameter block", function()
  for _, n in ipairs({ 5, 3000 }) do -- small: freed at once (ASan); large: its block recycled
    local X, Y = numbered(n)
    local dl = data.loader({ X, Y }, { batch_size = 7 })
    local opt = ml.optim.SGD({ X }, { lr = 0.1 }) -- rebinds X's storage into the flat block
    collectgarbage(); collectgarbage()
    local junk = {}
    for i = 1, 8 do junk[i] = ml.full({ n, 3 }, -1) end -- reuses a freed block of X's size
    local seen = epoch(dl:iter())
    T.eq(#seen, n)
    X:fill_(0) -- writes into the flat block, which the loader's storage now points into
    local rows = 0
    for x, y in dl:iter() do
      T.eq(x:abs():sum():item(), 0, "the loader reads X's current values")
      rows = rows + y:numel()
    end
    T.eq(rows, n)
    T.ok(opt ~= nil and #junk == 8)
  end
end)

T.test("loader: seeded shuffles repeat; epochs differ; the global generator is untouched", function()
  local X, Y = numbered(40)
  local function orders(opts, epochs)
    local dl = data.loader({ X, Y }, opts)
    local out = {}
    for e = 1, epochs do out[e] = table.concat(epoch(dl:iter()), ",") end
    return out
  end
  local a = orders({ batch_size = 7, shuffle = true, seed = 42 }, 3)
  local b = orders({ batch_size = 5, shuffle = true, seed = 42, prefetch = 0 }, 3)
  for e = 1, 3 do T.eq(a[e], b[e], "epoch " .. e) end
  T.ok(a[1] ~= a[2] and a[2] ~= a[3], "epochs have different orders")
  T.ok(orders({ batch_size = 7, shuffle = true, seed = 43 }, 1)[1] ~= a[1], "seeds differ")
  -- set_epoch(k) replays epoch k
  local dl = data.loader({ X, Y }, { batch_size = 7, shuffle = true, seed = 42 })
  dl:set_epoch(3)
  T.eq(table.concat(epoch(dl:iter()), ","), a[3])
  -- a seeded loader draws nothing from the global generator
  ml.seed(5)
  local r1 = ml.rand(3):tolist()
  ml.seed(5)
  orders({ batch_size = 7, shuffle = true, seed = 42 }, 2)
  local r2 = ml.rand(3):tolist()
  same_values(r2, r1, "global stream")
  T.eq(ml.initial_seed(), 5)
end)

T.test("loader: without a seed, the same ml.seed gives the same orders", function()
  local X, Y = numbered(40)
  local function run()
    local dl = data.loader({ X, Y }, { batch_size = 6, shuffle = true })
    return table.concat(epoch(dl:iter()), ",") .. "|" .. table.concat(epoch(dl:iter()), ",")
  end
  ml.seed(11)
  local a = run()
  ml.seed(11)
  T.eq(run(), a)
  ml.seed(12)
  T.ok(run() ~= a)
end)

T.test("loader: dataset objects (get(i) and a length)", function()
  -- __len, get returning several values (a tensor and a number)
  local DS = {}
  DS.__index = DS
  DS.__len = function() return 11 end
  function DS:get(i) return ml.tensor({ i, 10 * i, 100 * i }, { dtype = "float32" }), i end
  local ds = setmetatable({}, DS)
  local dl = data.loader(ds, { batch_size = 4, shuffle = true })
  T.eq(#dl, 3)
  for _ = 1, 2 do
    local seen, sizes = epoch(dl:iter())
    T.ok(is_permutation(seen, 11))
    same_values(sizes, { 4, 4, 3 }, "sizes")
  end
  -- a len() method, get returning an array table; drop_last
  local ds2 = { len = function() return 7 end, get = function(_, i) return { ml.tensor({ i, 10 * i, 100 * i }), i } end }
  local seen, sizes = epoch(data.loader(ds2, { batch_size = 3, drop_last = true }))
  same_values(seen, { 1, 2, 3, 4, 5, 6 }, "drop_last")
  same_values(sizes, { 3, 3 }, "sizes")
  -- get returning a keyed table: batches are tables of the same keys; strings stay lists
  local ds3 = { len = function() return 5 end,
    get = function(_, i) return { image = ml.full({ 2, 2 }, i), label = i, name = "s" .. i, ok = i % 2 == 0 } end }
  local total = 0
  for b in data.loader(ds3, { batch_size = 2 }) do
    T.eq(b.image:shape()[2], 2)
    T.eq(b.label:dtype(), "int64")
    T.eq(b.ok:dtype(), "bool")
    T.eq(b.name[1], "s" .. b.label:tolist()[1])
    total = total + b.image:shape()[1]
  end
  T.eq(total, 5)
  -- seeded shuffles of dataset objects repeat too
  local o1 = epoch(data.loader(ds, { batch_size = 4, shuffle = true, seed = 9 }))
  local o2 = epoch(data.loader(ds, { batch_size = 4, shuffle = true, seed = 9 }))
  same_values(o1, o2, "seeded dataset order")
  T.raises(function() data.loader({ get = function() end }) end, "no length")
end)

T.test("loader: early break stops the worker; no hang, no thread or memory left behind", function()
  local X, Y = numbered(1000)
  collectgarbage(); collectgarbage()
  local threads0 = thread_count()
  local live0 = ml.memory_stats and ml.memory_stats().live
  for _ = 1, 100 do
    for x, y in data.loader({ X, Y }, { batch_size = 10, shuffle = true }) do
      if y:shape()[1] > 0 then break end
    end
  end
  local dl = data.loader({ X, Y }, { batch_size = 10, prefetch = 4 })
  for _ = 1, 50 do
    local k = 0
    for _ in dl:iter() do k = k + 1; if k == 3 then break end end
  end
  T.eq(#epoch(dl:iter()), 1000) -- a full epoch after the breaks
  dl:close()
  T.raises(function() dl:next() end, "the loader was closed")
  dl = nil
  collectgarbage(); collectgarbage()
  if threads0 then T.eq(thread_count(), threads0, "threads after collection") end
  if live0 then T.eq(ml.memory_stats().live, live0, "live tensor bytes after collection") end
end)

T.test("loader: bad arguments are clear errors", function()
  local X, Y = numbered(10)
  T.raises(function() data.loader({ X, ml.zeros(9) }) end,
    "data.loader: tensor 1 has 10 samples (first dimension) but tensor 2 has 9")
  T.raises(function() data.loader({ x = X, y = ml.zeros(11) }) end, "data.loader: x has 10 samples (first dimension) but y has 11")
  T.raises(function() data.loader({ X, "y" }) end, "tensor 2 is a string, expected a tensor")
  T.raises(function() data.loader(ml.tensor(3)) end, "is 0-d")
  T.raises(function() data.loader(X, { batch_size = 0 }) end, "option 'batch_size' must be at least 1, got 0")
  T.raises(function() data.loader(X, { batch_size = 2.5 }) end, "option 'batch_size' must be an integer")
  T.raises(function() data.loader(X, { shuffle = 1 }) end, "option 'shuffle' must be a boolean")
  T.raises(function() data.loader(X, { batchsize = 2 }) end,
    "data.loader: unknown option 'batchsize' (known: batch_size, shuffle, drop_last, seed, prefetch, transform)")
  T.raises(function() data.loader(X, { prefetch = 99 }) end, "prefetch")
  T.raises(function() data.loader(42) end, "expected a tensor, a list of tensors")
  T.raises(function() data.TensorDataset(X, ml.zeros(3)) end, "tensor 1 has 10 samples (first dimension) but tensor 2 has 3")
  T.raises(function() data.Subset(data.TensorDataset(X), { 0 }) end, "index 0 is out of range 1..10")
  local empty = data.loader(ml.zeros(0, 3))
  T.eq(#empty, 0)
  for _ in empty do T.ok(false, "no batch from an empty tensor") end
end)

-- ---------------------------------------------------------------------------
-- Splits

T.test("split_indices: disjoint, complete, sorted, sized; seeded and ml.seed-reproducible", function()
  local tr, va = data.split_indices(100, 0.1, { seed = 1 })
  T.eq(tr:dtype(), "int64")
  T.eq(tr:numel(), 90)
  T.eq(va:numel(), 10)
  local all = {}
  for _, v in ipairs(tr:tolist()) do all[#all + 1] = v end
  for _, v in ipairs(va:tolist()) do all[#all + 1] = v end
  T.ok(is_permutation(all, 100))
  local l = tr:tolist()
  for i = 2, #l do T.ok(l[i] > l[i - 1], "sorted") end
  local tr2, va2 = data.split_indices(100, 0.1, { seed = 1 })
  same_values(va2:tolist(), va:tolist(), "seeded")
  local _, va3 = data.split_indices(100, 0.1, { seed = 2 })
  T.ok(table.concat(va3:tolist(), ",") ~= table.concat(va:tolist(), ","))
  ml.seed(3)
  local _, a = data.split_indices(50, 0.3)
  ml.seed(3)
  local _, b = data.split_indices(50, 0.3)
  same_values(a:tolist(), b:tolist(), "ml.seed")
  T.raises(function() data.split_indices(10, 1.5) end, "fraction must be a number between 0 and 1")
  T.raises(function() data.split_indices(10, 0.01) end, "leaves the validation set empty")
  T.raises(function() data.split_indices(10, 0.1, { seed = 1, stratify = ml.tensor({ 1, 2 }) }) end,
    "option 'stratify' has 2 labels for 10 samples")
  T.raises(function() data.split_indices(10, 0.1, { sed = 1 }) end, "unknown option 'sed'")
end)

T.test("split_indices: stratified keeps each class's share", function()
  -- classes of 50, 30, 20 samples, interleaved
  local labels = {}
  for i = 1, 100 do labels[i] = (i % 10 < 5) and 1 or ((i % 10 < 8) and 2 or 3) end
  local y = ml.tensor(labels)
  local tr, va = data.split_indices(100, 0.2, { seed = 7, stratify = y })
  T.eq(va:numel(), 20)
  T.eq(tr:numel(), 80)
  local counts = { 0, 0, 0 }
  for _, i in ipairs(va:tolist()) do counts[labels[i]] = counts[labels[i]] + 1 end
  same_values(counts, { 10, 6, 4 }, "per-class validation counts")
  -- rounding spread so the total is exact: 3 classes of 7, fraction 0.5 -> 10 or 11 = round(10.5) = 11
  local y2 = ml.tensor({ 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3 })
  local _, v2 = data.split_indices(21, 0.5, { seed = 1, stratify = y2 })
  T.eq(v2:numel(), 11)
  local c2 = { 0, 0, 0 }
  for _, i in ipairs(v2:tolist()) do c2[y2:tolist()[i]] = c2[y2:tolist()[i]] + 1 end
  table.sort(c2)
  same_values(c2, { 3, 4, 4 }, "spread rounding")
end)

T.test("random_split: fractions or sizes, indices or Subsets, seeded", function()
  local a, b, c = data.random_split(10, { 0.5, 0.3, 0.2 }, { seed = 1 })
  T.eq(a:numel(), 5); T.eq(b:numel(), 3); T.eq(c:numel(), 2)
  local all = {}
  for _, t in ipairs({ a, b, c }) do for _, v in ipairs(t:tolist()) do all[#all + 1] = v end end
  T.ok(is_permutation(all, 10))
  local a2 = data.random_split(10, { 0.5, 0.3, 0.2 }, { seed = 1 })
  same_values(a2:tolist(), a:tolist(), "seeded")
  local x, y = data.random_split(7, { 0.5, 0.5 })
  T.eq(x:numel() + y:numel(), 7)
  T.eq(x:numel(), 4) -- the remainder goes to the first parts, as in PyTorch
  local X, Y = numbered(12)
  local tr, va = data.random_split(data.TensorDataset(X, Y), { 9, 3 }, { seed = 2 })
  T.eq(#tr, 9); T.eq(#va, 3)
  local seen = epoch(data.loader(tr, { batch_size = 4 }))
  same_values(seen, tr.indices:tolist(), "subset through the C loader")
  T.raises(function() data.random_split(10, { 5, 4 }) end, "sizes add up to 9, but there are 10 samples")
  T.raises(function() data.random_split(10, { 0.5, 0.4 }) end, "fractions add up to 0.9")
end)

os.execute("rm -rf '" .. tmpdir .. "'")

T.test("split_indices: stratified leftovers go to a seeded random choice of classes, not the lowest labels", function()
  -- 60 classes of 3 samples, fraction 0.2: each class's share is 0.6, so the 36 validation samples
  -- are one each from 36 of the 60 classes, all tied
  local labels = {}
  for i = 1, 180 do labels[i] = (i - 1) % 60 + 1 end
  local y = ml.tensor(labels)
  local sets = {}
  for seed = 1, 4 do
    local _, va = data.split_indices(180, 0.2, { seed = seed, stratify = y })
    T.eq(va:numel(), 36)
    local classes, maxc = {}, 0
    for _, i in ipairs(va:tolist()) do
      local c = labels[i]
      T.ok(not classes[c], "one sample per class")
      classes[c] = true
      maxc = math.max(maxc, c)
    end
    T.ok(maxc > 36, "not just the 36 lowest labels (seed " .. seed .. ")")
    local ks = {}
    for c in pairs(classes) do ks[#ks + 1] = c end
    table.sort(ks)
    sets[seed] = table.concat(ks, ",")
  end
  T.ok(sets[1] ~= sets[2] and sets[2] ~= sets[3], "the seed chooses the classes")
  local _, again = data.split_indices(180, 0.2, { seed = 3, stratify = y })
  local ks = {}
  for _, i in ipairs(again:tolist()) do ks[#ks + 1] = labels[i] end
  table.sort(ks)
  T.eq(table.concat(ks, ","), sets[3], "the same seed, the same split")
  -- float labels are not classes
  T.raises(function() data.split_indices(180, 0.2, { seed = 1, stratify = y:float() }) end,
    "data.split_indices: option 'stratify' needs integer class labels, got float32")
end)

T.test("loader: dataset errors name the loader and the sample", function()
  -- samples of different shapes
  local ds = { len = function() return 6 end,
    get = function(_, i) return ml.zeros(i == 4 and 3 or 2), i end }
  local ok, err = pcall(function() for _ in data.loader(ds, { batch_size = 6 }) do end end)
  T.ok(not ok)
  T.ok(err:find("^tests/lua/test_data%.lua:%d+: data%.loader: value 1 has shape %[2%] in dataset:get%(1%) but %[3%] in dataset:get%(4%)"), err)
  T.ok(not err:find("moonlab/data.lua", 1, true), "no position inside the library: " .. err)
  -- a tensor in one sample, a number in another
  local ds2 = { len = function() return 2 end, get = function(_, i) if i == 1 then return ml.zeros(2) end return 5 end }
  T.raises(function() for _ in data.loader(ds2, { batch_size = 2 }) do end end,
    "data.loader: value 1 is a tensor in dataset:get(1) but a number in dataset:get(2)")
  -- an error inside get(i) says which i, and keeps the dataset's own position
  local ds3 = { len = function() return 9 end, get = function(_, i) if i == 7 then error("bad row") end return ml.zeros(1) end }
  ok, err = pcall(function() for _ in data.loader(ds3, { batch_size = 4 }) do end end)
  T.ok(not ok and err:find("^data%.loader: dataset:get%(7%) failed: tests/lua/test_data%.lua:%d+: bad row$"), err)
  local ds4 = { len = function() return 3 end, get = function(_, i) if i == 2 then error("no position", 0) end return 1 end }
  ok, err = pcall(function() for _ in data.loader(ds4, { batch_size = 4 }) do end end)
  T.ok(not ok and err:find("^tests/lua/test_data%.lua:%d+: data%.loader: dataset:get%(2%) failed: no position$"), err)
end)

T.test("data.loader: a dataset whose get(i) returns nothing is an error naming the index", function()
  local ds = setmetatable({ get = function(_, i) if i < 3 then return ml.tensor({ i }) end end },
    { __len = function() return 4 end })
  local ok, err = pcall(function()
    for _ in data.loader(ds, { batch_size = 2 }) do end
  end)
  T.ok(not ok, "an error, not zero batches")
  T.ok(err:find("data.loader: dataset:get(3) returned nothing", 1, true), err)
  T.ok(err:find("^tests/lua/test_data%.lua:%d+: "), "at the user's line: " .. err)
  local empty = setmetatable({ get = function() end }, { __len = function() return 2 end })
  T.raises(function() for _ in data.loader(empty) do end end, "dataset:get(1) returned nothing")
end)

T.test("data.loader: a loop over a loader nested in a loop over the same loader is a clear error", function()
  for _, src in ipairs({ ml.arange(10, { dtype = "float32" }),
    data.Subset(setmetatable({ get = function(_, i) return ml.tensor({ i }) end }, { __len = function() return 10 end }), { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }) }) do
    local dl = data.loader(src, { batch_size = 2 })
    local steps = 0
    local ok, err = pcall(function()
      for _ in dl:iter() do
        steps = steps + 1
        T.ok(steps < 50, "the outer loop never ends")
        if steps == 2 then for _ in dl:iter() do end end
      end
    end)
    T.ok(not ok, "an error")
    T.ok(err:find("data.loader: this loader is already being iterated (nested loops over one loader are not supported; make a second loader)", 1, true), err)
    T.eq(steps, 2)
    -- the loader works again afterwards, and a loop left by break restarts cleanly
    local n = 0
    for _ in dl:iter() do n = n + 1; if n == 2 then break end end
    n = 0
    for _ in dl do n = n + 1 end
    T.eq(n, 5)
    -- two loaders over the same data nest fine
    local dl2 = data.loader(src, { batch_size = 5 })
    local inner = 0
    for _ in dl:iter() do for _ in dl2:iter() do inner = inner + 1 end end
    T.eq(inner, 10)
  end
end)

T.test("data.loader over tensors: one C step per batch; epochs by for loops, next() and stop() as before", function()
  local x = ml.arange(10, { dtype = "float32" })
  local dl = data.loader({ x, x * 2 }, { batch_size = 4 })
  local n = 0
  for a, b in dl:iter() do n = n + 1; T.all_near(b, a * 2, 0) end
  T.eq(n, 3)
  T.eq(dl.epoch, 1)
  -- next() after a finished loop starts the next epoch; it ends with nil, then starts again
  T.all_near(dl:next(), ml.tensor({ 0, 1, 2, 3 }, { dtype = "float32" }), 0)
  T.eq(dl.epoch, 2)
  dl:next(); dl:next()
  T.eq(dl:next(), nil)
  T.eq(dl:next():numel(), 4)
  T.eq(dl.epoch, 3)
  dl:stop()
  -- the first value of iter() alone is an iterator
  local it = dl:iter()
  n = 0
  for _ in it do n = n + 1 end
  T.eq(n, 3)
  -- a loop that was handed another batch than the loader's last one stops with the error
  T.raises(function() ml._data.loader_iter(dl._c, x) end, "data.loader: this loader is already being iterated")
  -- at the line of the loop, written either way
  for _, form in ipairs({ "iter", "plain" }) do
    local ok, err = pcall(function()
      for _ in (form == "iter" and dl:iter() or dl) do
        for _ in dl:iter() do end
      end
    end)
    T.ok(not ok and err:find("^tests/lua/test_data%.lua:%d+: data%.loader: this loader is already being iterated"), err)
  end
  dl:close()
  T.raises(function() for _ in dl:iter() do end end, "data.loader: the loader was closed")
end)
