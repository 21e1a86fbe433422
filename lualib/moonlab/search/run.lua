--- search/run.lua: search.run(objective, space, opts), the one loop every
-- searcher shares (Optuna's study.optimize).
--
--   local res = search.run(function(p, trial)
--     ...train with p.lr, p.width...; trial:report(epoch, val) ...
--     return val_accuracy                      -- or a table of metrics (opts.metric picks one)
--   end, space, {method = "tpe", trials = 30, direction = "maximize", seed = 0})
--   print(res); res.best_params
--
-- Each trial gets its parameters from the sampler, its own seed
-- (rng.derive(seed, number), also set as ml.seed before the objective runs,
-- so a trial is reproducible on its own) and a trial context for pruning. A
-- trial that raises is recorded as failed with its message and the search
-- goes on; one pruned (trial:prune()) is recorded as pruned. The search
-- ends after `trials` trials, after `timeout` seconds, when a value reaches
-- `target`, or when a grid is exhausted.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local rng = require "moonlab.core.rng"
local space = require "moonlab.search.space"
local trial_mod = require "moonlab.search.trial"
local result = require "moonlab.search.result"
local display = require "moonlab.search.display"

local fail, fmt = checks.fail, string.format
local M = {}

local SAMPLERS = {
  random = function(o) return require("moonlab.search.samplers.random").RandomSampler(o) end,
  grid = function(o) return require("moonlab.search.samplers.grid").GridSampler(o) end,
  tpe = function(o) return require("moonlab.search.samplers.tpe").TPESampler(o) end,
  gp = function(o) return require("moonlab.search.samplers.gp").GPSampler(o) end,
  genetic = function(o) return require("moonlab.search.samplers.genetic").GeneticSampler(o) end,
}
M.SAMPLERS = SAMPLERS

local function method_names()
  local out = {}
  for k in pairs(SAMPLERS) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local function make_sampler(fn, method, sampler_opts)
  if type(method) == "table" and type(method.suggest) == "function" then return method end
  method = method or "tpe"
  if type(method) ~= "string" or not SAMPLERS[method] then checks.unknown(fn, "method", tostring(method), method_names()) end
  return SAMPLERS[method](sampler_opts)
end

local function make_pruner(fn, p)
  if p == nil then p = "median" end -- Optuna's default (and moonlab search's): a trial that reports can be pruned
  if p == false or p == "none" then return nil end
  local pruners = require "moonlab.search.pruners"
  if p == "median" then return pruners.MedianPruner() end
  if p == "halving" then return pruners.SuccessiveHalvingPruner() end
  if p == "hyperband" then return pruners.HyperbandPruner() end
  if type(p) == "table" and type(p.prune) == "function" then return p end
  checks.unknown(fn, "pruner", tostring(p), { "median", "halving", "hyperband", "none" })
end

-- the objective's result as the searched number (and the metrics table when it returned one)
local function value_of(fn, out, metric, number)
  if type(out) == "number" then return out, nil end
  if type(out) == "table" and not ml.is_tensor(out) then
    local key = metric
    if key == nil then
      local keys = {}
      for k in pairs(out) do keys[#keys + 1] = k end
      if #keys ~= 1 then
        table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
        fail(fmt("%s: trial %d returned a table of %d metrics (%s); say which one to search with metric = 'name'", fn,
          number, #keys, table.concat(keys, ", ")))
      end
      key = keys[1]
    end
    local v = out[key]
    if type(v) ~= "number" then
      local keys = {}
      for k in pairs(out) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      fail(fmt("%s: trial %d returned no number under metric '%s' (it returned %s)", fn, number, tostring(key),
        table.concat(keys, ", ")))
    end
    return v, out
  end
  if ml.is_tensor(out) and out:numel() == 1 then return out:item(), nil end
  fail(fmt("%s: trial %d: the objective must return a number or a table of metrics, got %s", fn, number,
    ml.is_tensor(out) and "a tensor" or type(out)))
end

local function reached(direction, v, target)
  if target == nil then return false end
  if direction == "maximize" then return v >= target end
  return v <= target
end

-- The trials of a search kept in memory (one process, no file).
local function memory_store()
  local store = { trials = {} }
  function store:claim(n_trials, suggest)
    local number = #self.trials + 1
    if number > n_trials then return nil end
    local params, seed = suggest(number, self.trials)
    if params == nil then return nil end
    local t = { number = number, params = params, seed = seed, state = "running", intermediate = {}, steps = {} }
    self.trials[number] = t
    return t
  end
  function store:finish() end
  return store
end

-- Runs one claimed trial: the objective under the trial's seed, its outcome recorded in t.
local function run_trial(fn, objective, t, study, metric)
  setmetatable(t, trial_mod.Trial)
  t._study = study
  t.intermediate, t.steps = {}, {}
  t.value, t.metrics, t.error, t.pruned_in_fit = nil, nil, nil, nil
  local start = ml.now()
  ml.seed(t.seed)
  trial_mod._set_current(t)
  local ok, out = pcall(objective, t.params, t)
  trial_mod._set_current(nil)
  t.duration = ml.now() - start
  if ok and t.pruned_in_fit then
    t.state = "pruned" -- fit stopped it at the pruner's word; what the objective returned is not a final value
  elseif ok then
    local vok, v, metrics = pcall(value_of, fn, out, metric, t.number)
    if not vok then
      t.state, t.error = "failed", tostring(v)
    else
      t.value, t.metrics = v, metrics
      t.state = v == v and "complete" or "failed"
      if v ~= v then t.error = "the objective returned NaN" end
    end
  elseif trial_mod.is_pruned(out) then
    t.state = "pruned"
  else
    t.state, t.error = "failed", tostring(out)
  end
end

local function best_of(trials, direction)
  local sign = direction == "maximize" and -1 or 1
  local best
  for _, t in ipairs(trials) do
    if t.state == "complete" and (best == nil or sign * t.value < sign * best.value) then best = t end
  end
  return best
end

--- search.run(objective, space, [opts]) -> result
-- opts: method ("tpe" | "gp" | "genetic" | "random" | "grid" | a sampler), sampler (its options), trials (default 20; a grid: all of
-- it), timeout (seconds), target, direction ("minimize" | "maximize"), metric, seed, pruner ("median", the default as in Optuna | "none" | a
-- pruner), journal (a file shared by several processes; a killed search resumes from it), jobs (worker processes,
-- one thread each, sharing the trials through the journal or a temporary one), verbose (default true), live (a table
-- redrawn in place; default: when stdout is a terminal, else plain lines)
function M.run(objective, spec, opts)
  local fn = "search.run"
  checks.func(fn, "objective", objective)
  opts = checks.options(fn, opts, { "method", "sampler", "trials", "timeout", "target", "direction", "metric", "seed",
    "pruner", "verbose", "journal", "jobs", "track", "live" })
  local compiled = space.compile(fn, spec)
  local direction = checks.one_of(fn, "direction", opts.direction, { "minimize", "maximize" }, "minimize")
  local sampler = make_sampler(fn, opts.method, opts.sampler)
  local n_trials = opts.trials ~= nil and checks.integer(fn, "trials", opts.trials, 1) or nil
  if n_trials == nil then n_trials = sampler.total and sampler:total(compiled) or 20 end
  local timeout = opts.timeout ~= nil and checks.number(fn, "timeout", opts.timeout, 0) or nil
  local target = opts.target ~= nil and checks.number(fn, "target", opts.target) or nil
  local seed = opts.seed ~= nil and checks.integer(fn, "seed", opts.seed) or math.tointeger(ml.randint(0, 2 ^ 31 - 1, { 1 })[1])
  local verbose = checks.boolean(fn, "verbose", opts.verbose, true)
  local disp = verbose and display.new { names = compiled.names, metric = opts.metric, direction = direction,
    trials = n_trials, live = opts.live ~= nil and checks.boolean(fn, "live", opts.live) or nil } or nil
  local jobs = opts.jobs ~= nil and checks.integer(fn, "jobs", opts.jobs, 1) or 1
  local journal_path, temp_journal = opts.journal, nil
  if jobs > 1 and journal_path == nil then -- workers share their trials through a journal
    temp_journal = os.tmpname()
    journal_path = temp_journal
  end
  local store
  if journal_path ~= nil then
    store = require("moonlab.search.journal").open(journal_path, { sync = temp_journal == nil })
    local header = store:start { op = "study", direction = direction, metric = opts.metric, seed = seed,
      params = compiled.names, method = type(opts.method) == "string" and opts.method or "tpe" }
    seed = math.tointeger(header.seed) or seed -- every process of a shared search draws from the first one's seed
  else
    store = memory_store()
  end
  local study = { direction = direction, metric = opts.metric, space = compiled, seed = seed,
    pruner = make_pruner(fn, opts.pruner) }
  local function suggest(number, trials)
    local r = rng.new(rng.derive(seed, number))
    local params = sampler:suggest { space = compiled, trials = trials, rng = r, direction = direction, number = number }
    return params, rng.derive(seed + 1, number)
  end
  local track_done -- run records (track/autolog.lua): a parent run, a child run per trial, when tracking is on
  objective, track_done = require("moonlab.track.autolog").search(objective, opts.track, { direction = direction,
    metric = opts.metric, seed = seed, method = type(opts.method) == "string" and opts.method or "tpe", trials = n_trials, names = compiled.names })
  local t0 = ml.now()
  -- the loop every process runs: claim a trial, run it, record it
  local function loop(st, quiet)
    while true do
      if timeout and ml.now() - t0 >= timeout then break end
      local t, rerun = st:claim(n_trials, suggest)
      if not t then break end
      study.trials = st.trials
      if disp and disp.live and not quiet then disp:draw(st.trials) end -- the new trial shows as running
      if rerun and disp and not quiet then disp:note(fmt("trial %d: its process died; running it again", t.number)) end
      run_trial(fn, objective, t, study, opts.metric)
      st:finish(t)
      local best = best_of(st.trials, direction)
      if disp and not quiet then disp:trial(t, st.trials, best) end
      if best and reached(direction, best.value, target) then break end
    end
  end
  if jobs > 1 then
    -- worker processes, one thread each, sharing the journal: each runs the loop until the trials are claimed
    local workers = require "moonlab.core.workers"
    local ids = {}
    for i = 1, jobs do ids[i] = i end
    -- a live table is drawn by this process from the journal, the workers keep quiet; plain lines come from each worker
    local live = disp and disp.live
    local _, errs = workers.map(ids, function()
      loop(require("moonlab.search.journal").open(store.path, { sync = store.sync }), live)
      return true
    end, { n_workers = jobs, threads_per_worker = 1, errors = "return",
      on_tick = live and function() disp:draw(store:refresh()) end or nil })
    for i, e in pairs(errs or {}) do io.stderr:write(fmt("search.run: worker %d: %s\n", i, tostring(e))) end
  else
    loop(store)
  end
  if store.refresh then store:refresh() end
  if disp then disp:close(store.trials) end
  if temp_journal then os.remove(temp_journal) end
  study.trials = store.trials
  study.elapsed = ml.now() - t0
  return track_done(result.new(study))
end

ml.doc(M.run, "search.run(objective, space, [{method='tpe'|'gp'|'genetic'|'random'|'grid', trials=20, timeout, target, direction='minimize', "
  .. "metric, seed, pruner='median'|'halving'|'hyperband'|'none', sampler={...}, journal=path, jobs=1, verbose=true, live=isatty(stdout), track}]) -> result — runs objective(params, trial) per trial; "
  .. "result.best_params, result.best_value, print(result)")

return M
