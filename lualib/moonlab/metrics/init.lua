--- ml.metrics: metrics of predictions against targets (sklearn.metrics).
--
--   ml.metrics.accuracy(logits, labels)   -- share of rows whose argmax is the label
--   ml.metrics.mae(pred, target), ml.metrics.mse(pred, target)
--   ml.metrics.f1_score(y_true, y_pred, {average = "macro"}), ml.metrics.roc_auc_score(y_true, y_score)
--   ml.metrics.get_scorer("f1_macro")(estimator, X, y)
--
-- sklearn.metrics's functions take label values (any integers, whole floats, strings, data columns),
-- read through core/labels.lua; the hot paths are C kernels (ml._metrics).
-- Each metric is a function of (pred, target) that returns a number. The ones
-- fit can compute batch by batch (`metrics = {"accuracy"}` in compile) also
-- have a sums form, metrics.sums(name) -> fn(pred, target, threshold) ->
-- sum, count, so an epoch's value is the sum over its batches over the count
-- (the same value as the metric over the whole epoch at once).
-- The metrics live one family per file: classification.lua (labels: accuracy_score, precision, recall,
-- F, confusion matrix, MCC, kappa), curves.lua (scores: ROC, PR, AP, top-k), probabilistic.lua
-- (log_loss, brier_score_loss), regression.lua, report.lua (classification_report), scorers.lua
-- (get_scorer, scorer_names); inputs.lua reads labels, weights and scores for all of them.
local ml = require "moonlab"

local metrics = {}
local sums = {}    -- name -> fn(pred, target, threshold) -> sum, count
local aliases = { acc = "accuracy" }

local FAMILIES = { "classification", "curves", "probabilistic", "regression", "report", "scorers" }
for _, fam in ipairs(FAMILIES) do
  local part = require("moonlab.metrics." .. fam)
  for name, fn in pairs(part.metrics) do metrics[name] = fn end
  for name, fn in pairs(part.sums or {}) do sums[name] = fn end
end

--- metrics.sums(name) -> fn(pred, target, threshold) -> sum, count | nil: the batch form fit uses
function metrics.sums(name)
  return sums[aliases[name] or name]
end

--- metrics.names() -> {name}: the metrics fit knows by name (compile's metrics = {...}), sorted
function metrics.names()
  local out = {}
  for k in pairs(sums) do out[#out + 1] = k end
  table.sort(out)
  return out
end

--- metrics.canonical(name) -> the metric's name ("acc" -> "accuracy"), or nil when unknown
function metrics.canonical(name)
  local k = aliases[name] or name
  return sums[k] and k or nil
end

local epoch = require "moonlab.metrics.epoch"
--- metrics.epoch(name) -> fn(outputs, targets, threshold) -> number | nil: a metric fit computes over a whole epoch
metrics.epoch = epoch.get
--- metrics.epoch_names() -> {name}: the names compile takes as epoch-level metrics (F1, AUC, ...), sorted
metrics.epoch_names = epoch.names

ml.doc(metrics.epoch, "metrics.epoch(name) -> fn(outputs, targets, threshold) -> number | nil — a metric fit computes over the whole epoch's predictions (F1, precision, recall, AUC ...: they do not decompose over batches)")
ml.doc(metrics.epoch_names, "metrics.epoch_names() -> {name} — the names compile's metrics = {...} takes as epoch-level metrics, sorted")
ml.doc(metrics, "ml.metrics — sklearn.metrics for moonlab: classification (accuracy_score, f1_score, confusion_matrix, classification_report ...), ranking (roc_auc_score, average_precision_score, roc_curve ...), regression (r2_score, mean_squared_error ...), scorers (get_scorer); fit's accuracy, mae, mse (metrics.names(): batch metrics; metrics.epoch_names(): epoch-level ones)")
ml.doc(metrics.sums, "metrics.sums(name) -> fn(pred, target, threshold) -> sum, count | nil — a metric's batch form, summed over an epoch by fit")
ml.doc(metrics.names, "metrics.names() -> {name} — the metrics compile's metrics = {...} takes by name, sorted")
ml.doc(metrics.canonical, "metrics.canonical(name) -> name | nil — the metric's own name ('acc' -> 'accuracy'), nil when unknown")

return metrics
