--- callbacks.EarlyStopping: stops fit when the monitored value stops improving.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local base = require "moonlab.callbacks.base"

local fmt = string.format
local EarlyStopping = base.Callback:extend("EarlyStopping")
EarlyStopping.stop_reason = "early_stopping"
EarlyStopping.repr_fields = { "monitor", "mode", "patience", "min_delta", "restore_best", "baseline" }

local OPTIONS = { "monitor", "mode", "patience", "min_delta", "restore_best", "baseline", "verbose" }

--- EarlyStopping{monitor="val_loss", mode="auto", patience=0, min_delta=0, restore_best=false, baseline, verbose=true}: stops when the monitored value stops improving.
function EarlyStopping:init(o)
  local who = "EarlyStopping"
  o = checks.options(who, o, OPTIONS, true)
  self.monitor, self.mode = base.monitor(who, o)
  self.patience = base.integer(who, "patience", o.patience or 0, 0)
  self.min_delta = math.abs(base.number(who, "min_delta", o.min_delta or 0))
  self.restore_best = o.restore_best and true or false
  self.baseline = o.baseline ~= nil and base.number(who, "baseline", o.baseline) or nil
  self.verbose = o.verbose ~= false
  self:reset()
end

function EarlyStopping:reset()
  self.best, self.best_epoch, self.wait, self.best_weights, self.stopped_epoch = self.baseline, nil, 0, nil, nil
end

-- Copies the model's weights into best_weights, reusing its tensors.
function EarlyStopping:keep_weights()
  local keep = self.best_weights or {}
  ml.no_grad(function()
    for name, t in pairs(self.model:state_dict()) do
      local b = keep[name]
      if b and b:dtype() == t:dtype() and format.shape(b) == format.shape(t) then b:copy_(t)
      else keep[name] = t:detach():clone() end
    end
  end)
  self.best_weights = keep
end

function EarlyStopping:on_epoch_end(epoch, logs)
  local v = base.monitored(self, logs)
  if base.improved(v, self.best, self.mode, self.min_delta) then
    self.best, self.best_epoch, self.wait = v, epoch, 0
    if self.restore_best then self:keep_weights() end
    return
  end
  self.wait = self.wait + 1
  if self.wait >= math.max(self.patience, 1) then
    self.stopped_epoch = epoch
    local best = self.best_epoch and fmt("best %s at epoch %d", format.number(self.best), self.best_epoch)
      or (self.baseline and fmt("baseline %s never beaten", format.number(self.baseline)) or "no valid value")
    return "stop", fmt("EarlyStopping: %s did not improve for %d epoch%s (%s); stopped at epoch %d",
      self.monitor, self.wait, self.wait == 1 and "" or "s", best, epoch)
  end
end

function EarlyStopping:on_train_end()
  if not (self.restore_best and self.best_weights) then return end
  self.model:load_state_dict(self.best_weights)
  local last = self.ctx and self.ctx.history.epochs
  local reason = self.ctx and self.ctx.stop_reason
  if self.best_epoch ~= last or reason == "nan" or reason == "interrupted" then
    self:say(fmt("EarlyStopping: restored the weights of epoch %d (%s %s)", self.best_epoch, self.monitor, format.number(self.best)))
  end
end

function EarlyStopping:state_dict()
  return {
    meta = { best = format.json_number(self.best), best_epoch = self.best_epoch, wait = self.wait },
    tensors = self.best_weights,
  }
end

--- es:validate_state(st) -> nil | message: whether st (from state_dict) loads into this callback
function EarlyStopping:validate_state(st)
  local msg = base.check_state(st, { best = "number", best_epoch = "integer>=1", wait = "integer>=0" })
  if msg or not (self.restore_best and st.tensors and next(st.tensors)) then return msg end
  local want = self.model and self.model:state_dict() or {}
  for name, t in pairs(st.tensors) do
    local w = want[name]
    if not ml.is_tensor(t) then return fmt("best weight '%s' is not a tensor", tostring(name)) end
    if self.model and not w then return fmt("best weight '%s' is not a weight of the model", tostring(name)) end
    if w and (format.shape(w) ~= format.shape(t) or w:dtype() ~= t:dtype()) then
      return fmt("best weight '%s' is %s %s, the model's is %s %s", name, t:dtype(), format.shape(t), w:dtype(), format.shape(w))
    end
  end
  for name in pairs(want) do
    if st.tensors[name] == nil then return fmt("the best weights lack '%s'", name) end
  end
end

function EarlyStopping:load_state_dict(st)
  local msg = self:validate_state(st)
  if msg then checks.fail("EarlyStopping:load_state_dict: " .. msg) end
  local m = st.meta or {}
  self.best, self.best_epoch, self.wait = format.number_from_json(m.best), m.best_epoch, m.wait or 0
  if self.restore_best and st.tensors and next(st.tensors) then self.best_weights = st.tensors end
end

ml.doc(EarlyStopping, "callbacks.EarlyStopping{monitor=\"val_loss\", mode=\"auto\", patience=0, min_delta=0, restore_best=false, baseline, verbose=true} — stops fit when the monitored value stops improving")
ml.doc(EarlyStopping.init, "EarlyStopping:init(opts) — the constructor (EarlyStopping{...} calls it)")
ml.doc(EarlyStopping.reset, "es:reset() — forgets the best value, epoch and weights (set_context calls it at each fit)")
ml.doc(EarlyStopping.keep_weights, "es:keep_weights() — copies the model's weights as the best ones (restore_best)")
ml.doc(EarlyStopping.on_epoch_end, "es:on_epoch_end(epoch, logs) -> nil | \"stop\", message — tracks the best monitored value (and weights, with restore_best); stops after patience epochs without improvement")
ml.doc(EarlyStopping.on_train_end, "es:on_train_end() — with restore_best, loads the best epoch's weights back into the model")
ml.doc(EarlyStopping.state_dict, "es:state_dict() -> {meta, tensors} — the best value and epoch, the wait and the best weights, for checkpoints")
ml.doc(EarlyStopping.validate_state, "es:validate_state(st) -> nil | message — whether a saved state loads into this callback (checked before a resumed fit changes anything)")
ml.doc(EarlyStopping.load_state_dict, "es:load_state_dict(st) — restores what state_dict() returned (a resumed fit); checks it all first")

return EarlyStopping
