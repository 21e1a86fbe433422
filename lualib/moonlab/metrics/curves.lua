--- Ranking metrics of scores (sklearn.metrics): roc_curve, roc_auc_score (binary, one-vs-rest,
-- one-vs-one), precision_recall_curve, average_precision_score, top_k_accuracy_score, auc.
-- The sort behind the curves is one C kernel (ml._metrics.curve: scikit-learn's _binary_clf_curve,
-- ties grouped, weighted cumulative counts); the areas of a curve are C too.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"
local inputs = require "moonlab.metrics.inputs"

local fail, fmt = checks.fail, string.format
local K = ml._metrics
local M = { metrics = {} }
local metrics = M.metrics

local function f64(list) return ml.tensor(list, { dtype = "float64" }) end

-- y_true of a binary metric as a bool tensor (the positive class), the classes, the sample count
local function binary_truth(fn, y_true, pos_label)
  local codes, classes = labels.encode(fn, y_true)
  local n = codes:size(1)
  if n == 0 then fail(fn .. ": empty input (no labels)") end
  inputs.refuse_continuous(fn, classes)
  if #classes > 2 then
    fail(fmt("%s: y_true has %d classes; this is a binary metric (a multi-class input needs the multi-class form)", fn, #classes))
  end
  local k = inputs.positive(fn, classes, pos_label)
  return k and codes:eq(k) or ml.zeros(n, { dtype = "bool" }), classes, n
end

-- one score per sample for a binary metric: [n], [n, 1], or [n, 2] (the positive class's column)
local function binary_scores(fn, y_score, n, what)
  local s = inputs.scores(fn, what or "y_score", y_score, n)
  if s:dim() == 2 then
    if s:size(2) ~= 2 then
      fail(fmt("%s: y_true is binary but y_score has %d columns; pass one score per sample", fn, s:size(2)))
    end
    s = s:select(2, 2):contiguous()
  end
  return s
end

--- metrics.roc_curve(y_true, y_score, [{pos_label, sample_weight, drop_intermediate=true}]) -> fpr, tpr, thresholds
function metrics.roc_curve(y_true, y_score, opts)
  local fn = "metrics.roc_curve"
  opts = checks.options(fn, opts, { "pos_label", "sample_weight", "drop_intermediate" })
  local pos, _, n = binary_truth(fn, y_true, opts.pos_label)
  local s = binary_scores(fn, y_score, n)
  local w = inputs.weights(fn, opts.sample_weight, n)
  local fps, tps, thr = K.curve(s, pos, w, checks.boolean(fn, "drop_intermediate", opts.drop_intermediate, true))
  local zero = f64({ 0 })
  fps, tps = ml.cat({ zero, fps }), ml.cat({ zero, tps })
  thr = ml.cat({ f64({ thr[1] + 1 }), thr })
  local m = fps:size(1)
  local fl, tl = fps[m], tps[m]
  local fpr, tpr
  if fl <= 0 then
    inputs.warn("No negative samples in y_true, false positive value should be meaningless")
    fpr = ml.full({ m }, 0 / 0, { dtype = "float64" })
  else fpr = fps / fl end
  if tl <= 0 then
    inputs.warn("No positive samples in y_true, true positive value should be meaningless")
    tpr = ml.full({ m }, 0 / 0, { dtype = "float64" })
  else tpr = tps / tl end
  return fpr, tpr, thr
end

-- The ROC AUC of one binary problem (pos: bool [n]); one class present is an error, as in scikit-learn.
local function binary_auc(fn, s, pos, w, max_fpr)
  local fps, tps = K.curve(s, pos, w, true)
  local m = fps:size(1)
  if m == 0 or fps[m] <= 0 or tps[m] <= 0 then
    fail(fn .. ": only one class present in y_true; ROC AUC is not defined in that case")
  end
  if max_fpr == nil or max_fpr == 1 then return K.roc_auc(fps, tps) end
  -- the partial AUC up to max_fpr, McClish-corrected (scikit-learn's _binary_roc_auc_score)
  local fpr = ml.cat({ f64({ 0 }), fps / fps[m] }):tolist()
  local tpr = ml.cat({ f64({ 0 }), tps / tps[m] }):tolist()
  local stop = 1
  while stop <= #fpr and fpr[stop] <= max_fpr do stop = stop + 1 end -- searchsorted 'right'
  local x0, x1, y0, y1 = fpr[stop - 1], fpr[stop], tpr[stop - 1], tpr[stop]
  local yi = x1 == x0 and y0 or y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0)
  local area = 0
  for i = 2, stop - 1 do area = area + (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2 end
  area = area + (max_fpr - fpr[stop - 1]) * (yi + tpr[stop - 1]) / 2
  local min_area, max_area = 0.5 * max_fpr ^ 2, max_fpr
  return 0.5 * (1 + (area - min_area) / (max_area - min_area))
end

-- scikit-learn's _average_binary_score over the columns of a one-vs-rest problem
local function average_columns(fn, score_one, codes, S, w, average, classes)
  local n, ncls = S:size(1), S:size(2)
  if average == "micro" then
    local onehot = ml.zeros(n, ncls, { dtype = "int64" }):scatter_add(2, codes:reshape(n, 1),
      ml.ones(n, 1, { dtype = "int64" })):gt(0)
    local ww = w and w:reshape(n, 1):expand(n, ncls):contiguous():reshape(n * ncls) or nil
    return score_one(S:reshape(n * ncls), onehot:reshape(n * ncls), ww)
  end
  local scores, weights = {}, {}
  for c = 1, ncls do
    local pos = codes:eq(c)
    weights[c] = w and w:masked_select(pos):sum():item() or pos:sum():item()
    scores[c] = score_one(S:select(2, c):contiguous(), pos, w)
  end
  if average == "none" then return f64(scores) end
  local s, ws = 0, 0
  for c = 1, ncls do
    local wc = average == "weighted" and weights[c] or 1
    s, ws = s + scores[c] * wc, ws + wc
  end
  if average == "weighted" and math.abs(ws) < 1e-8 then return 0.0 end
  return s / ws
end

-- The classes of a multi-class score matrix: the labels option (sorted, unique) or y_true's own.
local function multiclass_classes(fn, y_true, S, label_opt)
  local classes
  if label_opt then
    classes = inputs.option_labels(fn, label_opt)
    for i = 2, #classes do
      if not (classes[i - 1] < classes[i]) then fail(fn .. ": labels must be unique and sorted") end
    end
  end
  local codes, found = labels.encode(fn, y_true, classes)
  inputs.refuse_continuous(fn, found)
  if S:size(2) ~= #found then
    fail(fmt("%s: y_true has %d classes but y_score has %d columns; pass labels = {...} with every class", fn, #found, S:size(2)))
  end
  return codes, found
end

local function read_average(fn, v, allowed)
  if v == nil then return "macro" end
  if v == false then v = "none" end
  return checks.one_of(fn, "average", v, allowed)
end

--- metrics.roc_auc_score(y_true, y_score, [{average='macro', sample_weight, max_fpr, multi_class='raise', labels}]) -> ROC AUC
function metrics.roc_auc_score(y_true, y_score, opts)
  local fn = "metrics.roc_auc_score"
  opts = checks.options(fn, opts, { "average", "sample_weight", "max_fpr", "multi_class", "labels" })
  local n = labels.length(fn, y_true)
  local S = inputs.scores(fn, "y_score", y_score, n)
  local w = inputs.weights(fn, opts.sample_weight, n)
  local multi_class = checks.one_of(fn, "multi_class", opts.multi_class, { "raise", "ovr", "ovo" }, "raise")
  local max_fpr = opts.max_fpr ~= nil and checks.number(fn, "max_fpr", opts.max_fpr) or nil
  if max_fpr and (max_fpr <= 0 or max_fpr > 1) then fail(fmt("%s: max_fpr must be in (0, 1], got %g", fn, max_fpr)) end
  local codes, classes = labels.encode(fn, y_true)
  inputs.refuse_continuous(fn, classes)
  if S:dim() == 1 or (S:size(2) == 2 and opts.labels == nil and #classes <= 2) then
    if #classes > 2 then
      fail(fmt("%s: y_true has %d classes but y_score is one score per sample; pass [n, %d] probabilities and multi_class='ovr' or 'ovo'",
        fn, #classes, #classes))
    end
    if #classes < 2 then fail(fn .. ": only one class present in y_true; ROC AUC is not defined in that case") end
    local s = S:dim() == 2 and S:select(2, 2):contiguous() or S
    return binary_auc(fn, s, codes:eq(2), w, max_fpr) -- the greater label is positive, as in scikit-learn
  end
  if multi_class == "raise" then
    fail(fn .. ": y_score has several columns: pass multi_class = 'ovr' or 'ovo'")
  end
  if max_fpr and max_fpr ~= 1 then fail(fn .. ": max_fpr is only for binary problems") end
  local sums = S:sum(2)
  if (sums - 1):abs():max():item() > 1e-5 + 1e-8 then
    fail(fn .. ": the scores of a multi-class ROC AUC must be probabilities (each row summing to 1)")
  end
  codes, classes = multiclass_classes(fn, y_true, S, opts.labels)
  local score_one = function(s, pos, ww) return binary_auc(fn, s, pos, ww) end
  if multi_class == "ovr" then
    local average = read_average(fn, opts.average, { "micro", "macro", "weighted", "none" })
    return average_columns(fn, score_one, codes, S, w, average, classes)
  end
  local average = read_average(fn, opts.average, { "macro", "weighted" })
  if w then fail(fn .. ": sample_weight is not supported for multi_class='ovo'") end
  local present = {}
  for _, c in ipairs(ml._metrics.unique(codes):tolist()) do present[#present + 1] = c end
  local s, ws = 0, 0
  for i = 1, #present do
    for j = i + 1, #present do
      local a, b = present[i], present[j]
      local am, bm = codes:eq(a), codes:eq(b)
      local ab = (am:to("int64") + bm:to("int64")):gt(0)
      local sa = S:select(2, a):masked_select(ab):contiguous()
      local sb = S:select(2, b):masked_select(ab):contiguous()
      local score = (binary_auc(fn, sa, am:masked_select(ab), nil) + binary_auc(fn, sb, bm:masked_select(ab), nil)) / 2
      local wt = average == "weighted" and ab:sum():item() / n or 1
      s, ws = s + score * wt, ws + wt
    end
  end
  return s / ws
end

--- metrics.precision_recall_curve(y_true, probas_pred, [{pos_label, sample_weight}]) -> precision, recall, thresholds
function metrics.precision_recall_curve(y_true, probas_pred, opts)
  local fn = "metrics.precision_recall_curve"
  opts = checks.options(fn, opts, { "pos_label", "sample_weight" })
  local pos, _, n = binary_truth(fn, y_true, opts.pos_label)
  local s = binary_scores(fn, probas_pred, n, "probas_pred")
  local fps, tps, thr = K.curve(s, pos, inputs.weights(fn, opts.sample_weight, n), false)
  local m = fps:size(1)
  local ps = tps + fps
  local precision = ml.where(ps:ne(0), tps / ps:masked_fill(ps:eq(0), 1), 0)
  local recall
  if tps[m] == 0 then
    inputs.warn("No positive class found in y_true, recall is set to one for all thresholds.")
    recall = ml.ones(m, { dtype = "float64" })
  else recall = tps / tps[m] end
  local rev = ml.arange(m, 0, -1):to("int64")
  return ml.cat({ precision:index_select(1, rev), f64({ 1 }) }), ml.cat({ recall:index_select(1, rev), f64({ 0 }) }),
    thr:index_select(1, rev)
end

--- metrics.average_precision_score(y_true, y_score, [{average='macro', pos_label, sample_weight}]) -> AP
function metrics.average_precision_score(y_true, y_score, opts)
  local fn = "metrics.average_precision_score"
  opts = checks.options(fn, opts, { "average", "pos_label", "sample_weight" })
  local n = labels.length(fn, y_true)
  local S = inputs.scores(fn, "y_score", y_score, n)
  local w = inputs.weights(fn, opts.sample_weight, n)
  local ap = function(s, pos, ww)
    local fps, tps = K.curve(s, pos, ww, false)
    if tps:size(1) > 0 and tps[tps:size(1)] == 0 then
      inputs.warn("No positive class found in y_true, recall is set to one for all thresholds.")
    end
    return K.average_precision(fps, tps)
  end
  if S:dim() == 1 then
    local pos = binary_truth(fn, y_true, opts.pos_label)
    return ap(S, pos, w)
  end
  if opts.pos_label ~= nil and opts.pos_label ~= 1 then
    fail(fn .. ": pos_label is fixed to the classes' columns for [n, K] scores; do not set it")
  end
  local codes, classes = labels.encode(fn, y_true)
  inputs.refuse_continuous(fn, classes)
  if S:size(2) ~= #classes then
    fail(fmt("%s: y_true has %d classes but y_score has %d columns", fn, #classes, S:size(2)))
  end
  local average = read_average(fn, opts.average, { "micro", "macro", "weighted", "samples", "none" })
  if average == "samples" then fail(fn .. ": average='samples' is for multi-label inputs, which moonlab does not take") end
  return average_columns(fn, ap, codes, S, w, average, classes)
end

--- metrics.top_k_accuracy_score(y_true, y_score, [{k=2, normalize=true, sample_weight, labels}]) -> share of samples whose label is among the k best scores
function metrics.top_k_accuracy_score(y_true, y_score, opts)
  local fn = "metrics.top_k_accuracy_score"
  opts = checks.options(fn, opts, { "k", "normalize", "sample_weight", "labels" })
  local k = checks.integer(fn, "k", opts.k == nil and 2 or opts.k, 1)
  local normalize = checks.boolean(fn, "normalize", opts.normalize, true)
  local n = labels.length(fn, y_true)
  local S = inputs.scores(fn, "y_score", y_score, n)
  local w = inputs.weights(fn, opts.sample_weight, n)
  local codes, classes
  local hits
  if S:dim() == 1 then
    codes, classes = labels.encode(fn, y_true, opts.labels and inputs.option_labels(fn, opts.labels) or nil)
    inputs.refuse_continuous(fn, classes)
    if #classes > 2 then fail(fmt("%s: y_true has %d classes but y_score is one score per sample", fn, #classes)) end
    if k == 1 then
      local thr = (S:min():item() >= 0 and S:max():item() <= 1) and 0.5 or 0
      hits = S:gt(thr):to("int64"):add(1):eq(codes)
    else
      hits = ml.ones(n, { dtype = "bool" })
    end
  else
    codes, classes = multiclass_classes(fn, y_true, S, opts.labels)
    local ncls = S:size(2)
    if k >= ncls then
      inputs.warn(fmt("'k' (%d) greater than or equal to 'n_classes' (%d) will result in a perfect score and is therefore meaningless.", k, ncls))
    end
    -- rank of the true class: classes scoring higher, and tied classes after it (scikit-learn's
    -- reversed stable argsort puts the later of two tied columns first)
    local sc = S:gather(2, codes:reshape(n, 1))
    local higher = S:gt(sc):to("int64"):sum(2)
    local later = ml.arange(1, ncls + 1):to("int64"):reshape(1, ncls):gt(codes:reshape(n, 1))
    local tied_after = (S:eq(sc):to("int64") * later:to("int64")):sum(2)
    hits = (higher + tied_after):lt(k):reshape(n)
  end
  if w == nil then
    local s = hits:sum():item()
    return normalize and s / n or s
  end
  local s = w:masked_select(hits):sum():item()
  return normalize and s / w:sum():item() or s
end

--- metrics.auc(x, y) -> the area under the curve through the points (x, y), by trapezoids (x monotonic)
function metrics.auc(x, y)
  local fn = "metrics.auc"
  x = inputs.scores(fn, "x", x)
  y = inputs.scores(fn, "y", y, x:size(1))
  if x:dim() ~= 1 or y:dim() ~= 1 then fail(fn .. ": x and y must be 1-D") end
  local m = x:size(1)
  if m < 2 then fail(fmt("%s: needs at least 2 points to compute the area under the curve, got %d", fn, m)) end
  local dx = x:narrow(1, 2, m - 1) - x:narrow(1, 1, m - 1)
  local direction = 1
  if dx:lt(0):sum():item() > 0 then
    if dx:le(0):sum():item() == m - 1 then direction = -1
    else fail(fn .. ": x is neither increasing nor decreasing") end
  end
  return direction * (dx * (y:narrow(1, 2, m - 1) + y:narrow(1, 1, m - 1)) / 2):sum():item()
end

do
  local doc = ml.doc
  doc(metrics.roc_curve, "metrics.roc_curve(y_true, y_score, [{pos_label, sample_weight, drop_intermediate=true}]) -> fpr, tpr, thresholds — the ROC curve (float64 tensors; the first threshold is max score + 1)")
  doc(metrics.roc_auc_score, "metrics.roc_auc_score(y_true, y_score, [{average='macro', sample_weight, max_fpr, multi_class='raise'|'ovr'|'ovo', labels}]) -> number — the area under the ROC curve; binary: the greater label is positive")
  doc(metrics.precision_recall_curve, "metrics.precision_recall_curve(y_true, probas_pred, [{pos_label, sample_weight}]) -> precision, recall, thresholds — recall decreasing, ending at (1, 0)")
  doc(metrics.average_precision_score, "metrics.average_precision_score(y_true, y_score, [{average='macro', pos_label, sample_weight}]) -> number — the area under the precision-recall steps; [n, K] scores: per class, averaged")
  doc(metrics.top_k_accuracy_score, "metrics.top_k_accuracy_score(y_true, y_score, [{k=2, normalize=true, sample_weight, labels}]) -> number — the share of samples whose label is among the k highest scores")
  doc(metrics.auc, "metrics.auc(x, y) -> number — the area under a curve by the trapezoidal rule (x increasing or decreasing)")
end

return M
