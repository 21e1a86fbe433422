-- Finite-difference gradient check (after Torch7 nn's Jacobian.lua).
--
--   local gradcheck = dofile("tests/lua/gradcheck.lua")
--   gradcheck(f, {x, y}, {eps = 1e-6, tol = 1e-6})
--
-- f(x, y, ...) returns a float tensor, or a table of float tensors (e.g. the
-- pieces of split). Every float64 input is checked (made to require grad);
-- other inputs (masks, indices, float32 tensors) are passed through as they
-- are. The whole Jacobian is compared: the analytic one row by row (one
-- backward per output element, with a one-hot gradient and retain_graph),
-- the numeric one column by column by central differences
-- (f(x + eps) - f(x - eps)) / (2 eps), each element perturbed in place
-- through a flat view x:reshape(-1) inside ml.no_grad and then restored.
--
-- Options:
--   eps   step (1e-6)
--   tol   |analytic - numeric| <= tol * max(1, |numeric|) (1e-6)
--   wrt   list of input positions to check (default: every float64 input)
--   skip  function(k, i, v) -> true to skip element i (1-based, flat) of
--         input k whose value is v: kinks (relu at 0, abs at 0, ties of max)
--
-- Also asserts that each gradient has its input's shape and dtype, and that
-- f gives the same values with and without grad mode. Raises an error naming
-- the input, element and output of the worst mismatch; returns the largest
-- error seen otherwise.

local function flat_list(t)
  local v = t:tolist()
  if type(v) ~= "table" then return { v } end
  local out = {}
  local function walk(x)
    if type(x) == "table" then for _, y in ipairs(x) do walk(y) end
    else out[#out + 1] = x end
  end
  walk(v)
  return out
end

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

local function is_float(t) return t:dtype() == "float32" or t:dtype() == "float64" end

-- f's outputs as a list of float tensors
local function outputs(r)
  local list = {}
  if ml.is_tensor(r) then list[1] = r
  elseif type(r) == "table" then
    for _, t in ipairs(r) do list[#list + 1] = t end
  else error("gradcheck: f must return a tensor or a table of tensors, got " .. type(r), 3) end
  local fl = {}
  for _, t in ipairs(list) do if is_float(t) then fl[#fl + 1] = t end end
  if #fl == 0 then error("gradcheck: f returned no float tensor", 3) end
  return fl
end

local function values(outs)
  local v = {}
  for _, t in ipairs(outs) do
    for _, x in ipairs(flat_list(t)) do v[#v + 1] = x end
  end
  return v
end

return function(f, inputs, opts)
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "eps" and k ~= "tol" and k ~= "wrt" and k ~= "skip" then
      error("gradcheck: unknown option '" .. tostring(k) .. "'", 2)
    end
  end
  local eps, tol = opts.eps or 1e-6, opts.tol or 1e-6
  local n_in = #inputs
  local wrt = {}
  if opts.wrt then
    for _, k in ipairs(opts.wrt) do wrt[#wrt + 1] = k end
  else
    for k = 1, n_in do
      local x = inputs[k]
      if ml.is_tensor(x) and x:dtype() == "float64" then wrt[#wrt + 1] = k end
    end
  end
  if #wrt == 0 then error("gradcheck: no float64 input to check", 2) end
  for _, k in ipairs(wrt) do
    local x = inputs[k]
    if not (ml.is_tensor(x) and x:dtype() == "float64") then
      error("gradcheck: input " .. k .. " must be a float64 tensor", 2)
    end
    if not x:is_contiguous() then error("gradcheck: input " .. k .. " must be contiguous", 2) end
    if not x:is_leaf() then error("gradcheck: input " .. k .. " must be a leaf", 2) end
    x:requires_grad()
    x:zero_grad()
  end
  local call = function() return f(table.unpack(inputs, 1, n_in)) end

  -- analytic Jacobian: rows[j][k][i] = d out_j / d input_k[i]
  local outs = outputs(call())
  local y0 = values(outs)
  local rows = {}
  for _, o in ipairs(outs) do
    local n = o:numel()
    for j = 1, n do
      local row = {}
      if o:is_requires_grad() then
        local g = ml.zeros(o:shape(), { dtype = o:dtype() })
        g:reshape(-1)[j] = 1
        o:backward(g, { retain_graph = true })
      end
      for _, k in ipairs(wrt) do
        local x = inputs[k]
        local gr = x.grad
        if gr then
          if shape_str(gr) ~= shape_str(x) then
            error(string.format("gradcheck: gradient of input %d has shape %s, expected %s", k, shape_str(gr), shape_str(x)), 2)
          end
          if gr:dtype() ~= x:dtype() then
            error(string.format("gradcheck: gradient of input %d has dtype %s, expected %s", k, gr:dtype(), x:dtype()), 2)
          end
          row[k] = flat_list(gr)
        else
          row[k] = false -- no path: zeros
        end
        x:zero_grad()
      end
      rows[#rows + 1] = row
    end
  end
  local m = #rows

  -- forward under no_grad gives the same values
  local yng = ml.no_grad(function() return values(outputs(call())) end)
  if #yng ~= #y0 then error("gradcheck: f gives a different number of outputs under no_grad", 2) end
  for j = 1, #y0 do
    local a, b = y0[j], yng[j]
    if not (a == b or (a ~= a and b ~= b)) then
      error(string.format("gradcheck: output %d is %.17g with grad mode and %.17g under no_grad", j, a, b), 2)
    end
  end

  -- numeric Jacobian, column by column, compared as it goes
  local worst, where = 0, nil
  for _, k in ipairs(wrt) do
    local x = inputs[k]
    ml.no_grad(function()
      local flat = x:reshape(-1)
      local xs = flat_list(flat)
      for i = 1, #xs do
        local v = xs[i]
        if not (opts.skip and opts.skip(k, i, v)) then
          flat[i] = v + eps
          local yp = values(outputs(call()))
          flat[i] = v - eps
          local ym = values(outputs(call()))
          flat[i] = v
          if #yp ~= m or #ym ~= m then error("gradcheck: f changed its number of outputs", 3) end
          for j = 1, m do
            local num = (yp[j] - ym[j]) / (2 * eps)
            local r = rows[j][k]
            local ana = r and r[i] or 0
            local err = math.abs(ana - num) / math.max(1, math.abs(num))
            if not (err <= worst) then -- NaN counts as worst
              worst = err
              where = string.format("input %d element %d, output %d: analytic %.10g, numeric %.10g", k, i, j, ana, num)
            end
          end
        end
      end
    end)
  end
  if not (worst <= tol) then
    error(string.format("gradcheck: error %.3g > tol %g at %s", worst, tol, where), 2)
  end
  return worst
end
