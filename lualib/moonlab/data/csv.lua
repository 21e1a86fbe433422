--- data/csv.lua: data.read_csv and df:write_csv, the policy around the C
-- reader and writer (runtime/io/csv.c, ml._csv): options, header names,
-- usecols and dtypes by name, frames, the chunk iterator.
--
--   local df, report = data.read_csv("data.csv")                 -- report.skipped, report.bad_lines
--   local df = data.read_csv("data.csv.gz", {usecols = {"age", 3}, dtypes = {when = "date"}})
--   for chunk in data.read_csv("big.csv", {chunksize = 100000}) do ... end
--   df:write_csv("out.csv")
--
-- Header: the first record is the header (as pandas) unless header = false;
-- header = "auto" takes it as a header only when none of its cells reads as
-- a number, a bool or a date. Empty names become "Unnamed: k" and repeated
-- ones "name.1", "name.2" (pandas' rules, k 1-based); without a header the
-- columns are named "1", "2", ... (or by `names`).
-- Types are inferred from every cell of a column (per chunk with chunksize,
-- as pandas): int64, float64, bool, date, datetime, else string; dtypes
-- given for a column are checked cell by cell (a cell that does not read is
-- an error naming file:line:column). An int64 column with missing cells
-- stays int64 with a valid mask. A string column remembers how many of its
-- cells were of another kind than most (col.mixed, col.mixed_kind), for
-- data.profile.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Column = require "moonlab.data.column"
local DataFrame = require "moonlab.data.frame"

local C = ml._csv
local fail, fmt = checks.fail, string.format

local csv = {}

local READ_OPTIONS = { "delimiter", "header", "names", "comment", "skiprows", "nrows", "usecols", "dtypes",
  "na_values", "keep_default_na", "on_bad_lines", "chunksize", "decimal" }
local KINDS = { int64 = "int64", float64 = "float64", bool = "bool", date = "date", datetime = "datetime",
  string = "string", category = "string" }
local KIND_LIST = { "int64", "float64", "bool", "date", "datetime", "string", "category" }

local function one_char(fn, what, v)
  if v == nil then return nil end
  if v == "tab" then return "\t" end
  if type(v) ~= "string" or #v ~= 1 or v == '"' or v == "\n" or v == "\r" then
    fail(fmt("%s: %s must be one character (not a quote or a line break), got %s", fn, what, checks.show(v)))
  end
  return v
end

local function count(fn, what, v, min)
  if v == nil then return nil end
  if math.type(v) ~= "integer" or v < min then
    fail(fmt("%s: %s must be an integer >= %d, got %s", fn, what, min, checks.show(v)))
  end
  return v
end

local function header_mode(fn, v)
  if v == nil or v == true then return 1 end
  if v == false then return 0 end
  if v == "auto" then return -1 end
  fail(fmt("%s: header must be true, false or \"auto\", got %s", fn, checks.show(v)))
end

-- Header fields as unique names (pandas: "Unnamed: k", then "a.1", "a.2" for repeats).
local function unique_names(fields)
  local names, seen = {}, {}
  for i, f in ipairs(fields) do
    local name = f ~= "" and f or ("Unnamed: " .. i)
    if seen[name] then
      local k = seen[name]
      while seen[name .. "." .. k] do k = k + 1 end
      seen[name] = k + 1
      name = name .. "." .. k
    end
    seen[name] = 1
    names[i] = name
  end
  return names
end

-- The field number (1-based) a usecols or dtypes key names.
local function field_of(fn, what, key, names)
  if math.type(key) == "integer" then
    if key < 0 and key >= -#names then key = #names + 1 + key end -- negative: from the end (-1 the last)
    if key < 1 or key > #names then
      fail(fmt("%s: %s: column %d is out of range 1..%d (or -%d..-1 from the end)", fn, what, key, #names, #names))
    end
    return key
  end
  for i, n in ipairs(names) do if n == key then return i end end
  checks.unknown(fn, what .. " column", tostring(key), names)
end

-- The fields to read (ascending, as pandas keeps the file's order), their kinds and names.
local function selection(fn, o, names)
  local use = {}
  if o.usecols ~= nil then
    if type(o.usecols) ~= "table" or #o.usecols == 0 then
      fail(fmt("%s: usecols must be a non-empty list of column names or numbers, got %s", fn, checks.show(o.usecols)))
    end
    for _, key in ipairs(o.usecols) do use[field_of(fn, "usecols", key, names)] = true end
  else
    for i = 1, #names do use[i] = true end
  end
  local given = {}
  if o.dtypes ~= nil then
    if type(o.dtypes) ~= "table" then fail(fmt("%s: dtypes must be a table {column = kind}, got %s", fn, type(o.dtypes))) end
    for key, kind in pairs(o.dtypes) do
      local i = field_of(fn, "dtypes", key, names)
      if not KINDS[kind] then checks.unknown(fn, "dtype for column '" .. names[i] .. "'", tostring(kind), KIND_LIST) end
      if not use[i] then fail(fmt("%s: dtypes names column '%s', which usecols leaves out", fn, names[i])) end
      given[i] = kind
    end
  end
  local sel, kinds, selnames, wanted = {}, {}, {}, {}
  for i = 1, #names do
    if use[i] then
      sel[#sel + 1] = i
      kinds[#sel] = given[i] and KINDS[given[i]] or "auto"
      selnames[#sel] = names[i]
      wanted[#sel] = given[i]
    end
  end
  return sel, kinds, selnames, wanted
end

local function empty_column(kind)
  kind = kind or "float64"
  local dtype = Column.KINDS[kind]
  local values = ml.zeros(0, { dtype = dtype })
  return Column.new(kind, values, nil, Column.is_text(kind) and ml._strings.new() or nil)
end

local function frame_of(chunk, names, wanted)
  local cols = {}
  for k, c in ipairs(chunk.columns) do
    local kind = wanted[k] == "category" and "category" or c.kind
    local col = Column.new(kind, c.values, c.valid, c.pool)
    if Column.is_text(kind) then col.mixed, col.mixed_kind = c.mixed, c.majority end
    cols[k] = col
  end
  return DataFrame.from_columns(names, cols)
end

local function report_of(chunk, warn)
  local report = { skipped = chunk and chunk.skipped or 0, bad_lines = chunk and chunk.bad or {} }
  if warn and report.skipped > 0 then
    for _, msg in ipairs(report.bad_lines) do io.stderr:write("data.read_csv: warning: skipped ", msg, "\n") end
    if report.skipped > #report.bad_lines then
      io.stderr:write(fmt("data.read_csv: warning: ... and %d more bad lines skipped\n", report.skipped - #report.bad_lines))
    end
  end
  return report
end

local function open(fn, path, o)
  if type(path) ~= "string" or path == "" then fail(fmt("%s: argument #1: expected a path, got %s", fn, checks.show(path))) end
  local on_bad = checks.one_of(fn, "on_bad_lines", o.on_bad_lines, { "error", "skip", "warn" }, "error")
  if o.na_values ~= nil and type(o.na_values) ~= "table" then
    fail(fmt("%s: na_values must be a list of strings, got %s", fn, checks.show(o.na_values)))
  end
  local decimal = o.decimal
  if decimal ~= nil and decimal ~= "." and decimal ~= "," then
    fail(fmt("%s: decimal must be '.' or ',', got %s", fn, checks.show(decimal)))
  end
  if decimal == "," and (o.delimiter == "," or o.delimiter == nil) then
    local d = one_char(fn, "delimiter", o.delimiter)
    if d == "," then fail(fn .. ": decimal ',' needs another delimiter than ','") end
  end
  local ok, r = pcall(C.open, path, {
    decimal = decimal,
    delimiter = one_char(fn, "delimiter", o.delimiter), comment = one_char(fn, "comment", o.comment),
    header = header_mode(fn, o.header), skiprows = count(fn, "skiprows", o.skiprows, 0) or 0,
    na_values = o.na_values, default_na = checks.boolean(fn, "keep_default_na", o.keep_default_na, true),
    on_bad = on_bad, streaming = o.chunksize ~= nil,
  })
  if not ok then fail(r) end
  local info = r:info()
  local names
  if o.names ~= nil then
    if type(o.names) ~= "table" or #o.names ~= #info.fields then
      fail(fmt("%s: names must list %d column names (the file has %d fields), got %s", fn, #info.fields,
        #info.fields, type(o.names) == "table" and (#o.names .. " names") or checks.show(o.names)))
    end
    names = unique_names(o.names)
  elseif info.header then names = unique_names(info.fields)
  else
    names = {}
    for i = 1, #info.fields do names[i] = tostring(i) end
  end
  local sel, kinds, selnames, wanted = selection(fn, o, names)
  r:select(sel, kinds, selnames)
  return r, selnames, wanted, on_bad == "warn"
end

local function next_chunk(r, maxrows)
  local ok, chunk = pcall(r.next, r, maxrows)
  if not ok then r:close() fail(chunk) end
  return chunk
end

--- data.read_csv(path, [opts]) -> frame, report: reads a CSV file (gzip too) into a data frame; opts: delimiter
-- (sniffed), header (true/false/"auto"), names, comment, skiprows, nrows, usecols, dtypes, na_values,
-- keep_default_na, on_bad_lines ("error"/"skip"/"warn"; report.skipped counts them), chunksize (an iterator),
-- decimal ("," reads "3,25" as 3.25, pandas' decimal)
function csv.read_csv(path, opts)
  local fn = "data.read_csv"
  if type(path) == "table" and opts == nil then -- data.read_csv{path, chunksize = N}
    opts = {}
    for k, v in pairs(path) do if k ~= 1 then opts[k] = v end end
    path = path[1]
  end
  local o = checks.options(fn, opts, READ_OPTIONS)
  local nrows = count(fn, "nrows", o.nrows, 0)
  local chunksize = count(fn, "chunksize", o.chunksize, 1)
  require("moonlab.track.run").note_data(path) -- a tracked run hashes the files it reads (those read before it opened too)
  local r, names, wanted, warn = open(fn, path, o)
  if chunksize then return csv.chunks(r, names, wanted, warn, chunksize, nrows) end
  local chunk = nrows ~= 0 and next_chunk(r, nrows or -1) or nil
  r:close()
  if not chunk then
    local cols = {}
    for k in ipairs(names) do cols[k] = empty_column(wanted[k]) end
    return DataFrame.from_columns(names, cols), report_of(nil)
  end
  return frame_of(chunk, names, wanted), report_of(chunk, warn)
end

-- The iterator of read_csv{chunksize = N}: frames of up to N rows, the reader
-- closed at the end (or when a for loop is left early: the 4th value closes it).
function csv.chunks(r, names, wanted, warn, chunksize, nrows)
  local left = nrows or math.huge
  local done = false
  local function step()
    if done or left <= 0 then done = true r:close() return nil end
    local chunk = next_chunk(r, math.min(chunksize, left))
    if not chunk then done = true r:close() return nil end
    left = left - chunk.nrows - chunk.skipped
    return frame_of(chunk, names, wanted), report_of(chunk, warn)
  end
  return step, nil, nil, r
end

local WRITE_OPTIONS = { "delimiter", "header", "na_rep" }

--- df:write_csv(path, [opts]) writes the frame as CSV (opts: delimiter ",", header true, na_rep ""); quoted where
-- needed, floats in their shortest exact form, dates ISO; data.read_csv reads the same frame back
function DataFrame:write_csv(path, opts)
  local fn = "df:write_csv"
  if not DataFrame.is(self) then fail(fn .. ": call it as df:write_csv(path)") end
  if type(path) ~= "string" or path == "" then fail(fmt("%s: argument #1: expected a path, got %s", fn, checks.show(path))) end
  local o = checks.options(fn, opts, WRITE_OPTIONS)
  local na_rep = o.na_rep or ""
  if type(na_rep) ~= "string" then fail(fmt("%s: na_rep must be a string, got %s", fn, checks.show(na_rep))) end
  local cols = {}
  for k, name in ipairs(self._names) do
    local col = self._cols[name]
    cols[k] = { kind = Column.is_text(col.kind) and "string" or col.kind, values = col.values:contiguous(),
      valid = col.valid and col.valid:contiguous() or nil, pool = col.pool }
  end
  local ok, err = pcall(C.write, path, self._names, cols, self._n, {
    delimiter = one_char(fn, "delimiter", o.delimiter) or ",", na_rep = na_rep,
    header = checks.boolean(fn, "header", o.header, true) })
  if not ok then fail(err) end
  return self
end

ml.doc(csv.read_csv, "data.read_csv(path, [opts]) -> frame, report — CSV (gzip too) into a data frame: delimiter "
  .. "sniffed, header, names, comment, skiprows, nrows, usecols, dtypes, na_values, keep_default_na, on_bad_lines "
  .. "(error/skip/warn, counted in report.skipped), chunksize (an iterator of frames), decimal (',' for \"3,25\")")
ml.doc(DataFrame.write_csv, "df:write_csv(path, [{delimiter, header, na_rep}]) — the frame as CSV, quoted where needed, "
  .. "floats exact and shortest, dates ISO; read_csv reads it back the same")

return { read_csv = csv.read_csv }
