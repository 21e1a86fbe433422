-- ml.prep encoders against scikit-learn (tests/fixtures/prep/encoders.json).
local H = dofile("tests/lua/prep_helpers.lua")
local prep, data = ml.prep, ml.data
local fx = H.fixture("encoders")

local function describe(o)
  local parts = {}
  for k, v in pairs(o) do parts[#parts + 1] = k .. "=" .. tostring(v) end
  table.sort(parts)
  return table.concat(parts, " ")
end

for _, c in ipairs(fx.cases) do
  T.test("prep.OneHotEncoder numeric {" .. describe(c.opts) .. "}: categories, outputs and names equal scikit-learn's", function()
    local e = prep.OneHotEncoder(c.opts)
    H.close(e:fit_transform(H.mat(fx.X)), c.transform_X, 0, "transform X")
    for j, cats in ipairs(c.categories_) do H.close(ml.tensor(e.categories_[j], { dtype = "float64" }), ml.tensor(cats, { dtype = "float64" }), 0, "categories_") end
    H.close(e:transform(H.mat(fx.X2)), c.transform_X2, 0, "transform X2")
    if c.transform_unknown then H.close(e:transform(H.mat(fx.X_unknown)), c.transform_unknown, 0, "unknown") end
    T.eq(table.concat(e:get_feature_names_out({ "x1", "x2", "x3" }), ","), table.concat(c.names, ","))
  end)
end

local function frame(cols) return data.DataFrame(cols, { columns = { "color", "size" } }) end

for _, c in ipairs(fx.string_cases) do
  T.test("prep.OneHotEncoder strings {" .. describe(c.opts) .. "}: as scikit-learn on a frame", function()
    local e = prep.OneHotEncoder(c.opts)
    H.close(e:fit_transform(frame(fx.frame)), c.transform, 0, "transform")
    for j, cats in ipairs(c.categories_) do T.eq(table.concat(e.categories_[j], ","), table.concat(cats, ",")) end
    H.close(e:transform(frame(c.new)), c.transform_new, 0, "transform new")
    T.eq(table.concat(e:get_feature_names_out(), ","), table.concat(c.names, ","))
  end)
end

T.test("prep.OneHotEncoder: unknown categories raise with the value and row; given categories; save/load", function()
  local e = prep.OneHotEncoder():fit(frame(fx.frame))
  T.raises(function() e:transform(frame{ color = { "red", "pink" }, size = { "m", "s" } }) end,
    "prep.OneHotEncoder:transform: column 'color' has the unknown category 'pink' (row 2)")
  T.raises(function() prep.OneHotEncoder():fit(H.mat(fx.X)):transform(H.mat(fx.X_unknown)) end, "unknown category 9")
  T.raises(function() prep.OneHotEncoder{ handle_unknown = "ignored" } end, "did you mean 'ignore'?")
  T.raises(function() prep.OneHotEncoder{ drop = "last" } end, "drop must be one of 'first', 'if_binary'")
  T.raises(function() prep.OneHotEncoder():fit(data.DataFrame{ s = { "a", nil, n = 2 } }) end, "impute them first")
  local g = prep.OneHotEncoder{ categories = { { "blue", "green", "red", "teal", "zebra" }, { "l", "m", "s", "xl" } } }:fit(frame(fx.frame))
  T.eq(g:transform(frame(fx.frame)):size(2), 9)
  T.raises(function() prep.OneHotEncoder{ categories = { { "red" }, { "m" } } }:fit(frame(fx.frame)) end, "not among the given categories")
  local path = T.tmpname(".safetensors")
  local inf = prep.OneHotEncoder{ handle_unknown = "infrequent_if_exist", min_frequency = 2 }:fit(frame(fx.frame))
  inf:save(path)
  local back = prep.load(path)
  T.ok(back:transform(frame(fx.frame)):equal(inf:transform(frame(fx.frame))))
  T.eq(table.concat(back:get_feature_names_out(), ","), table.concat(inf:get_feature_names_out(), ","))
  T.raises(function() e:transform(data.DataFrame({ color = { 1 }, size = { "m" } }, { columns = { "color", "size" } })) end,
    "column 'color' holds int64 values, but it held strings at fit")
end)

T.test("prep.OrdinalEncoder: codes, unknown_value and inverse as scikit-learn", function()
  local o = prep.OrdinalEncoder{ handle_unknown = "use_encoded_value", unknown_value = -1 }
  H.close(o:fit_transform(frame(fx.frame)), fx.ordinal.transform, 0, "transform")
  H.close(o:transform(frame(fx.ordinal.new)), fx.ordinal.transform_new, 0, "unknown")
  H.close(prep.OrdinalEncoder():fit_transform(H.mat(fx.ordinal.numeric_X)), fx.ordinal.numeric_transform, 0, "numeric")
  local back = o:inverse_transform(ml.tensor({ { 0, 1 } }, { dtype = "float64" }))
  T.eq(back:column("color"):get(1), "blue")
  T.eq(back:column("size"):get(1), "m")
  T.raises(function() prep.OrdinalEncoder():fit(frame(fx.frame)):transform(frame(fx.ordinal.new)) end, "unknown category 'pink' (row 1)")
  T.raises(function() prep.OrdinalEncoder{ handle_unknown = "use_encoded_value" } end, "needs unknown_value")
  T.raises(function() prep.OrdinalEncoder{ handle_unknown = "use_encoded_value", unknown_value = 1 }:fit(frame(fx.frame)) end,
    "unknown_value 1 is one of the codes")
  local m = prep.OrdinalEncoder():fit_transform(ml.tensor({ { 1 }, { 0 / 0 }, { 3 } }, { dtype = "float64" }))
  T.ok(m[2][1] ~= m[2][1], "missing stays NaN")
end)

T.test("prep.LabelEncoder: strings and numbers to 1..K and back, as scikit-learn's classes_ + 1", function()
  local L = fx.labels
  local le = prep.LabelEncoder():fit(L.fit)
  T.eq(table.concat(le.classes_, ","), table.concat(L.classes_, ","))
  T.eq(table.concat(le:transform({ "tokyo", "amsterdam", "paris" }):tolist(), ","), table.concat(L.transform, ","))
  T.eq(table.concat(le:inverse_transform({ 3, 1 }), ","), "tokyo,amsterdam")
  local ln = prep.LabelEncoder():fit(ml.tensor(L.numeric_fit))
  T.eq(table.concat(ln.classes_:tolist(), ","), "0,3,7") -- int64 labels keep int64 classes_, as scikit-learn's
  T.eq(table.concat(ln:transform(ml.tensor({ 7, 0 })):tolist(), ","), "3,1")
  T.all_near(ln:inverse_transform(ml.tensor({ 2, 3 }, { dtype = "int64" })), ml.tensor({ 3, 7 }, { dtype = "int64" }), 0)
  T.raises(function() le:transform({ "rome" }) end, "y contains the label 'rome' (position 1), which fit did not see")
  T.raises(function() le:inverse_transform({ 4 }) end, "class indices must be in 1..3")
  T.raises(function() prep.LabelEncoder():transform({ "a" }) end, "not fitted yet")
  local col = data.DataFrame{ s = { "b", "a", "b" } }:column("s")
  T.eq(table.concat(prep.LabelEncoder():fit_transform(col):tolist(), ","), "2,1,2")
  local path = T.tmpname(".safetensors")
  ln:save(path)
  T.eq(table.concat(prep.load(path):transform(ml.tensor({ 3 })):tolist(), ","), "2")
end)

T.test("prep.OneHotEncoder:inverse_transform: back to the values (drop, unknown rows as missing), frames for strings", function()
  local X = H.mat(fx.X)
  for _, o in ipairs({ {}, { drop = "first" }, { drop = "if_binary" } }) do
    local e = prep.OneHotEncoder(o):fit(X)
    T.ok(e:inverse_transform(e:transform(X)):equal(X), "numeric round trip")
  end
  local e = prep.OneHotEncoder{ drop = "first" }:fit(frame(fx.frame))
  local back = e:inverse_transform(e:transform(frame(fx.frame)))
  for i = 1, #fx.frame.color do
    T.eq(back:column("color"):get(i), fx.frame.color[i])
    T.eq(back:column("size"):get(i), fx.frame.size[i])
  end
  local ig = prep.OneHotEncoder{ handle_unknown = "ignore" }:fit(X)
  local u = ig:inverse_transform(ig:transform(H.mat(fx.X_unknown)))
  T.ok(u[1][1] ~= u[1][1], "an unknown value comes back missing")
  T.raises(function() ig:inverse_transform(ml.zeros(1, 3)) end, "X has 3 columns, expected")
  local inf = prep.OneHotEncoder{ min_frequency = 5 }:fit(X)
  T.raises(function() inf:inverse_transform(inf:transform(X)) end, "infrequent bucket")
end)
