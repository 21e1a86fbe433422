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

local Module = {}
Module.__name = "Module"
Module.__index = Module
Module.__is_module = true

local registry = {} -- class name -> class, so nn.load can rebuild a saved model

local function is_module(v)
  return type(v) == "table" and getmetatable(v) ~= nil and getmetatable(v).__is_module == true
end
Module.is_module = is_module

local function instance_call(self, ...) return self:forward(...) end

-- The first assignment of a field (the key is not in the table yet): note its
-- name, so children and parameters come in definition order.
local function instance_newindex(self, k, v)
  if type(k) == "string" and v ~= nil and k:byte(1) ~= 95 then -- not "_..."
    local order = rawget(self, "_order")
    if not order then order = {}; rawset(self, "_order", order) end
    order[#order + 1] = k
  end
  rawset(self, k, v)
end
Module.__newindex = instance_newindex

--- Module:extend(name) -> a new class deriving from this one.
function Module:extend(name)
  if type(name) ~= "string" or name == "" then error("nn.Module:extend: expected a class name string", 2) end
  local cls = {}
  for k, v in pairs(self) do
    if type(k) == "string" and k:sub(1, 2) == "__" then cls[k] = v end -- metamethods are not inherited by __index
  end
  cls.__index = cls
  cls.__name = name
  cls.__call = instance_call
  cls.__tostring = Module.__tostring
  cls.super = self
  registry[name] = cls
  return setmetatable(cls, { __index = self, __call = function(c, ...) return c:new(...) end })
end

--- cls:new(...) builds an instance: records the arguments (to rebuild it from a file) and calls init.
function Module.new(cls, ...)
  local self = setmetatable({}, cls)
  rawset(self, "_args", table.pack(...))
  rawset(self, "training", true)
  if cls.init then self:init(...) end
  return self
end

function Module.class_of(name) return registry[name] end
function Module.register(cls, name) registry[name or cls.__name] = cls end

function Module:forward()
  error(self.__name .. ": forward is not defined (a module class defines forward(self, input))", 2)
end

Module.__call = instance_call

--- Module:buffer(name, tensor): registers state that is saved but not trained.
function Module:buffer(name, t)
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
function Module:named_modules(prefix, out, seen)
  out, seen, prefix = out or {}, seen or {}, prefix or ""
  if seen[self] then return out end
  seen[self] = true
  out[#out + 1] = { prefix, self }
  for _, c in ipairs(self:children()) do
    c[2]:named_modules(prefix == "" and c[1] or (prefix .. "." .. c[1]), out, seen)
  end
  return out
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
  local sd = {}
  for _, p in ipairs(self:named_parameters()) do sd[p[1]] = p[2] end
  for _, b in ipairs(self:named_buffers()) do sd[b[1]] = b[2] end
  return sd
end

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

--- Module:load_state_dict(sd, [{strict=true}]) -> missing, unexpected: copies values in; checks names and shapes first.
-- Returns the sorted lists of the model's names that sd lacks and of sd's names
-- the model lacks (as PyTorch's (missing_keys, unexpected_keys)); with strict
-- (the default) either is an error, so both come back empty.
function Module:load_state_dict(sd, opts)
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "strict" then error("load_state_dict: unknown option '" .. tostring(k) .. "' (known: strict)", 2) end
  end
  local strict = opts.strict ~= false
  local own = self:state_dict()
  local missing, unexpected = {}, {}
  for name, t in pairs(own) do
    local v = sd[name]
    if v == nil then missing[#missing + 1] = name
    elseif not ml.is_tensor(v) then
      error("load_state_dict: '" .. name .. "' is a " .. type(v) .. ", expected a tensor", 2)
    elseif shape_str(v) ~= shape_str(t) then
      error(string.format("load_state_dict: '%s' has shape %s in the file, the model expects %s", name, shape_str(v), shape_str(t)), 2)
    end
  end
  for name in pairs(sd) do if own[name] == nil then unexpected[#unexpected + 1] = name end end
  table.sort(missing); table.sort(unexpected)
  if strict and (#missing > 0 or #unexpected > 0) then
    local parts = {}
    if #missing > 0 then parts[#parts + 1] = "missing " .. table.concat(missing, ", ") end
    if #unexpected > 0 then parts[#parts + 1] = "unexpected " .. table.concat(unexpected, ", ") end
    error("load_state_dict: names do not match the model: " .. table.concat(parts, "; "), 2)
  end
  ml.no_grad(function()
    for name, t in pairs(own) do
      if sd[name] ~= nil then t:copy_(sd[name]) end
    end
  end)
  return missing, unexpected
end

--- Module:train([mode=true]) / Module:eval(): sets training mode on the whole tree
function Module:train(mode)
  if mode == nil then mode = true end
  for _, m in ipairs(self:named_modules()) do rawset(m[2], "training", mode and true or false) end
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
  for _, m in ipairs(self:named_modules()) do fn(m[2]) end
  return self
end

--- Module:extra_repr() -> string shown inside the parentheses of tostring
function Module:extra_repr() return "" end

local function thousands(n)
  local s = tostring(n)
  return (s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

local function own_params(m)
  local n = 0
  local buffers = rawget(m, "_buffers") or {}
  for _, k in ipairs(sorted_keys(m)) do
    local v = m[k]
    if ml.is_tensor(v) and v:is_requires_grad() and not buffers[k] then n = n + v:numel() end
  end
  return n
end

local function repr(m, indent)
  local children = m:children()
  local head = m.__name .. "(" .. m:extra_repr()
  if #children == 0 then
    local n = own_params(m)
    return head .. ")" .. (n > 0 and ("  " .. thousands(n) .. " params") or "")
  end
  local lines = { head }
  for _, c in ipairs(children) do
    lines[#lines + 1] = indent .. "  (" .. c[1] .. "): " .. repr(c[2], indent .. "  ")
  end
  lines[#lines + 1] = indent .. ")"
  return table.concat(lines, "\n")
end

function Module:__tostring()
  return repr(self, "") .. "\n" .. thousands(self:num_parameters()) .. " trainable parameters"
end

if ml.doc then
  ml.doc(Module, "nn.Module:extend(name) -> class — the base of every layer and model: a class defines init(...) and forward(...); tensor fields that require grad are parameters, module fields are children")
  ml.doc(Module.extend, "nn.Module:extend(name) -> class — a new module class deriving from this one, registered under name (for nn.load); cls(...) makes an instance")
  ml.doc(Module.new, "cls:new(...) -> module — makes an instance (cls(...) calls it): records the arguments (to rebuild it from a file), sets training, calls init(...)")
  ml.doc(Module.class_of, "nn.Module.class_of(name) -> class | nil — the module class registered under name (what nn.load rebuilds from)")
  ml.doc(Module.register, "nn.Module.register(cls, [name=cls.__name]) — registers a module class under name so nn.load can rebuild it")
  ml.doc(Module.is_module, "nn.Module.is_module(v) -> boolean — whether v is a module instance")
  ml.doc(Module.forward, "model:forward(...) -> output — the computation, defined by each class; model(...) calls it")
  ml.doc(Module.buffer, "model:buffer(name, tensor) -> tensor — sets self[name] as a buffer: state saved in state_dict but not trained (BatchNorm's running stats)")
  ml.doc(Module.children, "model:children() -> {{name, module}, ...} — the direct submodules, in definition order (Sequential's by position)")
  ml.doc(Module.named_modules, "model:named_modules() -> {{name, module}, ...} — this module (name \"\") and every submodule once, depth first, with dotted names")
  ml.doc(Module.named_parameters, "model:named_parameters() -> {{name, tensor}, ...} — the trainable tensors with dotted names (\"fc1.weight\"), each once, in definition order (as PyTorch)")
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
