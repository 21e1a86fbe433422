--- moonlab.serve.app: the model server's routes, run in every worker state of
-- ml.http.serve{app = "moonlab.serve.app", config = ...}.
--
--   POST /predict                                   the default (first) model
--   POST /v1/models/NAME[/versions/N]:predict       {"inputs": rows} or {"instances": rows},
--        options "probabilities": true or "return": ["labels", "probabilities"]
--        -> {"predictions": [...], "probabilities": [[...]], "model": NAME, "version": N}
--   POST /v1/models/NAME/versions/N:activate        rolls every worker to version N
--   GET  /health  /ready  /metrics  /v1/models  /v1/models/NAME
--
-- Numeric rows are parsed in C (ml.http.json_rows) and, with max_batch > 1, merged
-- with other callers' rows into one forward pass (ml.http.batch); named fields go
-- through the bundle's schema and pipeline (bundle:rows). Bad requests raise
-- {status = 4xx, error = message}, which the HTTP layer answers as JSON.
local ml = require "moonlab"
local bundle = require "moonlab.serve.bundle"
local versions = require "moonlab.serve.versions"
local drift = require "moonlab.serve.drift"
local hooks_mod = require "moonlab.serve.hooks"
local request_log = require "moonlab.serve.request_log"
local fast_path = require "moonlab.serve.fast_path"
local checks = require "moonlab.core.checks"

local fmt = string.format
local app = {}

local BATCH_BUCKETS = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024 }
local BODY_KEYS = { "inputs", "instances", "probabilities", "return" }
local RETURN_KINDS = { labels = true, probabilities = true }
local JSON = "application/json"

local function bad(status, msg) error({ status = status, error = msg }, 0) end

local function plural(n, word) return fmt("%d %s%s", n, word, n == 1 and "" or "s") end

-- ---- models in this worker ----------------------------------------------------------------------------

-- Label value -> class number, for the drift counts and the batched path.
local function class_codes(b)
  local codes = {}
  for i, c in ipairs(b.classes or {}) do codes[c] = i end
  return codes
end

local function features_of(b)
  if b.input and b.input.kind == "rows" then return b.input.features end
  if b.stats and b.stats.features then return #b.stats.features end
  return nil
end

-- The row counts a version's forward will see (every one up to 64, then powers of two up to max_batch):
-- run once at load, so that the kernels a new shape needs (oneDNN JIT-compiles some at their first call,
-- 20-50 ms) are made before a request waits for them.
local function warm_up(b, d, max_batch)
  if not (b.is_net and d) then return end
  local sizes, m = {}, 1
  while m <= math.min(max_batch, 64) do sizes[#sizes + 1] = m; m = m + 1 end
  m = 128
  while m < max_batch do sizes[#sizes + 1] = m; m = m * 2 end
  if max_batch > 64 then sizes[#sizes + 1] = max_batch end
  for _, n in ipairs(sizes) do pcall(b.predict_tensor, b, ml.zeros(n, d)) end
end

local function open_version(state, version, path)
  local b = bundle.load(path)
  local entry = {
    bundle = b, version = version, path = path, codes = class_codes(b),
    -- NaN and infinities are refused for networks (they turn them into garbage silently);
    -- estimators say themselves whether they take NaN
    network = b.is_net, fast = b.input and b.input.kind == "rows" and not b.pipeline and not b.pipe,
    k = b.kind == "classifier" and b.classes and #b.classes or 0,
  }
  -- metric labels, encoded once (the predict path uses them on every request)
  local L = ml.http.metrics.labels
  entry.labels = L({ model = state.name })
  entry.labels_mv = L({ model = state.name, version = tostring(version) })
  entry.labels_class = setmetatable({}, { __index = function(t, c)
    local l = L({ model = state.name, version = tostring(version), class = tostring(c) })
    rawset(t, c, l)
    return l
  end })
  local d = features_of(b)
  if d then
    entry.drift = drift.recorder(state.name, version, d, entry.k, b.stats, state.config.drift_threshold)
  end
  if entry.fast then warm_up(b, d, state.config.max_batch) end
  return entry
end

-- The file of a version: published by a worker, given at start, or found by a new look at the
-- model's directory (a version the watcher asks to activate; never a path from a request).
local function version_path(state, version)
  local p = versions.path(state.name, version) or state.paths[version]
  if p or not state.dir then return p end
  local ok, found = pcall(versions.scan, state.dir, state.name)
  if not ok then return nil end
  for _, v in ipairs(found[1] and found[1].versions or {}) do
    if v.version == version then state.paths[version] = v.path; return v.path end
  end
  return nil
end

-- The loaded entry of an explicit version (loaded on first use).
local function explicit_version(state, version)
  local e = state.loaded[version]
  if e then return e end
  local path = version_path(state, version)
  if not path then
    local known = versions.known(state.name)
    if #known == 0 then for v in pairs(state.paths) do known[#known + 1] = v end; table.sort(known) end
    bad(404, fmt("model '%s' has no version %d (versions: %s)", state.name, version,
      #known > 0 and table.concat(known, ", ") or "none"))
  end
  local ok, e2 = pcall(open_version, state, version, path)
  if not ok then bad(503, fmt("model '%s' version %d does not load: %s", state.name, version, tostring(e2))) end
  state.loaded[version] = e2
  return e2
end

-- Drops loaded versions other than keep (their drift sums flushed first).
local function unload_others(state, keep)
  for v, e in pairs(state.loaded) do
    if v ~= keep then
      if e.drift then pcall(e.drift.flush, e.drift) end
      state.loaded[v] = nil
    end
  end
end

-- The active version: the shared number, switched to lazily; until the new one loads, the old one serves.
local function active_version(state)
  local want = versions.active(state.name) or state.initial
  local cur = state.active and state.loaded[state.active]
  if cur and want == state.active then return cur end
  if state.failed[want] then
    if cur then return cur end
    bad(503, fmt("model '%s' is not ready: version %d does not load: %s", state.name, want, state.failed[want]))
  end
  local ok, e = pcall(explicit_version, state, want)
  if not ok then
    state.failed[want] = type(e) == "table" and e.error or tostring(e)
    io.stderr:write(fmt("serve: worker keeps model %s version %s: version %d does not load: %s\n",
      state.name, tostring(state.active), want, state.failed[want]))
    if cur then return cur end
    error(e, 0)
  end
  state.active = want
  unload_others(state, want)
  ml.http.metrics.set("moonlab_serve_model_version", { model = state.name }, want)
  return e
end

-- ---- requests ------------------------------------------------------------------------------------------

-- The first row holding a NaN or an infinity, or nil.
local function first_non_finite(X)
  -- the sum of finite values is finite (but for an overflow, which the scan below clears): one pass
  local total = X:sum():item()
  if total == total and total ~= math.huge and total ~= -math.huge then return nil end
  local rows = (X:isnan() + X:isinf()):sum(2):tolist()
  for i, v in ipairs(rows) do
    if v > 0 then
      local row = X:narrow(1, i, 1):reshape(X:size(2)):tolist()
      for j, x in ipairs(row) do
        if x ~= x or x == math.huge or x == -math.huge then return i, j, x end
      end
    end
  end
end

local function wanted_outputs(obj, classifier)
  local want_proba = false
  if obj.probabilities ~= nil then
    if type(obj.probabilities) ~= "boolean" then
      bad(400, fmt("\"probabilities\" must be true or false, got %s", ml.json.encode(obj.probabilities)))
    end
    want_proba = obj.probabilities
  end
  if obj["return"] ~= nil then
    local r = obj["return"]
    if type(r) ~= "table" then bad(400, "\"return\" must be a list such as [\"labels\", \"probabilities\"]") end
    for _, k in ipairs(r) do
      if not RETURN_KINDS[k] then
        bad(400, fmt("\"return\" holds %s; expected \"labels\" or \"probabilities\"", ml.json.encode(k)))
      end
      if k == "probabilities" then want_proba = true end
    end
  end
  if want_proba and not classifier then bad(400, "probabilities were asked of a regressor") end
  return want_proba
end

local function check_keys(obj)
  for k in pairs(obj) do
    if type(k) ~= "string" or (k ~= "inputs" and k ~= "instances" and k ~= "probabilities" and k ~= "return") then
      local hint = checks.suggest(tostring(k), BODY_KEYS)
      bad(400, fmt("unknown field '%s' in the request%s; expected {\"inputs\": [...]} or {\"instances\": [...]} " ..
        "with optional \"probabilities\" or \"return\"", tostring(k), hint and ("; did you mean '" .. hint .. "'?") or ""))
    end
  end
end

-- The model's input tensor from the request: numeric rows X (or nil) and the decoded object.
local function model_input(state, e, X, obj)
  local b, max_rows = e.bundle, state.config.max_rows
  if X then
    local n = X:dim() == 2 and X:size(1) or 0
    if n == 0 then bad(400, "empty batch: \"inputs\" holds no rows") end
    if max_rows and n > max_rows then bad(400, fmt("too many rows: %d, at most %d per request", n, max_rows)) end
    if e.fast then
      local d = b.input.features
      if d and X:size(2) ~= d then
        bad(400, fmt("inputs row 1 has %s, expected %d", plural(X:size(2), "value"), d))
      end
      if e.network then
        local i, j, v = first_non_finite(X)
        if i then
          bad(400, fmt("inputs row %d value %d is %s; this network takes finite numbers only", i, j,
            v ~= v and "NaN" or (v > 0 and "Infinity" or "-Infinity")))
        end
      end
      return X, true
    end
    return b:rows(X:tolist()), false
  end
  local rows = obj.inputs
  if rows == nil then rows = obj.instances end
  if rows == nil then bad(400, "expected {\"inputs\": [...]} or {\"instances\": [...]}, got no such field") end
  if type(rows) ~= "table" then bad(400, fmt("\"inputs\" must be a list of rows, got %s", ml.json.encode(rows))) end
  -- one object of named fields is one row
  if rows[1] == nil and next(rows) ~= nil then rows = { rows } end
  if #rows == 0 then bad(400, "empty batch: \"inputs\" holds no rows") end
  if max_rows and #rows > max_rows then bad(400, fmt("too many rows: %d, at most %d per request", #rows, max_rows)) end
  local Xin = b:rows(rows)
  if e.network and ml.is_tensor(Xin) and (Xin:dtype() == "float32" or Xin:dtype() == "float64") then
    local i, j, v = first_non_finite(Xin)
    if i then bad(400, fmt("inputs row %d value %d is %s; this network takes finite numbers only", i, j,
      v ~= v and "NaN" or (v > 0 and "Infinity" or "-Infinity"))) end
  end
  -- rows of numbers (a preprocess hook's decoded table, say) batch as parsed ones do
  return Xin, e.fast and ml.is_tensor(Xin) and Xin:dim() == 2 and Xin:dtype() == "float32"
end

-- The model's outputs for X (predict_tensor): merged with other callers' rows when batching is on.
local function outputs(state, e, X, numeric)
  local cfg, b = state.config, e.bundle
  if numeric and cfg.max_batch > 1 then
    local key = fmt("serve/%s/%d", state.name, e.version)
    return ml.http.batch(key, X, { max_batch = cfg.max_batch, max_delay_ms = cfg.max_delay_ms }, function(Xall)
      ml.http.metrics.observe("moonlab_serve_batch_size", e.labels, Xall:size(1), BATCH_BUCKETS)
      return b:predict_tensor(Xall)
    end)
  end
  ml.http.metrics.observe("moonlab_serve_batch_size", e.labels, X:size(1), BATCH_BUCKETS)
  return b:predict_tensor(X)
end

local function predict(state, e, req)
  local obj, X
  if state.hooks.preprocess then
    local r = state.hooks.preprocess(req)
    if type(r) == "string" then req.body = r elseif type(r) == "table" then obj = r end
  end
  if not obj then X, obj = ml.http.json_rows(req.body or "", { "inputs", "instances" }) end
  if type(obj) ~= "table" or (obj[1] ~= nil) then
    bad(400, "expected a JSON object {\"inputs\": [...]} or {\"instances\": [...]}")
  end
  check_keys(obj)
  local b = e.bundle
  local want_proba = wanted_outputs(obj, e.k > 0)
  local Xin, numeric = model_input(state, e, X, obj)
  local Y = outputs(state, e, Xin, numeric)
  local preds, proba = b:decode(Y, { proba = want_proba })
  if want_proba and not proba then bad(400, fmt("model '%s' gives no probabilities", state.name)) end
  local classes, vals = b.classes, preds
  if e.k > 0 then -- class numbers 1..K, for the counts
    vals = {}
    for i = 1, #preds do vals[i] = e.codes[preds[i]] or 0 end
  end
  local resp = { predictions = ml.json.array(preds), model = state.name, version = e.version }
  if want_proba then resp.probabilities = proba:tolist() end

  local n = #vals
  local metrics = ml.http.metrics
  metrics.inc("moonlab_serve_predictions_total", e.labels_mv, n)
  if e.k > 0 then
    if n == 1 then
      metrics.inc("moonlab_serve_predicted_class_total", e.labels_class[preds[1]])
    else
      local counts = {}
      for i = 1, n do local c = vals[i]; counts[c] = (counts[c] or 0) + 1 end
      for c, k in pairs(counts) do
        metrics.inc("moonlab_serve_predicted_class_total", e.labels_class[classes[c]], k)
      end
    end
  end
  if e.drift and ml.is_tensor(Xin) and Xin:dim() == 2 then e.drift:add(Xin, e.k > 0 and vals or nil) end
  if state.log then state.log:record(state.name, e.version, X or obj.inputs or obj.instances, preds) end

  if state.hooks.postprocess then
    local r = state.hooks.postprocess(resp, req)
    if type(r) == "table" then resp = r end
  end
  local text = ml.json.encode(resp)
  fast_path.install(state, e, req, req.generation, BATCH_BUCKETS)
  return 200, text, JSON
end

-- ---- the other routes ----------------------------------------------------------------------------------

local function model_info(state)
  local known = versions.known(state.name)
  if #known == 0 then for v in pairs(state.paths) do known[#known + 1] = v end; table.sort(known) end
  local info = { name = state.name, versions = ml.json.array(known),
    active_version = versions.active(state.name) or state.initial }
  local e = state.active and state.loaded[state.active]
  if e then
    local ok, sig = pcall(e.bundle.signature, e.bundle)
    if ok then info.signature = sig end
  end
  return info
end

local function metrics_text(app_state)
  for _, state in ipairs(app_state.order) do
    for v, e in pairs(state.loaded) do
      if e.drift then e.drift:flush() end
      if e.bundle.stats then pcall(drift.export, state.name, v, e.bundle.stats) end
    end
  end
  return 200, ml.http.metrics.text(), "text/plain; version=0.0.4; charset=utf-8"
end

local function ready(app_state)
  local missing = {}
  for _, state in ipairs(app_state.order) do
    local ok, err = pcall(active_version, state)
    if not ok then missing[#missing + 1] = type(err) == "table" and err.error or tostring(err) end
  end
  if #missing > 0 then return 503, { status = "loading", error = table.concat(missing, "; ") } end
  return 200, { status = "ready" }
end

local function model_state(app_state, name)
  local s = app_state.models[name]
  if not s then
    local names = {}
    for _, st in ipairs(app_state.order) do names[#names + 1] = st.name end
    local hint = checks.suggest(name, names)
    bad(404, fmt("no model '%s' (models: %s)%s", name, table.concat(names, ", "),
      hint and ("; did you mean '" .. hint .. "'?") or ""))
  end
  return s
end

local function activate(state, version)
  local e = explicit_version(state, version)
  local d = features_of(e.bundle)
  local ok, err = true, nil
  if d then ok, err = pcall(e.bundle.predict, e.bundle, ml.zeros(1, d)) end
  if not ok then
    bad(409, fmt("model '%s' version %d fails its check: %s", state.name, version, tostring(err)))
  end
  versions.publish(state.name, version, e.path)
  versions.activate(state.name, version)
  io.stderr:write(fmt("serve: model %s: version %d activated\n", state.name, version))
  return 200, { model = state.name, version = version, status = "active" }
end

local function method_not_allowed(allow)
  return 405, ml.json.encode({ error = "method not allowed; use " .. allow }), { ["content-type"] = JSON, allow = allow }
end

-- ---- routing -------------------------------------------------------------------------------------------

local function route(app_state, req)
  local path, method = req.path or "/", req.method
  local function only(m, label, fn)
    req.route = label
    if method ~= m then return method_not_allowed(m) end
    return fn()
  end
  if path == "/predict" then
    return only("POST", "/predict", function()
      local state = app_state.order[1]
      return predict(state, active_version(state), req)
    end)
  elseif path == "/health" then
    return only("GET", "/health", function() return 200, { status = "ok" } end)
  elseif path == "/ready" then
    return only("GET", "/ready", function() return ready(app_state) end)
  elseif path == "/metrics" then
    return only("GET", "/metrics", function() return metrics_text(app_state) end)
  elseif path == "/v1/models" or path == "/v1/models/" then
    return only("GET", "/v1/models", function()
      local list = {}
      for i, state in ipairs(app_state.order) do list[i] = model_info(state) end
      return 200, ml.json.encode({ models = ml.json.array(list) }), JSON
    end)
  end
  local name, rest = path:match("^/v1/models/([^/:]+)(.*)$")
  if not name then
    req.route = "other"
    bad(404, fmt("no route %s %s; routes: POST /predict, POST /v1/models/NAME[/versions/N]:predict, " ..
      "GET /health, /ready, /metrics, /v1/models", tostring(method), path))
  end
  if rest == "" then
    return only("GET", "/v1/models/NAME", function()
      return 200, ml.json.encode(model_info(model_state(app_state, name))), JSON
    end)
  elseif rest == ":predict" then
    return only("POST", "/v1/models/NAME:predict", function()
      local state = model_state(app_state, name)
      return predict(state, active_version(state), req)
    end)
  end
  local v, action = rest:match("^/versions/(%d+)(.*)$")
  v = v and math.tointeger(tonumber(v))
  if v and action == ":predict" then
    return only("POST", "/v1/models/NAME/versions/N:predict", function()
      local state = model_state(app_state, name)
      return predict(state, explicit_version(state, v), req)
    end)
  elseif v and action == ":activate" then
    return only("POST", "/v1/models/NAME/versions/N:activate", function()
      return activate(model_state(app_state, name), v)
    end)
  elseif v and action == "" then
    return only("GET", "/v1/models/NAME/versions/N", function()
      local state = model_state(app_state, name)
      local e = explicit_version(state, v)
      return 200, ml.json.encode(e.bundle:signature()), JSON
    end)
  end
  req.route = "other"
  bad(404, fmt("no route %s %s; model routes: /v1/models/NAME, /v1/models/NAME:predict, " ..
    "/v1/models/NAME/versions/N:predict, /v1/models/NAME/versions/N:activate", tostring(method), path))
end

--- app.init(config) -> handler(req) -> status, body, headers: the model server's routes in one worker state
function app.init(config)
  config = config or {}
  -- a fresh worker state knows no class yet: what a bundle may hold (estimators, transformers) is defined first
  for _, m in ipairs({ "moonlab.models", "moonlab.prep", "moonlab.nn" }) do pcall(require, m) end
  config.max_batch = math.tointeger(config.max_batch) or 1
  config.max_delay_ms = config.max_delay_ms or 2
  local app_state = { models = {}, order = {}, config = config }
  local packed_hooks = hooks_mod.unpack(config.hooks)
  local log = config.request_log and request_log.open(config.request_log, config.log_sample or 1) or nil
  for _, m in ipairs(config.models or {}) do
    local paths = {}
    for _, v in ipairs(m.versions or {}) do paths[math.tointeger(v.version)] = v.path end
    local state = { name = m.name, dir = m.dir, paths = paths, initial = math.tointeger(m.active), loaded = {}, failed = {},
      config = config, hooks = packed_hooks, log = log }
    app_state.models[m.name] = state
    app_state.order[#app_state.order + 1] = state
    pcall(active_version, state) -- load now; a failure shows in /ready and in the answers
  end
  if #app_state.order == 0 then error("serve.app: the config names no model", 0) end
  return function(req)
    -- read before the routes look at the active versions: a C route installed after this request is stale
    -- as soon as any of them changes (fast_path.lua)
    if req.method == "POST" then req.generation = fast_path.generation() end
    return route(app_state, req)
  end
end

ml.doc(app.init, "serve.app.init(config) -> handler — the model server's routes (predict, versions, health, ready, metrics) in one worker state")

return app
