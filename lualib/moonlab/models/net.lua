--- models/net.lua: models.NetClassifier and models.NetRegressor, a network
-- of ml.nn as an estimator (skorch's and KerasClassifier's idea), so
-- cross-validation, ensembles and searches treat networks and classic models alike.
--
--   local net = models.NetClassifier{
--     build = function(p, n_features, n_classes)
--       return nn.Sequential{nn.Linear(n_features, p.hidden), nn.ReLU(), nn.Linear(p.hidden, n_classes)}
--     end,
--     params = {hidden = 32}, epochs = 20, lr = 1e-2, random_state = 0}
--   net:fit(X, y); net:predict_proba(X)
--
-- fit builds the network (build(params, n_features, n_classes | n_targets)),
-- compiles it (optimizer by name or a function(parameters, lr) -> optimizer;
-- loss nil = cross entropy for classifiers, MSE for regressors) and fits it
-- with ml.nn's fit. Labels go through core/labels, so any label values work;
-- the network sees codes 1..K. random_state seeds the initialization and the
-- batches (the caller's random stream is restored); nil draws from ml's
-- generator. build is kept by reference (clone shares it). A fitted estimator
-- saves its network (architecture and weights) through core/persist; a loaded
-- one predicts, and needs build again to be refit.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.models.base"

local fail, fmt = checks.fail, string.format
local M = {}

local PARAMS = {
  { "build", nil }, { "epochs", 10 }, { "batch_size", 32 }, { "optimizer", "adam" }, { "lr", 1e-3 },
  { "loss", nil }, { "verbose", 0 }, { "random_state", nil }, { "params", nil },
}

local OPTIMIZERS = { sgd = "SGD", adam = "Adam", adamw = "AdamW", rmsprop = "RMSprop", adagrad = "Adagrad" }

local function check(self, fn)
  if self.build ~= nil and type(self.build) ~= "function" then
    fail(fmt("%s: build must be a function(params, n_features, n_outputs) -> nn module, got %s", fn, type(self.build)))
  end
  checks.integer(fn, "epochs", self.epochs, 1)
  checks.integer(fn, "batch_size", self.batch_size, 1)
  checks.number(fn, "lr", self.lr, 0)
  if type(self.optimizer) ~= "string" and type(self.optimizer) ~= "function" then
    fail(fmt("%s: optimizer must be a name (%s) or a function(parameters, lr) -> optimizer, got %s", fn,
      "'adam', 'sgd', 'adamw', 'rmsprop', 'adagrad'", type(self.optimizer)))
  end
  if type(self.optimizer) == "string" and not OPTIMIZERS[self.optimizer:lower()] then
    checks.unknown(fn, "optimizer", self.optimizer, { "adam", "adamw", "adagrad", "rmsprop", "sgd" })
  end
  if self.params ~= nil and (type(self.params) ~= "table" or getmetatable(self.params) ~= nil) then
    fail(fmt("%s: params must be a table of the build function's settings, got %s", fn, checks.show(self.params)))
  end
  if self.random_state ~= nil then checks.integer(fn, "random_state", self.random_state) end
end

-- The network's float type (its first parameter's), which X and regression targets are given in.
local function network_dtype(model)
  local p = model:parameters()[1]
  return p and p:dtype() or "float32"
end

local function make_optimizer(self, fn, model)
  if type(self.optimizer) == "function" then
    local opt = self.optimizer(model:parameters(), self.lr)
    if type(opt) ~= "table" or type(opt.step) ~= "function" then
      fail(fn .. ": the optimizer function must return an optimizer (with step and zero_grad)")
    end
    return opt
  end
  return ml.optim[OPTIMIZERS[self.optimizer:lower()]](model:parameters(), { lr = self.lr })
end

-- f() with ml's generator seeded by random_state, the caller's stream restored after
local function seeded(random_state, f)
  if random_state == nil then return f() end
  local state = ml.random_state()
  ml.seed(random_state)
  local r = table.pack(pcall(f))
  ml.set_random_state(state)
  if not r[1] then checks.reraise(r[2]) end
  return table.unpack(r, 2, r.n)
end

local function fit_network(self, fn, X, target, n_out, default_loss, opts)
  if opts and opts.sample_weight ~= nil then
    -- a network's fit has no per-sample weights: refuse rather than train as if they were all 1
    fail(fmt("%s: sample_weight is not supported by %s (the network's fit weighs every sample alike); "
      .. "fit without it, or give the loss class weights (loss = nn.CrossEntropyLoss{weight = ...})", fn, self.__name))
  end
  if self.build == nil then
    fail(fmt("%s: %s needs build = function(params, n_features, n_outputs) -> nn module (a loaded estimator predicts but cannot be refit without it)",
      fn, self.__name))
  end
  seeded(self.random_state, function()
    local nn = require "moonlab.nn"
    local ok, model = pcall(self.build, self.params or {}, X:size(2), n_out)
    if not ok then fail(fmt("%s: build failed: %s", fn, tostring(model))) end
    if type(model) ~= "table" or type(model.parameters) ~= "function" or type(model.compile) ~= "function" then
      fail(fmt("%s: build must return an nn module, got %s", fn, checks.show(model)))
    end
    model:compile { optimizer = make_optimizer(self, fn, model), loss = self.loss or default_loss(nn) }
    self.input_dtype_ = network_dtype(model)
    X = X:to(self.input_dtype_):contiguous()
    if target:dtype() == "float32" or target:dtype() == "float64" then target = target:to(self.input_dtype_) end
    local h = model:fit(X, target, { epochs = self.epochs, batch_size = self.batch_size, verbose = self.verbose })
    self.model_ = model
    local losses = h and h.history and h.history.loss
    self.loss_curve_ = type(losses) == "table" and losses or nil
  end)
end

local function forward(self, X)
  local model = self.model_
  model:eval()
  return ml.no_grad(function() return model:predict(X:to(self.input_dtype_ or "float32"):contiguous(), { batch_size = 4096 }) end)
end

-- The saved form: the options without build (a function), and the fitted network, rebuilt on load.
local function constructor_args(self)
  local params = self:get_params()
  params.build = nil
  if type(params.optimizer) == "function" then params.optimizer = "adam" end
  if type(params.loss) == "function" or (type(params.loss) == "table") then params.loss = nil end
  return table.pack(params, rawget(self, "_fitted") and { network = self.model_ } or nil)
end

local function init_with_network(cls)
  local init = cls.init
  function cls:init(opts, fitted)
    init(self, opts)
    if fitted ~= nil then
      if type(fitted) ~= "table" or type(fitted.network) ~= "table" then
        fail(fmt("%s: the second argument is the fitted network ({network = module}), got %s", self.__name, checks.show(fitted)))
      end
      self.model_ = fitted.network
    end
  end
end

-- persist_state without the network (constructor_args carries it) or the loss curve list
local function persist_without_network(cls)
  local persist_state = cls.persist_state
  function cls:persist_state()
    local model = rawget(self, "model_")
    self.model_ = nil
    local ok, st = pcall(persist_state, self)
    self.model_ = model
    if not ok then error(st, 0) end
    -- the network's architecture travels in constructor_args; its weights here
    if model then
      for name, t in pairs(model:state_dict()) do st.tensors["network." .. name] = t:contiguous() end
    end
    return st
  end
  local load_persist_state = cls.load_persist_state
  function cls:load_persist_state(st)
    local weights, rest = {}, {}
    for k, t in pairs(st.tensors or {}) do
      local name = k:match("^network%.(.+)$")
      if name then weights[name] = t else rest[k] = t end
    end
    load_persist_state(self, { tensors = rest, settings = st.settings })
    if rawget(self, "model_") and next(weights) then self.model_:load_state_dict(weights) end
  end
  cls.constructor_args = constructor_args
end

-- ---- NetClassifier -------------------------------------------------------------------------------

local NetClassifier = base.define("models.NetClassifier",
  "models.NetClassifier{build = function(params, n_features, n_classes) -> nn module, epochs=10, batch_size=32, optimizer='adam', "
  .. "lr=1e-3, loss=nil (cross entropy), verbose=0, random_state, params} — a network of ml.nn as a classifier", PARAMS)
M.NetClassifier = NetClassifier
NetClassifier.KIND = "classifier"
NetClassifier._check = check
init_with_network(NetClassifier)
persist_without_network(NetClassifier)

function NetClassifier:_fit(X, y, fn, opts)
  if self.n_classes_ < 2 then
    fail(fmt("%s: y holds one class (%s); a classifier needs at least two", fn, tostring(self.classes_[1])))
  end
  fit_network(self, fn, X, y, self.n_classes_, function(nn) return nn.CrossEntropyLoss() end, opts)
end

function NetClassifier:_predict_proba(X, fn)
  local out = forward(self, X)
  if out:dim() ~= 2 or out:size(2) ~= self.n_classes_ then
    fail(fmt("%s: the network gives outputs of shape [%s], expected [n, %d] (one logit per class)", fn,
      table.concat(out:shape(), ", "), self.n_classes_))
  end
  return ml.softmax(out:to("float64"), 2)
end

function NetClassifier:_predict(X, fn)
  local _, idx = self:_predict_proba(X, fn):max(2)
  return idx:reshape(X:size(1)):to("int64")
end

function NetClassifier:_decision_function(X, fn)
  return forward(self, X):to("float64")
end

-- ---- NetRegressor ---------------------------------------------------------------------------------

local NetRegressor = base.define("models.NetRegressor",
  "models.NetRegressor{build = function(params, n_features, n_targets) -> nn module, epochs=10, batch_size=32, optimizer='adam', "
  .. "lr=1e-3, loss=nil (MSE), verbose=0, random_state, params} — a network of ml.nn as a regressor", PARAMS)
M.NetRegressor = NetRegressor
NetRegressor.KIND = "regressor"
NetRegressor._check = check
init_with_network(NetRegressor)
persist_without_network(NetRegressor)

function NetRegressor:_fit(X, y, fn, opts)
  local t = y:dim() == 1 and y:reshape(y:size(1), 1) or y
  self.n_targets_ = t:size(2)
  fit_network(self, fn, X, t, self.n_targets_, function(nn) return nn.MSELoss() end, opts)
end

function NetRegressor:_predict(X, fn)
  local out = forward(self, X):to("float64")
  if out:dim() == 1 then out = out:reshape(out:size(1), 1) end
  if out:size(2) ~= self.n_targets_ then
    fail(fmt("%s: the network gives %d outputs per row, expected %d (the targets fit saw)", fn, out:size(2), self.n_targets_))
  end
  if self.n_targets_ == 1 then return out:reshape(out:size(1)):contiguous() end
  return out
end

do
  local doc = ml.doc
  doc(NetClassifier._fit, "NetClassifier:_fit(X, codes, fn) — builds, compiles and fits the network on codes 1..K")
  doc(NetClassifier._predict_proba, "NetClassifier:_predict_proba(X) -> float64 [n, K] — the softmax of the network's logits")
  doc(NetClassifier._predict, "NetClassifier:_predict(X) -> int64 codes — the most probable class")
  doc(NetClassifier._decision_function, "NetClassifier:_decision_function(X) -> float64 [n, K] — the network's logits")
  doc(NetRegressor._fit, "NetRegressor:_fit(X, y, fn) — builds, compiles and fits the network on y [n, targets]")
  doc(NetRegressor._predict, "NetRegressor:_predict(X) -> float64 [n] or [n, t] — the network's outputs")
end

return M
