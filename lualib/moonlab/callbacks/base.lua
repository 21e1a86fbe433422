--- callbacks.Callback: the base class of fit's callbacks, and the helpers
-- the built-in callbacks share (monitored values, positional paths, state checks).
--
-- A subclass (Callback:extend("Name")) gets self in every hook, self.model
-- and self.ctx (what fit shares: optimizer, history, log_names, params, say).
-- Its state_dict()/load_state_dict(st) (st = {meta = JSON-able, tensors =
-- {name = tensor}}) put its state into the checkpoints ModelCheckpoint
-- writes; validate_state(st) -> nil | message lets a resumed fit check the
-- state before it changes anything. check_logs(names) is called before the
-- first batch with the names the epoch logs will hold.
local ml = require "moonlab"
local Object = require("moonlab.core.class").Object
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local fmt = string.format
local base = {}

local Callback = Object:extend("Callback")
Callback.__is_callback = true
--- the stop_reason fit records when a hook of this callback returns "stop"
Callback.stop_reason = "callback"
base.Callback = Callback

--- cb:set_context(ctx): called by fit before training; resets the per-fit state.
function Callback:set_context(ctx)
  self.ctx, self.model = ctx, ctx.model
  if self.reset then self:reset() end
end

--- cb:say(text): one line in fit's log (unless fit or the callback is silent).
function Callback:say(s)
  if self.ctx and self.verbose ~= false then self.ctx.say(s) end
end

--- cb:extra_repr() -> "k=v, ...": the settings named in the class's repr_fields
function Callback:extra_repr()
  local parts = {}
  for _, k in ipairs(self.repr_fields or {}) do
    local v = self[k]
    if v ~= nil then
      if type(v) == "string" then v = fmt("'%s'", v)
      elseif type(v) == "number" then v = format.exact(v)
      else v = tostring(v) end
      parts[#parts + 1] = k .. "=" .. v
    end
  end
  return table.concat(parts, ", ")
end

--- cb:check_logs(names): raises (at the user's fit line) when the callback needs a log that fit will not write
function Callback:check_logs(names)
  if self.monitor ~= nil and self.monitor_required ~= false then base.check_monitor(self, self.monitor, names) end
end

-- ---- monitoring --------------------------------------------------------------

local MAX_WORDS = { "acc", "auc", "precision", "recall", "f1", "r2", "score", "iou" }

--- base.mode(who, monitor, mode) -> "min" | "max": "auto" picks max for accuracy-like names
function base.mode(who, monitor, mode)
  if mode == nil or mode == "auto" then
    local m = monitor:lower()
    for _, w in ipairs(MAX_WORDS) do if m:find(w, 1, true) then return "max" end end
    return "min"
  end
  if mode ~= "min" and mode ~= "max" then
    checks.fail(who .. ": mode must be \"auto\", \"min\" or \"max\", got " .. tostring(mode))
  end
  return mode
end

--- base.monitor(who, o) -> monitor, mode: the options monitor (a log name, default "val_loss") and mode (base.mode)
function base.monitor(who, o)
  local monitor = o.monitor or "val_loss"
  if type(monitor) ~= "string" then checks.fail(who .. ": monitor must be a log name such as \"val_loss\"") end
  return monitor, base.mode(who, monitor, o.mode)
end

--- base.available(ctx, logs) -> "loss, accuracy, ...": the names the logs hold, fit's order first
function base.available(ctx, logs)
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

--- base.check_monitor(cb, name, names): name must be among the log names fit announced
function base.check_monitor(cb, name, names)
  for _, k in ipairs(names) do if k == name then return end end
  local hint = checks.suggest(name, names)
  local has_val = false
  for _, k in ipairs(names) do if k:sub(1, 4) == "val_" then has_val = true end end
  local val = (name:sub(1, 4) == "val_" and not has_val) and " (val_ logs need validation_data or validation_split)" or ""
  checks.fail(fmt("%s: monitor '%s' is not in the logs; available: %s%s%s", cb.__name, name, table.concat(names, ", "),
    hint and fmt("; did you mean '%s'?", hint) or "", val))
end

--- base.monitored(cb, logs) -> the monitored value, or an error that lists what the logs hold
function base.monitored(cb, logs)
  local v = logs[cb.monitor]
  if v == nil then
    error(fmt("%s: monitor '%s' is not in the logs; available: %s", cb.__name, cb.monitor, base.available(cb.ctx, logs)), 0)
  end
  if type(v) ~= "number" then error(fmt("%s: logs.%s is a %s, expected a number", cb.__name, cb.monitor, type(v)), 0) end
  return v
end

--- base.improved(v, best, mode, delta) -> boolean (NaN never improves)
function base.improved(v, best, mode, delta)
  if v ~= v then return false end
  if best == nil then return true end
  if mode == "min" then return v < best - delta end
  return v > best + delta
end

--- base.param_groups(cb) -> the optimizer's param_groups (for callbacks that set learning rates)
function base.param_groups(cb)
  local opt = cb.ctx and cb.ctx.optimizer
  if not (opt and type(opt.param_groups) == "table") then error(cb.__name .. ": the optimizer has no param_groups", 0) end
  return opt.param_groups
end

-- ---- constructor arguments -----------------------------------------------------

--- base.path_options(who, a, b, known) -> opts: accepts Cls("p", {..}), Cls{"p", ...} and Cls{path = "p", ...}
function base.path_options(who, a, b, known)
  local o = {}
  if type(a) == "string" then
    if b ~= nil and type(b) ~= "table" then checks.fail(fmt("%s: options must be a table, got %s", who, type(b))) end
    for k, v in pairs(b or {}) do o[k] = v end
    if o.path ~= nil then checks.fail(fmt("%s: the path is given twice (as argument 1 and as option 'path')", who)) end
    o.path = a
  elseif type(a) == "table" and b == nil then
    for k, v in pairs(a) do o[k] = v end
    if o[1] ~= nil then
      if o.path ~= nil then checks.fail(fmt("%s: the path is given twice ({\"...\", path = ...})", who)) end
      o.path, o[1] = o[1], nil
    end
  elseif a ~= nil then
    checks.fail(fmt("%s: expected %s(path, [opts]) or %s{path, ...}, got %s", who, who, who, type(a)))
  end
  checks.options(who, o, known, true)
  if type(o.path) ~= "string" or o.path == "" then
    checks.fail(fmt("%s: path must be a file name, got %s", who, checks.show(o.path)))
  end
  return o
end

--- base.integer(who, name, v, min) -> v, an integer >= min
function base.integer(who, name, v, min)
  if math.type(v) ~= "integer" or v < min then
    checks.fail(fmt("%s: %s must be an integer >= %d, got %s", who, name, min, tostring(v)))
  end
  return v
end

--- base.number(who, name, v) -> v, a number (not NaN)
function base.number(who, name, v)
  if type(v) ~= "number" or v ~= v then checks.fail(fmt("%s: %s must be a number, got %s", who, name, tostring(v))) end
  return v
end

-- ---- saved state ---------------------------------------------------------------

--- base.check_state(st, fields) -> nil | message: st.meta's fields have the kinds named ("number", "integer>=0", "integer>=1")
function base.check_state(st, fields)
  if type(st) ~= "table" then return "the state is a " .. type(st) .. ", expected a table" end
  local m = st.meta
  if m == nil then m = {} end
  if type(m) ~= "table" then return "the state's meta is a " .. type(m) .. ", expected a table" end
  if st.tensors ~= nil and type(st.tensors) ~= "table" then return "the state's tensors are not a table" end
  for k in pairs(m) do
    if fields[k] == nil then return fmt("the state has an unknown field '%s'", tostring(k)) end
  end
  for k, kind in pairs(fields) do
    local v = m[k]
    if v ~= nil then
      if kind == "number" then
        if format.number_from_json(v) == nil then return fmt("'%s' is %s, expected a number", k, checks.show(v)) end
      else
        local min = tonumber(kind:match(">=(%d+)$"))
        if math.type(v) ~= "integer" or v < min then return fmt("'%s' is %s, expected an integer >= %d", k, checks.show(v), min) end
      end
    end
  end
end

-- ---- directories (LuaFileSystem) ------------------------------------------------

local lfs = require "lfs"

local function parent_of(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == "" then dir = "/" end
  return dir
end

--- base.check_dir(who, what, path): the directory of path must exist (a file that cannot be written fails before training)
function base.check_dir(who, what, path)
  local dir = parent_of(path)
  if dir == nil or dir:find("{", 1, true) then return end -- the current directory, or filled in per epoch
  local mode, err = lfs.attributes(dir, "mode")
  if mode == "directory" then return end
  err = mode and "Not a directory" or (tostring(err):match(":%s*([^:]+)$") or tostring(err))
  checks.fail(fmt("%s: cannot write %s '%s': directory '%s': %s (create it first)", who, what, path, dir, err))
end

--- base.make_dirs(who, path): creates the missing directories above path (mkdir -p), or raises naming the OS reason
function base.make_dirs(who, path)
  local dir = parent_of(path)
  if dir == nil or lfs.attributes(dir, "mode") == "directory" then return end
  local sofar = dir:sub(1, 1) == "/" and "" or "."
  for part in dir:gmatch("[^/]+") do
    sofar = sofar .. "/" .. part
    local mode = lfs.attributes(sofar, "mode")
    if mode == nil then
      local ok, err = lfs.mkdir(sofar)
      if not ok and lfs.attributes(sofar, "mode") ~= "directory" then
        error(fmt("%s: cannot create directory '%s': %s", who, sofar, tostring(err)), 0)
      end
    elseif mode ~= "directory" then
      error(fmt("%s: cannot create directory '%s': '%s' is not a directory", who, dir, sofar), 0)
    end
  end
end

ml.doc(Callback, "callbacks.Callback:extend(name) -> class — base of callback classes; hooks get self, self.model and self.ctx")
ml.doc(Callback.set_context, "cb:set_context(ctx) — called by fit before training: sets self.ctx and self.model, then calls reset() if there is one")
ml.doc(Callback.say, "cb:say(text) — one line in fit's log, unless fit or the callback (verbose=false) is silent")
ml.doc(Callback.extra_repr, "cb:extra_repr() -> string — the settings tostring(cb) shows: EarlyStopping(monitor='val_loss', patience=3, ...)")
ml.doc(Callback.check_logs, "cb:check_logs(names) — before the first batch: raises when the callback monitors a log fit will not write (listing them)")
ml.doc(base.mode, "base.mode(who, monitor, mode) -> 'min' | 'max' — 'auto' is max for names with acc, auc, f1, score ...")
ml.doc(base.monitor, "base.monitor(who, opts) -> monitor, mode — opts.monitor (a log name, default \"val_loss\") and opts.mode ('auto' by the name)")
ml.doc(base.available, "base.available(ctx, logs) -> string — the names the logs hold, fit's order first")
ml.doc(base.check_monitor, "base.check_monitor(cb, name, names) — raises at the user's line when name is not among the log names, with 'did you mean'")
ml.doc(base.monitored, "base.monitored(cb, logs) -> number — logs[cb.monitor], or an error listing the logs")
ml.doc(base.improved, "base.improved(v, best, mode, delta) -> boolean — whether v beats best by more than delta (NaN never does)")
ml.doc(base.path_options, "base.path_options(who, a, b, known) -> opts — a callback's path given positionally (Cls('p', {...}), Cls{'p', ...}) or as path=")
ml.doc(base.integer, "base.integer(who, name, v, min) -> v — an integer >= min, else an error at the user's line")
ml.doc(base.number, "base.number(who, name, v) -> v — a number (not NaN), else an error at the user's line")
ml.doc(base.check_state, "base.check_state(st, fields) -> nil | message — checks a saved callback state's meta fields before anything is loaded")
ml.doc(base.check_dir, "base.check_dir(who, what, path) — the directory of path must exist (LuaFileSystem), else an error at the user's line naming the OS reason")
ml.doc(base.make_dirs, "base.make_dirs(who, path) — creates the missing directories above path (a templated checkpoint directory), or raises with the OS reason")
ml.doc(base.param_groups, "base.param_groups(cb) -> {group} — the optimizer's parameter groups, whose lr the schedule callbacks set")

return base
