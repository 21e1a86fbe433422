-- A small CNN on Fashion-MNIST: two convolution blocks (conv, batch norm,
-- ReLU, max pooling) then a dense head, trained with Adam and a cosine
-- learning-rate decay on images that the loader's background thread
-- augments (small random shifts, rotations and erasing, ml.prep.augment).
-- Reaches 91.8% test accuracy at full size (8 epochs, seed 0), then saves
-- the model and checks that the reloaded one predicts the same.
--   moonlab examples/fashion_cnn.lua [epochs=8] [limit=N training images, for a quick run]
--   (examples/transformer.lua loads this file as a library, loadfile(path)("--library"),
--   and trains the same CNN the same way to print its accuracy beside its own.)
local nn, optim, data, A = ml.nn, ml.optim, ml.data, ml.prep.augment
local M = {}

--- The training and test images (N, 28, 28) and labels, the first `limit` rows of each when given.
function M.load(limit)
  local train, test = data.fashion_mnist()
  if limit then
    train = { x = train.x:narrow(1, 1, limit), y = train.y:narrow(1, 1, limit) }
    test = { x = test.x:narrow(1, 1, math.min(limit, 10000)), y = test.y:narrow(1, 1, math.min(limit, 10000)) }
  end
  return train, test
end

local function block(cin, cout)
  return nn.Conv2d(cin, cout, 3, { padding = 1, bias = false }), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)
end

--- The CNN: two conv blocks (conv, batch norm, ReLU, 2x2 max pooling), then dropout and a dense head.
function M.model()
  local c1, b1, r1, p1 = block(1, 32)
  local c2, b2, r2, p2 = block(32, 64)
  return nn.Sequential {
    nn.Reshape(1, 28, 28), -- (N, 28, 28) images -> (N, 1, 28, 28)
    c1, b1, r1, p1, -- (N, 32, 14, 14)
    c2, b2, r2, p2, -- (N, 64, 7, 7)
    nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
  }
end

--- The share of test images the model classifies right (eval mode, batches of 500).
function M.accuracy(model, test)
  model:eval()
  return ml.no_grad(function()
    local correct = 0
    for i = 1, test.x:size(1), 500 do
      local n = math.min(500, test.x:size(1) - i + 1)
      correct = correct + model(test.x:narrow(1, i, n)):argmax(2):eq(test.y:narrow(1, i, n)):sum():item()
    end
    return correct / test.x:size(1)
  end)
end

--- Trains model on train for `epochs` epochs (augmented batches of 128, Adam 2e-3 with a cosine decay), printing
--- each epoch's loss and test accuracy after `prefix`; returns the final test accuracy.
function M.train(model, train, test, epochs, prefix)
  local augment = A.Compose {
    A.RandomAffine { degrees = 5, translate = { 0.06, 0.06 } },
    A.RandomErasing { p = 0.2, scale = { 0.02, 0.08 } },
    seed = 1,
  }
  local loader = data.loader({ train.x, train.y }, { batch_size = 128, shuffle = true, seed = 0, transform = augment })
  local opt = optim.Adam(model:parameters(), { lr = 2e-3 })
  local sched = optim.lr.CosineAnnealingLR(opt, { T_max = epochs })
  local crit = nn.CrossEntropyLoss()
  local acc
  for epoch = 1, epochs do
    model:train()
    local t0, total, seen = ml.now(), 0, 0
    for x, y in loader:iter() do
      opt:zero_grad()
      local loss = crit(model(x), y)
      loss:backward()
      opt:step()
      total, seen = total + loss:item() * x:size(1), seen + x:size(1)
    end
    sched:step()
    acc = M.accuracy(model, test)
    print(string.format("%sepoch %d  loss %.4f  test accuracy %.2f%%  (%.1fs)", prefix or "", epoch, total / seen, 100 * acc,
      ml.now() - t0))
  end
  return acc
end

if ... == "--library" then return M end

local epochs = ml.overrides.epochs or 8
ml.seed(0)
local train, test = M.load(ml.overrides.limit)
local model = M.model()
print(model)
local acc = M.train(model, train, test, epochs)
print(string.format("final test accuracy %.2f%%", 100 * acc))

local path = (os.getenv("TMPDIR") or "/tmp") .. "/fashion_cnn.safetensors"
model:save(path)
local again = nn.load(path)
again:eval()
local probe = test.x:narrow(1, 1, 100)
local same = ml.no_grad(function() return ml.equal(again(probe), model(probe)) end)
print(string.format("saved to %s; reloaded model gives %s outputs", path, same and "identical" or "DIFFERENT"))
