--- callbacks.LearningRateScheduler: sets the learning rate each epoch (or batch)
-- from a function(epoch, lr) or a schedule of optim.lr.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.callbacks.base"

local fmt = string.format
local LearningRateScheduler = base.Callback:extend("LearningRateScheduler")
LearningRateScheduler.repr_fields = { "schedule", "monitor", "interval" }

local function is_plateau(s)
  local lr = ml.optim and ml.optim.lr
  return s and lr and lr.ReduceLROnPlateau and getmetatable(s) == lr.ReduceLROnPlateau
end

--- LearningRateScheduler(fn(epoch, lr) -> lr | schedule, [{monitor, interval="epoch"|"batch", verbose=false}]): sets the learning rate each epoch.
function LearningRateScheduler:init(s, o)
  local who = "LearningRateScheduler"
  o = checks.options(who, o, { "monitor", "interval", "verbose" }, true)
  if type(s) == "function" then self.fn = s
  elseif type(s) == "table" and type(s.step) == "function" then self.schedule = s
  else checks.fail(who .. ": expected a function(epoch, lr) -> lr or a schedule from optim.lr") end
  self.monitor = o.monitor
  if self.monitor ~= nil and type(self.monitor) ~= "string" then
    checks.fail(who .. ": monitor must be a log name such as \"val_loss\", got " .. type(self.monitor))
  end
  self.interval = o.interval or "epoch"
  if self.interval ~= "epoch" and self.interval ~= "batch" then checks.fail(who .. ": interval must be \"epoch\" or \"batch\"") end
  if self.interval == "batch" and not self.schedule then checks.fail(who .. ": interval \"batch\" needs a schedule object") end
  local plateau = is_plateau(self.schedule)
  if plateau and self.interval == "batch" then
    checks.fail(who .. ": a ReduceLROnPlateau schedule steps on a metric once per epoch; it cannot take interval \"batch\"")
  end
  if plateau and not self.monitor then
    checks.fail(who .. ": a ReduceLROnPlateau schedule steps on a metric: give {monitor = \"val_loss\"} " ..
      "(or use callbacks.ReduceLROnPlateau{...})")
  end
  if self.interval == "batch" then self.on_batch_end = function(me) me.schedule:step() end end
  self.verbose = o.verbose == true
end

function LearningRateScheduler:extra_repr()
  local s = base.Callback.extra_repr(self)
  if self.fn then s = "fn" .. (s ~= "" and ", " or "") .. s end
  return s
end

function LearningRateScheduler:on_epoch_begin(epoch)
  if not self.fn then return end
  for i, g in ipairs(base.param_groups(self)) do
    local lr = self.fn(epoch, g.lr)
    if type(lr) ~= "number" or lr ~= lr or lr < 0 then
      error(fmt("LearningRateScheduler: the function returned %s for epoch %d, expected a learning rate >= 0", tostring(lr), epoch), 0)
    end
    if i == 1 and lr ~= g.lr then self:say(fmt("LearningRateScheduler: epoch %d: lr %g", epoch, lr)) end
    g.lr = lr
  end
end

function LearningRateScheduler:on_epoch_end(epoch, logs)
  if not self.schedule or self.interval ~= "epoch" then return end
  if self.monitor then self.schedule:step(base.monitored(self, logs)) else self.schedule:step() end
end

function LearningRateScheduler:state_dict()
  if self.schedule and type(self.schedule.state_dict) == "function" then
    local st = self.schedule:state_dict()
    if type(st) == "table" and (st.meta ~= nil or st.tensors ~= nil) then return st end
    return { meta = st }
  end
end

local function load_schedule(self, st)
  if st.tensors and next(st.tensors) then self.schedule:load_state_dict(st) else self.schedule:load_state_dict(st.meta) end
end

--- lrs:validate_state(st) -> nil | message: loads st into the schedule on trial, then puts the schedule's state back
function LearningRateScheduler:validate_state(st)
  if type(st) ~= "table" then return "the state is a " .. type(st) .. ", expected a table" end
  if st.tensors ~= nil and type(st.tensors) ~= "table" then return "the state's tensors are not a table" end
  if not (self.schedule and type(self.schedule.load_state_dict) == "function") then return nil end
  local keep = self:state_dict()
  local ok, err = pcall(load_schedule, self, st)
  if keep ~= nil then pcall(load_schedule, self, keep) end
  if not ok then return "the schedule's state does not load: " .. tostring(err):gsub("^[^\n:]*:%d+: ", "") end
end

function LearningRateScheduler:load_state_dict(st)
  if self.schedule and type(self.schedule.load_state_dict) == "function" then checks.call(load_schedule, self, st) end
end

ml.doc(LearningRateScheduler, "callbacks.LearningRateScheduler(fn(epoch, lr) -> lr | schedule, [{monitor, interval=\"epoch\"|\"batch\", verbose=false}]) — sets the learning rate every epoch (or batch)")
ml.doc(LearningRateScheduler.init, "LearningRateScheduler:init(fn | schedule, [opts]) — the constructor (LearningRateScheduler(...) calls it)")
ml.doc(LearningRateScheduler.extra_repr, "lrs:extra_repr() -> string — the schedule (or fn), monitor and interval, for printing")
ml.doc(LearningRateScheduler.on_epoch_begin, "lrs:on_epoch_begin(epoch) — with a function, sets each group's lr to fn(epoch, lr)")
ml.doc(LearningRateScheduler.on_epoch_end, "lrs:on_epoch_end(epoch, logs) — with a schedule and interval \"epoch\", steps it (on logs[monitor] when monitor is set)")
ml.doc(LearningRateScheduler.state_dict, "lrs:state_dict() -> {meta, [tensors]} | nil — the schedule's state, for checkpoints")
ml.doc(LearningRateScheduler.validate_state, "lrs:validate_state(st) -> nil | message — whether a saved state loads into the schedule (tried, then undone)")
ml.doc(LearningRateScheduler.load_state_dict, "lrs:load_state_dict(st) — restores the schedule's state")

return LearningRateScheduler
