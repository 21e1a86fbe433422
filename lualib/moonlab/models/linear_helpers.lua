--- models/linear_helpers.lua: what the linear estimators share (linear.lua,
-- coordinate_descent.lua, logistic.lua): float64 input without NaN, the
-- (weighted) centering of X and y behind fit_intercept, the sqrt(weight)
-- rescaling of rows, and the seed of a random_state option. Not a public part
-- of ml.models (the index does not list it).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local H = {}

--- H.dense(fn, X) -> X as a contiguous float64 [n, d] tensor; an error when it holds NaN or infinity
function H.dense(fn, X)
  X = X:to("float64"):contiguous()
  if X:isnan():sum():item() > 0 then
    fail(fn .. ": X holds NaN; expected finite numbers (impute missing values first, e.g. with prep.SimpleImputer)")
  end
  if X:isinf():sum():item() > 0 then fail(fn .. ": X holds infinite values; expected finite numbers") end
  return X
end

--- H.as2d(y) -> y as [n, t] and whether it came 1-D
function H.as2d(y)
  if y:dim() == 1 then return y:view(-1, 1), true end
  return y, false
end

--- H.center(X, Y, sw, fit_intercept) -> Xc, Yc, x_offset [d], y_offset [t]: X and Y less their
-- (sample-weighted) column means, or as they are (zero offsets) without an intercept
function H.center(X, Y, sw, fit_intercept)
  local d, t = X:size(2), Y:size(2)
  if not fit_intercept then
    return X, Y, ml.zeros(d, { dtype = "float64" }), ml.zeros(t, { dtype = "float64" })
  end
  local xo, yo
  if sw then
    local w = sw:view(-1, 1)
    local total = sw:sum():item()
    xo, yo = X:mul(w):sum(1):div(total), Y:mul(w):sum(1):div(total)
  else
    xo, yo = X:mean(1), Y:mean(1)
  end
  return X:sub(xo):contiguous(), Y:sub(yo):contiguous(), xo, yo
end

--- H.rescale(M, sw) -> each row of M times sqrt(sw[row]) (scikit-learn's _rescale_data), or M without weights
function H.rescale(M, sw)
  if not sw then return M end
  return M:mul(sw:sqrt():view(-1, 1)):contiguous()
end

--- H.seed(fn, random_state) -> an integer seed: random_state, or one drawn from ml's generator when nil
function H.seed(fn, random_state)
  if random_state == nil then return ml.randint(0, 2147483647, { 1 }):item() end
  return checks.integer(fn, "random_state", random_state, 0)
end

--- H.linear_predict(X, coef, intercept) -> X coef' + intercept: [n] for coef [d], [n, t] for coef [t, d]
function H.linear_predict(X, coef, intercept)
  if coef:dim() == 1 then
    return ml.matmul(X, coef:view(-1, 1)):view(-1):add(intercept)
  end
  return ml.matmul(X, coef:t()):add(intercept)
end

--- H.check_positive(fn, what, v, [allow_zero]) -> v: a number > 0 (>= 0 with allow_zero)
function H.check_positive(fn, what, v, allow_zero)
  checks.number(fn, what, v)
  if v < 0 or (v == 0 and not allow_zero) then
    fail(fmt("%s: %s must be %s, got %s", fn, what, allow_zero and ">= 0" or "> 0", tostring(v)))
  end
  return v
end

--- H.class_counts(codes, K, [w]) -> float64 [K]: how many rows (or how much weight w [n]) each class code 1..K has
function H.class_counts(codes, K, w)
  w = w or ml.ones(codes:numel(), { dtype = "float64" })
  return ml.zeros(K, { dtype = "float64" }):scatter_add(1, codes, w)
end

--- H.one_hot(codes, K, [w]) -> float64 [n, K]: row i holds w[i] (or 1) in column codes[i]
function H.one_hot(codes, K, w)
  local n = codes:numel()
  w = w and w:view(-1, 1) or ml.ones(n, 1, { dtype = "float64" })
  return ml.zeros(n, K, { dtype = "float64" }):scatter_add(2, codes:view(-1, 1), w)
end

--- H.call(fn, f, ...) -> f(...); a kernel's error is re-raised under fn (the public name) at the user's line
function H.call(fn, f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] then fail(fn .. ": " .. tostring(r[2]):gsub("^.-ml%._%w+%.%w+: ", "")) end
  return table.unpack(r, 2, r.n)
end

return H
