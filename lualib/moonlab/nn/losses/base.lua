--- nn/losses/base.lua: what the loss files share: the loss class maker
-- (one options table at most), reduction and weight checks, shape checks.
local ml = require "moonlab"
local Module = require("moonlab.nn.module").Module
local checks = require "moonlab.core.checks"

local fail = checks.fail
local fmt = string.format

local function check_reduction(fn, r, extra)
  r = r or "mean"
  if r ~= "none" and r ~= "mean" and r ~= "sum" and r ~= extra then
    fail(fmt("%s: reduction must be 'none', 'mean'%s or 'sum', got '%s'", fn, extra and (", '" .. extra .. "'") or "",
      tostring(r)))
  end
  return r
end

local function check_weight(fn, what, w)
  if w == nil then return nil end
  if not ml.is_tensor(w) then fail(fmt("%s: %s must be a tensor, got %s", fn, what, type(w))) end
  local dt = w:dtype()
  if dt ~= "float32" and dt ~= "float64" then fail(fmt("%s: %s must be a float tensor, got %s", fn, what, dt)) end
  return w:detach()
end

-- w in x's dtype (a conversion only when they differ)
local function like(w, x)
  if w == nil then return nil end
  local dt = x:dtype()
  if w:dtype() ~= dt then return w:to(dt) end
  return w
end

local shape_str = require("moonlab.core.format").shape

local function check_pair(fn, x, y)
  if type(x) ~= "userdata" or not ml.is_tensor(x) then fail(fmt("%s: input must be a tensor, got %s", fn, type(x))) end
  if type(y) ~= "userdata" or not ml.is_tensor(y) then fail(fmt("%s: target must be a tensor, got %s", fn, type(y))) end
end

-- elementwise losses: input and target of one shape (broadcasting [N,1] against [N] is almost always a bug)
local function check_same_shape(fn, x, y)
  local d = x:dim()
  local same = d == y:dim()
  if same then
    for i = 1, d do
      if x:size(i) ~= y:size(i) then same = false break end
    end
  end
  if not same then
    if d > 0 and y:dim() > 0 and x:size(1) ~= y:size(1) then
      fail(fmt("%s: input has %d rows but target has %d", fn, x:size(1), y:size(1)))
    end
    fail(fmt("%s: input has shape %s but target has shape %s (reshape one of them: they must match)", fn,
      shape_str(x), shape_str(y)))
  end
end

local function reduce(l, r)
  if r == "mean" then return l:mean() end
  if r == "sum" then return l:sum() end
  return l
end

-- A loss class: its constructor takes one options table at most (a user's
-- subclass chooses its own arguments).
local function class(name, docstring)
  local cls = Module:extend(name, docstring)
  local fn = "nn." .. name
  cls._nn_name = fn
  cls._is_loss = true
  cls._leaf = true -- no children: its errors need no module path (see Module's __call)
  function cls.new(c, ...)
    if c == cls then
      local n = select("#", ...)
      while n > 0 and select(n, ...) == nil do n = n - 1 end
      if n > 1 then fail(fmt("%s: takes one options table at most, got %d arguments", fn, n)) end
    end
    return Module.new(c, ...)
  end
  return cls
end

local function reduction_repr(self) return "reduction=" .. self.reduction end

-- each loss's forward: its class doc says what it computes
local function doc_forwards(M)
  for _, cls in pairs(M) do
    ml.doc(cls.forward, "criterion:forward(input, target) -> tensor — the loss, reduced per reduction; criterion(input, target) calls it")
    Module._call_forward_directly(cls) -- criterion(x, y) is its forward, no frame between
  end
  return M
end

return {
  doc_forwards = doc_forwards,
  check_reduction = check_reduction,
  check_weight = check_weight,
  like = like,
  check_pair = check_pair,
  check_same_shape = check_same_shape,
  reduce = reduce,
  class = class,
  reduction_repr = reduction_repr,
  fail = fail, check_opts = checks.options, fmt = fmt,
}
