--- callbacks.ModelCheckpoint: writes checkpoints that fit can resume from.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local base = require "moonlab.callbacks.base"

local fmt = string.format
local ModelCheckpoint = base.Callback:extend("ModelCheckpoint")
ModelCheckpoint.repr_fields = { "path", "monitor", "mode", "save_best_only", "last_path" }

local OPTIONS = { "path", "monitor", "mode", "save_best_only", "save_last", "verbose" }

-- The save_last = true path: one file, overwritten every epoch. The file
-- name's template fields go (with the separator before each), then ".last"
-- comes before the extension: "ck/m-{epoch:02d}-{val_loss:.4f}.safetensors" ->
-- "ck/m.last.safetensors", "{epoch}.safetensors" -> "last.safetensors".
-- Fields in the directory part stay and are filled in each epoch, as Keras
-- formats the whole path: "runs/e{epoch:02d}/ck-{loss:.3f}.safetensors" ->
-- "runs/e03/ck.last.safetensors" at epoch 3, next to that epoch's file.
local function last_path_of(path)
  local dir, file = path:match("^(.*/)([^/]*)$")
  if not dir then dir, file = "", path end
  local stem, ext = file:match("^(.*)(%.[%w_]+)$")
  if not stem then stem, ext = file, "" end
  stem = stem:gsub("[-_.]?{[^}]*}", ""):gsub("^[-_.]+", "")
  if stem == "" then return dir .. "last" .. ext end
  return dir .. stem .. ".last" .. ext
end

local function save_last_path(path, v)
  if v == true then return last_path_of(path) end
  if type(v) == "string" and v ~= "" then
    if v:find("{[^}]*}") then
      checks.fail("ModelCheckpoint: save_last names one file, overwritten every epoch; it cannot hold {fields}: " .. v)
    end
    return v
  end
  if v ~= nil and v ~= false then checks.fail("ModelCheckpoint: save_last must be a boolean or a path") end
  return nil
end

--- ModelCheckpoint(path, [opts]) | ModelCheckpoint{path, monitor="val_loss", mode="auto", save_best_only=false, save_last=false, verbose=true}: writes checkpoints fit can resume from.
function ModelCheckpoint:init(a, b)
  local who = "ModelCheckpoint"
  local o = base.path_options(who, a, b, OPTIONS)
  self.path = o.path
  self.monitor_given = o.monitor ~= nil
  self.monitor, self.mode = base.monitor(who, o)
  self.save_best_only = o.save_best_only and true or false
  -- without save_best_only or a named monitor, the monitored value only feeds the best value in the files
  self.monitor_required = self.save_best_only or self.monitor_given
  self.last_path = save_last_path(o.path, o.save_last)
  if self.last_path == self.path then checks.fail(who .. ": save_last names the same file as path (" .. self.path .. ")") end
  base.check_dir(who, "path", self.path)
  if self.last_path then base.check_dir(who, "save_last", self.last_path) end
  self.verbose = o.verbose ~= false
  self:reset()
end

function ModelCheckpoint:reset() self.best, self.best_epoch = nil, nil end

local function template_fields(path)
  local out = {}
  for key in path:gmatch("{([%w_]+):?[^}]*}") do if key ~= "epoch" then out[#out + 1] = key end end
  return out
end

function ModelCheckpoint:check_logs(names)
  base.Callback.check_logs(self, names)
  for _, key in ipairs(template_fields(self.path)) do
    local found = false
    for _, k in ipairs(names) do if k == key then found = true end end
    if not found then
      local hint = checks.suggest(key, names)
      checks.fail(fmt("ModelCheckpoint: path names {%s}, which is not in the logs; available: epoch, %s%s", key,
        table.concat(names, ", "), hint and fmt("; did you mean '%s'?", hint) or ""))
    end
  end
end

local function fill(self, template, epoch, logs)
  return (template:gsub("{([%w_]+):?([^}]*)}", function(key, spec)
    local v = key == "epoch" and epoch or logs[key]
    if v == nil then error(fmt("ModelCheckpoint: path names {%s}, which is not in the logs; available: epoch, %s", key, base.available(self.ctx, logs)), 0) end
    if spec == "" then return key == "epoch" and tostring(v) or fmt("%.4f", v) end
    return fmt("%" .. spec, v)
  end))
end

function ModelCheckpoint:format_path(epoch, logs)
  return fill(self, self.path, epoch, logs)
end

function ModelCheckpoint:format_path_last(epoch, logs)
  if not self.last_path or not self.last_path:find("{", 1, true) then return self.last_path end
  return fill(self, self.last_path, epoch, logs or {})
end

function ModelCheckpoint:write(path, epoch)
  local nn = require "moonlab.nn"
  base.make_dirs("ModelCheckpoint", path)
  local best = ml.json.encode({ monitor = self.monitor, mode = self.mode, value = format.json_number(self.best), epoch = self.best_epoch })
  nn.save_checkpoint(path, {
    model = self.model, optimizer = self.ctx.optimizer, epoch = epoch, fit = self.ctx.fit_state(),
    metadata = { ["moonlab.best"] = best },
  })
end

-- The monitor is checked when it was named, or when save_best_only needs it;
-- otherwise (every epoch saved) it only feeds the best value stored in the
-- files, when the logs have it.
function ModelCheckpoint:after_epoch(epoch, logs)
  local v = logs[self.monitor]
  if self.monitor_required then v = base.monitored(self, logs) end
  local better = v ~= nil and base.improved(v, self.best, self.mode, 0)
  if better then self.best, self.best_epoch = v, epoch end
  if better or not self.save_best_only then
    local path = self:format_path(epoch, logs)
    self:write(path, epoch)
    if self.save_best_only then
      self:say(fmt("ModelCheckpoint: %s improved to %s at epoch %d; saved %s", self.monitor, format.number(v), epoch, path))
    end
  end
  if self.last_path then self:write(self:format_path_last(epoch, logs), epoch) end
end

function ModelCheckpoint:state_dict()
  return { meta = { best = format.json_number(self.best), best_epoch = self.best_epoch } }
end

--- ckpt:validate_state(st) -> nil | message
function ModelCheckpoint:validate_state(st)
  return base.check_state(st, { best = "number", best_epoch = "integer>=1" })
end

function ModelCheckpoint:load_state_dict(st)
  local msg = self:validate_state(st)
  if msg then checks.fail("ModelCheckpoint:load_state_dict: " .. msg) end
  local m = st.meta or {}
  self.best, self.best_epoch = format.number_from_json(m.best), m.best_epoch
end

ml.doc(ModelCheckpoint, "callbacks.ModelCheckpoint(path, [opts]) | ModelCheckpoint{path, monitor=\"val_loss\", mode=\"auto\", save_best_only=false, save_last=false|true|path, verbose=true} — writes checkpoints (best and/or last) that fit can resume from; path may hold {epoch}, {val_loss:.4f}; the last file is one file, overwritten every epoch")
ml.doc(ModelCheckpoint.init, "ModelCheckpoint:init(path | {path, ...}, [opts]) — the constructor (ModelCheckpoint(...) calls it)")
ml.doc(ModelCheckpoint.reset, "ckpt:reset() — forgets the best value and epoch")
ml.doc(ModelCheckpoint.check_logs, "ckpt:check_logs(names) — before training: the monitor (when named or save_best_only) and the path's {fields} must be logs fit writes")
ml.doc(ModelCheckpoint.format_path, "ckpt:format_path(epoch, logs) -> path — fills {epoch} and {log_name[:format]} in the path")
ml.doc(ModelCheckpoint.format_path_last, "ckpt:format_path_last([epoch, logs]) -> path — the save_last file: one file, overwritten every epoch (save_last = true: the file name without its {fields}, plus .last; fields in the directory filled in)")
ml.doc(ModelCheckpoint.write, "ckpt:write(path, epoch) — writes a checkpoint: model, optimizer, epoch and fit's state (nn.save_checkpoint), creating a templated directory")
ml.doc(ModelCheckpoint.after_epoch, "ckpt:after_epoch(epoch, logs) — after every on_epoch_end: writes the checkpoint (only on improvement with save_best_only) and the last one")
ml.doc(ModelCheckpoint.state_dict, "ckpt:state_dict() -> {meta} — the best value and epoch")
ml.doc(ModelCheckpoint.validate_state, "ckpt:validate_state(st) -> nil | message — whether a saved state loads (checked before a resumed fit changes anything)")
ml.doc(ModelCheckpoint.load_state_dict, "ckpt:load_state_dict(st) — restores the best value and epoch")

return ModelCheckpoint
