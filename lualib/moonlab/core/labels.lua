--- moonlab.core.labels: class labels as values, the one way metrics and
-- classifiers read them (scikit-learn compares label values, so 0/1, 1/2,
-- -1/1 and strings all work).
--
--   local codes, classes = labels.encode(fn, y)        -- codes: int64 [n] in 1..K; classes: sorted list
--   local codes = labels.encode(fn, y2, classes)        -- the same classes (an unseen label is an error)
--   local y_back = labels.decode(codes, classes)        -- tensor (numeric classes) or list (strings)
--
-- y may be a 1-D tensor (any dtype; [n, 1] too), a Lua list of numbers,
-- strings or booleans, or a data.Column (strings, categories, numbers).
-- Classes are sorted: numbers ascending, strings bytewise, false < true.
-- Missing labels (NaN, nil holes, missing cells) are an error.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local labels = {}

local function is_column(y)
  return type(y) == "table" and not ml.is_tensor(y) and y.kind ~= nil and ml.is_tensor(y.values)
end

--- labels.read(fn, y) -> a 1-D tensor or a Lua list of strings/booleans, and n: y in one of two forms
function labels.read(fn, y)
  if ml.is_tensor(y) then
    if y:dim() == 2 and y:size(2) == 1 then y = y:reshape(y:size(1)) end
    if y:dim() ~= 1 then fail(fmt("%s: labels must be a 1-D tensor, got shape [%s]", fn, table.concat(y:shape(), ", "))) end
    if y:dtype() == "float32" or y:dtype() == "float64" then
      if y:isnan():sum():item() > 0 then fail(fn .. ": labels hold NaN (a missing label)") end
    end
    return y, y:size(1)
  end
  if is_column(y) then
    local miss = y:missing_count()
    if miss > 0 then fail(fmt("%s: the label column has %d missing cell%s", fn, miss, miss == 1 and "" or "s")) end
    if y.kind == "string" or y.kind == "category" then return (y:to_list()), y:len() end
    return y.values, y:len()
  end
  if type(y) ~= "table" or getmetatable(y) ~= nil then
    fail(fmt("%s: labels must be a tensor, a list or a data column, got %s", fn, type(y)))
  end
  local n = #y
  local first = y[1]
  local kind = type(first)
  if kind == "number" then
    local ints = true
    for i = 1, n do
      local v = y[i]
      if v ~= v then fail(fmt("%s: label %d is NaN (a missing label)", fn, i)) end
      if type(v) ~= "number" then fail(fmt("%s: label %d is %s, expected a number like label 1", fn, i, checks.show(v))) end
      if math.type(v) ~= "integer" then ints = false end
    end
    -- Lua integers stay int64 (float64 would merge labels above 2^53)
    return ml.tensor(y, { dtype = ints and "int64" or "float64" }), n
  end
  if kind ~= "string" and kind ~= "boolean" and n > 0 then
    fail(fmt("%s: labels must be numbers, strings or booleans, got %s", fn, kind))
  end
  for i = 1, n do
    if type(y[i]) ~= kind then fail(fmt("%s: label %d is %s, expected a %s like label 1", fn, i, checks.show(y[i]), kind)) end
  end
  for k in pairs(y) do
    if math.type(k) ~= "integer" or k < 1 or k > n then fail(fmt("%s: labels must be a list (1..n), found the key %s", fn, checks.show(k))) end
  end
  return y, n
end

--- labels.length(fn, y) -> the number of labels in y
function labels.length(fn, y)
  local _, n = labels.read(fn, y)
  return n
end

local function less(a, b)
  if type(a) == "boolean" then return (not a) and b end
  return a < b
end

-- A numeric label tensor as the kernels read it: int64 or float64, 1-D.
local function numeric(t)
  local dt = t:dtype()
  if dt == "bool" then return t:to("int64") end
  if dt == "float32" then return t:to("float64") end
  return t
end

-- The sorted distinct values of a tensor (and of a second one), as a Lua list (float64/int64 numbers;
-- booleans for bool tensors). One pass through a presence table for small integer ranges, else a sort.
local function tensor_classes(t, t2)
  local a, b = numeric(t), t2 and numeric(t2)
  if b and a:dtype() ~= b:dtype() then a, b = a:to("float64"), b:to("float64") end
  local out = ml._metrics.unique(a, b):tolist()
  if t:dtype() == "bool" and (t2 == nil or t2:dtype() == "bool") then
    for i, v in ipairs(out) do out[i] = v ~= 0 end
  end
  return out
end

-- codes of a numeric tensor against numeric classes (any order; an unseen value stays 0), and the
-- position of the first unseen value (nil when none)
local function tensor_codes(t, classes)
  local src = numeric(t)
  local nums, whole, sorted = {}, true, true
  for k, c in ipairs(classes) do
    if type(c) == "boolean" then c = c and 1 or 0 end
    nums[k] = c
    if math.type(c) == "float" and c ~= math.floor(c) then whole = false end
    if k > 1 and not (nums[k - 1] < c) then sorted = false end
  end
  if src:dtype() == "int64" and not whole then src = src:to("float64") end
  local dt = src:dtype()
  if sorted then
    return ml._metrics.codes(src, ml.tensor(nums, { dtype = dt }))
  end
  -- codes against the sorted classes, then each sorted position mapped back to its place in classes
  local order = {}
  for k = 1, #nums do order[k] = k end
  table.sort(order, function(x, y) return nums[x] < nums[y] end)
  local snums, back = {}, { 0 }
  for j, k in ipairs(order) do snums[j] = nums[k] back[j + 1] = k end
  local codes = ml._metrics.codes(src, ml.tensor(snums, { dtype = dt }))
  codes = ml.index_select(ml.tensor(back, { dtype = "int64" }), 1, codes + 1)
  local miss = codes:eq(0)
  local first = miss:sum():item() > 0 and ml.argmax(miss:to("int64")):item() or nil
  return codes, first
end

local function show_label(v)
  if type(v) == "string" then return "'" .. v .. "'" end
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then return tostring(math.tointeger(v)) end
  return tostring(v)
end
--- labels.show(v) -> a label value as messages show it ('cat', 3, 0.5)
labels.show = show_label

local function unseen(fn, values, first, classes)
  if first == nil then return end
  local v = values[first]
  local shown = {}
  for j = 1, math.min(#classes, 10) do shown[j] = show_label(classes[j]) end
  fail(fmt("%s: label %s (at %d) is not one of the known classes {%s%s}", fn, show_label(v), first,
    table.concat(shown, ", "), #classes > 10 and ", ..." or ""))
end

--- labels.encode(fn, y, [classes]) -> codes (int64 [n], 1..K), classes (sorted list of label values)
function labels.encode(fn, y, classes)
  local values, n = labels.read(fn, y)
  if ml.is_tensor(values) then
    if classes == nil then classes = tensor_classes(values) end
    for _, c in ipairs(classes) do
      if type(c) == "string" then fail(fmt("%s: the labels are numbers but the classes are strings ('%s' ...)", fn, c)) end
    end
    local codes, first = tensor_codes(values, classes)
    unseen(fn, values, first, classes)
    return codes, classes
  end
  local index = {}
  if classes == nil then
    classes = {}
    for i = 1, n do
      local v = values[i]
      if index[v] == nil then index[v] = true classes[#classes + 1] = v end
    end
    table.sort(classes, less)
  end
  for k, c in ipairs(classes) do index[c] = k end
  local codes = {}
  for i = 1, n do
    local k = index[values[i]]
    if not k then
      local shown = {}
      for j = 1, math.min(#classes, 10) do shown[j] = show_label(classes[j]) end
      fail(fmt("%s: label %s (at %d) is not one of the known classes {%s%s}", fn, show_label(values[i]), i,
        table.concat(shown, ", "), #classes > 10 and ", ..." or ""))
    end
    codes[i] = k
  end
  return ml.tensor(codes, { dtype = "int64" }), classes
end

--- labels.encode_pair(fn, a, b, [extra]) -> codes_a, codes_b, classes: both label sets coded against the union
-- of their values (and of the label values in the list extra, when given); a predicted label the truth
-- never holds is a class of its own, as in scikit-learn
function labels.encode_pair(fn, a, b, extra)
  local va, na = labels.read(fn, a)
  local vb, nb = labels.read(fn, b)
  if na ~= nb then fail(fmt("%s: y_true has %d labels but y_pred has %d", fn, na, nb)) end
  if ml.is_tensor(va) ~= ml.is_tensor(vb) then
    fail(fmt("%s: y_true holds %s but y_pred holds %s", fn, ml.is_tensor(va) and "numbers" or "strings",
      ml.is_tensor(vb) and "numbers" or "strings"))
  end
  local union
  if ml.is_tensor(va) then
    union = tensor_classes(va, vb)
  else
    local _, ca = labels.encode(fn, va)
    local _, cb = labels.encode(fn, vb)
    local seen = {}
    union = {}
    for _, list in ipairs({ ca, cb }) do
      for _, c in ipairs(list) do if not seen[c] then seen[c] = true union[#union + 1] = c end end
    end
  end
  if extra ~= nil then
    local seen, numeric_labels = {}, ml.is_tensor(va)
    for _, c in ipairs(union) do seen[c] = true end
    for i, c in ipairs(extra) do
      if numeric_labels ~= (type(c) == "number" or type(c) == "boolean") then
        fail(fmt("%s: labels[%d] is %s but the labels are %s", fn, i, show_label(c), numeric_labels and "numbers" or "strings"))
      end
      if not seen[c] then seen[c] = true union[#union + 1] = c end
    end
  end
  table.sort(union, less)
  return (labels.encode(fn, va, union)), (labels.encode(fn, vb, union)), union
end

--- labels.equal(fn, a, b) -> bool tensor [n] | nil: where two label sets hold the same value, in one pass,
-- when both are integer tensors (int64 or bool: every value a label); nil for other inputs (use encode_pair)
function labels.equal(fn, a, b)
  if not (ml.is_tensor(a) and ml.is_tensor(b)) then return nil end
  local da, db = a:dtype(), b:dtype()
  if (da ~= "int64" and da ~= "bool") or (db ~= "int64" and db ~= "bool") then return nil end
  local va, na = labels.read(fn, a)
  local vb, nb = labels.read(fn, b)
  if na ~= nb then fail(fmt("%s: y_true has %d labels but y_pred has %d", fn, na, nb)) end
  if da ~= db then va, vb = va:to("int64"), vb:to("int64") end
  return va:eq(vb)
end

--- labels.decode(codes, classes) -> the labels: an int64/float64 tensor for numeric classes, a list otherwise
function labels.decode(codes, classes)
  local first = classes[1]
  if type(first) == "number" then
    local all_int = true
    for _, c in ipairs(classes) do if math.type(c) ~= "integer" and c ~= math.floor(c) then all_int = false break end end
    local lut = ml.tensor(classes, { dtype = all_int and "int64" or "float64" })
    return ml.index_select(lut, 1, codes)
  end
  local out = {}
  local list = codes:tolist()
  for i, k in ipairs(list) do out[i] = classes[k] end
  return out
end

--- labels.positive(fn, classes, [pos_label]) -> the index (1..2) of the positive class of a binary problem:
-- pos_label when given; 1 for {0, 1} (and {-1, 1}), 2 for {1, 2}, true for booleans; otherwise an error
function labels.positive(fn, classes, pos_label)
  if pos_label ~= nil then
    for k, c in ipairs(classes) do if c == pos_label then return k end end
    if #classes == 1 then return nil end -- the positive class is absent from these labels
    local shown = {}
    for j, c in ipairs(classes) do shown[j] = show_label(c) end
    fail(fmt("%s: pos_label=%s is not one of the labels {%s}", fn, show_label(pos_label), table.concat(shown, ", ")))
  end
  if #classes > 2 then
    fail(fmt("%s: the labels have %d classes; this is a binary metric (use average='macro' or similar)", fn, #classes))
  end
  local set = {}
  for _, c in ipairs(classes) do set[c] = true end
  for _, guess in ipairs({ 1, true }) do
    if set[guess] and (guess ~= 1 or not set[2]) then
      for k, c in ipairs(classes) do if c == guess then return k end end
    end
  end
  if set[2] then for k, c in ipairs(classes) do if c == 2 then return k end end end
  local shown = {}
  for j, c in ipairs(classes) do shown[j] = show_label(c) end
  fail(fmt("%s: cannot tell the positive class of the labels {%s}; pass pos_label", fn, table.concat(shown, ", ")))
end

do
  local doc = ml.doc
  doc(labels.read, "labels.read(fn, y) -> tensor | list, n — labels as a 1-D tensor or a list of strings/booleans (NaN and holes are errors)")
  doc(labels.length, "labels.length(fn, y) -> n — how many labels y holds")
  doc(labels.encode, "labels.encode(fn, y, [classes]) -> codes, classes — int64 codes 1..K and the sorted distinct label values")
  doc(labels.encode_pair, "labels.encode_pair(fn, y_true, y_pred, [extra]) -> codes_true, codes_pred, classes — both coded against the union of their labels (and extra's)")
  doc(labels.equal, "labels.equal(fn, a, b) -> bool tensor | nil — where two integer label tensors agree (one pass); nil for other inputs")
  doc(labels.show, "labels.show(v) -> string — a label value as messages show it ('cat', 3, 0.5)")
  doc(labels.decode, "labels.decode(codes, classes) -> labels — codes 1..K back to label values (tensor, or list for strings)")
  doc(labels.positive, "labels.positive(fn, classes, [pos_label]) -> k — which class is positive in a binary problem")
end

return labels
