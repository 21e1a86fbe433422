-- ml.prep scalers against scikit-learn (tests/fixtures/prep/scalers.json, scripts/gen_prep_fixtures.py).
local H = dofile("tests/lua/prep_helpers.lua")
local prep = ml.prep
local fx = H.fixture("scalers")

for _, c in ipairs(fx.cases) do
  T.test("prep." .. c.class .. " " .. c.name .. ": fitted attributes and outputs equal scikit-learn's (1e-12, NaN kept)", function()
    local opts = {}
    for k, v in pairs(c.opts) do opts[k] = v end
    local s = prep[c.class](opts)
    local X, X2 = H.mat(c.X), H.mat(c.X2)
    H.close(s:fit_transform(X), c.fit_X, 1e-12, "fit_transform")
    H.close(s:transform(X2), c.transform_X2, 1e-12, "transform")
    if c.inverse_X2 then H.close(s:inverse_transform(s:transform(X2)), c.inverse_X2, 1e-12, "inverse_transform") end
    for _, a in ipairs({ "mean_", "var_", "scale_", "data_min_", "data_max_", "data_range_", "min_", "center_", "max_abs_" }) do
      if c[a] ~= nil then
        if c[a] == ml.json.null then T.eq(s[a], nil, a)
        else H.close(s[a], c[a], 1e-12, a) end
      end
    end
    if c.n_samples_seen_ then H.close(s.n_samples_seen_, c.n_samples_seen_, 0, "n_samples_seen_") end
  end)
end

T.test("prep scalers: float32 input stays float32 and agrees with float64", function()
  local X = ml.randn(50, 3, { dtype = "float64" })
  for _, cls in ipairs({ "StandardScaler", "MinMaxScaler", "RobustScaler", "MaxAbsScaler" }) do
    local a = prep[cls]():fit_transform(X)
    local b = prep[cls]():fit_transform(X:to("float32"))
    T.eq(b:dtype(), "float32")
    T.all_near(b:to("float64"), a, 1e-5)
  end
end)

T.test("prep scalers: frames, lists of rows and int64 tensors are accepted", function()
  local df = ml.data.DataFrame{ a = { 1, 2, 3, 4 }, b = { 2.5, 0 / 0, 1.5, 3.5 } }
  local s = prep.StandardScaler():fit(df)
  T.eq(table.concat(s.feature_names_in_, ","), "a,b")
  local t = s:transform(df)
  T.eq(t:size(2), 2)
  T.ok(t[2][2] ~= t[2][2], "NaN passes through")
  local r = prep.MinMaxScaler():fit_transform({ { 1, 10 }, { 3, 30 } })
  T.all_near(r, ml.tensor({ { 0, 0 }, { 1, 1 } }, { dtype = "float64" }), 0)
  local named = prep.StandardScaler():fit_transform({ { a = 1, b = 2 }, { a = 3, b = 6 } }) -- rows of named fields: a frame
  T.all_near(named, ml.tensor({ { -1, -1 }, { 1, 1 } }, { dtype = "float64" }), 0)
  T.raises(function() prep.StandardScaler():fit({ { 1, 2 }, { 3 } }) end, "row 2 has 1 values, expected 2 (as row 1)")
  local i = prep.MaxAbsScaler():fit_transform(ml.tensor({ { -4 }, { 2 } }, { dtype = "int64" }))
  T.all_near(i, ml.tensor({ { -1 }, { 0.5 } }, { dtype = "float64" }), 0)
end)

T.test("prep scalers: errors before fit, on another width, on bad options, on string columns", function()
  local X = ml.randn(10, 3, { dtype = "float64" })
  T.raises(function() prep.StandardScaler():transform(X) end, "prep.StandardScaler:transform: this prep.StandardScaler is not fitted yet")
  local s = prep.StandardScaler():fit(X)
  T.raises(function() s:transform(ml.randn(4, 4)) end, "prep.StandardScaler:transform: X has 4 columns, expected 3 (the width seen by fit)")
  T.raises(function() s:inverse_transform(ml.randn(4, 2)) end, "X has 2 columns, expected 3")
  T.raises(function() prep.StandardScaler{ with_maen = false } end, "unknown option 'with_maen' (known: with_mean, with_std); did you mean 'with_mean'?")
  T.raises(function() prep.MinMaxScaler{ feature_range = { 1, 0 } } end, "feature_range's minimum must be smaller")
  T.raises(function() prep.RobustScaler{ quantile_range = { 80, 20 } } end, "quantile_range must be")
  T.raises(function() prep.Normalizer{ norm = "l3" } end, "norm must be one of 'l1', 'l2', 'max', got 'l3'")
  T.raises(function() prep.Normalizer():fit_transform(ml.tensor({ { 0 / 0, 1 } }, { dtype = "float64" })) end, "missing values (NaN)")
  T.raises(function() prep.StandardScaler():fit(ml.data.DataFrame{ s = { "a", "b" } }) end, "column 's' holds strings")
  T.raises(function() prep.MinMaxScaler():fit(ml.zeros(0, 3, { dtype = "float64" })) end, "prep.MinMaxScaler:fit: X has no rows")
  T.raises(function() prep.StandardScaler():fit("x") end, "X must be a tensor, a data frame or a list of rows, got string")
  local f = prep.StandardScaler():fit(ml.data.DataFrame{ a = { 1, 2 }, b = { 3, 4 } })
  T.raises(function() f:transform(ml.data.DataFrame{ a = { 1 }, c = { 2 } }) end, "X lacks the column 'b' seen by fit")
end)

T.test("prep scalers: get_params/set_params, save and load give the same transform", function()
  local X = ml.randn(30, 4, { dtype = "float64" })
  local s = prep.RobustScaler{ quantile_range = { 10, 90 } }
  T.eq(s:get_params().quantile_range[2], 90)
  s:set_params{ with_centering = false }
  T.eq(s:get_params().with_centering, false)
  T.raises(function() s:set_params{ with_centering = 3 } end, "with_centering must be a boolean")
  T.eq(s.with_centering, false)
  s:fit(X)
  for _, obj in ipairs({ s, prep.StandardScaler():fit(X), prep.MinMaxScaler{ clip = true }:fit(X), prep.MaxAbsScaler():fit(X),
    prep.Normalizer{ norm = "max" }:fit(X) }) do
    local path = T.tmpname(".safetensors")
    obj:save(path)
    local back = prep.load(path)
    T.eq(back.__name, obj.__name)
    T.ok(back:transform(X):equal(obj:transform(X)), obj.__name .. " round trip")
  end
  local path = T.tmpname(".safetensors")
  prep.StandardScaler():save(path)
  T.raises(function() prep.load(path):transform(X) end, "not fitted yet")
end)

T.test("prep scalers: a large matrix runs on the C kernels (rows split over threads) and matches a float64 reference", function()
  local X = ml.randn(200000, 3, { dtype = "float64" }):mul(3):add(1)
  local s = prep.StandardScaler():fit(X)
  T.all_near(s.mean_, X:mean(1), 1e-12)
  T.all_near(s.var_, X:var(1, { unbiased = false }), 1e-10)
end)
