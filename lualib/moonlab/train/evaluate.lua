--- train.evaluate: model:evaluate and model:predict, and the validation
-- pass of fit: the model over a data set in batches, in eval mode, without a graph.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local inputs = require "moonlab.train.inputs"
local EVALUATE_OPTIONS = { "batch_size" }
local compile = require "moonlab.train.compile"

local is_tensor = ml.is_tensor
local rows = inputs.rows
local M = {}

--- evaluate.pass_on(err, prefix): re-raises a caught error at the user's line; prefix goes before a
-- message that had no position and names no function or module ("Net.head (nn.Linear): ..." stays whole)
function M.pass_on(err, prefix)
  if type(err) == "string" and not err:match("^[^%s:][^\n:]*:%d+: ") and not err:match("^[%a_][%w_.]*[^:\n]-: ") then
    checks.reraise(err, prefix)
  end
  checks.reraise(err)
end

-- Calls each(out, yb, len) for every batch of the set {X, [y]} | {dataset}.
-- A dataset's loader is kept in the set, so fit's validation builds it once, not every epoch.
local function each_batch(model, set, bs, each)
  if set.dataset then
    local loader = set.loader
    if not (loader and loader.batch_size == bs) then
      loader = ml.data.loader(set.dataset, { batch_size = bs })
      set.loader = loader
    end
    for xb, yb in loader:iter() do
      local out = model(xb)
      if not is_tensor(out) then error("the model's forward returned a " .. type(out) .. ", expected a tensor", 0) end
      each(out, yb, rows(xb))
    end
    return
  end
  local X, y = set.X, set.y
  local n = rows(X)
  for lo = 1, n, bs do
    local len = math.min(bs, n - lo + 1)
    local out = model(X:narrow(1, lo, len))
    if not is_tensor(out) then error("the model's forward returned a " .. type(out) .. ", expected a tensor", 0) end
    each(out, y and y:narrow(1, lo, len), len)
  end
end

--- evaluate.batched(model, set, bs, each): each(out, y, len) per batch, in eval mode and without a graph; restores the mode
function M.batched(model, set, bs, each)
  local was = rawget(model, "training")
  model:eval()
  local ok, err = pcall(ml.no_grad, function() each_batch(model, set, bs, each) end)
  model:train(was ~= false)
  if not ok then error(err, 0) end
end

--- evaluate.measure(model, c, set, bs, prefix) -> {<prefix>loss = ..., <prefix><metric> = ...} over a whole set
function M.measure(model, c, set, bs, prefix)
  local loss_sum, n = 0, 0
  local msum, mcount = {}, {}
  for i = 1, #c.metrics do msum[i], mcount[i] = 0, 0 end
  local crit = c.loss
  local outs, ys = {}, {}
  local whole = c.epoch_metrics and #c.epoch_metrics > 0
  M.batched(model, set, bs, function(out, yb, len)
    local l = crit(out, yb)
    loss_sum = loss_sum + (is_tensor(l) and l:item() or l) * len
    n = n + len
    for i, m in ipairs(c.metrics) do
      if m.fn then
        local s, k = m.fn(out, yb, c.threshold)
        msum[i], mcount[i] = msum[i] + s, mcount[i] + k
      end
    end
    if whole then outs[#outs + 1], ys[#ys + 1] = out, yb end
  end)
  local out = {}
  out[prefix .. "loss"] = loss_sum / n
  for i, m in ipairs(c.metrics) do
    if m.fn then out[prefix .. m.name] = msum[i] / mcount[i] end
  end
  if whole then M.epoch_metrics(c.metrics, c.threshold, outs, ys, out, prefix) end
  return out
end

--- evaluate.epoch_metrics(metrics, threshold, outs, ys, logs, prefix): the epoch-level metrics (F1, AUC ...) over
-- the concatenated outputs and targets of every batch, into logs[prefix .. name]
function M.epoch_metrics(metrics, threshold, outs, ys, logs, prefix)
  local out, y = ml.cat(outs), ml.cat(ys)
  for _, m in ipairs(metrics) do
    if m.epoch then
      local ok, v = pcall(m.epoch, out, y, threshold)
      if not ok then error(string.format("metric '%s' (over the whole epoch): %s", m.name, tostring(v)), 0) end
      logs[prefix .. m.name] = v
    end
  end
end

-- What evaluate returns: prints as "loss 0.3312 - accuracy 0.8821".
local SUMMARY_MT = {}
SUMMARY_MT.__index = SUMMARY_MT
function SUMMARY_MT.__tostring(t)
  local parts = {}
  local names = t._names
  if not names then
    names = {}
    for k in pairs(t) do names[#names + 1] = k end
    table.sort(names)
  end
  for _, k in ipairs(names) do
    if type(t[k]) == "number" then parts[#parts + 1] = k .. " " .. format.number(t[k]) end
  end
  return table.concat(parts, " - ")
end

local function batch_size(fn, opts)
  local bs = opts.batch_size or 256
  if math.type(bs) ~= "integer" or bs < 1 then checks.fail(fn .. ": batch_size must be a positive integer") end
  return bs
end

--- evaluate.evaluate(model, a, b, c) -> summary: model:evaluate(X, y, [opts]) | model:evaluate(data, [opts])
function M.evaluate(model, a, b, c)
  local X, y, opts, ds = inputs.parse("evaluate", a, b, c, EVALUATE_OPTIONS)
  opts = checks.options("evaluate", opts, EVALUATE_OPTIONS, true)
  local cm = compile.compiled(model, "evaluate")
  local set = { dataset = ds }
  if not ds then
    inputs.check_xy("evaluate", X, y, "")
    set = { X = X, y = y }
  end
  local ok, r = pcall(M.measure, model, cm, set, batch_size("evaluate", opts), "")
  if not ok then M.pass_on(r, "evaluate: ") end
  local names = { "loss" }
  for _, m in ipairs(cm.metrics) do names[#names + 1] = m.name end
  r._names = names
  return setmetatable(r, SUMMARY_MT)
end

--- evaluate.predict(model, X, [opts]) -> tensor: the outputs for every row (X a tensor, or a data table/dataset whose inputs are used)
-- One batch (a tensor of at most batch_size rows, e.g. the one row a server
-- predicts): the model on X itself, no batching, no copies. A model already
-- put in eval mode (model:eval(), as a server does once) runs as it is: no
-- walk of its tree to switch modes, twice per call.
local function call(model, X) return model(X) end
local no_grad = ml.no_grad
local function predict_one(model, X)
  local training = rawget(model, "training") ~= false
  if training then model:eval() end
  local ok, out = pcall(no_grad, call, model, X)
  if training then model:train(true) end
  if not ok then M.pass_on(out, "predict: ") end
  if not is_tensor(out) then
    checks.fail("predict: the model's forward returned a " .. type(out) .. ", expected a tensor")
  end
  return out
end

function M.predict(model, X, opts)
  opts = opts ~= nil and checks.options("predict", opts, { "batch_size" }, true) or {}
  local bs = batch_size("predict", opts)
  if is_tensor(X) and X:dim() > 0 then -- else the checks below say what is wrong
    local n = X:size(1)
    if n > 0 and n <= bs then return predict_one(model, X) end
  end
  local set
  if is_tensor(X) or inputs.is_sparse(X) then
    if (is_tensor(X) and X:dim() == 0) or rows(X) == 0 then checks.fail("predict: X needs at least one row") end
    set = { X = X }
  else
    local Xd, _, ds = inputs.as_data(X)
    if not (Xd or ds) then checks.fail("predict: X must be a tensor, got " .. type(X)) end
    set = ds and { dataset = ds } or { X = Xd }
  end
  local outs = {}
  local ok, err = pcall(M.batched, model, set, bs, function(out) outs[#outs + 1] = out end)
  if not ok then M.pass_on(err, "predict: ") end
  if #outs == 1 then return outs[1] end
  return ml.cat(outs, 1)
end

ml.doc(M.pass_on, "evaluate.pass_on(err, prefix) — re-raises a caught error at the user's line (a position in user code kept), prefix before a bare message that names nothing")
ml.doc(M.batched, "evaluate.batched(model, set, batch_size, each) — each(out, y, len) per batch of {X, y} or {dataset}, in eval mode and without a graph")
ml.doc(M.epoch_metrics, "evaluate.epoch_metrics(metrics, threshold, outs, ys, logs, prefix) — the epoch-level metrics (F1, AUC ...) over all batches' outputs at once, into logs")
ml.doc(M.measure, "evaluate.measure(model, compiled, set, batch_size, prefix) -> {loss=, <metric>=} — the loss and metrics over a whole set")
ml.doc(M.evaluate, "evaluate.evaluate(model, X, y | data, [{batch_size=256}]) -> summary — what model:evaluate does")
ml.doc(M.predict, "evaluate.predict(model, X, [{batch_size=256}]) -> tensor — what model:predict does")

return M
