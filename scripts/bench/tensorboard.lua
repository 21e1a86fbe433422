-- moonlab's side of scripts/bench/tensorboard.sh: prints "tb OP seconds" lines.
--   moonlab scripts/bench/tensorboard.lua DIR [REPS=5]
local dir, reps = arg[1], tonumber(arg[2] or 5)
local tb = ml.track.TensorBoard(dir)
ml.seed(0)
local w = ml.randn(1000000)
local img = ml.rand(3, 256, 256)

local function median(f)
  local t = {}
  for i = 1, reps do local t0 = ml.now(); f(); t[i] = ml.now() - t0 end
  table.sort(t)
  return t[(reps + 1) // 2]
end

print("tb scalars_2000", median(function() for s = 1, 2000 do tb:scalar("loss", 1 / s, s) end end))
print("tb histogram_1M", median(function() tb:histogram("w", w, 1) end))
print("tb image_256", median(function() tb:image("img", img, 1) end))
tb:close()

-- what the callback adds to an epoch: Fashion-MNIST MLP, 10,000 rows, histograms every epoch
if arg[3] == "fit" then
  local train = ml.data.fashion_mnist()
  local X, y = train.x:narrow(1, 1, 10000), train.y:narrow(1, 1, 10000)
  local function epoch(cbs)
    ml.seed(1)
    local m = ml.nn.Sequential { ml.nn.Flatten(), ml.nn.Linear(784, 512), ml.nn.ReLU(), ml.nn.Linear(512, 10) }
    m:compile { optimizer = ml.optim.Adam(m:parameters(), { lr = 1e-3 }), loss = ml.nn.CrossEntropyLoss() }
    local t0 = ml.now()
    m:fit(X, y, { epochs = 1, batch_size = 128, verbose = 0, callbacks = cbs })
    return ml.now() - t0
  end
  epoch({}) -- warm-up: first-touch of the data and the allocator
  local plain, with, scal, hook = {}, {}, {}, {}
  for i = 1, reps do
    plain[i] = epoch({})
    scal[i] = epoch({ ml.callbacks.TensorBoard { log_dir = dir .. "/fits" .. i } })
    -- the callback's own time, measured inside the epoch (less noisy than a difference of epochs)
    local cb = ml.callbacks.TensorBoard { log_dir = dir .. "/fit" .. i, histogram_freq = 1 }
    local inner, spent = cb.on_epoch_end, 0
    cb.on_epoch_end = function(self, ...) local t0 = ml.now(); inner(self, ...); spent = spent + ml.now() - t0 end
    with[i] = epoch({ cb })
    hook[i] = spent / with[i]
  end
  table.sort(hook)
  print("fit hook_share", hook[(reps + 1) // 2])
  table.sort(plain); table.sort(with); table.sort(scal)
  print("fit epoch_plain", plain[(reps + 1) // 2])
  print("fit epoch_tensorboard", with[(reps + 1) // 2])
  print("fit epoch_scalars", scal[(reps + 1) // 2])
end
