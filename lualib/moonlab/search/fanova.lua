--- search/fanova.lua: fANOVA parameter importances (Hutter, Hoos &
-- Leyton-Brown 2014), Optuna 3.1's FanovaImportanceEvaluator, the default of
-- search.param_importances.
--
-- A random forest (64 trees, depth up to 64, bootstrap, seeded) is fitted on
-- (parameters -> value) over the finished trials; each tree cuts the search
-- space's box into its leaves' boxes, and the variance of its prediction over
-- the box is split into what each parameter explains alone (its marginal: the
-- prediction averaged over the other parameters, as a function of this one).
-- A parameter's importance is that share, averaged over the trees whose
-- prediction varies, and the importances are normalised to sum 1. The
-- per-tree arithmetic is in C (runtime/ops/fanova.c, ml._trees.fanova).
--
-- The parameters are Optuna's: those present in every finished trial (a
-- conditional one that some trials lack is left out, as Optuna's
-- intersection search space does), in their own units (Optuna computes
-- fANOVA with transform_log = False: a loguniform parameter's box is its
-- plain [low, high]), a choice as one-hot columns on [0, 1]. A parameter
-- that can take one value only gets 0; a fixed value is not a parameter.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local space_mod = require "moonlab.search.space"

local fail, fmt = checks.fail, string.format
local M = {}

local function key_of(v)
  if type(v) == "table" then return "json:" .. ml.json.encode(v) end -- a table choice read back from a journal is a new table
  return v
end

-- How each parameter becomes columns: {kind = "number", low, high} or {kind = "choice", levels = {values}, index = {key -> i}}.
-- From its distribution when the search's space is known, else from the values the trials hold.
local function encoding(fn, name, dist, trials)
  if dist and dist.kind == "categorical" then
    local index = {}
    for i, c in ipairs(dist.choices) do index[key_of(c)] = index[key_of(c)] or i end
    return { kind = "choice", levels = dist.choices, index = index, dist = dist }
  end
  if dist then
    local low, high = dist.low, dist.high
    for _, t in ipairs(trials) do -- a trial recorded under a wider range must still fall in the box
      local v = t.params[name]
      if type(v) ~= "number" then
        fail(fmt("%s: trial %s has %s = %s, expected a number (the space says %s)", fn, tostring(t.number), name, checks.show(v),
          dist:describe()))
      end
      if v < low then low = v end
      if v > high then high = v end
    end
    return { kind = "number", low = low, high = high, dist = dist }
  end
  local numeric, low, high = true, math.huge, -math.huge
  for _, t in ipairs(trials) do
    local v = t.params[name]
    if type(v) ~= "number" then numeric = false break end
    if v < low then low = v end
    if v > high then high = v end
  end
  if numeric then return { kind = "number", low = low, high = high } end
  local levels, index = {}, {}
  for _, t in ipairs(trials) do
    local k = key_of(t.params[name])
    if not index[k] then levels[#levels + 1] = t.params[name] index[k] = #levels end
  end
  return { kind = "choice", levels = levels, index = index }
end

local function single(enc)
  if enc.kind == "choice" then return #enc.levels <= 1 end
  return not (enc.low < enc.high)
end

-- The parameters to assess: opts.params, or those every finished trial has (minus fixed values), by name.
local function pick_names(fn, res, done, dists, wanted)
  if wanted ~= nil then
    if type(wanted) ~= "table" or #wanted == 0 then fail(fn .. ": params must be a non-empty list of parameter names") end
    local known = res.names or {}
    for _, n in ipairs(wanted) do
      local found = false
      for _, k in ipairs(known) do if k == n then found = true break end end
      if not found then checks.unknown(fn, "parameter", tostring(n), known) end
    end
    local out = table.move(wanted, 1, #wanted, 1, {})
    table.sort(out)
    return out
  end
  local out = {}
  for _, n in ipairs(res.names or {}) do
    local d = dists and dists[n]
    if not (d and d.kind == "fixed") then
      local everywhere = true
      for _, t in ipairs(done) do if t.params[n] == nil then everywhere = false break end end
      if everywhere then out[#out + 1] = n end
    end
  end
  table.sort(out)
  return out
end

-- The forest's inputs: X [n, columns] (one-hot for choices), the box [columns, 2] and each column's group.
local function design(fn, names, encs, trials)
  local bounds, groups, rows = {}, {}, {}
  for g, n in ipairs(names) do
    local e = encs[n]
    if e.kind == "choice" then
      e.first = #bounds + 1
      for _ = 1, #e.levels do bounds[#bounds + 1] = { 0.0, 1.0 } groups[#groups + 1] = g end
    else
      e.first = #bounds + 1
      bounds[#bounds + 1] = { e.low + 0.0, e.high + 0.0 }
      groups[#groups + 1] = g
    end
  end
  local D = #bounds
  for i, t in ipairs(trials) do
    local r = {}
    for c = 1, D do r[c] = 0.0 end
    for _, n in ipairs(names) do
      local e, v = encs[n], t.params[n]
      if e.kind == "choice" then
        local j = e.index[key_of(v)]
        if not j then
          fail(fmt("%s: trial %s has %s = %s, which is not one of %s", fn, tostring(t.number), n, checks.show(v),
            e.dist and e.dist:describe() or "its choices"))
        end
        r[e.first + j - 1] = 1.0
      else
        r[e.first] = v + 0.0
      end
    end
    rows[i] = r
  end
  return ml.tensor(rows, { dtype = "float64" }), ml.tensor(bounds, { dtype = "float64" }), ml.tensor(groups, { dtype = "int64" })
end

M.MAX_CHOICES = 16 -- a choice is 2^k cells per tree (Optuna's one-hot product); beyond this, method = "mdi"

--- fanova.importances(fn, res, done, opts) -> list of {name, importance}, info {trials, trees}
-- done: the finished trials (complete, a number value); opts: params, space, n_estimators, max_depth, random_state
function M.importances(fn, res, done, opts)
  local dists = res.space and res.space.dists
  if opts.space ~= nil then dists = space_mod.compile(fn, opts.space).dists end
  local names = pick_names(fn, res, done, dists, opts.params)
  local trials = {}
  for _, t in ipairs(done) do
    local all = t.value > -math.huge and t.value < math.huge
    for _, n in ipairs(names) do if t.params[n] == nil then all = false break end end
    if all then trials[#trials + 1] = t end
  end
  if #trials < 2 then
    fail(fmt("%s: needs at least 2 finished trials with every parameter assessed (got %d of %d finished trials)", fn, #trials, #done))
  end
  local encs, live, dead = {}, {}, {}
  for _, n in ipairs(names) do
    local e = encoding(fn, n, dists and dists[n], trials)
    if e.kind == "choice" and #e.levels > M.MAX_CHOICES then
      fail(fmt("%s: '%s' has %d choices; fANOVA's one-hot cells grow as 2^choices (at most %d here): use method = 'mdi'", fn, n,
        #e.levels, M.MAX_CHOICES))
    end
    encs[n] = e
    if single(e) then dead[#dead + 1] = n else live[#live + 1] = n end
  end
  local out = {}
  if #live > 0 then
    local X, bounds, groups = design(fn, live, encs, trials)
    local y = {}
    for i, t in ipairs(trials) do y[i] = t.value + 0.0 end
    local forest = ml.models.RandomForestRegressor {
      n_estimators = opts.n_estimators or 64, max_depth = opts.max_depth or 64, min_samples_split = 2, min_samples_leaf = 1,
      bootstrap = true, random_state = opts.random_state or 0,
    }
    forest:fit(X, ml.tensor(y, { dtype = "float64" }))
    local max_cells = math.max(1 << M.MAX_CHOICES, 2 * #trials + 2)
    local marginal, total = ml._trees.fanova(forest:tree_arrays(), bounds, groups, max_cells)
    local varies = total:gt(0)
    local n_varies = varies:sum():item()
    if n_varies == 0 then
      fail(fmt("%s: the forest's prediction is the same everywhere (the %d trials' values do not vary with the parameters); "
        .. "nothing to explain", fn, #trials))
    end
    -- each tree's shares, averaged over the trees whose prediction varies (Optuna's mean of fractions)
    local safe = ml.where(varies, total, ml.ones_like(total))
    local share = marginal:div(safe:reshape(total:size(1), 1)):mul(varies:to("float64"):reshape(total:size(1), 1))
    local imp = share:sum(1):div(n_varies):reshape(#live)
    local sum = imp:sum():item()
    imp = sum > 0 and imp:div(sum):tolist() or ml.full({ #live }, 1 / #live, { dtype = "float64" }):tolist()
    for g, n in ipairs(live) do out[#out + 1] = { name = n, importance = imp[g] } end
  end
  for _, n in ipairs(dead) do out[#out + 1] = { name = n, importance = 0.0 } end
  return out, { trials = #trials, trees = opts.n_estimators or 64 }
end

return M
