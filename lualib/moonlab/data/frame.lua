--- data/frame.lua: the data frame (data.DataFrame): named, typed columns of
-- equal length (data/column.lua). This file is the core: building, access,
-- rows by index, conversion to a tensor, printing. Operations (filter, sort,
-- groupby, merge, describe ...) are added to the class by their own files.
--
--   local df = data.DataFrame{age = {31, 45, nil}, name = {"ann", "bob", "cy"}}
--   df.shape            --> {3, 2};  df.columns --> {"age", "name"};  df.dtypes.age --> "int64"
--   df.age              --> the int64 tensor (numeric and bool columns are tensors)
--   df:column("name")   --> the data.Column (kind, values, valid, pool)
--   df[{"age"}]         --> a frame of those columns
--   df:to_tensor({"age"}, "float32")   --> [3, 1], missing as NaN
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local Column = require "moonlab.data.column"

local fail, fmt = checks.fail, string.format

local DataFrame = class.Object:extend("data.DataFrame",
  "data.DataFrame(columns | rows, [{columns = names}]) — named, typed columns: numeric ones are tensors, "
  .. "strings live in a C string pool; df.shape, df.columns, df.dtypes, df.NAME (the values tensor: missing int64/bool cells hold 0, see col:is_missing(); a column named like a method "
  .. "or shape/columns/dtypes only as df:column(name)), df:column(name), df:head(n)")

local methods = DataFrame -- the class table holds the methods; __index below also finds columns

-- Fields computed on access.
local computed = {
  shape = function(df) return { df._n, #df._names } end,
  columns = function(df) return table.move(df._names, 1, #df._names, 1, {}) end,
  dtypes = function(df)
    local t = {}
    for _, name in ipairs(df._names) do t[name] = df._cols[name].kind end
    return t
  end,
}

-- The value df.NAME gives for a column: its tensor for numeric and bool kinds, else the Column.
local function column_value(col)
  local k = col.kind
  if k == "float64" or k == "int64" or k == "bool" then return col.values end
  return col
end

DataFrame.__index = function(df, key)
  local m = methods[key]
  if m ~= nil then return m end
  if type(key) == "string" then
    local c = computed[key]
    if c then return c(df) end
    local col = rawget(df, "_cols")[key]
    if col then return column_value(col) end
    return nil
  end
  if type(key) == "table" then return df:select(key) end
  return nil
end

DataFrame.__len = function(df) return df._n end

-- df.name = values / df["name"] = values sets (or adds) a column in place, as
-- pandas' df["name"] = ...; fields starting with "_" are the frame's own.
DataFrame.__newindex = function(df, key, v)
  if type(key) ~= "string" then fail(fmt("df[...] = v: a column name must be a string, got %s", type(key))) end
  if key:sub(1, 1) == "_" then rawset(df, key, v) return end
  local fn = fmt("df.%s = ...", key)
  if methods[key] ~= nil or computed[key] then
    fail(fmt("%s: '%s' is a frame method or field; name the column otherwise, or use df = df:with_column('%s', v)", fn, key, key))
  end
  if v == nil then fail(fmt("%s: nil does not remove a column; select the others (df = df:select{...})", fn)) end
  local new = df:with_column(key, v) -- checks the values and the length; the frame's tables are its own
  rawset(df, "_names", new._names)
  rawset(df, "_cols", new._cols)
  rawset(df, "_n", new._n)
end

--- data.DataFrame.is(x) -> whether x is a data frame
function DataFrame.is(x)
  return type(x) == "table" and class.is_instance(x, DataFrame)
end

local function new_frame(names, cols, n)
  return setmetatable({ _names = names, _cols = cols, _n = n }, DataFrame)
end

--- data.DataFrame.from_columns(names, columns) -> frame (no copy; columns are data.Column, equal lengths)
function DataFrame.from_columns(names, columns)
  local fn = "data.DataFrame.from_columns"
  if type(names) ~= "table" then fail(fn .. ": argument #1: expected a list of column names") end
  local cols, n, seen = {}, nil, {}
  for i, name in ipairs(names) do
    if type(name) ~= "string" then fail(fmt("%s: column name %d is a %s, expected a string", fn, i, type(name))) end
    if seen[name] then fail(fmt("%s: duplicate column name '%s'", fn, name)) end
    seen[name] = true
    local col = columns[name] or columns[i]
    if getmetatable(col) ~= Column then fail(fmt("%s: column '%s' is not a data.Column", fn, name)) end
    local len = col:len()
    if n and len ~= n then fail(fmt("%s: column '%s' has %d rows, expected %d", fn, name, len, n)) end
    n = n or len
    cols[name] = col
  end
  return new_frame(table.move(names, 1, #names, 1, {}), cols, n or 0)
end

-- A column from what a user may give: a Column, a 1-D tensor, or a Lua list.
local function as_column(fn, name, v, n)
  if getmetatable(v) == Column then return v end
  if ml.is_tensor(v) then
    if v:dim() ~= 1 then fail(fmt("%s: column '%s' is a %d-D tensor; a column is 1-D", fn, name, v:dim())) end
    return Column.from_tensor(v)
  end
  if type(v) == "table" then
    local ok, col = pcall(Column.from_list, v, n or v.n or #v)
    if not ok then fail((tostring(col):gsub("^.-data%.Column%.from_list:", fn .. ": column '" .. name .. "':"))) end
    return col
  end
  fail(fmt("%s: column '%s' is a %s; expected a list, a 1-D tensor or a data.Column", fn, name, type(v)))
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then fail("data.DataFrame: column names must be strings, got a " .. type(k)) end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

-- From a list of row tables {{a = 1, b = "x"}, ...}: the columns are the union of the keys.
local function from_rows(fn, rows, names)
  local n = #rows
  if not names then
    local seen = {}
    names = {}
    for i = 1, n do
      if type(rows[i]) ~= "table" then fail(fmt("%s: row %d is a %s, expected a table", fn, i, type(rows[i]))) end
      for k in pairs(rows[i]) do
        if not seen[k] then seen[k] = true; names[#names + 1] = k end
      end
    end
    table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  end
  local cols = {}
  for _, name in ipairs(names) do
    local list = {}
    for i = 1, n do list[i] = rows[i][name] end
    cols[name] = as_column(fn, name, list, n)
  end
  return names, cols, n
end

function DataFrame:init(data, opts)
  local fn = "data.DataFrame"
  opts = checks.options(fn, opts, { "columns" })
  if type(data) ~= "table" then fail(fn .. ": argument #1: expected a table of columns or a list of rows, got " .. type(data)) end
  local names = opts.columns
  if names ~= nil and type(names) ~= "table" then fail(fn .. ": option 'columns' must be a list of names") end
  local cols, n
  if #data > 0 and type(data[1]) == "table" and getmetatable(data[1]) == nil and not ml.is_tensor(data[1]) then
    for k in pairs(data) do
      if math.type(k) ~= "integer" or k < 1 or k > #data then
        fail(fmt("%s: argument #1 mixes a list of rows with the key %s; give either rows {{a = 1}, ...} or columns {a = {...}}",
          fn, checks.show(k)))
      end
    end
    names, cols, n = from_rows(fn, data, names)
  else
    if #data > 0 then fail(fn .. ": argument #1: a table of columns is keyed by name ({age = {...}}); got a list") end
    names = names or sorted_keys(data)
    cols = {}
    for _, name in ipairs(names) do
      local v = data[name]
      if v == nil then fail(fmt("%s: option 'columns' names '%s', which is not among the columns", fn, name)) end
      cols[name] = as_column(fn, name, v)
      local len = cols[name]:len()
      if n and len ~= n then
        fail(fmt("%s: column '%s' has %d rows, but column '%s' has %d (Lua lists drop trailing nils: "
          .. "give the length as {..., n = %d})", fn, name, len, names[1], n, math.max(len, n)))
      end
      n = n or len
    end
  end
  self._names, self._cols, self._n = table.move(names, 1, #names, 1, {}), cols, n or 0
end

--- df:column(name) -> the data.Column named name (an error naming the columns when absent)
function DataFrame:column(name)
  local col = self._cols[name]
  if col then return col end
  local fn = "df:column"
  if type(name) ~= "string" then fail(fmt("%s: expected a column name, got %s", fn, type(name))) end
  local hint = checks.suggest(name, self._names)
  fail(fmt("%s: no column '%s'%s; the columns are %s", fn, name, hint and (" (did you mean '" .. hint .. "'?)") or "",
    table.concat(self._names, ", ")))
end

--- df:has_column(name) -> boolean
function DataFrame:has_column(name) return self._cols[name] ~= nil end

--- df:select(names) -> a frame of those columns, in that order (df[{...}] does the same)
function DataFrame:select(names)
  if type(names) == "string" then names = { names } end
  local cols = {}
  for _, name in ipairs(names) do cols[name] = self:column(name) end
  return DataFrame.from_columns(names, cols)
end

--- df:take(index) -> a frame of the rows at index (1-based int64 tensor or list)
function DataFrame:take(index)
  if not ml.is_tensor(index) then
    if type(index) ~= "table" then fail("df:take: expected an int64 index tensor or a list of row numbers, got " .. type(index)) end
    index = #index > 0 and ml.tensor(index, { dtype = "int64" }) or ml.zeros(0, { dtype = "int64" })
  end
  local cols, n = {}, index:numel()
  local ok, err = pcall(function()
    for _, name in ipairs(self._names) do cols[name] = self._cols[name]:take(index) end
  end)
  if not ok then fail("df:take: " .. tostring(err):gsub("^.-index_select: ", "")) end
  return new_frame(table.move(self._names, 1, #self._names, 1, {}), cols, n)
end

--- df:slice(start, len) -> rows start .. start+len-1 as views (no copy)
function DataFrame:slice(start, len)
  local cols = {}
  for _, name in ipairs(self._names) do cols[name] = self._cols[name]:slice(start, len) end
  return new_frame(table.move(self._names, 1, #self._names, 1, {}), cols, len)
end

--- df:head([n=5]) -> the first n rows
function DataFrame:head(n)
  n = checks.integer("df:head", "n", n or 5, 0)
  return self:slice(1, math.min(n, self._n))
end

--- df:tail([n=5]) -> the last n rows
function DataFrame:tail(n)
  n = checks.integer("df:tail", "n", n or 5, 0)
  n = math.min(n, self._n)
  return self:slice(self._n - n + 1, n)
end

--- df:with_column(name, column | tensor | list) -> a new frame with that column added or replaced
function DataFrame:with_column(name, v)
  local fn = "df:with_column"
  if type(name) ~= "string" then fail(fn .. ": argument #1: expected a column name, got " .. type(name)) end
  local col = as_column(fn, name, v, self._n)
  if col:len() ~= self._n and #self._names > 0 then
    fail(fmt("%s: column '%s' has %d rows, the frame has %d", fn, name, col:len(), self._n))
  end
  local names, cols = table.move(self._names, 1, #self._names, 1, {}), {}
  for k, c in pairs(self._cols) do cols[k] = c end
  if not cols[name] then names[#names + 1] = name end
  cols[name] = col
  return new_frame(names, cols, col:len())
end

--- df:to_tensor([columns=all numeric], [dtype="float64"]) -> [rows, columns] tensor; missing cells become NaN
function DataFrame:to_tensor(names, dtype)
  local fn = "df:to_tensor"
  if dtype == nil and (names == "float64" or names == "float32" or names == "int64") and not self._cols[names] then
    names, dtype = nil, names -- df:to_tensor("float32")
  end
  dtype = dtype or "float64"
  if dtype ~= "float64" and dtype ~= "float32" and dtype ~= "int64" then
    fail(fmt("%s: dtype must be float64, float32 or int64, got %s", fn, tostring(dtype)))
  end
  if names == nil then
    names = {}
    for _, name in ipairs(self._names) do
      local k = self._cols[name].kind
      if k == "float64" or k == "int64" or k == "bool" then names[#names + 1] = name end
    end
  elseif type(names) == "string" then names = { names } end
  if #names == 0 then fail(fn .. ": no numeric columns to convert") end
  local parts = {}
  for i, name in ipairs(names) do
    local col = self:column(name)
    local k = col.kind
    if Column.is_text(k) then
      fail(fmt("%s: column '%s' holds %ss; encode it first (prep.OneHotEncoder, prep.OrdinalEncoder)", fn, name, k))
    end
    local v = col.values:to(dtype)
    if col.valid then
      if dtype == "int64" then
        fail(fmt("%s: column '%s' has missing cells, which int64 cannot hold; use float64", fn, name))
      end
      v = v:masked_fill(col.valid:eq(false), 0 / 0)
    end
    parts[i] = v:reshape(self._n, 1)
  end
  if #parts == 1 then return parts[1]:contiguous() end
  return ml.cat(parts, 2)
end

-- Printing (tostring(df)) is data/frame_print.lua.

-- Docstrings for ml.help (the --- lines above each function).
ml.doc(DataFrame.is, "data.DataFrame.is(x) — whether x is a data frame")
ml.doc(DataFrame.from_columns, "data.DataFrame.from_columns(names, columns) — frame (no copy; columns are data.Column, equal lengths)")
ml.doc(DataFrame.column, "df:column(name) — the data.Column named name (an error naming the columns when absent)")
ml.doc(DataFrame.has_column, "df:has_column(name) — boolean")
ml.doc(DataFrame.select, "df:select(names) — a frame of those columns, in that order (df[{...}] does the same)")
ml.doc(DataFrame.take, "df:take(index) — a frame of the rows at index (1-based int64 tensor or list)")
ml.doc(DataFrame.slice, "df:slice(start, len) — rows start .. start+len-1 as views (no copy)")
ml.doc(DataFrame.head, "df:head([n=5]) — the first n rows")
ml.doc(DataFrame.tail, "df:tail([n=5]) — the last n rows")
ml.doc(DataFrame.with_column, "df:with_column(name, column | tensor | list) — a new frame with that column added or replaced")
ml.doc(DataFrame.to_tensor, "df:to_tensor([columns=all numeric], [dtype=\"float64\"]) — [rows, columns] tensor; missing cells become NaN")

-- The operations live in files of their own that add methods to the class
-- (frame_ops, groupby, merge, strings, describe, frame_print); they load with
-- the class, so every frame has them.
package.loaded["moonlab.data.frame"] = DataFrame
for _, part in ipairs({ "frame_ops", "groupby", "merge", "strings", "describe", "frame_print" }) do
  require("moonlab.data." .. part)
end

return DataFrame
