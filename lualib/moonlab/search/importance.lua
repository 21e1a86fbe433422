--- search/importance.lua: how much each parameter explains the objective,
-- as Optuna's get_param_importances answers it.
--   local imp = search.param_importances(res)   -- {{name = "lr", importance = 0.71}, ...}, largest first, sum 1
--   print(imp)                                  -- a table headed "parameter importances (fANOVA, ...)"
-- Two methods, both from a random forest fitted on (parameters -> value) over
-- the finished trials:
--   "fanova" (the default, Optuna's): the share of the forest's variance over
--            the search space that each parameter explains alone
--            (search/fanova.lua); parameters present in every finished trial.
--   "mdi"    the forest's impurity importances (Optuna's
--            MeanDecreaseImpurity): numbers as they are, choices as codes,
--            a conditional parameter absent from a trial as a level of its own.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local M = {}

local LABEL = { fanova = "fANOVA", mdi = "mean decrease impurity" }

-- the list prints as a table; its method, trials and trees are read through the metatable, so
-- pairs and JSON see the entries only
local function show(self)
  local width = 9
  for _, e in ipairs(self) do width = math.max(width, #tostring(e.name)) end
  local lines = { fmt("parameter importances (%s, %d trees, %d trials)", LABEL[self.method], self.trees, self.trials) }
  for _, e in ipairs(self) do
    lines[#lines + 1] = fmt("  %-" .. width .. "s  %.3f  %s", tostring(e.name), e.importance,
      ("#"):rep(math.floor(e.importance * 40 + 0.5)))
  end
  return table.concat(lines, "\n")
end

-- the mean decrease impurity of a forest over every parameter that varied
local function mdi(fn, res, done, opts)
  local names = {}
  for _, n in ipairs(res.names or {}) do
    local distinct, count = {}, 0
    for _, t in ipairs(done) do
      local v = t.params[n]
      if v ~= nil and not distinct[v] then distinct[v] = true count = count + 1 end
    end
    if count > 1 then names[#names + 1] = n end -- a parameter that never varied explains nothing
  end
  if #names == 0 then fail(fmt("%s: needs a parameter that varied over the %d finished trials", fn, #done)) end
  local cols = {}
  for j, n in ipairs(names) do
    local numeric, lo, hi, codes, next_code = true, math.huge, -math.huge, {}, 1
    for _, t in ipairs(done) do
      local v = t.params[n]
      if v ~= nil and type(v) ~= "number" then numeric = false end
      if type(v) == "number" then lo, hi = math.min(lo, v), math.max(hi, v) end
    end
    local col = {}
    for i, t in ipairs(done) do
      local v = t.params[n]
      if v == nil then col[i] = numeric and (lo - 1 - (hi - lo)) or 0
      elseif numeric then col[i] = v
      else
        local key = type(v) == "table" and tostring(v) or v
        if not codes[key] then codes[key], next_code = next_code, next_code + 1 end
        col[i] = codes[key]
      end
    end
    cols[j] = col
  end
  local rows = {}
  for i = 1, #done do
    local r = {}
    for j = 1, #names do r[j] = cols[j][i] end
    rows[i] = r
  end
  local y = {}
  for i, t in ipairs(done) do y[i] = t.value end
  local forest = ml.models.RandomForestRegressor {
    n_estimators = opts.n_estimators or 64, max_depth = opts.max_depth or 8, random_state = opts.random_state or 0,
  }
  forest:fit(ml.tensor(rows, { dtype = "float64" }), ml.tensor(y, { dtype = "float64" }))
  local imp = forest.feature_importances_:tolist()
  local out = {}
  for j, n in ipairs(names) do out[j] = { name = n, importance = imp[j] } end
  return out, { trials = #done, trees = opts.n_estimators or 64 }
end

--- search.param_importances(result, [opts]) -> list of {name, importance}, largest first, sum 1
-- opts: method ("fanova" | "mdi"), params (fanova: the names to assess), n_estimators (64), max_depth (fanova 64, mdi 8),
-- random_state (0), space (fanova: the search space, for a result that does not carry one; else bounds come from the trials)
function M.param_importances(res, opts)
  local fn = "search.param_importances"
  opts = checks.options(fn, opts, { "method", "params", "n_estimators", "max_depth", "random_state", "space" })
  local method = checks.one_of(fn, "method", opts.method, { "fanova", "mdi" }, "fanova")
  if type(res) ~= "table" or type(res.trials) ~= "table" then fail(fn .. ": expected a search result (search.run's)") end
  if opts.n_estimators ~= nil then checks.integer(fn, "n_estimators", opts.n_estimators, 1) end
  if opts.max_depth ~= nil then checks.integer(fn, "max_depth", opts.max_depth, 1) end
  if opts.random_state ~= nil then checks.integer(fn, "random_state", opts.random_state, 0) end
  if method == "mdi" and (opts.params ~= nil or opts.space ~= nil) then fail(fn .. ": params and space are for method = 'fanova'") end
  local done = {}
  for _, t in ipairs(res.trials) do
    if t.state == "complete" and type(t.value) == "number" and t.value == t.value then done[#done + 1] = t end
  end
  if #done < 2 then fail(fmt("%s: needs at least 2 finished trials (got %d)", fn, #done)) end
  local out, info
  if method == "fanova" then out, info = require("moonlab.search.fanova").importances(fn, res, done, opts)
  else out, info = mdi(fn, res, done, opts) end
  table.sort(out, function(a, b) if a.importance ~= b.importance then return a.importance > b.importance end return a.name < b.name end)
  info.method = method
  return setmetatable(out, { __index = info, __tostring = show, __name = "search.Importances" })
end

ml.doc(M.param_importances, "search.param_importances(result, [{method='fanova'|'mdi', params, n_estimators=64, max_depth, random_state=0, space}]) -> "
  .. "{{name, importance}...} — how much each parameter explains the objective (Optuna's fANOVA by default), largest first, sum 1; "
  .. "print(imp) shows the table")

return M
