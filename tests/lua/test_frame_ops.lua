-- The data frame's operations against pandas 1.5 (tests/fixtures/frame/expected.lua,
-- written by scripts/gen_frame_fixtures.py): sort_values, groupby, describe,
-- duplicated, value_counts, dropna, fills, merge and the string methods.
local data = ml.data
local DataFrame, Column = data.DataFrame, data.Column
local E = dofile("tests/fixtures/frame/expected.lua")
T.eq(E.version, 1, "fixture version")

local N = 40
local function frame()
  local c = E.columns
  return DataFrame.from_columns({ "g", "k", "x", "y", "s" }, {
    g = Column.from_list(c.g, N, "string"), k = Column.from_list(c.k, N, "int64"),
    x = Column.from_list(c.x, N, "float64"), y = Column.from_list(c.y, N, "float64"),
    s = Column.from_list(c.s, N, "string"),
  })
end
local df = frame()

-- A column (or tensor) as a list with nil for missing, compared with a fixture list.
local function same(got, want, tol, what)
  local list, n
  if ml.is_tensor(got) then list, n = got:tolist(), got:numel() else list, n = got:to_list() end
  T.eq(n, want.n, (what or "") .. " length")
  for i = 1, want.n do
    local g, w = list[i], want[i]
    if g ~= g then g = nil end
    if w ~= w then w = nil end
    local msg = string.format("%s row %d", what or "", i)
    if type(w) == "number" and type(g) == "number" then T.near(g, w, tol or 1e-12, msg)
    else T.eq(g, w, msg) end
  end
end

local function row_list(frame_, name) return frame_:column(name):to_list() end

T.test("sort_values: stable, several keys, directions and na_position, as pandas", function()
  local indexed = df:with_column("row", ml.arange(1, N + 1, { dtype = "int64" }))
  for _, s in ipairs(E.sorts) do
    local by = table.move(s.by, 1, s.by.n, 1, {})
    local asc = table.move(s.ascending, 1, s.ascending.n, 1, {})
    local r = indexed:sort_values(by, { ascending = asc, na_position = s.na_position })
    same(r:column("row"), s.order, 0, "sort " .. table.concat(by, ","))
  end
end)

T.test("groupby: one key, every aggregation, sorted keys, missing keys dropped", function()
  local want = E.groupby_g
  local r = df:groupby("g"):agg{ x = { "sum", "mean", "count", "min", "max", "std", "first", "nunique" },
    k = { "sum", "mean", "count", "min", "max", "nunique" } }
  same(r:column("g"), want.keys, 0, "keys")
  for _, a in ipairs({ "sum", "mean", "count", "min", "max", "std", "first", "nunique" }) do
    same(r:column("x_" .. a), want["x_" .. a], 1e-12, "x_" .. a)
  end
  for _, a in ipairs({ "sum", "mean", "count", "min", "max", "nunique" }) do
    same(r:column("k_" .. a), want["k_" .. a], 1e-12, "k_" .. a)
  end
  same(df:groupby("g"):size():column("size"), want.size, 0, "size")
  -- one aggregation keeps the column's name
  local m = df:groupby("g"):agg{ x = "mean" }
  same(m:column("x"), want.x_mean, 1e-12, "x")
end)

T.test("groupby: two keys (a string and an int64 with missing cells)", function()
  local want = E.groupby_gk
  local r = df:groupby({ "g", "k" }):agg{ x = "mean", y = "std" }
  same(r:column("g"), want.g, 0, "g"); same(r:column("k"), want.k, 0, "k")
  same(r:column("x"), want.x_mean, 1e-12, "x"); same(r:column("y"), want.y_std, 1e-12, "y")
  local na = E.groupby_gk_na
  local s = df:groupby({ "g", "k" }, { dropna = false }):size()
  same(s:column("g"), na.g, 0, "g (dropna false)"); same(s:column("k"), na.k, 0, "k (dropna false)")
  same(s:column("size"), na.size, 0, "size (dropna false)")
end)

T.test("describe: count, mean, std, quartiles as pandas; strings count, unique, top, freq", function()
  local d = df:describe()
  T.eq(table.concat(d.columns, ","), "stat,k,x,y")
  for _, c in ipairs({ "x", "y" }) do
    local got = d:column(c):to_list()
    for i = 1, 8 do T.near(got[i], E.describe[c][i], 1e-12, c .. " stat " .. i) end
    T.eq(got[9], N - E.describe[c][1], c .. " missing")
  end
  local p = df[{ "x", "y" }]:describe{ percentiles = { 0.1, 0.9, 0.333 } }
  local want = E.describe_p
  for i = 1, want.rows.n do T.eq(p:column("stat"):get(i), want.rows[i]) end
  for _, c in ipairs({ "x", "y" }) do
    local got = p:column(c):to_list()
    for i = 1, want.rows.n do T.near(got[i], want[c][i], 1e-12, c .. " " .. want.rows[i]) end
  end
  local o = df[{ "g" }]:describe()
  local v = o:column("g"):to_list()
  local w = E.describe_g
  T.eq(v[1], tostring(w.count)); T.eq(v[2], tostring(w.unique)); T.eq(v[3], w.top); T.eq(v[4], tostring(w.freq))
end)

T.test("duplicated / drop_duplicates: keep first, last, false", function()
  for keep, want in pairs(E.duplicated) do
    local k = keep
    if keep == "False" then k = false end
    same(df:duplicated{ subset = { "g", "k" }, keep = k }, want, 0, "keep " .. keep)
    local kept = df:drop_duplicates{ subset = { "g", "k" }, keep = k }
    local n = 0
    for i = 1, want.n do if not want[i] then n = n + 1 end end
    T.eq(#kept, n, "rows kept, keep " .. keep)
  end
end)

T.test("value_counts: one and two columns", function()
  local r = df:value_counts("g")
  local keys_, counts = row_list(r, "g"), r:column("count"):to_list()
  local total = 0
  for i, k in ipairs(keys_) do
    T.eq(counts[i], E.value_counts_g[k], "count of " .. k)
    if i > 1 then T.ok(counts[i] <= counts[i - 1], "sorted by count") end
    total = total + 1
  end
  local nkeys = 0
  for _ in pairs(E.value_counts_g) do nkeys = nkeys + 1 end
  T.eq(total, nkeys)
  local r2 = df:value_counts({ "g", "k" })
  local want = {}
  for _, t in ipairs(E.value_counts_gk) do want[t[1] .. "/" .. t[2]] = t[3] end
  local g, k, c = row_list(r2, "g"), row_list(r2, "k"), r2:column("count"):to_list()
  T.eq(#g, #E.value_counts_gk)
  for i = 1, #g do T.eq(c[i], want[g[i] .. "/" .. k[i]], "count of " .. g[i] .. "/" .. k[i]) end
end)

T.test("dropna: any, all over a subset, thresh", function()
  local indexed = df:with_column("row", ml.arange(1, N + 1, { dtype = "int64" }))
  same(indexed:dropna{ subset = { "g", "k", "x", "y", "s" } }:column("row"), E.dropna.any, 0, "any")
  same(indexed:dropna{ how = "all", subset = { "x", "k" } }:column("row"), E.dropna.all_xk, 0, "all x,k")
  same(indexed:dropna{ thresh = 4, subset = { "g", "k", "x", "y", "s" } }:column("row"), E.dropna.thresh4, 0, "thresh 4")
  same(indexed:dropna{ subset = { "g", "s" } }:column("row"), E.dropna.any_gs, 0, "any g,s")
end)

T.test("fillna: ffill, bfill, a limit, a string column", function()
  same(df:fillna{ method = "ffill" }:column("x"), E.fill.ffill_x, 0, "ffill")
  same(df:fillna{ method = "bfill" }:column("x"), E.fill.bfill_x, 0, "bfill")
  same(df:fillna(nil, { method = "ffill", limit = 1 }):column("x"), E.fill.ffill_x_limit1, 0, "ffill limit 1")
  same(df:fillna{ method = "ffill" }:column("g"), E.fill.ffill_g, 0, "ffill strings")
end)

T.test("merge: inner, left, right, outer on one and two keys, pandas' row order", function()
  local left = df[{ "g", "k" }]:with_column("lrow", ml.arange(1, N + 1, { dtype = "int64" }))
  local right = DataFrame.from_columns({ "g", "k", "rrow" }, {
    g = Column.from_list(E.right.g, E.right.g.n, "string"), k = Column.from_list(E.right.k, E.right.k.n, "int64"),
    rrow = Column.from_list({ 1, 2, 3, 4, 5, 6 }, 6, "int64") })
  for _, m in ipairs(E.merges) do
    local on = table.move(m.on, 1, m.on.n, 1, {})
    local r = left:merge(right, { on = on, how = m.how })
    local what = m.how .. " on " .. table.concat(on, ",")
    same(r:column("lrow"), m.lrow, 0, what .. " lrow")
    same(r:column("rrow"), m.rrow, 0, what .. " rrow")
    same(r:column("g"), m.g, 0, what .. " g")
  end
end)

T.test("string methods: lower, upper, strip, len, contains, startswith, endswith, replace, split, isin", function()
  local s, W = df:column("s"), E.strings
  same(s:lower(), W.lower, 0, "lower"); same(s:upper(), W.upper, 0, "upper"); same(s:strip(), W.strip, 0, "strip")
  same(s.str:len(), W.len, 0, "len"); same(s:str_len(), W.len, 0, "str_len")
  same(s:contains("an", { plain = true }), W.contains_an, 0, "contains"); same(s:contains("an"), W.contains_an, 0, "contains (pattern)")
  same(s:startswith("a"), W.startswith_a, 0, "startswith"); same(s:endswith("e"), W.endswith_e, 0, "endswith")
  same(s:replace("an", "AN"), W.replace_an, 0, "replace")
  local parts = s:split("-")
  same(parts:column("part_1"), W.split_1, 0, "split piece 1"); same(parts:column("part_3"), W.split_3, 0, "split piece 3")
  same(s:isin({ "apple", "a-b" }), W.isin, 0, "isin")
end)
