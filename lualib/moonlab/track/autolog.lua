--- track/autolog.lua: the hooks that record runs without the user asking — a search
-- (a parent run of kind "search", one child run of kind "trial" per trial) and
-- `moonlab recipe.lua k=v` (one run: params given and resolved, the returned metrics,
-- finished or failed). fit's hook is callbacks/track.lua. Each hook costs a table
-- lookup when tracking is off: nothing here loads until a run is open or asked for.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fmt = string.format
local M = {}

local function active()
  local run_mod = package.loaded["moonlab.track.run"]
  return run_mod and run_mod.active() or nil
end

local function basename(path)
  return (tostring(path):match("([^/]+)$") or tostring(path)):gsub("%.lua$", "")
end

-- ---- search ---------------------------------------------------------------------------

-- The searched number of what an objective returned (search/run.lua's value_of, without its errors).
local function value_of(out, metric)
  if type(out) == "number" then return out end
  if ml.is_tensor(out) and out:numel() == 1 then return out:item() end
  if type(out) == "table" then
    if metric then return type(out[metric]) == "number" and out[metric] or nil end
    local k, v = next(out)
    if k ~= nil and next(out, k) == nil and type(v) == "number" then return v end
  end
  return nil
end

local function trial_metrics(out, value)
  local m = {}
  if type(out) == "table" and not ml.is_tensor(out) then
    for k, v in pairs(out) do if type(k) == "string" and type(v) == "number" then m[k] = v end end
  end
  if value ~= nil then m.value = value end
  return m
end

-- Runs one trial's objective inside its own child run.
local function tracked_trial(objective, parent, metric, p, trial)
  local track = require "moonlab.track.run"
  local number = trial and trial.number
  local run = track.start { experiment = parent.experiment, dir = parent.root, parent = parent.id, kind = "trial",
    name = fmt("%s trial %s", parent.meta.name, tostring(number)), params = p, seed = trial and trial.seed,
    source = false, tags = { trial = number } }
  local ok, out = pcall(objective, p, trial)
  if run.open then
    local steps = trial and trial.steps or {}
    for _, s in ipairs(steps) do
      local v = trial.intermediate[s]
      if type(v) == "number" and math.type(s) == "integer" then run:log({ intermediate = v }, s) end
    end
    local pruned = trial and trial.pruned_in_fit or (not ok and require("moonlab.search.trial").is_pruned(out))
    if ok and not pruned then
      local v = value_of(out, metric)
      run:log(trial_metrics(out, v))
      run:set_tags { state = v ~= nil and v == v and "complete" or "failed" }
      run:finish(v ~= nil and v == v and "finished" or "failed", v == nil and "the objective returned no number" or nil)
    elseif pruned then
      run:set_tags { state = "pruned" }
      run:finish("finished")
    else
      run:set_tags { state = "failed" }
      run:finish("failed", tostring(out))
    end
  end
  if not ok then error(out, 0) end
  return out
end

-- Writes the search history plot (ml.plot, contract D) when ml.plot is there.
local function plot_history(run, trials, direction)
  local ok, plot = pcall(require, "moonlab.plot")
  if not ok or type(plot) ~= "table" or type(plot.search_history) ~= "function" then return end
  pcall(function()
    local list = {}
    for _, t in ipairs(trials) do list[#list + 1] = { number = t.number, value = t.value, state = t.state } end
    plot.search_history(list, { direction = direction }):save(run:artifact_path("search_history.png"))
  end)
end

local PARENT_OPTIONS = { "experiment", "name", "dir", "source", "params", "tags" }

--- autolog.search(objective, track, info) -> objective, finish: search.run's hook. track: nil (on when a run is
-- open), false, true, a parent run, or {experiment, name, dir, source, params, tags} for the search's own run (what
-- `moonlab search` passes); info: {direction, metric, seed, method, trials, names}. finish(result) -> result
function M.search(objective, track, info)
  if track == false or (track == nil and not active()) then return objective, function(res) return res end end
  local run_mod = require "moonlab.track.run"
  local outer = run_mod.active()
  local own, own_given = {}, false -- the options of the search's run, when given as a table (then its id is printed)
  if getmetatable(track) == run_mod.Run then outer = track
  elseif type(track) == "table" and getmetatable(track) == nil then
    own, own_given = checks.options("search.run: track", track, PARENT_OPTIONS), true
  elseif track ~= nil and track ~= true then
    checks.fail("search.run: track must be true, false, a run from ml.track.start or a table of its options, got " .. checks.show(track))
  end
  local given = { method = info.method, trials = info.trials, direction = info.direction, metric = info.metric, seed = info.seed }
  for k, v in pairs(own.params or {}) do given[k] = v end -- the fixed values of a recipe's search
  local resolved = { space = info.names }
  for k, v in pairs(given) do resolved[k] = v end
  local parent = run_mod.start { experiment = own.experiment or (outer and outer.experiment), dir = own.dir or (outer and outer.root),
    parent = outer and outer.id, kind = "search", name = own.name or (outer and (outer.meta.name .. " search")) or "search",
    params = given, resolved = resolved, seed = info.seed, source = own.source, tags = own.tags }
  local metric = info.metric
  local wrapped = function(p, trial) return tracked_trial(objective, parent, metric, p, trial) end
  local function finish(res)
    if not parent.open then return res end
    local trials = res and res.trials or {}
    local sorted = {}
    for _, t in ipairs(trials) do sorted[#sorted + 1] = t end
    table.sort(sorted, function(a, b) return a.number < b.number end)
    local sign = info.direction == "maximize" and -1 or 1
    local best
    for _, t in ipairs(sorted) do
      if t.state == "complete" and type(t.value) == "number" then
        if best == nil or sign * t.value < sign * best then best = t.value end
        parent:log({ value = t.value, best_value = best }, t.number)
      end
    end
    local counts = {}
    for _, t in ipairs(sorted) do counts[t.state] = (counts[t.state] or 0) + 1 end
    local tags = { n_trials = #sorted }
    for k, v in pairs(counts) do tags["n_" .. k] = v end
    if res and res.best_trial then tags.best_trial = res.best_trial.number end
    parent:set_tags(tags)
    plot_history(parent, sorted, info.direction)
    parent:finish()
    if own_given then io.stderr:write(fmt("search run %s recorded in %s (a child run per trial)\n", parent.id, parent.dir)) end
    return res
  end
  return wrapped, finish
end

--- autolog.trial_resolved(params): the params a trial's recipe resolved (defaults, fixed and sampled values) become
-- its run's resolved params (`moonlab search` calls it; a no-op outside a tracked trial)
function M.trial_resolved(params)
  local run = active()
  if run and run.open and run.meta.kind == "trial" and run.meta.pid == ml._proc.getpid() and type(params) == "table" then
    run:_set_resolved(params)
  end
end

-- ---- recipes ------------------------------------------------------------------------------

--- autolog.recipe(run_fn, r, opts, track) -> metrics, params: `moonlab recipe.lua` through a run record (track false: none)
function M.recipe(run_fn, r, opts, track)
  if track == false then return run_fn(r, opts) end
  local run_mod = require "moonlab.track.run"
  local recipe = require "moonlab.recipe"
  local resolved = recipe.resolve(r, opts.overrides, opts.path) -- a bad override fails before any record is made
  local given = {}
  for k, v in pairs(opts.overrides or {}) do given[k] = v end
  local name = basename(opts.path)
  local run = run_mod.start { experiment = type(r.experiment) == "string" and r.experiment or name, name = name,
    params = given, resolved = resolved, source = opts.path, tags = { recipe = opts.path } }
  -- No pcall: the error goes on from where it was raised, so runtime/main.c's handler decides on a
  -- traceback there; the run is closed as failed while the error unwinds.
  local metrics, params
  do
    local _ <close> = setmetatable({}, { __close = function(_, err)
      if err ~= nil and run.open then run:finish("failed", tostring(err):match("^[^\n]*")) end
    end })
    metrics, params = run_fn(r, opts)
  end
  if run.open then
    if type(metrics) == "table" then
      local m = {}
      for k, v in pairs(metrics) do if type(k) == "string" and type(v) == "number" then m[k] = v end end
      if next(m) then run:log(m) end
    elseif type(metrics) == "number" then
      run:log({ value = metrics })
    end
    run:finish()
  end
  io.stderr:write(fmt("run %s recorded in %s\n", run.id, run.dir))
  return metrics, params
end

ml.doc(M.search, "autolog.search(objective, track, info) -> objective, finish — search.run's hook: a parent run of kind search, a child run per trial")
ml.doc(M.trial_resolved, "autolog.trial_resolved(params) — a tracked trial's resolved params: what its recipe ran with (moonlab search)")
ml.doc(M.recipe, "autolog.recipe(run_fn, r, opts, [track]) -> metrics, params — `moonlab recipe.lua` recorded as a run (params given/resolved, metrics, status)")

return M
