-- Data frame operations beyond the pandas fixtures (test_frame_ops.lua): the
-- kernels of ml._frame on tensors, printing, info, concat, sample, apply,
-- column operations, edge cases (empty frames, all missing) and every error.
local data = ml.data
local DataFrame, Column = data.DataFrame, data.Column
local F = ml._frame

local function i64(t) return ml.tensor(t, { dtype = "int64" }) end
local function f64(t) return ml.tensor(t, { dtype = "float64" }) end
local function list(t)
  local out = {}
  for i, v in ipairs(t:tolist()) do out[i] = tostring(v) end
  return table.concat(out, ",")
end

T.test("ml._frame.factorize: sorted and unsorted ids, missing dropped or a key, several keys", function()
  local x = f64({ 3, 1, 2, 1, 0 / 0, 3, -0.0, 0.0 })
  local ids, G = F.factorize({ { values = x } }, { sort = true })
  T.eq(list(ids), "4,2,3,2,5,4,1,1"); T.eq(G, 5) -- -0.0 and 0.0 are one key, NaN last
  ids, G = F.factorize({ { values = x } }, { dropna = true })
  T.eq(list(ids), "1,2,3,2,0,1,4,4"); T.eq(G, 4)
  ids, G = F.factorize({ { values = x } }, {})
  T.eq(list(ids), "1,2,3,2,4,1,5,5"); T.eq(G, 5) -- the missing key in place
  -- int64 with a mask, a wide range (the hash path), and two keys
  local big = i64({ 5, -4611686018427387904, 5, 4611686018427387904, 7 })
  ids, G = F.factorize({ { values = big, valid = ml.tensor({ true, true, true, true, false }, { dtype = "bool" }) } },
    { sort = true, dropna = true })
  T.eq(list(ids), "2,1,2,3,0"); T.eq(G, 3)
  local a, b = i64({ 2, 1, 2, 1, 2 }), i64({ 1, 1, 0, 1, 1 })
  ids, G = F.factorize({ { values = a }, { values = b } }, { sort = true })
  T.eq(list(ids), "3,1,2,1,3"); T.eq(G, 3)
end)

T.test("ml._frame.argsort: stable, descending, na first, strings by text", function()
  local x = f64({ 2, 0 / 0, 1, 2, 1 })
  T.eq(list(F.argsort({ { values = x } })), "3,5,1,4,2")
  T.eq(list(F.argsort({ { values = x, descending = true } })), "1,4,3,5,2")
  T.eq(list(F.argsort({ { values = x, na_first = true } })), "2,3,5,1,4")
  local codes, pool = ml._strings.from_list({ "pear", "apple", nil, "fig", "apple" }, 5)
  T.eq(list(F.argsort({ { values = codes, pool = pool, codes = true } })), "2,5,4,1,3")
  T.eq(list(F.argsort({ { values = codes, pool = pool, descending = true } })), "1,4,2,5,3")
end)

T.test("ml._frame: group aggregations, counts, duplicated, join, fills, describe", function()
  local ids = i64({ 1, 2, 1, 0, 2 })
  local x = f64({ 1, 2, 3, 4, 0 / 0 })
  local r = F.group_agg(ids, 2, "sum", { x, x })
  T.eq(list(r[1]), "4.0,2.0"); T.eq(list(r[2]), "4.0,2.0")
  T.eq(list(F.group_agg(ids, 2, "std", { x })[1]):sub(1, 8), "1.414213")
  local out, valid = F.group_agg_int(ids, 2, "max", i64({ 5, 6, 7, 8, 9 }), ml.tensor({ true, false, true, true, true }, { dtype = "bool" }))
  T.eq(list(out), "7,9"); T.eq(list(valid), "true,true")
  T.eq(list(F.group_counts(ids, 2)), "2,2")
  T.eq(list(F.duplicated(i64({ 1, 2, 1, 1 }), 2, "last")), "true,false,true,false")
  local li, ri = F.join(i64({ 1, 2, 1 }), i64({ 2, 1, 3 }), 3, "outer")
  T.eq(list(li), "1,3,2,0"); T.eq(list(ri), "2,2,1,3")
  T.eq(list(F.fill_source(ml.tensor({ true, false, true, true }, { dtype = "bool" }), false, 1)), "1,2,2,4")
  local d = F.describe({ f64({ 1, 2, 3, 4 }) })
  T.all_near(F.describe({ f64({ 1, 2, 3, 4 }) }, { 0, 1 / 3, 1 })[1], f64({ 4, 2.5, math.sqrt(5 / 3), 1, 1, 2, 4, 4 }), 1e-12)
  T.raises(function() F.describe({ f64({ 1 }) }, { 0.5, 0.2 }) end, "quantiles must be ascending")
  T.all_near(d[1], f64({ 4, 2.5, math.sqrt(5 / 3), 1, 1.75, 2.5, 3.25, 4 }), 1e-12)
  T.raises(function() F.group_agg(i64({ 3 }), 2, "sum", { f64({ 1 }) }) end, "frame.group_agg: id 3 at row 1 is out of range 0..2")
  T.raises(function() F.group_agg(ids, 2, "median", { x }) end, "unknown aggregation 'median'")
  T.raises(function() F.group_agg(ids, 2, "sum", { f64({ 1 }) }) end, "column 1 has 1 rows, the ids 5")
  T.raises(function() F.factorize({ { values = ml.zeros(3) } }) end, "float32 keys are not supported")
  T.raises(function() F.map_codes(i64({ 0, 1 }), i64({ 2 })) end, "code 2 at row 1 is out of range 0..1")
end)

T.test("printing: pandas-like decimals, missing cells, rows and columns truncated", function()
  local df = DataFrame{ a = { 1.5, 2, 0 / 0 }, b = { "x", nil, "zz", n = 3 } }
  local s = tostring(df)
  T.ok(s:find("1.5", 1, true) and s:find("2.0", 1, true) and s:find("NaN", 1, true) and s:find("<NA>", 1, true), s)
  local cols = {}
  for j = 1, 30 do cols["c" .. string.format("%02d", j)] = ml.arange(100):double() end
  local wide = tostring(DataFrame(cols))
  T.ok(wide:find("c01", 1, true) and wide:find("c30", 1, true) and not wide:find("c15", 1, true), "columns elided")
  T.ok(wide:find("...", 1, true) and wide:find("[100 rows x 30 columns]", 1, true))
  T.ok(not wide:find("\n 50 ", 1, true), "rows elided")
  T.ok(tostring(DataFrame{}):find("[0 rows x 0 columns]", 1, true))
end)

T.test("info: kinds, non-missing counts and memory, returned and printed", function()
  local df = DataFrame{ a = { 1, nil, 3, n = 3 }, s = { "x", "y", nil, n = 3 } }
  local info = df:info{ print = false }
  T.eq(info.rows, 3); T.eq(info.columns[1].name, "a"); T.eq(info.columns[1].kind, "int64")
  T.eq(info.columns[1].non_null, 2); T.eq(info.columns[2].non_null, 2); T.ok(info.memory > 0)
  T.raises(function() df:info{ prnt = false } end, "did you mean 'print'")
end)

T.test("columns: select_dtypes, drop, rename, errors with suggestions", function()
  local df = DataFrame{ age = { 1, 2 }, name = { "a", "b" }, w = { 1.5, 2.5 }, ok = { true, false } }
  T.eq(table.concat(df:select_dtypes("number").columns, ","), "age,w")
  T.eq(table.concat(df:select_dtypes{ exclude = "number" }.columns, ","), "name,ok")
  T.eq(table.concat(df:drop({ "age", "w" }).columns, ","), "name,ok")
  T.eq(table.concat(df:rename{ age = "years" }.columns, ","), "years,name,ok,w")
  T.eq(table.concat(df:rename(string.upper).columns, ","), "AGE,NAME,OK,W")
  T.raises(function() df:drop("agee") end, "df:drop: the columns to drop names 'agee', which is not a column (did you mean 'age'?)")
  T.raises(function() df:select_dtypes("numbr") end, "df:select_dtypes")
  T.raises(function() df:rename{ age = "w" } end, "two columns would be named 'w'")
  T.raises(function() df:sort_values("nme") end, "did you mean 'name'")
  T.raises(function() df:sort_values("age", { ascend = true }) end, "did you mean 'ascending'")
end)

T.test("filter: a bool tensor, a bool column (missing selects nothing), errors", function()
  local df = DataFrame{ age = { 31, 45, 20 }, name = { "a", "b", "c" } }
  T.eq(table.concat(df:filter(df.age:gt(30)):column("name"):to_list(), ","), "a,b")
  local c = df:column("name"):contains("[ab]")
  T.eq(#df:filter(c), 2)
  T.raises(function() df:filter(df.age) end, "df:filter: the mask must be a bool tensor, got int64")
  T.raises(function() df:filter(ml.tensor({ true }, { dtype = "bool" })) end, "the mask has 1 elements, the frame 3 rows")
end)

T.test("concat: rows of frames, pools merged, kinds combined, absent columns missing", function()
  local a = DataFrame{ s = { "x", "y" }, v = { 1, 2 } }
  local b = DataFrame{ s = { "y", "z", nil, n = 3 }, v = { 0.5, 1, 2 }, extra = { true, false, true } }
  local c = data.concat({ a, b })
  T.eq(#c, 5); T.eq(c.dtypes.v, "float64"); T.eq(c.dtypes.s, "string")
  T.eq(table.concat(c:column("s"):to_list(), ",", 1, 4), "x,y,y,z"); T.eq(c:column("s"):get(5), nil)
  T.eq(c:column("extra"):get(1), nil); T.eq(c:column("extra"):get(3), true)
  T.eq(#a:concat(a), 4)
  T.raises(function() data.concat({ a, DataFrame{ s = { 1, 2 } } }) end, "column 's' mixes kinds")
  T.raises(function() data.concat({}) end, "expected a non-empty list of frames")
end)

T.test("sample: seeded and repeatable, the global generator untouched; replace and frac", function()
  local df = DataFrame{ i = ml.arange(1, 101, { dtype = "int64" }) }
  ml.seed(5)
  local before = ml.rand(1):item()
  ml.seed(5)
  local s1 = df:sample{ n = 10, seed = 42 }
  T.eq(ml.rand(1):item(), before, "global generator untouched")
  T.eq(list(s1.i), list(df:sample{ n = 10, seed = 42 }.i))
  T.eq(#df:sample{ frac = 0.25, seed = 1 }, 25)
  T.eq(#df:sample{ n = 200, replace = true, seed = 1 }, 200)
  T.raises(function() df:sample{ n = 200 } end, "cannot take 200 rows from 100 without replacement")
end)

T.test("apply: a Lua function per value into a new column", function()
  local df = DataFrame{ a = { 1, 2, nil, n = 3 } }
  local c = df:apply("a", function(v) return v and v * 10 or -1 end)
  T.eq(table.concat(c:to_list(), ","), "10,20,-1")
  T.raises(function() df:apply("a", 3) end, "df:apply")
end)

T.test("fillna: a scalar skips other kinds, per-column values, int column to float", function()
  local df = DataFrame{ a = { 1, nil, 3, n = 3 }, s = { "x", nil, "y", n = 3 }, f = { 0 / 0, 1, 2 } }
  local r = df:fillna(0)
  T.eq(r:column("a"):get(2), 0); T.eq(r:column("s"):get(2), nil); T.eq(r:column("f"):get(1), 0.0)
  r = df:fillna{ s = "?", a = 2.5 }
  T.eq(r:column("s"):get(2), "?"); T.eq(r.dtypes.a, "float64"); T.eq(r:column("a"):get(2), 2.5)
  T.raises(function() df:fillna{ s = 1 } end, "column 's' holds strings; the fill value must be a string")
  T.raises(function() df:fillna() end, "df:fillna: give a fill value")
  T.raises(function() df:fillna(nil, { method = "forward" }) end, "df:fillna")
end)

T.test("groupby: size, convenience methods, string first/nunique, dates, errors", function()
  local df = DataFrame{ k = { "a", "b", "a" }, v = { 1, 2, 3 }, s = { "x", "y", "z" },
    d = data.Column.from_list({ "2024-01-02", "2023-05-06", "2022-01-01" }, 3, "date") }
  local gb = df:groupby("k")
  T.eq(tostring(gb), "data.GroupBy(k: 2 groups over 3 rows)")
  T.eq(list(gb:sum().v), "4,2"); T.eq(list(gb:mean().v), "2.0,2.0")
  local r = gb:agg{ s = { "first", "nunique", "count" }, d = "min" }
  T.eq(table.concat(r:column("s_first"):to_list(), ","), "x,y"); T.eq(list(r.s_nunique), "2,1")
  T.eq(r:column("d"):get(1), "2022-01-01"); T.eq(r.dtypes.d, "date")
  T.raises(function() gb:agg{ s = "mean" } end, "column 's' holds strings; mean is not defined")
  T.raises(function() gb:agg{ v = "median" } end, "unknown aggregation 'median'")
  T.raises(function() gb:agg{ w = "sum" } end, "names 'w', which is not a column")
  T.raises(function() df:groupby("kk") end, "did you mean 'k'")
end)

T.test("merge: left_on/right_on, suffixes, errors", function()
  local a = DataFrame{ id = { 1, 2, 3 }, v = { 10, 20, 30 } }
  local b = DataFrame{ key = { 3, 1, 1 }, v = { 0.3, 0.1, 0.11 } }
  local m = a:merge(b, { left_on = "id", right_on = "key", how = "left" })
  T.eq(table.concat(m.columns, ","), "id,v_x,key,v_y")
  T.eq(list(m.id), "1,1,2,3"); T.eq(m:column("v_y"):get(3), nil)
  T.raises(function() a:merge(DataFrame{ key = { 1 } }) end, "no column in common")
  T.raises(function() a:merge(b, { on = "id" }) end, "not a column")
  T.raises(function() a:merge(b, { left_on = "id", right_on = "key", how = "cross" }) end, "how must be one of")
  local s = DataFrame{ id = { "1" } }
  T.raises(function() a:merge(s, { on = "id" }) end, "key 'id' (int64) and 'id' (string) do not join")
end)

T.test("more than 16 key columns: drop_duplicates, sort_values, groupby, merge", function()
  local cols, names = {}, {}
  for j = 1, 20 do
    names[j] = "c" .. j
    cols[names[j]] = j == 20 and { 2, 1, 2, 1 } or { 0, 0, 0, 0 }
  end
  local df = DataFrame(cols, { columns = names })
  T.eq(#df:drop_duplicates(), 2)
  T.eq(list(df:sort_values(names, { ascending = false }).c20), "2,2,1,1")
  T.eq(list(df:groupby(names):size().size), "2,2")
  T.eq(#df:merge(df, { on = names }), 8)
end)

T.test("empty and all-missing frames", function()
  local e = DataFrame{ a = ml.zeros(0, { dtype = "float64" }), s = Column.from_list({}, 0, "string") }
  T.eq(#e:sort_values("a"), 0); T.eq(#e:dropna(), 0); T.eq(#e:drop_duplicates(), 0)
  T.eq(#e:groupby("s"):size(), 0)
  T.eq(#e:merge(e, { on = "a" }), 0)
  local m = DataFrame{ a = { 0 / 0, 0 / 0 } }
  local d = m:describe()
  T.eq(d:column("a"):get(1), 0.0); T.eq(d:column("a"):get(2), nil)
  T.eq(#m:groupby("a"):size(), 0)
  T.eq(#m:groupby("a", { dropna = false }):size(), 1)
end)

T.test("strings: accessor, eq/ne, replace with a pattern, errors", function()
  local df = DataFrame{ s = { "Ab", "cd", nil, "ab", n = 4 } }
  local c = df.s
  T.eq(list(c:eq("ab")), "false,false,false,true"); T.eq(list(c:ne("zz")), "true,true,true,true")
  local low = c.str:lower()
  T.eq(low:get(1), "ab"); T.eq(low:get(3), nil); T.eq(low:get(4), "ab")
  local rep = c:replace("%a", "x", { plain = false })
  T.eq(rep:get(1), "xx"); T.eq(rep:get(3), nil)
  T.eq(c.str:len():get(3), nil)
  -- case beyond ASCII, as Python's str.lower/upper (ß, whose upper case is longer, stays)
  local u = Column.from_list({ "ÉCOLE Ωμέγα ΆΈΉΊΌΎΏ ПРИВЕТ Ёж Łódź ŸÿŒœ Σ" }, 1, "string")
  T.eq(u:lower():get(1), "école ωμέγα άέήίόύώ привет ёж łódź ÿÿœœ σ")
  T.eq(u:upper():get(1), "ÉCOLE ΩΜΈΓΑ ΆΈΉΊΌΎΏ ПРИВЕТ ЁЖ ŁÓDŹ ŸŸŒŒ Σ")
  T.eq(u.str:len():get(1), 41)
  T.raises(function() DataFrame{ n = { 1 } }:column("n"):lower() end, "col:lower: expected a string column, got a int64 column")
  T.raises(function() c:contains("[") end, "malformed pattern")
  T.raises(function() c:split("") end, "the separator must not be empty")
  T.raises(function() c.str.lower() end, "call it with a colon")
end)

T.test("help finds the frame's methods", function()
  local printed = print
  print = function() end -- ml.help prints as well as returns
  local ok, err = pcall(function()
    for name, f in pairs({ sort_values = DataFrame.sort_values, merge = DataFrame.merge, describe = DataFrame.describe,
      groupby = DataFrame.groupby, lower = Column.lower, concat = data.concat }) do
      local doc = ml.help(f)
      T.ok(type(doc) == "string" and doc:find(name, 1, true), name .. ": " .. tostring(doc))
    end
  end)
  print = printed
  if not ok then error(err, 0) end
end)
