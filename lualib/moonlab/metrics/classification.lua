--- Classification metrics: accuracy.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local fmt = string.format
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

--- metrics.accuracy_score(y_true, y_pred) -> share of labels predicted right (label values, as scikit-learn)
-- (a first form for the estimators' score; the metrics engineer owns and extends it)
function M.metrics.accuracy_score(y_true, y_pred)
  local fn = "metrics.accuracy_score"
  local a, b = require("moonlab.core.labels").encode_pair(fn, y_true, y_pred)
  if a:size(1) == 0 then checks.fail(fn .. ": empty input") end
  return a:eq(b):sum():item() / a:size(1)
end

ml.doc(M.metrics.accuracy, "metrics.accuracy(pred, target, [{threshold=0.5}]) -> number — [N,C] scores: share of rows whose argmax is the label (1..C); one output per row: share where pred > threshold matches the 0/1 target")
ml.doc(M.metrics.accuracy_score, "metrics.accuracy_score(y_true, y_pred) -> number — the share of labels predicted right (any label values)")
ml.doc(M.sums.accuracy, "metrics.sums('accuracy')(pred, target, threshold) -> correct, rows — accuracy's batch form for fit")

return M
