-- QA of issue 9's ml.prep: regressions for what a pandas / scikit-learn user hit (see the qa-prep report).
local prep = ml.prep

T.test("qa9 prep.OneHotEncoder: float category names are Python's repr, as scikit-learn's get_feature_names_out", function()
  -- scikit-learn 1.2: x0_-0.25 x0_1e-05 x0_0.0001 x0_0.1 x0_0.3333333333333333 x0_2.5 x0_3.0 x0_9999999999999998.0 x0_1e+16 x0_1.5e+16 x0_1e+20
  local X = ml.tensor({ { 0.1 }, { 2.5 }, { 1e20 }, { 3.0 }, { 1e-5 }, { -0.25 }, { 1e16 }, { 1.5e16 }, { 9999999999999998 },
    { 0.0001 }, { 1 / 3 } }, { dtype = "float64" })
  local names = prep.OneHotEncoder():fit(X):get_feature_names_out()
  T.eq(table.concat(names, " "), "x1_-0.25 x1_1e-05 x1_0.0001 x1_0.1 x1_0.3333333333333333 x1_2.5 x1_3.0 "
    .. "x1_9999999999999998.0 x1_1e+16 x1_1.5e+16 x1_1e+20")
  local Xi = ml.tensor({ { 3 }, { -2 } }, { dtype = "int64" })
  T.eq(table.concat(prep.OneHotEncoder():fit(Xi):get_feature_names_out(), " "), "x1_-2 x1_3")
end)

T.test("qa9 prep.TfidfVectorizer: errors name the method once (no 'moonlab: ' prefix) and an empty corpus says so", function()
  local ok, err = pcall(function() prep.TfidfVectorizer { stop_words = "english" }:fit_transform({ "the a", "of the" }) end)
  T.ok(not ok)
  T.ok(not tostring(err):find("moonlab: ", 1, true), err)
  T.ok(tostring(err):find("prep.TfidfVectorizer:fit_transform: empty vocabulary", 1, true), err)
  T.raises(function() prep.TfidfVectorizer():fit_transform({}) end, "prep.TfidfVectorizer:fit_transform: no documents")
  T.raises(function() prep.CountVectorizer():fit({}) end, "prep.CountVectorizer:fit: no documents")
end)

T.test("qa9 prep scalers: a matrix of zero columns is a clear error at fit", function()
  T.raises(function() prep.StandardScaler():fit(ml.zeros(3, 0, { dtype = "float64" })) end,
    "prep.StandardScaler:fit: X has no columns")
  T.raises(function() prep.MinMaxScaler():fit_transform(ml.zeros(3, 0, { dtype = "float64" })) end,
    "prep.MinMaxScaler:fit: X has no columns")
end)

T.test("qa9 prep.KNNImputer: save/load, get_params/set_params and get_feature_names_out like the other transformers", function()
  ml.seed(3)
  local X = ml.randn(12, 3, { dtype = "float64" })
  X[2][2] = 0 / 0
  X[5][1] = 0 / 0
  local imp = prep.KNNImputer { n_neighbors = 3, weights = "distance", add_indicator = true }
  local out = imp:fit_transform(X)
  local path = T.tmpname(".safetensors")
  imp:save(path)
  local back = prep.load(path)
  T.all_near(back:transform(X), out, 0)
  T.eq(back.n_neighbors, 3)
  T.eq(back.weights, "distance")
  T.eq(table.concat(imp:get_feature_names_out(), " "), "x1 x2 x3 missingindicator_x1 missingindicator_x2")
  T.eq(imp:get_params().n_neighbors, 3)
  imp:set_params { n_neighbors = 2 }
  T.eq(imp.n_neighbors, 2)
  T.raises(function() imp:transform(X) end, "not fitted")
  T.raises(function() imp:set_params { n_neighbors = 0 } end, "n_neighbors must be at least 1")
  -- in a ColumnTransformer, its names come out prefixed
  local df = ml.data.DataFrame({ a = { 1, 0 / 0, 3, 4 }, b = { 2, 3, 0 / 0, 1 }, s = { "x", "y", "x", "y" } },
    { columns = { "a", "b", "s" } })
  local ct = prep.ColumnTransformer({ { "k", prep.KNNImputer { n_neighbors = 1 }, "number" }, { "o", prep.OneHotEncoder(), "text" } })
  ct:fit_transform(df)
  T.eq(table.concat(ct:get_feature_names_out(), " "), "k__a k__b o__s_x o__s_y")
end)

T.test("qa9 prep encoders: int64 IDs beyond 2^53 stay distinct (OneHotEncoder, OrdinalEncoder, LabelEncoder)", function()
  -- built from a CSV: the exact int64 values of the file (scikit-learn keeps them distinct too)
  local path = T.tmpname(".csv")
  T.write_file(path, "id\n9007199254740993\n9007199254740992\n9223372036854775807\n9007199254740993\n")
  local df = ml.data.read_csv(path)
  local ohe = prep.OneHotEncoder():fit(df)
  T.eq(table.concat(ohe:get_feature_names_out(), " "), "id_9007199254740992 id_9007199254740993 id_9223372036854775807")
  T.all_near(ohe:transform(df), ml.tensor({ { 0, 1, 0 }, { 1, 0, 0 }, { 0, 0, 1 }, { 0, 1, 0 } }, { dtype = "float64" }), 0)
  local back = T.tmpname(".safetensors")
  ohe:save(back)
  T.all_near(prep.load(back):transform(df), ohe:transform(df), 0)
  T.all_near(prep.OrdinalEncoder():fit_transform(df), ml.tensor({ { 1 }, { 0 }, { 2 }, { 1 } }, { dtype = "float64" }), 0)
  local ids = df:column("id").values
  local le = prep.LabelEncoder():fit(ids)
  T.eq(le.classes_:dtype(), "int64")
  T.eq(table.concat(le:transform(ids):tolist(), ","), "2,1,3,2")
  T.eq(le:inverse_transform({ 3 }):tolist()[1], math.maxinteger)
  T.raises(function() prep.OneHotEncoder():fit(df:head(2)):transform(df) end, "unknown category 9223372036854775807")
end)

T.test("qa9 prep.LabelEncoder: int64 labels {0, 7} keep int64 classes_ and inverse_transform, as scikit-learn", function()
  local le = prep.LabelEncoder():fit(ml.tensor({ 0, 7, 7, 0 }, { dtype = "int64" }))
  T.eq(le.classes_:dtype(), "int64")
  T.eq(table.concat(le:transform(ml.tensor({ 7, 0 }, { dtype = "int64" })):tolist(), ","), "2,1")
  local inv = le:inverse_transform({ 2, 1 })
  T.eq(inv:dtype(), "int64")
  T.eq(table.concat(inv:tolist(), ","), "7,0")
  T.eq(table.concat(le:transform(ml.tensor({ 7.0, 0.0 }, { dtype = "float64" })):tolist(), ","), "2,1")
  T.raises(function() le:transform(ml.tensor({ 7.5 }, { dtype = "float64" })) end, "the label 7.5")
end)

T.test("qa9 prep.train_test_split: a stratify class with one member is named by its label, not its position", function()
  local X = ml.randn(6, 2)
  T.raises(function() prep.train_test_split(X, { stratify = ml.tensor({ 0, 0, 7, 0, 0, 0 }, { dtype = "int64" }), test_size = 0.5, seed = 1 }) end,
    "the class 7 of stratify has only 1 member")
  T.raises(function() prep.train_test_split(X, { stratify = { "a", "a", "b", "a", "a", "a" }, test_size = 0.5, seed = 1 }) end,
    "the class 'b' of stratify has only 1 member")
  local _, _, _, yt = prep.train_test_split(X, ml.tensor({ 0, 7, 0, 7, 0, 7 }, { dtype = "int64" }),
    { stratify = ml.tensor({ 0, 7, 0, 7, 0, 7 }, { dtype = "int64" }), test_size = 2, seed = 1 })
  T.eq(yt:eq(7):sum():item(), 1)
end)

T.test("qa9 prep.ColumnTransformer: one column by name as a string, as scikit-learn's ('description' for a vectorizer)", function()
  local df = ml.data.DataFrame({ description = { "red apple pie", "green apple", "red wine" }, price = { 1.0, 2.0, 4.0 } },
    { columns = { "description", "price" } })
  local ct = prep.ColumnTransformer({ { "txt", prep.CountVectorizer(), "description" }, { "num", prep.StandardScaler(), "price" } })
  local X = ct:fit_transform(df)
  T.eq(table.concat(ct:get_feature_names_out(), " "), "txt__apple txt__green txt__pie txt__red txt__wine num__price")
  T.eq(X:size(2), 6)
  local path = T.tmpname(".safetensors")
  ct:save(path)
  T.all_near(prep.load(path):transform(df), X, 0)
  T.raises(function() prep.ColumnTransformer({ { "x", prep.StandardScaler(), "numbr" } }):fit(df) end,
    "prep.ColumnTransformer:fit: entry 'x' selects 'numbr', which is neither a column of X nor a column kind")
  T.raises(function() prep.ColumnTransformer({ { "x", prep.StandardScaler(), "price" } }):fit(ml.randn(3, 2)) end,
    "selects the column 'price' by name, but X is a tensor")
end)

T.test("qa9 prep.CountVectorizer: a repeated vocabulary term is named", function()
  T.raises(function() prep.CountVectorizer { vocabulary = { "b", "a", "b" } } end, "the vocabulary repeats the term 'b' (entries 1 and 3)")
end)

T.test("qa9 prep scalers and SimpleImputer: infinity at fit is an error naming the column (scikit-learn refuses it too)", function()
  local X = ml.tensor({ { 1, 1 / 0 }, { 2, 2 }, { 3, 0 / 0 } }, { dtype = "float64" })
  for _, cls in ipairs({ "StandardScaler", "MinMaxScaler", "RobustScaler", "MaxAbsScaler", "SimpleImputer" }) do
    T.raises(function() prep[cls]():fit(X) end, "prep." .. cls .. ":fit: column 2 holds infinite values")
  end
  T.raises(function() prep.StandardScaler():fit(ml.tensor({ { -1 / 0 }, { 1 / 0 } }, { dtype = "float64" })) end, "column 1 holds infinite values")
  -- all-NaN columns and overflowing (finite) values are not infinity: fit as before
  T.ok(prep.StandardScaler():fit(ml.tensor({ { 1, 0 / 0 }, { 2, 0 / 0 } }, { dtype = "float64" })).mean_[1] == 1.5)
  T.ok(prep.RobustScaler():fit(ml.tensor({ { 1, 0 / 0 }, { 2, 0 / 0 } }, { dtype = "float64" })).center_[1] == 1.5)
  prep.StandardScaler():fit(ml.tensor({ { 1e308 }, { 1e308 } }, { dtype = "float64" }))
  T.eq(tostring(prep.SimpleImputer { strategy = "median" }):find("nan", 1, true), nil) -- the NaN default is not shown as changed
end)

T.test("qa9 prep save/load: string categories, labels, terms and fill values 'nan', 'inf', '-inf' stay strings", function()
  local df = ml.data.DataFrame { s = { "inf", "nan", "x", "-inf" } }
  local path = T.tmpname(".safetensors")
  local ohe = prep.OneHotEncoder():fit(df)
  ohe:save(path)
  local back = prep.load(path)
  T.all_near(back:transform(df), ohe:transform(df), 0)
  T.eq(table.concat(back:get_feature_names_out(), " "), "s_-inf s_inf s_nan s_x")
  local ord = prep.OrdinalEncoder():fit(df)
  ord:save(path)
  T.all_near(prep.load(path):transform(df), ord:transform(df), 0)
  local le = prep.LabelEncoder():fit({ "inf", "nan", "b" })
  le:save(path)
  T.eq(table.concat(prep.load(path):transform({ "nan", "inf" }):tolist(), ","), "3,2")
  local tf = prep.TfidfVectorizer():fit({ "nan inf", "inf" })
  tf:save(path)
  local tb = prep.load(path)
  T.eq(table.concat(tb:get_feature_names_out(), ","), "inf,nan")
  T.all_near(tb:transform({ "nan" }):to_dense(), tf:transform({ "nan" }):to_dense(), 0)
  local frame = ml.data.DataFrame { s = { "a", nil, "b", n = 3 } }
  local imp = prep.SimpleImputer { strategy = "constant", fill_value = "nan" }:fit(frame)
  imp:save(path)
  local filled = prep.load(path):transform(frame):column("s")
  T.eq(filled.pool:get(filled.values:tolist()[2]), "nan")
end)

T.test("qa9 ml.sparse rows: an out-of-range row is named as given, without a 'moonlab: ' prefix", function()
  local s = ml.sparse.from_dense(ml.eye(4, 3, { dtype = "float64" }))
  local ok, err = pcall(s.rows, s, { 5 })
  T.ok(not ok and not tostring(err):find("moonlab: ", 1, true) and tostring(err):find("sparse:rows: row 5 is outside 1..4", 1, true), err)
  T.raises(function() s:rows({ -5 }) end, "sparse:rows: row -5 is outside 1..4")
  T.raises(function() s:rows({ 0 }) end, "sparse:rows: row 0 is outside 1..4")
  T.all_near(s:rows({ -1 }):to_dense(), ml.eye(4, 3, { dtype = "float64" }):narrow(1, 4, 1), 0)
end)

T.test("qa9 prep.Normalizer: infinity is an error (it made the row NaN)", function()
  T.raises(function() prep.Normalizer():fit_transform(ml.tensor({ { 1 / 0, 1 } }, { dtype = "float64" })) end,
    "prep.Normalizer:transform: X has infinite values")
  T.all_near(prep.Normalizer { norm = "max" }:fit_transform(ml.tensor({ { 2, -4 } }, { dtype = "float64" })),
    ml.tensor({ { 0.5, -1 } }, { dtype = "float64" }), 0)
end)
