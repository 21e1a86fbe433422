-- Shared by tests/lua/test_prep_*.lua: the fixtures of scripts/gen_prep_fixtures.py.
--   local H = dofile("tests/lua/prep_helpers.lua")
--   local fx = H.fixture("scalers")      -- decoded JSON; "nan" strings back to NaN
--   H.mat(spec) -> float64 tensor;  H.close(got, want, tol, what): elementwise, NaN where NaN
local ml = ml
local H = {}

local function denan(v)
  if v == "nan" then return 0 / 0 end
  if v == "inf" then return math.huge end
  if v == "-inf" then return -math.huge end
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = denan(x) end
  end
  return v
end

function H.fixture(name)
  local text = assert(T.read_file("tests/fixtures/prep/" .. name .. ".json"), "missing fixture " .. name)
  return denan(ml.json.decode(text))
end

function H.mat(spec)
  local t = #spec.data > 0 and ml.tensor(spec.data, { dtype = "float64" }) or ml.zeros(0, { dtype = "float64" })
  return t:reshape(spec.shape):contiguous()
end

-- got and want agree elementwise to tol (relative for large values), with NaN in the same places.
function H.close(got, want, tol, what)
  tol = tol or 1e-12
  if not ml.is_tensor(want) then want = H.mat(want) end
  local gs, ws = table.concat(got:shape(), "x"), table.concat(want:shape(), "x")
  if gs ~= ws then error(string.format("%s: shape %s, expected %s", what or "value", gs, ws), 2) end
  local g, w = got:to("float64"):reshape(got:numel()):tolist(), want:reshape(want:numel()):tolist()
  for i = 1, #w do
    local a, b = g[i], w[i]
    if b ~= b then
      if a == a then error(string.format("%s: element %d is %g, expected NaN", what or "value", i, a), 2) end
    elseif not (math.abs(a - b) <= tol * math.max(1, math.abs(b))) then
      error(string.format("%s: element %d is %.17g, expected %.17g", what or "value", i, a, b), 2)
    end
  end
end

-- a Lua list with holes for a fixture list holding JSON nulls
function H.list(v, n)
  local out = { n = n or #v }
  for i = 1, out.n do
    local x = v[i]
    if x ~= ml.json.null then out[i] = x end
  end
  return out
end

return H
