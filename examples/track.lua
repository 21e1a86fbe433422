-- Run records: an MLP on the digits, tracked. Each width is one run with its params, every epoch's
-- metrics (fit logs them by itself while a run is open), the test accuracy, the model as an
-- artifact and the provenance (seed, git commit, a copy and hash of this script, the data read).
-- Then the runs as a table; from the shell: moonlab runs digits --sort test_accuracy --desc,
-- moonlab runs show ID, moonlab runs compare A B, moonlab rerun ID.
--   moonlab examples/track.lua [epochs=20] [widths=16,64] [dir=runs]
local nn, optim = ml.nn, ml.optim
local epochs = ml.overrides.epochs or 20
local dir = ml.overrides.dir -- default: $MOONLAB_RUNS or ./runs
local widths = {}
for w in tostring(ml.overrides.widths or "16,64"):gmatch("%d+") do widths[#widths + 1] = tonumber(w) end

local df = ml.data.load_digits() -- read through data.read_csv: the run records the file's SHA-256
local names = {}
for _, n in ipairs(df._names) do if n ~= "target" then names[#names + 1] = n end end
local labels = df:to_tensor({ "target" }):view(-1):long() + 1
local X, Xt, y, yt = ml.prep.train_test_split((df:to_tensor(names) / 16):float(), labels, { test_size = 0.25, stratify = labels, seed = 0 })

for _, width in ipairs(widths) do
  local params = { width = width, lr = 3e-3, epochs = epochs, batch_size = 64 }
  local run = ml.track.start { experiment = "digits", name = "mlp-" .. width, params = params, dir = dir, seed = 0 }
  ml.seed(0)
  local model = nn.Sequential { nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 10) }
  model:compile { optimizer = optim.Adam(model:parameters(), { lr = params.lr }), loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
  model:fit(X, y, { epochs = epochs, batch_size = params.batch_size, validation_split = 0.2, verbose = 0 })
  local test = model:evaluate(Xt, yt)
  run:log { test_accuracy = test.accuracy, test_loss = test.loss }
  model:save(run:artifact_path("model.safetensors"))
  run:finish()
  print(string.format("run %s  width %3d  test accuracy %.3f", run.id, width, test.accuracy))
end

for _, meta in ipairs(ml.track.list(dir, "digits")) do
  local rec = ml.track.read(meta.dir)
  print(string.format("%s  %-8s  %-8s  %d points  test_accuracy %.3f", meta.id, meta.name, meta.status, #rec.metrics,
    rec.final.test_accuracy or 0))
end
