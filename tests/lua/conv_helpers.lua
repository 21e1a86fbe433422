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
end

return H
