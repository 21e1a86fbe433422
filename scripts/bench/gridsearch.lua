-- The moonlab side of scripts/bench/gridsearch.sh: GridSearchCV of
-- StandardScaler + LogisticRegression over C in {0.01, 0.1, 1, 10}, cv = 3,
-- on the breast-cancer data. Prints "TIME <median seconds of REPS fits> <best C> <best score>".
local reps = math.tointeger(tonumber(arg[1])) or 7
local models, prep = ml.models, ml.prep
local df = ml.data.load_breast_cancer()
local names = {}
for _, n in ipairs(df.columns) do if n ~= "target" then names[#names + 1] = n end end
local X, y = df:to_tensor(names), df.target
local times, gs = {}, nil
for r = 1, reps do
  local t0 = ml.now()
  gs = ml.search.GridSearchCV(prep.Pipeline { { "scale", prep.StandardScaler() }, { "lr", models.LogisticRegression {} } },
    { lr__C = { 0.01, 0.1, 1, 10 } }, { cv = 3 }):fit(X, y)
  times[r] = ml.now() - t0
end
table.sort(times)
print(string.format("TIME %.5f %g %.6f", times[(reps + 1) // 2], gs.best_params_.lr__C, gs.best_score_))
