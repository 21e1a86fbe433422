--- train.fused: fit's compiled training step, for the models it can run.
--
-- When the model is an nn.Sequential of library layers the C step knows
-- (Linear with or without bias, ReLU, LeakyReLU, Tanh, Sigmoid, GELU (erf),
-- Identity, Dropout with p = 0), in float32, the loss an nn.MSELoss,
-- nn.CrossEntropyLoss (int64 labels; no weight, label_smoothing or
-- ignore_index) or nn.BCEWithLogitsLoss (no weight or pos_weight) reduced by
-- mean or sum, and the optimizer a library one with a fused C update
-- (SGD, Adam, AdamW, RMSprop, Adagrad) over exactly the model's parameters,
-- a batch is one C call (ml._train.step): forward, loss, backward into the
-- parameters' .grad (the optimizer's flat gradient block), then the
-- optimizer's own update, with its own state and the groups' current options.
-- The arithmetic is the general path's (runtime/ops/train_step.h), so the
-- same seed gives the same numbers. Everything else (other layers or
-- losses, a custom Module or forward, frozen or shared parameters,
-- float64, metrics, class weights, per-batch callbacks, a batch the plan
-- declines) takes the general path, silently. fit{fused = false} or
-- MOONLAB_FUSED=0 turns it off.
local ml = require "moonlab"

local M = {}

local function kinds()
  local nn, optim = ml.nn, ml.optim
  local layer = {
    [nn.ReLU] = "relu", [nn.Tanh] = "tanh", [nn.Sigmoid] = "sigmoid", [nn.LeakyReLU] = "leaky_relu",
    [nn.GELU] = "gelu", [nn.Linear] = "linear", [nn.Identity] = "skip", [nn.Dropout] = "dropout",
  }
  local opt = { [optim.SGD] = true, [optim.Adam] = true, [optim.AdamW] = true, [optim.RMSprop] = true,
    [optim.Adagrad] = true }
  return layer, opt
end
local LAYER, OPTIM

local function trainable(t)
  return ml.is_tensor(t) and t:dtype() == "float32" and t:is_leaf() and t:is_requires_grad()
end

local function is_f32(t) return ml.is_tensor(t) and t:dtype() == "float32" end

-- The layer specs of model (its first `last` modules) for ml._train.plan and its parameters, or nil.
-- For inference (infer true) the weights need not be trainable.
local function layers_of(model, infer, last)
  if getmetatable(model) ~= ml.nn.Sequential or rawget(model, "forward") ~= nil or rawget(model, 0) ~= nil then return nil end
  local specs, params = {}, {}
  local usable = infer and is_f32 or trainable
  for i = 1, last or rawlen(model) do
    local m = rawget(model, i)
    local kind = type(m) == "table" and LAYER[getmetatable(m)]
    -- the rows a server is sent are 2-D already: flattening their features changes nothing
    if infer and type(m) == "table" and getmetatable(m) == ml.nn.Flatten and m.start_dim == 2
      and (m.end_dim == -1 or m.end_dim == 2) then kind = "skip" end
    if not kind or rawget(m, "forward") ~= nil then return nil end
    if kind == "linear" then
      local w, b = rawget(m, "weight"), rawget(m, "bias")
      if not usable(w) or (b ~= nil and not usable(b)) then return nil end
      specs[#specs + 1] = { kind = "linear", weight = w, bias = b }
      params[#params + 1] = w
      if b then params[#params + 1] = b end
    elseif kind == "leaky_relu" then
      specs[#specs + 1] = { kind = kind, slope = m.negative_slope }
    elseif kind == "gelu" then
      if m.approximate ~= "none" then return nil end
      specs[#specs + 1] = { kind = kind }
    elseif kind == "dropout" then
      if m.p ~= 0 and m.training ~= false then return nil end
    elseif kind ~= "skip" then
      specs[#specs + 1] = { kind = kind }
    end
  end
  return specs, params
end

-- The optimizer's fused blocks when they hold exactly params (each once), else nil.
local function blocks_of(opt, params)
  if not OPTIM[getmetatable(opt)] or rawget(opt, "step") ~= nil or rawget(opt, "zero_grad") ~= nil then return nil end
  local blocks = rawget(opt, "_cblocks")
  if not blocks then return nil end
  for _, b in ipairs(blocks) do
    if b[1]:dtype() ~= "float32" then return nil end
  end
  local mine = {}
  for _, p in ipairs(params) do
    if mine[p] then return nil end -- shared between layers: its gradient would be a sum
    mine[p] = true
  end
  local theirs = opt:parameters()
  if #theirs ~= #params then return nil end
  for _, p in ipairs(theirs) do
    if not mine[p] then return nil end
  end
  return blocks
end

--- fused.enabled(opt) -> boolean: fit{fused = false} and MOONLAB_FUSED=0 turn the fused step off
function M.enabled(fused)
  if fused ~= nil and type(fused) ~= "boolean" then
    require("moonlab.core.checks").fail("fit: option 'fused' must be a boolean, got " .. type(fused))
  end
  if fused == false then return false end
  return os.getenv("MOONLAB_FUSED") ~= "0"
end

-- The loss's name for ml._train.plan, or nil.
local function loss_of(crit)
  if type(crit) ~= "table" or rawget(crit, "forward") ~= nil then return nil end
  local nn, cls = ml.nn, getmetatable(crit)
  if cls == nn.MSELoss then return "mse" end
  if cls == nn.CrossEntropyLoss and crit.weight == nil and crit.label_smoothing == 0 and crit.ignore_index == nil then
    return "cross_entropy"
  end
  if cls == nn.BCEWithLogitsLoss and crit.weight == nil and crit.pos_weight == nil then return "bce_with_logits" end
  return nil
end

--- fused.plan(model, loss, optimizer, X, batch_size) -> plan | nil: a compiled step for this model, or nil (the general path)
function M.plan(model, crit, opt, X, bs)
  if not LAYER then LAYER, OPTIM = kinds() end
  local loss = loss_of(crit)
  local red = loss and crit.reduction
  if red ~= "mean" and red ~= "sum" then return nil end
  if not ml.is_tensor(X) or X:dim() ~= 2 or X:dtype() ~= "float32" then return nil end
  local specs, params = layers_of(model)
  if not specs or #params == 0 then return nil end
  local blocks = blocks_of(opt, params)
  if not blocks then return nil end
  local ok, plan = pcall(ml._train.plan, specs, X:size(2), bs, loss, red, blocks)
  return ok and plan or nil -- widths that do not chain: the general path raises the layer's own error
end

--- fused.inference_plan(model, in_features, rows) -> plan, tail | nil: the forward of a plain network in eval mode
-- on 2-D rows (the layers above, nn.Flatten, and a last nn.Softmax or nn.LogSoftmax over the features: tail
-- "softmax" / "log_softmax",
-- else "none") for batches of at most rows rows, for the model server's C predict path; nil for any other model
function M.inference_plan(model, d, rows)
  if not LAYER then LAYER, OPTIM = kinds() end
  if getmetatable(model) ~= ml.nn.Sequential then return nil end
  local n, tail = rawlen(model), "none"
  local m = rawget(model, n)
  local cls = type(m) == "table" and getmetatable(m)
  if (cls == ml.nn.Softmax or cls == ml.nn.LogSoftmax) and rawget(m, "forward") == nil and (m.dim == -1 or m.dim == 2) then
    tail, n = cls == ml.nn.Softmax and "softmax" or "log_softmax", n - 1
  end
  local specs, params = layers_of(model, true, n)
  if not specs or #params == 0 then return nil end
  local ok, plan = pcall(ml._train.plan, specs, d, rows, "mse", "mean", {})
  if not ok then return nil end
  return plan, tail
end

return M
