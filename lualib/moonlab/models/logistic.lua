--- models/logistic.lua: LogisticRegression, as scikit-learn's.
-- The objective is scikit-learn's: sum_i s_i loss_i + (1 / C) penalty(W), s_i the
-- sample weight times the class weight, the intercepts unpenalized; loss_i the
-- binomial (two classes, or one-vs-rest) or multinomial log loss. One C call
-- (ml._linear.logistic_loss_grad: two matrix products) gives the loss and its
-- gradient at each evaluation.
-- Solvers: "lbfgs" (penalty "l2" or "none"; optim.lbfgs_minimize, stopping as
-- scipy's L-BFGS-B: max |gradient| <= tol), and "proximal" (every penalty; "saga"
-- is accepted as its name): accelerated proximal gradient (FISTA with
-- backtracking and adaptive restart), the L1 part applied by soft-thresholding,
-- stopping when the largest change of a weight is below tol times the largest
-- weight (scikit-learn's saga rule).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"
local base = require "moonlab.models.base"
local H = require "moonlab.models.linear_helpers"
local lbfgs = require "moonlab.optim.lbfgs"

local K = ml._linear
local fail, fmt = checks.fail, string.format
local M = {}

local LogisticRegression = base.define("models.LogisticRegression",
  "models.LogisticRegression([{penalty='l2'|'l1'|'elasticnet'|'none', C=1, l1_ratio, fit_intercept=true, max_iter=100, "
  .. "tol=1e-4, multi_class='auto'|'multinomial'|'ovr', class_weight=nil|'balanced'|{[label]=w}, solver='lbfgs'|'proximal', "
  .. "random_state}]) — logistic regression on scikit-learn's objective; binary and multinomial; fitted: coef_ [K or 1, d], "
  .. "intercept_, classes_, n_iter_",
  { { "penalty", "l2" }, { "C", 1.0 }, { "l1_ratio", nil }, { "fit_intercept", true }, { "max_iter", 100 },
    { "tol", 1e-4 }, { "multi_class", "auto" }, { "class_weight", nil }, { "solver", "lbfgs" },
    { "random_state", nil } })
LogisticRegression.KIND = "classifier"

function LogisticRegression:_check(fn)
  checks.one_of(fn, "penalty", self.penalty, { "l2", "l1", "elasticnet", "none" })
  H.check_positive(fn, "C", self.C)
  checks.boolean(fn, "fit_intercept", self.fit_intercept)
  checks.integer(fn, "max_iter", self.max_iter, 1)
  H.check_positive(fn, "tol", self.tol, true)
  checks.one_of(fn, "multi_class", self.multi_class, { "auto", "multinomial", "ovr" })
  checks.one_of(fn, "solver", self.solver, { "lbfgs", "proximal", "saga" })
  if self.penalty == "elasticnet" then
    if self.l1_ratio == nil then fail(fn .. ": penalty 'elasticnet' needs l1_ratio (a number in [0, 1])") end
    checks.number(fn, "l1_ratio", self.l1_ratio, 0, 1)
  end
  if self.solver == "lbfgs" and (self.penalty == "l1" or self.penalty == "elasticnet") then
    fail(fmt("%s: solver 'lbfgs' supports only the 'l2' and 'none' penalties, got '%s'; use solver = 'proximal'", fn, self.penalty))
  end
  local cw = self.class_weight
  if cw ~= nil and cw ~= "balanced" and type(cw) ~= "table" then
    fail(fmt("%s: class_weight must be nil, 'balanced' or a table {[label] = weight}, got %s", fn, tostring(cw)))
  end
  if self.random_state ~= nil then checks.integer(fn, "random_state", self.random_state, 0) end
end

-- The weight of each class [K] (1 each without class_weight), as scikit-learn's compute_class_weight.
local function class_weights(self, fn, codes, K)
  local cw = self.class_weight
  if cw == nil then return nil end
  local counts = H.class_counts(codes, K)
  if cw == "balanced" then return ml.div(codes:numel() / K, counts) end
  local w = {}
  for k, label in ipairs(self.classes_) do
    local v = cw[label]
    if v == nil and type(label) == "number" then v = cw[math.tointeger(label) or label] end
    if v == nil then v = 1 end
    w[k] = checks.number(fn, "class_weight[" .. tostring(label) .. "]", v, 0)
  end
  for label in pairs(cw) do
    local known = false
    for _, c in ipairs(self.classes_) do known = known or c == label end
    if not known then fail(fmt("%s: class_weight names the label %s, which is not one of y's classes", fn, labels.show(label))) end
  end
  return ml.tensor(w, { dtype = "float64" })
end

-- The per-sample weights s_i: sample_weight times class weight (nil when both are 1).
local function row_weights(self, fn, codes, K, sw)
  local cw = class_weights(self, fn, codes, K)
  if cw then
    local per = cw:index_select(1, codes)
    sw = sw and sw:mul(per) or per
  end
  return sw and sw:contiguous() or nil
end

-- The penalty terms: l2 (of 1/C) for the smooth part, l1 for the proximal part.
local function penalties(self)
  local inv = 1 / self.C
  if self.penalty == "none" then return 0, 0 end
  if self.penalty == "l2" then return inv, 0 end
  if self.penalty == "l1" then return 0, inv end
  return inv * (1 - self.l1_ratio), inv * self.l1_ratio
end

-- ---- the solvers: minimize over W [rows, d + b] -----------------------------------------------

local function lbfgs_solve(self, fn, X, codes, sw, rows, positive, l2)
  local b = self.fit_intercept and 1 or 0
  local shape = { rows, X:size(2) + b }
  local function f_and_grad(w)
    local loss, grad = H.call(fn, K.logistic_loss_grad, w:view(shape[1], shape[2]), X, codes, sw, self.fit_intercept, positive, l2)
    return loss, grad:view(-1)
  end
  local w, info = lbfgs.lbfgs_minimize(f_and_grad, ml.zeros(shape[1] * shape[2], { dtype = "float64" }),
    { max_iter = self.max_iter, gtol = self.tol, history_size = 10 })
  return w:view(shape[1], shape[2]), info.n_iter
end

-- soft-thresholding of the penalized entries (mask 1) by tau
local function prox(v, tau_mask)
  return v:sign():mul(v:abs():sub(tau_mask):clamp(0, math.huge))
end

local function proximal_solve(self, fn, X, codes, sw, rows, positive, l2, l1)
  local b, d = self.fit_intercept and 1 or 0, X:size(2)
  local mask = ml.ones(rows, d + b, { dtype = "float64" })
  if b == 1 then mask:narrow(2, d + 1, 1):zero_() end
  local function f(w) return H.call(fn, K.logistic_loss_grad, w, X, codes, sw, self.fit_intercept, positive, l2) end
  local function objective(w, fw) return fw + l1 * w:mul(mask):abs():sum():item() end
  -- a start for the Lipschitz constant of the gradient: 0.25 max |x|^2 summed over the rows (binomial curvature)
  local L = math.max(1e-8, 0.25 * X:pow(2):sum():item() / math.max(1, X:size(1)) + l2)
  local x = ml.zeros(rows, d + b, { dtype = "float64" })
  local fx = f(x)
  local Fx = objective(x, fx)
  local yv, tk, it = x, 1, 0
  while it < self.max_iter do
    it = it + 1
    local fy, gy = f(yv)
    local xn, fxn
    for _ = 1, 60 do -- backtracking: L grows until the quadratic model bounds f
      xn = prox(yv:sub(gy:div(L)), mask:mul(l1 / L))
      fxn = f(xn)
      local diff = xn:sub(yv)
      if fxn <= fy + gy:mul(diff):sum():item() + 0.5 * L * diff:pow(2):sum():item() + 1e-12 * math.abs(fy) then break end
      L = L * 2
    end
    local Fn = objective(xn, fxn)
    local change, wmax = xn:sub(x):abs():max():item(), xn:abs():max():item()
    if Fn > Fx then
      -- a plain proximal step from x (no momentum) that does not decrease F: F is flat to rounding here
      if tk == 1 then break end
      yv, tk = x, 1 -- adaptive restart (O'Donoghue & Candes): momentum lost its way
    else
      local tn = (1 + math.sqrt(1 + 4 * tk * tk)) / 2
      yv = xn:add(xn:sub(x):mul((tk - 1) / tn))
      x, fx, Fx, tk = xn, fxn, Fn, tn
      L = L / 1.5 -- let the step grow back
      if change <= self.tol * math.max(wmax, 1e-12) then break end
    end
  end
  return x, it
end

-- ---- fit --------------------------------------------------------------------------------------

function LogisticRegression:_fit(X, codes, fn, opts)
  X = H.dense(fn, X)
  local K_ = self.n_classes_
  if K_ < 2 then
    fail(fmt("%s: y holds a single class (%s); a classifier needs at least two", fn, tostring(self.classes_[1])))
  end
  local sw = row_weights(self, fn, codes, K_, opts.sample_weight)
  local l2, l1 = penalties(self)
  local solver = self.solver == "lbfgs" and lbfgs_solve or proximal_solve
  local multi = self.multi_class
  if multi == "auto" then multi = K_ == 2 and "ovr" or "multinomial" end
  local d = X:size(2)
  local W, iters
  if K_ == 2 and multi == "multinomial" then
    -- scikit-learn: the two-class softmax, of which coef_ keeps the second row (predict_proba = sigmoid(2 z))
    W, iters = solver(self, fn, X, codes, sw, 2, 0, l2, l1)
    W = W:narrow(1, 2, 1):contiguous()
    iters = { iters }
  elseif K_ == 2 then
    W, iters = solver(self, fn, X, codes, sw, 1, 2, l2, l1)
    iters = { iters }
  elseif multi == "multinomial" then
    W, iters = solver(self, fn, X, codes, sw, K_, 0, l2, l1)
    iters = { iters }
  else -- one-vs-rest: one binary problem per class
    local rows = {}
    iters = {}
    for k = 1, K_ do rows[k], iters[k] = solver(self, fn, X, codes, sw, 1, k, l2, l1) end
    W = ml.cat(rows, 1)
  end
  self.coef_ = W:narrow(2, 1, d):contiguous()
  self.intercept_ = self.fit_intercept and W:narrow(2, d + 1, 1):contiguous():view(-1) or ml.zeros(W:size(1), { dtype = "float64" })
  self.n_iter_ = ml.tensor(iters, { dtype = "int64" })
  self.multi_class_ = multi
end

-- ---- predictions ------------------------------------------------------------------------------

function LogisticRegression:_decision_function(X, fn)
  local Z = ml.matmul(H.dense(fn, X), self.coef_:t()):add(self.intercept_)
  if Z:size(2) == 1 then return Z:view(-1):contiguous() end
  return Z
end

function LogisticRegression:_predict_proba(X, fn)
  local Z = self:_decision_function(X, fn)
  if Z:dim() == 1 then
    if self.multi_class_ == "multinomial" then Z = Z:mul(2) end
    local p = Z:sigmoid():view(-1, 1)
    return ml.cat({ ml.sub(1, p), p }, 2)
  end
  if self.multi_class_ == "multinomial" then return Z:softmax(2) end
  local P = Z:sigmoid()
  return P:div(P:sum(2, true))
end

function LogisticRegression:_predict(X, fn)
  local Z = self:_decision_function(X, fn)
  if Z:dim() == 1 then return Z:gt(0):to("int64"):add(1) end
  return Z:argmax(2)
end

--- est:predict_log_proba(X) -> float64 [n, K]: the log of predict_proba
function LogisticRegression:predict_log_proba(X)
  return self:predict_proba(X):log()
end
ml.doc(LogisticRegression.predict_log_proba, "est:predict_log_proba(X) -> float64 [n, K] — log of the class probabilities")

M.LogisticRegression = LogisticRegression
return M
