--- ml.callbacks: hooks into model:fit (Keras callbacks).
--
--   local cb = ml.callbacks
--   model:fit(X, y, { callbacks = {
--     cb.EarlyStopping{ monitor = "val_loss", patience = 3, restore_best = true },
--     cb.ModelCheckpoint{ path = "best.safetensors", monitor = "val_accuracy", save_best_only = true, save_last = true },
--     cb.ReduceLROnPlateau{ factor = 0.5, patience = 2 },
--     cb.CSVLogger{ path = "log.csv" },
--     { on_epoch_end = function(epoch, logs) if logs.loss < 0.01 then return "stop" end end },
--   } })
--
-- Hooks: on_train_begin(logs), on_epoch_begin(epoch, logs), on_batch_begin(batch, logs),
-- on_batch_end(batch, logs), on_epoch_end(epoch, logs), after_epoch(epoch, logs) (runs
-- after every callback's on_epoch_end: ModelCheckpoint writes there, so its file
-- holds the others' state of that epoch), on_train_end(logs). Epochs count from 1
-- over the whole training (a resumed fit goes on counting), batches from 1 in each
-- epoch. A hook that returns "stop" (and optionally a message), or sets
-- model.stop_training = true, ends training.
--
-- A plain table's hooks are called as plain functions, hook(epoch, logs). A class
-- made with ml.callbacks.Callback:extend("Name") gets self, self.model and
-- self.ctx (what fit shares: optimizer, history, log_names, params, say); its
-- state_dict()/load_state_dict(st) (st = {meta = JSON-able, tensors = {name = tensor}})
-- put its state into the checkpoints ModelCheckpoint writes, so a resumed fit
-- carries on where it stopped. The batch logs table is reused from batch to
-- batch: copy what you keep.
local ml = require "moonlab"

local callbacks = {}
local fmt = string.format
local huge = math.huge

local function check_options(fn, opts, known) return require("moonlab.checks").options(fn, opts, known, true) end

local function nnfit() return require("moonlab.nn")._fit end

-- ---- the base class -------------------------------------------------------------

local Callback = {}
Callback.__index = Callback
Callback.__name = "Callback"
Callback.__is_callback = true

--- Callback:extend(name) -> a new callback class; instances get self in every hook.
function Callback:extend(name)
  if type(name) ~= "string" or name == "" then error("Callback:extend: expected a class name string", 2) end
  local cls = { __name = name, __is_callback = true, super = self }
  cls.__index = cls
  return setmetatable(cls, { __index = self, __call = function(c, ...) return c:new(...) end })
end

function Callback.new(cls, ...)
  local self = setmetatable({}, cls)
  if cls.init then self:init(...) end
  return self
end

--- cb:set_context(ctx): called by fit before training; resets the per-fit state.
function Callback:set_context(ctx)
  self.ctx, self.model = ctx, ctx.model
  if self.reset then self:reset() end
end

--- cb:say(text): one line in fit's log (unless fit or the callback is silent).
function Callback:say(s)
  if self.ctx and self.verbose ~= false then self.ctx.say(s) end
end

setmetatable(Callback, { __call = function(c, ...) return c:new(...) end })
callbacks.Callback = Callback

-- ---- monitoring ------------------------------------------------------------------

local MAX_WORDS = { "acc", "auc", "precision", "recall", "f1", "r2", "score", "iou" }

local function resolve_mode(who, monitor, mode)
  if mode == nil or mode == "auto" then
    local m = monitor:lower()
    for _, w in ipairs(MAX_WORDS) do if m:find(w, 1, true) then return "max" end end
    return "min"
  end
  if mode ~= "min" and mode ~= "max" then error(who .. ": mode must be \"auto\", \"min\" or \"max\", got " .. tostring(mode), 4) end
  return mode
end

local function available(ctx, logs)
  local names, seen = {}, {}
  for _, k in ipairs(ctx and ctx.log_names or {}) do
    if logs[k] ~= nil then names[#names + 1] = k; seen[k] = true end
  end
  local extra = {}
  for k in pairs(logs) do if type(k) == "string" and not seen[k] then extra[#extra + 1] = k end end
  table.sort(extra)
  for _, k in ipairs(extra) do names[#names + 1] = k end
  return table.concat(names, ", ")
end

-- The monitored value, or the error that lists what the logs hold.
local function monitored(self, logs)
  local v = logs[self.monitor]
  if v == nil then
    error(fmt("%s: monitor '%s' is not in the logs; available: %s", self.__name, self.monitor, available(self.ctx, logs)), 0)
  end
  if type(v) ~= "number" then error(fmt("%s: logs.%s is a %s, expected a number", self.__name, self.monitor, type(v)), 0) end
  return v
end

local function improved(v, best, mode, delta)
  if v ~= v then return false end
  if best == nil then return true end
  if mode == "min" then return v < best - delta end
  return v > best + delta
end

-- JSON has no NaN or infinities: they travel as strings.
local function num_out(v)
  if v == nil then return nil end
  if v ~= v then return "nan" elseif v == huge then return "inf" elseif v == -huge then return "-inf" end
  return v
end
local function num_in(v)
  if v == "nan" then return 0 / 0 elseif v == "inf" then return huge elseif v == "-inf" then return -huge end
  if type(v) == "number" then return v end
  return nil
end

local function check_int(who, name, v, min)
  if math.type(v) ~= "integer" or v < min then error(fmt("%s: %s must be an integer >= %d, got %s", who, name, min, tostring(v)), 4) end
  return v
end

local function check_num(who, name, v)
  if type(v) ~= "number" or v ~= v then error(fmt("%s: %s must be a number, got %s", who, name, tostring(v)), 4) end
  return v
end

-- ---- EarlyStopping ------------------------------------------------------------------

local EarlyStopping = Callback:extend("EarlyStopping")

--- EarlyStopping{monitor="val_loss", mode="auto", patience=0, min_delta=0, restore_best=false, baseline, verbose=true}: stops when the monitored value stops improving.
function EarlyStopping:init(o)
  o = check_options("EarlyStopping", o, { "monitor", "mode", "patience", "min_delta", "restore_best", "baseline", "verbose" })
  self.monitor = o.monitor or "val_loss"
  if type(self.monitor) ~= "string" then error("EarlyStopping: monitor must be a log name such as \"val_loss\"", 3) end
  self.mode = resolve_mode("EarlyStopping", self.monitor, o.mode)
  self.patience = check_int("EarlyStopping", "patience", o.patience or 0, 0)
  self.min_delta = math.abs(check_num("EarlyStopping", "min_delta", o.min_delta or 0))
  self.restore_best = o.restore_best and true or false
  self.baseline = o.baseline ~= nil and check_num("EarlyStopping", "baseline", o.baseline) or nil
  self.verbose = o.verbose ~= false
  self:reset()
end

function EarlyStopping:reset()
  self.best, self.best_epoch, self.wait, self.best_weights, self.stopped_epoch = self.baseline, nil, 0, nil, nil
end

function EarlyStopping:on_epoch_end(epoch, logs)
  local v = monitored(self, logs)
  if improved(v, self.best, self.mode, self.min_delta) then
    self.best, self.best_epoch, self.wait = v, epoch, 0
    if self.restore_best then
      local keep = self.best_weights or {}
      ml.no_grad(function()
        for name, t in pairs(self.model:state_dict()) do
          local b = keep[name]
          if b and b:dtype() == t:dtype() and table.concat(b:shape(), ",") == table.concat(t:shape(), ",") then b:copy_(t)
          else keep[name] = t:detach():clone() end
        end
      end)
      self.best_weights = keep
    end
    return
  end
  self.wait = self.wait + 1
  if self.wait >= math.max(self.patience, 1) then
    self.stopped_epoch = epoch
    local num = nnfit().num
    local best = self.best_epoch and fmt("best %s at epoch %d", num(self.best), self.best_epoch)
      or (self.baseline and fmt("baseline %s never beaten", num(self.baseline)) or "no valid value")
    return "stop", fmt("EarlyStopping: %s did not improve for %d epoch%s (%s); stopped at epoch %d",
      self.monitor, self.wait, self.wait == 1 and "" or "s", best, epoch)
  end
end

function EarlyStopping:on_train_end()
  if not (self.restore_best and self.best_weights) then return end
  self.model:load_state_dict(self.best_weights)
  local last = self.ctx and self.ctx.history.epochs
  if self.best_epoch ~= last or (self.ctx and self.ctx.stop_reason and self.ctx.stop_reason ~= "callback") then
    self:say(fmt("EarlyStopping: restored the weights of epoch %d (%s %s)", self.best_epoch, self.monitor, nnfit().num(self.best)))
  end
end

function EarlyStopping:state_dict()
  return {
    meta = { best = num_out(self.best), best_epoch = self.best_epoch, wait = self.wait },
    tensors = self.best_weights,
  }
end

function EarlyStopping:load_state_dict(st)
  local m = st.meta or {}
  self.best, self.best_epoch, self.wait = num_in(m.best), m.best_epoch, m.wait or 0
  if self.restore_best and st.tensors and next(st.tensors) then self.best_weights = st.tensors end
end
callbacks.EarlyStopping = EarlyStopping

-- ---- ModelCheckpoint ----------------------------------------------------------------

local ModelCheckpoint = Callback:extend("ModelCheckpoint")

-- The save_last = true path: one file, overwritten every epoch. The path's
-- template fields go (with the separator before each), then ".last" comes
-- before the extension: "ck/m-{epoch:02d}-{val_loss:.4f}.safetensors" ->
-- "ck/m.last.safetensors", "{epoch}.safetensors" -> "last.safetensors".
local function last_path_of(path)
  local dir, file = path:match("^(.*/)([^/]*)$")
  if not dir then dir, file = "", path end
  local stem, ext = file:match("^(.*)(%.[%w_]+)$")
  if not stem then stem, ext = file, "" end
  stem = stem:gsub("[-_.]?{[^}]*}", ""):gsub("^[-_.]+", "")
  if stem == "" then return dir .. "last" .. ext end
  return dir .. stem .. ".last" .. ext
end

-- The directory of path must exist (a checkpoint that cannot be written
-- should fail before training, not after the first epoch).
local function check_dir(who, what, path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == nil then return end
  if dir == "" then dir = "/" end
  if dir:find("{", 1, true) then return end -- filled in per epoch
  local f, err = io.open(dir .. "/.", "r")
  if f then f:close(); return end
  err = tostring(err):match(":%s*([^:]+)$") or tostring(err)
  error(fmt("%s: cannot write %s '%s': directory '%s': %s (create it first)", who, what, path, dir, err), 4)
end

--- ModelCheckpoint{path, monitor="val_loss", mode="auto", save_best_only=false, save_last=false, verbose=true}: writes checkpoints fit can resume from.
function ModelCheckpoint:init(o)
  o = check_options("ModelCheckpoint", o, { "path", "monitor", "mode", "save_best_only", "save_last", "verbose" })
  if type(o.path) ~= "string" or o.path == "" then error("ModelCheckpoint: path must be a file name (\"{epoch}\" and \"{val_loss:.4f}\" are filled in)", 3) end
  self.path = o.path
  self.monitor_given = o.monitor ~= nil
  self.monitor = o.monitor or "val_loss"
  if type(self.monitor) ~= "string" then error("ModelCheckpoint: monitor must be a log name such as \"val_loss\"", 3) end
  self.mode = resolve_mode("ModelCheckpoint", self.monitor, o.mode)
  self.save_best_only = o.save_best_only and true or false
  if o.save_last == true then self.last_path = last_path_of(o.path)
  elseif type(o.save_last) == "string" and o.save_last ~= "" then
    if o.save_last:find("{[^}]*}") then
      error("ModelCheckpoint: save_last names one file, overwritten every epoch; it cannot hold {fields}: " .. o.save_last, 3)
    end
    self.last_path = o.save_last
  elseif o.save_last ~= nil and o.save_last ~= false then error("ModelCheckpoint: save_last must be a boolean or a path", 3) end
  if self.last_path == self.path then
    error("ModelCheckpoint: save_last names the same file as path (" .. self.path .. ")", 3)
  end
  check_dir("ModelCheckpoint", "path", self.path)
  if self.last_path then check_dir("ModelCheckpoint", "save_last", self.last_path) end
  self.verbose = o.verbose ~= false
  self:reset()
end

function ModelCheckpoint:reset() self.best, self.best_epoch = nil, nil end

function ModelCheckpoint:format_path(epoch, logs)
  return (self.path:gsub("{([%w_]+):?([^}]*)}", function(key, spec)
    local v = key == "epoch" and epoch or logs[key]
    if v == nil then error(fmt("ModelCheckpoint: path names {%s}, which is not in the logs; available: epoch, %s", key, available(self.ctx, logs)), 0) end
    if spec == "" then return key == "epoch" and tostring(v) or fmt("%.4f", v) end
    return fmt("%" .. spec, v)
  end))
end

function ModelCheckpoint:format_path_last()
  return self.last_path
end

function ModelCheckpoint:write(path, epoch)
  local nn = require "moonlab.nn"
  local best = ml.json.encode({ monitor = self.monitor, mode = self.mode, value = num_out(self.best), epoch = self.best_epoch })
  nn.save_checkpoint(path, {
    model = self.model, optimizer = self.ctx.optimizer, epoch = epoch, fit = self.ctx.fit_state(),
    metadata = { ["moonlab.best"] = best },
  })
end

-- The monitor is checked at the first epoch end when it was named, or when
-- save_best_only needs it; otherwise (every epoch saved) it only feeds the
-- best value stored in the files, when the logs have it.
function ModelCheckpoint:after_epoch(epoch, logs)
  local v = logs[self.monitor]
  if self.save_best_only or self.monitor_given then v = monitored(self, logs) end
  local better = v ~= nil and improved(v, self.best, self.mode, 0)
  if better then self.best, self.best_epoch = v, epoch end
  if better or not self.save_best_only then
    local path = self:format_path(epoch, logs)
    self:write(path, epoch)
    if self.save_best_only then
      self:say(fmt("ModelCheckpoint: %s improved to %s at epoch %d; saved %s", self.monitor, nnfit().num(v), epoch, path))
    end
  end
  if self.last_path then self:write(self.last_path, epoch) end
end

function ModelCheckpoint:state_dict()
  return { meta = { best = num_out(self.best), best_epoch = self.best_epoch } }
end

function ModelCheckpoint:load_state_dict(st)
  local m = st.meta or {}
  self.best, self.best_epoch = num_in(m.best), m.best_epoch
end
callbacks.ModelCheckpoint = ModelCheckpoint

-- ---- learning rates ---------------------------------------------------------------------

local function groups(self)
  local opt = self.ctx and self.ctx.optimizer
  if not (opt and type(opt.param_groups) == "table") then error(self.__name .. ": the optimizer has no param_groups", 0) end
  return opt.param_groups
end

local LearningRateScheduler = Callback:extend("LearningRateScheduler")

--- LearningRateScheduler(fn(epoch, lr) -> lr | schedule, [{monitor, interval="epoch"|"batch", verbose=false}]): sets the learning rate each epoch.
function LearningRateScheduler:init(s, o)
  o = check_options("LearningRateScheduler", o, { "monitor", "interval", "verbose" })
  if type(s) == "function" then self.fn = s
  elseif type(s) == "table" and type(s.step) == "function" then self.schedule = s
  else error("LearningRateScheduler: expected a function(epoch, lr) -> lr or a schedule from optim.lr", 3) end
  self.monitor = o.monitor
  if self.monitor ~= nil and type(self.monitor) ~= "string" then
    error("LearningRateScheduler: monitor must be a log name such as \"val_loss\", got " .. type(self.monitor), 3)
  end
  self.interval = o.interval or "epoch"
  if self.interval ~= "epoch" and self.interval ~= "batch" then error("LearningRateScheduler: interval must be \"epoch\" or \"batch\"", 3) end
  if self.interval == "batch" and not self.schedule then error("LearningRateScheduler: interval \"batch\" needs a schedule object", 3) end
  local lr = ml.optim and ml.optim.lr
  local plateau = self.schedule and lr and lr.ReduceLROnPlateau and getmetatable(self.schedule) == lr.ReduceLROnPlateau
  if plateau and self.interval == "batch" then
    error("LearningRateScheduler: a ReduceLROnPlateau schedule steps on a metric once per epoch; it cannot take interval \"batch\"", 3)
  end
  if plateau and not self.monitor then
    error("LearningRateScheduler: a ReduceLROnPlateau schedule steps on a metric: give {monitor = \"val_loss\"} " ..
      "(or use callbacks.ReduceLROnPlateau{...})", 3)
  end
  if self.interval == "batch" then self.on_batch_end = function(me) me.schedule:step() end end
  self.verbose = o.verbose == true
end

function LearningRateScheduler:on_epoch_begin(epoch)
  if not self.fn then return end
  for i, g in ipairs(groups(self)) do
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
  if self.monitor then self.schedule:step(monitored(self, logs)) else self.schedule:step() end
end

function LearningRateScheduler:state_dict()
  if self.schedule and type(self.schedule.state_dict) == "function" then
    local st = self.schedule:state_dict()
    if type(st) == "table" and (st.meta ~= nil or st.tensors ~= nil) then return st end
    return { meta = st }
  end
end

function LearningRateScheduler:load_state_dict(st)
  if self.schedule and type(self.schedule.load_state_dict) == "function" then
    if st.tensors and next(st.tensors) then self.schedule:load_state_dict(st) else self.schedule:load_state_dict(st.meta) end
  end
end
callbacks.LearningRateScheduler = LearningRateScheduler

local ReduceLROnPlateau = Callback:extend("ReduceLROnPlateau")

--- ReduceLROnPlateau{monitor="val_loss", mode="auto", factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0, verbose=true}: lowers the learning rate when the monitored value stalls.
function ReduceLROnPlateau:init(o)
  o = check_options("ReduceLROnPlateau", o, { "monitor", "mode", "factor", "patience", "min_delta", "cooldown", "min_lr", "verbose" })
  self.monitor = o.monitor or "val_loss"
  self.mode = resolve_mode("ReduceLROnPlateau", self.monitor, o.mode)
  self.factor = check_num("ReduceLROnPlateau", "factor", o.factor or 0.1)
  if not (self.factor > 0 and self.factor < 1) then error("ReduceLROnPlateau: factor must be in (0, 1)", 3) end
  self.patience = check_int("ReduceLROnPlateau", "patience", o.patience or 10, 0)
  self.min_delta = math.abs(check_num("ReduceLROnPlateau", "min_delta", o.min_delta or 1e-4))
  self.cooldown = check_int("ReduceLROnPlateau", "cooldown", o.cooldown or 0, 0)
  self.min_lr = check_num("ReduceLROnPlateau", "min_lr", o.min_lr or 0)
  self.verbose = o.verbose ~= false
  self:reset()
end

function ReduceLROnPlateau:reset() self.best, self.wait, self.cooldown_left = nil, 0, 0 end

function ReduceLROnPlateau:on_epoch_end(epoch, logs)
  local v = monitored(self, logs)
  if self.cooldown_left > 0 then self.cooldown_left = self.cooldown_left - 1; self.wait = 0 end
  if improved(v, self.best, self.mode, self.min_delta) then
    self.best, self.wait = v, 0
  elseif self.cooldown_left == 0 then
    self.wait = self.wait + 1
    if self.wait >= math.max(self.patience, 1) then
      local old, new
      for i, g in ipairs(groups(self)) do
        local n = math.max(g.lr * self.factor, self.min_lr)
        if i == 1 then old, new = g.lr, n end
        g.lr = n
      end
      if old and new < old then
        self:say(fmt("ReduceLROnPlateau: epoch %d: %s stalled at %s; lr %g -> %g", epoch, self.monitor, nnfit().num(self.best), old, new))
      end
      self.cooldown_left, self.wait = self.cooldown, 0
    end
  end
end

function ReduceLROnPlateau:state_dict()
  return { meta = { best = num_out(self.best), wait = self.wait, cooldown_left = self.cooldown_left } }
end

function ReduceLROnPlateau:load_state_dict(st)
  local m = st.meta or {}
  self.best, self.wait, self.cooldown_left = num_in(m.best), m.wait or 0, m.cooldown_left or 0
end
callbacks.ReduceLROnPlateau = ReduceLROnPlateau

-- ---- CSVLogger -----------------------------------------------------------------------------

local CSVLogger = Callback:extend("CSVLogger")

--- CSVLogger{path, append=auto, separator=","}: one row per epoch (epoch, then the logs by name); appends when fit resumes.
function CSVLogger:init(o)
  o = check_options("CSVLogger", o, { "path", "append", "separator" })
  if type(o.path) ~= "string" or o.path == "" then error("CSVLogger: path must be a file name", 3) end
  self.path, self.append, self.sep = o.path, o.append, o.separator or ","
end

local function cell(v, sep)
  if type(v) == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    if v ~= v then return "nan" elseif v == huge then return "inf" elseif v == -huge then return "-inf" end
    local s
    for p = 15, 17 do
      s = fmt("%." .. p .. "g", v)
      if tonumber(s) == v then break end
    end
    return s
  end
  local s = tostring(v)
  if s:find(sep, 1, true) or s:find('"', 1, true) or s:find("\n", 1, true) then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

function CSVLogger:on_train_begin()
  local append = self.append
  if append == nil then append = self.ctx ~= nil and self.ctx.resumed end
  self.keys = nil
  if append then
    local f = io.open(self.path, "r")
    if f then
      local head = f:read("l")
      f:close()
      if head and head ~= "" then
        local keys = {}
        for k in (head .. self.sep):gmatch("(.-)" .. self.sep:gsub("%p", "%%%0")) do keys[#keys + 1] = k end
        if keys[1] == "epoch" then table.remove(keys, 1); self.keys = keys end
      end
    end
  end
  local f, err = io.open(self.path, append and "a" or "w")
  if not f then error("CSVLogger: cannot open '" .. self.path .. "': " .. tostring(err), 0) end
  self.file = f
end

function CSVLogger:on_epoch_end(epoch, logs)
  local f = self.file
  if not f then return end
  if not self.keys then
    local keys = {}
    for k in pairs(logs) do if type(k) == "string" then keys[#keys + 1] = k end end
    table.sort(keys)
    self.keys = keys
    f:write("epoch", #keys > 0 and self.sep or "", table.concat(keys, self.sep), "\n")
  end
  local row = { tostring(epoch) }
  for _, k in ipairs(self.keys) do row[#row + 1] = logs[k] == nil and "" or cell(logs[k], self.sep) end
  f:write(table.concat(row, self.sep), "\n")
  f:flush()
end

function CSVLogger:on_train_end()
  if self.file then self.file:close(); self.file = nil end
end
callbacks.CSVLogger = CSVLogger

-- ---- ProgressBar ------------------------------------------------------------------------------

local ProgressBar = Callback:extend("ProgressBar")

--- ProgressBar{mode="auto"|"bar"|"lines", width}: fit's display; a live bar on a terminal, one line per epoch otherwise.
function ProgressBar:init(o)
  o = check_options("ProgressBar", o, { "mode", "width" })
  self.mode = o.mode or "auto"
  if self.mode ~= "auto" and self.mode ~= "bar" and self.mode ~= "lines" then
    error("ProgressBar: mode must be \"auto\", \"bar\" or \"lines\"", 3)
  end
  if o.width ~= nil and (math.type(o.width) ~= "integer" or o.width < 20) then
    error("ProgressBar: width must be an integer >= 20 (columns), got " .. tostring(o.width), 3)
  end
  self.width = o.width
end

local function rate(r)
  if r >= 1e6 then return fmt("%.1fM", r / 1e6) elseif r >= 1e4 then return fmt("%.0fk", r / 1e3)
  elseif r >= 1e3 then return fmt("%.1fk", r / 1e3) end
  return fmt("%.0f", r)
end

local BAR_WIDTH = 20

local function bar(done, total, w)
  w = w or BAR_WIDTH
  if not total or total == 0 then return "" end
  local k = math.floor(w * done / total)
  if k >= w then return "[" .. string.rep("=", w) .. "]" end
  return "[" .. string.rep("=", k) .. ">" .. string.rep(".", w - k - 1) .. "]"
end

-- The columns a line may use: width - 1, so that the cursor never wraps (a
-- wrapped line is not erased by the next \r redraw). nil: no limit.
function ProgressBar:columns()
  local w = self.width
  if not w and self.ctx.tty then w = ml._train.term_width(1) end
  return w and math.max(w - 1, 10) or nil
end

-- The live line, cut to max columns (nil: no limit). Least important first:
-- samples/s; then the bar shrinks (down to 10) if that is enough; then the
-- metrics after the loss go (last first), the bar shrinks to 5 and then goes,
-- then the ETA; what still does not fit is cut.
local function bar_line(head, count, b, steps, eta, fields, speed, max)
  local function build(bw, neta, nfields, with_speed)
    local s = head .. " " .. count
    if bw > 0 then s = s .. " " .. bar(b, steps, bw) end
    if neta and eta then s = s .. " ETA " .. eta end
    for i = 1, nfields do s = s .. " - " .. fields[i] end
    if with_speed and speed then s = s .. " - " .. speed end
    return s
  end
  local bw = steps and BAR_WIDTH or 0
  local s = build(bw, true, #fields, true)
  if not max or #s <= max then return s end
  s = build(bw, true, #fields, false)
  local nf = #fields
  if #s > max and bw > 0 and #s - max <= bw - 10 then -- a shorter bar keeps every metric
    return build(bw - (#s - max), true, nf, false)
  end
  while #s > max and nf > 1 do
    nf = nf - 1
    s = build(bw, true, nf, false)
  end
  if #s > max and bw > 0 then
    bw = math.max(bw - (#s - max), 5)
    s = build(bw, true, nf, false)
    if #s > max then bw = 0; s = build(0, true, nf, false) end
  end
  if #s > max then s = build(bw, false, nf, false) end
  if #s > max then s = s:sub(1, max) end
  return s
end

-- The finished epoch's line: with the full bar when it fits, else without the
-- bar, else broken at the " - " between fields into indented lines, so that a
-- line never wraps in the terminal.
local function end_lines(head, count, full_bar, rest, max)
  local s = head .. (count and (" " .. count .. " " .. full_bar) or "") .. " - " .. table.concat(rest, " - ")
  if not max or #s <= max then return s end
  s = head .. " - " .. table.concat(rest, " - ")
  if #s <= max then return s end
  local lines, cur = {}, head
  for _, f in ipairs(rest) do
    if #cur + 3 + #f <= max then
      cur = cur .. " - " .. f
    else
      lines[#lines + 1] = cur
      cur = "  " .. f
    end
  end
  lines[#lines + 1] = cur
  for i, l in ipairs(lines) do if #l > max then lines[i] = l:sub(1, max) end end
  return table.concat(lines, "\n")
end

function ProgressBar:set_context(ctx)
  Callback.set_context(self, ctx)
  self.bar = self.mode == "bar" or (self.mode == "auto" and ctx.tty)
  self.on_batch_end = self.bar and ProgressBar.batch or nil
end

function ProgressBar:on_epoch_begin()
  self.last = -1
end

function ProgressBar:head(epoch)
  local p = self.ctx.params
  return fmt("epoch %d/%d", epoch, p.epochs)
end

function ProgressBar:batch(b, logs)
  local ctx = self.ctx
  local t = ml.now()
  local steps = ctx.params.steps
  if t - self.last < 0.1 and b ~= steps then return end
  self.last = t
  local num, elapsed = nnfit().num, t - ctx.t0
  local count = steps and fmt("%d/%d", b, steps) or tostring(b)
  local eta = steps and b < steps and nnfit().seconds(elapsed / b * (steps - b)) or nil
  local fields = {}
  for _, k in ipairs(ctx.log_names) do
    local v = logs[k]
    if v ~= nil and k ~= "lr" then fields[#fields + 1] = k .. " " .. num(v) end
  end
  local speed = elapsed > 0 and (rate(ctx.seen / elapsed) .. " samples/s") or nil
  ctx.write("\r" .. bar_line(self:head(ctx.epoch), count, b, steps, eta, fields, speed, self:columns()) .. "\27[K")
  ctx.bar_open = true
end

function ProgressBar:on_epoch_end(epoch, logs)
  local ctx = self.ctx
  local num = nnfit().num
  local rest = { nnfit().seconds(ctx.seconds or 0) }
  for _, k in ipairs(ctx.log_names) do
    if logs[k] ~= nil and k ~= "lr" then rest[#rest + 1] = k .. " " .. num(logs[k]) end
  end
  if self.bar then
    local steps = ctx.params.steps or ctx.batches
    local line = end_lines(self:head(epoch), fmt("%d/%d", steps, steps), bar(steps, steps), rest, self:columns())
    ctx.write("\r" .. (line:gsub("\n", "\27[K\n")) .. "\27[K\n")
  else
    ctx.write(self:head(epoch) .. " - " .. table.concat(rest, " - ") .. "\n")
  end
  ctx.bar_open = false
end

function ProgressBar:on_train_end()
  if self.ctx.bar_open then self.ctx.write("\n"); self.ctx.bar_open = false end
end
callbacks.ProgressBar = ProgressBar

if ml.doc then
  ml.doc(callbacks, "ml.callbacks — hooks into model:fit: EarlyStopping, ModelCheckpoint, LearningRateScheduler, ReduceLROnPlateau, CSVLogger, ProgressBar, Callback")
  ml.doc(Callback, "callbacks.Callback:extend(name) -> class — base of callback classes; hooks get self, self.model and self.ctx")
  ml.doc(Callback.extend, "callbacks.Callback:extend(name) -> class — a new callback class deriving from this one; cls(...) makes an instance and calls its init(...)")
  ml.doc(Callback.new, "cls:new(...) -> callback — makes an instance (cls(...) calls it) and calls init(...)")
  ml.doc(Callback.set_context, "cb:set_context(ctx) — called by fit before training: sets self.ctx and self.model, then calls reset() if there is one")
  ml.doc(Callback.say, "cb:say(text) — one line in fit's log, unless fit or the callback (verbose=false) is silent")

  ml.doc(EarlyStopping, "callbacks.EarlyStopping{monitor=\"val_loss\", mode=\"auto\", patience=0, min_delta=0, restore_best=false, baseline, verbose=true} — stops fit when the monitored value stops improving")
  ml.doc(EarlyStopping.reset, "es:reset() — forgets the best value, epoch and weights (set_context calls it at each fit)")
  ml.doc(EarlyStopping.on_epoch_end, "es:on_epoch_end(epoch, logs) -> nil | \"stop\", message — tracks the best monitored value (and weights, with restore_best); stops after patience epochs without improvement")
  ml.doc(EarlyStopping.on_train_end, "es:on_train_end() — with restore_best, loads the best epoch's weights back into the model")
  ml.doc(EarlyStopping.state_dict, "es:state_dict() -> {meta, tensors} — the best value and epoch, the wait and the best weights, for checkpoints")
  ml.doc(EarlyStopping.load_state_dict, "es:load_state_dict(st) — restores what state_dict() returned (a resumed fit)")

  ml.doc(ModelCheckpoint, "callbacks.ModelCheckpoint{path, monitor=\"val_loss\", mode=\"auto\", save_best_only=false, save_last=false|true|path, verbose=true} — writes checkpoints (best and/or last) that fit can resume from; path may hold {epoch}, {val_loss:.4f}; the last file is one file, overwritten every epoch")
  ml.doc(ModelCheckpoint.reset, "ckpt:reset() — forgets the best value and epoch")
  ml.doc(ModelCheckpoint.format_path, "ckpt:format_path(epoch, logs) -> path — fills {epoch} and {log_name[:format]} in the path")
  ml.doc(ModelCheckpoint.format_path_last, "ckpt:format_path_last() -> path — the save_last file: one file, overwritten every epoch (save_last = true: path without its {fields}, plus .last)")
  ml.doc(ModelCheckpoint.write, "ckpt:write(path, epoch) — writes a checkpoint: model, optimizer, epoch and fit's state (nn.save_checkpoint)")
  ml.doc(ModelCheckpoint.after_epoch, "ckpt:after_epoch(epoch, logs) — after every on_epoch_end: writes the checkpoint (only on improvement with save_best_only) and the last one")
  ml.doc(ModelCheckpoint.state_dict, "ckpt:state_dict() -> {meta} — the best value and epoch")
  ml.doc(ModelCheckpoint.load_state_dict, "ckpt:load_state_dict(st) — restores the best value and epoch")

  ml.doc(LearningRateScheduler, "callbacks.LearningRateScheduler(fn(epoch, lr) -> lr | schedule, [{monitor, interval=\"epoch\"|\"batch\", verbose=false}]) — sets the learning rate every epoch (or batch)")
  ml.doc(LearningRateScheduler.on_epoch_begin, "lrs:on_epoch_begin(epoch) — with a function, sets each group's lr to fn(epoch, lr)")
  ml.doc(LearningRateScheduler.on_epoch_end, "lrs:on_epoch_end(epoch, logs) — with a schedule and interval \"epoch\", steps it (on logs[monitor] when monitor is set)")
  ml.doc(LearningRateScheduler.state_dict, "lrs:state_dict() -> {meta, [tensors]} | nil — the schedule's state, for checkpoints")
  ml.doc(LearningRateScheduler.load_state_dict, "lrs:load_state_dict(st) — restores the schedule's state")

  ml.doc(ReduceLROnPlateau, "callbacks.ReduceLROnPlateau{monitor=\"val_loss\", mode=\"auto\", factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0, verbose=true} — lowers the learning rate when the monitored value stalls")
  ml.doc(ReduceLROnPlateau.reset, "plateau:reset() — forgets the best value, the wait and the cooldown")
  ml.doc(ReduceLROnPlateau.on_epoch_end, "plateau:on_epoch_end(epoch, logs) — after patience epochs without an improvement of min_delta, lr = max(lr * factor, min_lr), then cooldown epochs of rest")
  ml.doc(ReduceLROnPlateau.state_dict, "plateau:state_dict() -> {meta} — the best value, the wait and the cooldown left")
  ml.doc(ReduceLROnPlateau.load_state_dict, "plateau:load_state_dict(st) — restores what state_dict() returned")

  ml.doc(CSVLogger, "callbacks.CSVLogger{path, append, separator=\",\"} — writes one row per epoch: epoch and the logs by name; appends when fit resumes (append unset)")
  ml.doc(CSVLogger.on_train_begin, "csv:on_train_begin() — opens the file: appends (keeping its columns) with append or a resumed fit, else starts it anew")
  ml.doc(CSVLogger.on_epoch_end, "csv:on_epoch_end(epoch, logs) — writes a row: the epoch, then the logs by name (a header first)")
  ml.doc(CSVLogger.on_train_end, "csv:on_train_end() — closes the file")

  ml.doc(ProgressBar, "callbacks.ProgressBar{mode=\"auto\"|\"bar\"|\"lines\", width} — fit's display: a live bar on a terminal (cut to its width), one line per epoch otherwise")
  ml.doc(ProgressBar.columns, "bar:columns() -> integer | nil — the columns a line may use: width - 1 (the width option, else the terminal's); nil when not on a terminal")
  ml.doc(ProgressBar.set_context, "bar:set_context(ctx) — chooses a live bar (mode \"bar\", or \"auto\" on a terminal) or one line per epoch")
  ml.doc(ProgressBar.on_epoch_begin, "bar:on_epoch_begin() — resets the redraw timer")
  ml.doc(ProgressBar.head, "bar:head(epoch) -> string — \"epoch k/N\"")
  ml.doc(ProgressBar.batch, "bar:batch(b, logs) — redraws the live bar (at most every 0.1 s): progress, ETA, logs, samples/s, cut to the terminal's width")
  ml.doc(ProgressBar.on_epoch_end, "bar:on_epoch_end(epoch, logs) — prints the epoch's line: time and logs")
  ml.doc(ProgressBar.on_train_end, "bar:on_train_end() — ends a bar line left open")
end

return callbacks
