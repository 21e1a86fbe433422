--- data/base.lua: what the data files share: option and integer checks
-- (errors at the user's line, through core/checks), the check that a list of
-- tensors has one common first size, a dataset's length.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local B = {}
local fail = checks.fail
B.fail, B.call = fail, checks.call
B.shape_str = require("moonlab.core.format").shape
local is_tensor = ml.is_tensor

function B.check_options(fn, opts, known) return checks.options(fn, opts, known) end

function B.check_int(fn, what, v, min)
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v) and v == v and math.abs(v) < 2^53) then
    fail(string.format("%s: %s must be an integer, got %s", fn, what, type(v) == "number" and tostring(v) or type(v)))
  end
  v = math.tointeger(v)
  if min and v < min then fail(string.format("%s: %s must be at least %d, got %d", fn, what, min, v)) end
  return v
end

-- Sources of a list of tensors: checks they are tensors with one common first size.
function B.check_sources(fn, list, names)
  local n
  for k, t in ipairs(list) do
    local name = names and names[k] or ("tensor " .. k)
    if not is_tensor(t) then fail(string.format("%s: %s is a %s, expected a tensor", fn, name, type(t))) end
    if t:dim() == 0 then fail(string.format("%s: %s is 0-d; it needs a first dimension of samples", fn, name)) end
    local rows = t:shape()[1]
    if n == nil then n = rows
    elseif rows ~= n then
      local first = names and names[1] or "tensor 1"
      fail(string.format("%s: %s has %d samples (first dimension) but %s has %d", fn, first, n, name, rows))
    end
  end
  return n
end

function B.dataset_len(fn, ds)
  local mt = getmetatable(ds)
  if mt and mt.__len then return B.check_int(fn, "#dataset", #ds, 0) end
  if type(ds.len) == "function" then return B.check_int(fn, "dataset:len()", ds:len(), 0) end
  fail(fn .. ": the dataset has get(i) but no length: give it a __len metamethod or a len() method")
end

-- A permutation of 1..n: from (seed, stream) when seeded, else the global generator.
function B.permutation(n, seed, stream)
  if seed ~= nil then return checks.call(ml._data.randperm, n, seed, stream or 0) end
  return ml.randperm(n)
end

function B.check_seed(fn, seed)
  if seed == nil then return nil end
  return B.check_int(fn, "option 'seed'", seed)
end

return B
