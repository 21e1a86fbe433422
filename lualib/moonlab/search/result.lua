--- search/result.lua: what search.run returns — every trial (number,
-- params, value, state, duration, error), the best one, a table that prints
-- well, and CSV / JSON files.
--   res.best_params, res.best_value, res.best_trial, res.trials, res.space (the compiled space)
--   print(res)  res:to_csv("trials.csv")  res:to_json("trials.json")
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fmt = string.format
local M = {}

local Result = {}
Result.__index = Result
M.Result = Result

--- result.new(study) -> the result of a finished search
function M.new(study)
  local r = setmetatable({ trials = study.trials, direction = study.direction, metric = study.metric,
    names = study.space.names, space = study.space, elapsed = study.elapsed }, Result)
  local sign = study.direction == "maximize" and -1 or 1
  for _, t in ipairs(study.trials) do
    if t.state == "complete" and t.value == t.value then
      if not r.best_trial or sign * t.value < sign * r.best_trial.value then r.best_trial = t end
    end
  end
  if r.best_trial then r.best_params, r.best_value = r.best_trial.params, r.best_trial.value end
  return r
end

local function show(v)
  if v == nil then return "" end
  if type(v) == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return fmt("%.6g", v)
  end
  if type(v) == "table" then return "{...}" end
  return tostring(v)
end

-- a number with the fewest digits that read back exactly (for files: the best parameters reproduce)
local function exact(v)
  if type(v) == "number" and math.type(v) ~= "integer" then
    for digits = 6, 17 do
      local s = fmt("%." .. digits .. "g", v)
      if tonumber(s) == v then return s end
    end
  end
  return show(v)
end

--- res:rows([exact]) -> header, rows: the table's cells as strings (trial, each parameter, value, state, seconds);
-- exact: numbers with every digit they need to read back
function Result:rows(exact_numbers)
  local show = exact_numbers and exact or show
  local header = { "trial" }
  for _, n in ipairs(self.names) do header[#header + 1] = n end
  for _, h in ipairs({ self.metric or "value", "state", "seconds" }) do header[#header + 1] = h end
  local rows = {}
  for _, t in ipairs(self.trials) do
    local row = { tostring(t.number) }
    for _, n in ipairs(self.names) do row[#row + 1] = show(t.params[n]) end
    row[#row + 1] = show(t.value)
    row[#row + 1] = t.state
    row[#row + 1] = fmt("%.2f", t.duration or 0)
    rows[#rows + 1] = row
  end
  return header, rows
end

function Result:__tostring()
  local header, rows = self:rows()
  local width = {}
  for j, h in ipairs(header) do width[j] = #h end
  for _, r in ipairs(rows) do for j, c in ipairs(r) do width[j] = math.max(width[j], #c) end end
  local lines = {}
  local function line(cells)
    local parts = {}
    for j, c in ipairs(cells) do parts[j] = (" "):rep(width[j] - #c) .. c end
    lines[#lines + 1] = table.concat(parts, "  ")
  end
  line(header)
  for _, r in ipairs(rows) do line(r) end
  if self.best_trial then
    local ps = {}
    for _, n in ipairs(self.names) do
      if self.best_params[n] ~= nil then ps[#ps + 1] = n .. "=" .. show(self.best_params[n]) end
    end
    lines[#lines + 1] = fmt("best: trial %d, %s = %s (%s)", self.best_trial.number, self.metric or "value",
      show(self.best_value), table.concat(ps, ", "))
  else
    lines[#lines + 1] = "best: none (no trial completed)"
  end
  return table.concat(lines, "\n")
end

--- res:print(): prints the table of trials and the best one
function Result:print() print(tostring(self)) end

local function csv_cell(s)
  if s:find('[,"\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

--- res:to_csv(path): one row per trial (trial, parameters, value, state, seconds, error)
function Result:to_csv(path)
  local fn = "search result:to_csv"
  local f, err = io.open(path, "w")
  if not f then checks.fail(fmt("%s: cannot write '%s': %s", fn, path, err)) end
  local header, rows = self:rows(true)
  header[#header + 1] = "error"
  f:write(table.concat(header, ","), "\n")
  for i, r in ipairs(rows) do
    r[#r + 1] = self.trials[i].error or ""
    for j, c in ipairs(r) do r[j] = csv_cell(c) end
    f:write(table.concat(r, ","), "\n")
  end
  f:close()
end

--- res:to_json(path): {direction, metric, best, trials = [...]} as JSON
function Result:to_json(path)
  local fn = "search result:to_json"
  local trials = {}
  for i, t in ipairs(self.trials) do
    trials[i] = { number = t.number, params = t.params, value = t.value, state = t.state, duration = t.duration,
      error = t.error, seed = t.seed, metrics = t.metrics }
  end
  local doc = { direction = self.direction, metric = self.metric, trials = trials,
    best = self.best_trial and { number = self.best_trial.number, params = self.best_params, value = self.best_value } or nil }
  local f, err = io.open(path, "w")
  if not f then checks.fail(fmt("%s: cannot write '%s': %s", fn, path, err)) end
  f:write(ml.json.encode(doc), "\n")
  f:close()
end

do
  local doc = ml.doc
  doc(Result.print, "res:print() — the table of trials (parameters, value, state, seconds) and the best trial")
  doc(Result.rows, "res:rows([exact]) -> header, rows — the trials' table as strings (exact: numbers that read back exactly)")
  doc(Result.to_csv, "res:to_csv(path) — one CSV row per trial (parameters, value, state, seconds, error); numbers read back exactly")
  doc(Result.to_json, "res:to_json(path) — the search as JSON: direction, metric, best, trials")
end

return M
