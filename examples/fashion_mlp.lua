-- The main job: an MLP on Fashion-MNIST with the Keras-style fit loop.
-- Trains 784-512-10 with Adam and a cosine learning-rate decay, a progress
-- bar on a terminal, early stopping on the validation loss, then evaluates on
-- the test set (about 89%) and saves the model.
--   moonlab examples/fashion_mlp.lua [epochs=10] [limit=N rows, for a quick run]
local nn, optim, data = ml.nn, ml.optim, ml.data
local epochs = ml.overrides.epochs or 10
local limit = ml.overrides.limit

ml.seed(0)
local train, test = data.fashion_mnist()
if limit then
  train = { x = train.x:narrow(1, 1, limit), y = train.y:narrow(1, 1, limit) }
  test = { x = test.x:narrow(1, 1, math.min(limit, test.x:size(1))), y = test.y:narrow(1, 1, math.min(limit, test.y:size(1))) }
end

local model = nn.Sequential{ nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10) }
print(model)
local opt = optim.Adam(model:parameters(), {lr = 2e-3})
model:compile{ optimizer = opt, loss = nn.CrossEntropyLoss(), metrics = {"accuracy"} }
local history = model:fit(train.x, train.y, { epochs = epochs, batch_size = 128, validation_split = 0.1,
  callbacks = { ml.callbacks.EarlyStopping{ monitor = "val_loss", patience = 3, restore_best = true },
                ml.callbacks.LearningRateScheduler(optim.lr.CosineAnnealingLR(opt, {T_max = epochs})) } })

local result = model:evaluate(test.x, test.y)
print(string.format("test loss %.4f, test accuracy %.2f%%", result.loss, 100 * result.accuracy))
local path = os.getenv("TMPDIR") and (os.getenv("TMPDIR") .. "/fashion.safetensors") or "/tmp/fashion.safetensors"
model:save(path)
local again = nn.load(path)
local same = ml.equal(again:predict(test.x:narrow(1, 1, 100)), model:predict(test.x:narrow(1, 1, 100)))
print(string.format("saved to %s; reloaded model gives %s predictions", path, same and "identical" or "DIFFERENT"))
