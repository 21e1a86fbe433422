-- ml.metrics beyond the scikit-learn fixtures (test_metrics_sklearn.lua): input forms (tensors of any
-- dtype, lists, strings, data columns), binary pos_label defaults, errors naming the function, the
-- kernels on large inputs against independent formulas, scorers, help.
local metrics = ml.metrics
local labels = require "moonlab.core.labels"

local function i64(t) return ml.tensor(t, { dtype = "int64" }) end
local function f64(t) return ml.tensor(t, { dtype = "float64" }) end

T.test("label forms: int64, float64, float32, bool tensors, lists, strings and data columns agree", function()
  local a, b = { 0, 1, 1, 0, 1, 1 }, { 0, 1, 0, 0, 1, 0 }
  local want = metrics.f1_score(i64(a), i64(b))
  T.near(metrics.f1_score(f64(a), f64(b)), want, 1e-15)
  T.near(metrics.f1_score(ml.tensor(a), ml.tensor(b)), want, 1e-15)
  T.near(metrics.f1_score(a, b), want, 1e-15)
  T.near(metrics.f1_score(i64(a):gt(0), i64(b):gt(0)), want, 1e-15)
  T.near(metrics.f1_score(i64(a), f64(b)), want, 1e-15)
  local s = function(t) local o = {} for i, v in ipairs(t) do o[i] = v == 1 and "yes" or "no" end return o end
  T.near(metrics.f1_score(s(a), s(b), { pos_label = "yes" }), want, 1e-15)
  local df = ml.data.DataFrame { t = s(a), p = s(b) }
  T.near(metrics.f1_score(df.t, df.p, { pos_label = "yes" }), want, 1e-15)
  T.near(metrics.accuracy_score(df.t, df.p), 4 / 6, 1e-15)
  T.near(metrics.accuracy_score(i64(a):reshape(6, 1), f64(b)), 4 / 6, 1e-15)
end)

T.test("binary pos_label: 1 for {0, 1} and {-1, 1}, 2 for moonlab's {1, 2}, else it must be given", function()
  local t, p = { 1, 2, 2, 1, 2 }, { 1, 2, 1, 1, 1 }
  T.near(metrics.recall_score(t, p), 1 / 3, 1e-15)
  T.near(metrics.recall_score(t, p, { pos_label = 1 }), 1, 1e-15)
  T.near(metrics.recall_score({ -1, 1, 1 }, { -1, 1, -1 }), 0.5, 1e-15)
  T.raises(function() metrics.recall_score({ 3, 5 }, { 3, 3 }) end, "metrics.recall_score: cannot tell the positive class of the labels {3, 5}; pass pos_label")
  T.raises(function() metrics.f1_score({ "a", "b" }, { "a", "a" }) end, "pass pos_label")
  T.raises(function() metrics.f1_score({ 0, 1 }, { 0, 1 }, { pos_label = 7 }) end, "pos_label=7 is not one of the labels {0, 1}")
  -- roc_auc_score, as scikit-learn: the greater label is positive
  T.near(metrics.roc_auc_score({ "a", "b", "b" }, { 0.1, 0.9, 0.4 }), 1, 1e-15)
end)

T.test("errors name the function and say what was expected", function()
  T.raises(function() metrics.accuracy_score({ 1, 2 }, { 1 }) end, "metrics.accuracy_score: y_true has 2 labels but y_pred has 1")
  T.raises(function() metrics.f1_score({}, {}) end, "metrics.f1_score: empty input")
  T.raises(function() metrics.accuracy_score(i64({}), i64({})) end, "metrics.accuracy_score: empty input")
  T.raises(function() metrics.roc_auc_score({ 0, 1 }, { 0.5, 0 / 0 }) end, "metrics.roc_auc_score: y_score hold NaN")
  T.raises(function() metrics.average_precision_score({ 0, 1 }, { 0.5, math.huge }) end, "metrics.average_precision_score: y_score hold infinite values")
  T.raises(function() metrics.roc_auc_score({ 0, 1, 1 }, { 0.5, 0.2 }) end, "metrics.roc_auc_score: y_score has 2 rows but y_true has 3 labels")
  T.raises(function() metrics.f1_score({ 0, 1 }, { 0, 0 / 0 }) end, "metrics.f1_score: label 2 is NaN (a missing label)")
  T.raises(function() metrics.f1_score(f64({ 0.5, 1 }), f64({ 0, 1 })) end, "metrics.f1_score: the labels hold the non-integer value 0.5")
  T.raises(function() metrics.f1_score({ 0, 1, 2 }, { 0, 1, 2 }) end, "metrics.f1_score: the labels have 3 classes but average='binary'")
  T.raises(function() metrics.roc_curve({ 0, 1, 2 }, { 0.1, 0.2, 0.3 }) end, "metrics.roc_curve: y_true has 3 classes; this is a binary metric")
  T.raises(function() metrics.roc_auc_score({ 1, 1, 1 }, { 0.1, 0.2, 0.3 }) end, "metrics.roc_auc_score: only one class present in y_true")
  T.raises(function() metrics.f1_score({ 0, 1 }, { 0, 1 }, { average = "macr" }) end, "did you mean 'macro'?")
  T.raises(function() metrics.f1_score({ 0, 1 }, { 0, 1 }, { averge = "macro" }) end, "metrics.f1_score: unknown option 'averge'")
  T.raises(function() metrics.accuracy_score({ 0, 1 }, { 0, 1 }, { sample_weight = { 1 } }) end, "metrics.accuracy_score: sample_weight has 1 values but there are 2 samples")
  T.raises(function() metrics.accuracy_score(true, { 0, 1 }) end, "metrics.accuracy_score: labels must be a tensor, a list or a data column")
  T.raises(function() metrics.accuracy_score({ 0, 1 }, { "a", "b" }) end, "metrics.accuracy_score: y_true holds numbers but y_pred holds strings")
  T.raises(function() metrics.roc_auc_score({ 0, 1, 2 }, ml.tensor({ { 0.2, 0.8, 0 }, { 0.5, 0.5, 0 }, { 0, 0, 1 } })) end, "pass multi_class = 'ovr' or 'ovo'")
  T.raises(function() metrics.roc_auc_score({ 0, 1, 2 }, ml.tensor({ { 0.2, 0.9, 0 }, { 0.5, 0.5, 0 }, { 0, 0, 1 } }), { multi_class = "ovr" }) end, "each row summing to 1")
  T.raises(function() metrics.log_loss({ 1, 1 }, { 0.5, 0.5 }) end, "metrics.log_loss: y_true holds only one label (1); pass every label")
  T.raises(function() metrics.r2_score({ 1, 2 }, { 1, 2, 3 }) end, "metrics.r2_score: y_true has 2 values but y_pred has 3")
  T.raises(function() metrics.mean_squared_error({ 1, 0 / 0 }, { 1, 2 }) end, "metrics.mean_squared_error: y_true holds NaN")
  T.raises(function() metrics.max_error(ml.zeros(3, 2), ml.zeros(3, 2)) end, "metrics.max_error: multioutput is not supported")
  T.raises(function() metrics.confusion_matrix({ 0, 1 }, { 0, 1 }, { labels = { 5 } }) end, "metrics.confusion_matrix: at least one of the labels given must be in y_true")
  T.raises(function() metrics.brier_score_loss({ 0, 1 }, { 0.5, 1.5 }) end, "metrics.brier_score_loss: y_prob holds values greater than 1")
end)

T.test("zero_division='warn' prints scikit-learn's UndefinedMetricWarning once and gives 0", function()
  T.eq(metrics.precision_score({ 0, 1, 1 }, { 0, 0, 0 }), 0.0)
  T.eq(metrics.precision_score({ 0, 1, 1 }, { 0, 0, 0 }, { zero_division = 1 }), 1.0)
  T.raises(function() metrics.precision_score({ 0, 1 }, { 0, 1 }, { zero_division = 2 }) end, "zero_division must be 'warn', 0 or 1")
end)

-- an independent AUC: the Mann-Whitney statistic with ties counted half, by a sort in Lua
local function mann_whitney(y, s)
  local idx = {}
  for i = 1, #y do idx[i] = i end
  table.sort(idx, function(a, b) return s[a] < s[b] end)
  local rank, i = {}, 1
  while i <= #idx do
    local j = i
    while j < #idx and s[idx[j + 1]] == s[idx[i]] do j = j + 1 end
    for k = i, j do rank[idx[k]] = (i + j) / 2 end
    i = j + 1
  end
  local rpos, npos = 0, 0
  for k = 1, #y do if y[k] == 1 then rpos, npos = rpos + rank[k], npos + 1 end end
  local nneg = #y - npos
  return (rpos - npos * (npos + 1) / 2) / (npos * nneg)
end

T.test("ROC AUC of 20,000 scores with ties matches the Mann-Whitney statistic; AP its definition", function()
  ml.seed(5)
  local n = 20000
  local y = ml.randint(0, 2, n):to("int64")
  local s = ((ml.rand(n) + y:to("float32") * 0.3) * 50):to("int64"):to("float64") / 50 -- many ties
  local yl, sl = y:tolist(), s:tolist()
  T.near(metrics.roc_auc_score(y, s), mann_whitney(yl, sl), 1e-12)
  -- AP = sum over distinct thresholds of (recall step) * precision at that threshold
  local order = {}
  for i = 1, n do order[i] = i end
  table.sort(order, function(a, b) return sl[a] > sl[b] end)
  local P = 0
  for i = 1, n do P = P + yl[i] end
  local tp, seen, ap, prev_r, i = 0, 0, 0, 0, 1
  while i <= n do
    local j = i
    while j < n and sl[order[j + 1]] == sl[order[i]] do j = j + 1 end
    for k = i, j do tp, seen = tp + yl[order[k]], seen + 1 end
    local r = tp / P
    ap = ap + (r - prev_r) * (tp / seen)
    prev_r = r
    i = j + 1
  end
  T.near(metrics.average_precision_score(y, s), ap, 1e-12)
  -- float32 scores and weights of 1 give the same curve
  T.near(metrics.roc_auc_score(y, s:to("float32"), { sample_weight = ml.ones(n) }), metrics.roc_auc_score(y, s), 1e-12)
end)

T.test("confusion counts of 200,000 labels with far-apart values (the sort path) and a small range agree", function()
  ml.seed(2)
  local n = 200000
  local a, b = ml.randint(0, 5, n):to("int64"), ml.randint(0, 5, n):to("int64")
  local C1 = metrics.confusion_matrix(a, b)
  local C2 = metrics.confusion_matrix(a * 1000000007 - 3, b * 1000000007 - 3)
  T.all_near(C1:to("float64"), C2:to("float64"), 0)
  T.eq(C1:sum():item(), n)
  T.eq(C1[2][3], a:eq(1):to("int64"):mul(b:eq(2):to("int64")):sum():item())
end)

T.test("labels.encode keeps its behaviour: sorted classes, given classes in any order, unseen labels", function()
  local codes, classes = labels.encode("f", i64({ 5, 3, 5, -1 }))
  T.eq(table.concat(classes, ","), "-1,3,5")
  T.eq(table.concat(codes:tolist(), ","), "3,2,3,1")
  T.eq(table.concat(labels.encode("f", i64({ 5, 3 }), { 5, 3 }):tolist(), ","), "1,2")
  T.raises(function() labels.encode("f", i64({ 5, 4 }), { 5, 3 }) end, "f: label 4 (at 2) is not one of the known classes {5, 3}")
  local _, _, u = labels.encode_pair("f", { "b", "a" }, { "c", "a" }, { "z" })
  T.eq(table.concat(u, ","), "a,b,c,z")
  T.eq(labels.equal("f", i64({ 1, 2 }), i64({ 1, 3 })):to("int64"):sum():item(), 1)
  T.eq(labels.equal("f", f64({ 1 }), f64({ 1 })), nil)
end)

-- a minimal classifier for the scorers: fixed outputs, with or without decision_function
local function fake(pred, proba, decision, classes)
  return {
    classes_ = classes,
    predict = function() return pred end,
    predict_proba = proba and function() return proba end or nil,
    decision_function = decision and function() return decision end or nil,
  }
end

T.test("scorers: names, greater is better, the method scikit-learn's scorer calls", function()
  local y = i64({ 0, 1, 1, 0, 1 })
  local pred = i64({ 0, 1, 0, 0, 1 })
  local proba = f64({ 0.8, 0.2, 0.3, 0.7, 0.6, 0.4, 0.9, 0.1, 0.2, 0.8 }):reshape(5, 2)
  local est = fake(pred, proba, nil, { 0, 1 })
  T.near(metrics.get_scorer("accuracy")(est, nil, y), 0.8, 1e-15)
  T.near(metrics.get_scorer("f1_macro")(est, nil, y), metrics.f1_score(y, pred, { average = "macro" }), 1e-15)
  T.near(metrics.get_scorer("roc_auc")(est, nil, y), metrics.roc_auc_score(y, proba:select(2, 2)), 1e-15)
  T.near(metrics.get_scorer("neg_log_loss")(est, nil, y), -metrics.log_loss(y, proba), 1e-15)
  -- decision_function first when the estimator has one
  local dec = f64({ -1, 2, 0.5, -3, 1 })
  T.near(metrics.get_scorer("roc_auc")(fake(pred, proba, dec, { 0, 1 }), nil, y), metrics.roc_auc_score(y, dec), 1e-15)
  local yr, pr = f64({ 1, 2, 3 }), f64({ 1, 2, 4 })
  T.near(metrics.get_scorer("neg_mean_squared_error")(fake(pr), nil, yr), -1 / 3, 1e-15)
  T.near(metrics.get_scorer("neg_root_mean_squared_error")(fake(pr), nil, yr), -math.sqrt(1 / 3), 1e-15)
  T.near(metrics.get_scorer("r2")(fake(pr), nil, yr), metrics.r2_score(yr, pr), 1e-15)
  local names = table.concat(metrics.scorer_names(), ",")
  for _, n in ipairs({ "accuracy", "balanced_accuracy", "f1", "f1_macro", "f1_micro", "f1_weighted", "precision_macro",
    "recall_weighted", "roc_auc", "roc_auc_ovr", "roc_auc_ovo", "average_precision", "neg_log_loss", "r2",
    "neg_mean_squared_error", "neg_root_mean_squared_error", "neg_mean_absolute_error", "neg_median_absolute_error",
    "explained_variance", "matthews_corrcoef", "top_k_accuracy" }) do
    T.ok(names:find(n, 1, true), n)
  end
  T.raises(function() metrics.get_scorer("f1macro") end, "metrics.get_scorer: unknown scorer 'f1macro'; did you mean 'f1_macro'?")
  T.raises(function() metrics.get_scorer("roc_auc")(fake(pred), nil, y) end, "neither decision_function nor predict_proba")
end)

T.test("scorers on a multi-class estimator: ovr / ovo AUC from predict_proba", function()
  local y = i64({ 1, 2, 3, 1, 2, 3 })
  local P = f64({ 0.7, 0.2, 0.1, 0.1, 0.6, 0.3, 0.2, 0.2, 0.6, 0.5, 0.4, 0.1, 0.3, 0.3, 0.4, 0.1, 0.1, 0.8 }):reshape(6, 3)
  local est = fake(P:argmax(2):reshape(6), P, nil, { 1, 2, 3 })
  T.near(metrics.get_scorer("roc_auc_ovr")(est, nil, y), metrics.roc_auc_score(y, P, { multi_class = "ovr" }), 1e-15)
  T.near(metrics.get_scorer("roc_auc_ovo")(est, nil, y), metrics.roc_auc_score(y, P, { multi_class = "ovo" }), 1e-15)
  T.near(metrics.get_scorer("top_k_accuracy")(est, nil, y), metrics.top_k_accuracy_score(y, P), 1e-15)
end)

T.test("ml.help finds every metric", function()
  for _, name in ipairs({ "accuracy_score", "balanced_accuracy_score", "precision_score", "recall_score", "f1_score",
    "fbeta_score", "precision_recall_fscore_support", "confusion_matrix", "classification_report", "log_loss",
    "roc_curve", "roc_auc_score", "precision_recall_curve", "average_precision_score", "top_k_accuracy_score",
    "matthews_corrcoef", "cohen_kappa_score", "brier_score_loss", "mean_squared_error", "root_mean_squared_error",
    "mean_absolute_error", "median_absolute_error", "r2_score", "explained_variance_score",
    "mean_absolute_percentage_error", "max_error", "get_scorer", "scorer_names", "auc" }) do
    local d = ml.doc(metrics[name])
    T.ok(type(d) == "string" and d:find("metrics." .. name, 1, true), name)
  end
end)
