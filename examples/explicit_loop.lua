-- The explicit training loop, for full control: Fashion-MNIST with an MLP,
-- data.loader batches prepared in a background thread, a cosine learning-rate
-- schedule, gradient clipping, and a test-set evaluation every epoch.
--   moonlab examples/explicit_loop.lua [epochs=3] [limit=N rows]
local nn, optim, data = ml.nn, ml.optim, ml.data
local epochs = ml.overrides.epochs or 3
local limit = ml.overrides.limit

ml.seed(0)
local train, test = data.fashion_mnist()
if limit then
  train = { x = train.x:narrow(1, 1, limit), y = train.y:narrow(1, 1, limit) }
  test = { x = test.x:narrow(1, 1, limit), y = test.y:narrow(1, 1, limit) }
end

local model = nn.Sequential{ nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10) }
local crit = nn.CrossEntropyLoss()
local opt = optim.Adam(model:parameters(), {lr = 1e-3})
local sched = optim.lr.CosineAnnealingLR(opt, {T_max = epochs})
local loader = data.loader({train.x, train.y}, {batch_size = 128, shuffle = true, seed = 0})

for epoch = 1, epochs do
  model:train()
  local t0, total, batches = ml.now(), 0, 0
  for x, y in loader:iter() do
    opt:zero_grad()
    local loss = crit(model(x), y)
    loss:backward()
    nn.utils.clip_grad_norm(model:parameters(), 5.0)
    opt:step()
    total, batches = total + loss:item(), batches + 1
  end
  sched:step()
  model:eval()
  local correct = ml.no_grad(function()
    return model(test.x):argmax(2):eq(test.y):sum():item()
  end)
  print(string.format("epoch %d  loss %.4f  test accuracy %.2f%%  lr %.2e  (%.2fs)", epoch, total / batches,
    100 * correct / test.y:size(1), sched:get_last_lr()[1], ml.now() - t0))
end
