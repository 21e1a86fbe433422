-- scripts/bench/cv.lua MODEL N JOBS SEED: one timed models.cross_val_score (5 stratified folds) on a
-- synthetic N x 20 problem; prints "RESULT seconds mean_accuracy". MODEL: forest (RandomForestClassifier,
-- 100 trees, when ml.models has it) or net (NetClassifier, 2x64 MLP, 8 epochs).
local model, n, jobs, seed = arg[1] or "forest", tonumber(arg[2] or 20000), tonumber(arg[3] or 1), tonumber(arg[4] or 0)
local models, nn = ml.models, ml.nn
ml.seed(1000 + seed)
local d = 20
local X = ml.randn(n, d, { dtype = "float64" })
local w = ml.randn(d, 1, { dtype = "float64" })
local logits = ml.matmul(X, w):reshape(n) + ml.randn(n, { dtype = "float64" }) * 0.5 + (X:narrow(2, 1, 1):reshape(n) * X:narrow(2, 2, 1):reshape(n))
local y = logits:gt(0):to("int64")
local est
if model == "forest" then
  if not rawget(models, "RandomForestClassifier") then io.stderr:write("cv.lua: no models.RandomForestClassifier in this build\n") os.exit(2) end
  est = models.RandomForestClassifier { n_estimators = 100, random_state = 0 }
else
  est = models.NetClassifier { build = function(_, k, c)
    return nn.Sequential { nn.Linear(k, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, c) }
  end, epochs = 8, batch_size = 64, lr = 1e-3, random_state = 0 }
end
local t0 = ml.now()
local s = models.cross_val_score(est, X, y, { cv = 5, n_jobs = jobs })
print(string.format("RESULT %.4f %.4f", ml.now() - t0, s:mean():item()))
