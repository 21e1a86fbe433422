-- Augmentation through the loader: a Fashion-MNIST subset trained for a few
-- hundred steps on randomly rotated, shifted, scaled, sheared and erased
-- images. The Compose of built-in transforms compiles to one C plan that the
-- loader's background thread runs on each batch, so the training loop sees
-- new variants every epoch and never waits on Lua for them. With mixup=1 each
-- batch is also mixed (soft labels, which nn.CrossEntropyLoss takes as they are).
--   moonlab examples/augment.lua [steps=300] [limit=6000 rows] [mixup=0]
local nn, optim, data, A = ml.nn, ml.optim, ml.data, ml.prep.augment
local steps = ml.overrides.steps or 300
local limit = ml.overrides.limit or 6000
local use_mixup = (ml.overrides.mixup or 0) ~= 0

ml.seed(0)
local train, test = data.fashion_mnist()
train = { x = train.x:narrow(1, 1, limit), y = train.y:narrow(1, 1, limit) }
test = { x = test.x:narrow(1, 1, 2000), y = test.y:narrow(1, 1, 2000) }

local augment = A.Compose{
  A.RandomAffine{ degrees = 8, translate = { 0.05, 0.05 }, scale = { 0.95, 1.05 }, shear = 3 },
  A.RandomErasing{ p = 0.25, scale = { 0.02, 0.1 } },
  seed = 1,
}
local loader = data.loader({ train.x, train.y }, { batch_size = 64, shuffle = true, seed = 0, transform = augment })

local model = nn.Sequential{ nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10) }
local crit = nn.CrossEntropyLoss({ label_smoothing = 0.05 })
local opt = optim.Adam(model:parameters(), { lr = 1e-3 })

local step, total, t0 = 0, 0, ml.now()
while step < steps do
  model:train()
  for x, y in loader:iter() do
    local target = y
    if use_mixup then x, target = A.mixup(x, y, { alpha = 0.2, num_classes = 10, seed = step }) end
    opt:zero_grad()
    local loss = crit(model(x), target)
    loss:backward()
    opt:step()
    step, total = step + 1, total + loss:item()
    if step % 100 == 0 or step == steps then
      print(string.format("step %d  epoch %d  loss %.4f", step, loader.epoch, total / (step % 100 == 0 and 100 or step % 100)))
      if step % 100 == 0 then total = 0 end
    end
    if step >= steps then break end
  end
end
model:eval()
local acc = ml.no_grad(function() return model(test.x):argmax(2):eq(test.y):double():mean():item() end)
print(string.format("%d steps in %.1fs; test accuracy %.2f%% (on 2000 test images)", steps, ml.now() - t0, 100 * acc))
