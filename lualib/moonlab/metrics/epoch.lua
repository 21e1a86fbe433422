--- The metrics fit computes over a whole epoch's predictions (compile{metrics = {"f1_macro", "roc_auc"}}):
-- those that do not decompose over batches (F1, AUC, precision, recall ...), from a network's outputs.
-- Outputs [n, K] (K > 1): labels = argmax (1..K), probabilities = softmax; [n] or [n, 1] (BCE-style):
-- probability = sigmoid of logits (threshold 0, BCEWithLogitsLoss) or the output itself (BCELoss),
-- label = output > threshold, against 0/1 targets. Regression names compare the outputs as they are.
local ml = require "moonlab"

local M = {}

local function m() return require "moonlab.metrics" end

-- labels, probabilities (float64: [n] binary, [n, K]) and the truth of a network's epoch
local function read(out, target, threshold)
  local n = out:size(1)
  if out:dim() == 2 and out:size(2) > 1 then
    local K = out:size(2)
    local o = out:to("float64")
    return out:argmax(2):reshape(n), ml.softmax(o, 2), target:reshape(n):to("int64"), K
  end
  local o = out:reshape(n):to("float64")
  local prob = threshold == 0 and o:sigmoid() or o
  local pred = o:gt(threshold):to("int64")
  return pred, prob, target:reshape(n):gt(0.5):to("int64"), 2
end

local function classes(K, binary)
  local out = {}
  for k = 1, K do out[k] = binary and (k - 1) or k end
  return out
end

-- name -> fn(out, target, threshold) -> number
local function label_metric(metric, opts)
  return function(out, target, threshold)
    local pred, _, truth = read(out, target, threshold)
    return m()[metric](truth, pred, opts)
  end
end

local function regression_metric(metric, opts, sign)
  return function(out, target)
    local t = target:to("float64")
    local o = out:to("float64"):reshape(t:shape())
    return (sign or 1) * m()[metric](t, o, opts)
  end
end

-- ROC AUC over a set that holds one class (a validation_split cut from label-sorted rows, a tiny
-- validation set) is undefined: NaN in the log with a warning, rather than an error that throws away the
-- training done so far (scikit-learn's cross-validation scores such a fold error_score = nan the same way)
local function undefined_as_nan(metric, f, ...)
  local ok, v = pcall(f, ...)
  if ok then return v end
  if metric == "roc_auc_score" and tostring(v):find("class present in y_true", 1, true) then
    require("moonlab.metrics.inputs").warn("roc_auc over an epoch's or a validation set's outputs: only one class present "
      .. "in the targets, so ROC AUC is not defined; logged as nan")
    return 0 / 0
  end
  error(v, 0)
end

local function score_metric(metric, multi)
  return function(out, target, threshold)
    local _, prob, truth, K = read(out, target, threshold)
    if prob:dim() == 1 then return undefined_as_nan(metric, m()[metric], truth, prob) end
    local o = { labels = classes(K) }
    if metric == "roc_auc_score" then o.multi_class = multi or "ovr" end
    if metric == "average_precision_score" then o = nil end
    if metric == "top_k_accuracy_score" then o.k = 2 end
    return undefined_as_nan(metric, m()[metric], truth, prob, o)
  end
end

local EPOCH = {
  balanced_accuracy = label_metric("balanced_accuracy_score"),
  matthews_corrcoef = label_metric("matthews_corrcoef"),
  roc_auc = score_metric("roc_auc_score"),
  roc_auc_ovr = score_metric("roc_auc_score", "ovr"),
  roc_auc_ovo = score_metric("roc_auc_score", "ovo"),
  average_precision = score_metric("average_precision_score"),
  top_k_accuracy = score_metric("top_k_accuracy_score"),
  neg_log_loss = function(out, target, threshold)
    local _, prob, truth, K = read(out, target, threshold)
    return -m().log_loss(truth, prob, { labels = classes(K, prob:dim() == 1) })
  end,
  r2 = regression_metric("r2_score"),
  explained_variance = regression_metric("explained_variance_score"),
  neg_mean_squared_error = regression_metric("mean_squared_error", nil, -1),
  neg_root_mean_squared_error = regression_metric("mean_squared_error", { squared = false }, -1),
  neg_mean_absolute_error = regression_metric("mean_absolute_error", nil, -1),
  neg_median_absolute_error = regression_metric("median_absolute_error", nil, -1),
}
for _, base in ipairs({ "precision", "recall", "f1" }) do
  local metric = base == "f1" and "f1_score" or (base .. "_score")
  EPOCH[base] = label_metric(metric)
  for _, avg in ipairs({ "macro", "micro", "weighted" }) do
    EPOCH[base .. "_" .. avg] = label_metric(metric, { average = avg })
  end
end

--- M.get(name) -> fn(outputs, targets, threshold) -> number | nil: the epoch-level metric of that name
function M.get(name) return EPOCH[name] end

--- M.names() -> {name}: the epoch-level metric names, sorted
function M.names()
  local out = {}
  for k in pairs(EPOCH) do out[#out + 1] = k end
  table.sort(out)
  return out
end

return M
