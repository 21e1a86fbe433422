--- nn.Sequential, nn.ModuleList: modules that hold modules.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local class, fail, fmt = B.class, B.fail, B.fmt
local doc = ml.doc
local is_module = require("moonlab.nn.module").Module.is_module

local M = {}

local function module_list(fn, mods)
  if mods == nil then return {} end
  if type(mods) ~= "table" or is_module(mods) then
    fail(fmt("%s: expected a list of modules {m1, m2, ...}, got %s", fn, is_module(mods) and "a module" or type(mods)))
  end
  local n = #mods
  for k in pairs(mods) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      fail(fmt("%s: expected a list of modules {m1, m2, ...}; key %s is not a position 1..%d", fn, tostring(k), n))
    end
  end
  for i = 1, n do
    if not is_module(mods[i]) then fail(fmt("%s: element %d is a %s, expected a module", fn, i, type(mods[i]))) end
  end
  return mods
end

local function container(name, docstring)
  local cls = class(name, docstring, 1, "a list of modules")
  local fn = "nn." .. name
  function cls:init(mods)
    mods = module_list(fn, mods)
    for i = 1, #mods do rawset(self, i, mods[i]) end
  end
  --- add(m): appends a module; returns the container
  function cls:add(m)
    if not is_module(m) then fail(fmt("%s:add: expected a module, got %s", fn, type(m))) end
    local n = rawlen(self) + 1
    rawset(self, n, m)
    local list = {}
    for i = 1, n do list[i] = rawget(self, i) end
    rawset(self, "_args", table.pack(list)) -- so a saved model rebuilds with every module
    return self
  end
  -- a new numeric key must be the next position and hold a module (an existing one
  -- replaced by a non-module is found by forward and save: check_elements)
  local newindex = cls.__newindex
  cls.__newindex = function(self, k, v)
    if type(k) == "number" and v ~= nil then
      local n = rawlen(self)
      if math.type(k) ~= "integer" or k < 1 or k > n + 1 then
        fail(fmt("%s: cannot set [%s]: positions are 1..%d (the next is %d); a hole or index 0 would be skipped by forward",
          name, tostring(k), n, n + 1))
      end
      if not is_module(v) then fail(fmt("%s[%d]: element %d is a %s, not a module", name, k, k, type(v))) end
    end
    return newindex(self, k, v)
  end
  cls._container = true
  local var = name == "Sequential" and "seq" or "list"
  doc(cls.add, fmt("%s:add(m) -> %s — appends module m (alias %s:append(m)) and returns the container", var, var, var))
  cls.__len = function(self) return rawlen(self) end
  return cls
end

local Sequential = container("Sequential",
  "nn.Sequential{m1, m2, ...} — chains modules: forward(x) = mn(...m2(m1(x))); seq:add(m) appends; seq[i] is the i-th")
Sequential.append = Sequential.add

-- What is wrong with a container's elements (a non-module, a hole, index 0), or nil.
local function check_elements(c)
  local name = getmetatable(c).__name
  local n = rawlen(c)
  for i = 1, n do
    local v = rawget(c, i)
    if v == nil then return fmt("%s[%d]: there is no element %d (a hole before element %d)", name, i, i, n) end
    if not is_module(v) then return fmt("%s[%d]: element %d is a %s, not a module", name, i, i, type(v)) end
  end
  for k, v in pairs(c) do
    if type(k) == "number" and (math.type(k) ~= "integer" or k < 1 or k > n) then
      return fmt("%s[%s]: element at index %s is outside the positions 1..%d (forward skips it)", name, tostring(k), tostring(k), n)
    end
  end
  return nil
end

Sequential._bad_elements = check_elements -- model:save asks (nn/serialize.lua); ModuleList's below
local function bad_element(self) fail(check_elements(self) or "nn.Sequential: bad element") end

-- An element is checked by one lookup in the set of modules made (Module._made);
-- one made another way is checked in full, and remembered.
local made = require("moonlab.nn.module").Module._made
local function check_element(self, m)
  if not is_module(m) then bad_element(self) end
  made[m] = true
end

function Sequential:forward(x)
  local n = rawlen(self)
  for i = 1, n do
    local m = self[i]
    if not made[m] then check_element(self, m) end
    x = m(x)
  end
  -- n is a border (self[n + 1] is nil); an element at 0 can only come from rawset
  if rawget(self, 0) ~= nil then bad_element(self) end
  return x
end
doc(Sequential.forward, "seq:forward(x) -> y — calls the modules in order, each on the previous one's output")

local ModuleList = container("ModuleList",
  "nn.ModuleList{m1, m2, ...} — holds modules whose parameters are found; list[i], #list, ipairs(list), list:add(m)")
ModuleList.append = ModuleList.add
ModuleList._bad_elements = check_elements

function ModuleList:forward()
  fail("nn.ModuleList: has no forward; call its modules from your own module's forward")
end
doc(ModuleList.forward, "list:forward() — an error: a ModuleList has no forward; call its modules from your own module's forward")

M.Sequential = Sequential
M.ModuleList = ModuleList
return B.doc_forwards(M)
