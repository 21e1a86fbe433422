-- Indexing, joining and sorting: index_select, gather, scatter_add,
-- masked_select, masked_fill, cat, stack, split, chunk, sort, topk.
-- Forward values against hand-computed ones (contiguous and strided inputs),
-- every error, and finite-difference gradients in float64.
local gradcheck = dofile("tests/lua/gradcheck.lua")

local t = ml.tensor
local D = { dtype = "float64" }
local L64 = { dtype = "int64" }
local function f64(x) return ml.tensor(x, D) end
local function rn(shape) return ml.randn(shape, D) end
local function shape(x) return "[" .. table.concat(x:shape(), ",") .. "]" end
ml.seed(7)

local x23 = t({ { 1, 2, 3 }, { 4, 5, 6 } })          -- int64 [2,3]
local f23 = t({ { 1, 2, 3 }, { 4, 5, 6 } }, D)        -- float64 [2,3]

-- ---- index_select -------------------------------------------------------

T.test("index_select: rows, columns, repeats, negative dim", function()
  T.all_near(x23:index_select(1, { 2, 1, 2 }), { { 4, 5, 6 }, { 1, 2, 3 }, { 4, 5, 6 } })
  T.all_near(x23:index_select(2, t({ 3, 1 })), { { 3, 1 }, { 6, 4 } })
  T.all_near(x23:index_select(-1, { 2 }), { { 2 }, { 5 } })
  T.all_near(ml.index_select(x23, 1, { 1 }), { { 1, 2, 3 } })
  T.eq(x23:index_select(1, { 2 }):dtype(), "int64")
  T.eq(f23:index_select(2, { 1 }):dtype(), "float64")
  T.eq(shape(x23:index_select(1, {})), "[0,3]")
  T.eq(shape(x23:index_select(2, t(2))), "[2,1]") -- a 0-d index keeps the dimension
end)

T.test("index_select: strided input, 3-D, bool and float32", function()
  local tt = x23:t() -- [3,2], not contiguous
  T.eq(tt:is_contiguous(), false)
  T.all_near(tt:index_select(1, { 3, 1 }), { { 3, 6 }, { 1, 4 } })
  T.all_near(tt:index_select(2, { 2 }), { { 4 }, { 5 }, { 6 } })
  local a = ml.arange(24):reshape(2, 3, 4)
  T.all_near(a:index_select(2, { 3, 1 }), { { { 8, 9, 10, 11 }, { 0, 1, 2, 3 } }, { { 20, 21, 22, 23 }, { 12, 13, 14, 15 } } })
  T.all_near(a:index_select(3, { 4, 4 }), { { { 3, 3 }, { 7, 7 }, { 11, 11 } }, { { 15, 15 }, { 19, 19 }, { 23, 23 } } })
  T.all_near(t({ true, false, true }):index_select(1, { 2, 3 }), { false, true })
  T.all_near(t({ 0.5, 1.5 }):index_select(1, { 2, 2, 1 }), { 1.5, 1.5, 0.5 })
end)

T.test("index_select: an embedding-sized lookup (the threaded row copy)", function()
  local w = ml.randn(1000, 64)
  local ids = ml.randint(1, 1001, { 5000 })
  local e = w:index_select(1, ids)
  T.eq(shape(e), "[5000,64]")
  for _, k in ipairs({ 1, 17, 2500, 5000 }) do
    T.all_near(e[k], w[ids[k]], 0)
  end
  local c = ml.randn(64, 1000):index_select(2, ids) -- last-dim element copies
  T.eq(shape(c), "[64,5000]")
end)

T.test("index_select: errors", function()
  T.raises(function() x23:index_select(1, { 7 }) end, "index_select: index 7 is out of range for dimension 1 of size 2")
  T.raises(function() x23:index_select(2, { 0 }) end, "index_select: index 0 is out of range for dimension 2 of size 3")
  T.raises(function() x23:index_select(2, { -1 }) end, "index_select: index -1 is out of range")
  T.raises(function() x23:index_select(1, t({ 1.0 })) end, "index_select: index must be an int64 tensor, got float32")
  T.raises(function() x23:index_select(1, { 1.5 }) end, "index_select: index table must hold integers, got float32")
  T.raises(function() x23:index_select(1, t({ { 1 } })) end, "index_select: index must be 1-D, got 2 dimensions")
  T.raises(function() x23:index_select(3, { 1 }) end, "index_select: dimension 3 out of range")
  T.raises(function() x23:index_select(1, "a") end, "index_select: index must be an int64 tensor or a table of integers, got string")
  T.raises(function() x23:index_select(1, { 1 }, 5) end, "index_select: unexpected argument #4")
  T.raises(function() t(3):index_select(1, { 1 }) end, "index_select: expected a tensor with at least 1 dimension")
end)

-- ---- gather and scatter_add -------------------------------------------------

T.test("gather: along each dim, smaller index, strided input", function()
  T.all_near(x23:gather(2, { { 3, 1 }, { 2, 2 } }), { { 3, 1 }, { 5, 5 } })
  T.all_near(x23:gather(1, { { 2, 1, 2 } }), { { 4, 2, 6 } })
  T.all_near(x23:gather(1, { { 2 } }), { { 4 } })         -- index smaller in the other dimension
  T.all_near(x23:gather(-1, t({ { 1 }, { 3 } })), { { 1 }, { 6 } })
  T.all_near(x23:t():gather(2, { { 2 }, { 1 }, { 2 } }), { { 4 }, { 2 }, { 6 } })
  T.all_near(ml.gather(f23, 2, { { 1, 1, 1, 1 }, { 3, 2, 1, 3 } }), { { 1, 1, 1, 1 }, { 6, 5, 4, 6 } })
  local a = ml.arange(24):reshape(2, 3, 4):transpose(1, 3) -- [4,3,2], strided
  local g = a:gather(2, t({ { { 3, 1 } }, { { 2, 2 } } }))   -- index [2,1,2]
  T.all_near(g, { { { 8, 12 } }, { { 5, 17 } } })
  T.eq(shape(x23:gather(2, t({}, L64):reshape(2, 0))), "[2,0]")
end)

T.test("gather: errors", function()
  T.raises(function() x23:gather(1, t({ { 1.0 } })) end, "gather: index must be an int64 tensor, got float32")
  T.raises(function() x23:gather(1, { 1, 2 }) end, "gather: index has 1 dimensions, expected 2")
  T.all_near(x23:gather(1, { { 2 }, { 1 }, { 2 } }), { { 4 }, { 1 }, { 4 } }) -- longer than the input along dim is fine
  T.raises(function() x23:gather(2, { { 1 }, { 1 }, { 1 } }) end, "gather: index has shape [3,1], expected at most [2,3]")
  T.raises(function() x23:gather(2, { { 4 }, { 1 } }) end, "gather: index 4 is out of range for dimension 2 of size 3")
  T.raises(function() x23:gather(1, { { 0 } }) end, "gather: index 0 is out of range for dimension 1 of size 2")
  T.raises(function() x23:gather(0, { { 1 } }) end, "gather: dimension 0 is out of range (dimensions are 1-based")
end)

T.test("scatter_add: duplicates add up, src larger than index, dtypes", function()
  local z = ml.zeros(2, 3)
  T.all_near(z:scatter_add(2, { { 1, 1 }, { 3, 2 } }, ml.ones(2, 2)), { { 2, 0, 0 }, { 0, 1, 1 } })
  T.all_near(ml.scatter_add(z, 1, { { 2, 1, 2 } }, t({ { 1, 2, 3 }, { 9, 9, 9 } }, { dtype = "float32" })),
    { { 0, 2, 0 }, { 1, 0, 3 } })
  T.all_near(x23:scatter_add(2, { { 3 }, { 3 } }, t({ { 10, 20 }, { 30, 40 } })), { { 1, 2, 13 }, { 4, 5, 36 } })
  T.eq(x23:scatter_add(2, { { 3 }, { 3 } }, t({ { 10 }, { 30 } })):dtype(), "int64")
  -- the input is not modified, and a strided input works
  local base = f23:t() -- [3,2]
  local r = base:scatter_add(1, { { 1, 3 } }, f64({ { 0.5, 0.25 } }))
  T.all_near(r, { { 1.5, 4 }, { 2, 5 }, { 3, 6.25 } })
  T.all_near(base, { { 1, 4 }, { 2, 5 }, { 3, 6 } })
  -- an empty index changes nothing
  T.all_near(f23:scatter_add(1, t({}, L64):reshape(0, 3), f64({ { 1, 1, 1 } })), f23)
end)

T.test("scatter_add: errors", function()
  local z = ml.zeros(2, 3)
  T.raises(function() z:scatter_add(2, { { 1 } }, ml.ones(2, 2, D)) end,
    "scatter_add: src has dtype float64, expected float32 (the dtype of the input)")
  T.raises(function() z:scatter_add(2, { { 1, 1, 1 } }, ml.ones(2, 2)) end, "scatter_add: index has shape [1,3], expected at most [2,2] (src)")
  T.all_near(z:scatter_add(1, { { 1 }, { 1 }, { 1 } }, ml.ones(3, 1)), { { 3, 0, 0 }, { 0, 0, 0 } }) -- fine along dim
  T.raises(function() z:scatter_add(2, { { 1 }, { 1 }, { 1 } }, ml.ones(3, 1)) end, "scatter_add: index has shape [3,1], expected at most [2,3] (the input)")
  T.raises(function() z:scatter_add(2, { { 4 } }, ml.ones(1, 1)) end, "scatter_add: index 4 is out of range for dimension 2 of size 3")
  T.raises(function() z:scatter_add(2, { 1 }, ml.ones(1)) end, "scatter_add: index has 1 dimensions, expected 2")
  T.raises(function() z:scatter_add(2, { { 1 } }) end, "scatter_add: argument #4: expected a tensor, got no value")
  T.raises(function() t({ true }):scatter_add(1, { 1 }, t({ true })) end, "scatter_add: bool tensors are not supported")
  T.raises(function() z:scatter_add(2, t({ { 1 } }, D), ml.ones(1, 1)) end, "scatter_add: index must be an int64 tensor, got float64")
end)

-- ---- masks -------------------------------------------------------------------

T.test("masked_select: same shape, broadcast mask, broadcast input, strided", function()
  T.all_near(x23:masked_select(x23:gt(3)), { 4, 5, 6 })
  T.all_near(x23:masked_select(t({ true, false, true })), { 1, 3, 4, 6 })
  T.all_near(t({ 1, 2, 3 }):masked_select(t({ { true, false, false }, { false, true, true } })), { 1, 2, 3 })
  T.all_near(x23:t():masked_select(t({ { true, false }, { false, true }, { true, false } })), { 1, 5, 3 })
  T.eq(shape(x23:masked_select(x23:gt(10))), "[0]")
  T.eq(f23:masked_select(f23:gt(0)):dtype(), "float64")
  T.all_near(ml.masked_select(x23, { { false, false, true }, { true, false, false } }), { 3, 4 })
end)

T.test("masked_fill: values, broadcast mask, dtypes, strided", function()
  T.all_near(x23:masked_fill(x23:gt(3), 0), { { 1, 2, 3 }, { 0, 0, 0 } })
  T.all_near(f23:masked_fill(t({ true, false, true }), -1.5), { { -1.5, 2, -1.5 }, { -1.5, 5, -1.5 } })
  T.all_near(f23:masked_fill(t({ { false }, { true } }), 0 / 0), { { 1, 2, 3 }, { 0 / 0, 0 / 0, 0 / 0 } })
  T.all_near(t({ true, true, false }):masked_fill(t({ true, false, false }), false), { false, true, false })
  T.all_near(f23:masked_fill(f23:eq(2), t(9)), { { 1, 9, 3 }, { 4, 5, 6 } })
  T.all_near(x23:t():masked_fill(t({ true, false }), 7), { { 7, 4 }, { 7, 5 }, { 7, 6 } })
  T.all_near(f23, { { 1, 2, 3 }, { 4, 5, 6 } }) -- unchanged
end)

T.test("masked_select and masked_fill: errors", function()
  T.raises(function() x23:masked_select(x23) end, "masked_select: mask must be a bool tensor, got int64")
  T.raises(function() x23:masked_select(t({ true, false })) end, "masked_select: shapes [2,3] and [2] cannot be broadcast")
  T.raises(function() x23:masked_fill(t({ 1, 0, 1 }), 0) end, "masked_fill: mask must be a bool tensor, got int64")
  T.raises(function() t({ 1, 2, 3 }):masked_fill(t({ { true, false, true } , { true, true, true } }), 0) end,
    "masked_fill: mask of shape [2,3] cannot be broadcast to the input's shape [3]")
  T.raises(function() x23:masked_fill(x23:gt(1), "a") end, "masked_fill: value must be a number, a boolean or a one-element tensor, got string")
  T.raises(function() x23:masked_fill(x23:gt(1), t({ 1, 2 })) end, "masked_fill: value must be a number")
  T.raises(function() x23:masked_fill(x23:gt(1), 0 / 0) end, "cannot be stored in an int64 tensor")
  T.raises(function() x23:masked_fill(x23:gt(1), 1e30) end, "masked_fill: value 1e+30 cannot be stored in an int64 tensor")
  T.raises(function() x23:masked_fill(nil, 1) end, "masked_fill: mask must be a bool tensor, got nil")
end)

-- ---- cat and stack -----------------------------------------------------------

T.test("cat: along each dim, many inputs, negative dim, strided inputs", function()
  local a, b = t({ { 1, 2 }, { 3, 4 } }), t({ { 5, 6 } })
  T.all_near(ml.cat({ a, b }), { { 1, 2 }, { 3, 4 }, { 5, 6 } })
  T.all_near(ml.cat({ a, b:t() }, 2), { { 1, 2, 5 }, { 3, 4, 6 } })
  T.all_near(ml.cat({ a, a:t() }, -1), { { 1, 2, 1, 3 }, { 3, 4, 2, 4 } })
  local parts = {}
  for i = 1, 7 do parts[i] = t({ i, 10 * i }) end
  T.all_near(ml.cat(parts), { 1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60, 7, 70 })
  T.all_near(ml.cat({ a }), a)
  T.all_near(ml.cat({ t({}, L64), t({ 1, 2 }), t({}, L64) }), { 1, 2 })
  local a3 = ml.arange(12):reshape(2, 3, 2)
  T.all_near(ml.cat({ a3, a3:narrow(2, 1, 1) }, 2),
    { { { 0, 1 }, { 2, 3 }, { 4, 5 }, { 0, 1 } }, { { 6, 7 }, { 8, 9 }, { 10, 11 }, { 6, 7 } } })
end)

T.test("cat: dtypes promote as in arithmetic", function()
  local r = ml.cat({ t({ 1, 2 }), t({ 0.5 }, { dtype = "float32" }) })
  T.eq(r:dtype(), "float32")
  T.all_near(r, { 1, 2, 0.5 })
  T.eq(ml.cat({ t({ true }), t({ 3 }) }):dtype(), "int64")
  T.all_near(ml.cat({ t({ true, false }), t({ 3 }) }), { 1, 0, 3 })
  T.eq(ml.cat({ t({ 1 }, { dtype = "float32" }), f64({ 2 }) }):dtype(), "float64")
  T.eq(ml.cat({ t({ true }), t({ false }) }):dtype(), "bool")
end)

T.test("cat: errors", function()
  T.raises(function() ml.cat({ ml.zeros(2, 3), ml.zeros(2, 4) }, 1) end,
    "cat: tensor 2 has shape [2,4], expected [2,3] except in dimension 1")
  T.raises(function() ml.cat({ ml.zeros(2, 3), ml.zeros(2, 3, 1) }) end, "cat: tensor 2 has shape [2,3,1], expected [2,3]")
  T.raises(function() ml.cat({}) end, "cat: expected a non-empty list of tensors")
  T.raises(function() ml.cat({ ml.zeros(2), 3 }) end, "cat: element 2 of the list is number, expected a tensor")
  T.raises(function() ml.cat(ml.zeros(2)) end, "cat: expected a list of tensors, got a tensor")
  T.raises(function() ml.cat({ t(1), t(2) }) end, "cat: tensor 1 is 0-d")
  T.raises(function() ml.cat({ ml.zeros(2) }, 2) end, "cat: dimension 2 out of range")
  T.raises(function() ml.cat({ ml.zeros(2) }, 1, 3) end, "cat: unexpected argument #3")
end)

T.test("stack: new dimension at each position", function()
  local a, b = t({ 1, 2, 3 }), t({ 4, 5, 6 })
  T.all_near(ml.stack({ a, b }), { { 1, 2, 3 }, { 4, 5, 6 } })
  T.all_near(ml.stack({ a, b }, 2), { { 1, 4 }, { 2, 5 }, { 3, 6 } })
  T.all_near(ml.stack({ a, b }, -1), { { 1, 4 }, { 2, 5 }, { 3, 6 } })
  T.eq(shape(ml.stack({ x23, x23, x23 }, 2)), "[2,3,3]")
  T.all_near(ml.stack({ x23, x23:t():t() }, 3)[2][3], { 6, 6 })
  T.all_near(ml.stack({ t(1), t(2.5) }), { 1, 2.5 })
  T.eq(ml.stack({ t(1), t(2.5) }):dtype(), "float32")
end)

T.test("stack: errors", function()
  T.raises(function() ml.stack({ ml.zeros(2, 3), ml.zeros(2, 4) }) end,
    "stack: tensor 2 has shape [2,4], expected [2,3] (all tensors must have the same shape)")
  T.raises(function() ml.stack({}) end, "stack: expected a non-empty list of tensors")
  T.raises(function() ml.stack({ ml.zeros(2) }, 3) end, "stack: dimension 3 out of range")
  T.raises(function() ml.stack({ ml.zeros(2), "x" }) end, "stack: element 2 of the list is string, expected a tensor")
end)

-- ---- split and chunk ------------------------------------------------------------

T.test("split: by size and by sizes, views of the input", function()
  local a = ml.arange(10):reshape(5, 2)
  local p = a:split(2)
  T.eq(#p, 3)
  T.all_near(p[1], { { 0, 1 }, { 2, 3 } })
  T.all_near(p[3], { { 8, 9 } })
  local q = a:split({ 1, 0, 4 }, 1)
  T.eq(#q, 3)
  T.eq(shape(q[2]), "[0,2]")
  T.all_near(q[3], { { 2, 3 }, { 4, 5 }, { 6, 7 }, { 8, 9 } })
  local c = ml.split(a, 1, -1)
  T.all_near(c[2], { { 1 }, { 3 }, { 5 }, { 7 }, { 9 } })
  p[1][1][1] = 42 -- views: writes show through
  T.eq(a[1][1], 42)
  T.eq(#a:split(5), 1)
  T.eq(#a:split(7), 1)
end)

T.test("chunk: even and uneven", function()
  local a = ml.arange(5)
  local c = a:chunk(2)
  T.eq(#c, 2)
  T.all_near(c[1], { 0, 1, 2 })
  T.all_near(c[2], { 3, 4 })
  T.eq(#a:chunk(5), 5)
  T.eq(#ml.arange(6):chunk(4), 3) -- pieces of 2: fewer than asked, as PyTorch
  local m = ml.arange(6):reshape(2, 3):chunk(3, 2)
  T.all_near(m[3], { { 2 }, { 5 } })
end)

T.test("split and chunk: errors", function()
  local a = ml.arange(6)
  T.raises(function() a:split({ 2, 2 }) end, "split: sizes sum to 4, expected 6 (the size of dimension 1)")
  T.raises(function() a:split({ 2, -1, 5 }) end, "split: size 2 must be non-negative, got -1")
  T.raises(function() a:split(0) end, "split: size must be positive, got 0")
  T.raises(function() a:split("x") end, "split: size must be an integer or a table of integers, got string")
  T.raises(function() a:split(2, 2) end, "split: dimension 2 out of range")
  T.raises(function() a:chunk(0) end, "chunk: the number of chunks must be positive, got 0")
  T.raises(function() a:chunk(1.5) end, "chunk: the number of chunks must be an integer")
  T.raises(function() t(1):chunk(1) end, "chunk: cannot chunk a 0-d tensor")
end)

-- ---- sort and topk ----------------------------------------------------------------

T.test("sort: ascending and descending, stable, NaN largest", function()
  local v, i = t({ 3, 0 / 0, 1, 3, 2 }):sort()
  T.all_near(v, { 1, 2, 3, 3, 0 / 0 })
  T.all_near(i, { 3, 5, 1, 4, 2 })
  T.eq(i:dtype(), "int64")
  v, i = t({ 3, 0 / 0, 1, 3, 2 }):sort(1, { descending = true })
  T.all_near(v, { 0 / 0, 3, 3, 2, 1 })
  T.all_near(i, { 2, 1, 4, 5, 3 }) -- equal values keep their order in both directions
  v, i = t({ 2, 1, 2, 1, 2 }):sort({ descending = true })
  T.all_near(i, { 1, 3, 5, 2, 4 })
  v, i = t({ true, false, true, false }):sort()
  T.all_near(v, { false, false, true, true })
  T.all_near(i, { 2, 4, 1, 3 })
end)

T.test("sort: along dim 1, strided input, options", function()
  local a = t({ { 3, 1, 2 }, { 1, 5, 0 } })
  local v, i = a:sort(1)
  T.all_near(v, { { 1, 1, 0 }, { 3, 5, 2 } })
  T.all_near(i, { { 2, 1, 2 }, { 1, 2, 1 } })
  v, i = a:t():sort({ dim = 2, descending = true }) -- [3,2] strided
  T.all_near(v, { { 3, 1 }, { 5, 1 }, { 2, 0 } })
  T.all_near(i, { { 1, 2 }, { 2, 1 }, { 1, 2 } })
  v, i = ml.sort(a, -1, { stable = true })
  T.all_near(v, { { 1, 2, 3 }, { 0, 1, 5 } })
  T.all_near(i, { { 2, 3, 1 }, { 3, 1, 2 } })
  -- the indices gather the values back
  T.all_near(a:gather(2, i), v)
  v, i = t(5.5):sort()
  T.eq(v:item(), 5.5)
  T.eq(i:item(), 1)
  T.eq(shape((ml.zeros(2, 0):sort())), "[2,0]")
end)

T.test("sort: long lanes against table.sort (merge path), float32/float64/int64", function()
  for _, dt in ipairs({ "float32", "float64", "int64" }) do
    local n = 1000
    local a = dt == "int64" and ml.randint(-50, 50, { 3, n }) or ml.randn(3, n, { dtype = dt })
    local v, i = a:sort(2, { descending = dt == "float32" })
    local rows = a:tolist()
    local vs, is = v:tolist(), i:tolist()
    for r = 1, 3 do
      local ref = {}
      for k = 1, n do ref[k] = { rows[r][k], k } end
      table.sort(ref, function(p, q)
        if p[1] ~= q[1] then
          if dt == "float32" then return p[1] > q[1] end
          return p[1] < q[1]
        end
        return p[2] < q[2] -- stable
      end)
      for k = 1, n do
        if vs[r][k] ~= ref[k][1] or is[r][k] ~= ref[k][2] then
          error(string.format("%s row %d position %d: got %s@%d, expected %s@%d", dt, r, k, vs[r][k], is[r][k], ref[k][1], ref[k][2]))
        end
      end
    end
  end
end)

T.test("topk: largest and smallest, dims, ties, NaN", function()
  local a = t({ { 3, 1, 2 }, { 5, 6, 4 } })
  local v, i = a:topk(2)
  T.all_near(v, { { 3, 2 }, { 6, 5 } })
  T.all_near(i, { { 1, 3 }, { 2, 1 } })
  v, i = a:topk(1, 1, { largest = false })
  T.all_near(v, { { 3, 1, 2 } })
  T.all_near(i, { { 1, 1, 1 } })
  v, i = a:topk(2, { dim = 1 })
  T.all_near(v, { { 5, 6, 4 }, { 3, 1, 2 } })
  v, i = t({ 1, 0 / 0, 7, 7, 2 }):topk(3)
  T.all_near(v, { 0 / 0, 7, 7 })
  T.all_near(i, { 2, 3, 4 })
  v, i = t({ 1, 0 / 0, 7, 7, 2 }):topk(2, { largest = false, sorted = true })
  T.all_near(i, { 1, 5 })
  v, i = a:t():topk(1) -- strided [3,2]
  T.all_near(v, { { 5 }, { 6 }, { 4 } })
  T.all_near(i, { { 2 }, { 2 }, { 2 } })
  T.eq(shape((a:topk(0))), "[2,0]")
  T.all_near((ml.topk(a, 3)), { { 3, 2, 1 }, { 6, 5, 4 } })
end)

T.test("topk: small-k buffer and full sort agree with sort", function()
  local a = ml.randint(0, 20, { 4, 300 }):double() -- many ties
  local sv, si = a:sort(2, { descending = true })
  for _, k in ipairs({ 1, 5, 32, 33, 100, 300 }) do
    local v, i = a:topk(k, 2)
    T.all_near(v, sv:narrow(2, 1, k), 0)
    T.all_near(i, si:narrow(2, 1, k), 0)
  end
  local av, ai = a:sort(2)
  local v, i = a:topk(10, 2, { largest = false })
  T.all_near(v, av:narrow(2, 1, 10), 0)
  T.all_near(i, ai:narrow(2, 1, 10), 0)
end)

T.test("sort and topk: errors", function()
  local a = t({ { 3, 1, 2 }, { 5, 6, 4 } })
  T.raises(function() a:topk(4) end, "topk: k = 4 is out of range: dimension 2 has size 3")
  T.raises(function() a:topk(-1) end, "topk: k = -1 is out of range")
  T.raises(function() a:topk(3, 1) end, "topk: k = 3 is out of range: dimension 1 has size 2")
  T.raises(function() a:topk() end, "topk: k must be an integer, got no value")
  T.raises(function() a:topk(1, { largest = 1 }) end, "topk: option 'largest' must be a boolean, got number")
  T.raises(function() a:sort({ descendng = true }) end, "sort: unknown option 'descendng'")
  T.raises(function() a:sort(1, { dim = 2 }) end, "sort: dim given twice")
  T.raises(function() a:sort(3) end, "sort: dimension 3 out of range")
  T.raises(function() a:sort(1, "x") end, "sort: options must be a table, got string")
  T.raises(function() a:sort(1, {}, 2) end, "sort: unexpected argument #4")
end)

-- ---- gradients ----------------------------------------------------------------------
local function check(name, f, inputs, opts)
  T.test("grad: " .. name, function() gradcheck(f, inputs, opts) end)
end

-- (op(x) * w):sum() for a fixed random w, as well as the full Jacobian of op
local function weighted(op, oshape)
  local w = rn(oshape)
  return function(...) return (op(...) * w):sum() end
end

check("index_select dim 1 (repeats)", function(a) return a:index_select(1, { 3, 1, 3 }) end, { rn({ 3, 4 }) })
check("index_select dim 2", function(a) return a:index_select(2, { 4, 2, 2 }) end, { rn({ 3, 4 }) })
check("index_select 3-D dim 2, weighted", weighted(function(a) return a:index_select(2, { 2, 2, 1 }) end, { 2, 3, 2 }),
  { rn({ 2, 3, 2 }) })
check("gather dim 2", function(a) return a:gather(2, { { 1, 4, 4 }, { 2, 2, 1 } }) end, { rn({ 3, 4 }) })
check("gather dim 1, weighted", weighted(function(a) return a:gather(1, { { 3, 1, 1, 2 }, { 3, 3, 2, 1 } }) end, { 2, 4 }),
  { rn({ 3, 4 }) })
check("scatter_add dim 2 (self and src)", function(a, s) return a:scatter_add(2, { { 1, 4 }, { 2, 2 }, { 4, 3 } }, s) end,
  { rn({ 3, 4 }), rn({ 3, 2 }) })
check("scatter_add src larger than index", function(a, s) return a:scatter_add(1, { { 2, 2 } }, s) end,
  { rn({ 3, 2 }), rn({ 2, 3 }) })
local cond = t({ { true, false, true, false }, { false, false, true, true }, { true, true, true, false } })
check("masked_select", function(a) return a:masked_select(cond) end, { rn({ 3, 4 }) })
check("masked_select broadcast input", function(a) return a:masked_select(cond) end, { rn({ 4 }) })
check("masked_fill", function(a) return a:masked_fill(cond, 2.5) end, { rn({ 3, 4 }) })
check("masked_fill broadcast mask, weighted", weighted(function(a) return a:masked_fill(t({ true, false, false, true }), 0) end, { 3, 4 }),
  { rn({ 3, 4 }) })
check("cat dim 1", function(a, b) return ml.cat({ a, b }, 1) end, { rn({ 2, 4 }), rn({ 3, 4 }) })
check("cat dim 2 with a repeated input", function(a, b) return ml.cat({ a, b, a }, 2) end, { rn({ 3, 2 }), rn({ 3, 4 }) })
check("cat of 8 inputs (a tree of nodes)", function(a, b, c, d)
  return ml.cat({ a, b, ml.ones(1, 2, D), c, a, d, b, c }, 1)
end, { rn({ 2, 2 }), rn({ 1, 2 }), rn({ 3, 2 }), rn({ 2, 2 }) })
check("cat of 10 inputs, only some need grad, weighted", weighted(function(a)
  local l = {}
  for k = 1, 10 do l[k] = k % 4 == 0 and a or ml.zeros(3, 1, D) end
  return ml.cat(l, 2)
end, { 3, 10 }), { rn({ 3, 1 }) })
check("stack dim 1", function(a, b) return ml.stack({ a, b }, 1) end, { rn({ 3, 4 }), rn({ 3, 4 }) })
check("stack dim 3", function(a, b, c) return ml.stack({ a, b, c, a }, 3) end, { rn({ 3, 4 }), rn({ 3, 4 }), rn({ 3, 4 }) })
check("split", function(a) return a:split({ 1, 3, 1 }, 2) end, { rn({ 3, 5 }) })
check("chunk", function(a) return a:chunk(2, 1) end, { rn({ 5, 3 }) })
check("sort values dim 2", function(a) return (a:sort(2)) end, { rn({ 3, 5 }) })
check("sort values dim 1 descending", function(a) return (a:sort(1, { descending = true })) end, { rn({ 3, 5 }) })
check("sort 0-d", function(a) return (a:sort()) end, { f64(1.5) })
check("topk values", function(a) return (a:topk(2)) end, { rn({ 3, 5 }) })
check("topk values dim 1 smallest, weighted", weighted(function(a) return (a:topk(2, 1, { largest = false })) end, { 2, 5 }),
  { rn({ 3, 5 }) })
check("topk values, full-sort path", function(a) return (a:topk(40)) end, { rn({ 2, 50 }) })

T.test("grad: through a strided (transposed) non-leaf input", function()
  local x = rn({ 3, 4 }):requires_grad()
  local w = rn({ 4, 2 })
  local y = x:t():index_select(2, { 3, 1 }) -- [4,2]
  ;(y * w):sum():backward()
  local want = ml.zeros(3, 4, D)
  local wl = w:tolist()
  for r = 1, 4 do
    want[3][r] = want[3][r] + wl[r][1]
    want[1][r] = want[1][r] + wl[r][2]
  end
  T.all_near(x.grad, want, 1e-12)
end)

T.test("grad: cat gives each input a gradient of its own dtype", function()
  local a = ml.randn(2, { requires_grad = true })          -- float32
  local b = ml.randn(3, { dtype = "float64", requires_grad = true })
  local y = ml.cat({ a, b })
  T.eq(y:dtype(), "float64")
  ;(y * f64({ 1, 2, 3, 4, 5 })):sum():backward()
  T.eq(a.grad:dtype(), "float32")
  T.all_near(a.grad, { 1, 2 })
  T.all_near(b.grad, { 3, 4, 5 })
end)

T.test("grad: embedding lookup accumulates repeated rows", function()
  local w = ml.randn(5, 3, { dtype = "float64", requires_grad = true })
  w:index_select(1, { 2, 4, 2, 2 }):sum():backward()
  T.all_near(w.grad, { { 0, 0, 0 }, { 3, 3, 3 }, { 0, 0, 0 }, { 1, 1, 1 }, { 0, 0, 0 } })
end)

T.test("grad: no recording under no_grad, and integer results never record", function()
  local x = rn({ 3 }):requires_grad()
  local y = ml.no_grad(function() return x:index_select(1, { 1 }) end)
  T.eq(y:is_requires_grad(), false)
  local _, i = x:sort()
  T.eq(i:is_requires_grad(), false)
  T.eq(x:sort():is_requires_grad(), true)
end)
