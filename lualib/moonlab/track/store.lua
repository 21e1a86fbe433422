--- track/store.lua: reading run records back — one run (track.read), the runs of a root
-- or an experiment (track.list), a run named by id or unique prefix (track.find).
-- A record left "running" by a process that is gone from this host reads as "killed";
-- a last line of metrics.jsonl cut by a kill is ignored.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local prov = require "moonlab.track.provenance"
local lfs = require "lfs"

local fail, fmt = checks.fail, string.format
local M = {}

local read_file = require("moonlab.core.fs").read_file

local function decode_file(who, path)
  local text = read_file(path)
  if not text then return nil end
  local ok, v = pcall(ml.json.decode, text)
  if not ok then fail(fmt("%s: '%s' is not valid JSON: %s", who, path, tostring(v))) end
  return format.from_json(v)
end

--- track.status_of(meta) -> the status a reader should see: "running" of a dead process on this host is "killed"
function M.status_of(meta)
  if meta.status == "running" and meta.host == prov.host() and math.type(meta.pid) == "integer"
      and not ml._proc.alive(meta.pid) then
    return "killed"
  end
  return meta.status
end

local function read_meta(who, dir)
  local meta = decode_file(who, dir .. "/meta.json")
  if type(meta) ~= "table" then return nil end
  meta.recorded_status = meta.status
  meta.status = M.status_of(meta)
  meta.dir = dir
  meta.tags = meta.tags or {}
  meta.data = meta.data or {}
  return meta
end

-- Reads metrics.jsonl line by line (a per-batch log of a million lines is never one string). keep: store every point;
-- else only the summary: each metric's last value, the step of it, and its count. Returns points, cut, corrupt,
-- summary = {final, last_step, count, n}.
local function scan_metrics(path, keep)
  local points, cut, corrupt = {}, 0, {}
  local final, last_step, count, n_points = {}, {}, {}, 0
  local summary = { final = final, last_step = last_step, count = count, n = 0 }
  local f = io.open(path, "rb")
  if not f then return points, cut, corrupt, summary end
  local decode, from_json, number = ml.json.decode, format.from_json, format.number_from_json
  local n = 0
  for line in f:lines("L") do
    n = n + 1
    local ended = line:sub(-1) == "\n"
    if line:find("%S") then
      local ok, p = pcall(decode, line)
      if ok and type(p) == "table" and type(p.metrics) == "table" then
        n_points = n_points + 1
        if keep then
          p = from_json(p)
          points[#points + 1] = p
        end
        local step = p.step
        for k, v in pairs(p.metrics) do
          v = number(v)
          if v ~= nil then final[k] = v; last_step[k] = step; count[k] = (count[k] or 0) + 1 end
        end
      elseif ended then
        corrupt[#corrupt + 1] = n
      else
        cut = 1
      end
    end
  end
  f:close()
  summary.n = n_points
  return points, cut, corrupt, summary
end

--- track.read_metrics(path) -> {points...}, cut, corrupt: the lines of metrics.jsonl. cut: 1 when the last line
-- has no newline and is not a record (a write cut by a kill), else 0; corrupt: the numbers of the other lines that
-- are not {step, time, metrics} records (skipped, and said by the readers: a damaged file is not a killed run)
function M.read_metrics(path)
  local points, cut, corrupt = scan_metrics(path, true)
  return points, cut, corrupt
end

--- track.final(points) -> {name = last value}: each metric's last logged value
function M.final(points)
  local out = {}
  for _, p in ipairs(points) do
    for k, v in pairs(p.metrics) do out[k] = v end
  end
  return out
end

--- track.read(run_dir, [{points = true}]) -> {meta, params, metrics = {points}, final, dir}: a whole run record;
-- points = false reads the metrics for their summary only (final, last_step, count, n_points; metrics = {}), in
-- memory that does not grow with the log (what `moonlab runs` lists and compares)
function M.read(dir, opts)
  local who = "track.read"
  if opts ~= nil and type(opts) ~= "table" then fail(fmt("%s: options must be a table {points = false}, got %s", who, checks.show(opts))) end
  opts = checks.options(who, opts, { "points" })
  local keep = opts.points ~= false
  if type(dir) == "table" and dir.dir then dir = dir.dir end
  if type(dir) ~= "string" then fail(fmt("%s: expected a run directory, got %s", who, checks.show(dir))) end
  local meta = read_meta(who, dir)
  if not meta then
    fail(fmt("%s: '%s' is not a run directory (no meta.json)", who, dir))
  end
  local params = decode_file(who, dir .. "/params.json") or {}
  params.given, params.resolved = params.given or {}, params.resolved or {}
  local points, cut, corrupt, sum = scan_metrics(dir .. "/metrics.jsonl", keep)
  return { meta = meta, params = params, metrics = points, final = sum.final, last_step = sum.last_step, count = sum.count,
    n_points = sum.n, cut_lines = cut, corrupt_lines = corrupt, dir = dir }
end

local function subdirs(path)
  local out = {}
  if lfs.attributes(path, "mode") ~= "directory" then return out end
  for name in lfs.dir(path) do
    if name:sub(1, 1) ~= "." and lfs.attributes(path .. "/" .. name, "mode") == "directory" then out[#out + 1] = name end
  end
  table.sort(out)
  return out
end

--- track.experiments([root]) -> {name...}: the experiments under root
function M.experiments(root)
  root = require("moonlab.track.run").root(root)
  local out = {}
  for _, e in ipairs(subdirs(root)) do
    if lfs.attributes(root .. "/" .. e, "mode") == "directory" then out[#out + 1] = e end
  end
  return out
end

--- track.list([root], [experiment]) -> {meta...}, skipped: the runs' meta tables (status resolved, meta.dir set), newest
-- first; skipped: {{dir = ..., error = ...}...}, the folders whose meta.json is not valid JSON (a folder without one is no run)
function M.list(root, experiment)
  local who = "track.list"
  root = require("moonlab.track.run").root(root)
  if type(root) ~= "string" then fail(fmt("%s: root must be a directory name, got %s", who, checks.show(root))) end
  if experiment ~= nil and type(experiment) ~= "string" then
    fail(fmt("%s: experiment must be a name, got %s", who, checks.show(experiment)))
  end
  local out, skipped = {}, {}
  local exps = experiment and { experiment } or M.experiments(root)
  for _, e in ipairs(exps) do
    for _, id in ipairs(subdirs(root .. "/" .. e)) do
      local dir = root .. "/" .. e .. "/" .. id
      local ok, meta = pcall(read_meta, who, dir)
      if ok and meta then out[#out + 1] = meta
      elseif not ok then skipped[#skipped + 1] = { dir = dir, error = (tostring(meta):gsub("^[^:\n]*%.lua:%d+: ", "")) } end
    end
  end
  table.sort(out, function(a, b)
    local ta, tb = tonumber(a.start_time) or 0, tonumber(b.start_time) or 0
    if ta ~= tb then return ta > tb end
    return tostring(a.id) > tostring(b.id)
  end)
  return out, skipped
end

--- track.find(ref, [root]) -> meta: the run whose id is ref or starts with it (or the run directory ref)
function M.find(ref, root)
  local who = "track.find"
  if type(ref) ~= "string" or ref == "" then fail(fmt("%s: expected a run id or prefix, got %s", who, checks.show(ref))) end
  if lfs.attributes(ref .. "/meta.json", "mode") == "file" then return read_meta(who, ref) end
  local hits = {}
  for _, m in ipairs(M.list(root)) do
    if m.id == ref then return m end
    if tostring(m.id):sub(1, #ref) == ref then hits[#hits + 1] = m end
  end
  if #hits == 1 then return hits[1] end
  if #hits == 0 then fail(fmt("%s: no run '%s' under '%s'", who, ref, require("moonlab.track.run").root(root))) end
  local ids = {}
  for i = 1, math.min(#hits, 5) do ids[i] = hits[i].id end
  fail(fmt("%s: '%s' matches %d runs (%s%s); give more of the id", who, ref, #hits, table.concat(ids, ", "), #hits > 5 and ", ..." or ""))
end

ml.doc(M.read, "track.read(run_dir, [{points = true}]) -> {meta, params = {given, resolved}, metrics = {points}, final, last_step, count, "
  .. "n_points, cut_lines, corrupt_lines, dir} — a run record; status resolved (killed); points = false: the metrics' summary only")
ml.doc(M.list, "track.list([root], [experiment]) -> {meta...}, skipped — the runs' meta tables, newest first (status resolved, meta.dir set); "
  .. "skipped: {{dir, error}...}, folders whose meta.json is not valid JSON")
ml.doc(M.find, "track.find(ref, [root]) -> meta — the run with id ref or the one id starting with ref (or a run directory)")
ml.doc(M.experiments, "track.experiments([root]) -> {name...} — the experiment directories under root")
ml.doc(M.status_of, "track.status_of(meta) -> status — 'running' of a process gone from this host reads as 'killed'")
ml.doc(M.read_metrics, "track.read_metrics(path) -> points, cut, corrupt — the JSON lines of metrics.jsonl; a cut last line (no newline) "
  .. "is skipped and counted in cut, other lines that are not records are skipped and their numbers listed in corrupt")
ml.doc(M.final, "track.final(points) -> {name = value} — each metric's last logged value")

return M
