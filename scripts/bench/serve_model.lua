-- The models of scripts/bench/serve.sh: the Fashion-MNIST MLP 784-512-256-10, trained
-- briefly (TRAIN images, one epoch) and saved as a moonlab bundle, plus the JSON body
-- of a batch-1 request (the first test image) for wrk.
--   moonlab scripts/bench/serve_model.lua OUT_DIR [TRAIN=10000]
local dir = arg[1] or "/tmp/moonlab_serve_bench"
local limit = tonumber(arg[2]) or 10000
local nn = ml.nn
ml.seed(0)
local train, test = ml.data.fashion_mnist()
local X = train.x:narrow(1, 1, limit):reshape(limit, 784)
local y = train.y:narrow(1, 1, limit)
local model = nn.Sequential { nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10) }
model:compile { loss = nn.CrossEntropyLoss(), optimizer = ml.optim.Adam(model:parameters(), { lr = 1e-3 }) }
model:fit(X, y, { epochs = 1, batch_size = 128, verbose = 0 })
local bundle = require "moonlab.serve.bundle"
bundle.save(dir .. "/fashion.safetensors", { model = model, train = X, y = y, name = "fashion", version = 1 })
local row = test.x:narrow(1, 1, 1):reshape(1, 784)
local f = assert(io.open(dir .. "/body.json", "w"))
f:write(ml.json.encode({ inputs = row:tolist() }))
f:close()
local _, pred = model:predict(row):max(2)
print("predicted class of test image 1: " .. pred:item())

-- The second model, for the batching comparison where the forward pass is most of a
-- request's cost: a small Fashion-MNIST CNN (conv 32, conv 64, fc 128) on the same rows.
local cnn = nn.Sequential { nn.Reshape(1, 28, 28), nn.Conv2d(1, 32, 3, { padding = "same" }), nn.ReLU(), nn.MaxPool2d(2),
  nn.Conv2d(32, 64, 3, { padding = "same" }), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
  nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10) }
cnn:compile { loss = nn.CrossEntropyLoss(), optimizer = ml.optim.Adam(cnn:parameters(), { lr = 1e-3 }) }
local m = math.min(limit, 2000)
cnn:fit(X:narrow(1, 1, m), y:narrow(1, 1, m), { epochs = 1, batch_size = 128, verbose = 0 })
bundle.save(dir .. "/fashion_cnn.safetensors", { model = cnn, train = X, y = y, name = "fashion_cnn", version = 1 })

-- The third, for the batching comparison too: a wide Fashion-MNIST MLP (784-2048-2048-10,
-- 5.8M weights, 23 MB: more than the caches), whose batch-1 forward reads every weight from
-- memory for one row; batching reads them once for all the rows of a batch.
local wide = nn.Sequential { nn.Linear(784, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 10) }
wide:compile { loss = nn.CrossEntropyLoss(), optimizer = ml.optim.Adam(wide:parameters(), { lr = 1e-3 }) }
wide:fit(X:narrow(1, 1, m), y:narrow(1, 1, m), { epochs = 1, batch_size = 128, verbose = 0 })
bundle.save(dir .. "/fashion_wide.safetensors", { model = wide, train = X, y = y, name = "fashion_wide", version = 1 })
