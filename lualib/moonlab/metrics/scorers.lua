--- Scorers by name (sklearn.metrics.get_scorer): metrics.get_scorer(name) -> fn(estimator, X, y) ->
-- number, greater is better (losses negated: "neg_log_loss", "neg_mean_squared_error" ...), and
-- metrics.scorer_names(). A scorer calls est:predict(X), or for the score-based metrics
-- est:decision_function(X) / est:predict_proba(X), as scikit-learn's scorers do.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"

local fail, fmt = checks.fail, string.format
local M = { metrics = {} }

local function m() return require "moonlab.metrics" end

-- Whether est offers the method (an ml.models estimator without the model's part does not).
local function has(est, name)
  if type(est.has_method) == "function" then return est:has_method(name) end
  if type(est[name]) ~= "function" and not (type(est[name]) == "table" and getmetatable(est[name])) then return false end
  local ok, base = pcall(require, "moonlab.models.base")
  if ok and base.Estimator and est[name] == base.Estimator[name] then return est["_" .. name] ~= nil end
  return true
end

-- The label values of the estimator's columns (est.classes_, or y's own sorted labels).
local function classes_of(est, y)
  if type(est.classes_) == "table" then return est.classes_ end
  local _, classes = labels.encode("metrics scorer", y)
  return classes
end

-- The positive column of a binary [n, 2] output: the class labels.positive picks, else the second.
local function positive_column(est, y)
  local classes = classes_of(est, y)
  local ok, k = pcall(labels.positive, "metrics scorer", classes)
  return (ok and k) or 2
end

-- predict
local function label_scorer(metric, opts)
  return function(est, X, y) return m()[metric](y, est:predict(X), opts) end
end

-- decision_function, else predict_proba (the positive column when binary): scikit-learn's _ThresholdScorer
local function threshold_scorer(metric, opts, proba_only)
  return function(est, X, y)
    local s
    if not proba_only and has(est, "decision_function") then
      s = est:decision_function(X)
    elseif has(est, "predict_proba") then
      s = est:predict_proba(X)
      if s:dim() == 2 and s:size(2) == 2 and #classes_of(est, y) == 2 then s = s:select(2, positive_column(est, y)):contiguous() end
    else
      fail(fmt("metrics scorer '%s': the estimator has neither decision_function nor predict_proba", metric))
    end
    return m()[metric](y, s, opts)
  end
end

-- predict_proba, every column (multi-class AUC, log loss)
local function proba_scorer(metric, opts, sign, with_labels)
  return function(est, X, y)
    if not has(est, "predict_proba") then fail(fmt("metrics scorer '%s': the estimator has no predict_proba", metric)) end
    local P = est:predict_proba(X)
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    if with_labels and type(est.classes_) == "table" then o.labels = est.classes_ end
    return (sign or 1) * m()[metric](y, P, o)
  end
end

local function negated(metric, opts)
  return function(est, X, y) return -m()[metric](y, est:predict(X), opts) end
end

local SCORERS = {
  accuracy = label_scorer("accuracy_score"),
  balanced_accuracy = label_scorer("balanced_accuracy_score"),
  matthews_corrcoef = label_scorer("matthews_corrcoef"),
  r2 = label_scorer("r2_score"),
  explained_variance = label_scorer("explained_variance_score"),
  max_error = negated("max_error"),
  neg_mean_squared_error = negated("mean_squared_error"),
  neg_root_mean_squared_error = negated("mean_squared_error", { squared = false }),
  neg_mean_absolute_error = negated("mean_absolute_error"),
  neg_median_absolute_error = negated("median_absolute_error"),
  neg_mean_absolute_percentage_error = negated("mean_absolute_percentage_error"),
  roc_auc = threshold_scorer("roc_auc_score"),
  average_precision = threshold_scorer("average_precision_score"),
  top_k_accuracy = threshold_scorer("top_k_accuracy_score"),
  roc_auc_ovr = proba_scorer("roc_auc_score", { multi_class = "ovr" }),
  roc_auc_ovo = proba_scorer("roc_auc_score", { multi_class = "ovo" }),
  roc_auc_ovr_weighted = proba_scorer("roc_auc_score", { multi_class = "ovr", average = "weighted" }),
  roc_auc_ovo_weighted = proba_scorer("roc_auc_score", { multi_class = "ovo", average = "weighted" }),
  neg_log_loss = proba_scorer("log_loss", nil, -1, true),
  neg_brier_score = function(est, X, y)
    if not has(est, "predict_proba") then fail("metrics scorer 'neg_brier_score': the estimator has no predict_proba") end
    local P = est:predict_proba(X)
    if P:dim() == 2 then P = P:select(2, positive_column(est, y)):contiguous() end
    return -m().brier_score_loss(y, P)
  end,
}
for _, base in ipairs({ "precision", "recall", "f1" }) do
  local metric = base == "f1" and "f1_score" or (base .. "_score")
  SCORERS[base] = label_scorer(metric)
  for _, avg in ipairs({ "macro", "micro", "weighted" }) do
    SCORERS[base .. "_" .. avg] = label_scorer(metric, { average = avg })
  end
end

-- The metric a scorer computes and its sign, for fit's epoch metrics.
M.SCORERS = SCORERS

--- metrics.scorer_names() -> {name}: every name get_scorer knows, sorted
function M.metrics.scorer_names()
  local out = {}
  for k in pairs(SCORERS) do out[#out + 1] = k end
  table.sort(out)
  return out
end

--- metrics.get_scorer(name) -> fn(estimator, X, y) -> number (greater is better); a function is returned as it is
function M.metrics.get_scorer(name)
  if type(name) == "function" then return name end
  if type(name) ~= "string" then fail(fmt("metrics.get_scorer: expected a scorer name (a string), got %s", type(name))) end
  local s = SCORERS[name]
  if s then return s end
  -- longer names first: a name that is a prefix ('f1' of 'f1macro') must not win a tie with the typo's fix
  local names = M.metrics.scorer_names()
  table.sort(names, function(a, b) return #a > #b or (#a == #b and a < b) end)
  local hint = checks.suggest(name, names)
  fail(fmt("metrics.get_scorer: unknown scorer '%s'%s (metrics.scorer_names() lists them)", name,
    hint and fmt("; did you mean '%s'?", hint) or ""))
end

ml.doc(M.metrics.scorer_names, "metrics.scorer_names() -> {name} — the scorer names get_scorer, cross-validation and compile take, sorted")
ml.doc(M.metrics.get_scorer, "metrics.get_scorer(name) -> fn(estimator, X, y) -> number — scikit-learn's scorer of that name (greater is better: losses negated, as 'neg_log_loss')")

return M
