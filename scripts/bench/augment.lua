-- moonlab side of scripts/bench/augment.sh: RandomAffine (rotation, translation, scale, shear,
-- bilinear) on a [N, 1, 28, 28] float32 batch; prints "ml affine <median us> <best us>".
local n, secs = tonumber(arg[1]) or 128, tonumber(arg[2]) or 1
local A = ml.prep.augment
local t = A.RandomAffine{ degrees = 15, translate = { 0.1, 0.1 }, scale = { 0.9, 1.1 }, shear = 5, seed = 1 }
local x = ml.rand(n, 1, 28, 28)
for _ = 1, 20 do t(x) end
local times, t0 = {}, ml.now()
while ml.now() - t0 < secs do
  local s = ml.now()
  t(x)
  times[#times + 1] = ml.now() - s
end
table.sort(times)
print(string.format("ml affine %.2f %.2f", 1e6 * times[(#times + 1) // 2], 1e6 * times[1]))
