-- Records one seeded training run (fit with shuffling, a validation split,
-- dropout, batch norm, Adam with a schedule) so tests/lua/test_determinism.lua
-- can check that later refactors give the same run bit for bit.
--   build/moonlab scripts/gen_determinism_fixture.lua [OUT] [THREADS]   (THREADS default 1)
-- Regenerate only when a change is meant to alter the numbers (say why in the commit).
local nn, optim = ml.nn, ml.optim
ml.threads(math.tointeger(tonumber(arg[2])) or 1)
ml.seed(1234)
local x = ml.randn(300, 6)
local w = ml.randn(6, 3)
local y = (x:matmul(w)):argmax(2):reshape(-1)
local model = nn.Sequential{ nn.Linear(6, 16, {bias = false}), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3) }
local opt = optim.Adam(model:parameters(), {lr = 1e-2})
model:compile{ optimizer = opt, loss = nn.CrossEntropyLoss(), metrics = {"accuracy"} }
local h = model:fit(x, y, { epochs = 4, batch_size = 32, validation_split = 0.2, verbose = 0,
  callbacks = { ml.callbacks.LearningRateScheduler(optim.lr.StepLR(opt, {step_size = 2, gamma = 0.5})) } })
local out = {}
for k, v in pairs(model:state_dict()) do out[k] = v end
out.history_loss = ml.tensor(h.loss, {dtype = "float64"})
out.history_val_loss = ml.tensor(h.val_loss, {dtype = "float64"})
ml.save(arg[1] or "tests/fixtures/determinism/fit_run.safetensors", out)
print("wrote", arg[1] or "tests/fixtures/determinism/fit_run.safetensors")
