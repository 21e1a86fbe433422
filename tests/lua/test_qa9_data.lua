-- QA of issue 9's data area (read_csv, write_csv, frames, profile/validate):
-- regression tests for the problems found by using it as a pandas user would.
local data = ml.data

T.test("qa9: int64 extremes survive read_csv, get, to_list and printing", function()
  local p = T.tmpname(".csv")
  T.write_file(p, "x\n9223372036854775807\n-9223372036854775808\n9007199254740993\n")
  local df = data.read_csv(p)
  local c = df:column("x")
  T.eq(c.kind, "int64")
  T.eq(c:get(1), math.maxinteger)
  T.eq(c:get(2), math.mininteger)
  T.eq(c:get(3), 9007199254740993)
  T.eq(c:to_list()[1], math.maxinteger)
  local s = tostring(df)
  T.ok(s:find("9223372036854775807", 1, true), "printed frame shows 2^63-1: " .. s)
  T.ok(s:find("9007199254740993", 1, true), "printed frame shows 2^53+1: " .. s)
  local d2 = data.DataFrame{ x = { math.maxinteger, 1 } }
  T.eq(d2:column("x"):get(1), math.maxinteger)
end)

T.test("qa9: a truncated gzip file is an error, not a silently shorter frame", function()
  local full, cut = T.tmpname(".csv.gz"), T.tmpname(".csv.gz")
  local rows = { "a,b" }
  for i = 1, 20000 do rows[#rows + 1] = i .. "," .. (i * 7 % 1000) end
  data.DataFrame{ a = ml.arange(1, 20001):to("int64") }:write_csv(full)
  local bytes = T.read_file(full)
  T.write_file(cut, bytes:sub(1, #bytes // 2))
  T.raises(function() data.read_csv(cut) end, "truncated")
  T.raises(function() for _ in data.read_csv(cut, { chunksize = 1000 }) do end end, "truncated")
  T.eq(data.read_csv(full).shape[1], 20000)
end)

T.test("qa9: write_csv gives subnormal floats their shortest text, as pandas", function()
  local p = T.tmpname(".csv")
  data.DataFrame{ x = { 5e-324, 1e-310, 2.2250738585072014e-308, 0.1 } }:write_csv(p)
  T.eq(T.read_file(p), "x\n5e-324\n1e-310\n2.2250738585072014e-308\n0.1\n")
  local back = data.read_csv(p)
  T.eq(back.x[1], 5e-324)
  T.eq(back.x[2], 1e-310)
end)

T.test("qa9: data.concat's errors name data.concat", function()
  T.raises(function() data.concat{ data.DataFrame{ x = { 1 } }, data.DataFrame{ x = { "a" } } } end,
    "data.concat: column 'x' mixes kinds")
end)

T.test("qa9: load_wine's features are all float64, as scikit-learn's", function()
  local ok, df = pcall(data.load_wine)
  if not ok then return end -- python3-sklearn not installed
  for _, c in ipairs(df.columns) do
    T.eq(df:column(c).kind, c == "target" and "int64" or "float64", "kind of " .. c)
  end
  -- scikit-learn: load_wine().data.sum() = 159975.295999 (magnesium and proline included)
  local s = 0
  for _, c in ipairs(df.columns) do if c ~= "target" then s = s + df:column(c).values:sum():item() end end
  T.near(s, 159975.295999, 1e-6)
end)

T.test("qa9: a file with lone-CR line ends is an error, not one glued header", function()
  local p = T.tmpname(".csv")
  T.write_file(p, "a,b\r1,2\r3,4\r")
  T.raises(function() data.read_csv(p) end, ":1:4: a line break that is a lone CR")
  T.raises(function() for _ in data.read_csv(p, { chunksize = 1 }) do end end, "lone CR")
  -- CRLF and quoted CRs still read
  T.write_file(p, 'a,b\r\n"x\ry",2\r\n')
  local df = data.read_csv(p)
  T.eq(df:column("a"):get(1), "x\ry")
  T.eq(df.b[1], 2)
end)

T.test("qa9: a malformed Lua pattern is reported by col:contains / col:replace with the pattern", function()
  local c = data.DataFrame{ s = { "a", "b" } }:column("s")
  T.raises(function() c:contains("[") end, "col:contains: pattern '[': malformed pattern (missing ']')")
  T.raises(function() c:contains("(") end, "col:contains: pattern '(': unfinished capture")
  T.raises(function() c:replace("%", "x", { plain = false }) end, "col:replace: pattern '%'")
  T.eq(c:replace("(a)", "%1%1", { plain = false }):to_list()[1], "aa")
end)

T.test("qa9: validate compares int64 columns exactly (2^63-1 bounds from schema_of)", function()
  local d = data.DataFrame{ x = { math.maxinteger, 1, 0 } }
  local s = data.schema_of(d:head(2))
  local r = data.validate(d:head(2), s)
  T.ok(r.ok, r.summary)
  r = data.validate(d, { x = { allowed = { math.maxinteger, 1 }, min = 1, max = math.maxinteger } })
  T.eq(r.failed_checks, 2)
  T.eq(r.violations[1].rows[1], 3)
  T.eq(r.violations[2].rows[1], 3)
  T.ok(data.validate(data.DataFrame{ x = { math.mininteger } }, { x = { min = math.mininteger } }).ok)
end)

T.test("qa9: an unknown type in a validate schema is a schema error with a suggestion", function()
  local d = data.DataFrame{ x = { 1.5 } }
  T.raises(function() data.validate(d, { x = { type = "float" } }) end,
    "data.validate: unknown type for column 'x' 'float'")
  T.raises(function() data.validate(d, { x = { type = { "int" } } }) end, "did you mean 'int64'?")
  T.ok(data.validate(d, { x = { type = { "number", "string" } } }).ok, "number inside a list of kinds")
  T.ok(not data.validate(d, { x = { type = "int64" } }).ok)
end)

T.test("qa9: read_csv{decimal = ','} reads European semicolon files (pandas' decimal)", function()
  local p = T.tmpname(".csv")
  T.write_file(p, "x;y;s\n1,5;2;a,b\n3,25;4;c\n-1e3;5;d,e\n")
  local df = data.read_csv(p, { decimal = "," })
  T.eq(df:column("x").kind, "float64")
  T.eq(df.x[1], 1.5)
  T.eq(df.x[2], 3.25)
  T.eq(df.x[3], -1000.0)
  T.eq(df:column("y").kind, "int64")
  T.eq(df:column("s"):get(1), "a,b", "a string cell keeps its comma")
  local n, first = 0, nil
  for c in data.read_csv(p, { decimal = ",", chunksize = 2 }) do n = n + c.shape[1]; first = first or c.x[2] end
  T.eq(n, 3)
  T.eq(first, 3.25)
  T.eq(data.read_csv(p, { decimal = ",", dtypes = { x = "float64" } }).x[1], 1.5)
  T.eq(data.read_csv(p):column("x").kind, "string", "without decimal the cells stay text")
  T.raises(function() data.read_csv(p, { decimal = ",", delimiter = "," }) end, "decimal ',' needs another delimiter")
  T.raises(function() data.read_csv(p, { decimal = "x" }) end, "decimal must be '.' or ','")
end)

T.test("qa9: write_csv's environment errors start with df:write_csv (no 'moonlab:' prefix)", function()
  local ok, err = pcall(function() data.DataFrame{ a = { 1 } }:write_csv("/nonexistent-qa9/dir/x.csv") end)
  T.ok(not ok)
  T.ok(err:find(": df:write_csv: cannot create '/nonexistent-qa9/dir/x.csv': No such file or directory", 1, true), err)
  T.ok(not err:find("moonlab: df:", 1, true), err)
end)

T.test("qa9: profile's min/max of an int64 column are exact at the extremes", function()
  local d = data.DataFrame{ x = { math.maxinteger, 1, 9007199254740993 } }
  local e = data.profile(d).by_name.x
  T.eq(e.min, 1)
  T.eq(e.max, math.maxinteger)
  T.eq(data.profile(data.DataFrame{ x = { math.mininteger, 0 } }).by_name.x.min, math.mininteger)
  T.eq(data.profile(data.DataFrame{ x = { 1.5, 2.0 } }).by_name.x.max, 2.0)
end)

T.test("qa9: data.DataFrame refuses a table mixing rows and named columns (a column was dropped silently)", function()
  T.raises(function() data.DataFrame{ a = { 1, 2 }, [1] = { 3 } } end, "mixes a list of rows with the key 'a'")
  local df = data.DataFrame{ { a = 1, b = "x" }, { a = 2 } }
  T.eq(df.shape[1], 2)
  T.eq(df:column("b"):get(2), nil)
end)

T.test("qa9: sample{frac} rounds n as pandas (Python's round, halves to even)", function()
  local d = data.DataFrame{ x = { 1, 2, 3, 4, 5 } }
  -- pandas: [len(d.sample(frac=f)) for f in [.5, .7, .1, .3, 1]] == [2, 4, 0, 2, 5]
  for f, want in pairs{ [0.5] = 2, [0.7] = 4, [0.1] = 0, [0.3] = 2, [1] = 5 } do
    T.eq(d:sample{ frac = f, seed = 1 }.shape[1], want, "frac " .. f)
  end
  T.eq(d:sample{ frac = 2, replace = true, seed = 1 }.shape[1], 10)
end)

T.test("qa9: usecols and dtypes take negative field numbers from the end (DESIGN's index rule)", function()
  local p = T.tmpname(".csv")
  T.write_file(p, "a,b,c\n1,x,3\n4,y,6\n")
  local df = data.read_csv(p, { usecols = { -1, 1 } })
  T.eq(table.concat(df.columns, ","), "a,c")
  T.eq(df.c[2], 6)
  T.eq(data.read_csv(p, { dtypes = { [-1] = "float64" } }):column("c").kind, "float64")
  T.raises(function() data.read_csv(p, { usecols = { -4 } }) end, "column -4 is out of range 1..3 (or -3..-1 from the end)")
  T.raises(function() data.read_csv(p, { usecols = { 0 } }) end, "column 0 is out of range")
end)
