--- moonlab.core.class: the one class system of the Lua library.
--
--   local Object = require("moonlab.core.class").Object
--   local Scaler = Object:extend("prep.StandardScaler", "prep.StandardScaler([opts]) — ...")
--   function Scaler:init(opts) ... end        -- the constructor
--   local s = Scaler{with_mean = false}      -- cls(...) calls cls:new(...), which calls init
--
-- A class is a table that is the metatable of its instances: methods are its
-- fields, metamethods (names starting with "__") are copied from the parent
-- at extend time (Lua does not look them up through __index), `super` is the
-- parent. Every class is registered under its name, so a saved object can be
-- rebuilt by name (core/persist). Names are the public ones ("Linear" for
-- nn.Linear model files, "optim.Adam", "EarlyStopping"); a later class of
-- the same name replaces the earlier one (a REPL session redefining a class),
-- but user code cannot take the name of a class the library defines (that
-- would silently change what nn.load builds): that is an error.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local M = {}
local registry = {}
local builtin = {} -- class -> true for the classes the library defines (while one of its files loads)

-- Whether extend was called while a file of moonlab's Lua library was being
-- loaded (its main chunk is on the stack before any user code): a built-in class.
local function defined_by_library()
  local level = 3
  while true do
    local info = debug.getinfo(level, "S")
    if not info then return false end
    if info.what ~= "C" then
      if not checks.in_library(info.source) then return false end
      if info.what == "main" then return true end
    end
    level = level + 1
  end
end

local Object = {}
Object.__name = "Object"
Object.__index = Object

-- The metatable of a class table: calling the class makes an instance,
-- printing it gives its name.
local function class_meta(parent)
  return {
    __index = parent,
    __call = function(cls, ...) return cls:new(...) end,
    __tostring = function(cls) return rawget(cls, "__name") or "class" end,
  }
end
setmetatable(Object, class_meta(nil))

--- Object:extend(name, [doc]) -> a new class deriving from this one, registered under name
function Object:extend(name, doc)
  if type(name) ~= "string" or name == "" then
    error((rawget(self, "__name") or "Object") .. ":extend: expected a class name string, got " .. type(name), 2)
  end
  local lib = defined_by_library()
  local old = registry[name]
  if old and builtin[old] and not lib then
    local fn = (rawget(self, "_extend_name") or rawget(self, "__name") or "Object") .. ":extend"
    checks.fail(string.format("%s: '%s' is the name of a built-in class (%s); choose another name", fn, name,
      rawget(old, "_nn_name") or name))
  end
  local cls = {}
  for k, v in pairs(self) do
    if type(k) == "string" and k:sub(1, 2) == "__" and k ~= "__index" then cls[k] = v end
  end
  cls.__index = cls
  cls.__name = name
  cls.super = self
  registry[name] = cls
  if lib then builtin[cls] = true end
  setmetatable(cls, class_meta(self))
  if doc then ml.doc(cls, doc) end
  return cls
end

-- The constructor arguments of each instance (weak keys: they live as long as it),
-- kept beside the object so code that walks its fields does not see them.
local args_of = setmetatable({}, { __mode = "k" })

--- cls:new(...) -> instance: makes the table, records the arguments (core/persist saves them), then calls init(...)
function Object.new(cls, ...)
  local self = setmetatable({}, cls)
  args_of[self] = table.pack(...)
  if cls.init then self:init(...) end
  return self
end

--- class.args_of(obj) -> the packed arguments obj was constructed with (Object.new recorded them), or nil
function M.args_of(obj)
  if type(obj) ~= "table" then return nil end
  return rawget(obj, "_args") or args_of[obj]
end

--- obj:extra_repr() -> string shown inside the parentheses when the object is printed
function Object:extra_repr() return "" end

function Object:__tostring()
  return self.__name .. "(" .. self:extra_repr() .. ")"
end

--- obj:is_a(cls) -> boolean: whether obj is an instance of cls or of a class derived from it
function Object:is_a(cls)
  local c = getmetatable(self)
  while c do
    if c == cls then return true end
    c = rawget(c, "super")
  end
  return false
end

M.Object = Object

--- class.is_builtin(cls) -> boolean: whether cls was defined by moonlab's library (its name cannot be taken by a user class)
function M.is_builtin(cls) return builtin[cls] == true end

--- class.get(name) -> the class registered under name, or nil
-- The packages that define built-in classes: a name not registered yet may
-- belong to one that is not loaded in this process (a fresh process loading
-- a checkpoint that names ModelCheckpoint or optim.Adam), so get loads them.
local BUILTIN_PACKAGES = { "moonlab.nn", "moonlab.optim", "moonlab.callbacks", "moonlab.data", "moonlab.prep" }
local builtins_loaded = false

function M.get(name)
  local cls = registry[name]
  if cls ~= nil or builtins_loaded then return cls end
  builtins_loaded = true
  for _, p in ipairs(BUILTIN_PACKAGES) do require(p) end
  return registry[name]
end

--- class.register(cls, [name]): registers cls under name (default: its own name)
function M.register(cls, name) registry[name or cls.__name] = cls end

--- class.name_of(v) -> the class name of an instance of this class system, or nil
function M.name_of(v)
  local mt = type(v) == "table" and getmetatable(v)
  return mt and rawget(mt, "__index") == mt and rawget(mt, "__name") or nil
end

--- class.is_instance(v, cls) -> boolean
function M.is_instance(v, cls)
  local mt = type(v) == "table" and getmetatable(v)
  while mt do
    if mt == cls then return true end
    mt = rawget(mt, "super")
  end
  return false
end

--- class.is_class(v) -> boolean: whether v is a class table of this system
function M.is_class(v)
  return type(v) == "table" and rawget(v, "__index") == v and rawget(v, "__name") ~= nil and getmetatable(v) ~= nil
end

do
  ml.doc(Object, "core.class.Object — the root of moonlab's one class system: Object:extend(name, [doc]) -> class; cls(...) makes an instance and calls init(...)")
  ml.doc(Object.extend, "Base:extend(name, [doc]) -> class — a new class deriving from Base (methods by lookup, metamethods copied), registered under name so saved objects can be rebuilt")
  ml.doc(Object.new, "cls:new(...) -> instance — makes the instance, records its arguments (to rebuild it from a file) and calls its init(...); cls(...) calls it")
  ml.doc(Object.extra_repr, "obj:extra_repr() -> string — what tostring(obj) shows inside the parentheses; classes override it")
  ml.doc(Object.is_a, "obj:is_a(cls) -> boolean — whether obj is an instance of cls or of a class derived from it")
  ml.doc(M.args_of, "class.args_of(obj) -> packed table | nil — the arguments obj was constructed with (what persist saves to rebuild it)")
  ml.doc(M.is_builtin, "class.is_builtin(cls) -> boolean — whether cls is one of the library's classes, whose names user classes cannot take")
  ml.doc(M.get, "class.get(name) -> class | nil — the class registered under name (loading the built-in packages first when the name is not known yet)")
  ml.doc(M.register, "class.register(cls, [name=cls.__name]) — registers cls under name (what loading rebuilds from)")
  ml.doc(M.name_of, "class.name_of(v) -> string | nil — the class name of an instance")
  ml.doc(M.is_instance, "class.is_instance(v, cls) -> boolean — whether v is an instance of cls or of a class derived from it")
  ml.doc(M.is_class, "class.is_class(v) -> boolean — whether v is a class made with extend")
end

return M
