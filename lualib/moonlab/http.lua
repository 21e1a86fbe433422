--- ml.http: the HTTP layer under the model server and the dashboard.
--
-- ml.http.serve{app = "module.name", config = {...}, ...} starts a server in
-- its own threads (libmicrohttpd, runtime/net/) and returns at once. Every
-- worker thread owns a fresh moonlab Lua state that requires `app` and calls
-- app.init(config) once; the handler it returns answers each request:
--   handler(req) -> status, body, headers
-- req = {method, path, query, headers (lower-case names), body, remote}; body
-- a string or a table (JSON-encoded); headers a table or a content-type
-- string; setting req.route names the route in the metrics. Raising
-- {status = 400, error = "..."} answers that status with {"error": "..."};
-- any other error answers 500 and the worker keeps serving.
--
-- Inside a worker, ml.http.metrics, ml.http.shared and ml.http.batch reach
-- state shared by all workers of the server (in C, thread-safe). Outside a
-- worker the server object's srv:metrics_text() reads the metrics.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local C = ml._http
local fmt = string.format
local http = {}

-- ---- the server ------------------------------------------------------------

local Server = {}
Server.__index = Server
Server.__name = "ml.http.Server"

--- srv:wait([grace_s=30]) -> signal name: blocks until SIGTERM/SIGINT, then stops gracefully
function Server:wait(grace) return self._h:wait(grace) end
--- srv:stop([grace_s=30]): stops accepting, lets in-flight requests finish (up to grace_s), joins the workers
function Server:stop(grace) self._h:stop(grace) end
--- srv:metrics_text() -> the Prometheus text of the server's metrics, from the calling state
function Server:metrics_text() return self._h:metrics_text() end
function Server:__tostring() return fmt("ml.http.Server(%s)", self.url) end
Server.__close = function(self) self._h:stop(0) end

local SERVE_OPTIONS = { "app", "config", "host", "port", "workers", "worker_threads", "max_connections", "body_limit", "timeout",
  "token", "tls_cert", "tls_key", "quiet" }

local function read_pem(what, path)
  checks.string("ml.http.serve", what, path)
  local f, err = io.open(path, "rb")
  if not f then checks.fail(fmt("ml.http.serve: cannot read %s '%s': %s", what, path, err:gsub("^[^:]*: ", ""))) end
  local s = f:read("a")
  f:close()
  if not s:find("-----BEGIN", 1, true) then checks.fail(fmt("ml.http.serve: %s '%s' is not a PEM file", what, path)) end
  return s
end

function http.serve(opts)
  local fn = "ml.http.serve"
  if type(opts) ~= "table" then checks.fail(fn .. ": expected a table of options, got " .. type(opts)) end
  checks.options(fn, opts, SERVE_OPTIONS)
  local app = checks.string(fn, "app (a module name)", opts.app)
  local config = opts.config or {}
  if type(config) ~= "table" then checks.fail(fn .. ": config must be a table of plain data, got " .. type(config)) end
  local ok, text = pcall(ml.json.encode, { c = next(config) == nil and ml.json.object() or config, quiet = opts.quiet == true })
  if not ok then checks.fail(fn .. ": config must be JSON-encodable: " .. tostring(text)) end
  if (opts.tls_cert == nil) ~= (opts.tls_key == nil) then checks.fail(fn .. ": tls_cert and tls_key go together") end
  local args = {
    app = app, config = text,
    host = checks.string(fn, "host", opts.host, "127.0.0.1"),
    port = checks.integer(fn, "port", opts.port == nil and 8080 or opts.port, 0, 65535),
    workers = checks.integer(fn, "workers", opts.workers == nil and 2 or opts.workers, 1, 1024),
    -- each worker's threads: ml.threads shared out among the workers unless given
    worker_threads = opts.worker_threads ~= nil and checks.integer(fn, "worker_threads", opts.worker_threads, 1, 1024) or nil,
    max_connections = checks.integer(fn, "max_connections", opts.max_connections == nil and 256 or opts.max_connections, 1, 65536),
    body_limit = checks.integer(fn, "body_limit", opts.body_limit == nil and 1048576 or opts.body_limit, 0),
    timeout = checks.integer(fn, "timeout", opts.timeout == nil and 10 or opts.timeout, 1, 86400),
    token = opts.token ~= nil and checks.string(fn, "token", opts.token) or nil,
    tls_cert = opts.tls_cert and read_pem("tls_cert", opts.tls_cert) or nil,
    tls_key = opts.tls_key and read_pem("tls_key", opts.tls_key) or nil,
    quiet = checks.boolean(fn, "quiet", opts.quiet, false),
    path = package.path, cpath = package.cpath,
  }
  local okh, h = pcall(C.serve, args)
  if not okh then checks.fail((tostring(h):find("^ml%.http%.serve") and "" or fn .. ": ") .. tostring(h)) end
  local port = h:port()
  local host = args.host:find(":", 1, true) and ("[" .. args.host .. "]") or args.host
  return setmetatable({ _h = h, port = port, host = args.host,
    url = fmt("%s://%s:%d", args.tls_cert and "https" or "http", host, port) }, Server)
end

-- ---- inside a worker: the dispatch of each request --------------------------

local function log(quiet, req, msg)
  if not quiet then io.stderr:write(fmt("http: %s %s: %s\n", req.method, req.path, msg)) end
end

local function json_error(status, msg)
  return status, ml.json.encode({ error = msg }), "application/json"
end

-- status, body, headers from a handler -> status, body text, content type, headers, route
local function answer(req, status, body, headers)
  local s = math.tointeger(status)
  if not s or s < 100 or s > 599 then
    return json_error(500, fmt("handler returned status %s (expected an integer in 100..599)", tostring(status)))
  end
  local ctype, extra
  if type(headers) == "string" then ctype = headers
  elseif type(headers) == "table" then
    extra = {}
    for k, v in pairs(headers) do
      if type(k) == "string" and k:lower() == "content-type" then ctype = tostring(v)
      elseif type(k) == "string" then extra[k] = tostring(v) end
    end
  end
  if type(body) == "table" then
    body = ml.json.encode(body)
    ctype = ctype or "application/json"
  elseif body == nil then body = ""
  elseif type(body) ~= "string" then body = tostring(body) end
  return s, body, ctype or "text/plain; charset=utf-8", extra, req.route
end

-- The worker's entry (called from C in each fresh state): the app's handler wrapped in the dispatch.
function http._worker_start(app, config_json)
  local cfg = ml.json.decode(config_json)
  local mod = require(app)
  if type(mod) ~= "table" or type(mod.init) ~= "function" then
    error(fmt("ml.http.serve: app '%s' must return a table with init(config) -> handler", app), 0)
  end
  local handler = mod.init(cfg.c)
  local mt = type(handler) == "table" and getmetatable(handler)
  if type(handler) ~= "function" and not (mt and mt.__call) then
    error(fmt("ml.http.serve: %s.init(config) must return a handler function, got %s", app, type(handler)), 0)
  end
  local quiet = cfg.quiet
  local function fail(req, err)
    if type(err) == "table" and math.tointeger(err.status) then
      local status, text, ct = json_error(math.tointeger(err.status), tostring(err.error or err.message or "error"))
      return status, text, ct, nil, req.route
    end
    local msg = tostring(err)
    log(quiet, req, msg)
    local status, text, ct = json_error(500, msg)
    return status, text, ct, nil, req.route
  end
  return function(req)
    local ok, status, body, headers = pcall(handler, req)
    if not ok then return fail(req, status) end
    local ok2, s, b, ct, h, route = pcall(answer, req, status, body, headers)
    if not ok2 then return fail(req, s) end
    return s, b, ct, h, route
  end
end

-- ---- metrics, shared state -------------------------------------------------

local Labels = {} -- metrics.labels{...}: labels encoded once, for a hot path
Labels.__index = Labels
Labels.__newindex = function() error("ml.http.metrics.labels: a labels object cannot be changed", 2) end

local function labels_of(fn, labels)
  if labels == nil then return nil end
  if type(labels) ~= "table" then checks.fail(fmt("%s: labels must be a table or nil, got %s", fn, type(labels))) end
  if getmetatable(labels) == Labels then return rawget(labels, 1) end
  local parts = {}
  for k, v in pairs(labels) do
    if type(k) ~= "string" then checks.fail(fn .. ": label names must be strings") end
    local tv = type(v)
    if tv ~= "string" and tv ~= "number" and tv ~= "boolean" then
      checks.fail(fmt("%s: label '%s' must be a string or number, got %s", fn, k, tv))
    end
    v = tostring(v)
    if k:find("\0", 1, true) or v:find("\0", 1, true) then checks.fail(fn .. ": labels cannot hold NUL bytes") end
    parts[#parts + 1] = k .. "\0" .. v .. "\0"
  end
  return table.concat(parts)
end

local metrics = {}
--- ml.http.metrics.labels(t) -> labels encoded once, to pass to inc/set/observe again and again (a request's hot path)
function metrics.labels(t)
  return setmetatable({ labels_of("ml.http.metrics.labels", t) or "" }, Labels)
end
--- ml.http.metrics.inc(name, [labels], [v=1]): adds v (>= 0) to a counter shared by the server's workers
function metrics.inc(name, labels, v)
  C.metrics_add("counter", checks.string("ml.http.metrics.inc", "name", name),
    labels_of("ml.http.metrics.inc", labels), v == nil and 1 or checks.number("ml.http.metrics.inc", "v", v), false)
end
--- ml.http.metrics.set(name, [labels], v): sets a gauge
function metrics.set(name, labels, v)
  C.metrics_add("gauge", checks.string("ml.http.metrics.set", "name", name),
    labels_of("ml.http.metrics.set", labels), checks.number("ml.http.metrics.set", "v", v), true)
end
--- ml.http.metrics.observe(name, [labels], v, [buckets]): one observation of a histogram (buckets fixed at first use)
function metrics.observe(name, labels, v, buckets)
  C.metrics_observe(checks.string("ml.http.metrics.observe", "name", name),
    labels_of("ml.http.metrics.observe", labels), checks.number("ml.http.metrics.observe", "v", v), buckets)
end
--- ml.http.metrics.help(name, text, kind): the # HELP text and # TYPE (counter, gauge or histogram) of a metric
function metrics.help(name, text, kind)
  kind = checks.one_of("ml.http.metrics.help", "kind", kind, { "counter", "gauge", "histogram" })
  C.metrics_help(checks.string("ml.http.metrics.help", "name", name), tostring(text or ""), kind)
end
--- ml.http.metrics.text() -> the Prometheus text exposition (format 0.0.4) of every metric of the server
function metrics.text() return C.metrics_text() end
http.metrics = metrics

local shared = {}
--- ml.http.shared.set(key, s): stores a string shared by the server's workers
function shared.set(key, s)
  if type(s) ~= "string" then checks.fail("ml.http.shared.set: value must be a string, got " .. type(s)) end
  C.shared_set(checks.string("ml.http.shared.set", "key", key), s)
end
--- ml.http.shared.get(key) -> the string stored under key, or nil
function shared.get(key) return C.shared_get(checks.string("ml.http.shared.get", "key", key)) end
--- ml.http.shared.acc_add(key, t): adds a 1-D tensor (as float64) elementwise into a shared vector (created at first add)
function shared.acc_add(key, t)
  checks.tensor("ml.http.shared.acc_add", "t", t)
  if t:dim() ~= 1 then checks.fail(fmt("ml.http.shared.acc_add: t must be 1-D, got %d-D", t:dim())) end
  C.acc_add(checks.string("ml.http.shared.acc_add", "key", key), t:to("float64"):contiguous())
end
--- ml.http.shared.acc_get(key) -> a float64 copy of the shared vector, or nil
function shared.acc_get(key) return C.acc_get(checks.string("ml.http.shared.acc_get", "key", key)) end
http.shared = shared

-- ---- dynamic batching --------------------------------------------------------

-- fn's results checked and made contiguous, so C copies rows out of plain arrays.
local function checked(fn, n, ...)
  local outs = table.pack(...)
  if outs.n < 1 or outs.n > 4 then error(fmt("ml.http.batch: fn must return 1 to 4 tensors, got %d values", outs.n), 0) end
  for i = 1, outs.n do
    local y = outs[i]
    if not ml.is_tensor(y) then error(fmt("ml.http.batch: fn's result %d is %s, expected a tensor", i, type(y)), 0) end
    if y:dim() < 1 or y:size(1) ~= n then
      error(fmt("ml.http.batch: fn's result %d has %s rows, expected %d (one per input row)", i,
        y:dim() < 1 and "no" or tostring(y:size(1)), n), 0)
    end
    outs[i] = y:contiguous()
  end
  return table.unpack(outs, 1, outs.n)
end

local BATCH_OPTIONS = { "max_batch", "max_delay_ms", "eager" }
function http.batch(key, X, opts, fn)
  local name = "ml.http.batch"
  checks.string(name, "key", key)
  checks.tensor(name, "X", X)
  if X:dim() ~= 2 then checks.fail(fmt("%s: X must be a 2-D tensor of rows, got %d-D", name, X:dim())) end
  if X:size(1) == 0 then checks.fail(name .. ": X has no rows") end
  if fn == nil and type(opts) == "function" then opts, fn = nil, opts end
  opts = checks.options(name, opts, BATCH_OPTIONS)
  checks.func(name, "fn", fn)
  local max_batch = checks.integer(name, "max_batch", opts.max_batch == nil and 64 or opts.max_batch, 1)
  local delay = checks.number(name, "max_delay_ms", opts.max_delay_ms == nil and 2 or opts.max_delay_ms, 0, 60000)
  -- eager (default): the batch runs as soon as no request in the server could still join it
  local eager = checks.boolean(name, "eager", opts.eager, true)
  local r = table.pack(C.batch(key, X:contiguous(), max_batch, delay,
    function(all) return checked(fn, all:size(1), fn(all)) end, eager))
  if r[1] == nil and r.n == 3 then
    if r[2] ~= 0 then error({ status = r[2], error = r[3] }, 0) end
    error(r[3], 0)
  end
  return table.unpack(r, 1, r.n)
end

-- ---- JSON rows -----------------------------------------------------------------

local DEFAULT_KEYS = { "inputs", "instances" }
function http.json_rows(text, keys)
  if type(text) ~= "string" then checks.fail("ml.http.json_rows: text must be a string, got " .. type(text)) end
  keys = keys or DEFAULT_KEYS
  if type(keys) == "string" then keys = { keys } end
  local X, rest, kind, msg = C.json_rows(text, keys)
  if kind == "json" then
    local at, what = msg:match("^byte (%d+): (.*)$")
    error({ status = 400, error = at and fmt("invalid JSON at byte %s: %s", at, what) or ("invalid JSON: " .. msg) }, 0)
  elseif kind == "rows" then
    error({ status = 400, error = msg }, 0)
  end
  if X then return X, ml.json.decode(rest) end
  return nil, ml.json.decode(text)
end

-- ---- the client -------------------------------------------------------------------

local REQUEST_OPTIONS = { "method", "url", "body", "headers", "timeout" }
function http.request(opts)
  local fn = "http.request"
  if type(opts) == "string" then opts = { url = opts } end
  if type(opts) ~= "table" then checks.fail(fn .. ": expected a table {url = ..., ...}, got " .. type(opts)) end
  checks.options(fn, opts, REQUEST_OPTIONS)
  local url = checks.string(fn, "url", opts.url)
  local method = checks.string(fn, "method", opts.method, opts.body and "POST" or "GET"):upper()
  local body = opts.body
  if type(body) == "table" then body = ml.json.encode(body) end
  if body ~= nil and type(body) ~= "string" then checks.fail(fn .. ": body must be a string or a table, got " .. type(body)) end
  local names, values = {}, {}
  local has_ct = false
  for k, v in pairs(opts.headers or {}) do
    names[#names + 1], values[#values + 1] = tostring(k), tostring(v)
    if tostring(k):lower() == "content-type" then has_ct = true end
  end
  if type(opts.body) == "table" and not has_ct then
    names[#names + 1], values[#values + 1] = "Content-Type", "application/json"
  end
  local timeout = checks.number(fn, "timeout", opts.timeout == nil and 5 or opts.timeout, 0)
  local ok, status, rbody, headers = pcall(C.request, method, url, body, names, values, timeout)
  if not ok then checks.fail(status) end
  return status, rbody, headers
end

-- ---- docs ---------------------------------------------------------------------------

ml.doc(http.serve, "ml.http.serve{app, config, host='127.0.0.1', port=8080 (0: free), workers=2, max_connections=256, "
  .. "body_limit=1048576, timeout=10, token, tls_cert, tls_key, quiet} -> srv (srv.port, srv.url, srv:wait(), srv:stop()): "
  .. "an HTTP/1.1 server in its own threads; each worker Lua state runs require(app).init(config) -> handler(req)")
ml.doc(http.batch, "ml.http.batch(key, X, {max_batch=64, max_delay_ms=2, eager=true}, fn) -> Y1, ... — inside a worker: "
  .. "concurrent callers' rows merged into one fn(Xall) call; each caller gets its own rows of each result "
  .. "(a call that cannot park, e.g. from a coroutine of the handler's own, runs fn on its rows alone)")
ml.doc(http.json_rows, "ml.http.json_rows(text, [keys={'inputs','instances'}]) -> X|nil, obj — parses a JSON body in C; "
  .. "numeric rows under the first present key as a float32 [n, d] tensor, obj the rest; bad JSON raises {status=400, error}")
ml.doc(http.request, "ml.http.request{method='GET', url, body (string or table: JSON), headers, timeout=5} -> status, body, "
  .. "headers — a small blocking HTTP/1.1 client (http only)")
ml.doc(http.metrics, "ml.http.metrics — inside a worker: inc, set, observe, help, text (Prometheus text format 0.0.4)")
ml.doc(http.shared, "ml.http.shared — inside a worker: set/get strings, acc_add/acc_get float64 vectors, shared by all workers")
ml.doc(Server.wait, "srv:wait([grace_s=30]) -> 'SIGTERM'|'SIGINT' — blocks until a signal, then stops gracefully (stop accepting, finish in-flight, join)")
ml.doc(Server.stop, "srv:stop([grace_s=30]) — the same graceful stop, from Lua")
ml.doc(Server.metrics_text, "srv:metrics_text() -> string — the server's Prometheus metrics, read from the state that started it")
ml.doc(metrics.inc, "ml.http.metrics.inc(name, [labels], [v=1]) — adds to a counter shared by the server's workers")
ml.doc(metrics.set, "ml.http.metrics.set(name, [labels], v) — sets a gauge")
ml.doc(metrics.observe, "ml.http.metrics.observe(name, [labels], v, [buckets]) — one histogram observation (buckets fixed at first use)")
ml.doc(metrics.help, "ml.http.metrics.help(name, text, 'counter'|'gauge'|'histogram') — the # HELP and # TYPE lines of a metric")
ml.doc(metrics.text, "ml.http.metrics.text() -> string — the Prometheus text of every metric of the server, the C layer's included")
ml.doc(shared.set, "ml.http.shared.set(key, s) — a small string shared by the server's workers")
ml.doc(shared.get, "ml.http.shared.get(key) -> string|nil")
ml.doc(shared.acc_add, "ml.http.shared.acc_add(key, t) — adds a 1-D tensor (as float64) into a shared vector; a length change is an error")
ml.doc(shared.acc_get, "ml.http.shared.acc_get(key) -> float64 tensor (a copy) | nil")
ml.doc(http, "ml.http — the HTTP layer (libmicrohttpd): serve, request, json_rows, batch, metrics, shared")

return http
