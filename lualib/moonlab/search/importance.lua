--- search/importance.lua: how much each parameter explains the objective —
-- the impurity importances of a random forest fitted on (parameters ->
-- value) over the finished trials, Optuna's MeanDecreaseImpurity evaluator
-- (its fANOVA default asks the same question of the same kind of forest).
--   local imp = search.param_importances(res)   -- {{name = "lr", importance = 0.71}, ...}, largest first, sum 1
-- Numbers are used as they are (a forest does not care about log scales),
-- choices as codes, and a conditional parameter absent from a trial as a
-- value below its range, so "absent" is a level of its own.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local M = {}

--- search.param_importances(result, [{n_estimators=64, max_depth=8, random_state=0}]) -> list of {name, importance}
function M.param_importances(res, opts)
  local fn = "search.param_importances"
  opts = checks.options(fn, opts, { "n_estimators", "max_depth", "random_state" })
  if type(res) ~= "table" or type(res.trials) ~= "table" then fail(fn .. ": expected a search result (search.run's)") end
  local done = {}
  for _, t in ipairs(res.trials) do
    if t.state == "complete" and type(t.value) == "number" and t.value == t.value then done[#done + 1] = t end
  end
  local names = {}
  for _, n in ipairs(res.names or {}) do
    local distinct, count = {}, 0
    for _, t in ipairs(done) do
      local v = t.params[n]
      if v ~= nil and not distinct[v] then distinct[v] = true count = count + 1 end
    end
    if count > 1 then names[#names + 1] = n end -- a parameter that never varied explains nothing
  end
  if #done < 2 or #names == 0 then
    fail(fmt("%s: needs at least 2 finished trials and a parameter that varied (got %d trials, %d varying)", fn, #done, #names))
  end
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
  table.sort(out, function(a, b) return a.importance > b.importance end)
  return out
end

ml.doc(M.param_importances, "search.param_importances(result, [{n_estimators=64, max_depth=8, random_state=0}]) -> "
  .. "{{name, importance}...} — how much each parameter explains the objective (a random forest's impurity importances), largest first")

return M
