--- nn/layers/base.lua: what the layer files share: the layer class maker
-- (a constructor that refuses surplus arguments), argument checks with
-- errors at the user's line, parameters, one-optional-value constructors.
local ml = require "moonlab"
local Module = require("moonlab.nn.module").Module
local checks = require "moonlab.core.checks"

local fail, check_opts = checks.fail, checks.options
local fmt = string.format
local is_module = Module.is_module

local B = {}
B.fail, B.check_opts, B.fmt = fail, check_opts, fmt
B.shape_str = require("moonlab.core.format").shape

-- The number of arguments, trailing nils left out.
local function count_args(...)
  local n = select("#", ...)
  while n > 0 and select(n, ...) == nil do n = n - 1 end
  return n
end
B.count_args = count_args

local function is_options(v) return type(v) == "table" and not is_module(v) end
B.is_options = is_options

function B.check_count(fn, what, v)
  if math.type(v) ~= "integer" or v < 0 then
    fail(fmt("%s: %s must be a non-negative integer, got %s", fn, what, tostring(v)))
  end
  return v
end

function B.check_number(fn, what, v, lo, hi)
  if type(v) ~= "number" or v ~= v or (lo and v < lo) or (hi and v > hi) then
    local range = (lo and hi) and fmt(" in [%g, %g]", lo, hi) or (lo and fmt(" >= %g", lo) or "")
    fail(fmt("%s: %s must be a number%s, got %s", fn, what, range, tostring(v)))
  end
  return v
end

function B.check_bool(fn, what, v, def)
  if v == nil then return def end
  if type(v) ~= "boolean" then fail(fmt("%s: option '%s' must be a boolean, got %s", fn, what, type(v))) end
  return v
end

B.check_dtype = checks.dtype -- (fn, dtype): float32 (the default) or float64

function B.check_input(fn, x)
  if type(x) ~= "userdata" or not ml.is_tensor(x) then
    fail(fmt("%s: input must be a tensor, got %s", fn, type(x)))
  end
end

function B.param(shape, dt)
  return ml.empty(shape, { dtype = dt, requires_grad = true })
end

-- A layer class, documented. With max_args, the constructor refuses surplus
-- arguments ("nn.Linear: takes at most 3 arguments (in, out, [options]), got 4");
-- subclasses (a user's class extending a layer) choose their own. Errors name
-- it "nn.<name>" (_nn_name) and its forward gets the generic layer doc.
function B.class(name, docstring, max_args, usage)
  local cls = Module:extend(name, docstring)
  local fn = "nn." .. name
  cls._nn_name = fn
  -- a layer without children: its own errors need no module path (see Module's __call)
  if name ~= "Sequential" and name ~= "ModuleList" then cls._leaf = true end
  if max_args then
    function cls.new(c, ...)
      if c == cls then
        local n = count_args(...)
        if n > max_args then
          if max_args == 0 then fail(fmt("%s: takes no arguments, got %d", fn, n)) end
          fail(fmt("%s: takes at most %d argument%s (%s), got %d", fn, max_args, max_args == 1 and "" or "s", usage, n))
        end
      end
      return Module.new(c, ...)
    end
  end
  return cls
end

-- layer(v, [options]) or layer({name = v}): one optional value, by position or by name.
function B.value_or_option(fn, name, ...)
  local n = count_args(...)
  local a, b = ...
  if is_options(a) then
    if n > 1 then fail(fmt("%s: takes %s or an options table, got %d arguments", fn, name, n)) end
    return check_opts(fn, a, { name })[name]
  end
  if b ~= nil then
    local o = check_opts(fn, b, { name })
    if o[name] ~= nil then
      if a ~= nil then fail(fmt("%s: %s is given twice (argument 1 and option '%s')", fn, name, name)) end
      return o[name]
    end
  end
  return a
end

-- Layers without arguments: nothing, or an empty options table.
function B.no_args(cls, fn)
  function cls:init(...)
    local n = count_args(...)
    if n == 0 then return end
    if n == 1 and is_options((...)) then check_opts(fn, (...), {}); return end
    fail(fmt("%s: takes no arguments, got %d", fn, n))
  end
end

-- Each layer's forward gets the generic doc unless it has its own; a layer
-- without children is called as its forward (Module._call_forward_directly).
function B.doc_forwards(M)
  for _, cls in pairs(M) do
    local f = rawget(cls, "forward")
    if f and not ml.doc(f) then ml.doc(f, "layer:forward(x) -> y — applies the layer, as its class doc says; layer(x) calls it") end
    Module._call_forward_directly(cls)
  end
  return M
end

return B
