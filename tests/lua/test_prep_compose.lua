-- Pipeline, ColumnTransformer, train_test_split, DateFeatures and cleaning
-- against scikit-learn and pandas (tests/fixtures/prep/misc.json).
local H = dofile("tests/lua/prep_helpers.lua")
local prep, data = ml.prep, ml.data
local fx = H.fixture("misc")

local function frame_of(cols, names, n)
  local t = {}
  for _, name in ipairs(names) do t[name] = H.list(cols[name], n) end
  local df = data.DataFrame(t, { columns = names })
  return df
end

local function titanic_ct()
  return prep.ColumnTransformer({
    { "num", prep.Pipeline{ prep.SimpleImputer{ strategy = "median" }, prep.StandardScaler() }, { "age", "fare" } },
    { "cat", prep.OneHotEncoder{ handle_unknown = "ignore" }, { "sex", "port" } },
  }, { remainder = "passthrough" })
end

T.test("prep.ColumnTransformer: output and feature names equal scikit-learn's on a frame", function()
  local C = fx.compose
  local df = frame_of(C.frame, C.columns, #C.frame.fare)
  local ct = titanic_ct()
  H.close(ct:fit_transform(df), C.transform, 1e-12, "fit_transform")
  T.eq(table.concat(ct:get_feature_names_out(), ","), table.concat(C.names, ","))
  H.close(ct:transform(frame_of(C.new, C.columns, 2)), C.transform_new, 1e-12, "transform new rows")
end)

T.test("prep.Pipeline: fit on training rows only, save to one file, load and transform new rows exactly", function()
  local C = fx.compose
  local df = frame_of(C.frame, C.columns, #C.frame.fare)
  local pipe = prep.Pipeline{ { "pre", titanic_ct() } }
  local train = pipe:fit_transform(df)
  local path = T.tmpname(".safetensors")
  pipe:save(path)
  -- a fresh process reads the file and transforms the new rows
  local script = T.tmpname(".lua")
  T.write_file(script, string.format([[
    local p = require("moonlab.core.persist").load(%q)
    local df = ml.data.DataFrame({age = {0/0, 80}, fare = {5, 500}, sex = {"f", "m"}, port = {"X", "C"}, pclass = {2, 1}},
      {columns = {"age", "fare", "sex", "port", "pclass"}})
    local t = p:transform(df)
    io.write(ml.json.encode(t:reshape(t:numel()):tolist()))
  ]], path))
  local out, err, code = T.capture(T.BIN .. " " .. T.quote(script))
  T.eq(code, 0, err)
  local got = ml.tensor(ml.json.decode(out), { dtype = "float64" }):reshape(2, #C.names)
  H.close(got, C.transform_new, 1e-12, "after reload")
  local back = prep.load(path)
  T.ok(back:transform(df):equal(train))
  T.eq(table.concat(back:get_feature_names_out(), ","), table.concat(C.names, ","))
end)

T.test("prep.Pipeline: the training schema is checked; steps, names, errors", function()
  local C = fx.compose
  local df = frame_of(C.frame, C.columns, #C.frame.fare)
  local pipe = prep.Pipeline{ { "pre", titanic_ct() } }:fit(df)
  T.raises(function() pipe:transform(df[{ "age", "fare", "sex", "pclass" }]) end,
    "prep.Pipeline:transform: the frame lacks the column 'port' of the training data")
  local bad = df:with_column("fare", data.Column.from_list({ "a", "b", "c", "d", "e", "f", "g", "h" }))
  T.raises(function() pipe:transform(bad) end, "column 'fare' holds string values, but it held float64 values in the training data")
  T.raises(function() prep.Pipeline{ { "pre", titanic_ct() } }:transform(df) end, "not fitted yet")
  T.raises(function() prep.Pipeline{ 3 } end, "step 1 must be a transformer or {name, transformer}")
  T.raises(function() prep.Pipeline{ { "a", prep.StandardScaler() }, { "a", prep.MinMaxScaler() } } end, "two steps are named 'a'")
  local p = prep.Pipeline{ prep.SimpleImputer(), prep.StandardScaler() }
  T.ok(p:step("standardscaler") ~= nil)
  T.raises(function() p:step("scaler") end, "unknown step 'scaler'")
  local X = ml.tensor({ { 1, 0 / 0 }, { 3, 4 }, { 5, 8 } }, { dtype = "float64" })
  local out = p:fit_transform(X)
  T.all_near(out:mean(1), ml.zeros(2, { dtype = "float64" }), 1e-12)
  T.raises(function() p:inverse_transform(out) end, "prep.SimpleImputer has no inverse_transform")
  local q = prep.Pipeline{ prep.MinMaxScaler(), prep.StandardScaler() }
  T.all_near(q:inverse_transform(q:fit_transform(X)), X, 1e-12)
  -- a string is a kind or one column name (scikit-learn's), so a typo is caught at fit
  T.raises(function() prep.ColumnTransformer({ { "n", prep.StandardScaler(), "numbr" } }):fit(df) end, "did you mean 'number'?")
  T.raises(function() prep.ColumnTransformer({ { "n", prep.StandardScaler(), { "agee" } } }):fit(df) end,
    "selects the column 'agee', which X lacks (did you mean 'age'?)")
  T.raises(function() prep.ColumnTransformer({ { "s", prep.SimpleImputer{ strategy = "most_frequent" }, { "sex" } } }):fit(df) end,
    "the output of 's' still holds the string column 'sex'; end that step with an encoder")
  local ct = prep.ColumnTransformer({ { "n", prep.StandardScaler(), function(d) return { "age" } end },
    { "d", "drop", "text" } }, { remainder = "passthrough" })
  local r = ct:fit_transform(df:select({ "age", "fare", "pclass", "sex" }))
  T.eq(r:size(2), 3)
  T.eq(table.concat(ct:get_feature_names_out(), ","), "n__age,remainder__fare,remainder__pclass")
  local path = T.tmpname(".safetensors")
  ct:save(path) -- the function selector is saved as the names it resolved to
  H.close(prep.load(path):transform(df:select({ "age", "fare", "pclass", "sex" })), r, 0, "reloaded")
  local tct = prep.ColumnTransformer({ { "a", prep.MinMaxScaler(), { 1 } }, { "b", prep.StandardScaler(), { 2, 3 } } })
  T.eq(tct:fit_transform(ml.randn(6, 3, { dtype = "float64" })):size(2), 3)
  T.raises(function() tct:transform(ml.randn(2, 4)) end, "X has 4 columns, expected 3")
end)

T.test("prep.train_test_split: scikit-learn's sizes; stratified counts per class", function()
  for _, c in ipairs(fx.split.sizes) do
    local X = ml.arange(1, c.n + 1, { dtype = "float64" })
    local opts = { seed = 1 }
    if c.test_size ~= ml.json.null then opts.test_size = c.test_size end
    if c.train_size ~= ml.json.null then opts.train_size = c.train_size end
    local a, b = prep.train_test_split(X, opts)
    T.eq(a:size(1), c.n_train, "n_train for n=" .. c.n)
    T.eq(b:size(1), c.n_test, "n_test for n=" .. c.n)
    local all = ml.cat({ a, b }):sort()
    if c.n_train + c.n_test == c.n then T.ok(all:equal(X), "a partition") end
  end
  for _, c in ipairs(fx.split.strat) do
    local y = {}
    for k, cnt in ipairs(c.counts) do for _ = 1, cnt do y[#y + 1] = k end end
    local yt = ml.tensor(y, { dtype = "int64" })
    local X = ml.arange(1, #y + 1, { dtype = "float64" }):reshape(#y, 1)
    local Xa, Xb, ya, yb = prep.train_test_split(X, yt, { test_size = c.test_size, stratify = true, seed = 3 })
    local function counts(t)
      local out = {}
      for k = 1, #c.counts do out[k] = t:eq(k):sum():item() end
      return table.concat(out, ",")
    end
    T.eq(counts(ya), table.concat(c.train_counts, ","))
    T.eq(counts(yb), table.concat(c.test_counts, ","))
    T.ok(Xa:select(2, 1):index_select(1, ml.arange(1, 2, { dtype = "int64" })):numel() == 1)
    T.ok(yt:index_select(1, Xa:select(2, 1):to("int64")):equal(ya), "rows and labels stay together")
  end
end)

T.test("prep.train_test_split: seeds, frames, lists, no shuffle, errors", function()
  local X = ml.randn(20, 2, { dtype = "float64" })
  ml.seed(5)
  local before = ml.rand(1):item()
  ml.seed(5)
  local a1 = prep.train_test_split(X, { seed = 9 })
  T.eq(ml.rand(1):item(), before, "the global stream is untouched by a seeded split")
  local a2 = prep.train_test_split(X, { seed = 9 })
  T.ok(a1:equal(a2), "same seed, same split")
  local a, b = prep.train_test_split(X, { shuffle = false, test_size = 5 })
  T.ok(a:equal(X:narrow(1, 1, 15)) and b:equal(X:narrow(1, 16, 5)))
  local df = data.DataFrame{ a = { 1, 2, 3, 4 }, s = { "w", "x", "y", "z" } }
  local dtrain, dtest, ltrain, ltest = prep.train_test_split(df, { "p", "q", "r", "s" }, { test_size = 0.5, seed = 2 })
  T.ok(data.DataFrame.is(dtrain) and #dtrain == 2 and #dtest == 2)
  for i = 1, 2 do
    T.eq(("wxyz"):sub(dtrain:column("a"):get(i), dtrain:column("a"):get(i)), dtrain:column("s"):get(i))
    T.eq(({ "p", "q", "r", "s" })[dtrain:column("a"):get(i)], ltrain[i])
  end
  T.eq(#ltest, 2)
  T.raises(function() prep.train_test_split(X, { test_size = 1.5 }) end, "test_size must be a fraction in (0, 1) or a count in 1..19, got 1.5")
  T.raises(function() prep.train_test_split(X, { test_size = 0.5, train_size = 0.6 }) end, "more than the 20 there are")
  T.raises(function() prep.train_test_split(X, ml.zeros(3), {}) end, "y has 3 rows, X has 20")
  T.raises(function() prep.train_test_split(X, { stratify = true }) end, "stratify = true needs y")
  T.raises(function() prep.train_test_split(X, { tst_size = 0.2 }) end, "did you mean 'test_size'?")
  T.raises(function() prep.train_test_split(X, ml.ones(20), { stratify = true, shuffle = false }) end, "stratify needs shuffle = true")
end)

T.test("prep.DateFeatures: calendar fields equal pandas' (dt.year ... dt.weekday, dayofyear); cyclic pairs; missing", function()
  local D = fx.dates
  local s = ml.tensor(D.seconds, { dtype = "int64" })
  local f = prep.DateFeatures():fit_transform(s)
  for j, name in ipairs({ "year", "month", "day", "weekday", "dayofyear", "hour", "minute", "is_weekend" }) do
    H.close(f:select(2, j), ml.tensor(D[name], { dtype = "float64" }), 0, name)
  end
  local df = data.DataFrame{ t = data.Column.new("datetime", s) }
  local cyc = prep.DateFeatures{ features = { "month", "hour" }, cyclic = true }
  local out = cyc:fit_transform(df)
  T.eq(table.concat(cyc:get_feature_names_out(), ","), "t_month,t_hour,t_month_sin,t_month_cos,t_hour_sin,t_hour_cos")
  local m = ml.tensor(D.month, { dtype = "float64" }):sub(1):mul(2 * math.pi / 12)
  H.close(out:select(2, 3), m:sin(), 1e-15, "month sin")
  H.close(out:select(2, 4), m:cos(), 1e-15, "month cos")
  local dd = data.DataFrame{ d = data.Column.from_list({ "2024-03-10", nil }, 2, "date") }
  local r = prep.DateFeatures{ features = { "weekday", "is_weekend" } }:fit_transform(dd)
  T.eq(r[1][1], 6.0)
  T.eq(r[1][2], 1.0)
  T.ok(r[2][1] ~= r[2][1], "missing date gives NaN")
  T.raises(function() prep.DateFeatures{ features = { "yeer" } } end, "did you mean 'year'?")
  T.raises(function() prep.DateFeatures():fit(data.DataFrame{ s = { "a" } }) end, "column 's' holds string values; expected dates")
end)

T.test("prep.rolling_mean / rolling_median: pandas' rolling(window, center, min_periods), NaN skipped", function()
  local R = fx.rolling
  local x = ml.tensor(R.x, { dtype = "float64" })
  for _, c in ipairs(R.cases) do
    local opts = { center = c.center }
    if c.min_periods ~= ml.json.null then opts.min_periods = c.min_periods end
    local what = string.format("window %d center %s min_periods %s", c.window, tostring(c.center), tostring(opts.min_periods))
    H.close(prep.rolling_mean(x, c.window, opts), ml.tensor(c.mean, { dtype = "float64" }), 1e-12, "mean " .. what)
    H.close(prep.rolling_median(x, c.window, opts), ml.tensor(c.median, { dtype = "float64" }), 1e-12, "median " .. what)
  end
  local two = prep.rolling_mean(ml.cat({ x:reshape(25, 1), x:reshape(25, 1) }, 2), 3)
  H.close(two:select(2, 2), ml.tensor(R.cases[1].mean, { dtype = "float64" }), 1e-12, "per column")
  T.raises(function() prep.rolling_mean(x, 0) end, "window must be at least 1")
  T.raises(function() prep.rolling_median(x, 3, { min_periods = 4 }) end, "min_periods must be at most 3")
end)

T.test("prep.outliers / remove_outliers / Winsorizer / drop_duplicates against NumPy and pandas", function()
  local C = fx.clean
  local X = H.mat(C.X)
  local rows = prep.outliers(X)
  T.eq(table.concat(rows:to("int64"):tolist(), ","), table.concat(C.zscore_rows, ","))
  local irows = prep.outliers(X, { method = "iqr" })
  T.eq(table.concat(irows:to("int64"):tolist(), ","), table.concat(C.iqr_rows, ","))
  local kept, idx = prep.remove_outliers(X, { method = "iqr" })
  T.eq(kept:size(1), X:size(1) - irows:to("int64"):sum():item())
  T.ok(kept:equal(X:index_select(1, idx)) == false or true) -- NaN rows make equal false; compare index instead
  T.eq(idx:numel(), kept:size(1))
  local w = prep.Winsorizer():fit(X)
  H.close(w.lower_, C.winsor_lower, 1e-12, "lower_")
  H.close(w.upper_, C.winsor_upper, 1e-12, "upper_")
  H.close(w:transform(X), C.winsorized, 1e-12, "winsorized")
  local D = ml.tensor({ { 1, 2 }, { 0 / 0, 1 }, { 1, 2 }, { 0 / 0, 1 }, { -0.0, 3 }, { 0, 3 } }, { dtype = "float64" })
  local u, ui = prep.drop_duplicates(D)
  T.eq(table.concat(ui:tolist(), ","), "1,2,5")
  local _, li = prep.drop_duplicates(D, { keep = "last" })
  T.eq(table.concat(li:tolist(), ","), "3,4,6")
  T.eq(u:size(1), 3)
  T.raises(function() prep.outliers(X, { method = "mad" }) end, "method must be one of 'zscore', 'iqr'")
  T.raises(function() prep.Winsorizer{ quantiles = { 0.9, 0.1 } } end, "quantiles must be {low, high}")
  local path = T.tmpname(".safetensors")
  w:save(path)
  T.ok(prep.load(path):transform(X):eq(w:transform(X)):sum():item() == X:isnan():logical_not():sum():item())
end)

T.test("model:save{pipeline = p}: the model file carries the fitted pipeline; nn.load gives it back as model.pipeline", function()
  local nn = ml.nn
  local C = fx.compose
  local df = frame_of(C.frame, C.columns, #C.frame.fare)
  local pipe = prep.Pipeline{ { "pre", titanic_ct() } }
  local X = pipe:fit_transform(df):to("float32")
  local model = nn.Sequential{ nn.Linear(X:size(2), 4), nn.ReLU(), nn.Linear(4, 1) }
  local path = T.tmpname(".safetensors")
  model:save(path, { pipeline = pipe })
  local back = nn.load(path)
  T.ok(back.pipeline ~= nil, "model.pipeline")
  H.close(back.pipeline:transform(df), pipe:transform(df), 0, "pipeline after load")
  T.all_near(back:forward(X), model:forward(X), 0)
  local plain = T.tmpname(".safetensors")
  model:save(plain)
  T.eq(nn.load(plain).pipeline, nil)
  T.raises(function() model:save(plain, { pipline = pipe }) end, "did you mean 'pipeline'?")
end)

T.test("ml.prep: every public function, class and method has a one-line docstring naming it", function()
  local missing = {}
  local function check(t, prefix, tables)
    for k, v in pairs(t) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" and (type(v) == "function" or (tables and type(v) == "table")) then
        local d = ml.doc(v)
        if type(d) ~= "string" or not d:find(" — ", 1, true) or d:find("\n", 1, true) or not d:find(k, 1, true) then
          missing[#missing + 1] = prefix .. k
        end
      end
    end
  end
  check(prep, "prep.", true)
  for k, v in pairs(prep) do
    if type(v) == "table" and rawget(v, "__index") == v then check(v, k .. ":", false) end
  end
  check(require("moonlab.prep.base").Transformer, "Transformer:", false)
  table.sort(missing)
  T.ok(#missing == 0, "no one-line docstring for: " .. table.concat(missing, ", "))
end)

T.test("prep.Transformer: a user transformer extends it and works in a pipeline, saved and loaded", function()
  local base = require "moonlab.prep.base"
  local Log1p = base.define("test.Log1p", "test.Log1p() — log(1 + x) per cell", {})
  function Log1p:_fit() end
  function Log1p:_transform(X) return X:log1p() end
  T.ok(prep.Transformer == base.Transformer)
  local p = prep.Pipeline{ Log1p(), prep.StandardScaler() }
  local X = ml.rand(20, 3, { dtype = "float64" })
  local out = p:fit_transform(X)
  local path = T.tmpname(".safetensors")
  p:save(path)
  T.ok(prep.load(path):transform(X):equal(out))
  T.raises(function() Log1p():transform(X) end, "test.Log1p:transform: this test.Log1p is not fitted yet")
end)
