--- Metrics of predicted probabilities (sklearn.metrics): log_loss, brier_score_loss.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"
local inputs = require "moonlab.metrics.inputs"

local fail, fmt = checks.fail, string.format
local M = { metrics = {} }
local metrics = M.metrics

-- np.average(values, weights=w) (normalize) or the (weighted) sum
local function weighted_sum(fn, values, w, normalize)
  if w == nil then
    local s = values:sum():item()
    return normalize and s / values:size(1) or s
  end
  local s = (values * w):sum():item()
  if not normalize then return s end
  local total = w:sum():item()
  if total == 0 then fail(fn .. ": the sample weights sum to zero") end
  return s / total
end

local EPS = { float64 = 2.220446049250313e-16, float32 = 1.1920928955078125e-07 }

--- metrics.log_loss(y_true, y_pred, [{eps='auto', normalize=true, sample_weight, labels}]) -> the cross-entropy of the probabilities
function metrics.log_loss(y_true, y_pred, opts)
  local fn = "metrics.log_loss"
  opts = checks.options(fn, opts, { "eps", "normalize", "sample_weight", "labels" })
  local normalize = checks.boolean(fn, "normalize", opts.normalize, true)
  local n = labels.length(fn, y_true)
  local dtype = ml.is_tensor(y_pred) and y_pred:dtype() or "float64"
  local P = inputs.scores(fn, "y_pred", y_pred, n)
  local eps = opts.eps
  if eps == nil or eps == "auto" then eps = EPS[dtype] or EPS.float64
  else eps = checks.number(fn, "eps", eps, 0, 0.5) end
  local w = inputs.weights(fn, opts.sample_weight, n)
  local given = inputs.option_labels(fn, opts.labels)
  local codes, classes = labels.encode(fn, y_true, given and (function()
    local sorted = { table.unpack(given) }
    table.sort(sorted, function(a, b) return a < b end)
    return sorted
  end)() or nil)
  inputs.refuse_continuous(fn, classes)
  if #classes == 1 then
    if given == nil then
      fail(fmt("%s: y_true holds only one label (%s); pass every label with labels = {...}", fn, inputs.show_label(classes[1])))
    end
    fail(fmt("%s: labels must hold at least two labels, got 1", fn))
  end
  P = P:clamp(eps, 1 - eps)
  if P:dim() == 1 then P = ml.stack({ 1 - P, P }, 2) end
  if P:size(2) == 1 then P = ml.cat({ 1 - P, P }, 2) end
  if P:size(2) ~= #classes then
    fail(fmt("%s: y_true has %d classes but y_pred has %d columns; pass every label with labels = {...}", fn, #classes, P:size(2)))
  end
  P = P / P:sum(2, true)
  local loss = -P:gather(2, codes:reshape(n, 1)):reshape(n):log()
  return weighted_sum(fn, loss, w, normalize)
end

--- metrics.brier_score_loss(y_true, y_prob, [{sample_weight, pos_label}]) -> the mean squared difference of the probability and the 0/1 outcome
function metrics.brier_score_loss(y_true, y_prob, opts)
  local fn = "metrics.brier_score_loss"
  opts = checks.options(fn, opts, { "sample_weight", "pos_label" })
  local codes, classes = labels.encode(fn, y_true)
  local n = codes:size(1)
  if n == 0 then fail(fn .. ": empty input (no labels)") end
  inputs.refuse_continuous(fn, classes)
  if #classes > 2 then fail(fmt("%s: only binary labels are supported, y_true has %d classes", fn, #classes)) end
  local p = inputs.scores(fn, "y_prob", y_prob, n)
  if p:dim() ~= 1 then fail(fn .. ": y_prob must be one probability per sample ([n])") end
  if p:max():item() > 1 then fail(fn .. ": y_prob holds values greater than 1") end
  if p:min():item() < 0 then fail(fn .. ": y_prob holds values less than 0") end
  local ok, k = pcall(inputs.positive, fn, classes, opts.pos_label)
  if not ok then
    -- scikit-learn's fallback for numbers it cannot tell apart: the greater label
    if opts.pos_label ~= nil or type(classes[1]) ~= "number" then error(k, 0) end
    k = #classes
  end
  local truth = k and codes:eq(k):to("float64") or ml.zeros(n, { dtype = "float64" })
  return weighted_sum(fn, (truth - p):pow(2), inputs.weights(fn, opts.sample_weight, n), true)
end

do
  local doc = ml.doc
  doc(metrics.log_loss, "metrics.log_loss(y_true, y_pred, [{eps='auto', normalize=true, sample_weight, labels}]) -> number — the mean negative log-likelihood of the true labels under y_pred ([n] = P(greater label), or [n, K]); clipped to [eps, 1-eps] and renormalized as scikit-learn 1.2")
  doc(metrics.brier_score_loss, "metrics.brier_score_loss(y_true, y_prob, [{sample_weight, pos_label}]) -> number — the mean squared difference of y_prob and the positive-class indicator")
end

return M
