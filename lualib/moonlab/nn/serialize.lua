--- nn serialize: model files and training checkpoints, as safetensors.
--
--   model:save("mlp.safetensors")             -- weights + architecture (JSON in __metadata__)
--   local m = nn.load("mlp.safetensors")       -- rebuilt without the script that made it
--   nn.save_checkpoint("ck.safetensors", { model = m, optimizer = opt, epoch = 3 })
--   local ck = nn.load_checkpoint("ck.safetensors", { model = m, optimizer = opt })  -- ck.epoch == 3
--
-- A model file holds the state_dict tensors under their own names and two
-- metadata strings: "moonlab.format" ("1") and "moonlab.model", the JSON tree
--   {"$module": "Sequential", "args": [[{"$module": "Linear", "args": [4, 8], "path": "1"}, ...]],
--    "path": "", "training": true}
-- One node per module: its class name, its constructor arguments (numbers,
-- strings, booleans, tables, nested modules, and tensors, which are stored
-- as tensors named "_args.N" and referenced as {"$tensor": "_args.N"}) and
-- its place in the model (the prefix of its weights). nn.load calls the
-- constructors again with those arguments, then loads the weights: children
-- made inside init come back by themselves. A class may define
-- constructor_args() to say what to save instead of the arguments it was
-- built with. User classes must be defined (nn.Module:extend) before nn.load.
--
-- A checkpoint is a model file plus: the optimizer's state tensors under
-- "optimizer.", its meta as JSON ("moonlab.optimizer"), the epoch, scheduler
-- state and user extra ("moonlab.checkpoint"), and for fit's resume the seed,
-- generator state, history and callback state ("moonlab.fit", tensors under
-- "callbacks.N."). nn.load reads a checkpoint as a model file.
--
-- Loading never leaves a half-loaded model: everything is read, decoded and
-- checked first; nn.load builds a fresh model, and load_checkpoint puts back
-- what it had already loaded when a later part fails.
local ml = require "moonlab"
local Module = require("moonlab.nn.module").Module

local M = {}
local fmt = string.format
local huge = math.huge
local FORMAT = "1"
local RESERVED = { "optimizer.", "callbacks.", "scheduler.", "_args." }

local function check_options(fn, opts, known) return require("moonlab.checks").options(fn, opts, known, true) end

local function strip(err, prefix)
  err = tostring(err)
  err = err:gsub("^[^%s:]+:%d+: ", "") -- a position added by error()
  if prefix then err = err:gsub("^" .. prefix:gsub("%p", "%%%0"), "") end
  return err
end

local function reserved(name)
  for _, p in ipairs(RESERVED) do
    if name:sub(1, #p) == p then return p end
  end
end

-- ---- JSON-safe numbers (NaN and infinities travel as strings) ------------------------

local function safe(v, depth)
  depth = depth or 0
  if depth > 64 then error("nesting too deep", 0) end
  if type(v) == "number" then
    if v ~= v then return "nan" elseif v == huge then return "inf" elseif v == -huge then return "-inf" end
    return v
  end
  if type(v) ~= "table" or ml.is_tensor(v) then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = safe(x, depth + 1) end
  if next(out) == nil and getmetatable(v) then setmetatable(out, getmetatable(v)) end
  return out
end

local function unsafe(v)
  if v == "nan" then return 0 / 0 elseif v == "inf" then return huge elseif v == "-inf" then return -huge end
  if v == ml.json.null then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = unsafe(x) end
  return out
end

-- ---- writing ------------------------------------------------------------------------------

-- The architecture tree of model (see the top of the file); tensor arguments go into tensors.
local function describe(model, tensors, fn)
  local paths = {}
  for _, m in ipairs(model:named_modules()) do paths[m[2]] = m[1] end
  local nt = 0
  local node
  local function value(v, where, depth)
    if depth > 64 then error(fmt("%s: constructor arguments nest too deep at %s", fn, where), 0) end
    local tv = type(v)
    if v == nil then return ml.json.null end
    if tv == "boolean" or tv == "string" then return v end
    if tv == "number" then
      if v ~= v or v == huge or v == -huge then
        error(fmt("%s: %s is %s, which JSON cannot hold", fn, where, tostring(v)), 0)
      end
      return v
    end
    if ml.is_tensor(v) then
      nt = nt + 1
      local name = "_args." .. nt
      tensors[name] = v
      return { ["$tensor"] = name }
    end
    if Module.is_module(v) then return node(v, depth + 1) end
    if tv == "table" and getmetatable(v) == nil then
      local n, maxk, nstr = 0, 0, 0
      for k in pairs(v) do
        n = n + 1
        if math.type(k) == "integer" and k > 0 then maxk = math.max(maxk, k)
        elseif type(k) == "string" then nstr = nstr + 1
        else error(fmt("%s: %s has a key %s; only strings and 1..n can be saved", fn, where, tostring(k)), 0) end
      end
      if nstr == 0 and maxk == n then
        local out = ml.json.array()
        for i = 1, n do out[i] = value(v[i], fmt("%s[%d]", where, i), depth + 1) end
        return out
      elseif nstr == n then
        local out = {}
        for k, x in pairs(v) do out[k] = value(x, where .. "." .. k, depth + 1) end
        return out
      end
      error(fmt("%s: %s mixes list items and named fields (or has holes); it cannot be saved", fn, where), 0)
    end
    error(fmt("%s: %s is a %s, which cannot be saved (constructor arguments must be numbers, strings, " ..
      "booleans, tables, tensors or modules; a class can define constructor_args())", fn, where,
      tv == "table" and "table with a metatable" or tv), 0)
  end
  function node(m, depth)
    local cls = getmetatable(m)
    local name = cls.__name
    if Module.class_of(name) ~= cls then
      error(fmt("%s: class '%s' is not the class registered under that name (two classes named '%s'?), " ..
        "so nn.load could not rebuild it", fn, name, name), 0)
    end
    local args
    if type(m.constructor_args) == "function" then args = m:constructor_args() else args = rawget(m, "_args") end
    args = args or { n = 0 }
    local out = ml.json.array()
    for i = 1, args.n or #args do out[i] = value(args[i], fmt("argument %d of %s", i, name), depth) end
    return { ["$module"] = name, args = out, path = paths[m] }
  end
  local root = node(model, 0)
  root.training = rawget(model, "training") ~= false
  return root
end

-- tensors and metadata of a model file
local function model_parts(model, fn)
  if not Module.is_module(model) then error(fmt("%s: expected a module, got %s", fn, type(model)), 0) end
  local tensors = {}
  for name, t in pairs(model:state_dict()) do
    local p = reserved(name)
    if p then error(fmt("%s: the model's tensor '%s' starts with '%s', which model files reserve; rename that field", fn, name, p), 0) end
    tensors[name] = t
  end
  local arch = describe(model, tensors, fn)
  local ok, text = pcall(ml.json.encode, arch)
  if not ok then error(fn .. ": " .. strip(text), 0) end
  return tensors, { ["moonlab.format"] = FORMAT, ["moonlab.model"] = text }
end

local function add_metadata(meta, extra, fn)
  if extra == nil then return end
  if type(extra) ~= "table" then error(fn .. ": metadata must be a table of strings", 0) end
  for k, v in pairs(extra) do
    if type(k) ~= "string" or type(v) ~= "string" then error(fn .. ": metadata keys and values must be strings", 0) end
    meta[k] = v
  end
end

local function write(path, tensors, meta, fn)
  local ok, err = pcall(ml.save, path, tensors, { metadata = meta })
  if not ok then error(fn .. ": " .. strip(err, "ml.save: "), 0) end
end

--- model:save(path, [{metadata = {key = string}}]): writes the weights and the architecture (safetensors); nn.load reads it back.
function Module:save(path, opts)
  if type(path) ~= "string" then error("model:save: expected a file path, got " .. type(path), 2) end
  opts = check_options("model:save", opts, { "metadata" })
  local ok, err = pcall(function()
    local tensors, meta = model_parts(self, "model:save")
    add_metadata(meta, opts.metadata, "model:save")
    write(path, tensors, meta, "model:save")
  end)
  if not ok then error(err, 2) end
end

local function class_name(o)
  local mt = getmetatable(o)
  return (type(o) == "table" and rawget(o, "__name")) or (mt and mt.__name) or (type(o) == "table" and o.__name) or nil
end

local function split_state(st, fn, what)
  if type(st) ~= "table" then error(fmt("%s: %s:state_dict() returned a %s, expected {tensors = ..., meta = ...}", fn, what, type(st)), 0) end
  if st.tensors == nil and st.meta == nil then return {}, st end -- a plain JSON-able table
  if st.tensors ~= nil and type(st.tensors) ~= "table" then error(fmt("%s: %s state tensors must be a table", fn, what), 0) end
  return st.tensors or {}, st.meta
end

local function encode(v, fn, what)
  local ok, text = pcall(ml.json.encode, safe(v))
  if not ok then error(fmt("%s: %s cannot be written as JSON: %s", fn, what, strip(text, "ml.json.encode: ")), 0) end
  return text
end

--- nn.save_checkpoint(path, {model, [optimizer], [epoch], [scheduler], [extra]}): a model file plus the optimizer state, the epoch and more, to resume training.
function M.save_checkpoint(path, parts)
  local fn = "nn.save_checkpoint"
  if type(path) ~= "string" then error(fn .. ": expected a file path, got " .. type(path), 2) end
  if type(parts) ~= "table" then error(fn .. ": expected {model = ..., optimizer = ..., epoch = ...}", 2) end
  check_options(fn, parts, { "model", "optimizer", "epoch", "scheduler", "extra", "fit", "metadata" })
  if parts.epoch ~= nil and math.type(parts.epoch) ~= "integer" then error(fn .. ": epoch must be an integer", 2) end
  local ok, err = pcall(function()
    local tensors, meta = model_parts(parts.model, fn)
    local info = { epoch = parts.epoch, extra = parts.extra }
    if parts.optimizer ~= nil then
      local o = parts.optimizer
      if type(o) ~= "table" or type(o.state_dict) ~= "function" then error(fn .. ": optimizer has no state_dict()", 0) end
      local ts, m = split_state(o:state_dict(), fn, "the optimizer")
      for name, t in pairs(ts) do tensors["optimizer." .. name] = t end
      meta["moonlab.optimizer"] = encode({ class = class_name(o), meta = m }, fn, "the optimizer state")
    end
    if parts.scheduler ~= nil then
      local s = parts.scheduler
      if type(s) ~= "table" or type(s.state_dict) ~= "function" then error(fn .. ": scheduler has no state_dict()", 0) end
      local ts, m = split_state(s:state_dict(), fn, "the scheduler")
      for name, t in pairs(ts) do tensors["scheduler." .. name] = t end
      info.scheduler = { class = class_name(s), meta = m, tensors = next(ts) ~= nil }
    end
    if parts.fit ~= nil then
      local f = parts.fit
      local cbs = ml.json.array()
      for i, c in ipairs(f.callbacks or {}) do
        local st = c.state or {}
        for name, t in pairs(st.tensors or {}) do tensors["callbacks." .. i .. "." .. name] = t end
        cbs[i] = { class = c.class, meta = st.meta }
      end
      meta["moonlab.fit"] = encode({ seed = f.seed, rng = f.rng, history = f.history, callbacks = cbs }, fn, "fit's state")
    end
    meta["moonlab.checkpoint"] = encode(info, fn, "extra")
    add_metadata(meta, parts.metadata, fn)
    write(path, tensors, meta, fn)
  end)
  if not ok then error(err, 2) end
end

-- ---- reading ---------------------------------------------------------------------------------

local function read(path, fn)
  if type(path) ~= "string" then error(fmt("%s: expected a file path, got %s", fn, type(path)), 0) end
  local ok, t, meta = pcall(ml.load, path)
  if not ok then error(fn .. ": " .. strip(t, "ml.load: "), 0) end
  if ml.is_tensor(t) then t = { tensor = t } end
  return t, meta or {}
end

local function decode(meta, key, path, fn)
  local s = meta[key]
  if s == nil then return nil end
  local ok, v = pcall(ml.json.decode, s)
  if not ok then
    error(fmt("%s: '%s': metadata '%s' is not valid JSON: %s; the file is damaged", fn, path, key, strip(v, "ml.json.decode: ")), 0)
  end
  return v
end

local function model_state(tensors)
  local sd = {}
  for name, t in pairs(tensors) do
    if not reserved(name) then sd[name] = t end
  end
  return sd
end

-- The keys a module node and a tensor reference may have.
local MODULE_KEYS = { ["$module"] = true, args = true, path = true, training = true }

local function build(v, tensors, path, fn, depth)
  if depth > 64 then error(fmt("%s: '%s': the architecture nests too deep", fn, path), 0) end
  if v == ml.json.null then return nil end
  if type(v) ~= "table" then return v end
  local name = v["$module"]
  if name ~= nil then
    if type(name) ~= "string" then error(fmt("%s: '%s': a module node has no class name; the file is damaged", fn, path), 0) end
    local unknown = {}
    for k in pairs(v) do if not MODULE_KEYS[k] then unknown[#unknown + 1] = tostring(k) end end
    if #unknown > 0 then
      table.sort(unknown)
      error(fmt("%s: '%s': the architecture's node of %s%s has an unknown key '%s' (known: $module, args, path, training); "
        .. "the file is damaged or from a newer moonlab", fn, path, name,
        type(v.path) == "string" and (v.path == "" and " (the model)" or fmt(" (at '%s')", v.path)) or "", unknown[1]), 0)
    end
    local cls = Module.class_of(name)
    if not cls then
      error(fmt("%s: '%s' holds a model of class '%s', which is not defined; define it " ..
        "(nn.Module:extend(\"%s\") with its init and forward) before loading", fn, path, name, name), 0)
    end
    local args = v.args or {}
    if type(args) ~= "table" then error(fmt("%s: '%s': the arguments of %s are not a list; the file is damaged", fn, path, name), 0) end
    local n = #args
    local vals = {}
    for i = 1, n do vals[i] = build(args[i], tensors, path, fn, depth + 1) end
    local ok, m = pcall(cls, table.unpack(vals, 1, n))
    if not ok then error(fmt("%s: '%s': rebuilding %s failed: %s", fn, path, name, strip(m)), 0) end
    return m
  end
  local tname = v["$tensor"]
  if tname ~= nil then
    for k in pairs(v) do
      if k ~= "$tensor" then
        error(fmt("%s: '%s': the architecture's reference to tensor '%s' has an unknown key '%s'; the file is damaged",
          fn, path, tostring(tname), tostring(k)), 0)
      end
    end
    local t = tensors[tname]
    if not t then error(fmt("%s: '%s': the architecture names tensor '%s', which the file lacks", fn, path, tostring(tname)), 0) end
    return t
  end
  local out = {}
  for k, x in pairs(v) do out[k] = build(x, tensors, path, fn, depth + 1) end
  return out
end

local function rebuild(path, tensors, meta, fn)
  local format = meta["moonlab.format"]
  if format == nil then
    local st = path:lower():match("%.safetensors$") ~= nil
    error(fmt("%s: '%s' is not a moonlab model file (expected a .safetensors file written by model:save%s)%s", fn, path,
      st and "; this one has no 'moonlab.format' metadata" or "", st and "; ml.load reads plain tensor files" or ""), 0)
  end
  if format ~= FORMAT then
    error(fmt("%s: '%s' has model format '%s'; this moonlab reads format %s", fn, path, format, FORMAT), 0)
  end
  local arch = decode(meta, "moonlab.model", path, fn)
  if type(arch) ~= "table" or type(arch["$module"]) ~= "string" then
    error(fmt("%s: '%s' has no model architecture ('moonlab.model' metadata); the file is damaged", fn, path), 0)
  end
  -- constructors draw initial weights: keep the caller's random stream as it was
  local state = ml.random_state()
  local ok, model = pcall(build, arch, tensors, path, fn, 0)
  ml.set_random_state(state)
  if not ok then error(model, 0) end
  if not Module.is_module(model) then error(fmt("%s: '%s': the architecture did not give a module", fn, path), 0) end
  local ok2, err = pcall(model.load_state_dict, model, model_state(tensors))
  if not ok2 then
    error(fmt("%s: '%s': the weights do not fit the model the file describes: %s", fn, path, strip(err, "load_state_dict: ")), 0)
  end
  model:train(arch.training ~= false)
  return model
end

--- nn.load(path) -> model: rebuilds a model written by model:save (or a checkpoint) with its weights.
function M.load(path)
  local ok, r = pcall(function()
    local tensors, meta = read(path, "nn.load")
    return rebuild(path, tensors, meta, "nn.load")
  end)
  if not ok then error(r, 2) end
  return r
end

--- model:load_weights(path) -> model: copies the weights of a model file or checkpoint into this model (all checked first).
function Module:load_weights(path)
  local fn = "model:load_weights"
  local ok, err = pcall(function()
    local tensors = read(path, fn)
    local ok2, e = pcall(self.load_state_dict, self, model_state(tensors))
    if not ok2 then error(fmt("%s: '%s' does not fit this model: %s", fn, path, strip(e, "load_state_dict: ")), 0) end
  end)
  if not ok then error(err, 2) end
  return self
end

local function clone_state(v)
  if ml.is_tensor(v) then return v:detach():clone() end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = clone_state(x) end
  return setmetatable(out, getmetatable(v))
end

--- nn.load_checkpoint(path, [{model, optimizer, scheduler}]) -> {epoch, extra, model, model_state, optimizer_state, ...}: reads a checkpoint and loads it into the given objects.
function M.load_checkpoint(path, targets)
  local fn = "nn.load_checkpoint"
  if targets ~= nil and type(targets) ~= "table" then error(fn .. ": options must be a table {model, optimizer, scheduler}", 2) end
  check_options(fn, targets, { "model", "optimizer", "scheduler" })
  targets = targets or {}
  local ok, r = pcall(function()
    local tensors, meta = read(path, fn)
    if meta["moonlab.checkpoint"] == nil then
      if meta["moonlab.format"] == nil then
        error(fmt("%s: '%s' is not a moonlab checkpoint (expected a .safetensors file written by nn.save_checkpoint or ModelCheckpoint)", fn, path), 0)
      end
      error(fmt("%s: '%s' is not a checkpoint (no 'moonlab.checkpoint' metadata); a model file loads with nn.load", fn, path), 0)
    end
    local info = decode(meta, "moonlab.checkpoint", path, fn)
    if type(info) ~= "table" then error(fmt("%s: '%s': damaged checkpoint metadata", fn, path), 0) end
    local ck = { epoch = info.epoch, extra = unsafe(info.extra), metadata = meta }
    if info.epoch ~= nil and math.type(info.epoch) ~= "integer" then error(fmt("%s: '%s': the epoch is not an integer", fn, path), 0) end

    local opt_t, sched_t, cb_t = {}, {}, {}
    for name, t in pairs(tensors) do
      local p = reserved(name)
      if p == "optimizer." then opt_t[name:sub(#p + 1)] = t
      elseif p == "scheduler." then sched_t[name:sub(#p + 1)] = t
      elseif p == "callbacks." then
        local i, rest = name:match("^callbacks%.(%d+)%.(.+)$")
        if not i then error(fmt("%s: '%s': unexpected tensor '%s'", fn, path, name), 0) end
        i = tonumber(i)
        cb_t[i] = cb_t[i] or {}
        cb_t[i][rest] = t
      end
    end
    ck.model_state = model_state(tensors)
    local om = decode(meta, "moonlab.optimizer", path, fn)
    if om ~= nil then
      ck.optimizer_class = om.class
      ck.optimizer_state = { tensors = opt_t, meta = unsafe(om.meta) }
    end
    if type(info.scheduler) == "table" then
      ck.scheduler_state = info.scheduler.tensors and { tensors = sched_t, meta = unsafe(info.scheduler.meta) } or unsafe(info.scheduler.meta)
    end
    local f = decode(meta, "moonlab.fit", path, fn)
    if f ~= nil then
      local cbs = {}
      for i, c in ipairs(f.callbacks or {}) do
        cbs[i] = { class = c.class, state = { meta = unsafe(c.meta), tensors = cb_t[i] or {} } }
      end
      ck.fit = { seed = f.seed, rng = f.rng, history = unsafe(f.history), callbacks = cbs }
    end

    -- into the targets; on a failure, put back what was already loaded
    local undo = {}
    local function load_into(what, obj, state, snapshot)
      local ok2, e = pcall(obj.load_state_dict, obj, state)
      if ok2 then undo[#undo + 1] = function() obj:load_state_dict(snapshot) end; return end
      for i = #undo, 1, -1 do pcall(undo[i]) end
      error(fmt("%s: '%s': %s", fn, path, what .. ": " .. strip(e, "load_state_dict: ")), 0)
    end
    if targets.model then
      local m = targets.model
      if not Module.is_module(m) then error(fn .. ": option 'model' must be a module", 0) end
      local snap = {}
      for name, t in pairs(m:state_dict()) do snap[name] = t:detach():clone() end
      load_into("the weights do not fit the model", m, ck.model_state, snap)
      ck.model = m
    elseif meta["moonlab.model"] then
      ck.model = rebuild(path, tensors, meta, fn)
    end
    for _, part in ipairs({ { "optimizer", ck.optimizer_state, ck.optimizer_class }, { "scheduler", ck.scheduler_state, info.scheduler and info.scheduler.class } }) do
      local what, state, cls = part[1], part[2], part[3]
      local obj = targets[what]
      if obj ~= nil then
        if state == nil then
          for i = #undo, 1, -1 do pcall(undo[i]) end
          error(fmt("%s: '%s' holds no %s state", fn, path, what), 0)
        end
        local have = class_name(obj)
        if cls and have and cls ~= have then
          for i = #undo, 1, -1 do pcall(undo[i]) end
          error(fmt("%s: '%s' holds %s state, but the %s is a %s", fn, path, cls, what, have), 0)
        end
        load_into("the " .. what .. " state does not load", obj, state, clone_state(obj:state_dict()))
      end
    end
    return ck
  end)
  if not ok then error(r, 2) end
  return r
end

if ml.doc then
  ml.doc(Module.save, "model:save(path, [{metadata}]) — writes the weights and the architecture (JSON) as safetensors; nn.load rebuilds the model from it")
  ml.doc(Module.load_weights, "model:load_weights(path) -> model — copies the weights of a model file or checkpoint in, after checking every name and shape")
  ml.doc(M.load, "nn.load(path) -> model — rebuilds a model saved by model:save (or a checkpoint): architecture and weights")
  ml.doc(M.save_checkpoint, "nn.save_checkpoint(path, {model, optimizer, epoch, scheduler, extra}) — a model file plus optimizer state and epoch, to resume training")
  ml.doc(M.load_checkpoint, "nn.load_checkpoint(path, [{model, optimizer, scheduler}]) -> {epoch, extra, model, ...} — reads a checkpoint and loads it into the given objects, all or nothing")
end

return M
