--- data/strings.lua: string column methods (on data.Column, and as pandas'
-- accessor `col.str`):
--   col:lower(), upper(), strip(), lstrip(), rstrip()      -> string column
--   col:replace(a, b, [{plain = true}])                     -> string column (plain text; plain = false: a Lua pattern, b as string.gsub's)
--   col:contains(p, [{plain = false}])                      -> bool column (a Lua pattern, as pandas' regex default; plain = true: text)
--   col:startswith(s), col:endswith(s)                      -> bool column (missing where the cell is)
--   col:str_len() (col.str:len())                           -> int64 column of UTF-8 characters
--   col:eq(s), col:ne(s), col:isin({...})                   -> bool tensor (a missing cell is not equal, as pandas)
--   col:split(sep, [{n = maxsplit}])                        -> a frame of new string columns NAME_1 .. NAME_k
--                                                             (pandas' expand = true; k = the most pieces)
-- Each operation runs once per distinct string of the pool (runtime/data/
-- frame_str.c; patterns through Lua's string.find/gsub, called from C), and
-- the column's codes are mapped through the per-string result in one C
-- gather: no cell is copied into a Lua string. Case maps ASCII and the
-- two-byte Latin, Greek and Cyrillic letters (not ß's "SS"); whitespace is ASCII.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Column = require "moonlab.data.column"
local DataFrame = require "moonlab.data.frame"

local fail, fmt = checks.fail, string.format
local F = ml._frame

local function text_column(fn, col)
  if getmetatable(col) ~= Column or not Column.is_text(col.kind) then
    fail(fmt("%s: expected a string column, got %s", fn,
      getmetatable(col) == Column and ("a " .. col.kind .. " column") or type(col)))
  end
  return col
end

local function check_text(fn, what, s)
  if type(s) ~= "string" then fail(fmt("%s: %s must be a string, got %s", fn, what, type(s))) end
  return s
end

-- A new string column: codes mapped through remap into pool.
local function remapped(col, pool, remap)
  return Column.new(col.kind, F.map_codes(remap, col.values), nil, pool)
end

-- A per-code table mapped to rows, missing where the cell is.
local function per_row(col, kind, table)
  local values = F.map_codes(table, col.values)
  local miss = col.values:eq(0)
  local any = miss:to("int64"):sum():item() > 0
  return Column.new(kind, values, any and miss:logical_not() or nil)
end

local S = {}

for _, op in ipairs({ "lower", "upper", "strip", "lstrip", "rstrip" }) do
  S[op] = function(col)
    text_column("col:" .. op, col)
    return remapped(col, F.str_map(col.pool, op))
  end
end

-- Runs a Lua-pattern kernel; its errors (a malformed pattern) are raised under the
-- public name, with the pattern: "col:contains: pattern '[': malformed pattern (missing ']')".
local function pattern_call(fn, p, f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then return table.unpack(r, 2, r.n) end
  local msg = tostring(r[2]):gsub("^.-frame%.str_%a+: ", "")
  fail(fmt("%s: pattern '%s': %s", fn, p, msg))
end

function S.replace(col, a, b, opts)
  local fn = "col:replace"
  text_column(fn, col)
  opts = checks.options(fn, opts, { "plain" })
  check_text(fn, "the text to find", a)
  if checks.boolean(fn, "plain", opts.plain, true) then
    check_text(fn, "the replacement", b)
    if a == "" then fail(fn .. ": the text to find must not be empty") end
    return remapped(col, F.str_map(col.pool, "replace", a, b))
  end
  if type(b) ~= "string" and type(b) ~= "table" and type(b) ~= "function" then
    fail(fn .. ": the replacement must be a string, a table or a function (string.gsub's), got " .. type(b))
  end
  return remapped(col, pattern_call(fn, a, F.str_gsub, col.pool, a, b))
end

function S.contains(col, p, opts)
  local fn = "col:contains"
  text_column(fn, col)
  opts = checks.options(fn, opts, { "plain" })
  check_text(fn, "the pattern", p)
  local t = checks.boolean(fn, "plain", opts.plain, false) and F.str_test(col.pool, "contains", p)
    or pattern_call(fn, p, F.str_find, col.pool, p)
  return per_row(col, "bool", t)
end

for _, op in ipairs({ "startswith", "endswith" }) do
  S[op] = function(col, s)
    local fn = "col:" .. op
    text_column(fn, col)
    return per_row(col, "bool", F.str_test(col.pool, op, check_text(fn, "the prefix", s)))
  end
end

function S.str_len(col)
  text_column("col:str_len", col)
  return per_row(col, "int64", F.str_len(col.pool))
end

function S.eq(col, s)
  local fn = "col:eq"
  text_column(fn, col)
  local code = col.pool:find(check_text(fn, "the value", s))
  if not code then return ml.zeros(col:len(), { dtype = "bool" }) end
  return col.values:eq(code)
end

function S.ne(col, s) return S.eq(col, s):logical_not() end

function S.isin(col, list)
  local fn = "col:isin"
  text_column(fn, col)
  if type(list) ~= "table" then fail(fn .. ": expected a list of strings, got " .. type(list)) end
  local hit = ml.zeros(#col.pool + 1, { dtype = "bool" })
  for i, s in ipairs(list) do
    local code = col.pool:find(check_text(fn, "element " .. i, s))
    if code then hit[code + 1] = true end
  end
  return F.map_codes(hit, col.values)
end

function S.split(col, sep, opts, name)
  local fn = "col:split"
  text_column(fn, col)
  opts = checks.options(fn, opts, { "n", "prefix" })
  check_text(fn, "the separator", sep)
  if sep == "" then fail(fn .. ": the separator must not be empty") end
  local maxsplit = opts.n ~= nil and checks.integer(fn, "n", opts.n, 0) or nil
  local prefix = opts.prefix or name or "part"
  local names, cols = {}, {}
  for k, piece in ipairs(F.str_split(col.pool, sep, maxsplit)) do
    names[k] = prefix .. "_" .. k
    cols[names[k]] = Column.new("string", F.map_codes(piece[2], col.values), nil, piece[1])
  end
  return DataFrame.from_columns(names, cols)
end

local DOCS = {
  lower = "col:lower() — the strings in lower case (ASCII, Latin, Greek, Cyrillic), computed once per distinct string",
  upper = "col:upper() — the strings in upper case (ASCII, Latin, Greek, Cyrillic), computed once per distinct string",
  strip = "col:strip() — the strings without leading and trailing whitespace",
  lstrip = "col:lstrip() — the strings without leading whitespace",
  rstrip = "col:rstrip() — the strings without trailing whitespace",
  replace = "col:replace(a, b, [{plain = true}]) — every a replaced by b (plain = false: a Lua pattern, string.gsub's b)",
  contains = "col:contains(pattern, [{plain = false}]) — bool column: whether each string matches a Lua pattern (or contains the plain text)",
  startswith = "col:startswith(s) — bool column: whether each string starts with s",
  endswith = "col:endswith(s) — bool column: whether each string ends with s",
  str_len = "col:str_len() — int64 column: each string's length in UTF-8 characters (col.str:len())",
  eq = "col:eq(s) — bool tensor: whether each cell is s (missing cells are not)",
  ne = "col:ne(s) — bool tensor: whether each cell is not s",
  isin = "col:isin({s, ...}) — bool tensor: whether each cell is one of the strings",
  split = "col:split(sep, [{n = maxsplit, prefix}]) — a frame of string columns PREFIX_1 .. PREFIX_k, the pieces of each string",
}
for name, f in pairs(S) do Column[name] = ml.doc(f, DOCS[name]) end

-- col.str: pandas' accessor, with str.len() for the characters (col:len() is the row count).
local Accessor = {}
Accessor.__index = function(acc, key)
  local f = key == "len" and S.str_len or S[key]
  if not f then return nil end
  return function(self, ...)
    if self ~= acc then fail("col.str." .. key .. ": call it with a colon (col.str:" .. key .. "(...))") end
    return f(rawget(acc, "col"), ...)
  end
end

local column_index = Column.__index
Column.__index = function(col, key)
  if key == "str" then return setmetatable({ col = col }, Accessor) end
  if type(column_index) == "function" then return column_index(col, key) end
  return column_index[key]
end

return Column
