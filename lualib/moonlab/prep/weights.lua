--- prep/weights.lua: class and sample weights with scikit-learn's formulas
-- (compute_class_weight, compute_sample_weight).
--
--   local w = prep.class_weights(y, "balanced")     -- float64 [K], w[c] = n / (K * count(c))
--   nn.CrossEntropyLoss{weight = w}                   -- the losses take it as it is
--   model:fit(X, y, {class_weight = "balanced"})      -- or w, or {[class] = weight}
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local fail, fmt = checks.fail, string.format
local M = {}

-- y as a 1-D int64 tensor of labels.
local function labels_of(fn, y)
  if type(y) == "table" and not ml.is_tensor(y) then
    for i, v in ipairs(y) do
      if math.type(v) ~= "integer" then fail(fmt("%s: y[%d] is %s, expected an integer class label", fn, i, checks.show(v))) end
    end
    y = ml.tensor(#y > 0 and y or {}, { dtype = "int64" })
  elseif not ml.is_tensor(y) then
    fail(fmt("%s: y must be a tensor or a list of integer labels, got %s", fn, checks.show(y)))
  end
  if not (y:dim() == 1 or (y:dim() == 2 and y:shape()[2] == 1)) then
    fail(fmt("%s: y must hold one label per row ([n] or [n, 1]), got %s", fn, format.shape(y)))
  end
  y = y:reshape(-1)
  if y:numel() == 0 then fail(fn .. ": y is empty") end
  local dt = y:dtype()
  if dt == "float32" or dt == "float64" then
    if y:isnan():sum():item() > 0 or y:ne(y:long():to(dt)):sum():item() > 0 then
      fail(fmt("%s: y holds values that are not integer labels (a %s tensor)", fn, dt))
    end
  end
  return dt == "int64" and y or y:long()
end

-- Checks a {[class] = weight} table.
local function check_table(fn, spec)
  for c, w in pairs(spec) do
    if math.type(c) ~= "integer" then fail(fmt("%s: class_weight keys must be integer class labels, got %s", fn, checks.show(c))) end
    if type(w) ~= "number" or w ~= w or w < 0 or w == math.huge then
      fail(fmt("%s: the weight of class %d must be a finite number >= 0, got %s", fn, c, checks.show(w)))
    end
  end
end

local function check_spec(fn, spec)
  if spec == "balanced" then return end
  if type(spec) == "table" and not ml.is_tensor(spec) then return check_table(fn, spec) end
  fail(fmt("%s: expected \"balanced\" or a table {[class] = weight}, got %s", fn, checks.show(spec)))
end

--- prep.class_weights(y, "balanced" | {[class] = w}, [{n_classes=max(y), dtype="float64"}]) -> tensor [K]
function M.class_weights(y, spec, opts)
  local fn = "prep.class_weights"
  check_spec(fn, spec)
  opts = checks.options(fn, opts, { "n_classes", "dtype" })
  local dtype = checks.dtype(fn, opts.dtype, { "float64", "float32" }, "float64")
  y = labels_of(fn, y)
  local lo, hi = y:min():item(), y:max():item()
  if lo < 1 then
    fail(fmt("%s: class labels must be 1..K (moonlab's classes), got %d; map them with prep.LabelEncoder, "
      .. "or use prep.sample_weights, which takes any labels", fn, lo))
  end
  local K = opts.n_classes ~= nil and checks.integer(fn, "n_classes", opts.n_classes, 1) or hi
  if hi > K then fail(fmt("%s: y holds class %d, more than n_classes = %d", fn, hi, K)) end
  if spec == "balanced" then
    local counts = ml.zeros({ K }, { dtype = "float64" }):scatter_add(1, y, ml.ones({ y:numel() }, { dtype = "float64" }))
    local absent = ml.arange(1, K + 1):masked_select(counts:eq(0))
    if absent:numel() > 0 then
      fail(fmt("%s: class %d of 1..%d does not occur in y, so 'balanced' gives it no weight (n / (K * 0)); "
        .. "give a table {[class] = weight}", fn, absent:tolist()[1], K))
    end
    return (ml.full({ K }, y:numel() / K, { dtype = "float64" }) / counts):to(dtype)
  end
  local w = {}
  for c = 1, K do w[c] = 1.0 end
  for c, v in pairs(spec) do
    if c < 1 or c > K then fail(fmt("%s: class_weight names class %d, outside the classes 1..%d", fn, c, K)) end
    w[c] = v
  end
  return ml.tensor(w, { dtype = dtype })
end

--- prep.sample_weights(y, "balanced" | {[class] = w}) -> float64 [n]: the weight of each row's class (any integer labels)
function M.sample_weights(y, spec)
  local fn = "prep.sample_weights"
  check_spec(fn, spec)
  y = labels_of(fn, y)
  local n = y:numel()
  local sorted, order = y:sort()
  -- runs of equal labels in the sorted order: a class number 1..K per row
  local starts = ml.ones({ n }, { dtype = "int64" })
  if n > 1 then starts = ml.cat({ ml.ones({ 1 }, { dtype = "int64" }), sorted:narrow(1, 2, n - 1):ne(sorted:narrow(1, 1, n - 1)):long() }, 1) end
  local group = starts:cumsum(1) -- [n] class number of each sorted row
  local K = group:max():item()
  local wk
  if spec == "balanced" then
    local counts = ml.zeros({ K }, { dtype = "float64" }):scatter_add(1, group, ml.ones({ n }, { dtype = "float64" }))
    wk = ml.full({ K }, n / K, { dtype = "float64" }) / counts
  else
    check_table(fn, spec)
    local labels = sorted:index_select(1, ml.arange(1, n + 1):masked_select(starts:eq(1))):tolist()
    local w, have = {}, {}
    for k, c in ipairs(labels) do w[k] = spec[c] or 1.0; have[c] = true end
    for c in pairs(spec) do
      if not have[c] then fail(fmt("%s: class_weight names class %d, which y does not hold", fn, c)) end
    end
    wk = ml.tensor(w, { dtype = "float64" })
  end
  -- back from the sorted order to the rows' order
  return ml.zeros({ n }, { dtype = "float64" }):scatter_add(1, order, wk:index_select(1, group))
end

ml.doc(M.class_weights, "prep.class_weights(y, \"balanced\" | {[class] = w}, [{n_classes, dtype='float64'}]) -> tensor [K] — "
  .. "scikit-learn's compute_class_weight for labels 1..K: n / (K * count(c)), or the table's weights (1 for classes not named); "
  .. "what nn.CrossEntropyLoss{weight = } and fit's class_weight take")
ml.doc(M.sample_weights, "prep.sample_weights(y, \"balanced\" | {[class] = w}) -> float64 [n] — scikit-learn's "
  .. "compute_sample_weight: each row's class weight, for any integer labels")

return M
