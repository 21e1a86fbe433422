--- optim.lr: learning-rate schedules, as torch.optim.lr_scheduler.
--
--   local sched = optim.lr.CosineAnnealingLR(opt, {T_max = 100})
--   for epoch = 1, 100 do train_one_epoch(); sched:step() end
--
-- Each schedule computes PyTorch's values with PyTorch's formulas (the
-- recursive "chainable" forms that step() uses, and the closed forms where
-- SequentialLR asks for them), in the same order of operations, so the
-- learning rates agree with torch step by step to the last bit or so.
-- Making a schedule sets each group's lr to its value at step 0 and records
-- group.initial_lr (once), as PyTorch does; sched:step() moves one step;
-- sched:get_last_lr() is the array of group lrs it set last.
-- state_dict()/load_state_dict() hold plain, JSON-able tables (infinities
-- are written as the strings "inf"/"-inf").
--
-- Warm-up: optim.lr.Warmup(opt, {warmup_steps = 5, after = sched}) rises
-- linearly from start_factor * lr (default 1/warmup_steps) to lr over
-- warmup_steps steps, then hands over to `after` (made before the Warmup,
-- on the same optimizer), which starts from its own step 0: exactly
-- SequentialLR{LinearLR(start_factor, 1, warmup_steps), after} with the
-- milestone warmup_steps.
local ml = require "moonlab"
local Optimizer = require "moonlab.optim.optimizer"
local H = Optimizer._helpers

local lr = {}

local doc = ml.doc
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

-- Errors are raised at the user's line (core/checks finds it).
local function raise(msg) return checks.fail(msg) end

local function check_optimizer(opt, where)
  if type(opt) ~= "table" or type(opt.param_groups) ~= "table" then
    raise(where .. ": argument #1 must be an optimizer (optim.SGD, optim.Adam ...), got " ..
      (ml.is_tensor(opt) and "a tensor" or type(opt)))
  end
end

-- JSON-able copies (infinities and NaN as strings, functions and objects dropped), and back.
local encode, decode = format.to_json, format.from_json

-- bisect.bisect_right: how many of the sorted values a are <= x
local function bisect_right(a, x)
  local n = 0
  for _, v in ipairs(a) do if v <= x then n = n + 1 end end
  return n
end

---------------------------------------------------------------------------
-- the base: PyTorch's _LRScheduler
---------------------------------------------------------------------------
local Scheduler = class.Object:extend("optim.lr.Scheduler")
lr.Scheduler = Scheduler

-- fields that state_dict leaves out (besides functions and objects)
local PRIVATE = { optimizer = true, _lambdas = true, _schedulers = true }

-- A schedule class: Scheduler:extend("optim.lr." .. name), with its option list.
local function schedule(name, options, required)
  local cls = Scheduler:extend("optim.lr." .. name)
  cls.class_name = name
  cls.option_list = options
  cls.required = required or {}
  return cls
end

-- Reads and checks the options table; returns it (never nil).
local function options(cls, opts)
  opts = checks.options(cls.__name, opts, cls.option_list)
  for _, k in ipairs(cls.required) do
    if opts[k] == nil then raise(cls.__name .. ": option '" .. k .. "' is required") end
  end
  return opts
end

-- PyTorch's _LRScheduler.__init__ with last_epoch = -1.
function Scheduler:_base_init(opt)
  self.optimizer = opt
  self.base_lrs = {}
  for i, g in ipairs(opt.param_groups) do
    if g.initial_lr == nil then g.initial_lr = g.lr end
    self.base_lrs[i] = g.initial_lr
  end
  self.last_epoch = -1
  self:_initial_step()
end

function Scheduler:_initial_step()
  self._step_count = 0
  self:step()
end

function Scheduler:_set_lrs(values)
  local groups = self.optimizer.param_groups
  self._last_lr = {}
  for i, g in ipairs(groups) do
    g.lr = values[i]
    self._last_lr[i] = values[i]
  end
end

-- step(): one step along the chainable form. _step_to(epoch): PyTorch's
-- step(epoch), the closed form where there is one (SequentialLR uses it).
function Scheduler:step()
  self._step_count = self._step_count + 1
  self.last_epoch = self.last_epoch + 1
  self:_set_lrs(self:get_lr())
end

function Scheduler:_step_to(epoch)
  self._step_count = self._step_count + 1
  self.last_epoch = epoch
  self:_set_lrs(self.closed_form and self:closed_form() or self:get_lr())
end

--- sched:get_last_lr() -> {lr of group 1, ...} as set by the last step
function Scheduler:get_last_lr()
  local out = {}
  for i, v in ipairs(self._last_lr or {}) do out[i] = v end
  return out
end

-- the current lrs of the groups
function Scheduler:_group_lrs()
  local out = {}
  for i, g in ipairs(self.optimizer.param_groups) do out[i] = g.lr end
  return out
end

--- sched:state_dict() -> a plain table (JSON-able) of the schedule's state
function Scheduler:state_dict()
  local sd = { class = getmetatable(self).class_name }
  for k, v in pairs(self) do
    if not PRIVATE[k] and type(v) ~= "function" then
      local e = encode(v)
      if e ~= nil then sd[k] = e end
    end
  end
  return sd
end

--- sched:load_state_dict(sd): restores what state_dict() returned
function Scheduler:load_state_dict(sd)
  local cls = getmetatable(self)
  local where = cls.__name .. ":load_state_dict"
  if type(sd) ~= "table" then raise(where .. ": expected a table from state_dict(), got " .. type(sd)) end
  if sd.class == nil then
    raise(string.format("%s: the state names no schedule class (expected {class = '%s', ...} from %s:state_dict())", where,
      cls.class_name, cls.__name))
  end
  if sd.class ~= cls.class_name then
    raise(string.format("%s: the state is from optim.lr.%s, not %s", where, tostring(sd.class), cls.__name))
  end
  if sd.base_lrs ~= nil and (type(sd.base_lrs) ~= "table" or #sd.base_lrs ~= #self.optimizer.param_groups) then
    raise(string.format("%s: the state has %s learning rates, the optimizer has %d parameter groups", where,
      type(sd.base_lrs) == "table" and #sd.base_lrs or "no", #self.optimizer.param_groups))
  end
  -- each value has the kind of the one it replaces (the counters are integers), checked before any is set
  local new = {}
  for k, v in pairs(sd) do
    if k ~= "class" and not PRIVATE[k] and type(self[k]) ~= "function" then
      local d = decode(v)
      local old = self[k]
      if (k == "last_epoch" or k == "_step_count") and math.type(d) ~= "integer" then
        raise(string.format("%s: '%s' is %s, expected an integer", where, tostring(k), checks.show(d)))
      end
      if old ~= nil and d ~= nil and type(d) ~= type(old) then
        raise(string.format("%s: '%s' is %s, expected a %s", where, tostring(k), checks.show(d), type(old)))
      end
      new[k] = d
    end
  end
  for k, d in pairs(new) do self[k] = d end
  return self
end

function Scheduler:__tostring()
  local parts = {}
  for _, k in ipairs(getmetatable(self).option_list) do
    local v = self[k]
    if v ~= nil and type(v) ~= "function" and not (type(v) == "table" and getmetatable(v)) then
      parts[#parts + 1] = k .. "=" .. H.fmt(v)
    end
  end
  return string.format("%s(%s) at step %s, lr %s", getmetatable(self).__name, table.concat(parts, ", "),
    tostring(self.last_epoch), H.fmt(self._last_lr or {}))
end

---------------------------------------------------------------------------
-- the schedules
---------------------------------------------------------------------------

--- StepLR: lr * gamma every step_size steps
local StepLR = schedule("StepLR", { "step_size", "gamma" }, { "step_size" })
function StepLR.new(cls, opt, opts)
  check_optimizer(opt, cls.__name, 3)
  opts = options(cls, opts, 3)
  local self = setmetatable({}, cls)
  self.step_size = H.integer(opts.step_size, "step_size", cls.__name, 1)
  self.gamma = H.number(opts.gamma or 0.1, "gamma", cls.__name, nil, nil, false, false)
  self:_base_init(opt)
  return self
end
function StepLR:get_lr()
  if self.last_epoch == 0 or self.last_epoch % self.step_size ~= 0 then return self:_group_lrs() end
  local out = {}
  for i, g in ipairs(self.optimizer.param_groups) do out[i] = g.lr * self.gamma end
  return out
end
function StepLR:closed_form()
  local out = {}
  for i, b in ipairs(self.base_lrs) do out[i] = b * self.gamma ^ (self.last_epoch // self.step_size) end
  return out
end
lr.StepLR = doc(StepLR, "optim.lr.StepLR(opt, {step_size, gamma=0.1}) — multiplies lr by gamma every step_size steps")

--- MultiStepLR: lr * gamma at each milestone
local MultiStepLR = schedule("MultiStepLR", { "milestones", "gamma" }, { "milestones" })
function MultiStepLR.new(cls, opt, opts)
  check_optimizer(opt, cls.__name, 3)
  opts = options(cls, opts, 3)
  local self = setmetatable({}, cls)
  if type(opts.milestones) ~= "table" then
    raise(cls.__name .. ": milestones must be an array of step numbers, got " .. type(opts.milestones))
  end
  self.milestones = {}
  for i, m in ipairs(opts.milestones) do self.milestones[i] = H.integer(m, "milestones[" .. i .. "]", cls.__name, 0) end
  table.sort(self.milestones)
  self.gamma = H.number(opts.gamma or 0.1, "gamma", cls.__name, nil, nil, false, false)
  self:_base_init(opt)
  return self
end
function MultiStepLR:get_lr()
  local count = 0 -- collections.Counter: a repeated milestone multiplies by gamma once per repeat
  for _, m in ipairs(self.milestones) do if m == self.last_epoch then count = count + 1 end end
  if count == 0 then return self:_group_lrs() end
  local out = {}
  for i, g in ipairs(self.optimizer.param_groups) do out[i] = g.lr * self.gamma ^ count end
  return out
end
function MultiStepLR:closed_form()
  local out = {}
  local k = bisect_right(self.milestones, self.last_epoch)
  for i, b in ipairs(self.base_lrs) do out[i] = b * self.gamma ^ k end
  return out
end
lr.MultiStepLR = doc(MultiStepLR, "optim.lr.MultiStepLR(opt, {milestones, gamma=0.1}) — multiplies lr by gamma at each milestone step")

--- ConstantLR: lr * factor until total_iters, then lr
local ConstantLR = schedule("ConstantLR", { "factor", "total_iters" })
function ConstantLR.new(cls, opt, opts)
  check_optimizer(opt, cls.__name, 3)
  opts = options(cls, opts, 3)
  local self = setmetatable({}, cls)
  self.factor = H.number(opts.factor or 1.0 / 3, "factor", cls.__name, 0, 1, false, false)
  self.total_iters = H.integer(opts.total_iters or 5, "total_iters", cls.__name, 0)
  self:_base_init(opt)
  return self
end
function ConstantLR:get_lr()
  local out = {}
  for i, g in ipairs(self.optimizer.param_groups) do
    if self.last_epoch == 0 then out[i] = g.lr * self.factor
    elseif self.last_epoch ~= self.total_iters then out[i] = g.lr
    else out[i] = g.lr * (1.0 / self.factor) end
  end
  return out
end
function ConstantLR:closed_form()
  local out = {}
  for i, b in ipairs(self.base_lrs) do
    out[i] = b * (self.factor + (self.last_epoch >= self.total_iters and 1 or 0) * (1 - self.factor))
  end
  return out
end
lr.ConstantLR = doc(ConstantLR, "optim.lr.ConstantLR(opt, {factor=1/3, total_iters=5}) — lr * factor for total_iters steps, then lr")

--- LinearLR: the factor goes linearly from start_factor to end_factor over total_iters steps
local LinearLR = schedule("LinearLR", { "start_factor", "end_factor", "total_iters" })
function LinearLR.new(cls, opt, opts)
  check_optimizer(opt, cls.__name, 3)
  opts = options(cls, opts, 3)
  local self = setmetatable({}, cls)
  self.start_factor = H.number(opts.start_factor or 1.0 / 3, "start_factor", cls.__name, 0, 1, true, false)
  self.end_factor = H.number(opts.end_factor or 1.0, "end_factor", cls.__name, 0, 1, false, false)
  self.total_iters = H.integer(opts.total_iters or 5, "total_iters", cls.__name, 1)
  self:_base_init(opt)
  return self
end
function LinearLR:get_lr()
  if self.last_epoch == 0 then
    local out = {}
    for i, g in ipairs(self.optimizer.param_groups) do out[i] = g.lr * self.start_factor end
    return out
  end
  if self.last_epoch > self.total_iters then return self:_group_lrs() end
  local out = {}
  for i, g in ipairs(self.optimizer.param_groups) do
    out[i] = g.lr * (1. + (self.end_factor - self.start_factor) /
      (self.total_iters * self.start_factor + (self.last_epoch - 1) * (self.end_factor - self.start_factor)))
  end
  return out
end
function LinearLR:closed_form()
  local out = {}
  for i, b in ipairs(self.base_lrs) do
    out[i] = b * (self.start_factor + (self.end_factor - self.start_factor) * math.min(self.total_iters, self.last_epoch) /
      self.total_iters)
  end
  return out
end
lr.LinearLR = doc(LinearLR, "optim.lr.LinearLR(opt, {start_factor=1/3, end_factor=1, total_iters=5}) — lr * a factor that moves linearly from start_factor to end_factor")

--- ExponentialLR: lr * gamma every step
local ExponentialLR = schedule("ExponentialLR", { "gamma" }, { "gamma" })
function ExponentialLR.new(cls, opt, opts)
  check_optimizer(opt, cls.__name, 3)
  opts = options(cls, opts, 3)
  local self = setmetatable({}, cls)
  self.gamma = H.number(opts.gamma, "gamma", cls.__name, nil, nil, false, false)
  self:_base_init(opt)
  return self
end
function ExponentialLR:get_lr()
  if self.last_epoch == 0 then return self:_group_lrs() end
  local out = {}
  for i, g in ipairs(self.optimizer.param_groups) do out[i] = g.lr * self.gamma end
  return out
end
function ExponentialLR:closed_form()
  local out = {}
  for i, b in ipairs(self.base_lrs) do out[i] = b * self.gamma ^ self.last_epoch end
  return out
end
lr.ExponentialLR = doc(ExponentialLR, "optim.lr.ExponentialLR(opt, {gamma}) — multiplies lr by gamma every step")

--- CosineAnnealingLR: half a cosine from lr down to eta_min over T_max steps (then back up, as PyTorch)
local CosineAnnealingLR = schedule("CosineAnnealingLR", { "T_max", "eta_min" }, { "T_max" })
function CosineAnnealingLR.new(cls, opt, opts)
  check_optimizer(opt, cls.__name, 3)
  opts = options(cls, opts, 3)
  local self = setmetatable({}, cls)
  self.T_max = H.integer(opts.T_max, "T_max", cls.__name, 1)
  self.eta_min = H.number(opts.eta_min or 0, "eta_min", cls.__name, 0, nil, false, false)
  self:_base_init(opt)
  return self
end
function CosineAnnealingLR:get_lr()
  local e, T, eta = self.last_epoch, self.T_max, self.eta_min
  local out = {}
  if e == 0 then return self:_group_lrs() end
  for i, g in ipairs(self.optimizer.param_groups) do
    local base = self.base_lrs[i]
    if self._step_count == 1 and e > 0 then
      out[i] = eta + (base - eta) * (1 + math.cos(e * math.pi / T)) / 2
    elseif (e - 1 - T) % (2 * T) == 0 then
      out[i] = g.lr + (base - eta) * (1 - math.cos(math.pi / T)) / 2
    else
      out[i] = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (g.lr - eta) + eta
    end
  end
  return out
end
function CosineAnnealingLR:closed_form()
  local out = {}
  for i, b in ipairs(self.base_lrs) do
    out[i] = self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
  end
  return out
end
lr.CosineAnnealingLR = doc(CosineAnnealingLR, "optim.lr.CosineAnnealingLR(opt, {T_max, eta_min=0}) — cosine from lr to eta_min over T_max steps")

--- LambdaLR: base lr * lr_lambda(step) (a function, or one per group)
local LambdaLR = schedule("LambdaLR", { "lr_lambda" }, { "lr_lambda" })
function LambdaLR.new(cls, opt, opts)
  check_optimizer(opt, cls.__name, 3)
  opts = options(cls, opts, 3)
  local self = setmetatable({}, cls)
  local f = opts.lr_lambda
  local fs = {}
  if type(f) == "function" then
    for i = 1, #opt.param_groups do fs[i] = f end
  elseif type(f) == "table" and #f == #opt.param_groups then
    for i, x in ipairs(f) do
      if type(x) ~= "function" then raise(cls.__name .. ": lr_lambda[" .. i .. "] must be a function") end
      fs[i] = x
    end
  else
    raise(string.format("%s: lr_lambda must be a function or %d functions (one per group), got %s", cls.__name,
      #opt.param_groups, type(f) == "table" and (#f .. " values") or type(f)))
  end
  self._lambdas = fs
  self:_base_init(opt)
  return self
end
function LambdaLR:get_lr()
  local out = {}
  for i, b in ipairs(self.base_lrs) do out[i] = b * self._lambdas[i](self.last_epoch) end
  return out
end
lr.LambdaLR = doc(LambdaLR, "optim.lr.LambdaLR(opt, {lr_lambda = function(step) -> factor | one per group}) — lr = initial lr * lr_lambda(step)")

--- SequentialLR: runs schedulers one after the other, switching at the milestones
local SequentialLR = schedule("SequentialLR", { "schedulers", "milestones" }, { "schedulers", "milestones" })
function SequentialLR.new(cls, opt, opts)
  check_optimizer(opt, cls.__name)
  opts = options(cls, opts)
  local scheds, ms = opts.schedulers, opts.milestones
  if type(scheds) ~= "table" or #scheds == 0 then
    raise(cls.__name .. ": schedulers must be a non-empty array of schedules")
  end
  for i, s in ipairs(scheds) do
    if type(s) ~= "table" or getmetatable(s) == nil or s.optimizer ~= opt then
      raise(string.format("%s: schedulers[%d] is not a schedule of this optimizer", cls.__name, i))
    end
    if getmetatable(s) == lr.ReduceLROnPlateau then
      raise(cls.__name .. ": ReduceLROnPlateau cannot run inside a SequentialLR (it steps on a metric)")
    end
  end
  if type(ms) ~= "table" or #ms ~= #scheds - 1 then
    raise(string.format("%s: %d schedules need %d milestones, got %s", cls.__name, #scheds, #scheds - 1,
      type(ms) == "table" and #ms or type(ms)))
  end
  local self = setmetatable({}, cls)
  self._schedulers = scheds
  self._milestones = {}
  for i, m in ipairs(ms) do
    self._milestones[i] = H.integer(m, "milestones[" .. i .. "]", cls.__name, 1)
    if i > 1 and self._milestones[i] <= self._milestones[i - 1] then
      raise(cls.__name .. ": milestones must increase")
    end
  end
  self.optimizer = opt
  self.last_epoch = 0
  for _, g in ipairs(opt.param_groups) do g.lr = g.initial_lr end
  for _, s in ipairs(scheds) do s.last_epoch = s.last_epoch - 1 end
  scheds[1]:_initial_step()
  self._last_lr = scheds[1]:get_last_lr()
  return self
end
function SequentialLR:step()
  self.last_epoch = self.last_epoch + 1
  local idx = bisect_right(self._milestones, self.last_epoch)
  local s = self._schedulers[idx + 1]
  if idx > 0 and self._milestones[idx] == self.last_epoch then s:_step_to(0) else s:step() end
  self._last_lr = s:get_last_lr()
end
function SequentialLR:state_dict()
  local sd = Scheduler.state_dict(self)
  sd._milestones = encode(self._milestones)
  sd._schedulers = {}
  for i, s in ipairs(self._schedulers) do sd._schedulers[i] = s:state_dict() end
  return sd
end
function SequentialLR:load_state_dict(sd)
  local where = getmetatable(self).__name .. ":load_state_dict"
  if type(sd) ~= "table" or type(sd._schedulers) ~= "table" or #sd._schedulers ~= #self._schedulers then
    raise(string.format("%s: the state has %s schedules, this one has %d", where,
      type(sd) == "table" and type(sd._schedulers) == "table" and #sd._schedulers or "no", #self._schedulers))
  end
  for i, s in ipairs(self._schedulers) do s:load_state_dict(sd._schedulers[i]) end
  local rest = {}
  for k, v in pairs(sd) do if k ~= "_schedulers" then rest[k] = v end end
  Scheduler.load_state_dict(self, rest)
  return self
end
lr.SequentialLR = doc(SequentialLR, "optim.lr.SequentialLR(opt, {schedulers = {s1, s2, ...}, milestones = {m1, ...}}) — runs s1 until step m1, then s2 from its step 0 ...")

--- Warmup: linear warm-up over warmup_steps, then `after` (or a constant lr)
local Warmup = schedule("Warmup", { "warmup_steps", "start_factor", "after" }, { "warmup_steps" })
Warmup.step = SequentialLR.step
function Warmup.new(cls, opt, opts)
  check_optimizer(opt, cls.__name, 3)
  opts = options(cls, opts, 3)
  local n = H.integer(opts.warmup_steps, "warmup_steps", cls.__name, 1)
  local sf = H.number(opts.start_factor or 1 / n, "start_factor", cls.__name, 0, 1, true, false)
  local after = opts.after
  if after ~= nil and (type(after) ~= "table" or getmetatable(after) == nil or after.optimizer ~= opt) then
    raise(cls.__name .. ": 'after' must be a schedule of the same optimizer, made before the Warmup")
  end
  local linear = LinearLR(opt, { start_factor = sf, end_factor = 1.0, total_iters = n })
  local self = SequentialLR(opt, { schedulers = { linear, after }, milestones = after and { n } or {} })
  self.warmup_steps, self.start_factor = n, sf
  return setmetatable(self, cls)
end
Warmup.state_dict = SequentialLR.state_dict
Warmup.load_state_dict = SequentialLR.load_state_dict
lr.Warmup = doc(Warmup, "optim.lr.Warmup(opt, {warmup_steps, start_factor=1/warmup_steps, after=sched}) — linear warm-up to lr, then the schedule `after`")

--- OneCycleLR: the 1cycle policy (lr up to max_lr, then down far below the start; momentum the other way)
local OneCycleLR = schedule("OneCycleLR", {
  "max_lr", "total_steps", "epochs", "steps_per_epoch", "pct_start", "anneal_strategy", "cycle_momentum",
  "base_momentum", "max_momentum", "div_factor", "final_div_factor", "three_phase",
}, { "max_lr" })

local function per_group(v, n, name, where)
  if type(v) == "table" then
    if #v ~= n then raise(string.format("%s: expected %d values for %s, got %d", where, n, name, #v)) end
    local out = {}
    for i, x in ipairs(v) do out[i] = H.number(x, name .. "[" .. i .. "]", where, nil, nil, false, false) end
    return out
  end
  H.number(v, name, where, nil, nil, false, false)
  local out = {}
  for i = 1, n do out[i] = v end
  return out
end

function OneCycleLR.new(cls, opt, opts)
  local where = cls.__name
  check_optimizer(opt, where, 3)
  opts = options(cls, opts, 3)
  local self = setmetatable({}, cls)
  if opts.total_steps ~= nil then
    self.total_steps = H.integer(opts.total_steps, "total_steps", where, 1)
  elseif opts.epochs ~= nil and opts.steps_per_epoch ~= nil then
    self.total_steps = H.integer(opts.epochs, "epochs", where, 1) *
      H.integer(opts.steps_per_epoch, "steps_per_epoch", where, 1)
  else
    raise(where .. ": give total_steps, or epochs and steps_per_epoch")
  end
  local pct = H.number(opts.pct_start or 0.3, "pct_start", where, 0, 1, false, false)
  local strategy = opts.anneal_strategy or "cos"
  if strategy ~= "cos" and strategy ~= "linear" then
    raise(where .. ": anneal_strategy must be 'cos' or 'linear', got " .. tostring(strategy))
  end
  self.anneal_strategy = strategy
  self.pct_start = pct
  self.three_phase = opts.three_phase == true
  local div = H.number(opts.div_factor or 25., "div_factor", where, 0, nil, true, false)
  local final_div = H.number(opts.final_div_factor or 1e4, "final_div_factor", where, 0, nil, true, false)
  self.div_factor, self.final_div_factor = div, final_div
  local T = self.total_steps
  if self.three_phase then
    self._phases = {
      { end_step = pct * T - 1, start_lr = "initial_lr", end_lr = "max_lr", start_m = "max_momentum", end_m = "base_momentum" },
      { end_step = 2 * pct * T - 2, start_lr = "max_lr", end_lr = "initial_lr", start_m = "base_momentum", end_m = "max_momentum" },
      { end_step = T - 1, start_lr = "initial_lr", end_lr = "min_lr", start_m = "max_momentum", end_m = "max_momentum" },
    }
  else
    self._phases = {
      { end_step = pct * T - 1, start_lr = "initial_lr", end_lr = "max_lr", start_m = "max_momentum", end_m = "base_momentum" },
      { end_step = T - 1, start_lr = "max_lr", end_lr = "min_lr", start_m = "base_momentum", end_m = "max_momentum" },
    }
  end
  local n = #opt.param_groups
  local max_lrs = per_group(opts.max_lr, n, "max_lr", where)
  self.initial_lr, self.max_lr, self.min_lr = {}, {}, {}
  for i, g in ipairs(opt.param_groups) do
    g.initial_lr = max_lrs[i] / div
    self.initial_lr[i] = g.initial_lr
    self.max_lr[i] = max_lrs[i]
    self.min_lr[i] = g.initial_lr / final_div
  end
  self.cycle_momentum = opts.cycle_momentum ~= false
  if self.cycle_momentum then
    local d = opt.defaults or {}
    if d.momentum == nil and d.betas == nil then
      raise(where .. ": the optimizer has no momentum to cycle (pass cycle_momentum = false)")
    end
    self.use_beta1 = d.betas ~= nil
    local maxm = per_group(opts.max_momentum or 0.95, n, "max_momentum", where)
    local basem = per_group(opts.base_momentum or 0.85, n, "base_momentum", where)
    self.max_momentum, self.base_momentum = maxm, basem
    for i, g in ipairs(opt.param_groups) do
      if self.use_beta1 then g.betas = { maxm[i], g.betas[2] } else g.momentum = maxm[i] end
    end
  end
  self:_base_init(opt)
  return self
end

local function anneal(strategy, start, stop, pct)
  if strategy == "cos" then
    local cos_out = math.cos(math.pi * pct) + 1
    return stop + (start - stop) / 2.0 * cos_out
  end
  return (stop - start) * pct + start
end

function OneCycleLR:get_lr()
  local step_num = self.last_epoch
  if step_num > self.total_steps then
    raise(string.format("optim.lr.OneCycleLR: tried to step %d times; total_steps is %d", step_num,
      self.total_steps))
  end
  local out = {}
  for i, g in ipairs(self.optimizer.param_groups) do
    local start_step = 0
    local vals = { initial_lr = self.initial_lr[i], max_lr = self.max_lr[i], min_lr = self.min_lr[i] }
    if self.cycle_momentum then
      vals.max_momentum, vals.base_momentum = self.max_momentum[i], self.base_momentum[i]
    end
    local computed_lr, computed_m
    for k, ph in ipairs(self._phases) do
      local end_step = ph.end_step
      if step_num <= end_step or k == #self._phases then
        local pct = (step_num - start_step) / (end_step - start_step)
        computed_lr = anneal(self.anneal_strategy, vals[ph.start_lr], vals[ph.end_lr], pct)
        if self.cycle_momentum then computed_m = anneal(self.anneal_strategy, vals[ph.start_m], vals[ph.end_m], pct) end
        break
      end
      start_step = ph.end_step
    end
    out[i] = computed_lr
    if self.cycle_momentum then
      if self.use_beta1 then g.betas = { computed_m, g.betas[2] } else g.momentum = computed_m end
    end
  end
  return out
end
lr.OneCycleLR = doc(OneCycleLR, "optim.lr.OneCycleLR(opt, {max_lr, total_steps | epochs and steps_per_epoch, pct_start=0.3, anneal_strategy='cos', div_factor=25, final_div_factor=1e4, cycle_momentum=true, base_momentum=0.85, max_momentum=0.95, three_phase=false}) — the 1cycle policy: lr from max_lr/div_factor up to max_lr, then far below; momentum the other way")

--- ReduceLROnPlateau: lr * factor when a metric stops improving (sched:step(metric))
local ReduceLROnPlateau = schedule("ReduceLROnPlateau", {
  "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps",
})
function ReduceLROnPlateau.new(cls, opt, opts)
  local where = cls.__name
  check_optimizer(opt, where, 3)
  opts = options(cls, opts, 3)
  local self = setmetatable({}, cls)
  self.optimizer = opt
  self.mode = opts.mode or "min"
  if self.mode ~= "min" and self.mode ~= "max" then
    raise(where .. ": mode must be 'min' or 'max', got " .. tostring(self.mode))
  end
  self.threshold_mode = opts.threshold_mode or "rel"
  if self.threshold_mode ~= "rel" and self.threshold_mode ~= "abs" then
    raise(where .. ": threshold_mode must be 'rel' or 'abs', got " .. tostring(self.threshold_mode))
  end
  self.factor = H.number(opts.factor or 0.1, "factor", where, 0, 1, false, true)
  self.patience = H.integer(opts.patience or 10, "patience", where, 0)
  self.threshold = H.number(opts.threshold or 1e-4, "threshold", where, 0, nil, false, false)
  self.cooldown = H.integer(opts.cooldown or 0, "cooldown", where, 0)
  self.eps = H.number(opts.eps or 1e-8, "eps", where, 0, nil, false, false)
  local n = #opt.param_groups
  local ml_ = opts.min_lr or 0
  if type(ml_) == "table" then
    if #ml_ ~= n then raise(string.format("%s: expected %d min_lrs, got %d", where, n, #ml_)) end
    self.min_lrs = {}
    for i, v in ipairs(ml_) do self.min_lrs[i] = H.number(v, "min_lr[" .. i .. "]", where, 0, nil, false, false) end
  else
    H.number(ml_, "min_lr", where, 0, nil, false, false)
    self.min_lrs = {}
    for i = 1, n do self.min_lrs[i] = ml_ end
  end
  self.mode_worse = self.mode == "min" and math.huge or -math.huge
  self.last_epoch = 0
  self.best = self.mode_worse
  self.cooldown_counter = 0
  self.num_bad_epochs = 0
  self._last_lr = self:_group_lrs()
  return self
end
function ReduceLROnPlateau:is_better(a, best)
  if self.mode == "min" and self.threshold_mode == "rel" then return a < best * (1. - self.threshold)
  elseif self.mode == "min" then return a < best - self.threshold
  elseif self.threshold_mode == "rel" then return a > best * (self.threshold + 1.)
  else return a > best + self.threshold end
end
--- sched:step(metric): metric is a number or a one-element tensor
function ReduceLROnPlateau:step(metric)
  local where = getmetatable(self).__name .. ":step"
  if ml.is_tensor(metric) then
    if metric:numel() ~= 1 then raise(where .. ": the metric must be one number, got a tensor of " .. metric:numel() .. " elements") end
    metric = metric:item()
  end
  if type(metric) ~= "number" then raise(where .. ": expected the monitored metric (a number), got " .. type(metric)) end
  local current = metric
  self.last_epoch = self.last_epoch + 1
  if self:is_better(current, self.best) then
    self.best = current
    self.num_bad_epochs = 0
  else
    self.num_bad_epochs = self.num_bad_epochs + 1
  end
  if self.cooldown_counter > 0 then
    self.cooldown_counter = self.cooldown_counter - 1
    self.num_bad_epochs = 0
  end
  if self.num_bad_epochs > self.patience then
    for i, g in ipairs(self.optimizer.param_groups) do
      local old = g.lr
      local new = math.max(old * self.factor, self.min_lrs[i])
      if old - new > self.eps then g.lr = new end
    end
    self.cooldown_counter = self.cooldown
    self.num_bad_epochs = 0
  end
  self._last_lr = self:_group_lrs()
end
function ReduceLROnPlateau:in_cooldown() return self.cooldown_counter > 0 end
lr.ReduceLROnPlateau = doc(ReduceLROnPlateau, "optim.lr.ReduceLROnPlateau(opt, {mode='min', factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8}) — sched:step(metric) cuts lr when the metric stalls")

doc(Scheduler, "optim.lr.Scheduler — the base of the schedules, as PyTorch's LRScheduler: sched:step(), get_last_lr(), state_dict(), load_state_dict(sd)")
doc(Scheduler.step, "sched:step() — moves the schedule one step and sets each group's lr")
for _, cls in ipairs({ StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, CosineAnnealingLR, LambdaLR,
  SequentialLR, Warmup, OneCycleLR, ReduceLROnPlateau }) do
  doc(cls.new, "cls:new(opt, opts) -> sched — makes the schedule (cls(opt, opts) calls it); see the class's doc for opts")
  if rawget(cls, "get_lr") then
    doc(cls.get_lr, "sched:get_lr() -> {lr, ...} — the groups' learning rates for the current step, by the chainable form (step uses it)")
  end
  if rawget(cls, "closed_form") then
    doc(cls.closed_form, "sched:closed_form() -> {lr, ...} — the groups' learning rates at last_epoch by the closed formula (SequentialLR uses it)")
  end
end
doc(SequentialLR.step, "sched:step() — steps the schedule in charge; at each milestone the next one takes over from its step 0")
doc(SequentialLR.state_dict, "sched:state_dict() -> table — its own state and each inner schedule's (plain, JSON-able)")
doc(SequentialLR.load_state_dict, "sched:load_state_dict(sd) -> sched — restores its own state and each inner schedule's")
doc(ReduceLROnPlateau.step, "sched:step(metric) — metric: a number or a one-element tensor; after patience steps without improvement, lr = max(lr * factor, min_lr)")
doc(ReduceLROnPlateau.is_better, "sched:is_better(a, best) -> boolean — whether a beats best by more than the threshold (per mode and threshold_mode)")
doc(ReduceLROnPlateau.in_cooldown, "sched:in_cooldown() -> boolean — whether the cooldown after a cut is still running")
doc(Scheduler.get_last_lr, "sched:get_last_lr() -> {lr, ...} — the learning rate of each group, as set by the last step")
doc(Scheduler.state_dict, "sched:state_dict() -> table — the schedule's state (plain, JSON-able)")
doc(Scheduler.load_state_dict, "sched:load_state_dict(sd) -> sched — restores a state from state_dict(); the class must match")
doc(lr, "optim.lr — learning-rate schedules (StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, CosineAnnealingLR, LambdaLR, SequentialLR, Warmup, OneCycleLR, ReduceLROnPlateau)")

return lr
