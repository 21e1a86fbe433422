--- prep/encode.lua: the encoders, as scikit-learn's: OneHotEncoder,
-- OrdinalEncoder and LabelEncoder. Categories are the sorted distinct values
-- of each column: numbers for numeric tensors and frame columns (NaN, when
-- present, is the last category), strings for string and category frame
-- columns. Rows are mapped to categories in C (ml._prep.lookup for numbers; a
-- table from the column's string pool to category positions for strings).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.prep.base"

local K = ml._prep
local fail, fmt = checks.fail, string.format

local M = {}

local function is_text(kind) return kind == "string" or kind == "category" end

-- int64 columns holding values beyond 2^53 are not exact as float64 (2^53 + 1 would merge with
-- 2^53): those go through an exact path over Lua integers (slower, but IDs stay distinct).
local EXACT = 9007199254740992 -- 2^53
local function big_int64(c)
  if c.kind ~= "int64" or c.values:numel() == 0 then return false end
  local v = c.values
  if c.valid then v = v:masked_fill(c.valid:eq(false), 0) end
  return v:max():item() > EXACT or v:min():item() < -EXACT
end

-- The exact distinct values (sorted Lua integers, then NaN when some cell is missing) and counts.
local function distinct_int64(c)
  local vals, valid = c.values:tolist(), c.valid and c.valid:tolist()
  local count, missing = {}, 0
  for i, v in ipairs(vals) do
    if valid and not valid[i] then missing = missing + 1 else count[v] = (count[v] or 0) + 1 end
  end
  local cats = {}
  for v in pairs(count) do cats[#cats + 1] = v end
  table.sort(cats)
  local cnt = {}
  for i, v in ipairs(cats) do cnt[i] = count[v] end
  if missing > 0 then cats[#cats + 1], cnt[#cats + 1] = 0 / 0, missing end
  return cats, cnt
end

-- The sorted distinct values of a column and their counts: numbers (a Lua list) or strings.
local function distinct(fn, c)
  if big_int64(c) then
    local cats, cnt = distinct_int64(c)
    return cats, cnt, "integer"
  end
  if is_text(c.kind) then
    if c.values:eq(0):sum():item() > 0 then
      fail(fmt("%s: column '%s' has missing cells; impute them first (prep.SimpleImputer{strategy = 'most_frequent'})", fn, c.name))
    end
    local vals, counts = K.unique(c.values:to("float64"))
    local pairs_ = {}
    for i, code in ipairs(vals:tolist()) do pairs_[i] = { c.pool:get(math.tointeger(code)), counts[i] } end
    table.sort(pairs_, function(a, b) return a[1] < b[1] end)
    local cats, cnt = {}, {}
    for i, p in ipairs(pairs_) do cats[i], cnt[i] = p[1], p[2] end
    return cats, cnt, "string"
  end
  local vals, counts = K.unique(base.col_as_float(c))
  return vals:tolist(), counts:tolist(), (c.kind == "float64" or c.kind == "float32") and "number" or "integer"
end

-- Categories given by the user for column j: a list of numbers or strings, sorted as fit would.
local function given_categories(fn, cats, j, kind)
  local list = cats[j]
  if type(list) ~= "table" or #list == 0 then
    fail(fmt("%s: categories[%d] must be a non-empty list of values, got %s", fn, j, checks.show(list)))
  end
  local want = is_text(kind) and "string" or "number"
  for i, v in ipairs(list) do
    if type(v) ~= want then fail(fmt("%s: categories[%d][%d] is a %s, but column %d holds %ss", fn, j, i, type(v), j, want)) end
  end
  return { table.unpack(list) }
end

-- For each row of column c, the 1-based position of its value among cats (0: unknown or missing); int64 [n].
local function positions(c, cats, cache)
  if is_text(c.kind) then
    local pool = c.pool
    local lut = {}
    local where = {}
    for i, s in ipairs(cats) do where[s] = i end
    local names = pool:list()
    lut[1] = 0
    for code, s in ipairs(names) do lut[code + 1] = where[s] or 0 end
    return ml.tensor(lut, { dtype = "int64" }):index_select(1, c.values:add(1))
  end
  local exact = big_int64(c)
  if not exact and c.kind == "int64" then
    for _, v in ipairs(cats) do
      if math.type(v) == "integer" and (v > EXACT or v < -EXACT) then exact = true break end
    end
  end
  if exact then -- the exact path: Lua integers
    local where, nan_pos = {}, 0
    for i, v in ipairs(cats) do
      if v ~= v then nan_pos = i else where[math.tointeger(v) or v] = i end
    end
    local vals, valid, out = c.values:tolist(), c.valid and c.valid:tolist(), {}
    for i, v in ipairs(vals) do
      if valid and not valid[i] then out[i] = nan_pos else out[i] = where[v] or 0 end
    end
    return #out > 0 and ml.tensor(out, { dtype = "int64" }) or ml.zeros({ 0 }, { dtype = "int64" })
  end
  local t = cache or ml.tensor(cats, { dtype = "float64" })
  return K.lookup(base.col_as_float(c), t)
end

local function first_unknown(c, pos)
  local i = pos:eq(0):to("int64"):argmax():item()
  local v = is_text(c.kind) and c.pool:get(c.values[i]) or (c.kind == "int64" and c.values:narrow(1, i, 1):tolist()[1]) or base.col_as_float(c)[i]
  return i, v
end

-- ---- OneHotEncoder -----------------------------------------------------------------------

local OneHotEncoder = base.define("prep.OneHotEncoder",
  "prep.OneHotEncoder([{categories='auto', drop=nil, handle_unknown='error', min_frequency, max_categories, dtype='float64'}]) "
  .. "— one 0/1 column per category of each column (numeric tensors, string/category frame columns); unknown "
  .. "categories raise, are ignored (all zeros) or go to the infrequent column ('infrequent_if_exist'); fitted: categories_",
  { { "categories", "auto" }, { "drop", nil }, { "handle_unknown", "error" }, { "min_frequency", nil },
    { "max_categories", nil }, { "dtype", "float64" } })
OneHotEncoder.INPUT = "columns"

function OneHotEncoder:_check(fn)
  if self.categories ~= "auto" and type(self.categories) ~= "table" then
    fail(fmt("%s: categories must be 'auto' or a list of lists of values, got %s", fn, checks.show(self.categories)))
  end
  if self.drop ~= nil then checks.one_of(fn, "drop", self.drop, { "first", "if_binary" }) end
  checks.one_of(fn, "handle_unknown", self.handle_unknown, { "error", "ignore", "infrequent_if_exist" })
  local mf = self.min_frequency
  if mf ~= nil and (type(mf) ~= "number" or mf <= 0 or (math.type(mf) == "float" and mf > 1)) then
    fail(fmt("%s: min_frequency must be an integer count >= 1 or a fraction in (0, 1], got %s", fn, checks.show(mf)))
  end
  if self.max_categories ~= nil then checks.integer(fn, "max_categories", self.max_categories, 1) end
  checks.one_of(fn, "dtype", self.dtype, { "float64", "float32" })
end

-- scikit-learn's _identify_infrequent: the positions (1-based) of the infrequent categories, or nil.
local function infrequent_of(self, counts, n)
  local k = #counts
  local mask = {}
  for i = 1, k do mask[i] = false end
  local mf = self.min_frequency
  if mf ~= nil then
    local limit = math.type(mf) == "integer" and mf or mf * n
    for i = 1, k do mask[i] = counts[i] < limit end
  end
  local ninf = 0
  for i = 1, k do if mask[i] then ninf = ninf + 1 end end
  local current = k - ninf + 1
  local maxc = self.max_categories
  if maxc ~= nil and maxc < current then
    local keep = maxc - 1
    if keep == 0 then
      for i = 1, k do mask[i] = true end
    else
      local order = {}
      for i = 1, k do order[i] = i end
      table.sort(order, function(a, b) -- stable: by count, then position (mergesort's order)
        if counts[a] ~= counts[b] then return counts[a] < counts[b] end
        return a < b
      end)
      for r = 1, k - keep do mask[order[r]] = true end
    end
  end
  local out = {}
  for i = 1, k do if mask[i] then out[#out + 1] = i end end
  return #out > 0 and out or nil
end

function OneHotEncoder:_fit(cols, _, fn)
  local n = #cols > 0 and cols[1].values:size(1) or 0
  self.categories_, self.infrequent_categories_, self.drop_idx_ = {}, {}, {}
  self.category_kinds_ = {}
  local counts_of = {}
  for j, c in ipairs(cols) do
    local cats, counts, kind = distinct(fn, c)
    if self.categories ~= "auto" then
      local given = given_categories(fn, self.categories, j, c.kind)
      -- every value seen must be among the given categories (scikit-learn refuses the rest)
      local known = {}
      for _, v in ipairs(given) do known[v] = true end
      for _, v in ipairs(cats) do
        if not known[v] and not (v ~= v) then
          fail(fmt("%s: column %d ('%s') has the value %s, which is not among the given categories", fn, j, c.name, tostring(v)))
        end
      end
      local count_of = {}
      for i, v in ipairs(cats) do count_of[v] = counts[i] end
      cats, counts = given, {}
      for i, v in ipairs(cats) do counts[i] = count_of[v] or 0 end
    end
    self.categories_[j] = cats
    self.category_kinds_[j] = kind
    counts_of[j] = counts
    local inf = (self.min_frequency ~= nil or self.max_categories ~= nil) and infrequent_of(self, counts, n) or nil
    self.infrequent_categories_[j] = inf or {}
  end
  -- the output columns of each feature: frequent categories in order, then the infrequent bucket
  self.column_map_ = {}
  for j, cats in ipairs(self.categories_) do
    local inf = {}
    for _, i in ipairs(self.infrequent_categories_[j]) do inf[i] = true end
    local map, ncol = {}, 0
    for i = 1, #cats do
      if not inf[i] then ncol = ncol + 1; map[i] = ncol end
    end
    local bucket = #self.infrequent_categories_[j] > 0 and ncol + 1 or nil
    if bucket then
      ncol = ncol + 1
      for i in pairs(inf) do map[i] = bucket end
    end
    -- drop: the first output column, or (if_binary) the first of exactly two
    local drop = 0
    if self.drop == "first" or (self.drop == "if_binary" and ncol == 2) then drop = 1 end
    self.drop_idx_[j] = drop
    self.column_map_[j] = { map = map, ncol = ncol, bucket = bucket or 0 }
  end
end

-- The output column (within feature j, 1-based; 0 = none) of each row; int64 [n].
function OneHotEncoder:_columns_of(fn, j, c)
  local cm = self.column_map_[j]
  local pos = positions(c, self.categories_[j])
  local unknown = pos:eq(0)
  if unknown:sum():item() > 0 then
    local hu = self.handle_unknown
    if hu == "error" then
      local i, v = first_unknown(c, pos)
      fail(fmt("%s: column '%s' has the unknown category %s (row %d); known: %d categories (use handle_unknown = 'ignore' or 'infrequent_if_exist')",
        fn, c.name, type(v) == "string" and ("'" .. v .. "'") or tostring(v), i, #self.categories_[j]))
    end
  end
  local lut = { 0 }
  for i = 1, #self.categories_[j] do lut[i + 1] = cm.map[i] end
  if self.handle_unknown == "infrequent_if_exist" and cm.bucket > 0 then lut[1] = cm.bucket end
  local drop = self.drop_idx_[j]
  if drop > 0 then
    for i = 1, #lut do
      local col = lut[i]
      if col == drop then lut[i] = 0 elseif col > drop then lut[i] = col - 1 end
    end
  end
  return ml.tensor(lut, { dtype = "int64" }):index_select(1, pos:add(1)), cm.ncol - (drop > 0 and 1 or 0)
end

function OneHotEncoder:_transform(cols, fn)
  local parts = {}
  local n = #cols > 0 and cols[1].values:size(1) or 0
  for j, c in ipairs(cols) do
    if is_text(c.kind) ~= (self.category_kinds_[j] == "string") then
      fail(fmt("%s: column '%s' holds %s values, but it held %ss at fit", fn, c.name, c.kind, self.category_kinds_[j]))
    end
    local idx, width = self:_columns_of(fn, j, c)
    if width > 0 then
      -- row 1 of [zeros; eye] is the all-zero row of "no column"
      local table_ = ml.cat({ ml.zeros(1, width, { dtype = self.dtype }), ml.eye(width, width, { dtype = self.dtype }) }, 1)
      parts[#parts + 1] = table_:index_select(1, idx:add(1))
    end
  end
  if #parts == 0 then return ml.zeros(n, 0, { dtype = self.dtype }) end
  if #parts == 1 then return parts[1] end
  return ml.cat(parts, 2)
end

-- One-hot rows back to categories: a float64 tensor for numeric columns, a
-- frame when some column held strings. An all-zero block is the dropped
-- category, or missing (unknown at transform); the infrequent bucket has no
-- single category to go back to.
function OneHotEncoder:_inverse(X, fn)
  X = base.float_matrix(fn, X)
  local widths, total = {}, 0
  for j, cm in ipairs(self.column_map_) do
    if cm.bucket > 0 then fail(fmt("%s: column %d has an infrequent bucket, which has no single category to invert to", fn, j)) end
    widths[j] = cm.ncol - (self.drop_idx_[j] > 0 and 1 or 0)
    total = total + widths[j]
  end
  if X:size(2) ~= total then fail(fmt("%s: X has %d columns, expected %d (the encoder's output width)", fn, X:size(2), total)) end
  local n, off, cols, any_text = X:size(1), 0, {}, false
  for j, cats in ipairs(self.categories_) do
    local w, drop = widths[j], self.drop_idx_[j]
    -- output column c of the block -> category position (the map is the identity without a bucket)
    local lut = {}
    for c = 1, w do lut[c] = (drop > 0 and c >= drop) and c + 1 or c end
    local pos
    if w > 0 then
      local block = X:narrow(2, off + 1, w)
      local _, arg = block:max(2)
      pos = ml.tensor(lut, { dtype = "int64" }):index_select(1, arg)
      pos = pos:masked_fill(block:sum(2):eq(0), drop > 0 and drop or 0)
    else
      pos = ml.full({ n }, drop, { dtype = "int64" })
    end
    cols[j] = pos
    any_text = any_text or self.category_kinds_[j] == "string"
    off = off + w
  end
  if not any_text then
    local parts = {}
    for j, pos in ipairs(cols) do
      local cats = ml.tensor(self.categories_[j], { dtype = "float64" })
      parts[j] = ml.cat({ ml.full({ 1 }, 0 / 0, { dtype = "float64" }), cats }):index_select(1, pos:add(1)):reshape(n, 1)
    end
    return #parts == 1 and parts[1] or ml.cat(parts, 2)
  end
  local data = require "moonlab.data"
  local names, out = {}, {}
  for j, pos in ipairs(cols) do
    local name = self.feature_names_in_ and self.feature_names_in_[j] or ("x" .. j)
    names[j] = name
    if self.category_kinds_[j] == "string" then
      local _, pool = ml._strings.from_list(self.categories_[j])
      out[name] = data.Column.new("string", pos, nil, pool)
    else
      local cats = ml.tensor(self.categories_[j], { dtype = "float64" })
      out[name] = data.Column.new("float64", ml.cat({ ml.full({ 1 }, 0 / 0, { dtype = "float64" }), cats }):index_select(1, pos:add(1)))
    end
  end
  return data.DataFrame.from_columns(names, out)
end

local python_float_repr -- below

-- A category as scikit-learn names it: 'red', 3 (integer columns), 3.0 or 2.5 (float columns), nan.
local function cat_name(v, kind)
  if type(v) ~= "number" then return tostring(v) end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
  if kind == "integer" and v == math.floor(v) and math.abs(v) < 2 ^ 63 then return tostring(math.tointeger(v)) end
  return python_float_repr(v)
end

--- Python's repr of a finite float (numpy's str of a float64): the shortest digits that
-- read back to v, fixed notation for decimal exponents -4 .. 15 ('0.1', '3.0'), else
-- scientific with a two-digit exponent ('1e-05', '1e+20', '1.5e+16').
function python_float_repr(v)
  local s
  for p = 1, 17 do
    s = string.format("%." .. (p - 1) .. "e", v)
    if tonumber(s) == v then break end
  end
  local sign, int, frac, exp = s:match("^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (int .. frac):gsub("0+$", "")
  if digits == "" then digits = "0" end
  local e = tonumber(exp)
  if e < -4 or e >= 16 then
    local m = digits:sub(1, 1) .. (#digits > 1 and ("." .. digits:sub(2)) or "")
    return string.format("%s%se%s%02d", sign, m, e < 0 and "-" or "+", math.abs(e))
  end
  local out
  if e < 0 then out = "0." .. string.rep("0", -e - 1) .. digits
  elseif #digits <= e + 1 then out = digits .. string.rep("0", e + 1 - #digits) .. ".0"
  else out = digits:sub(1, e + 1) .. "." .. digits:sub(e + 2) end
  return sign .. out
end

function OneHotEncoder:_feature_names(input)
  input = input or self.feature_names_in_
  local out = {}
  for j, cats in ipairs(self.categories_) do
    local prefix = input and input[j] or ("x" .. j)
    local cm, drop = self.column_map_[j], self.drop_idx_[j]
    local names = {}
    for i, v in ipairs(cats) do
      local col = cm.map[i]
      if col ~= cm.bucket then names[col] = prefix .. "_" .. cat_name(v, self.category_kinds_[j]) end
    end
    if cm.bucket > 0 then names[cm.bucket] = prefix .. "_infrequent_sklearn" end
    for col = 1, cm.ncol do
      if col ~= drop then out[#out + 1] = names[col] end
    end
  end
  return out
end
-- String categories saved as JSON: "nan", "inf" and "-inf" come back as numbers; make them strings again.
local function restore_string_categories(self)
  for j, kind in ipairs(self.category_kinds_ or {}) do
    local cats = self.categories_ and self.categories_[j]
    if kind == "string" and type(cats) == "table" then
      for i, v in ipairs(cats) do cats[i] = base.as_saved_string(v) end
    end
  end
end

function OneHotEncoder:load_persist_state(st)
  base.Transformer.load_persist_state(self, st)
  restore_string_categories(self)
end
M.OneHotEncoder = OneHotEncoder

-- ---- OrdinalEncoder -------------------------------------------------------------------------

local OrdinalEncoder = base.define("prep.OrdinalEncoder",
  "prep.OrdinalEncoder([{categories='auto', handle_unknown='error', unknown_value, dtype='float64'}]) — each "
  .. "category to its 0-based position among the sorted categories (scikit-learn's values); unknown ones raise or "
  .. "become unknown_value ('use_encoded_value'); missing stays NaN; fitted: categories_",
  { { "categories", "auto" }, { "handle_unknown", "error" }, { "unknown_value", nil, nan = true }, { "dtype", "float64" } })
OrdinalEncoder.INPUT = "columns"

function OrdinalEncoder:_check(fn)
  if self.categories ~= "auto" and type(self.categories) ~= "table" then
    fail(fmt("%s: categories must be 'auto' or a list of lists of values, got %s", fn, checks.show(self.categories)))
  end
  checks.one_of(fn, "handle_unknown", self.handle_unknown, { "error", "use_encoded_value" })
  if self.handle_unknown == "use_encoded_value" and type(self.unknown_value) ~= "number" then
    fail(fn .. ": handle_unknown = 'use_encoded_value' needs unknown_value (an integer, or 0/0 for NaN)")
  end
  if self.handle_unknown == "error" and self.unknown_value ~= nil then
    fail(fn .. ": unknown_value is used only with handle_unknown = 'use_encoded_value'")
  end
  checks.one_of(fn, "dtype", self.dtype, { "float64", "float32" })
end

function OrdinalEncoder:_fit(cols, _, fn)
  self.categories_, self.category_kinds_ = {}, {}
  for j, c in ipairs(cols) do
    local cats, _, kind = distinct(fn, c)
    if self.categories ~= "auto" then cats = given_categories(fn, self.categories, j, c.kind) end
    -- NaN is not a category here: it stays missing (scikit-learn's encoded_missing_value)
    if kind ~= "string" and #cats > 0 and cats[#cats] ~= cats[#cats] then cats[#cats] = nil end
    if self.handle_unknown == "use_encoded_value" and self.unknown_value == self.unknown_value
      and self.unknown_value >= 0 and self.unknown_value < #cats then
      fail(fmt("%s: unknown_value %g is one of the codes of column '%s' (0 .. %d); choose a negative value or 0/0",
        fn, self.unknown_value, c.name, #cats - 1))
    end
    self.categories_[j], self.category_kinds_[j] = cats, kind
  end
end

function OrdinalEncoder:_transform(cols, fn)
  local parts = {}
  for j, c in ipairs(cols) do
    local pos = positions(c, self.categories_[j])
    local missing = is_text(c.kind) and c.values:eq(0) or base.col_as_float(c):isnan()
    local unknown = pos:masked_fill(missing, 1):eq(0)
    if unknown:sum():item() > 0 and self.handle_unknown == "error" then
      local i, v = first_unknown(c, pos:masked_fill(missing, 1))
      fail(fmt("%s: column '%s' has the unknown category %s (row %d) (use handle_unknown = 'use_encoded_value')",
        fn, c.name, type(v) == "string" and ("'" .. v .. "'") or tostring(v), i))
    end
    local v = pos:to(self.dtype):sub(1)
    if self.handle_unknown == "use_encoded_value" then v = v:masked_fill(unknown, self.unknown_value) end
    parts[j] = v:masked_fill(missing, 0 / 0):reshape(v:size(1), 1)
  end
  return #parts == 1 and parts[1] or ml.cat(parts, 2)
end

function OrdinalEncoder:_inverse(X, fn)
  X = base.float_matrix(fn, X)
  base.check_width(self, fn, X:size(2))
  local data = require "moonlab.data"
  local names, out = {}, {}
  for j, cats in ipairs(self.categories_) do
    local name = self.feature_names_in_ and self.feature_names_in_[j] or ("x" .. j)
    names[j] = name
    local list = {}
    local v = X:select(2, j):tolist()
    for i, code in ipairs(v) do list[i] = code == code and cats[math.tointeger(code) + 1] or nil end
    out[name] = data.Column.from_list(list, #v, self.category_kinds_[j] == "string" and "string" or "float64")
  end
  return data.DataFrame.from_columns(names, out)
end
function OrdinalEncoder:load_persist_state(st)
  base.Transformer.load_persist_state(self, st)
  restore_string_categories(self)
end
M.OrdinalEncoder = OrdinalEncoder

-- ---- LabelEncoder ---------------------------------------------------------------------------

local LabelEncoder = base.define("prep.LabelEncoder",
  "prep.LabelEncoder() — class labels (numbers or strings: a tensor, a list or a string column) to moonlab's "
  .. "1-based classes 1..K and back (inverse_transform); fitted: classes_ (sorted)", {})

-- y as {kind = "number" | "string", list = Lua values} (no missing labels).
local function labels_of(fn, y)
  if ml.is_tensor(y) then
    if y:dim() ~= 1 then
      if y:dim() == 2 and y:size(2) == 1 then y = y:reshape(y:size(1)) else fail(fmt("%s: y must be 1-D, got a %d-D tensor", fn, y:dim())) end
    end
    if y:dtype() == "int64" then return "number", y end -- kept exact (IDs beyond 2^53)
    return "number", y:to("float64")
  end
  if type(y) == "table" and getmetatable(y) ~= nil and y.kind and y.values then -- a data.Column
    if is_text(y.kind) then
      if y.values:eq(0):sum():item() > 0 then fail(fn .. ": y has missing labels") end
      return "string", y
    end
    return "number", base.col_as_float(y)
  end
  if type(y) ~= "table" then fail(fmt("%s: y must be a tensor, a list of labels or a string column, got %s", fn, type(y))) end
  local n = y.n or #y
  if n == 0 then fail(fn .. ": y is empty") end
  local kind = type(y[1])
  if kind ~= "number" and kind ~= "string" then fail(fmt("%s: label 1 is a %s, expected numbers or strings", fn, kind)) end
  for i = 1, n do
    if type(y[i]) ~= kind then fail(fmt("%s: label %d is a %s, but label 1 is a %s", fn, i, type(y[i]), kind)) end
  end
  if kind == "number" then return "number", ml.tensor(y, { dtype = "float64" }) end
  local codes, pool = ml._strings.from_list(y, n)
  return "string", { kind = "string", values = codes, pool = pool }
end

function LabelEncoder:fit(y)
  local fn = "prep.LabelEncoder:fit"
  self._fitted = nil
  local kind, v = labels_of(fn, y)
  if kind == "number" then
    if v:dtype() == "int64" then
      -- int64 labels: classes_ stays int64, as scikit-learn's (exact for any int64)
      local col = { kind = "int64", values = v:contiguous() }
      if big_int64(col) then
        local cats = distinct_int64(col)
        self.classes_ = ml.tensor(cats, { dtype = "int64" })
      else
        self.classes_ = K.unique(v:to("float64")):to("int64")
      end
    else
      if v:isnan():sum():item() > 0 then fail(fn .. ": y has missing labels (NaN)") end
      self.classes_ = K.unique(v)
    end
  else
    self.classes_ = (distinct(fn, { name = "y", kind = "string", values = v.values, pool = v.pool }))
  end
  self.label_kind_ = kind
  self._fitted = true
  return self
end

function LabelEncoder:transform(y)
  local fn = "prep.LabelEncoder:transform"
  self:check_fitted(fn)
  local kind, v = labels_of(fn, y)
  if kind ~= self.label_kind_ then fail(fmt("%s: y holds %ss, but the labels seen by fit were %ss", fn, kind, self.label_kind_)) end
  local pos
  if kind == "number" and (v:dtype() == "int64" or self.classes_:dtype() == "int64") then
    local cats = self.classes_:tolist()
    pos = positions({ kind = "int64", values = v:to("int64"):contiguous() }, cats)
    if v:dtype() ~= "int64" then -- float labels against int64 classes: only whole numbers can match
      pos = pos:masked_fill(v:remainder(1):ne(0), 0)
    end
  elseif kind == "number" then pos = K.lookup(v, self.classes_:to("float64"))
  else pos = positions({ kind = "string", values = v.values, pool = v.pool }, self.classes_) end
  if pos:eq(0):sum():item() > 0 then
    local i = pos:eq(0):to("int64"):argmax():item()
    local bad = kind == "number" and v[i] or v.pool:get(v.values[i])
    fail(fmt("%s: y contains the label %s (position %d), which fit did not see", fn, kind == "string" and ("'" .. bad .. "'") or tostring(bad), i))
  end
  return pos
end

function LabelEncoder:fit_transform(y) return self:fit(y):transform(y) end

function LabelEncoder:inverse_transform(idx)
  local fn = "prep.LabelEncoder:inverse_transform"
  self:check_fitted(fn)
  if not ml.is_tensor(idx) then idx = ml.tensor(idx, { dtype = "int64" }) end
  idx = idx:to("int64"):reshape(idx:numel())
  local k = self.label_kind_ == "number" and self.classes_:size(1) or #self.classes_
  if idx:numel() > 0 and (idx:min():item() < 1 or idx:max():item() > k) then
    fail(fmt("%s: class indices must be in 1..%d, got %d .. %d", fn, k, idx:min():item(), idx:max():item()))
  end
  if self.label_kind_ == "number" then return self.classes_:index_select(1, idx) end
  local out = {}
  for i, c in ipairs(idx:tolist()) do out[i] = self.classes_[c] end
  return out
end
function LabelEncoder:load_persist_state(st)
  base.Transformer.load_persist_state(self, st)
  if self.label_kind_ == "string" and type(self.classes_) == "table" and not ml.is_tensor(self.classes_) then
    for i, v in ipairs(self.classes_) do self.classes_[i] = base.as_saved_string(v) end
  end
end
M.LabelEncoder = LabelEncoder

do
  local doc = ml.doc
  doc(OneHotEncoder.get_feature_names_out, "enc:get_feature_names_out([input_names]) -> list — 'name_category' per output column")
  doc(OneHotEncoder.load_persist_state, "enc:load_persist_state(state) — restores the fitted categories (string ones 'nan'/'inf' stay strings)")
  doc(OrdinalEncoder.load_persist_state, "enc:load_persist_state(state) — restores the fitted categories (string ones 'nan'/'inf' stay strings)")
  doc(LabelEncoder.load_persist_state, "le:load_persist_state(state) — restores classes_ (string labels 'nan'/'inf' stay strings)")
  doc(LabelEncoder.fit, "le:fit(y) -> le — learns the sorted distinct labels (classes_)")
  doc(LabelEncoder.transform, "le:transform(y) -> int64 tensor — each label's class 1..K; an unseen label is an error")
  doc(LabelEncoder.fit_transform, "le:fit_transform(y) -> int64 tensor — fit then transform")
  doc(LabelEncoder.inverse_transform, "le:inverse_transform(classes) -> tensor | list — classes 1..K back to the labels")
end

return M
