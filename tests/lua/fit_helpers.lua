-- Shared helpers for the fit, callback, resume and serialize tests: the
-- classes they use under short names, small datasets, and log capture.
--   local S = dofile("tests/lua/fit_helpers.lua")
--   S.Linear, S.ReLU, S.Sequential, S.Dropout, S.CrossEntropyLoss, S.MSELoss,
--   S.BCEWithLogitsLoss, S.SGD(params, {lr, momentum}), S.blobs(n, seed), S.regression(n, seed)
if _G.__fit_helpers then return _G.__fit_helpers end
local nn = ml.nn
local S = {
  Linear = nn.Linear, ReLU = nn.ReLU, Dropout = nn.Dropout, Sequential = nn.Sequential,
  CrossEntropyLoss = nn.CrossEntropyLoss, MSELoss = nn.MSELoss, BCEWithLogitsLoss = nn.BCEWithLogitsLoss,
  SGD = ml.optim.SGD, -- with momentum: its buffers are the tensor state a checkpoint must carry
}
local Linear, ReLU, Sequential = S.Linear, S.ReLU, S.Sequential

-- Two Gaussian blobs in 2-D: x [n,2] float32, labels [n] int64 in 1..2.
function S.blobs(n, seed)
  ml.seed(seed or 1)
  local y = ml.randint(1, 3, n)
  local x = ml.randn(n, 2) + (y:float():view(-1, 1) * 2 - 3) * ml.tensor({ { 1.5, -1.0 } })
  return x, y
end

-- y = x . w + noise: x [n,3], y [n,1] float32.
function S.regression(n, seed)
  ml.seed(seed or 1)
  local x = ml.randn(n, 3)
  local y = x:matmul(ml.tensor({ { 1.0 }, { -2.0 }, { 0.5 } })) + ml.randn(n, 1) * 0.1
  return x, y
end

function S.mlp(d_in, hidden, d_out, seed)
  ml.seed(seed or 0)
  return Sequential { Linear(d_in, hidden), ReLU(), Linear(hidden, d_out) }
end

-- Collects what fit writes, for tests of its log.
function S.capture()
  local out = {}
  return function(s) out[#out + 1] = s end, function() return table.concat(out) end
end

_G.__fit_helpers = S
return S
