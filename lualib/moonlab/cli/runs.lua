--- `moonlab runs`: the run records under ROOT ($MOONLAB_RUNS or ./runs), as tables.
--   moonlab runs [EXPERIMENT] [--sort KEY] [--desc] [--filter "lr<0.01"]... [--status S] [--kind K] [--dir ROOT]
--   moonlab runs show RUN            moonlab runs compare A B ...
--   moonlab runs gc [--failed] [--killed] [--older-than 30d] [--dry-run] [EXPERIMENT]
--   moonlab runs export --mlflow DIR [EXPERIMENT]
-- RUN is a run id, a unique prefix of one, or a run directory. KEY and the filters'
-- names are a final metric, a param (resolved) or a field of meta (status, name, duration ...).
local ml = require "moonlab"

local USAGE = [[
usage: moonlab runs [EXPERIMENT] [options]       list runs (newest first)
       moonlab runs show RUN                     everything in one record
       moonlab runs compare RUN RUN ...          params and final metrics side by side (* marks differences)
       moonlab runs gc [--failed] [--killed] [--older-than 30d] [--dry-run] [EXPERIMENT]
       moonlab runs export --mlflow DIR [EXPERIMENT]
options:
  --dir ROOT        where the runs are (default $MOONLAB_RUNS or ./runs)
  --sort KEY        a final metric, a param or a meta field (start, duration, name, status)
  --desc            sort descending (default ascending when --sort is given)
  --filter EXPR     NAME<V, <=, >, >=, =, != (repeatable; numbers compare as numbers)
                    a bare NAME is a final metric, else a param, else a meta field;
                    params.NAME, metrics.NAME, tags.NAME say which
  --status S        only runs with this status (running, finished, failed, killed)
  --kind K          only runs of this kind (run, search, trial)
RUN: a run id, a unique prefix of one, or a run directory.]]

local fmt = string.format

local function say_error(msg)
  io.stderr:write("moonlab runs: ", msg, "\n")
  return 2
end

-- ---- values and tables --------------------------------------------------------------

local function text(v)
  if v == nil then return "" end
  if type(v) == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return fmt("%.6g", v)
  end
  if type(v) == "table" then return ml.json.encode(require("moonlab.core.format").to_json(v)) end
  return tostring(v)
end

local function print_table(header, rows)
  local width = {}
  for i, h in ipairs(header) do width[i] = #h end
  for _, r in ipairs(rows) do
    for i = 1, #header do width[i] = math.max(width[i], utf8.len(r[i] or "") or #(r[i] or "")) end
  end
  local function line(cells)
    local out = {}
    for i = 1, #header do
      local c = cells[i] or ""
      out[i] = c .. string.rep(" ", width[i] - (utf8.len(c) or #c))
    end
    print((table.concat(out, "  "):gsub("%s+$", "")))
  end
  line(header)
  local sep = {}
  for i = 1, #header do sep[i] = string.rep("-", width[i]) end
  line(sep)
  for _, r in ipairs(rows) do line(r) end
end

local function duration(meta)
  local t1 = meta.end_time or (meta.status == "running" and ml._track.unix_time()) or nil
  if not (t1 and meta.start_time) then return nil end
  return t1 - meta.start_time
end

-- The value of KEY for a record: a final metric, a resolved param, or a meta field; params.NAME, metrics.NAME and
-- tags.NAME (MLflow's names) say which when a param and a metric share a name (fit logs lr, a recipe may take lr).
local PREFIXES = { params = "params", param = "params", metrics = "metrics", metric = "metrics", tags = "tags", tag = "tags" }
local function value_of(rec, key)
  local prefix, name = key:match("^(%a+)%.(.+)$")
  if prefix and PREFIXES[prefix] then
    local kind = PREFIXES[prefix]
    if kind == "params" then return rec.params.resolved[name] end
    if kind == "metrics" then return rec.final[name] end
    return rec.meta.tags[name]
  end
  if rec.final[key] ~= nil then return rec.final[key] end
  if rec.params.resolved[key] ~= nil then return rec.params.resolved[key] end
  if key == "start" then return rec.meta.start_time end
  if key == "duration" then return duration(rec.meta) end
  local v = rec.meta[key]
  if type(v) ~= "table" then return v end
  return rec.meta.tags[key]
end

-- Every name --sort and --filter may use for these records (for a clear error and a suggestion on a typo).
local META_KEYS = { "start", "duration", "id", "name", "experiment", "status", "kind", "parent", "seed", "threads", "host",
  "pid", "moonlab_version", "start_time", "end_time", "error" }
local function known_keys(recs)
  local seen, out = {}, {}
  local function add(k) if not seen[k] then seen[k] = true; out[#out + 1] = k end end
  for _, k in ipairs(META_KEYS) do add(k) end
  for _, rec in ipairs(recs) do
    for k in pairs(rec.final) do add(k); add("metrics." .. k) end
    for k in pairs(rec.params.resolved) do add(k); add("params." .. k) end
    for k in pairs(rec.meta.tags) do add(k); add("tags." .. k) end
  end
  return out, seen
end

-- nil, or the message for a --sort / --filter name that no record has
local function unknown_key(what, key, recs)
  for _, rec in ipairs(recs) do if value_of(rec, key) ~= nil then return nil end end
  local known, seen = known_keys(recs)
  if seen[key] then return nil end -- a meta field no run has a value for (parent, error): no error
  local hint = require("moonlab.core.checks").suggest(key, known)
  local params, metrics = {}, {}
  for _, k in ipairs(known) do
    if k:match("^params%.") then params[#params + 1] = k:sub(8) elseif k:match("^metrics%.") then metrics[#metrics + 1] = k:sub(9) end
  end
  table.sort(params); table.sort(metrics)
  return fmt("%s: no run here has a param, final metric or field '%s'%s (params: %s; metrics: %s)", what, key,
    hint and fmt("; did you mean '%s'?", hint) or "", #params > 0 and table.concat(params, ", ") or "none",
    #metrics > 0 and table.concat(metrics, ", ") or "none")
end

local function parse_filter(expr)
  local name, op, v = expr:match("^%s*([^<>=!~%s]+)%s*([<>=!~]=?)%s*(.-)%s*$")
  if not name or v == "" or v:match("^[<>=!~]") then return nil end
  if op == "==" then op = "=" elseif op == "~=" then op = "!=" end
  if op ~= "<" and op ~= "<=" and op ~= ">" and op ~= ">=" and op ~= "=" and op ~= "!=" then return nil end
  return { name = name, op = op, value = tonumber(v) or v, text = expr }
end

local function passes(rec, f)
  local v = value_of(rec, f.name)
  if v == nil then return false end
  local a, b = v, f.value
  if type(a) == "boolean" then a = tostring(a) end
  if type(a) ~= type(b) then a, b = tostring(a), tostring(b) end
  if f.op == "=" then return a == b elseif f.op == "!=" then return a ~= b
  elseif f.op == "<" then return a < b elseif f.op == "<=" then return a <= b
  elseif f.op == ">" then return a > b else return a >= b end
end

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

-- ---- options ------------------------------------------------------------------------------

local FLAGS = { ["--desc"] = true, ["--dry-run"] = true, ["--failed"] = true, ["--killed"] = true }
local VALUED = { ["--sort"] = true, ["--filter"] = true, ["--status"] = true, ["--dir"] = true, ["--older-than"] = true,
  ["--mlflow"] = true, ["--kind"] = true }

local function parse(args)
  local o = { filters = {}, words = {} }
  local i = 1
  while i <= #args do
    local a = args[i]
    local key, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    if key then a = key end
    if FLAGS[a] then o[a:sub(3)] = true
    elseif VALUED[a] then
      local v = inline
      if v == nil then i = i + 1; v = args[i] end
      if v == nil then return nil, a .. " needs a value" end
      if a == "--filter" then
        local f = parse_filter(v)
        if not f then return nil, fmt("--filter '%s': expected NAME<VALUE (or <=, >, >=, =, !=)", v) end
        o.filters[#o.filters + 1] = f
      else o[a:sub(3)] = v end
    elseif a == "-h" or a == "--help" then o.help = true
    elseif a:sub(1, 2) == "--" then
      local known = {}
      for k in pairs(FLAGS) do known[#known + 1] = k end
      for k in pairs(VALUED) do known[#known + 1] = k end
      local hint = require("moonlab.core.checks").suggest(a, known)
      return nil, fmt("unknown option '%s'%s", a, hint and fmt(" (did you mean '%s'?)", hint) or "")
    else o.words[#o.words + 1] = a end
    i = i + 1
  end
  return o
end

-- A run that cannot be read, or whose metrics.jsonl has damaged lines, is said on stderr, not dropped in silence.
local function warn(msg) io.stderr:write("moonlab runs: warning: ", msg, "\n") end
local function warn_corrupt(rec)
  local c = rec.corrupt_lines or {}
  if #c == 0 then return end
  local shown = {}
  for i = 1, math.min(#c, 5) do shown[i] = tostring(c[i]) end
  warn(fmt("%s/metrics.jsonl: line%s %s %s not a metrics record {step, time, metrics} (skipped)", rec.dir, #c > 1 and "s" or "",
    table.concat(shown, ", ") .. (#c > 5 and fmt(" and %d more", #c - 5) or ""), #c > 1 and "are" or "is"))
end

local function load_all(o, experiment)
  local track = ml.track
  local out = {}
  local metas, skipped = track.list(o.dir, experiment)
  for _, s in ipairs(skipped or {}) do warn(fmt("skipped %s: %s", s.dir, s.error)) end
  for _, meta in ipairs(metas) do
    local ok, rec = pcall(track.read, meta.dir, { points = false }) -- final values only: a long log stays cheap
    if ok then out[#out + 1] = rec; warn_corrupt(rec)
    else warn(fmt("skipped %s: %s", meta.dir, (tostring(rec):gsub("^[^:\n]*%.lua:%d+: ", "")))) end
  end
  return out
end

-- ---- list -------------------------------------------------------------------------------------

local function list(o)
  local experiment = o.words[1]
  if o.dir and require("lfs").attributes(o.dir, "mode") ~= "directory" then
    error(fmt("--dir '%s' is not a folder of run records", o.dir), 0)
  end
  local recs = load_all(o, experiment)
  if #recs > 0 then
    for _, f in ipairs(o.filters) do
      local msg = unknown_key(fmt("--filter '%s'", f.text), f.name, recs)
      if msg then error(msg, 0) end
    end
    if o.sort then
      local msg = unknown_key(fmt("--sort %s", o.sort), o.sort, recs)
      if msg then error(msg, 0) end
    end
  end
  local kept = {}
  for _, rec in ipairs(recs) do
    local ok = (not o.status or rec.meta.status == o.status) and (not o.kind or rec.meta.kind == o.kind)
    for _, f in ipairs(o.filters) do ok = ok and passes(rec, f) end
    if ok then kept[#kept + 1] = rec end
  end
  if o.sort then
    local key, sign = o.sort, o.desc and -1 or 1
    table.sort(kept, function(a, b)
      local x, y = value_of(a, key), value_of(b, key)
      if x == nil or y == nil then return x ~= nil end -- runs without the key last
      if type(x) ~= type(y) then x, y = tostring(x), tostring(y) end
      if x == y then return a.meta.id < b.meta.id end
      if sign > 0 then return x < y end
      return x > y
    end)
  end
  if #kept == 0 then
    print(fmt("no runs%s under %s", experiment and (" in experiment '" .. experiment .. "'") or "", ml.track.root(o.dir)))
    return 0
  end
  -- key params: those whose values differ among the runs shown (else the first few); final metrics: all, sorted
  local pvals, mkeys = {}, {}
  for _, rec in ipairs(kept) do
    for k, v in pairs(rec.params.resolved) do
      pvals[k] = pvals[k] or {}
      pvals[k][text(v)] = true
    end
    for k in pairs(rec.final) do mkeys[k] = true end
  end
  local pkeys = {}
  for _, k in ipairs(sorted_keys(pvals)) do
    local n = 0
    for _ in pairs(pvals[k]) do n = n + 1 end
    if n > 1 or #kept == 1 then pkeys[#pkeys + 1] = k end
  end
  while #pkeys > 6 do table.remove(pkeys) end
  local metric_keys = sorted_keys(mkeys)
  local sorted_metric = o.sort and (mkeys[o.sort] and o.sort or o.sort:match("^metrics?%.(.+)$"))
  if sorted_metric and mkeys[sorted_metric] then -- the sorted metric first
    for i, k in ipairs(metric_keys) do if k == sorted_metric then table.remove(metric_keys, i) break end end
    table.insert(metric_keys, 1, sorted_metric)
  end
  while #metric_keys > 8 do table.remove(metric_keys) end
  local header = { "id", "experiment", "name", "status", "start", "duration" }
  -- a param and a metric of one name (fit's lr beside a recipe's lr) are told apart as params.lr and metrics.lr
  for _, k in ipairs(pkeys) do header[#header + 1] = mkeys[k] and ("params." .. k) or k end
  for _, k in ipairs(metric_keys) do header[#header + 1] = pvals[k] and ("metrics." .. k) or k end
  local format = require "moonlab.core.format"
  local rows = {}
  for _, rec in ipairs(kept) do
    local m = rec.meta
    local d = duration(m)
    local row = { m.id, m.experiment, m.name == m.id and "" or tostring(m.name), m.status,
      m.start_time and os.date("%Y-%m-%d %H:%M:%S", math.floor(m.start_time)) or "", d and format.duration(d) or "" }
    for _, k in ipairs(pkeys) do row[#row + 1] = text(rec.params.resolved[k]) end
    for _, k in ipairs(metric_keys) do row[#row + 1] = text(rec.final[k]) end
    rows[#rows + 1] = row
  end
  print_table(header, rows)
  return 0
end

-- ---- show -------------------------------------------------------------------------------------

local function artifacts_of(dir, prefix, out)
  local lfs = require "lfs"
  out = out or {}
  if lfs.attributes(dir, "mode") ~= "directory" then return out end
  for name in lfs.dir(dir) do
    if name ~= "." and name ~= ".." then
      local p = dir .. "/" .. name
      if lfs.attributes(p, "mode") == "directory" then artifacts_of(p, prefix .. name .. "/", out)
      else out[#out + 1] = { prefix .. name, lfs.attributes(p, "size") } end
    end
  end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end

local function show(o)
  local ref = o.words[2]
  if not ref then return say_error("runs show needs a RUN (an id, a prefix of one, or a run directory)") end
  local meta = ml.track.find(ref, o.dir)
  local rec = ml.track.read(meta.dir, { points = false })
  local m = rec.meta
  local format = require "moonlab.core.format"
  local d = duration(m)
  print(fmt("run %s  (%s)", m.id, rec.dir))
  local fields = {
    { "name", m.name }, { "experiment", m.experiment }, { "kind", m.kind }, { "parent", m.parent },
    { "status", m.status .. (m.recorded_status ~= m.status and fmt(" (recorded as %s; pid %s is gone)", m.recorded_status, text(m.pid)) or "") },
    { "error", m.error },
    { "start", m.start_time and os.date("%Y-%m-%d %H:%M:%S", math.floor(m.start_time)) },
    { "end", m.end_time and os.date("%Y-%m-%d %H:%M:%S", math.floor(m.end_time)) }, { "duration", d and format.duration(d) },
    { "host", m.host }, { "pid", m.pid }, { "seed", m.seed }, { "threads", m.threads }, { "moonlab", m.moonlab_version },
    { "git", m.git and (m.git.commit .. (m.git.dirty and " (dirty)" or "")) },
    { "source", m.source and fmt("%s  sha256 %s  copy %s", m.source.path, m.source.sha256, m.source.copy) },
    { "command", m.command and table.concat(m.command, " ") },
  }
  for _, f in ipairs(fields) do if f[2] ~= nil then print(fmt("  %-10s %s", f[1], text(f[2]))) end end
  local function section(title, t)
    local keys = sorted_keys(t)
    if #keys == 0 then return end
    print(title)
    for _, k in ipairs(keys) do print(fmt("  %s = %s", k, text(t[k]))) end
  end
  section("tags:", m.tags)
  section("params (given):", rec.params.given)
  section("params (resolved):", rec.params.resolved)
  if #m.data > 0 then
    print("data read:")
    for _, f in ipairs(m.data) do print(fmt("  %s  sha256 %s  %s bytes", f.path, f.sha256, text(f.bytes))) end
  end
  print(fmt("metrics: %d points%s", rec.n_points, rec.cut_lines > 0 and " (a last line cut by a kill skipped)" or ""))
  warn_corrupt(rec)
  for _, k in ipairs(sorted_keys(rec.final)) do
    print(fmt("  %s = %s  (final, step %s; %d points)", k, text(rec.final[k]), text(rec.last_step[k]), rec.count[k]))
  end
  local arts = artifacts_of(rec.dir .. "/artifacts", "")
  if #arts > 0 then
    print("artifacts:")
    for _, a in ipairs(arts) do print(fmt("  %s  (%s bytes)", a[1], text(a[2]))) end
  end
  return 0
end

-- ---- compare ----------------------------------------------------------------------------------

local function compare(o)
  if #o.words < 3 then return say_error("runs compare needs two runs or more: moonlab runs compare A B ...") end
  local recs = {}
  for i = 2, #o.words do
    recs[#recs + 1] = ml.track.read(ml.track.find(o.words[i], o.dir).dir, { points = false })
    warn_corrupt(recs[#recs])
  end
  local header = { "", "" }
  for _, rec in ipairs(recs) do header[#header + 1] = rec.meta.id end
  local rows = {}
  local function add(kind, keys, get)
    for _, k in ipairs(keys) do
      local row, first, differs = { "", kind .. " " .. k }, nil, false
      for i, rec in ipairs(recs) do
        local v = text(get(rec, k))
        row[#row + 1] = v
        if i == 1 then first = v elseif v ~= first then differs = true end
      end
      row[1] = differs and "*" or ""
      rows[#rows + 1] = row
    end
  end
  local pk, mk = {}, {}
  for _, rec in ipairs(recs) do
    for k in pairs(rec.params.resolved) do pk[k] = true end
    for k in pairs(rec.final) do mk[k] = true end
  end
  add("name", { "" }, function(rec) return rec.meta.name end)
  add("status", { "" }, function(rec) return rec.meta.status end)
  add("param", sorted_keys(pk), function(rec, k) return rec.params.resolved[k] end)
  add("metric", sorted_keys(mk), function(rec, k) return rec.final[k] end)
  print_table(header, rows)
  return 0
end

-- ---- gc ----------------------------------------------------------------------------------------

local function parse_age(s)
  local n, unit = tostring(s):match("^([%d.]+)([smhdw]?)$")
  n = tonumber(n)
  if not n then return nil end
  local mult = { s = 1, [""] = 1, m = 60, h = 3600, d = 86400, w = 7 * 86400 }
  return n * mult[unit]
end

local function remove_tree(path)
  local lfs = require "lfs"
  if lfs.attributes(path, "mode") == "directory" then
    for name in lfs.dir(path) do
      if name ~= "." and name ~= ".." then remove_tree(path .. "/" .. name) end
    end
    local ok, err = lfs.rmdir(path)
    if not ok then error(fmt("cannot remove '%s': %s", path, tostring(err)), 0) end
  else
    local ok, err = os.remove(path)
    if not ok then error(fmt("cannot remove '%s': %s", path, tostring(err)), 0) end
  end
end

local function gc(o)
  local age = o["older-than"] and parse_age(o["older-than"])
  if o["older-than"] and not age then return say_error(fmt("--older-than '%s': expected a duration such as 30d, 12h, 90m", o["older-than"])) end
  if not (o.failed or o.killed or age) then
    return say_error("runs gc deletes nothing unless told what: --failed, --killed and/or --older-than 30d (add --dry-run to see first)")
  end
  local now = ml._track.unix_time()
  local n = 0
  for _, meta in ipairs(ml.track.list(o.dir, o.words[2])) do
    local by_status = (o.failed and meta.status == "failed") or (o.killed and meta.status == "killed")
      or (not o.failed and not o.killed and meta.status ~= "running")
    local old = not age or (now - (meta.end_time or meta.start_time or now)) > age
    if by_status and old and meta.status ~= "running" then
      print(fmt("%s %s  %s  %s", o["dry-run"] and "would delete" or "deleted", meta.id, meta.status, meta.dir))
      if not o["dry-run"] then remove_tree(meta.dir) end
      n = n + 1
    end
  end
  print(fmt("%d run(s) %s", n, o["dry-run"] and "would be deleted (dry run)" or "deleted"))
  return 0
end

-- ---- export ----------------------------------------------------------------------------------------

local function export(o)
  if not o.mlflow then return say_error("runs export needs --mlflow DIR (the only format so far)") end
  local r = ml.track.export_mlflow(o.mlflow, { root = o.dir, experiment = o.words[2] })
  print(fmt("exported %d run(s) of %d experiment(s) to %s (MLflow file store; MLflow 3.13+ reads it with MLFLOW_ALLOW_FILE_STORE=true)",
    r.runs, r.experiments, o.mlflow))
  -- names MLflow would refuse, and values over its limits: said, not silently changed
  for _, c in ipairs(r.renamed) do print("  renamed for MLflow: " .. c) end
  for _, c in ipairs(r.cut) do print("  cut to MLflow's length limit: " .. c) end
  return 0
end

local ACTIONS = { show = show, compare = compare, gc = gc, export = export }

return {
  summary = "list, show, compare, export and delete run records (ml.track)",
  usage = USAGE,
  run = function(args)
    local o, err = parse(args)
    if not o then return say_error(err .. "\n" .. USAGE) end
    if o.help then print(USAGE) return 0 end
    local action = ACTIONS[o.words[1]]
    local ok, status = pcall(action or list, o)
    if not ok then return say_error(tostring(status):gsub("^[^:\n]*moonlab/[%w_/]+%.lua:%d+: ", "")) end
    return status
  end,
}
