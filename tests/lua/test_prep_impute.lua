-- prep.SimpleImputer against scikit-learn (tests/fixtures/prep/imputers.json).
local H = dofile("tests/lua/prep_helpers.lua")
local prep, data = ml.prep, ml.data
local fx = H.fixture("imputers")

for _, c in ipairs(fx.cases) do
  local label = c.opts.strategy .. (c.opts.add_indicator and " + indicator" or "")
  T.test("prep.SimpleImputer " .. label .. ": statistics_, outputs and names equal scikit-learn's", function()
    local im = prep.SimpleImputer(c.opts)
    local X, X2 = H.mat(fx.X), H.mat(fx.X2)
    H.close(im:fit_transform(X), c.transform_X, 1e-12, "transform X")
    H.close(im.statistics_, c.statistics_, 1e-12, "statistics_")
    H.close(im:transform(X2), c.transform_X2, 1e-12, "transform X2")
    T.eq(table.concat(im:get_feature_names_out({ "x1", "x2", "x3", "x4" }), ","), table.concat(c.names, ","))
  end)
end

T.test("prep.SimpleImputer: string columns of a frame (most_frequent, constant) as scikit-learn", function()
  local a, b = {}, {}
  for i, r in ipairs(fx.strings) do
    a[i] = r[1] ~= ml.json.null and r[1] or nil
    b[i] = r[2] ~= ml.json.null and r[2] or nil
  end
  local n = #fx.strings
  a.n, b.n = n, n
  local df = data.DataFrame({ c1 = a, c2 = b }, { columns = { "c1", "c2" } })
  for _, c in ipairs(fx.string_cases) do
    local out = prep.SimpleImputer{ strategy = c.strategy }:fit_transform(df)
    T.ok(data.DataFrame.is(out), "a frame comes back")
    for i = 1, n do
      T.eq(out:column("c1"):get(i), c.transform[i][1])
      T.eq(out:column("c2"):get(i), c.transform[i][2])
    end
  end
end)

T.test("prep.SimpleImputer: frames with numbers, dates and indicators; missing_values as a number", function()
  local df = data.DataFrame({ n = { 1, nil, 3, 3, n = 4 }, d = data.Column.from_list({ "2020-01-01", nil, "2020-01-01", "2021-05-05" }, 4, "date") },
    { columns = { "n", "d" } })
  local out = prep.SimpleImputer{ strategy = "most_frequent", add_indicator = true }:fit_transform(df)
  T.eq(out:column("n"):get(2), 3.0)
  T.eq(out:column("d"):get(2), "2020-01-01")
  T.eq(table.concat(out.columns, ","), "n,d,missingindicator_n,missingindicator_d")
  T.eq(out:column("missingindicator_d"):get(2), true)
  local X = ml.tensor({ { -1, 2 }, { 4, -1 }, { 6, 8 } }, { dtype = "float64" })
  local r = prep.SimpleImputer{ missing_values = -1 }:fit_transform(X)
  T.all_near(r, ml.tensor({ { 5, 2 }, { 4, 5 }, { 6, 8 } }, { dtype = "float64" }), 0)
end)

T.test("prep.SimpleImputer: errors and save/load", function()
  T.raises(function() prep.SimpleImputer{ strategy = "meen" } end, "strategy must be one of 'mean', 'median', 'most_frequent', 'constant', got 'meen'; did you mean 'mean'?")
  T.raises(function() prep.SimpleImputer():transform(ml.zeros(2, 2)) end, "not fitted yet")
  local df = data.DataFrame{ s = { "a", "b" } }
  T.raises(function() prep.SimpleImputer():fit(df) end, "column 's' holds strings; strategy 'mean' needs numbers")
  local im = prep.SimpleImputer{ strategy = "median", add_indicator = true }:fit(H.mat(fx.X))
  T.raises(function() im:transform(ml.zeros(2, 3, { dtype = "float64" })) end, "X has 3 columns, expected 4")
  local path = T.tmpname(".safetensors")
  im:save(path)
  local back = prep.load(path)
  T.ok(back:transform(H.mat(fx.X2)):equal(im:transform(H.mat(fx.X2))))
  local fi = prep.SimpleImputer{ strategy = "constant", fill_value = "none" }:fit(data.DataFrame{ s = { "a", nil, n = 2 } })
  fi:save(path)
  T.eq(prep.load(path):transform(data.DataFrame{ s = { nil, "b", n = 2 } }):column("s"):get(1), "none")
end)
