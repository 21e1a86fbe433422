--- nn/functional/args.lua: the argument forms the convolution and pooling
-- functions share: an int or a table of one int per spatial dimension.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local fail, fmt = checks.fail, string.format

local A = {}

-- v (an int, or a table of n ints) as a table of n ints, each >= min.
function A.ints(fn, what, v, n, min)
  local t = type(v) == "table" and v or nil
  if t then
    if #t ~= n then fail(fmt("%s: %s must be an integer or %d integers, got a table of %d", fn, what, n, #t)) end
  else
    t = {}
    for i = 1, n do t[i] = v end
  end
  local out = {}
  for i = 1, n do
    local x = t[i]
    if math.type(x) ~= "integer" or x < min then
      fail(fmt("%s: %s must be %s integer%s >= %d, got %s", fn, what, n == 1 and "an" or "", n == 1 and "" or "s", min,
        type(v) == "table" and "{" .. table.concat((function() local s = {} for k = 1, #t do s[k] = tostring(t[k]) end return s end)(), ", ") .. "}" or tostring(v)))
    end
    out[i] = x
  end
  return out
end

-- The input as (N, C, ...) with n spatial dimensions; an unbatched input (C, ...) gets N = 1.
-- Returns the batched tensor and whether a batch dimension was added.
function A.batched(fn, x, n)
  if type(x) ~= "userdata" or not ml.is_tensor(x) then fail(fmt("%s: input must be a tensor, got %s", fn, type(x))) end
  local d = x:dim()
  if d == n + 2 then return x, false end
  if d == n + 1 then return x:unsqueeze(1), true end
  local want = n == 1 and "(N, C, L) or (C, L)" or "(N, C, H, W) or (C, H, W)"
  fail(fmt("%s: expected input %s, got %d-D shape [%s]", fn, want, d, table.concat(x:shape(), ", ")))
end

return A
