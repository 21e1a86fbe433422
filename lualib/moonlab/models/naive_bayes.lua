--- models/naive_bayes.lua: GaussianNB and MultinomialNB, as scikit-learn's.
-- Fitting is a few whole-matrix products with the (weighted) one-hot label
-- matrix Y [n, K]: class counts Y'1, per-class sums Y'X (for a sparse X,
-- X'Y in C); prediction is one product X W' plus the log priors, normalized
-- by log-sum-exp. MultinomialNB takes ml.sparse CSR input as it is (the
-- TF-IDF text baseline: prep.TfidfVectorizer's output).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.models.base"
local H = require "moonlab.models.linear_helpers"

local fail, fmt = checks.fail, string.format
local M = {}

-- jll [n, K] less its row-wise log-sum-exp: the log posterior probabilities
local function log_normalize(jll)
  local mx = jll:max(2):view(-1, 1)
  local lse = jll:sub(mx):exp():sum(2, true):log():add(mx)
  return jll:sub(lse)
end

-- A user's prior list: K non-negative numbers summing to 1.
local function check_priors(fn, what, priors, K)
  local p = ml.is_tensor(priors) and priors:to("float64"):contiguous():view(-1) or ml.tensor(priors, { dtype = "float64" })
  if p:numel() ~= K then fail(fmt("%s: %s has %d values but y has %d classes", fn, what, p:numel(), K)) end
  if p:lt(0):sum():item() > 0 or p:isnan():sum():item() > 0 then fail(fmt("%s: %s must be >= 0", fn, what)) end
  return p
end

local function add_log_proba(cls)
  --- est:predict_log_proba(X) -> float64 [n, K]: log class probabilities, columns in the order of classes_
  function cls:predict_log_proba(X)
    local fn = self.__name .. ":predict_log_proba"
    self:check_fitted(fn)
    return log_normalize(self:_joint_log_likelihood(self:_input(fn, X, false), fn))
  end
  function cls:_predict_proba(X, fn) return log_normalize(self:_joint_log_likelihood(X, fn)):exp() end
  function cls:_predict(X, fn) return self:_joint_log_likelihood(X, fn):argmax(2) end
  ml.doc(cls.predict_log_proba, "est:predict_log_proba(X) -> float64 [n, K] — log class probabilities (log-sum-exp normalized)")
end

-- ---- GaussianNB -------------------------------------------------------------------------------

local GaussianNB = base.define("models.GaussianNB",
  "models.GaussianNB([{priors, var_smoothing=1e-9}]) — Gaussian naive Bayes: one mean and variance per class and feature; "
  .. "fitted: theta_, var_, class_prior_, class_count_, epsilon_",
  { { "priors", nil }, { "var_smoothing", 1e-9 } })
GaussianNB.KIND = "classifier"

function GaussianNB:_check(fn)
  H.check_positive(fn, "var_smoothing", self.var_smoothing, true)
  if self.priors ~= nil and type(self.priors) ~= "table" and not ml.is_tensor(self.priors) then
    fail(fmt("%s: priors must be a list or tensor of class probabilities, got %s", fn, type(self.priors)))
  end
end

function GaussianNB:_fit(X, codes, fn, opts)
  X = H.dense(fn, X)
  local K = self.n_classes_
  local Y = H.one_hot(codes, K, opts.sample_weight) -- [n, K]
  local count = Y:sum(1)                           -- [K]
  local theta = ml.matmul(Y:t(), X):div(count:view(-1, 1))
  local var = ml.matmul(Y:t(), X:sub(theta:index_select(1, codes)):pow(2)):div(count:view(-1, 1))
  -- scikit-learn's epsilon_: var_smoothing times the largest (unweighted) variance of a feature
  local eps = self.var_smoothing * X:sub(X:mean(1)):pow(2):mean(1):max():item()
  self.epsilon_, self.theta_, self.var_, self.class_count_ = eps, theta, var:add(eps), count
  if self.priors ~= nil then
    local p = check_priors(fn, "priors", self.priors, K)
    if math.abs(p:sum():item() - 1) > 1e-8 then fail(fmt("%s: priors must sum to 1, got %.10g", fn, p:sum():item())) end
    self.class_prior_ = p
  else
    self.class_prior_ = count:div(count:sum():item())
  end
end

--- est:_joint_log_likelihood(X, fn) -> float64 [n, K]: log P(x | class) + log P(class)
function GaussianNB:_joint_log_likelihood(X, fn)
  X = H.dense(fn, X)
  local cols, logprior = {}, self.class_prior_:log()
  for k = 1, self.n_classes_ do
    local mu, var = self.theta_:select(1, k), self.var_:select(1, k)
    local norm = -0.5 * var:mul(2 * math.pi):log():sum():item()
    cols[k] = X:sub(mu):pow(2):div(var):sum(2, true):mul(-0.5):add(norm + logprior[k])
  end
  return ml.cat(cols, 2)
end
add_log_proba(GaussianNB)
M.GaussianNB = GaussianNB

-- ---- MultinomialNB ----------------------------------------------------------------------------

local MultinomialNB = base.define("models.MultinomialNB",
  "models.MultinomialNB([{alpha=1, fit_prior=true, class_prior}]) — multinomial naive Bayes for counts or TF-IDF "
  .. "(dense or ml.sparse CSR X); fitted: feature_count_, class_count_, feature_log_prob_, class_log_prior_",
  { { "alpha", 1.0 }, { "fit_prior", true }, { "class_prior", nil } })
MultinomialNB.KIND = "classifier"
MultinomialNB.SPARSE = true

function MultinomialNB:_check(fn)
  H.check_positive(fn, "alpha", self.alpha, true)
  checks.boolean(fn, "fit_prior", self.fit_prior)
end

-- X as float64 (sparse stays sparse), refusing negative values as scikit-learn does
local function counts_input(fn, X)
  if base.is_sparse(X) then
    X = X:to("float64")
    local v = X:values()
    if v:isnan():sum():item() > 0 then fail(fn .. ": X holds NaN; expected non-negative counts or frequencies") end
    if v:abs():eq(math.huge):sum():item() > 0 then fail(fn .. ": X holds infinite values; expected finite numbers") end
    if v:lt(0):sum():item() > 0 then fail(fn .. ": X holds negative values; MultinomialNB expects counts or frequencies (>= 0)") end
    return X
  end
  X = H.dense(fn, X)
  if X:lt(0):sum():item() > 0 then fail(fn .. ": X holds negative values; MultinomialNB expects counts or frequencies (>= 0)") end
  return X
end

function MultinomialNB:_fit(X, codes, fn, opts)
  X = counts_input(fn, X)
  local K = self.n_classes_
  local Y = H.one_hot(codes, K, opts.sample_weight)
  local fc = base.is_sparse(X) and X:t_matmul(Y):t():contiguous() or ml.matmul(Y:t(), X) -- [K, d]
  local count = Y:sum(1)
  self.feature_count_, self.class_count_ = fc, count
  local alpha = math.max(self.alpha, 1e-10) -- scikit-learn 1.2 raises a tiny alpha to 1e-10 (force_alpha = False)
  local smoothed = fc:add(alpha)
  self.feature_log_prob_ = smoothed:log():sub(smoothed:sum(2, true):log())
  if self.class_prior ~= nil then
    self.class_log_prior_ = check_priors(fn, "class_prior", self.class_prior, K):log()
  elseif self.fit_prior then
    self.class_log_prior_ = count:log():sub(math.log(count:sum():item()))
  else
    self.class_log_prior_ = ml.full({ K }, -math.log(K), { dtype = "float64" })
  end
end

function MultinomialNB:_joint_log_likelihood(X, fn)
  X = counts_input(fn, X)
  local W = self.feature_log_prob_:t():contiguous()
  local jll = base.is_sparse(X) and X:matmul(W) or ml.matmul(X, W)
  return jll:add(self.class_log_prior_)
end
add_log_proba(MultinomialNB)
M.MultinomialNB = MultinomialNB

ml.doc(GaussianNB._joint_log_likelihood, "est:_joint_log_likelihood(X, fn) -> float64 [n, K] — log P(x | class) + log P(class)")
ml.doc(MultinomialNB._joint_log_likelihood, "est:_joint_log_likelihood(X, fn) -> float64 [n, K] — X feature_log_prob_' + class_log_prior_")

return M
