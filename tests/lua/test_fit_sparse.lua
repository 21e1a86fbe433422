-- fit, evaluate, predict and data.loader on an ml.sparse X (TF-IDF's output): rows batched, never densified.
local nn, data = ml.nn, ml.data

local function corpus(n)
  local words = { { "cat", "meow", "purr", "whisker" }, { "dog", "bark", "woof", "fetch" } }
  local docs, labels = {}, {}
  for i = 1, n do
    local c = (i % 2) + 1
    local t = {}
    for j = 1, 6 do t[j] = words[c][(i * 7 + j * 3) % 4 + 1] end
    docs[i], labels[i] = table.concat(t, " ") .. " the", c
  end
  return ml.prep.TfidfVectorizer():fit_transform(docs), ml.tensor(labels)
end

T.test("fit on a sparse X learns, with validation_split, class_weight, evaluate and predict", function()
  ml.seed(1)
  local X, y = corpus(200)
  local model = nn.Sequential{ nn.Linear(X.shape[2], 2) }
  model:compile{ optimizer = ml.optim.Adam(model:parameters(), { lr = 0.05 }), loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
  local h = model:fit(X, y, { epochs = 4, batch_size = 32, validation_split = 0.2, class_weight = "balanced", verbose = 0 })
  T.ok(h.loss[4] < h.loss[1], "loss falls")
  T.eq(h.val_accuracy[4], 1.0)
  T.eq(model:evaluate(X, y).accuracy, 1.0)
  local p = model:predict(X)
  T.eq(p:size(1), 200)
  T.all_near(p, model:predict(X:to_dense():float()), 1e-5) -- the same as the dense rows
  T.all_near(model:predict({ X, y }), p, 0)
end)

T.test("fit on a sparse X equals fit on its dense rows (same seed, same batches)", function()
  local X, y = corpus(64)
  local function train(inp)
    ml.seed(3)
    local m = nn.Sequential{ nn.Linear(X.shape[2], 2) }
    m:compile{ optimizer = ml.optim.SGD(m:parameters(), { lr = 0.5 }), loss = nn.CrossEntropyLoss() }
    m:fit(inp, y, { epochs = 2, batch_size = 16, shuffle = true, seed = 5, verbose = 0, fused = false })
    return m[1].weight
  end
  T.all_near(train(X), train(X:to_dense():float()), 1e-5)
end)

T.test("data.loader batches sparse rows with tensors, shuffled and seeded", function()
  local X, y = corpus(10)
  local seen = 0
  for xb, yb in data.loader({ X, y }, { batch_size = 4, shuffle = true, seed = 2 }) do
    T.ok(data.is_sparse(xb)); T.eq(xb.shape[1], yb:size(1)); seen = seen + yb:size(1)
  end
  T.eq(seen, 10)
  T.raises(function() data.RowsDataset(X, ml.zeros(3)) end, "part 2 has 3 rows, part 1 has 10")
end)
