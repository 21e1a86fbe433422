-- Shared by test_conv.lua and test_pool.lua: runs a PyTorch fixture case
-- (scripts/gen_conv_fixtures.py) through the layer its ctor builds and
-- compares the output and the gradients of (out * w):sum().
local H = {}

function H.run_case(c)
  local m = T.build(c.ctor)
  local sd = {}
  for k, v in pairs(c.state) do sd[k] = T.fixture_tensor(v) end
  if next(sd) then m:load_state_dict(sd) end
  local x = T.fixture_tensor(c.input):requires_grad()
  local out = m(x)
  local tol = 1e-10
  T.all_near(out, T.fixture_tensor(c.output), tol, "output")
  T.eq(out:dtype(), "float64", "output dtype")
  T.eq(table.concat(out:shape(), ","), table.concat(c.output.shape, ","), "output shape")
  ;(out * T.fixture_tensor(c.w)):sum():backward()
  T.all_near(x.grad, T.fixture_tensor(c.grad_input), tol, "grad of input")
  local named, n = {}, 0
  for _, p in ipairs(m:named_parameters()) do named[p[1]] = p[2] end
  for name, g in pairs(c.grads) do
    n = n + 1
    T.ok(named[name], "parameter " .. name .. " exists")
    T.all_near(named[name].grad, T.fixture_tensor(g), tol, "grad of " .. name)
  end
  T.eq(#m:named_parameters(), n, "parameter count")
  if c.running_mean then
    T.all_near(m.running_mean, T.fixture_tensor(c.running_mean), tol, "running_mean")
    T.all_near(m.running_var, T.fixture_tensor(c.running_var), tol, "running_var")
    m:eval()
    T.all_near(m(x:detach()), T.fixture_tensor(c.eval_output), tol, "eval output")
  end
end

-- The fixture cases whose name starts with one of the prefixes.
function H.cases(FX, prefixes)
  local out = {}
  for _, c in ipairs(FX.cases) do
    for _, p in ipairs(prefixes) do
      if c.name:sub(1, #p) == p then out[#out + 1] = c; break end
    end
  end
  return out
end

return H
