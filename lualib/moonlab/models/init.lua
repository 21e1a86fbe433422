--- moonlab.models (ml.models): classic estimators, ensembles, network
-- wrappers, splitters and cross-validation, on scikit-learn's estimator
-- contract (models/base.lua). This index lists the parts of the package (a
-- missing one is an error); each returns a table of the names it adds.
local ml = require "moonlab"
local base = require "moonlab.models.base"

local models = { Estimator = base.Estimator, clone = base.clone }

local parts = {
  "linear", "coordinate_descent", "logistic", "naive_bayes", "neighbors",
  "boosting",
  "splitters", "cross_validation", "curves", "net", "voting", "bagging", "stacking",
  "tree", "forest", "inspection",
}

for _, part in ipairs(parts) do
  for k, v in pairs(require("moonlab.models." .. part)) do
    if models[k] ~= nil then error("moonlab.models: " .. part .. " redefines models." .. k) end
    models[k] = v
  end
end

--- models.load(path) -> the estimator saved with est:save(path)
function models.load(path)
  return require("moonlab.core.persist").load(path)
end

ml.doc(models, "ml.models — classic estimators (linear, naive Bayes, kNN, trees, forests, boosting), ensembles, network wrappers, model selection")
ml.doc(models.load, "models.load(path) -> estimator — an estimator saved with est:save(path), rebuilt by its class name")

return models
