--- track/mlflow.lua: run records written out in MLflow's file-store layout (mlflow/store/tracking/file_store.py),
-- so `mlflow ui --backend-store-uri DIR` or MLflow's migration tools can read them:
--   DIR/<experiment_id>/meta.yaml                      artifact_location, creation_time, experiment_id, last_update_time,
--                                                      lifecycle_stage, name
--   DIR/<experiment_id>/<run_uuid>/meta.yaml           the RunInfo fields (status as MLflow's integers)
--   .../metrics/<key>   "timestamp_ms value step" lines   .../params/<key>   .../tags/<key>   .../artifacts/
-- Run uuids are derived from the run ids (the same run exports to the same place); an experiment already in DIR
-- under the same name keeps its id. Recent MLflow versions need MLFLOW_ALLOW_FILE_STORE=true for this layout.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local files = require "moonlab.core.fs"
local store = require "moonlab.track.store"
local prov = require "moonlab.track.provenance"
local lfs = require "lfs"

local fail, fmt = checks.fail, string.format
local M = {}

-- MLflow's RunStatus values
M.STATUS = { running = 1, scheduled = 2, finished = 3, failed = 4, killed = 5 }

local function yaml_string(s)
  return "'" .. tostring(s):gsub("'", "''"):gsub("\n", " ") .. "'"
end

local function write(who, path, text)
  local f, err = io.open(path, "wb")
  if not f then fail(fmt("%s: cannot write '%s': %s", who, path, tostring(err))) end
  f:write(text)
  f:close()
end

local function abs(path)
  if path:sub(1, 1) == "/" then return path end
  return lfs.currentdir() .. "/" .. path:gsub("^%./", "")
end

local function ms(t) return t and math.floor(t * 1000 + 0.5) or nil end

local function value_text(v)
  if type(v) == "number" then return format.exact(v) end
  if type(v) == "table" then return ml.json.encode(format.to_json(v)) end
  return tostring(v)
end

--- mlflow.run_uuid(id) -> the 32 hex digits MLflow names the run by (derived from the moonlab run id)
function M.run_uuid(id) return ml._track.sha256("moonlab run " .. tostring(id)):sub(1, 32) end

-- The experiments already in DIR: name -> id, and the largest numeric id.
local function existing(dir)
  local by_name, max_id = {}, 0
  if lfs.attributes(dir, "mode") ~= "directory" then return by_name, max_id end
  for e in lfs.dir(dir) do
    local f = io.open(dir .. "/" .. e .. "/meta.yaml", "r")
    if f then
      local text = f:read("a")
      f:close()
      local name = text:match("\nname: '(.-)'\n") or text:match("\nname: (%S+)")
      if name then by_name[name:gsub("''", "'")] = e end
      max_id = math.max(max_id, tonumber(e) or 0)
    end
  end
  return by_name, max_id
end

local function key_path(who, base, key)
  if key == "" or key:find("%.%.") or key:sub(1, 1) == "/" then return nil end
  local sub = key:match("^(.*)/[^/]*$")
  if sub then files.mkdir_p(who, base .. "/" .. sub) end
  return base .. "/" .. key
end

local function copy_tree(who, src, dst)
  files.mkdir_p(who, dst)
  if lfs.attributes(src, "mode") ~= "directory" then return end
  for name in lfs.dir(src) do
    if name ~= "." and name ~= ".." then
      local s, d = src .. "/" .. name, dst .. "/" .. name
      local mode = lfs.attributes(s, "mode")
      if mode == "directory" then copy_tree(who, s, d)
      elseif mode == "file" then
        local ok, err = files.copy_file(s, d)
        if not ok then fail(fmt("%s: cannot copy '%s': %s", who, s, tostring(err))) end
      end
    end
  end
end

local function export_run(who, rec, exp_id, exp_dir, uuid_of)
  local meta = rec.meta
  local uuid = uuid_of(meta.id)
  local rdir = exp_dir .. "/" .. uuid
  for _, sub in ipairs({ "", "/metrics", "/params", "/tags", "/artifacts" }) do files.mkdir_p(who, rdir .. sub) end
  local user = os.getenv("USER") or os.getenv("LOGNAME") or "unknown"
  local source = meta.source and meta.source.path or (meta.command and meta.command[2]) or ""
  local lines = {
    "artifact_uri: " .. yaml_string("file://" .. abs(rdir) .. "/artifacts"),
    "end_time: " .. (meta.end_time and tostring(ms(meta.end_time)) or "null"),
    "entry_point_name: ''",
    "experiment_id: " .. yaml_string(exp_id),
    "lifecycle_stage: active",
    "run_id: " .. uuid,
    "run_name: " .. yaml_string(meta.name or meta.id),
    "run_uuid: " .. uuid,
    "source_name: ''",
    "source_type: 4",
    "source_version: ''",
    "start_time: " .. tostring(ms(meta.start_time) or 0),
    "status: " .. tostring(M.STATUS[meta.status] or 5),
    "tags: []",
    "user_id: " .. yaml_string(user),
  }
  write(who, rdir .. "/meta.yaml", table.concat(lines, "\n") .. "\n")
  -- metrics: one file per key, "timestamp value step" per point
  local per_key, order = {}, {}
  for _, p in ipairs(rec.metrics) do
    for k, v in pairs(p.metrics) do
      if type(v) == "number" then
        if not per_key[k] then per_key[k] = {}; order[#order + 1] = k end
        local t = per_key[k]
        t[#t + 1] = fmt("%d %s %d", ms(p.time) or 0, v ~= v and "nan" or format.exact(v), math.tointeger(p.step) or 0)
      end
    end
  end
  for _, k in ipairs(order) do
    local path = key_path(who, rdir .. "/metrics", k)
    if path then write(who, path, table.concat(per_key[k], "\n") .. "\n") end
  end
  for k, v in pairs(rec.params.resolved or {}) do
    local path = key_path(who, rdir .. "/params", tostring(k))
    if path then write(who, path, value_text(v)) end
  end
  local tags = {
    ["mlflow.runName"] = meta.name or meta.id, ["mlflow.source.name"] = source, ["mlflow.source.type"] = "LOCAL",
    ["mlflow.user"] = user, ["moonlab.run_id"] = meta.id, ["moonlab.kind"] = meta.kind, ["moonlab.host"] = meta.host,
  }
  if meta.parent then tags["mlflow.parentRunId"] = uuid_of(meta.parent) end
  if meta.git and meta.git.commit then tags["mlflow.source.git.commit"] = meta.git.commit end
  if meta.error then tags["moonlab.error"] = meta.error end
  for k, v in pairs(meta.tags or {}) do tags[tostring(k)] = value_text(v) end
  for k, v in pairs(tags) do
    local path = key_path(who, rdir .. "/tags", k)
    if path then write(who, path, tostring(v)) end
  end
  copy_tree(who, rec.dir .. "/artifacts", rdir .. "/artifacts")
  return uuid
end

--- track.export_mlflow(dir, [{root, experiment}]) -> {experiments = n, runs = n}: writes MLflow's file-store layout
function M.export_mlflow(dir, opts)
  local who = "track.export_mlflow"
  if type(dir) ~= "string" or dir == "" then fail(fmt("%s: expected an output directory, got %s", who, checks.show(dir))) end
  opts = checks.options(who, opts, { "root", "experiment" }, true)
  local metas = store.list(opts.root, opts.experiment)
  if opts.experiment and #metas == 0 then
    fail(fmt("%s: no runs in experiment '%s' under '%s'", who, opts.experiment, require("moonlab.track.run").root(opts.root)))
  end
  files.mkdir_p(who, dir)
  local by_name, max_id = existing(dir)
  local exp_ids, n_exp, n_runs = {}, 0, 0
  local now = ms(ml._track.unix_time())
  for i = #metas, 1, -1 do -- oldest first: experiment ids in order of first use
    local meta = metas[i]
    local name = meta.experiment or "default"
    local id = exp_ids[name]
    if not id then
      id = by_name[name] or (name == "default" and not by_name.default and "0") or nil
      if not id then max_id = max_id + 1; id = tostring(max_id) end
      exp_ids[name] = id
      local edir = dir .. "/" .. id
      files.mkdir_p(who, edir)
      write(who, edir .. "/meta.yaml", table.concat({
        "artifact_location: " .. yaml_string("file://" .. abs(edir)),
        "creation_time: " .. tostring(ms(meta.start_time) or now),
        "experiment_id: " .. yaml_string(id),
        "last_update_time: " .. tostring(now),
        "lifecycle_stage: active",
        "name: " .. yaml_string(name),
      }, "\n") .. "\n")
      n_exp = n_exp + 1
    end
    export_run(who, store.read(meta.dir), id, dir .. "/" .. id, M.run_uuid)
    n_runs = n_runs + 1
  end
  return { experiments = n_exp, runs = n_runs, dir = dir }
end

ml.doc(M.export_mlflow, "track.export_mlflow(dir, [{root, experiment}]) -> {experiments, runs} — writes the runs in MLflow's file-store layout "
  .. "(meta.yaml, metrics/, params/, tags/, artifacts/); recent MLflow needs MLFLOW_ALLOW_FILE_STORE=true to read it")
ml.doc(M.run_uuid, "mlflow.run_uuid(id) -> string — the 32-hex-digit MLflow run id an exported moonlab run gets")

return { export_mlflow = M.export_mlflow, mlflow_run_uuid = M.run_uuid, MLFLOW_STATUS = M.STATUS }
