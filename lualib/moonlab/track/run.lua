--- track/run.lua: ml.track.start and the run object — one directory per run (contract C):
--
--   local run = ml.track.start{experiment = "fashion", name = "mlp", params = {lr = 1e-3}}
--   run:log({loss = 0.31, val_loss = 0.35}, epoch)        -- one JSON line, one write(2)
--   run:log_artifact("confusion.png")                    -- copied into artifacts/
--   run:finish()                                          -- or "failed"; a kill -9 reads back as "killed"
--
-- meta.json is written at start and rewritten atomically (a temporary file, then
-- rename) on set_tags, on a newly read data file and at finish; metrics.jsonl is
-- only ever appended, so a process killed mid-run leaves whole lines.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local Object = require("moonlab.core.class").Object
local prov = require "moonlab.track.provenance"
local files = require "moonlab.core.fs"
local lfs = require "lfs"

local fail, fmt = checks.fail, string.format
local json = ml.json
local M = {}

local stack = {} -- the open runs of this process, innermost last
-- The data files this process read while no run was open (data.read_csv, read_idx, fashion_mnist, ml.load ... call
-- note_data), in order: every run opened later records them too (a script loads its data, then starts its runs, or
-- fit{track = true} opens one). A file read while a run is open belongs to the open runs only.
local read_files, read_seen = {}, {}
local hashes = {} -- path -> {key = size:mtime, info}: a file read by many runs (search trials) is hashed once

local function hash_of(path)
  local a = lfs.attributes(path)
  if not a then return nil end
  local key = a.size .. ":" .. a.modification
  local c = hashes[path]
  if c and c.key == key then return c.info end
  local info = prov.file(path)
  hashes[path] = info and { key = key, info = info } or nil
  return info
end

local Run = Object:extend("track.Run")
M.Run = Run

local STATUSES = { "running", "finished", "failed", "killed" }
local KINDS = { "run", "search", "trial" }

local mkdir_p, write_atomic = files.mkdir_p, files.write_atomic

local function encode(v) return json.encode(v) end

-- One write(2) of text at the end of path, or an error naming who, the path and the OS reason.
local function append(who, path, text)
  local ok, err = pcall(ml._track.append, path, text)
  if not ok then fail(fmt("%s: %s", who, (tostring(err):gsub("^[^\n]-%.lua:%d+: ", "")))) end
end
-- user values as JSON can hold them: numbers made safe, functions and tensors dropped, tables kept as objects
local function clean_object(v) return json.object(format.to_json(v) or {}) end

-- ---- ids -----------------------------------------------------------------------

local counter = 0
-- "YYYYMMDD-HHMMSS-xxxxxx": sorts by start time; the suffix mixes the pid, the clock and a counter
-- (forked workers share the Lua state, and ml's generator must not move: a run may not change results)
local function new_id(now)
  counter = counter + 1
  local salt = ml._track.sha256(fmt("%d %.9f %d %s", ml._proc.getpid(), now, counter, tostring({})))
  return os.date("%Y%m%d-%H%M%S", math.floor(now)) .. "-" .. salt:sub(1, 6)
end

-- ---- start ------------------------------------------------------------------------

local START_OPTIONS = { "experiment", "name", "params", "resolved", "dir", "parent", "tags", "seed", "source", "kind", "command" }

local function check_name(who, what, v, default)
  if v == nil then return default end
  if type(v) ~= "string" or v == "" then fail(fmt("%s: %s must be a non-empty string, got %s", who, what, checks.show(v))) end
  return v
end

local function check_table(who, what, v)
  if v ~= nil and (type(v) ~= "table" or getmetatable(v) ~= nil) then
    fail(fmt("%s: %s must be a plain table, got %s", who, what, checks.show(v)))
  end
  return v or {}
end

--- track.root([dir]) -> the directory that holds the experiments: dir, $MOONLAB_RUNS or "runs"
function M.root(dir)
  return dir or os.getenv("MOONLAB_RUNS") or "runs"
end

local function parent_of(who, p)
  if p == nil then return nil end
  if type(p) == "table" and getmetatable(p) == Run then return p.id end
  if type(p) == "string" and p ~= "" then return p end
  fail(fmt("%s: parent must be a run or a run id, got %s", who, checks.show(p)))
end

local function copy_source(who, run, path)
  local info = prov.file(path)
  if not info then fail(fmt("%s: cannot read the source '%s'", who, path)) end
  mkdir_p(who, run.dir .. "/source")
  local name = path:match("([^/]+)$")
  local ok, err = files.copy_file(path, run.dir .. "/source/" .. name)
  if not ok then fail(fmt("%s: cannot copy '%s' into '%s': %s", who, path, run.dir .. "/source", tostring(err))) end
  return { path = path, sha256 = info.sha256, copy = "source/" .. name }
end

--- track.start{experiment, name, params, resolved, dir, parent, tags, seed, source, kind} -> run: opens a run directory
function M.start(opts)
  local who = "track.start"
  opts = checks.options(who, opts, START_OPTIONS, true)
  local experiment = check_name(who, "experiment", opts.experiment, "default")
  if experiment:find("/", 1, true) or experiment:sub(1, 1) == "." then
    fail(fmt("%s: experiment must be a plain name (no '/', not starting with '.'), got '%s'", who, experiment))
  end
  local given = clean_object(check_table(who, "params", opts.params))
  local resolved = opts.resolved ~= nil and clean_object(check_table(who, "resolved", opts.resolved)) or given
  local tags = clean_object(check_table(who, "tags", opts.tags))
  local kind = checks.one_of(who, "kind", opts.kind, KINDS, "run")
  if opts.seed ~= nil and math.type(opts.seed) ~= "integer" then fail(fmt("%s: seed must be an integer, got %s", who, checks.show(opts.seed))) end
  if opts.command ~= nil then
    for i, a in ipairs(check_table(who, "command", opts.command)) do
      if type(a) ~= "string" then fail(fmt("%s: command[%d] must be a string, got %s", who, i, checks.show(a))) end
    end
  end
  local root = M.root(check_name(who, "dir", opts.dir))
  local exp_dir = root .. "/" .. experiment
  mkdir_p(who, exp_dir)
  local now = ml._track.unix_time()
  local id, dir
  for _ = 1, 20 do -- a taken id (same second, same suffix) is drawn again
    id = new_id(now)
    dir = exp_dir .. "/" .. id
    local ok, err = lfs.mkdir(dir)
    if ok then break end
    if lfs.attributes(dir, "mode") == nil then fail(fmt("%s: cannot create '%s': %s", who, dir, tostring(err))) end
    dir = nil
  end
  if not dir then fail(fmt("%s: cannot find a free run id under '%s'", who, exp_dir)) end
  mkdir_p(who, dir .. "/artifacts")
  local run = setmetatable({ id = id, dir = dir, experiment = experiment, root = root, last_step = 0, open = true }, Run)
  local source = opts.source
  if source == nil then source = prov.script() end
  local script_dir = type(source) == "string" and prov.dir_of(source) or "."
  run.meta = {
    id = id, name = check_name(who, "name", opts.name, id), experiment = experiment, parent = parent_of(who, opts.parent),
    status = "running", start_time = now, end_time = json.null, pid = ml._proc.getpid(), host = prov.host(),
    seed = opts.seed or ml.initial_seed(), threads = ml.threads(), moonlab_version = ml.config().version,
    git = prov.git(script_dir) or json.null,
    source = (type(source) == "string" and source ~= "") and copy_source(who, run, source) or json.null,
    data = json.array(), tags = tags, command = json.array(opts.command or prov.command()), kind = kind,
  }
  if run.meta.parent == nil then
    run.meta.parent = json.null
    local of = os.getenv("MOONLAB_RERUN_OF") -- set by `moonlab rerun` for the runs the re-executed script opens
    if of and of ~= "" and tags.rerun_of == nil then tags.rerun_of = of end
  end
  run.data_seen, run.given = {}, given
  for _, path in ipairs(read_files) do -- what this process read before the run opened
    local info = hash_of(path)
    if info then
      run.data_seen[path] = true
      run.meta.data[#run.meta.data + 1] = info
    end
  end
  write_atomic(who, dir .. "/params.json", encode({ given = given, resolved = resolved }))
  run:_write_meta(who)
  append(who, dir .. "/metrics.jsonl", "")
  stack[#stack + 1] = run
  return run
end

function Run:_write_meta(who)
  write_atomic(who, self.dir .. "/meta.json", encode(self.meta))
end

local function check_open(self, who)
  if getmetatable(self) ~= Run then fail(who .. ": call it with ':' on a run (run" .. who:match("(:.*)$") .. ")") end
  if not self.open then fail(fmt("%s: run %s is already %s", who, self.id, self.meta.status)) end
end

-- ---- logging ----------------------------------------------------------------------

--- run:log(metrics, [step]): appends {step, time, metrics} to metrics.jsonl (step: the last one + 1 when not given)
function Run:log(metrics, step)
  local who = "run:log"
  check_open(self, who)
  if type(metrics) ~= "table" then fail(fmt("%s: metrics must be a table {name = number}, got %s", who, checks.show(metrics))) end
  local m = {}
  for k, v in pairs(metrics) do
    if type(k) ~= "string" then fail(fmt("%s: metric names must be strings, got %s", who, checks.show(k))) end
    if type(v) ~= "number" then
      if ml.is_tensor(v) and v:numel() == 1 then v = v:item()
      else fail(fmt("%s: metric '%s' must be a number, got %s", who, k, checks.show(v))) end
    end
    m[k] = format.json_number(v)
  end
  if step == nil then step = self.last_step + 1 end
  if math.type(step) ~= "integer" then
    if type(step) == "number" and step == math.floor(step) then step = math.tointeger(step)
    else fail(fmt("%s: step must be an integer, got %s", who, checks.show(step))) end
  end
  self.last_step = step
  append(who, self.dir .. "/metrics.jsonl",
    json.encode({ step = step, time = ml._track.unix_time(), metrics = json.object(m) }) .. "\n")
end

--- run:artifact_path(name) -> a path under artifacts/ to write directly (its directories made)
function Run:artifact_path(name)
  local who = "run:artifact_path"
  check_open(self, who)
  if type(name) ~= "string" or name == "" or name:sub(1, 1) == "/" or name:find("%.%.") then
    fail(fmt("%s: name must be a relative file name inside artifacts/ (no '..'), got %s", who, checks.show(name)))
  end
  local path = self.dir .. "/artifacts/" .. name
  local sub = name:match("^(.*)/[^/]*$")
  if sub then mkdir_p(who, self.dir .. "/artifacts/" .. sub) end
  return path
end

--- run:log_artifact(path, [name]) -> the copy's path: copies a file into artifacts/ (as name, default its base name)
function Run:log_artifact(path, name)
  local who = "run:log_artifact"
  check_open(self, who)
  if type(path) ~= "string" then fail(fmt("%s: path must be a file name, got %s", who, checks.show(path))) end
  local mode, err = lfs.attributes(path, "mode")
  if mode ~= "file" then
    fail(fmt("%s: cannot read '%s': %s", who, path, mode and ("a " .. mode .. ", not a file") or tostring(err)))
  end
  local dst = self:artifact_path(name or path:match("([^/]+)$"))
  local ok, cerr = files.copy_file(path, dst)
  if not ok then fail(fmt("%s: cannot copy '%s' to '%s': %s", who, path, dst, tostring(cerr))) end
  return dst
end

--- run:set_tags{k = v}: adds or replaces tags (meta.json rewritten atomically)
function Run:set_tags(tags)
  local who = "run:set_tags"
  check_open(self, who)
  if type(tags) ~= "table" then fail(fmt("%s: expected a table of tags {name = value}, got %s", who, checks.show(tags))) end
  for k, v in pairs(tags) do
    if type(k) ~= "string" then fail(fmt("%s: tag names must be strings, got %s", who, checks.show(k))) end
    self.meta.tags[k] = format.to_json(v)
  end
  self:_write_meta(who)
end

-- run:_set_resolved(params): params.json's resolved part rewritten (what a trial's recipe ran with: its defaults,
-- the fixed values and the sampled ones; `moonlab search` knows them only once the recipe has resolved them)
function Run:_set_resolved(resolved)
  local who = "run:_set_resolved"
  check_open(self, who)
  write_atomic(who, self.dir .. "/params.json", encode({ given = self.given, resolved = clean_object(check_table(who, "resolved", resolved)) }))
end

--- run:finish([status = "finished"], [message]): closes the run (meta.json's status and end_time)
function Run:finish(status, message)
  local who = "run:finish"
  check_open(self, who)
  status = checks.one_of(who, "status", status, STATUSES, "finished")
  if status == "running" then fail(who .. ": status \"running\" does not finish a run; give finished, failed or killed") end
  self.meta.status, self.meta.end_time = status, ml._track.unix_time()
  if message ~= nil then self.meta.error = tostring(message) end
  self.open = false
  for i = #stack, 1, -1 do if stack[i] == self then table.remove(stack, i) end end
  self:_write_meta(who)
  return self
end

-- `local run <close> = track.start{...}` finishes the run when the block ends (failed on an error)
function Run:__close(err)
  if self.open then self:finish(err ~= nil and "failed" or "finished", err) end
end

function Run:__tostring()
  return fmt("track.Run(%s, %s, %s)", self.id, self.meta.name, self.open and "running" or self.meta.status)
end

-- ---- the process's open runs -----------------------------------------------------------

-- When the Lua state closes (the script ended, by an error or not) with runs of this process still open, they
-- are closed as failed: a record nobody finished is not claimed finished. A SIGKILL closes nothing: "killed".
M._at_close = setmetatable({}, { __gc = function()
  local pid = ml._proc.getpid()
  for i = #stack, 1, -1 do
    local run = stack[i]
    if run.open and run.meta.pid == pid then
      pcall(run.finish, run, "failed", "the script ended without run:finish() (an error?)")
    end
  end
end })

-- track._forget_reads(): forgets the files read while no run was open (tests/run.lua calls it between test files,
-- which share one process as scripts do not)
function M._forget_reads()
  read_files, read_seen = {}, {}
end

--- track.active() -> the innermost open run of this process, or nil
function M.active()
  return stack[#stack]
end

--- track.note_data(path): the data readers call this; the open runs record the file's SHA-256 once, and the runs
-- opened later by this process record it too
function M.note_data(path)
  if type(path) ~= "string" then return end
  if stack[1] == nil then
    if not read_seen[path] then read_seen[path] = true; read_files[#read_files + 1] = path end
    return
  end
  local info, pid = nil, ml._proc.getpid()
  for _, run in ipairs(stack) do
    -- a forked worker inherits its parent's open runs: only its own are its to write
    if run.meta.pid == pid and not run.data_seen[path] then
      info = info or hash_of(path)
      if not info then return end
      run.data_seen[path] = true
      local d = run.meta.data
      d[#d + 1] = info
      run:_write_meta("track.note_data")
    end
  end
end

ml.doc(M.start, "track.start{experiment='default', name, params, resolved, dir=$MOONLAB_RUNS or 'runs', parent, tags, seed, source=the script, kind='run'} -> run — "
  .. "opens a run directory ROOT/EXPERIMENT/ID with meta.json (provenance), params.json, metrics.jsonl, artifacts/")
ml.doc(M.root, "track.root([dir]) -> string — where runs live: dir, else $MOONLAB_RUNS, else 'runs'")
ml.doc(M.active, "track.active() -> run | nil — the innermost open run of this process (fit and search log into it)")
ml.doc(M.note_data, "track.note_data(path) — records a data file's SHA-256 in the open runs, or, read while none is open, in the "
  .. "runs this process opens later (the data readers call it)")
ml.doc(Run, "track.Run — an open run: run.id, run.dir, run:log, run:log_artifact, run:artifact_path, run:set_tags, run:finish")
ml.doc(Run.log, "run:log(metrics, [step]) — appends {step, time, metrics} as one JSON line to metrics.jsonl (step: the last + 1 by default)")
ml.doc(Run.artifact_path, "run:artifact_path(name) -> path — a path under the run's artifacts/ to write a file to directly")
ml.doc(Run.log_artifact, "run:log_artifact(path, [name]) -> path — copies a file into the run's artifacts/")
ml.doc(Run.set_tags, "run:set_tags{name = value} — adds tags to meta.json")
ml.doc(Run.finish, "run:finish([status='finished'], [message]) — ends the run: status (finished, failed, killed) and end_time in meta.json")

return { start = M.start, active = M.active, note_data = M.note_data, root = M.root, Run = Run, _forget_reads = M._forget_reads }
