--- search/pruners.lua: stopping unpromising trials early from their
-- intermediate values (Optuna's pruners).
--   search.MedianPruner{n_startup_trials = 5, n_warmup_steps = 0, interval_steps = 1, n_min_trials = 1}
--     prunes a trial whose best value so far is worse than the median of the
--     other finished trials' values at the same step.
--   search.SuccessiveHalvingPruner{min_resource = 1, reduction_factor = 3, min_early_stopping_rate = 0}
--     asynchronous successive halving (ASHA, Li et al. 2018): at the rungs
--     min_resource * eta^k steps a trial goes on only when its value is among
--     the best 1/eta of the values all trials had at that rung.
--   search.HyperbandPruner{min_resource = 1, max_resource = 81, reduction_factor = 3}
--     Hyperband (Li et al. 2017): several successive-halving brackets, from
--     aggressive to none; a trial belongs to one bracket (by its number) and
--     competes only with the trials of its bracket.
--   search.NopPruner() never prunes.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"

local M = {}

local Median = class.Object:extend("search.MedianPruner",
  "search.MedianPruner([{n_startup_trials=5, n_warmup_steps=0, interval_steps=1, n_min_trials=1}]) — prunes a trial "
  .. "whose best intermediate value is worse than the median of the finished trials at the same step")
M.MedianPruner = Median

function Median:init(opts)
  local fn = "search.MedianPruner"
  opts = checks.options(fn, opts, { "n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials" })
  self.n_startup_trials = opts.n_startup_trials ~= nil and checks.integer(fn, "n_startup_trials", opts.n_startup_trials, 0) or 5
  self.n_warmup_steps = opts.n_warmup_steps ~= nil and checks.integer(fn, "n_warmup_steps", opts.n_warmup_steps, 0) or 0
  self.interval_steps = opts.interval_steps ~= nil and checks.integer(fn, "interval_steps", opts.interval_steps, 1) or 1
  self.n_min_trials = opts.n_min_trials ~= nil and checks.integer(fn, "n_min_trials", opts.n_min_trials, 1) or 1
end

--- pruner:prune(study, trial) -> whether trial should stop at its last reported step
function Median:prune(study, trial)
  local step = trial.steps[#trial.steps]
  if step == nil or step < self.n_warmup_steps then return false end
  if (step - self.n_warmup_steps) % self.interval_steps ~= 0 then return false end
  local finished = {}
  for _, t in ipairs(study.trials) do
    if t.state == "complete" then finished[#finished + 1] = t end
  end
  if #finished < self.n_startup_trials then return false end
  local maximize = study.direction == "maximize"
  local others = {}
  for _, t in ipairs(finished) do
    local v = t.intermediate and t.intermediate[step]
    if v ~= nil and v == v then others[#others + 1] = v end
  end
  if #others < self.n_min_trials then return false end
  table.sort(others)
  local m = #others % 2 == 1 and others[(#others + 1) // 2] or 0.5 * (others[#others // 2] + others[#others // 2 + 1])
  local best
  for _, s in ipairs(trial.steps) do
    if s <= step then
      local v = trial.intermediate[s]
      if v == v and (best == nil or (maximize and v > best) or (not maximize and v < best)) then best = v end
    end
  end
  if best == nil then return true end -- only NaN so far
  if maximize then return best < m end
  return best > m
end

-- the trial's value at its last reported step, if that step is a rung of (min_resource, eta, rate)
local function rung_of(step, min_r, eta, rate)
  local k = 0
  while true do
    local at = min_r * eta ^ (k + rate)
    if at > step then return nil end
    if at == step then return k end
    k = k + 1
  end
end

local function better(maximize, a, b) if maximize then return a > b end return a < b end

-- ASHA's rule: promotable when among the best max(1, n // eta) of the values at this step
local function promotable(study, trial, step, eta, same_group)
  local maximize = study.direction == "maximize"
  local mine = trial.intermediate[step]
  if mine ~= mine then return false end
  local vals = {}
  for _, t in ipairs(study.trials) do
    if t ~= trial and (not same_group or same_group(t)) then
      local v = t.intermediate and t.intermediate[step]
      if v ~= nil and v == v then vals[#vals + 1] = v end
    end
  end
  vals[#vals + 1] = mine
  table.sort(vals, function(a, b) return better(maximize, a, b) end)
  local k = math.max(1, #vals // eta)
  return not better(maximize, vals[k], mine) -- mine is at least as good as the k-th best
end

local SH = class.Object:extend("search.SuccessiveHalvingPruner",
  "search.SuccessiveHalvingPruner([{min_resource=1, reduction_factor=3, min_early_stopping_rate=0}]) — asynchronous "
  .. "successive halving: at steps min_resource * eta^k only the best 1/eta of the trials go on")
M.SuccessiveHalvingPruner = SH

function SH:init(opts)
  local fn = "search.SuccessiveHalvingPruner"
  opts = checks.options(fn, opts, { "min_resource", "reduction_factor", "min_early_stopping_rate" })
  self.min_resource = opts.min_resource ~= nil and checks.integer(fn, "min_resource", opts.min_resource, 1) or 1
  self.reduction_factor = opts.reduction_factor ~= nil and checks.integer(fn, "reduction_factor", opts.reduction_factor, 2) or 3
  self.min_early_stopping_rate = opts.min_early_stopping_rate ~= nil
    and checks.integer(fn, "min_early_stopping_rate", opts.min_early_stopping_rate, 0) or 0
end

function SH:prune(study, trial)
  local step = trial.steps[#trial.steps]
  if step == nil then return false end
  if rung_of(step, self.min_resource, self.reduction_factor, self.min_early_stopping_rate) == nil then return false end
  return not promotable(study, trial, step, self.reduction_factor, self._group and function(t) return self._group(t) == self._group(trial) end)
end

local HB = class.Object:extend("search.HyperbandPruner",
  "search.HyperbandPruner([{min_resource=1, max_resource=81, reduction_factor=3}]) — Hyperband: successive-halving "
  .. "brackets of different aggressiveness, each trial in one bracket")
M.HyperbandPruner = HB

function HB:init(opts)
  local fn = "search.HyperbandPruner"
  opts = checks.options(fn, opts, { "min_resource", "max_resource", "reduction_factor" })
  self.min_resource = opts.min_resource ~= nil and checks.integer(fn, "min_resource", opts.min_resource, 1) or 1
  self.max_resource = opts.max_resource ~= nil and checks.integer(fn, "max_resource", opts.max_resource, 1) or 81
  self.reduction_factor = opts.reduction_factor ~= nil and checks.integer(fn, "reduction_factor", opts.reduction_factor, 2) or 3
  if self.max_resource < self.min_resource then
    checks.fail(string.format("%s: max_resource (%d) is below min_resource (%d)", fn, self.max_resource, self.min_resource))
  end
  local eta = self.reduction_factor
  self.n_brackets = math.floor(math.log(self.max_resource / self.min_resource) / math.log(eta) + 1e-9) + 1
  self.brackets = {}
  for b = 1, self.n_brackets do
    local sh = SH { min_resource = self.min_resource, reduction_factor = eta, min_early_stopping_rate = b - 1 }
    sh._group = function(t) return self:bracket(t) end
    self.brackets[b] = sh
  end
end

--- pruner:bracket(trial) -> the bracket (1..n) of a trial: by its number, in turn
function HB:bracket(trial) return (trial.number - 1) % self.n_brackets + 1 end

function HB:prune(study, trial)
  return self.brackets[self:bracket(trial)]:prune(study, trial)
end

local Nop = class.Object:extend("search.NopPruner", "search.NopPruner() — never prunes")
M.NopPruner = Nop
function Nop:init(opts) checks.options("search.NopPruner", opts, {}) end
function Nop:prune() return false end

ml.doc(SH.prune, "pruner:prune(study, trial) -> boolean — whether the trial is outside the best 1/eta at its rung")
ml.doc(HB.prune, "pruner:prune(study, trial) -> boolean — successive halving within the trial's bracket")
ml.doc(HB.bracket, "pruner:bracket(trial) -> k — the Hyperband bracket of a trial")
ml.doc(Median.prune, "pruner:prune(study, trial) -> boolean — whether the trial should stop at its last reported step")

return M
