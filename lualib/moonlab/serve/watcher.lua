--- moonlab.serve.watcher: the one place that loads, checks and switches model
-- versions, and watches the drift scores (it runs in the state that started the
-- server, polled about once a second).
--
-- A new version dropped into a watched directory is taken when its file has the
-- same mtime and size on two polls (a half-copied file is not loaded), then it
-- must load and answer a probe prediction on a row of the right width; only then
-- is it published and made active (versions.activate), and the workers switch to
-- it lazily. A version that fails is refused with a log line and the old one keeps
-- serving; it is tried again only when its file changes.
local ml = require "moonlab"
local bundle = require "moonlab.serve.bundle"
local versions = require "moonlab.serve.versions"
local drift = require "moonlab.serve.drift"

local fmt = string.format
local watcher = {}

local Watcher = {}
Watcher.__index = Watcher

local function features_of(b)
  if b.input and b.input.kind == "rows" then return b.input.features end
  if b.stats and b.stats.features and b.input and b.input.kind ~= "fields" then return #b.stats.features end
  return nil
end

--- watcher.check(path) -> bundle: loads a version and runs a probe prediction on one row of zeros
function watcher.check(path)
  local b = bundle.load(path)
  local d = features_of(b)
  if d then b:predict(ml.zeros(1, d), { proba = false }) end
  return b
end

--- watcher.new(models, [{pins = {name = N}, log = fn, drift_threshold = x}]) -> w: models from versions.scan
function watcher.new(models, opts)
  opts = opts or {}
  local self = setmetatable({
    models = {}, order = {}, pins = opts.pins or {}, threshold = opts.drift_threshold,
    log = opts.log or function(line) io.stderr:write(line, "\n") end,
  }, Watcher)
  for _, m in ipairs(models) do
    local st = { name = m.name, dir = m.dir, seen = {}, pending = {}, refused = {}, bundles = {}, drift_state = {},
      max_seen = 0 }
    self.models[m.name] = st
    self.order[#self.order + 1] = st
    for _, v in ipairs(m.versions) do
      st.seen[v.version] = v.path
      if v.version > st.max_seen then st.max_seen = v.version end
    end
  end
  return self
end

-- The version to start with: the pinned one, else the newest that passes its check.
function Watcher:choose(st)
  local list = {}
  for v in pairs(st.seen) do list[#list + 1] = v end
  table.sort(list, function(a, b) return a > b end)
  local pin = self.pins[st.name]
  if pin then
    if not st.seen[pin] then
      error(fmt("serve: model '%s' has no version %d to pin (versions: %s)", st.name, pin,
        table.concat(list, ", ")), 0)
    end
    list = { pin }
  end
  local errors = {}
  for _, v in ipairs(list) do
    local ok, b = pcall(watcher.check, st.seen[v])
    if ok then
      st.bundles[v] = b
      return v
    end
    errors[#errors + 1] = fmt("version %d (%s): %s", v, st.seen[v], tostring(b))
    self.log(fmt("serve: model %s: version %d refused: %s", st.name, v, tostring(b)))
  end
  error(fmt("serve: model '%s' has no version that loads: %s", st.name, table.concat(errors, "; ")), 0)
end

--- w:initial() -> {{name, active, versions = {{version, path}...}}...}: checks and chooses the versions to start with
function Watcher:initial()
  local out = {}
  for _, st in ipairs(self.order) do
    st.active = self:choose(st)
    local vs = {}
    for v, p in pairs(st.seen) do vs[#vs + 1] = { version = v, path = p } end
    table.sort(vs, function(a, b) return a.version < b.version end)
    out[#out + 1] = { name = st.name, active = st.active, versions = vs }
  end
  return out
end

--- w:publish(): writes every known version and the active ones into ml.http.shared (after the server started)
function Watcher:publish()
  for _, st in ipairs(self.order) do
    for v, p in pairs(st.seen) do versions.publish(st.name, v, p) end
    versions.activate(st.name, st.active)
  end
end

-- A new version whose file has settled: checked, then published and activated (unless pinned).
function Watcher:take(st, v, path, sig)
  local ok, b = pcall(watcher.check, path)
  if not ok then
    st.refused[v] = sig
    self.log(fmt("serve: model %s: version %d refused, version %d keeps serving: %s", st.name, v, st.active, tostring(b)))
    return false
  end
  st.seen[v] = path
  st.bundles[v] = b
  versions.publish(st.name, v, path)
  if v > st.max_seen then st.max_seen = v end
  if self.pins[st.name] then
    self.log(fmt("serve: model %s: version %d is ready; version %d stays active (pinned)", st.name, v, st.active))
  elseif v >= st.max_seen then
    versions.activate(st.name, v)
    self.log(fmt("serve: model %s: switched to version %d (was %d)", st.name, v, st.active))
    st.active = v
  end
  return true
end

--- w:poll(): one look at the watched directories (new versions, then the drift scores)
function Watcher:poll()
  for _, st in ipairs(self.order) do
    if st.dir and ml.http then
      local ok, list = pcall(function()
        local out = versions.scan(st.dir, st.name)
        return out[1] and out[1].versions or {}
      end)
      if ok then
        for _, e in ipairs(list) do
          local v = e.version
          if not st.seen[v] or st.seen[v] ~= e.path then
            local sig = versions.signature(e.path)
            if sig and st.refused[v] ~= sig then
              if st.pending[v] == sig then
                st.pending[v] = nil
                self:take(st, v, e.path, sig)
              else
                st.pending[v] = sig -- taken when the next poll sees the same mtime and size
              end
            end
          end
        end
      end
    end
    -- the active version may have changed through POST .../versions/N:activate
    local shared_active = ml.http and versions.active(st.name)
    if shared_active and shared_active ~= st.active then st.active = shared_active end
    local b = st.bundles[st.active]
    if not b and st.seen[st.active] then
      local ok, nb = pcall(bundle.load, st.seen[st.active])
      if ok then st.bundles[st.active] = nb; b = nb end
    end
    if b and b.stats and ml.http then
      st.drift_state[st.active] = st.drift_state[st.active] or {}
      pcall(drift.warnings, st.name, st.active, b.stats, self.threshold, st.drift_state[st.active], self.log)
    end
  end
end

ml.doc(watcher.check, "serve.watcher.check(path) -> bundle — loads a model version and runs a probe prediction on one row")
ml.doc(watcher.new, "serve.watcher.new(models, [{pins, log, drift_threshold}]) -> w — w:initial(), w:publish(), w:poll(): versions and drift, watched from one state")

return watcher
