-- prep.GANOversampler: the samplers' contract (counts per class for each
-- sampling_strategy, originals first, dtypes, frames), generated rows inside
-- the class's range and close to its statistics, reproducibility with a seed,
-- and the errors. Short trainings (a few hundred steps) keep it fast.
local prep = ml.prep

-- Two Gaussian blobs in 3 features: 60 rows of class 1 around (0, 0, 0),
-- 15 of class 2 around (4, -2, 10) with deviations (1, 0.5, 2), and a third
-- feature of class 2 correlated with its first.
local function blobs()
  ml.seed(7)
  local a = ml.randn({ 60, 3 }, { dtype = "float64" })
  local b = ml.randn({ 15, 3 }, { dtype = "float64" }) * ml.tensor({ { 1, 0.5, 2 } }, { dtype = "float64" })
  b = b + ml.tensor({ { 4, -2, 10 } }, { dtype = "float64" })
  local X = ml.cat({ a, b }, 1)
  local y = ml.cat({ ml.ones({ 60 }, { dtype = "int64" }), ml.full({ 15 }, 2, { dtype = "int64" }) }, 1)
  return X, y
end

local function all(b) return b:sum():item() == b:numel() end

local FAST = { epochs = 150, seed = 0 }
local function fast(extra)
  local o = {}
  for k, v in pairs(FAST) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return prep.GANOversampler(o)
end

T.test("fit_resample: originals first, then the new rows of the smaller class, 'auto' balances", function()
  local X, y = blobs()
  local g = fast()
  local Xr, yr = g:fit_resample(X, y)
  T.eq(Xr:shape()[1], 120)
  T.eq(Xr:shape()[2], 3)
  T.eq(yr:numel(), 120)
  T.eq(yr:eq(1):sum():item(), 60)
  T.eq(yr:eq(2):sum():item(), 60)
  T.ok(Xr:narrow(1, 1, 75):equal(X), "the original rows first, unchanged")
  T.ok(all(yr:narrow(1, 76, 45):eq(2)), "the new rows are of class 2")
  T.eq(g.sampling_strategy_[2], 45)
  T.eq(Xr:dtype(), "float64")
  T.ok(g.losses_[2].discriminator > 0 and g.losses_[2].generator > 0, "losses recorded")
end)

T.test("sampling_strategy: a ratio, {[class] = count}, a function, 'all' and 'not majority'", function()
  local X, y = blobs()
  local _, yr = fast{ sampling_strategy = 0.5 }:fit_resample(X, y)
  T.eq(yr:eq(2):sum():item(), 30)
  _, yr = fast{ sampling_strategy = { [2] = 40 } }:fit_resample(X, y)
  T.eq(yr:eq(2):sum():item(), 40)
  T.eq(yr:eq(1):sum():item(), 60)
  _, yr = fast{ sampling_strategy = function() return { [2] = 20, [1] = 70 } end, epochs = 30 }:fit_resample(X, y)
  T.eq(yr:eq(2):sum():item(), 20)
  T.eq(yr:eq(1):sum():item(), 70)
  _, yr = fast{ sampling_strategy = "all", epochs = 30 }:fit_resample(X, y)
  T.eq(yr:numel(), 120)
  -- three classes: 'not majority' grows both smaller ones to the largest's count
  local X3 = ml.cat({ X, X:narrow(1, 1, 10) + 20 }, 1)
  local y3 = ml.cat({ y, ml.full({ 10 }, 3, { dtype = "int64" }) }, 1)
  local g = fast{ sampling_strategy = "not majority", epochs = 30 }
  _, yr = g:fit_resample(X3, y3)
  for c = 1, 3 do T.eq(yr:eq(c):sum():item(), 60) end
  T.ok(g.generators_[2] and g.generators_[3] and not g.generators_[1], "a generator per grown class")
end)

T.test("generated rows lie in the class's range and near its mean and spread", function()
  local X, y = blobs()
  local Xr = prep.GANOversampler{ epochs = 600, seed = 0 }:fit_resample(X, y)
  local real, gen = X:narrow(1, 61, 15), Xr:narrow(1, 76, 45)
  local lo, hi = real:min(1), real:max(1)
  T.ok(all(gen:ge(lo)) and all(gen:le(hi)), "clipped to the class's range")
  local sd = real:std(1)
  -- (15 rows: a GAN's mean wanders; over seeds 0-4 the worst feature was 0.3-1.0 deviations off)
  local shift = ((gen:mean(1) - real:mean(1)):abs() / sd):max():item()
  T.ok(shift < 1.25, "generated mean within 1.25 deviations of the class's, got " .. shift)
  local ratio = gen:std(1) / sd
  T.ok(ratio:min():item() > 0.2 and ratio:max():item() < 2, "spread of the class's order, got " .. tostring(ratio))
  -- far from the other class: every generated row is nearer class 2's mean than class 1's
  local d2 = (gen - real:mean(1, true)):pow(2):sum(2)
  local d1 = (gen - X:narrow(1, 1, 60):mean(1, true)):pow(2):sum(2)
  T.ok(all(d2:lt(d1)), "generated rows look like class 2, not class 1")
  -- clip = false lets values leave the range, but they stay finite
  local Xu = prep.GANOversampler{ epochs = 100, seed = 0, clip = false }:fit_resample(X, y)
  T.eq(Xu:isnan():sum():item() + Xu:isinf():sum():item(), 0)
end)

T.test("a constant feature stays constant; float32 X stays float32; y keeps its dtype", function()
  local X, y = blobs()
  X = X:clone()
  X:select(2, 2):fill_(3.5)
  local Xr, yr = fast():fit_resample(X:float(), y:double())
  T.eq(Xr:dtype(), "float32")
  T.eq(yr:dtype(), "float64")
  T.ok(all(Xr:select(2, 2):eq(3.5)), "the constant column")
end)

T.test("seeded runs are reproducible and leave ml's stream alone; unseeded ones use it", function()
  local X, y = blobs()
  ml.seed(123)
  local before = ml.rand({ 3 })
  ml.seed(123)
  local a = fast():fit_resample(X, y)
  local after = ml.rand({ 3 })
  T.ok(after:equal(before), "the global stream is as it was")
  local b = fast():fit_resample(X, y)
  T.ok(a:equal(b), "same seed, same rows")
  local c = fast{ seed = 1 }:fit_resample(X, y)
  T.ok(not a:equal(c), "another seed, other rows")
  ml.seed(5)
  local u1 = prep.GANOversampler{ epochs = 20 }:fit_resample(X, y)
  ml.seed(5)
  local u2 = prep.GANOversampler{ epochs = 20 }:fit_resample(X, y)
  T.ok(u1:equal(u2), "unseeded: ml.seed decides")
end)

T.test("sample(c, n) draws more rows from a trained generator", function()
  local X, y = blobs()
  local g = fast()
  T.raises(function() g:sample(2, 5) end, "prep.GANOversampler:sample: call fit_resample first")
  g:fit_resample(X, y)
  local s = g:sample(2, 7)
  T.eq(s:shape()[1], 7)
  T.eq(s:shape()[2], 3)
  T.eq(g:sample(2, 0):shape()[1], 0)
  T.raises(function() g:sample(1, 5) end, "no generator for class 1 (trained for: 2)")
  T.raises(function() g:sample(2, -1) end, "n must be at least 0")
end)

T.test("data frames: numeric columns give a frame back; other columns are a clear error", function()
  local data = ml.data
  local X, y = blobs()
  local df = data.DataFrame({ a = X:select(2, 1):tolist(), b = X:select(2, 2):tolist() }, { columns = { "a", "b" } })
  local dr, yr = fast():fit_resample(df, y)
  T.ok(data.DataFrame.is(dr), "a frame back")
  T.eq(#dr, 120)
  T.eq(table.concat(dr.columns, ","), "a,b")
  T.eq(yr:numel(), 120)
  local names = {}
  for i = 1, 75 do names[i] = "r" .. i end
  local bad = data.DataFrame({ a = X:select(2, 1):tolist(), name = names }, { columns = { "a", "name" } })
  T.raises(function() fast():fit_resample(bad, y) end, "prep.GANOversampler: X's column 'name' is string")
end)

T.test("errors name prep.GANOversampler and say what was expected", function()
  local X, y = blobs()
  local G = prep.GANOversampler
  T.raises(function() G{ epoch = 3 } end, "did you mean 'epochs'")
  T.raises(function() G{ epochs = 0 } end, "prep.GANOversampler: epochs must be at least 1, got 0")
  T.raises(function() G{ batch_size = 1 } end, "batch_size must be at least 2")
  T.raises(function() G{ latent_dim = 2.5 } end, "latent_dim must be an integer")
  T.raises(function() G{ hidden = "big" } end, "hidden must be an integer")
  T.raises(function() G{ lr = 0 } end, "lr must be > 0")
  T.raises(function() G{ lr = -1 } end, "lr must be a number >= 0")
  T.raises(function() G{ clip = 1 } end, "clip must be a boolean")
  T.raises(function() G{ seed = "x" } end, "seed must be an integer")
  T.raises(function() G{ sampling_strategy = "majority" }:fit_resample(X, y) end, "cannot be used with an over-sampler")
  T.raises(function() G():fit_resample(X, y:narrow(1, 1, 10)) end, "X has 75 rows but y has 10 labels")
  T.raises(function() G():fit_resample("x", y) end, "X must be a tensor")
  T.raises(function() G():fit_resample(X:reshape(-1), y) end, "X must be 2-D")
  local Xn = X:clone()
  Xn:narrow(1, 3, 1):narrow(2, 2, 1):fill_(0 / 0)
  T.raises(function() G():fit_resample(Xn, y) end, "NaN or infinite")
  T.raises(function() G():fit_resample(X, ml.ones({ 75 }, { dtype = "int64" })) end, "one class only")
  local y1 = y:clone()
  y1:narrow(1, 75, 1):fill_(3) -- class 3 has one row
  T.raises(function() G{ epochs = 5, sampling_strategy = { [3] = 10 } }:fit_resample(X, y1) end,
    "class 3 has 1 row; a GAN needs at least 2 rows")
  T.eq(tostring(G{ seed = 2, epochs = 10 }):match("epochs=10") ~= nil, true)
end)
