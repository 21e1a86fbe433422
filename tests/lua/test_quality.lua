-- data.profile, data.validate and data.schema_of: the profile of
-- tests/fixtures/csv/quality.csv against pandas / numpy (quality.lua, written
-- by scripts/gen_csv_fixtures.py), and every check of validate.
local data = ml.data
local DIR = "tests/fixtures/csv/"
local REF = dofile(DIR .. "quality.lua")

T.test("profile matches pandas and numpy: unique, missing, IQR and z outliers, duplicated rows", function()
  local df = data.read_csv(DIR .. "quality.csv")
  local p = data.profile(df)
  T.eq(p.rows, REF.rows)
  T.eq(p.duplicated_rows, REF.duplicated)
  for name, want in pairs(REF.columns) do
    local e = p.by_name[name]
    T.eq(e.unique, want.unique, name .. " unique")
    T.eq(e.missing, want.missing, name .. " missing")
    T.near(e.missing_share, want.missing / REF.rows, 1e-12)
    if want.iqr then
      T.eq(e.outliers_iqr, want.iqr, name .. " IQR outliers")
      T.eq(e.outliers_z, want.z, name .. " z outliers")
      T.eq(e.min + 0.0, want.min, name .. " min")
      T.eq(e.max + 0.0, want.max, name .. " max")
    end
  end
  T.ok(p.by_name.const.constant)
  T.ok(not p.by_name.const.near_constant)
  T.ok(p.by_name.near.near_constant) -- 294 of 303 present cells are "a"
  T.ok(not p.by_name.cat.constant and not p.by_name.cat.near_constant)
  T.eq(p.columns[1].name, "x")
end)

T.test("profile reports mixed-kind cells found while parsing, and prints a table", function()
  local df = data.read_csv(DIR .. "messy.csv", { on_bad_lines = "skip" })
  local p = data.profile(df)
  T.eq(p.by_name.amount.mixed, 1)
  T.eq(p.by_name.amount.mixed_kind, "float64")
  T.eq(p.by_name.id.mixed, 0)
  local text = tostring(p)
  T.ok(text:find("data.profile: 5 rows x 4 columns, 0 duplicated rows", 1, true), text)
  T.ok(text:find("1 (not float64)", 1, true), text)
  T.ok(text:find("missing %", 1, true), text)
  T.ok(text:find("2021-01-02", 1, true), text)
end)

T.test("profile of frames built in Lua: duplicates over several kinds, missing cells equal each other", function()
  local df = data.DataFrame({ a = { 1, 1, 2, nil, nil, 1 }, b = { "x", "x", "x", "y", "y", "z" },
    c = { 1.5, 1.5, 0 / 0, 2, 2, 1.5 } }, { columns = { "a", "b", "c" } })
  local p = data.profile(df)
  T.eq(p.duplicated_rows, 2) -- row 2 = row 1, row 5 = row 4 (missing = missing, as pandas)
  T.eq(p.by_name.a.unique, 2)
  T.eq(p.by_name.c.unique, 2)
  T.eq(p.by_name.c.missing, 1)
  local empty = data.profile(data.DataFrame({ a = {} }))
  T.eq(empty.rows, 0)
  T.eq(empty.duplicated_rows, 0)
  T.raises(function() data.profile({}) end, "data.profile: argument #1: expected a data frame")
  T.raises(function() data.profile(df, { near = 0.9 }) end, "unknown option 'near'")
end)

T.test("validate: every check, with row numbers and counts", function()
  local df = data.DataFrame({ age = { 31, -2, 150, nil, 40 }, name = { "Ann", "bob", "Cy", "Ann", "Dee" },
    color = { "red", "blue", "red", "green", nil, n = 5 } }, { columns = { "age", "name", "color" } })
  df = df:with_column("day", data.Column.from_list({ "2021-01-01", "2019-05-05", "2021-06-01", "2021-02-02", "2022-01-01" }, 5, "date"))
  local r = data.validate(df, {
    age = { type = "int64", min = 0, max = 120, not_null = true },
    name = { pattern = "^%u%l+$", unique = true },
    color = { allowed = { "red", "green" } },
    day = { min = "2020-01-01", max = "2021-12-31" },
  })
  T.ok(not r.ok)
  local by = {}
  for _, v in ipairs(r.violations) do by[v.column .. "." .. v.check] = v end
  T.eq(table.concat(by["age.min"].rows, ","), "2")
  T.eq(table.concat(by["age.max"].rows, ","), "3")
  T.eq(table.concat(by["age.not_null"].rows, ","), "4")
  T.eq(table.concat(by["name.pattern"].rows, ","), "2")
  T.eq(table.concat(by["name.unique"].rows, ","), "1,4")
  T.eq(table.concat(by["color.allowed"].rows, ","), "2") -- a missing cell is not_null's business
  T.eq(table.concat(by["day.min"].rows, ","), "2")
  T.eq(table.concat(by["day.max"].rows, ","), "5")
  T.eq(r.failed_checks, 8)
  T.ok(r.summary:find("age: 1 row below min 0 (rows 2)", 1, true), r.summary)
  -- a wrong type is one violation and skips that column's other checks
  local t = data.validate(df, { name = { type = "int64", min = 0 }, age = { type = "number" } })
  T.eq(#t.violations, 1)
  T.eq(t.violations[1].message, "type string, expected int64")
  -- a missing column, unless optional
  T.eq(data.validate(df, { zip = {} }).violations[1].check, "present")
  T.ok(data.validate(df, { zip = { optional = true } }).ok)
end)

T.test("validate: raise = true is one error listing the violations; capped row lists", function()
  local df = data.DataFrame({ x = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 } })
  T.raises(function() data.validate(df, { x = { max = 3 } }, { raise = true }) end,
    "data.validate: 1 failed checks in 1 columns (9 cells):\n  x: 9 rows above max 3 (rows 4, 5, 6, 7, 8, 9, 10, 11, 12)")
  local r = data.validate(df, { x = { max = 3 } }, { max_rows = 2 })
  T.eq(#r.violations[1].rows, 2)
  T.eq(r.violations[1].count, 9)
  T.ok(r.summary:find("(rows 4, 5, ...)", 1, true), r.summary)
  T.ok(data.validate(df, { x = { min = 1 } }, { raise = true }).ok)
end)

T.test("validate: bad schemas are clear errors", function()
  local df = data.DataFrame({ s = { "a" }, x = { 1 } })
  T.raises(function() data.validate(df, { s = { maxi = 3 } }) end, "unknown check for column 's' 'maxi'")
  T.raises(function() data.validate(df, { s = { min = 3 } }) end, "min/max apply to numbers and dates, not string")
  T.raises(function() data.validate(df, { x = { pattern = "a" } }) end, "pattern applies to string columns")
  T.raises(function() data.validate(df, { s = { pattern = "[" } }) end, "bad Lua pattern")
  T.raises(function() data.validate(df, "schema") end, "data.validate: argument #2: expected a schema table")
  T.raises(function() data.validate(df, { x = 3 }) end, "the schema of column 'x' must be a table")
end)

T.test("schema_of: JSON-able types, ranges and categories; new data checked against it", function()
  local train = data.read_csv(DIR .. "types.csv")
  local schema = data.schema_of(train)
  T.eq(schema.version, 1)
  T.eq(table.concat(schema.names, ","), "id,score,ok,day,stamp,name,count")
  T.eq(schema.columns.id.min, 1)
  T.eq(schema.columns.id.max, 40)
  T.eq(schema.columns.day.min, "2021-01-09")
  T.eq(table.concat(schema.columns.name.allowed, ","), "alpha,beta,gamma delta,épsilon")
  T.ok(schema.columns.id.not_null and not schema.columns.count.not_null)
  local back = ml.json.decode(ml.json.encode(schema)) -- it survives JSON (a pipeline's file)
  T.ok(data.validate(train, back).ok)
  local new = data.DataFrame({ id = { 1, 99 }, name = { "alpha", "zeta" } })
  local r = data.validate(new, back)
  local by = {}
  for _, v in ipairs(r.violations) do by[v.column .. "." .. v.check] = v end
  T.eq(table.concat(by["id.max"].rows, ","), "2")
  T.eq(table.concat(by["name.allowed"].rows, ","), "2")
  T.eq(by["score.present"].check, "present")
  T.eq(#data.schema_of(train, { max_categories = 2 }).columns.name, 0)
  T.eq(data.schema_of(train, { max_categories = 2 }).columns.name.allowed, nil)
end)
