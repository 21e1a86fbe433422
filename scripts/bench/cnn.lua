-- The moonlab side of scripts/bench/cnn.sh: the issue's CNN
-- conv(1->32, 3x3, pad 1)-ReLU-maxpool 2-conv(32->64, 3x3, pad 1)-ReLU-maxpool 2-
-- Linear(3136->128)-ReLU-Linear(128->10), Adam lr 1e-3, cross-entropy,
-- batch 128, Fashion-MNIST shuffled every epoch, PyTorch's default init.
--   moonlab cnn.lua THREADS EPOCHS [SEED] [LIMIT]
-- The explicit loop over data.loader{shuffle = true} with loss:item() per
-- batch. Prints "EPOCH <k> <seconds> <mean train loss>" per epoch, then
-- "RESULT <median epoch s> <test accuracy %> <peak RSS MiB> <working set MiB>"
-- (scripts/bench/peak.lua: the process's peak, and the peak of training and
-- evaluation above the RSS once data, model and optimizer exist; the test set
-- in batches of 128, the training batch, on both sides: at 256 the peak is the
-- evaluation's, not training's, and in moonlab it then depends on when Lua's
-- collector frees the last batch's activations (175 MiB against 127 at 128,
-- the blocks cached from training not fitting the larger shapes); PyTorch
-- frees by reference count). LIMIT trains on the first LIMIT images.
local nn, optim, data = ml.nn, ml.optim, ml.data
local threads = math.tointeger(tonumber(arg[1])) or 1
local epochs = math.tointeger(tonumber(arg[2])) or 1
local seed = math.tointeger(tonumber(arg[3])) or 0
local limit = math.tointeger(tonumber(arg[4]))
ml.threads(threads)
ml.seed(seed)

local train, test = data.fashion_mnist()
local xtr, ytr = train.x:reshape(-1, 1, 28, 28), train.y
if limit then xtr, ytr = xtr:narrow(1, 1, limit), ytr:narrow(1, 1, limit) end
local xte = test.x:reshape(-1, 1, 28, 28)
local model = nn.Sequential {
  nn.Conv2d(1, 32, 3, { padding = 1 }), nn.ReLU(), nn.MaxPool2d(2),
  nn.Conv2d(32, 64, 3, { padding = 1 }), nn.ReLU(), nn.MaxPool2d(2),
  nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10),
}
local opt = optim.Adam(model:parameters(), { lr = 1e-3 })
local crit = nn.CrossEntropyLoss()
local now = ml.now
local peak = dofile("scripts/bench/peak.lua")

local times = {}
local loader = data.loader({ xtr, ytr }, { batch_size = 128, shuffle = true })
peak.start()
for epoch = 1, epochs do
  model:train()
  local t0, total, seen = now(), 0, 0
  for x, y in loader:iter() do
    opt:zero_grad()
    local loss = crit(model(x), y)
    loss:backward()
    opt:step()
    local len = x:size(1)
    total, seen = total + loss:item() * len, seen + len
  end
  times[epoch] = now() - t0
  print(string.format("EPOCH %d %.4f %.4f", epoch, times[epoch], total / seen))
  io.stdout:flush()
end

model:eval()
local correct = ml.no_grad(function()
  local c = 0
  for i = 1, xte:size(1), 128 do
    local len = math.min(128, xte:size(1) - i + 1)
    c = c + model(xte:narrow(1, i, len)):argmax(2):eq(test.y:narrow(1, i, len)):sum():item()
  end
  return c
end)
local acc = 100 * correct / xte:size(1)

local total_peak, working = peak.finish()
table.sort(times)
local med = #times % 2 == 1 and times[(#times + 1) // 2] or (times[#times // 2] + times[#times // 2 + 1]) / 2
print(string.format("RESULT %.4f %.2f %.1f %.1f", med, acc, total_peak, working))
