-- NaN propagation through relu, maximum/minimum, clamp and leaky_relu (as
-- PyTorch and NumPy: a NaN in gives a NaN out, so NaN guards can fire), and
-- in-place writes whose source overlaps the destination: computed through a
-- temporary when the result is well defined, refused when the destination
-- has several elements at one memory location (an expanded view).
local t = ml.tensor
local nan = 0 / 0

local function isnan(v) return v ~= v end

T.test("relu keeps NaN (float32 and float64), the fast path and strided inputs", function()
  for _, dt in ipairs{"float32", "float64"} do
    local x = t({nan, -1, 0, 2}, {dtype = dt})
    local y = ml.relu(x)
    T.ok(isnan(y[1]), "relu(nan) " .. dt)
    T.eq(y[2], 0); T.eq(y[3], 0); T.eq(y[4], 2)
    -- a large contiguous input runs the vectorized (and threaded) loop
    local big = ml.zeros(300000, {dtype = dt}):fill_(-1)
    big[1234] = nan
    local r = big:relu()
    T.ok(isnan(r[1234]), "relu(nan) in a long row " .. dt)
    T.eq(r:isnan():long():sum():item(), 1)
    T.ok(isnan(ml.relu(t({{nan, 1}, {2, 3}}, {dtype = dt}):t())[1][1]))
  end
  T.ok(isnan(ml.relu(t({nan, 1})):sum():item()), "a NaN reaches the loss")
  T.all_near(ml.relu(t({-3, 0, 4}, {dtype = "int64"})), {0, 0, 4})
  -- relu of -0.0 is still +0.0 (the bits did not change)
  T.eq(1 / ml.relu(t({-0.0})):item(), math.huge)
end)

T.test("relu's gradient at NaN is 0, as PyTorch's", function()
  local x = t({nan, 2, -1}):requires_grad()
  ml.relu(x):sum():backward()
  T.all_near(x.grad, {0, 1, 0})
end)

T.test("maximum, minimum, clamp and leaky_relu propagate NaN", function()
  local x, z = t({nan, -1, 2}), t({0, 0, 0})
  for _, r in ipairs{ml.maximum(x, z), ml.maximum(z, x), ml.minimum(x, z), ml.minimum(z, x),
                     ml.maximum(x, 0), ml.minimum(x, 0), x:clamp(0, 1), x:clamp(nil, 1), x:clamp(0),
                     ml.leaky_relu(x, 0.1)} do
    T.ok(isnan(r[1]))
  end
  T.all_near(ml.maximum(x, z):narrow(1, 2, 2), {0, 2})
  T.all_near(ml.minimum(x, z):narrow(1, 2, 2), {-1, 0})
  local d = t({nan, 1}, {dtype = "float64"})
  T.ok(isnan(ml.maximum(d, t({5, 0}, {dtype = "float64"}))[1]))
  T.ok(isnan(ml.relu(d)[1]))
end)

T.test("in-place ops read an overlapping source as it was before the write", function()
  local x = ml.arange(4):float():view(2, 2)
  x:add_(x:t())
  T.all_near(x, {{0, 3}, {3, 6}})
  local y = ml.arange(4):float():view(2, 2)
  y:copy_(y:t())
  T.all_near(y, {{0, 2}, {1, 3}})
  local m = ml.arange(1, 5):float():view(2, 2)
  m:mul_(m:t())
  T.all_near(m, {{1, 6}, {6, 16}})
  local s = ml.arange(1, 5):float():view(2, 2)
  s:sub_(s:t())
  T.all_near(s, {{0, -1}, {1, 0}})
  local q = ml.arange(1, 5):float():view(2, 2)
  q:div_(q:t())
  T.all_near(q, {{1, 2 / 3}, {1.5, 1}})
  -- a shifted window of the same storage
  local w = ml.arange(5):float()
  w:narrow(1, 2, 4):add_(w:narrow(1, 1, 4))
  T.all_near(w, {0, 1, 3, 5, 7})
  local c = ml.arange(5):float()
  c:narrow(1, 2, 4):copy_(c:narrow(1, 1, 4))
  T.all_near(c, {0, 0, 1, 2, 3})
  local c2 = ml.arange(5):float()
  c2:narrow(1, 1, 4):copy_(c2:narrow(1, 2, 4))
  T.all_near(c2, {1, 2, 3, 4, 4})
  -- a row of the tensor broadcast over the tensor
  local b = ml.arange(4):float():view(2, 2)
  b:add_(b[1], 2)
  T.all_near(b, {{0, 3}, {2, 5}})
  -- the same view as source and destination needs no temporary and still works
  local a = ml.arange(4):float()
  a:add_(a)
  T.all_near(a, {0, 2, 4, 6})
  local a2 = ml.arange(4):float():view(2, 2):t()
  a2:mul_(a2)
  T.all_near(a2, {{0, 4}, {1, 9}})
  -- strided destinations that do not overlap themselves stay writable
  local v = ml.zeros(3, 4)
  v:t():add_(1)
  v:narrow(2, 2, 2):fill_(5)
  T.all_near(v[1], {1, 5, 5, 1})
end)

T.test("writes into an expanded view are refused, naming the function", function()
  local msg = "more than one element of the written-to tensor refers to a single memory location"
  local function e() return ml.zeros(1):expand(5) end
  T.raises(function() e():add_(1) end, "add_: unsupported operation: " .. msg)
  T.raises(function() e():sub_(1) end, "sub_: unsupported operation")
  T.raises(function() e():mul_(2) end, "mul_: unsupported operation")
  T.raises(function() e():div_(2) end, "div_: unsupported operation")
  T.raises(function() e():add_(ml.ones(5)) end, "Please clone() the tensor before performing the operation")
  T.raises(function() e():fill_(1) end, "fill_: unsupported operation")
  T.raises(function() e():zero_() end, "zero_: unsupported operation")
  T.raises(function() e():copy_(ml.ones(5)) end, "copy_: unsupported operation")
  T.raises(function() ml._nn.uniform_(e(), 0, 1) end, "uniform_: unsupported operation")
  T.raises(function() ml._nn.normal_(e(), 0, 1) end, "normal_: unsupported operation")
  T.raises(function() ml._nn.bernoulli_(e(), 0.5) end, "bernoulli_: unsupported operation")
  T.raises(function() ml.nn.init.uniform_(e()) end, "unsupported operation")
  local m = ml.zeros(3):unsqueeze(2):expand(3, 4)
  T.raises(function() m:add_(1) end, "add_: unsupported operation")
  T.raises(function() m[1] = 7 end, "index assignment: unsupported operation")
  -- a row of a tensor expanded along rows is itself a plain view: writable, as in PyTorch
  local r = ml.zeros(1, 3):expand(4, 3)
  r[2] = 7
  T.all_near(r[4], {7, 7, 7})
  -- nothing was written
  local base = ml.zeros(1)
  pcall(function() base:expand(5):add_(1) end)
  T.eq(base[1], 0)
  -- a size-1 expansion is no overlap; clone() gives a writable copy
  local one = ml.zeros(1):expand(1)
  one:add_(1)
  T.eq(one[1], 1)
  local cl = ml.zeros(1):expand(5):clone()
  cl:add_(1)
  T.all_near(cl, {1, 1, 1, 1, 1})
end)

T.test("a NaN in the data reaches fit's loss through ReLU, so fit's NaN guard fires", function()
  local S = dofile("tests/lua/fit_helpers.lua")
  local X, Y = S.blobs(64, 1)
  X[10][1] = nan
  local m = S.mlp(2, 4, 2)
  m:compile{ optimizer = S.SGD(m:parameters(), { lr = 0.1 }), loss = S.CrossEntropyLoss() }
  local w, text = S.capture()
  local h = m:fit(X, Y, { epochs = 2, batch_size = 16, shuffle = false, output = w })
  T.eq(h.stop_reason, "nan")
  T.ok(text():find("fit: loss became nan at epoch 1, batch 1", 1, true), text())
end)
