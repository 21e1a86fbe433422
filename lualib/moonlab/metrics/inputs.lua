--- What every metric reads first: label pairs, sample weights, scores, the positive class, and
-- scikit-learn's UndefinedMetricWarning (printed once per message to stderr). Labels are read only
-- through core/labels.lua.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"

local fail, fmt = checks.fail, string.format
local I = {}

local show_label = labels.show
I.show_label = show_label

-- The classes of continuous values are not labels (scikit-learn's type_of_target 'continuous').
local function refuse_continuous(fn, classes)
  for _, c in ipairs(classes) do
    if math.type(c) == "float" and (c ~= math.floor(c) or c ~= c) then
      fail(fmt("%s: the labels hold the non-integer value %s; classification metrics need class labels, "
        .. "not continuous values", fn, tostring(c)))
    end
  end
end
I.refuse_continuous = refuse_continuous

--- I.label_pair(fn, y_true, y_pred, [extra]) -> codes_true, codes_pred, classes, n: both coded against
-- the union of their values (and extra's); empty inputs and continuous values are errors
function I.label_pair(fn, y_true, y_pred, extra)
  local ct, cp, classes = labels.encode_pair(fn, y_true, y_pred, extra)
  local n = ct:size(1)
  if n == 0 then fail(fn .. ": empty input (no labels)") end
  refuse_continuous(fn, classes)
  return ct, cp, classes, n
end

--- I.all_finite(t) -> whether a float tensor holds no NaN or infinity (one sum; the exact check only
-- when the sum is not finite, which a sum of huge finite values can also be)
function I.all_finite(t)
  local total = t:sum():item()
  if total == total and total ~= math.huge and total ~= -math.huge then return true end
  return t:isnan():sum():item() == 0 and t:isinf():sum():item() == 0
end

--- I.weights(fn, w, n) -> float64 [n] tensor, or nil when w is nil
function I.weights(fn, w, n)
  if w == nil then return nil end
  if not ml.is_tensor(w) then
    if type(w) ~= "table" then fail(fmt("%s: sample_weight must be a tensor or a list of numbers, got %s", fn, type(w))) end
    for i = 1, #w do
      if type(w[i]) ~= "number" then fail(fmt("%s: sample_weight[%d] is %s, expected a number", fn, i, checks.show(w[i]))) end
    end
    w = ml.tensor(w, { dtype = "float64" })
  end
  if w:numel() ~= n or w:dim() > 2 or (w:dim() == 2 and w:size(2) ~= 1) then
    fail(fmt("%s: sample_weight has %d values but there are %d samples", fn, w:numel(), n))
  end
  w = w:reshape(n):to("float64"):contiguous()
  if n > 0 and not I.all_finite(w) then fail(fn .. ": sample_weight holds NaN or infinite values") end
  return w
end

--- I.scores(fn, what, s, n, [cols]) -> float64 tensor [n] or [n, K], finite: scores, probabilities or
-- values; a Lua list is read as [n] (or a list of rows as [n, K]); n = nil takes any length
function I.scores(fn, what, s, n)
  if not ml.is_tensor(s) then
    if type(s) ~= "table" then fail(fmt("%s: %s must be a tensor or a list of numbers, got %s", fn, what, type(s))) end
    local ok, t = pcall(ml.tensor, s, { dtype = "float64" })
    if not ok then fail(fmt("%s: %s must be a tensor or a list of numbers", fn, what)) end
    s = t
  end
  if s:dim() == 2 and s:size(2) == 1 then s = s:reshape(s:size(1)) end
  if s:dim() == 0 or s:dim() > 2 then fail(fmt("%s: %s must be [n] or [n, K], got %d-D", fn, what, s:dim())) end
  if s:size(1) == 0 then fail(fmt("%s: empty input (no %s)", fn, what)) end
  if n and s:size(1) ~= n then fail(fmt("%s: %s has %d rows but y_true has %d labels", fn, what, s:size(1), n)) end
  s = s:to("float64"):contiguous()
  if not I.all_finite(s) then
    if s:isnan():sum():item() > 0 then fail(fmt("%s: %s hold NaN", fn, what)) end
    fail(fmt("%s: %s hold infinite values", fn, what))
  end
  return s
end

--- I.positive(fn, classes, pos_label) -> k or nil: the positive class's position among classes; nil when
-- pos_label (or its default) is absent from a single-class input. Defaults: 1 for {0, 1} and {-1, 1},
-- 2 for {1, 2}; otherwise pos_label must be given.
function I.positive(fn, classes, pos_label)
  if pos_label == nil and #classes == 1 then
    local c = classes[1]
    if c == 0 or c == -1 or c == 1 then pos_label = 1 elseif c == 2 then pos_label = 2 elseif c == true or c == false then pos_label = true end
  end
  if pos_label ~= nil and #classes == 1 then
    if classes[1] == pos_label then return 1 end
    return nil
  end
  return labels.positive(fn, classes, pos_label)
end

--- I.option_labels(fn, v) -> a list of label values or nil (the labels option)
function I.option_labels(fn, v)
  if v == nil then return nil end
  if ml.is_tensor(v) then v = v:reshape(-1):tolist() end
  if type(v) ~= "table" then fail(fmt("%s: labels must be a list of label values, got %s", fn, type(v))) end
  if #v == 0 then fail(fn .. ": labels must hold at least one label") end
  return v
end

--- I.positions(fn, classes, chosen) -> {k}: the position of each chosen label among classes
function I.positions(fn, classes, chosen)
  local index = {}
  for k, c in ipairs(classes) do index[c] = k end
  local out = {}
  for i, c in ipairs(chosen) do
    out[i] = index[c] or fail(fmt("%s: labels[%d] = %s is not a label", fn, i, show_label(c)))
  end
  return out
end

--- I.zero_division(fn, v) -> "warn", 0 or 1
function I.zero_division(fn, v)
  if v == nil or v == "warn" then return "warn" end
  if v == 0 or v == 1 then return math.tointeger(v) end
  fail(fmt("%s: zero_division must be 'warn', 0 or 1, got %s", fn, checks.show(v)))
end

local warned = {}
--- I.warn(msg): scikit-learn's UndefinedMetricWarning, printed to stderr once per message
function I.warn(msg)
  if warned[msg] then return end
  warned[msg] = true
  io.stderr:write("UndefinedMetricWarning: ", msg, "\n")
end

--- I.number(x) -> x as a plain Lua number (a 0-d tensor's item)
function I.number(x) return ml.is_tensor(x) and x:item() or x end

return I
