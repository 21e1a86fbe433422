-- optim/lbfgs.lua: the functional minimizer and optim.LBFGS against PyTorch
-- (tests/fixtures/linear/lbfgs.json, scripts/gen_linear_fixtures.py).
local ml = ml
local fx = ml.json.decode(assert(T.read_file("tests/fixtures/linear/lbfgs.json")))
local optim = ml.optim

local function mat(spec) return ml.tensor(spec.data, { dtype = "float64" }):reshape(spec.shape):contiguous() end

local function rosenbrock(x)
  local a, b = x[1], x[2]
  return (1 - a) ^ 2 + 100 * (b - a * a) ^ 2,
    ml.tensor({ -2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a) }, { dtype = "float64" })
end

T.test("lbfgs_minimize finds Rosenbrock's minimum", function()
  local x, info = optim.lbfgs_minimize(rosenbrock, ml.tensor({ -1.2, 1 }, { dtype = "float64" }), { gtol = 1e-10, max_iter = 200 })
  T.all_near(x, { 1, 1 }, 1e-6)
  T.ok(info.converged, info.message)
  T.ok(info.n_iter < 60, "iterations: " .. info.n_iter)
  T.ok(info.f < 1e-12)
end)

T.test("lbfgs_minimize: a quadratic in a few steps, history_size and max_iter honoured", function()
  local A = ml.tensor({ 3, 1, 0.5, 10 }, { dtype = "float64" })
  local function f(x) return 0.5 * x:pow(2):mul(A):sum():item(), x:mul(A) end
  local x, info = optim.lbfgs_minimize(f, ml.ones(4, { dtype = "float64" }), { history_size = 2, gtol = 1e-12, ftol = 0 })
  T.all_near(x, { 0, 0, 0, 0 }, 1e-9)
  local _, capped = optim.lbfgs_minimize(rosenbrock, ml.tensor({ -1.2, 1 }, { dtype = "float64" }), { max_iter = 3 })
  T.eq(capped.n_iter, 3)
  T.eq(capped.converged, false)
end)

T.test("lbfgs_minimize: bad arguments are clear errors", function()
  T.raises(function() optim.lbfgs_minimize(rosenbrock, { 1, 2 }) end, "optim.lbfgs_minimize: x0 must be a 1-D tensor")
  T.raises(function() optim.lbfgs_minimize(rosenbrock, ml.zeros(2, { dtype = "float64" }), { gtl = 1 }) end, "did you mean 'gtol'")
  T.raises(function() optim.lbfgs_minimize(function() return "x" end, ml.zeros(2, { dtype = "float64" })) end,
    "f_and_grad must return a number and a gradient")
end)

-- the fixture's net: Linear(3, 5), Tanh, Linear(5, 1) in float64 with PyTorch's initial weights
local function fixture_net()
  local d = fx.data
  local net = ml.nn.Sequential { ml.nn.Linear(3, 5, { dtype = "float64" }), ml.nn.Tanh(), ml.nn.Linear(5, 1, { dtype = "float64" }) }
  local p = net:parameters()
  ml.no_grad(function()
    p[1]:copy_(mat(d.W1)); p[2]:copy_(mat(d.b1)); p[3]:copy_(mat(d.W2)); p[4]:copy_(mat(d.b2))
  end)
  return net, mat(d.X), mat(d.y)
end

for _, name in ipairs { "plain", "wolfe", "wolfe_hist3" } do
  T.test("optim.LBFGS matches torch.optim.LBFGS (" .. name .. ")", function()
    local case = fx[name]
    local net, X, y = fixture_net()
    local opts = {}
    for k, v in pairs(case.options) do opts[k] = v end
    local opt = optim.LBFGS(net:parameters(), opts)
    local mse = ml.nn.MSELoss()
    local function closure()
      opt:zero_grad()
      local loss = mse(net(X), y)
      loss:backward()
      return loss
    end
    local losses = {}
    for i = 1, 4 do losses[i] = opt:step(closure):item() end
    losses[5] = ml.no_grad(function() return mse(net(X), y):item() end)
    T.all_near(losses, case.losses, 1e-7)
    T.eq(opt._lbfgs.func_evals, case.func_evals)
  end)
end

T.test("optim.LBFGS: options and closure are checked", function()
  local net = ml.nn.Linear(2, 1)
  T.raises(function() optim.LBFGS(net:parameters(), { line_search_fn = "wolfe" }) end, "line_search_fn must be nil or 'strong_wolfe'")
  T.raises(function() optim.LBFGS(net:parameters(), { histroy_size = 3 }) end, "did you mean 'history_size'")
  local opt = optim.LBFGS(net:parameters())
  T.raises(function() opt:step() end, "optim.LBFGS:step: expected a closure")
  T.raises(function() opt:step(function() return "loss" end) end, "the closure must return the loss")
end)
