--- moonlab.core.persist: one way to save and load anything that holds state.
--
--   persist.save("scaler.safetensors", scaler, {metadata = {note = "v2"}})
--   local s = persist.load("scaler.safetensors")      -- rebuilt by its registered class name
--
-- A file is safetensors: the state tensors under their own names, and in
-- __metadata__ "moonlab.format" ("1") plus JSON strings describing the
-- object, so the file is self-describing and PyTorch's safetensors reads it.
--
-- The protocol an object follows (all parts optional):
--   constructor arguments  those it was made with (Object.new and Module.new record them: class.args_of),
--                          or obj:constructor_args()
--   obj:persist_state() -> {tensors = {name = tensor}, settings = JSON-able table}
--   obj:load_persist_state({tensors = ..., settings = ...})   after the constructor ran
-- A plain object is written as one node under "moonlab.object":
--   {"$class": "prep.StandardScaler", "args": [...], "settings": {...}, "state": "prefix"}
-- Constructor arguments are numbers, strings, booleans, tables, tensors
-- (stored as tensors "_args.N", referenced as {"$tensor": "_args.N"}) and
-- nested objects (nodes of their own). A kind of object may write its own
-- metadata key instead (models: "moonlab.model", nn/serialize.lua) by
-- registering a reader with persist.register_reader and giving its objects a
-- persist_parts(ctx) method.
--
-- Loading never trusts a file: while the constructors run, how much live
-- tensor storage may grow is capped by what the file's tensors hold
-- (persist.with_budget), so a 500-byte file cannot make a constructor
-- allocate gigabytes, whatever its arguments; arguments themselves are not
-- judged (a class count, a seed or a sequence length may be any number; a
-- negative size is refused by the constructor). The caller's random stream
-- is kept as it was. File contents quoted in messages go through
-- format.excerpt (escaped, cut).
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local persist = {}
local fmt = string.format
local huge = math.huge

persist.FORMAT = "1"
-- tensor name prefixes that object state may not use (checkpoints and arguments use them)
persist.RESERVED = { "optimizer.", "callbacks.", "scheduler.", "_args." }

--- persist.clone_state(v) -> a deep copy of a state_dict-like value (tensors cloned), for undoing a failed load
function persist.clone_state(v)
  if ml.is_tensor(v) then return v:detach():clone() end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = persist.clone_state(x) end
  return setmetatable(out, getmetatable(v))
end

--- persist.strip(err, [prefix]) -> err without a leading "file:line: " and without prefix
function persist.strip(err, prefix)
  err = tostring(err)
  -- "file.lua:12: ", "(command line):1: ", '[string "..."]:3: '
  err = err:gsub("^[^%s:]+:%d+: ", ""):gsub("^%([^)\n]*%):%d+: ", ""):gsub('^%[string ".-"%]:%d+: ', "")
  if prefix then err = err:gsub("^" .. prefix:gsub("%p", "%%%0"), "") end
  return err
end
local strip = persist.strip
local excerpt = format.excerpt

--- persist.quote(v) -> file contents (a class name, a key) safe to put in a message (format.excerpt)
persist.quote = excerpt
-- a constructor's message about an argument from the file: escaped, cut at 200 characters
local function quote_error(e) return excerpt(strip(e), 200) end
persist.quote_error = quote_error

--- persist.reserved(name) -> the reserved prefix name starts with, or nil
function persist.reserved(name)
  for _, p in ipairs(persist.RESERVED) do
    if name:sub(1, #p) == p then return p end
  end
end

-- ---- JSON ----------------------------------------------------------------------------

-- As format.to_json, but an empty table keeps its metatable (json.array marks [] for the encoder).
local function safe(v, depth)
  depth = depth or 0
  if depth > 64 then error("nesting too deep", 0) end
  if type(v) == "number" then return format.json_number(v) end
  if type(v) ~= "table" or ml.is_tensor(v) then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = safe(x, depth + 1) end
  if next(out) == nil and getmetatable(v) then setmetatable(out, getmetatable(v)) end
  return out
end

--- persist.encode(v, fn, what) -> JSON text; NaN and infinities as "nan"/"inf"/"-inf"
function persist.encode(v, fn, what)
  local ok, text = pcall(ml.json.encode, safe(v))
  if not ok then error(fmt("%s: %s cannot be written as JSON: %s", fn, what, strip(text, "ml.json.encode: ")), 0) end
  return text
end

--- persist.from_json(v) -> v with "nan"/"inf"/"-inf" back to numbers and json.null to nil
persist.from_json = format.from_json

--- persist.decode(meta, key, path, fn) -> the JSON value of metadata key, or nil when absent
function persist.decode(meta, key, path, fn)
  local s = meta[key]
  if s == nil then return nil end
  local ok, v = pcall(ml.json.decode, s)
  if not ok then
    error(fmt("%s: '%s': metadata '%s' is not valid JSON: %s; the file is damaged", fn, path, key, strip(v, "ml.json.decode: ")), 0)
  end
  return v
end

-- ---- files ---------------------------------------------------------------------------

--- persist.add_metadata(meta, extra, fn): copies the user's {key = string} metadata in
function persist.add_metadata(meta, extra, fn)
  if extra == nil then return end
  if type(extra) ~= "table" then error(fn .. ": metadata must be a table of strings", 0) end
  for k, v in pairs(extra) do
    if type(k) ~= "string" or type(v) ~= "string" then error(fn .. ": metadata keys and values must be strings", 0) end
    meta[k] = v
  end
end

--- persist.write(path, tensors, meta, fn): writes a safetensors file (errors name fn)
function persist.write(path, tensors, meta, fn)
  local ok, err = pcall(ml.save, path, tensors, { metadata = meta })
  if not ok then error(fn .. ": " .. strip(err, "ml.save: "), 0) end
end

--- persist.read(path, fn) -> tensors, metadata of a safetensors file (errors name fn)
function persist.read(path, fn)
  if type(path) ~= "string" then error(fmt("%s: expected a file path, got %s", fn, type(path)), 0) end
  local ok, t, meta = pcall(ml.load, path)
  if not ok then error(fn .. ": " .. strip(t, "ml.load: "), 0) end
  if ml.is_tensor(t) then t = { tensor = t } end
  return t, meta or {}
end

-- ---- constructor arguments -------------------------------------------------------------

-- ctx: {fn, tensors (the file's), nt (the count of "_args.N")}; nested objects become nodes (persist.node_of)

--- persist.encode_value(v, ctx, where, depth) -> the JSON form of one constructor argument
function persist.encode_value(v, ctx, where, depth)
  local fn = ctx.fn
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
    ctx.nt = (ctx.nt or 0) + 1
    local name = "_args." .. ctx.nt
    ctx.tensors[name] = v
    return { ["$tensor"] = name }
  end
  if tv == "table" and getmetatable(v) ~= nil and class.name_of(v) then return persist.node_of(v, ctx, depth + 1) end
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
      for i = 1, n do out[i] = persist.encode_value(v[i], ctx, fmt("%s[%d]", where, i), depth + 1) end
      return out
    elseif nstr == n then
      local out = {}
      for k, x in pairs(v) do out[k] = persist.encode_value(x, ctx, where .. "." .. k, depth + 1) end
      return out
    end
    error(fmt("%s: %s mixes list items and named fields (or has holes); it cannot be saved", fn, where), 0)
  end
  error(fmt("%s: %s is a %s, which cannot be saved (constructor arguments must be numbers, strings, " ..
    "booleans, tables, tensors or objects; a class can define constructor_args())", fn, where,
    tv == "table" and "table with a metatable" or tv), 0)
end

--- persist.constructor_args(obj) -> the arguments to rebuild obj with (a packed table)
function persist.constructor_args(obj)
  local args
  if type(obj.constructor_args) == "function" then args = obj:constructor_args() else args = class.args_of(obj) end
  return args or { n = 0 }
end

--- persist.encode_args(obj, ctx, name, depth) -> JSON array of obj's constructor arguments
function persist.encode_args(obj, ctx, name, depth)
  local args = persist.constructor_args(obj)
  local out = ml.json.array()
  for i = 1, args.n or #args do out[i] = persist.encode_value(args[i], ctx, fmt("argument %d of %s", i, name), depth) end
  return out
end

-- The kinds of nodes a file may hold: "$class" (here) and those registered ("$module").
local builders = {}

--- persist.register_node(key, build): build(node, ctx, depth) -> object, for nodes {key: class name, ...}
function persist.register_node(key, build) builders[key] = build end

--- persist.decode_value(v, ctx, depth) -> the Lua value of a JSON constructor argument (objects rebuilt)
function persist.decode_value(v, ctx, depth)
  if depth > 64 then error(fmt("%s: '%s': the description nests too deep", ctx.fn, ctx.path), 0) end
  if v == ml.json.null then return nil end
  if type(v) ~= "table" then return v end
  for key, build in pairs(builders) do
    if v[key] ~= nil then return build(v, ctx, depth) end
  end
  local tname = v["$tensor"]
  if tname ~= nil then
    for k in pairs(v) do
      if k ~= "$tensor" then
        error(fmt("%s: '%s': the description's reference to tensor '%s' has an unknown key '%s'; the file is damaged",
          ctx.fn, ctx.path, excerpt(tname), excerpt(k)), 0)
      end
    end
    local t = ctx.tensors[tname]
    if not t then error(fmt("%s: '%s': the description names tensor '%s', which the file lacks", ctx.fn, ctx.path, excerpt(tname)), 0) end
    return t
  end
  local out = {}
  for k, x in pairs(v) do out[k] = persist.decode_value(x, ctx, depth + 1) end
  return out
end

--- persist.decode_args(node, ctx, name, depth) -> the packed constructor arguments of a node
function persist.decode_args(node, ctx, name, depth)
  local args = node.args or {}
  if type(args) ~= "table" then error(fmt("%s: '%s': the arguments of %s are not a list; the file is damaged", ctx.fn, ctx.path, excerpt(name)), 0) end
  local vals = { n = #args }
  for i = 1, #args do vals[i] = persist.decode_value(args[i], ctx, depth + 1) end
  return vals
end

-- ---- the allocation budget while a file is rebuilt ---------------------------------------

-- while a file's objects are built, live tensor storage may grow by this much more than its tensors hold
-- (room for buffers a model makes but does not save: a 4096 x 4096 mask is 64 MiB)
persist.BUDGET_FACTOR = 2
persist.BUDGET_EXTRA = 256 * 1024 * 1024
local DTYPE_BYTES = { float32 = 4, float64 = 8, int64 = 8, bool = 1 }

--- persist.tensor_bytes(tensors) -> the bytes the tensors hold
function persist.tensor_bytes(tensors)
  local n = 0
  for _, t in pairs(tensors) do n = n + t:numel() * (DTYPE_BYTES[t:dtype()] or 8) end
  return n
end

--- persist.with_budget(tensors, copies, opts, fn, path, f, ...) -> f(...): runs f with the growth of live tensor storage capped
-- at (BUDGET_FACTOR + copies) x the file's tensor bytes + BUDGET_EXTRA (copies: modules the constructors build
-- twice, shared ones; at most 16); temporaries freed meanwhile do not count (ml.alloc_budget). opts.trusted: no cap;
-- past it, a clear error. Inside another budget (an object whose constructor loads a file), what f kept counts
-- against the outer one too.
function persist.with_budget(tensors, copies, opts, fn, path, f, ...)
  if (opts and opts.trusted) or not ml.alloc_budget then return f(...) end
  local have = persist.tensor_bytes(tensors)
  copies = math.min(math.tointeger(copies) or 0, 16)
  local cap = (persist.BUDGET_FACTOR + copies) * have + persist.BUDGET_EXTRA
  local prev = ml.alloc_budget(cap)
  local r = table.pack(pcall(f, ...))
  local left, exceeded = ml.alloc_budget(nil)
  if prev then ml.alloc_budget(math.max(0, prev - (cap - left))) end
  if exceeded then
    error(fmt("%s: '%s': the architecture needs more memory than the weights in the file (%.1f MiB); refusing to build it " ..
      "(use {trusted = true} for your own files)", fn, path, have / (1024 * 1024)), 0)
  end
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

-- ---- plain objects ------------------------------------------------------------------------

local OBJECT_KEYS = { ["$class"] = true, args = true, settings = true, state = true }

local function object_node(obj, ctx, depth)
  local name = class.name_of(obj)
  if not name or class.get(name) ~= getmetatable(obj) then
    error(fmt("%s: %s is not the class registered under its name, so it could not be rebuilt", ctx.fn, tostring(name)), 0)
  end
  local node = { ["$class"] = name, args = persist.encode_args(obj, ctx, name, depth) }
  if type(obj.persist_state) == "function" then
    local st = obj:persist_state()
    if st == nil then st = {} end
    if type(st) ~= "table" then
      error(fmt("%s: %s:persist_state() returned a %s, expected {tensors = {name = tensor}, settings = table}", ctx.fn, name, type(st)), 0)
    end
    for k in pairs(st) do
      if k ~= "tensors" and k ~= "settings" then
        error(fmt("%s: %s:persist_state() returned a table with the key '%s'; expected {tensors = {name = tensor}, settings = table}",
          ctx.fn, name, tostring(k)), 0)
      end
    end
    if st.tensors ~= nil and type(st.tensors) ~= "table" then
      error(fmt("%s: %s:persist_state() returned tensors that are a %s, expected a table {name = tensor}", ctx.fn, name, type(st.tensors)), 0)
    end
    if st.settings ~= nil and (type(st.settings) ~= "table" or ml.is_tensor(st.settings)) then
      error(fmt("%s: %s:persist_state() returned settings that are a %s, expected a JSON-able table", ctx.fn, name,
        ml.is_tensor(st.settings) and "tensor" or type(st.settings)), 0)
    end
    -- the saved object's own tensors keep their names; nested objects' go under "_objects.N."
    local prefix = ""
    if depth > 0 then
      ctx.no = (ctx.no or 0) + 1
      prefix = "_objects." .. ctx.no .. "."
    end
    for k, t in pairs(st.tensors or {}) do
      if not ml.is_tensor(t) then error(fmt("%s: the state '%s' of %s is not a tensor", ctx.fn, tostring(k), name), 0) end
      ctx.tensors[prefix .. k] = t
    end
    node.state = prefix
    if st.settings ~= nil then node.settings = st.settings end
  end
  return node
end

--- persist.node_of(obj, ctx, depth) -> the JSON node of an object: obj:persist_node(ctx, depth) when it has one (modules)
function persist.node_of(obj, ctx, depth)
  if type(obj.persist_node) == "function" then return obj:persist_node(ctx, depth) end
  return object_node(obj, ctx, depth)
end

local function build_object(node, ctx, depth)
  local name = node["$class"]
  if type(name) ~= "string" then error(fmt("%s: '%s': an object node has no class name; the file is damaged", ctx.fn, ctx.path), 0) end
  local shown = excerpt(name)
  for k in pairs(node) do
    if not OBJECT_KEYS[k] then
      error(fmt("%s: '%s': the node of %s has an unknown key '%s' (known: $class, args, settings, state); the file is damaged " ..
        "or from a newer moonlab", ctx.fn, ctx.path, shown, excerpt(k)), 0)
    end
  end
  local cls = class.get(name)
  if not cls then
    error(fmt("%s: '%s' holds an object of class '%s', which is not defined; load the code that defines it first",
      ctx.fn, ctx.path, shown), 0)
  end
  local args = persist.decode_args(node, ctx, name, depth)
  local ok, obj = pcall(cls, table.unpack(args, 1, args.n))
  if not ok then error(fmt("%s: '%s': rebuilding %s failed: %s", ctx.fn, ctx.path, shown, quote_error(obj)), 0) end
  if node.state ~= nil then
    if type(obj.load_persist_state) ~= "function" then
      error(fmt("%s: '%s': %s has saved state but no load_persist_state method", ctx.fn, ctx.path, shown), 0)
    end
    local prefix, ts = tostring(node.state), {}
    for k, t in pairs(ctx.tensors) do
      if k:sub(1, #prefix) == prefix and not persist.reserved(k:sub(#prefix + 1)) and (prefix ~= "" or not k:find("^_objects%.")) then
        ts[k:sub(#prefix + 1)] = t
      end
    end
    local ok2, err = pcall(obj.load_persist_state, obj, { tensors = ts, settings = persist.from_json(node.settings) })
    if not ok2 then error(fmt("%s: '%s': the state of %s does not load: %s", ctx.fn, ctx.path, shown, quote_error(err)), 0) end
  end
  return obj
end
persist.register_node("$class", build_object)

-- ---- save and load ------------------------------------------------------------------------

local readers = {} -- metadata key -> fn(path, tensors, meta, opts, fn) -> object

--- persist.register_reader(key, read): files whose metadata has key are read by read(path, tensors, meta, opts, fn)
function persist.register_reader(key, read) readers[key] = read end

--- persist.parts(obj, fn) -> tensors, metadata: what persist.save writes for obj
function persist.parts(obj, fn)
  if type(obj) == "table" and type(obj.persist_parts) == "function" then return obj:persist_parts(fn) end
  if not class.name_of(obj) then error(fmt("%s: expected an object of moonlab's class system, got %s", fn, type(obj)), 0) end
  local ctx = { fn = fn, tensors = {} }
  local node = persist.node_of(obj, ctx, 0)
  return ctx.tensors, { ["moonlab.format"] = persist.FORMAT, ["moonlab.object"] = persist.encode(node, fn, "the object") }
end

--- persist.save(path, obj, [{metadata = {key = string}}]): writes obj's class, constructor arguments and state
function persist.save(path, obj, opts)
  local fn = "persist.save"
  if type(path) ~= "string" then checks.fail(fn .. ": expected a file path, got " .. type(path)) end
  opts = checks.options(fn, opts, { "metadata" })
  local ok, err = pcall(function()
    local tensors, meta = persist.parts(obj, fn)
    persist.add_metadata(meta, opts.metadata, fn)
    persist.write(path, tensors, meta, fn)
  end)
  if not ok then checks.reraise(err) end
end

--- persist.check_format(meta, path, fn): refuses files of another format version
function persist.check_format(meta, path, fn)
  local f = meta["moonlab.format"]
  if f ~= nil and f ~= persist.FORMAT then
    error(fmt("%s: '%s' has model format '%s'; this moonlab reads format %s", fn, path, excerpt(f), persist.FORMAT), 0)
  end
  return f
end

--- persist.rebuild(path, tensors, meta, [opts], [fn]) -> the object a file describes
function persist.rebuild(path, tensors, meta, opts, fn)
  fn = fn or "persist.load"
  if persist.check_format(meta, path, fn) == nil then
    error(fmt("%s: '%s' is not a moonlab file (no 'moonlab.format' metadata); ml.load reads plain tensor files", fn, path), 0)
  end
  if meta["moonlab.model"] ~= nil and not readers["moonlab.model"] then require "moonlab.nn" end -- it registers the reader
  for key, read in pairs(readers) do
    if meta[key] ~= nil then return read(path, tensors, meta, opts or {}, fn) end
  end
  local node = persist.decode(meta, "moonlab.object", path, fn)
  if type(node) ~= "table" then error(fmt("%s: '%s' describes no object; the file is damaged", fn, path), 0) end
  local state = ml.random_state()
  local ok, obj = pcall(persist.with_budget, tensors, 0, opts, fn, path, build_object, node, { fn = fn, path = path, tensors = tensors }, 0)
  ml.set_random_state(state)
  if not ok then error(obj, 0) end
  return obj
end

--- persist.load(path, [{trusted = false}]) -> the object saved by persist.save (or a model file)
function persist.load(path, opts)
  opts = checks.options("persist.load", opts, { "trusted" })
  local ok, r = pcall(function()
    local tensors, meta = persist.read(path, "persist.load")
    return persist.rebuild(path, tensors, meta, opts, "persist.load")
  end)
  if not ok then checks.reraise(r) end
  return r
end

do
  local doc = ml.doc
  doc(persist, "core.persist — one way to save and load stateful objects: persist.save(path, obj), persist.load(path); safetensors with the class name, constructor arguments and settings as JSON metadata")
  doc(persist.clone_state, "persist.clone_state(v) -> copy — a deep copy of a state_dict-like value, tensors cloned (to undo a failed load)")
  doc(persist.quote, "persist.quote(v) -> string — file contents (class names, keys) escaped and cut for a message (format.excerpt)")
  doc(persist.quote_error, "persist.quote_error(err) -> string — a constructor's error about file contents, position stripped, escaped, cut at 200 characters")
  doc(persist.strip, "persist.strip(err, [prefix]) -> string — a message without its leading position and prefix")
  doc(persist.reserved, "persist.reserved(name) -> prefix | nil — the reserved tensor-name prefix name starts with")
  doc(persist.encode, "persist.encode(v, fn, what) -> JSON text — NaN and infinities as strings")
  doc(persist.from_json, "persist.from_json(v) -> v — 'nan'/'inf'/'-inf' back to numbers, json.null to nil")
  doc(persist.decode, "persist.decode(meta, key, path, fn) -> value | nil — the JSON of one metadata key; bad JSON is a 'damaged file' error")
  doc(persist.add_metadata, "persist.add_metadata(meta, extra, fn) — adds the user's string metadata")
  doc(persist.write, "persist.write(path, tensors, meta, fn) — writes a safetensors file; errors name fn")
  doc(persist.read, "persist.read(path, fn) -> tensors, meta — reads a safetensors file; errors name fn")
  doc(persist.encode_value, "persist.encode_value(v, ctx, where, depth) -> JSON value — one constructor argument; tensors become '_args.N' tensors")
  doc(persist.constructor_args, "persist.constructor_args(obj) -> packed table — obj:constructor_args() or the arguments it was made with")
  doc(persist.encode_args, "persist.encode_args(obj, ctx, name, depth) -> JSON array — obj's constructor arguments")
  doc(persist.node_of, "persist.node_of(obj, ctx, depth) -> node — an object's JSON node (obj:persist_node when it has one)")
  doc(persist.register_node, "persist.register_node(key, build) — nodes {key = class name, ...} in a file are rebuilt by build(node, ctx, depth)")
  doc(persist.decode_value, "persist.decode_value(v, ctx, depth) -> value — a JSON constructor argument back to Lua, objects rebuilt")
  doc(persist.decode_args, "persist.decode_args(node, ctx, name, depth) -> packed table — the constructor arguments of a node")
  doc(persist.tensor_bytes, "persist.tensor_bytes(tensors) -> integer — the bytes a table of tensors holds")
  doc(persist.with_budget, "persist.with_budget(tensors, copies, opts, fn, path, f, ...) -> f(...) — runs f (the constructors of a file's objects) with the growth of live tensor storage capped at (2 + copies) x the file's tensor bytes + 256 MiB (temporaries freed meanwhile do not count); past it, a clear error (opts.trusted: no cap)")
  doc(persist.register_reader, "persist.register_reader(key, read) — files with metadata key are rebuilt by read(path, tensors, meta, opts, fn)")
  doc(persist.parts, "persist.parts(obj, fn) -> tensors, meta — what persist.save writes for obj")
  doc(persist.save, "persist.save(path, obj, [{metadata}]) — writes obj's class name, constructor arguments, settings and state tensors as safetensors")
  doc(persist.check_format, "persist.check_format(meta, path, fn) -> format | nil — refuses another format version")
  doc(persist.rebuild, "persist.rebuild(path, tensors, meta, [opts], [fn]) -> object — the object a file's tensors and metadata describe")
  doc(persist.load, "persist.load(path, [{trusted=false}]) -> object — rebuilds what persist.save (or model:save) wrote, by registered class name")
end

return persist
