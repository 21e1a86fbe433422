--- search/space.lua: search spaces — the distributions of the parameters and
-- the conditions under which a parameter exists.
--
--   local space = {
--     lr        = search.loguniform(1e-4, 1e-1),
--     width     = search.int(32, 512, {log = true}),
--     optimizer = search.choice{"sgd", "adam"},
--     momentum  = search.uniform(0, 0.99, {when = {optimizer = "sgd"}}),  -- only for SGD
--     epochs    = 5,                                                     -- a plain value is fixed
--     depth     = {2, 4, 8},                                             -- a plain list is a choice (a grid)
--   }
--
-- space.compile(fn, spec) turns such a table into an ordered list of
-- {name, dist} (unconditional parameters first, then conditional ones in an
-- order where every condition only looks at parameters already drawn), and
-- space.active(compiled, params, name) says whether a parameter exists for
-- the values drawn so far.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local class = require "moonlab.core.class"

local fail, fmt = checks.fail, string.format
local M = {}

local Dist = class.Object:extend("search.Distribution",
  "search.Distribution — a parameter's distribution: uniform, loguniform, int, choice or fixed, with an optional condition")
M.Distribution = Dist

local function is_dist(v) return type(v) == "table" and getmetatable(v) ~= nil and v.is_distribution == true end
M.is_dist = is_dist
Dist.is_distribution = true

local function check_when(fn, when)
  if when == nil then return nil end
  if type(when) == "function" then return when end
  if type(when) ~= "table" or next(when) == nil then
    fail(fmt("%s: when must be a table {param = value | {values}} or a function(params) -> boolean, got %s", fn, type(when)))
  end
  for k in pairs(when) do
    if type(k) ~= "string" then fail(fmt("%s: when's keys must be parameter names, got %s", fn, type(k))) end
  end
  return when
end

local function new(kind, fields, opts, fn, known)
  opts = checks.options(fn, opts, known or { "when" })
  local d = setmetatable(fields, Dist)
  d.kind = kind
  d.when = check_when(fn, opts.when)
  return d, opts
end

--- search.uniform(low, high, [{when}]) -> a float drawn uniformly in [low, high]
function M.uniform(low, high, opts)
  local fn = "search.uniform"
  checks.number(fn, "low", low)
  checks.number(fn, "high", high)
  if not (low < high) then fail(fmt("%s: low (%s) must be below high (%s)", fn, low, high)) end
  if low == -math.huge or high == math.huge then fail(fmt("%s: needs finite bounds, got low %s, high %s", fn, low, high)) end
  return (new("float", { low = low, high = high, log = false }, opts, fn))
end

--- search.loguniform(low, high, [{when}]) -> a float whose logarithm is uniform in [log low, log high]
function M.loguniform(low, high, opts)
  local fn = "search.loguniform"
  checks.number(fn, "low", low)
  checks.number(fn, "high", high)
  if not (low > 0 and low < high and high < math.huge) then
    fail(fmt("%s: needs 0 < low < high < inf, got low %s, high %s", fn, low, high))
  end
  return (new("float", { low = low, high = high, log = true }, opts, fn))
end

--- search.int(low, high, [{log = false, step = 1, when}]) -> an integer in [low, high]
function M.int(low, high, opts)
  local fn = "search.int"
  checks.integer(fn, "low", low)
  checks.integer(fn, "high", high)
  if not (low <= high) then fail(fmt("%s: low (%d) must not be above high (%d)", fn, low, high)) end
  local d, o = new("int", { low = low, high = high }, opts, fn, { "log", "step", "when" })
  d.log = checks.boolean(fn, "log", o.log, false)
  d.step = o.step ~= nil and checks.integer(fn, "step", o.step, 1) or 1
  if d.log and low < 1 then fail(fmt("%s: a log-scaled integer needs low >= 1, got %d", fn, low)) end
  if d.log and d.step ~= 1 then fail(fn .. ": step and log cannot be combined (as in Optuna)") end
  if (high - low) % d.step ~= 0 then
    fail(fmt("%s: high - low (%d) must be a multiple of step (%d)", fn, high - low, d.step))
  end
  return d
end

--- search.choice(values, [{when}]) -> one of values (numbers, strings, booleans or tables)
function M.choice(values, opts)
  local fn = "search.choice"
  if type(values) ~= "table" or #values == 0 then fail(fn .. ": expected a non-empty list of values") end
  return (new("categorical", { choices = table.move(values, 1, #values, 1, {}) }, opts, fn))
end

--- search.fixed(value) -> always value (a parameter that is recorded but not searched)
function M.fixed(value, opts)
  local fn = "search.fixed"
  if value == nil then fail(fn .. ": expected a value, got nil") end
  return (new("fixed", { value = value }, opts, fn))
end

-- ---- drawing -----------------------------------------------------------------------

local function snap_int(d, v)
  v = math.floor((v - d.low) / d.step + 0.5) * d.step + d.low
  if v < d.low then v = d.low elseif v > d.high then v = d.high end
  return math.tointeger(v)
end
M.snap_int = snap_int

--- d:sample(rng) -> a value drawn from the distribution (rng: core/rng stream)
function Dist:sample(r)
  local k = self.kind
  if k == "fixed" then return self.value end
  if k == "categorical" then return self.choices[r:integer(1, #self.choices)] end
  if k == "float" then
    if self.log then return math.exp(r:uniform(math.log(self.low), math.log(self.high))) end
    return r:uniform(self.low, self.high)
  end
  -- int: uniform over the grid of values (log: uniform in log space over [low - 0.5, high + 0.5])
  if self.log then
    local v = math.exp(r:uniform(math.log(self.low - 0.5), math.log(self.high + 0.5)))
    return snap_int(self, v)
  end
  return self.low + self.step * r:integer(0, (self.high - self.low) // self.step)
end

--- d:contains(v) -> whether v is a value of the distribution
function Dist:contains(v)
  local k = self.kind
  if k == "fixed" then return v == self.value end
  if k == "categorical" then
    for _, c in ipairs(self.choices) do if c == v then return true end end
    return false
  end
  if type(v) ~= "number" then return false end
  if k == "int" and (math.type(v) ~= "integer" and v ~= math.floor(v)) then return false end
  return v >= self.low and v <= self.high
end

--- d:grid() -> the list of its values, for a grid search (continuous ones have none: an error)
function Dist:grid(name)
  local k = self.kind
  if k == "fixed" then return { self.value } end
  if k == "categorical" then return self.choices end
  if k == "int" then
    local out = {}
    for v = self.low, self.high, self.step do out[#out + 1] = v end
    return out
  end
  fail(fmt("search.grid: the parameter '%s' is continuous (%s %s..%s); a grid needs a list of values or an int range",
    name or "?", self.log and "loguniform" or "uniform", self.low, self.high))
end

--- d:describe() -> a short text: "loguniform(0.0001, 0.1)"
function Dist:describe()
  local k = self.kind
  if k == "fixed" then return "fixed(" .. tostring(self.value) .. ")" end
  if k == "categorical" then
    local parts = {}
    for i, c in ipairs(self.choices) do parts[i] = tostring(c) end
    return "choice{" .. table.concat(parts, ", ") .. "}"
  end
  if k == "int" then return fmt("int(%d, %d%s)", self.low, self.high, self.log and ", log" or "") end
  return fmt("%s(%g, %g)", self.log and "loguniform" or "uniform", self.low, self.high)
end
Dist.__tostring = Dist.describe

-- ---- spaces -------------------------------------------------------------------------

-- the names a condition looks at (a function condition: none known, so it goes last)
local function depends(d)
  if type(d.when) ~= "table" then return {} end
  local out = {}
  for k in pairs(d.when) do out[#out + 1] = k end
  table.sort(out)
  return out
end

--- space.compile(fn, spec) -> {names = {...}, dists = {name = dist}, order = {name...}}
function M.compile(fn, spec)
  if type(spec) ~= "table" or ml.is_tensor(spec) then fail(fmt("%s: the space must be a table {name = distribution}, got %s", fn, type(spec))) end
  if spec.order and spec.dists then return spec end -- compiled already
  local dists, names = {}, {}
  for name, v in pairs(spec) do
    if type(name) ~= "string" then fail(fmt("%s: the space's keys must be parameter names, got %s", fn, type(name))) end
    names[#names + 1] = name
    if is_dist(v) then dists[name] = v
    elseif type(v) == "table" and getmetatable(v) == nil and #v > 0 then dists[name] = M.choice(v)
    elseif type(v) == "table" and getmetatable(v) == nil then
      fail(fmt("%s: the parameter '%s' is an empty table; give a distribution, a list of values or a value", fn, name))
    else dists[name] = M.fixed(v) end
  end
  table.sort(names)
  for _, name in ipairs(names) do
    for _, dep in ipairs(depends(dists[name])) do
      if not dists[dep] then
        local hint = checks.suggest(dep, names)
        fail(fmt("%s: the condition of '%s' names '%s', which is not a parameter%s", fn, name, dep,
          hint and fmt(" (did you mean '%s'?)", hint) or ""))
      end
    end
  end
  -- order: a parameter after those its condition reads; function conditions last
  local order, placed = {}, {}
  local remaining = table.move(names, 1, #names, 1, {})
  while #remaining > 0 do
    local progress = false
    for i = 1, #remaining do
      local name = remaining[i]
      local d = dists[name]
      local ready = type(d.when) ~= "function"
      for _, dep in ipairs(depends(d)) do if not placed[dep] then ready = false end end
      if ready then
        order[#order + 1], placed[name] = name, true
        table.remove(remaining, i)
        progress = true
        break
      end
    end
    if not progress then
      local fns = {}
      for _, name in ipairs(remaining) do
        if type(dists[name].when) ~= "function" then
          fail(fmt("%s: the conditions of %s depend on each other in a cycle", fn, table.concat(remaining, ", ")))
        end
        fns[#fns + 1] = name
      end
      for _, name in ipairs(fns) do order[#order + 1], placed[name] = name, true end
      remaining = {}
    end
  end
  return { names = names, dists = dists, order = order }
end

--- space.active(compiled, params, name) -> whether name exists given the values drawn so far
function M.active(compiled, params, name)
  local w = compiled.dists[name].when
  if w == nil then return true end
  if type(w) == "function" then return w(params) and true or false end
  for k, want in pairs(w) do
    local v = params[k]
    if v == nil then return false end
    if type(want) == "table" then
      local hit = false
      for _, x in ipairs(want) do if x == v then hit = true break end end
      if not hit then return false end
    elseif v ~= want then return false end
  end
  return true
end

--- space.draw(compiled, pick) -> params: each active parameter in order, pick(name, dist, params) giving its value
function M.draw(compiled, pick)
  local params = {}
  for _, name in ipairs(compiled.order) do
    if M.active(compiled, params, name) then params[name] = pick(name, compiled.dists[name], params) end
  end
  return params
end

do
  local doc = ml.doc
  doc(M.uniform, "search.uniform(low, high, [{when}]) -> distribution — a float uniform in [low, high]")
  doc(M.loguniform, "search.loguniform(low, high, [{when}]) -> distribution — a float whose log is uniform (learning rates, regularization)")
  doc(M.int, "search.int(low, high, [{log=false, step=1, when}]) -> distribution — an integer in [low, high]")
  doc(M.choice, "search.choice(values, [{when}]) -> distribution — one of the values (strings, numbers, booleans, tables)")
  doc(M.fixed, "search.fixed(value) -> distribution — always value (recorded, not searched)")
  doc(M.compile, "space.compile(fn, spec) -> compiled space — {name = distribution | list (a choice) | value (fixed)} in an order that respects the conditions")
  doc(M.active, "space.active(compiled, params, name) -> boolean — whether a conditional parameter exists for the values drawn so far")
  doc(M.draw, "space.draw(compiled, pick) -> params — every active parameter in order, valued by pick(name, dist, params)")
  doc(Dist.sample, "d:sample(rng) -> value — a draw from the distribution")
  doc(Dist.contains, "d:contains(v) -> boolean — whether v is one of the distribution's values")
  doc(Dist.grid, "d:grid([name]) -> list — the values a grid search tries (an error for continuous distributions)")
  doc(Dist.describe, "d:describe() -> string — e.g. 'loguniform(0.0001, 0.1)'")
end

return M
