--- moonlab.core.checks: the one way the Lua library checks arguments and
-- raises errors.
--
-- Errors are raised at the user's line: checks.fail walks up the stack to the
-- first function outside moonlab's own Lua library, so a message names the
-- line of the script that made the bad call, however deep inside the library
-- it was found. Messages start with the public name of the function:
--   "nn.Linear: in_features must be a non-negative integer, got -1".
-- Errors that come back from a C function or from user code called by the
-- library (a model's forward) are passed on with checks.reraise, which keeps a
-- position in the user's code and replaces one inside the library.
local ml = require "moonlab"

local checks = {}
local fmt = string.format

-- The library's own sources: this file is <root>moonlab/core/checks.lua.
local SELF = debug.getinfo(1, "S").source
local LIB = SELF:match("^@(.*)moonlab/core/checks%.lua$")
local LIB_PREFIX = LIB and ("@" .. LIB .. "moonlab/") or "@lualib/moonlab/"
local LIB_SHORT = LIB and (LIB .. "moonlab/") or "lualib/moonlab/"

--- checks.in_library(source) -> boolean: whether a chunk source (debug.getinfo's) is moonlab's Lua library
function checks.in_library(source)
  return source:sub(1, #LIB_PREFIX) == LIB_PREFIX or source:find("lualib/moonlab/", 1, true) ~= nil
end

--- checks.user_level() -> the stack level (for error()) of the first caller outside the library
function checks.user_level()
  local level = 3 -- the caller of the function that called user_level
  while true do
    local info = debug.getinfo(level, "S")
    if not info then return 0 end
    if info.what ~= "C" and not checks.in_library(info.source) then return level - 1 end
    level = level + 1
  end
end

--- checks.fail(msg): raises msg at the first caller outside moonlab's Lua library
function checks.fail(msg)
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info then return error(msg, 0) end
    if info.what ~= "C" and not checks.in_library(info.source) then return error(msg, level) end
    level = level + 1
  end
end

-- "path:line: " at the start of a message, when the path is inside the library.
local function strip_library_position(msg)
  local path, rest = msg:match("^([^%s:][^\n:]*):%d+: (.*)$")
  if not path then return nil end
  if path:sub(1, #LIB_SHORT) == LIB_SHORT or path:find("moonlab/[%w_/]+%.lua$") then return rest end
  return false -- a position in the user's code
end

--- checks.reraise(err, [prefix]): passes on an error caught with pcall; a position inside the
-- library is replaced by the user's line, a position in the user's code (their forward) is kept
function checks.reraise(err, prefix)
  if type(err) ~= "string" then error(err, 0) end
  local rest = strip_library_position(err)
  if rest == false then error(err, 0) end
  checks.fail((prefix or "") .. (rest or err))
end

--- checks.call(fn, ...) -> fn(...)'s results; an error it raises is re-raised at the user's line
local function pass_or_reraise(ok, ...)
  if ok then return ... end
  checks.reraise((...))
end
function checks.call(fn, ...)
  return pass_or_reraise(pcall(fn, ...))
end

-- ---- "did you mean" ----------------------------------------------------------

-- Edit distance with swaps of neighbours (optimal string alignment); names are short.
local function distance(a, b)
  if #a > 64 or #b > 64 then return math.huge end
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[#a][#b]
end

--- checks.suggest(name, known) -> the known name closest to name (a likely typo), or nil
function checks.suggest(name, known)
  if type(name) ~= "string" then return nil end
  local lname = name:lower()
  local best, bestd
  for _, k in ipairs(known) do
    if type(k) == "string" then
      local lk = k:lower()
      local d = distance(lname, lk)
      -- a prefix ("epoch" for "epochs") is a close match too
      if lk:sub(1, #lname) == lname or lname:sub(1, #lk) == lk then d = math.min(d, 1) end
      if not bestd or d < bestd then best, bestd = k, d end
    end
  end
  if best and bestd <= math.max(1, math.min(3, #name // 3)) then return best end
  return nil
end

local function sorted_copy(t)
  local out = { table.unpack(t) }
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

--- checks.unknown(fn, what, name, known): raises "fn: unknown WHAT 'name' (known: ...); did you mean 'x'?"
function checks.unknown(fn, what, name, known)
  local hint = checks.suggest(name, known)
  checks.fail(fmt("%s: unknown %s '%s' (known: %s)%s", fn, what, tostring(name),
    table.concat(sorted_copy(known), ", "), hint and fmt("; did you mean '%s'?", hint) or ""))
end

local function is_object(v)
  local mt = type(v) == "table" and getmetatable(v)
  return mt and (mt.__is_module == true or mt.__name ~= nil) or false
end

--- checks.options(fn, opts, known, [sorted]) -> opts or {}: refuses non-tables and unknown keys,
-- naming fn, listing the known names (as given, or sorted) and suggesting the closest one
function checks.options(fn, opts, known, sorted)
  if opts == nil then return {} end
  if type(opts) ~= "table" or is_object(opts) or ml.is_tensor(opts) then
    checks.fail(fn .. ": options must be a table, got " .. (ml.is_tensor(opts) and "a tensor" or
      (type(opts) == "table" and "an object" or type(opts))))
  end
  for k in pairs(opts) do
    local ok = false
    for _, n in ipairs(known) do if k == n then ok = true break end end
    if not ok then
      if #known == 0 then checks.fail(fmt("%s: unknown option '%s' (%s takes no options)", fn, tostring(k), fn)) end
      local names = sorted and sorted_copy(known) or { table.unpack(known) }
      local hint = checks.suggest(k, known)
      checks.fail(fmt("%s: unknown option '%s' (known: %s)%s", fn, tostring(k), table.concat(names, ", "),
        hint and fmt("; did you mean '%s'?", hint) or ""))
    end
  end
  return opts
end

--- checks.no_options_in(fn, data, options): a table of data (a dataset table {x=, y=}) that holds one of
-- fn's option names is an error saying options go in their own argument; other keys (a name, classes) are fine
function checks.no_options_in(fn, data, options)
  local found = {}
  for _, k in ipairs(options) do
    if rawget(data, k) ~= nil then found[#found + 1] = "'" .. k .. "'" end
  end
  if #found == 0 then return end
  checks.fail(fmt("%s: the data table holds option%s %s; options go in their own argument: %s({x = X, y = y}, {%s = ...})",
    fn, #found > 1 and "s" or "", table.concat(found, ", "), fn, found[1]:sub(2, -2)))
end

-- ---- validators: each returns the (normalized) value or raises at the user's line ----

local function show(v)
  if type(v) == "number" then return tostring(v) end
  if type(v) == "string" then return fmt("'%s'", #v > 40 and (v:sub(1, 40) .. "...") or v) end
  if ml.is_tensor(v) then return "a tensor" end
  return type(v)
end
checks.show = show

--- checks.number(fn, what, v, [lo], [hi]) -> v: a number (not NaN), optionally within [lo, hi]
function checks.number(fn, what, v, lo, hi)
  if type(v) ~= "number" or v ~= v or (lo and v < lo) or (hi and v > hi) then
    local range = (lo and hi) and fmt(" in [%g, %g]", lo, hi) or (lo and fmt(" >= %g", lo)) or (hi and fmt(" <= %g", hi)) or ""
    checks.fail(fmt("%s: %s must be a number%s, got %s", fn, what, range, show(v)))
  end
  return v
end

--- checks.integer(fn, what, v, [min], [max]) -> v as a Lua integer (2.0 is accepted as 2)
function checks.integer(fn, what, v, min, max)
  local iv = type(v) == "number" and math.tointeger(v) or nil
  if iv == nil then checks.fail(fmt("%s: %s must be an integer, got %s", fn, what, show(v))) end
  if min and iv < min then checks.fail(fmt("%s: %s must be at least %d, got %d", fn, what, min, iv)) end
  if max and iv > max then checks.fail(fmt("%s: %s must be at most %d, got %d", fn, what, max, iv)) end
  return iv
end

--- checks.boolean(fn, what, v, [default]) -> v, or default when v is nil
function checks.boolean(fn, what, v, default)
  if v == nil then return default end
  if type(v) ~= "boolean" then checks.fail(fmt("%s: %s must be a boolean, got %s", fn, what, show(v))) end
  return v
end

--- checks.string(fn, what, v, [default]) -> a non-empty string, or default when v is nil
function checks.string(fn, what, v, default)
  if v == nil and default ~= nil then return default end
  if type(v) ~= "string" or v == "" then checks.fail(fmt("%s: %s must be a non-empty string, got %s", fn, what, show(v))) end
  return v
end

--- checks.one_of(fn, what, v, allowed, [default]) -> v, one of the allowed values (with a suggestion when not)
function checks.one_of(fn, what, v, allowed, default)
  if v == nil and default ~= nil then return default end
  for _, a in ipairs(allowed) do if v == a then return v end end
  local names = {}
  for i, a in ipairs(allowed) do names[i] = fmt("'%s'", tostring(a)) end
  local hint = checks.suggest(v, allowed)
  checks.fail(fmt("%s: %s must be one of %s, got %s%s", fn, what, table.concat(names, ", "), show(v),
    hint and fmt("; did you mean '%s'?", hint) or ""))
end

--- checks.dtype(fn, v, [allowed={"float32","float64"}], [default="float32"]) -> a dtype name
function checks.dtype(fn, v, allowed, default)
  allowed = allowed or { "float32", "float64" }
  if v == nil then return default or allowed[1] end
  for _, a in ipairs(allowed) do if v == a then return v end end
  local names = {}
  for i, a in ipairs(allowed) do names[i] = fmt("'%s'", a) end
  local list = #names == 2 and (names[1] .. " or " .. names[2]) or ("one of " .. table.concat(names, ", "))
  checks.fail(fmt("%s: dtype must be %s, got %s", fn, list, tostring(v)))
end

--- checks.tensor(fn, what, v) -> v: a tensor
function checks.tensor(fn, what, v)
  if not ml.is_tensor(v) then checks.fail(fmt("%s: %s must be a tensor, got %s", fn, what, show(v))) end
  return v
end

--- checks.func(fn, what, v) -> v: a function (or a callable table)
function checks.func(fn, what, v)
  local mt = type(v) == "table" and getmetatable(v)
  if type(v) ~= "function" and not (mt and mt.__call) then
    checks.fail(fmt("%s: %s must be a function, got %s", fn, what, show(v)))
  end
  return v
end

do
  local doc = ml.doc
  doc(checks, "core.checks — argument checks and errors at the user's line: fail, reraise, call, options (with 'did you mean'), unknown, and validators number/integer/boolean/string/one_of/dtype/tensor/func")
  doc(checks.in_library, "checks.in_library(source) -> boolean — whether a chunk source is moonlab's own Lua library")
  doc(checks.user_level, "checks.user_level() -> level — the error() level of the first caller outside the library")
  doc(checks.fail, "checks.fail(msg) — raises msg at the first caller outside moonlab's Lua library (the user's line)")
  doc(checks.reraise, "checks.reraise(err, [prefix]) — passes on a caught error: a library position becomes the user's line, a user position is kept")
  doc(checks.call, "checks.call(fn, ...) -> results — calls fn; its error is re-raised at the user's line")
  doc(checks.no_options_in, "checks.no_options_in(fn, data, options) — refuses a data table that holds one of fn's option names (options go in their own argument)")
  doc(checks.suggest, "checks.suggest(name, known) -> string | nil — the known name closest to a likely misspelling")
  doc(checks.unknown, "checks.unknown(fn, what, name, known) — raises 'fn: unknown WHAT 'name' (known: ...); did you mean ...?'")
  doc(checks.options, "checks.options(fn, opts, known, [sorted]) -> opts — refuses non-tables and unknown keys with the known names and a suggestion")
  doc(checks.show, "checks.show(v) -> string — a short description of a value for messages")
  doc(checks.number, "checks.number(fn, what, v, [lo], [hi]) -> v — a number, not NaN, within the bounds")
  doc(checks.integer, "checks.integer(fn, what, v, [min], [max]) -> integer — an integral number within the bounds")
  doc(checks.boolean, "checks.boolean(fn, what, v, [default]) -> boolean")
  doc(checks.string, "checks.string(fn, what, v, [default]) -> string — a non-empty string")
  doc(checks.one_of, "checks.one_of(fn, what, v, allowed, [default]) -> v — one of the allowed values")
  doc(checks.dtype, "checks.dtype(fn, v, [allowed], [default]) -> dtype name")
  doc(checks.tensor, "checks.tensor(fn, what, v) -> v — a tensor")
  doc(checks.func, "checks.func(fn, what, v) -> v — a function or callable table")
end

return checks
