-- The data frame's core (data/frame.lua, data/column.lua): building, access, rows, tensors, printing.
local data = ml.data
local DataFrame, Column = data.DataFrame, data.Column

local function sample()
  return DataFrame{ age = { 31, 45, nil, n = 3 }, name = { "ann", "bob", "cy" }, w = { 1.5, 0 / 0, 2 },
    ok = { true, false, true } }
end

T.test("frame: built from columns, kinds inferred, missing kept", function()
  local df = sample()
  T.eq(df.shape[1], 3); T.eq(df.shape[2], 4); T.eq(#df, 3)
  T.eq(table.concat(df.columns, ","), "age,name,ok,w")
  local d = df.dtypes
  T.eq(d.age, "int64"); T.eq(d.name, "string"); T.eq(d.ok, "bool"); T.eq(d.w, "float64")
  T.eq(df:column("age"):missing_count(), 1)
  T.eq(df:column("w"):missing_count(), 1)
  T.eq(df:column("age"):get(3), nil); T.eq(df:column("name"):get(2), "bob")
  T.ok(ml.is_tensor(df.age) and df.age:dtype() == "int64")
  T.ok(getmetatable(df.name) == Column)
  T.ok(DataFrame.is(df) and not DataFrame.is({}))
end)

T.test("frame: built from rows, the union of keys", function()
  local df = DataFrame{ { a = 1, b = "x" }, { a = 2.5, c = true } }
  T.eq(table.concat(df.columns, ","), "a,b,c")
  T.eq(df.dtypes.a, "float64"); T.eq(df:column("b"):get(2), nil); T.eq(df:column("c"):get(2), true)
end)

T.test("frame: column order, select, take, head, tail, with_column", function()
  local df = DataFrame({ b = { 1, 2, 3 }, a = { "x", "y", "z" } }, { columns = { "b", "a" } })
  T.eq(table.concat(df.columns, ","), "b,a")
  local s = df[{ "a" }]
  T.eq(s.shape[2], 1)
  local t = df:take({ 3, 1 })
  T.eq(t:column("a"):get(1), "z"); T.eq(t.b[2], 1)
  T.eq(df:head(2).shape[1], 2); T.eq(df:tail(1):column("a"):get(1), "z"); T.eq(df:head(10).shape[1], 3)
  local w = df:with_column("c", ml.tensor({ 1.5, 2.5, 3.5 }))
  T.eq(w.shape[2], 3); T.eq(df.shape[2], 2); T.eq(w.dtypes.c, "float64")
  local r = df:with_column("b", { 9, 8, 7 })
  T.eq(r.b[1], 9); T.eq(df.b[1], 1)
end)

T.test("frame: to_tensor, missing as NaN, text refused", function()
  local df = sample()
  local x = df:to_tensor({ "age", "w" })
  T.eq(x:dtype(), "float64"); T.eq(x:size(1), 3); T.eq(x:size(2), 2)
  T.ok(x[3][1] ~= x[3][1]); T.eq(x[1][1], 31.0); T.ok(x[2][2] ~= x[2][2])
  local all = df:to_tensor("float32")
  T.eq(all:dtype(), "float32"); T.eq(all:size(2), 3)
  T.raises(function() df:to_tensor({ "name" }) end, "df:to_tensor: column 'name' holds strings")
  T.raises(function() df:to_tensor({ "age" }, "int64") end, "missing cells")
end)

T.test("frame: dates and datetimes as int64 seconds", function()
  local c = Column.from_list({ "2024-02-29", nil, "1969-12-31", n = 3 }, nil, "date")
  T.eq(c.values[1], 1709164800); T.eq(c.values[3], -86400); T.eq(c:get(1), "2024-02-29"); T.eq(c:get(2), nil)
  local t = Column.from_list({ "2024-01-02T03:04:05Z", "2024-01-02 03:04:05+01:00" }, nil, "datetime")
  T.eq(t.values[1] - t.values[2], 3600); T.eq(t:get(1), "2024-01-02 03:04:05")
  T.raises(function() Column.from_list({ "2023-02-30" }, nil, "date") end, "not an ISO date")
  for _, days in ipairs({ -719468, -1, 0, 59, 10957, 2932896 }) do
    local y, m, d = Column.civil(days)
    T.eq(Column.days_from_civil(y, m, d), days)
  end
end)

T.test("frame: clear errors", function()
  local df = sample()
  T.raises(function() df:column("agee") end, "df:column: no column 'agee' (did you mean 'age'?)")
  T.raises(function() DataFrame{ a = { 1, 2 }, b = { 1 } } end, "column 'b' has 1 rows, but column 'a' has 2")
  T.raises(function() DataFrame{ a = { 1, "x" } } end, "column 'a': element 2 is a string, but earlier elements are int64")
  T.raises(function() DataFrame{ a = { 1 } , b = ml.zeros(2, 2) } end, "is a 2-D tensor")
  T.raises(function() DataFrame({ a = { 1 } }, { colums = { "a" } }) end, "did you mean 'columns'?")
  T.raises(function() Column.new("text", ml.zeros(2)) end, "unknown column kind 'text'")
  T.raises(function() Column.new("int64", ml.zeros(2)) end, "holds int64 values, got float32")
  T.raises(function() df:take({ 4 }) end, "df:take")
end)

T.test("frame: printing aligns and elides the middle of long frames", function()
  local s = tostring(sample())
  T.ok(s:find("<NA>", 1, true) and s:find("NaN", 1, true) and s:find("[3 rows x 4 columns]", 1, true))
  local big = DataFrame{ x = ml.arange(100):double() }
  local b = tostring(big)
  T.ok(b:find("...", 1, true) and b:find("99.0", 1, true) and not b:find("50.0", 1, true))
end)

T.test("df.name = values sets or adds a column in place (pandas' df['name'] = ...)", function()
  local df = ml.data.DataFrame { a = { 1, 2, 3 } }
  df.b = ml.tensor { 4, 5, 6 }
  df["c"] = { "x", "y", "z" }
  df.a = ml.tensor { 7.5, 8, 9 }
  T.eq(table.concat(df.columns, ","), "a,b,c")
  T.all_near(df.a, ml.tensor { 7.5, 8, 9 }, 0)
  T.eq(df:column("c"):get(2), "y")
  T.raises(function() df.shape = ml.tensor { 1, 2, 3 } end, "'shape' is a frame method or field")
  T.raises(function() df.b = nil end, "nil does not remove a column")
  T.raises(function() df.d = ml.tensor { 1, 2 } end, "has 2 rows")
end)
