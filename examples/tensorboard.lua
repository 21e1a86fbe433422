-- TensorBoard files from moonlab: an MLP on Fashion-MNIST trained with the
-- TensorBoard callback (epoch scalars in train/ and validation/, histograms
-- of the weights and gradients, the first layer's weights as an image), plus
-- a writer of our own for sample images, a text note and the run's
-- hyperparameters with its test accuracy (the HPARAMS tab). Then:
--   tensorboard --logdir /tmp/moonlab_tb      (TensorBoard itself is not needed to write these)
--   moonlab examples/tensorboard.lua [epochs=5] [limit=N rows] [hidden=128] [lr=0.002] [logdir=/tmp/moonlab_tb]
local nn, optim, track = ml.nn, ml.optim, ml.track
local o = ml.overrides
local epochs, hidden, lr = o.epochs or 5, o.hidden or 128, o.lr or 2e-3
local logdir = (o.logdir or (os.getenv("TMPDIR") or "/tmp") .. "/moonlab_tb") .. "/hidden" .. hidden .. "_lr" .. lr

ml.seed(0)
local train, test = ml.data.fashion_mnist()
if o.limit then
  train = { x = train.x:narrow(1, 1, o.limit), y = train.y:narrow(1, 1, o.limit) }
  test = { x = test.x:narrow(1, 1, math.min(o.limit, 10000)), y = test.y:narrow(1, 1, math.min(o.limit, 10000)) }
end

local model = nn.Sequential { nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10) }
model:compile { optimizer = optim.Adam(model:parameters(), { lr = lr }), loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
model:fit(train.x, train.y, { epochs = epochs, batch_size = 128, validation_split = 0.1, verbose = 0,
  callbacks = { ml.callbacks.TensorBoard { log_dir = logdir, histogram_freq = 1, write_images = true } } })

local result = model:evaluate(test.x, test.y)
local tb = track.TensorBoard(logdir)
tb:image("test/samples", test.x:narrow(1, 1, 16):view(16, 1, 28, 28), epochs, { nrow = 8 })
tb:histogram("test/predicted_class", model:predict(test.x):argmax(2), epochs, { bins = 10 })
tb:text("notes", string.format("MLP 784-%d-10, Adam lr **%g**, %d epochs on %d rows", hidden, lr, epochs, train.x:size(1)), epochs)
tb:hparams({ hidden = hidden, lr = lr, optimizer = "adam" }, { test_accuracy = result.accuracy, test_loss = result.loss })
tb:close()
print(string.format("test accuracy %.2f%%; event files under %s", 100 * result.accuracy, logdir))
