--- moonlab.plot.values: what plots take as data (tensors of any numeric dtype, or Lua lists
-- of numbers, numeric data frame columns) as float64 [n] tensors, with the checks every plot shares: empty data and
-- mismatched lengths are errors naming the plot; NaN and Inf stay (the drawing skips them).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local values = {}
local fmt, fail = string.format, checks.fail

-- A numeric data frame column as a float64 tensor, its missing cells NaN.
local function column_values(fn, what, col)
  if col.kind ~= "float64" and col.kind ~= "int64" and col.kind ~= "bool" then
    fail(fmt("%s: %s is a %s column; expected numbers", fn, what, col.kind))
  end
  local t = col.values:to("float64")
  if col.valid then t = ml.where(col.valid, t, 0 / 0) end
  return t
end

--- values.vector(fn, what, v) -> float64 [n] tensor (contiguous): v a tensor, a list of numbers or a numeric data.Column
function values.vector(fn, what, v)
  local mt = type(v) == "table" and getmetatable(v)
  if mt and rawget(mt, "__name") == "data.Column" then v = column_values(fn, what, v) end
  if ml.is_tensor(v) then
    if v:dtype() == "bool" then v = v:to("int64") end
    local shape = v:shape()
    if #shape == 2 and (shape[1] == 1 or shape[2] == 1) then v = v:reshape(-1) end
    if v:dim() ~= 1 then
      fail(fmt("%s: %s must be a 1-D tensor or a list of numbers, got a tensor of shape [%s]", fn, what,
        table.concat(shape, ", ")))
    end
    if v:numel() == 0 then fail(fmt("%s: %s is empty", fn, what)) end
    return v:detach():to("float64"):contiguous()
  end
  if type(v) ~= "table" then
    fail(fmt("%s: %s must be a tensor or a list of numbers, got %s", fn, what, v == nil and "nothing" or checks.show(v)))
  end
  if #v == 0 then fail(fmt("%s: %s is empty", fn, what)) end
  for i = 1, #v do
    if type(v[i]) ~= "number" then fail(fmt("%s: %s[%d] must be a number, got %s", fn, what, i, checks.show(v[i]))) end
  end
  return ml.tensor(v, { dtype = "float64" })
end

--- values.pair(fn, x, y, [xname="x"], [yname="y"]) -> x, y as float64 [n]; x nil means 1..n
function values.pair(fn, x, y, xname, yname)
  xname, yname = xname or "x", yname or "y"
  local yt = values.vector(fn, yname, y)
  if x == nil then return ml.arange(1, yt:numel() + 1):to("float64"), yt end
  local xt = values.vector(fn, xname, x)
  if xt:numel() ~= yt:numel() then
    fail(fmt("%s: %s has %d values but %s has %d", fn, xname, xt:numel(), yname, yt:numel()))
  end
  return xt, yt
end

--- values.range(t, [positive]) -> lo, hi, n: the finite values' range (positive ones only on a log axis)
function values.range(t, positive)
  return ml._cairo.finite_range(t, positive)
end

--- values.numbers(fn, what, list) -> list: a Lua list of numbers (tensors are read out)
function values.numbers(fn, what, v)
  return values.vector(fn, what, v):tolist()
end

-- f(...)'s results; an error it raises is raised again as "fn: <its message>", at the user's line.
local function pass(fn, ok, ...)
  if ok then return ... end
  local err = ...
  if type(err) ~= "string" then error(err, 0) end
  fail(fn .. ": " .. err:gsub("^[^\n:]+:%d+: ", ""))
end

--- values.call(fn, f, ...) -> f(...): errors of the library functions a plot calls (metrics, image.grid) named by the plot
function values.call(fn, f, ...)
  return pass(fn, pcall(f, ...))
end

return values
