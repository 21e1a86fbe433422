--- Classification metrics of predicted labels (sklearn.metrics): accuracy_score, balanced_accuracy_score,
-- precision/recall/F (precision_recall_fscore_support), confusion_matrix, matthews_corrcoef,
-- cohen_kappa_score; and fit's accuracy of network outputs (metrics.accuracy, its batch form in sums).
-- Every label metric goes through one weighted confusion count (the C kernel ml._metrics.confusion).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local inputs = require "moonlab.metrics.inputs"
local labels = require "moonlab.core.labels"

local fmt = string.format
local fail = checks.fail
local M = { metrics = {}, sums = {} }

-- The number of correct rows and the row count. [N, C] outputs: the argmax
-- against int64 labels 1..C; one output per row: output > threshold against
-- 0/1 targets (threshold 0.5 for probabilities, 0 for logits).
local function accuracy_sums(pred, target, threshold, fn)
  fn = fn or "metrics.accuracy"
  checks.tensor(fn, "pred", pred)
  checks.tensor(fn, "target", target)
  local n = pred:dim() == 0 and 1 or pred:shape()[1]
  if pred:dim() == 2 and pred:shape()[2] > 1 then
    if target:dtype() ~= "int64" then
      checks.fail(fmt("%s: with %s outputs it needs int64 class labels (1..C), got %s targets",
        fn, format.shape(pred), target:dtype()))
    end
    if target:numel() ~= n or target:dim() > 2 or (target:dim() == 2 and target:shape()[2] ~= 1) then
      checks.fail(fmt("%s: output %s has %d rows, so it needs %d labels ([%d] or [%d,1]); got target %s",
        fn, format.shape(pred), n, n, n, n, format.shape(target)))
    end
    return pred:argmax(2):eq(target:view(-1)):sum():item(), n
  end
  if pred:numel() ~= target:numel() then
    checks.fail(fmt("%s: needs [N,C] outputs with labels, or one output per 0/1 target; got output %s and target %s",
      fn, format.shape(pred), format.shape(target)))
  end
  return pred:reshape(-1):gt(threshold or 0.5):eq(target:reshape(-1):gt(0.5)):sum():item(), n
end

function M.sums.accuracy(pred, target, threshold)
  return accuracy_sums(pred, target, threshold, "metric 'accuracy'")
end

--- metrics.accuracy(pred, target, [{threshold=0.5}]) -> share of rows predicted right
function M.metrics.accuracy(pred, target, opts)
  opts = checks.options("metrics.accuracy", opts, { "threshold" })
  local thr = opts.threshold ~= nil and checks.number("metrics.accuracy", "threshold", opts.threshold) or 0.5
  local s, n = accuracy_sums(pred, target, thr)
  if n == 0 then
    checks.fail(fmt("metrics.accuracy: empty input (output %s, target %s): the accuracy of no rows is undefined",
      format.shape(pred), format.shape(target)))
  end
  return s / n
end

-- ---- the label metrics of sklearn.metrics ------------------------------------------------------

local metrics = M.metrics

--- M.counts(fn, y_true, y_pred, w, chosen) -> C (float64 [K, K], the full weighted confusion over every
-- label seen or chosen), classes (sorted), sel (the positions of the chosen labels, all when nil), chosen
local function counts(fn, y_true, y_pred, sample_weight, chosen)
  local ct, cp, classes, n = inputs.label_pair(fn, y_true, y_pred, chosen)
  local w = inputs.weights(fn, sample_weight, n)
  if #classes > 4096 then
    fail(fmt("%s: the labels hold %d distinct values; classification metrics need class labels", fn, #classes))
  end
  local C = ml._metrics.confusion(ct, cp, #classes, w)
  chosen = chosen or classes
  return C, classes, inputs.positions(fn, classes, chosen), chosen, n, w
end
M.counts = counts

local function select_square(C, sel)
  local idx = ml.tensor(sel, { dtype = "int64" })
  return ml.index_select(ml.index_select(C, 1, idx), 2, idx)
end

-- tp, predicted and true sums (Lua lists) of the chosen labels, summed in sample order and assembled as
-- scikit-learn's multilabel_confusion_matrix does (pred = tp + (pred - tp)), so weighted sums match it
local function class_sums(fn, y_true, y_pred, sample_weight, chosen)
  local ct, cp, classes, n = inputs.label_pair(fn, y_true, y_pred, chosen)
  local w = inputs.weights(fn, sample_weight, n)
  local S = ml._metrics.class_sums(ct, cp, #classes, w)
  local sel = inputs.positions(fn, classes, chosen or classes)
  local idx = ml.tensor(sel, { dtype = "int64" })
  local tp = S:select(1, 1):index_select(1, idx):tolist()
  local pred = S:select(1, 2):index_select(1, idx):tolist()
  local tru = S:select(1, 3):index_select(1, idx):tolist()
  for i = 1, #tp do
    pred[i] = tp[i] + (pred[i] - tp[i])
    tru[i] = tp[i] + (tru[i] - tp[i])
  end
  return tp, pred, tru
end

--- metrics.accuracy_score(y_true, y_pred, [{normalize=true, sample_weight}]) -> the share (or weight) of labels predicted right
function metrics.accuracy_score(y_true, y_pred, opts)
  local fn = "metrics.accuracy_score"
  opts = checks.options(fn, opts, { "normalize", "sample_weight" })
  local normalize = checks.boolean(fn, "normalize", opts.normalize, true)
  local hits = labels.equal(fn, y_true, y_pred) -- integer tensors: compared as they are, one pass
  if hits == nil then
    local ct, cp = inputs.label_pair(fn, y_true, y_pred)
    hits = ct:eq(cp)
  end
  local n = hits:size(1)
  if n == 0 then fail(fn .. ": empty input (no labels)") end
  local w = inputs.weights(fn, opts.sample_weight, n)
  if w == nil then
    local s = hits:sum():item()
    return normalize and s / n or s
  end
  local s = w:masked_select(hits):sum():item()
  if not normalize then return s end
  local total = w:sum():item()
  if total == 0 then fail(fn .. ": the sample weights sum to zero") end
  return s / total
end

--- metrics.balanced_accuracy_score(y_true, y_pred, [{sample_weight, adjusted=false}]) -> the mean recall of the classes
function metrics.balanced_accuracy_score(y_true, y_pred, opts)
  local fn = "metrics.balanced_accuracy_score"
  opts = checks.options(fn, opts, { "sample_weight", "adjusted" })
  local C = counts(fn, y_true, y_pred, opts.sample_weight)
  local K = C:size(1)
  local rows, diag = C:sum(2):tolist(), {}
  local sum, m = 0, 0
  local flat = C:reshape(K * K):tolist()
  for k = 1, K do
    if rows[k] ~= 0 then sum, m = sum + flat[(k - 1) * K + k] / rows[k], m + 1
    else diag[#diag + 1] = k end
  end
  if #diag > 0 then inputs.warn("y_pred contains classes not in y_true") end
  local score = sum / m
  if checks.boolean(fn, "adjusted", opts.adjusted, false) then
    local chance = 1 / m
    score = (score - chance) / (1 - chance)
  end
  return score
end

-- scikit-learn's _prf_divide: num / den per label, zero_division where den is 0 (warning once)
local function prf_divide(num, den, metric, modifier, average, warn_for, zero_division)
  local out, undefined = {}, false
  for i = 1, #num do
    if den[i] == 0 then
      out[i] = zero_division == 1 and 1.0 or 0.0
      undefined = true
    else
      out[i] = num[i] / den[i]
    end
  end
  if undefined and zero_division == "warn" and warn_for[metric] then
    local start = warn_for["f-score"] and (metric:sub(1, 1):upper() .. metric:sub(2) .. " and F-score are")
      or (metric:sub(1, 1):upper() .. metric:sub(2) .. " is")
    inputs.warn(fmt("%s ill-defined and being set to 0.0 %s no %s samples. Use `zero_division` parameter to control this behavior.",
      start, #num == 1 and "due to" or "in labels with", modifier))
  end
  return out
end

local AVERAGES = { "binary", "micro", "macro", "weighted", "none" }

-- The average option: nil gives the default; false or "none" means per label.
local function read_average(fn, v, default)
  if v == nil then return default end
  if v == false then return "none" end
  return checks.one_of(fn, "average", v, AVERAGES)
end

local function mean(list, weights)
  local s, ws = 0, 0
  for i, v in ipairs(list) do
    local w = weights and weights[i] or 1
    s, ws = s + v * w, ws + w
  end
  return s / ws
end

-- precision, recall, F-beta and support of the chosen labels, averaged as asked (the body of
-- precision_recall_fscore_support and of every score built on it)
local function prfs(fn, y_true, y_pred, opts, defaults, warn_list)
  opts = checks.options(fn, opts, { "beta", "labels", "pos_label", "average", "sample_weight", "zero_division" })
  local beta = opts.beta ~= nil and checks.number(fn, "beta", opts.beta, 0) or defaults.beta or 1.0
  local average = read_average(fn, opts.average, defaults.average)
  local zero_division = inputs.zero_division(fn, opts.zero_division)
  local chosen = inputs.option_labels(fn, opts.labels)
  if average == "binary" then
    local _, _, present = inputs.label_pair(fn, y_true, y_pred)
    if #present > 2 then
      fail(fmt("%s: the labels have %d classes but average='binary'; choose one of 'micro', 'macro', 'weighted' or 'none'",
        fn, #present))
    end
    local k = inputs.positive(fn, present, opts.pos_label)
    chosen = { k and present[k] or opts.pos_label or 1 }
  end
  local tp, pred, tru = class_sums(fn, y_true, y_pred, opts.sample_weight, chosen)
  if average == "micro" then
    local a, b, c = 0, 0, 0
    for i = 1, #tp do a, b, c = a + tp[i], b + pred[i], c + tru[i] end
    tp, pred, tru = { a }, { b }, { c }
  end
  local warn_for = {}
  for _, w in ipairs(warn_list) do warn_for[w] = true end
  local precision = prf_divide(tp, pred, "precision", "predicted", average, warn_for, zero_division)
  local recall = prf_divide(tp, tru, "recall", "true", average, warn_for, zero_division)
  if zero_division == "warn" and #warn_list == 1 and warn_list[1] == "f-score" then
    for i = 1, #tru do
      if tru[i] == 0 and pred[i] == 0 then
        inputs.warn(fmt("F-score is ill-defined and being set to 0.0 %s no true nor predicted samples. Use `zero_division` parameter to control this behavior.",
          #tru == 1 and "due to" or "in labels with"))
        break
      end
    end
  end
  local f = {}
  local beta2 = beta * beta
  for i = 1, #precision do
    if beta == math.huge then f[i] = recall[i]
    else
      local denom = beta2 * precision[i] + recall[i]
      if denom == 0 then denom = 1 end
      f[i] = (1 + beta2) * precision[i] * recall[i] / denom
    end
  end
  if average == "none" then
    local t = function(x) return ml.tensor(x, { dtype = "float64" }) end
    return t(precision), t(recall), t(f), t(tru)
  end
  local weights
  if average == "weighted" then
    weights = tru
    local wsum, psum = 0, 0
    for i = 1, #tru do wsum, psum = wsum + tru[i], psum + pred[i] end
    if wsum == 0 then
      local z = zero_division == 1 and 1.0 or 0.0
      if psum == 0 then return z, z, z, nil end
      return 0.0, z, 0.0, nil
    end
  end
  return mean(precision, weights), mean(recall, weights), mean(f, weights), nil
end

--- metrics.precision_recall_fscore_support(y_true, y_pred, [{beta=1, labels, pos_label, average, sample_weight, zero_division='warn'}])
function metrics.precision_recall_fscore_support(y_true, y_pred, opts)
  return prfs("metrics.precision_recall_fscore_support", y_true, y_pred, opts, { average = "none" },
    { "precision", "recall", "f-score" })
end

local function score_fn(fn, pick, warn_list, fixed_beta)
  return function(y_true, y_pred, opts)
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    if fixed_beta then
      if o.beta ~= nil then fail(fn .. ": unknown option 'beta' (fbeta_score takes it)") end
      o.beta = fixed_beta
    elseif o.beta == nil then
      fail(fn .. ": needs the beta option, as in fbeta_score(y_true, y_pred, {beta = 0.5})")
    end
    local r = table.pack(prfs(fn, y_true, y_pred, o, { average = "binary" }, warn_list))
    return r[pick]
  end
end

metrics.precision_score = score_fn("metrics.precision_score", 1, { "precision" }, 1.0)
metrics.recall_score = score_fn("metrics.recall_score", 2, { "recall" }, 1.0)
metrics.f1_score = score_fn("metrics.f1_score", 3, { "f-score" }, 1.0)
metrics.fbeta_score = score_fn("metrics.fbeta_score", 3, { "f-score" })

--- metrics.confusion_matrix(y_true, y_pred, [{labels, sample_weight, normalize}]) -> C [L, L]: row = true, column = predicted
function metrics.confusion_matrix(y_true, y_pred, opts)
  local fn = "metrics.confusion_matrix"
  opts = checks.options(fn, opts, { "labels", "sample_weight", "normalize" })
  local normalize = opts.normalize ~= nil and checks.one_of(fn, "normalize", opts.normalize, { "true", "pred", "all" }) or nil
  local chosen = inputs.option_labels(fn, opts.labels)
  if chosen then
    local _, _, present_true = require("moonlab.core.labels").encode_pair(fn, y_true, y_true)
    local seen, any = {}, false
    for _, c in ipairs(present_true) do seen[c] = true end
    for _, c in ipairs(chosen) do if seen[c] then any = true end end
    if not any then fail(fn .. ": at least one of the labels given must be in y_true") end
  end
  local C, _, sel = counts(fn, y_true, y_pred, opts.sample_weight, chosen)
  local cm = select_square(C, sel)
  if normalize == nil then
    return opts.sample_weight == nil and cm:to("int64") or cm
  end
  local den
  if normalize == "true" then den = cm:sum(2, true)
  elseif normalize == "pred" then den = cm:sum(1, true)
  else den = cm:sum() end
  local out = cm / den
  return out:masked_fill(out:isnan(), 0)
end

--- metrics.matthews_corrcoef(y_true, y_pred, [{sample_weight}]) -> the Matthews correlation coefficient (multi-class too)
function metrics.matthews_corrcoef(y_true, y_pred, opts)
  local fn = "metrics.matthews_corrcoef"
  opts = checks.options(fn, opts, { "sample_weight" })
  local C = counts(fn, y_true, y_pred, opts.sample_weight)
  local K = C:size(1)
  local t_sum, p_sum = C:sum(2):tolist(), C:sum(1):tolist()
  local flat = C:reshape(K * K):tolist()
  local correct, n, tp, pp, tt = 0, 0, 0, 0, 0
  for k = 1, K do
    correct = correct + flat[(k - 1) * K + k]
    n = n + p_sum[k]
    tp, pp, tt = tp + t_sum[k] * p_sum[k], pp + p_sum[k] * p_sum[k], tt + t_sum[k] * t_sum[k]
  end
  local cov_ytyp, cov_ypyp, cov_ytyt = correct * n - tp, n * n - pp, n * n - tt
  if cov_ypyp * cov_ytyt == 0 then return 0.0 end
  return cov_ytyp / math.sqrt(cov_ytyt * cov_ypyp)
end

--- metrics.cohen_kappa_score(y1, y2, [{labels, weights, sample_weight}]) -> Cohen's kappa (weights nil, 'linear' or 'quadratic')
function metrics.cohen_kappa_score(y1, y2, opts)
  local fn = "metrics.cohen_kappa_score"
  opts = checks.options(fn, opts, { "labels", "weights", "sample_weight" })
  local weights = opts.weights ~= nil and checks.one_of(fn, "weights", opts.weights, { "linear", "quadratic" }) or nil
  local C, _, sel = counts(fn, y1, y2, opts.sample_weight, inputs.option_labels(fn, opts.labels))
  local cm = select_square(C, sel)
  local K = cm:size(1)
  local flat = cm:reshape(K * K):tolist()
  local sum0, sum1 = cm:sum(1):tolist(), cm:sum(2):tolist()
  local total = 0
  for i = 1, K do total = total + sum0[i] end
  local num, den = 0, 0
  for i = 1, K do
    for j = 1, K do
      local w
      if weights == nil then w = i == j and 0 or 1
      elseif weights == "linear" then w = math.abs(i - j)
      else w = (i - j) ^ 2 end
      num = num + w * flat[(i - 1) * K + j]
      den = den + w * (sum0[i] * sum1[j] / total)
    end
  end
  return 1 - num / den
end

do
  local doc = ml.doc
  doc(metrics.accuracy_score, "metrics.accuracy_score(y_true, y_pred, [{normalize=true, sample_weight}]) -> number — the share (or with normalize=false the count/weight) of labels predicted right; any label values")
  doc(metrics.balanced_accuracy_score, "metrics.balanced_accuracy_score(y_true, y_pred, [{sample_weight, adjusted=false}]) -> number — the mean of the recalls of the classes of y_true")
  doc(metrics.precision_recall_fscore_support, "metrics.precision_recall_fscore_support(y_true, y_pred, [{beta=1, labels, pos_label, average, sample_weight, zero_division='warn'}]) -> precision, recall, fbeta, support — per label (float64 tensors; average nil/'none') or averaged ('binary', 'micro', 'macro', 'weighted'; support nil)")
  doc(metrics.precision_score, "metrics.precision_score(y_true, y_pred, [{average='binary', pos_label, labels, sample_weight, zero_division='warn'}]) -> number (tensor per label for average='none') — tp / (tp + fp)")
  doc(metrics.recall_score, "metrics.recall_score(y_true, y_pred, [{average='binary', pos_label, labels, sample_weight, zero_division='warn'}]) -> number (tensor per label for average='none') — tp / (tp + fn)")
  doc(metrics.f1_score, "metrics.f1_score(y_true, y_pred, [{average='binary', pos_label, labels, sample_weight, zero_division='warn'}]) -> number (tensor per label for average='none') — the harmonic mean of precision and recall")
  doc(metrics.fbeta_score, "metrics.fbeta_score(y_true, y_pred, {beta=, average='binary', pos_label, labels, sample_weight, zero_division='warn'}) -> number — F-beta: recall weighs beta times as much as precision")
  doc(metrics.confusion_matrix, "metrics.confusion_matrix(y_true, y_pred, [{labels, sample_weight, normalize='true'|'pred'|'all'}]) -> C [L, L] — C[i][j]: samples of label i predicted as j (int64 counts; float64 when weighted or normalized)")
  doc(metrics.matthews_corrcoef, "metrics.matthews_corrcoef(y_true, y_pred, [{sample_weight}]) -> number — the Matthews correlation coefficient in [-1, 1] (multi-class too)")
  doc(metrics.cohen_kappa_score, "metrics.cohen_kappa_score(y1, y2, [{labels, weights=nil|'linear'|'quadratic', sample_weight}]) -> number — agreement of two labelings beyond chance")
end

ml.doc(M.metrics.accuracy, "metrics.accuracy(pred, target, [{threshold=0.5}]) -> number — [N,C] scores: share of rows whose argmax is the label (1..C); one output per row: share where pred > threshold matches the 0/1 target")
ml.doc(M.sums.accuracy, "metrics.sums('accuracy')(pred, target, threshold) -> correct, rows — accuracy's batch form for fit")

return M
