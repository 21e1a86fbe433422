--- moonlab.serve.watcher: the one place that loads, checks and switches model
-- versions (it runs in the state that started the
-- server, polled about once a second).
--
-- A new version dropped into a watched directory is taken when its file has the
-- same mtime and size on two polls (a half-copied file is not loaded), then it
-- must load and answer a probe prediction on a row of the right width; only then
-- is it made active, through the server's own route POST
-- /v1/models/NAME/versions/N:activate (the shared store belongs to the workers; the
-- worker that takes the call finds the file in the model's directory, checks it
-- again and switches every worker). A version that fails is refused with a log
-- line and the old one keeps serving; it is tried again only when its file changes.
-- (Drift warnings are the workers' own: serve/drift.lua.)
local ml = require "moonlab"
local bundle = require "moonlab.serve.bundle"
local versions = require "moonlab.serve.versions"

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

--- watcher.new(models, [{pins = {name = N}, log = fn, activate = fn(name, version) -> ok, err}]) -> w
-- models from versions.scan; activate switches the server (server.lua: a call to its own route)
function watcher.new(models, opts)
  opts = opts or {}
  local self = setmetatable({
    models = {}, order = {}, pins = opts.pins or {}, activate = opts.activate,
    log = opts.log or function(line) io.stderr:write(line, "\n") end,
  }, Watcher)
  for _, m in ipairs(models) do
    local st = { name = m.name, dir = m.dir, seen = {}, pending = {}, refused = {}, max_seen = 0 }
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
    if ok then return v end
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
    out[#out + 1] = { name = st.name, dir = st.dir, active = st.active, versions = vs }
  end
  return out
end

-- A new version whose file has settled: checked, then activated (unless pinned).
function Watcher:take(st, v, path, sig)
  local ok, err = pcall(watcher.check, path)
  if not ok then
    st.refused[v] = sig
    self.log(fmt("serve: model %s: version %d refused, version %d keeps serving: %s", st.name, v, st.active, tostring(err)))
    return false
  end
  st.seen[v] = path
  if self.pins[st.name] then
    self.log(fmt("serve: model %s: version %d is ready; version %d stays active (pinned)", st.name, v, st.active))
  elseif v > st.max_seen and self.activate then
    local done, why = self.activate(st.name, v)
    if not done then
      st.refused[v] = sig
      self.log(fmt("serve: model %s: version %d refused, version %d keeps serving: %s", st.name, v, st.active, tostring(why)))
      return false
    end
    self.log(fmt("serve: model %s: switched to version %d (was %d)", st.name, v, st.active))
    st.active = v
  end
  if v > st.max_seen then st.max_seen = v end
  return true
end

--- w:poll(): one look at the watched directories; a new version that settled is checked and switched to
function Watcher:poll()
  for _, st in ipairs(self.order) do
    if st.dir then
      local ok, found = pcall(versions.scan, st.dir, st.name)
      for _, e in ipairs(ok and found[1] and found[1].versions or {}) do
        local v = e.version
        if st.seen[v] ~= e.path then
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
end

ml.doc(watcher.check, "serve.watcher.check(path) -> bundle — loads a model version and runs a probe prediction on one row")
ml.doc(watcher.new, "serve.watcher.new(models, [{pins, log, activate}]) -> w — w:initial(), w:poll(): new versions settled, checked and switched to, from one state")

return watcher
