--- prep/base.lua: prep.Transformer, the base of every transformer in ml.prep
-- (scikit-learn's fit/transform contract on core/class).
--
-- A transformer class is made with base.define(name, doc, params), where
-- params is the ordered list of its options {{"with_mean", true}, ...}; it
-- (an option that may be NaN is marked {"name", default, nan = true}); it
-- then defines some of
--   self:_fit(X, y, fn)          X adapted by self:_input (a matrix, or columns)
--   self:_transform(X, fn)       -> tensor (or frame)
--   self:_inverse(X, fn)         -> tensor (inverse_transform)
--   self:_check()                validates the options (constructor and set_params)
-- and says which input it wants: cls.INPUT = "matrix" (a float tensor [n, d],
-- the default), "columns" (a list of base.Col, for string, category and date
-- columns of frames) or "any" (a frame as it is, else a float matrix). Fitted attributes are fields ending in "_" (mean_,
-- categories_); persist_state saves all of them (tensors as tensors, lists of
-- tensors as name.1, name.2 ..., the rest as JSON settings).
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local base = {}

local Transformer = class.Object:extend("prep.Transformer",
  "prep.Transformer — the base of ml.prep's transformers: fit(X, [y]), transform(X), fit_transform(X, [y]), "
  .. "inverse_transform, get_params/set_params; X a tensor, a data frame or a list of rows")
base.Transformer = Transformer
Transformer.INPUT = "matrix"
Transformer.PARAMS = {}

-- ---- inputs ---------------------------------------------------------------------------

local function data_module() return require "moonlab.data" end

--- base.is_frame(x) -> whether x is a data frame
function base.is_frame(x)
  if type(x) ~= "table" or ml.is_tensor(x) then return false end
  local ok, data = pcall(data_module)
  return ok and data.DataFrame and data.DataFrame.is(x) or false
end

local function describe(x)
  if ml.is_tensor(x) then return fmt("a %d-D %s tensor", x:dim(), x:dtype()) end
  if base.is_frame(x) then return "a data frame" end
  return type(x)
end
base.describe = describe

--- base.from_rows(fn, rows) -> a float64 tensor (rows of numbers) or a data frame (rows of named fields)
function base.from_rows(fn, rows)
  if #rows == 0 then fail(fn .. ": X is an empty list of rows") end
  local first = rows[1]
  if type(first) ~= "table" then fail(fmt("%s: X must be a tensor, a data frame or a list of rows; row 1 is a %s", fn, type(first))) end
  if #first == 0 and next(first) ~= nil then return data_module().DataFrame(rows) end
  local w = #first
  for i, r in ipairs(rows) do
    if type(r) ~= "table" or #r ~= w then
      fail(fmt("%s: row %d has %s values, expected %d (as row 1)", fn, i, type(r) == "table" and #r or type(r), w))
    end
  end
  return ml.tensor(rows, { dtype = "float64" })
end

-- X as a tensor, a frame, or nil when it is neither (rows become one of them).
local function normalize(fn, X)
  if ml.is_tensor(X) or base.is_frame(X) then return X end
  if type(X) == "table" and getmetatable(X) == nil then return base.from_rows(fn, X) end
  fail(fmt("%s: X must be a tensor, a data frame or a list of rows, got %s", fn, describe(X)))
end
base.normalize = normalize

--- base.float_matrix(fn, t) -> t as a 2-D float tensor (1-D is one column; int64 and bool become float64)
function base.float_matrix(fn, t)
  if t:dim() == 1 then t = t:reshape(t:size(1), 1) end
  if t:dim() ~= 2 then fail(fmt("%s: X must be a 2-D matrix [rows, features], got a %d-D tensor", fn, t:dim())) end
  local dt = t:dtype()
  if dt ~= "float32" and dt ~= "float64" then t = t:to("float64") end
  return t
end

--- base.Col: one input column {name, kind, values (1-D tensor), pool (strings), valid}
-- kinds are the frame's ("float64", "string", "date" ...) or "float64"/"float32" for a tensor's columns

--- base.columns(fn, X) -> list of base.Col: a frame's columns, or a matrix's columns (named x1, x2 ...)
function base.columns(fn, X)
  local out = {}
  if base.is_frame(X) then
    for i, name in ipairs(X._names) do
      local c = X._cols[name]
      out[i] = { name = name, kind = c.kind, values = c.values, pool = c.pool, valid = c.valid, column = c }
    end
    return out
  end
  if X:dim() == 1 then X = X:reshape(X:size(1), 1) end
  if X:dim() ~= 2 then fail(fmt("%s: X must be a 2-D matrix [rows, features], got a %d-D tensor", fn, X:dim())) end
  local dt = X:dtype()
  for j = 1, X:size(2) do
    local v = X:select(2, j)
    out[j] = { name = "x" .. j, kind = dt == "float32" and "float64" or dt, values = dt == "float32" and v:to("float64") or v }
  end
  return out
end

--- base.col_as_float(c) -> the column's values as float64 with missing cells NaN (numeric kinds)
function base.col_as_float(c)
  local v = c.values:to("float64")
  if c.valid then v = v:masked_fill(c.valid:eq(false), 0 / 0) end
  return v
end

-- ---- the not-fitted and width checks -----------------------------------------------------

--- t:check_fitted(fn): an error when fit has not run
function Transformer:check_fitted(fn)
  if not rawget(self, "_fitted") then
    fail(fmt("%s: this %s is not fitted yet; call fit(X) first", fn, self.__name))
  end
end

-- Records what fit saw (width, frame column names) or checks the same at transform.
function Transformer:_check_input(fn, X, fitting)
  if fitting then
    self.n_features_in_ = nil
    self.feature_names_in_ = nil
  end
  local names
  if base.is_frame(X) then names = X._names end
  if fitting then
    self.feature_names_in_ = names and table.move(names, 1, #names, 1, {}) or nil
    return X
  end
  local want = self.feature_names_in_
  if want and names then
    -- a frame: the fitted columns by name, in the fitted order (extra columns are ignored)
    for _, name in ipairs(want) do
      if not X:has_column(name) then
        local hint = checks.suggest(name, names)
        fail(fmt("%s: X lacks the column '%s' seen by fit%s", fn, name, hint and fmt(" (did you mean '%s'?)", hint) or ""))
      end
    end
    return X:select(want)
  end
  return X
end

-- The width check: the columns of what came against those seen by fit.
local function check_width(self, fn, d, fitting)
  if fitting then self.n_features_in_ = d return end
  if d ~= self.n_features_in_ then
    fail(fmt("%s: X has %d column%s, expected %d (the width seen by fit)", fn, d, d == 1 and "" or "s", self.n_features_in_))
  end
end
base.check_width = check_width

--- t:_input(fn, X, fitting) -> what _fit/_transform take: a float matrix or a list of base.Col
function Transformer:_input(fn, X, fitting)
  X = normalize(fn, X)
  X = self:_check_input(fn, X, fitting)
  if self.INPUT == "any" and base.is_frame(X) then
    check_width(self, fn, #X._names, fitting)
    return X
  end
  if self.INPUT == "columns" then
    local cols = base.columns(fn, X)
    check_width(self, fn, #cols, fitting)
    return cols
  end
  if base.is_frame(X) then
    for _, name in ipairs(X._names) do
      local k = X._cols[name].kind
      if k ~= "float64" and k ~= "int64" and k ~= "bool" then
        fail(fmt("%s: column '%s' holds %ss; %s takes numeric columns (select them, or use a ColumnTransformer)",
          fn, name, k, self.__name))
      end
    end
    if #X._names == 0 then fail(fn .. ": the frame has no columns") end
    X = X:to_tensor()
  end
  X = base.float_matrix(fn, X)
  if fitting and X:size(2) == 0 then fail(fmt("%s: X has no columns ([%d, 0]); fit needs at least one feature", fn, X:size(1))) end
  check_width(self, fn, X:size(2), fitting)
  return X
end

-- ---- fit / transform -----------------------------------------------------------------------

--- t:fit(X, [y]) -> t: learns the transformer's parameters from X
function Transformer:fit(X, y)
  local fn = self.__name .. ":fit"
  if X == nil then fail(fn .. ": expected X (a tensor, a data frame or a list of rows), got nil") end
  self._fitted = nil
  local input = self:_input(fn, X, true)
  local rows = ml.is_tensor(input) and input:size(1) or (base.is_frame(input) and #input) or (input[1] and input[1].values:size(1))
  if rows == 0 then fail(fn .. ": X has no rows; fit needs at least one") end
  self:_fit(input, y, fn)
  self._fitted = true
  return self
end

--- t:transform(X) -> the transformed X (a tensor)
function Transformer:transform(X)
  local fn = self.__name .. ":transform"
  self:check_fitted(fn)
  return self:_transform(self:_input(fn, X, false), fn)
end

--- t:fit_transform(X, [y]) -> fit(X, y), then transform(X)
function Transformer:fit_transform(X, y)
  self:fit(X, y)
  return self:transform(X)
end

--- t:inverse_transform(X) -> X mapped back to the original space (where the transformer has an inverse)
function Transformer:inverse_transform(X)
  local fn = self.__name .. ":inverse_transform"
  if not self._inverse then fail(fmt("%s: %s has no inverse_transform", fn, self.__name)) end
  self:check_fitted(fn)
  X = normalize(fn, X)
  if base.is_frame(X) then X = X:to_tensor() end
  return self:_inverse(X, fn)
end

--- t:get_feature_names_out([input_names]) -> the output column names
function Transformer:get_feature_names_out(input)
  self:check_fitted(self.__name .. ":get_feature_names_out")
  if self._feature_names then return self:_feature_names(input) end
  input = input or self.feature_names_in_
  local out = {}
  for j = 1, self.n_features_in_ do out[j] = input and input[j] or ("x" .. j) end
  return out
end

-- ---- options ---------------------------------------------------------------------------

local function param_names(cls)
  local names = {}
  for i, p in ipairs(cls.PARAMS) do names[i] = p[1] end
  return names
end

function Transformer:init(opts)
  local fn = self.__name
  opts = checks.options(fn, opts, param_names(self))
  for _, p in ipairs(self.PARAMS) do
    local v = opts[p[1]]
    if v == nil then v = p[2] end
    if v == "nan" and p.nan then v = 0 / 0 end -- a NaN option as saved (JSON has no NaN)
    self[p[1]] = v
  end
  if self._check then self:_check(fn) end
end

--- t:get_params() -> {option = value}: the options the transformer was made with (or set)
function Transformer:get_params()
  local out = {}
  for _, p in ipairs(self.PARAMS) do out[p[1]] = self[p[1]] end
  return out
end

--- t:set_params{option = value} -> t: changes options (the fitted state is dropped)
function Transformer:set_params(opts)
  local fn = self.__name .. ":set_params"
  opts = checks.options(fn, opts, param_names(self))
  local old = self:get_params()
  for k, v in pairs(opts) do self[k] = v end
  if self._check then
    local ok, err = pcall(self._check, self, fn)
    if not ok then
      for k, v in pairs(old) do self[k] = v end
      checks.reraise(err)
    end
  end
  self._fitted = nil
  return self
end

-- core/persist rebuilds from the current options, not from the constructor's first ones.
function Transformer:constructor_args()
  local params = self:get_params()
  for _, p in ipairs(self.PARAMS) do
    local v = params[p[1]]
    if p.nan and type(v) == "number" and v ~= v then params[p[1]] = "nan" end
  end
  return table.pack(params)
end

function Transformer:extra_repr()
  local parts = {}
  for _, p in ipairs(self.PARAMS) do
    local v = self[p[1]]
    local both_nan = type(v) == "number" and v ~= v and type(p[2]) == "number" and p[2] ~= p[2]
    if v ~= p[2] and not both_nan and type(v) ~= "table" and type(v) ~= "function" then
      parts[#parts + 1] = p[1] .. "=" .. ((type(v) == "number" and v ~= v) and "nan" or tostring(v))
    end
  end
  return table.concat(parts, ", ")
end

-- ---- persistence ----------------------------------------------------------------------------

-- Fitted fields: names ending in "_" (and not starting with "_").
local function fitted_fields(self)
  local names = {}
  for k in pairs(self) do
    if type(k) == "string" and k:sub(-1) == "_" and k:sub(1, 1) ~= "_" then names[#names + 1] = k end
  end
  table.sort(names)
  return names
end

local function is_tensor_list(v)
  if type(v) ~= "table" or #v == 0 then return false end
  for _, x in ipairs(v) do if not ml.is_tensor(x) then return false end end
  return true
end

--- t:persist_state() -> {tensors, settings}: the fitted attributes (core/persist)
function Transformer:persist_state()
  local tensors, settings = {}, { fitted = rawget(self, "_fitted") == true, lists = {}, values = {} }
  for _, k in ipairs(fitted_fields(self)) do
    local v = self[k]
    if ml.is_tensor(v) then tensors[k] = v:contiguous()
    elseif is_tensor_list(v) then
      settings.lists[k] = #v
      for i, t in ipairs(v) do tensors[k .. "." .. i] = t:contiguous() end
    else settings.values[k] = v end
  end
  if self._extra_state then self:_extra_state(tensors, settings) end
  return { tensors = tensors, settings = settings }
end

--- t:load_persist_state(state): restores what persist_state saved
function Transformer:load_persist_state(st)
  local s = st.settings or {}
  for k, v in pairs(s.values or {}) do self[k] = v end
  for k, n in pairs(s.lists or {}) do
    local list = {}
    for i = 1, n do
      list[i] = st.tensors[k .. "." .. i]
      if not list[i] then error(fmt("the tensor '%s.%d' is missing", k, i), 0) end
    end
    self[k] = list
  end
  for k, t in pairs(st.tensors or {}) do
    if not k:find("%.%d+$") and k:sub(-1) == "_" then self[k] = t end
  end
  if type(self.feature_names_in_) == "table" then -- a column named "nan" or "inf" comes back from JSON as a number
    for i, v in ipairs(self.feature_names_in_) do self.feature_names_in_[i] = base.as_saved_string(v) end
  end
  if self._load_extra_state then self:_load_extra_state(st) end
  self._fitted = s.fitted or nil
end

--- t:save(path) / prep.load(path): one file through core/persist
function Transformer:save(path)
  require("moonlab.core.persist").save(path, self)
end

-- ---- defining transformers ------------------------------------------------------------------

--- base.define(name, doc, params, [parent=Transformer]) -> a transformer class with those options
function base.define(name, doc, params, parent)
  local cls = (parent or Transformer):extend(name, doc)
  cls.PARAMS = params or {}
  return cls
end

--- base.vec(list_or_tensor) -> a contiguous float64 1-D tensor
function base.vec(v)
  if ml.is_tensor(v) then return v:to("float64"):contiguous() end
  return ml.tensor(v, { dtype = "float64" })
end

--- base.as_saved_string(v) -> v, or the string that core/persist's JSON turned into a number: a string
-- category "nan", "inf" or "-inf" comes back from a saved file as NaN or an infinity.
function base.as_saved_string(v)
  if type(v) ~= "number" then return v end
  if v ~= v then return "nan" elseif v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
  return v
end

--- base.reject_inf(fn, X, stats...): an error naming the first column of X that holds an infinite value,
-- when one of the per-column statistics [d] is infinite (or NaN where the column had values: inf - inf).
-- scikit-learn refuses infinity too; checking the few statistics keeps the full pass off the common path.
function base.reject_inf(fn, X, count, ...)
  local bad = false
  for _, st in ipairs({ ... }) do
    if st:isinf():sum():item() > 0 then bad = true break end
    if count and st:masked_fill(count:eq(0), 0):isnan():sum():item() > 0 then bad = true break end
    if not count and st:dim() == 2 and st:size(1) > 1 then
      -- quantiles [q, d]: NaN in some rows of a column but not all (an all-NaN column has no values)
      local nan = st:isnan():sum(1)
      if nan:gt(0):sum():item() > nan:eq(st:size(1)):sum():item() then bad = true break end
    end
  end
  if not bad then return end
  local cols = X:isinf():sum(1):gt(0):tolist()
  for j, b in ipairs(cols) do
    if b then
      fail(fmt("%s: column %d holds infinite values; expected finite numbers or NaN for missing (replace them, e.g. by NaN, and impute)", fn, j))
    end
  end
end

--- base.call(fn, f, ...) -> f(...); a kernel's error is re-raised under fn at the user's line
function base.call(fn, f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] then fail(fn .. ": " .. tostring(r[2]):gsub("^[^\n]-prep%.%w+: ", "")) end
  return table.unpack(r, 2, r.n)
end

do
  local doc = ml.doc
  doc(Transformer.init, "Transformer:init([opts]) — the constructor: checks the options against the class's PARAMS and sets them")
  doc(Transformer.constructor_args, "t:constructor_args() -> packed table — the current options, what core/persist saves to rebuild t")
  doc(Transformer.extra_repr, "t:extra_repr() -> string — the options that differ from their defaults, for printing")
  doc(Transformer.fit, "t:fit(X, [y]) -> t — learns the transformer's parameters from X (a tensor, a data frame or a list of rows)")
  doc(Transformer.transform, "t:transform(X) -> tensor — applies the fitted transformer; X must have the width seen by fit")
  doc(Transformer.fit_transform, "t:fit_transform(X, [y]) -> tensor — fit then transform")
  doc(Transformer.inverse_transform, "t:inverse_transform(X) -> tensor — maps transformed values back (scalers, encoders)")
  doc(Transformer.get_params, "t:get_params() -> table — the transformer's options")
  doc(Transformer.set_params, "t:set_params{...} -> t — changes options (checked; the fitted state is dropped)")
  doc(Transformer.get_feature_names_out, "t:get_feature_names_out([input_names]) -> list — the names of the output columns")
  doc(Transformer.check_fitted, "t:check_fitted(fn) — an error naming fn when the transformer is not fitted")
  doc(Transformer.persist_state, "t:persist_state() -> {tensors, settings} — the fitted attributes, for core/persist")
  doc(Transformer.load_persist_state, "t:load_persist_state(state) — restores the fitted attributes saved by persist_state")
  doc(Transformer.save, "t:save(path) — writes the fitted transformer to one safetensors file (prep.load reads it)")
  doc(base.define, "base.define(name, doc, params, [parent]) -> class — a transformer class with ordered options {{name, default}, ...}")
  doc(base.columns, "base.columns(fn, X) -> list of {name, kind, values, pool, valid} — a frame's or a matrix's columns")
  doc(base.float_matrix, "base.float_matrix(fn, t) -> 2-D float tensor — 1-D as one column, integers as float64")
  doc(base.from_rows, "base.from_rows(fn, rows) -> tensor | frame — a Lua list of rows (numbers or named fields)")
  doc(base.is_frame, "base.is_frame(x) -> boolean — whether x is a data frame")
  doc(base.col_as_float, "base.col_as_float(col) -> float64 tensor — a numeric column with missing cells as NaN")
  doc(base.vec, "base.vec(v) -> float64 1-D tensor — a list or tensor of per-column parameters")
  doc(base.reject_inf, "base.reject_inf(fn, X, count, stats...) — an error naming X's first infinite column when a fitted statistic is not finite")
  doc(base.as_saved_string, "base.as_saved_string(v) -> v — a string 'nan'/'inf'/'-inf' that a saved file's JSON turned into a number, as a string again")
  doc(base.call, "base.call(fn, f, ...) -> results — a kernel call whose error is raised under fn")
end

return base
