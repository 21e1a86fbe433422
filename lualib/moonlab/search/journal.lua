--- search/journal.lua: a search stored as an append-only file of JSON lines
-- that several processes share (ml._journal: flock(2) locks on the file).
--
--   {"op":"study","direction":"maximize","metric":"acc","seed":7,"params":["lr","width"],"method":"tpe"}
--   {"op":"trial","number":3,"params":{...},"seed":...,"pid":1234,"host":"box","time":...}
--   {"op":"finish","number":3,"state":"complete","value":0.91,"duration":12.5,"intermediate":{...},...}
--
-- Claiming the next trial reads the new lines and appends a "trial" line
-- under one exclusive lock, so two processes never take the same number;
-- a trial whose process died (a "trial" line without "finish", its pid gone
-- on this host) is stale and the next claim runs it again with the same
-- parameters and seed. A last line cut short by a crash is skipped with a
-- warning (and ended, so the next line starts clean).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local J, P = ml._journal, ml._proc
local M = {}

local Journal = {}
Journal.__index = Journal
M.Journal = Journal

local function hostname()
  local f = io.open("/proc/sys/kernel/hostname")
  local h = f and f:read("l") or os.getenv("HOSTNAME") or "localhost"
  if f then f:close() end
  return h
end
local HOST = hostname()

--- journal.open(path, [{sync = true}]) -> a journal (the file is created at the first claim). sync = false skips
-- the fdatasync after each line (a search's temporary journal, removed at its end: a killed process loses
-- nothing either way, and a sync costs each trial milliseconds with the other workers waiting on the lock)
function M.open(path, opts)
  if type(path) ~= "string" or path == "" then fail("search.run: journal must be a file path, got " .. type(path)) end
  local sync = not (opts and opts.sync == false)
  return setmetatable({ path = path, offset = 0, trials = {}, by_number = {}, header = nil, warned = {}, sync = sync }, Journal)
end

-- JSON keeps integers as integers; steps of intermediate values come back as string keys
local function steps_of(inter)
  local out, steps = {}, {}
  for k, v in pairs(inter or {}) do
    local s = math.tointeger(tonumber(k))
    if s then out[s] = v steps[#steps + 1] = s end
  end
  table.sort(steps)
  return out, steps
end

-- why a record cannot be used (a hand-edited or foreign line), or nil
local function malformed(rec)
  local op = rec.op
  if op == "study" then
    if rec.direction ~= "minimize" and rec.direction ~= "maximize" then return "its direction is not minimize or maximize" end
    if rec.params ~= nil and type(rec.params) ~= "table" then return "its params are not a list of names" end
    return nil
  end
  if op ~= "trial" and op ~= "finish" then return nil end
  local n = rec.number
  if math.type(n) ~= "integer" and not (type(n) == "number" and n == math.floor(n)) then return "its number is not a whole number" end
  if n < 1 then return "its number is below 1" end
  if op == "trial" and rec.params ~= nil and type(rec.params) ~= "table" then return "its params are not a table" end
  if op == "finish" then
    if rec.value ~= nil and type(rec.value) ~= "number" then return "its value is not a number" end
    if rec.state ~= nil and type(rec.state) ~= "string" then return "its state is not a string" end
    if rec.duration ~= nil and type(rec.duration) ~= "number" then return "its duration is not a number" end
    if rec.metrics ~= nil and type(rec.metrics) ~= "table" then return "its metrics are not a table" end
    if rec.intermediate ~= nil and type(rec.intermediate) ~= "table" then return "its intermediate values are not a table" end
  end
  return nil
end

function Journal:_apply(rec, lineno)
  local op = rec.op
  local why = malformed(rec)
  if why then
    if not self.warned[lineno] then
      self.warned[lineno] = true
      io.stderr:write(fmt("search: %s:%d: a '%s' record that cannot be used (%s), skipped\n", self.path, lineno, tostring(op), why))
    end
    return
  end
  if op == "trial" or op == "finish" then rec.number = math.tointeger(rec.number) end
  if op == "study" then
    self.header = self.header or rec
  elseif op == "trial" then
    local t = self.by_number[rec.number]
    if not t then
      t = { number = rec.number, intermediate = {}, steps = {} }
      self.by_number[rec.number] = t
      self.trials[#self.trials + 1] = t
      table.sort(self.trials, function(a, b) return a.number < b.number end)
    end
    t.params, t.seed, t.pid, t.host, t.state = rec.params or {}, rec.seed, rec.pid, rec.host, "running"
  elseif op == "finish" then
    local t = self.by_number[rec.number]
    if t then
      t.state, t.value, t.metrics, t.duration, t.error = rec.state, rec.value, rec.metrics, rec.duration, rec.error
      t.intermediate, t.steps = steps_of(rec.intermediate)
    end
  elseif not self.warned[lineno] then
    self.warned[lineno] = true
    io.stderr:write(fmt("search: %s:%d: unknown record '%s', skipped\n", self.path, lineno, tostring(op)))
  end
end

-- Reads the lines appended since the last call (under the lock j).
function Journal:_sync(j)
  local text = j:read(self.offset)
  local pos, lineno = 1, self.lineno or 0
  while true do
    local nl = text:find("\n", pos, true)
    if not nl then break end
    lineno = lineno + 1
    local line = text:sub(pos, nl - 1)
    if line ~= "" then
      local ok, rec = pcall(ml.json.decode, line)
      if ok and type(rec) == "table" and rec.op ~= nil then self:_apply(rec, lineno)
      elseif not self.warned[lineno] then
        self.warned[lineno] = true
        io.stderr:write(fmt("search: %s:%d: a broken line (a crash while writing?), skipped\n", self.path, lineno))
      end
    end
    pos = nl + 1
  end
  self.offset, self.lineno = self.offset + pos - 1, lineno
  local rest = text:sub(pos)
  return rest -- an unfinished last line
end

local function encode(rec)
  return ml.json.encode(rec) .. "\n"
end

--- jr:refresh() -> the trials recorded so far (a shared lock)
function Journal:refresh()
  local j = J.lock(self.path, false)
  local rest = self:_sync(j)
  j:unlock()
  if rest ~= "" and not self.warned.tail then
    self.warned.tail = true
    io.stderr:write(fmt("search: %s: the last line is cut short (a crash while writing?); skipped\n", self.path))
  end
  return self.trials
end

--- jr:start(header) -> the study's header, written by the first process (a later one must match it)
function Journal:start(header)
  local fn = "search.run"
  local j = J.lock(self.path, true)
  self:_sync(j)
  if not self.header then
    j:append(encode(header), self.sync)
    self.header = header
    self:_sync(j)
  end
  j:unlock()
  local h = self.header
  if h.direction ~= header.direction then
    fail(fmt("%s: the journal '%s' holds a search to %s, not to %s", fn, self.path, h.direction, header.direction))
  end
  if h.metric ~= nil and header.metric ~= nil and h.metric ~= header.metric then
    fail(fmt("%s: the journal '%s' holds a search on the metric '%s', not '%s'", fn, self.path, h.metric, header.metric))
  end
  if table.concat(h.params or {}, ",") ~= table.concat(header.params, ",") then
    fail(fmt("%s: the journal '%s' holds a search over {%s}, not {%s}", fn, self.path, table.concat(h.params or {}, ", "),
      table.concat(header.params, ", ")))
  end
  return h
end

local function stale(t)
  return t.state == "running" and t.host == HOST and t.pid ~= P.getpid() and not P.alive(t.pid)
end

--- jr:claim(n_trials, suggest) -> trial | nil: a stale trial to run again, else a new number with suggest(number, trials)'s
-- parameters; nil when n_trials are recorded (or suggest returns nil)
function Journal:claim(n_trials, suggest)
  local j = J.lock(self.path, true)
  local rest = self:_sync(j)
  if rest ~= "" then -- end the cut line so the next record starts on its own line
    io.stderr:write(fmt("search: %s: the last line is cut short (a crash while writing?); skipped\n", self.path))
    j:append("\n", self.sync)
    self.warned[(self.lineno or 0) + 1] = true -- the cut line, now ended: said once, above
    self:_sync(j)
  end
  local pick
  for _, t in ipairs(self.trials) do
    if stale(t) then pick = t break end
  end
  local rec
  if pick then
    rec = { op = "trial", number = pick.number, params = pick.params, seed = pick.seed, rerun = true }
  else
    local number = #self.trials + 1
    if number > n_trials then j:unlock() return nil end
    local params, seed = suggest(number, self.trials)
    if params == nil then j:unlock() return nil end
    rec = { op = "trial", number = number, params = params, seed = seed }
  end
  rec.pid, rec.host, rec.time = P.getpid(), HOST, os.time()
  j:append(encode(rec), self.sync)
  self:_sync(j)
  j:unlock()
  return self.by_number[rec.number], pick ~= nil
end

--- jr:finish(trial): records the trial's end (state, value, metrics, duration, error, intermediate values)
function Journal:finish(t)
  local inter = {}
  for _, s in ipairs(t.steps or {}) do inter[tostring(s)] = t.intermediate[s] end
  local value = t.value
  if type(value) == "number" and value ~= value then value = nil end
  local rec = { op = "finish", number = t.number, state = t.state, value = value, metrics = t.metrics,
    duration = t.duration, error = t.error, intermediate = next(inter) and inter or nil }
  local j = J.lock(self.path, true)
  j:append(encode(rec), self.sync)
  self:_sync(j)
  j:unlock()
end

do
  local doc = ml.doc
  doc(M.open, "journal.open(path, [{sync = true}]) -> journal — a search stored as JSON lines that several processes share under file locks")
  doc(Journal.refresh, "jr:refresh() -> trials — the trials recorded so far")
  doc(Journal.start, "jr:start(header) -> header — the study's header (direction, parameters, seed); a resumed search must match it")
  doc(Journal.claim, "jr:claim(n_trials, suggest) -> trial, rerun | nil — the next trial to run (a stale one again, else a new number)")
  doc(Journal.finish, "jr:finish(trial) — records the trial's state, value, metrics, duration, error and intermediate values")
end

return M
