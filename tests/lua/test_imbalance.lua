-- prep's class-imbalance tools against imbalanced-learn 0.10 and scikit-learn 1.2
-- (fixtures by scripts/gen_imbalance_fixtures.py): the samplers' counts per
-- class for every sampling strategy, the statistics of their output, that
-- synthetic rows lie on segments to a k-nearest neighbour (found here
-- independently of the kernel), BorderlineSMOTE's danger set, ADASYN's
-- generation counts; class and sample weights; KNNImputer.
local F = dofile("tests/fixtures/imbalance/imbalance.lua")
local prep = ml.prep
local persist = require "moonlab.core.persist"
local tt = T.fixture_tensor

-- The sampler a fixture run names, with its options.
local function make(run, extra)
  local name, opts = run.sampler, {}
  if name == "RandomOverSampler_shrink" then name, opts = "RandomOverSampler", { shrinkage = 1.0 }
  elseif name == "RandomUnderSampler_repl" then name, opts = "RandomUnderSampler", { replacement = true }
  elseif name == "BorderlineSMOTE1" then name, opts = "BorderlineSMOTE", { kind = "borderline-1" }
  elseif name == "BorderlineSMOTE2" then name, opts = "BorderlineSMOTE", { kind = "borderline-2" } end
  opts.sampling_strategy = run.strategy_value
  for k, v in pairs(extra or {}) do opts[k] = v end
  return prep[name](opts)
end

local function rows_of(y, c) return ml.arange(1, y:numel() + 1):masked_select(y:eq(c)) end

-- k nearest rows of R for each row of Q (1-based), from the full distance matrix sorted in Lua's test,
-- leaving out row skip[i] of query i when skip is given (not the kernel under test).
local function knn_reference(Q, R, k, skip)
  local D = (Q * Q):sum(2, true) - Q:matmul(R:t()) * 2 + (R * R):sum(2):reshape(1, -1)
  if skip then D = D:scatter_add(2, skip:reshape(-1, 1), ml.full({ Q:shape()[1], 1 }, math.huge, { dtype = D:dtype() })) end
  local _, idx = D:sort(2)
  return idx:narrow(2, 1, k)
end

-- Whether every row of P lies on a segment A[r] + t (B[r] - A[r]), 0 <= t <= tmax, for some pair r.
local function on_segments(P, A, B, tmax)
  local diff = B - A
  local len2 = (diff * diff):sum(2)
  for i = 1, P:shape()[1] do
    local pa = P:narrow(1, i, 1) - A
    local t = (pa * diff):sum(2) / len2
    local res = (pa - t:reshape(-1, 1) * diff):abs():max(2)
    local ok = res:lt(1e-9):long() + t:ge(-1e-12):long() + t:le(tmax + 1e-12):long()
    if ok:eq(3):sum():item() == 0 then return false, i end
  end
  return true
end

T.test("every sampler gives imblearn's counts per class for every sampling strategy", function()
  for _, ds in ipairs(F.datasets) do
    local X, y = tt(ds.X), tt(ds.y)
    for _, run in ipairs(ds.runs) do
      local Xr, yr = make(run, { seed = 1 }):fit_resample(X, y)
      T.eq(Xr:shape()[1], yr:numel())
      for c, n in pairs(run.counts) do
        local got = yr:eq(c):sum():item()
        local what = string.format("%s %s %s class %d", ds.name, run.sampler, tostring(run.strategy), c)
        if run.sampler == "BorderlineSMOTE2" then
          -- its two parts split n by a Beta(10, 10) draw and round each down: n - 1 or n
          T.ok(math.abs(got - n) <= 1, what .. ": " .. got .. " vs " .. n)
        else
          T.eq(got, n, what)
        end
      end
    end
  end
end)

T.test("the per-class means of the output are imblearn's, within sampling error", function()
  for _, ds in ipairs(F.datasets) do
    local X, y = tt(ds.X), tt(ds.y)
    for _, run in ipairs(ds.runs) do
      local Xr, yr = make(run, { seed = 2 }):fit_resample(X, y)
      for c, mean in pairs(run.means) do
        local sd = X:index_select(1, rows_of(y, c)):std(1)
        local n = run.counts[c]
        local dev = ((Xr:index_select(1, rows_of(yr, c)):mean(1) - tt(mean)):abs() / sd):max():item()
        T.ok(dev <= 4 * math.sqrt(2 / n), string.format("%s %s %s class %d: %.3f sd from imblearn's mean", ds.name,
          run.sampler, tostring(run.strategy), c, dev))
      end
    end
  end
end)

T.test("the output holds the originals first, then the new rows class by class", function()
  local ds = F.datasets[1]
  local X, y = tt(ds.X), tt(ds.y)
  for _, name in ipairs({ "RandomOverSampler", "SMOTE", "BorderlineSMOTE", "ADASYN" }) do
    local Xr, yr = prep[name]{ seed = 0 }:fit_resample(X, y)
    T.ok(Xr:narrow(1, 1, 400):equal(X) and yr:narrow(1, 1, 400):equal(y), name .. ": originals first")
    local tail = yr:narrow(1, 401, yr:numel() - 400)
    local _, order = tail:sort()
    T.ok(order:equal(ml.arange(1, tail:numel() + 1)), name .. ": new rows grouped by class in label order")
  end
  -- under-sampling: kept rows class by class, each an original row of its class
  local Xu, yu = prep.RandomUnderSampler{ seed = 0 }:fit_resample(X, y)
  local _, order = yu:sort()
  T.ok(order:equal(ml.arange(1, yu:numel() + 1)), "under-sampled rows grouped by class")
  local us = prep.RandomUnderSampler{ seed = 0 }
  local Xu2 = us:fit_resample(X, y)
  T.ok(Xu2:equal(X:index_select(1, us.sample_indices_)), "sample_indices_ are the rows kept")
end)

T.test("SMOTE's new rows lie on segments between a class row and one of its k nearest class neighbours", function()
  for _, ds in ipairs(F.datasets) do
    local X, y = tt(ds.X), tt(ds.y)
    local sm = prep.SMOTE{ k_neighbors = 5, seed = 3 }
    local Xr, yr = sm:fit_resample(X, y)
    local n = X:shape()[1]
    for c, add in pairs(sm.sampling_strategy_) do
      if add > 0 then
        local Xc = X:index_select(1, rows_of(y, c))
        local nn = knn_reference(Xc, Xc, 5, ml.arange(1, Xc:shape()[1] + 1))
        local A = Xc:index_select(1, ml.arange(1, Xc:shape()[1] + 1):reshape(-1, 1):expand(Xc:shape()[1], 5):reshape(-1))
        local B = Xc:index_select(1, nn:reshape(-1))
        local new = Xr:narrow(1, n + 1, Xr:shape()[1] - n):index_select(1, rows_of(yr:narrow(1, n + 1, yr:numel() - n), c))
        T.eq(new:shape()[1], add)
        local ok, bad = on_segments(new, A, B, 1)
        T.ok(ok, string.format("%s class %d: new row %s is on no segment to a 5-NN", ds.name, c, tostring(bad)))
      end
    end
  end
end)

T.test("BorderlineSMOTE's danger set is imblearn's; borderline-1 rows start from a point in danger", function()
  for _, ds in ipairs(F.datasets) do
    local X, y = tt(ds.X), tt(ds.y)
    local b = prep.BorderlineSMOTE{ seed = 4 }
    local Xr, yr = b:fit_resample(X, y)
    local n = X:shape()[1]
    for c, chk in pairs(ds.checks) do
      T.all_near(b.in_danger_[c], tt(chk.danger), 0, ds.name .. " class " .. c)
      local Xc = X:index_select(1, rows_of(y, c))
      local drows = ml.arange(1, Xc:shape()[1] + 1):masked_select(b.in_danger_[c])
      local nd = drows:numel()
      local nn = knn_reference(Xc:index_select(1, drows), Xc, 5, drows)
      local A = Xc:index_select(1, drows:reshape(-1, 1):expand(nd, 5):reshape(-1))
      local new = Xr:narrow(1, n + 1, Xr:shape()[1] - n):index_select(1, rows_of(yr:narrow(1, n + 1, yr:numel() - n), c))
      T.ok(on_segments(new, A, Xc:index_select(1, nn:reshape(-1)), 1), ds.name .. " class " .. c .. ": off the danger segments")
    end
  end
end)

T.test("borderline-2 steps up to half way towards the nearest rows of the other classes", function()
  local ds = F.datasets[2]
  local X, y = tt(ds.X), tt(ds.y)
  local b = prep.BorderlineSMOTE{ kind = "borderline-2", seed = 5 }
  local Xr, yr = b:fit_resample(X, y)
  local n = X:shape()[1]
  local c = 0
  local Xc = X:index_select(1, rows_of(y, c))
  local Xo = X:index_select(1, ml.arange(1, n + 1):masked_select(y:ne(c)))
  local drows = ml.arange(1, Xc:shape()[1] + 1):masked_select(b.in_danger_[c])
  local nd = drows:numel()
  local Xd = Xc:index_select(1, drows)
  local A = Xd:index_select(1, ml.arange(1, nd + 1):reshape(-1, 1):expand(nd, 5):reshape(-1))
  local same = Xc:index_select(1, knn_reference(Xd, Xc, 5, drows):reshape(-1))
  local other = Xo:index_select(1, knn_reference(Xd, Xo, 5):reshape(-1))
  local new = Xr:narrow(1, n + 1, Xr:shape()[1] - n)
  local on_same, on_other = 0, 0
  for i = 1, new:shape()[1] do
    local p = new:narrow(1, i, 1)
    if on_segments(p, A, same, 1) then on_same = on_same + 1
    elseif on_segments(p, A, other, 0.5) then on_other = on_other + 1 end
  end
  T.eq(on_same + on_other, new:shape()[1])
  T.ok(on_same > 0 and on_other > 0, "both parts present")
end)

T.test("ADASYN's generation counts per point follow its formula (and imblearn's)", function()
  for _, ds in ipairs(F.datasets) do
    local X, y = tt(ds.X), tt(ds.y)
    local a = prep.ADASYN{ seed = 6 }
    local Xr, yr = a:fit_resample(X, y)
    local n = X:shape()[1]
    for c, chk in pairs(ds.checks) do
      local gen = a.generation_counts_[c]
      T.all_near(gen, tt(chk.adasyn), 0, ds.name .. " class " .. c .. " vs imblearn")
      -- the formula, from neighbours found here: share of other-class rows among the 5 nearest, normalized
      local rows = rows_of(y, c)
      local nn = knn_reference(X:index_select(1, rows), X, 5, rows)
      local other = y:index_select(1, nn:reshape(-1)):ne(c):reshape(-1, 5):sum(2):double()
      local want = (other / other:sum() * a.sampling_strategy_[c] + 0.5):floor_divide(1)
      T.ok((gen:double() - want):abs():max():item() <= 1, "rint of the formula")
      T.eq(yr:narrow(1, n + 1, yr:numel() - n):eq(c):sum():item(), gen:sum():item())
      -- each new row starts from a row of the class and ends at one of its 5 nearest class neighbours
      local Xc = X:index_select(1, rows)
      local nc = Xc:shape()[1]
      local cn = knn_reference(Xc, Xc, 5, ml.arange(1, nc + 1))
      local A = Xc:index_select(1, ml.arange(1, nc + 1):reshape(-1, 1):expand(nc, 5):reshape(-1))
      local new = Xr:narrow(1, n + 1, Xr:shape()[1] - n):index_select(1, rows_of(yr:narrow(1, n + 1, yr:numel() - n), c))
      T.ok(on_segments(new, A, Xc:index_select(1, cn:reshape(-1)), 1), "ADASYN rows on segments")
    end
  end
end)

T.test("a seed gives the same rows and leaves the global stream alone; labels of any integers", function()
  local ds = F.datasets[2] -- labels 0 and 5
  local X, y = tt(ds.X), tt(ds.y)
  ml.seed(99)
  local before = ml.random_state()
  local X1, y1 = prep.SMOTE{ seed = 7 }:fit_resample(X, y)
  T.eq(ml.random_state(), before)
  local X2 = prep.SMOTE{ seed = 7 }:fit_resample(X, y)
  local X3 = prep.SMOTE{ seed = 8 }:fit_resample(X, y)
  T.ok(X1:equal(X2), "same seed, same rows")
  T.ok(not X1:equal(X3), "another seed, other rows")
  T.eq(y1:eq(0):sum():item(), y1:eq(5):sum():item())
  -- float32 X stays float32; float labels come back as floats
  local Xf, yf = prep.SMOTE{ seed = 1 }:fit_resample(X:float(), y:double())
  T.eq(Xf:dtype(), "float32")
  T.eq(yf:dtype(), "float64")
  -- a Lua list of labels works too
  local _, yl = prep.RandomOverSampler{ seed = 1 }:fit_resample(X, y:tolist())
  T.eq(yl:numel(), 2 * y:eq(5):sum():item())
end)

T.test("sampling_strategy may be a function of y giving {[class] = count}", function()
  local ds = F.datasets[1]
  local X, y = tt(ds.X), tt(ds.y)
  local seen
  local s = prep.SMOTE{ seed = 0, sampling_strategy = function(labels)
    seen = labels:numel()
    return { [1] = 100 }
  end }
  local _, yr = s:fit_resample(X, y)
  T.eq(seen, 400)
  T.eq(yr:eq(1):sum():item(), 100)
  T.eq(yr:numel(), 400 + 100 - y:eq(1):sum():item())
  T.raises(function() prep.SMOTE{ sampling_strategy = function() return 3 end }:fit_resample(X, y) end, "function returned 3")
end)

T.test("RandomOverSampler: bootstrap rows are copies; shrinkage adds noise of the class's scale", function()
  local ds = F.datasets[1]
  local X, y = tt(ds.X), tt(ds.y)
  local ros = prep.RandomOverSampler{ seed = 0 }
  local Xr, yr = ros:fit_resample(X, y)
  T.ok(Xr:equal(X:index_select(1, ros.sample_indices_)), "rows are X[sample_indices_]")
  T.ok(yr:equal(y:index_select(1, ros.sample_indices_)), "labels follow")
  local Xs = prep.RandomOverSampler{ seed = 0, shrinkage = 1.0 }:fit_resample(X, y)
  T.ok(Xs:narrow(1, 1, 400):equal(X), "originals unchanged")
  T.ok(not Xs:narrow(1, 401, Xs:shape()[1] - 400):equal(Xr:narrow(1, 401, Xr:shape()[1] - 400)), "noise added")
  local z = prep.RandomOverSampler{ seed = 0, shrinkage = 0 }
  local Xz = z:fit_resample(X, y)
  T.ok(Xz:equal(X:index_select(1, z.sample_indices_)), "shrinkage 0: copies of the drawn rows")
end)

T.test("samplers take data frames: rows taken by random samplers, numeric columns for SMOTE", function()
  local data = ml.data
  local df = data.DataFrame({ a = { 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0 }, b = { 0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4 },
    name = { "p", "q", "r", "s", "t", "u", "v", "w" } }, { columns = { "a", "b", "name" } })
  local y = ml.tensor({ 1, 1, 1, 1, 1, 1, 2, 2 }, { dtype = "int64" })
  local dr, yr = prep.RandomOverSampler{ seed = 0 }:fit_resample(df, y)
  T.ok(data.DataFrame.is(dr), "a frame back")
  T.eq(#dr, 12)
  T.eq(dr:column("name"):get(1), "p")
  local g = dr:column("name"):get(10)
  T.ok(g == "v" or g == "w", "a minority row's name")
  local du = prep.RandomUnderSampler{ seed = 0 }:fit_resample(df, y)
  T.eq(#du, 4)
  T.raises(function() prep.SMOTE{ k_neighbors = 1 }:fit_resample(df, y) end, "column 'name' is string")
  local ds, ys = prep.SMOTE{ k_neighbors = 1, seed = 0 }:fit_resample(df[{ "a", "b" }], y)
  T.eq(table.concat(ds.columns, ","), "a,b")
  T.eq(#ds, 12)
  T.eq(ys:eq(2):sum():item(), 6)
end)

T.test("samplers refuse bad input with clear messages", function()
  local X = ml.randn({ 12, 2 }, { dtype = "float64" })
  local y = ml.tensor({ 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2 }, { dtype = "int64" })
  T.raises(function() prep.SMOTE():fit_resample(X, y) end,
    "prep.SMOTE: the minority class 2 has 3 samples, fewer than k_neighbors + 1 = 6")
  T.raises(function() prep.ADASYN{ n_neighbors = 3 }:fit_resample(X, y) end, "fewer than n_neighbors + 1 = 4")
  T.raises(function() prep.SMOTE():fit_resample(X, ml.ones({ 12 }, { dtype = "int64" })) end,
    "prep.SMOTE: y holds one class only (1)")
  T.raises(function() prep.SMOTE():fit_resample(X:reshape(-1), y) end, "X must be 2-D")
  T.raises(function() prep.SMOTE():fit_resample(X, y:narrow(1, 1, 10)) end, "X has 12 rows but y has 10 labels")
  T.raises(function() prep.SMOTE():fit_resample(X, ml.ones({ 12, 2 }, { dtype = "int64" })) end, "one label per row")
  T.raises(function() prep.SMOTE():fit_resample(X, y:double() + 0.5) end, "not integers")
  T.raises(function() prep.SMOTE():fit_resample("X", y) end, "X must be a tensor")
  local Xn = X:clone()
  Xn[3][1] = 0 / 0
  T.raises(function() prep.SMOTE{ k_neighbors = 2 }:fit_resample(Xn, y) end, "X holds 1 NaN or infinite values")
  T.raises(function() prep.BorderlineSMOTE{ k_neighbors = 2 }:fit_resample(Xn, y) end, "prep.BorderlineSMOTE: X holds 1 NaN")
  T.raises(function() prep.SMOTE{ sampling_strategy = "not majorty" } end, "did you mean 'not majority'?")
  T.raises(function() prep.SMOTE{ k_neighbours = 3 } end, "unknown option 'k_neighbours'")
  T.raises(function() prep.SMOTE{ k_neighbors = 0 } end, "k_neighbors must be at least 1")
  T.raises(function() prep.SMOTE{ sampling_strategy = 1.5 } end, "sampling_strategy (a ratio) must be a number in [0, 1]")
  T.raises(function() prep.SMOTE{ sampling_strategy = "majority" }:fit_resample(X, y) end, "cannot be used with an over-sampler")
  T.raises(function() prep.RandomUnderSampler{ sampling_strategy = "minority" }:fit_resample(X, y) end,
    "cannot be used with an under-sampler")
  T.raises(function() prep.SMOTE{ sampling_strategy = { [3] = 10 } }:fit_resample(X, y) end, "names class 3, which y does not hold")
  T.raises(function() prep.RandomOverSampler{ sampling_strategy = { [2] = 2 } }:fit_resample(X, y) end,
    "is fewer than the 3 rows class 2 has")
  T.raises(function() prep.RandomUnderSampler{ sampling_strategy = { [1] = 20 } }:fit_resample(X, y) end,
    "is more than the 9 rows class 1 has")
  T.raises(function() prep.RandomOverSampler{ sampling_strategy = 0.1 }:fit_resample(X, y) end, "increase the ratio")
  local y3 = ml.tensor({ 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3 }, { dtype = "int64" })
  T.raises(function() prep.SMOTE{ sampling_strategy = 0.5 }:fit_resample(X, y3) end, "a float sampling_strategy needs binary y")
  T.raises(function() prep.BorderlineSMOTE{ kind = "borderline-3" } end, "did you mean")
  T.raises(function() prep.RandomOverSampler{ shrinkage = -1 } end, "shrinkage must be a number >= 0")
  local sep = ml.cat({ ml.randn({ 9, 2 }, { dtype = "float64" }), ml.randn({ 3, 2 }, { dtype = "float64" }) + 100 }, 1)
  T.raises(function() prep.ADASYN{ n_neighbors = 2 }:fit_resample(sep, y) end, "use prep.SMOTE")
  -- NaN passes through the random samplers, as imblearn's
  local Xo = prep.RandomOverSampler{ seed = 0 }:fit_resample(Xn, y)
  T.eq(Xo:shape()[1], 18)
end)

-- ---- class and sample weights ------------------------------------------------

T.test("class_weights and sample_weights equal scikit-learn's", function()
  local W = F.weights
  local y = tt(W.y)
  T.all_near(prep.class_weights(y, "balanced"), tt(W.balanced), 1e-15)
  T.all_near(prep.class_weights(y, W.dict), tt(W.dict_weights), 0)
  T.all_near(prep.sample_weights(y, "balanced"), tt(W.sample_balanced), 1e-15)
  T.all_near(prep.sample_weights(y, W.dict), tt(W.sample_dict), 0)
  T.all_near(prep.sample_weights(tt(W.y_any), "balanced"), tt(W.sample_any), 1e-15)
  T.eq(prep.class_weights(y, "balanced", { dtype = "float32" }):dtype(), "float32")
  T.eq(prep.class_weights(y:tolist(), { [2] = 3 }, { n_classes = 5 }):numel(), 5)
end)

T.test("class_weights refuse what has no weight", function()
  local y = ml.tensor({ 1, 1, 3 }, { dtype = "int64" })
  T.raises(function() prep.class_weights(y, "balanced") end, "class 2 of 1..3 does not occur in y")
  T.raises(function() prep.class_weights(y - 1, "balanced") end, "class labels must be 1..K")
  T.raises(function() prep.class_weights(y, "balance") end, "expected \"balanced\" or a table")
  T.raises(function() prep.class_weights(y, { [4] = 1 }) end, "outside the classes 1..3")
  T.raises(function() prep.class_weights(y, { [1] = -1 }) end, "must be a finite number >= 0")
  T.raises(function() prep.sample_weights(y, { [7] = 1 }) end, "which y does not hold")
  T.raises(function() prep.class_weights(y, "balanced", { n_classes = 2 }) end, "more than n_classes = 2")
end)

T.test("fit takes class_weight = \"balanced\" or prep.class_weights' tensor; losses take its weight", function()
  local cw = require "moonlab.train.class_weight"
  local y = tt(F.weights.y)
  local crit = ml.nn.CrossEntropyLoss()
  local wb = cw.weights("balanced", y, crit)
  local wt = cw.weights(prep.class_weights(y, "balanced"), y, crit)
  T.all_near(wb, prep.sample_weights(y, "balanced"), 1e-6)
  T.all_near(wt, wb, 1e-6)
  T.eq(cw.check_keys("balanced", ml.zeros({ 2, 3 }), 1, 3), nil)
  T.ok(cw.check_keys(prep.class_weights(y, { [1] = 2 }, { n_classes = 4 }), ml.zeros({ 2, 3 }), 1, 3):find("key 4", 1, true))
  ml.seed(0)
  local X = ml.randn({ 22, 3 })
  local m = ml.nn.Sequential{ ml.nn.Linear(3, 3) }
  m:compile{ loss = ml.nn.CrossEntropyLoss(), optimizer = ml.optim.SGD(m:parameters(), { lr = 0.1 }) }
  local h = m:fit(X, y, { epochs = 2, verbose = 0, class_weight = "balanced" })
  T.ok(h.loss[2] == h.loss[2], "a finite loss")
  local weighted = ml.nn.CrossEntropyLoss{ weight = prep.class_weights(y, "balanced") }
  local logits = ml.randn({ 22, 3 })
  local want = (ml.nn.CrossEntropyLoss{ reduction = "none" }(logits, y) * wb):sum() / wb:sum()
  T.near(weighted(logits, y):item(), want:item(), 1e-5)
end)

-- ---- KNNImputer ----------------------------------------------------------------

T.test("KNNImputer equals scikit-learn's KNNImputer to 1e-10", function()
  local I = F.impute
  for _, c in ipairs(I.cases) do
    local imp = prep.KNNImputer{ n_neighbors = c.k, weights = c.weights }
    local what = string.format("%s k=%d %s", c.fit, c.k, c.weights)
    T.all_near(imp:fit_transform(tt(I[c.fit])), tt(c.fit_transform), 1e-10, what .. " fit_transform")
    T.all_near(imp:transform(tt(I.N)), tt(c.transform), 1e-10, what .. " transform")
  end
end)

T.test("KNNImputer with add_indicator equals scikit-learn's", function()
  local I = F.impute
  local imp = prep.KNNImputer{ n_neighbors = 3, add_indicator = true }
  T.all_near(imp:fit_transform(tt(I.G)), tt(I.indicator.fit_transform), 1e-10)
  T.all_near(imp:transform(tt(I.N)), tt(I.indicator.transform), 1e-10)
  local df = ml.data.DataFrame({ a = { 1.0, 0 / 0, 3.0 }, b = { 2.0, 4.0, 6.0 } }, { columns = { "a", "b" } })
  local out = prep.KNNImputer{ n_neighbors = 1, add_indicator = true }:fit_transform(df)
  T.eq(table.concat(out.columns, ","), "a,b,missingindicator_a")
  T.all_near(out.missingindicator_a, { 0, 1, 0 }, 0)
end)

T.test("KNNImputer: frames, float32, missing_values, keep_empty_features, persist", function()
  local I = F.impute
  local G = tt(I.G)
  local imp = prep.KNNImputer{ n_neighbors = 3, keep_empty_features = true }
  local out = imp:fit_transform(G)
  T.eq(out:shape()[2], 5)
  T.all_near(out:select(2, 3), ml.zeros({ 40 }, { dtype = "float64" }), 0)
  T.all_near(out:index_select(2, ml.tensor({ 1, 2, 4, 5 }, { dtype = "int64" })), tt(I.cases[9].fit_transform), 1e-10)
  T.eq(prep.KNNImputer():fit_transform(G:float()):dtype(), "float32")
  local M = tt(I.F):masked_fill(tt(I.F):isnan(), -1)
  T.all_near(prep.KNNImputer{ missing_values = -1 }:fit_transform(M), tt(I.cases[5].fit_transform), 1e-10)
  local df = ml.data.DataFrame({ a = { 1.0, 0 / 0, 3.0, 4.0 }, b = { 2, 4, 6, 8 } }, { columns = { "a", "b" } })
  local fo = prep.KNNImputer{ n_neighbors = 2 }:fit_transform(df)
  T.ok(ml.data.DataFrame.is(fo), "a frame back")
  T.near(fo.a:tolist()[2], 2.0) -- rows 1 and 3 are nearest by b
  local path = T.tmpname(".safetensors")
  local fitted = prep.KNNImputer{ n_neighbors = 5, weights = "distance" }:fit(tt(I.F))
  persist.save(path, fitted)
  local back = persist.load(path)
  T.all_near(back:transform(tt(I.N)), tt(I.cases[6].transform), 1e-10)
  T.eq(back.weights, "distance")
end)

T.test("KNNImputer refuses bad input with clear messages", function()
  local imp = prep.KNNImputer()
  T.raises(function() imp:transform(ml.zeros({ 2, 2 }, { dtype = "float64" })) end, "prep.KNNImputer:transform: this KNNImputer is not fitted")
  imp:fit(tt(F.impute.F))
  T.raises(function() imp:transform(ml.zeros({ 2, 3 }, { dtype = "float64" })) end,
    "prep.KNNImputer:transform: X has 3 columns, expected 5 (the width seen by fit)")
  T.raises(function() imp:transform(ml.zeros({ 5 }, { dtype = "float64" })) end, "X must be 2-D")
  T.raises(function() prep.KNNImputer{ n_neighbors = 0 } end, "n_neighbors must be at least 1")
  T.raises(function() prep.KNNImputer{ weights = "distnce" } end, "did you mean 'distance'?")
  T.raises(function() prep.KNNImputer{ neighbors = 3 } end, "unknown option 'neighbors'")
  T.raises(function() prep.KNNImputer():fit(ml.tensor({ { 1, math.huge } }, { dtype = "float64" })) end, "infinite values")
end)

T.test("a saved KNNImputer loads in a fresh process (class.get finds prep's classes)", function()
  local path = T.tmpname(".safetensors")
  local I = F.impute
  persist.save(path, prep.KNNImputer{ n_neighbors = 3 }:fit(tt(I.F)))
  local script = T.tmpname(".lua")
  T.write_file(script, string.format([[
local imp = require("moonlab.core.persist").load(%q)
local F = dofile("tests/fixtures/imbalance/imbalance.lua")
local out = imp:transform(ml.tensor(F.impute.N.data, { dtype = "float64" }):reshape(F.impute.N.shape))
print(string.format("%%.17g", out:sum():item()))
]], path))
  local h = io.popen(T.BIN .. " " .. T.quote(script) .. " 2>&1")
  local got = h:read("a")
  h:close()
  local want = tt(I.cases[3].transform):sum():item()
  T.near(tonumber(got) or 0 / 0, want, 1e-12, "fresh process: " .. got)
end)
