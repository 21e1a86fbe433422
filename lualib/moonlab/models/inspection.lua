--- models/inspection.lua: model inspection, scikit-learn's sklearn.inspection.
--   models.permutation_importance(est, X, y, {scoring, n_repeats = 5, random_state})
--     -> {importances_mean [d], importances_std [d], importances [d, n_repeats]}
-- How much the score drops when one column's values are shuffled (the rows of
-- the others kept): a model-agnostic importance measured on the data given,
-- which, unlike the trees' impurity importances, does not favour columns
-- with many distinct values.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local FN = "models.permutation_importance"

-- The scorer: est:score for nil, ml.metrics.get_scorer(name) for a name, or a function(est, X, y).
local function scorer(scoring)
  if scoring == nil then return function(est, X, y) return est:score(X, y) end end
  if type(scoring) == "function" then return scoring end
  if type(scoring) ~= "string" then fail(fmt("%s: scoring must be nil, a scorer name or a function(est, X, y), got %s", FN, checks.show(scoring))) end
  local metrics = require "moonlab.metrics"
  if type(metrics.get_scorer) ~= "function" then fail(fmt("%s: scoring '%s' needs ml.metrics.get_scorer, which this build lacks", FN, scoring)) end
  return metrics.get_scorer(scoring)
end

-- Runs f() on the stream of seed, then puts the global stream back (nil: the global stream).
local function with_seed(seed, f)
  if seed == nil then return f() end
  local saved = ml.random_state()
  ml.seed(seed)
  local res = table.pack(pcall(f))
  ml.set_random_state(saved)
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- X with column j replaced by col [n].
local function with_column(X, j, col)
  local Xp = X:clone()
  Xp:narrow(2, j, 1):copy_(col:reshape(col:size(1), 1))
  return Xp
end

--- models.permutation_importance(est, X, y, [opts]) -> {importances_mean, importances_std, importances}
local function permutation_importance(est, X, y, opts)
  opts = checks.options(FN, opts, { "scoring", "n_repeats", "random_state" })
  if type(est) ~= "table" or type(est.predict) ~= "function" then
    fail(fmt("%s: expected a fitted estimator, got %s", FN, checks.show(est)))
  end
  local frame = require("moonlab.prep.base").is_frame(X)
  if not frame and (not ml.is_tensor(X) or X:dim() ~= 2) then
    fail(fmt("%s: X must be a 2-D tensor [rows, features] or a data frame, got %s", FN,
      ml.is_tensor(X) and (X:dim() .. "-D tensor") or checks.show(X)))
  end
  local n_repeats = checks.integer(FN, "n_repeats", opts.n_repeats or 5, 1)
  if opts.random_state ~= nil then checks.integer(FN, "random_state", opts.random_state, 0) end
  local score = scorer(opts.scoring)
  local n, d
  if frame then n, d = #X, #X._names else n, d = X:size(1), X:size(2) end
  if n < 2 then fail(fmt("%s: X has %d row; shuffling needs at least 2", FN, n)) end
  local baseline = score(est, X, y)
  local drops = ml.zeros(d, n_repeats, { dtype = "float64" })
  with_seed(opts.random_state, function()
    for j = 1, d do
      local col = frame and X:column(X._names[j]) or X:select(2, j)
      for r = 1, n_repeats do
        local perm = ml.randperm(n)
        local shuffled = frame and X:with_column(X._names[j], col:take(perm)) or with_column(X, j, col:index_select(1, perm))
        drops[j][r] = baseline - score(est, shuffled, y)
      end
    end
  end)
  local mean = drops:mean(2)
  local std = drops:sub(mean:reshape(d, 1)):pow(2):mean(2):sqrt() -- population std, as numpy's default
  return { importances_mean = mean, importances_std = std, importances = drops }
end

ml.doc(permutation_importance, "models.permutation_importance(est, X, y, [{scoring, n_repeats=5, random_state}]) -> "
  .. "{importances_mean, importances_std, importances} — the score's drop when each column is shuffled (sklearn.inspection)")

return { permutation_importance = permutation_importance }
