--- optim.Optimizer: the base of every optimizer (parameter groups, options,
-- flattening, step, zero_grad, state_dict).
--
-- Optimizers are classes of core/class.lua. A built-in one is declared with
-- Optimizer:extend("optim.Name", {kind = "Name", options = ..., check = ...,
-- state_used = ...}) (see sgd.lua): its fused C kernel, its option list with
-- defaults, a check of one group's values, and which state buffers its
-- options use. Its update is one fused C call per group and
-- dtype (runtime/ops/optim.c).
--
-- An optimizer written in Lua defines an update method instead:
--   local Lion = optim.Optimizer:extend("Lion", {
--     options = {{"lr", 1e-4}, {"betas", {0.9, 0.99}}, {"weight_decay", 0}},
--     state = {"exp_avg"},                       -- made with zeros_like(p) at a parameter's first step
--   })
--   function Lion:update(p, grad, state, group) ... in place on p and state ... end
-- step() calls update once per parameter that has a gradient, inside
-- ml.no_grad, after state.step has been incremented; state holds the
-- parameter's tensors (and plain values) and state_dict()/load_state_dict()
-- save and restore them like the built-in ones' state.
--
-- Flattening: when an optimizer is made, each group's parameters (one block
-- per dtype) are copied into one contiguous block and every parameter tensor
-- is rebound to a view into it, and likewise their gradients into a second
-- block. The tensor objects stay the same (model:parameters() returns the
-- same objects, with the same values); backward adds into the gradient views
-- in place; step() is one loop over the block and zero_grad() one memset.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local Optimizer = class.Object:extend("optim.Optimizer")

local C = ml._optim
local doc = ml.doc

-- Errors are raised at the user's line (core/checks finds it).
local function raise(msg) return checks.fail(msg) end

---------------------------------------------------------------------------
-- helpers shared with lr.lua
---------------------------------------------------------------------------
local H = {}
Optimizer._helpers = H

local function fmt(v)
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = fmt(x) end
    return "{" .. table.concat(parts, ", ") .. "}"
  elseif type(v) == "number" then
    return string.format("%.6g", v)
  end
  return tostring(v)
end
H.fmt = fmt

--- H.number(v, name, where, [lo], [hi], [lo_open], [hi_open]) -> v, checked
function H.number(v, name, where, lo, hi, lo_open, hi_open)
  if type(v) ~= "number" or v ~= v then
    raise(string.format("%s: %s must be a number, got %s", where, name, v ~= v and "nan" or type(v)))
  end
  local bad = (lo and (v < lo or (lo_open and v == lo))) or (hi and (v > hi or (hi_open and v == hi)))
  if bad then
    local range
    if lo and hi then
      range = string.format("in %s%s, %s%s", lo_open and "(" or "[", fmt(lo), fmt(hi), hi_open and ")" or "]")
    elseif lo then
      range = (lo_open and "> " or ">= ") .. fmt(lo)
    else
      range = (hi_open and "< " or "<= ") .. fmt(hi)
    end
    raise(string.format("%s: %s must be %s, got %s", where, name, range, fmt(v)))
  end
  return v
end

function H.boolean(v, name, where)
  if type(v) ~= "boolean" then
    raise(string.format("%s: %s must be true or false, got %s", where, name, type(v)))
  end
  return v
end

function H.integer(v, name, where, lo)
  local i = math.type(v) == "float" and math.tointeger(v) or v
  if math.type(i) ~= "integer" or (lo and i < lo) then
    raise(string.format("%s: %s must be an integer%s, got %s", where, name, lo and (" >= " .. lo) or "", fmt(v)))
  end
  return i
end

-- Plain data only (JSON-able): numbers, strings, booleans, arrays/tables of them.
local function plain_copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = plain_copy(x) end
  return out
end
H.plain_copy = plain_copy

local function is_plain(v, depth)
  local t = type(v)
  if t == "number" then return v == v and v ~= math.huge and v ~= -math.huge end
  if t == "string" or t == "boolean" then return true end
  if t ~= "table" or ml.is_tensor(v) or getmetatable(v) ~= nil or (depth or 0) > 4 then return false end
  for k, x in pairs(v) do
    if (type(k) ~= "string" and math.type(k) ~= "integer") or not is_plain(x, (depth or 0) + 1) then return false end
  end
  return true
end

local shape_str = format.shape

---------------------------------------------------------------------------
-- declaring optimizers
---------------------------------------------------------------------------

-- The check of a Lua optimizer's options when it gives none: each value has
-- the type of its default (a number that is not NaN, a list of as many numbers).
local function default_check(cls)
  return function(g, where)
    for _, k in ipairs(cls.option_list) do
      local d, v = cls.option_defaults[k], g[k]
      if type(d) == "number" then
        if type(v) ~= "number" or v ~= v then raise(string.format("%s: %s must be a number, got %s", where, k, checks.show(v))) end
      elseif type(d) == "boolean" then
        H.boolean(v, k, where)
      elseif type(d) == "table" then
        if type(v) ~= "table" or #v ~= #d then
          raise(string.format("%s: %s must be a table of %d values, got %s", where, k, #d,
            type(v) == "table" and (#v .. " values") or checks.show(v)))
        end
        for i = 1, #d do
          if type(d[i]) == "number" then H.number(v[i], k .. "[" .. i .. "]", where) end
        end
      elseif d ~= nil and type(v) ~= type(d) then
        raise(string.format("%s: %s must be a %s, got %s", where, k, type(d), checks.show(v)))
      end
    end
  end
end

--- Optimizer:extend(name, [spec | doc]) -> a new optimizer class, callable as cls(params, [opts]).
-- spec: {options = {{key, default}, ...}, [doc], [check = fn(group, where)], [state_used = fn(group)],
-- [init_state], [kind] (the fused C kernel), [state = {names}] (Lua optimizers: buffers made with zeros_like)}.
-- Without options, the parent's are kept (a subclass of Adam is an Adam with another name).
function Optimizer:extend(name, spec)
  if type(name) ~= "string" or name == "" then raise("optim.Optimizer:extend: expected a class name string, got " .. type(name)) end
  if type(spec) == "string" then spec = { doc = spec } end
  if spec ~= nil and type(spec) ~= "table" then
    raise("optim.Optimizer:extend: expected a spec table {options = ..., ...} or a doc string, got " .. type(spec))
  end
  spec = spec or {}
  checks.options("optim.Optimizer:extend", spec, { "name", "doc", "options", "check", "state_used", "init_state", "kind", "state" })
  local cls = class.Object.extend(self, name, spec.doc)
  cls.class_name = name:gsub("^optim%.", "")
  if spec.options then
    if type(spec.options) ~= "table" then raise("optim.Optimizer:extend: options must be a list of {name, default}") end
    cls.option_list, cls.option_defaults = {}, {}
    for i, o in ipairs(spec.options) do
      if type(o) ~= "table" or type(o[1]) ~= "string" then
        raise(string.format("optim.Optimizer:extend: option %d must be {name, default}, got %s", i, checks.show(o)))
      end
      cls.option_list[i] = o[1]
      cls.option_defaults[o[1]] = o[2]
    end
    cls.check = spec.check or default_check(cls)
  elseif spec.check then
    cls.check = spec.check
  end
  if not cls.option_list then raise("optim.Optimizer:extend: " .. name .. " needs options = {{name, default}, ...}") end
  if spec.kind or spec.options then cls.kind = spec.kind end
  if spec.state_used then cls.state_used = spec.state_used end
  if spec.init_state then cls.init_state = spec.init_state end
  if spec.state ~= nil then
    local st, ok = spec.state, type(spec.state) == "table"
    if ok then
      local n = 0
      for _ in pairs(st) do n = n + 1 end
      ok = n == #st
      for _, v in ipairs(st) do if type(v) ~= "string" or v == "" or v == "step" then ok = false end end
    end
    if not ok then
      raise("optim.Optimizer:extend: " .. name .. ": state must be a list of buffer names ({\"exp_avg\", ...}, not 'step'), got " .. checks.show(st))
    end
    cls.state_names = st
  end
  if spec.check then doc(cls.check, "cls.check(group, where) — raises unless the options of one parameter group are valid") end
  if spec.state_used then doc(cls.state_used, "cls.state_used(group) -> {name = true} — the state buffers a group's options use (what state_dict saves)") end
  if spec.init_state then doc(cls.init_state, "cls.init_state(flat, group) — makes the state PyTorch creates with the optimizer (Adagrad's sum)") end
  return cls
end

-- Whether this optimizer's update is the class's Lua update method (no C kernel).
local function lua_update(cls) return cls.update ~= nil end

-- The options of a group: given values over defaults, copied, checked.
local function fill_group(cls, src, defaults, where)
  local g = {}
  for _, k in ipairs(cls.option_list) do
    local v = src[k]
    if v == nil then v = defaults[k] end
    g[k] = plain_copy(v)
  end
  cls.check(g, where)
  return g
end

-- params: an array of tensors, an array of groups, or a module.
local function normalize_params(params, where)
  if type(params) == "table" and not ml.is_tensor(params) and type(params.parameters) == "function"
      and getmetatable(params) ~= nil then
    params = params:parameters() -- a module
  end
  if ml.is_tensor(params) then
    raise(where .. ": expected an array of tensors or of parameter groups, got a single tensor (wrap it: {t})")
  end
  if type(params) ~= "table" then
    raise(where .. ": expected an array of tensors or of parameter groups, got " .. type(params))
  end
  if #params == 0 then raise(where .. ": got an empty parameter list") end
  if ml.is_tensor(params[1]) then return { { params = params } }, false end
  return params, true
end

-- A class that can step: a fused C kernel (kind) or a Lua update method.
local function check_class(cls)
  local where = cls.__name
  if rawequal(cls, Optimizer) or not cls.option_list then
    raise(where .. ": is the base class, not an optimizer: use optim.SGD, optim.Adam, ... or declare one with "
      .. "optim.Optimizer:extend(name, {options = {{key, default}, ...}}) and its update method")
  end
  local u = cls.update
  if u ~= nil and type(u) ~= "function" then
    raise(string.format("%s: %s.update must be a method function(self, p, grad, state, group), got %s", where, where, checks.show(u)))
  end
  if u == nil and cls.kind == nil then
    raise(string.format("%s: define %s:update(p, grad, state, group) (an optimizer class written in Lua steps with its update method)", where, where))
  end
end

-- After update(p, grad, state, group): state.step is still the count, the declared buffers are still
-- tensors, every other value is a tensor, a number or a boolean (what state_dict can save).
local function check_lua_state(cls, st, step, n)
  local where = cls.__name
  if st.step ~= step then
    raise(string.format("%s:update changed state.step of parameter %d to %s; step is the optimizer's count", where, n, checks.show(st.step)))
  end
  for _, name in ipairs(cls.state_names or {}) do
    if not ml.is_tensor(st[name]) then
      raise(string.format("%s:update set state.%s of parameter %d to %s; the buffers declared in state = {...} stay tensors (update them in place)",
        where, name, n, checks.show(st[name])))
    end
  end
  for k, v in pairs(st) do
    local t = type(v)
    if type(k) ~= "string" then
      raise(string.format("%s:update put a key %s in the state of parameter %d; state keys are names", where, checks.show(k), n))
    end
    if not (t == "number" or t == "boolean" or ml.is_tensor(v)) then
      raise(string.format("%s:update set state.%s of parameter %d to %s; a Lua optimizer's state holds tensors, numbers and booleans",
        where, k, n, checks.show(v)))
    end
  end
end

--- cls:new(params, opts): see the optimizer classes.
function Optimizer.new(cls, params, opts)
  check_class(cls)
  local where = cls.__name
  local known = {}
  for i, k in ipairs(cls.option_list) do known[i] = k end
  opts = checks.options(where, opts, known)
  local defaults = fill_group(cls, opts, cls.option_defaults, where)
  local self = setmetatable({ defaults = defaults, param_groups = {}, _flats = {}, _params = {}, _seen = {} }, cls)
  local groups, grouped = normalize_params(params, where)
  for gi, src in ipairs(groups) do
    self:_add_group(src, grouped and gi or nil)
  end
  self._seen = nil
  return self
end

--- opt:add_param_group(group): adds a group {params = {...}, lr = ...} (options default to opt.defaults).
function Optimizer:add_param_group(src)
  if self._seen == nil then
    self._seen = {}
    for _, p in ipairs(self._params) do self._seen[p] = true end
  end
  self:_add_group(src, #self.param_groups + 1)
  self._seen = nil
  return self
end

function Optimizer:_add_group(src, gi)
  local cls = getmetatable(self)
  local where = cls.__name
  local gwhere = gi and (where .. ": param group " .. gi) or where
  if type(src) ~= "table" or ml.is_tensor(src) then
    raise(where .. ": parameter group " .. tostring(gi) .. " must be a table {params = {...}, ...}, got " ..
      (ml.is_tensor(src) and "a tensor" or type(src)))
  end
  if src.params == nil and type(src[1]) == "string" and ml.is_tensor(src[2]) then
    raise(where .. ": got {name, tensor} pairs (model:named_parameters()); pass model:parameters()")
  end
  local gknown = { "params" }
  for i, k in ipairs(cls.option_list) do gknown[i + 1] = k end
  checks.options(gwhere, src, gknown)
  local list = src.params
  if ml.is_tensor(list) then list = { list } end
  if type(list) ~= "table" then
    raise(gwhere .. ": 'params' must be an array of tensors, got " .. type(list))
  end
  if #list == 0 then raise(gwhere .. ": has no parameters") end
  local group = fill_group(cls, src, self.defaults, gwhere)
  group.params = {}
  local by_dtype, order = {}, {}
  for i, p in ipairs(list) do
    local n = #self._params + 1
    if not ml.is_tensor(p) then
      raise(string.format("%s: parameter %d is a %s, expected a tensor", where, n, type(p)))
    end
    local dt = p:dtype()
    if dt ~= "float32" and dt ~= "float64" then
      raise(string.format("%s: parameter %d has dtype %s; only float32 and float64 tensors can be optimized", where, n, dt))
    end
    if not p:is_leaf() then
      raise(string.format("%s: parameter %d is not a leaf tensor (it was computed by %s); optimize the tensors you " ..
        "created, or detach() this one", where, n, tostring(p.grad_fn)))
    end
    if self._seen[p] then
      raise(string.format("%s: parameter %d appears more than once (in one group or in two groups)", where, n))
    end
    self._seen[p] = true
    self._params[n] = p
    group.params[i] = p
    if not by_dtype[dt] then
      by_dtype[dt] = { dtype = dt, members = {} }
      order[#order + 1] = by_dtype[dt]
    end
    local m = by_dtype[dt].members
    m[#m + 1] = n
  end
  local flats = {}
  for _, e in ipairs(order) do
    local ps = {}
    for j, n in ipairs(e.members) do ps[j] = self._params[n] end
    -- a Lua optimizer keeps its state in Lua; its blocks use SGD's layout (parameters and gradients only)
    e.flat = C.flatten(lua_update(cls) and "SGD" or cls.kind, ps)
    flats[#flats + 1] = e
  end
  if cls.init_state and not lua_update(cls) then -- state that PyTorch creates with the optimizer (Adagrad's sum)
    for _, e in ipairs(flats) do cls.init_state(e.flat, group) end
  end
  self.param_groups[#self.param_groups + 1] = group
  self._flats[#self.param_groups] = flats
  -- every block with its group, for step's and zero_grad's one C call (C.step_all)
  local blocks = rawget(self, "_blocks") or {}
  for _, e in ipairs(flats) do blocks[#blocks + 1] = { e.flat, group, #self.param_groups } end
  rawset(self, "_blocks", blocks)
  if not lua_update(cls) then rawset(self, "_cblocks", blocks) end -- step's fast path: a fused C kernel
end

---------------------------------------------------------------------------
-- step and zero_grad
---------------------------------------------------------------------------

local step_all, zero_all = C.step_all, C.zero_all

--- opt:step([closure]) -> loss: one update of every parameter that has a gradient (closure re-evaluates the loss first)
function Optimizer:step(closure)
  if closure == nil then
    local blocks = self._cblocks
    if blocks then return step_all(blocks) end -- the groups' current options are read there, each step
  end
  local loss
  if closure ~= nil then
    if type(closure) ~= "function" then
      raise(getmetatable(self).__name .. ":step: closure must be a function, got " .. type(closure))
    end
    loss = ml.enable_grad(closure)
  end
  if lua_update(getmetatable(self)) then
    ml.no_grad(function() self:_lua_step() end)
    return loss
  end
  step_all(self._blocks)
  return loss
end

-- A Lua optimizer's step: update(p, grad, state, group) for each parameter with a gradient.
function Optimizer:_lua_step()
  local cls = getmetatable(self)
  local states = rawget(self, "_lua_state")
  if not states then states = {}; rawset(self, "_lua_state", states) end
  for gi, group in ipairs(self.param_groups) do
    for _, e in ipairs(self._flats[gi]) do
      for _, n in ipairs(e.members) do
        local p = self._params[n]
        local g = p.grad
        if g then
          local st = states[n]
          if not st then st = { step = 0 }; states[n] = st end
          if st.step == 0 and cls.state_names then
            for _, name in ipairs(cls.state_names) do
              if st[name] == nil then st[name] = ml.zeros_like(p) end
            end
          end
          local step = st.step + 1
          st.step = step
          if type(cls.update) ~= "function" then check_class(cls) end
          self:update(p, g, st, group)
          check_lua_state(cls, st, step, n)
        end
      end
    end
  end
end

--- opt:zero_grad([{set_to_none=false}]): zeroes every gradient in place (one memset per block); set_to_none drops them
function Optimizer:zero_grad(opts)
  if opts == nil then return zero_all(self._blocks, false) end
  checks.options(getmetatable(self).__name .. ":zero_grad", opts, { "set_to_none" })
  zero_all(self._blocks, opts.set_to_none == true)
end

--- opt:parameters() -> every parameter, in order (the same tensor objects)
function Optimizer:parameters()
  local out = {}
  for i, p in ipairs(self._params) do out[i] = p end
  return out
end

--- opt:flat_blocks() -> array of {params = flat tensor, grads = flat tensor, dtype, group} (one per group and dtype)
function Optimizer:flat_blocks()
  local out = {}
  for gi, fl in ipairs(self._flats) do
    for _, e in ipairs(fl) do
      out[#out + 1] = { params = e.flat:param(), grads = e.flat:grad(), dtype = e.dtype, group = gi }
    end
  end
  return out
end

-- where param n lives: its block entry and its index in the block
function Optimizer:_locate(n)
  for _, fl in ipairs(self._flats) do
    for _, e in ipairs(fl) do
      for j, m in ipairs(e.members) do if m == n then return e, j end end
    end
  end
end

--- opt:state_of(p) -> {step = n, exp_avg = view, ...} for parameter p (views into the optimizer's state), or nil
function Optimizer:state_of(p)
  for n, q in ipairs(self._params) do
    if rawequal(q, p) and lua_update(getmetatable(self)) then
      local states = rawget(self, "_lua_state")
      return states and states[n] or { step = 0 }
    elseif rawequal(q, p) then
      local e, j = self:_locate(n)
      local st = { step = e.flat:steps()[j] }
      for _, name in ipairs(e.flat:state_names()) do
        local views = e.flat:state_views(name)
        if views then st[name] = views[j] end
      end
      return st
    end
  end
  return nil
end

---------------------------------------------------------------------------
-- state_dict
---------------------------------------------------------------------------

-- The options of each group as plain values, with its parameters as indices
-- into the flat list (the "groups" of a state_dict, built-in or Lua).
local function plain_groups(self)
  local groups, first = {}, 1
  for gi, group in ipairs(self.param_groups) do
    local g = {}
    for k, v in pairs(group) do
      if k ~= "params" and is_plain(v) then g[k] = plain_copy(v) end
    end
    g.params = {}
    for i = 1, #group.params do g.params[i] = first + i - 1 end
    first = first + #group.params
    groups[gi] = g
  end
  return groups
end

-- Whether parameter state is kept for a parameter with this step count.
local function has_state(cls, step)
  return step > 0 or cls.init_state ~= nil
end

--- opt:state_dict() -> {tensors = {["state.<i>.<name>"] = view}, meta = plain table}: views, not copies
function Optimizer:state_dict()
  local cls = getmetatable(self)
  if lua_update(cls) then return self:_lua_state_dict() end
  local tensors = {}
  local steps, shapes, dtypes = {}, {}, {}
  for n, p in ipairs(self._params) do
    shapes[n] = p:shape()
    dtypes[n] = p:dtype()
  end
  local groups = plain_groups(self)
  for gi, group in ipairs(self.param_groups) do
    local used = cls.state_used(group)
    for _, e in ipairs(self._flats[gi]) do
      local st = e.flat:steps()
      for j, n in ipairs(e.members) do steps[n] = st[j] end
      for _, name in ipairs(e.flat:state_names()) do
        local views = used[name] and e.flat:state_views(name)
        if views then
          for j, n in ipairs(e.members) do
            if has_state(cls, st[j]) then tensors["state." .. n .. "." .. name] = views[j] end
          end
        end
      end
    end
  end
  return {
    tensors = tensors,
    meta = {
      format = "moonlab.optim", version = 1, class = cls.class_name,
      groups = groups, steps = steps, shapes = shapes, dtypes = dtypes,
    },
  }
end

-- A tensor of a state's "tensors": its parameter index and state name ("state.<n>.<name>"), checked.
local function state_tensor(name, t, nparams, where)
  local n, sname = tostring(name):match("^state%.(%d+)%.([%w_]+)$")
  n = tonumber(n)
  if not n or n < 1 or n > nparams then
    raise(string.format("%s: unexpected tensor '%s' (expected state.<1..%d>.<name>)", where, tostring(name), nparams))
  end
  if not ml.is_tensor(t) then raise(string.format("%s: '%s' is a %s, expected a tensor", where, name, type(t))) end
  return n, sname
end

-- Replaces each group's options (all but params) by the loaded ones.
local function set_group_options(self, new_groups)
  for gi, group in ipairs(self.param_groups) do
    local ng = new_groups[gi]
    for k in pairs(group) do if k ~= "params" and ng[k] == nil then group[k] = nil end end
    for k, v in pairs(ng) do group[k] = v end
  end
end

--- opt:load_state_dict(sd): restores options, step counts and state from opt:state_dict(); checks everything first
function Optimizer:load_state_dict(sd)
  local cls = getmetatable(self)
  local where = cls.__name .. ":load_state_dict"
  if type(sd) ~= "table" or type(sd.meta) ~= "table" then
    raise(where .. ": expected {tensors = {...}, meta = {...}} from state_dict(), got " .. type(sd))
  end
  local meta, tensors = sd.meta, sd.tensors or {}
  if type(tensors) ~= "table" then raise(where .. ": 'tensors' must be a table, got " .. type(tensors)) end
  if meta.format ~= nil and meta.format ~= "moonlab.optim" then
    raise(where .. ": not an optimizer state (format '" .. tostring(meta.format) .. "')")
  end
  if meta.class ~= cls.class_name then
    raise(string.format("%s: the state is from optim.%s, this optimizer is %s", where, tostring(meta.class), cls.__name))
  end
  if type(meta.groups) ~= "table" or #meta.groups ~= #self.param_groups then
    raise(string.format("%s: the state has %s parameter groups, this optimizer has %d", where,
      type(meta.groups) == "table" and #meta.groups or "no", #self.param_groups))
  end
  local nparams = #self._params
  -- groups: sizes and options
  local new_groups = {}
  for gi, g in ipairs(meta.groups) do
    local mine = self.param_groups[gi]
    if type(g) ~= "table" or type(g.params) ~= "table" or #g.params ~= #mine.params then
      raise(string.format("%s: param group %d has %s parameters in the state, %d here", where, gi,
        type(g) == "table" and type(g.params) == "table" and #g.params or "no", #mine.params))
    end
    local src = {}
    for _, k in ipairs(cls.option_list) do
      if g[k] == nil then raise(string.format("%s: param group %d lacks option '%s'", where, gi, k)) end
      src[k] = g[k]
    end
    local ng = fill_group(cls, src, self.defaults, where .. ": param group " .. gi)
    for k, v in pairs(g) do -- extra plain keys (initial_lr ... set by schedules)
      if k ~= "params" and ng[k] == nil then ng[k] = plain_copy(v) end
    end
    new_groups[gi] = ng
  end
  -- parameters: shapes and step counts
  if type(meta.steps) ~= "table" or #meta.steps ~= nparams then
    raise(string.format("%s: the state has %s step counts, this optimizer has %d parameters", where,
      type(meta.steps) == "table" and #meta.steps or "no", nparams))
  end
  local steps = {}
  for _, k in ipairs({ "shapes", "dtypes" }) do
    if meta[k] ~= nil and type(meta[k]) ~= "table" then
      raise(string.format("%s: the state's %s is a %s, expected a list", where, k, type(meta[k])))
    end
  end
  for n, p in ipairs(self._params) do
    steps[n] = H.integer(meta.steps[n], "step count " .. n, where, 0)
    local s = meta.shapes and meta.shapes[n]
    if s ~= nil and type(s) ~= "table" then
      raise(string.format("%s: the shape of parameter %d is a %s in the state, expected a list of sizes", where, n, type(s)))
    end
    local dt = meta.dtypes and meta.dtypes[n]
    if dt ~= nil and dt ~= p:dtype() then
      raise(string.format("%s: parameter %d is %s in the state, %s here", where, n, checks.show(dt), p:dtype()))
    end
    if s ~= nil and shape_str(s) ~= shape_str(p:shape()) then
      raise(string.format("%s: parameter %d has shape %s in the state, %s here", where, n, shape_str(s),
        shape_str(p:shape())))
    end
  end
  if lua_update(cls) then return self:_lua_load_state_dict(new_groups, steps, meta, tensors, where) end
  -- tensors: names, shapes, and none missing
  local by_param = {}
  for name, t in pairs(tensors) do
    local n, sname = state_tensor(name, t, nparams, where)
    local e = self:_locate(n)
    local ok = false
    for _, s in ipairs(e.flat:state_names()) do if s == sname then ok = true end end
    if not ok then
      raise(string.format("%s: unexpected tensor '%s' (%s keeps %s)", where, name, cls.__name,
        table.concat(e.flat:state_names(), ", ")))
    end
    if shape_str(t:shape()) ~= shape_str(self._params[n]:shape()) then
      raise(string.format("%s: '%s' has shape %s, parameter %d has %s", where, name, shape_str(t:shape()), n,
        shape_str(self._params[n]:shape())))
    end
    by_param[n] = by_param[n] or {}
    by_param[n][sname] = t
  end
  for gi, group in ipairs(new_groups) do
    local used = cls.state_used(group)
    for _, e in ipairs(self._flats[gi]) do
      for _, n in ipairs(e.members) do
        if has_state(cls, steps[n]) then
          for _, sname in ipairs(e.flat:state_names()) do
            if used[sname] and not (by_param[n] and by_param[n][sname]) then
              raise(string.format("%s: missing tensor 'state.%d.%s' (parameter %d has taken %d steps)", where, n, sname,
                n, steps[n]))
            end
          end
        end
      end
    end
  end
  -- apply
  set_group_options(self, new_groups)
  for gi, group in ipairs(self.param_groups) do
    for _, e in ipairs(self._flats[gi]) do
      local st = {}
      for j, n in ipairs(e.members) do st[j] = steps[n] end
      e.flat:set_steps(st)
      for _, sname in ipairs(e.flat:state_names()) do
        local need = false
        for _, n in ipairs(e.members) do if by_param[n] and by_param[n][sname] then need = true end end
        if need or e.flat:state(sname) then
          e.flat:state(sname, true, group)
          local views = e.flat:state_views(sname)
          local init = cls.init_state and group.initial_accumulator_value or 0
          ml.no_grad(function()
            for j, n in ipairs(e.members) do
              local t = by_param[n] and by_param[n][sname]
              if t then views[j]:copy_(t) else views[j]:fill_(init) end
            end
          end)
        end
      end
    end
  end
  return self
end

-- The state of a Lua optimizer: the same layout as the built-in ones
-- (tensors "state.<i>.<name>", meta with groups, steps, shapes, dtypes), and
-- the plain values of each parameter's state in meta.values.
function Optimizer:_lua_state_dict()
  local cls = getmetatable(self)
  local states = rawget(self, "_lua_state") or {}
  local tensors, steps, shapes, dtypes, values = {}, {}, {}, {}, {}
  for n, p in ipairs(self._params) do
    shapes[n], dtypes[n] = p:shape(), p:dtype()
    local st = states[n] or { step = 0 }
    steps[n] = st.step
    local v = {}
    for name, x in pairs(st) do
      if ml.is_tensor(x) then tensors["state." .. n .. "." .. name] = x
      elseif name ~= "step" and is_plain(x) then v[name] = plain_copy(x) end
    end
    values[n] = v
  end
  return {
    tensors = tensors,
    meta = {
      format = "moonlab.optim", version = 1, class = cls.class_name, lua = true,
      groups = plain_groups(self), steps = steps, shapes = shapes, dtypes = dtypes, values = values,
    },
  }
end

function Optimizer:_lua_load_state_dict(new_groups, steps, meta, tensors, where)
  local nparams = #self._params
  local states = {}
  for n = 1, nparams do
    states[n] = { step = steps[n] }
    local v = type(meta.values) == "table" and meta.values[n]
    if type(v) == "table" then
      for k, x in pairs(v) do if k ~= "step" then states[n][k] = plain_copy(x) end end
    end
  end
  for name, t in pairs(tensors) do
    local n, sname = state_tensor(name, t, nparams, where)
    states[n][sname] = t:detach():clone()
  end
  set_group_options(self, new_groups)
  rawset(self, "_lua_state", states)
  return self
end

---------------------------------------------------------------------------
-- printing
---------------------------------------------------------------------------
-- As PyTorch's repr, one line per group: optim.Adam(lr=0.001, betas={0.9, 0.999}, ...)
function Optimizer:__tostring()
  local cls = getmetatable(self)
  local function settings(g)
    local parts = {}
    for _, k in ipairs(cls.option_list) do parts[#parts + 1] = k .. "=" .. fmt(g[k]) end
    return table.concat(parts, ", ")
  end
  if #self.param_groups == 1 then return cls.__name .. "(" .. settings(self.param_groups[1]) .. ")" end
  local lines = { cls.__name .. "(" }
  for gi, g in ipairs(self.param_groups) do
    local n = 0
    for _, p in ipairs(g.params) do n = n + p:numel() end
    lines[#lines + 1] = string.format("  group %d (%d tensor%s, %s elements): %s", gi, #g.params,
      #g.params == 1 and "" or "s", format.thousands(n), settings(g))
  end
  lines[#lines + 1] = ")"
  return table.concat(lines, "\n")
end

doc(Optimizer, "optim.Optimizer — the base of every optimizer: param_groups, defaults, step, zero_grad, state_dict; Optimizer:extend(name, {options = ...}) declares a new one, in Lua with an update method")
doc(Optimizer.extend, "optim.Optimizer:extend(name, {options = {{key, default}, ...}, [state = {names}], [check], [doc]}) -> class — a new optimizer class; define cls:update(p, grad, state, group) to write its update in Lua")
doc(Optimizer.new, "cls:new(params, [opts]) -> opt — makes an optimizer (cls(params, opts) calls it): params is a module, an array of tensors or of groups {params = {...}, lr = ...}")
doc(Optimizer.step, "opt:step([closure]) -> loss — one fused in-place update of every parameter that has a gradient")
doc(Optimizer.zero_grad, "opt:zero_grad([{set_to_none=false}]) — zeroes all gradients with one memset per block; set_to_none drops them (skipped by step until backward writes one)")
doc(Optimizer.state_dict, "opt:state_dict() -> {tensors = {['state.<i>.<name>'] = view}, meta = JSON-able table} — optimizer state (views, not copies)")
doc(Optimizer.load_state_dict, "opt:load_state_dict(sd) — restores options, step counts and state; counts, shapes and names are checked before anything changes")
doc(Optimizer.add_param_group, "opt:add_param_group{params = {...}, lr = ...} — adds a parameter group (options default to opt.defaults)")
doc(Optimizer.state_of, "opt:state_of(p) -> {step = n, exp_avg = view, ...} — the optimizer state of parameter p")
doc(Optimizer.parameters, "opt:parameters() -> {tensor} — every parameter the optimizer updates, in order (the same tensor objects)")
doc(Optimizer.flat_blocks, "opt:flat_blocks() -> {{params = tensor, grads = tensor, dtype, group}, ...} — the contiguous blocks the parameters and gradients live in")

return Optimizer
