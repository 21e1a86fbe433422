-- Small stand-ins for the layers, losses and optimizer the fit, callback and
-- serialize tests need, used only where the real ones (nn/layers.lua,
-- nn/losses.lua, ml.optim) are not there yet. Each returns the real class
-- when it exists, so the tests run against the real thing once it lands.
--   local S = dofile("tests/lua/fit_standins.lua")
--   S.Linear, S.ReLU, S.Sequential, S.Dropout, S.CrossEntropyLoss, S.MSELoss,
--   S.BCEWithLogitsLoss, S.SGD(params, {lr, momentum}), S.blobs(n, seed), S.regression(n, seed)
if _G.__fit_standins then return _G.__fit_standins end
local nn = ml.nn
local S = {}

local function class(name, real)
  if real then return real, false end
  return nn.Module:extend(name), true
end

local Linear, fresh = class("Linear", nn.Linear)
if fresh then
  function Linear:init(d_in, d_out, opts)
    local bound = 1 / math.sqrt(d_in)
    self.weight = (ml.rand(d_out, d_in) * (2 * bound) - bound):detach():requires_grad()
    if not (opts and opts.bias == false) then
      self.bias = (ml.rand(d_out) * (2 * bound) - bound):detach():requires_grad()
    end
  end
  function Linear:forward(x)
    local y = x:matmul(self.weight:t())
    if self.bias then y = y + self.bias end
    return y
  end
end
S.Linear = Linear

local ReLU
ReLU, fresh = class("ReLU", nn.ReLU)
if fresh then function ReLU:forward(x) return x:relu() end end
S.ReLU = ReLU

local Dropout
Dropout, fresh = class("Dropout", nn.Dropout)
if fresh then
  function Dropout:init(p) self.p = p or 0.5 end
  function Dropout:forward(x)
    if not self.training or self.p == 0 then return x end
    local keep = ml.rand(table.unpack(x:shape())):gt(self.p):float()
    return x * keep * (1 / (1 - self.p))
  end
end
S.Dropout = Dropout

local Sequential
Sequential, fresh = class("Sequential", nn.Sequential)
if fresh then
  function Sequential:init(list)
    for i, m in ipairs(list or {}) do self[i] = m end
  end
  function Sequential:forward(x)
    local i = 1
    while self[i] do x = self[i](x); i = i + 1 end
    return x
  end
end
S.Sequential = Sequential

local CE
CE, fresh = class("CrossEntropyLoss", nn.CrossEntropyLoss)
if fresh then
  function CE:init(opts) self.reduction = opts and opts.reduction or "mean" end
  function CE:forward(out, y)
    local l = -out:log_softmax(2):gather(2, y:view(-1, 1)):view(-1)
    if self.reduction == "none" then return l end
    if self.reduction == "sum" then return l:sum() end
    return l:mean()
  end
end
S.CrossEntropyLoss = CE

local MSE
MSE, fresh = class("MSELoss", nn.MSELoss)
if fresh then
  function MSE:init(opts) self.reduction = opts and opts.reduction or "mean" end
  function MSE:forward(out, y)
    local l = (out - y):pow(2)
    if self.reduction == "none" then return l end
    return l:mean()
  end
end
S.MSELoss = MSE

local BCE
BCE, fresh = class("BCEWithLogitsLoss", nn.BCEWithLogitsLoss)
if fresh then
  function BCE:init(opts) self.reduction = opts and opts.reduction or "mean" end
  function BCE:forward(x, y)
    local l = x:relu() - x * y + (-(x:abs())):exp():log1p()
    if self.reduction == "none" then return l end
    return l:mean()
  end
end
S.BCEWithLogitsLoss = BCE

-- SGD with momentum: its momentum buffers are the tensor state a checkpoint must carry.
if ml.optim and ml.optim.SGD then
  S.SGD = ml.optim.SGD
else
  local SGD = {}
  SGD.__index = SGD
  SGD.__name = "SGD"
  setmetatable(SGD, { __call = function(cls, params, opts)
    opts = opts or {}
    local self = setmetatable({ params = params, bufs = {}, steps = 0 }, cls)
    self.param_groups = { { params = params, lr = opts.lr or 0.1, momentum = opts.momentum or 0 } }
    return self
  end })
  function SGD:zero_grad()
    for _, p in ipairs(self.params) do if p.grad then p.grad:zero_() end end
  end
  function SGD:step()
    local g = self.param_groups[1]
    ml.no_grad(function()
      for i, p in ipairs(self.params) do
        if p.grad then
          local d = p.grad
          if g.momentum ~= 0 then
            local b = self.bufs[i]
            if not b then b = d:clone(); self.bufs[i] = b else b:mul_(g.momentum); b:add_(d) end
            d = b
          end
          p:sub_(d * g.lr)
        end
      end
    end)
    self.steps = self.steps + 1
  end
  function SGD:state_dict()
    local t = {}
    for i, b in pairs(self.bufs) do t[tostring(i) .. ".momentum_buffer"] = b end
    return { tensors = t, meta = { lr = self.param_groups[1].lr, momentum = self.param_groups[1].momentum, steps = self.steps } }
  end
  function SGD:load_state_dict(sd)
    if type(sd) ~= "table" or type(sd.meta) ~= "table" then error("SGD.load_state_dict: expected {tensors, meta}") end
    local bufs = {}
    for name, t in pairs(sd.tensors or {}) do
      local i = tonumber(name:match("^(%d+)%.momentum_buffer$"))
      if not i or not self.params[i] then error("SGD.load_state_dict: unexpected state '" .. name .. "'") end
      bufs[i] = t:clone()
    end
    self.bufs = bufs
    self.param_groups[1].lr = sd.meta.lr
    self.param_groups[1].momentum = sd.meta.momentum
    self.steps = sd.meta.steps
  end
  S.SGD = SGD
end

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

_G.__fit_standins = S
return S
