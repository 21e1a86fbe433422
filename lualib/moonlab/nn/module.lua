--- nn.Module: the base class of every layer and model.
--
-- A module is a Lua table whose class defines `init(...)` (the constructor)
-- and `forward(...)`. Parameters and submodules are found automatically: a
-- field holding a tensor that requires grad is a parameter, a field holding
-- a module is a child. Buffers (state that is saved but not trained, such as
-- BatchNorm's running mean) are registered with `self:buffer(name, tensor)`.
--
--   local MLP = nn.Module:extend("MLP")
--   function MLP:init(d_in, d_out)
--     self.fc1 = nn.Linear(d_in, 64)
--     self.fc2 = nn.Linear(64, d_out)
--   end
--   function MLP:forward(x) return self.fc2(self.fc1(x):relu()) end
--   local model = MLP(10, 1)          -- model(x) calls forward
--
-- Children and parameters come in definition order: numeric keys
-- (Sequential's) in numeric order, then named fields in the order they were
-- first assigned (instances have a __newindex that notes a field's name in
-- the hidden list _order the first time it is set; reads and later writes do
-- not go through it), then any other fields (set with rawset) sorted by name.
-- So parameters(), state_dict() and optimizer state always come in the same
-- order, the one PyTorch uses (Linear: weight, then bias).
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local fmt = string.format

-- Module is a class of the one class system (core/class.lua): Module:extend
-- is Object:extend (registry, metamethods copied down, `super`) plus what a
-- module needs: __call runs forward, __newindex notes field order, new()
-- records the constructor arguments.
local Module = class.Object:extend("Module")
Module.__is_module = true
Module._extend_name = "nn.Module" -- for extend's messages

local function is_module(v)
  return type(v) == "table" and getmetatable(v) ~= nil and getmetatable(v).__is_module == true
end
Module.is_module = is_module

-- ---- calling a module: forward, and errors that name the failing layer ----
--
-- Only the outermost call of a module runs its forward under xpcall; a call
-- made while one is running (a child called from a forward) is a plain tail
-- call, so nesting costs nothing, and a library layer without children is
-- called as its forward itself (_call_forward_directly). When a layer fails, the message handler
-- runs where the error happened, with the stack still there: the innermost
-- frame whose `self` is a module running its class's forward is the failing
-- module, its path is looked up in the outermost module's tree
-- ("Net.head (nn.Linear): ...", "Sequential[3] (nn.Linear): ..."), and the
-- message points at the innermost line of user code still on the stack, so
-- once only, at the top.
local active = nil -- the outermost module being called, while its forward runs

-- "nn.Linear" for the library's layers, the class name for a user's class
local function display_name(m)
  local cls = getmetatable(m)
  return rawget(cls, "_nn_name") or cls.__name
end

-- The path of module m inside top: the top's class name, then ".name" or "[i]" per level.
local function module_path(top, m)
  for _, nm in ipairs(top:named_modules()) do
    if rawequal(nm[2], m) then
      local parts = { getmetatable(top).__name }
      for key in nm[1]:gmatch("[^.]+") do
        parts[#parts + 1] = key:match("^%d+$") and ("[" .. key .. "]") or ("." .. key)
      end
      return table.concat(parts)
    end
  end
  return display_name(m) -- not part of the tree (another model called from a forward)
end

local instance_call -- the outermost call's frame is where the handler stops (nested calls are tail calls: no frame)

-- The innermost module whose forward is running at or above stack level `from`.
local function failing_module(from)
  local level = from
  while true do
    local info = debug.getinfo(level, "f")
    if not info or info.func == instance_call then return nil end
    local _, self = debug.getlocal(level, 1)
    if is_module(self) and getmetatable(self).forward == info.func then return self end
    level = level + 1
  end
end

-- The innermost frame of user code between the error and the outermost call: "src:line", or nil.
local function user_position()
  local level = 3
  while true do
    local info = debug.getinfo(level, "Slf")
    if not info or info.func == instance_call then return nil end
    if info.what ~= "C" and not checks.in_library(info.source) and info.currentline > 0 then
      return info.short_src .. ":" .. info.currentline
    end
    level = level + 1
  end
end

-- The innermost forward of user code on the failing module's path, as "src:line" of its definition.
local function user_forward(top, failing)
  local chain = {}
  for _, nm in ipairs(top:named_modules()) do
    if rawequal(nm[2], failing) then
      local m = top
      chain[1] = top
      for key in nm[1]:gmatch("[^.]+") do
        m = m[math.tointeger(tonumber(key)) or key]
        chain[#chain + 1] = m
      end
      break
    end
  end
  if #chain == 0 then chain = { top } end
  for k = #chain, 1, -1 do
    local f = getmetatable(chain[k]).forward
    local info = type(f) == "function" and debug.getinfo(f, "S")
    if info and info.what == "Lua" and not checks.in_library(info.source) then
      return info.short_src .. ":" .. info.linedefined
    end
  end
  return nil
end

local function handler(err)
  if type(err) ~= "string" then return err end
  local top = active
  local failing = failing_module(3) or top
  -- an error raised by user code itself (their forward's error(), or a C function it
  -- called) keeps its own position, or its lack of one (error(msg, 0))
  local info = debug.getinfo(2, "S")
  if info and info.what == "C" then info = debug.getinfo(3, "S") end
  local raised_by_user = info and info.what ~= "C" and not checks.in_library(info.source)
  local pos, rest = err:match("^([^%s:][^\n:]*:%d+): (.*)$")
  local body = rest or err
  if top and not rawequal(failing, top) then
    local name = display_name(failing)
    local prefix = module_path(top, failing) .. " (" .. name .. "): "
    if body:sub(1, #name + 2) == name .. ": " then body = body:sub(#name + 3) end
    body = prefix .. body
  end
  if raised_by_user then return pos and (pos .. ": " .. body) or body end
  local where = user_position()
  if where then return where .. ": " .. body end
  -- no user frame left (a user's forward ended in a tail call, return self.head(h)):
  -- the innermost forward of user code on the path, where it is defined
  where = top and user_forward(top, failing)
  if where then return where .. ": " .. body end
  return { moonlab_relocate = body } -- only library modules: at the caller's line
end

local function finish(ok, ...)
  active = nil
  if ok then return ... end
  local err = ...
  if type(err) == "table" and err.moonlab_relocate then checks.fail(err.moonlab_relocate) end
  error(err, 0)
end

function instance_call(self, ...)
  if active then return self:forward(...) end -- nested: the outermost call catches
  active = self
  return finish(xpcall(self.forward, handler, self, ...)) -- xpcall runs inside this frame (finish is the tail call)
end

-- The first assignment of a field (the key is not in the table yet): note its
-- name, so children and parameters come in definition order.
-- A tensor field first set to a tensor that requires grad is a parameter
-- for good: frozen later (p:requires_grad(false)) it leaves parameters()
-- (the optimizer's list) but stays in state_dict and model files, as in PyTorch.
local function instance_newindex(self, k, v)
  if type(k) == "string" and v ~= nil and k:byte(1) ~= 95 then -- not "_..."
    local order = rawget(self, "_order")
    if not order then order = {}; rawset(self, "_order", order) end
    order[#order + 1] = k
    if is_module(v) then rawset(self, "_kids", true) end -- a child: train() walks this module's fields
    if ml.is_tensor(v) and v:is_requires_grad() then
      local names = rawget(self, "_param_names")
      if not names then names = {}; rawset(self, "_param_names", names) end
      names[k] = true
    end
  end
  rawset(self, k, v)
end

--- Module.is_parameter(m, k, v) -> boolean: whether field k (value v) of m is a parameter, trainable or frozen
function Module.is_parameter(m, k, v)
  if not ml.is_tensor(v) then return false end
  local buffers = rawget(m, "_buffers")
  if buffers and buffers[k] then return false end
  if v:is_requires_grad() then return true end
  local names = rawget(m, "_param_names")
  return names ~= nil and names[k] == true
end
Module.__newindex = instance_newindex
Module.__call = instance_call

-- A library layer or loss without children (_leaf): calling it is calling its
-- forward, with no frame in between (its own message is already the whole
-- story, raised at the user's line). The layer files set this once their
-- classes are defined; a subclass (Module:extend) gets instance_call back, as
-- it may define its own forward or add children.
function Module._call_forward_directly(cls)
  local f = rawget(cls, "forward")
  if rawget(cls, "_leaf") and type(f) == "function" then cls.__call = f end
end

-- Every instance made by Module.new, so a container's forward checks its
-- elements with one table lookup (weak keys: the set keeps nothing alive).
local made = setmetatable({}, { __mode = "k" })
Module._made = made

--- Module:extend(name, [doc]) -> a new class deriving from this one.
function Module:extend(name, doc)
  if type(name) ~= "string" or name == "" then checks.fail("nn.Module:extend: expected a class name string, got " .. type(name)) end
  local cls = class.Object.extend(self, name, doc)
  cls.__call = instance_call -- not a parent layer's forward (see _call_forward_directly)
  return cls
end

--- cls:new(...) builds an instance: records the arguments (to rebuild it from a file) and calls init.
function Module.new(cls, ...)
  local self = setmetatable({}, cls)
  made[self] = true
  rawset(self, "_args", table.pack(...))
  rawset(self, "training", true)
  if cls.init then self:init(...) end
  return self
end

--- Module.class_of(name) -> the module class registered under name, or nil
function Module.class_of(name)
  local cls = class.get(name)
  if cls and rawget(cls, "__is_module") then return cls end
  return nil
end
--- Module.register(cls, [name]): registers a module class (class.register)
function Module.register(cls, name) class.register(cls, name) end

function Module:forward()
  checks.fail(self.__name .. ": forward is not defined (a module class defines forward(self, input))")
end

--- Module:buffer(name, tensor): registers state that is saved but not trained.
function Module:buffer(name, t)
  if type(name) ~= "string" or name == "" then
    checks.fail("model:buffer: expected a buffer name string, got " .. (name == "" and "an empty string" or type(name)))
  end
  if t ~= nil and not ml.is_tensor(t) then checks.fail(fmt("model:buffer: buffer '%s' must be a tensor, got %s", name, type(t))) end
  local b = rawget(self, "_buffers")
  if not b then b = {}; rawset(self, "_buffers", b) end
  b[name] = true
  self[name] = t
  return t
end

-- The public keys of a module: numbers in order, then names in definition
-- order (_order, each once, those still set), then the rest sorted.
local function sorted_keys(t)
  local nums, names, seen = {}, {}, {}
  local order = rawget(t, "_order")
  if order then
    for _, k in ipairs(order) do
      if not seen[k] and rawget(t, k) ~= nil and k:sub(1, 1) ~= "_" then
        seen[k] = true
        names[#names + 1] = k
      end
    end
  end
  local rest = {}
  for k in pairs(t) do
    if type(k) == "number" then nums[#nums + 1] = k
    elseif type(k) == "string" and not seen[k] and k:sub(1, 1) ~= "_" then rest[#rest + 1] = k end
  end
  table.sort(nums)
  table.sort(rest)
  for _, k in ipairs(names) do nums[#nums + 1] = k end
  for _, k in ipairs(rest) do nums[#nums + 1] = k end
  return nums
end
Module._ordered_keys = sorted_keys

--- Module:children() -> array of {name, module}
function Module:children()
  local out = {}
  for _, k in ipairs(sorted_keys(self)) do
    local v = self[k]
    if is_module(v) then out[#out + 1] = { tostring(k), v } end
  end
  return out
end

--- Module:modules() -> array of {qualified_name, module}, this one first (name "")
local function collect_modules(m, prefix, out, seen)
  if seen[m] then return out end
  seen[m] = true
  out[#out + 1] = { prefix, m }
  for _, c in ipairs(m:children()) do
    collect_modules(c[2], prefix == "" and c[1] or (prefix .. "." .. c[1]), out, seen)
  end
  return out
end

function Module:named_modules()
  return collect_modules(self, "", {}, {})
end

--- Module:named_parameters() -> array of {name, tensor}, each tensor once
function Module:named_parameters()
  local out, seen = {}, {}
  for _, m in ipairs(self:named_modules()) do
    local prefix, mod = m[1], m[2]
    local buffers = rawget(mod, "_buffers") or {}
    for _, k in ipairs(sorted_keys(mod)) do
      local v = mod[k]
      if ml.is_tensor(v) and v:is_requires_grad() and not buffers[k] and not seen[v] then
        seen[v] = true
        out[#out + 1] = { prefix == "" and tostring(k) or (prefix .. "." .. k), v }
      end
    end
  end
  return out
end

--- Module:parameters() -> array of the parameter tensors (always the same objects)
function Module:parameters()
  local out = {}
  for i, p in ipairs(self:named_parameters()) do out[i] = p[2] end
  return out
end

--- Module:named_buffers() -> array of {name, tensor}
function Module:named_buffers()
  local out = {}
  for _, m in ipairs(self:named_modules()) do
    local prefix, mod = m[1], m[2]
    local buffers = rawget(mod, "_buffers")
    if buffers then
      local names = {}
      for k in pairs(buffers) do names[#names + 1] = k end
      table.sort(names)
      for _, k in ipairs(names) do
        if ml.is_tensor(mod[k]) then out[#out + 1] = { prefix == "" and k or (prefix .. "." .. k), mod[k] } end
      end
    end
  end
  return out
end

--- Module:num_parameters() -> total number of trainable elements
function Module:num_parameters()
  local n = 0
  for _, p in ipairs(self:parameters()) do n = n + p:numel() end
  return n
end

--- Module:state_dict() -> {name = tensor} for parameters and buffers (shared, not copied)
function Module:state_dict()
  local sd, seen = {}, {}
  for _, m in ipairs(self:named_modules()) do -- parameters, frozen ones included
    local prefix, mod = m[1], m[2]
    for _, k in ipairs(sorted_keys(mod)) do
      local v = mod[k]
      if not seen[v] and Module.is_parameter(mod, k, v) then
        seen[v] = true
        sd[prefix == "" and tostring(k) or (prefix .. "." .. k)] = v
      end
    end
  end
  for _, b in ipairs(self:named_buffers()) do sd[b[1]] = b[2] end
  return sd
end

--- Module:load_state_dict(sd, [{strict=true}]) -> missing, unexpected: copies values in; checks names and shapes first.
-- Returns the sorted lists of the model's names that sd lacks and of sd's names
-- the model lacks (as PyTorch's (missing_keys, unexpected_keys)); with strict
-- (the default) either is an error, so both come back empty.
function Module:load_state_dict(sd, opts)
  if type(sd) ~= "table" then
    checks.fail("load_state_dict: expected a table {name = tensor} (model:state_dict()), got " .. type(sd))
  end
  opts = checks.options("load_state_dict", opts, { "strict" })
  local strict = opts.strict ~= false
  local own = self:state_dict()
  local missing, unexpected = {}, {}
  for name, t in pairs(own) do
    local v = sd[name]
    if v == nil then missing[#missing + 1] = name
    elseif not ml.is_tensor(v) then
      checks.fail("load_state_dict: '" .. name .. "' is a " .. type(v) .. ", expected a tensor")
    elseif format.shape(v) ~= format.shape(t) then
      checks.fail(fmt("load_state_dict: '%s' has shape %s in the file, the model expects %s", name, format.shape(v), format.shape(t)))
    end
  end
  for name in pairs(sd) do if own[name] == nil then unexpected[#unexpected + 1] = name end end
  table.sort(missing); table.sort(unexpected)
  if strict and (#missing > 0 or #unexpected > 0) then
    local parts = {}
    if #missing > 0 then parts[#parts + 1] = "missing " .. table.concat(missing, ", ") end
    if #unexpected > 0 then parts[#parts + 1] = "unexpected " .. table.concat(unexpected, ", ") end
    checks.fail("load_state_dict: names do not match the model: " .. table.concat(parts, "; "))
  end
  ml.no_grad(function()
    for name, t in pairs(own) do
      if sd[name] ~= nil then t:copy_(sd[name]) end
    end
  end)
  return missing, unexpected
end

-- Sets training on m and every module under it (the children's fields:
-- numbers and public names), in no particular order: no names, no sorting.
local function set_training(m, mode, seen)
  seen[m] = true
  rawset(m, "training", mode) -- before the traversal: an existing key, or a new one before next starts
  -- a library layer without children (_leaf) has no module fields unless one was assigned (_kids)
  if m._leaf and not rawget(m, "_kids") then return end
  for k, v in next, m do
    if type(v) == "table" and not seen[v] and is_module(v)
        and (type(k) == "number" or (type(k) == "string" and k:byte(1) ~= 95)) then
      set_training(v, mode, seen)
    end
  end
end

--- Module:train([mode=true]) / Module:eval(): sets training mode on the whole tree
function Module:train(mode)
  if mode == nil then mode = true end
  set_training(self, mode and true or false, {})
  return self
end

function Module:eval() return self:train(false) end

--- Module:zero_grad(): zeroes the gradients of every parameter
function Module:zero_grad()
  ml.no_grad(function()
    for _, p in ipairs(self:parameters()) do
      if p.grad then p.grad:zero_() end
    end
  end)
end

--- Module:apply(fn): calls fn(module) on every module of the tree
function Module:apply(fn)
  if type(fn) ~= "function" and not (type(fn) == "table" and getmetatable(fn) and getmetatable(fn).__call) then
    checks.fail("model:apply: expected a function(module), got " .. type(fn))
  end
  for _, m in ipairs(self:named_modules()) do fn(m[2]) end
  return self
end

--- Module:extra_repr() -> string shown inside the parentheses of tostring
function Module:extra_repr() return "" end

local repr_body

local function own_params(m)
  local n = 0
  local buffers = rawget(m, "_buffers") or {}
  for _, k in ipairs(sorted_keys(m)) do
    local v = m[k]
    if ml.is_tensor(v) and v:is_requires_grad() and not buffers[k] then n = n + v:numel() end
  end
  return n
end

local function repr(m, indent, open)
  open = open or {}
  if open[m] then return "<cycle: " .. getmetatable(m).__name .. ">" end -- a module that contains itself
  open[m] = true
  local text = repr_body(m, indent, open)
  open[m] = nil
  return text
end

function repr_body(m, indent, open)
  local children = m:children()
  local extra = m:extra_repr()
  local name = getmetatable(m).__name
  if #children == 0 then
    local n = own_params(m)
    return name .. "(" .. extra .. ")" .. (n > 0 and ("  " .. format.thousands(n) .. " params") or "")
  end
  -- as PyTorch: the extra text on its own line, then the children
  local lines = { name .. "(" }
  if extra ~= "" then lines[#lines + 1] = indent .. "  " .. extra end
  for _, c in ipairs(children) do
    lines[#lines + 1] = indent .. "  (" .. c[1] .. "): " .. repr(c[2], indent .. "  ", open)
  end
  lines[#lines + 1] = indent .. ")"
  return table.concat(lines, "\n")
end

-- The footer counts trainable parameters; a loss, or a module that holds no
-- tensors at all (an activation), prints without it.
function Module:__tostring()
  local text = repr(self, "")
  if getmetatable(self)._is_loss or next(self:state_dict()) == nil then
    return text
  end
  return text .. "\n" .. format.thousands(self:num_parameters()) .. " trainable parameters"
end

do
  ml.doc(Module, "nn.Module:extend(name, [doc]) -> class — the base of every layer and model: a class defines init(...) and forward(...); tensor fields that require grad are parameters, module fields are children")
  ml.doc(Module.extend, "nn.Module:extend(name, [doc]) -> class — a new module class deriving from this one, registered under name (for nn.load); cls(...) makes an instance")
  ml.doc(Module.new, "cls:new(...) -> module — makes an instance (cls(...) calls it): records the arguments (to rebuild it from a file), sets training, calls init(...)")
  ml.doc(Module.class_of, "nn.Module.class_of(name) -> class | nil — the module class registered under name (what nn.load rebuilds from)")
  ml.doc(Module.register, "nn.Module.register(cls, [name=cls.__name]) — registers a module class under name so nn.load can rebuild it")
  ml.doc(Module.is_module, "nn.Module.is_module(v) -> boolean — whether v is a module instance")
  ml.doc(Module.forward, "model:forward(...) -> output — the computation, defined by each class; model(...) calls it")
  ml.doc(Module.buffer, "model:buffer(name, tensor) -> tensor — sets self[name] as a buffer: state saved in state_dict but not trained (BatchNorm's running stats)")
  ml.doc(Module.children, "model:children() -> {{name, module}, ...} — the direct submodules, in definition order (Sequential's by position)")
  ml.doc(Module.named_modules, "model:named_modules() -> {{name, module}, ...} — this module (name \"\") and every submodule once, depth first, with dotted names")
  ml.doc(Module.named_parameters, "model:named_parameters() -> {{name, tensor}, ...} — the trainable tensors with dotted names (\"fc1.weight\"), each once, in definition order (as PyTorch)")
  ml.doc(Module.is_parameter, "nn.Module.is_parameter(m, k, v) -> boolean — whether field k of m is a parameter: a tensor that requires grad, or one first set so and frozen since")
  ml.doc(Module.parameters, "model:parameters() -> {tensor} — the trainable tensors, always the same objects, in a stable order")
  ml.doc(Module.named_buffers, "model:named_buffers() -> {{name, tensor}, ...} — the buffers of every module, with dotted names")
  ml.doc(Module.num_parameters, "model:num_parameters() -> integer — the number of trainable elements")
  ml.doc(Module.state_dict, "model:state_dict() -> {name = tensor} — parameters and buffers by dotted name (the tensors themselves, not copies)")
  ml.doc(Module.load_state_dict, "model:load_state_dict(sd, [{strict=true}]) -> missing, unexpected — copies the tensors of sd in by name; names (when strict) and shapes are checked before anything changes; returns the sorted lists of names sd lacks and of names the model lacks (empty when strict)")
  ml.doc(Module.train, "model:train([mode=true]) -> model — sets training mode (Dropout, BatchNorm) on this module and every submodule")
  ml.doc(Module.eval, "model:eval() -> model — model:train(false): evaluation mode for the whole tree")
  ml.doc(Module.zero_grad, "model:zero_grad() — zeroes the gradient of every parameter, in place")
  ml.doc(Module.apply, "model:apply(fn) -> model — calls fn(m) on this module and every submodule")
  ml.doc(Module.extra_repr, "model:extra_repr() -> string — what tostring(model) shows inside the parentheses; classes override it")
end

return { Module = Module }
