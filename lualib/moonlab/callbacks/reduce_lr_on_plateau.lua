--- callbacks.ReduceLROnPlateau: lowers the learning rate when the monitored value stalls.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local base = require "moonlab.callbacks.base"

local fmt = string.format
local ReduceLROnPlateau = base.Callback:extend("ReduceLROnPlateau")
ReduceLROnPlateau.repr_fields = { "monitor", "mode", "factor", "patience", "min_delta", "cooldown", "min_lr" }

local OPTIONS = { "monitor", "mode", "factor", "patience", "min_delta", "cooldown", "min_lr", "verbose" }

--- ReduceLROnPlateau{monitor="val_loss", mode="auto", factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0, verbose=true}: lowers the learning rate when the monitored value stalls.
function ReduceLROnPlateau:init(o)
  local who = "ReduceLROnPlateau"
  o = checks.options(who, o, OPTIONS, true)
  self.monitor, self.mode = base.monitor(who, o)
  self.factor = base.number(who, "factor", o.factor or 0.1)
  if not (self.factor > 0 and self.factor < 1) then checks.fail(who .. ": factor must be in (0, 1)") end
  self.patience = base.integer(who, "patience", o.patience or 10, 0)
  self.min_delta = math.abs(base.number(who, "min_delta", o.min_delta or 1e-4))
  self.cooldown = base.integer(who, "cooldown", o.cooldown or 0, 0)
  self.min_lr = base.number(who, "min_lr", o.min_lr or 0)
  self.verbose = o.verbose ~= false
  self:reset()
end

function ReduceLROnPlateau:reset() self.best, self.wait, self.cooldown_left = nil, 0, 0 end

-- lr = max(lr * factor, min_lr) in every group; says so when the first group's rate fell.
function ReduceLROnPlateau:reduce(epoch)
  local old, new
  for i, g in ipairs(base.param_groups(self)) do
    local n = math.max(g.lr * self.factor, self.min_lr)
    if i == 1 then old, new = g.lr, n end
    g.lr = n
  end
  if old and new < old then
    self:say(fmt("ReduceLROnPlateau: epoch %d: %s stalled at %s; lr %g -> %g", epoch, self.monitor, format.number(self.best), old, new))
  end
end

function ReduceLROnPlateau:on_epoch_end(epoch, logs)
  local v = base.monitored(self, logs)
  if self.cooldown_left > 0 then self.cooldown_left = self.cooldown_left - 1; self.wait = 0 end
  if base.improved(v, self.best, self.mode, self.min_delta) then
    self.best, self.wait = v, 0
  elseif self.cooldown_left == 0 then
    self.wait = self.wait + 1
    if self.wait >= math.max(self.patience, 1) then
      self:reduce(epoch)
      self.cooldown_left, self.wait = self.cooldown, 0
    end
  end
end

function ReduceLROnPlateau:state_dict()
  return { meta = { best = format.json_number(self.best), wait = self.wait, cooldown_left = self.cooldown_left } }
end

--- plateau:validate_state(st) -> nil | message
function ReduceLROnPlateau:validate_state(st)
  return base.check_state(st, { best = "number", wait = "integer>=0", cooldown_left = "integer>=0" })
end

function ReduceLROnPlateau:load_state_dict(st)
  local msg = self:validate_state(st)
  if msg then checks.fail("ReduceLROnPlateau:load_state_dict: " .. msg) end
  local m = st.meta or {}
  self.best, self.wait, self.cooldown_left = format.number_from_json(m.best), m.wait or 0, m.cooldown_left or 0
end

ml.doc(ReduceLROnPlateau, "callbacks.ReduceLROnPlateau{monitor=\"val_loss\", mode=\"auto\", factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0, verbose=true} — lowers the learning rate when the monitored value stalls")
ml.doc(ReduceLROnPlateau.init, "ReduceLROnPlateau:init(opts) — the constructor (ReduceLROnPlateau{...} calls it)")
ml.doc(ReduceLROnPlateau.reset, "plateau:reset() — forgets the best value, the wait and the cooldown")
ml.doc(ReduceLROnPlateau.reduce, "plateau:reduce(epoch) — lr = max(lr * factor, min_lr) in every parameter group")
ml.doc(ReduceLROnPlateau.on_epoch_end, "plateau:on_epoch_end(epoch, logs) — after patience epochs without an improvement of min_delta, lr = max(lr * factor, min_lr), then cooldown epochs of rest")
ml.doc(ReduceLROnPlateau.state_dict, "plateau:state_dict() -> {meta} — the best value, the wait and the cooldown left")
ml.doc(ReduceLROnPlateau.validate_state, "plateau:validate_state(st) -> nil | message — whether a saved state loads (checked before a resumed fit changes anything)")
ml.doc(ReduceLROnPlateau.load_state_dict, "plateau:load_state_dict(st) — restores what state_dict() returned")

return ReduceLROnPlateau
