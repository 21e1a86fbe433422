--- data/quality.lua: data-quality checks of a data frame.
--
--   local p = data.profile(df)      -- p.columns[i] (or p.by_name.age): kind, missing, missing_share, unique,
--   print(p)                        -- constant, near_constant, mixed, outliers_iqr, outliers_z, min, max ...
--   local r = data.validate(df, {age = {type = "int64", min = 0, max = 120, not_null = true},
--                                name = {pattern = "^%u%l+$", unique = true},
--                                color = {allowed = {"red", "green"}}})
--   r.ok, r.violations[i] = {column, check, count, rows = {first row numbers}}, r.summary
--   data.validate(df, schema, {raise = true})            -- one error listing every violation
--   local schema = data.schema_of(train_df)               -- JSON-able: types, ranges, categories seen
--
-- Everything runs on the column tensors (sorts, masks, cumulative sums);
-- Lua loops only over columns, distinct strings and the rows it reports.
-- Patterns are Lua patterns (string.find), not regular expressions.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local Column = require "moonlab.data.column"
local DataFrame = require "moonlab.data.frame"

local fail, fmt = checks.fail, string.format
local quality = {}

local function is_numeric(kind) return kind == "int64" or kind == "float64" end

-- Values a column is ranked by: int64 or float64 (bools as 0/1).
local function sort_values(col)
  if col.kind == "bool" then return col.values:to("int64") end
  return col.values
end

-- Dense ranks: equal values share a rank, 1..K in ascending order, 0 where missing.
-- Also returns K, the sorted present values, the longest run (the most
-- frequent value's count) and the distinct values (ascending).
local function dense_rank(values, mask, n)
  local m = mask and math.tointeger(mask:sum():item()) or n
  if m == 0 then return ml.zeros(n, { dtype = "int64" }), 0, nil, 0, nil end
  local pv = mask and values:masked_select(mask) or values
  local sorted, idx = pv:sort()
  local change = m > 1 and sorted:narrow(1, 2, m - 1):ne(sorted:narrow(1, 1, m - 1)) or nil
  local one = ml.ones(1, { dtype = "int64" })
  local starts = change and ml.cat({ one, change:to("int64") }, 1) or one
  local rs = starts:cumsum(1)
  local _, inv = idx:sort()
  local rank_present = rs:index_select(1, inv)
  local k = math.tointeger(rs[m])
  -- the longest run: distances between the positions where a run ends
  local ends = ml.arange(1, m + 1):masked_select(change and ml.cat({ change, ml.ones(1, { dtype = "bool" }) }, 1)
    or ml.ones(1, { dtype = "bool" }))
  local prev = ml.cat({ ml.zeros(1, { dtype = "int64" }), ends:narrow(1, 1, ends:size(1) - 1) }, 1)
  local top = math.tointeger(ends:sub(prev):max():item())
  local distinct = sorted:masked_select(starts:gt(0))
  if not mask then return rank_present, k, sorted, top, distinct end
  -- back to every row: the k-th present row takes rank_present[k]
  local pos = mask:to("int64"):cumsum(1):clamp(1, m)
  return rank_present:index_select(1, pos):masked_fill(mask:logical_not(), 0), k, sorted, top, distinct
end

local function column_ranks(col)
  local mask = col:is_missing()
  local any_missing = mask:sum():item() > 0
  local values = Column.is_text(col.kind) and col.values or sort_values(col)
  return dense_rank(values, any_missing and mask:logical_not() or nil, col:len())
end

-- Linear-interpolated quantile q of the sorted values (numpy's default).
local function quantile(sorted, q)
  local m = sorted:size(1)
  local pos = (m - 1) * q + 1
  local lo = math.floor(pos)
  local frac = pos - lo
  local a = sorted[lo]
  if frac == 0 or lo >= m then return a end
  return a + frac * (sorted[lo + 1] - a)
end

local function numeric_stats(entry, sorted, fence, zmax)
  local x = sorted:to("float64")
  local m = x:size(1)
  -- :item() of a one-cell view: t[i] of an int64 tensor passes through a double
  entry.min, entry.max = sorted:narrow(1, 1, 1):item(), sorted:narrow(1, m, 1):item()
  local mean = x:mean():item()
  local sd = math.sqrt(x:sub(mean):pow(2):mean():item()) -- population std, as scipy.stats.zscore
  entry.mean, entry.std = mean, sd
  local q1, q3 = quantile(x, 0.25), quantile(x, 0.75)
  local iqr = q3 - q1
  entry.q1, entry.q3 = q1, q3
  entry.outliers_iqr = math.tointeger(x:lt(q1 - fence * iqr):sum():item() + x:gt(q3 + fence * iqr):sum():item())
  entry.outliers_z = sd > 0 and math.tointeger(x:sub(mean):abs():gt(zmax * sd):sum():item()) or 0
end

-- Rows equal to an earlier row (pandas' df.duplicated().sum()): the columns'
-- ranks folded into one exact row code, re-ranked after each column so it stays below n^2.
local function duplicated_rows(ranks, ks, n)
  if n == 0 or #ranks == 0 then return 0 end
  local code = ranks[1]
  for j = 2, #ranks do
    code = dense_rank(code:mul(ks[j] + 1):add(ranks[j]), nil, n)
  end
  local _, k = dense_rank(code, nil, n) -- rank 0 (missing) counts as a value here
  return n - k
end

local Profile = class.Object:extend("data.Profile",
  "data.Profile — what data.profile(df) returns: rows, duplicated_rows, columns (one table per column), by_name")

local OPTIONS = { "near_constant", "z", "iqr" }

--- data.profile(df, [opts]) -> profile: per column its kind, missing count and share, unique count, constant and
-- near-constant flags (opts.near_constant = 0.95 of one value), mixed-kind cells found while parsing, outliers by
-- IQR (opts.iqr = 1.5) and z-score (opts.z = 3); duplicated rows. print(profile) shows a table
function quality.profile(df, opts)
  local fn = "data.profile"
  if not DataFrame.is(df) then fail(fn .. ": argument #1: expected a data frame, got " .. checks.show(df)) end
  local o = checks.options(fn, opts, OPTIONS)
  local near = checks.number(fn, "near_constant", o.near_constant or 0.95, 0, 1)
  local fence = checks.number(fn, "iqr", o.iqr or 1.5, 0)
  local zmax = checks.number(fn, "z", o.z or 3, 0)
  local n = df._n
  local p = setmetatable({ rows = n, columns = {}, by_name = {} }, Profile)
  local ranks, ks = {}, {}
  for j, name in ipairs(df._names) do
    local col = df._cols[name]
    local missing = col:missing_count()
    local r, k, sorted, top = column_ranks(col)
    ranks[j], ks[j] = r, k
    local entry = { name = name, kind = col.kind, missing = missing, missing_share = n > 0 and missing / n or 0,
      unique = k, top_share = (n - missing) > 0 and top / (n - missing) or 0, mixed = col.mixed or 0,
      mixed_kind = col.mixed_kind, outliers_iqr = 0, outliers_z = 0 }
    entry.constant = k <= 1
    entry.near_constant = not entry.constant and entry.top_share >= near
    if sorted and is_numeric(col.kind) then
      numeric_stats(entry, sorted, fence, zmax)
    elseif sorted and Column.is_time(col.kind) then
      entry.min = Column.format_time(sorted[1], col.kind)
      entry.max = Column.format_time(sorted[sorted:size(1)], col.kind)
    end
    p.columns[j] = entry
    p.by_name[name] = entry
  end
  p.duplicated_rows = duplicated_rows(ranks, ks, n)
  return p
end

local function pct(x) return fmt("%.1f%%", 100 * x) end

local function show_value(v)
  if v == nil then return "" end
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "number" then return format.number(v) end
  return tostring(v)
end

function Profile:__tostring()
  local header = { "column", "type", "missing", "missing %", "unique", "flags", "mixed", "outliers iqr/z", "min", "max" }
  local rows = { header }
  for _, e in ipairs(self.columns) do
    local flags = e.constant and "constant" or (e.near_constant and "near-constant" or "")
    local mixed = e.mixed > 0 and fmt("%d (not %s)", e.mixed, e.mixed_kind) or ""
    local out = is_numeric(e.kind) and e.min ~= nil and fmt("%d / %d", e.outliers_iqr, e.outliers_z) or ""
    rows[#rows + 1] = { e.name, e.kind, tostring(e.missing), pct(e.missing_share), tostring(e.unique), flags, mixed,
      out, show_value(e.min), show_value(e.max) }
  end
  local widths = {}
  for _, r in ipairs(rows) do
    for c, s in ipairs(r) do widths[c] = math.max(widths[c] or 0, utf8.len(s) or #s) end
  end
  local lines = { fmt("data.profile: %d rows x %d columns, %d duplicated rows", self.rows, #self.columns, self.duplicated_rows) }
  for _, r in ipairs(rows) do
    local cells = {}
    for c, s in ipairs(r) do
      local pad = string.rep(" ", widths[c] - (utf8.len(s) or #s))
      cells[c] = (c <= 2 or c == 6 or c == 7) and (s .. pad) or (pad .. s)
    end
    lines[#lines + 1] = table.concat(cells, "  "):gsub("%s+$", "")
  end
  return table.concat(lines, "\n")
end

--- profile:print() prints the profile's table
function Profile:print() print(tostring(self)) return self end

-- ---- validate ----------------------------------------------------------

local CHECKS = { "type", "min", "max", "allowed", "not_null", "unique", "pattern", "optional" }
local VALIDATE_OPTIONS = { "raise", "max_rows" }

-- Row numbers (1-based) where mask is true: the first `cap` and the count.
local function rows_of(mask, cap)
  local count = math.tointeger(mask:sum():item())
  if count == 0 then return {}, 0 end
  local idx = ml.arange(1, mask:size(1) + 1):masked_select(mask)
  local rows = idx:narrow(1, 1, math.min(cap, count)):tolist()
  return rows, count
end

-- A bool tensor over the pool's codes (0..#pool), true where the string passes keep(s).
local function code_table(pool, keep)
  local t = { false }
  for code, s in ipairs(pool:list()) do t[code + 1] = keep(s) and true or false end
  return ml.tensor(t, { dtype = "bool" })
end

local function time_bound(fn, name, what, v, kind)
  if type(v) == "number" then return v end
  local s = type(v) == "string" and Column.parse_time(v)
  if not s then fail(fmt("%s: column '%s': %s must be a date string (YYYY-MM-DD) or seconds, got %s", fn, name, what, checks.show(v))) end
  return s
end

local TYPES = { "number", "float64", "int64", "bool", "string", "category", "date", "datetime" }
local function known_type(fn, name, t)
  if type(t) ~= "string" then
    fail(fmt("%s: column '%s': type must be a kind name or a list of them, got %s", fn, name, checks.show(t)))
  end
  for _, k in ipairs(TYPES) do if k == t then return t end end
  checks.unknown(fn, "type for column '" .. name .. "'", t, TYPES)
end

local function kinds_of(fn, name, t)
  if type(t) == "string" then
    known_type(fn, name, t)
    if t == "number" then return { int64 = true, float64 = true }, "number" end
    return { [t] = true }, t
  end
  if type(t) ~= "table" then known_type(fn, name, t) end
  local set = {}
  for _, k in ipairs(t) do
    known_type(fn, name, k)
    if k == "number" then set.int64, set.float64 = true, true else set[k] = true end
  end
  return set, table.concat(t, "|")
end

-- An int64 column compared with an integer: against a one-cell int64 tensor, since a
-- scalar passes through a double (2^63-1 becomes 2^63, which wraps to -2^63)
local function operand(v, x)
  if v:dtype() == "int64" and math.type(x) == "integer" then return ml.tensor({ x }, { dtype = "int64" }) end
  return x
end

-- The violations of one column's spec, appended to out.
local function check_column(fn, df, name, spec, cap, out)
  local function add(check, mask, message)
    local rows, count = rows_of(mask, cap)
    if count > 0 then out[#out + 1] = { column = name, check = check, count = count, rows = rows, message = message } end
  end
  for k in pairs(spec) do
    local known = false
    for _, c in ipairs(CHECKS) do if c == k then known = true end end
    if not known then checks.unknown(fn, "check for column '" .. name .. "'", tostring(k), CHECKS) end
  end
  local col = df._cols[name]
  if not col then
    if not spec.optional then
      out[#out + 1] = { column = name, check = "present", count = 1, rows = {}, message = "the column is missing" }
    end
    return
  end
  if spec.type ~= nil then
    local set, label = kinds_of(fn, name, spec.type)
    if not set[col.kind] then
      out[#out + 1] = { column = name, check = "type", count = 1, rows = {},
        message = fmt("type %s, expected %s", col.kind, label) }
      return -- the other checks assume the type
    end
  end
  local miss = col:is_missing()
  local has = miss:logical_not()
  if spec.not_null then add("not_null", miss, "missing cells") end
  if spec.min ~= nil or spec.max ~= nil then
    if not (is_numeric(col.kind) or Column.is_time(col.kind)) then
      fail(fmt("%s: column '%s': min/max apply to numbers and dates, not %s", fn, name, col.kind))
    end
    local v = col.values
    if spec.min ~= nil then
      local lo = Column.is_time(col.kind) and time_bound(fn, name, "min", spec.min, col.kind) or spec.min
      if type(lo) ~= "number" then fail(fmt("%s: column '%s': min must be a number, got %s", fn, name, checks.show(lo))) end
      add("min", v:lt(operand(v, lo)):mul(has):gt(0), "below min " .. tostring(spec.min))
    end
    if spec.max ~= nil then
      local hi = Column.is_time(col.kind) and time_bound(fn, name, "max", spec.max, col.kind) or spec.max
      if type(hi) ~= "number" then fail(fmt("%s: column '%s': max must be a number, got %s", fn, name, checks.show(hi))) end
      add("max", v:gt(operand(v, hi)):mul(has):gt(0), "above max " .. tostring(spec.max))
    end
  end
  if spec.allowed ~= nil then
    if type(spec.allowed) ~= "table" then fail(fmt("%s: column '%s': allowed must be a list of values", fn, name)) end
    local bad
    if Column.is_text(col.kind) then
      local set = {}
      for _, a in ipairs(spec.allowed) do set[tostring(a)] = true end
      bad = code_table(col.pool, function(s) return not set[s] end):index_select(1, col.values:add(1))
    else
      local ok = ml.zeros(col:len(), { dtype = "bool" })
      local v = Column.is_time(col.kind) and col.values or sort_values(col)
      for _, a in ipairs(spec.allowed) do
        local x = a
        if Column.is_time(col.kind) then x = time_bound(fn, name, "allowed", a, col.kind) end
        if type(x) == "boolean" then x = x and 1 or 0 end
        ok = ok:add(v:eq(operand(v, x))):gt(0)
      end
      bad = ok:logical_not():mul(has):gt(0)
    end
    local shown = {}
    for i = 1, math.min(#spec.allowed, 8) do shown[i] = tostring(spec.allowed[i]) end
    add("allowed", bad, "not in allowed values {" .. table.concat(shown, ", ") .. (#spec.allowed > 8 and ", ..." or "") .. "}")
  end
  if spec.pattern ~= nil then
    if not Column.is_text(col.kind) then fail(fmt("%s: column '%s': pattern applies to string columns, not %s", fn, name, col.kind)) end
    if type(spec.pattern) ~= "string" then fail(fmt("%s: column '%s': pattern must be a Lua pattern string", fn, name)) end
    local okp, err = pcall(string.find, "", spec.pattern)
    if not okp then fail(fmt("%s: column '%s': bad Lua pattern '%s': %s", fn, name, spec.pattern, err)) end
    local bad = code_table(col.pool, function(s) return not s:find(spec.pattern) end):index_select(1, col.values:add(1))
    add("pattern", bad, "not matching pattern '" .. spec.pattern .. "'")
  end
  if spec.unique then
    local r, k = column_ranks(col)
    local n = col:len()
    if k < n - math.tointeger(miss:sum():item()) then
      -- rows whose value another row shares (pandas' duplicated(keep=False))
      local sorted, idx = r:sort()
      local same_prev = ml.cat({ ml.zeros(1, { dtype = "bool" }), sorted:narrow(1, 2, n - 1):eq(sorted:narrow(1, 1, n - 1)) }, 1)
      local same_next = ml.cat({ sorted:narrow(1, 2, n - 1):eq(sorted:narrow(1, 1, n - 1)), ml.zeros(1, { dtype = "bool" }) }, 1)
      local dup_sorted = same_prev:add(same_next):gt(0)
      local _, inv = idx:sort()
      add("unique", dup_sorted:index_select(1, inv):mul(has):gt(0), "repeated values")
    end
  end
end

local function schema_columns(fn, schema)
  if type(schema) ~= "table" then fail(fn .. ": argument #2: expected a schema table, got " .. checks.show(schema)) end
  if schema.version ~= nil and type(schema.columns) == "table" then -- what data.schema_of returns
    return schema.columns, schema.names
  end
  return schema, nil
end

--- data.validate(df, schema, [{raise, max_rows}]) -> result: checks each column's type, min/max, allowed values,
-- not_null, unique and pattern (a Lua pattern); result.ok, result.violations (column, check, count, rows), result.summary;
-- raise = true makes violations one error
function quality.validate(df, schema, opts)
  local fn = "data.validate"
  if not DataFrame.is(df) then fail(fn .. ": argument #1: expected a data frame, got " .. checks.show(df)) end
  local cols, order = schema_columns(fn, schema)
  local o = checks.options(fn, opts, VALIDATE_OPTIONS)
  local cap = checks.integer(fn, "max_rows", o.max_rows or 10, 1)
  if not order then
    order = {}
    for name in pairs(cols) do
      if type(name) ~= "string" then fail(fn .. ": schema keys must be column names, got " .. checks.show(name)) end
      order[#order + 1] = name
    end
    table.sort(order)
  end
  local violations = {}
  for _, name in ipairs(order) do
    local spec = cols[name]
    if type(spec) ~= "table" then fail(fmt("%s: the schema of column '%s' must be a table, got %s", fn, name, checks.show(spec))) end
    check_column(fn, df, name, spec, cap, violations)
  end
  local lines, cells, columns = {}, 0, {}
  for _, v in ipairs(violations) do
    cells = cells + v.count
    columns[v.column] = true
    local rows = #v.rows > 0 and (" (rows " .. table.concat(v.rows, ", ") .. (v.count > #v.rows and ", ..." or "") .. ")") or ""
    v.text = fmt("%s: %s%s%s", v.column, v.count > 1 and (v.count .. " rows ") or (#v.rows > 0 and "1 row " or ""), v.message, rows)
    lines[#lines + 1] = v.text
  end
  local ncols = 0
  for _ in pairs(columns) do ncols = ncols + 1 end
  local result = { ok = #violations == 0, violations = violations, rows = df._n, failed_checks = #violations,
    failed_cells = cells }
  result.summary = #violations == 0 and fmt("all %d checks passed on %d rows", #order, df._n)
    or fmt("%d failed checks in %d columns (%d cells):\n  %s", #violations, ncols, cells, table.concat(lines, "\n  "))
  if o.raise and not result.ok then fail(fn .. ": " .. result.summary) end
  return result
end

local SCHEMA_OPTIONS = { "max_categories" }

--- data.schema_of(df, [{max_categories = 50}]) -> schema: a JSON-able table of each column's type, not_null, min/max
-- (numbers, dates as strings) and allowed values (string columns with few distinct values), for data.validate
function quality.schema_of(df, opts)
  local fn = "data.schema_of"
  if not DataFrame.is(df) then fail(fn .. ": argument #1: expected a data frame, got " .. checks.show(df)) end
  local o = checks.options(fn, opts, SCHEMA_OPTIONS)
  local maxcat = checks.integer(fn, "max_categories", o.max_categories or 50, 0)
  local schema = { version = 1, names = {}, columns = {} }
  for j, name in ipairs(df._names) do
    local col = df._cols[name]
    local spec = { type = col.kind, not_null = col:missing_count() == 0 }
    local mask = col:is_missing():logical_not()
    local m = math.tointeger(mask:sum():item())
    if m > 0 and (is_numeric(col.kind) or Column.is_time(col.kind)) then
      local v = col.values:masked_select(mask)
      local lo, hi = v:min():item(), v:max():item()
      if Column.is_time(col.kind) then spec.min, spec.max = Column.format_time(lo, col.kind), Column.format_time(hi, col.kind)
      elseif lo > -math.huge and hi < math.huge then spec.min, spec.max = lo, hi end -- JSON has no infinities
    elseif Column.is_text(col.kind) then
      -- the codes the rows use (the pool may hold strings no row uses any more)
      local _, k, _, _, distinct = column_ranks(col)
      if k > 0 and k <= maxcat then
        local list = {}
        for i, c in ipairs(distinct:tolist()) do list[i] = col.pool:get(c) end
        table.sort(list)
        spec.allowed = list
      end
    end
    schema.names[j] = name
    schema.columns[name] = spec
  end
  return schema
end

ml.doc(Profile.print, "profile:print() — prints the profile's aligned table (the same as print(profile))")
ml.doc(quality.profile, "data.profile(df, [opts]) -> profile — per column kind, missing count/share, unique, constant and "
  .. "near-constant flags, mixed-kind cells from parsing, IQR and z-score outliers; duplicated rows; print(profile) for a table")
ml.doc(quality.validate, "data.validate(df, schema, [{raise, max_rows}]) -> result — type, min/max, allowed, not_null, unique, "
  .. "pattern (Lua) per column; result.ok, result.violations with row numbers, result.summary; raise = true: one error")
ml.doc(quality.schema_of, "data.schema_of(df, [{max_categories}]) -> schema — the JSON-able schema of a frame (types, not_null, "
  .. "ranges, categories seen) for data.validate, e.g. stored by a fitted pipeline")

return { profile = quality.profile, validate = quality.validate, schema_of = quality.schema_of, Profile = Profile }
