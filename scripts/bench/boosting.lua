-- The moonlab side of scripts/bench/boosting.sh: one fit of
-- models.HistGradientBoostingClassifier (200 iterations, 31 leaves, no early
-- stopping) on DIR's training rows; prints "moonlab seconds test_accuracy".
local dir = arg[1]
local Xtr, ytr = ml.load_npy(dir .. "/X_train.npy"), ml.load_npy(dir .. "/y_train.npy")
local Xte, yte = ml.load_npy(dir .. "/X_test.npy"), ml.load_npy(dir .. "/y_test.npy")
local m = ml.models.HistGradientBoostingClassifier{ max_iter = 200, learning_rate = 0.1, max_leaf_nodes = 31,
  min_samples_leaf = 20, early_stopping = false, random_state = 0 }
local s = ml.now()
m:fit(Xtr, ytr)
local dt = ml.now() - s
print(string.format("moonlab %.4f %.4f", dt, m:score(Xte, yte)))
