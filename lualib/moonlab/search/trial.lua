--- search/trial.lua: the trial context an objective receives —
-- trial.number, trial.params, trial.seed, trial:report(step, value),
-- trial:should_prune(), trial:prune() — and the one current trial that fit
-- reports to (search.current_trial()).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local M = {}

local Trial = {}
Trial.__index = Trial
M.Trial = Trial

-- The error an objective raises to stop a pruned trial (trial:prune()); search.run records it as pruned.
local Pruned = setmetatable({}, { __tostring = function() return "search: trial pruned" end })
M.Pruned = Pruned

--- search.is_pruned(err) -> whether err is the error of a pruned trial
function M.is_pruned(err)
  return err == Pruned or (type(err) == "table" and err.pruned == true)
end

local current = nil

--- trial.new(number, params, seed, study) -> a trial context
function M.new(number, params, seed, study)
  return setmetatable({ number = number, params = params, seed = seed, intermediate = {}, steps = {}, _study = study },
    Trial)
end

--- trial:report(step, value): an intermediate value (the epoch's validation metric) for the pruner
function Trial:report(step, value)
  local fn = "trial:report"
  checks.integer(fn, "step", step)
  if type(value) ~= "number" then fail(fmt("%s: value must be a number, got %s", fn, type(value))) end
  if self.intermediate[step] == nil then self.steps[#self.steps + 1] = step end
  self.intermediate[step] = value
end

--- trial:should_prune() -> whether the search's pruner would stop this trial now
function Trial:should_prune()
  local study = self._study
  if not study or not study.pruner or #self.steps == 0 then return false end
  return study.pruner:prune(study, self) and true or false
end

--- trial:prune(): stops the trial as pruned (raises the search's pruned error)
function Trial:prune()
  error(Pruned, 0)
end

--- search.current_trial() -> the trial whose objective is running, or nil
function M.current() return current end
function M._set_current(t) current = t end

do
  local doc = ml.doc
  doc(Trial.report, "trial:report(step, value) — an intermediate value (an epoch's validation score) for the pruner")
  doc(Trial.should_prune, "trial:should_prune() -> boolean — whether the pruner would stop this trial now")
  doc(Trial.prune, "trial:prune() — stops the trial as pruned (if trial:should_prune() then trial:prune() end)")
  doc(M.current, "search.current_trial() -> trial | nil — the trial whose objective is running (fit reports to it)")
  doc(M.is_pruned, "search.is_pruned(err) -> boolean — whether an error is a pruned trial's")
end

return M
