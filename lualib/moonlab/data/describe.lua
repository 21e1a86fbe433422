--- data/describe.lua: df:describe() and df:info().
--
-- describe, as pandas: for numeric columns (float64, int64) the rows count,
-- mean, std (ddof 1), min, 25%, 50%, 75% (linear interpolation), max, and
-- here also missing; for text, bool and date columns count, unique, top,
-- freq; percentiles = {...} chooses the quantiles (the median always among
-- them, as pandas). By default the numeric columns (the others when there are none);
-- {include = "all"} gives every column (rows that do not apply are missing).
-- The result is a frame: a "stat" column naming the rows, then one column
-- per described column. The numeric statistics run in C, one column per
-- thread (ml._frame.describe: a radix selection, not a sort, for the quantiles).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local Column = require "moonlab.data.column"
local DataFrame = require "moonlab.data.frame"
local keys = require "moonlab.data.keys"

local fail, fmt = checks.fail, string.format
local F = ml._frame

-- The rows of a numeric column for the quantiles q (ascending): count, mean, std, min, "25%" ..., max, missing.
local function numeric_rows(q)
  local rows = { "count", "mean", "std", "min" }
  for _, p in ipairs(q) do rows[#rows + 1] = fmt("%.10g", p * 100) .. "%" end
  rows[#rows + 1] = "max"
  rows[#rows + 1] = "missing"
  return rows
end

-- pandas' percentiles: fractions in [0, 1], the median added, sorted, no repeats.
local function check_percentiles(fn, p)
  if p == nil then return { 0.25, 0.5, 0.75 } end
  if type(p) ~= "table" then fail(fn .. ": percentiles must be a list of fractions in [0, 1], got " .. type(p)) end
  local seen, q = {}, {}
  for i, v in ipairs(p) do
    if type(v) ~= "number" or not (v >= 0 and v <= 1) then
      fail(fmt("%s: percentile %d must be a fraction in [0, 1], got %s", fn, i, tostring(v)))
    end
    if not seen[v] then seen[v] = true; q[#q + 1] = v end
  end
  if not seen[0.5] then q[#q + 1] = 0.5 end
  table.sort(q)
  return q
end
local OBJECT_ROWS = { "count", "unique", "top", "freq" }

local function is_numeric(kind) return kind == "float64" or kind == "int64" end

-- float64 values of a numeric column, missing as NaN.
local function as_float(col)
  if col.kind == "float64" then return col.values end
  local x = col.values:to("float64")
  return col.valid and x:masked_fill(col.valid:logical_not(), 0 / 0) or x
end

-- count, unique, top, freq of a non-numeric column (top: the most frequent, the first seen among ties).
local function object_stats(col)
  local n = col:len()
  local ids, G = F.factorize({ keys.spec(col) }, { dropna = true })
  local count = n - col:missing_count()
  if G == 0 then return { count, 0, nil, nil } end
  local counts = F.group_counts(ids, G)
  local best = F.argsort({ { values = counts, descending = true } })[1]
  local first = F.group_agg_int(ids, G, "first", ml.arange(1, n + 1, { dtype = "int64" }))
  return { count, G, col:get(first[best]), counts[best] }
end

--- df:describe([{include = "all" | "number" | "object", percentiles = {0.25, 0.5, 0.75}}]) -> a frame of summary statistics (stats as rows, as pandas)
function DataFrame:describe(opts)
  local fn = "df:describe"
  opts = checks.options(fn, opts, { "include", "percentiles" })
  local q = check_percentiles(fn, opts.percentiles)
  local NUMERIC_ROWS = numeric_rows(q)
  local include = opts.include ~= nil and checks.one_of(fn, "include", opts.include, { "all", "number", "object" }) or nil
  local num, obj = {}, {}
  for _, name in ipairs(self._names) do
    if is_numeric(self._cols[name].kind) then num[#num + 1] = name else obj[#obj + 1] = name end
  end
  if include == nil then include = #num > 0 and "number" or "object" end
  local want_num, want_obj = include ~= "object", include ~= "number"
  if (not want_num or #num == 0) and (not want_obj or #obj == 0) then fail(fn .. ": no columns to describe") end
  local rows = {}
  if want_obj and #obj > 0 then for _, r in ipairs(OBJECT_ROWS) do rows[#rows + 1] = r end end
  if want_num and #num > 0 then
    for _, r in ipairs(NUMERIC_ROWS) do if r ~= "count" or not (want_obj and #obj > 0) then rows[#rows + 1] = r end end
  end
  local pos = {}
  for i, r in ipairs(rows) do pos[r] = i end
  local R = #rows
  local names, cols = { "stat" }, { stat = Column.from_list(rows, R, "string") }
  local stats = {}
  if want_num and #num > 0 then
    local xs = {}
    for i, name in ipairs(num) do xs[i] = as_float(self._cols[name]) end
    local out = F.describe(xs, q) -- [ncols, 5 + #q]
    for i, name in ipairs(num) do
      local v = {}
      for r = 1, R do v[r] = 0 / 0 end
      local s = out[i]:tolist()
      for k, r in ipairs(NUMERIC_ROWS) do
        if pos[r] then v[pos[r]] = r == "missing" and (self._n - s[1]) or s[k] end
      end
      stats[name] = Column.new("float64", ml.tensor(v, { dtype = "float64" }))
    end
  end
  if want_obj and #obj > 0 then
    for _, name in ipairs(obj) do
      local s = object_stats(self._cols[name])
      local v = {}
      for k, r in ipairs(OBJECT_ROWS) do v[pos[r]] = s[k] ~= nil and tostring(s[k]) or nil end
      stats[name] = Column.from_list(v, R, "string")
    end
  end
  for _, name in ipairs(self._names) do
    if stats[name] then names[#names + 1] = name; cols[name] = stats[name] end
  end
  return DataFrame.from_columns(names, cols)
end

--- df:info([{print = true}]) -> {rows, columns = {{name, kind, non_null}, ...}, memory}; prints pandas' summary
function DataFrame:info(opts)
  local fn = "df:info"
  opts = checks.options(fn, opts, { "print" })
  local out = { rows = self._n, columns = {}, memory = 0 }
  local per_kind, kinds = {}, {}
  for i, name in ipairs(self._names) do
    local col = self._cols[name]
    local bytes = col:nbytes()
    out.columns[i] = { name = name, kind = col.kind, non_null = self._n - col:missing_count(), bytes = bytes }
    out.memory = out.memory + bytes
    if not per_kind[col.kind] then kinds[#kinds + 1] = col.kind end
    per_kind[col.kind] = (per_kind[col.kind] or 0) + 1
  end
  if checks.boolean(fn, "print", opts.print, true) then
    local lines = { "data.DataFrame", fmt("%d rows, %d columns", self._n, #self._names) }
    local w = #"Column"
    for _, c in ipairs(out.columns) do w = math.max(w, utf8.len(c.name) or #c.name) end
    local row = " %-3s  %-" .. w .. "s  %-14s  %s"
    lines[#lines + 1] = fmt(row, "#", "Column", "Non-Null Count", "Dtype")
    lines[#lines + 1] = fmt(row, "---", string.rep("-", w), string.rep("-", 14), "-----")
    for i, c in ipairs(out.columns) do
      lines[#lines + 1] = fmt(row, i, c.name, c.non_null .. " non-null", c.kind)
    end
    table.sort(kinds)
    local parts = {}
    for _, k in ipairs(kinds) do parts[#parts + 1] = fmt("%s(%d)", k, per_kind[k]) end
    lines[#lines + 1] = "dtypes: " .. table.concat(parts, ", ")
    lines[#lines + 1] = "memory usage: " .. format.thousands(out.memory) .. " bytes"
    print(table.concat(lines, "\n"))
  end
  return out
end


-- Docstrings for ml.help (the --- lines above each function).
ml.doc(DataFrame.describe, "df:describe([{include = \"all\" | \"number\" | \"object\", percentiles = {0.25, 0.5, 0.75}}]) — a frame of summary statistics (stats as rows, as pandas)")
ml.doc(DataFrame.info, "df:info([{print = true}]) — {rows, columns = {{name, kind, non_null}, ...}, memory}; prints pandas' summary")

return DataFrame
