--- nn serialize: model files and training checkpoints, as safetensors.
--
--   model:save("mlp.safetensors")             -- weights + architecture (JSON in __metadata__)
--   local m = nn.load("mlp.safetensors")       -- rebuilt without the script that made it
--   nn.save_checkpoint("ck.safetensors", { model = m, optimizer = opt, epoch = 3 })
--   local ck = nn.load_checkpoint("ck.safetensors", { model = m, optimizer = opt })  -- ck.epoch == 3
--
-- Files go through core/persist (its file, JSON and argument codecs, and its
-- allocation budget). A model file holds the state_dict tensors under their own
-- names and metadata strings: "moonlab.format" ("1"), "moonlab.model", the
-- JSON tree
--   {"$module": "Sequential", "args": [[{"$module": "Linear", "args": [4, 8], "path": "1"}, ...]],
--    "path": "", "training": true, "children": [{"key": 1, "node": {...}}, ...]}
-- and, for a compiled model, "moonlab.compile" (the loss node, the metric
-- names, the optimizer's class and options). One node per module: its class
-- name, its constructor arguments (numbers, strings, booleans, tables,
-- nested modules, and tensors, which are stored as tensors named "_args.N"
-- and referenced as {"$tensor": "_args.N"}), its place in the model (the
-- prefix of its weights), its own "parameters" and "buffers" by name, and
-- its children as they are when saved ({"key": k, "node": ...}, or
-- {"key": k, "ref": "path"} for a module already saved at that path: shared
-- modules come back as one object). nn.load
-- calls the constructors again with those arguments, then puts back each child that
-- was replaced or added after construction (seq[3] = nn.Linear(4, 5),
-- net.head = ...) from its own node, makes the parameters and buffers a
-- node lists that its module lacks (added after construction), removes those
-- the constructor made that the node does not list (l.bias = nil), puts the
-- shared modules in, then loads the weights. The constructors' tensor
-- storage is capped by what the file holds (persist.with_budget). A class may
-- define constructor_args() to say what to save instead of the arguments it
-- was built with. User classes must be defined (nn.Module:extend) before
-- nn.load. Files without "children" (older ones) load as before.
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
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local persist = require "moonlab.core.persist"
local format = require "moonlab.core.format"
local Module = require("moonlab.nn.module").Module

local M = {}
local fmt = string.format
local strip, reserved, unsafe, decode = persist.strip, persist.reserved, persist.from_json, persist.decode
local excerpt, quote_error = format.excerpt, persist.quote_error
local FORMAT = persist.FORMAT
local is_module = Module.is_module

local function check_options(fn, opts, known) return checks.options(fn, opts, known, true) end

-- ---- writing ------------------------------------------------------------------------------

local function module_node(m, ctx, depth)
  if depth > 64 then error(fmt("%s: the model nests deeper than 64 levels (a module that contains itself?)", ctx.fn), 0) end
  local cls = getmetatable(m)
  local name = cls.__name
  if Module.class_of(name) ~= cls then
    error(fmt("%s: class '%s' is not the class registered under that name (two classes named '%s'?), " ..
      "so nn.load could not rebuild it", ctx.fn, name, name), 0)
  end
  local bad = rawget(cls, "_container") and m._bad_elements and m._bad_elements(m)
  if bad then error(fmt("%s: %s", ctx.fn, bad), 0) end
  ctx.in_args = (ctx.in_args or 0) + 1
  local node = { ["$module"] = name, args = persist.encode_args(m, ctx, name, depth), path = ctx.paths and ctx.paths[m] }
  ctx.in_args = ctx.in_args - 1
  -- its own parameters and buffers by name: those added after construction are made again on load
  local params, buffers, frozen = ml.json.array(), ml.json.array(), ml.json.array()
  local bset = rawget(m, "_buffers") or {}
  for _, k in ipairs(Module._ordered_keys(m)) do
    local v = rawget(m, k)
    if type(k) == "string" and ml.is_tensor(v) then
      if bset[k] then buffers[#buffers + 1] = k
      elseif Module.is_parameter(m, k, v) then
        params[#params + 1] = k
        if not v:is_requires_grad() then frozen[#frozen + 1] = k end
      end
    end
  end
  if #params > 0 then node.parameters = params end
  if #frozen > 0 then node.frozen = frozen end
  if #buffers > 0 then node.buffers = buffers end
  -- the children as they are now (they may differ from what the constructor makes); a child
  -- that is the same object as an earlier one is a reference to that one's path
  local children = ml.json.array()
  ctx.visiting = ctx.visiting or {}
  ctx.saved = ctx.saved or {}
  ctx.visiting[m] = true
  if ctx.in_args == 0 then ctx.saved[m] = true end
  for _, k in ipairs(Module._ordered_keys(m)) do
    local v = rawget(m, k)
    if is_module(v) and ctx.visiting[v] then
      error(fmt("%s: the model has a cycle: %s.%s is a %s that contains it (a module inside itself), " ..
        "which a model file cannot describe", ctx.fn, name, tostring(k), getmetatable(v).__name), 0)
    end
    if is_module(v) then
      if ctx.in_args == 0 and ctx.saved[v] and ctx.paths and ctx.paths[v] then
        children[#children + 1] = { key = k, ref = ctx.paths[v] }
      else
        children[#children + 1] = { key = k, node = module_node(v, ctx, depth + 1) }
      end
    end
  end
  ctx.visiting[m] = nil
  if #children > 0 then node.children = children end
  return node
end

--- model:persist_node(ctx, depth) -> the JSON node of this module for core/persist (class, arguments, children)
function Module:persist_node(ctx, depth)
  if type(ctx) ~= "table" or type(ctx.tensors) ~= "table" then
    checks.fail("model:persist_node: expected core/persist's context {fn = name, tensors = {}}, got " .. type(ctx))
  end
  ctx.fn = ctx.fn or "model:persist_node"
  return module_node(self, ctx, math.type(depth) == "integer" and depth or 0)
end

-- What compile set that can be rebuilt: the loss (a module), the built-in
-- metrics by name, the optimizer's class and options. A loss that is a plain
-- function cannot be saved, and then nothing of compile is.
local function compile_record(model, ctx)
  local c = rawget(model, "_compiled")
  if type(c) ~= "table" or not is_module(c.loss) then return nil end
  local rec = { loss = module_node(c.loss, ctx, 0), metrics = ml.json.array() }
  for _, m in ipairs(c.metrics or {}) do
    if not m.custom then rec.metrics[#rec.metrics + 1] = m.name end
  end
  local opt = c.optimizer
  if type(opt) == "table" and type(opt.missing_record) == "table" then
    rec.optimizer = opt.missing_record -- loaded without its class: saved again as it was
    return rec
  end
  local oname = class.name_of(opt)
  if oname and type(opt.param_groups) == "table" and opt.option_list then
    local g = opt.param_groups[1] or opt.defaults
    local options = {}
    for _, k in ipairs(opt.option_list) do options[k] = g[k] end
    rec.optimizer = { class = oname, options = options }
  end
  return rec
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
  local ctx = { fn = fn, tensors = tensors, paths = {} }
  for _, m in ipairs(model:named_modules()) do ctx.paths[m[2]] = m[1] end
  local arch = module_node(model, ctx, 0)
  arch.training = rawget(model, "training") ~= false
  local ok, text = pcall(ml.json.encode, arch)
  if not ok then error(fn .. ": " .. strip(text), 0) end
  local meta = { ["moonlab.format"] = FORMAT, ["moonlab.model"] = text }
  ctx.saved = {} -- the loss shares nothing with the model
  local rec = compile_record(model, ctx)
  if rec then meta["moonlab.compile"] = persist.encode(rec, fn, "the compile settings") end
  return tensors, meta
end

--- model:persist_parts(fn) -> tensors, metadata: what a model file holds (core/persist's protocol)
function Module:persist_parts(fn) return model_parts(self, fn or "model:save") end

local add_metadata, write = persist.add_metadata, persist.write

-- A preprocessing pipeline carried by a model file (model:save's pipeline option): its
-- tensors under "pipeline.", its description (core/persist's object node) as "moonlab.pipeline".
local function add_pipeline(tensors, meta, pipeline, fn)
  local pt, pmeta = persist.parts(pipeline, fn)
  for k, t in pairs(pt) do
    if tensors["pipeline." .. k] then error(fmt("%s: the model has a tensor 'pipeline.%s', which the pipeline's state needs; rename that field", fn, k), 0) end
    tensors["pipeline." .. k] = t
  end
  meta["moonlab.pipeline"] = pmeta["moonlab.object"]
end

--- model:save(path, [{metadata = {key = string}, pipeline = p}]): writes the weights and the architecture (safetensors),
-- and the fitted preprocessing pipeline p when given; nn.load reads it back (model.pipeline).
function Module:save(path, opts)
  if type(path) ~= "string" then checks.fail("model:save: expected a file path, got " .. type(path)) end
  opts = check_options("model:save", opts, { "metadata", "pipeline" })
  local ok, err = pcall(function()
    local tensors, meta = model_parts(self, "model:save")
    if opts.pipeline ~= nil then add_pipeline(tensors, meta, opts.pipeline, "model:save") end
    add_metadata(meta, opts.metadata, "model:save")
    write(path, tensors, meta, "model:save")
  end)
  if not ok then checks.reraise(err) end
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

local encode = persist.encode

--- nn.save_checkpoint(path, {model, [optimizer], [epoch], [scheduler], [extra]}): a model file plus the optimizer state, the epoch and more, to resume training.
function M.save_checkpoint(path, parts)
  local fn = "nn.save_checkpoint"
  if type(path) ~= "string" then checks.fail(fn .. ": expected a file path, got " .. type(path)) end
  if type(parts) ~= "table" then checks.fail(fn .. ": expected {model = ..., optimizer = ..., epoch = ...}") end
  check_options(fn, parts, { "model", "optimizer", "epoch", "scheduler", "extra", "fit", "metadata" })
  if parts.epoch ~= nil and math.type(parts.epoch) ~= "integer" then checks.fail(fn .. ": epoch must be an integer") end
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
  if not ok then checks.reraise(err) end
end

-- ---- reading ---------------------------------------------------------------------------------

local read = persist.read

local function model_state(tensors)
  local sd = {}
  for name, t in pairs(tensors) do
    if not reserved(name) then sd[name] = t end
  end
  return sd
end

-- The keys a module node may have.
local MODULE_KEYS = { ["$module"] = true, args = true, children = true, path = true, training = true,
  parameters = true, buffers = true, frozen = true }

local build_module, add_tensors, count_refs

-- A canonical text of a node's class and arguments (positions, children and
-- tensor names left out): whether a child made by its parent's constructor
-- is the one the file describes.
local function canon(v)
  if type(v) ~= "table" then return type(v) == "string" and fmt("%q", v) or tostring(v) end
  if v["$tensor"] ~= nil then return "T" end
  local keys = {}
  for k in pairs(v) do
    if k ~= "path" and k ~= "children" and k ~= "parameters" and k ~= "buffers" then keys[#keys + 1] = k end
  end
  table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = tostring(k) .. "=" .. canon(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function same_module(m, node, ctx)
  local cls = getmetatable(m)
  if cls.__name ~= node["$module"] then return false end
  local ok, args = pcall(persist.encode_args, m, { fn = ctx.fn, tensors = {} }, cls.__name, 0)
  return ok and canon(args) == canon(node.args or {})
end

local function damaged(ctx, what)
  error(fmt("%s: '%s': %s; the file is damaged", ctx.fn, ctx.path, what), 0)
end

-- The parameters and buffers a node lists that its module lacks (added after
-- construction: l:buffer("extra", t), l.p = ml.zeros(3, {requires_grad = true})):
-- made with the shape and dtype of the file's tensor, which load_state_dict then fills.
function add_tensors(m, node, ctx)
  if node.parameters == nil and node.buffers == nil then return end
  local path = node.path
  if type(path) ~= "string" then return end
  for _, kind in ipairs({ "parameters", "buffers" }) do
    local names = node[kind]
    if names ~= nil then
      if type(names) ~= "table" then damaged(ctx, fmt("the %s of a module are not a list", kind)) end
      for _, name in ipairs(names) do
        if type(name) ~= "string" or name == "" or name:sub(1, 1) == "_" then
          damaged(ctx, fmt("a module lists the %s name '%s'", kind == "buffers" and "buffer" or "parameter", excerpt(name)))
        end
        local t = ctx.tensors[path == "" and name or (path .. "." .. name)]
        if ml.is_tensor(t) and m[name] == nil then -- (never over a field or a method)
          local fresh = ml.zeros(t:shape(), { dtype = t:dtype(), requires_grad = kind == "parameters" })
          if kind == "buffers" then m:buffer(name, fresh) else m[name] = fresh end
        end
      end
    end
  end
end

-- The parameters the saved module had frozen (p:requires_grad(false): the body
-- of a transfer-learning model) are frozen again, so they stay out of
-- parameters() and the optimizer, as they were.
local function freeze_tensors(m, node, ctx)
  local names = node.frozen
  if names == nil then return end
  if type(names) ~= "table" then damaged(ctx, "the frozen parameters of a module are not a list") end
  for _, name in ipairs(names) do
    local v = type(name) == "string" and rawget(m, name)
    if not ml.is_tensor(v) then damaged(ctx, fmt("a module lists the frozen parameter '%s', which it does not have", excerpt(name))) end
    v:requires_grad(false)
  end
end

-- The parameters and buffers m's constructor made that the saved module no
-- longer had (l.bias = nil, bn.running_var = nil before saving): neither listed
-- in its node nor held by the file, they are removed again, so forward runs as
-- it did before saving. A tensor the file holds is never removed.
local function drop_tensors(m, node, ctx)
  local path = node.path
  if type(path) ~= "string" then return end
  local listed = {}
  for _, kind in ipairs({ "parameters", "buffers" }) do
    if type(node[kind]) == "table" then
      for _, name in ipairs(node[kind]) do listed[name] = true end
    end
  end
  local bset = rawget(m, "_buffers") or {}
  for _, k in ipairs(Module._ordered_keys(m)) do
    local v = rawget(m, k)
    if type(k) == "string" and ml.is_tensor(v) and (bset[k] or v:is_requires_grad()) and not listed[k]
      and ctx.tensors[path == "" and k or (path .. "." .. k)] == nil then
      rawset(m, k, nil)
    end
  end
end

-- Makes m's children those of the file: a child the constructor made that
-- matches its node is kept (and its own children looked at), a replaced or
-- added one is built from its node, one the file does not have is removed.
local function reconcile(m, children, ctx, depth)
  if type(children) ~= "table" then damaged(ctx, "the children of a module are not a list") end
  local want, order = {}, {}
  for i, c in ipairs(children) do
    if type(c) ~= "table" or (type(c.key) ~= "string" and math.type(c.key) ~= "integer")
      or (type(c.node) ~= "table" and type(c.ref) ~= "string") then
      damaged(ctx, fmt("child %d of %s is not {key, node} or {key, ref}", i, excerpt(getmetatable(m).__name)))
    end
    want[c.key] = c.node or { ref = c.ref }
    order[#order + 1] = c.key
  end
  for _, k in ipairs(Module._ordered_keys(m)) do
    if is_module(rawget(m, k)) and want[k] == nil then rawset(m, k, nil) end
  end
  for _, k in ipairs(order) do
    local node, cur = want[k], rawget(m, k)
    if node.ref ~= nil then
      -- the same object as an earlier module: put in once the whole model is built
      rawset(m, k, nil)
      ctx.refs[#ctx.refs + 1] = { m, k, node.ref, cur == nil }
    elseif is_module(cur) and same_module(cur, node, ctx) then
      drop_tensors(cur, node, ctx)
      add_tensors(cur, node, ctx)
      freeze_tensors(cur, node, ctx)
      if node.children ~= nil then reconcile(cur, node.children, ctx, depth + 1) end
    else
      local child = build_module(node, ctx, depth + 1)
      if cur == nil and type(k) == "string" then m[k] = child else rawset(m, k, child) end
    end
  end
end

function build_module(v, ctx, depth)
  local fn, path = ctx.fn, ctx.path
  if depth > 64 then error(fmt("%s: '%s': the architecture nests too deep", fn, path), 0) end
  local name = v["$module"]
  if type(name) ~= "string" then error(fmt("%s: '%s': a module node has no class name; the file is damaged", fn, path), 0) end
  local unknown = {}
  for k in pairs(v) do if not MODULE_KEYS[k] then unknown[#unknown + 1] = tostring(k) end end
  if #unknown > 0 then
    table.sort(unknown)
    error(fmt("%s: '%s': the architecture's node of %s%s has an unknown key '%s' (known: $module, args, children, path, training); "
      .. "the file is damaged or from a newer moonlab", fn, path, excerpt(name),
      type(v.path) == "string" and (v.path == "" and " (the model)" or fmt(" (at '%s')", excerpt(v.path))) or "", excerpt(unknown[1])), 0)
  end
  local cls = Module.class_of(name)
  if not cls then
    error(fmt("%s: '%s' holds a model of class '%s', which is not defined; define it " ..
      "(nn.Module:extend(\"%s\") with its init and forward) before loading", fn, path, excerpt(name), excerpt(name)), 0)
  end
  local args = persist.decode_args(v, ctx, name, depth)
  local ok, m = pcall(cls, table.unpack(args, 1, args.n))
  if not ok then error(fmt("%s: '%s': rebuilding %s failed: %s", fn, path, excerpt(name), quote_error(m)), 0) end
  drop_tensors(m, v, ctx)
  add_tensors(m, v, ctx)
  freeze_tensors(m, v, ctx)
  if v.children ~= nil then reconcile(m, v.children, ctx, depth) end
  return m
end

-- The shared modules (children saved as references), once the model is built.
local function resolve_refs(model, ctx)
  if #ctx.refs == 0 then return end
  local at, path_of = {}, {}
  for _, nm in ipairs(model:named_modules()) do at[nm[1]] = nm[2]; path_of[nm[2]] = nm[1] end
  for _, r in ipairs(ctx.refs) do
    local m, k, ref, new = r[1], r[2], r[3], r[4]
    local target = at[ref]
    if not target then damaged(ctx, fmt("a child refers to the module at '%s', which the model does not have", excerpt(ref))) end
    local mp = path_of[m]
    if mp and (ref == "" or ref == mp or mp:sub(1, #ref + 1) == ref .. ".") then
      damaged(ctx, fmt("a child refers to the module at '%s', which contains it (a cycle)", excerpt(ref)))
    end
    if new and type(k) == "string" then m[k] = target else rawset(m, k, target) end
  end
end
persist.register_node("$module", function(v, ctx, depth)
  if ctx.refs then return build_module(v, ctx, depth) end
  ctx.refs = {} -- a module inside a core/persist object: its shared children are its own
  local m = build_module(v, ctx, depth)
  resolve_refs(m, ctx)
  ctx.refs = nil
  return m
end)

-- The optimizer of a model compiled with an optimizer class this process does
-- not define: it has step and zero_grad (so compile takes it) that ask for compile.
local function missing_optimizer(path, rec)
  local msg = fmt("fit: the model loaded from '%s' was compiled with optimizer '%s', which is not defined here; " ..
    "call model:compile{optimizer = ..., loss = ...} before fit", path, format.excerpt(tostring(rec.class)))
  local function ask() checks.fail(msg) end
  local keep = type(rec.class) == "string" and type(rec.options) == "table" and { class = rec.class, options = rec.options } or nil
  -- anything else fit (or a callback) asks of it gives the same message
  return setmetatable({ step = ask, zero_grad = ask, missing_record = keep }, { __index = function() ask() end })
end

-- compile again with what the file holds (see compile_record)
local function restore_compile(model, rec, tensors, meta, ctx)
  if type(rec) ~= "table" or type(model.compile) ~= "function" then return end
  local fn, path = ctx.fn, ctx.path
  if type(rec.loss) ~= "table" then damaged(ctx, "the compile settings have no loss") end
  local loss = build_module(rec.loss, ctx, 0)
  local opt
  local o = rec.optimizer
  if type(o) == "table" then
    -- the built-in optimizers are defined by moonlab.optim: load it before looking the name up
    if type(o.class) == "string" and not class.get(o.class) then pcall(require, "moonlab.optim") end
    local cls = type(o.class) == "string" and class.get(o.class)
    if not cls or type(cls.option_list) ~= "table" then
      -- an optimizer class not defined here (a user's Lua optimizer): the model still loads,
      -- with its loss and metrics; fit asks for compile, evaluate and predict work
      opt = missing_optimizer(path, o)
    end
  end
  if type(o) == "table" and not opt then
    local cls = class.get(o.class)
    local ok, r = pcall(cls, model:parameters(), unsafe(o.options))
    if not ok then error(fmt("%s: '%s': rebuilding the optimizer %s failed: %s", fn, path, excerpt(o.class), quote_error(r)), 0) end
    opt = r
    -- a checkpoint carries the optimizer's state too
    local om = decode(meta, "moonlab.optimizer", path, fn)
    if type(om) == "table" and om.class == o.class then
      local ts = {}
      for name, t in pairs(tensors) do
        if name:sub(1, 10) == "optimizer." then ts[name:sub(11)] = t end
      end
      local ok2, e = pcall(opt.load_state_dict, opt, { tensors = ts, meta = unsafe(om.meta) })
      if not ok2 then error(fmt("%s: '%s': the optimizer state does not load: %s", fn, path, quote_error(e)), 0) end
    end
  elseif not opt then
    opt = ml.optim.SGD(model:parameters())
  end
  local metrics = {}
  for i, name in ipairs(type(rec.metrics) == "table" and rec.metrics or {}) do metrics[i] = name end
  local ok, e = pcall(model.compile, model, { optimizer = opt, loss = loss, metrics = metrics })
  if not ok then error(fmt("%s: '%s': compiling the loaded model failed: %s", fn, path, quote_error(e)), 0) end
end

-- The children saved as references (shared modules, which constructors may build once more each).
function count_refs(v, depth)
  if type(v) ~= "table" or depth > 64 then return 0 end
  local n = 0
  for _, c in ipairs(type(v.children) == "table" and v.children or {}) do
    if type(c) == "table" then
      if c.ref ~= nil then n = n + 1 else n = n + count_refs(c.node, depth + 1) end
    end
  end
  return n
end

-- The pipeline a model file carries (saved with model:save's pipeline option), rebuilt; its tensors leave `tensors`.
local function read_pipeline(path, tensors, meta, opts, fn)
  local pt = {}
  for k, t in pairs(tensors) do
    if k:sub(1, 9) == "pipeline." then pt[k:sub(10)] = t end
  end
  for k in pairs(pt) do tensors["pipeline." .. k] = nil end
  return persist.rebuild(path, pt, { ["moonlab.format"] = FORMAT, ["moonlab.object"] = meta["moonlab.pipeline"] }, opts, fn)
end

local function read_model(path, tensors, meta, opts, fn)
  local pipeline
  if meta["moonlab.pipeline"] ~= nil then
    local copy = {}
    for k, t in pairs(tensors) do copy[k] = t end
    tensors = copy
    pipeline = read_pipeline(path, tensors, meta, opts, fn)
  end
  local arch = decode(meta, "moonlab.model", path, fn)
  if type(arch) ~= "table" or type(arch["$module"]) ~= "string" then
    error(fmt("%s: '%s' has no model architecture ('moonlab.model' metadata); the file is damaged", fn, path), 0)
  end
  local rec = decode(meta, "moonlab.compile", path, fn)
  local ctx = { fn = fn, path = path, tensors = tensors, refs = {} }
  -- constructors draw initial weights: keep the caller's random stream as it was
  local state = ml.random_state()
  -- what the constructors allocate is capped by what the file's tensors need (unless trusted)
  local ok, model = pcall(persist.with_budget, tensors, count_refs(arch, 0), opts, fn, path, function()
    local m = build_module(arch, ctx, 0)
    resolve_refs(m, ctx)
    return m
  end)
  if ok then ok, model = pcall(function()
      local m = model
      local ok2, err = pcall(m.load_state_dict, m, model_state(tensors))
      if not ok2 then
        error(fmt("%s: '%s': the weights do not fit the model the file describes: %s", fn, path, excerpt(strip(err, "load_state_dict: "), 400)), 0)
      end
      restore_compile(m, rec, tensors, meta, ctx)
      return m
    end)
  end
  ml.set_random_state(state)
  if not ok then error(model, 0) end
  model:train(arch.training ~= false)
  if opts.eval then model:eval() end
  if pipeline ~= nil then rawset(model, "pipeline", pipeline) end
  return model
end
persist.register_reader("moonlab.model", read_model)

local function rebuild(path, tensors, meta, fn, opts)
  local format = meta["moonlab.format"]
  if format == nil then
    local st = path:lower():match("%.safetensors$") ~= nil
    error(fmt("%s: '%s' is not a moonlab model file (expected a .safetensors file written by model:save%s)%s", fn, path,
      st and "; this one has no 'moonlab.format' metadata" or "", st and "; ml.load reads plain tensor files" or ""), 0)
  end
  persist.check_format(meta, path, fn)
  if meta["moonlab.model"] == nil then
    error(fmt("%s: '%s' has no model architecture ('moonlab.model' metadata); the file is damaged", fn, path), 0)
  end
  return read_model(path, tensors, meta, opts or {}, fn)
end

--- nn.load(path, [{eval=false, trusted=false}]) -> model: rebuilds a model written by model:save (or a checkpoint) with its weights.
function M.load(path, opts)
  opts = check_options("nn.load", opts, { "eval", "trusted" })
  checks.boolean("nn.load", "option 'eval'", opts.eval)
  checks.boolean("nn.load", "option 'trusted'", opts.trusted)
  local ok, r = pcall(function()
    local tensors, meta = read(path, "nn.load")
    return rebuild(path, tensors, meta, "nn.load", opts)
  end)
  if not ok then checks.reraise(r) end
  return r
end

--- model:load_weights(path) -> model: copies the weights of a model file or checkpoint into this model (all checked first).
function Module:load_weights(path)
  local fn = "model:load_weights"
  local ok, err = pcall(function()
    local tensors = read(path, fn)
    local ok2, e = pcall(self.load_state_dict, self, model_state(tensors))
    if not ok2 then error(fmt("%s: '%s' does not fit this model: %s", fn, path, excerpt(strip(e, "load_state_dict: "), 400)), 0) end
  end)
  if not ok then checks.reraise(err) end
  return self
end

local clone_state = require("moonlab.core.persist").clone_state

--- nn.load_checkpoint(path, [{model, optimizer, scheduler}]) -> {epoch, extra, model, model_state, optimizer_state, ...}: reads a checkpoint and loads it into the given objects.
function M.load_checkpoint(path, targets)
  local fn = "nn.load_checkpoint"
  if targets ~= nil and type(targets) ~= "table" then checks.fail(fn .. ": options must be a table {model, optimizer, scheduler}") end
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
        if not i then error(fmt("%s: '%s': unexpected tensor '%s'", fn, path, excerpt(name)), 0) end
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
      error(fmt("%s: '%s': %s", fn, path, what .. ": " .. excerpt(strip(e, "load_state_dict: "), 400)), 0)
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
          error(fmt("%s: '%s' holds %s state, but the %s is a %s", fn, path, excerpt(cls), what, have), 0)
        end
        load_into("the " .. what .. " state does not load", obj, state, clone_state(obj:state_dict()))
      end
    end
    return ck
  end)
  if not ok then checks.reraise(r) end
  return r
end

do
  ml.doc(Module.save, "model:save(path, [{metadata, pipeline}]) — writes the weights and the architecture (JSON) as safetensors, and a fitted prep pipeline when given; nn.load rebuilds the model from it (model.pipeline)")
  ml.doc(Module.load_weights, "model:load_weights(path) -> model — copies the weights of a model file or checkpoint in, after checking every name and shape")
  ml.doc(M.load, "nn.load(path, [{eval=false, trusted=false}]) -> model — rebuilds a model saved by model:save (or a checkpoint): architecture, weights and compile settings; eval puts it in eval mode; unless trusted, what the constructors keep is capped by the file's tensor bytes (persist.with_budget)")
  ml.doc(Module.persist_node, "model:persist_node(ctx, depth) -> node — the JSON node of this module for core/persist: class, constructor arguments, children")
  ml.doc(Module.persist_parts, "model:persist_parts([fn]) -> tensors, metadata — what a model file holds (core/persist's protocol; persist.save(path, model) writes it)")
  ml.doc(M.save_checkpoint, "nn.save_checkpoint(path, {model, optimizer, epoch, scheduler, extra}) — a model file plus optimizer state and epoch, to resume training")
  ml.doc(M.load_checkpoint, "nn.load_checkpoint(path, [{model, optimizer, scheduler}]) -> {epoch, extra, model, ...} — reads a checkpoint and loads it into the given objects, all or nothing")
end

return M
