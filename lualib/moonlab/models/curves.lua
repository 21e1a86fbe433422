--- models/curves.lua: learning_curve and validation_curve, scikit-learn's,
-- and print_curve: training and validation scores against the size of the
-- training set, or against one parameter, so a user sees whether more data
-- (the validation score still rising) or more regularization (a wide gap
-- between training and validation) would help.
--
--   local r = models.learning_curve(est, X, y, {cv = 5})
--   models.print_curve(r)
--   local v = models.validation_curve(pipe, X, y, {param_name = "clf__C", param_range = {0.01, 0.1, 1, 10}})
--
-- Every (fold, size) or (fold, value) fit is one job for the worker
-- processes (core/workers), each fitting a clone on training rows only.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.models.base"
local cv = require "moonlab.models.cross_validation"
local splitters = require "moonlab.models.splitters"

local fail, fmt = checks.fail, string.format
local M = {}

-- mean and (population, as NumPy's) standard deviation of each row of a [r, k] tensor
local function row_stats(t)
  local mean = t:mean(2)
  local k = t:size(2)
  local dev = t - mean:reshape(t:size(1), 1)
  local std = ((dev * dev):sum(2) / k):sqrt()
  return mean, std
end

local function scorer_of(fn, scoring)
  if type(scoring) == "table" then fail(fn .. ": scoring must be one name or function") end
  return cv.scorers(fn, scoring)[1][2]
end

local function check_estimator(fn, est)
  if type(est) ~= "table" or type(est.fit) ~= "function" or type(est.get_params) ~= "function" then
    fail(fmt("%s: expected an estimator (with fit and get_params), got %s", fn, ml.is_tensor(est) and "a tensor" or type(est)))
  end
end

-- scikit-learn's _translate_train_sizes: fractions of the largest training fold (floored, at least 1) or counts; sorted, unique.
local function absolute_sizes(fn, sizes, n_max)
  if ml.is_tensor(sizes) then sizes = sizes:tolist() end
  if type(sizes) ~= "table" or #sizes == 0 then fail(fmt("%s: train_sizes must be a non-empty list, got %s", fn, checks.show(sizes))) end
  local all_fractions = true
  for _, s in ipairs(sizes) do if math.type(s) == "integer" then all_fractions = false end end
  local out, seen = {}, {}
  for i, s in ipairs(sizes) do
    local k
    if all_fractions then
      if type(s) ~= "number" or s <= 0 or s > 1 then
        fail(fmt("%s: train_sizes[%d]=%s: fractions must be in (0, 1]", fn, i, checks.show(s)))
      end
      k = math.max(1, math.floor(s * n_max + 1e-9))
    else
      if math.type(s) ~= "integer" or s < 1 or s > n_max then
        fail(fmt("%s: train_sizes[%d]=%s: counts must be integers in [1, %d] (the largest training fold)", fn, i, checks.show(s), n_max))
      end
      k = s
    end
    if not seen[k] then seen[k] = true out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

local function collect(results, rows, k)
  local train, test = {}, {}
  for r = 1, rows do
    train[r], test[r] = {}, {}
    for f = 1, k do
      local x = results[(r - 1) * k + f]
      train[r][f], test[r][f] = x.train, x.test
    end
  end
  return ml.tensor(train, { dtype = "float64" }), ml.tensor(test, { dtype = "float64" })
end

local function summarize(out)
  out.train_mean, out.train_std = row_stats(out.train_scores)
  out.test_mean, out.test_std = row_stats(out.test_scores)
  return out
end

--- models.learning_curve(est, X, y, [{train_sizes = {0.1, 0.325, 0.55, 0.775, 1.0}, cv=5, scoring, shuffle=false,
--- random_state, groups, n_jobs}]) -> {train_sizes_abs, train_scores [sizes, folds], test_scores, train_mean/std, test_mean/std}
function M.learning_curve(est, X, y, opts)
  local fn = "models.learning_curve"
  check_estimator(fn, est)
  opts = checks.options(fn, opts, { "train_sizes", "cv", "scoring", "shuffle", "random_state", "groups", "n_jobs", "error_score" })
  local n = splitters.n_rows(fn, X)
  if y ~= nil and require("moonlab.core.labels").length(fn, y) ~= n then
    fail(fmt("%s: X has %d rows but y has %d values", fn, n, require("moonlab.core.labels").length(fn, y)))
  end
  local folds = splitters.check_cv(fn, opts.cv, cv.kind_of(est) == "classifier"):split(X, y, opts.groups)
  local shuffle = checks.boolean(fn, "shuffle", opts.shuffle, false)
  if shuffle then
    local state = ml.random_state()
    if opts.random_state ~= nil then ml.seed(checks.integer(fn, "random_state", opts.random_state)) end
    for i, f in ipairs(folds) do folds[i] = { train = f.train:index_select(1, ml.randperm(f.train:numel())), test = f.test } end
    if opts.random_state ~= nil then ml.set_random_state(state) end
  end
  local sizes = absolute_sizes(fn, opts.train_sizes or { 0.1, 0.325, 0.55, 0.775, 1.0 }, folds[1].train:numel())
  local score = scorer_of(fn, opts.scoring)
  local jobs = {}
  for _, s in ipairs(sizes) do
    for _, f in ipairs(folds) do jobs[#jobs + 1] = { train = f.train:narrow(1, 1, math.min(s, f.train:numel())), test = f.test } end
  end
  local results = cv.run_folds(fn, jobs, function(job)
    local Xtr, ytr = cv.take(X, job.train), cv.take(y, job.train)
    local e = base.clone(est):fit(Xtr, ytr)
    return { train = score(e, Xtr, ytr), test = score(e, cv.take(X, job.test), cv.take(y, job.test)) }
  end, opts.n_jobs, opts.error_score)
  for i, r in ipairs(results) do if r == false then results[i] = { train = opts.error_score, test = opts.error_score } end end
  local out = { train_sizes_abs = ml.tensor(sizes, { dtype = "int64" }), kind = "learning" }
  out.train_scores, out.test_scores = collect(results, #sizes, #folds)
  return summarize(out)
end

--- models.validation_curve(est, X, y, {param_name, param_range, [cv=5], [scoring], [groups], [n_jobs]})
--- -> {param_range, train_scores [values, folds], test_scores, train_mean/std, test_mean/std}
function M.validation_curve(est, X, y, opts)
  local fn = "models.validation_curve"
  check_estimator(fn, est)
  opts = checks.options(fn, opts, { "param_name", "param_range", "cv", "scoring", "groups", "n_jobs", "error_score" })
  local name = checks.string(fn, "param_name", opts.param_name)
  local range = opts.param_range
  if ml.is_tensor(range) then range = range:tolist() end
  if type(range) ~= "table" or #range == 0 then fail(fmt("%s: param_range must be a non-empty list of values, got %s", fn, checks.show(range))) end
  -- an unknown parameter fails here, before any fold runs
  base.clone(est):set_params { [name] = range[1] }
  local folds = splitters.check_cv(fn, opts.cv, cv.kind_of(est) == "classifier"):split(X, y, opts.groups)
  local score = scorer_of(fn, opts.scoring)
  local jobs = {}
  for _, v in ipairs(range) do
    for _, f in ipairs(folds) do jobs[#jobs + 1] = { value = v, train = f.train, test = f.test } end
  end
  local results = cv.run_folds(fn, jobs, function(job)
    local Xtr, ytr = cv.take(X, job.train), cv.take(y, job.train)
    local e = base.clone(est)
    e:set_params { [name] = job.value }
    e:fit(Xtr, ytr)
    return { train = score(e, Xtr, ytr), test = score(e, cv.take(X, job.test), cv.take(y, job.test)) }
  end, opts.n_jobs, opts.error_score)
  for i, r in ipairs(results) do if r == false then results[i] = { train = opts.error_score, test = opts.error_score } end end
  local out = { param_name = name, param_range = range, kind = "validation" }
  out.train_scores, out.test_scores = collect(results, #range, #folds)
  return summarize(out)
end

-- What the last rows say: a wide gap is variance (overfitting), low scores on both are bias.
local function diagnosis(r)
  local rows = r.train_mean:numel()
  local tr, te = r.train_mean[rows], r.test_mean[rows]
  local gap = tr - te
  local lines = {}
  if gap > 0.05 * math.max(math.abs(tr), 1e-12) then
    lines[#lines + 1] = fmt("train - validation gap %.3f at the last row: the model overfits (more data or more regularization may help)", gap)
  else
    lines[#lines + 1] = fmt("train and validation agree within %.3f: little overfitting", math.abs(gap))
  end
  if r.kind == "learning" and rows >= 2 then
    local rise = te - r.test_mean[rows - 1]
    if rise > r.test_std[rows] / 2 then lines[#lines + 1] = fmt("the validation score still rises (+%.3f): more data would likely help", rise)
    else lines[#lines + 1] = "the validation score has levelled off: more data alone would help little" end
  elseif r.kind == "validation" then
    local best, bi = -math.huge, 1
    for i = 1, rows do if r.test_mean[i] > best then best, bi = r.test_mean[i], i end end
    lines[#lines + 1] = fmt("best validation score %.4f at %s = %s", best, r.param_name, tostring(r.param_range[bi]))
  end
  return lines
end

--- models.print_curve(result, [{file = io.stdout}]) -> the printed text: a learning or validation curve as a table and a diagnosis
function M.print_curve(r, opts)
  local fn = "models.print_curve"
  opts = checks.options(fn, opts, { "file" })
  if type(r) ~= "table" or not ml.is_tensor(r.train_mean) then
    fail(fn .. ": expected the result of models.learning_curve or models.validation_curve")
  end
  local head = r.kind == "validation" and r.param_name or "train size"
  local lines = { fmt("%-14s %-18s %-18s %s", head, "train", "validation", "gap") }
  for i = 1, r.train_mean:numel() do
    local key = r.kind == "validation" and tostring(r.param_range[i]) or tostring(r.train_sizes_abs[i])
    local tr, te = r.train_mean[i], r.test_mean[i]
    lines[#lines + 1] = fmt("%-14s %.4f ± %.4f    %.4f ± %.4f    %+.4f", key, tr, r.train_std[i], te, r.test_std[i], tr - te)
  end
  for _, l in ipairs(diagnosis(r)) do lines[#lines + 1] = l end
  local text = table.concat(lines, "\n") .. "\n"
  local f = opts.file or io.stdout
  f:write(text)
  return text
end

do
  local doc = ml.doc
  doc(M.learning_curve, "models.learning_curve(est, X, y, [{train_sizes, cv=5, scoring, shuffle, random_state, groups, n_jobs}]) -> {train_sizes_abs, train_scores, test_scores, train_mean, train_std, test_mean, test_std} — scores against the training-set size")
  doc(M.validation_curve, "models.validation_curve(est, X, y, {param_name, param_range, [cv], [scoring], [groups], [n_jobs]}) -> {param_range, train_scores, test_scores, means, stds} — scores against one parameter")
  doc(M.print_curve, "models.print_curve(result, [{file}]) -> text — a learning or validation curve as a table, with an over/underfitting diagnosis")
end

return M
