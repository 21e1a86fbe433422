--- search/pruners.lua: stopping unpromising trials early from their
-- intermediate values (Optuna's pruners).
--   search.MedianPruner{n_startup_trials = 5, n_warmup_steps = 0, interval_steps = 1, n_min_trials = 1}
--     prunes a trial whose best value so far is worse than the median of the
--     other finished trials' values at the same step.
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

local Nop = class.Object:extend("search.NopPruner", "search.NopPruner() — never prunes")
M.NopPruner = Nop
function Nop:init(opts) checks.options("search.NopPruner", opts, {}) end
function Nop:prune() return false end

ml.doc(Median.prune, "pruner:prune(study, trial) -> boolean — whether the trial should stop at its last reported step")

return M
