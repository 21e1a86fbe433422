--- data/column.lua: one typed column of a data frame (data.Column).
--
-- A column is {kind, values, valid, pool}:
--   "float64"              float64 values, missing = NaN (valid is always nil)
--   "int64", "bool"        int64 / bool values; valid = bool mask, true where present,
--                          nil when nothing is missing; a missing slot holds 0 / false
--   "string", "category"   int64 codes into pool (a StringPool, runtime/data/strpool.c),
--                          0 = missing (valid nil); equal strings are equal codes
--   "date", "datetime"     int64 seconds since 1970-01-01 UTC (a date at midnight);
--                          missing via valid
-- Columns are values: operations return new columns and share what they do
-- not change (a pool, an untouched mask).
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local S = ml._strings

local Column = class.Object:extend("data.Column",
  "data.Column — one typed column of a data frame: {kind, values (tensor), valid (bool mask or nil), pool (strings)}")

local KINDS = { float64 = "float64", int64 = "int64", bool = "bool", string = "int64", category = "int64",
  date = "int64", datetime = "int64" }
Column.KINDS = KINDS
local KIND_NAMES = { "float64", "int64", "bool", "string", "category", "date", "datetime" }
Column.KIND_NAMES = KIND_NAMES

local function is_text(kind) return kind == "string" or kind == "category" end
local function is_time(kind) return kind == "date" or kind == "datetime" end
Column.is_text, Column.is_time = is_text, is_time

--- data.Column.new(kind, values, [valid], [pool]) -> column (no copy; checked)
function Column.new(kind, values, valid, pool)
  local fn = "data.Column.new"
  local want = KINDS[kind]
  if not want then checks.unknown(fn, "column kind", tostring(kind), KIND_NAMES) end
  if not ml.is_tensor(values) or values:dim() ~= 1 then
    fail(fmt("%s: values must be a 1-D tensor, got %s", fn, ml.is_tensor(values) and (values:dim() .. "-D tensor") or type(values)))
  end
  if values:dtype() ~= want then
    fail(fmt("%s: a %s column holds %s values, got %s", fn, kind, want, values:dtype()))
  end
  if valid ~= nil then
    if kind == "float64" or is_text(kind) then
      fail(fmt("%s: a %s column marks missing cells in its values; it takes no valid mask", fn, kind))
    end
    if not ml.is_tensor(valid) or valid:dtype() ~= "bool" or valid:dim() ~= 1 or valid:size(1) ~= values:size(1) then
      fail(fmt("%s: valid must be a 1-D bool tensor of %d elements", fn, values:size(1)))
    end
  end
  if is_text(kind) then
    if pool == nil then fail(fn .. ": a " .. kind .. " column needs its string pool") end
  elseif pool ~= nil then
    fail(fmt("%s: only string and category columns take a pool, not %s", fn, kind))
  end
  return setmetatable({ kind = kind, values = values, valid = valid, pool = pool }, Column)
end

--- col:len() -> number of rows
function Column:len() return self.values:size(1) end
Column.__len = Column.len

--- col:is_missing() -> bool tensor, true where the cell is missing
function Column:is_missing()
  local k = self.kind
  if k == "float64" then return self.values:isnan() end
  if is_text(k) then return self.values:eq(0) end
  if self.valid then return self.valid:eq(false) end
  return ml.zeros(self:len(), { dtype = "bool" })
end

--- col:missing_count() -> number of missing cells
function Column:missing_count()
  if self.kind ~= "float64" and not is_text(self.kind) and not self.valid then return 0 end
  return math.tointeger(self:is_missing():sum():item())
end

--- col:take(index) -> column of the rows at index (1-based int64 tensor); the pool is shared
function Column:take(index)
  local valid = self.valid and self.valid:index_select(1, index) or nil
  return setmetatable({ kind = self.kind, values = self.values:index_select(1, index), valid = valid,
    pool = self.pool }, Column)
end

--- col:slice(start, len) -> column of rows start .. start+len-1 (views, no copy)
function Column:slice(start, len)
  local valid = self.valid and self.valid:narrow(1, start, len) or nil
  return setmetatable({ kind = self.kind, values = self.values:narrow(1, start, len), valid = valid,
    pool = self.pool }, Column)
end

-- Days since 1970-01-01 -> year, month, day (proleptic Gregorian; H. Hinnant's civil_from_days).
local function civil(days)
  local z = days + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return m <= 2 and y + 1 or y, m, d
end

--- data.Column.days_from_civil(y, m, d) -> days since 1970-01-01
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m > 2 and m - 3 or m + 9) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end
Column.civil, Column.days_from_civil = civil, days_from_civil

--- data.Column.format_time(seconds, kind) -> "YYYY-MM-DD" (date) or "YYYY-MM-DD HH:MM:SS" (datetime)
local function format_time(s, kind)
  local days, rem = s // 86400, s % 86400
  local y, m, d = civil(days)
  if kind == "date" then return fmt("%04d-%02d-%02d", y, m, d) end
  return fmt("%04d-%02d-%02d %02d:%02d:%02d", y, m, d, rem // 3600, rem % 3600 // 60, rem % 60)
end
Column.format_time = format_time

--- data.Column.parse_time(s) -> seconds, kind ("date" or "datetime") or nil: ISO dates and datetimes
local function parse_time(s)
  local y, m, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 or d > 31 then return nil end
  local days = days_from_civil(y, m, d)
  local cy, cm, cd = civil(days)
  if cy ~= y or cm ~= m or cd ~= d then return nil end -- 2023-02-30
  if rest == "" then return days * 86400, "date" end
  local hh, mm, ss, tz = rest:match("^[T ](%d%d):(%d%d):?(%d*)[%.%d]*(.*)$")
  if not hh then return nil end
  local secs = days * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + (tonumber(ss) or 0)
  if tz ~= "" and tz ~= "Z" then
    local sign, th, tm = tz:match("^([%+%-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    local off = tonumber(th) * 3600 + tonumber(tm) * 60
    secs = sign == "+" and secs - off or secs + off
  end
  return secs, "datetime"
end
Column.parse_time = parse_time

--- col:get(i) -> the Lua value of row i (nil when missing; dates as ISO strings)
function Column:get(i)
  local k = self.kind
  -- t[i] of an int64 tensor passes through a double (2^63-1 comes back as -2^63);
  -- :item() of a one-cell view is exact
  local v = k == "float64" and self.values[i] or self.values:narrow(1, i, 1):item()
  if k == "float64" then return v == v and v or nil end
  if is_text(k) then return v ~= 0 and self.pool:get(v) or nil end
  if self.valid and not self.valid[i] then return nil end
  if is_time(k) then return format_time(v, k) end
  return v
end

--- col:to_list() -> {value or nil per row}, n
function Column:to_list()
  local n = self:len()
  if is_text(self.kind) then return self.pool:decode(self.values) end
  local out = {}
  local vals = self.values:tolist()
  local valid = self.valid and self.valid:tolist()
  local k = self.kind
  for i = 1, n do
    local v = vals[i]
    if k == "float64" then
      if v == v then out[i] = v end
    elseif not valid or valid[i] then
      out[i] = is_time(k) and format_time(v, k) or v
    end
  end
  return out, n
end

--- col:format(i) -> the text of cell i for printing (NaN / <NA> for missing)
function Column:format(i)
  local v = self:get(i)
  if v == nil then return self.kind == "float64" and "NaN" or "<NA>" end
  if self.kind == "float64" then
    if v == math.floor(v) and math.abs(v) < 1e15 then return fmt("%.1f", v) end
    return fmt("%.6g", v)
  end
  return tostring(v)
end

--- col:nbytes() -> memory held by the values, mask and pool
function Column:nbytes()
  local n = self.values:numel() * (self.values:dtype() == "bool" and 1 or 8)
  if self.valid then n = n + self.valid:numel() end
  if self.pool then n = n + self.pool:bytes() end
  return n
end

function Column:__tostring()
  return fmt("data.Column(%s, %d rows, %d missing)", self.kind, self:len(), self:missing_count())
end

-- The kind a Lua list's values call for (nil when every cell is missing).
local function infer_kind(fn, list, n)
  local kind
  for i = 1, n do
    local v = list[i]
    local t = type(v)
    local k
    if v == nil then k = nil
    elseif t == "number" then k = math.type(v) == "integer" and "int64" or "float64"
    elseif t == "boolean" then k = "bool"
    elseif t == "string" then k = "string"
    else fail(fmt("%s: element %d is a %s; expected numbers, booleans, strings or nil", fn, i, t)) end
    if k then
      if kind == nil then kind = k
      elseif kind ~= k then
        if (kind == "int64" and k == "float64") or (kind == "float64" and k == "int64") then kind = "float64"
        else fail(fmt("%s: element %d is a %s, but earlier elements are %s", fn, i, k, kind)) end
      end
    end
  end
  return kind or "float64"
end

--- data.Column.from_list(list, [n=#list], [kind]) -> column from Lua values (nil = missing)
function Column.from_list(list, n, kind)
  local fn = "data.Column.from_list"
  if type(list) ~= "table" then fail(fn .. ": expected a list of values, got " .. type(list)) end
  n = n or list.n or #list
  kind = kind or infer_kind(fn, list, n)
  if not KINDS[kind] then checks.unknown(fn, "column kind", tostring(kind), KIND_NAMES) end
  if is_text(kind) then
    local codes, pool = checks.call(S.from_list, list, n)
    return Column.new(kind, codes, nil, pool)
  end
  if kind == "float64" then
    local vals = {}
    for i = 1, n do
      local v = list[i]
      if v == nil then vals[i] = 0 / 0
      elseif type(v) ~= "number" then fail(fmt("%s: element %d is a %s in a float64 column", fn, i, type(v)))
      else vals[i] = v end
    end
    return Column.new(kind, n > 0 and ml.tensor(vals, { dtype = "float64" }) or ml.zeros(0, { dtype = "float64" }))
  end
  local vals, valid, missing = {}, {}, false
  for i = 1, n do
    local v = list[i]
    if v == nil then
      vals[i], valid[i], missing = (kind == "bool") and false or 0, false, true
    else
      if is_time(kind) then
        if type(v) == "string" then
          local s, k = parse_time(v)
          if not s or (kind == "date" and k ~= "date") then
            fail(fmt("%s: element %d ('%s') is not an ISO %s", fn, i, v, kind))
          end
          v = s
        elseif math.type(v) ~= "integer" then
          fail(fmt("%s: element %d of a %s column must be an ISO string or integer seconds, got %s", fn, i, kind, type(v)))
        end
      elseif kind == "int64" and math.type(v) ~= "integer" then
        if type(v) == "number" and v == math.floor(v) then v = math.tointeger(v)
        else fail(fmt("%s: element %d (%s) is not an integer", fn, i, tostring(v))) end
      elseif kind == "bool" and type(v) ~= "boolean" then
        fail(fmt("%s: element %d is a %s in a bool column", fn, i, type(v)))
      end
      vals[i], valid[i] = v, true
    end
  end
  local dtype = KINDS[kind]
  local values = n > 0 and ml.tensor(vals, { dtype = dtype }) or ml.zeros(0, { dtype = dtype })
  return Column.new(kind, values, missing and ml.tensor(valid, { dtype = "bool" }) or nil)
end

--- data.Column.from_tensor(t) -> column (float32 becomes float64; int64, bool and float64 kept, no copy)
function Column.from_tensor(t)
  local fn = "data.Column.from_tensor"
  if t:dim() ~= 1 then fail(fmt("%s: a column is 1-D, got a %d-D tensor", fn, t:dim())) end
  local dt = t:dtype()
  if dt == "float32" then return Column.new("float64", t:to("float64")) end
  return Column.new(dt, t)
end


-- Docstrings for ml.help (the --- lines above each function).
ml.doc(Column.new, "data.Column.new(kind, values, [valid], [pool]) — column (no copy; checked)")
ml.doc(Column.len, "col:len() — number of rows")
ml.doc(Column.is_missing, "col:is_missing() — bool tensor, true where the cell is missing")
ml.doc(Column.missing_count, "col:missing_count() — number of missing cells")
ml.doc(Column.take, "col:take(index) — column of the rows at index (1-based int64 tensor); the pool is shared")
ml.doc(Column.slice, "col:slice(start, len) — column of rows start .. start+len-1 (views, no copy)")
ml.doc(days_from_civil, "data.Column.days_from_civil(y, m, d) — days since 1970-01-01")
ml.doc(format_time, "data.Column.format_time(seconds, kind) — \"YYYY-MM-DD\" (date) or \"YYYY-MM-DD HH:MM:SS\" (datetime)")
ml.doc(parse_time, "data.Column.parse_time(s) — seconds, kind (\"date\" or \"datetime\") or nil: ISO dates and datetimes")
ml.doc(Column.get, "col:get(i) — the Lua value of row i (nil when missing; dates as ISO strings)")
ml.doc(Column.to_list, "col:to_list() — {value or nil per row}, n")
ml.doc(Column.format, "col:format(i) — the text of cell i for printing (NaN / <NA> for missing)")
ml.doc(Column.nbytes, "col:nbytes() — memory held by the values, mask and pool")
ml.doc(Column.from_list, "data.Column.from_list(list, [n=#list], [kind]) — column from Lua values (nil = missing)")
ml.doc(Column.from_tensor, "data.Column.from_tensor(t) — column (float32 becomes float64; int64, bool and float64 kept, no copy)")

return Column
