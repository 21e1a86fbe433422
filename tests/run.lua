-- The test runner: runs every tests/lua/test_*.lua (or those named on the
-- command line, or matching --only PATTERN) and the C test binaries given as
-- arguments, then prints "N passed, M failed" and exits non-zero on failure.
--
-- A Lua test file uses the global T:
--   T.test("name", function() ... end)
--   T.eq(got, want, [msg])         exact equality (numbers, strings, booleans)
--   T.near(got, want, [tol])       |got - want| <= tol (default 1e-6, relative for large values)
--   T.all_near(tensor_or_table, tensor_or_table, [tol])  elementwise, same shape
--   T.raises(fn, pattern)          fn must raise an error whose message contains pattern (plain)
--   T.ok(cond, [msg])
--   T.tmpname([suffix])            a fresh path (nothing there yet) under a temporary folder;
--                                  what is made there is removed at the end of the test file
--   T.tmpdir()                     a fresh, empty folder there
-- Shared helpers (one copy for every test file):
--   T.BIN                          the moonlab binary under test (build-asan/ under make check-memory)
--   T.quote(s)                     s quoted for the shell
--   T.read_file(path) -> string | nil,  T.write_file(path, bytes)
--   T.listdir(dir) -> sorted names (without . and ..)
--   T.flatten(nested_table) -> flat array
--   T.fixture_tensor(spec)         a tensor from a fixture entry {data, shape, dtype}
--   T.build(ctor, [env])           evaluates a constructor expression ("nn.Linear(3, 2)") from a fixture
local passed, failed = 0, 0
local failures = {}
local only, memory = nil, false
local files, cbins = {}, {}
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--only" then only = arg[i + 1]; i = i + 1
  elseif a == "--memory" then memory = true
  elseif a:match("%.lua$") then files[#files + 1] = a
  else cbins[#cbins + 1] = a end
  i = i + 1
end
local lfs = require "lfs"
if #files == 0 then
  for f in lfs.dir("tests/lua") do
    if f:match("^test_.*%.lua$") then files[#files + 1] = "tests/lua/" .. f end
  end
  table.sort(files)
end

local function fmt(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local function tolist(x)
  if type(x) == "userdata" and x.tolist then return x:tolist() end
  return x
end

local function flatten(x, out)
  out = out or {}
  if type(x) == "table" then
    for _, v in ipairs(x) do flatten(v, out) end
  else out[#out + 1] = x end
  return out
end

T = {}
T.memory = memory
function T.ok(c, msg) if not c then error(msg or "assertion failed", 2) end end
function T.eq(got, want, msg)
  if got ~= want then error(string.format("%sexpected %s, got %s", msg and (msg .. ": ") or "", fmt(want), fmt(got)), 2) end
end
function T.near(got, want, tol, msg)
  tol = tol or 1e-6
  local scale = math.max(1, math.abs(want))
  if not (math.abs(got - want) <= tol * scale) and not (got ~= got and want ~= want) then
    error(string.format("%sexpected %.9g, got %.9g (tol %g)", msg and (msg .. ": ") or "", want, got, tol), 2)
  end
end
function T.all_near(got, want, tol, msg)
  tol = tol or 1e-6
  if type(got) == "userdata" and type(want) == "userdata" then
    local gs, ws = table.concat(got:shape(), ","), table.concat(want:shape(), ",")
    if gs ~= ws then error(string.format("%sshape [%s] vs expected [%s]", msg and (msg .. ": ") or "", gs, ws), 2) end
  end
  local g, w = flatten(tolist(got)), flatten(tolist(want))
  if #g ~= #w then error(string.format("%s%d elements, expected %d", msg and (msg .. ": ") or "", #g, #w), 2) end
  for k = 1, #g do
    local a, b = g[k], w[k]
    if type(a) == "boolean" then a = a and 1 or 0 end
    if type(b) == "boolean" then b = b and 1 or 0 end
    local bad
    if a ~= a or b ~= b then bad = not (a ~= a and b ~= b)
    elseif a == b then bad = false
    else bad = not (math.abs(a - b) <= tol * math.max(1, math.abs(b))) end
    if bad then
      error(string.format("%selement %d: expected %.9g, got %.9g (tol %g)", msg and (msg .. ": ") or "", k, b, a, tol), 2)
    end
  end
end
function T.raises(fn, pattern)
  local ok, err = pcall(fn)
  if ok then error("expected an error" .. (pattern and (" containing '" .. pattern .. "'") or ""), 2) end
  if pattern and not tostring(err):find(pattern, 1, true) then
    error(string.format("error %q does not contain %q", tostring(err), pattern), 2)
  end
  return err
end
-- Temporary paths: one folder per run, emptied after each test file and
-- removed at the end (no math.random here: it would shift the tests' draws).
local tmp_root, tmp_count = nil, 0
local function remove_tree(path)
  local mode = lfs.symlinkattributes(path, "mode")
  if mode == "directory" then
    for e in lfs.dir(path) do
      if e ~= "." and e ~= ".." then remove_tree(path .. "/" .. e) end
    end
    lfs.rmdir(path)
  elseif mode then
    os.remove(path)
  end
end
function T.tmpname(suffix)
  if not tmp_root then
    local base = os.getenv("TMPDIR") or "/tmp"
    for k = 1, 100 do
      local cand = string.format("%s/moonlab-test-%d-%d-%s", base, os.time(), k, tostring({}):match("(%x+)$"))
      if lfs.mkdir(cand) then tmp_root = cand; break end
    end
    assert(tmp_root, "T.tmpname: cannot create a temporary folder in " .. base)
  end
  tmp_count = tmp_count + 1
  return string.format("%s/t%d%s", tmp_root, tmp_count, suffix or "")
end
local function clean_tmp(all)
  if not tmp_root then return end
  if all then remove_tree(tmp_root); tmp_root = nil; return end
  for e in lfs.dir(tmp_root) do
    if e ~= "." and e ~= ".." then remove_tree(tmp_root .. "/" .. e) end
  end
end

function T.tmpdir()
  local d = T.tmpname()
  assert(lfs.mkdir(d), "T.tmpdir: cannot create " .. d)
  return d
end

T.BIN = (arg and arg[-1] and arg[-1]:match("moonlab$")) and arg[-1] or "./build/moonlab"
function T.quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
function T.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
function T.write_file(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end
-- Runs the shell command line cmd with stdin from the string input (nil: /dev/null);
-- returns its stdout, stderr and exit code.
function T.capture(cmd, input)
  local out, err = T.tmpname(), T.tmpname()
  local inp = "/dev/null"
  if input then inp = T.tmpname(); T.write_file(inp, input) end
  local _, _, code = os.execute(string.format("%s <%s >%s 2>%s", cmd, inp, out, err))
  return T.read_file(out), T.read_file(err), code
end
function T.listdir(d)
  local names = {}
  for e in lfs.dir(d) do
    if e ~= "." and e ~= ".." then names[#names + 1] = e end
  end
  table.sort(names)
  return names
end
T.flatten = flatten
function T.fixture_tensor(spec)
  local t = ml.tensor(#spec.data > 0 and spec.data or {}, { dtype = spec.dtype })
  return t:reshape(spec.shape):contiguous()
end
function T.build(ctor, env)
  local e = setmetatable(env or {}, { __index = { nn = ml.nn, ml = ml } })
  return assert(load("return " .. ctor, "=ctor", "t", e))()
end

function T.test(name, fn)
  if only and not name:find(only, 1, true) then return end
  local ok, err = xpcall(fn, debug.traceback)
  if ok then passed = passed + 1
  else
    failed = failed + 1
    failures[#failures + 1] = name
    io.stderr:write("FAIL ", T.current_file or "?", ": ", name, "\n  ", tostring(err), "\n")
  end
end

if ml and ml.seed then ml.seed(0) end
io.write("seed 0, OMP_NUM_THREADS=", os.getenv("OMP_NUM_THREADS") or "default", "\n")

for _, f in ipairs(files) do
  T.current_file = f
  local chunk, err = loadfile(f)
  if not chunk then
    failed = failed + 1
    io.stderr:write("FAIL ", f, ": does not load: ", err, "\n")
  else
    local ok, e = xpcall(chunk, debug.traceback)
    if not ok then
      failed = failed + 1
      io.stderr:write("FAIL ", f, ": error outside a test: ", tostring(e), "\n")
    end
  end
  collectgarbage()
  clean_tmp()
  -- data files read with no run open are recorded by the runs opened later in the process (ml.track): per test file
  local tr = package.loaded["moonlab.track.run"]
  if tr and tr._forget_reads then tr._forget_reads() end
end
clean_tmp(true)

-- C tests print their own "N passed, M failed" line; we add their counts.
for _, bin in ipairs(cbins) do
  local p = io.popen(bin .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  local np, nf = out:match("(%d+) passed, (%d+) failed%s*$")
  if np then
    passed, failed = passed + tonumber(np), failed + tonumber(nf)
    if tonumber(nf) > 0 or not ok then io.stderr:write(out) end
  else
    failed = failed + 1
    io.stderr:write("FAIL ", bin, ": no summary line\n", out)
  end
end

print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1, true) -- close the state, so LeakSanitizer sees what it held
