--- track/mlflow.lua: run records written out in MLflow's file-store layout, checked against MLflow's own
-- reader (mlflow/store/tracking/file_store.py, mlflow/utils/validation.py), so `mlflow ui --backend-store-uri DIR`,
-- `mlflow.search_runs` or `mlflow migrate-filestore` can read them:
--   DIR/0/meta.yaml                                    the "Default" experiment MLflow expects (made when missing)
--   DIR/.trash/                                        FileStore's deleted experiments (made when missing)
--   DIR/<experiment_id>/meta.yaml                      artifact_location, creation_time, experiment_id, last_update_time,
--                                                      lifecycle_stage, name
--   DIR/<experiment_id>/<run_id>/meta.yaml             RunInfo's fields as FileStore persists them: status as RunStatus's
--                                                      integer, source_type 4 (LOCAL), tags: [], deleted_time: null
--   .../metrics/<key>   "timestamp_ms value step" lines   .../params/<key>   .../tags/<key>   .../artifacts/
-- FileStore's reader finds a run by its directory name (= run_id in meta.yaml, 32 hex digits derived from the moonlab
-- id, so the same run exports to the same place) and an experiment likewise; it validates every metric, param and
-- tag name against ^[/\w.\- ]*$ with no path that normalizes to another (a leading or doubled '/', '.', '..'), so
-- names are made safe here (other characters -> '_', each change listed in the result), at most 250 characters;
-- param values are cut to 6000 characters and tag values to 5000 (validation.py's limits, which migration to a
-- database store enforces). An experiment already in DIR under the same name keeps its id and its meta.yaml.
-- MLflow 3.13 and later refuse a file store unless MLFLOW_ALLOW_FILE_STORE=true.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local files = require "moonlab.core.fs"
local store = require "moonlab.track.store"
local lfs = require "lfs"

local fail, fmt = checks.fail, string.format
local M = {}

-- MLflow's RunStatus values (mlflow/entities/run_status.py) and its limits (mlflow/utils/validation.py)
M.STATUS = { running = 1, scheduled = 2, finished = 3, failed = 4, killed = 5 }
local MAX_KEY, MAX_PARAM, MAX_TAG, MAX_EXPERIMENT_NAME = 250, 6000, 5000, 500
local SOURCE_TYPE_LOCAL = 4
-- folders of the root and of an experiment that FileStore does not read as experiments or runs
local NOT_EXPERIMENTS = { [".trash"] = true, models = true }

-- ---- text MLflow can read back -------------------------------------------------------------

-- Valid UTF-8 (Python reads these files as UTF-8): a stray byte becomes '?'.
local function utf8_clean(s)
  while true do
    local n, bad = utf8.len(s)
    if n then return s end
    s = s:sub(1, bad - 1) .. "?" .. s:sub(bad + 1)
  end
end

-- At most n characters (code points, as Python's len counts them); the second result says whether it was cut.
local function cut(s, n)
  s = utf8_clean(s)
  if utf8.len(s) <= n then return s, false end
  return s:sub(1, utf8.offset(s, n + 1) - 1), true
end

local function yaml_string(s)
  s = utf8_clean(tostring(s)):gsub("[%c]", " ") -- YAML streams hold printable characters only
  return "'" .. s:gsub("'", "''") .. "'"
end

-- file:// URI of an absolute path, percent-encoded as pathlib's as_uri() does (MLflow decodes it back)
local function file_uri(path)
  if path:sub(1, 1) ~= "/" then path = lfs.currentdir() .. "/" .. path:gsub("^%./", "") end
  return "file://" .. path:gsub("[^%w/%._~%-]", function(c) return fmt("%%%02X", c:byte()) end)
end

local function write(who, path, text)
  local f, err = io.open(path, "wb")
  if not f then fail(fmt("%s: cannot write '%s': %s", who, path, tostring(err))) end
  f:write(text)
  f:close()
end

local function ms(t) return t and math.floor(t * 1000 + 0.5) or nil end

local function value_text(v)
  if type(v) == "number" then return format.exact(v) end
  if type(v) == "table" then return ml.json.encode(format.to_json(v)) end
  return tostring(v)
end

-- A metric value as Python's float() reads it (MLflow itself writes str(float): nan, inf, -inf)
local function metric_text(v)
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  return format.exact(v)
end

-- ---- names MLflow accepts ------------------------------------------------------------------

-- A name that passes _validate_metric_name / _validate_param_name / _validate_tag_name on every platform: ASCII
-- letters, digits, _ . - space and /, no empty, '.' or '..' path segment, no leading or trailing '/', <= 250.
local function safe_name(key)
  local parts = {}
  for seg in tostring(key):gsub("[^%w_%.%- /]", "_"):sub(1, MAX_KEY):gmatch("[^/]+") do
    parts[#parts + 1] = (seg == "." or seg == "..") and seg:gsub("%.", "_") or seg
  end
  return #parts > 0 and table.concat(parts, "/") or "_"
end

-- File names for a set of keys: each safe, distinct, and never both a file and a folder ("a" and "a/b").
-- Returns {key = name} and a sorted list of "key -> name" for the keys that changed.
local function name_files(keys)
  local sorted = {}
  for k in pairs(keys) do sorted[#sorted + 1] = tostring(k) end
  table.sort(sorted)
  local used, dirs, out, changed = {}, {}, {}, {}
  local function clashes(name)
    if used[name] or dirs[name] then return true end
    local prefix = name:match("^(.*)/[^/]*$")
    while prefix do
      if used[prefix] then return true end
      prefix = prefix:match("^(.*)/[^/]*$")
    end
    return false
  end
  for _, k in ipairs(sorted) do
    local name = safe_name(k)
    if clashes(name) then name = name:gsub("/", "_") end
    local base, n = name, 1
    while clashes(name) do
      n = n + 1
      local suffix = "_" .. n
      name = base:sub(1, MAX_KEY - #suffix) .. suffix
    end
    used[name] = true
    local prefix = name:match("^(.*)/[^/]*$")
    while prefix do dirs[prefix] = true; prefix = prefix:match("^(.*)/[^/]*$") end
    out[k] = name
    if name ~= k then changed[#changed + 1] = k .. " -> " .. name end
  end
  return out, changed
end

local function write_named(who, base, values, limit, report, what)
  local names, changed = name_files(values)
  for _, c in ipairs(changed) do report.renamed[#report.renamed + 1] = what .. " " .. c end
  for k, v in pairs(values) do
    local name = names[tostring(k)]
    local sub = name:match("^(.*)/[^/]*$")
    if sub then files.mkdir_p(who, base .. "/" .. sub) end
    local text, was_cut = v, false
    if limit then text, was_cut = cut(v, limit) end
    if was_cut then report.cut[#report.cut + 1] = what .. " " .. name end
    write(who, base .. "/" .. name, text)
  end
  return names
end

-- ---- the experiments already in DIR ---------------------------------------------------------------

-- A scalar of a flat meta.yaml as PyYAML writes it: plain, '...' (with '' for ') or "..." (basic escapes).
local function yaml_scalar(v)
  v = v:gsub("%s+$", "")
  local sq = v:match("^'(.*)'$")
  if sq then return (sq:gsub("''", "'")) end
  local dq = v:match('^"(.*)"$')
  if dq then return (dq:gsub('\\(.)', { n = "\n", t = "\t", ['"'] = '"', ["\\"] = "\\" })) end
  return v
end

local function read_meta_yaml(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local t, last = {}, nil
  for line in f:lines() do
    local k, v = line:match("^([%w_]+):%s*(.*)$")
    if k then t[k], last = v, k
    elseif last and line:match("^%s+%S") then t[last] = t[last] .. " " .. line:match("^%s+(.-)%s*$") end -- a folded line
  end
  f:close()
  for k, v in pairs(t) do t[k] = yaml_scalar(v) end
  return t
end

-- name -> id of the active experiments, and every id taken (active or in .trash)
local function existing(dir)
  local by_name, taken, max_id = {}, {}, 0
  local function scan(parent, active)
    if lfs.attributes(parent, "mode") ~= "directory" then return end
    for e in lfs.dir(parent) do
      if e ~= "." and e ~= ".." and not NOT_EXPERIMENTS[e] and lfs.attributes(parent .. "/" .. e, "mode") == "directory" then
        taken[e] = true
        max_id = math.max(max_id, math.tointeger(tonumber(e)) or 0)
        local meta = active and read_meta_yaml(parent .. "/" .. e .. "/meta.yaml")
        if meta and meta.name and by_name[meta.name] == nil then by_name[meta.name] = e end
      end
    end
  end
  scan(dir, true)
  scan(dir .. "/.trash", false)
  return by_name, taken, max_id
end

local function write_experiment(who, edir, id, name, created)
  files.mkdir_p(who, edir)
  write(who, edir .. "/meta.yaml", table.concat({
    "artifact_location: " .. yaml_string(file_uri(edir)),
    "creation_time: " .. tostring(created),
    "experiment_id: " .. yaml_string(id),
    "last_update_time: " .. tostring(created),
    "lifecycle_stage: active",
    "name: " .. yaml_string(name),
  }, "\n") .. "\n")
end

-- ---- one run ---------------------------------------------------------------------------------

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

local function export_run(who, rec, exp_id, exp_dir, report)
  local meta = rec.meta
  local uuid = M.run_uuid(meta.id)
  local rdir = exp_dir .. "/" .. uuid
  for _, sub in ipairs({ "", "/metrics", "/params", "/tags", "/artifacts" }) do files.mkdir_p(who, rdir .. sub) end
  local user = os.getenv("USER") or os.getenv("LOGNAME") or "unknown"
  local source = meta.source and meta.source.path or (meta.command and meta.command[2]) or ""
  local run_name = cut(tostring(meta.name or meta.id), MAX_TAG)
  local lines = {
    "artifact_uri: " .. yaml_string(file_uri(rdir .. "/artifacts")),
    "deleted_time: null",
    "end_time: " .. (meta.end_time and tostring(ms(meta.end_time)) or "null"),
    "entry_point_name: ''",
    "experiment_id: " .. yaml_string(exp_id),
    "lifecycle_stage: active",
    "run_id: " .. yaml_string(uuid),
    "run_name: " .. yaml_string(run_name),
    "run_uuid: " .. yaml_string(uuid),
    "source_name: ''",
    "source_type: " .. SOURCE_TYPE_LOCAL,
    "source_version: ''",
    "start_time: " .. tostring(ms(meta.start_time) or 0),
    "status: " .. tostring(M.STATUS[meta.status] or M.STATUS.killed),
    "tags: []",
    "user_id: " .. yaml_string(user),
  }
  write(who, rdir .. "/meta.yaml", table.concat(lines, "\n") .. "\n")
  -- metrics: one file per key, "timestamp value step" per point, in the order logged
  local per_key = {}
  for _, p in ipairs(rec.metrics) do
    for k, v in pairs(p.metrics) do
      if type(v) == "number" then
        local t = per_key[k] or {}
        per_key[k] = t
        t[#t + 1] = fmt("%d %s %d", math.max(ms(p.time) or 0, 0), metric_text(v), math.tointeger(p.step) or 0)
      end
    end
  end
  local texts = {}
  for k, t in pairs(per_key) do texts[k] = table.concat(t, "\n") .. "\n" end
  write_named(who, rdir .. "/metrics", texts, nil, report, "metric")
  local params = {}
  for k, v in pairs(rec.params.resolved or {}) do params[tostring(k)] = value_text(v) end
  write_named(who, rdir .. "/params", params, MAX_PARAM, report, "param")
  local tags = {}
  for k, v in pairs(meta.tags or {}) do tags[tostring(k)] = value_text(v) end
  local own = {
    ["mlflow.runName"] = run_name, ["mlflow.source.name"] = source, ["mlflow.source.type"] = "LOCAL",
    ["mlflow.user"] = user, ["moonlab.run_id"] = meta.id, ["moonlab.kind"] = meta.kind, ["moonlab.host"] = meta.host,
    ["mlflow.parentRunId"] = meta.parent and M.run_uuid(meta.parent) or nil,
    ["mlflow.source.git.commit"] = meta.git and meta.git.commit or nil, ["moonlab.error"] = meta.error,
  }
  for k, v in pairs(own) do tags[k] = tostring(v) end
  write_named(who, rdir .. "/tags", tags, MAX_TAG, report, "tag")
  copy_tree(who, rec.dir .. "/artifacts", rdir .. "/artifacts")
  return uuid
end

--- mlflow.run_uuid(id) -> the 32 hex digits MLflow names the run by (derived from the moonlab run id)
function M.run_uuid(id) return ml._track.sha256("moonlab run " .. tostring(id)):sub(1, 32) end

--- track.export_mlflow(dir, [{root, experiment}]) -> {experiments, runs, dir, renamed, cut}: writes MLflow's file-store layout
function M.export_mlflow(dir, opts)
  local who = "track.export_mlflow"
  if type(dir) ~= "string" or dir == "" then fail(fmt("%s: expected an output directory, got %s", who, checks.show(dir))) end
  opts = checks.options(who, opts, { "root", "experiment" }, true)
  local metas = store.list(opts.root, opts.experiment)
  if opts.experiment and #metas == 0 then
    fail(fmt("%s: no runs in experiment '%s' under '%s'", who, opts.experiment, require("moonlab.track.run").root(opts.root)))
  end
  files.mkdir_p(who, dir .. "/.trash")
  local by_name, taken, max_id = existing(dir)
  local now = ms(ml._track.unix_time())
  if not taken["0"] then -- FileStore's default experiment: get_experiment(None) and create_run look for it
    write_experiment(who, dir .. "/0", "0", "Default", now)
    taken["0"], by_name.Default = true, by_name.Default or "0"
  end
  local exp_ids, n_exp, n_runs = {}, 0, 0
  local report = { renamed = {}, cut = {} }
  for i = #metas, 1, -1 do -- oldest first: experiment ids in order of first use
    local meta = metas[i]
    local name = cut(meta.experiment or "default", MAX_EXPERIMENT_NAME)
    local id = exp_ids[name]
    if not id then
      -- moonlab's "default" experiment is MLflow's experiment 0 ("Default")
      id = by_name[name] or ((name == "default" or name == "Default") and by_name.Default) or nil
      if not id then
        repeat max_id = max_id + 1 until not taken[tostring(max_id)]
        id = tostring(max_id)
        taken[id] = true
        write_experiment(who, dir .. "/" .. id, id, name, ms(meta.start_time) or now)
      end
      exp_ids[name] = id
      n_exp = n_exp + 1
    end
    export_run(who, store.read(meta.dir), id, dir .. "/" .. id, report)
    n_runs = n_runs + 1
  end
  table.sort(report.renamed)
  table.sort(report.cut)
  return { experiments = n_exp, runs = n_runs, dir = dir, renamed = report.renamed, cut = report.cut }
end

ml.doc(M.export_mlflow, "track.export_mlflow(dir, [{root, experiment}]) -> {experiments, runs, renamed, cut} — writes the runs in MLflow's "
  .. "file-store layout (meta.yaml, metrics/, params/, tags/, artifacts/; names made valid for MLflow, long values cut); "
  .. "MLflow 3.13+ needs MLFLOW_ALLOW_FILE_STORE=true to read it")
ml.doc(M.run_uuid, "mlflow.run_uuid(id) -> string — the 32-hex-digit MLflow run id an exported moonlab run gets")

return { export_mlflow = M.export_mlflow, mlflow_run_uuid = M.run_uuid, MLFLOW_STATUS = M.STATUS }
