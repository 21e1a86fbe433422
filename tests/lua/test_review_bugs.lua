-- Regression tests for the bugs an adversarial review of the runtime found:
-- each test failed before its fix.

local tmpdir = T.tmpdir()

-- ---- JSON: duplicate keys are found in linear time ----------------------------
T.test("json: an object of 200,000 keys decodes in linear time, and duplicates are still refused", function()
  local n = 200000
  local parts = {}
  for i = 1, n do parts[i] = string.format('"key%d":%d', i, i) end
  local text = "{" .. table.concat(parts, ",") .. "}"
  local t0 = ml.now()
  local v = ml.json.decode(text)
  local dt = ml.now() - t0
  T.eq(v.key1, 1)
  T.eq(v["key" .. n], n)
  T.ok(dt < 5, string.format("decoding %d keys took %.2f s", n, dt))
  -- a duplicate at the very end, and one among keys that share a hash bucket's neighbourhood
  T.raises(function() ml.json.decode("{" .. table.concat(parts, ",") .. ',"key77":0}') end, 'duplicate key "key77"')
  T.raises(function() ml.json.decode('{"a":1,"b":2,"a":3}') end, 'duplicate key "a"')
  T.eq(ml.json.decode('{"a":{"a":1},"b":{"a":2}}').b.a, 2) -- the same key in two objects is fine
end)

-- ---- .grad assignment ----------------------------------------------------------
T.test("grad assignment: a gradient of another dtype or shape is refused, not dropped at backward", function()
  local w = ml.ones(3):requires_grad()
  T.raises(function() w.grad = ml.tensor({ 1, 2, 3 }, { dtype = "int64" }) end,
    "grad assignment: assigned grad has dtype int64, expected the tensor's dtype float32")
  T.raises(function() w.grad = ml.ones(3):double() end, "assigned grad has dtype float64")
  T.raises(function() w.grad = ml.ones(4) end, "assigned grad has data of a different size: got shape [4], the tensor has [3]")
  T.eq(w.grad, nil)
  w.grad = ml.full({ 3 }, 2.0)
  ;(w * 3):sum():backward()
  T.all_near(w.grad, { 5, 5, 5 })
  w.grad = nil
  T.eq(w.grad, nil)
end)

local function live() collectgarbage(); collectgarbage(); return ml.memory_stats().live end

T.test("grad assignment: t.grad = t is refused; a.grad = b, b.grad = a keeps nothing alive", function()
  local before = live()
  for _ = 1, 4 do
    local t = ml.zeros(1 << 18)
    T.raises(function() t.grad = t end, "grad assignment: a tensor cannot be its own gradient")
    local a, b = ml.zeros(1 << 18), ml.zeros(1 << 18)
    a.grad = b
    b.grad = a -- .grad holds a detached header over a's data, not a: no cycle
    b.grad = ml.zeros(1 << 18) -- a chain is fine
  end
  T.ok(live() - before < 1 << 20, string.format("%d bytes still live", live() - before))
end)

T.test("grad assignment: a gradient whose graph reaches the tensor is stored detached, and nothing leaks", function()
  local before = live()
  local cases = {
    function(t) return t * 1 end,
    function(t) return t:view(1000) end,
    function(t) return t:reshape(1000) end,
    function(t) return t:narrow(1, 1, 1000) end,
    function(t) return (t + 1):exp() end,
  }
  for k, make in ipairs(cases) do
    for _ = 1, 200 do
      local t = ml.zeros(1000, { requires_grad = true })
      t.grad = make(t)
      T.eq(t.grad.grad_fn, nil, "case " .. k .. ": the stored gradient has no grad_fn")
      T.ok(not t.grad:is_requires_grad(), "case " .. k .. ": the stored gradient does not require grad")
    end
    T.eq(live() - before, 0, "case " .. k .. ": bytes still live")
  end
  -- through the gradient's own .grad, too
  for _ = 1, 200 do
    local t = ml.zeros(1000, { requires_grad = true })
    t.grad = ml.zeros(1000)
    t.grad:requires_grad()
    t.grad.grad = t * 2
  end
  T.eq(live() - before, 0, "t.grad.grad = t * 2: bytes still live")
  -- the stored header shares the assigned tensor's data, and backward adds into it
  local w = ml.ones(3):requires_grad()
  local g = ml.full({ 3 }, 2.0)
  w.grad = g
  ;(w * 3):sum():backward()
  T.all_near(g, { 5, 5, 5 }, 0, "backward accumulated into the assigned tensor's data")
  T.all_near(w.grad, { 5, 5, 5 }, 0)
  -- a gradient that requires grad is stored detached, so backward can add into it
  local v = ml.ones(3):requires_grad()
  v.grad = ml.ones(3):requires_grad()
  ;(v * 1):sum():backward()
  T.all_near(v.grad, { 2, 2, 2 }, 0)
  T.eq(v.grad.grad_fn, nil)
  -- backward's own gradients never carry a grad_fn
  local x = ml.randn(4):requires_grad()
  ;(x:exp() * x):sum():backward()
  T.eq(x.grad.grad_fn, nil)
  T.ok(not x.grad:is_requires_grad())
  ;(x * x):sum():backward(ml.ones(1):requires_grad():sum())
  T.eq(x.grad.grad_fn, nil)
end)

-- ---- readers refuse what is not a regular file ---------------------------------
local BIN = T.BIN

T.test("readers: a FIFO (or a directory) is refused at once, not opened and waited on", function()
  local fifo = tmpdir .. "/pipe"
  local ok = os.execute("mkfifo '" .. fifo .. "' 2>/dev/null")
  if not ok then return end -- no mkfifo here
  -- in a child under `timeout`, so a regression fails instead of hanging the suite
  local calls = {
    { "ml.load", "ml.load(P)" }, { "ml.load_npy", "ml.load_npy(P)" },
    { "data.read_idx", "ml.data.read_idx(P)" }, { "nn.load", "ml.nn.load(P)" },
  }
  for _, c in ipairs(calls) do
    local script = string.format("local P = %q; local ok, e = pcall(function() return %s end); io.write(tostring(e))", fifo, c[2])
    local out = T.tmpname()
    local _, _, code = os.execute(string.format("timeout 5 %s -e %q >%s 2>&1 </dev/null", BIN, script, out))
    local f = assert(io.open(out, "rb"))
    local msg = f:read("a")
    f:close()
    os.remove(out)
    T.ok(code ~= 124, c[1] .. " blocked on a FIFO")
    T.ok(msg:find("not a regular file (a FIFO)", 1, true), c[1] .. ": " .. msg)
    T.ok(msg:find(fifo, 1, true), c[1] .. " names the path: " .. msg)
  end
  os.remove(fifo)
  T.raises(function() ml.load(tmpdir) end, "is a directory")
end)

-- ---- temporary files of atomic writes ------------------------------------------
local function ls(dir)
  local names = {}
  for _, l in ipairs(T.listdir(dir)) do names[l] = true end
  return names
end

local function dead_pid() -- a process that has just exited
  local p = io.popen("sh -c 'echo $$'")
  local pid = tonumber(p:read("l"))
  p:close()
  return pid
end

T.test("atomic write: a killed writer's temporary file is removed by the next write to the same path", function()
  local dir = tmpdir .. "/stale"
  require("lfs").mkdir(dir)
  local pid = dead_pid()
  local function touch(name) local f = assert(io.open(dir .. "/" .. name, "wb")); f:write("partial"); f:close() end
  local stale1 = ".w.safetensors.moonlab-tmp." .. pid .. ".0"
  local stale2 = ".w.safetensors.moonlab-tmp." .. pid .. ".17"
  local alive = ".w.safetensors.moonlab-tmp.1.0"       -- pid 1 runs: another writer's file in progress
  local other = ".v.safetensors.moonlab-tmp." .. pid .. ".0" -- another path's: left for its next write
  local odd = ".w.safetensors.moonlab-tmp." .. pid .. ".x" -- not a name we make
  for _, n in ipairs({ stale1, stale2, alive, other, odd }) do touch(n) end
  ml.save(dir .. "/w.safetensors", { x = ml.ones(2) })
  local names = ls(dir)
  T.ok(not names[stale1] and not names[stale2], "stale temporary files removed")
  T.ok(names[alive] and names[other] and names[odd], "only the dead writer's files of this path are removed")
  T.ok(names["w.safetensors"])
  T.all_near(ml.load(dir .. "/w.safetensors").x, { 1, 1 })
  -- a write leaves no temporary file; npy writes clean up the same way
  touch(".w.npy.moonlab-tmp." .. pid .. ".3")
  ml.save(dir .. "/w.npy", ml.ones(3))
  local n = 0
  for name in pairs(ls(dir)) do if name:find("moonlab-tmp", 1, true) then n = n + 1 end end
  T.eq(n, 3) -- alive, other, odd
end)

T.test("atomic write: a 250-byte file name saves and loads (the temporary name is shortened to fit)", function()
  for _, ext in ipairs({ ".safetensors", ".npy" }) do
    local name = string.rep("n", 250 - #ext) .. ext
    local p = tmpdir .. "/" .. name
    ml.save(p, ext == ".npy" and ml.arange(1, 4):float() or { a = ml.arange(1, 4):float() })
    local back = ml.load(p)
    T.all_near(ext == ".npy" and back or back.a, { 1, 2, 3 })
    -- a second name of 250 bytes sharing the first 240: a distinct temporary prefix
    local name2 = string.rep("n", 240 - #ext) .. string.rep("m", 10) .. ext
    ml.save(tmpdir .. "/" .. name2, ext == ".npy" and ml.ones(1) or { a = ml.ones(1) })
    for f in pairs(ls(tmpdir)) do T.ok(not f:find("moonlab-tmp", 1, true), "left behind: " .. f) end
  end
end)

-- ---- messages quote file bytes escaped and cut short ---------------------------
local function write(p, bytes) local f = assert(io.open(p, "wb")); f:write(bytes); f:close() end
local function st_file(header) return string.pack("<I8", #header) .. header end

local function err_of(fn) local ok, e = pcall(fn); T.ok(not ok, "expected an error"); return tostring(e) end

local function clean(msg, what)
  T.ok(not msg:find("[%z\1-\31\127]"), what .. ": a raw control byte reached the message: " .. msg)
  T.ok(#msg < 400, what .. ": the message is " .. #msg .. " bytes long")
end

T.test("file errors: control bytes in a safetensors header are escaped and long names cut", function()
  local p = tmpdir .. "/ctl.safetensors"
  local name = "\\u001b[31mred\\u0007" .. string.rep("x", 300)
  write(p, st_file('{"' .. name .. '":{"dtype":"\\u001b]0;F32","shape":[1],"data_offsets":[0,4]}}') .. "\0\0\0\0")
  local msg = err_of(function() ml.load(p) end)
  clean(msg, "unsupported dtype")
  T.ok(msg:find("\\x1b[31mred\\x07xxx", 1, true), msg)
  T.ok(msg:find("xxx...'", 1, true), "the name is cut: " .. msg)
  T.ok(msg:find("unsupported dtype '\\x1b]0;F32'", 1, true), msg)
  -- a bad shape names the tensor the same way; UTF-8 names stay readable
  write(p, st_file('{"poids\\u00e9\\u0085":{"dtype":"F32","shape":["a"],"data_offsets":[0,4]}}') .. "\0\0\0\0")
  msg = err_of(function() ml.load(p) end)
  clean(msg, "shape")
  T.ok(msg:find("tensor 'poids\195\169\\xc2\\x85'", 1, true), msg)
  -- metadata and overlapping tensors
  write(p, st_file('{"__metadata__":{"\\u001bk":1}}'))
  msg = err_of(function() ml.load(p) end)
  clean(msg, "metadata")
  T.ok(msg:find("value for '\\x1bk'", 1, true), msg)
  write(p, st_file('{"\\u0001a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' ..
    '"\\u0001b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}') .. "\0\0\0\0")
  msg = err_of(function() ml.load(p) end)
  clean(msg, "overlap")
  T.ok(msg:find("'\\x01a'", 1, true) and msg:find("'\\x01b'", 1, true), msg)
end)

T.test("file errors: JSON and npy messages escape what they quote", function()
  local msg = err_of(function() ml.json.decode('{"\\u001b[2J' .. string.rep("k", 100) .. '":1,"\\u001b[2J' .. string.rep("k", 100) .. '":2}') end)
  clean(msg, "json duplicate")
  T.ok(msg:find('duplicate key "\\x1b[2Jkkk', 1, true) and msg:find('kkk..."', 1, true), msg)
  msg = err_of(function() ml.json.decode('["\\\1"]') end)
  clean(msg, "json escape")
  T.ok(msg:find("bad escape '\\\\x01'", 1, true), msg)
  local p = tmpdir .. "/ctl.npy"
  local hdr = "{'descr': '<\27[31m\7', 'fortran_order': False, 'shape': (1,), }"
  hdr = hdr .. string.rep(" ", 63 - (10 + #hdr) % 64) .. "\n"
  write(p, "\147NUMPY\1\0" .. string.pack("<I2", #hdr) .. hdr .. "\0\0\0\0")
  msg = err_of(function() ml.load(p) end)
  clean(msg, "npy dtype")
  T.ok(msg:find("unsupported dtype '<\\x1b[31m\\x07'", 1, true), msg)
end)

-- ---- // and % -------------------------------------------------------------------
local function same(got, want, what, zero_sign)
  local g = got:tolist()
  T.eq(#g, #want, what)
  for i = 1, #want do
    T.eq(g[i], want[i], string.format("%s: element %d", what, i))
    if zero_sign and want[i] == 0 then T.eq(1 / g[i], 1 / want[i], what .. ": the sign of zero, element " .. i) end
  end
end

T.test("// and %: floor division and remainder with the sign of the divisor, as Python and PyTorch", function()
  local af = ml.tensor({ -7.5, -3, -0.5, 0, 0.5, 3, 7.5 }, { dtype = "float64" })
  -- expected values from Python's float // and % (torch.floor_divide and torch.remainder agree; the
  -- sign of a zero remainder is a's in PyTorch (fmod), b's in Python, so it is not compared)
  local fd = { [2] = { -4.0, -2.0, -1.0, 0.0, 0.0, 1.0, 3.0 }, [-2] = { 3.0, 1.0, 0.0, -0.0, -1.0, -2.0, -4.0 },
    [0.75] = { -10.0, -4.0, -1.0, 0.0, 0.0, 4.0, 10.0 }, [-0.75] = { 10.0, 4.0, 0.0, -0.0, -1.0, -4.0, -10.0 } }
  local rm = { [2] = { 0.5, 1, 1.5, 0, 0.5, 1, 1.5 }, [-2] = { -1.5, -1, -0.5, 0, -1.5, -1, -0.5 },
    [0.75] = { 0, 0, 0.25, 0, 0.5, 0, 0 }, [-0.75] = { -0.0, -0.0, -0.5, -0.0, -0.25, -0.0, -0.0 } }
  for _, b in ipairs({ 2, -2, 0.75, -0.75 }) do
    same(af // b, fd[b], "float64 // " .. b, true)
    same(af % b, rm[b], "float64 % " .. b)
    same(af // ml.full({ 7 }, b, { dtype = "float64" }), fd[b], "tensor // tensor " .. b, true)
    same(af:float() % b, rm[b], "float32 % " .. b) -- all exact in float32
  end
  local ai = ml.tensor({ -7, -3, -1, 0, 1, 3, 7 }, { dtype = "int64" })
  local ifd = { [2] = { -4, -2, -1, 0, 0, 1, 3 }, [-2] = { 3, 1, 0, 0, -1, -2, -4 },
    [3] = { -3, -1, -1, 0, 0, 1, 2 }, [-3] = { 2, 1, 0, 0, -1, -1, -3 } }
  local irm = { [2] = { 1, 1, 1, 0, 1, 1, 1 }, [-2] = { -1, -1, -1, 0, -1, -1, -1 },
    [3] = { 2, 0, 2, 0, 1, 0, 1 }, [-3] = { -1, 0, -1, 0, -2, 0, -2 } }
  for _, b in ipairs({ 2, -2, 3, -3 }) do
    local q, r = ai // b, ai % b
    T.eq(q:dtype(), "int64")
    T.eq(r:dtype(), "int64")
    for i, v in ipairs(q:tolist()) do T.eq(v, ifd[b][i], "int64 // " .. b) end
    for i, v in ipairs(r:tolist()) do T.eq(v, irm[b][i], "int64 % " .. b) end
    -- a == b * (a // b) + a % b
    T.ok(ml.equal(q * b + r, ai))
  end
  -- number on the left, broadcasting, methods and functions, bool operands
  T.eq((7 // ml.tensor({ 2, -2, 3 })):tolist()[2], -4)
  T.eq((7 % ml.tensor({ 2, -2, 3 })):tolist()[2], -1)
  T.eq((ml.tensor({ { 5 }, { -5 } }) // ml.tensor({ 2, 3 })):tolist()[2][1], -3)
  T.eq(ml.tensor({ 9 }):floor_divide(4):tolist()[1], 2)
  T.eq(ml.remainder(ml.tensor({ -9 }), 4):tolist()[1], 3)
  T.eq((ml.tensor({ true, false }, { dtype = "bool" }) // 1):dtype(), "int64")
  -- int64 extremes: INT64_MIN // -1 wraps instead of trapping
  T.eq((ml.tensor({ math.mininteger }, { dtype = "int64" }) // -1):tolist()[1], math.mininteger)
  T.eq((ml.tensor({ math.mininteger }, { dtype = "int64" }) % -1):tolist()[1], 0)
  -- division by zero: an error for integers, inf / NaN for floats (as PyTorch)
  T.raises(function() return ai // 0 end, "floor_divide: integer division by zero")
  T.raises(function() return ai % ml.zeros(7):long() end, "remainder: integer division by zero")
  local z = ml.tensor({ 1, -1, 0 }):float() // 0
  T.eq(z:tolist()[1], math.huge)
  T.eq(z:tolist()[2], -math.huge)
  T.ok(z:tolist()[3] ~= z:tolist()[3])
  T.raises(function() return ai // "x" end, "floor_divide: argument #2: expected a tensor or a number, got string")
end)

T.test("// and %: gradients (zero for //, 1 and -floor(a/b) for %), and none for integers", function()
  local a = ml.tensor({ 5.5, -2.5 }):requires_grad()
  local b = ml.tensor({ 2.0, 2.0 }):requires_grad()
  ;((a % b) + (a // b)):sum():backward()
  T.all_near(a.grad, { 1, 1 })
  T.all_near(b.grad, { -2, 2 })
  local c = ml.tensor({ 1.5, 2.5 }):requires_grad()
  ;(7 % c):sum():backward()
  T.all_near(c.grad, { -4, -2 })
end)

-- ---- indices and dimensions: full values, 1-based hints -------------------------
T.test("index and dimension errors: large values in full, a hint for 0, stride(dim)", function()
  local t = ml.zeros(2, 3)
  T.raises(function() return t[2 ^ 31 + 5] end, "index: index 2147483653 is out of range for dimension 1 of size 2")
  T.raises(function() return t[(1 << 40)] end, "index 1099511627776 is out of range")
  T.raises(function() return t:select(2, 1 << 33) end, "select: index 8589934592 is out of range for dimension 2 of size 3")
  T.raises(function() return t:transpose(1, 1 << 33) end, "dimension 8589934592 out of range")
  T.raises(function() return t:sum(0) end, "sum: dimension 0 is out of range (dimensions are 1-based: 1..2, or -1..-2 from the end)")
  T.raises(function() return t:size(0) end, "size: dimension 0 is out of range (dimensions are 1-based")
  T.raises(function() return ml.cat({ t, t }, 0) end, "cat: dimension 0 is out of range (dimensions are 1-based")
  T.raises(function() return t:permute(0, 1) end, "permute: dimension 0 is out of range (dimensions are 1-based")
  T.raises(function() return t[0] end, "index: index 0 is out of range for dimension 1 of size 2 (indices are 1-based: 1..2")
  T.raises(function() t[0] = 1 end, "index assignment: index 0 is out of range")
  T.raises(function() return t:select(1, 0) end, "select: index 0 is out of range for dimension 1 of size 2 (indices are 1-based")
  T.raises(function() return t:narrow(2, 0, 1) end, "narrow: start 0 is out of range for dimension 2 of size 3 (indices are 1-based")
  T.raises(function() return t:index_select(1, { 0 }) end, "index_select: index 0 is out of range for dimension 1 of size 2 (indices are 1-based)")
  T.raises(function() return t:stride(99) end, "stride: dimension 99 out of range for a tensor with 2 dimensions")
  T.raises(function() return t:stride(0) end, "stride: dimension 0 is out of range")
  T.eq(t:stride(1), 3)
  T.eq(t:stride(-1), 1)
  T.eq(t:t():stride(2), 3)
  T.eq(t:stride()[1], 3)
  T.eq(t:select(2, -1):shape()[1], 2)
end)
