-- data.read_csv and df:write_csv: pandas' reading of the well-formed fixtures
-- (scripts/gen_csv_fixtures.py), Python's float() for exact floats, the
-- hand-written messy files, every option, chunks, gzip and round trips.
local data = ml.data
local DIR = "tests/fixtures/csv/"
local PD = dofile(DIR .. "pandas.lua")

-- The kind pandas' dtype maps to (pandas makes an int column with missing cells float64; we keep int64).
local KIND = { int64 = "int64", float64 = "float64", bool = "bool", object = "string" }

local function cell(col, i)
  local v = col.values[i]
  if col.kind == "float64" then return v == v and v or nil end
  if col.kind == "string" or col.kind == "category" then return v ~= 0 and col.pool:get(v) or nil end
  if col.valid and not col.valid[i] then return nil end
  return v
end

local function check_against_pandas(df, file, kinds)
  local want = PD[file]
  T.eq(#df.columns, #want, file .. ": column count")
  for k, w in ipairs(want) do
    T.eq(df.columns[k], w.name, file .. ": column " .. k)
    local col = df:column(w.name)
    local kind = kinds and kinds[w.name] or KIND[w.dtype]
    T.eq(col.kind, kind, file .. ": kind of " .. w.name)
    T.eq(col:len(), w.n, file .. ": rows of " .. w.name)
    for i = 1, w.n do
      local got, exp = cell(col, i), w.values[i]
      if type(exp) == "number" and math.type(exp) == "float" and got then got = got + 0.0 end
      T.eq(got, exp, file .. ": " .. w.name .. "[" .. i .. "]")
    end
  end
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

local function frames_equal(a, b, what)
  T.eq(table.concat(a.columns, ","), table.concat(b.columns, ","), what .. ": names")
  T.eq(a.shape[1], b.shape[1], what .. ": rows")
  for _, name in ipairs(a.columns) do
    local ca, cb = a:column(name), b:column(name)
    T.eq(cb.kind, ca.kind, what .. ": kind of " .. name)
    for i = 1, a.shape[1] do
      local x, y = cell(ca, i), cell(cb, i)
      T.eq(y, x, what .. ": " .. name .. "[" .. i .. "]")
    end
  end
end

T.test("types.csv reads as pandas reads it (int, float, bool, date, datetime, text, int with NA)", function()
  local df, report = data.read_csv(DIR .. "types.csv")
  T.eq(report.skipped, 0)
  check_against_pandas(df, "types.csv", { day = "date", stamp = "datetime", count = "int64" })
  T.eq(df:column("count"):missing_count(), 8)
  T.eq(df:column("score"):missing_count(), 5)
end)

T.test("a gzip file reads transparently (magic bytes, not the name)", function()
  check_against_pandas(data.read_csv(DIR .. "types.csv.gz"), "types.csv", { day = "date", stamp = "datetime", count = "int64" })
  local copy = T.tmpname(".csv")
  write(copy, T.read_file(DIR .. "types.csv.gz"))
  T.eq(data.read_csv(copy).shape[1], 40)
end)

T.test("RFC 4180 quoting: commas, doubled quotes, newlines inside quotes, blanks kept", function()
  check_against_pandas(data.read_csv(DIR .. "quoted.csv"), "quoted.csv")
end)

T.test("the delimiter is sniffed: semicolon, tab, pipe", function()
  check_against_pandas(data.read_csv(DIR .. "semicolon.csv"), "semicolon.csv")
  check_against_pandas(data.read_csv(DIR .. "tab.tsv"), "tab.tsv")
  check_against_pandas(data.read_csv(DIR .. "pipe.txt"), "pipe.txt", { c = "date" })
  -- given explicitly, and "tab" as a name
  T.eq(data.read_csv(DIR .. "tab.tsv", { delimiter = "tab" }).shape[2], 3)
  T.eq(data.read_csv(DIR .. "semicolon.csv", { delimiter = "," }).shape[2], 1)
end)

T.test("floats are exactly Python's float() of the text", function()
  local df = data.read_csv(DIR .. "floats.csv")
  local x = df:column("x")
  T.eq(x.kind, "float64")
  for i, pair in ipairs(PD.python_float) do
    local got = x.values[i]
    T.eq(got, pair[2], "float('" .. pair[1] .. "')")
    if pair[2] == 0 then T.eq(1 / got, 1 / pair[2], "sign of zero in '" .. pair[1] .. "'") end
  end
end)

T.test("the messy CSV: a short row is an error naming file and line", function()
  T.raises(function() data.read_csv(DIR .. "messy.csv") end,
    "data.read_csv: tests/fixtures/csv/messy.csv:7: expected 4 fields, found 3")
end)

T.test("the messy CSV with on_bad_lines = 'skip': BOM, CRLF, quotes, missing cells, a bad number", function()
  local df, report = data.read_csv(DIR .. "messy.csv", { on_bad_lines = "skip" })
  T.eq(report.skipped, 1)
  T.eq(report.bad_lines[1], "tests/fixtures/csv/messy.csv:7: expected 4 fields, found 3")
  T.eq(table.concat(df.columns, ","), "id,name,amount,when") -- the BOM is not part of "id"
  T.eq(df.shape[1], 5)
  T.eq(table.concat(df:column("id"):to_list(), ","), "1,2,3,4,6")
  local name = df:column("name")
  T.eq(name:get(1), "Smith, John")
  T.eq(name:get(2), "multi\r\nline note")
  T.eq(name:get(3), nil)
  T.eq(name:get(4), 'O"Brien')
  -- "12x" makes amount a string column; the reader counts it as the one mixed cell
  local amount = df:column("amount")
  T.eq(amount.kind, "string")
  T.eq(amount.mixed, 1)
  T.eq(amount.mixed_kind, "float64")
  T.eq(amount:get(3), "12x")
  T.eq(amount:get(2), nil)
  local when = df:column("when")
  T.eq(when.kind, "date")
  T.eq(when:get(1), "2021-01-02")
  T.eq(when:get(4), nil)
  T.eq(when:get(5), "2021-01-07")
end)

T.test("on_bad_lines = 'warn' prints the skipped lines to stderr", function()
  local script = write(T.tmpname(".lua"),
    'local df, r = ml.data.read_csv("' .. DIR .. 'messy.csv", {on_bad_lines = "warn"}) print("rows", df.shape[1], r.skipped)')
  local p = io.popen(T.quote(T.BIN) .. " " .. T.quote(script) .. " 2>&1")
  local out = p:read("a")
  p:close()
  T.ok(out:find("data.read_csv: warning: skipped tests/fixtures/csv/messy.csv:7: expected 4 fields, found 3", 1, true), out)
  T.ok(out:find("rows\t5\t1", 1, true), out)
end)

T.test("a cell that does not read as its given dtype is an error with line and column", function()
  T.raises(function() data.read_csv(DIR .. "messy.csv", { on_bad_lines = "skip", dtypes = { amount = "float64" } }) end,
    "data.read_csv: tests/fixtures/csv/messy.csv:5:6: column 'amount': cannot read '12x' as float64 (the type given in dtypes)")
  local p = write(T.tmpname(".csv"), "a,b\n1,2\n3,4.5\n")
  T.raises(function() data.read_csv(p, { dtypes = { b = "int64" } }) end, ":3:3: column 'b': cannot read '4.5' as int64")
  T.raises(function() data.read_csv(p, { dtypes = { a = "date" } }) end, ":2:1: column 'a': cannot read '1' as date")
end)

T.test("file errors: unterminated quote, too many fields, missing file, directory, empty file", function()
  T.raises(function() data.read_csv(DIR .. "bad_quote.csv") end,
    "data.read_csv: tests/fixtures/csv/bad_quote.csv:3:3: unterminated quote")
  local p = write(T.tmpname(".csv"), "a,b\n1,2\n1,2,3\n")
  T.raises(function() data.read_csv(p) end, ":3: expected 2 fields, found 3")
  T.raises(function() data.read_csv("no/such/file.csv") end, "data.read_csv: cannot open 'no/such/file.csv': No such file or directory")
  T.raises(function() data.read_csv(T.tmpdir()) end, "it is a directory")
  T.raises(function() data.read_csv(write(T.tmpname(".csv"), "")) end, "the file is empty")
  T.raises(function() data.read_csv(write(T.tmpname(".csv"), "\n\n")) end, "the file is empty")
end)

T.test("options are checked: unknown names get a suggestion, bad values say what came", function()
  local f = DIR .. "types.csv"
  T.raises(function() data.read_csv(f, { delimeter = ";" }) end, "unknown option 'delimeter'")
  T.raises(function() data.read_csv(f, { delimeter = ";" }) end, "did you mean 'delimiter'?")
  T.raises(function() data.read_csv(f, { delimiter = ";;" }) end, "data.read_csv: delimiter must be one character")
  T.raises(function() data.read_csv(f, { nrows = -1 }) end, "data.read_csv: nrows must be an integer >= 0, got -1")
  T.raises(function() data.read_csv(f, { chunksize = 0 }) end, "chunksize must be an integer >= 1")
  T.raises(function() data.read_csv(f, { header = 1 }) end, "header must be true, false or \"auto\"")
  T.raises(function() data.read_csv(f, { on_bad_lines = "ignore" }) end, "on_bad_lines")
  T.raises(function() data.read_csv(f, { usecols = { "idd" } }) end, "unknown usecols column 'idd'")
  T.raises(function() data.read_csv(f, { usecols = { "idd" } }) end, "did you mean 'id'?")
  T.raises(function() data.read_csv(f, { usecols = { 9 } }) end, "usecols: column 9 is out of range 1..7")
  T.raises(function() data.read_csv(f, { dtypes = { id = "int32" } }) end, "unknown dtype for column 'id' 'int32'")
  T.raises(function() data.read_csv(f, { dtypes = { nope = "int64" } }) end, "unknown dtypes column 'nope'")
  T.raises(function() data.read_csv(f, { usecols = { "id" }, dtypes = { name = "string" } }) end, "which usecols leaves out")
  T.raises(function() data.read_csv(f, { names = { "a" } }) end, "names must list 7 column names")
  T.raises(function() data.read_csv(42) end, "data.read_csv: argument #1: expected a path")
end)

T.test("usecols by name and number keep the file's order; nrows; names", function()
  local df = data.read_csv(DIR .. "types.csv", { usecols = { "name", 1, "score" }, nrows = 5 })
  T.eq(table.concat(df.columns, ","), "id,score,name")
  T.eq(df.shape[1], 5)
  T.eq(df:column("name"):get(5), "beta")
  T.eq(data.read_csv(DIR .. "types.csv", { nrows = 0 }).shape[1], 0)
  local named = data.read_csv(DIR .. "pipe.txt", { names = { "k", "v", "d" } })
  T.eq(table.concat(named.columns, ","), "k,v,d")
  T.eq(named.shape[1], 2)
end)

T.test("comment lines, blank lines and skiprows", function()
  local df = data.read_csv(DIR .. "comments.csv", { comment = "#", skiprows = 3 })
  T.eq(table.concat(df.columns, ","), "x,y,z")
  T.eq(table.concat(df:column("z"):to_list(), ","), "3,6,9")
  T.raises(function() data.read_csv(DIR .. "comments.csv", { comment = "#" }) end, "comments.csv:4: expected 1 fields, found 3")
end)

T.test("header = false names columns 1..n; header = 'auto' looks at the first row", function()
  local p = write(T.tmpname(".csv"), "1,x,2.5\n2,y,3.5\n")
  local df = data.read_csv(p, { header = false })
  T.eq(table.concat(df.columns, ","), "1,2,3")
  T.eq(df.shape[1], 2)
  T.eq(df:column("1").kind, "int64")
  T.eq(data.read_csv(p, { header = "auto" }).shape[1], 2) -- numbers in row 1: data
  T.eq(data.read_csv(DIR .. "pipe.txt", { header = "auto" }).shape[1], 2) -- all text: a header
  T.eq(data.read_csv(p).shape[1], 1) -- the default takes row 1 as the header, as pandas
end)

T.test("a header without rows gives a frame of 0 rows (float64 unless dtypes say otherwise)", function()
  local p = write(T.tmpname(".csv"), "a,b\r\n")
  local df = data.read_csv(p, { dtypes = { b = "string" } })
  T.eq(df.shape[1], 0)
  T.eq(df.dtypes.a, "float64")
  T.eq(df.dtypes.b, "string")
end)

T.test("header names: empty ones become 'Unnamed: k', repeats get .1, .2", function()
  local p = write(T.tmpname(".csv"), "a,,a,a\n1,2,3,4\n")
  T.eq(table.concat(data.read_csv(p).columns, ","), "a,Unnamed: 2,a.1,a.2")
end)

T.test("missing cells: the default NA strings, na_values, keep_default_na = false", function()
  local p = write(T.tmpname(".csv"), "a,b\nNA,x\nnull,N/A\n3,-\n,NaN\n")
  local df = data.read_csv(p)
  T.eq(df:column("a").kind, "int64")
  T.eq(df:column("a"):missing_count(), 3)
  T.eq(df:column("b"):missing_count(), 2)
  local df2 = data.read_csv(p, { na_values = { "-" } })
  T.eq(df2:column("b"):missing_count(), 3)
  local df3 = data.read_csv(p, { keep_default_na = false })
  T.eq(df3:column("a").kind, "string")
  T.eq(df3:column("a"):get(1), "NA")
  T.eq(df3:column("a"):missing_count(), 1) -- the empty cell is always missing
end)

T.test("kind inference: ints with a float become float64, dates with a time become datetime, bad dates text", function()
  local p = write(T.tmpname(".csv"),
    "i,d,t,b,s\n1,2021-01-01,2021-02-28,true,x\n2.5,2021-01-02 10:30,2021-02-30,FALSE,1\n3,2021-01-03T01:02:03+02:00,2021-03-01,,2\n")
  local df = data.read_csv(p)
  T.eq(df.dtypes.i, "float64")
  T.eq(df.dtypes.d, "datetime")
  T.eq(df.dtypes.t, "string") -- 2021-02-30 is no date
  T.eq(df.dtypes.b, "bool")
  T.eq(df:column("b"):missing_count(), 1)
  T.eq(df:column("d").values[3], 1609635723 - 7200)
  T.eq(df:column("d").values[2], 1609583400)
  T.eq(df.dtypes.s, "string")
  T.eq(df:column("s").mixed, 1) -- one text cell among numbers
end)

T.test("dtypes given: category, string over numbers, float64 over ints", function()
  local df = data.read_csv(DIR .. "types.csv", { dtypes = { name = "category", id = "string", count = "float64" } })
  T.eq(df.dtypes.name, "category")
  T.eq(df.dtypes.id, "string")
  T.eq(df:column("id"):get(3), "3")
  T.eq(df.dtypes.count, "float64")
  T.eq(df:column("count"):missing_count(), 8)
end)

-- A file big enough for several stream buffers (1 MB) and two threads, with
-- kinds that change only in the second half (an upgrade and a string pass).
local function big_file(n)
  local lines = { "k,f,up,late,s" }
  for i = 1, n do
    local up = i == n - 3 and "0.5" or tostring(i % 1000)
    local late = i == n - 1 and "oops" or tostring(i * 3)
    lines[#lines + 1] = string.format("%d,%.3f,%s,%s,w%d", i, i / 7, up, late, i % 97)
  end
  return table.concat(lines, "\n") .. "\n"
end

T.test("two threads: kinds merge across ranges (int -> float, int -> string), strings merge pools", function()
  local n = 60000
  local p = write(T.tmpname(".csv"), big_file(n))
  local before = ml.threads()
  ml.threads(2)
  local ok, df = pcall(data.read_csv, p)
  ml.threads(before)
  assert(ok, df)
  T.eq(df.shape[1], n)
  T.eq(df.dtypes.up, "float64")
  T.eq(df:column("up").values[n - 3], 0.5)
  T.eq(df:column("up").values[n], n % 1000 + 0.0)
  T.eq(df.dtypes.late, "string")
  T.eq(df:column("late"):get(n - 1), "oops")
  T.eq(df:column("late"):get(5), "15")
  T.eq(df:column("late").mixed, 1)
  T.eq(df:column("late").mixed_kind, "int64")
  local s = df:column("s")
  T.eq(#s.pool, 97)
  T.eq(s:get(1), "w1")
  T.eq(s:get(n), "w" .. (n % 97))
  T.eq(df:column("f").values[n], tonumber(string.format("%.3f", n / 7)))
  local one = data.read_csv(p) -- the same on one thread
  frames_equal(df, one, "1 vs 2 threads")
end)

T.test("chunksize: an iterator of frames over the file, plain and gzip, kinds per chunk", function()
  local n = 60000
  local p = write(T.tmpname(".csv"), big_file(n))
  local whole = data.read_csv(p)
  local gz = T.tmpname(".csv.gz")
  whole:write_csv(gz)
  for _, path in ipairs({ p, gz }) do
    local sizes, seen, kinds = {}, 0, {}
    for chunk, report in data.read_csv(path, { chunksize = 25000 }) do
      T.eq(report.skipped, 0)
      sizes[#sizes + 1] = chunk.shape[1]
      T.eq(chunk:column("k").values[1], seen + 1)
      T.eq(chunk:column("s"):get(chunk.shape[1]), whole:column("s"):get(seen + chunk.shape[1]))
      seen = seen + chunk.shape[1]
      kinds[#kinds + 1] = chunk.dtypes.late
    end
    T.eq(table.concat(sizes, ","), "25000,25000,10000")
    T.eq(table.concat(kinds, ","), "int64,int64,string") -- inferred per chunk, as pandas
  end
  -- the table form, nrows with chunks, and errors keep their file line across chunks
  local rows = 0
  for chunk in data.read_csv{ p, chunksize = 7000, nrows = 20000 } do rows = rows + chunk.shape[1] end
  T.eq(rows, 20000)
  local bad = write(T.tmpname(".csv"), big_file(30000) .. "1,2\n")
  T.raises(function() for _ in data.read_csv(bad, { chunksize = 4000 }) do end end, ":30002: expected 5 fields, found 2")
  local kept = 0
  for chunk, report in data.read_csv(bad, { chunksize = 4000, on_bad_lines = "skip" }) do
    kept = kept + chunk.shape[1]
    if report.skipped > 0 then T.ok(report.bad_lines[1]:find(":30002: expected 5 fields, found 2", 1, true)) end
  end
  T.eq(kept, 30000)
  -- leaving the loop early closes the reader (the 4th value of the iterator)
  for chunk in data.read_csv(p, { chunksize = 1000 }) do break end
end)

T.test("write_csv then read_csv gives the same frame: every kind, quoting, missing cells, exact floats", function()
  local src = data.read_csv(DIR .. "types.csv")
  local p = T.tmpname(".csv")
  src:write_csv(p)
  frames_equal(src, data.read_csv(p), "types.csv round trip")
  local q = data.read_csv(DIR .. "quoted.csv")
  q:write_csv(p)
  frames_equal(q, data.read_csv(p), "quoted.csv round trip")
  local m = data.read_csv(DIR .. "messy.csv", { on_bad_lines = "skip" })
  m:write_csv(p, { delimiter = ";" })
  frames_equal(m, data.read_csv(p), "messy.csv round trip (;)")
  local floats = data.read_csv(DIR .. "floats.csv")
  floats:write_csv(p)
  frames_equal(floats, data.read_csv(p), "floats round trip")
  -- a frame built in Lua: tricky strings, floats that look like ints, bool with missing
  local df = data.DataFrame({ s = { " lead", "trail ", 'q"uote', "semi;colon", "a,b", "line\nbreak" },
    f = { 1.0, 0.1, 1 / 3, 1e300, -2.5e-310, 123456789.0 }, b = { true, false, nil, true, true, false } },
    { columns = { "s", "f", "b" } })
  df:write_csv(p)
  local text = T.read_file(p)
  T.ok(text:find('" lead"', 1, true) and text:find('"q""uote"', 1, true) and text:find('"a,b"', 1, true), text)
  T.ok(text:find("\n1.0,", 1, true) == nil and text:find(",1.0,", 1, true), text) -- floats keep their ".0"
  frames_equal(df, data.read_csv(p), "Lua frame round trip")
  df:write_csv(p, { header = false, na_rep = "NA" })
  frames_equal(df, data.read_csv(p, { header = false, names = { "s", "f", "b" } }), "no header, NA")
end)

T.test("write_csv: a one-column frame with missing cells keeps its rows; options checked", function()
  local df = data.DataFrame({ a = { "x", nil, "y" } })
  local p = T.tmpname(".csv")
  df:write_csv(p)
  T.eq(data.read_csv(p).shape[1], 3)
  T.raises(function() df:write_csv(p, { sep = ";" }) end, "df:write_csv: unknown option 'sep'")
  T.raises(function() df:write_csv("") end, "df:write_csv: argument #1: expected a path")
  T.raises(function() df:write_csv("no/such/dir/x.csv") end, "df:write_csv: ")
end)

T.test("cells: classify and the shortest exact float text", function()
  local C = ml._csv
  T.eq(C.classify("12"), "int64")
  T.eq(C.classify(" -12 "), "int64")
  T.eq(C.classify("1e5"), "float64")
  T.eq(C.classify("0x10"), "string")
  T.eq(C.classify("TRUE"), "bool")
  T.eq(C.classify("2020-02-29"), "date")
  T.eq(C.classify("2019-02-29"), "string")
  T.eq(C.classify("2020-02-29T23:59"), "datetime")
  T.eq(C.classify("2020-02-29T23:59:60"), "string")
  T.eq(C.classify("2020-02-29 23:59:59.123+05:30"), "datetime")
  T.eq(C.classify("99999999999999999999"), "float64")
  T.eq(C.format_double(0.1), "0.1")
  T.eq(C.format_double(1 / 3), "0.3333333333333333")
  T.eq(C.format_double(3), "3.0")
  T.eq(C.format_double(1e300), "1e+300")
  T.eq(C.format_double(-math.huge), "-inf")
  for _, v in ipairs({ 0.1, 1 / 3, 2 ^ 0.5, 5e-324, 1.7976931348623157e308, 0.30000000000000004 }) do
    T.eq(tonumber(C.format_double(v)), v)
  end
end)
