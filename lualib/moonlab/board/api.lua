--- moonlab.board.api: reads run records (the layout of ml.track, contract C) for the dashboard.
--   ROOT/EXPERIMENT/RUN_ID/{meta.json, params.json, metrics.jsonl, artifacts/}
--   MODELS/NAME/VERSION/...  (model versions: models/ next to ROOT, or --models DIR)
-- Every function returns plain data ready for ml.json.encode. A missing run or a bad name raises
-- {status = 404|400, error = "..."}, which the HTTP layer answers as JSON.
-- metrics.jsonl files are parsed incrementally: a per-state cache keeps each file's line marks
-- and last values, so polling a growing run reads only the new bytes.
local ml = require "moonlab"
local lfs = require "lfs"

local api = {}
local json = ml.json
local fmt = string.format

local function fail(status, msg) error({ status = status, error = msg }, 0) end

-- A name that may be one path segment: no separators, no dot-dot, no control bytes.
local function safe_segment(s)
  return type(s) == "string" and #s > 0 and #s <= 255 and s ~= "." and s ~= ".."
    and not s:find("[/\\%z%c]")
end
api.safe_segment = safe_segment

local function is_dir(p) return lfs.attributes(p, "mode") == "directory" end

local read_all = require("moonlab.core.fs").read_file

-- ml.json.null and nested nulls become nil, so Lua code can test fields plainly.
local function denull(v)
  if v == json.null then return nil end
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = denull(x) end
  end
  return v
end

local function read_json(path)
  local s = read_all(path)
  if not s then return nil end
  local ok, v = pcall(json.decode, s)
  if not ok then return nil, v end
  return denull(v)
end

-- meta.json and params.json decoded once per version of the file: ml.track rewrites meta.json by
-- rename, so (inode, size, time) tells a new version. The tables are shared: callers copy before changing.
local decoded = {}
local function read_record(path)
  local a = lfs.attributes(path)
  if not a or a.mode ~= "file" then decoded[path] = nil; return nil end
  local key = a.ino .. ":" .. a.size .. ":" .. a.modification
  local c = decoded[path]
  if c and c.key == key then return c.value end
  local v = read_json(path)
  decoded[path] = { key = key, value = v }
  return v
end

-- The host name, to tell a dead "running" record (its pid gone on this host) as killed.
local HOST
local function hostname()
  if HOST == nil then
    local s = read_all("/proc/sys/kernel/hostname") or os.getenv("HOSTNAME") or ""
    HOST = s:gsub("%s+$", "")
  end
  return HOST
end

--- api.status(meta) -> status: meta.status, with a "running" record whose process is gone (on this host) as "killed"
function api.status(meta)
  local st = meta.status or "running"
  if st == "running" and math.tointeger(meta.pid) and (meta.host == nil or meta.host == hostname()) then
    if not ml._proc.alive(math.tointeger(meta.pid)) then st = "killed" end
  end
  return st
end

-- ---- metrics.jsonl, parsed incrementally ---------------------------------------------------

-- cache[path] = {done = bytes of complete lines read, lines = their count, marks = {byte offset of
-- line 1, of line 1 + EVERY, ...}, last = {key = last value}, keys = sorted names, steps = largest step}.
-- Sparse marks keep a long per-batch log cheap to hold; a read since line N seeks to the mark before N.
local EVERY = 256
local cache = {}

local function fresh() return { done = 0, lines = 0, marks = {}, last = {}, keys = {}, seen = {}, steps = 0 } end

local function scan_metrics(path)
  local size = lfs.attributes(path, "size")
  if not size then return fresh() end
  local c = cache[path]
  if not c or size < c.done then c = fresh(); cache[path] = c end -- new, or rewritten shorter
  if size == c.done then return c end
  local f = io.open(path, "rb")
  if not f then return c end
  f:seek("set", c.done)
  local chunk = f:read("a") or ""
  f:close()
  local pos, sorted = 1, true
  while true do
    local nl = chunk:find("\n", pos, true)
    if not nl then break end -- a cut last line waits for its newline
    if chunk:find("^%s*\n", pos) ~= pos then
      if c.lines % EVERY == 0 then c.marks[#c.marks + 1] = c.done + pos - 1 end
      c.lines = c.lines + 1
      local ok, rec = pcall(json.decode, chunk:sub(pos, nl - 1))
      if ok and type(rec) == "table" and type(rec.metrics) == "table" then
        for k, v in pairs(rec.metrics) do
          if type(v) == "number" then
            if not c.seen[k] then c.seen[k] = true; c.keys[#c.keys + 1] = k; sorted = false end
            c.last[k] = v
          end
        end
        if math.type(rec.step) == "integer" and rec.step > c.steps then c.steps = rec.step end
      end
    end
    pos = nl + 1
  end
  c.done = c.done + pos - 1
  if not sorted then table.sort(c.keys) end
  return c
end

-- Calls fn(rec) for each metric record of lines since+1 .. the last complete one (line numbers count non-blank
-- lines); returns that line count.
local function each_record(path, since, fn)
  local c = scan_metrics(path)
  if since >= c.lines then return c.lines end
  local mark = since // EVERY
  local from = c.marks[mark + 1]
  local f = io.open(path, "rb")
  if not f then return since end
  f:seek("set", from)
  local chunk = f:read(c.done - from) or ""
  f:close()
  local skip = since - mark * EVERY
  for line in chunk:gmatch("[^\n]+") do
    if line:find("%S") then
      if skip > 0 then skip = skip - 1
      else
        local ok, rec = pcall(json.decode, line)
        if ok and type(rec) == "table" and type(rec.metrics) == "table" then fn(rec) end
      end
    end
  end
  return c.lines
end

local function point(rec, m)
  return { step = math.tointeger(rec.step) or rec.step, time = rec.time, metrics = json.object(m) }
end

-- Points of lines since+1 .. the last complete one, and the line count.
local function read_points(path, since)
  local points = json.array()
  local n = each_record(path, since, function(rec)
    local m = {}
    for k, v in pairs(rec.metrics) do if type(v) == "number" then m[k] = v end end
    points[#points + 1] = point(rec, m)
  end)
  return points, n
end

-- ---- runs --------------------------------------------------------------------------------

local function experiments_of(root)
  local out = {}
  if not is_dir(root) then return out end
  for e in lfs.dir(root) do
    if e:sub(1, 1) ~= "." and safe_segment(e) and is_dir(root .. "/" .. e) then out[#out + 1] = e end
  end
  table.sort(out)
  return out
end

local function run_ids(root, exp)
  local out = {}
  local dir = root .. "/" .. exp
  for id in lfs.dir(dir) do
    if id:sub(1, 1) ~= "." and safe_segment(id) and lfs.attributes(dir .. "/" .. id .. "/meta.json", "mode") == "file" then
      out[#out + 1] = id
    end
  end
  return out
end

-- The directory of run id, found under any experiment.
local function run_dir(root, id)
  if not safe_segment(id) then fail(400, fmt("board: bad run id '%s'", tostring(id))) end
  for _, e in ipairs(experiments_of(root)) do
    local d = root .. "/" .. e .. "/" .. id
    if lfs.attributes(d .. "/meta.json", "mode") == "file" then return d, e end
  end
  fail(404, fmt("board: no run '%s' under %s", id, root))
end

-- The params to show: resolved when there are any, else as given.
local function shown_params(p)
  if type(p) ~= "table" then return json.object() end
  local r = p.resolved
  if type(r) == "table" and next(r) ~= nil then return r end
  if type(p.given) == "table" then return p.given end
  return json.object()
end

local function summary(dir, exp, id)
  local meta = read_record(dir .. "/meta.json")
  if type(meta) ~= "table" then return nil end
  local m = scan_metrics(dir .. "/metrics.jsonl")
  local final = {}
  for k, v in pairs(m.last) do final[k] = v end
  local st = api.status(meta)
  local start, stop = tonumber(meta.start_time), tonumber(meta.end_time)
  local last = stop or (st == "running" and os.time() or nil)
  return {
    id = meta.id or id, name = meta.name or id, experiment = meta.experiment or exp, status = st,
    kind = meta.kind or "run", parent = meta.parent, start_time = start, end_time = stop,
    duration = start and last and (last - start) or nil,
    params = shown_params(read_record(dir .. "/params.json")), metrics = json.object(final),
    tags = json.object(meta.tags or {}), steps = m.steps, points = m.lines,
  }
end

--- api.experiments(root) -> list of {name, runs, running, last_start}
function api.experiments(root)
  local out = json.array()
  for _, e in ipairs(experiments_of(root)) do
    local n, running, last = 0, 0, nil
    for _, id in ipairs(run_ids(root, e)) do
      local meta = read_record(root .. "/" .. e .. "/" .. id .. "/meta.json")
      if type(meta) == "table" then
        n = n + 1
        if api.status(meta) == "running" then running = running + 1 end
        local t = tonumber(meta.start_time)
        if t and (not last or t > last) then last = t end
      end
    end
    out[#out + 1] = { name = e, runs = n, running = running, last_start = last }
  end
  return out
end

--- api.runs(root, [experiment]) -> list of run summaries (id, name, status, times, params, final metrics), newest first
function api.runs(root, experiment)
  local exps
  if experiment and experiment ~= "" then
    if not safe_segment(experiment) then fail(400, fmt("board: bad experiment name '%s'", experiment)) end
    if not is_dir(root .. "/" .. experiment) then fail(404, fmt("board: no experiment '%s' under %s", experiment, root)) end
    exps = { experiment }
  else
    exps = experiments_of(root)
  end
  local out = json.array()
  for _, e in ipairs(exps) do
    for _, id in ipairs(run_ids(root, e)) do
      local s = summary(root .. "/" .. e .. "/" .. id, e, id)
      if s then out[#out + 1] = s end
    end
  end
  table.sort(out, function(a, b)
    if (a.start_time or 0) ~= (b.start_time or 0) then return (a.start_time or 0) > (b.start_time or 0) end
    return a.id > b.id
  end)
  return out
end

--- api.run(root, id) -> {meta, params = {given, resolved}, metric_keys, final, points, experiment, trials (count), children (other child runs)}
function api.run(root, id)
  local dir, exp = run_dir(root, id)
  local shared = read_record(dir .. "/meta.json")
  if type(shared) ~= "table" then fail(500, fmt("board: cannot read %s/meta.json", dir)) end
  local meta = {}
  for k, v in pairs(shared) do meta[k] = v end
  meta.status = api.status(shared)
  local m = scan_metrics(dir .. "/metrics.jsonl")
  local params = read_record(dir .. "/params.json") or {}
  local keys = json.array()
  for i, k in ipairs(m.keys) do keys[i] = k end
  local final = {}
  for k, v in pairs(m.last) do final[k] = v end
  local children, trials = json.array(), 0
  for _, cid in ipairs(run_ids(root, exp)) do
    local cm = read_record(root .. "/" .. exp .. "/" .. cid .. "/meta.json")
    if type(cm) == "table" and cm.parent == (meta.id or id) then
      if cm.kind == "trial" then trials = trials + 1
      else children[#children + 1] = { id = cm.id or cid, name = cm.name, kind = cm.kind, status = api.status(cm) } end
    end
  end
  return {
    id = meta.id or id, experiment = exp, meta = meta, metric_keys = keys, final = json.object(final),
    params = { given = json.object(params.given or {}), resolved = json.object(params.resolved or {}) },
    points = m.lines, steps = m.steps, trials = trials, children = children,
  }
end

-- ---- long curves, thinned on the server ----------------------------------------------------------

api.MAX_POINTS = 2000 -- what /metrics sends per metric when the page does not say (a chart is narrower than that)

-- The positions (1-based, into a curve of m values) that keep its shape at about max points: the first and
-- the last, and in each of (max - 2) // 2 equal buckets of the rest its smallest and its largest value. The
-- min and max are found by tensor ops (one reshape, argmin and argmax over the buckets), not a Lua loop.
local function minmax_positions(values, max)
  local m = #values
  local buckets = math.max(1, (max - 2) // 2)
  local inner = m - 2
  local size = (inner + buckets - 1) // buckets
  local buckets_used = (inner + size - 1) // size
  local v = ml.tensor(values, { dtype = "float64" }):narrow(1, 2, inner)
  local pad = buckets_used * size - inner -- the last bucket padded with its own last value: no new extreme
  if pad > 0 then v = ml.cat({ v, v:narrow(1, inner, 1):expand(pad) }) end
  local grid = v:reshape(buckets_used, size)
  local lo, hi = grid:argmin(2):tolist(), grid:argmax(2):tolist()
  local keep = { 1 }
  for b = 1, buckets_used do
    local base = (b - 1) * size + 1 -- + 1: position 1 is the first value, outside the buckets
    local a, z = math.min(base + lo[b], m - 1), math.min(base + hi[b], m - 1)
    if a > z then a, z = z, a end
    keep[#keep + 1] = a
    if z ~= a then keep[#keep + 1] = z end
  end
  keep[#keep + 1] = m
  return keep
end

-- The points of lines since+1 .. thinned per metric: a metric with more than max values keeps minmax_positions
-- of them; a line is sent when any metric keeps it, with the metrics kept there. Returns points, line count, total.
local function read_thinned(path, since, max)
  local recs, series, order = {}, {}, {} -- series: key -> {at = {record index...}, values = {...}}
  local n = each_record(path, since, function(rec)
    local i = #recs + 1
    recs[i] = rec
    for k, v in pairs(rec.metrics) do
      if type(v) == "number" then
        local s = series[k]
        if not s then s = { at = {}, values = {} }; series[k] = s; order[#order + 1] = k end
        s.at[#s.at + 1] = i
        s.values[#s.values + 1] = v
      end
    end
  end)
  local kept = {} -- record index -> {key = value}
  for _, k in ipairs(order) do
    local s = series[k]
    local take = function(j) local i = s.at[j]; kept[i] = kept[i] or {}; kept[i][k] = s.values[j] end
    if #s.at > max then for _, j in ipairs(minmax_positions(s.values, max)) do take(j) end
    else for j = 1, #s.at do take(j) end end
  end
  local points = json.array()
  for i, rec in ipairs(recs) do if kept[i] then points[#points + 1] = point(rec, kept[i]) end end
  return points, n, #recs
end

--- api.metrics(root, id, [since = 0], [max_points = 2000]) -> {points = {{step, time, metrics}...}, next = line count,
-- status, total, thinned}: the lines after line since; a metric with more than max_points of them is thinned to its
-- first, last and per-bucket min and max (max_points = 0: every point)
function api.metrics(root, id, since, max_points)
  local dir = run_dir(root, id)
  since = math.tointeger(tonumber(since or 0))
  if not since or since < 0 then fail(400, "board: since must be a non-negative integer (a line count)") end
  local max = max_points == nil and api.MAX_POINTS or math.tointeger(tonumber(max_points))
  if not max or (max ~= 0 and max < 4) then
    fail(400, "board: max_points must be 0 (every point) or an integer >= 4, got " .. tostring(max_points))
  end
  local path = dir .. "/metrics.jsonl"
  local points, n, total
  if max > 0 and scan_metrics(path).lines - since > max then points, n, total = read_thinned(path, since, max)
  else points, n = read_points(path, since); total = #points end
  local meta = read_record(dir .. "/meta.json") or {}
  return { points = points, next = n, status = api.status(meta), total = total, thinned = #points < total }
end

local IMAGE = { png = true, jpg = true, jpeg = true, gif = true, svg = true, webp = true }

--- api.artifacts(root, id) -> list of {name, bytes, image}: the files under the run's artifacts/ (sub-folders walked)
function api.artifacts(root, id)
  local dir = run_dir(root, id) .. "/artifacts"
  local out = json.array()
  local function walk(d, prefix, depth)
    if depth > 8 or not is_dir(d) then return end
    local names = {}
    for f in lfs.dir(d) do if f:sub(1, 1) ~= "." then names[#names + 1] = f end end
    table.sort(names)
    for _, f in ipairs(names) do
      local p = d .. "/" .. f
      local mode = lfs.symlinkattributes(p, "mode")
      if mode == "directory" then walk(p, prefix .. f .. "/", depth + 1)
      elseif mode == "file" then
        local ext = (f:match("%.([%w]+)$") or ""):lower()
        out[#out + 1] = { name = prefix .. f, bytes = lfs.attributes(p, "size"), image = IMAGE[ext] == true }
      end
    end
  end
  walk(dir, "", 0)
  return out
end

-- A relative path of safe segments under base, or a 400; a missing file or a symlink is a 404.
local function file_under(base, rel, what)
  if type(rel) ~= "string" or rel == "" then fail(400, "board: " .. what .. " needs a file name") end
  local path = base
  for seg in rel:gmatch("[^/]+") do
    if not safe_segment(seg) then fail(400, fmt("board: bad %s path '%s'", what, rel)) end
    path = path .. "/" .. seg
    if lfs.symlinkattributes(path, "mode") == "link" then fail(404, fmt("board: no %s '%s'", what, rel)) end
  end
  if rel:find("//", 1, true) or rel:sub(1, 1) == "/" or rel:find("\\", 1, true) then
    fail(400, fmt("board: bad %s path '%s'", what, rel))
  end
  if lfs.attributes(path, "mode") ~= "file" then fail(404, fmt("board: no %s '%s'", what, rel)) end
  return path
end

--- api.artifact_path(root, id, name) -> path of the artifact file (traversal refused: 400; missing: 404)
function api.artifact_path(root, id, name)
  return file_under(run_dir(root, id) .. "/artifacts", name, "artifact")
end

-- ---- searches ------------------------------------------------------------------------------

local MAXIMIZE_WORDS = { acc = true, accuracy = true, auc = true, f1 = true, r2 = true, score = true,
  precision = true, recall = true, ap = true, map = true }

-- The objective's value of a trial: its recorded value (ml.track logs it as the metric "value"),
-- else the search's metric, else its only metric.
local function trial_value(meta, final, metric)
  local tags = meta.tags or {}
  local v = tonumber(meta.value) or tonumber(tags.value)
  if v then return v end
  if type(final.value) == "number" then return final.value end
  if metric and type(final[metric]) == "number" then return final[metric] end
  local k, only = next(final)
  if k and next(final, k) == nil then return only end
  return nil
end

local STATE = { finished = "complete", failed = "failed", killed = "failed", running = "running" }

--- api.trials(root, id) -> {search, metric, direction, param_names, trials = {{id, number, params, value, state}...}, best}
function api.trials(root, id)
  local dir, exp = run_dir(root, id)
  local smeta = read_record(dir .. "/meta.json") or {}
  local sparams = shown_params(read_record(dir .. "/params.json"))
  local stags = smeta.tags or {}
  local metric = stags.metric or sparams.metric or smeta.metric
  local direction = stags.direction or sparams.direction or smeta.direction
  if direction ~= "maximize" and direction ~= "minimize" then
    direction = "minimize"
    for w in tostring(metric or ""):lower():gmatch("%w+") do if MAXIMIZE_WORDS[w] then direction = "maximize" end end
  end
  local trials, names, seen = {}, json.array(), {}
  for _, cid in ipairs(run_ids(root, exp)) do
    local cdir = root .. "/" .. exp .. "/" .. cid
    local meta = read_record(cdir .. "/meta.json")
    if type(meta) == "table" and meta.parent == (smeta.id or id) then
      -- a trial's sampled values (its params as given); resolved adds the recipe's fixed ones, the same for every trial
      local tp = read_record(cdir .. "/params.json")
      local params = type(tp) == "table" and type(tp.given) == "table" and next(tp.given) ~= nil and tp.given or shown_params(tp)
      for k, v in pairs(params) do
        if not seen[k] and (type(v) == "number" or type(v) == "string" or type(v) == "boolean") then
          seen[k] = true; names[#names + 1] = k
        end
      end
      local final = scan_metrics(cdir .. "/metrics.jsonl").last
      local tags = meta.tags or {}
      local st = api.status(meta)
      trials[#trials + 1] = {
        id = meta.id or cid, name = meta.name, number = math.tointeger(tonumber(tags.trial or tags.number or meta.number)),
        params = json.object(params), value = trial_value(meta, final, metric),
        state = tags.state or meta.state or STATE[st] or st, start_time = tonumber(meta.start_time),
        metrics = json.object((function() local t = {} for k, v in pairs(final) do t[k] = v end return t end)()),
      }
    end
  end
  table.sort(trials, function(a, b)
    if a.number and b.number and a.number ~= b.number then return a.number < b.number end
    if (a.start_time or 0) ~= (b.start_time or 0) then return (a.start_time or 0) < (b.start_time or 0) end
    return a.id < b.id
  end)
  local best
  for i, t in ipairs(trials) do
    t.number = t.number or i
    if t.state == "complete" and type(t.value) == "number" and t.value == t.value then
      if not best or (direction == "maximize" and t.value > best.value) or (direction == "minimize" and t.value < best.value) then
        best = t
      end
    end
  end
  table.sort(names)
  local list = json.array()
  for i, t in ipairs(trials) do list[i] = t end
  return { search = smeta.id or id, metric = metric, direction = direction, param_names = names, trials = list,
    best = best and best.id or nil }
end

-- ---- model versions ------------------------------------------------------------------------

local META_FILES = { "meta.json", "version.json", "model.json", "bundle.json", "card.json" }

--- api.models(dir) -> list of {name, versions = {{version, files = {{name, bytes}}, time, meta}...}}
function api.models(dir)
  local out = json.array()
  if not dir or not is_dir(dir) then return out end
  local names = {}
  for n in lfs.dir(dir) do
    if n:sub(1, 1) ~= "." and safe_segment(n) and is_dir(dir .. "/" .. n) then names[#names + 1] = n end
  end
  table.sort(names)
  for _, n in ipairs(names) do
    local versions, others = json.array(), json.array()
    for v in lfs.dir(dir .. "/" .. n) do
      local p = dir .. "/" .. n .. "/" .. v
      if v:match("^%d+$") and is_dir(p) then
        local files, bytes, time = json.array(), 0, nil
        for f in lfs.dir(p) do
          local fp = p .. "/" .. f
          if f:sub(1, 1) ~= "." and lfs.attributes(fp, "mode") == "file" then
            local size = lfs.attributes(fp, "size")
            files[#files + 1] = { name = f, bytes = size }
            bytes = bytes + size
            local t = lfs.attributes(fp, "modification")
            if not time or t > time then time = t end
          end
        end
        table.sort(files, function(a, b) return a.name < b.name end)
        local meta
        for _, m in ipairs(META_FILES) do
          if lfs.attributes(p .. "/" .. m, "size") and lfs.attributes(p .. "/" .. m, "size") < 65536 then
            meta = read_json(p .. "/" .. m)
            if meta then break end
          end
        end
        versions[#versions + 1] = { version = tonumber(v), files = files, bytes = bytes, time = time, meta = meta }
      elseif v:sub(1, 1) ~= "." then
        local target = lfs.symlinkattributes(p, "target")
        others[#others + 1] = { name = v, target = target }
      end
    end
    table.sort(versions, function(a, b) return a.version > b.version end)
    out[#out + 1] = { name = n, versions = versions, aliases = others }
  end
  return out
end

--- api.model_file(dir, name, version, file) -> path of a file of a model version
function api.model_file(dir, name, version, file)
  if not dir then fail(404, "board: no models folder") end
  if not safe_segment(name) or not tostring(version):match("^%d+$") then fail(400, "board: bad model path") end
  return file_under(dir .. "/" .. name .. "/" .. version, file, "model file")
end

local doc = ml.doc
doc(api.status, "board.api.status(meta) -> status — meta.status, a running record whose pid is gone on this host as killed")
doc(api.experiments, "board.api.experiments(root) -> {{name, runs, running, last_start}...} — the experiments under a runs folder")
doc(api.runs, "board.api.runs(root, [experiment]) -> run summaries (id, name, status, times, params, final metrics), newest first")
doc(api.run, "board.api.run(root, id) -> {meta, params = {given, resolved}, metric_keys, final, points, trials, children}")
doc(api.metrics, "board.api.metrics(root, id, [since = 0], [max_points = 2000]) -> {points, next, status, total, thinned} — the metric "
  .. "lines after line since; a metric with more points is thinned to first, last and per-bucket min/max (0: all)")
doc(api.artifacts, "board.api.artifacts(root, id) -> {{name, bytes, image}...} — the files under a run's artifacts/")
doc(api.artifact_path, "board.api.artifact_path(root, id, name) -> path — an artifact's file; traversal and symlinks refused")
doc(api.trials, "board.api.trials(root, id) -> {metric, direction, param_names, trials = {{id, number, params, value, state}...}, best}")
doc(api.models, "board.api.models(dir) -> {{name, versions = {{version, files, bytes, time, meta}...}, aliases}...}")
doc(api.model_file, "board.api.model_file(dir, name, version, file) -> path — a file of a model version")
doc(api.safe_segment, "board.api.safe_segment(s) -> boolean — whether s may be one path segment (no /, .., control bytes)")
doc(api, "board.api — reads run records (contract C) for the dashboard: experiments, runs, run, metrics, artifacts, trials, models")

return api
