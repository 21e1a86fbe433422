-- The moonlab side of scripts/bench/forest.sh: RandomForestClassifier{n_estimators = 100}
-- (on ml.threads(), both cores) fit and predict_proba on the .npy files forest.py made,
-- REPS times: prints "fit MEDIAN BEST", "predict MEDIAN BEST", "accuracy MEAN MEAN".
local dir, reps = arg[1], tonumber(arg[2] or "3")
local Xtr, ytr = ml.load_npy(dir .. "/X_train.npy"), ml.load_npy(dir .. "/y_train.npy")
local Xte, yte = ml.load_npy(dir .. "/X_test.npy"), ml.load_npy(dir .. "/y_test.npy")

local fit, pred, acc = {}, {}, 0
for r = 1, reps do
  local m = ml.models.RandomForestClassifier { n_estimators = 100, random_state = r }
  local t = ml.now()
  m:fit(Xtr, ytr)
  fit[r] = ml.now() - t
  t = ml.now()
  local p = m:predict_proba(Xte)
  pred[r] = ml.now() - t
  acc = acc + ml.argmax(p, 2):sub(1):eq(yte):to("float64"):mean():item() / reps
end
local function median(v)
  local s = { table.unpack(v) }
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) / 2] or (s[n / 2] + s[n / 2 + 1]) / 2
end
local function best(v) return math.min(table.unpack(v)) end
print("fit", median(fit), best(fit))
print("predict", median(pred), best(pred))
print("accuracy", acc, acc)
