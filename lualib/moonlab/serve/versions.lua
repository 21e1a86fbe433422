--- moonlab.serve.versions: which models and versions a server has, and the
-- watcher that adds new versions while it runs.
--
-- A served path is one model file (one model, version 1, named after the file),
-- a directory of versions (NAME/1, NAME/2 ...: the directory holds numbered
-- entries) or a directory of such directories (several models). A version is a
-- model/bundle file or a folder holding one.
--
-- The active version of each model lives in ml.http.shared ("serve/active/NAME"),
-- with the path of every known version ("serve/path/NAME/N"): the watcher (in the
-- state that started the server, the one place that polls) writes the path first,
-- then the active number; workers read the number per request and load the
-- version lazily, keeping the previous one until the new one is loaded, so a
-- switch fails no request.
local ml = require "moonlab"
local lfs = require "lfs"

local fmt = string.format
local versions = {}

local MODEL_EXT = { safetensors = true, st = true, bundle = true }

local function mode(p) return lfs.attributes(p, "mode") end

-- The model file inside a version folder (the one file, or the one with a model extension).
local function file_in(dir)
  local files, models = {}, {}
  for f in lfs.dir(dir) do
    if f:sub(1, 1) ~= "." and mode(dir .. "/" .. f) == "file" then
      files[#files + 1] = f
      local ext = f:match("%.([%w]+)$")
      if ext and MODEL_EXT[ext] then models[#models + 1] = f end
    end
  end
  table.sort(models)
  table.sort(files)
  if #models >= 1 then return dir .. "/" .. models[1] end
  if #files == 1 then return dir .. "/" .. files[1] end
  return nil
end

-- Numbered entries of dir: {version = N, path = file} sorted by N (folders without a model file skipped).
local function numbered(dir)
  local out = {}
  for f in lfs.dir(dir) do
    local n = f:match("^(%d+)$") or f:match("^(%d+)%.[%w]+$")
    if n then
      local p = dir .. "/" .. f
      local m = mode(p)
      local file = m == "file" and p or m == "directory" and file_in(p) or nil
      if file then out[#out + 1] = { version = math.tointeger(tonumber(n)), path = file } end
    end
  end
  table.sort(out, function(a, b) return a.version < b.version end)
  return out
end

local function has_numbered(dir)
  for f in lfs.dir(dir) do
    if f:match("^%d+$") or f:match("^%d+%.[%w]+$") then return true end
  end
  return false
end

local function basename(p) return (p:gsub("/+$", ""):match("([^/]+)$")) end

--- versions.scan(path, [name]) -> {{name, dir, versions = {{version, path}...}}...}: the models a path holds
function versions.scan(path, name)
  local m = mode(path)
  if m == nil then error(fmt("serve: cannot find '%s'", path), 0) end
  if m == "file" then
    local n = name or basename(path):gsub("%.[%w]+$", "")
    return { { name = n, versions = { { version = 1, path = path } } } }
  end
  if has_numbered(path) then
    return { { name = name or basename(path), dir = path, versions = numbered(path) } }
  end
  local out = {}
  for f in lfs.dir(path) do
    local p = path .. "/" .. f
    if f:sub(1, 1) ~= "." and mode(p) == "directory" and has_numbered(p) then
      out[#out + 1] = { name = f, dir = p, versions = numbered(p) }
    end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  if #out == 0 then
    error(fmt("serve: '%s' holds no model: expected a model file, a directory of versions (NAME/1, NAME/2 ...) "
      .. "or a directory of such directories", path), 0)
  end
  return out
end

--- versions.signature(path) -> "mtime:size" of a file, or nil when it is gone (the settle check compares two)
function versions.signature(path)
  local a = lfs.attributes(path)
  if not a then return nil end
  return fmt("%d:%d", a.modification, a.size)
end

-- ---- shared keys ------------------------------------------------------------------------------------

local function shared() return ml.http.shared end

--- versions.publish(name, version, path): makes a version known to every worker (its path)
function versions.publish(name, version, path)
  shared().set(fmt("serve/path/%s/%d", name, version), path)
  local known = shared().get("serve/known/" .. name)
  local list = known and ml.json.decode(known) or {}
  for _, v in ipairs(list) do if v == version then return end end
  list[#list + 1] = version
  table.sort(list)
  shared().set("serve/known/" .. name, ml.json.encode(ml.json.array(list)))
end

--- versions.activate(name, version): switches every worker to the version (published before)
function versions.activate(name, version)
  shared().set("serve/active/" .. name, tostring(version))
end

--- versions.active(name) -> the active version number, or nil
function versions.active(name)
  local v = shared().get("serve/active/" .. name)
  return v and math.tointeger(tonumber(v))
end

--- versions.path(name, version) -> the file of a published version, or nil
function versions.path(name, version)
  return shared().get(fmt("serve/path/%s/%d", name, version))
end

--- versions.known(name) -> the sorted list of published versions
function versions.known(name)
  local known = shared().get("serve/known/" .. name)
  return known and ml.json.decode(known) or {}
end

ml.doc(versions.scan, "serve.versions.scan(path, [name]) -> models — the models and versions a file or a directory of versions holds")
ml.doc(versions.signature, "serve.versions.signature(path) -> 'mtime:size' or nil — what the watcher's settle check compares")
ml.doc(versions.publish, "serve.versions.publish(name, version, path) — makes a version's file known to every worker")
ml.doc(versions.activate, "serve.versions.activate(name, version) — switches every worker to a published version")
ml.doc(versions.active, "serve.versions.active(name) -> N|nil — the active version of a model")
ml.doc(versions.path, "serve.versions.path(name, version) -> path|nil — the file of a published version")
ml.doc(versions.known, "serve.versions.known(name) -> {N...} — the published versions of a model")

return versions
