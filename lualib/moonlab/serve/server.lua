--- moonlab.serve.server: ml.serve{model = ..., ...} — starts the model server
-- (ml.http.serve with the app of serve/app.lua in every worker) and the watcher
-- of versions in the calling state.
--
--   local srv = ml.serve{model = "models/fashion", port = 0, workers = 2, max_batch = 32,
--                        preprocess = function(req) ... end}
--   srv.url; srv:poll() (one watcher step); srv:wait() (until SIGTERM, polling); srv:stop()
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local versions = require "moonlab.serve.versions"
local watcher_mod = require "moonlab.serve.watcher"
local hooks = require "moonlab.serve.hooks"

local fmt = string.format
local server = {}

local FN = "ml.serve"
local OPTIONS = {
  "model", "models", "name", "version", "host", "port", "workers", "max_batch", "max_delay_ms", "max_rows",
  "body_limit", "timeout", "max_connections", "token", "tls_cert", "tls_key", "request_log", "log_sample",
  "drift_threshold", "preprocess", "postprocess", "quiet", "poll", "log", "fast_path",
}
local HTTP_OPTIONS = { "host", "port", "workers", "body_limit", "timeout", "max_connections", "token",
  "tls_cert", "tls_key", "quiet" }

local Server = {}
Server.__index = Server

-- The models to serve: opts.model (a file or a directory) or opts.models ({name = path} or a list of paths).
local function collect_models(opts)
  local list = {}
  local function add(path, name)
    if type(path) ~= "string" then checks.fail(fmt("%s: a model must be a path, got %s", FN, type(path))) end
    if not name and require("lfs").attributes(path, "mode") == "file" then
      -- one file: the model's name is the one its bundle carries (else the file's)
      local okb, b = pcall(require("moonlab.serve.bundle").load, path)
      if okb then name = b.name end
    end
    local ok, found = pcall(versions.scan, path, name)
    if not ok then checks.fail(FN .. ": " .. tostring(found):gsub("^serve: ", "")) end
    for _, m in ipairs(found) do list[#list + 1] = m end
  end
  if opts.model ~= nil then add(opts.model, opts.name) end
  if opts.models ~= nil then
    if type(opts.models) ~= "table" then checks.fail(FN .. ": models must be a table {name = path} or a list of paths") end
    for k, v in pairs(opts.models) do add(v, type(k) == "string" and k or nil) end
  end
  if #list == 0 then checks.fail(FN .. ": give model = PATH (a model file or a directory of versions) or models = {...}") end
  local seen = {}
  for _, m in ipairs(list) do
    if seen[m.name] then checks.fail(fmt("%s: two models are named '%s'", FN, m.name)) end
    if #m.versions == 0 then checks.fail(fmt("%s: model '%s' (%s) has no version yet", FN, m.name, m.dir or "?")) end
    seen[m.name] = true
  end
  return list
end

local function pins_of(opts, models)
  local pins = {}
  if opts.version == nil then return pins end
  if type(opts.version) == "table" then
    for k, v in pairs(opts.version) do pins[k] = checks.integer(FN, "version of " .. tostring(k), v, 1) end
  else
    if #models ~= 1 then checks.fail(FN .. ": version = N pins one model; give version = {name = N} for several") end
    pins[models[1].name] = checks.integer(FN, "version", opts.version, 1)
  end
  return pins
end

--- server.start(opts) -> srv: ml.serve{...}, the model server (see the module's doc)
function server.start(opts)
  opts = checks.options(FN, opts, OPTIONS)
  local models = collect_models(opts)
  local max_batch = checks.integer(FN, "max_batch", opts.max_batch or 1, 1, 1 << 16)
  local max_delay = checks.number(FN, "max_delay_ms", opts.max_delay_ms or 2, 0, 10000)
  local max_rows = opts.max_rows and checks.integer(FN, "max_rows", opts.max_rows, 1) or 10000
  local sample = checks.number(FN, "log_sample", opts.log_sample or 1, 0, 1)
  local threshold = opts.drift_threshold and checks.number(FN, "drift_threshold", opts.drift_threshold, 0)
  local poll_s = checks.number(FN, "poll", opts.poll or 1, 0.01, 3600)
  local log = opts.log or function(line) io.stderr:write(line, "\n") end
  local packed = hooks.pack_all(opts, FN)

  local self = setmetatable({ poll_s = poll_s, token = opts.token }, Server)
  local w = watcher_mod.new(models, { pins = pins_of(opts, models), log = log,
    activate = function(name, version) return self:_activate(name, version) end })
  local ok, initial = pcall(w.initial, w)
  if not ok then checks.fail(FN .. ": " .. tostring(initial):gsub("^serve: ", "")) end

  local http_opts = {}
  for _, k in ipairs(HTTP_OPTIONS) do http_opts[k] = opts[k] end
  http_opts.app = "moonlab.serve.app"
  http_opts.config = {
    models = initial, max_batch = max_batch, max_delay_ms = max_delay, max_rows = max_rows,
    request_log = opts.request_log, log_sample = sample, hooks = packed, drift_threshold = threshold,
    fast_path = checks.boolean(FN, "fast_path", opts.fast_path, true),
  }
  local srv = ml.http.serve(http_opts)
  self.http, self.port, self.url, self.watcher, self.models = srv, srv.port, srv.url, w, initial
  return self
end

-- Switches the server to a version through its own route (the workers own the shared store).
function Server:_activate(name, version)
  local headers = self.token and { authorization = "Bearer " .. self.token } or nil
  local ok, status, body = pcall(ml.http.request, { method = "POST", headers = headers, timeout = 60,
    url = fmt("%s/v1/models/%s/versions/%d:activate", self.url, name, version) })
  if not ok then return false, status end
  if status ~= 200 then
    local dok, obj = pcall(ml.json.decode, body)
    return false, fmt("%d %s", status, dok and type(obj) == "table" and obj.error or body)
  end
  return true
end

--- srv:poll(): one step of the watcher (new versions settled, checked, switched to); srv:wait() calls it every poll seconds
function Server:poll() self.watcher:poll() end

--- srv:wait(): serves until SIGTERM/SIGINT, polling the watcher meanwhile; then stops gracefully and returns
function Server:wait()
  local stop = ml._stop
  stop.begin()
  while not stop.pending() and not self.stopped do
    local ok, err = pcall(self.poll, self)
    if not ok then io.stderr:write("serve: the watcher failed: ", tostring(err), "\n") end
    stop.sleep(self.poll_s)
  end
  local sig = stop.pending()
  stop.finish()
  self:stop()
  return sig
end

--- srv:stop(): stops accepting, finishes the requests in flight, returns
function Server:stop()
  if self.stopped then return end
  self.stopped = true
  return self.http:stop()
end

ml.doc(server.start, "ml.serve{model = path, ...} -> srv — starts the model server: routes /predict, /v1/models..., /health, /ready, /metrics; srv.url, srv:wait(), srv:stop(), srv:poll()")

return { start = server.start }
