-- Bad input never crashes: every bad call is a Lua error that names the
-- function and the problem. Three parts:
--   1. targeted cases, each asserting the function name and the problem;
--   2. a seeded random fuzzer: 600 calls of ml.* functions, tensor methods
--      and operators with wrong types, shapes, dtypes, dims, huge and
--      negative sizes, NaN/Inf, zero-size, non-contiguous and freed tensors;
--   3. ml.load, ml.load_npy and ml._data.read_idx on truncated and
--      corrupted files.
-- A call may succeed (some random combinations are valid); when it fails,
-- its message must be a clean string naming the function, and it must not
-- leave tensors live (ml.memory_stats().live is checked after a full
-- collection, so a reference leaked by a raising binding shows in any build).
-- The process must live on: a crash ends the run without the summary line.
--
-- MOONLAB_FUZZ_VERBOSE=1 prints each random call before it runs, to find the
-- one that crashes; MOONLAB_FUZZ_SEED, MOONLAB_FUZZ_CALLS and
-- MOONLAB_FUZZ_FILES explore further. Functions that do not exist yet are
-- skipped.

local SEED = tonumber(os.getenv("MOONLAB_FUZZ_SEED")) or 42
local VERBOSE = os.getenv("MOONLAB_FUZZ_VERBOSE")
local N_CALLS = tonumber(os.getenv("MOONLAB_FUZZ_CALLS")) or 600
local N_FILES = tonumber(os.getenv("MOONLAB_FUZZ_FILES")) or 240

local saved_rng = ml.random_state and ml.random_state()

local NIL = setmetatable({}, {__tostring = function() return "nil" end}) -- nil inside tables

-- ---- helpers ----------------------------------------------------------------
local function is_tensor(v) return ml.is_tensor and ml.is_tensor(v) or (type(v) == "userdata" and getmetatable(v) and getmetatable(v).__name == "Tensor") end

local function describe(v)
  if v == NIL or v == nil then return "nil" end
  local ty = type(v)
  if ty == "string" then return string.format("%q", v) end
  if ty == "number" then
    if v ~= v then return "0/0" end
    if v == math.huge then return "1/0" end
    if v == -math.huge then return "-1/0" end
    return (math.type(v) == "integer") and tostring(v) or string.format("%.17g", v)
  end
  if ty == "userdata" and is_tensor(v) then
    local ok, s = pcall(function() return v:dtype() .. "[" .. table.concat(v:shape(), ",") .. "]" end)
    return ok and ("tensor " .. s) or "freed tensor"
  end
  if ty == "table" then
    local parts = {}
    for k, x in pairs(v) do
      parts[#parts + 1] = (type(k) == "number" and "" or (tostring(k) .. "=")) .. (type(x) == "table" and "{...}" or describe(x))
      if #parts > 4 then parts[#parts + 1] = "..."; break end
    end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return ty
end

local function describe_call(name, args, n)
  local parts = {}
  for i = 1, n do parts[i] = describe(args[i]) end
  return name .. "(" .. table.concat(parts, ", ") .. ")"
end

-- Bytes held by live tensors after a full collection (nil without
-- ml.memory_stats): a binding that raises after taking a reference leaks
-- the tensor, and this sees it in any build, not only under LeakSanitizer.
local function live_bytes()
  if not ml.memory_stats then return nil end
  collectgarbage()
  collectgarbage()
  return ml.memory_stats().live
end

-- Why err is not a clean error naming one of names (nil when it is).
local LUA_LEVEL = {"attempt to ", "unknown error", "(null)", "to '?'", "stack overflow", "not enough memory"}
local function unclean(err, names, loose)
  if type(err) ~= "string" then return "the error is a " .. type(err) .. ", not a string" end
  if #err > 2000 then return "a message of " .. #err .. " bytes" end
  if err:find("[%z\1-\8\11-\31\127]") then return "control characters in the message" end
  for _, bad in ipairs(LUA_LEVEL) do
    if err:find(bad, 1, true) then return "contains '" .. bad .. "'" end
  end
  if err:find("already freed", 1, true) then return nil end -- names the problem; a method lookup on a freed tensor says "index"
  for _, n in ipairs(names) do
    if err:find(n, 1, true) then return nil end
  end
  -- internal functions report as the Lua function built on them: any "name: problem" will do
  if loose and err:gsub("^[^:]*:%d+: ", ""):match("^[%w_%.]+: ") then return nil end
  return "does not name " .. table.concat(names, " or ")
end

-- fn must raise a clean error naming the function and containing every substring.
local function check_error(fn, names, ...)
  local before = live_bytes()
  local ok, err = pcall(fn)
  if ok then error("expected an error, the call succeeded and returned " .. describe(err), 2) end
  local after = live_bytes()
  if before and after ~= before then
    error(string.format("the failed call leaked %d bytes of tensors: %s", after - before, tostring(err)), 2)
  end
  local why = unclean(err, names)
  if why then error(string.format("%s: %s", why, tostring(err)), 2) end
  for i = 1, select("#", ...) do
    local want = select(i, ...)
    if not err:find(want, 1, true) then
      error(string.format("error %q does not contain %q", err, want), 2)
    end
  end
  return err
end

local function has(...)
  for i = 1, select("#", ...) do
    local name = select(i, ...)
    if ml[name] == nil and ml.Tensor[name] == nil then return false end
  end
  return true
end

local function freed_tensor()
  local t = ml.zeros(2, 2)
  getmetatable(t).__close(t)
  return t
end

-- ---- 1. targeted cases ------------------------------------------------------
-- {needs, description, fn, names, substrings...}
local cases = {
  {{"matmul"}, "matmul of [3,4] and [5,2]", function() return ml.matmul(ml.zeros(3, 4), ml.zeros(5, 2)) end,
    {"matmul"}, "matmul: shapes [3,4] and [5,2] do not align (4 vs 5)"},
  {{}, "zeros(-1)", function() return ml.zeros(-1) end, {"zeros"}, "negative"},
  {{}, "zeros(1e12, 1e12)", function() return ml.zeros(1e12, 1e12) end, {"zeros"}, "too large"},
  {{}, "zeros(2^62)", function() return ml.zeros(2 ^ 62) end, {"zeros"}, "too large"},
  {{}, "zeros(math.maxinteger, 2)", function() return ml.zeros(math.maxinteger, 2) end, {"zeros"}, "too large"},
  {{"ones"}, "ones(2^40, 2^40)", function() return ml.ones(2 ^ 40, 2 ^ 40) end, {"ones"}, "too large"},
  {{}, "zeros(0.5)", function() return ml.zeros(0.5) end, {"zeros"}, "integer"},
  {{}, "zeros(0/0)", function() return ml.zeros(0 / 0) end, {"zeros"}},
  {{}, "zeros(1/0)", function() return ml.zeros(1 / 0) end, {"zeros"}},
  {{}, "zeros('x')", function() return ml.zeros("x") end, {"zeros"}},
  {{}, "zeros with 9 dimensions", function() return ml.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end, {"zeros"}, "8"},
  {{}, "zeros({dtype='int8'})", function() return ml.zeros(2, {dtype = "int8"}) end, {"zeros"}, "int8"},
  {{}, "zeros unknown option", function() return ml.zeros(2, {foo = 1}) end, {"zeros"}, "foo"},
  {{"sum"}, "t:sum(5) on 2-D", function() return ml.zeros(2, 3):sum(5) end, {"sum"}, "dimension"},
  {{"sum"}, "t:sum(-9) on 2-D", function() return ml.zeros(2, 3):sum(-9) end, {"sum"}, "dimension"},
  {{"sum"}, "t:sum(2^40)", function() return ml.zeros(2, 3):sum(2 ^ 40) end, {"sum"}, "dimension"},
  {{"sum"}, "t:sum(math.mininteger)", function() return ml.zeros(2, 3):sum(math.mininteger) end, {"sum"}, "dimension"},
  {{"mean"}, "t:mean(0)", function() return ml.zeros(2, 3):mean(0) end, {"mean"}, "dimension"},
  {{"size"}, "t:size(9)", function() return ml.zeros(2, 3):size(9) end, {"size"}, "dimension"},
  {{}, "t[10] out of range", function() return ml.zeros(2, 3)[10] end, {"index"}, "out of range"},
  {{}, "t[0]", function() return ml.zeros(2, 3)[0] end, {"index"}, "out of range"},
  {{}, "t[-3]", function() return ml.zeros(2, 3)[-3] end, {"index"}, "out of range"},
  {{}, "t[1.5]", function() return ml.zeros(2, 3)[1.5] end, {"index"}, "integer"},
  {{}, "t[10] = 1", function() local t = ml.zeros(2, 3); t[10] = 1 end, {"index"}, "out of range"},
  {{}, "t[1] = 'x'", function() local t = ml.zeros(2, 3); t[1] = "x" end, {"index"}},
  {{}, "t[1] = a wrong shape", function() local t = ml.zeros(2, 3); t[1] = ml.zeros(4) end, {"index assignment"}},
  {{}, "t.foo = 1", function() local t = ml.zeros(2); t.foo = 1 end, {"foo"}},
  {{}, "t.grad = a wrong shape", function() local t = ml.zeros(2, 3); t.grad = ml.zeros(3) end, {"grad"}},
  {{}, "# of a 0-d tensor", function() return #ml.zeros() end, {"#", "len"}},
  {{"exp"}, "ml.exp('x')", function() return ml.exp("x") end, {"exp"}, "expected a tensor"},
  {{"exp"}, "ml.exp(nil)", function() return ml.exp(nil) end, {"exp"}, "expected a tensor"},
  {{"exp"}, "ml.exp()", function() return ml.exp() end, {"exp"}, "expected a tensor"},
  {{"sum"}, "ml.sum(io.stdout)", function() return ml.sum(io.stdout) end, {"sum"}, "expected a tensor"},
  {{}, "t + 'x'", function() return ml.zeros(2, 3) + "x" end, {"add"}},
  {{}, "t + {}", function() return ml.zeros(2, 3) + {} end, {"add"}},
  {{}, "t * nil", function() return ml.zeros(2, 3) * nil end, {"mul"}},
  {{}, "t + a non-broadcastable tensor", function() return ml.zeros(2, 3) + ml.zeros(4) end, {"add"}, "broadcast"},
  {{}, "t / a non-broadcastable tensor", function() return ml.zeros(2, 3) / ml.zeros(2, 2) end, {"div"}},
  {{"pow"}, "t ^ a non-broadcastable tensor", function() return ml.zeros(3) ^ ml.zeros(2) end, {"pow"}},
  {{"requires_grad"}, "int64 requires_grad", function() return ml.zeros(3, {dtype = "int64"}):requires_grad() end,
    {"requires_grad"}, "float"},
  {{"matmul"}, "matmul int64 x float32", function() return ml.zeros(2, 2, {dtype = "int64"}):matmul(ml.zeros(2, 2)) end,
    {"matmul"}, "dtype"},
  {{"matmul"}, "matmul of 0-d tensors", function() return ml.matmul(ml.zeros(), ml.zeros()) end, {"matmul"}},
  {{"matmul"}, "batched matmul, batch mismatch", function() return ml.zeros(2, 3, 4):matmul(ml.zeros(3, 4, 5)) end,
    {"matmul"}},
  {{"dot"}, "dot of lengths 3 and 4", function() return ml.dot(ml.zeros(3), ml.zeros(4)) end, {"dot"}},
  {{"outer"}, "outer of a matrix", function() return ml.outer(ml.zeros(3, 3), ml.zeros(4)) end, {"outer"}},
  {{"addmm"}, "addmm that does not align", function() return ml.addmm(ml.zeros(3), ml.zeros(2, 3), ml.zeros(2, 3)) end,
    {"addmm"}},
  {{"addmm"}, "addmm alpha='x'", function()
    return ml.addmm(ml.zeros(2), ml.zeros(2, 3), ml.zeros(3, 2), {alpha = "x"}) end, {"addmm"}, "alpha"},
  {{"reshape"}, "reshape(4,4) of 6 elements", function() return ml.zeros(2, 3):reshape(4, 4) end, {"reshape"}},
  {{"reshape"}, "reshape(-1,-1)", function() return ml.zeros(2, 3):reshape(-1, -1) end, {"reshape"}},
  {{"reshape"}, "reshape of 0 elements to an overflowing shape", function() return ml.zeros(0):reshape(2 ^ 62, 4) end,
    {"reshape"}},
  {{"view"}, "view of a transpose", function() return ml.zeros(3, 4):t():view(12) end, {"view"}},
  {{"transpose"}, "transpose(1,3) of 2-D", function() return ml.zeros(2, 3):transpose(1, 3) end, {"transpose"}, "dimension"},
  {{"narrow"}, "narrow past the end", function() return ml.zeros(2, 3):narrow(1, 2, 5) end, {"narrow"}},
  {{"narrow"}, "narrow(1, 2, math.maxinteger)", function() return ml.zeros(2, 3):narrow(1, 2, math.maxinteger) end, {"narrow"}},
  {{"select"}, "select(1, 3) of size 2", function() return ml.zeros(2, 3):select(1, 3) end, {"select"}, "out of range"},
  {{"expand"}, "expand [2,3] to [4,4]", function() return ml.zeros(2, 3):expand(4, 4) end, {"expand"}},
  {{"expand"}, "expand to 2^62 x 2^62 elements", function() return ml.zeros(1):expand(2 ^ 62, 2 ^ 62) end, {"expand"}},
  {{"permute"}, "permute(1,1)", function() return ml.zeros(2, 3):permute(1, 1) end, {"permute"}},
  {{"unsqueeze"}, "unsqueeze past 8 dimensions", function() return ml.zeros(1, 1, 1, 1, 1, 1, 1, 1):unsqueeze(1) end,
    {"unsqueeze"}},
  {{"cat"}, "cat of mismatched shapes", function() return ml.cat({ml.zeros(2, 3), ml.zeros(3, 2)}) end, {"cat"}},
  {{"cat"}, "cat({})", function() return ml.cat({}) end, {"cat"}},
  {{"cat"}, "cat({t, 'x'})", function() return ml.cat({ml.zeros(2), "x"}) end, {"cat"}},
  {{"cat"}, "cat(t)", function() return ml.cat(ml.zeros(2)) end, {"cat"}},
  {{"stack"}, "stack of mismatched shapes", function() return ml.stack({ml.zeros(2), ml.zeros(3)}) end, {"stack"}},
  {{"where"}, "where with a float condition", function() return ml.where(ml.zeros(2), ml.zeros(2), 1) end, {"where"}},
  {{"where"}, "where(cond, 'a', 1)", function() return ml.where(ml.zeros(2):bool(), "a", 1) end, {"where"}},
  {{"eye"}, "eye(-1)", function() return ml.eye(-1) end, {"eye"}},
  {{"arange"}, "arange(0, 1e15)", function() return ml.arange(0, 1e15) end, {"arange"}},
  {{"arange"}, "arange with step 0", function() return ml.arange(0, 10, 0) end, {"arange"}, "step"},
  {{"arange"}, "arange(0, 0/0)", function() return ml.arange(0, 0 / 0) end, {"arange"}},
  {{"arange"}, "arange(0, 1/0)", function() return ml.arange(0, 1 / 0) end, {"arange"}},
  {{"linspace"}, "linspace(0, 1, -1)", function() return ml.linspace(0, 1, -1) end, {"linspace"}},
  {{"linspace"}, "linspace(0, 1, 1e12)", function() return ml.linspace(0, 1, 1e12) end, {"linspace"}},
  {{"randint"}, "randint(5, 1)", function() return ml.randint(5, 1, {3}) end, {"randint"}},
  {{"randint"}, "randint(0, 0/0)", function() return ml.randint(0, 0 / 0, {3}) end, {"randint"}},
  {{"randperm"}, "randperm(-1)", function() return ml.randperm(-1) end, {"randperm"}},
  {{"randperm"}, "randperm(1e15)", function() return ml.randperm(1e15) end, {"randperm"}},
  {{"full"}, "full({2,2}, 'x')", function() return ml.full({2, 2}, "x") end, {"full"}},
  {{"full"}, "full int64 NaN", function() return ml.full({2}, 0 / 0, {dtype = "int64"}) end, {"full"}},
  {{"tensor"}, "tensor of a ragged table", function() return ml.tensor({{1, 2}, {3}}) end, {"tensor"}},
  {{"tensor"}, "tensor with a hole", function() return ml.tensor({1, nil, 3}) end, {"tensor"}},
  {{"tensor"}, "tensor('x')", function() return ml.tensor("x") end, {"tensor"}},
  {{"tensor"}, "tensor of a 1000-deep table", function()
    local deep = {1}
    for _ = 1, 1000 do deep = {deep} end
    return ml.tensor(deep) end, {"tensor"}},
  {{"tensor"}, "tensor of a cyclic table", function()
    local c = {}
    c[1] = c
    return ml.tensor(c) end, {"tensor"}},
  {{"backward"}, "backward without grad", function() return ml.zeros(2, 3):sum():backward() end, {"backward"}},
  {{"backward"}, "backward of a non-scalar", function() return ml.zeros(2, 3):requires_grad():mul(2):backward() end,
    {"backward"}},
  {{"backward"}, "backward twice without retain_graph", function()
    local x = ml.ones(3):requires_grad()
    local y = (x * x):sum()
    y:backward()
    return y:backward() end, {"backward"}},
  {{"backward"}, "backward('x')", function() return ml.ones(1):requires_grad():sum():backward("x") end, {"backward"}},
  {{"item"}, "item of 6 elements", function() return ml.zeros(2, 3):item() end, {"item"}},
  {{"item"}, "item of 0 elements", function() return ml.zeros(0):item() end, {"item"}},
  {{"max"}, "max of an empty tensor", function() return ml.zeros(0, 3):max() end, {"max"}},
  {{"argmax"}, "argmax of an empty tensor", function() return ml.zeros(0, 3):argmax() end, {"argmax"}},
  {{"topk"}, "topk(5) of 3", function() return ml.zeros(3):topk(5) end, {"topk"}},
  {{"topk"}, "topk(-1)", function() return ml.zeros(3):topk(-1) end, {"topk"}},
  {{"index_select"}, "index_select out of range", function() return ml.zeros(3):index_select(1, ml.tensor({5})) end,
    {"index_select"}, "out of range"},
  {{"index_select"}, "index_select with math.mininteger", function()
    return ml.zeros(3):index_select(1, ml.tensor({math.mininteger})) end, {"index_select"}},
  {{"index_select"}, "index_select with a float index", function()
    return ml.zeros(3):index_select(1, ml.tensor({1.5})) end, {"index_select"}},
  {{"gather"}, "gather with index 0", function() return ml.zeros(3):gather(1, ml.tensor({0})) end, {"gather"}},
  {{"gather"}, "gather with a larger index", function() return ml.zeros(1, 1):gather(2, ml.ones(5, 5):long()) end, {"gather"}},
  {{"scatter_add"}, "scatter_add out of range", function()
    return ml.zeros(2, 3):scatter_add(1, ml.tensor({{9, 1, 1}}), ml.zeros(1, 3)) end, {"scatter_add"}},
  {{"masked_fill"}, "masked_fill with a float mask", function() return ml.zeros(3):masked_fill(ml.zeros(3), 1) end,
    {"masked_fill"}},
  {{"masked_fill"}, "masked_fill with a wrong-shape mask", function()
    return ml.zeros(3):masked_fill(ml.zeros(4):bool(), 1) end, {"masked_fill"}},
  {{"split"}, "split(0)", function() return ml.zeros(6):split(0) end, {"split"}},
  {{"chunk"}, "chunk(0)", function() return ml.zeros(6):chunk(0) end, {"chunk"}},
  {{"softmax"}, "softmax without a dimension", function() return ml.zeros(2, 3):softmax() end, {"softmax"}},
  {{"softmax"}, "softmax of int64", function() return ml.tensor({1, 2}):softmax(1) end, {"softmax"}},
  {{"to"}, "to('int8')", function() return ml.zeros(2, 3):to("int8") end, {"to"}, "int8"},
  {{"clamp"}, "clamp()", function() return ml.zeros(2, 3):clamp() end, {"clamp"}},
  {{"clamp"}, "clamp('a')", function() return ml.zeros(2, 3):clamp("a") end, {"clamp"}},
  {{"norm"}, "norm('fro')", function() return ml.zeros(2, 3):norm("fro") end, {"norm"}},
  {{"copy_"}, "copy_ of a wrong shape", function() return ml.zeros(2, 3):copy_(ml.zeros(3, 2)) end, {"copy"}},
  {{"load"}, "load of a missing file", function() return ml.load("/nonexistent/dir/x.safetensors") end, {"load"}},
  {{"load"}, "load(nil)", function() return ml.load(nil) end, {"load"}},
  {{"load_npy"}, "load_npy of a Lua file", function() return ml.load_npy("tests/run.lua") end, {"load"}},
  {{"save"}, "save into a missing directory", function() return ml.save("/nonexistent/dir/x.safetensors", ml.zeros(2)) end,
    {"save"}},
  {{"save"}, "save of a string", function() return ml.save(T.tmpname(), "x") end, {"save"}},
  {{"save"}, "save with a path that is a tensor", function() return ml.save(ml.zeros(2), "x") end, {"save"}},
  {{"set_printoptions"}, "set_printoptions{precision=-1}", function() return ml.set_printoptions({precision = -1}) end,
    {"set_printoptions"}},
  {{"threads"}, "threads(0)", function() return ml.threads(0) end, {"threads"}},
  {{"seed"}, "seed('x')", function() return ml.seed("x") end, {"seed"}},
  {{"set_random_state"}, "set_random_state('x')", function() return ml.set_random_state("x") end, {"set_random_state"}},
  {{"no_grad"}, "no_grad(5)", function() return ml.no_grad(5) end, {"no_grad"}},
  -- errors raised after a binding took a tensor reference must not leak it
  {{"add_"}, "add_ with a tensor and a bad alpha", function() return ml.zeros(2):add_(ml.ones(2), "x") end, {"add_", "alpha"}},
  {{"add_"}, "add_ with a number and a bad alpha", function() return ml.zeros(2):add_(1, {}) end, {"add_", "alpha"}},
  {{"where"}, "where(cond, 1, 'x')", function() return ml.where(ml.zeros(2):bool(), 1, "x") end, {"where"}},
  {{"where"}, "where(cond, t, {})", function() return ml.where(ml.zeros(2):bool(), ml.ones(2), {}) end, {"where"}},
  -- the message names the function called, not the one it is built on
  {{"std"}, "std of int64", function() return ml.tensor({1, 2}):std() end, {"std"}},
  {{"zero_"}, "zero_ of a tensor that requires grad", function() return ml.ones(2):requires_grad():zero_() end, {"zero_"}},
  {{"expand_as"}, "expand_as to a smaller shape", function() return ml.zeros(3, 4):expand_as(ml.zeros(3)) end, {"expand_as"}},
  {{"dot"}, "dot of int64 and float32", function() return ml.dot(ml.tensor({1, 2}), ml.zeros(2)) end, {"dot"}},
  {{"masked_select"}, "masked_select with a table mask", function()
    return ml.zeros(3):masked_select({ml.zeros(3), ml.zeros(3)}) end, {"masked_select"}},
  {{"chunk"}, "chunk(math.maxinteger) is 3 chunks or a clean error", function()
    local ok, r = pcall(function() return ml.zeros(3, 3):chunk(math.maxinteger) end)
    if ok then
      T.eq(#r, 3, "chunks")
      error("chunk: ok") -- a clean outcome either way
    end
    error(r, 0) end, {"chunk"}},
  -- tensors that were freed with <close>
  {{}, "method of a freed tensor", function() return freed_tensor():sum() end, {"sum", "index"}, "freed"},
  {{"sum"}, "ml.sum of a freed tensor", function() return ml.sum(freed_tensor()) end, {"sum"}, "freed"},
  {{}, "freed + 1", function() return freed_tensor() + 1 end, {"add"}, "freed"},
  {{}, "1 + freed", function() return 1 + freed_tensor() end, {"add"}, "freed"},
  {{"tensor"}, "ml.tensor of a freed tensor", function() return ml.tensor(freed_tensor()) end, {"tensor"}, "freed"},
  -- 1 TiB passes the size check but no machine gives it: malloc's NULL is a
  -- clean error (under ASan too: check-memory sets allocator_may_return_null)
  {{"empty"}, "empty of 1 TiB fails cleanly (or succeeds untouched)", function()
    local ok, t = pcall(ml.empty, 2 ^ 38)
    if ok then
      getmetatable(t).__close(t)
      error("empty: ok")
    end
    error(t, 0) end, {"empty"}},
  -- failed allocations inside ops still name the op
  {{"sum"}, "sum whose result is too large", function() return ml.zeros(1e15, 0):sum(2) end, {"sum"}},
  {{"matmul"}, "matmul whose result is too large", function() return ml.zeros(1e15, 0):matmul(ml.zeros(0, 3)) end,
    {"matmul"}},
}

for _, c in ipairs(cases) do
  local needs, desc, fn, names = c[1], c[2], c[3], c[4]
  if has(table.unpack(needs)) then
    T.test("bad call: " .. desc, function() check_error(fn, names, table.unpack(c, 5)) end)
  end
end

-- Valid edge cases: zero-size tensors, NaN and Inf go through without error.
T.test("zero-size tensors, NaN and Inf are valid input", function()
  local z = ml.zeros(0, 3)
  T.eq(table.concat((z + 1):shape(), ","), "0,3")
  T.eq(z:sum():item(), 0)
  if has("matmul") then T.eq(table.concat(z:matmul(ml.zeros(3, 2)):shape(), ","), "0,2") end
  if has("cat") then T.eq(table.concat(ml.cat({z, ml.ones(2, 3)}):shape(), ","), "2,3") end
  if has("cumsum") then T.eq(table.concat(ml.zeros(1000, 0):cumsum(2):shape(), ","), "1000,0") end
  T.ok(tostring(z):find("0,3", 1, true) ~= nil, "tostring of a [0,3] tensor")
  local v = ml.tensor({0 / 0, 1 / 0, -1 / 0, 1})
  local s = tostring(v)
  T.ok(s:find("nan") and s:find("inf"), "tostring shows nan and inf: " .. s)
  local e = v:exp():tolist()
  T.ok(e[1] ~= e[1] and e[2] == math.huge and e[3] == 0, "exp of nan, inf, -inf")
  if has("isnan") then T.eq(v:isnan():tolist()[1], true) end
  T.ok(v:sum():item() ~= v:sum():item(), "sum with a NaN is NaN")
end)

-- ---- 2. the random fuzzer ----------------------------------------------------
-- Functions left out: those that change process-wide state the other tests
-- rely on (threads, seed, grad mode, print options), write files (save), or
-- run a callback n times (time).
local SKIP = {
  threads = true, seed = true, set_grad_enabled = true, set_printoptions = true, save = true, save_npy = true,
  time = true, help = true, _complete = true, Tensor = true,
}
-- The C functions under these internal tables (used by lualib's nn, optim
-- and data) are reachable from Lua, so they must not crash either. Left
-- out: ml._train, which raises and traps SIGINT.
local INTERNAL = {"_nn", "_optim", "_data"}
-- Names an error may use instead of the called one (an alias reports the function it shares).
local ALIASES = {
  mm = {"matmul"}, bmm = {"matmul"}, mv = {"matmul"},
  __add = {"add"}, __sub = {"sub"}, __mul = {"mul"}, __div = {"div"}, __pow = {"pow"}, __unm = {"unm", "neg"},
  __index = {"index"}, __newindex = {"index", "grad", "field"}, __len = {"#", "len"}, __tostring = {"tostring"},
  load_npy = {"load"}, copy_ = {"copy"},
}

local function make_pool()
  local P = {tensors = {}, numbers = {}, others = {}}
  local function T_(f)
    local ok, t = pcall(f)
    if ok and t ~= nil then P.tensors[#P.tensors + 1] = t end
  end
  T_(function() return ml.zeros(3, 4) end)
  T_(function() return ml.randn(4, 3) end)
  T_(function() return ml.randn(2, 3, 4) end)
  T_(function() return ml.randn(3) end)
  T_(function() return ml.ones(1) end)
  T_(function() return ml.tensor(1.5) end)                         -- 0-d
  T_(function() return ml.zeros(0, 3) end)                          -- zero-size
  T_(function() return ml.zeros(0) end)
  T_(function() return ml.zeros(1000, 0) end)
  T_(function() return ml.randn(3, 4):t() end)                      -- non-contiguous
  T_(function() return ml.randn(1, 3):expand(4, 3) end)             -- stride 0
  T_(function() return ml.randn(6, 4):narrow(1, 2, 3) end)          -- offset view
  T_(function() return ml.randn(3, 3):requires_grad() end)
  T_(function() return ml.randn(2, 2, {dtype = "float64"}) end)
  T_(function() return ml.tensor({0 / 0, 1 / 0, -1 / 0, 1}) end)    -- NaN and Inf
  T_(function() return ml.tensor({1, 2, 3}) end)                    -- int64
  T_(function() return ml.tensor({5, -1, 0}) end)                   -- int64, bad as indices
  T_(function() return ml.tensor({{1, 2}, {3, 1}}) end)             -- int64 matrix
  T_(function() return ml.tensor({math.mininteger, math.maxinteger}) end)
  T_(function() return ml.tensor({true, false, true}) end)          -- bool
  T_(function() return ml.zeros(3, 4, {dtype = "bool"}) end)
  T_(function() return ml.zeros(1, 1, 1, 1, 1, 1, 1, 2) end)        -- 8-D
  T_(freed_tensor)                                                  -- freed
  P.numbers = {0, 1, 2, 3, -1, -2, 9, -9, 0.5, -0.5, 1e15, 2 ^ 62, math.maxinteger, math.mininteger,
    0 / 0, 1 / 0, -1 / 0, 1e308, 2 ^ 53 + 1.0}
  P.others = {NIL, NIL, true, false, "x", "", "float32", "int64", "bool", {}, {1, 2}, {-1, 3}, {2 ^ 62}, {0 / 0},
    {"a"}, {{1}, {2, 3}}, {dtype = "int8"}, {dtype = "float64"}, {foo = 1}, {requires_grad = true},
    {keepdim = true}, {retain_graph = "yes"}, function() end, function() error("inner") end,
    coroutine.create(function() end), io.stdout}
  P.others[#P.others + 1] = {P.tensors[1], P.tensors[2]} -- lists of tensors
  P.others[#P.others + 1] = {P.tensors[1], "x"}
  P.others[#P.others + 1] = {P.tensors[4], P.tensors[4], P.tensors[4]}
  return P
end

local function pick(t) return t[math.random(#t)] end

local function random_arg(P)
  local r = math.random()
  if r < 0.45 then return pick(P.tensors)
  elseif r < 0.75 then return pick(P.numbers)
  else return pick(P.others) end
end

local function targets()
  local fns, methods = {}, {}
  for name, f in pairs(ml) do
    if type(f) == "function" and not SKIP[name] then fns[#fns + 1] = name end
  end
  for _, tname in ipairs(INTERNAL) do
    if type(rawget(ml, tname)) == "table" then
      for name, f in pairs(ml[tname]) do
        if type(f) == "function" then fns[#fns + 1] = tname .. "." .. name end
      end
    end
  end
  for name, f in pairs(ml.Tensor) do
    if type(f) == "function" and not SKIP[name] then methods[#methods + 1] = name end
  end
  table.sort(fns)
  table.sort(methods)
  return fns, methods
end

-- Calls are compiled as a user writes them (ml.name(...), t:name(...)), so
-- Lua's own "bad argument #k to 'name'" can name the function.
local callers = {}
local function caller(expr)
  local f = callers[expr]
  if not f then
    f = assert(load("local ml = ...; return function(...) return " .. expr .. " end", "=fuzz", "t", _ENV))(ml)
    callers[expr] = f
  end
  return f
end

local OPS = {"__add", "__sub", "__mul", "__div", "__pow", "__unm", "__index", "__newindex", "__len", "__tostring"}
local function op_call(op, a, b, c)
  if op == "__add" then return a + b
  elseif op == "__sub" then return a - b
  elseif op == "__mul" then return a * b
  elseif op == "__div" then return a / b
  elseif op == "__pow" then return a ^ b
  elseif op == "__unm" then return -a
  elseif op == "__index" then return a[b]
  elseif op == "__newindex" then a[b] = c
  elseif op == "__len" then return #a
  elseif op == "__tostring" then return tostring(a) end
end

T.test(N_CALLS .. " random bad calls are clean errors, never crashes", function()
  math.randomseed(SEED)
  if ml.seed then ml.seed(SEED) end
  local fns, methods = targets()
  local base = live_bytes()
  local P = make_pool()
  local bad, n_err, n_ok = {}, 0, 0
  local live = live_bytes()
  for i = 1, N_CALLS do
    if i % 50 == 0 then -- in-place calls change the pool
      P = make_pool()
      live = live_bytes()
    end
    local kind, name = math.random(), nil
    local args, n = {}, math.random(0, 4)
    for k = 1, n do args[k] = random_arg(P) end
    for k = 1, n do if args[k] == NIL then args[k] = nil end end
    local call, shown, sn = nil, args, n -- shown: the arguments as described
    if kind < 0.55 then
      name = pick(fns)
      local f = caller("ml." .. name .. "(...)")
      call = function() return f(table.unpack(args, 1, n)) end
    elseif kind < 0.85 then
      name = pick(methods)
      -- self: usually a tensor (t:name(...)); sometimes anything, through the method table
      if math.random() < 0.85 then
        local self = pick(P.tensors)
        local f = caller("(...):" .. name .. "(select(2, ...))")
        call = function() return f(self, table.unpack(args, 1, n)) end
        shown, sn = {self}, n + 1
        for k = 1, n do shown[k + 1] = args[k] end
      else
        local f = caller("ml.Tensor." .. name .. "(...)")
        call = function() return f(table.unpack(args, 1, n)) end
      end
    else
      name = pick(OPS)
      -- an operator reaches moonlab only through a tensor operand
      local a = math.random() < 0.8 and pick(P.tensors) or random_arg(P)
      local b, c = random_arg(P), random_arg(P)
      if not is_tensor(a) then
        if name == "__add" or name == "__sub" or name == "__mul" or name == "__div" or name == "__pow" then
          b = pick(P.tensors)
        else
          a = pick(P.tensors)
        end
      end
      if name == "__newindex" and math.random() < 0.5 then b = pick({"grad", "foo", 1, 2, -1, 0, 1e15}) end
      if name == "__index" and math.random() < 0.5 then b = pick({"grad", "grad_fn", "nosuch", 1, -1, 0, 1.5, 2 ^ 62}) end
      if b == NIL then b = nil end
      if c == NIL then c = nil end
      shown, sn = {a, b, c}, 3
      call = function() return op_call(name, a, b, c) end
    end
    local desc = describe_call(name, shown, sn)
    if VERBOSE then io.stderr:write("fuzz ", i, ": ", desc, "\n") end
    local ok, err = pcall(call)
    -- a failed call must not hold on to tensors (a successful one may:
    -- gradients of pool tensors, in-place results)
    local now = live and live_bytes()
    if now and not ok and now > live then
      bad[#bad + 1] = string.format("#%d %s: leaked %d bytes of tensors: %s", i, desc, now - live, tostring(err))
    end
    live = now
    if ok then n_ok = n_ok + 1
    else
      n_err = n_err + 1
      local names = {name, "ml." .. name}
      local module, base = name:match("^_(%w+)%.(.+)$")
      if module then -- ml._data.loader_new reports as its Lua face, "data.loader: ..."
        names[#names + 1] = base
        names[#names + 1] = module .. "."
      end
      if name:sub(-1) == "_" then names[#names + 1] = name:sub(1, -2) .. ":" end -- add_ may report "add:"
      for _, a in ipairs(ALIASES[name] or {}) do names[#names + 1] = a end
      names[#names + 1] = "inner" -- the error of a callback we passed
      local why = unclean(err, names, module ~= nil)
      if why then bad[#bad + 1] = string.format("#%d %s: %s: %s", i, desc, why, tostring(err)) end
    end
    if ml.is_grad_enabled and not ml.is_grad_enabled() then
      bad[#bad + 1] = string.format("#%d %s: left grad mode off", i, desc)
      ml.set_grad_enabled(true)
    end
  end
  P = nil
  local left = base and live_bytes() - base
  if left and left ~= 0 then bad[#bad + 1] = string.format("%d bytes of tensors still live after dropping everything", left) end
  if VERBOSE then io.stderr:write(string.format("fuzz: %d ok, %d errors, %d unclean\n", n_ok, n_err, #bad)) end
  T.ok(n_err > N_CALLS / 3, "most random calls should be errors, got " .. n_err)
  if #bad > 0 then
    local shown = {}
    for k = 1, math.min(#bad, 25) do shown[k] = bad[k] end
    error(#bad .. " of " .. N_CALLS .. " random calls gave unclean errors:\n  " .. table.concat(shown, "\n  "), 0)
  end
end)

-- ---- 3. corrupted files -------------------------------------------------------
local read_file = T.read_file

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- A mutation of s: truncation, flipped bytes, digits replaced in the header,
-- a huge header length, garbage appended or a run of bytes zeroed.
local function mutate(s)
  local r = math.random(6)
  local n = #s
  if n == 0 then return "\0" end
  if r == 1 then return s:sub(1, math.random(0, n - 1)) end
  if r == 2 then
    local b = {s:byte(1, -1)}
    for _ = 1, math.random(1, 8) do
      local k = math.random(math.min(n, 200)) -- headers live at the start
      b[k] = math.random(0, 255)
    end
    local parts = {}
    for k = 1, #b, 4096 do parts[#parts + 1] = string.char(table.unpack(b, k, math.min(k + 4095, #b))) end
    return table.concat(parts)
  end
  if r == 3 then -- a number in the header becomes huge, negative or odd
    local repl = pick({"99999999999999", "-1", "0", "18446744073709551615", "1e300", "4611686018427387904", "", "3.5"})
    local count = 0
    return (s:gsub("%d+", function(d)
      count = count + 1
      if count == math.random(1, 6) then return repl end
    end, 8))
  end
  if r == 4 then -- first 8 bytes (a safetensors header length) set to a huge or small value
    local v = pick({"\255\255\255\255\255\255\255\127", "\0\0\0\0\0\0\0\0", "\1\0\0\0\0\0\0\0", "\255\255\255\255\0\0\0\0"})
    return v .. s:sub(9)
  end
  if r == 5 then return s .. string.rep("\0", math.random(1, 64)) end
  local a = math.random(n)
  local z = math.min(n, a + math.random(1, 32))
  return s:sub(1, a - 1) .. string.rep("\0", z - a + 1) .. s:sub(z + 1)
end

T.test("load of truncated and corrupted files is a clean error", function()
  local read_idx = rawget(ml, "_data") and ml._data.read_idx
  -- the readers of each kind of file, with the names their errors must use
  local readers = {
    npy = {{"ml.load", ml.load, {"load"}}, {"ml.load_npy", ml.load_npy, {"load"}}},
    safetensors = {{"ml.load", ml.load, {"load"}}},
    idx = {{"data.read_idx", read_idx, {"read_idx"}}},
    gz = {{"data.read_idx", read_idx, {"read_idx"}}},
  }
  if not (ml.load or ml.load_npy or read_idx) then return end
  math.randomseed(SEED + 1)
  local dir = T.tmpdir()
  -- seeds: the fixtures, and files saved here
  local seeds = {}
  for _, name in ipairs(T.listdir("tests/fixtures/io")) do
    local f = "tests/fixtures/io/" .. name
    local s = (name:match("%.npy$") or name:match("%.safetensors$")) and read_file(f)
    if s then seeds[#seeds + 1] = {ext = f:match("%.(%w+)$"), data = s} end
  end
  for _, name in ipairs(T.listdir("tests/fixtures/data")) do
    local f = "tests/fixtures/data/" .. name
    if not name:match("%.idx%.gz$") then goto next_idx end
    local s = read_file(f)
    if s then seeds[#seeds + 1] = {ext = "gz", data = s} end
    local g = io.popen("gzip -dc '" .. f .. "' 2>/dev/null") -- the same file, plain
    local plain = g and g:read("a")
    if g then g:close() end
    if plain and #plain > 0 then seeds[#seeds + 1] = {ext = "idx", data = plain} end
    ::next_idx::
  end
  if ml.save then
    local f = dir .. "/saved.safetensors"
    local ok = pcall(ml.save, f, {w = ml.randn(3, 4), b = ml.zeros(4, {dtype = "float64"}), i = ml.tensor({1, 2})},
      {metadata = {note = "fuzz"}})
    if ok then seeds[#seeds + 1] = {ext = "safetensors", data = read_file(f)} end
  end
  if ml.save_npy then
    local f = dir .. "/saved.npy"
    if pcall(ml.save_npy, f, ml.randn(2, 5)) then seeds[#seeds + 1] = {ext = "npy", data = read_file(f)} end
  end
  T.ok(#seeds > 0, "no seed files")
  local bad, n_err = {}, 0
  local base = live_bytes()
  for i = 1, N_FILES do
    local sd = pick(seeds)
    local path = string.format("%s/m%d.%s", dir, i, sd.ext)
    write_file(path, mutate(sd.data))
    for _, reader in ipairs(readers[sd.ext]) do
      local fname, f, names = reader[1], reader[2], reader[3]
      if f then
        if VERBOSE then io.stderr:write("fuzz file ", i, ": ", fname, "(", path, ")\n") end
        local ok, err = pcall(f, path)
        if ok then
          -- a load that succeeds gives tensors one can read
          local r = err
          local ok2, err2 = pcall(function()
            if is_tensor(r) then r:sum() elseif type(r) == "table" then for _, t in pairs(r) do if is_tensor(t) then t:sum() end end end
          end)
          if not ok2 then bad[#bad + 1] = string.format("#%d %s: loaded, but reading failed: %s", i, fname, tostring(err2)) end
        else
          n_err = n_err + 1
          local why = unclean(err, names)
          if why then bad[#bad + 1] = string.format("#%d %s(%s): %s: %s", i, fname, path, why, tostring(err)) end
        end
      end
    end
    os.remove(path)
  end
  os.execute("rm -rf '" .. dir .. "'")
  local left = base and live_bytes() - base
  if left and left ~= 0 then bad[#bad + 1] = string.format("%d bytes of tensors still live after the loads", left) end
  T.ok(n_err > 0, "no corrupted file was refused")
  if #bad > 0 then
    local shown = {}
    for k = 1, math.min(#bad, 25) do shown[k] = bad[k] end
    error(#bad .. " corrupted files gave unclean results:\n  " .. table.concat(shown, "\n  "), 0)
  end
end)

T.test("a file's raw bytes do not reach the error message", function()
  if not ml.load_npy then return end
  local s = read_file("tests/fixtures/io/f32.npy")
  if not s then return end
  local path = T.tmpname(".npy")
  write_file(path, (s:gsub("<f4", "<\1\2", 1)))
  local ok, err = pcall(check_error, function() return ml.load_npy(path) end, {"load"})
  os.remove(path)
  if not ok then error(err, 0) end
end)

-- the fuzzer drew from the generator: give the other files the state they expect
if saved_rng and ml.set_random_state then ml.set_random_state(saved_rng) end
