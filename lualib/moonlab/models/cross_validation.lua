--- models/cross_validation.lua: cross_val_score, cross_validate and
-- cross_val_predict, scikit-learn's (sklearn.model_selection).
--
--   local scores = models.cross_val_score(models.NetClassifier{...}, X, y, {cv = 5})
--   local r = models.cross_validate(pipe, df, y, {scoring = {"accuracy", "f1_macro"}, return_train_score = true})
--   print(r.test_accuracy:mean(), r.fit_time)
--
-- Each fold fits a clone of the estimator on its training rows only (a
-- pipeline is refit per fold, so nothing leaks from the validation rows) and
-- scores it on the test rows. Folds run in forked worker processes
-- (core/workers: n_jobs, by default one per core), so both cores are busy;
-- with 5 folds on 2 workers the fifth runs in the caller on every thread,
-- at once beside the busy worker for a forest (its threads never wait on
-- one another, so sharing the cores a while costs it nothing) and after it
-- otherwise; a fold that raises is reported with its index and message (error_score =
-- "raise"), or scored error_score. Classifiers get StratifiedKFold for an
-- integer cv, as in scikit-learn. X may be a tensor, a data frame (rows by
-- df:take) or a sparse matrix (rows by X:rows).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"
local workers = require "moonlab.core.workers"
local base = require "moonlab.models.base"
local splitters = require "moonlab.models.splitters"

local fail, fmt = checks.fail, string.format
local M = {}
local internal = {}
setmetatable(M, { __index = internal })

-- ---- rows of X, y and groups ------------------------------------------------------------------

--- cv.take(X, idx) -> the rows idx (1-based int64) of a tensor, a frame, a sparse matrix, a column or a list
function internal.take(X, idx)
  if X == nil then return nil end
  if ml.is_tensor(X) then return X:index_select(1, idx) end
  if type(X.take) == "function" then return X:take(idx) end -- data frames and columns
  if type(X.rows) == "function" and type(X.shape) == "table" then return X:rows(idx) end -- sparse
  local out = {}
  for i, r in ipairs(idx:tolist()) do out[i] = X[r] end -- a Lua list (labels, rows)
  return out
end
local take = internal.take

--- cv.kind_of(est) -> "classifier" | "regressor" | nil: the estimator's KIND (a pipeline's is its last step's)
function internal.kind_of(est)
  if type(est) ~= "table" then return nil end
  if type(est.steps) == "table" and #est.steps > 0 then return internal.kind_of(est.steps[#est.steps][2]) end
  return est.KIND
end

local function check_estimator(fn, est)
  if type(est) ~= "table" or type(est.fit) ~= "function" or type(est.get_params) ~= "function" then
    fail(fmt("%s: expected an estimator (with fit and get_params), got %s", fn, ml.is_tensor(est) and "a tensor" or type(est)))
  end
end

-- ---- scorers ---------------------------------------------------------------------------------

local function default_scorer(est, X, y) return est:score(X, y) end

local function named_scorer(fn, name)
  local metrics = require "moonlab.metrics"
  if type(metrics.get_scorer) ~= "function" then
    fail(fmt("%s: scoring '%s' needs ml.metrics.get_scorer, which this build lacks; pass a function(est, X, y) -> number", fn, name))
  end
  return metrics.get_scorer(name)
end

--- cv.scorers(fn, scoring) -> {{name, fn(est, X, y) -> number}, ...}, whether there are several
-- (nil: est:score as "score"; a name; a function; a list of names; a table {name = name | fn})
function internal.scorers(fn, scoring)
  if scoring == nil then return { { "score", default_scorer } }, false end
  if type(scoring) == "string" then return { { "score", named_scorer(fn, scoring) } }, false, scoring end
  if type(scoring) == "function" then return { { "score", scoring } }, false end
  if type(scoring) ~= "table" then fail(fmt("%s: scoring must be nil, a name, a function or a list of names, got %s", fn, type(scoring))) end
  local out = {}
  if #scoring > 0 then
    for i, name in ipairs(scoring) do
      if type(name) ~= "string" then fail(fmt("%s: scoring[%d] must be a scorer name, got %s", fn, i, checks.show(name))) end
      out[i] = { name, named_scorer(fn, name) }
    end
  else
    local names = {}
    for k in pairs(scoring) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
      local s = scoring[k]
      if type(s) == "string" then s = named_scorer(fn, s)
      elseif type(s) ~= "function" then fail(fmt("%s: scoring.%s must be a scorer name or a function, got %s", fn, k, type(s))) end
      out[#out + 1] = { k, s }
    end
  end
  if #out == 0 then fail(fn .. ": scoring is an empty table") end
  return out, true
end

local function score_all(fn, scorers, est, X, y)
  local out = {}
  for _, s in ipairs(scorers) do
    local v = s[2](est, X, y)
    if type(v) ~= "number" then
      fail(fmt("%s: the scorer '%s' returned %s, expected a number", fn, s[1], ml.is_tensor(v) and "a tensor" or type(v)))
    end
    out[s[1]] = v
  end
  return out
end

-- ---- running folds ------------------------------------------------------------------------------

local function fit_clone(est, X, y, fit_params)
  local e = base.clone(est)
  if fit_params then e:fit(X, y, fit_params) else e:fit(X, y) end
  return e
end

--- cv.independent_threads(est) -> whether est's fit runs threads that never wait on one another (a forest's
--- trees: INDEPENDENT_THREADS), so the last fold may start in the caller while a busy worker finishes
--- (a pipeline's is its last step's)
function internal.independent_threads(est)
  if type(est) ~= "table" then return false end
  if type(est.steps) == "table" and #est.steps > 0 then return internal.independent_threads(est.steps[#est.steps][2]) end
  return est.INDEPENDENT_THREADS == true
end

--- cv.n_workers(fn, n_jobs) -> workers: n_jobs >= 1 as it is; -1 every core, -2 all but one ... (scikit-learn's
-- joblib convention, at least 1)
function internal.n_workers(fn, n_jobs)
  local n = checks.integer(fn, "n_jobs", n_jobs)
  if n == 0 then fail(fn .. ": n_jobs must be >= 1, or negative (-1: every core, -2: all but one), got 0") end
  if n < 0 then n = math.max(1, math.max(1, ml.threads()) + 1 + n) end
  return n
end

--- cv.run_folds(fn, folds, job, n_jobs, error_score, [est]) -> results (one per fold; a failed fold's is false),
--- the failed folds' messages: job(fold, i) in worker processes (the last one started in the caller at once
--- when est has independent threads)
function internal.run_folds(fn, folds, job, n_jobs, error_score, est)
  local n_workers = n_jobs and internal.n_workers(fn, n_jobs) or math.min(math.max(1, ml.threads()), #folds)
  local results, errors = workers.map(folds, job, { n_workers = n_workers, errors = "return",
    finish_here = internal.independent_threads(est) and "now" or nil })
  for i = 1, #folds do
    if errors[i] then
      if error_score == nil or error_score == "raise" then
        fail(fmt("%s: fold %d of %d failed: %s", fn, i, #folds, errors[i]))
      end
      io.stderr:write(fmt("%s: fold %d of %d failed (scored %s): %s\n", fn, i, #folds, tostring(error_score), errors[i]))
      results[i] = false
    end
  end
  return results, errors
end

local CV_OPTIONS = { "cv", "scoring", "groups", "n_jobs", "fit_params", "return_train_score", "return_estimator", "error_score" }

local function check_xy(fn, X, y)
  if X == nil then fail(fn .. ": expected X (a tensor, a data frame or a sparse matrix), got nil") end
  local n = splitters.n_rows(fn, X)
  if y ~= nil then
    local ny = labels.length(fn, y)
    if ny ~= n then fail(fmt("%s: X has %d rows but y has %d values", fn, n, ny)) end
  end
  return n
end

--- models.cross_validate(est, X, y, [{cv=5, scoring, groups, n_jobs, fit_params, return_train_score=false,
--- return_estimator=false, error_score="raise"}]) -> {test_<name> = float64 [k], train_<name>, fit_time, score_time, estimator}
function M.cross_validate(est, X, y, opts)
  local fn = "models.cross_validate"
  return internal.cross_validate(fn, est, X, y, opts)
end

function internal.cross_validate(fn, est, X, y, opts)
  check_estimator(fn, est)
  opts = checks.options(fn, opts, CV_OPTIONS)
  check_xy(fn, X, y)
  local error_score = opts.error_score
  if error_score ~= nil and error_score ~= "raise" and type(error_score) ~= "number" then
    fail(fmt("%s: error_score must be 'raise' or a number, got %s", fn, checks.show(error_score)))
  end
  local train_score = checks.boolean(fn, "return_train_score", opts.return_train_score, false)
  local keep = checks.boolean(fn, "return_estimator", opts.return_estimator, false)
  local scorers = internal.scorers(fn, opts.scoring)
  local cv = splitters.check_cv(fn, opts.cv, internal.kind_of(est) == "classifier")
  local folds = cv:split(X, y, opts.groups)
  local fit_params = opts.fit_params
  local results = internal.run_folds(fn, folds, function(fold)
    local Xtr, ytr = take(X, fold.train), take(y, fold.train)
    local t0 = ml.now()
    local e = fit_clone(est, Xtr, ytr, fit_params)
    local t1 = ml.now()
    local r = { test = score_all(fn, scorers, e, take(X, fold.test), take(y, fold.test)), fit_time = t1 - t0 }
    r.score_time = ml.now() - t1
    if train_score then r.train = score_all(fn, scorers, e, Xtr, ytr) end
    if keep then r.estimator = e end
    return r
  end, opts.n_jobs, error_score, est)
  local k = #folds
  local out = { fit_time = {}, score_time = {} }
  local cols = {}
  for _, s in ipairs(scorers) do
    cols["test_" .. s[1]] = {}
    if train_score then cols["train_" .. s[1]] = {} end
  end
  if keep then out.estimator = {} end
  for i = 1, k do
    local r = results[i]
    local nan = 0 / 0
    out.fit_time[i] = r and r.fit_time or nan
    out.score_time[i] = r and r.score_time or nan
    for _, s in ipairs(scorers) do
      cols["test_" .. s[1]][i] = r and r.test[s[1]] or error_score
      if train_score then cols["train_" .. s[1]][i] = r and r.train[s[1]] or error_score end
    end
    if keep then out.estimator[i] = r and r.estimator or false end
  end
  out.fit_time = ml.tensor(out.fit_time, { dtype = "float64" })
  out.score_time = ml.tensor(out.score_time, { dtype = "float64" })
  for name, v in pairs(cols) do out[name] = ml.tensor(v, { dtype = "float64" }) end
  return out
end

--- models.cross_val_score(est, X, y, [{cv=5, scoring, groups, n_jobs, fit_params, error_score}]) -> float64 [k]: the test score of each fold
function M.cross_val_score(est, X, y, opts)
  local fn = "models.cross_val_score"
  opts = checks.options(fn, opts, { "cv", "scoring", "groups", "n_jobs", "fit_params", "error_score" })
  if type(opts.scoring) == "table" then
    fail(fn .. ": scoring must be one name or function (use models.cross_validate for several)")
  end
  return internal.cross_validate(fn, est, X, y, opts).test_score
end

-- ---- cross_val_predict ---------------------------------------------------------------------------

-- A fold's predict_proba columns (the classes it saw) placed among all the classes: proba @ P, P [k_f, K] of 0/1.
local function align_columns(proba, fold_classes, classes)
  if #fold_classes == #classes then return proba end
  local index = {}
  for j, c in ipairs(classes) do index[c] = j end
  local P = ml.zeros(#fold_classes, #classes, { dtype = proba:dtype() })
  local rows, cols = {}, {}
  for j, c in ipairs(fold_classes) do rows[#rows + 1], cols[#cols + 1] = j, index[c] end
  local flat = ml.tensor(rows, { dtype = "int64" }):sub(1):mul(#classes):add(ml.tensor(cols, { dtype = "int64" }))
  P = P:reshape(#fold_classes * #classes):scatter_add(1, flat, ml.ones(#rows, { dtype = proba:dtype() })):reshape(#fold_classes, #classes)
  return ml.matmul(proba, P)
end

--- models.cross_val_predict(est, X, y, [{cv=5, method="predict"|"predict_proba"|"decision_function", groups, n_jobs, fit_params}])
--- -> the out-of-fold prediction of every row (each from the model that did not see it)
function M.cross_val_predict(est, X, y, opts)
  local fn = "models.cross_val_predict"
  check_estimator(fn, est)
  opts = checks.options(fn, opts, { "cv", "method", "groups", "n_jobs", "fit_params" })
  local n = check_xy(fn, X, y)
  local method = checks.one_of(fn, "method", opts.method, { "predict", "predict_proba", "decision_function" }, "predict")
  if type(est[method]) ~= "function" then fail(fmt("%s: %s has no %s", fn, est.__name or "the estimator", method)) end
  local classifier = internal.kind_of(est) == "classifier"
  local cv = splitters.check_cv(fn, opts.cv, classifier)
  local folds = cv:split(X, y, opts.groups)
  -- every row must be predicted exactly once (scikit-learn: a partition)
  local count = ml.zeros(n, { dtype = "int64" })
  for _, f in ipairs(folds) do count = count:scatter_add(1, f.test, ml.ones(f.test:numel(), { dtype = "int64" })) end
  if count:ne(1):sum():item() > 0 then
    fail(fmt("%s: the cv splits must put every row in exactly one test set (a partition such as KFold); %s does not", fn,
      cv.__name or "this cv"))
  end
  local fit_params = opts.fit_params
  local results = internal.run_folds(fn, folds, function(fold)
    local e = fit_clone(est, take(X, fold.train), take(y, fold.train), fit_params)
    local p = e[method](e, take(X, fold.test))
    if method ~= "predict" and e.classes_ then return { p = p, classes = e.classes_ } end
    return { p = p }
  end, opts.n_jobs, nil, est)
  local classes = classifier and method ~= "predict" and select(2, labels.encode(fn, y)) or nil
  local parts, order = {}, {}
  for i, f in ipairs(folds) do
    local p = results[i].p
    local fc = results[i].classes
    if classes and fc and #fc ~= #classes and ml.is_tensor(p) then
      if method == "decision_function" then
        -- scikit-learn: a fold's missing classes get the lowest float; a fold with two classes gives
        -- one column, which cannot be placed among more than two
        if p:dim() == 1 or (p:dim() == 2 and p:size(2) == 1) then
          if #classes > 2 then
            fail(fmt("%s: fold %d's training rows hold only %d of the %d classes, so its decision_function "
              .. "has one column; use a stratified cv (StratifiedKFold) or method = 'predict_proba'", fn, i, #fc, #classes))
          end
        else
          local present = {}
          for _, c in ipairs(fc) do present[c] = true end
          local fill = {}
          for j, c in ipairs(classes) do fill[j] = present[c] and 0 or -1.7976931348623157e308 end
          p = align_columns(p:to("float64"), fc, classes) + ml.tensor(fill, { dtype = "float64" }):reshape(1, #classes)
        end
      else
        p = align_columns(p, fc, classes)
      end
    end
    parts[i], order[i] = p, f.test
  end
  local _, inverse = ml.cat(order):sort()
  if ml.is_tensor(parts[1]) then return ml.cat(parts):index_select(1, inverse) end
  local all = {}
  for _, p in ipairs(parts) do for _, v in ipairs(p) do all[#all + 1] = v end end
  return take(all, inverse)
end

do
  local doc = ml.doc
  doc(M.cross_validate, "models.cross_validate(est, X, y, [{cv=5, scoring, groups, n_jobs, fit_params, return_train_score, return_estimator, error_score}]) -> {test_<name>, train_<name>, fit_time, score_time, estimator} — fits a clone per fold in worker processes")
  doc(M.cross_val_score, "models.cross_val_score(est, X, y, [{cv=5, scoring, groups, n_jobs, fit_params, error_score}]) -> float64 [k] — the test score of each fold")
  doc(M.cross_val_predict, "models.cross_val_predict(est, X, y, [{cv=5, method='predict', groups, n_jobs, fit_params}]) -> out-of-fold predictions in row order")
  doc(internal.take, "cv.take(X, idx) -> the rows idx of a tensor, frame, sparse matrix, column or list")
  doc(internal.kind_of, "cv.kind_of(est) -> 'classifier' | 'regressor' — a pipeline's is its last step's")
  doc(internal.scorers, "cv.scorers(fn, scoring) -> {{name, fn}, ...}, multi — scoring options as scorer functions")
  doc(internal.run_folds, "cv.run_folds(fn, folds, job, n_jobs, error_score, [est]) -> results — fold jobs in worker processes, failures by index")
  doc(internal.independent_threads, "cv.independent_threads(est) -> boolean — whether est's threads never wait on one another (forests), a pipeline's its last step's")
end

return M
