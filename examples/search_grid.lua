-- The field's classic search: a grid over a random forest's n_estimators and
-- max_depth, each candidate scored by 3-fold cross-validation, on the breast
-- cancer data (GridSearchCV in scikit-learn's words).
--   moonlab examples/search_grid.lua [trees=100,200,300] [depths=10,20,30] [cv=3]
local models, search = ml.models, ml.search
local o = ml.overrides
local function list(s, default)
  if s == nil then return default end
  local out = {}
  for v in tostring(s):gmatch("[^,]+") do out[#out + 1] = math.tointeger(tonumber(v)) end
  return out
end

local df = ml.data.load_breast_cancer()
local features = {}
for _, n in ipairs(df.columns) do if n ~= "target" then features[#features + 1] = n end end
local X, y = df:to_tensor(features), df.target

local grid = { n_estimators = list(o.trees, { 100, 200, 300 }), max_depth = list(o.depths, { 10, 20, 30 }) }
local gs = search.GridSearchCV(models.RandomForestClassifier { random_state = 0 }, grid, { cv = o.cv or 3, verbose = false })
local t0 = ml.now()
gs:fit(X, y)
gs:print()
print(string.format("best_params: n_estimators = %d, max_depth = %d; cross-validated accuracy %.4f (%d candidates in %.1f s)",
  gs.best_params_.n_estimators, gs.best_params_.max_depth, gs.best_score_, #gs.cv_results_.params, ml.now() - t0))
