--- train.compile: model:compile{optimizer, loss, metrics}, what fit and evaluate use.
--
-- The settings go into rawget(model, "_compiled"), a table of
--   optimizer   the optimizer object (a name was made into one on model:parameters())
--   loss        the loss module or function(output, target)
--   loss_name   the loss class's name ("CrossEntropyLoss"), or nil for a function
--   metrics     a list of {name, fn(output, target, threshold) -> sum, count, [custom = true]}, or
--               {name, epoch = fn(outputs, targets, threshold) -> number}: a metric that does not decompose
--               over batches (F1, AUC, ...), computed once over the whole epoch's outputs
--   epoch_metrics  the names of those, in order (fit's log says which they are)
--   threshold   the 0/1 decision threshold of accuracy: 0 for BCEWithLogitsLoss (logits), else 0.5
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local metrics_mod = require "moonlab.metrics"

local fmt = string.format
local M = {}

local LOSS_NAMES = {
  cross_entropy = "CrossEntropyLoss", crossentropy = "CrossEntropyLoss", nll = "NLLLoss", mse = "MSELoss",
  l1 = "L1Loss", mae = "L1Loss", huber = "HuberLoss", bce = "BCELoss", bce_with_logits = "BCEWithLogitsLoss",
}
local OPTIM_NAMES = { sgd = "SGD", adam = "Adam", adamw = "AdamW", rmsprop = "RMSprop", adagrad = "Adagrad" }

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local function resolve_optimizer(model, opt)
  if type(opt) == "string" then
    local cls = ml.optim and ml.optim[OPTIM_NAMES[opt:lower()] or opt]
    if type(cls) ~= "table" then checks.unknown("compile", "optimizer", opt, keys(OPTIM_NAMES)) end
    opt = cls(model:parameters())
  end
  if type(opt) ~= "table" or type(opt.step) ~= "function" or type(opt.zero_grad) ~= "function" then
    checks.fail("compile: option 'optimizer' must be an optimizer (with step and zero_grad), e.g. optim.Adam(model:parameters())")
  end
  return opt
end

local function resolve_loss(loss)
  if type(loss) == "string" then
    local nn = require "moonlab.nn"
    local cls = nn[LOSS_NAMES[loss:lower()] or loss]
    if type(cls) ~= "table" then checks.unknown("compile", "loss", loss, keys(LOSS_NAMES)) end
    loss = cls()
  end
  local mt = type(loss) == "table" and getmetatable(loss)
  if not (type(loss) == "function" or (mt and mt.__call)) then
    checks.fail("compile: option 'loss' must be a loss module or a function(output, target)")
  end
  return loss
end

-- A named custom metric: fn(output, target) -> number (or 0-d tensor), weighed by the batch's rows.
local function custom_metric(name, f)
  if type(f) ~= "function" then checks.fail(fmt("compile: metric '%s' must be a function(output, target)", name)) end
  return {
    name = name,
    custom = true,
    fn = function(o, y)
      local v = f(o, y)
      if ml.is_tensor(v) then v = v:item() end
      if type(v) ~= "number" then error(fmt("fit: metric '%s' returned a %s, expected a number", name, type(v)), 0) end
      local n = o:shape()[1]
      return v * n, n
    end,
  }
end

-- {"accuracy", rmse = fn} -> the list of {name, fn}: the names first, in order, then the functions by name.
local function resolve_metrics(list)
  local out = {}
  if list == nil then return out end
  if type(list) ~= "table" then checks.fail("compile: metrics must be a table of names or functions") end
  for i, m in ipairs(list) do
    if type(m) == "string" then
      local key = metrics_mod.canonical(m)
      if key then
        out[#out + 1] = { name = key, fn = metrics_mod.sums(key) }
      elseif metrics_mod.epoch(m) then
        out[#out + 1] = { name = m, epoch = metrics_mod.epoch(m) }
      else
        local known = metrics_mod.names()
        for _, k in ipairs(metrics_mod.epoch_names()) do known[#known + 1] = k end
        -- longer names first, so 'f1_macr' suggests 'f1_macro', not its prefix 'f1'
        table.sort(known, function(a, b) return #a > #b or (#a == #b and a < b) end)
        checks.unknown("compile", "metric", m, known)
      end
    elseif type(m) == "function" then
      checks.fail(fmt("compile: metric %d is a function without a name; write metrics = {name = fn}", i))
    else
      checks.fail(fmt("compile: metric %d is a %s, expected a name or name = function", i, type(m)))
    end
  end
  local named = {}
  for k in pairs(list) do if type(k) == "string" then named[#named + 1] = k end end
  table.sort(named)
  for _, k in ipairs(named) do out[#out + 1] = custom_metric(k, list[k]) end
  return out
end

--- train.compile(model, opts) -> model: sets the optimizer, loss and metrics of model
function M.compile(model, opts)
  if type(opts) ~= "table" then checks.fail("compile: expected a table {optimizer = ..., loss = ..., metrics = {...}}") end
  checks.options("compile", opts, { "optimizer", "loss", "metrics" }, true)
  local opt = resolve_optimizer(model, opts.optimizer)
  local loss = resolve_loss(opts.loss)
  local lname = type(loss) == "table" and loss.__name or nil
  local metrics = resolve_metrics(opts.metrics)
  local epoch_metrics = {}
  for _, m in ipairs(metrics) do if m.epoch then epoch_metrics[#epoch_metrics + 1] = m.name end end
  rawset(model, "_compiled", {
    optimizer = opt,
    loss = loss,
    loss_name = lname,
    metrics = metrics,
    epoch_metrics = epoch_metrics,
    threshold = lname == "BCEWithLogitsLoss" and 0 or 0.5,
  })
  return model
end

--- train.compiled(model, fn) -> the compile settings, or an error naming fn when compile was not called
function M.compiled(model, fn)
  local c = rawget(model, "_compiled")
  if not c then checks.fail(fn .. ": call model:compile{optimizer = ..., loss = ...} first") end
  return c
end

ml.doc(M.compile, "train.compile(model, {optimizer, loss, [metrics]}) -> model — what model:compile does: names become objects, unknown ones are errors with 'did you mean'")
ml.doc(M.compiled, "train.compiled(model, fn) -> settings — rawget(model, '_compiled'), or an error naming fn when model:compile was not called")

return M
