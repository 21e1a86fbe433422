-- The moonlab side of scripts/bench/forest.sh: RandomForestClassifier{n_estimators = 100}
-- (on ml.threads(), both cores) fit and predict_proba on the .npy files forest.py made, REPS
-- times (random_state ROUND * REPS + rep): prints "fit MEDIAN BEST", "fit_cpu ...", "predict ...",
-- "predict_cpu ..." (os.clock: the process's CPU seconds, all threads) and "accuracy MEAN MEAN".
local dir, reps, round = arg[1], tonumber(arg[2] or "1"), tonumber(arg[3] or "0")
local Xtr, ytr = ml.load_npy(dir .. "/X_train.npy"), ml.load_npy(dir .. "/y_train.npy")
local Xte, yte = ml.load_npy(dir .. "/X_test.npy"), ml.load_npy(dir .. "/y_test.npy")
local fit, fit_cpu, pred, pred_cpu, acc = {}, {}, {}, {}, 0
for r = 1, reps do
  local m = ml.models.RandomForestClassifier { n_estimators = 100, random_state = round * reps + r - 1 }
  local t, c = ml.now(), os.clock()
  m:fit(Xtr, ytr)
  fit[r], fit_cpu[r] = ml.now() - t, os.clock() - c
  t, c = ml.now(), os.clock()
  local p = m:predict_proba(Xte)
  pred[r], pred_cpu[r] = ml.now() - t, os.clock() - c
  acc = acc + ml.argmax(p, 2):sub(1):eq(yte):to("float64"):mean():item() / reps
end
local function median(v)
  local s = { table.unpack(v) }
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) / 2] or (s[n / 2] + s[n / 2 + 1]) / 2
end
local function best(v) return math.min(table.unpack(v)) end
for _, row in ipairs({ { "fit", fit }, { "fit_cpu", fit_cpu }, { "predict", pred }, { "predict_cpu", pred_cpu } }) do
  print(row[1], median(row[2]), best(row[2]))
end
print("accuracy", acc, acc)
