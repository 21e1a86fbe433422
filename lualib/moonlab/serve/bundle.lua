--- moonlab.serve.bundle: one file that holds everything a served model needs.
--
--   bundle.save("fashion.safetensors", {model = net, pipeline = scaler, train = X, y = y,
--     classes = names, name = "fashion", version = 1, metrics = {accuracy = 0.88}})
--   local b = bundle.load("fashion.safetensors")   -- also a plain model:save / est:save / pipe:save file
--   local labels, proba = b:predict(b:rows(decoded_json_rows), {proba = true})
--
-- The file is what the model already writes through core/persist (an nn model's
-- "moonlab.model" tree or an estimator's "moonlab.object" node, with its tensors),
-- plus the fitted pipeline under "pipeline." tensors and "moonlab.pipeline" (the
-- layout of model:save's pipeline option, so nn.load reads a network's bundle too),
-- plus one JSON string "moonlab.bundle": name, version, kind, classes, input
-- signature, the raw schema, the training statistics, metrics, moonlab version.
-- Nothing here serializes a model itself.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local persist = require "moonlab.core.persist"
local labels = require "moonlab.core.labels"

local fmt, fail = string.format, checks.fail
local bundle = {}

local Bundle = class.Object:extend("serve.Bundle",
  "serve.Bundle — a loaded model bundle: b:rows(list), b:predict(X, {proba}), b:predict_tensor(X), b:decode(Y), b:signature(); "
  .. "fields name, version, path, kind, input, classes, stats, metrics, schema")
bundle.Bundle = Bundle

local KEY = "moonlab.bundle"

-- ---- what kind of model -------------------------------------------------------------------

local function is_module(m)
  local nn = require "moonlab.nn"
  return nn.Module.is_module(m)
end

local function is_frame(x) return ml.data.DataFrame.is(x) end

local function is_pipeline(m)
  return class.name_of(m) == "prep.Pipeline"
end

-- the last step of a pipeline ending in an estimator, or nil
local function final_estimator(p)
  local last = p.steps[#p.steps][2]
  if type(last) == "table" and type(last.predict) == "function" then return last end
  return nil
end

-- the modules of a network in order (the first and last Linear tell the widths; the last module the output's form)
local function module_list(m)
  local out = {}
  for _, pair in ipairs(m:named_modules()) do out[#out + 1] = pair[2] end
  return out
end

local function net_widths(m)
  local first, last, tail
  for _, mod in ipairs(module_list(m)) do
    local name = class.name_of(mod) or ""
    if name == "Linear" or name == "nn.Linear" then
      first = first or mod.in_features
      last = mod.out_features
    end
    if not next(mod._modules or {}) then tail = name end
  end
  return first, last, tail
end

local CLASSIFIER_LOSSES = { CrossEntropyLoss = true, NLLLoss = true, BCELoss = true, BCEWithLogitsLoss = true }

local function net_loss(m)
  local c = rawget(m, "_compiled")
  local name = c and c.loss and class.name_of(c.loss) or nil
  return name and (name:gsub("^nn%.", "")) or nil
end

-- ---- training statistics ------------------------------------------------------------------

-- the model's input as a float64 [n, d] tensor (frames of numbers through to_tensor, images flattened)
local function as_matrix(fn, X)
  if is_frame(X) then X = X:to_tensor() end
  if not ml.is_tensor(X) then fail(fmt("%s: train must be a tensor or a data frame, got %s", fn, type(X))) end
  if X:dim() == 1 then X = X:reshape(X:size(1), 1) end
  if X:dim() > 2 then X = X:reshape(X:size(1), -1) end
  return X:to("float64")
end

local function feature_names(pipeline, d, frame)
  if pipeline and is_pipeline(pipeline) then
    local pre = pipeline.steps[#pipeline.steps - 1]
    if pre and final_estimator(pipeline) then pipeline = pre[2] end
  end
  if type(pipeline) == "table" and type(pipeline.get_feature_names_out) == "function" then
    local ok, names = pcall(pipeline.get_feature_names_out, pipeline)
    if ok and type(names) == "table" and #names == d then return names end
  end
  if frame and frame._names and #frame._names == d then return table.move(frame._names, 1, d, 1, {}) end
  local out = {}
  for j = 1, d do out[j] = "x" .. j end
  return out
end

-- per-feature mean and (population) std of the model's input, class frequencies in the order of classes
-- (a Pipeline given as model: the input of its final estimator)
local function statistics(fn, spec, pipeline, classes)
  local stats
  if spec.train ~= nil then
    local X = spec.train
    local frame = is_frame(X) and X or nil
    local through = pipeline and pipeline.transform
    if not pipeline and is_pipeline(spec.model) and #spec.model.steps > 1 then
      local steps = #spec.model.steps
      pipeline = spec.model
      through = function(p, x) return p:_through(fn, x, steps - 1) end
    end
    if pipeline then
      local ok, out = pcall(through, pipeline, X)
      if not ok then fail(fmt("%s: the pipeline does not transform train: %s", fn, persist.strip(out))) end
      X, frame = out, is_frame(out) and out or nil
    end
    local M = as_matrix(fn, X)
    local n, d = M:size(1), M:size(2)
    if n == 0 then fail(fn .. ": train has no rows") end
    local mean = M:mean(1)
    local std = M:sub(mean):pow(2):mean(1):sqrt()
    stats = { n = n, features = feature_names(pipeline, d, frame), mean = mean:tolist(), std = std:tolist() }
  end
  if spec.y ~= nil and classes then
    local y = spec.y
    if type(y) == "table" and y._names and #y._names == 1 then y = y:column(y._names[1]) end
    local codes = labels.encode(fn, y, classes)
    local counts = ml.eye(#classes, { dtype = "float64" }):index_select(1, codes):sum(1)
    stats = stats or { n = codes:numel() }
    stats.class_freq = counts:div(codes:numel()):tolist()
  end
  return stats
end

-- ---- the metadata ------------------------------------------------------------------------------

local function schema_fields(schema)
  local fields = {}
  for i, name in ipairs(schema.names) do fields[i] = { name = name, type = schema.columns[name].type } end
  return fields
end

local function check_schema(fn, s)
  if type(s) ~= "table" or type(s.names) ~= "table" or type(s.columns) ~= "table" then
    fail(fn .. ": schema must be what data.schema_of(train_df) returns ({version, names, columns})")
  end
  return s
end

-- the raw width a transformer or pipeline takes (its first step's n_features_in_), or nil
local function raw_width(p)
  if is_pipeline(p) then
    for _, s in ipairs(p.steps) do
      if s[2] ~= "passthrough" then return raw_width(s[2]) end
    end
    return nil
  end
  return type(p) == "table" and rawget(p, "n_features_in_") or nil
end

-- kind, classes and raw input width of what is saved, from the model, its pipeline and the options
local function describe(fn, spec, model, pipeline)
  local kind, classes, width = nil, spec.classes, nil
  local est = model
  if is_pipeline(model) then est = final_estimator(model) or fail(fn .. ": the pipeline given as model does not end in an estimator") end
  if is_module(model) then
    local first, last, tail = net_widths(model)
    width = first
    local loss = net_loss(model)
    if classes or (loss and CLASSIFIER_LOSSES[loss]) or tail == "Softmax" or tail == "LogSoftmax" then kind = "classifier" end
    if kind == "classifier" and not classes then
      if spec.y ~= nil then
        local _, cl = labels.encode(fn, spec.y)
        classes = cl
      elseif last then
        classes = {}
        for k = 1, (last == 1 and 2 or last) do classes[k] = last == 1 and k - 1 or k end
      end
    end
    kind = kind or "regressor"
  elseif type(est) == "table" and type(est.predict) == "function" then
    kind = est.KIND or "regressor"
    if kind == "classifier" then classes = classes or est.classes_ end
    if not est.classes_ and not est._fitted and type(est.check_fitted) == "function" then est:check_fitted(fn) end
    width = est.n_features_in_
  else
    fail(fmt("%s: model must be an nn model or an ml.models estimator (or a prep.Pipeline ending in one), got %s", fn,
      checks.show(model)))
  end
  if type(classes) == "table" then classes = table.move(classes, 1, #classes, 1, {}) end
  if pipeline or is_pipeline(model) then width = raw_width(pipeline or model) end
  return kind, classes, width
end

local SAVE_OPTIONS = { "model", "pipeline", "schema", "train", "y", "classes", "name", "version", "metrics" }

--- bundle.save(path, {model, [pipeline], [schema], [train], [y], [classes], [name], [version], [metrics]}): writes a bundle
function bundle.save(path, spec)
  local fn = "bundle.save"
  if type(path) ~= "string" then fail(fn .. ": expected a file path, got " .. type(path)) end
  if type(spec) ~= "table" then fail(fn .. ": expected {model = m, pipeline = p, ...}, got " .. type(spec)) end
  spec = checks.options(fn, spec, SAVE_OPTIONS)
  local model = spec.model
  if model == nil then fail(fn .. ": option 'model' is required (an nn model or a fitted estimator)") end
  if spec.name ~= nil then checks.string(fn, "name", spec.name) end
  if spec.version ~= nil then checks.integer(fn, "version", spec.version, 1) end
  if spec.metrics ~= nil and type(spec.metrics) ~= "table" then fail(fn .. ": metrics must be a table {name = number}") end
  local pipeline = spec.pipeline
  if pipeline ~= nil and (type(pipeline) ~= "table" or type(pipeline.transform) ~= "function") then
    fail(fn .. ": pipeline must be a fitted prep transformer or prep.Pipeline, got " .. checks.show(pipeline))
  end
  if pipeline ~= nil and is_pipeline(model) then
    fail(fn .. ": the model is a prep.Pipeline, which carries its own preprocessing; give no second pipeline")
  end
  local schema = spec.schema
  if schema == nil and pipeline then schema = rawget(pipeline, "data_schema_") end
  if schema == nil and is_pipeline(model) then schema = rawget(model, "data_schema_") end
  if schema ~= nil then check_schema(fn, schema) end
  local kind, classes, width = describe(fn, spec, model, pipeline)
  local stats = statistics(fn, spec, pipeline, classes)
  -- the training rows are what the model takes (a network need not start with a Linear: a CNN reshapes first)
  if not pipeline and not is_pipeline(model) and ml.is_tensor(spec.train) and spec.train:dim() == 2 then
    width = spec.train:size(2)
  end
  local info = {
    name = spec.name, version = spec.version, kind = kind, classes = classes, metrics = spec.metrics,
    schema = schema, stats = stats, moonlab_version = ml.version, created = os.time(),
    input = schema and { kind = "fields", fields = schema_fields(schema) } or { kind = "rows", features = width, dtype = "float32" },
  }
  local ok, err = pcall(function()
    local tensors, meta = persist.parts(model, fn)
    if pipeline then
      local pt, pmeta = persist.parts(pipeline, fn)
      for k, t in pairs(pt) do
        if tensors["pipeline." .. k] then error(fmt("%s: the model has a tensor 'pipeline.%s' that the pipeline needs", fn, k), 0) end
        tensors["pipeline." .. k] = t
      end
      meta["moonlab.pipeline"] = pmeta["moonlab.object"]
    end
    meta[KEY] = persist.encode(info, fn, "the bundle's description")
    persist.write(path, tensors, meta, fn)
  end)
  if not ok then checks.reraise(err) end
end

-- ---- loading ----------------------------------------------------------------------------------

-- "models/fashion/3/model.safetensors" -> "fashion", 3; "iris.safetensors" -> "iris", nil
local function name_from_path(path)
  local dir, file = path:match("^(.-)([^/]+)$")
  local parent, vdir = dir:match("([^/]+)/(%d+)/$")
  if parent then return parent, math.tointeger(tonumber(vdir)) end
  return (file:gsub("%.safetensors$", "")), nil
end

local function rebuild_pipeline(path, tensors, meta, opts, fn)
  local pt = {}
  for k, t in pairs(tensors) do
    if k:sub(1, 9) == "pipeline." then pt[k:sub(10)] = t end
  end
  local rest = {}
  for k, t in pairs(tensors) do if k:sub(1, 9) ~= "pipeline." then rest[k] = t end end
  local p = persist.rebuild(path, pt, { ["moonlab.format"] = persist.FORMAT, ["moonlab.object"] = meta["moonlab.pipeline"] }, opts, fn)
  return p, rest
end

local LOAD_OPTIONS = { "trusted" }

--- bundle.load(path, [{trusted = false}]) -> bundle: a bundle, or a plain model:save / est:save / fitted Pipeline file
function bundle.load(path, opts)
  local fn = "bundle.load"
  opts = checks.options(fn, opts, LOAD_OPTIONS)
  local ok, b = pcall(function()
    -- the classes a file may name are defined by these packages (ml's lazy modules)
    local _ = ml.models, ml.prep, ml.nn
    local tensors, meta = persist.read(path, fn)
    if persist.check_format(meta, path, fn) == nil then
      error(fmt("%s: '%s' is not a moonlab model file (no 'moonlab.format' metadata); expected a bundle, a model:save, "
        .. "est:save or pipeline file", fn, path), 0)
    end
    local info = persist.from_json(persist.decode(meta, KEY, path, fn)) or {}
    if type(info) ~= "table" then error(fmt("%s: '%s': the bundle's description is not an object; the file is damaged", fn, path), 0) end
    local pipeline
    if meta["moonlab.pipeline"] ~= nil then pipeline, tensors = rebuild_pipeline(path, tensors, meta, opts, fn) end
    local mmeta = {}
    for k, v in pairs(meta) do if k ~= KEY and k ~= "moonlab.pipeline" then mmeta[k] = v end end
    local model = persist.rebuild(path, tensors, mmeta, opts, fn)
    return bundle.wrap(model, { pipeline = pipeline, info = info, path = path }, fn)
  end)
  if not ok then checks.reraise(b) end
  return b
end

-- kind, classes and width of a file that is no bundle (info empty), from the object itself
local function infer(self, fn)
  local m, info = self.model, self.info
  local spec = { classes = info.classes }
  local kind, classes, width = describe(fn, spec, self.pipe or m, self.pipeline)
  return info.kind or kind, info.classes or classes, width
end

--- bundle.wrap(model, [{pipeline, info, path}]) -> bundle: a bundle around a live model (what load returns)
function bundle.wrap(model, parts, fn)
  fn = fn or "bundle.wrap"
  parts = parts or {}
  local self = setmetatable({}, Bundle)
  self.info, self.path, self.pipeline = parts.info or {}, parts.path, parts.pipeline
  if is_pipeline(model) then
    local est = final_estimator(model)
    if not est then
      fail(fmt("%s: '%s' holds a prep.Pipeline whose last step is a transformer, not a model", fn, tostring(parts.path)))
    end
    self.pipe, self.model = model, est
    if self.pipeline then fail(fn .. ": a pipeline given as model carries its own preprocessing; give no second pipeline") end
  else
    self.model = model
  end
  self.is_net = is_module(self.model)
  if self.is_net then
    self.model:eval()
    local _, _, tail = net_widths(self.model)
    self.out_is_proba = tail == "Softmax" or tail == "Sigmoid"
    self.out_is_log = tail == "LogSoftmax"
  end
  local info = self.info
  local kind, classes, width = infer(self, fn)
  self.kind, self.classes = kind, classes
  self.schema = info.schema or (self.pipe and rawget(self.pipe, "data_schema_")) or (self.pipeline and rawget(self.pipeline, "data_schema_"))
  self.input = info.input
  if not self.input then
    if self.schema then self.input = { kind = "fields", fields = schema_fields(self.schema) }
    else self.input = { kind = "rows", features = width, dtype = "float32" } end
  end
  local pname, pversion = name_from_path(parts.path or "model")
  -- a file in a versions directory (models/NAME/N/) is that name and version, whatever it was saved as
  self.name = pversion and pname or info.name or pname
  self.version = pversion or info.version or 1
  self.stats, self.metrics = info.stats, info.metrics
  self.moonlab_version = info.moonlab_version
  -- the fast path: the forward and no_grad fetched once
  if self.is_net then
    local net, no_grad = self.model, ml.no_grad
    local forward = getmetatable(net).__call
    self._run = function(X) return no_grad(forward, net, X) end
  elseif kind == "classifier" and self.model.predict_proba and (not self.model.has_method or self.model:has_method("predict_proba")) then
    local est = self.model
    self._run = function(X) return est:predict_proba(X) end
  elseif kind == "classifier" then
    local est, cl = self.model, self.classes
    self._run = function(X)
      local codes = labels.encode("bundle:predict_tensor", est:predict(X), cl)
      return ml.eye(#cl, { dtype = "float64" }):index_select(1, codes)
    end
  else
    local est = self.model
    self._run = function(X) return est:predict(X) end
  end
  return self
end

-- ---- requests -----------------------------------------------------------------------------------

-- the error a server answers with 400 (prints as a message when nobody catches it)
local BadInput = { __tostring = function(e) return "bundle:rows: " .. e.error end }
local function bad(msg, ...) error(setmetatable({ status = 400, error = fmt(msg, ...) }, BadInput), 0) end
bundle.bad_input = bad

local function show(v)
  if type(v) == "string" then return fmt("%q", #v > 40 and v:sub(1, 40) .. "..." or v) end
  if type(v) == "table" then return "a list or object" end
  return tostring(v)
end

-- rows of numbers -> float32 [n, d]; the row and column of a bad value named
local function numeric_rows(self, list)
  local d = self.input.features
  local n = #list
  for i = 1, n do
    local r = list[i]
    if type(r) ~= "table" then bad("row %d: expected a list of %s numbers, got %s", i, d or "", show(r)) end
    if d and #r ~= d then bad("row %d: expected %d values, got %d", i, d, #r) end
  end
  local ok, X = pcall(ml.tensor, list, { dtype = "float32" })
  if not ok or X:dim() ~= 2 then
    local w = #list[1]
    for i = 1, n do
      local r = list[i]
      if #r ~= w then bad("row %d: expected %d values like row 1, got %d", i, w, #r) end
      for j = 1, w do
        if type(r[j]) ~= "number" then bad("row %d: value %d: expected a number, got %s", i, j, show(r[j])) end
      end
    end
    bad("expected rows of numbers (%s)", persist.strip(X))
  end
  return X
end

local TEXT = { string = true, category = true, date = true, datetime = true }
local NUMERIC = { float64 = true, int64 = true }

-- rows of named fields -> a data frame in the schema's column order
local function field_rows(self, list)
  local schema = self.schema
  local names, cols = schema.names, schema.columns
  local n = #list
  local known = {}
  for _, name in ipairs(names) do known[name] = true end
  local lists = {}
  for j, name in ipairs(names) do lists[j] = { n = n } end
  for i = 1, n do
    local r = list[i]
    if type(r) ~= "table" then bad("row %d: expected an object of named fields, got %s", i, show(r)) end
    for k in pairs(r) do
      if not known[k] then
        local hint = type(k) == "string" and checks.suggest(k, names)
        if math.type(k) == "integer" then bad("row %d: expected an object of named fields (%s ...), got a list", i, names[1]) end
        bad("row %d: unknown field '%s'%s", i, tostring(k), hint and fmt(" (did you mean '%s'?)", hint) or "")
      end
    end
    for j, name in ipairs(names) do
      local v, spec = r[name], cols[name]
      local t = spec.type
      if v == nil or v == ml.json.null then
        if spec.not_null then bad("row %d: field '%s' is missing (the training data had no missing values there)", i, name) end
        v = nil
      elseif NUMERIC[t] then
        if type(v) ~= "number" then bad("row %d: field '%s': expected a number, got %s", i, name, show(v)) end
        if v ~= v then bad("row %d: field '%s': NaN is not a value (leave the field out for a missing one)", i, name) end
        if t == "int64" then
          if v ~= math.floor(v) then bad("row %d: field '%s': expected an integer, got %s", i, name, show(v)) end
          v = math.tointeger(v) or v
        else v = v + 0.0 end
      elseif t == "bool" then
        if type(v) ~= "boolean" then bad("row %d: field '%s': expected true or false, got %s", i, name, show(v)) end
      elseif TEXT[t] then
        if type(v) ~= "string" then bad("row %d: field '%s': expected a string, got %s", i, name, show(v)) end
        if spec.allowed and not self._allowed[name][v] then
          local shown = table.concat(spec.allowed, ", ", 1, math.min(#spec.allowed, 8))
          bad("row %d: field '%s': '%s' is not one of the values seen in training {%s%s}", i, name, v, shown,
            #spec.allowed > 8 and ", ..." or "")
        end
      end
      lists[j][i] = v
    end
  end
  local columns = {}
  for j, name in ipairs(names) do columns[name] = lists[j] end
  local ok, df = pcall(ml.data.DataFrame, columns, { columns = names })
  if not ok then bad("%s", persist.strip(df)) end
  return df
end

-- the pipeline (or the steps before a Pipeline's estimator) applied; a failure there is the input's fault
local function preprocess(self, X)
  local ok, out
  if self.pipe then
    local p = self.pipe
    ok, out = pcall(p._through, p, "pipeline", X, #p.steps - 1)
  elseif self.pipeline then
    ok, out = pcall(self.pipeline.transform, self.pipeline, X)
  else
    if is_frame(X) then ok, out = pcall(X.to_tensor, X, "float32") else return X end
  end
  if not ok then bad("the pipeline cannot transform the rows: %s", persist.strip(out)) end
  if is_frame(out) then out = out:to_tensor("float32") end
  return out
end

-- a data frame of raw rows: the schema's columns (or all, for rows of numbers) in its order
local function frame_rows(self, df)
  if df._n == 0 then bad("expected at least one row, got an empty frame") end
  if self.input.kind ~= "fields" then return df:to_tensor("float32") end
  for _, name in ipairs(self.schema.names) do
    if not df:has_column(name) then
      local hint = checks.suggest(name, df._names)
      bad("the frame lacks the field '%s'%s", name, hint and fmt(" (did you mean '%s'?)", hint) or "")
    end
  end
  return df:select(self.schema.names)
end

--- b:rows(list | tensor | frame) -> the model input tensor: rows checked against the schema or the width, the pipeline applied
function Bundle:rows(list)
  if is_frame(list) then
    local X = frame_rows(self, list)
    if ml.is_tensor(X) then return self:rows(X) end
    return preprocess(self, X)
  end
  if ml.is_tensor(list) then
    local d = self.input.features
    if list:dim() ~= 2 then bad("expected rows: a 2-D [n, d] tensor, got %d-D", list:dim()) end
    if list:size(1) == 0 then bad("expected at least one row, got an empty batch") end
    if d and list:size(2) ~= d then bad("expected %d values per row, got %d", d, list:size(2)) end
    return preprocess(self, list)
  end
  if type(list) ~= "table" then bad("expected a list of rows, got %s", show(list)) end
  if #list == 0 then bad("expected at least one row, got an empty batch") end
  if self.input.kind == "fields" then
    if not self._allowed then
      self._allowed = {}
      for name, spec in pairs(self.schema.columns) do
        local set = {}
        for _, a in ipairs(spec.allowed or {}) do set[a] = true end
        self._allowed[name] = set
      end
    end
    return preprocess(self, field_rows(self, list))
  end
  local X = numeric_rows(self, list)
  if X:isnan():sum():item() > 0 then
    local at = ml.argmax(X:isnan():reshape(-1):to("int64")):item() - 1
    bad("row %d: value %d is NaN", at // X:size(2) + 1, at % X:size(2) + 1)
  end
  return preprocess(self, X)
end

--- b:predict_tensor(X) -> outputs [n] or [n, K]: a network's forward (no graph), an estimator's predict_proba or predict
function Bundle:predict_tensor(X)
  return self._run(X)
end

--- b:decode(Y, [{proba = false}]) -> labels (list), proba ([n, K] tensor) or nil: predict_tensor's outputs as answers
function Bundle:decode(Y, opts)
  local want = opts and opts.proba
  if self.kind ~= "classifier" then
    if Y:dim() == 2 and Y:size(2) == 1 then Y = Y:reshape(Y:size(1)) end
    return Y:to("float64"):tolist(), nil
  end
  local P
  if Y:dim() == 1 or Y:size(2) == 1 then -- one logit: the positive class of two
    local p = Y:reshape(Y:size(1)):to("float64")
    if self.is_net and not self.out_is_proba then p = p:sigmoid() end
    P = ml.stack({ p:neg():add(1), p }, 2)
  elseif not want then -- labels only: the argmax of the outputs is the argmax of the probabilities
    P = Y
  else
    P = Y:to("float64")
    if self.is_net and not self.out_is_proba then P = self.out_is_log and P:exp() or ml.softmax(P, 2) end
  end
  local codes = ml.argmax(P, 2):tolist()
  local cl, out = self.classes, {}
  for i, k in ipairs(codes) do out[i] = cl[k] end
  if want then return out, P:to("float64") end
  return out, nil
end

--- b:predict(X, [{proba = false}]) -> labels (the values trained on) or values, and probabilities [n, K] on request
function Bundle:predict(X, opts)
  if opts ~= nil then opts = checks.options("bundle:predict", opts, { "proba" }) end
  if not ml.is_tensor(X) then X = self:rows(X) end
  return self:decode(self._run(X), opts)
end

--- b:estimator() -> an estimator-like view on model inputs (predict, predict_proba, classes_) for metrics.get_scorer
function Bundle:estimator()
  local b = self
  local view = { classes_ = self.classes, KIND = self.kind }
  function view.predict(_, X)
    local out = b:decode(b._run(X))
    if b.kind ~= "classifier" then return ml.tensor(out, { dtype = "float64" }) end
    if type(b.classes[1]) == "number" then return ml.tensor(out, { dtype = math.type(b.classes[1]) == "integer" and "int64" or "float64" }) end
    return out
  end
  function view.predict_proba(_, X)
    local _, P = b:decode(b._run(X), { proba = true })
    return P
  end
  function view.has_method(_, name) return name == "predict" or (name == "predict_proba" and b.kind == "classifier") end
  return view
end

--- b:signature() -> {name, version, kind, input, classes, outputs}: what GET /v1/models lists
function Bundle:signature()
  local outputs
  if self.kind == "classifier" then outputs = { kind = "labels", classes = self.classes and #self.classes or nil, proba = true }
  else outputs = { kind = "values" } end
  return { name = self.name, version = self.version, kind = self.kind, input = self.input, classes = self.classes,
    outputs = outputs, metrics = self.metrics, moonlab_version = self.moonlab_version }
end

function Bundle:__tostring()
  return fmt("serve.Bundle(%s v%s, %s, %s)", tostring(self.name), tostring(self.version), tostring(self.kind),
    class.name_of(self.pipe or self.model) or "?")
end

do
  local doc = ml.doc
  doc(bundle, "serve.bundle — model bundles: bundle.save(path, {model, pipeline, schema, train, y, classes, name, version, metrics}), bundle.load(path)")
  doc(bundle.save, "bundle.save(path, {model, [pipeline], [schema], [train], [y], [classes], [name], [version], [metrics]}) — one safetensors file: the model, its fitted pipeline, the raw schema, training statistics (feature mean/std, class frequencies) and metadata")
  doc(bundle.load, "bundle.load(path, [{trusted}]) -> bundle — a bundle, or a plain model:save, est:save or fitted Pipeline file")
  doc(bundle.wrap, "bundle.wrap(model, [{pipeline, info, path}]) -> bundle — a bundle around a live model or estimator")
  doc(Bundle.rows, "b:rows(list | tensor) -> tensor — rows of numbers or named fields checked (errors {status = 400, error = 'row 3: field ...'}), the pipeline applied")
  doc(Bundle.predict_tensor, "b:predict_tensor(X) -> tensor — the fast path: a network's forward without a graph, or an estimator's predict_proba / predict")
  doc(Bundle.decode, "b:decode(Y, [{proba}]) -> labels, proba | nil — predict_tensor's outputs as label values (or numbers) and class probabilities")
  doc(Bundle.predict, "b:predict(X | rows, [{proba = false}]) -> labels, proba | nil — labels as trained (or values for regressors), probabilities on request")
  doc(Bundle.estimator, "b:estimator() -> view — predict / predict_proba / classes_ on model inputs, for metrics.get_scorer and moonlab eval")
  doc(Bundle.signature, "b:signature() -> table — {name, version, kind, input, classes, outputs} for GET /v1/models")
end

return bundle
