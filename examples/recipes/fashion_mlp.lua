-- A recipe: an MLP on Fashion-MNIST, its hyperparameters with defaults, the
-- space a search explores, and run(p, ctx), which trains and returns the
-- metrics. The same file is run, overridden and searched:
--   moonlab examples/recipes/fashion_mlp.lua                 -- the defaults
--   moonlab examples/recipes/fashion_mlp.lua lr=3e-3 hidden=256 epochs=5
--   moonlab examples/recipes/fashion_mlp.lua --help
--   moonlab search examples/recipes/fashion_mlp.lua --trials 30 --metric val_accuracy
-- Inside a search, fit reports each epoch's val_accuracy to the trial, and a
-- trial the pruner stops ends by itself.
local nn, optim, data = ml.nn, ml.optim, ml.data
local search = ml.search

return {
  doc = "A 784-hidden-10 MLP on Fashion-MNIST (a validation split of the training set), trained with fit.",
  params = {
    lr = 1e-3, hidden = 256, dropout = 0.1, optimizer = "adam", momentum = 0.9,
    epochs = 3, batch_size = 128, limit = 12000,
  },
  docs = {
    lr = "the optimizer's learning rate", hidden = "width of the hidden layer", dropout = "dropout after the hidden layer",
    optimizer = "adam or sgd", momentum = "SGD's momentum (only with optimizer=sgd)", epochs = "training epochs",
    batch_size = "rows per step", limit = "training rows used (of 60000; 0 = all)",
  },
  space = {
    lr = search.loguniform(1e-4, 3e-2),
    hidden = search.int(32, 512, { log = true }),
    dropout = search.uniform(0, 0.5),
    optimizer = { "adam", "sgd" },
    momentum = search.uniform(0.5, 0.99, { when = { optimizer = "sgd" } }),
  },
  run = function(p, ctx)
    local train = data.fashion_mnist()
    local x, y = train.x, train.y
    if p.limit > 0 then x, y = x:narrow(1, 1, p.limit), y:narrow(1, 1, p.limit) end
    local model = nn.Sequential { nn.Flatten(), nn.Linear(784, p.hidden), nn.ReLU(), nn.Dropout(p.dropout), nn.Linear(p.hidden, 10) }
    local opt = p.optimizer == "sgd" and optim.SGD(model:parameters(), { lr = p.lr, momentum = p.momentum })
      or optim.Adam(model:parameters(), { lr = p.lr })
    model:compile { optimizer = opt, loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
    local h = model:fit(x, y, { epochs = p.epochs, batch_size = p.batch_size, validation_split = 0.2, verbose = 0 })
    return { val_accuracy = h.val_accuracy[#h.val_accuracy], val_loss = h.val_loss[#h.val_loss] }
  end,
}
