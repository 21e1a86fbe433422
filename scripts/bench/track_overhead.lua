-- scripts/bench/track_overhead.sh's moonlab side: Fashion-MNIST MLP epochs with tracking off and on,
-- alternating in one process. Prints one "RESULT side seconds" line per fit: its seconds per epoch.
-- EPOCHS (default 1) epochs per fit: the end of a tracked fit writes its learning-curve PNG once
-- (about 15 ms), which a one-epoch fit charges to its one epoch.
--   moonlab scripts/bench/track_overhead.lua ROUNDS [LIMIT] [BATCH_EVERY] (env EPOCHS)
local rounds = tonumber(arg[1]) or 5
local limit = tonumber(arg[2])
local batch_every = tonumber(arg[3])
local epochs = math.tointeger(tonumber(os.getenv("EPOCHS") or "")) or 1
local nn, optim = ml.nn, ml.optim
local train = ml.data.fashion_mnist()
local x, y = train.x, train.y
if limit and limit > 0 then x, y = x:narrow(1, 1, limit), y:narrow(1, 1, limit) end
local root = os.tmpname()
os.remove(root)
ml.seed(0)
local model = nn.Sequential { nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10) }
model:compile { optimizer = optim.Adam(model:parameters(), { lr = 1e-3 }), loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
local run = ml.track.start { experiment = "bench", dir = root, source = false }
local sides = { { "off", { track = false } }, { "on", { track = run } } }
if batch_every then sides[3] = { "on+batch/" .. batch_every, { callbacks = { ml.callbacks.Track { run = run, log_every_batch = batch_every } } } } end
model:fit(x, y, { epochs = 1, batch_size = 128, verbose = 0, track = false }) -- warm-up
for r = 1, rounds do
  for _, s in ipairs(sides) do
    local opts = { epochs = epochs, batch_size = 128, verbose = 0 }
    for k, v in pairs(s[2]) do opts[k] = v end
    local t0 = ml.now()
    model:fit(x, y, opts)
    print(string.format("RESULT %s %.4f", s[1], (ml.now() - t0) / epochs))
    io.stdout:flush()
  end
end
run:finish()
os.execute("rm -rf '" .. root .. "'")
