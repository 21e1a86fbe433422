-- TPE with pruning over a network's learning rate, width and dropout on
-- Fashion-MNIST. Each trial trains with fit on a subset and a validation
-- split; fit reports every epoch's val_accuracy to the trial, and the
-- median pruner stops trials that fall behind, with no code here for it.
--   moonlab examples/search_mlp.lua [trials=20] [epochs=4] [limit=10000] [jobs=1]
local nn, optim, search = ml.nn, ml.optim, ml.search
local o = ml.overrides
local trials, epochs, limit, jobs = o.trials or 20, o.epochs or 4, o.limit or 10000, o.jobs or 1

local train = ml.data.fashion_mnist()
local X, y = train.x:narrow(1, 1, limit), train.y:narrow(1, 1, limit)

local space = {
  lr = search.loguniform(1e-4, 3e-2),
  width = search.int(32, 512, { log = true }),
  dropout = search.uniform(0, 0.5),
}

local res = search.run(function(p)
  local model = nn.Sequential { nn.Flatten(), nn.Linear(784, p.width), nn.ReLU(), nn.Dropout(p.dropout), nn.Linear(p.width, 10) }
  model:compile { optimizer = optim.Adam(model:parameters(), { lr = p.lr }), loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
  local h = model:fit(X, y, { epochs = epochs, batch_size = 128, validation_split = 0.2, verbose = 0 })
  return { val_accuracy = h.val_accuracy[#h.val_accuracy] }
end, space, { method = "tpe", trials = trials, metric = "val_accuracy", direction = "maximize", pruner = "median",
  seed = 0, jobs = jobs, verbose = true })

print(res)
local pruned = 0
for _, t in ipairs(res.trials) do if t.state == "pruned" then pruned = pruned + 1 end end
print(string.format("%d trials, %d pruned; best val_accuracy %.4f with lr %.2g, width %d, dropout %.2f", #res.trials, pruned,
  res.best_value, res.best_params.lr, res.best_params.width, res.best_params.dropout))
if #res.trials - pruned >= 3 then
  for _, e in ipairs(search.param_importances(res)) do print(string.format("  importance of %-8s %.2f", e.name, e.importance)) end
end
