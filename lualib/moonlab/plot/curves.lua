--- moonlab.plot.curves: ROC and precision-recall curves of binary scores, one or several
-- overlaid, each with its AUC (ROC) or average precision (PR) in the legend, as
-- scikit-learn's RocCurveDisplay and PrecisionRecallDisplay draw them (PR as steps).
-- The curves come from ml.metrics.roc_curve / precision_recall_curve.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Figure = require "moonlab.plot.figure"
local artists = require "moonlab.plot.artists"
local colors = require "moonlab.plot.colors"
local values = require "moonlab.plot.values"

local fmt = string.format
local GREY = { 0.5, 0.5, 0.5 }

local curves = {}

-- The list of {y_true, y_score, label} the call describes.
local function curve_list(fn, opts)
  if opts.curves ~= nil then
    if opts.y_true ~= nil or opts.y_score ~= nil then checks.fail(fn .. ": give y_true, y_score or curves, not both") end
    if type(opts.curves) ~= "table" or #opts.curves == 0 then
      checks.fail(fmt("%s: curves must be a non-empty list of {y_true, y_score, label} tables, got %s", fn,
        checks.show(opts.curves)))
    end
    for i, c in ipairs(opts.curves) do
      checks.options(fmt("%s (curve %d)", fn, i), c, { "y_true", "y_score", "label", "color" })
    end
    return opts.curves
  end
  return { { y_true = opts.y_true, y_score = opts.y_score, label = opts.label } }
end

-- metrics' errors, named by the plot: "plot.roc: metrics.roc_curve: ..."
local metric = values.call

local function check_pair(fn, c, i)
  if c.y_true == nil or c.y_score == nil then
    checks.fail(fmt("%s: %sy_true and y_score are required", fn, i and fmt("curve %d: ", i) or ""))
  end
  local labels = require "moonlab.core.labels"
  local n, m = labels.length(fn, c.y_true), labels.length(fn, c.y_score)
  if n ~= m then checks.fail(fmt("%s: y_true has %d labels but y_score has %d scores", fn, n, m)) end
  if n == 0 then checks.fail(fn .. ": y_true is empty") end
end

local function name(c, what, v, digits)
  return fmt("%s (%s = %." .. digits .. "f)", c.label or (what == "AUC" and "ROC" or "PR"), what, v)
end

--- plot.roc{y_true, y_score | curves = {{y_true, y_score, label}, ...}, pos_label, label, title, ...} -> figure
function curves.roc(opts)
  local fn = "plot.roc"
  local fig, ax = Figure.single(fn, opts, { "y_true", "y_score", "curves", "label", "pos_label" },
    { xlabel = "False positive rate", ylabel = "True positive rate", xlim = { -0.01, 1.01 }, ylim = { -0.01, 1.01 },
      legend = "lower right", title = "ROC curve" })
  ax:add(artists.line { x = ml.tensor({ 0, 1 }, { dtype = "float64" }), y = ml.tensor({ 0, 1 }, { dtype = "float64" }),
    color = GREY, width = 1.2, dash = { 5, 4 }, label = "chance (AUC = 0.5)" })
  for i, c in ipairs(curve_list(fn, opts)) do
    check_pair(fn, c, opts.curves and i)
    local fpr, tpr = metric(fn, ml.metrics.roc_curve, c.y_true, c.y_score, { pos_label = opts.pos_label })
    local auc = metric(fn, ml.metrics.auc, fpr, tpr)
    ax:add(artists.line { x = fpr, y = tpr, color = colors.parse(fn, c.color, colors.cycle(i)), width = 2,
      label = name(c, "AUC", auc, 3) })
  end
  return fig
end

-- steps-post vertices of the points (x, y): (x1, y1), (x2, y1), (x2, y2) ... (xn, yn)
local function steps_post(x, y)
  local n = x:numel()
  if n < 2 then return x, y end
  return ml.stack({ x, x }, 2):reshape(-1):narrow(1, 2, 2 * n - 1), ml.stack({ y, y }, 2):reshape(-1):narrow(1, 1, 2 * n - 1)
end

--- plot.pr{y_true, y_score | curves = {{y_true, y_score, label}, ...}, pos_label, label, title, ...} -> figure: precision-recall curves with AP
function curves.pr(opts)
  local fn = "plot.pr"
  local fig, ax = Figure.single(fn, opts, { "y_true", "y_score", "curves", "label", "pos_label" },
    { xlabel = "Recall", ylabel = "Precision", xlim = { -0.01, 1.01 }, ylim = { -0.01, 1.01 }, legend = "best",
      title = "Precision-recall curve" })
  for i, c in ipairs(curve_list(fn, opts)) do
    check_pair(fn, c, opts.curves and i)
    local precision, recall = metric(fn, ml.metrics.precision_recall_curve, c.y_true, c.y_score, { pos_label = opts.pos_label })
    local ap = metric(fn, ml.metrics.average_precision_score, c.y_true, c.y_score, { pos_label = opts.pos_label })
    local x, y = steps_post(recall:to("float64"), precision:to("float64"))
    ax:add(artists.line { x = x, y = y, color = colors.parse(fn, c.color, colors.cycle(i)), width = 2,
      label = name(c, "AP", ap, 3) })
  end
  return fig
end

ml.doc(curves.roc, "plot.roc{y_true, y_score | curves = {{y_true, y_score, label}}, pos_label, ...} -> figure — ROC curves with their AUC in the legend and the chance line")
ml.doc(curves.pr, "plot.pr{y_true, y_score | curves = {{y_true, y_score, label}}, pos_label, ...} -> figure — precision-recall curves (steps) with their average precision in the legend")

return curves
