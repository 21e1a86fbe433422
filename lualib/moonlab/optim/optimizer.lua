--- optim.Optimizer: the base of every optimizer (parameter groups, options,
-- flattening, step, zero_grad, state_dict).
--
-- A concrete optimizer is declared with Optimizer.class{...} (see sgd.lua):
-- its name, its option list with defaults, a check of one group's values,
-- and which state buffers its options use. The update itself is one fused
-- C call per group and dtype (runtime/ops/optim.c).
--
-- Flattening: when an optimizer is made, each group's parameters (one block
-- per dtype) are copied into one contiguous block and every parameter tensor
-- is rebound to a view into it, and likewise their gradients into a second
-- block. The tensor objects stay the same (model:parameters() returns the
-- same objects, with the same values); backward adds into the gradient views
-- in place; step() is one loop over the block and zero_grad() one memset.
local ml = require "moonlab"

local Optimizer = {}
Optimizer.__index = Optimizer
Optimizer.__name = "optim.Optimizer"

local C = ml._optim

local function doc(v, text)
  if ml.doc then ml.doc(v, text) end
  return v
end

---------------------------------------------------------------------------
-- helpers shared with lr.lua
---------------------------------------------------------------------------
local H = {}
Optimizer._helpers = H

--- H.check_options(opts, known_list, where): errors on a key not in known_list.
function H.check_options(opts, known, where, level)
  if opts == nil then return {} end
  if type(opts) ~= "table" or ml.is_tensor(opts) then
    error(where .. ": options must be a table, got " .. (ml.is_tensor(opts) and "a tensor" or type(opts)), (level or 2) + 1)
  end
  local set = {}
  for _, k in ipairs(known) do set[k] = true end
  for k in pairs(opts) do
    if not set[k] then
      error(string.format("%s: unknown option '%s' (known: %s)", where, tostring(k), table.concat(known, ", ")),
        (level or 2) + 1)
    end
  end
  return opts
end

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
function H.number(v, name, where, lo, hi, lo_open, hi_open, level)
  if type(v) ~= "number" or v ~= v then
    error(string.format("%s: %s must be a number, got %s", where, name, v ~= v and "nan" or type(v)), (level or 2) + 1)
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
    error(string.format("%s: %s must be %s, got %s", where, name, range, fmt(v)), (level or 2) + 1)
  end
  return v
end

function H.boolean(v, name, where, level)
  if type(v) ~= "boolean" then
    error(string.format("%s: %s must be true or false, got %s", where, name, type(v)), (level or 2) + 1)
  end
  return v
end

function H.integer(v, name, where, lo, level)
  local i = math.type(v) == "float" and math.tointeger(v) or v
  if math.type(i) ~= "integer" or (lo and i < lo) then
    error(string.format("%s: %s must be an integer%s, got %s", where, name, lo and (" >= " .. lo) or "", fmt(v)),
      (level or 2) + 1)
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

local function shape_str(s) return "[" .. table.concat(s, ",") .. "]" end

---------------------------------------------------------------------------
-- declaring optimizers
---------------------------------------------------------------------------

--- Optimizer.class{name, kind, options = {{key, default}, ...}, check = fn(group, where),
---   state_used = fn(group) -> {name = true}} -> the class table, callable as cls(params, opts)
function Optimizer.class(spec)
  local cls = setmetatable({}, {
    __index = Optimizer,
    __call = function(c, params, opts)
      local o = c.new(c, params, opts, 3) -- not a tail call: errors point at the caller's line
      return o
    end,
    __tostring = function() return "optim." .. spec.name end,
  })
  cls.__index = cls
  cls.__name = "optim." .. spec.name
  cls.__tostring = Optimizer.__tostring
  cls.class_name = spec.name
  cls.kind = spec.kind or spec.name
  cls.option_list = {}
  cls.option_defaults = {}
  for i, o in ipairs(spec.options) do
    cls.option_list[i] = o[1]
    cls.option_defaults[o[1]] = o[2]
  end
  cls.check = spec.check
  cls.state_used = spec.state_used
  cls.init_state = spec.init_state -- optional: value a fresh state slot starts at
  if cls.check then doc(cls.check, "cls.check(group, where) — raises unless the options of one parameter group are valid") end
  if cls.state_used then doc(cls.state_used, "cls.state_used(group) -> {name = true} — the state buffers a group's options use (what state_dict saves)") end
  if cls.init_state then doc(cls.init_state, "cls.init_state(flat, group) — makes the state PyTorch creates with the optimizer (Adagrad's sum)") end
  return cls
end

-- The options of a group: given values over defaults, copied, checked.
local function fill_group(cls, src, defaults, where, level)
  local g = {}
  for _, k in ipairs(cls.option_list) do
    local v = src[k]
    if v == nil then v = defaults[k] end
    g[k] = plain_copy(v)
  end
  cls.check(g, where, level + 1)
  return g
end

-- params: an array of tensors, an array of groups, or a module.
local function normalize_params(params, where, level)
  if type(params) == "table" and not ml.is_tensor(params) and type(params.parameters) == "function"
      and getmetatable(params) ~= nil then
    params = params:parameters() -- a module
  end
  if ml.is_tensor(params) then
    error(where .. ": expected an array of tensors or of parameter groups, got a single tensor (wrap it: {t})", level + 1)
  end
  if type(params) ~= "table" then
    error(where .. ": expected an array of tensors or of parameter groups, got " .. type(params), level + 1)
  end
  if #params == 0 then error(where .. ": got an empty parameter list", level + 1) end
  if ml.is_tensor(params[1]) then return { { params = params } }, false end
  return params, true
end

--- cls:new(params, opts): see the optimizer classes.
function Optimizer.new(cls, params, opts, level)
  level = level or 2
  local where = cls.__name
  local known = {}
  for i, k in ipairs(cls.option_list) do known[i] = k end
  opts = H.check_options(opts, known, where, level)
  local defaults = fill_group(cls, opts, cls.option_defaults, where, level)
  local self = setmetatable({ defaults = defaults, param_groups = {}, _flats = {}, _params = {}, _seen = {} }, cls)
  local groups, grouped = normalize_params(params, where, level)
  for gi, src in ipairs(groups) do
    self:_add_group(src, grouped and gi or nil, level)
  end
  self._seen = nil
  return self
end

--- opt:add_param_group(group): adds a group {params = {...}, lr = ...} (options default to opt.defaults).
function Optimizer:add_param_group(src, level)
  level = level or 2
  if self._seen == nil then
    self._seen = {}
    for _, p in ipairs(self._params) do self._seen[p] = true end
  end
  self:_add_group(src, #self.param_groups + 1, level)
  self._seen = nil
  return self
end

function Optimizer:_add_group(src, gi, level)
  local cls = getmetatable(self)
  local where = cls.__name
  local gwhere = gi and (where .. ": param group " .. gi) or where
  if type(src) ~= "table" or ml.is_tensor(src) then
    error(where .. ": parameter group " .. tostring(gi) .. " must be a table {params = {...}, ...}, got " ..
      (ml.is_tensor(src) and "a tensor" or type(src)), level + 1)
  end
  if src.params == nil and type(src[1]) == "string" and ml.is_tensor(src[2]) then
    error(where .. ": got {name, tensor} pairs (model:named_parameters()); pass model:parameters()", level + 1)
  end
  local gknown = { "params" }
  for i, k in ipairs(cls.option_list) do gknown[i + 1] = k end
  H.check_options(src, gknown, gwhere, level + 1)
  local list = src.params
  if ml.is_tensor(list) then list = { list } end
  if type(list) ~= "table" then
    error(gwhere .. ": 'params' must be an array of tensors, got " .. type(list), level + 1)
  end
  if #list == 0 then error(gwhere .. ": has no parameters", level + 1) end
  local group = fill_group(cls, src, self.defaults, gwhere, level + 1)
  group.params = {}
  local by_dtype, order = {}, {}
  for i, p in ipairs(list) do
    local n = #self._params + 1
    if not ml.is_tensor(p) then
      error(string.format("%s: parameter %d is a %s, expected a tensor", where, n, type(p)), level + 1)
    end
    local dt = p:dtype()
    if dt ~= "float32" and dt ~= "float64" then
      error(string.format("%s: parameter %d has dtype %s; only float32 and float64 tensors can be optimized", where, n, dt),
        level + 1)
    end
    if not p:is_leaf() then
      error(string.format("%s: parameter %d is not a leaf tensor (it was computed by %s); optimize the tensors you " ..
        "created, or detach() this one", where, n, tostring(p.grad_fn)), level + 1)
    end
    if self._seen[p] then
      error(string.format("%s: parameter %d appears more than once (in one group or in two groups)", where, n), level + 1)
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
    e.flat = C.flatten(cls.kind, ps)
    flats[#flats + 1] = e
  end
  if cls.init_state then -- state that PyTorch creates with the optimizer (Adagrad's sum)
    for _, e in ipairs(flats) do cls.init_state(e.flat, group) end
  end
  self.param_groups[#self.param_groups + 1] = group
  self._flats[#self.param_groups] = flats
end

---------------------------------------------------------------------------
-- step and zero_grad
---------------------------------------------------------------------------

--- opt:step([closure]) -> loss: one update of every parameter that has a gradient (closure re-evaluates the loss first)
function Optimizer:step(closure)
  local loss
  if closure ~= nil then
    if type(closure) ~= "function" then
      error(getmetatable(self).__name .. ":step: closure must be a function, got " .. type(closure), 2)
    end
    loss = ml.enable_grad(closure)
  end
  local groups, flats = self.param_groups, self._flats
  for gi = 1, #groups do
    local fl = flats[gi]
    for k = 1, #fl do fl[k].flat:step(groups[gi], gi) end
  end
  return loss
end

--- opt:zero_grad([{set_to_none=false}]): zeroes every gradient in place (one memset per block); set_to_none drops them
function Optimizer:zero_grad(opts)
  local set_to_none = false
  if opts ~= nil then
    H.check_options(opts, { "set_to_none" }, getmetatable(self).__name .. ":zero_grad", 2)
    set_to_none = opts.set_to_none == true
  end
  for gi = 1, #self.param_groups do
    local fl = self._flats[gi]
    for k = 1, #fl do fl[k].flat:zero_grad(set_to_none) end
  end
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
    if rawequal(q, p) then
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

-- Whether parameter state is kept for a parameter with this step count.
local function has_state(cls, step)
  return step > 0 or cls.init_state ~= nil
end

--- opt:state_dict() -> {tensors = {["state.<i>.<name>"] = view}, meta = plain table}: views, not copies
function Optimizer:state_dict()
  local cls = getmetatable(self)
  local tensors = {}
  local steps, shapes, dtypes = {}, {}, {}
  for n, p in ipairs(self._params) do
    shapes[n] = p:shape()
    dtypes[n] = p:dtype()
  end
  local groups = {}
  local first = 1
  for gi, group in ipairs(self.param_groups) do
    local g = {}
    for k, v in pairs(group) do
      if k ~= "params" and is_plain(v) then g[k] = plain_copy(v) end
    end
    g.params = {}
    for i = 1, #group.params do g.params[i] = first + i - 1 end
    first = first + #group.params
    groups[gi] = g
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

--- opt:load_state_dict(sd): restores options, step counts and state from opt:state_dict(); checks everything first
function Optimizer:load_state_dict(sd)
  local cls = getmetatable(self)
  local where = cls.__name .. ":load_state_dict"
  if type(sd) ~= "table" or type(sd.meta) ~= "table" then
    error(where .. ": expected {tensors = {...}, meta = {...}} from state_dict(), got " .. type(sd), 2)
  end
  local meta, tensors = sd.meta, sd.tensors or {}
  if type(tensors) ~= "table" then error(where .. ": 'tensors' must be a table, got " .. type(tensors), 2) end
  if meta.format ~= nil and meta.format ~= "moonlab.optim" then
    error(where .. ": not an optimizer state (format '" .. tostring(meta.format) .. "')", 2)
  end
  if meta.class ~= cls.class_name then
    error(string.format("%s: the state is from optim.%s, this optimizer is %s", where, tostring(meta.class), cls.__name), 2)
  end
  if type(meta.groups) ~= "table" or #meta.groups ~= #self.param_groups then
    error(string.format("%s: the state has %s parameter groups, this optimizer has %d", where,
      type(meta.groups) == "table" and #meta.groups or "no", #self.param_groups), 2)
  end
  local nparams = #self._params
  -- groups: sizes and options
  local new_groups = {}
  for gi, g in ipairs(meta.groups) do
    local mine = self.param_groups[gi]
    if type(g) ~= "table" or type(g.params) ~= "table" or #g.params ~= #mine.params then
      error(string.format("%s: param group %d has %s parameters in the state, %d here", where, gi,
        type(g) == "table" and type(g.params) == "table" and #g.params or "no", #mine.params), 2)
    end
    local src = {}
    for _, k in ipairs(cls.option_list) do
      if g[k] == nil then error(string.format("%s: param group %d lacks option '%s'", where, gi, k), 2) end
      src[k] = g[k]
    end
    local ng = fill_group(cls, src, self.defaults, where .. ": param group " .. gi, 2)
    for k, v in pairs(g) do -- extra plain keys (initial_lr ... set by schedules)
      if k ~= "params" and ng[k] == nil then ng[k] = plain_copy(v) end
    end
    new_groups[gi] = ng
  end
  -- parameters: shapes and step counts
  if type(meta.steps) ~= "table" or #meta.steps ~= nparams then
    error(string.format("%s: the state has %s step counts, this optimizer has %d parameters", where,
      type(meta.steps) == "table" and #meta.steps or "no", nparams), 2)
  end
  local steps = {}
  for n, p in ipairs(self._params) do
    steps[n] = H.integer(meta.steps[n], "step count " .. n, where, 0, 2)
    local s = meta.shapes and meta.shapes[n]
    if s ~= nil and shape_str(s) ~= shape_str(p:shape()) then
      error(string.format("%s: parameter %d has shape %s in the state, %s here", where, n, shape_str(s),
        shape_str(p:shape())), 2)
    end
  end
  -- tensors: names, shapes, and none missing
  local by_param = {}
  for name, t in pairs(tensors) do
    local n, sname = tostring(name):match("^state%.(%d+)%.([%w_]+)$")
    n = tonumber(n)
    if not n or n < 1 or n > nparams then
      error(string.format("%s: unexpected tensor '%s' (expected state.<1..%d>.<name>)", where, tostring(name), nparams), 2)
    end
    if not ml.is_tensor(t) then
      error(string.format("%s: '%s' is a %s, expected a tensor", where, name, type(t)), 2)
    end
    local e = self:_locate(n)
    local ok = false
    for _, s in ipairs(e.flat:state_names()) do if s == sname then ok = true end end
    if not ok then
      error(string.format("%s: unexpected tensor '%s' (%s keeps %s)", where, name, cls.__name,
        table.concat(e.flat:state_names(), ", ")), 2)
    end
    if shape_str(t:shape()) ~= shape_str(self._params[n]:shape()) then
      error(string.format("%s: '%s' has shape %s, parameter %d has %s", where, name, shape_str(t:shape()), n,
        shape_str(self._params[n]:shape())), 2)
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
              error(string.format("%s: missing tensor 'state.%d.%s' (parameter %d has taken %d steps)", where, n, sname,
                n, steps[n]), 2)
            end
          end
        end
      end
    end
  end
  -- apply
  for gi, group in ipairs(self.param_groups) do
    local ng = new_groups[gi]
    for k in pairs(group) do if k ~= "params" and ng[k] == nil then group[k] = nil end end
    for k, v in pairs(ng) do group[k] = v end
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

---------------------------------------------------------------------------
-- printing
---------------------------------------------------------------------------
function Optimizer:__tostring()
  local cls = getmetatable(self)
  local lines = { string.format("%s (%d parameter%s)", cls.__name, #self._params, #self._params == 1 and "" or "s") }
  for gi, g in ipairs(self.param_groups) do
    local parts = {}
    for _, k in ipairs(cls.option_list) do parts[#parts + 1] = k .. "=" .. fmt(g[k]) end
    local n = 0
    for _, p in ipairs(g.params) do n = n + p:numel() end
    lines[#lines + 1] = string.format("  group %d: %d tensors, %d elements; %s", gi, #g.params, n, table.concat(parts, ", "))
  end
  return table.concat(lines, "\n")
end

doc(Optimizer, "optim.Optimizer — the base of every optimizer: param_groups, defaults, step, zero_grad, state_dict; Optimizer.class{...} declares a new one")
doc(Optimizer.class, "optim.Optimizer.class{name, options = {{key, default}, ...}, check, state_used, [init_state], [kind]} -> class — declares an optimizer class, callable as cls(params, [opts])")
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
