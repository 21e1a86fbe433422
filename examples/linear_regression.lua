-- Linear regression by gradient descent with autograd.
-- Fits y = X w + b on synthetic data (true w = {2, -3.4}, b = 4.2) and
-- prints the loss as it falls.  Run: moonlab examples/linear_regression.lua [steps=200]
local steps = tonumber(arg and arg[1] or nil) or (ml.overrides and ml.overrides.steps) or 200

ml.seed(42)
local n = 1000
local true_w = ml.tensor({{2.0}, {-3.4}})
local X = ml.randn(n, 2)
local y = X:matmul(true_w) + 4.2 + ml.randn(n, 1) * 0.01

local w = ml.zeros(2, 1):requires_grad()
local b = ml.zeros(1):requires_grad()
local lr = 0.1

local timer = ml.now and ml.now()
for step = 1, steps do
  local pred = X:matmul(w) + b
  local loss = ((pred - y) ^ 2):mean()
  w.grad, b.grad = nil, nil
  loss:backward()
  ml.no_grad(function()
    w:sub_(w.grad * lr)
    b:sub_(b.grad * lr)
  end)
  if step == 1 or step % (steps // 10) == 0 then
    print(string.format("step %4d  loss %.6f", step, loss:item()))
  end
end
print(string.format("learned w = {%.3f, %.3f}, b = %.3f  (true: {2, -3.4}, 4.2)",
  w[1][1], w[2][1], b[1]))
if timer then print(string.format("%.1f ms", (ml.now() - timer) * 1e3)) end
