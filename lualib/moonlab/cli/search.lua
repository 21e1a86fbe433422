--- `moonlab search`: searches a recipe's space (the recipe file's `space`).
--   moonlab search recipe.lua [--method tpe] [--trials 50] [--jobs 1] [--metric NAME] [--direction maximize]
--                             [--journal FILE] [--timeout 10m] [--seed N] [--pruner median] [name=value ...]
--                             [--no-track]
--   moonlab search --show FILE
-- The search is stored in a journal (default: NAME.search.jsonl beside the
-- working directory, NAME the recipe's file name), so the same command
-- resumes a killed search and several commands on one journal cooperate;
-- the table of trials is written beside the journal at the end (NAME.search.csv,
-- or the journal's name with .csv for .jsonl). Both print the parameters'
-- importances (fANOVA) under the table. Like `moonlab recipe.lua`, the search is tracked
-- (track/autolog.lua): a parent run of kind "search" named after the recipe, one child run per trial
-- (a fit inside logs its curves there); --no-track records nothing.
local ml = require "moonlab"

local USAGE = [[
usage: moonlab search RECIPE.lua [options] [name=value ...]
       moonlab search --show JOURNAL
options:
  --method M       tpe (default), gp, genetic, random or grid
  --trials N       how many trials in all (default 20; a grid: all of it)
  --jobs N         worker processes running trials at once (default 1)
  --metric NAME    the metric of the recipe's result to search on (when run returns a table)
  --direction D    maximize or minimize (default: maximize for metrics named like accuracy/auc/f1/r2/score, else minimize)
  --journal FILE   where the search is stored (default NAME.search.jsonl); the same command resumes it
  --timeout T      stop starting trials after T (seconds, or 30s, 10m, 2h)
  --seed N         the search's seed (default 0)
  --pruner P       median, halving, hyperband or none (default median)
  --no-track       no run records (by default: a parent run, and a child run per trial, under $MOONLAB_RUNS or runs/)
name=value pairs fix parameters of the recipe (they are not searched).]]

local function parse_time(s)
  local n, unit = tostring(s):match("^([%d.]+)([smh]?)$")
  n = tonumber(n)
  if not n then return nil end
  return n * (unit == "m" and 60 or unit == "h" and 3600 or 1)
end

-- The words of a metric's name (val_accuracy -> val, accuracy): a loss or an error word wins, then a score word;
-- whole words only, so that mape or gap are not read as ap / map.
local MINIMIZE = { loss = true, error = true, err = true, mse = true, rmse = true, mae = true, mape = true, nll = true,
  perplexity = true, ppl = true, time = true, seconds = true, regret = true, cost = true }
local MAXIMIZE = { acc = true, accuracy = true, auc = true, roc = true, f1 = true, r2 = true, score = true, precision = true,
  recall = true, ap = true, map = true, iou = true, dice = true, kappa = true, mcc = true, top1 = true, top5 = true }

local function default_direction(metric)
  if not metric then return "minimize" end
  local words = {}
  for w in metric:lower():gmatch("%w+") do words[#words + 1] = w end
  for _, w in ipairs(words) do if MINIMIZE[w] then return "minimize" end end
  for _, w in ipairs(words) do if MAXIMIZE[w] then return "maximize" end end
  return "minimize"
end

local function fail(msg)
  io.stderr:write("moonlab search: ", msg, "\n")
  return 2
end

-- The parameters' importances (fANOVA) under the table of trials, or why there are none yet.
local function print_importances(res)
  local ok, imp = pcall(ml.search.param_importances, res)
  if ok then print(imp)
  else print("parameter importances: " .. tostring(imp):gsub("^.-search%.param_importances: ", "")) end
end

local function show(path)
  local journal = require "moonlab.search.journal"
  local f, err = io.open(path)
  if not f then return fail(string.format("cannot open '%s': %s", path, err)) end
  local _, rerr = f:read(0)
  f:close()
  if rerr then return fail(string.format("cannot read '%s': %s", path, rerr)) end
  local j = journal.open(path)
  j:refresh()
  if not j.header then
    return fail(string.format("'%s' is not a search journal (it has no study record; moonlab search writes one first)", path))
  end
  local h = j.header
  local res = require("moonlab.search.result").new {
    trials = j.trials, direction = h.direction or "minimize", metric = h.metric,
    space = { names = h.params or {} }, elapsed = 0,
  }
  print(res)
  print_importances(res)
  return 0
end

local function run(args)
  local opts, overrides, file = {}, {}, nil
  local track = true
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--help" or a == "-h" then print(USAGE) return 0 end
    if a == "--show" then
      if not args[i + 1] then return fail("--show needs a journal file") end
      return show(args[i + 1])
    end
    local flag = a:match("^%-%-(%w+)$")
    if a == "--no-track" then
      track = false
      i = i + 1
    elseif flag then
      local v = args[i + 1]
      if v == nil then return fail("--" .. flag .. " needs a value") end
      opts[flag] = v
      i = i + 2
    elseif a:find("=", 1, true) and not a:match("^%-") then
      local k, v = a:match("^([^=]+)=(.*)$")
      if v == "true" then overrides[k] = true
      elseif v == "false" then overrides[k] = false
      else overrides[k] = math.tointeger(tonumber(v)) or tonumber(v) or v end
      i = i + 1
    elseif not file then
      file = a
      i = i + 1
    else
      return fail("unexpected argument '" .. a .. "' (one recipe file per search)\n" .. USAGE)
    end
  end
  if not file then return fail("which recipe? " .. USAGE) end
  local known = { method = 1, trials = 1, jobs = 1, metric = 1, direction = 1, journal = 1, timeout = 1, seed = 1, pruner = 1 }
  for k in pairs(opts) do
    if not known[k] then
      local names = { "no-track" }
      for n in pairs(known) do names[#names + 1] = n end
      local hint = require("moonlab.core.checks").suggest(k, names)
      return fail(string.format("unknown option --%s%s", k, hint and (" (did you mean --" .. hint .. "?)") or ""))
    end
  end
  local recipe = require "moonlab.recipe"
  local lok, r = pcall(recipe.load, file)
  if not lok then return fail(tostring(r)) end
  if type(r.space) ~= "table" or next(r.space) == nil then
    return fail(file .. ": the recipe has no space to search (space = {name = ml.search.uniform(...), ...})")
  end
  local base = file:match("([^/]+)%.lua$") or file
  local journal = opts.journal or (base .. ".search.jsonl")
  local trials = opts.trials and math.tointeger(tonumber(opts.trials))
  if opts.trials and not (trials and trials >= 1) then return fail("--trials needs a whole number >= 1, got " .. opts.trials) end
  local jobs = opts.jobs and math.tointeger(tonumber(opts.jobs)) or 1
  if not jobs or jobs < 1 then return fail("--jobs needs a whole number >= 1, got " .. tostring(opts.jobs)) end
  local timeout = opts.timeout and parse_time(opts.timeout)
  if opts.timeout and not timeout then return fail("--timeout needs seconds or 30s / 10m / 2h, got " .. opts.timeout) end
  local seed = 0
  if opts.seed then
    seed = math.tointeger(tonumber(opts.seed))
    if not seed then return fail("--seed needs a whole number, got " .. opts.seed) end
  end
  local methods = {}
  for k in pairs(require("moonlab.search.run").SAMPLERS) do methods[#methods + 1] = k end
  table.sort(methods)
  local method = opts.method or "tpe"
  local function listed(v, list) for _, x in ipairs(list) do if x == v then return true end end return false end
  if not listed(method, methods) then
    local hint = require("moonlab.core.checks").suggest(method, methods)
    return fail(string.format("unknown --method '%s'%s (known: %s)", method, hint and (" (did you mean " .. hint .. "?)") or "",
      table.concat(methods, ", ")))
  end
  local pruners = { "median", "halving", "hyperband", "none" }
  if opts.pruner and not listed(opts.pruner, pruners) then
    return fail(string.format("unknown --pruner '%s' (known: %s)", opts.pruner, table.concat(pruners, ", ")))
  end
  for k in pairs(overrides) do
    if r.space[k] ~= nil then
      return fail(string.format("'%s' is searched; a fixed value on the command line would hide the search", k))
    end
  end
  local rok, rerr = pcall(recipe.resolve, r, overrides, file) -- the fixed values: checked before the first trial
  if not rok then return fail(tostring(rerr)) end
  local metric = opts.metric
  local direction = opts.direction or default_direction(metric)
  if direction ~= "maximize" and direction ~= "minimize" then
    return fail("--direction needs maximize or minimize, got " .. direction)
  end
  -- a journal already started: the same search, or a clear word before anything runs
  local jf = io.open(journal)
  if jf then
    jf:close()
    local j = require("moonlab.search.journal").open(journal)
    j:refresh()
    local h = j.header
    if h and h.direction ~= direction then
      return fail(string.format("the journal '%s' holds a search to %s%s, not to %s (give --direction %s, or another --journal)",
        journal, h.direction, h.metric and (" " .. h.metric) or "", direction, h.direction))
    end
    if h and h.metric ~= nil and metric ~= nil and h.metric ~= metric then
      return fail(string.format("the journal '%s' holds a search on the metric '%s', not '%s' (give --metric %s, or another --journal)",
        journal, h.metric, metric, h.metric))
    end
  end
  local search = ml.search
  local function objective(p, trial)
    local all = {}
    for k, v in pairs(overrides) do all[k] = v end
    for k, v in pairs(p) do all[k] = v end
    local out, params = recipe.run(r, { overrides = all, path = file, trial = trial })
    require("moonlab.track.autolog").trial_resolved(params) -- the trial's record: what the recipe ran with
    return out
  end
  print(string.format("search %s: %s, %s trials, %s, journal %s", file, method, trials or "20",
    metric and (direction .. " " .. metric) or direction, journal))
  -- the search's own run record (as `moonlab recipe.lua` opens one), its trials as child runs
  local run_opts = false
  if track then
    local fixed = {}
    for k, v in pairs(overrides) do fixed[k] = v end
    run_opts = { experiment = type(r.experiment) == "string" and r.experiment or base, name = base .. " search",
      source = file, params = fixed, tags = { recipe = file, journal = journal } }
  end
  local res = search.run(objective, r.space, {
    method = method, trials = trials, timeout = timeout, metric = metric, direction = direction,
    seed = seed, pruner = opts.pruner or "median", journal = journal, jobs = jobs > 1 and jobs or nil, track = run_opts,
  })
  print(res)
  print_importances(res)
  local csv = (journal:gsub("%.jsonl$", "")) .. ".csv" -- beside the journal: NAME.search.csv by default
  res:to_csv(csv)
  print("trials written to " .. csv)
  return 0
end

return { summary = "searches a recipe's hyperparameters (TPE, GP, genetic, random, grid), resumable", usage = USAGE, run = run }
