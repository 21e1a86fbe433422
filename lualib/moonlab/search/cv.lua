--- search/cv.lua: the estimator form of a search (scikit-learn's GridSearchCV
-- and RandomizedSearchCV; any method of search.run through SearchCV): each
-- candidate is a clone of the estimator with the candidate's options,
-- scored by cross-validation (models.cross_validate, the same folds for
-- every candidate), and the best one is refit on all the data.
--
--   local gs = search.GridSearchCV(models.LogisticRegression{}, {C = {0.01, 0.1, 1, 10}}, {cv = 3, scoring = "accuracy"})
--   gs:fit(X, y)
--   gs.best_params_, gs.best_score_, gs.best_estimator_, gs.cv_results_ ; gs:predict(X2)
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local space = require "moonlab.search.space"
local run = require("moonlab.search.run").run

local fail, fmt = checks.fail, string.format
local M = {}

local SearchCV = class.Object:extend("search.SearchCV",
  "search.SearchCV(estimator, space, [{method='tpe', n_iter=10, cv=5, scoring, refit=true (or the metric's name when scoring lists several), n_jobs=1, random_state, "
  .. "journal, verbose=false}]) — a search over an estimator's options, each candidate scored by cross-validation")
M.SearchCV = SearchCV

local OPTIONS = { "method", "n_iter", "cv", "scoring", "refit", "n_jobs", "random_state", "journal", "verbose", "pruner", "timeout" }

-- A list of grids (scikit-learn's list of dicts): every point of each, in order.
local function multi_grid(fn, grids)
  local Grid = require("moonlab.search.samplers.grid").GridSampler
  local points, names, seen = {}, {}, {}
  for i, g in ipairs(grids) do
    if type(g) ~= "table" then fail(fmt("%s: grid %d must be a table {option = {values}}, got %s", fn, i, type(g))) end
    for _, p in ipairs(Grid.points(space.compile(fn, g))) do points[#points + 1] = p end
    for k in pairs(g) do if not seen[k] then seen[k] = true names[#names + 1] = k end end
  end
  table.sort(names)
  local sampler = {
    total = function() return #points end,
    suggest = function(_, ctx)
      local p = points[ctx.number]
      if not p then return nil end
      local copy = {}
      for k, v in pairs(p) do copy[k] = v end
      return copy
    end,
  }
  return sampler, names
end

-- RandomizedSearchCV over lists only (one table, or a list of tables): as scikit-learn's ParameterSampler,
-- the candidates are drawn without replacement from the grid, and n_iter is cut to the grid's size.
local function all_lists(grids)
  for _, g in ipairs(grids) do
    if type(g) ~= "table" then return false end
    for _, v in pairs(g) do
      if not (type(v) == "table" and getmetatable(v) == nil and #v > 0) then return false end
    end
  end
  return true
end

local function sample_grid(fn, grids, n_iter, seed)
  local sampler, names = multi_grid(fn, grids)
  local n = sampler.total()
  if n_iter > n then -- scikit-learn's UserWarning, word for word in substance
    io.stderr:write(fmt("%s: the space holds %d candidates, fewer than n_iter = %d; running %d\n", fn, n, n_iter, n))
  end
  local order = {}
  for i = 1, n do order[i] = i end
  require("moonlab.core.rng").new(seed):shuffle(order)
  local points = {}
  for i = 1, n do points[i] = sampler.suggest(nil, { number = order[i] }) end
  return {
    total = function() return math.min(n, n_iter) end,
    suggest = function(_, ctx) return points[ctx.number] end,
  }, names, math.min(n, n_iter)
end

-- RandomizedSearchCV over a list of spaces with distributions: each candidate picks one space at random.
local function pick_space(fn, grids)
  local compiled, names, seen = {}, {}, {}
  for i, g in ipairs(grids) do
    if type(g) ~= "table" then fail(fmt("%s: space %d must be a table {option = values}, got %s", fn, i, type(g))) end
    compiled[i] = space.compile(fn, g)
    for k in pairs(g) do if not seen[k] then seen[k] = true names[#names + 1] = k end end
  end
  table.sort(names)
  return {
    suggest = function(_, ctx)
      local c = compiled[ctx.rng:integer(1, #compiled)]
      return space.draw(c, function(_, d) return d:sample(ctx.rng) end)
    end,
  }, names
end

function SearchCV:init(estimator, spec, opts)
  local fn = self.__name
  if type(estimator) ~= "table" or type(estimator.fit) ~= "function" or type(estimator.get_params) ~= "function" then
    fail(fmt("%s: argument #1 must be an estimator (with fit and get_params), got %s", fn, type(estimator)))
  end
  if type(spec) ~= "table" then fail(fmt("%s: argument #2 must be the options to search {option = values}, got %s", fn, type(spec))) end
  opts = checks.options(fn, opts, OPTIONS)
  self.estimator, self.space = estimator, spec
  -- a classifier's search is a classifier (scikit-learn's _estimator_type): an outer cross-validation stratifies
  self.KIND = require("moonlab.models.cross_validation").kind_of(estimator)
  self.method = opts.method or self.METHOD or "tpe"
  self.n_iter = opts.n_iter ~= nil and checks.integer(fn, "n_iter", opts.n_iter, 1) or 10
  self.cv, self.scoring = opts.cv or 5, opts.scoring
  self._opts = {}
  for k, v in pairs(opts) do self._opts[k] = v end
  -- several metrics (scoring = {"accuracy", "f1_macro"}): refit names the one that picks the best, as scikit-learn's
  local n_metrics = 0
  if type(opts.scoring) == "table" then for _ in pairs(opts.scoring) do n_metrics = n_metrics + 1 end end
  if type(opts.refit) == "string" then
    if type(opts.scoring) ~= "table" then
      fail(fmt("%s: refit = '%s' names a metric; give scoring as a list of metrics, got %s", fn, opts.refit, checks.show(opts.scoring)))
    end
    local names = {}
    for k, v in pairs(opts.scoring) do names[#names + 1] = type(k) == "string" and k or tostring(v) end
    local found = false
    for _, n in ipairs(names) do if n == opts.refit then found = true end end
    if not found then checks.unknown(fn, "refit metric", opts.refit, names) end
    self.refit, self.refit_metric = true, opts.refit
  else
    self.refit = checks.boolean(fn, "refit", opts.refit, true)
    if n_metrics > 1 then
      fail(fmt("%s: scoring has %d metrics; refit must name the one that picks the best candidate (refit = 'name'), as scikit-learn's",
        fn, n_metrics))
    end
  end
  self.n_jobs = opts.n_jobs ~= nil and checks.integer(fn, "n_jobs", opts.n_jobs, 1) or 1
  self.random_state = opts.random_state ~= nil and checks.integer(fn, "random_state", opts.random_state) or 0
  self.journal, self.pruner, self.timeout = opts.journal, opts.pruner, opts.timeout
  self.verbose = checks.boolean(fn, "verbose", opts.verbose, false)
  -- the option names must be the estimator's
  -- the option names must be the estimator's (its PARAMS list: get_params leaves out options that are nil)
  local known = {}
  for k in pairs(estimator:get_params()) do known[k] = true end
  for _, p in ipairs(rawget(getmetatable(estimator) or {}, "PARAMS") or estimator.PARAMS or {}) do known[p[1]] = true end
  local grids = (#spec > 0) and spec or { spec }
  for _, g in ipairs(grids) do
    for k in pairs(g) do
      if type(k) ~= "string" then fail(fmt("%s: option names must be strings, got %s", fn, type(k))) end
      if not known[k] and not k:find("__", 1, true) then
        local names = {}
        for n in pairs(known) do names[#names + 1] = n end
        checks.unknown(fn, "option of " .. (estimator.__name or "the estimator"), k, names)
      end
    end
  end
end

--- cv:fit(X, y) -> cv: every candidate cross-validated, the best refit on X, y
function SearchCV:fit(X, y)
  local fn = self.__name .. ":fit"
  local models = require "moonlab.models"
  local is_grid = self.method == "grid"
  local spec, method, n_trials = self.space, self.method, self.n_iter
  local names
  if is_grid and #self.space > 0 then
    method, names = multi_grid(fn, self.space)
    n_trials = method.total()
  elseif is_grid then
    n_trials = nil
  elseif method == "random" and all_lists((#self.space > 0) and self.space or { self.space }) then
    method, names, n_trials = sample_grid(fn, (#self.space > 0) and self.space or { self.space }, self.n_iter,
      self.random_state)
  elseif #self.space > 0 then
    if method ~= "random" then
      fail(fmt("%s: a list of spaces needs method 'grid' or 'random', got '%s'", fn, tostring(method)))
    end
    method, names = pick_space(fn, self.space)
  end
  if names then
    spec = {} -- the result's columns: the options of all the spaces (the sampler gives the values)
    for _, k in ipairs(names) do spec[k] = space.fixed(true) end
  end
  local cv_opts = { cv = self.cv, scoring = self.scoring, n_jobs = self.n_jobs }
  local estimator = self.estimator
  local refit_metric = self.refit_metric
  local res = run(function(p)
    local est = models.clone(estimator)
    est:set_params(p)
    local out = models.cross_validate(est, X, y, cv_opts)
    local scores = refit_metric and out["test_" .. refit_metric] or out.test_score
    local means = {}
    for k, v in pairs(out) do
      if k:find("^test_") then
        means[k:sub(6)] = v:mean():item()
        if not scores and not refit_metric then scores = v end -- a list of one metric
      end
    end
    local mean = scores:mean():item()
    local std = scores:numel() > 1 and math.sqrt(((scores - mean) ^ 2):mean():item()) or 0 -- numpy's std, as sklearn
    return { score = mean, std = std, fit_time = out.fit_time:mean():item(), splits = scores:tolist(), means = means }
  end, spec, { method = method, trials = n_trials, direction = "maximize", metric = "score", seed = self.random_state,
    verbose = self.verbose, journal = self.journal, pruner = self.pruner, timeout = self.timeout })
  -- cv_results_: one entry per candidate, ranks as scikit-learn (ties share the smallest rank)
  local cr = { params = {}, mean_test_score = {}, std_test_score = {}, rank_test_score = {}, mean_fit_time = {}, state = {} }
  for i, t in ipairs(res.trials) do
    cr.params[i] = t.params
    cr.mean_test_score[i] = t.state == "complete" and t.value or 0 / 0
    cr.std_test_score[i] = t.metrics and t.metrics.std or 0 / 0
    cr.mean_fit_time[i] = t.metrics and t.metrics.fit_time or 0 / 0
    cr.state[i] = t.state
    if type(self.scoring) == "table" then -- several metrics: mean_test_<name> of each (the searched one is mean_test_score)
      for name, v in pairs(t.metrics and t.metrics.means or {}) do
        local key = "mean_test_" .. name
        cr[key] = cr[key] or {}
        cr[key][i] = v
      end
    end
    for k, v in ipairs(t.metrics and t.metrics.splits or {}) do -- scikit-learn's split0_test_score, split1_test_score ...
      local key = "split" .. (k - 1) .. "_test_score"
      cr[key] = cr[key] or {}
      cr[key][i] = v
    end
    if t.state == "failed" and self.verbose then io.stderr:write(fmt("%s: candidate %d failed: %s\n", fn, i, t.error)) end
  end
  for key, col in pairs(cr) do -- a failed candidate's split scores are NaN, as scikit-learn's error_score
    if key:find("^split%d+_test_score$") or (key:find("^mean_test_") and key ~= "mean_test_score") then
      for i = 1, #res.trials do if col[i] == nil then col[i] = 0 / 0 end end
    end
  end
  for i, v in ipairs(cr.mean_test_score) do
    local r = 1
    for _, w in ipairs(cr.mean_test_score) do
      if w == w and (v ~= v or w > v) then r = r + 1 end
    end
    cr.rank_test_score[i] = r
  end
  self.cv_results_ = cr
  self.search_result_ = res
  if not res.best_trial then
    local first
    for _, t in ipairs(res.trials) do if t.error then first = t.error break end end
    fail(fmt("%s: every candidate failed%s", fn, first and (" (the first: " .. first .. ")") or ""))
  end
  self.best_index_ = res.best_trial.number
  self.best_params_ = res.best_params
  self.best_score_ = res.best_value
  if self.refit then
    local best = models.clone(estimator)
    best:set_params(res.best_params)
    self.best_estimator_ = best:fit(X, y)
    self.classes_ = rawget(self.best_estimator_, "classes_")
  end
  return self
end

local function best(self, fn)
  if not rawget(self, "best_estimator_") then
    fail(fmt("%s: no refit estimator (fit first, with refit = true)", fn))
  end
  return self.best_estimator_
end

--- cv:predict(X), cv:predict_proba(X), cv:decision_function(X), cv:score(X, y): the refit best estimator's
function SearchCV:predict(X) return best(self, self.__name .. ":predict"):predict(X) end
function SearchCV:predict_proba(X) return best(self, self.__name .. ":predict_proba"):predict_proba(X) end
function SearchCV:decision_function(X) return best(self, self.__name .. ":decision_function"):decision_function(X) end
function SearchCV:score(X, y)
  local fn = self.__name .. ":score"
  local e = best(self, fn)
  if self.scoring and type(self.scoring) == "string" then return ml.metrics.get_scorer(self.scoring)(e, X, y) end
  return e:score(X, y)
end

--- cv:clone() -> an unfitted search of the same class, estimator (cloned), space and options (nested cross-validation)
function SearchCV:clone()
  local opts = {}
  for k, v in pairs(self._opts or {}) do opts[k] = v end
  return getmetatable(self)(require("moonlab.models").clone(self.estimator), self.space, opts)
end

--- cv:get_params() -> the search's options
function SearchCV:get_params()
  return { estimator = self.estimator, method = self.method, n_iter = self.n_iter, cv = self.cv, scoring = self.scoring,
    refit = self.refit, n_jobs = self.n_jobs, random_state = self.random_state }
end

--- cv:print(): the candidates' table (search.run's result)
function SearchCV:print()
  if not rawget(self, "search_result_") then fail(self.__name .. ":print: not fitted yet") end
  print(self.search_result_)
end

local Grid = SearchCV:extend("search.GridSearchCV",
  "search.GridSearchCV(estimator, param_grid, [{cv=5, scoring, refit=true, n_jobs=1}]) — every combination of the "
  .. "options (a table of lists, or a list of such tables), cross-validated; as scikit-learn's")
Grid.METHOD = "grid"
M.GridSearchCV = Grid

local Randomized = SearchCV:extend("search.RandomizedSearchCV",
  "search.RandomizedSearchCV(estimator, space, [{n_iter=10, cv=5, scoring, refit=true, random_state}]) — n_iter random "
  .. "candidates from the space (lists or distributions), cross-validated")
Randomized.METHOD = "random"
M.RandomizedSearchCV = Randomized

do
  local doc = ml.doc
  doc(SearchCV.fit, "cv:fit(X, y) -> cv — cross-validates every candidate, refits the best (best_params_, best_score_, best_estimator_, cv_results_)")
  doc(SearchCV.predict, "cv:predict(X) -> the best estimator's predictions")
  doc(SearchCV.predict_proba, "cv:predict_proba(X) -> the best estimator's probabilities")
  doc(SearchCV.decision_function, "cv:decision_function(X) -> the best estimator's scores")
  doc(SearchCV.score, "cv:score(X, y) -> number — the best estimator's score (with the search's scoring)")
  doc(SearchCV.get_params, "cv:get_params() -> table — the search's options")
  doc(SearchCV.clone, "cv:clone() -> search — unfitted, with a clone of the estimator, the same space and options (models.clone, nested cross-validation)")
  doc(SearchCV.print, "cv:print() — the candidates' table and the best")
end

return M
