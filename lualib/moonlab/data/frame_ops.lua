--- data/frame_ops.lua: the data frame's column and row operations, added to
-- data.DataFrame: select_dtypes, drop, rename, filter, sort_values, dropna,
-- fillna, duplicated / drop_duplicates, value_counts, concat, sample, apply.
-- Everything that scales with the rows runs in C (ml._frame, tensor ops);
-- only apply calls Lua per element, by nature.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Column = require "moonlab.data.column"
local DataFrame = require "moonlab.data.frame"
local keys = require "moonlab.data.keys"

local fail, fmt = checks.fail, string.format
local F = ml._frame
local is_text, is_time = Column.is_text, Column.is_time

local function copy_list(t) return table.move(t, 1, #t, 1, {}) end

local function frame_of(names, cols) return DataFrame.from_columns(names, cols) end

local function rows_index(n) return ml.arange(1, n + 1, { dtype = "int64" }) end

-- The rows where a bool mask is true, as a 1-based index.
local function mask_index(mask) return rows_index(mask:numel()):masked_select(mask) end

-- ---- columns -------------------------------------------------------------------
local DTYPE_GROUPS = {
  number = { "float64", "int64" }, numeric = { "float64", "int64" }, float = { "float64" },
  integer = { "int64" }, string = { "string" }, object = { "string" }, category = { "category" },
  bool = { "bool" }, datetime = { "date", "datetime" }, date = { "date" }, float64 = { "float64" },
  int64 = { "int64" },
}
local GROUP_NAMES = {}
for k in pairs(DTYPE_GROUPS) do GROUP_NAMES[#GROUP_NAMES + 1] = k end
table.sort(GROUP_NAMES)

local function kind_set(fn, what, v)
  if v == nil then return nil end
  if type(v) == "string" then v = { v } end
  local set = {}
  for _, name in ipairs(v) do
    local g = DTYPE_GROUPS[name]
    if not g then checks.unknown(fn, what .. " dtype", tostring(name), GROUP_NAMES) end
    for _, k in ipairs(g) do set[k] = true end
  end
  return set
end

--- df:select_dtypes(include, [exclude]) -> the columns of those kinds ("number", "string", "bool", "datetime", a kind ...)
function DataFrame:select_dtypes(include, exclude)
  local fn = "df:select_dtypes"
  if type(include) == "table" and (include.include or include.exclude) then
    checks.options(fn, include, { "include", "exclude" })
    include, exclude = include.include, include.exclude
  end
  if include == nil and exclude == nil then fail(fn .. ": give include and/or exclude (e.g. \"number\")") end
  local inc, exc = kind_set(fn, "include", include), kind_set(fn, "exclude", exclude)
  local names = {}
  for _, name in ipairs(self._names) do
    local k = self._cols[name].kind
    if (not inc or inc[k]) and not (exc and exc[k]) then names[#names + 1] = name end
  end
  return self:select(names)
end

--- df:drop(names) -> the frame without those columns
function DataFrame:drop(names)
  names = keys.names("df:drop", self, names, "the columns to drop")
  local gone = {}
  for _, name in ipairs(names) do gone[name] = true end
  local keep = {}
  for _, name in ipairs(self._names) do if not gone[name] then keep[#keep + 1] = name end end
  return self:select(keep)
end

--- df:rename(map | fn) -> the frame with columns renamed ({old = "new"} or a function of the name)
function DataFrame:rename(map)
  local fn = "df:rename"
  if type(map) ~= "table" and type(map) ~= "function" then
    fail(fn .. ": expected a table {old = \"new\"} or a function of the name, got " .. type(map))
  end
  if type(map) == "table" then
    for old, new in pairs(map) do
      keys.names(fn, self, { old }, "the mapping")
      if type(new) ~= "string" then fail(fmt("%s: the new name of '%s' must be a string, got %s", fn, old, type(new))) end
    end
  end
  local names, cols = {}, {}
  for i, name in ipairs(self._names) do
    local new = type(map) == "table" and (map[name] or name) or map(name)
    if type(new) ~= "string" then fail(fmt("%s: the function gave %s for '%s', expected a string", fn, type(new), name)) end
    if cols[new] then fail(fmt("%s: two columns would be named '%s'", fn, new)) end
    names[i], cols[new] = new, self._cols[name]
  end
  return frame_of(names, cols)
end

-- ---- rows -------------------------------------------------------------------------
--- df:filter(mask) -> the rows where mask (a bool tensor or bool column of #df rows) is true
function DataFrame:filter(mask)
  local fn = "df:filter"
  if getmetatable(mask) == Column then
    if mask.kind ~= "bool" then fail(fmt("%s: expected a bool mask, got a %s column", fn, mask.kind)) end
    mask = mask.valid and ml.where(mask.valid, mask.values, false) or mask.values -- a missing cell does not select
  end
  if not ml.is_tensor(mask) then fail(fn .. ": expected a bool tensor mask (e.g. df.age:gt(30)), got " .. type(mask)) end
  if mask:dtype() ~= "bool" then fail(fmt("%s: the mask must be a bool tensor, got %s", fn, mask:dtype())) end
  if mask:dim() ~= 1 or mask:numel() ~= self._n then
    fail(fmt("%s: the mask has %d elements, the frame %d rows", fn, mask:numel(), self._n))
  end
  return self:take(mask_index(mask))
end

local function check_bools(fn, what, v, n)
  if type(v) == "boolean" then
    local t = {}
    for i = 1, n do t[i] = v end
    return t
  end
  if type(v) ~= "table" or #v ~= n then fail(fmt("%s: %s must be a boolean or a list of %d booleans", fn, what, n)) end
  return v
end

--- df:sort_values(by, [{ascending = true | {...}, na_position = "last" | "first"}]) -> the rows sorted by the columns (stable)
function DataFrame:sort_values(by, opts)
  local fn = "df:sort_values"
  opts = checks.options(fn, opts, { "ascending", "na_position" })
  local names = keys.names(fn, self, by, "by")
  local asc = check_bools(fn, "ascending", opts.ascending == nil and true or opts.ascending, #names)
  local na_first = checks.one_of(fn, "na_position", opts.na_position, { "last", "first" }, "last") == "first"
  local specs = {}
  for i, name in ipairs(names) do specs[i] = keys.spec(self._cols[name], true, not asc[i], na_first) end
  return self:take(F.argsort(keys.at_most(specs, true, false)))
end

-- Missing cells per row over the named columns (int64 [n]).
local function missing_per_row(df, names)
  local count = ml.zeros(df._n, { dtype = "int64" })
  for _, name in ipairs(names) do count = count:add(df._cols[name]:is_missing():to("int64")) end
  return count
end

--- df:dropna([{how = "any" | "all", subset = names, thresh = n}]) -> the rows without missing cells
function DataFrame:dropna(opts)
  local fn = "df:dropna"
  opts = checks.options(fn, opts, { "how", "subset", "thresh" })
  local names = keys.names(fn, self, opts.subset, "subset")
  local how = checks.one_of(fn, "how", opts.how, { "any", "all" }, "any")
  local missing = missing_per_row(self, names)
  local keep
  if opts.thresh ~= nil then
    local thresh = checks.integer(fn, "thresh", opts.thresh, 0)
    keep = missing:le(#names - thresh)
  elseif how == "any" then keep = missing:eq(0)
  else keep = missing:lt(#names) end
  return self:take(mask_index(keep))
end

-- col with its missing cells set to v (a Lua value of the column's kind).
local function fill_value(fn, name, col, v)
  local k, miss = col.kind, col:is_missing()
  if k == "float64" then
    if type(v) ~= "number" then fail(fmt("%s: column '%s' is float64; the fill value must be a number, got %s", fn, name, type(v))) end
    return Column.new(k, col.values:masked_fill(miss, v))
  end
  if is_text(k) then
    if type(v) ~= "string" then fail(fmt("%s: column '%s' holds strings; the fill value must be a string, got %s", fn, name, type(v))) end
    return Column.new(k, col.values:masked_fill(miss, col.pool:intern(v)), nil, col.pool)
  end
  if not col.valid then return col end
  if k == "int64" then
    if type(v) ~= "number" then fail(fmt("%s: column '%s' is int64; the fill value must be a number, got %s", fn, name, type(v))) end
    if math.type(v) == "float" and v ~= math.floor(v) then -- as pandas: the column becomes float64
      return Column.new("float64", col.values:to("float64"):masked_fill(miss, v))
    end
    return Column.new(k, col.values:masked_fill(miss, math.tointeger(v)))
  end
  if k == "bool" then
    if type(v) ~= "boolean" then fail(fmt("%s: column '%s' is bool; the fill value must be a boolean, got %s", fn, name, type(v))) end
    return Column.new(k, col.values:masked_fill(miss, v))
  end
  -- dates: an ISO string or integer seconds
  local s = v
  if type(v) == "string" then s = Column.parse_time(v) end
  if math.type(s) ~= "integer" then fail(fmt("%s: column '%s' is a %s; the fill value must be an ISO string or integer seconds, got %s", fn, name, k, tostring(v))) end
  return Column.new(k, col.values:masked_fill(miss, s))
end

-- Whether a scalar fill value suits a column's kind (a frame-wide value skips the others, as pandas' numeric fill skips strings).
local function suits(col, v)
  local k, t = col.kind, type(v)
  if k == "float64" or k == "int64" then return t == "number" end
  if k == "bool" then return t == "boolean" end
  if is_text(k) then return t == "string" end
  return t == "string" or math.type(v) == "integer"
end

--- df:fillna(value | {col = value, ...} | nil, [{method = "ffill" | "bfill", limit = n}]) -> missing cells filled
function DataFrame:fillna(value, opts)
  local fn = "df:fillna"
  if type(value) == "table" and (value.method ~= nil or value.limit ~= nil) and opts == nil then value, opts = nil, value end
  opts = checks.options(fn, opts, { "method", "limit" })
  local cols, names = {}, copy_list(self._names)
  for _, name in ipairs(names) do cols[name] = self._cols[name] end
  if opts.method ~= nil then
    if value ~= nil then fail(fn .. ": give a value or a method, not both") end
    local m = checks.one_of(fn, "method", opts.method, { "ffill", "bfill", "pad", "backfill" })
    local backward = m == "bfill" or m == "backfill"
    local limit = opts.limit ~= nil and checks.integer(fn, "limit", opts.limit, 1) or nil
    for _, name in ipairs(names) do
      local col = cols[name]
      if col:missing_count() > 0 then
        local src = F.fill_source(col:is_missing(), backward, limit)
        col = col:take(src)
        if col.valid and col:missing_count() == 0 then col = Column.new(col.kind, col.values, nil, col.pool) end
        cols[name] = col
      end
    end
  elseif type(value) == "table" then
    for name, v in pairs(value) do
      keys.names(fn, self, { name }, "the fill values")
      cols[name] = fill_value(fn, name, cols[name], v)
    end
  elseif value ~= nil then
    for _, name in ipairs(names) do
      if suits(cols[name], value) then cols[name] = fill_value(fn, name, cols[name], value) end
    end
  else fail(fn .. ": give a fill value, a table of values per column, or {method = \"ffill\"}") end
  return frame_of(names, cols)
end

local KEEP = { first = "first", last = "last" }

--- df:duplicated([{subset = names, keep = "first" | "last" | false}]) -> bool tensor: true for each repeated row
function DataFrame:duplicated(opts, fn)
  fn = fn or "df:duplicated"
  opts = checks.options(fn, opts, { "subset", "keep" })
  local names = keys.names(fn, self, opts.subset, "subset")
  local keep = opts.keep == nil and "first" or opts.keep
  if keep ~= false and not KEEP[keep] then fail(fn .. ": keep must be \"first\", \"last\" or false, got " .. tostring(keep)) end
  if self._n == 0 then return ml.zeros(0, { dtype = "bool" }) end
  local ids, G = keys.factorize(self, names, { sort = false, dropna = false })
  return F.duplicated(ids, G, keep == false and "none" or keep)
end

--- df:drop_duplicates([{subset = names, keep = "first" | "last" | false}]) -> the rows without repeats
function DataFrame:drop_duplicates(opts)
  return self:filter(self:duplicated(opts, "df:drop_duplicates"):logical_not())
end

--- df:value_counts([columns], [{normalize, sort = true, ascending = false, dropna = true}]) -> a frame of the distinct keys and their "count" (or "proportion")
function DataFrame:value_counts(names, opts)
  local fn = "df:value_counts"
  if type(names) == "table" and #names == 0 and opts == nil then names, opts = nil, names end
  opts = checks.options(fn, opts, { "normalize", "sort", "ascending", "dropna" })
  names = keys.names(fn, self, names, "columns")
  local dropna = checks.boolean(fn, "dropna", opts.dropna, true)
  local ids, G = keys.factorize(self, names, { sort = false, dropna = dropna })
  local counts = F.group_counts(ids, G)
  local first = F.group_agg_int(ids, G, "first", rows_index(self._n))
  local order = ml.arange(1, G + 1, { dtype = "int64" })
  if checks.boolean(fn, "sort", opts.sort, true) then
    order = F.argsort({ { values = counts, descending = not checks.boolean(fn, "ascending", opts.ascending, false) } })
  end
  local out = self:select(names):take(first:index_select(1, order))
  counts = counts:index_select(1, order)
  if checks.boolean(fn, "normalize", opts.normalize, false) then
    local total = counts:sum():item()
    return out:with_column("proportion", counts:to("float64"):div(total > 0 and total or 1))
  end
  return out:with_column("count", counts)
end

-- ---- concat ------------------------------------------------------------------------
-- The kind of a column made of parts of these kinds (nil when they do not mix).
local function common_kind(ks)
  local k = ks[1]
  for i = 2, #ks do
    local o = ks[i]
    if o ~= k then
      if (k == "int64" or k == "float64") and (o == "int64" or o == "float64") then k = "float64"
      elseif is_text(k) and is_text(o) then k = "string"
      else return nil end
    end
  end
  return k
end

-- A column of n missing cells of a kind.
local function missing_column(kind, n, pool)
  if kind == "float64" then return Column.new(kind, ml.full({ n }, 0 / 0, { dtype = "float64" })) end
  if is_text(kind) then return Column.new(kind, ml.zeros(n, { dtype = "int64" }), nil, pool or ml._strings.new()) end
  local dt = Column.KINDS[kind]
  return Column.new(kind, ml.zeros(n, { dtype = dt }), ml.zeros(n, { dtype = "bool" }))
end

-- One column from its parts (nil parts: the frame lacks it).
local function concat_column(fn, name, parts, lens)
  local ks = {}
  for _, p in pairs(parts) do ks[#ks + 1] = p.kind end
  local kind = common_kind(ks)
  if not kind then fail(fmt("%s: column '%s' mixes kinds %s that do not combine", fn, name, table.concat(ks, ", "))) end
  local pool
  if is_text(kind) then
    local shared = true
    for _, p in pairs(parts) do if p.pool ~= (parts[next(parts)]).pool then shared = false end end
    pool = shared and parts[next(parts)].pool or ml._strings.new()
  end
  local values, valids, any_valid = {}, {}, false
  for i = 1, #lens do
    local p = parts[i] or missing_column(kind, lens[i], pool)
    local v = p.values
    if kind == "float64" and p.kind ~= "float64" then
      v = v:to("float64")
      if p.valid then v = v:masked_fill(p.valid:logical_not(), 0 / 0) end
    elseif is_text(kind) and p.pool ~= pool then
      v = F.map_codes(F.pool_merge(pool, p.pool), v)
    end
    values[i] = v
    if kind ~= "float64" and not is_text(kind) then
      valids[i] = p.valid or ml.ones(lens[i], { dtype = "bool" })
      any_valid = any_valid or p.valid ~= nil
    end
  end
  local valid = any_valid and ml.cat(valids) or nil
  return Column.new(kind, ml.cat(values), valid, pool)
end

--- data.DataFrame.concat(frames) -> the rows of every frame, one after another (columns united; absent cells missing)
function DataFrame.concat(frames, other)
  local fn = "data.concat"
  if DataFrame.is(frames) then frames = { frames, other } end -- df:concat(other)
  if type(frames) ~= "table" or #frames == 0 then fail(fn .. ": expected a non-empty list of frames") end
  local names, seen, lens = {}, {}, {}
  for i, df in ipairs(frames) do
    if not DataFrame.is(df) then fail(fmt("%s: element %d is a %s, expected a data frame", fn, i, type(df))) end
    lens[i] = df._n
    for _, name in ipairs(df._names) do
      if not seen[name] then seen[name] = true; names[#names + 1] = name end
    end
  end
  local cols = {}
  for _, name in ipairs(names) do
    local parts = {}
    for i, df in ipairs(frames) do parts[i] = df._cols[name] end
    cols[name] = concat_column(fn, name, parts, lens)
  end
  return frame_of(names, cols)
end

-- ---- sample, apply ----------------------------------------------------------------------
--- df:sample([{n | frac, replace = false, seed}]) -> random rows (seeded: the same seed gives the same rows, the global generator untouched)
function DataFrame:sample(opts)
  local fn = "df:sample"
  opts = checks.options(fn, opts, { "n", "frac", "replace", "seed" })
  if opts.n ~= nil and opts.frac ~= nil then fail(fn .. ": give n or frac, not both") end
  local replace = checks.boolean(fn, "replace", opts.replace, false)
  local n
  if opts.frac ~= nil then
    local frac = checks.number(fn, "frac", opts.frac, 0)
    if frac > 1 and not replace then fail(fmt("%s: frac %g > 1 needs replace = true", fn, frac)) end
    -- Python's round, as pandas: halves go to the even number (frac 0.5 of 5 rows is 2)
    local x = frac * self._n
    n = math.floor(x)
    local r = x - n
    if r > 0.5 or (r == 0.5 and n % 2 == 1) then n = n + 1 end
    n = math.tointeger(n)
  else n = checks.integer(fn, "n", opts.n or 1, 0) end
  if n > self._n and not replace then
    fail(fmt("%s: cannot take %d rows from %d without replacement (replace = true)", fn, n, self._n))
  end
  local state
  if opts.seed ~= nil then
    state = ml.random_state()
    ml.seed(checks.integer(fn, "seed", opts.seed))
  end
  local index
  if n == 0 then index = ml.zeros(0, { dtype = "int64" })
  elseif replace then index = ml.randint(1, self._n + 1, { n }, { dtype = "int64" })
  else index = ml.randperm(self._n):narrow(1, 1, n) end
  if state then ml.set_random_state(state) end
  return self:take(index)
end

--- df:apply(column, fn, [kind]) -> a data.Column of fn(value) per row (per-element Lua: prefer tensor ops and the str methods)
function DataFrame:apply(name, f, kind)
  local fn = "df:apply"
  local col = self:column(keys.names(fn, self, name, "the column")[1])
  checks.func(fn, "fn", f)
  local list, n = col:to_list()
  local out = {}
  for i = 1, n do out[i] = f(list[i]) end
  return Column.from_list(out, n, kind)
end


-- Docstrings for ml.help (the --- lines above each function).
ml.doc(DataFrame.select_dtypes, "df:select_dtypes(include, [exclude]) — the columns of those kinds (\"number\", \"string\", \"bool\", \"datetime\", a kind ...)")
ml.doc(DataFrame.drop, "df:drop(names) — the frame without those columns")
ml.doc(DataFrame.rename, "df:rename(map | fn) — the frame with columns renamed ({old = \"new\"} or a function of the name)")
ml.doc(DataFrame.filter, "df:filter(mask) — the rows where mask (a bool tensor or bool column of #df rows) is true")
ml.doc(DataFrame.sort_values, "df:sort_values(by, [{ascending = true | {...}, na_position = \"last\" | \"first\"}]) — the rows sorted by the columns (stable)")
ml.doc(DataFrame.dropna, "df:dropna([{how = \"any\" | \"all\", subset = names, thresh = n}]) — the rows without missing cells")
ml.doc(DataFrame.fillna, "df:fillna(value | {col = value, ...} | nil, [{method = \"ffill\" | \"bfill\", limit = n}]) — missing cells filled")
ml.doc(DataFrame.duplicated, "df:duplicated([{subset = names, keep = \"first\" | \"last\" | false}]) — bool tensor: true for each repeated row")
ml.doc(DataFrame.drop_duplicates, "df:drop_duplicates([{subset = names, keep = \"first\" | \"last\" | false}]) — the rows without repeats")
ml.doc(DataFrame.value_counts, "df:value_counts([columns], [{normalize, sort = true, ascending = false, dropna = true}]) — a frame of the distinct keys and their \"count\" (or \"proportion\")")
ml.doc(DataFrame.concat, "data.DataFrame.concat(frames) — the rows of every frame, one after another (columns united; absent cells missing)")
ml.doc(DataFrame.sample, "df:sample([{n | frac, replace = false, seed}]) — random rows (seeded: the same seed gives the same rows, the global generator untouched)")
ml.doc(DataFrame.apply, "df:apply(column, fn, [kind]) — a data.Column of fn(value) per row (per-element Lua: prefer tensor ops and the str methods)")

return DataFrame
