--- models/neighbors.lua: KNeighborsClassifier and KNeighborsRegressor, as
-- scikit-learn's with algorithm = "brute". The search is
-- ml._neighbors.kneighbors (runtime/ops/neighbors.c, shared with
-- prep.KNNImputer): |r|^2 - 2 q.r by one matrix product per tile and a
-- top-k heap per query row in C, ties to the lower training row, distances
-- recomputed exactly; p = 1 sums |q - r| directly. The vote and the average
-- over the neighbours are C kernels too (knn_vote, knn_average), weighted
-- uniformly or by 1 / distance (a query at distance 0 of some training rows
-- takes those alone, as scikit-learn).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.models.base"
local H = require "moonlab.models.linear_helpers"

local NB = ml._neighbors
local fail, fmt = checks.fail, string.format
local M = {}

local PARAMS = { { "n_neighbors", 5 }, { "weights", "uniform" }, { "algorithm", "auto" }, { "p", 2 }, { "metric", "minkowski" } }

local function check(self, fn)
  checks.integer(fn, "n_neighbors", self.n_neighbors, 1)
  if type(self.weights) == "function" then
    fail(fn .. ": weights must be 'uniform' or 'distance' (a weight function is not supported)")
  end
  checks.one_of(fn, "weights", self.weights, { "uniform", "distance" })
  checks.one_of(fn, "algorithm", self.algorithm, { "auto", "brute" })
  checks.one_of(fn, "metric", self.metric, { "minkowski", "euclidean", "manhattan" })
  if self.p ~= 1 and self.p ~= 2 then fail(fmt("%s: p must be 1 (Manhattan) or 2 (Euclidean), got %s", fn, tostring(self.p))) end
end

-- The Minkowski power the options name.
local function power(self)
  if self.metric == "euclidean" then return 2 elseif self.metric == "manhattan" then return 1 end
  return self.p
end

-- X dense and finite, and small enough that squared distances stay finite (beyond ~1e150 they overflow to
-- inf and every neighbour ties: silently wrong neighbours)
local function points(fn, X)
  X = H.dense(fn, X)
  local big = X:numel() > 0 and X:abs():max():item() or 0
  if big > 1e150 then
    fail(fmt("%s: X holds values up to %.3g; squared distances overflow beyond ~1e150: rescale X (e.g. prep.StandardScaler)", fn, big))
  end
  return X
end

local function fit(self, X, y, fn, opts)
  if opts and opts.sample_weight ~= nil then
    fail(fmt("%s: %s takes no sample_weight (as in scikit-learn); use weights = \"distance\" or resample the rows", fn, self.__name))
  end
  self.fit_X_ = points(fn, X)
  self.fit_y_ = y:contiguous()
  self.n_samples_fit_ = self.fit_X_:size(1)
  self.effective_metric_ = power(self) == 1 and "manhattan" or "euclidean"
end

-- idx (int64 [m, k], 1-based training rows) and dist [m, k] of X's k nearest training rows; X nil:
-- the training rows themselves, each without itself (scikit-learn's kneighbors())
local function search(self, fn, X, k)
  local R = self.fit_X_
  local Q = X and points(fn, X) or R
  local avail = X and R:size(1) or R:size(1) - 1
  if k > avail then
    fail(fmt("%s: n_neighbors = %d, expected <= %d (the %s)", fn, k, avail, X and "rows seen by fit" or "rows seen by fit, less the query itself"))
  end
  return H.call(fn, NB.kneighbors, Q, R, k, { exclude_self = X == nil, p = power(self) })
end

local function kneighbors(self, X, n_neighbors, return_distance)
  local fn = self.__name .. ":kneighbors"
  self:check_fitted(fn)
  local k = checks.integer(fn, "n_neighbors", n_neighbors or self.n_neighbors, 1)
  if X ~= nil then X = self:_input(fn, X, false) end
  local idx, dist = search(self, fn, X, k)
  if return_distance == false then return idx end
  return dist, idx
end

local function weights_of(self, dist)
  return self.weights == "distance" and dist:contiguous() or nil
end

-- ---- KNeighborsClassifier ---------------------------------------------------------------------

local KNeighborsClassifier = base.define("models.KNeighborsClassifier",
  "models.KNeighborsClassifier([{n_neighbors=5, weights='uniform'|'distance', algorithm='auto'|'brute', p=2 (or 1), "
  .. "metric='minkowski'|'euclidean'|'manhattan'}]) — the majority (or 1 / distance-weighted) vote of the k nearest "
  .. "training rows, by brute force through BLAS; kneighbors(X, [n]) -> distances, indices",
  PARAMS)
KNeighborsClassifier.KIND = "classifier"
KNeighborsClassifier._check = check
KNeighborsClassifier._fit = fit

function KNeighborsClassifier:_predict_proba(X, fn)
  local idx, dist = search(self, fn, X, self.n_neighbors)
  return H.call(fn, NB.knn_vote, idx, weights_of(self, dist), self.fit_y_, self.n_classes_)
end

function KNeighborsClassifier:_predict(X, fn)
  return self:_predict_proba(X, fn):argmax(2) -- ties: the first class, as scikit-learn's mode
end

--- est:kneighbors([X], [n_neighbors], [return_distance=true]) -> distances [m, k], indices (int64, 1-based)
KNeighborsClassifier.kneighbors = kneighbors
M.KNeighborsClassifier = KNeighborsClassifier

-- ---- KNeighborsRegressor ----------------------------------------------------------------------

local KNeighborsRegressor = base.define("models.KNeighborsRegressor",
  "models.KNeighborsRegressor([{n_neighbors=5, weights='uniform'|'distance', algorithm='auto'|'brute', p=2 (or 1), "
  .. "metric='minkowski'|'euclidean'|'manhattan'}]) — the mean (or 1 / distance-weighted mean) of the k nearest "
  .. "training rows' targets; kneighbors(X, [n]) -> distances, indices",
  PARAMS)
KNeighborsRegressor.KIND = "regressor"
KNeighborsRegressor._check = check
KNeighborsRegressor._fit = fit

function KNeighborsRegressor:_predict(X, fn)
  local idx, dist = search(self, fn, X, self.n_neighbors)
  local Y, one = H.as2d(self.fit_y_)
  local out = H.call(fn, NB.knn_average, idx, weights_of(self, dist), Y:contiguous())
  return one and out:view(-1) or out
end

KNeighborsRegressor.kneighbors = kneighbors
M.KNeighborsRegressor = KNeighborsRegressor

ml.doc(kneighbors, "est:kneighbors([X], [n_neighbors], [return_distance=true]) -> distances [m, k], indices (int64 [m, k], 1-based "
  .. "training rows, nearest first, ties to the lower row); X nil: the training rows, each without itself")

return M
