-- The moonlab side of scripts/bench/mlp.sh: MLP 784-512-256-10 (ReLU),
-- Adam lr 1e-3, cross-entropy, batch 128, Fashion-MNIST, shuffled every
-- epoch, the layers' default initialization (PyTorch's).
--   moonlab mlp.lua THREADS EPOCHS LOOP [SEED]
-- LOOP is "fit" (model:fit, verbose = 0, no metrics, epochs timed by an
-- on_epoch_begin/on_epoch_end callback) or "loop" (the explicit loop over
-- data.loader{shuffle = true}, with loss:item() per batch as fit does).
-- Prints one line per epoch "EPOCH <k> <seconds> <mean train loss>", then
-- "RESULT <median epoch s> <test accuracy %> <peak RSS MiB> <dataset MiB>" (VmHWM of this
-- process, read from /proc/self/status after training and evaluation, the
-- test set in batches of 256 on both sides; the bytes of the loaded train and
-- test tensors).
local nn, optim, data = ml.nn, ml.optim, ml.data
local threads = math.tointeger(tonumber(arg[1])) or 1
local epochs = math.tointeger(tonumber(arg[2])) or 3
local loop = arg[3] or "fit"
local seed = math.tointeger(tonumber(arg[4])) or 0
assert(loop == "fit" or loop == "loop", "LOOP must be fit or loop")
ml.threads(threads)
ml.seed(seed)

local train, test = data.fashion_mnist()
local model = nn.Sequential{ nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
  nn.Linear(256, 10) }
local opt = optim.Adam(model:parameters(), {lr = 1e-3})
local crit = nn.CrossEntropyLoss()
local bs = 128
local EVAL_BS = 256 -- test-set batches (model:evaluate's default)
local now = ml.now

local times = {}
if loop == "fit" then
  model:compile{ optimizer = opt, loss = crit }
  local t0
  model:fit(train.x, train.y, { epochs = epochs, batch_size = bs, shuffle = true, verbose = 0, seed = seed,
    callbacks = { {
      on_epoch_begin = function() t0 = now() end,
      on_epoch_end = function(e, logs)
        times[e] = now() - t0
        print(string.format("EPOCH %d %.4f %.4f", e, times[e], logs.loss))
        io.stdout:flush()
      end,
    } } })
else
  local loader = data.loader({train.x, train.y}, {batch_size = bs, shuffle = true})
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
end

model:eval()
local correct = ml.no_grad(function()
  local c = 0
  for i = 1, test.x:shape()[1], EVAL_BS do
    local len = math.min(EVAL_BS, test.x:shape()[1] - i + 1)
    c = c + model(test.x:narrow(1, i, len)):argmax(2):eq(test.y:narrow(1, i, len)):sum():item()
  end
  return c
end)
local acc = 100 * correct / test.x:shape()[1]

local hwm = 0
local f = io.open("/proc/self/status")
if f then
  for line in f:lines() do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then hwm = tonumber(kb) / 1024 end
  end
  f:close()
end
table.sort(times)
local med = #times % 2 == 1 and times[(#times + 1) // 2] or (times[#times // 2] + times[#times // 2 + 1]) / 2
-- the loaded dataset's bytes (train and test, inputs and labels), which the
-- peak includes on both sides: mlp.sh reports the peak beyond them
local data_bytes = 0
for _, t in ipairs({ train.x, train.y, test.x, test.y }) do
  data_bytes = data_bytes + t:numel() * (t:dtype() == "int64" and 8 or t:dtype() == "float64" and 8 or 4)
end
print(string.format("RESULT %.4f %.2f %.1f %.1f", med, acc, hwm, data_bytes / 2^20))
