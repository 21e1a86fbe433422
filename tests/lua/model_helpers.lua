-- Small deterministic estimators on the models.Estimator contract, for the tests of model selection
-- and ensembles (they need no classic model): a nearest-centroid classifier and a least-squares regressor.
local base = require "moonlab.models.base"
local H = {}

-- Nearest centroid; predict_proba is the softmax of minus the squared distances (scaled by temperature).
H.Centroid = base.define("test.Centroid", "test.Centroid{temperature=1} — nearest class mean", { { "temperature", 1.0 } })
H.Centroid.KIND = "classifier"
function H.Centroid:_fit(X, y)
  local rows = {}
  for k = 1, self.n_classes_ do
    local mask = y:eq(k)
    local idx = ml.arange(1, X:size(1) + 1, { dtype = "int64" }):masked_select(mask)
    rows[k] = X:index_select(1, idx):mean(1):reshape(1, X:size(2))
  end
  self.centroids_ = ml.cat(rows, 1):to("float64")
end
function H.Centroid:_decision_function(X)
  X = X:to("float64")
  local d = (X * X):sum(2):reshape(X:size(1), 1) - ml.matmul(X, self.centroids_:t()) * 2
    + (self.centroids_ * self.centroids_):sum(2):reshape(1, self.n_classes_)
  return d * (-1 / self.temperature)
end
function H.Centroid:_predict_proba(X) return ml.softmax(self:_decision_function(X), 2) end
function H.Centroid:_predict(X)
  local _, i = self:_decision_function(X):max(2)
  return i:reshape(X:size(1)):to("int64")
end

-- Least squares by 300 steps of gradient descent (deterministic; no solver needed).
H.LeastSquares = base.define("test.LeastSquares", "test.LeastSquares{} — linear least squares", { { "steps", 300 } })
H.LeastSquares.KIND = "regressor"
function H.LeastSquares:_fit(X, y)
  X = X:to("float64")
  local n, d = X:size(1), X:size(2)
  local A = ml.cat({ X, ml.ones(n, 1, { dtype = "float64" }) }, 2)
  local w = ml.zeros(d + 1, 1, { dtype = "float64" })
  local t = y:reshape(n, 1)
  local L = (A * A):sum():item() / n
  for _ = 1, self.steps do
    w = w - ml.matmul(A:t(), ml.matmul(A, w) - t) * (1 / (n * L))
  end
  self.coef_ = w
end
function H.LeastSquares:_predict(X)
  X = X:to("float64")
  local A = ml.cat({ X, ml.ones(X:size(1), 1, { dtype = "float64" }) }, 2)
  return ml.matmul(A, self.coef_):reshape(X:size(1))
end

-- breast cancer / iris / diabetes as (X float64, y)
function H.dataset(name)
  local df = ml.data["load_" .. name]()
  local names = {}
  for _, n in ipairs(df._names) do if n ~= "target" then names[#names + 1] = n end end
  return df:select(names):to_tensor():to("float64"), df:column("target").values, df
end

-- a bundled data set as X (standardized when asked) and y, both float64 (the target as df:to_tensor gives it)
function H.xy(name, standardize)
  local df = ml.data["load_" .. name]()
  local names = {}
  for _, n in ipairs(df._names) do if n ~= "target" then names[#names + 1] = n end end
  local X = df:to_tensor(names)
  if standardize then X = ml.prep.StandardScaler():fit_transform(X) end
  return X, df:to_tensor({ "target" }):view(-1)
end

-- X, y of a data set and its fixed split: rows (row - 1) % 3 == 0 are the test rows (the trees' fixtures)
-- -> Xtr, ytr, Xte, yte, X, y; cached per data set
local thirds = {}
function H.thirds(name)
  if not thirds[name] then
    local X, y = H.xy(name)
    local n = X:size(1)
    local test = ml.arange(0, n):remainder(3):eq(0)
    local tr = ml.arange(1, n + 1):masked_select(test:logical_not())
    local te = ml.arange(1, n + 1):masked_select(test)
    thirds[name] = { X:index_select(1, tr), y:index_select(1, tr), X:index_select(1, te), y:index_select(1, te), X, y }
  end
  return table.unpack(thirds[name])
end

return H
