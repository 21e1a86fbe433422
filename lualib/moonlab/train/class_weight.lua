--- train.class_weight: per-row weights from fit's class_weight = {[label] = weight},
-- "balanced" (scikit-learn's n / (K * count), prep.sample_weights) or a
-- tensor [K] of class weights (prep.class_weights: class i weighs w[i]).
--
-- The keys are checked against the classes at the first batch
-- (check_keys), when the model's output says how many there are.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local fmt = string.format
local M = {}

local FLOAT_DTYPES = { float32 = true, float64 = true }

-- A tensor of class weights (prep.class_weights) as the table {[i] = w[i]}.
local function as_table(cw)
  if not ml.is_tensor(cw) then return cw end
  if cw:dim() ~= 1 then checks.fail("fit: a class_weight tensor must be 1-D [classes], got " .. format.shape(cw)) end
  local t = {}
  for i, w in ipairs(cw:double():tolist()) do t[i] = w end
  return t
end

local function check_table(cw, y, crit)
  if type(cw) ~= "table" and cw ~= "balanced" then
    checks.fail("fit: class_weight must be a table {[class] = weight}, \"balanced\" or a tensor from prep.class_weights")
  end
  if type(crit) ~= "table" or crit.reduction == nil then
    checks.fail("fit: class_weight needs a loss with a 'reduction' field (the nn losses have one), to weigh each row")
  end
  if not (y:dim() == 1 or (y:dim() == 2 and y:shape()[2] == 1)) then
    checks.fail("fit: class_weight needs one label per row, y is " .. format.shape(y))
  end
  if FLOAT_DTYPES[y:dtype()] then
    checks.fail(fmt("fit: class_weight needs integer class labels, got %s targets (give 0/1 targets of a binary loss as int64)", y:dtype()))
  end
  if cw == "balanced" then return end
  if next(cw) == nil then checks.fail("fit: class_weight is empty; give {[class] = weight, ...}") end
  for k, w in pairs(cw) do
    if math.type(k) ~= "integer" then
      checks.fail(fmt("fit: class_weight keys must be integer class labels, got %s %s", type(k), tostring(k)))
    end
    if type(w) ~= "number" or w < 0 or w ~= w or w == math.huge then
      checks.fail(fmt("fit: class_weight[%d] must be a finite number >= 0, got %s", k, tostring(w)))
    end
  end
end

--- class_weight.weights(cw, y, crit) -> per-row weights (float32 [N]), the lowest and highest label
function M.weights(cw, y, crit)
  cw = as_table(cw)
  check_table(cw, y, crit)
  local labels = y:reshape(-1)
  if labels:dtype() ~= "int64" then labels = labels:long() end
  local lo, hi = labels:min():item(), labels:max():item()
  if cw == "balanced" then return require("moonlab.prep.weights").sample_weights(labels, "balanced"):float(), lo, hi end
  if hi - lo > 1e7 then checks.fail("fit: class_weight: labels span too wide a range") end
  local wv = {}
  for l = lo, hi do wv[#wv + 1] = cw[l] or 1.0 end
  local sw = ml.tensor(wv, { dtype = "float32" }):index_select(1, labels - (lo - 1))
  if sw:max():item() == 0 then checks.fail("fit: class_weight gives weight 0 to every row of y: nothing to train on") end
  return sw, lo, hi
end

--- class_weight.check_keys(cw, out, ymin, ymax) -> nil | message: the keys must be classes of the model
-- (1..C for [N, C] outputs, 0/1 for one output per row, else the labels y holds)
function M.check_keys(cw, out, ymin, ymax)
  if cw == "balanced" then return nil end -- its keys are y's labels, which inputs.check_labels checks
  cw = as_table(cw)
  local lo, hi, what
  if out:dim() == 2 and out:shape()[2] > 1 then
    lo, hi = 1, out:shape()[2]
    what = fmt("the model has %d outputs (classes 1..%d)", hi, hi)
  elseif out:dim() == 1 or (out:dim() == 2 and out:shape()[2] == 1) then
    lo, hi, what = 0, 1, "the model has one output per row (binary targets 0 and 1)"
  else
    lo, hi, what = ymin, ymax, fmt("y holds labels %d..%d", ymin, ymax)
  end
  local keys = {}
  for k in pairs(cw) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if k < lo or k > hi then
      if k == 0 and lo == 1 then
        return fmt("fit: class_weight has key 0, but class labels are 1-based (1..%d); shift the keys by 1", hi)
      end
      return fmt("fit: class_weight has key %d, an unknown class: %s", k, what)
    end
  end
end

--- class_weight.weighted_loss(crit, out, yb, swb) -> the weighted mean of the per-row losses
function M.weighted_loss(crit, out, yb, swb)
  local reduction = crit.reduction
  crit.reduction = "none"
  local ok, l = pcall(crit, out, yb)
  crit.reduction = reduction
  if not ok then error(l, 0) end
  local len = out:shape()[1]
  if l:numel() ~= len then
    checks.fail(fmt("fit: class_weight: the loss with reduction 'none' gave %s for %d rows", format.shape(l), len))
  end
  return (l:reshape(-1) * swb):sum() / swb:sum()
end

ml.doc(M.weights, "class_weight.weights(cw, y, loss) -> weights, lo, hi — per-row weights from {[label] = weight} (1 for labels not named), checked")
ml.doc(M.check_keys, "class_weight.check_keys(cw, output, ymin, ymax) -> nil | message — whether every key is a class the model's output has")
ml.doc(M.weighted_loss, "class_weight.weighted_loss(loss, out, y, w) -> 0-d tensor — the loss with reduction 'none', weighed per row and averaged")

return M
