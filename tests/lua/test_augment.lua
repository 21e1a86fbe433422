-- prep.augment: image transforms against PyTorch (tests/fixtures/augment/, written by
-- scripts/gen_augment_fixtures.py), properties of the random ones, determinism, the loader's
-- transform in its thread, mixup/cutmix, and soft-label cross-entropy.
local A = ml.prep.augment
local nn = ml.nn
local FX = dofile("tests/fixtures/augment/cases.lua")
local gradcheck = dofile("tests/lua/gradcheck.lua")

local function maxdiff(a, b) return (a:double() - b:double()):abs():max():item() end
local function same(a, b) return a:dtype() == b:dtype() and #a:shape() == #b:shape() and maxdiff(a, b) == 0 end
local function rev(n) local t = {} for i = 1, n do t[i] = n + 1 - i end return ml.tensor(t):long() end

T.test("flips: exact, p=1 always, p=0 never, [N, H, W] too", function()
  local x = ml.rand(3, 2, 5, 7)
  T.ok(same(A.RandomHorizontalFlip{ p = 1, seed = 1 }(x), x:index_select(4, rev(7))), "hflip")
  T.ok(same(A.RandomVerticalFlip{ p = 1, seed = 1 }(x), x:index_select(3, rev(5))), "vflip")
  T.ok(same(A.RandomHorizontalFlip{ p = 0 }(x), x), "p=0")
  local x3 = ml.rand(4, 6, 6)
  T.ok(same(A.RandomHorizontalFlip(1)(x3), x3:index_select(3, rev(6))), "[N, H, W]")
  -- p = 0.5: each sample is either flipped or kept, and both happen over many samples
  local big = ml.rand(200, 1, 2, 3)
  local out = A.RandomHorizontalFlip{ seed = 3 }(big)
  local flipped = big:index_select(4, rev(3))
  local nf = 0
  for i = 1, 200 do
    local o = out:narrow(1, i, 1)
    if maxdiff(o, flipped:narrow(1, i, 1)) == 0 then nf = nf + 1
    else T.eq(maxdiff(o, big:narrow(1, i, 1)), 0) end
  end
  T.ok(nf > 70 and nf < 130, "about half flipped: " .. nf)
end)

T.test("warp matches F.affine_grid + F.grid_sample (bilinear, align_corners=False)", function()
  for _, c in ipairs(FX.warp) do
    local got = A.warp(T.fixture_tensor(c.x), T.fixture_tensor(c.theta))
    T.all_near(got, T.fixture_tensor(c.out), 2e-6)
  end
end)

T.test("affine matches torchvision's F.affine (its inverse matrix and grid, bilinear)", function()
  for _, c in ipairs(FX.affine) do
    local got = A.affine(T.fixture_tensor(c.x), { angle = c.angle, translate = { c.tx, c.ty }, scale = c.scale,
      shear = { c.shear_x, c.shear_y } })
    -- torchvision builds its grid in float32 (coordinates to ~1e-6 of a pixel); ours is float64
    T.all_near(got, T.fixture_tensor(c.out), 1e-5)
  end
end)

T.test("RandomAffine / RandomRotation with fixed ranges are the fixed affine; identity ranges are exact", function()
  local x = ml.rand(3, 2, 9, 11)
  local r = A.RandomAffine{ degrees = { 20, 20 }, scale = { 1.2, 1.2 }, shear = { 5, 5, -3, -3 }, seed = 1 }(x)
  T.all_near(r, A.affine(x, { angle = 20, scale = 1.2, shear = { 5, -3 } }), 1e-6)
  -- torchvision's rotate turns counter-clockwise: affine's angle is its negative
  T.all_near(A.RandomRotation{ degrees = { 30, 30 } }(x), A.affine(x, { angle = -30 }), 1e-6)
  T.ok(same(A.RandomAffine{ degrees = 0 }(x), x), "identity")
  -- translations are whole pixels (torchvision rounds them), within translate * size
  local img = ml.zeros(50, 1, 10, 10)
  img:narrow(3, 5, 1):narrow(4, 5, 1):fill_(1)
  local out = A.RandomAffine{ degrees = 0, translate = { 0.2, 0.3 }, seed = 9 }(img)
  for i = 1, 50 do
    local o = out:narrow(1, i, 1):reshape(100)
    T.eq(o:sum():item(), 1)
    local k = o:argmax():item() - 1
    local dy, dx = k // 10 - 4, k % 10 - 4
    T.ok(math.abs(dx) <= 2 and math.abs(dy) <= 3, "shift " .. dx .. ", " .. dy)
  end
  T.raises(function() A.RandomAffine{ degrees = 10, scale = { 0, 1 } } end, "prep.augment.RandomAffine: option 'scale' must be positive")
end)

T.test("RandomCrop: output size, a window of the padded image, padding filled", function()
  local x = ml.rand(20, 3, 6, 7) + 1 -- no zeros inside the images
  local c = A.RandomCrop{ size = { 5, 4 }, padding = 2, seed = 4 }(x)
  T.eq(table.concat(c:shape(), ","), "20,3,5,4")
  local padded = ml.zeros(20, 3, 10, 11)
  padded:narrow(3, 3, 6):narrow(4, 3, 7):copy_(x)
  for i = 1, 20 do
    local ci, found = c:narrow(1, i, 1), false
    for top = 1, 6 do
      for left = 1, 8 do
        if maxdiff(ci, padded:narrow(1, i, 1):narrow(3, top, 5):narrow(4, left, 4)) == 0 then found = true end
      end
    end
    T.ok(found, "sample " .. i .. " is a window")
  end
  T.ok(same(A.RandomCrop(6)(x:narrow(4, 1, 6):contiguous()), x:narrow(4, 1, 6):contiguous()), "full size without padding")
  T.raises(function() A.RandomCrop{ size = 9 }(x) end, "prep.augment.RandomCrop: crop size 9x9 is larger than the padded image 6x7")
end)

T.test("RandomErasing: one rectangle of value, area within scale (rounding aside), p=0 keeps", function()
  local x = ml.rand(40, 2, 16, 16) + 1
  local out = A.RandomErasing{ p = 1, value = -5, scale = { 0.05, 0.2 }, seed = 2 }(x)
  for i = 1, 40 do
    local m = out:narrow(1, i, 1):eq(-5):reshape(2, 16, 16)
    T.eq(maxdiff(m:narrow(1, 1, 1), m:narrow(1, 2, 1)), 0) -- the same rectangle on every channel
    local plane = m:narrow(1, 1, 1):reshape(16, 16):double()
    local area = plane:sum():item()
    local rows, cols = plane:sum(2):gt(0):sum():item(), plane:sum(1):gt(0):sum():item()
    T.eq(area, rows * cols, "a rectangle")
    T.ok(area >= 0.05 * 256 * 0.6 and area <= 0.2 * 256 * 1.4, "area " .. area)
    local kept = out:narrow(1, i, 1):ne(-5)
    T.eq(maxdiff(out:narrow(1, i, 1) * kept, x:narrow(1, i, 1) * kept), 0)
  end
  T.ok(same(A.RandomErasing{ p = 0 }(x), x), "p = 0")
  local noisy = A.RandomErasing{ p = 1, value = "random", scale = { 0.3, 0.3 }, ratio = { 1, 1 }, seed = 1 }(ml.ones(1, 1, 20, 20))
  T.ok(noisy:lt(0):sum():item() > 10, "normal noise has negative values")
end)

T.test("ColorJitter: brightness scales each image by one factor in range; contrast keeps the mean", function()
  local x = ml.rand(30, 1, 8, 8) * 0.5 + 0.25
  local b = A.ColorJitter{ brightness = 0.3, seed = 1 }(x)
  local ratio = (b / x):reshape(30, 64)
  T.ok(maxdiff(ratio:max(2), ratio:min(2)) < 1e-5, "one factor per image")
  T.ok(ratio:min():item() >= 0.7 - 1e-5 and ratio:max():item() <= 1.3 + 1e-5, "factor in [0.7, 1.3]")
  local c = A.ColorJitter{ contrast = { 0.5, 1.5 }, seed = 2 }(x)
  T.all_near(c:reshape(30, 64):mean(2), x:reshape(30, 64):mean(2), 1e-5)
  T.ok(A.ColorJitter{ brightness = 3 }(x):max():item() <= 1, "clamped to [0, 1]")
  -- RGB contrast blends towards the grayscale mean (0.2989, 0.587, 0.114)
  local rgb = ml.rand(2, 3, 4, 4)
  local z = A.ColorJitter{ contrast = { 0, 0 } }(rgb)
  local gray = (rgb:narrow(2, 1, 1) * 0.2989 + rgb:narrow(2, 2, 1) * 0.587 + rgb:narrow(2, 3, 1) * 0.114):reshape(2, 16):mean(2)
  T.all_near(z:reshape(2, 48):min(2), gray, 1e-5)
  T.all_near(z:reshape(2, 48):max(2), gray, 1e-5)
end)

T.test("GaussianNoise: statistics, float64 tabular rows, clip", function()
  local x = ml.zeros({ 100, 1000 }, { dtype = "float64" })
  local n = A.GaussianNoise{ std = 0.5, mean = 1, seed = 3 }(x)
  T.eq(n:dtype(), "float64")
  T.near(n:mean():item(), 1, 0.01)
  T.near(n:std():item(), 0.5, 0.01)
  local c = A.GaussianNoise{ std = 1, clip = true }(ml.rand(10, 1, 5, 5))
  T.ok(c:min():item() >= 0 and c:max():item() <= 1, "clipped")
  T.raises(function() A.GaussianNoise{ std = 1 }(ml.zeros(3):long()) end, "prep.augment.GaussianNoise: expected a float32 or float64 batch")
end)

T.test("determinism: same seed same batch, new calls new draws, independent of the thread count", function()
  local x = ml.rand(64, 1, 28, 28)
  local function make()
    return A.Compose{ A.RandomAffine{ degrees = 15, translate = { 0.1, 0.1 }, scale = { 0.9, 1.1 }, shear = 5 },
      A.RandomCrop{ size = 28, padding = 2 }, A.RandomErasing{ p = 0.5, value = "random" }, A.GaussianNoise{ std = 0.05 },
      A.ColorJitter{ brightness = 0.2, contrast = 0.2 }, A.RandomHorizontalFlip(), seed = 42 }
  end
  local threads = ml.threads()
  ml.threads(1)
  local t1 = make()
  local a1, a2 = t1(x), t1(x)
  ml.threads(2)
  local t2 = make()
  local b1, b2 = t2(x), t2(x)
  ml.threads(threads)
  T.ok(same(a1, b1) and same(a2, b2), "same across thread counts and runs")
  T.ok(maxdiff(a1, a2) > 0, "a second call draws new parameters")
  T.ok(same(t1:apply(x, { epoch = 0, batch = 1 }), a1), "call k is apply{epoch = 0, batch = k}")
  T.ok(maxdiff(make():apply(x, { epoch = 1, batch = 1 }), a1) > 0, "other streams, other draws")
  -- the global generator neither changes the draws of a seeded transform nor is changed by them
  ml.seed(5)
  local r1 = ml.rand(1):item()
  ml.seed(5)
  make()(x)
  T.eq(ml.rand(1):item(), r1)
end)

T.test("data.loader transform: runs in the thread, new variants every epoch, equals apply with (epoch, batch)", function()
  local n = 50
  local x, y = ml.rand(n, 1, 12, 12), ml.arange(n):long() + 1
  local t = A.Compose{ A.RandomAffine{ degrees = 20, translate = { 0.1, 0.1 } }, A.RandomErasing{ p = 1 }, seed = 7 }
  for _, prefetch in ipairs({ 0, 2, 8 }) do
    local ld = ml.data.loader({ x, y }, { batch_size = 16, shuffle = true, seed = 3, transform = t, prefetch = prefetch })
    local first = {}
    for e = 1, 2 do
      local b = 0
      for xb, yb in ld do
        b = b + 1
        T.ok(same(xb, t:apply(x:index_select(1, yb), { epoch = e, batch = b })), "epoch " .. e .. " batch " .. b)
        if e == 1 then first[b] = { xb, yb } end
        if e == 2 and b == 1 then
          local again = t:apply(x:index_select(1, first[1][2]), { epoch = 2, batch = 1 })
          T.ok(maxdiff(again, t:apply(x:index_select(1, first[1][2]), { epoch = 1, batch = 1 })) > 0, "epoch 2 differs")
        end
      end
      T.eq(b, 4)
    end
  end
  -- the transform does not consume the Compose's own call counter
  local fresh = A.Compose{ A.RandomAffine{ degrees = 20, translate = { 0.1, 0.1 } }, A.RandomErasing{ p = 1 }, seed = 7 }
  T.ok(same(t(x), fresh(x)), "direct calls unaffected by the loader")
end)

T.test("data.loader transform: errors surface at the loop as Lua errors; a Lua function runs on this thread", function()
  local x, y = ml.rand(20, 1, 8, 8), ml.arange(20):long() + 1
  for _, prefetch in ipairs({ 0, 3 }) do
    local ld = ml.data.loader({ x, y }, { batch_size = 4, transform = A.RandomCrop{ size = 10 }, prefetch = prefetch })
    local ok, err = pcall(function() for _ in ld do end end)
    T.ok(not ok, "raised")
    T.ok(err:find("data.loader: the transform failed on batch 1 of epoch 1: prep.augment.RandomCrop: crop size 10x10", 1, true), err)
    T.ok(err:find("test_augment.lua", 1, true), "at the user's line: " .. err)
  end
  local ld = ml.data.loader({ y:double(), y }, { batch_size = 5, transform = A.RandomHorizontalFlip() })
  T.raises(function() for _ in ld do end end, "image transforms expect a float32 batch")
  local seen = 0
  local lf = ml.data.loader({ x, y }, { batch_size = 5, transform = function(b) seen = seen + 1 return b * 2 end })
  local nb = 0
  for xb, yb in lf do
    nb = nb + 1
    T.ok(same(xb, x:index_select(1, yb) * 2), "the function's result")
  end
  T.eq(nb, 4)
  T.eq(seen, 4)
  T.raises(function() ml.data.loader(x, { transform = 3 }) end, "data.loader: option 'transform' must be a prep.augment transform or a function")
  T.raises(function() ml.data.loader(x, { transfrom = A.RandomHorizontalFlip() }) end, "did you mean 'transform'?")
end)

T.test("mixup: label rows sum to 1, x and labels mixed by lam with one partner", function()
  local n = 8
  local x, y = ml.randn(n, 5), ml.arange(n):long() + 1 -- distinct labels reveal the partner
  local xm, ym, lam = A.mixup(x, y, { alpha = 0.4, num_classes = n, seed = 11 })
  T.eq(table.concat(ym:shape(), ","), n .. "," .. n)
  T.all_near(ym:sum(2), ml.ones(n), 1e-6)
  T.ok(lam > 0 and lam < 1, "lam in (0, 1)")
  for i = 1, n do
    local row = ym:narrow(1, i, 1):reshape(n)
    local j = i
    for k = 1, n do if k ~= i and row[k] > 0 then j = k end end
    local want = x:narrow(1, i, 1) * lam + x:narrow(1, j, 1) * (1 - lam)
    T.all_near(xm:narrow(1, i, 1), want, 1e-5)
    if j ~= i then T.near(row[i], lam, 1e-6) end
  end
  local xm2 = A.mixup(x, y, { alpha = 0.4, num_classes = n, seed = 11 })
  T.ok(same(xm, xm2), "seeded")
  -- Beta(alpha, alpha) has mean 1/2
  local s = 0
  for k = 1, 400 do local _, _, l = A.mixup(x, y, { alpha = 2, seed = k }) s = s + l end
  T.near(s / 400, 0.5, 0.03)
  T.raises(function() A.mixup(x, y, { num_classes = 3 }) end, "prep.augment.mixup: labels must be 1..3 (num_classes), got 1..8")
  T.raises(function() A.mixup(x, y, { alpha = 0 }) end, "prep.augment.mixup: option 'alpha' must be > 0")
  T.raises(function() A.mixup(x, y, { alhpa = 1 }) end, "did you mean 'alpha'?")
end)

T.test("cutmix: a box from the partner, lam = the kept share, label rows sum to 1", function()
  local n = 6
  local x, y = ml.rand(n, 2, 10, 12), ml.arange(n):long() + 1
  for seed = 1, 5 do
    local xm, ym, lam = A.cutmix(x, y, { seed = seed, num_classes = n })
    T.all_near(ym:sum(2), ml.ones(n), 1e-6)
    for i = 1, n do
      local row = ym:narrow(1, i, 1):reshape(n)
      local j = i
      for k = 1, n do if k ~= i and row[k] > 0 then j = k end end
      local xi, xj, oi = x:narrow(1, i, 1), x:narrow(1, j, 1), xm:narrow(1, i, 1)
      local from_j = (oi:eq(xj):double() * oi:ne(xi):double()):sum():item() / 2
      if j ~= i then
        T.near(from_j / 120, 1 - lam, 1e-9)
        T.near(row[j], 1 - lam, 1e-6)
      end
      T.eq(maxdiff(oi * oi:ne(xj), xi * oi:ne(xj)), 0)
    end
  end
  T.raises(function() A.cutmix(ml.rand(4, 3), ml.ones(4):long()) end, "prep.augment.cutmix: x must be an image batch")
end)

T.test("CrossEntropyLoss with soft labels matches PyTorch (weight, label_smoothing, reductions)", function()
  for _, c in ipairs(FX.soft_ce) do
    local crit = nn.CrossEntropyLoss({ reduction = c.reduction, label_smoothing = c.label_smoothing,
      weight = c.weight and T.fixture_tensor(c.weight) or nil })
    local x = T.fixture_tensor(c.input):requires_grad()
    local l = crit(x, T.fixture_tensor(c.target))
    T.all_near(l, T.fixture_tensor(c.output), 1e-12)
    ;(l * T.fixture_tensor(c.w)):sum():backward()
    T.all_near(x.grad, T.fixture_tensor(c.grad_input), 1e-12)
  end
end)

T.test("CrossEntropyLoss soft labels: finite-difference gradient check; mixup labels train through fit", function()
  local x = ml.randn({ 5, 4 }, { dtype = "float64" })
  local _, soft = A.mixup(ml.randn({ 5, 2 }, { dtype = "float64" }), ml.tensor({ 1, 2, 3, 4, 1 }):long(), { num_classes = 4, seed = 2 })
  for _, opts in ipairs({ {}, { label_smoothing = 0.1, weight = ml.tensor({ 1, 2, 0.5, 1 }, { dtype = "float64" }) } }) do
    local crit = nn.CrossEntropyLoss(opts)
    gradcheck(function(z) return crit(z, soft) end, { x })
    -- the fused kernel differentiates the probabilities too; N-d (N, C, d) and unbatched (C) inputs
    for _, red in ipairs({ "mean", "sum", "none" }) do
      local c2 = nn.CrossEntropyLoss({ label_smoothing = opts.label_smoothing, weight = opts.weight, reduction = red })
      gradcheck(function(z, q) return c2(z, q) end, { ml.randn({ 3, 4, 2 }, { dtype = "float64" }),
        ml.rand({ 3, 4, 2 }, { dtype = "float64" }):softmax(2) })
      gradcheck(function(z, q) return c2(z, q) end, { ml.randn({ 4 }, { dtype = "float64" }),
        ml.rand({ 4 }, { dtype = "float64" }):softmax(1) })
    end
  end
  -- fit with [N, K] probability targets
  ml.seed(1)
  local X = ml.randn(200, 2)
  local labels = X:narrow(2, 1, 1):reshape(200):gt(0):long() + 1
  local xm, ym = A.mixup(X, labels, { num_classes = 2, alpha = 0.2, seed = 1 })
  local m = nn.Sequential{ nn.Linear(2, 2) }
  m:compile{ optimizer = ml.optim.SGD(m:parameters(), { lr = 0.5 }), loss = nn.CrossEntropyLoss() }
  local h = m:fit(xm, ym, { epochs = 20, batch_size = 50, verbose = 0 })
  local acc = m:predict(X):argmax(2):eq(labels):double():mean():item()
  T.ok(acc > 0.9, "accuracy " .. acc)
  T.ok(h.loss[#h.loss] < h.loss[1], "the loss fell")
end)

T.test("errors: wrong inputs and options name the transform", function()
  T.raises(function() A.RandomAffine{ degrees = 10 }(ml.rand(4, 8)) end, "prep.augment.RandomAffine: expected a float32 image batch [N, C, H, W] or [N, H, W], got float32 [4,8]")
  T.raises(function() A.RandomAffine{ degree = 10 } end, "did you mean 'degrees'?")
  T.raises(function() A.RandomAffine{} end, "prep.augment.RandomAffine: option 'degrees' is required")
  T.raises(function() A.RandomHorizontalFlip{ p = 2 } end, "prep.augment.RandomHorizontalFlip: option 'p' must be a number in [0, 1]")
  T.raises(function() A.RandomErasing{ scale = { 0.5, 0.1 } } end, "prep.augment.RandomErasing: option 'scale' must be a number or a range {lo, hi} with lo <= hi")
  T.raises(function() A.Compose{ 3 } end, "prep.augment.Compose: element 1 is a number, expected a transform")
  T.raises(function() A.Compose{ A.RandomHorizontalFlip(), sed = 1 } end, "did you mean 'seed'?")
  T.raises(function() A.warp(ml.rand(2, 1, 4, 4), ml.zeros(2, 3, 3)) end, "prep.augment.warp: theta must be a contiguous float64 [2, 2, 3]")
  -- a Compose with a Lua function runs in Lua, in order
  local c = A.Compose{ A.RandomHorizontalFlip(1), function(b) return b + 1 end }
  local x = ml.rand(2, 1, 3, 3)
  T.ok(same(c(x), x:index_select(4, rev(3)) + 1), "mixed Compose")
end)

T.test("GaussianNoise on a data frame: float64 columns get the tensor's noise, others and missing kept", function()
  local df = ml.data.DataFrame{ a = { 1.5, 2, 0 / 0, 4 }, b = { 1, 2, 3, 4 }, c = { 0.5, 0.25, 1, 2 }, s = { "x", "y", "z", "w" } }
  local out = A.GaussianNoise{ std = 0.1, seed = 4 }(df)
  T.ok(ml.data.DataFrame.is(out), "a frame")
  T.eq(table.concat(out.columns, ","), "a,b,c,s")
  local want = A.GaussianNoise{ std = 0.1, seed = 4 }(df:to_tensor({ "a", "c" }))
  T.ok(out.a[3] ~= out.a[3], "missing stays NaN")
  for i = 1, 4 do
    if i ~= 3 then T.eq(out.a[i], want[i][1]) end
    T.eq(out.c[i], want[i][2])
    T.eq(out.b[i], i)
    T.eq(out:column("s"):get(i), df:column("s"):get(i))
  end
  T.ok(math.abs(out.c[1] - 0.5) > 0, "noise added")
end)

T.test("data.loader transform over a dataset with get(i): applied on this thread; loader:next() too", function()
  local x = ml.rand(6, 1, 4, 4)
  local ds = setmetatable({ get = function(_, i) return x[i], i end }, { __len = function() return 6 end })
  local flip = A.RandomHorizontalFlip(1)
  local ld = ml.data.loader(ds, { batch_size = 3, transform = flip })
  local n = 0
  for xb, idx in ld do
    n = n + 1
    T.ok(same(xb, x:index_select(1, idx):index_select(4, rev(4))), "flipped")
  end
  T.eq(n, 2)
  local lt = ml.data.loader({ x }, { batch_size = 4, transform = flip })
  local xb = lt:next()
  T.ok(same(xb, x:narrow(1, 1, 4):index_select(4, rev(4))), "next() gives the transformed batch")
  lt:close()
end)

T.test("determinism across processes: a fresh run with 2 threads gives the same bytes", function()
  local code = [[local A = ml.prep.augment
local x = (ml.arange(32 * 28 * 28):float() * 0.001):sin():reshape(32, 1, 28, 28)
local t = A.Compose{ A.RandomAffine{ degrees = 15, translate = { 0.1, 0.1 }, shear = 5 }, A.RandomErasing{ value = "random" },
  A.GaussianNoise{ std = 0.1 }, seed = 9 }
local y = t(x):double()
io.write(string.format("%.17g %.17g", y:sum():item(), (y * y):sum():item()))]]
  local path = T.tmpname(".lua")
  T.write_file(path, code)
  local function run(threads)
    local h = io.popen(string.format("OMP_NUM_THREADS=%d %s %s 2>&1", threads, T.quote(T.BIN), T.quote(path)))
    local out = h:read("a")
    h:close()
    return out
  end
  local a, b = run(1), run(2)
  T.ok(a:match("^%-?%d"), "a checksum: " .. a)
  T.eq(a, b)
end)
