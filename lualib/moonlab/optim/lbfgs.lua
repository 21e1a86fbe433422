--- optim/lbfgs.lua: L-BFGS, one implementation used two ways.
--   optim.lbfgs_minimize(f_and_grad, x0, opts) -> x, info: a functional minimizer over a flat float64
--     tensor (the estimators' solver: LogisticRegression), stopping as scipy's L-BFGS-B does
--     (max |g| <= gtol, or a relative decrease of f below ftol).
--   optim.LBFGS(params, {lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size,
--     line_search_fn}): torch.optim.LBFGS for networks, opt:step(closure) with PyTorch's closure API.
-- Both take their direction from the two-loop recursion over the last m pairs (s, y) and their step
-- from the strong-Wolfe line search of PyTorch's _strong_wolfe (cubic interpolation and zoom, as in
-- Nocedal & Wright, Algorithms 3.5-3.6). Vectors are tensors: each step is a few whole-tensor ops.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Optimizer = require "moonlab.optim.optimizer"

local fail, fmt = checks.fail, string.format
local M = {}

local function dot(a, b) return a:dot(b):item() end
local function absmax(v) return v:numel() > 0 and v:abs():max():item() or 0 end

-- ---- the pieces -------------------------------------------------------------------------------

-- The minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), within bounds (or [x1, x2]).
local function cubic_interpolate(x1, f1, g1, x2, f2, g2, lo, hi)
  if lo == nil then lo, hi = math.min(x1, x2), math.max(x1, x2) end
  local d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
  local d2_square = d1 * d1 - g1 * g2
  if d2_square >= 0 then
    local d2 = math.sqrt(d2_square)
    local min_pos
    if x1 <= x2 then min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2)) end
    if min_pos ~= min_pos then return (lo + hi) / 2 end
    return math.min(math.max(min_pos, lo), hi)
  end
  return (lo + hi) / 2
end

--- lbfgs.strong_wolfe(obj, x, t, d, f, g, gtd, [opts]) -> f_new, g_new, t, evaluations: a step t along d
-- meeting the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9), obj(x, t, d) -> f, g at x + t d (PyTorch's _strong_wolfe)
function M.strong_wolfe(obj, x, t, d, f, g, gtd, opts)
  opts = opts or {}
  local c1, c2 = opts.c1 or 1e-4, opts.c2 or 0.9
  local tolerance_change, max_ls = opts.tolerance_change or 1e-9, opts.max_ls or 25
  local d_norm = absmax(d)
  local f_new, g_new = obj(x, t, d)
  local evals, gtd_new = 1, dot(g_new, d)
  local t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
  local done, ls_iter = false, 0
  local bracket, bf, bg, bgtd
  while ls_iter < max_ls do
    if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev) then
      bracket, bf, bg, bgtd = { t_prev, t }, { f_prev, f_new }, { g_prev, g_new }, { gtd_prev, gtd_new }
      break
    end
    if math.abs(gtd_new) <= -c2 * gtd then
      bracket, bf, bg, done = { t }, { f_new }, { g_new }, true
      break
    end
    if gtd_new >= 0 then
      bracket, bf, bg, bgtd = { t_prev, t }, { f_prev, f_new }, { g_prev, g_new }, { gtd_prev, gtd_new }
      break
    end
    -- extrapolate within [t + 0.01 (t - t_prev), 10 t]
    local min_step, max_step, tmp = t + 0.01 * (t - t_prev), t * 10, t
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, min_step, max_step)
    t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
    f_new, g_new = obj(x, t, d)
    evals, gtd_new, ls_iter = evals + 1, dot(g_new, d), ls_iter + 1
  end
  if ls_iter == max_ls then bracket, bf, bg = { 0, t }, { f, f_new }, { g, g_new } end
  -- zoom: shrink the bracket until a point meets the conditions
  local insuf_progress = false
  local low, high = 1, 2
  if bf[#bf] < bf[1] then low, high = 2, 1 end
  while not done and ls_iter < max_ls do
    if math.abs(bracket[2] - bracket[1]) * d_norm < tolerance_change then break end
    t = cubic_interpolate(bracket[1], bf[1], bgtd[1], bracket[2], bf[2], bgtd[2])
    local bmax, bmin = math.max(bracket[1], bracket[2]), math.min(bracket[1], bracket[2])
    local eps = 0.1 * (bmax - bmin)
    if math.min(bmax - t, t - bmin) < eps then
      -- too close to an end: move away from it, unless the last step already had this trouble
      if insuf_progress or t >= bmax or t <= bmin then
        if math.abs(t - bmax) < math.abs(t - bmin) then t = bmax - eps else t = bmin + eps end
        insuf_progress = false
      else
        insuf_progress = true
      end
    else
      insuf_progress = false
    end
    f_new, g_new = obj(x, t, d)
    evals, gtd_new, ls_iter = evals + 1, dot(g_new, d), ls_iter + 1
    if f_new > f + c1 * t * gtd or f_new >= bf[low] then
      bracket[high], bf[high], bg[high], bgtd[high] = t, f_new, g_new, gtd_new
      if bf[1] <= bf[2] then low, high = 1, 2 else low, high = 2, 1 end
    else
      if math.abs(gtd_new) <= -c2 * gtd then
        done = true
      elseif gtd_new * (bracket[high] - bracket[low]) >= 0 then
        bracket[high], bf[high], bg[high], bgtd[high] = bracket[low], bf[low], bg[low], bgtd[low]
      end
      bracket[low], bf[low], bg[low], bgtd[low] = t, f_new, g_new, gtd_new
    end
  end
  return bf[low], bg[low], bracket[low], evals
end

-- The history of (s, y) pairs and the two-loop recursion.
local History = {}
History.__index = History

local function new_history(m) return setmetatable({ m = m, s = {}, y = {}, rho = {}, H_diag = 1 }, History) end

-- Adds the pair when its curvature y's is positive (else the update is skipped, as PyTorch and scipy).
function History:push(s, y)
  local ys = dot(y, s)
  if ys <= 1e-10 then return false end
  if #self.s == self.m then
    table.remove(self.s, 1); table.remove(self.y, 1); table.remove(self.rho, 1)
  end
  self.s[#self.s + 1], self.y[#self.y + 1], self.rho[#self.rho + 1] = s, y, 1 / ys
  self.H_diag = ys / dot(y, y)
  return true
end

-- d = -H g: the two-loop recursion with H0 = H_diag I.
function History:direction(g)
  local n, al = #self.s, {}
  local q = g:neg()
  for i = n, 1, -1 do
    al[i] = dot(self.s[i], q) * self.rho[i]
    q:add_(self.y[i], -al[i])
  end
  local r = q:mul(self.H_diag)
  for i = 1, n do
    local be = dot(self.y[i], r) * self.rho[i]
    r:add_(self.s[i], al[i] - be)
  end
  return r
end

-- ---- the functional minimizer -----------------------------------------------------------------

local MIN_OPTS = { "max_iter", "history_size", "gtol", "ftol", "max_ls", "max_eval" }

--- optim.lbfgs_minimize(f_and_grad, x0, [opts]) -> x, info: minimizes f from x0 (a 1-D float tensor)
-- f_and_grad(x) -> f (number), g (tensor like x). opts: max_iter (100), history_size (10), gtol (1e-5:
-- stop when max |g| <= gtol), ftol (2.2e-9: stop when (f_prev - f) / max(|f_prev|, |f|, 1) <= ftol),
-- max_ls (20), max_eval (15000). info = {f, grad, n_iter, n_eval, converged, message}
function M.lbfgs_minimize(f_and_grad, x0, opts)
  local fn = "optim.lbfgs_minimize"
  checks.func(fn, "f_and_grad", f_and_grad)
  if not ml.is_tensor(x0) or x0:dim() ~= 1 then fail(fmt("%s: x0 must be a 1-D tensor, got %s", fn, ml.is_tensor(x0) and (x0:dim() .. "-D") or type(x0))) end
  opts = checks.options(fn, opts, MIN_OPTS)
  local max_iter = checks.integer(fn, "max_iter", opts.max_iter or 100, 0)
  local hist = new_history(checks.integer(fn, "history_size", opts.history_size or 10, 1))
  local gtol = checks.number(fn, "gtol", opts.gtol or 1e-5, 0)
  local ftol = checks.number(fn, "ftol", opts.ftol or 2.220446049250313e-09, 0)
  local max_ls = checks.integer(fn, "max_ls", opts.max_ls or 20, 1)
  local max_eval = checks.integer(fn, "max_eval", opts.max_eval or 15000, 1)
  local function evaluate(x)
    local f, g = f_and_grad(x)
    if type(f) ~= "number" or not ml.is_tensor(g) or g:numel() ~= x:numel() then
      fail(fmt("%s: f_and_grad must return a number and a gradient tensor of %d values", fn, x:numel()))
    end
    return f, g
  end
  local x = x0:clone()
  local f, g = evaluate(x)
  local info = { n_iter = 0, n_eval = 1, converged = false, message = "max_iter reached" }
  local function obj(xb, t, d) return evaluate(xb:clone():add_(d, t)) end
  if f ~= f then fail(fn .. ": f is NaN at x0") end
  if absmax(g) <= gtol then
    info.converged, info.message = true, "the gradient is below gtol"
  end
  while not info.converged and info.n_iter < max_iter do
    local d = hist:direction(g)
    local gtd = dot(g, d)
    if gtd >= 0 then -- not a descent direction (curvature lost): restart from steepest descent
      hist = new_history(hist.m)
      d, gtd = g:neg(), -dot(g, g)
    end
    -- the first step moves by 1 (scipy's L-BFGS-B start: 1 / |d|), and its sufficient decrease is c1 = 1e-3
    local t = info.n_iter == 0 and math.min(1, 1 / math.sqrt(dot(d, d))) or 1
    local f_new, g_new, step, evals = M.strong_wolfe(obj, x, t, d, f, g, gtd, { max_ls = max_ls, c1 = 1e-3 })
    info.n_eval = info.n_eval + evals
    info.n_iter = info.n_iter + 1
    if f_new > f or f_new ~= f_new then info.message = "the line search found no decrease" break end
    local s = d:mul(step)
    x:add_(s)
    hist:push(s, g_new:sub(g))
    local f_prev = f
    f, g = f_new, g_new
    if absmax(g) <= gtol then
      info.converged, info.message = true, "the gradient is below gtol"
    elseif (f_prev - f) / math.max(math.abs(f_prev), math.abs(f), 1) <= ftol then
      info.converged, info.message = true, "the relative decrease of f is below ftol"
    elseif info.n_eval >= max_eval then
      info.message = "max_eval reached" break
    end
  end
  info.f, info.grad = f, g
  return x, info
end

-- ---- optim.LBFGS: torch.optim.LBFGS ----------------------------------------------------------

local LBFGS = Optimizer:extend("optim.LBFGS", {
  doc = "optim.LBFGS(params, [{lr=1, max_iter=20, max_eval=max_iter*5/4, tolerance_grad=1e-7, tolerance_change=1e-9, "
    .. "history_size=100, line_search_fn=nil|'strong_wolfe'}]) — L-BFGS as torch.optim.LBFGS: opt:step(closure), "
    .. "the closure zeroes the gradients, computes the loss, calls backward and returns the loss",
  options = { { "lr", 1 }, { "max_iter", 20 }, { "max_eval", false }, { "tolerance_grad", 1e-7 },
    { "tolerance_change", 1e-9 }, { "history_size", 100 }, { "line_search_fn", false } },
  check = function(g, where)
    local H = Optimizer._helpers
    H.number(g.lr, "lr", where, 0, nil, true)
    H.integer(g.max_iter, "max_iter", where, 1)
    if g.max_eval ~= false and g.max_eval ~= nil then H.integer(g.max_eval, "max_eval", where, 1) end
    H.number(g.tolerance_grad, "tolerance_grad", where, 0)
    H.number(g.tolerance_change, "tolerance_change", where, 0)
    H.integer(g.history_size, "history_size", where, 1)
    if g.line_search_fn ~= false and g.line_search_fn ~= nil and g.line_search_fn ~= "strong_wolfe" then
      fail(fmt("%s: line_search_fn must be nil or 'strong_wolfe', got %s", where, checks.show(g.line_search_fn)))
    end
  end,
})

function LBFGS:update()
  fail("optim.LBFGS: steps with opt:step(closure) (it re-evaluates the loss), not per parameter")
end

-- The one flat block of parameters and of their gradients (PyTorch's LBFGS takes one group).
function LBFGS:_flat()
  if #self.param_groups ~= 1 then fail("optim.LBFGS: doesn't support per-parameter options (parameter groups)") end
  local flats = self._flats[1]
  if #flats ~= 1 then fail("optim.LBFGS: the parameters must share one dtype (float32 or float64), got several") end
  local flat = flats[1].flat
  return flat:param(), flat:grad(), flat
end

-- The gradient block after a closure, as a new tensor: backward's grads gathered into it
-- (flat:sync), and zeros for the parameters that got none (PyTorch's _gather_flat_grad).
local function gather_grad(flat, G)
  local with = flat:sync()
  local g = G:clone()
  if with < flat:count() then
    local has, off = flat:has_grad(), flat:offsets()
    for i, h in ipairs(has) do
      local stop = off[i + 1] or G:numel()
      if not h and stop > off[i] then g:narrow(1, off[i] + 1, stop - off[i]):zero_() end
    end
  end
  return g
end

--- opt:step(closure) -> the loss of the closure's first evaluation (torch.optim.LBFGS.step)
function LBFGS:step(closure)
  local fn = "optim.LBFGS:step"
  if type(closure) ~= "function" then fail(fmt("%s: expected a closure (zero the gradients, compute the loss, call backward, return the loss), got %s", fn, type(closure))) end
  local group = self.param_groups[1]
  local lr, max_iter = group.lr, group.max_iter
  local max_eval = group.max_eval or (max_iter * 5 // 4)
  local tol_grad, tol_change = group.tolerance_grad, group.tolerance_change
  local P, G, flat = self:_flat()
  local st = rawget(self, "_lbfgs")
  if not st then st = { func_evals = 0, n_iter = 0 }; rawset(self, "_lbfgs", st) end
  local function evaluate()
    local loss = ml.enable_grad(closure)
    local v = ml.is_tensor(loss) and loss:item() or loss
    if type(v) ~= "number" then fail(fmt("%s: the closure must return the loss (a tensor or a number), got %s", fn, type(loss))) end
    return loss, v, gather_grad(flat, G)
  end
  local orig_loss, loss, g = evaluate()
  local current_evals = 1
  st.func_evals = st.func_evals + 1
  if absmax(g) <= tol_grad then return orig_loss end
  local d, t, hist, prev_g, prev_loss = st.d, st.t, st.hist, st.prev_g, st.prev_loss
  local n_iter = 0
  ml.no_grad(function()
    while n_iter < max_iter do
      n_iter = n_iter + 1
      st.n_iter = st.n_iter + 1
      if st.n_iter == 1 then
        d, hist = g:neg(), new_history(group.history_size)
      else
        hist:push(d:mul(t), g:sub(prev_g))
        d = hist:direction(g)
      end
      prev_g, prev_loss = g, loss
      t = st.n_iter == 1 and math.min(1, 1 / g:abs():sum():item()) * lr or lr
      local gtd = dot(g, d)
      if gtd > -tol_change then break end
      local ls_evals = 0
      if group.line_search_fn == "strong_wolfe" then
        local x0 = P:clone()
        local function obj(x, step, dir)
          P:add_(dir, step)
          local _, v, gg = evaluate()
          P:copy_(x)
          return v, gg
        end
        loss, g, t, ls_evals = M.strong_wolfe(obj, x0, t, d, loss, g, gtd, { tolerance_change = tol_change })
        P:add_(d, t)
      else
        P:add_(d, t)
        if n_iter ~= max_iter then
          local _
          _, loss, g = evaluate()
          ls_evals = 1
        end
      end
      current_evals = current_evals + ls_evals
      st.func_evals = st.func_evals + ls_evals
      if n_iter == max_iter or current_evals >= max_eval then break end
      if absmax(g) <= tol_grad then break end
      if absmax(d) * math.abs(t) <= tol_change then break end
      if math.abs(loss - prev_loss) < tol_change then break end
    end
  end)
  st.d, st.t, st.hist, st.prev_g, st.prev_loss = d, t, hist, prev_g, prev_loss
  return orig_loss
end
M.LBFGS = LBFGS

ml.doc(M.lbfgs_minimize, "optim.lbfgs_minimize(f_and_grad, x0, [{max_iter=100, history_size=10, gtol=1e-5, ftol=2.2e-9, max_ls=20, max_eval}]) -> x, info — "
  .. "L-BFGS with a strong-Wolfe line search over a flat tensor; f_and_grad(x) -> f, g; info = {f, grad, n_iter, n_eval, converged, message}")
ml.doc(M.strong_wolfe, "optim.strong_wolfe(obj, x, t, d, f, g, gtd, [{c1, c2, tolerance_change, max_ls}]) -> f, g, t, evals — "
  .. "the strong-Wolfe line search of L-BFGS (obj(x, t, d) -> f, g at x + t d)")
ml.doc(LBFGS.step, "opt:step(closure) -> loss — up to max_iter L-BFGS iterations, re-evaluating closure (zero grads, loss, backward, return loss)")
ml.doc(LBFGS.update, "opt:update() — not used: optim.LBFGS steps with opt:step(closure)")

return M
