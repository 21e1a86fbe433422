--- prep/compose.lua: prep.Pipeline and prep.ColumnTransformer, scikit-learn's.
--
--   local pre = prep.ColumnTransformer({
--     {"num", prep.Pipeline{prep.SimpleImputer{strategy = "median"}, prep.StandardScaler()}, "number"},
--     {"cat", prep.OneHotEncoder{handle_unknown = "ignore"}, {"embarked", "sex"}},
--   }, {remainder = "drop"})
--   local pipe = prep.Pipeline{{"pre", pre}}
--   local Xtrain = pipe:fit_transform(train_df)     -- fit on the training data only
--   pipe:save("pipe.safetensors"); prep.load("pipe.safetensors"):transform(new_rows)
--
-- A pipeline fitted on a frame records its schema (column names and kinds; and
-- data.schema_of's when that exists) and checks new frames against it before
-- transforming. Column selectors: a list of names, a kind ("number", "string",
-- "category", "text" = string or category, "date", "datetime", "bool",
-- "float64", "int64"), a function(df) -> names, or (tensors) a list of
-- 1-based column numbers. Functions are resolved at fit, and a fitted
-- transformer saves the resolved names.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local base = require "moonlab.prep.base"

local fail, fmt = checks.fail, string.format

local M = {}

-- the base class, public so user transformers can extend it (prep.Transformer:extend("MyStep")) and sit in pipelines
M.Transformer = base.Transformer

local function is_transformer(v)
  return type(v) == "table" and class.name_of(v) ~= nil and type(v.fit) == "function"
end

-- scikit-learn's make_pipeline names: the class name in lower case ("standardscaler").
local function default_name(obj)
  return (class.name_of(obj) or "step"):gsub("^.*%.", ""):lower()
end

-- ---- schema -------------------------------------------------------------------------------

local function schema_of(df)
  local names, kinds = {}, {}
  for i, name in ipairs(df._names) do names[i], kinds[i] = name, df._cols[name].kind end
  return { columns = names, kinds = kinds }
end

--- prep.check_schema(fn, schema, df): an error naming the first missing column or column of another kind
function M.check_schema(fn, schema, df)
  for i, name in ipairs(schema.columns) do
    local c = df._cols[name]
    if not c then
      local hint = checks.suggest(name, df._names)
      fail(fmt("%s: the frame lacks the column '%s' of the training data%s", fn, name, hint and fmt(" (did you mean '%s'?)", hint) or ""))
    end
    local want = schema.kinds[i]
    local numeric = { float64 = true, int64 = true, bool = true }
    local text = { string = true, category = true }
    if c.kind ~= want and not (numeric[c.kind] and numeric[want]) and not (text[c.kind] and text[want]) then
      fail(fmt("%s: column '%s' holds %s values, but it held %s values in the training data", fn, name, c.kind, want))
    end
  end
end

-- ---- Pipeline ---------------------------------------------------------------------------------

local Pipeline = base.Transformer:extend("prep.Pipeline",
  "prep.Pipeline{ {name, step}, ... } or prep.Pipeline{step, ...} — steps applied in order: fit fits each on the "
  .. "output of the previous; transform / predict run them; records and checks the training frame's schema; saves to one file")

function Pipeline:init(steps)
  local fn = "prep.Pipeline"
  if type(steps) ~= "table" or #steps == 0 then fail(fn .. ": expected a list of steps ({name, transformer} or transformers)") end
  self.steps, self.named_steps = {}, {}
  for i, s in ipairs(steps) do
    local name, obj
    if is_transformer(s) then name, obj = default_name(s), s
    elseif type(s) == "table" and type(s[1]) == "string" and (is_transformer(s[2]) or s[2] == "passthrough") then name, obj = s[1], s[2]
    else fail(fmt("%s: step %d must be a transformer or {name, transformer}, got %s", fn, i, checks.show(s))) end
    if self.named_steps[name] then
      if is_transformer(s) then name = name .. "-" .. i
      else fail(fmt("%s: two steps are named '%s'", fn, name)) end
    end
    if i < #steps and obj ~= "passthrough" and type(obj.transform) ~= "function" then
      fail(fmt("%s: step %d ('%s') has no transform; only the last step may be an estimator", fn, i, name))
    end
    self.steps[i] = { name, obj }
    self.named_steps[name] = obj
  end
  self:_take_kind()
end

function Pipeline:constructor_args()
  local list = {}
  for i, s in ipairs(self.steps) do list[i] = { s[1], s[2] } end
  return table.pack(list)
end

function Pipeline:extra_repr()
  local names = {}
  for i, s in ipairs(self.steps) do names[i] = s[1] end
  return table.concat(names, " -> ")
end

--- pipe:step(name) -> the step named name
function Pipeline:step(name)
  local s = self.named_steps[name]
  if s == nil then checks.unknown("prep.Pipeline:step", "step", name, (function()
    local n = {}
    for i, x in ipairs(self.steps) do n[i] = x[1] end
    return n
  end)()) end
  return s
end

local function step_call(fn, name, f, obj, ...)
  local r = table.pack(pcall(f, obj, ...))
  if not r[1] then checks.reraise(r[2]) end
  return table.unpack(r, 2, r.n)
end

function Pipeline:_record_schema(X)
  self.schema_, self.data_schema_ = nil, nil
  if not base.is_frame(X) then return end
  self.schema_ = schema_of(X)
  local data = require "moonlab.data"
  if type(data.schema_of) == "function" then
    local ok, s = pcall(data.schema_of, X)
    if ok and pcall(ml.json.encode, s) then self.data_schema_ = s end
  end
end

function Pipeline:_check_schema(fn, X)
  X = base.normalize(fn, X)
  if base.is_frame(X) and self.schema_ then M.check_schema(fn, self.schema_, X) end
  return X
end

--- pipe:validate(df, [opts]) -> data.validate's result: new rows checked against the training frame's schema
-- (types, ranges, categories seen; data.schema_of), before they are transformed; {raise = true} makes violations an error
function Pipeline:validate(df, opts)
  local fn = "prep.Pipeline:validate"
  self:check_fitted(fn)
  if not self.data_schema_ then
    checks.fail(fn .. ": the pipeline was not fitted on a data frame, so it holds no schema to check against")
  end
  if not base.is_frame(df) then checks.fail(fn .. ": expected a data frame, got " .. (ml.is_tensor(df) and "a tensor" or type(df))) end
  return ml.data.validate(df, self.data_schema_, opts)
end

function Pipeline:fit(X, y, opts)
  local fn = "prep.Pipeline:fit"
  self._fitted = nil
  self.classes_ = nil
  X = base.normalize(fn, X)
  self:_record_schema(X)
  local last = #self.steps
  for i, s in ipairs(self.steps) do
    local obj = s[2]
    if obj ~= "passthrough" then
      if i < last then X = step_call(fn, s[1], obj.fit_transform, obj, X, y)
      elseif opts ~= nil then step_call(fn, s[1], obj.fit, obj, X, y, opts)
      else step_call(fn, s[1], obj.fit, obj, X, y) end
    end
  end
  local final = self.steps[last][2]
  if type(final) == "table" then self.classes_ = final.classes_ end
  self._fitted = true
  return self
end

-- X through every step but the last (or all of them).
function Pipeline:_through(fn, X, upto)
  self:check_fitted(fn)
  X = self:_check_schema(fn, X)
  for i = 1, upto do
    local obj = self.steps[i][2]
    if obj ~= "passthrough" then X = step_call(fn, self.steps[i][1], obj.transform, obj, X) end
  end
  return X
end

function Pipeline:transform(X)
  local fn = "prep.Pipeline:transform"
  local last = self.steps[#self.steps][2]
  if last ~= "passthrough" and type(last.transform) ~= "function" then
    fail(fn .. ": the last step has no transform (it is an estimator: use predict)")
  end
  return self:_through(fn, X, #self.steps)
end

function Pipeline:fit_transform(X, y) return self:fit(X, y):transform(X) end

--- pipe:predict(X) -> the last step's predict on the transformed X
function Pipeline:predict(X)
  local fn = "prep.Pipeline:predict"
  local last = self.steps[#self.steps][2]
  if type(last) ~= "table" or type(last.predict) ~= "function" then fail(fn .. ": the last step has no predict") end
  return step_call(fn, "predict", last.predict, last, self:_through(fn, X, #self.steps - 1))
end

-- ---- the estimator side: a pipeline ending in an estimator is one (predict_proba, score, clone, params) ----

-- The last step's KIND ("classifier" / "regressor"), so model selection treats the pipeline as that estimator.
function Pipeline:_take_kind()
  local last = self.steps[#self.steps][2]
  self.KIND = type(last) == "table" and last.KIND or nil
end

local function final_call(self, fn, method, X, ...)
  local last = self.steps[#self.steps][2]
  if type(last) ~= "table" or type(last[method]) ~= "function" then
    fail(fmt("%s: the last step ('%s') has no %s", fn, self.steps[#self.steps][1], method))
  end
  return step_call(fn, method, last[method], last, self:_through(fn, X, #self.steps - 1), ...)
end

--- pipe:predict_proba(X) -> the last step's class probabilities on the transformed X
function Pipeline:predict_proba(X) return final_call(self, "prep.Pipeline:predict_proba", "predict_proba", X) end

--- pipe:decision_function(X) -> the last step's scores on the transformed X
function Pipeline:decision_function(X) return final_call(self, "prep.Pipeline:decision_function", "decision_function", X) end

--- pipe:has_method(name) -> whether the last step implements name (predict_proba, decision_function ...)
function Pipeline:has_method(name)
  local last = self.steps[#self.steps] and self.steps[#self.steps][2]
  if type(last) ~= "table" then return false end
  if type(last.has_method) == "function" then return last:has_method(name) end
  return type(last[name]) == "function"
end

--- pipe:score(X, y) -> the last step's score (accuracy, R²) on the transformed X
function Pipeline:score(X, y) return final_call(self, "prep.Pipeline:score", "score", X, y) end

local function step_names(self)
  local n = {}
  for i, x in ipairs(self.steps) do n[i] = x[1] end
  return n
end

--- pipe:get_params() -> {steps = {{name, step}, ...}, name = step, name__option = value, ...} (scikit-learn's deep params)
function Pipeline:get_params()
  local out = { steps = {} }
  for i, s in ipairs(self.steps) do
    out.steps[i] = { s[1], s[2] }
    out[s[1]] = s[2]
    if type(s[2]) == "table" and type(s[2].get_params) == "function" then
      for k, v in pairs(s[2]:get_params()) do out[s[1] .. "__" .. k] = v end
    end
  end
  return out
end

--- pipe:set_params{name__option = value, name = new_step} -> pipe: changes step options or replaces steps (unfits)
function Pipeline:set_params(opts)
  local fn = "prep.Pipeline:set_params"
  if type(opts) ~= "table" then fail(fmt("%s: expected a table {step__option = value}, got %s", fn, type(opts))) end
  local per_step = {}
  for k, v in pairs(opts) do
    if type(k) ~= "string" then fail(fmt("%s: option names are strings, got %s", fn, checks.show(k))) end
    local name, opt = k:match("^(.-)__(.+)$")
    if name then
      if self.named_steps[name] == nil then checks.unknown(fn, "step", name, step_names(self)) end
      per_step[name] = per_step[name] or {}
      per_step[name][opt] = v
    elseif self.named_steps[k] ~= nil then
      if not (is_transformer(v) or v == "passthrough") then fail(fmt("%s: step '%s' must be replaced by a transformer or estimator", fn, k)) end
      for _, s in ipairs(self.steps) do if s[1] == k then s[2] = v end end
      self.named_steps[k] = v
    else
      checks.unknown(fn, "parameter", k, step_names(self))
    end
  end
  for name, o in pairs(per_step) do
    local obj = self.named_steps[name]
    if type(obj) ~= "table" or type(obj.set_params) ~= "function" then fail(fmt("%s: step '%s' has no options", fn, name)) end
    obj:set_params(o)
  end
  self:_take_kind()
  self._fitted = nil
  return self
end

-- An unfitted copy of a step: models.clone for what has get_params (a ColumnTransformer by its own
-- clone), else (the text vectorizers, which have no get_params) the object rebuilt from the arguments
-- it was made with (class.args_of), so cross-validation can refit a pipeline of any steps per fold.
local function clone_step(fn, name, obj)
  if type(obj) ~= "table" then return obj end
  if type(obj.get_params) == "function" then return require("moonlab.models.base").clone(obj) end
  local args = class.args_of(obj)
  if args == nil then
    fail(fmt("%s: step '%s' (%s) cannot be cloned: it has no get_params and was not made by a constructor", fn, name,
      class.name_of(obj) or type(obj)))
  end
  return getmetatable(obj)(table.unpack(args, 1, args.n))
end


--- pipe:clone() -> a new, unfitted pipeline with clones of its steps (models.clone)
function Pipeline:clone()
  local list = {}
  for i, s in ipairs(self.steps) do list[i] = { s[1], clone_step("prep.Pipeline:clone", s[1], s[2]) } end
  return getmetatable(self)(list)
end

function Pipeline:inverse_transform(X)
  local fn = "prep.Pipeline:inverse_transform"
  self:check_fitted(fn)
  for i = #self.steps, 1, -1 do
    local obj = self.steps[i][2]
    if obj ~= "passthrough" then
      if type(obj.inverse_transform) ~= "function" then fail(fmt("%s: step '%s' has no inverse_transform", fn, self.steps[i][1])) end
      X = step_call(fn, self.steps[i][1], obj.inverse_transform, obj, X)
    end
  end
  return X
end

function Pipeline:get_feature_names_out(input)
  self:check_fitted("prep.Pipeline:get_feature_names_out")
  local names = input or (self.schema_ and self.schema_.columns)
  for _, s in ipairs(self.steps) do
    local obj = s[2]
    if obj ~= "passthrough" and type(obj.get_feature_names_out) == "function" then names = obj:get_feature_names_out(names) end
  end
  return names
end

function Pipeline:persist_state()
  return { settings = { fitted = rawget(self, "_fitted") == true, schema = self.schema_, data_schema = self.data_schema_ } }
end

function Pipeline:load_persist_state(st)
  local s = st.settings or {}
  self.schema_ = s.schema
  if type(self.schema_) == "table" and type(self.schema_.columns) == "table" then
    for i, v in ipairs(self.schema_.columns) do self.schema_.columns[i] = base.as_saved_string(v) end
  end
  self.data_schema_ = s.data_schema
  self._fitted = s.fitted or nil
  local final = self.steps[#self.steps][2]
  if type(final) == "table" then self.classes_ = final.classes_ end
end
M.Pipeline = Pipeline

-- ---- ColumnTransformer --------------------------------------------------------------------------

local KIND_SELECTORS = {
  number = { float64 = true, int64 = true, bool = true }, numeric = { float64 = true, int64 = true, bool = true },
  text = { string = true, category = true }, object = { string = true, category = true },
  string = { string = true }, category = { category = true }, date = { date = true }, datetime = { datetime = true },
  bool = { bool = true }, float64 = { float64 = true }, int64 = { int64 = true },
}
local SELECTOR_NAMES = {}
for k in pairs(KIND_SELECTORS) do SELECTOR_NAMES[#SELECTOR_NAMES + 1] = k end
table.sort(SELECTOR_NAMES)

local ColumnTransformer = base.Transformer:extend("prep.ColumnTransformer",
  "prep.ColumnTransformer({ {name, transformer | 'drop' | 'passthrough', columns}, ... }, [{remainder='drop'}]) — "
  .. "a transformer per group of columns (names, one name, a kind such as 'number' or 'text', a function(df) -> names, or column "
  .. "numbers), outputs side by side as one float64 tensor; fitted on the training data only")

function ColumnTransformer:init(specs, opts)
  local fn = "prep.ColumnTransformer"
  opts = checks.options(fn, opts, { "remainder", "dtype" })
  self.remainder = checks.one_of(fn, "remainder", opts.remainder, { "drop", "passthrough" }, "drop")
  self.dtype = checks.one_of(fn, "dtype", opts.dtype, { "float64", "float32" }, "float64")
  if type(specs) ~= "table" or #specs == 0 then fail(fn .. ": expected a list of {name, transformer, columns}") end
  self.transformers, self.named_transformers = {}, {}
  for i, s in ipairs(specs) do
    if type(s) ~= "table" or type(s[1]) ~= "string" then fail(fmt("%s: entry %d must be {name, transformer, columns}", fn, i)) end
    local t, cols = s[2], s[3]
    if not (is_transformer(t) or t == "drop" or t == "passthrough") then
      fail(fmt("%s: entry %d ('%s'): expected a transformer, 'drop' or 'passthrough', got %s", fn, i, s[1], checks.show(t)))
    end
    local tc = type(cols)
    if tc == "string" then
      -- a kind ('number', 'text' ...) or, as in scikit-learn, one column by name (checked at fit)
    elseif tc ~= "table" and tc ~= "function" then
      fail(fmt("%s: entry %d ('%s'): columns must be a list of names or numbers, a kind ('number', 'text' ...) or a function, got %s",
        fn, i, s[1], checks.show(cols)))
    end
    if self.named_transformers[s[1]] then fail(fmt("%s: two entries are named '%s'", fn, s[1])) end
    self.transformers[i] = { s[1], t, cols }
    self.named_transformers[s[1]] = t
  end
end

--- ct:clone() -> a new, unfitted ColumnTransformer with clones of its transformers and the columns as given
-- (models.clone; the generic clone would pass get_params's table where the list of entries goes)
function ColumnTransformer:clone()
  local list = {}
  for i, s in ipairs(self.transformers) do
    list[i] = { s[1], clone_step("prep.ColumnTransformer:clone", s[1], s[2]), s[3] }
  end
  return getmetatable(self)(list, { remainder = self.remainder, dtype = self.dtype })
end

-- The saved form: the resolved column names once fitted (functions cannot be saved).
function ColumnTransformer:constructor_args()
  local list = {}
  for i, s in ipairs(self.transformers) do
    list[i] = { s[1], s[2], (self.columns_ and self.columns_[i]) or s[3] }
  end
  return table.pack(list, { remainder = self.remainder, dtype = self.dtype })
end

-- The columns (names, or numbers for a tensor) an entry selects in X.
local function resolve(fn, entry, X)
  local name, sel = entry[1], entry[3]
  local frame = base.is_frame(X)
  local width = frame and #X._names or X:size(2)
  if type(sel) == "function" then
    local ok, r = pcall(sel, X)
    if not ok then checks.reraise(r, fn .. ": the column selector of '" .. name .. "' failed: ") end
    sel = r
    if type(sel) ~= "table" then fail(fmt("%s: the column selector of '%s' returned a %s, expected a list of names", fn, name, type(sel))) end
  end
  if type(sel) == "string" and not KIND_SELECTORS[sel] then
    -- one column by name (scikit-learn's ColumnTransformer takes a single name too)
    if not frame then
      fail(fmt("%s: entry '%s' selects the column '%s' by name, but X is a tensor (give column numbers)", fn, name, sel))
    end
    if not X._cols[sel] then
      local both = table.move(SELECTOR_NAMES, 1, #SELECTOR_NAMES, 1, table.move(X._names, 1, #X._names, 1, {}))
      local hint = checks.suggest(sel, both)
      fail(fmt("%s: entry '%s' selects '%s', which is neither a column of X nor a column kind (%s)%s", fn, name, sel,
        table.concat(SELECTOR_NAMES, ", "), hint and fmt("; did you mean '%s'?", hint) or ""))
    end
    return { sel }
  end
  if type(sel) == "string" then
    if not frame then
      if sel == "number" or sel == "numeric" then
        local all = {}
        for j = 1, width do all[j] = j end
        return all
      end
      fail(fmt("%s: entry '%s' selects '%s' columns, but X is a tensor (give column numbers)", fn, name, sel))
    end
    local kinds, out = KIND_SELECTORS[sel], {}
    for _, n in ipairs(X._names) do if kinds[X._cols[n].kind] then out[#out + 1] = n end end
    return out
  end
  local out = {}
  for i, c in ipairs(sel) do
    if math.type(c) == "integer" then
      if c < 1 or c > width then fail(fmt("%s: entry '%s' selects column %d, but X has %d", fn, name, c, width)) end
      out[i] = frame and X._names[c] or c
    elseif type(c) == "string" then
      if not frame then fail(fmt("%s: entry '%s' selects the column '%s' by name, but X is a tensor (give column numbers)", fn, name, c)) end
      if not X._cols[c] then
        local hint = checks.suggest(c, X._names)
        fail(fmt("%s: entry '%s' selects the column '%s', which X lacks%s", fn, name, c, hint and fmt(" (did you mean '%s'?)", hint) or ""))
      end
      out[i] = c
    else
      fail(fmt("%s: entry '%s': column %d of the selection is a %s, expected a name or a number", fn, name, i, type(c)))
    end
  end
  return out
end

local function subset(X, cols)
  if base.is_frame(X) then return X:select(cols) end
  return X:index_select(2, ml.tensor(cols, { dtype = "int64" }))
end

-- A step's output as a 2-D float tensor of the transformer's dtype.
local function as_output(self, fn, name, out, n)
  if base.is_frame(out) then
    for _, c in ipairs(out._names) do
      local k = out._cols[c].kind
      if k ~= "float64" and k ~= "int64" and k ~= "bool" then
        fail(fmt("%s: the output of '%s' still holds the %s column '%s'; end that step with an encoder", fn, name, k, c))
      end
    end
    out = #out._names > 0 and out:to_tensor() or ml.zeros(n, 0, { dtype = "float64" })
  end
  if ml.sparse.is(out) then out = out:to_dense() end -- a text vectorizer's CSR, beside the dense parts
  if not ml.is_tensor(out) then fail(fmt("%s: '%s' returned a %s, expected a tensor", fn, name, type(out))) end
  if out:dim() == 1 then out = out:reshape(out:size(1), 1) end
  return out:to(self.dtype)
end

function ColumnTransformer:_apply(fn, X, y, fitting)
  X = base.normalize(fn, X)
  if not base.is_frame(X) then X = base.float_matrix(fn, X) end
  local n = base.is_frame(X) and #X or X:size(1)
  if fitting then
    self.columns_ = {}
    self.n_features_in_ = base.is_frame(X) and #X._names or X:size(2)
    self.feature_names_in_ = base.is_frame(X) and table.move(X._names, 1, #X._names, 1, {}) or nil
  else
    local d = base.is_frame(X) and #X._names or X:size(2)
    if not base.is_frame(X) and d ~= self.n_features_in_ then
      fail(fmt("%s: X has %d columns, expected %d (the width seen by fit)", fn, d, self.n_features_in_))
    end
  end
  local used, parts, widths = {}, {}, {}
  for i, entry in ipairs(self.transformers) do
    local cols = fitting and resolve(fn, entry, X) or resolve(fn, { entry[1], entry[2], self.columns_[i] }, X)
    if fitting then self.columns_[i] = cols end
    for _, c in ipairs(cols) do used[c] = true end
    local t = entry[2]
    if t ~= "drop" and #cols > 0 then
      local sub = subset(X, cols)
      local out
      if t == "passthrough" then out = sub
      elseif fitting then out = step_call(fn, entry[1], t.fit_transform, t, sub, y)
      else out = step_call(fn, entry[1], t.transform, t, sub) end
      out = as_output(self, fn, entry[1], out, n)
      parts[#parts + 1] = out
      widths[i] = out:size(2)
    else widths[i] = 0 end
  end
  local rest = {}
  local all = base.is_frame(X) and X._names or nil
  for j = 1, self.n_features_in_ do
    local c = all and (self.feature_names_in_ and self.feature_names_in_[j]) or j
    if not used[c] then rest[#rest + 1] = c end
  end
  if fitting then self.remainder_columns_ = rest end
  if self.remainder == "passthrough" and #rest > 0 then
    parts[#parts + 1] = as_output(self, fn, "remainder", subset(X, rest), n)
  end
  if fitting then self.output_widths_ = widths end
  if #parts == 0 then return ml.zeros(n, 0, { dtype = self.dtype }) end
  return #parts == 1 and parts[1]:contiguous() or ml.cat(parts, 2)
end

function ColumnTransformer:fit(X, y)
  self._fitted = nil
  self:_apply("prep.ColumnTransformer:fit", X, y, true)
  self._fitted = true
  return self
end

function ColumnTransformer:fit_transform(X, y)
  self._fitted = nil
  local out = self:_apply("prep.ColumnTransformer:fit_transform", X, y, true)
  self._fitted = true
  return out
end

function ColumnTransformer:transform(X)
  local fn = "prep.ColumnTransformer:transform"
  self:check_fitted(fn)
  return self:_apply(fn, X, nil, false)
end

function ColumnTransformer:get_feature_names_out()
  self:check_fitted("prep.ColumnTransformer:get_feature_names_out")
  local out = {}
  local function label(c) return type(c) == "number" and ("x" .. c) or c end
  for i, entry in ipairs(self.transformers) do
    local t, cols = entry[2], self.columns_[i]
    if t ~= "drop" and #cols > 0 then
      local names
      if t == "passthrough" then
        names = {}
        for k, c in ipairs(cols) do names[k] = label(c) end
      else
        local input = {}
        for k, c in ipairs(cols) do input[k] = label(c) end
        names = t:get_feature_names_out(input)
      end
      for _, nm in ipairs(names) do out[#out + 1] = entry[1] .. "__" .. nm end
    end
  end
  if self.remainder == "passthrough" then
    for _, c in ipairs(self.remainder_columns_ or {}) do out[#out + 1] = "remainder__" .. label(c) end
  end
  return out
end

function ColumnTransformer:persist_state()
  return { settings = { fitted = rawget(self, "_fitted") == true, n_features_in = self.n_features_in_,
    feature_names_in = self.feature_names_in_, remainder_columns = self.remainder_columns_, output_widths = self.output_widths_ } }
end

function ColumnTransformer:load_persist_state(st)
  local s = st.settings or {}
  self.n_features_in_, self.feature_names_in_ = s.n_features_in, s.feature_names_in
  self.remainder_columns_, self.output_widths_ = s.remainder_columns, s.output_widths
  self._fitted = s.fitted or nil
  if self._fitted then
    -- the constructor arguments of a fitted transformer hold the resolved columns
    self.columns_ = {}
    for i, e in ipairs(self.transformers) do self.columns_[i] = e[3] end
  end
end
M.ColumnTransformer = ColumnTransformer

--- prep.load(path, [{trusted=false}]) -> the transformer or pipeline saved with t:save(path) (core/persist)
function M.load(path, opts)
  local persist = require "moonlab.core.persist"
  local ok, r = pcall(persist.load, path, opts)
  if not ok then checks.reraise(tostring(r):gsub("^persist%.load:", "prep.load:"), "") end
  return r
end

do
  local doc = ml.doc
  doc(Pipeline.init, "Pipeline:init(steps) — the constructor: a list of {name, transformer} or transformers (named as make_pipeline does)")
  doc(Pipeline.predict_proba, "pipe:predict_proba(X) -> float64 [n, K] — the last step's class probabilities on X transformed by the other steps")
  doc(Pipeline.decision_function, "pipe:decision_function(X) -> tensor — the last step's scores on X transformed by the other steps")
  doc(Pipeline.score, "pipe:score(X, y) -> number — the last step's score (accuracy or R²) on X transformed by the other steps")
  doc(Pipeline.get_params, "pipe:get_params() -> table — steps, each step by name and its options as 'step__option' (scikit-learn's)")
  doc(Pipeline.set_params, "pipe:set_params{step__option = v, step = new} -> pipe — changes step options or replaces steps")
  doc(Pipeline.clone, "pipe:clone() -> pipeline — a new, unfitted pipeline of clones of its steps")
  doc(Pipeline.step, "pipe:step(name) -> transformer — the step named name")
  doc(Pipeline.has_method, "pipe:has_method(name) -> boolean — whether the last step implements name (predict_proba, decision_function)")
  doc(Pipeline.predict, "pipe:predict(X) -> predictions — the last step's predict on X transformed by the other steps")
  doc(Pipeline.fit_transform, "pipe:fit_transform(X, [y]) -> tensor — fit, then transform")
  doc(Pipeline.inverse_transform, "pipe:inverse_transform(X) -> tensor — every step's inverse, last to first")
  doc(Pipeline.get_feature_names_out, "pipe:get_feature_names_out([names]) -> list — the output names, through every step")
  doc(Pipeline.constructor_args, "pipe:constructor_args() -> packed table — the steps, what core/persist saves to rebuild the pipeline")
  doc(Pipeline.extra_repr, "pipe:extra_repr() -> string — the step names, for printing")
  doc(Pipeline.persist_state, "pipe:persist_state() -> {settings} — whether fitted and the training schema (core/persist)")
  doc(Pipeline.load_persist_state, "pipe:load_persist_state(state) — restores what persist_state saved")
  doc(ColumnTransformer.init, "ColumnTransformer:init(specs, [opts]) — the constructor: {name, transformer, columns} entries and {remainder, dtype}")
  doc(ColumnTransformer.clone, "ct:clone() -> ColumnTransformer — a new, unfitted one with clones of its transformers and the columns as given (models.clone)")
  doc(ColumnTransformer.fit_transform, "ct:fit_transform(X, [y]) -> tensor — fits each entry on its columns and returns the outputs side by side")
  doc(ColumnTransformer.constructor_args, "ct:constructor_args() -> packed table — the entries with their resolved columns once fitted (functions cannot be saved)")
  doc(ColumnTransformer.persist_state, "ct:persist_state() -> {settings} — the fitted widths and names (core/persist)")
  doc(ColumnTransformer.load_persist_state, "ct:load_persist_state(state) — restores what persist_state saved")
  doc(Pipeline.validate, "pipe:validate(df, [{raise = true}]) -> report — checks new rows against the training frame's schema (types, ranges, categories; data.schema_of) before transforming")
  doc(Pipeline.fit, "pipe:fit(X, [y]) -> pipe — fits each step on the output of the previous one; records a frame's schema")
  doc(Pipeline.transform, "pipe:transform(X) -> tensor — checks a frame against the training schema, then runs every step")
  doc(ColumnTransformer.fit, "ct:fit(X, [y]) -> ct — resolves each entry's columns and fits its transformer on them")
  doc(ColumnTransformer.transform, "ct:transform(X) -> tensor — each entry's output side by side (then the remainder)")
  doc(ColumnTransformer.get_feature_names_out, "ct:get_feature_names_out() -> list — 'entry__column' names, as scikit-learn")
  doc(M.check_schema, "prep.check_schema(fn, schema, df) — an error for a missing column or a column of another kind")
  doc(M.load, "prep.load(path, [{trusted=false}]) -> transformer — reads what t:save(path) or pipe:save(path) wrote")
end

return M
