-- The moonlab side of scripts/bench/tiny.sh: a tiny regression, 10-32-1
-- (Linear, ACT, Linear), MSE, batch 32, 10,000 rows (the .npy files tiny.py
-- writes), shuffled every epoch, default initialization.
--   moonlab tiny.lua THREADS EPOCHS LOOP DIR [SEED] [CONFIG]
-- LOOP is "fit" (model:fit, verbose = 0, no metrics) or "loop" (the explicit
-- loop over data.loader{shuffle = true}, with loss:item() per batch as fit does).
-- CONFIG is "adam-relu" (Adam lr 1e-3, ReLU; the default) or "sgd-tanh" (SGD lr 1e-2, Tanh).
-- Prints "RESULT <seconds for all epochs> <final train MSE over all rows> <last epoch mean loss> <fused steps>"
-- (fused steps: the batches fit ran as one C call, train/fused.lua; MOONLAB_FUSED=0 gives 0).
local nn, optim, data = ml.nn, ml.optim, ml.data
local threads = math.tointeger(tonumber(arg[1])) or 1
local epochs = math.tointeger(tonumber(arg[2])) or 100
local loop = arg[3] or "fit"
local dir = arg[4] or "build/bench"
local seed = math.tointeger(tonumber(arg[5])) or 0
local config = arg[6] or "adam-relu"
assert(loop == "fit" or loop == "loop", "LOOP must be fit or loop")
assert(config == "adam-relu" or config == "sgd-tanh", "CONFIG must be adam-relu or sgd-tanh")
ml.threads(threads)
ml.seed(seed)
local x, y = ml.load(dir .. "/tiny_x.npy"), ml.load(dir .. "/tiny_y.npy")
local n, bs = x:shape()[1], 32

local adam = config == "adam-relu"
local model = nn.Sequential{ nn.Linear(10, 32), adam and nn.ReLU() or nn.Tanh(), nn.Linear(32, 1) }
local opt = adam and optim.Adam(model:parameters(), {lr = 1e-3}) or optim.SGD(model:parameters(), {lr = 1e-2})
local crit = nn.MSELoss()
local now = ml.now

local t0, last, fused = nil, nil, 0
if loop == "fit" then
  model:compile{ optimizer = opt, loss = crit }
  t0 = now()
  local h = model:fit(x, y, { epochs = epochs, batch_size = bs, shuffle = true, verbose = 0, seed = seed })
  last = h.loss[#h.loss]
  fused = h.fused_steps or 0
else
  local loader = data.loader({x, y}, {batch_size = bs, shuffle = true})
  t0 = now()
  for _ = 1, epochs do
    local total = 0
    for xb, yb in loader:iter() do
      opt:zero_grad()
      local loss = crit(model(xb), yb)
      loss:backward()
      opt:step()
      total = total + loss:item() * xb:size(1)
    end
    last = total / n
  end
end
local elapsed = now() - t0
model:eval()
local mse = ml.no_grad(function() return crit(model(x), y):item() end)
print(string.format("RESULT %.4f %.6f %.6f %d", elapsed, mse, last, fused))
