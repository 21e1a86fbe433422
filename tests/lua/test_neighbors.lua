-- ml._neighbors: the brute-force nearest-neighbour kernel (runtime/ops/neighbors.c)
-- against scikit-learn's NearestNeighbors(algorithm="brute") and
-- nan_euclidean_distances (fixtures by scripts/gen_imbalance_fixtures.py),
-- and against a full distance matrix sorted in the test, on shapes that
-- cross the kernel's query blocks (64 rows) and reference tiles (1024 rows).
local F = dofile("tests/fixtures/imbalance/imbalance.lua")
local K = F.knn
local NB = ml._neighbors
local tt = T.fixture_tensor

-- The k nearest rows of R for each row of Q from the full distance matrix,
-- sorted stably (ties to the lower index), skipping row skip[i] when given.
local function reference_knn(Q, R, k, skip)
  local D = (Q * Q):sum(2, true) - Q:matmul(R:t()) * 2 + (R * R):sum(2):reshape(1, -1)
  if skip then
    D = D:scatter_add(2, skip:reshape(-1, 1), ml.full({ Q:shape()[1], 1 }, math.huge, { dtype = D:dtype() }))
  end
  local _, idx = D:sort(2)
  return idx:narrow(2, 1, k)
end

T.test("fixtures were made by scripts/gen_imbalance_fixtures.py version 1", function()
  T.eq(F.version, 1)
  T.eq(F.sklearn, "1.2.1")
  T.eq(F.imblearn, "0.10.0")
end)

T.test("kneighbors equals scikit-learn's brute force (indices, distances)", function()
  local idx, dist = NB.kneighbors(tt(K.Q), tt(K.X), K.k)
  T.eq(idx:dtype(), "int64")
  T.all_near(idx, tt(K.idx), 0)
  T.all_near(dist, tt(K.dist), 1e-12)
end)

T.test("kneighbors with exclude_self equals kneighbors() of a fitted NearestNeighbors", function()
  local X = tt(K.X)
  local idx, dist = NB.kneighbors(X, X, K.k, { exclude_self = true })
  T.all_near(idx, tt(K.self_idx), 0)
  T.all_near(dist, tt(K.self_dist), 1e-12)
end)

T.test("kneighbors in float32 equals scikit-learn's", function()
  local X = tt(K.X32)
  local idx, dist = NB.kneighbors(X:narrow(1, 1, 20), X, K.k32)
  T.eq(dist:dtype(), "float32")
  T.all_near(idx, tt(K.idx32), 0)
  T.all_near(dist:double(), tt(K.dist32), 1e-6)
end)

T.test("kneighbors across query blocks and reference tiles equals the sorted distance matrix", function()
  ml.seed(7)
  for _, dt in ipairs({ "float64", "float32" }) do
    local Q, R = ml.randn({ 300, 7 }, { dtype = dt }), ml.randn({ 4500, 7 }, { dtype = dt })
    local idx = NB.kneighbors(Q, R, 6)
    local want = reference_knn(Q:double(), R:double(), 6)
    -- float32 products round differently from the float64 reference: allow swaps of near ties
    local same = idx:eq(want):sum():item()
    if dt == "float64" then T.eq(same, 300 * 6) else T.ok(same >= 300 * 6 - 6, "float32 agreement " .. same) end
  end
end)

T.test("skip leaves out the given row of each query (1-based, 0 = none)", function()
  ml.seed(3)
  local R = ml.randn({ 50, 3 }, { dtype = "float64" })
  local rows = ml.tensor({ 5, 17, 33, 50 }, { dtype = "int64" })
  local Q = R:index_select(1, rows)
  local idx = NB.kneighbors(Q, R, 4, { skip = rows })
  T.all_near(idx, reference_knn(Q, R, 4, rows), 0)
  local got, r = idx:tolist(), rows:tolist()
  for i = 1, 4 do
    for j = 1, 4 do T.ok(got[i][j] ~= r[i], "skipped row came back") end
  end
  local none = NB.kneighbors(Q, R, 1, { skip = ml.zeros({ 4 }, { dtype = "int64" }) })
  T.all_near(none:reshape(-1), rows, 0) -- without skipping, each row is its own nearest
end)

T.test("ties go to the lower index (duplicated rows)", function()
  local R = ml.tensor({ { 0, 0 }, { 1, 0 }, { 1, 0 }, { 0, 1 }, { 1, 0 } }, { dtype = "float64" })
  local idx, dist = NB.kneighbors(ml.tensor({ { 1, 0 } }, { dtype = "float64" }), R, 4)
  T.all_near(idx, { { 2, 3, 5, 1 } }, 0)
  T.all_near(dist, { { 0, 0, 0, 1 } }, 1e-15)
  local idx2 = NB.kneighbors(R, R, 2, { exclude_self = true })
  T.all_near(idx2:narrow(1, 2, 1), { { 3, 5 } }, 0)
end)

T.test("the result does not depend on the thread count", function()
  ml.seed(11)
  local Q, R = ml.randn({ 700, 5 }, { dtype = "float64" }), ml.randn({ 3000, 5 }, { dtype = "float64" })
  local before = ml.threads()
  ml.threads(1)
  local i1, d1 = NB.kneighbors(Q, R, 5)
  ml.threads(2)
  local i2, d2 = NB.kneighbors(Q, R, 5)
  ml.threads(before)
  T.ok(i1:equal(i2) and d1:equal(d2), "1 and 2 threads differ")
end)

T.test("non-contiguous inputs are read as their values", function()
  ml.seed(5)
  local R = ml.randn({ 6, 40 }, { dtype = "float64" }):t() -- [40, 6], transposed strides
  local idx = NB.kneighbors(R, R, 3, { exclude_self = true })
  T.all_near(idx, NB.kneighbors(R:contiguous(), R:contiguous(), 3, { exclude_self = true }), 0)
end)

T.test("kneighbors refuses bad input with a clear message", function()
  local R = ml.randn({ 10, 3 }, { dtype = "float64" })
  T.raises(function() NB.kneighbors(R, R, 11) end, "k = 11, expected 1..10")
  T.raises(function() NB.kneighbors(R, R, 10, { exclude_self = true }) end, "k = 10, expected 1..9")
  T.raises(function() NB.kneighbors(R, R, 0) end, "k = 0")
  T.raises(function() NB.kneighbors(R, ml.randn({ 10, 4 }, { dtype = "float64" }), 2) end, "like the queries")
  T.raises(function() NB.kneighbors(R, R:float(), 2) end, "like the queries")
  T.raises(function() NB.kneighbors(R:reshape(-1), R, 2) end, "must be 2-D")
  T.raises(function() NB.kneighbors(R:long(), R, 2) end, "float32 or float64")
  T.raises(function() NB.kneighbors(R:narrow(1, 1, 4), R, 2, { exclude_self = true }) end, "exclude_self needs")
  T.raises(function() NB.kneighbors(R, R, 2, { skip = ml.zeros({ 3 }, { dtype = "int64" }) }) end, "skip must be int64 [10]")
  T.raises(function() NB.kneighbors(R, R, 2, { skip = ml.full({ 10 }, 11) }) end, "skip[1] = 11")
  T.raises(function() NB.kneighbors(R, R, 2, { exlude_self = true }) end, "unknown option")
  local bad = R:clone()
  bad[2][2] = 0 / 0
  T.raises(function() NB.kneighbors(bad, R, 2) end, "NaN or infinite")
end)

T.test("nan_euclidean equals scikit-learn's nan_euclidean_distances", function()
  local I = F.impute
  local D = NB.nan_euclidean(tt(I.N), tt(I.F))
  T.all_near(D, tt(I.nan_dist), 1e-12)
end)
