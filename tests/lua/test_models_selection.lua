-- Splitters against scikit-learn 1.2 (tests/fixtures/selection/splits.json, scripts/gen_selection_fixtures.py),
-- and cross-validation (cross_val_score, cross_validate, cross_val_predict, curves, pipelines as estimators).
local models = ml.models
local fx = ml.json.decode(T.read_file("tests/fixtures/selection/splits.json"))

local function labels_of(v)
  if v == nil or v == ml.json.null then return nil end
  if type(v[1]) == "string" then return v end
  return ml.tensor(v, { dtype = "int64" })
end

for _, c in ipairs(fx.cases) do
  T.test("models." .. c.class .. " " .. c.name .. ": scikit-learn's folds exactly", function()
    local cv = models[c.class](c.opts)
    local folds = cv:split(ml.zeros(c.n, 2), labels_of(c.y), labels_of(c.groups))
    T.eq(#folds, #c.folds, "number of folds")
    T.eq(cv:get_n_splits(), #c.folds, "get_n_splits")
    for i, f in ipairs(c.folds) do
      T.eq(folds[i].train:dtype(), "int64")
      T.eq(table.concat(folds[i].train:tolist(), ","), table.concat(f.train, ","), "train of fold " .. i)
      T.eq(table.concat(folds[i].test:tolist(), ","), table.concat(f.test, ","), "test of fold " .. i)
    end
  end)
end

local function class_counts(y, idx, classes)
  local out = {}
  local sub = y:index_select(1, idx)
  for k, c in ipairs(classes) do out[k] = sub:eq(c):sum():item() end
  return out
end

for _, c in ipairs(fx.strat) do
  T.test("models." .. c.class .. " shuffled: per-class fold counts as scikit-learn's, seeded, disjoint", function()
    local y = ml.tensor(c.y, { dtype = "int64" })
    local classes = { 0, 1, 2, 5 }
    local cv = models[c.class](c.opts)
    local folds = cv:split(ml.zeros(#c.y, 1), y)
    T.eq(#folds, #c.counts)
    local again = cv:split(ml.zeros(#c.y, 1), y)
    for i, want in ipairs(c.counts) do
      local got_test = class_counts(y, folds[i].test, classes)
      local got_train = class_counts(y, folds[i].train, classes)
      if c.class == "StratifiedKFold" then
        -- fold allocation is deterministic in scikit-learn: exact counts
        T.eq(table.concat(got_test, ","), table.concat(want.test, ","), "test counts of fold " .. i)
      else
        -- _approximate_mode breaks ties at random: each class within one of scikit-learn's
        for k = 1, #classes do T.ok(math.abs(got_test[k] - want.test[k]) <= 1, "test count of class " .. classes[k]) end
        T.eq(folds[i].test:numel(), want.test[1] + want.test[2] + want.test[3] + want.test[4], "test size")
        T.eq(folds[i].train:numel(), want.train[1] + want.train[2] + want.train[3] + want.train[4], "train size")
      end
      local seen = {}
      for _, v in ipairs(folds[i].train:tolist()) do seen[v] = true end
      for _, v in ipairs(folds[i].test:tolist()) do T.ok(not seen[v], "train and test overlap") end
      T.eq(table.concat(again[i].test:tolist(), ","), table.concat(folds[i].test:tolist(), ","), "random_state repeats")
    end
  end)
end

T.test("models.ShuffleSplit: train and test sizes as scikit-learn's", function()
  for _, c in ipairs(fx.sizes) do
    local opts = { n_splits = 1, random_state = 0 }
    for k, v in pairs(c.opts) do opts[k] = v end
    local f = models.ShuffleSplit(opts):split(ml.zeros(c.n, 1))[1]
    T.eq(f.train:numel(), c.train, "train size n=" .. c.n)
    T.eq(f.test:numel(), c.test, "test size n=" .. c.n)
  end
end)

T.test("splitters: shuffled folds partition the rows; random_state leaves the caller's stream alone", function()
  ml.seed(5)
  local a = ml.rand(1):item()
  ml.seed(5)
  local folds = models.KFold { n_splits = 4, shuffle = true, random_state = 3 }:split(ml.zeros(22, 1))
  T.eq(ml.rand(1):item(), a, "the stream after the split")
  local seen = {}
  for _, f in ipairs(folds) do for _, v in ipairs(f.test:tolist()) do T.ok(not seen[v]) seen[v] = true end end
  for i = 1, 22 do T.ok(seen[i], "row " .. i .. " in no test fold") end
  local r = models.RepeatedKFold { n_splits = 3, n_repeats = 4, random_state = 0 }
  T.eq(#r:split(ml.zeros(9, 1)), 12)
  T.eq(r:get_n_splits(), 12)
end)

T.test("splitters: bad input is a clear error", function()
  T.raises(function() models.KFold { n_splits = 1 } end, "n_splits")
  T.raises(function() models.KFold { n_split = 3 } end, "did you mean 'n_splits'")
  T.raises(function() models.KFold { n_splits = 5 }:split(ml.zeros(3, 1)) end, "n_splits=5 greater than the number of samples n_samples=3")
  T.raises(function() models.StratifiedKFold {}:split(ml.zeros(10, 1)) end, "needs y")
  T.raises(function() models.StratifiedKFold { n_splits = 4 }:split(ml.zeros(5, 1), { 1, 1, 1, 2, 2 }) end, "number of members")
  T.raises(function() models.StratifiedKFold {}:split(ml.zeros(5, 1), { 1, 2 }) end, "X has 5 rows but y has 2 values")
  T.raises(function() models.GroupKFold { n_splits = 3 }:split(ml.zeros(4, 1), nil, { 1, 1, 2, 2 }) end, "number of groups")
  T.raises(function() models.GroupKFold {}:split(ml.zeros(4, 1)) end, "needs groups")
  T.raises(function() models.ShuffleSplit { test_size = 1.5 }:split(ml.zeros(4, 1)) end, "test_size")
  T.raises(function() models.StratifiedShuffleSplit { test_size = 0.5 }:split(ml.zeros(4, 1), { 1, 2, 2, 2 }) end, "only 1 member")
  T.raises(function() models.TimeSeriesSplit { n_splits = 5 }:split(ml.zeros(5, 1)) end, "n_folds=6")
  T.raises(function() models.KFold {}:split("x") end, "models.KFold:split: X must be")
end)
