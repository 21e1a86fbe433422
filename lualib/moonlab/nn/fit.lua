--- nn fit: Keras-style training for any nn.Module.
--
--   model:compile{ optimizer = optim.Adam(model:parameters(), {lr = 1e-3}),
--                  loss = nn.CrossEntropyLoss(), metrics = {"accuracy"} }
--   local history = model:fit(X, y, { epochs = 10, batch_size = 128, validation_split = 0.1,
--                                     callbacks = { ml.callbacks.EarlyStopping{ patience = 3 } } })
--   print(model:evaluate(Xtest, ytest))          -- loss 0.3312 - accuracy 0.8821
--   local probs = model:predict(Xnew):softmax(2)
--
-- Batches come from data.loader, seeded and told each epoch's number, so the
-- order of epoch e depends on (seed, e) alone (the same order the explicit
-- loop with that loader sees), and the validation split (data.split_indices)
-- on the seed alone. Neither draws from the global generator, which stays
-- for dropout and initialization: the same seed gives the same run, and a
-- run resumed from a checkpoint at epoch k goes on exactly as the unbroken
-- run would have (the checkpoint carries the weights, the optimizer state,
-- the generator's state, the history and the callbacks' state).
--
-- Per batch the loop does: one loader step, zero_grad, forward, loss,
-- loss:item() (the NaN check), backward, step, and a flag read for Ctrl-C.
-- Metrics and batch hooks cost nothing when there are none.
local ml = require "moonlab"
local Module = require("moonlab.nn.module").Module

local M = {}

local huge = math.huge
local fmt = string.format

local function is_tensor(v) return ml.is_tensor(v) end

local function sorted(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- Errors for unknown options: "fit: unknown option 'epoch' (known: batch_size, ...)".
local function check_options(fn, opts, known) return require("moonlab.checks").options(fn, opts, known, true) end
M._fit = { check_options = check_options }

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

-- Re-raises err from a public function, with one position at most: the
-- user's own position (their module's forward, or the line the message
-- already names) stays; a position inside the library goes, and the caller's
-- line (level, counted from the function that calls reraise) takes its place.
local function reraise(err, level, prefix)
  if type(err) ~= "string" then error(err, 0) end
  local loc, rest = err:match("^([^%s:][^\n:]*:%d+): (.*)$")
  if loc and not loc:find("moonlab/[%w_/]+%.lua$") then error(err, 0) end
  error((prefix or "") .. (rest or err), level + 1)
end
M._fit.reraise = reraise

-- ---- compile ----------------------------------------------------------------

local LOSS_NAMES = {
  cross_entropy = "CrossEntropyLoss", crossentropy = "CrossEntropyLoss", nll = "NLLLoss", mse = "MSELoss",
  l1 = "L1Loss", mae = "L1Loss", huber = "HuberLoss", bce = "BCELoss", bce_with_logits = "BCEWithLogitsLoss",
}
local OPTIM_NAMES = { sgd = "SGD", adam = "Adam", adamw = "AdamW", rmsprop = "RMSprop", adagrad = "Adagrad" }

-- Built-in metrics: fn(output, target, threshold) -> sum over the batch, count.
local BUILTIN_METRICS = {}

function BUILTIN_METRICS.accuracy(out, y, thr)
  local n = out:shape()[1]
  if out:dim() == 2 and out:shape()[2] > 1 then
    if y:dtype() ~= "int64" then
      error(fmt("fit: metric 'accuracy' with %s outputs needs int64 class labels (1..C), got %s targets",
        shape_str(out), y:dtype()), 0)
    end
    return out:argmax(2):eq(y:view(-1)):sum():item(), n
  end
  if out:numel() ~= y:numel() then
    error(fmt("fit: metric 'accuracy' needs [N,C] outputs with labels, or one output per 0/1 target; got output %s and target %s",
      shape_str(out), shape_str(y)), 0)
  end
  return out:reshape(-1):gt(thr):eq(y:reshape(-1):gt(0.5)):sum():item(), n
end

function BUILTIN_METRICS.mae(out, y)
  return (out - y):abs():sum():item(), out:numel()
end

function BUILTIN_METRICS.mse(out, y)
  return (out - y):pow(2):sum():item(), out:numel()
end

local function resolve_metrics(list)
  local out = {}
  if list == nil then return out end
  if type(list) ~= "table" then error("compile: metrics must be a table of names or functions", 3) end
  for i, m in ipairs(list) do
    if type(m) == "string" then
      local key = m == "acc" and "accuracy" or m
      if not BUILTIN_METRICS[key] then
        error(fmt("compile: unknown metric '%s' (known: %s; or give name = function(output, target))",
          m, table.concat(sorted(BUILTIN_METRICS), ", ")), 3)
      end
      out[#out + 1] = { name = key, fn = BUILTIN_METRICS[key] }
    elseif type(m) == "function" then
      error(fmt("compile: metric %d is a function without a name; write metrics = {name = fn}", i), 3)
    else
      error(fmt("compile: metric %d is a %s, expected a name or name = function", i, type(m)), 3)
    end
  end
  for _, k in ipairs(sorted((function() local t = {} for k in pairs(list) do if type(k) == "string" then t[k] = true end end return t end)())) do
    local f = list[k]
    if type(f) ~= "function" then error(fmt("compile: metric '%s' must be a function(output, target)", k), 3) end
    out[#out + 1] = {
      name = k,
      custom = true,
      fn = function(o, y)
        local v = f(o, y)
        if is_tensor(v) then v = v:item() end
        if type(v) ~= "number" then error(fmt("fit: metric '%s' returned a %s, expected a number", k, type(v)), 0) end
        local n = o:shape()[1]
        return v * n, n
      end,
    }
  end
  return out
end

--- model:compile{optimizer, loss, [metrics]} -> model: sets what fit and evaluate use.
function Module:compile(opts)
  if type(opts) ~= "table" then error("compile: expected a table {optimizer = ..., loss = ..., metrics = {...}}", 2) end
  check_options("compile", opts, { "optimizer", "loss", "metrics" })
  local opt = opts.optimizer
  if type(opt) == "string" then
    local cls = ml.optim and ml.optim[OPTIM_NAMES[opt:lower()] or opt]
    if not cls then error("compile: unknown optimizer '" .. opt .. "'", 2) end
    opt = cls(self:parameters())
  end
  if type(opt) ~= "table" or type(opt.step) ~= "function" or type(opt.zero_grad) ~= "function" then
    error("compile: option 'optimizer' must be an optimizer (with step and zero_grad), e.g. optim.Adam(model:parameters())", 2)
  end
  local loss = opts.loss
  if type(loss) == "string" then
    local nn = require "moonlab.nn"
    local cls = nn[LOSS_NAMES[loss:lower()] or loss]
    if not cls then error("compile: unknown loss '" .. loss .. "'", 2) end
    loss = cls()
  end
  local callable = type(loss) == "function" or (type(loss) == "table" and getmetatable(loss) and getmetatable(loss).__call)
  if not callable then error("compile: option 'loss' must be a loss module or a function(output, target)", 2) end
  local lname = type(loss) == "table" and loss.__name or nil
  rawset(self, "_compiled", {
    optimizer = opt,
    loss = loss,
    loss_name = lname,
    metrics = resolve_metrics(opts.metrics),
    threshold = lname == "BCEWithLogitsLoss" and 0 or 0.5,
  })
  return self
end

local function compiled(model, fn)
  local c = rawget(model, "_compiled")
  if not c then
    error(fn .. ": call model:compile{optimizer = ..., loss = ...} first", 3)
  end
  return c
end

-- ---- batches ----------------------------------------------------------------

local function rows(t) return t:dim() == 0 and 1 or t:shape()[1] end

local function check_xy(fn, X, y, what)
  if not is_tensor(X) then error(fmt("%s: %sX must be a tensor, got %s", fn, what, type(X)), 3) end
  if not is_tensor(y) then error(fmt("%s: %sy must be a tensor, got %s", fn, what, type(y)), 3) end
  if X:dim() == 0 or y:dim() == 0 then error(fmt("%s: %sX and y need a first (rows) dimension", fn, what), 3) end
  if rows(X) ~= rows(y) then
    error(fmt("%s: %sX has %d rows but y has %d (they must match)", fn, what, rows(X), rows(y)), 3)
  end
  if rows(X) == 0 then error(fmt("%s: %sX has no rows", fn, what), 3) end
end

-- Runs model over X in batches without a graph and in eval mode; calls
-- each(out, lo, len) for every batch. Restores the training flag.
local function batched_eval(model, X, bs, each)
  local was = rawget(model, "training")
  model:eval()
  local n = rows(X)
  local ok, err = pcall(ml.no_grad, function()
    for lo = 1, n, bs do
      local len = math.min(bs, n - lo + 1)
      local out = model(X:narrow(1, lo, len))
      if not is_tensor(out) then error("the model's forward returned a " .. type(out) .. ", expected a tensor", 0) end
      each(out, lo, len)
    end
  end)
  model:train(was ~= false)
  if not ok then
    -- a position inside the library goes: the public function puts the caller's line instead
    if type(err) == "string" then
      local loc, rest = err:match("^([^%s:][^\n:]*:%d+): (.*)$")
      if loc and loc:find("moonlab/[%w_/]+%.lua$") then err = rest end
    end
    error(err, 0)
  end
end

-- Loss and metrics over a whole set: {loss = ..., <metric> = ...}.
local function measure(model, c, X, y, bs, prefix)
  local loss_sum, n = 0, 0
  local msum, mcount = {}, {}
  for i = 1, #c.metrics do msum[i], mcount[i] = 0, 0 end
  local crit = c.loss
  batched_eval(model, X, bs, function(out, lo, len)
    local yb = y:narrow(1, lo, len)
    local l = crit(out, yb)
    loss_sum = loss_sum + (is_tensor(l) and l:item() or l) * len
    n = n + len
    for i, m in ipairs(c.metrics) do
      local s, k = m.fn(out, yb, c.threshold)
      msum[i], mcount[i] = msum[i] + s, mcount[i] + k
    end
  end)
  local out = {}
  out[prefix .. "loss"] = loss_sum / n
  for i, m in ipairs(c.metrics) do out[prefix .. m.name] = msum[i] / mcount[i] end
  return out
end

-- ---- number formats for logs ----------------------------------------------------

local function num(v)
  if v ~= v then return "nan" end
  if v == huge then return "inf" elseif v == -huge then return "-inf" end
  local a = math.abs(v)
  if a ~= 0 and (a < 1e-3 or a >= 1e6) then return fmt("%.3e", v) end
  return fmt("%.4f", v)
end
M._fit.num = num

local function seconds(s)
  if s < 60 then return fmt("%.1fs", s) end
  if s < 3600 then return fmt("%dm%02ds", s // 60, math.floor(s % 60)) end
  return fmt("%dh%02dm", s // 3600, math.floor(s % 3600) // 60)
end
M._fit.seconds = seconds

-- ---- evaluate / predict ---------------------------------------------------------

local SUMMARY_MT = {}
SUMMARY_MT.__index = SUMMARY_MT
function SUMMARY_MT.__tostring(t)
  local parts = {}
  for _, k in ipairs(t._names or sorted(t)) do
    if type(t[k]) == "number" then parts[#parts + 1] = k .. " " .. num(t[k]) end
  end
  return table.concat(parts, " - ")
end

--- model:evaluate(X, y, [{batch_size=256}]) -> {loss=, <metric>=} (printable): loss and metrics in eval mode, without a graph.
function Module:evaluate(X, y, opts)
  opts = check_options("evaluate", opts, { "batch_size" })
  local c = compiled(self, "evaluate")
  check_xy("evaluate", X, y, "")
  local bs = opts.batch_size or 256
  if math.type(bs) ~= "integer" or bs < 1 then error("evaluate: batch_size must be a positive integer", 2) end
  local ok, r = pcall(measure, self, c, X, y, bs, "")
  if not ok then reraise(r, 2) end
  local names = { "loss" }
  for _, m in ipairs(c.metrics) do names[#names + 1] = m.name end
  r._names = names
  return setmetatable(r, SUMMARY_MT)
end

--- model:predict(X, [{batch_size=256}]) -> tensor: the outputs for every row, in eval mode, without a graph.
function Module:predict(X, opts)
  opts = check_options("predict", opts, { "batch_size" })
  if not is_tensor(X) then error("predict: X must be a tensor, got " .. type(X), 2) end
  if X:dim() == 0 or rows(X) == 0 then error("predict: X needs at least one row", 2) end
  local bs = opts.batch_size or 256
  if math.type(bs) ~= "integer" or bs < 1 then error("predict: batch_size must be a positive integer", 2) end
  local outs = {}
  local ok, err = pcall(batched_eval, self, X, bs, function(out) outs[#outs + 1] = out end)
  if not ok then reraise(err, 2, "predict: ") end
  if #outs == 1 then return outs[1] end
  return ml.cat(outs, 1)
end

-- ---- fit ----------------------------------------------------------------------------

local FIT_OPTIONS = {
  "epochs", "batch_size", "shuffle", "validation_split", "validation_data", "validation_split_mode",
  "class_weight", "verbose", "callbacks", "initial_epoch", "resume", "seed", "output",
}

local HOOKS = { "on_train_begin", "on_epoch_begin", "on_batch_begin", "on_batch_end", "on_epoch_end",
  "after_epoch", "on_train_end" }
local HOOK_SET = {}
for _, h in ipairs(HOOKS) do HOOK_SET[h] = true end

local FLOAT_DTYPES = { float32 = true, float64 = true, float16 = true, bfloat16 = true }

-- Validation split: {train_idx, val_idx} (sorted int64), or nil for "last"; and the validation size.
local function split_rows(n, frac, mode, seed, y)
  local nval = math.floor(n * frac + 0.5)
  if nval < 1 or nval >= n then
    error(fmt("fit: validation_split %g of %d rows leaves the %s set empty", frac, n, nval < 1 and "validation" or "training"), 3)
  end
  if mode == "last" then return nil, nval end
  local opts = { seed = seed }
  if mode == "stratified" then
    if not (y:dim() == 1 or (y:dim() == 2 and y:shape()[2] == 1)) then
      error("fit: validation_split_mode 'stratified' needs one label per row, y is " .. shape_str(y), 3)
    end
    if FLOAT_DTYPES[y:dtype()] then
      error(fmt("fit: validation_split_mode 'stratified' needs integer class labels, got %s targets", y:dtype()), 3)
    end
    opts.stratify = y:reshape(-1)
  end
  local ok, tr, va = pcall(ml.data.split_indices, n, frac, opts)
  if not ok then error("fit: " .. tostring(tr):gsub("^[^%s:]+:%d+: ", ""), 3) end
  return { tr, va }, va:numel()
end

-- Per-row weights from class_weight = {[label] = weight}. The keys are
-- checked against the classes at the first batch (check_class_keys), when the
-- model's output says how many there are.
local function class_weights(cw, y, crit)
  if type(cw) ~= "table" then error("fit: class_weight must be a table {[class] = weight}", 3) end
  if type(crit) ~= "table" or crit.reduction == nil then
    error("fit: class_weight needs a loss with a 'reduction' field (the nn losses have one), to weigh each row", 3)
  end
  if not (y:dim() == 1 or (y:dim() == 2 and y:shape()[2] == 1)) then
    error("fit: class_weight needs one label per row, y is " .. shape_str(y), 3)
  end
  if FLOAT_DTYPES[y:dtype()] then
    error(fmt("fit: class_weight needs integer class labels, got %s targets (give 0/1 targets of a binary loss as int64)",
      y:dtype()), 3)
  end
  if next(cw) == nil then error("fit: class_weight is empty; give {[class] = weight, ...}", 3) end
  for k, w in pairs(cw) do
    if math.type(k) ~= "integer" then
      error(fmt("fit: class_weight keys must be integer class labels, got %s %s", type(k), tostring(k)), 3)
    end
    if type(w) ~= "number" or w < 0 or w ~= w or w == huge then
      error(fmt("fit: class_weight[%d] must be a finite number >= 0, got %s", k, tostring(w)), 3)
    end
  end
  local labels = y:reshape(-1)
  if labels:dtype() ~= "int64" then labels = labels:long() end
  local lo, hi = labels:min():item(), labels:max():item()
  if hi - lo > 1e7 then error("fit: class_weight: labels span too wide a range", 3) end
  local wv = {}
  for l = lo, hi do wv[#wv + 1] = cw[l] or 1.0 end
  local sw = ml.tensor(wv, { dtype = "float32" }):index_select(1, labels - (lo - 1))
  if sw:max():item() == 0 then error("fit: class_weight gives weight 0 to every row of y: nothing to train on", 3) end
  return sw, lo, hi
end

-- At the first batch: the class_weight keys must be classes the model has:
-- 1..C for [N, C] outputs (class indices), 0/1 for one output per row
-- (binary targets), else the labels y holds. Returns the error message, or nil.
local function check_class_keys(cw, out, ymin, ymax)
  local lo, hi, what
  if out:dim() == 2 and out:shape()[2] > 1 then
    lo, hi = 1, out:shape()[2]
    what = fmt("the model has %d outputs (classes 1..%d)", hi, hi)
  elseif out:dim() == 1 or (out:dim() == 2 and out:shape()[2] == 1) then
    lo, hi, what = 0, 1, "the model has one output per row (binary targets 0 and 1)"
  else
    lo, hi, what = ymin, ymax, fmt("y holds labels %d..%d", ymin, ymax)
  end
  local keys = sorted(cw)
  for _, k in ipairs(keys) do
    if k < lo or k > hi then
      if k == 0 and lo == 1 then
        return fmt("fit: class_weight has key 0, but class labels are 1-based (1..%d); shift the keys by 1", hi)
      end
      return fmt("fit: class_weight has key %d, an unknown class: %s", k, what)
    end
  end
end

-- Callbacks: class objects (from ml.callbacks) get self; plain tables' hooks are plain functions.
local function is_object(cb) return getmetatable(cb) ~= nil and cb.__is_callback == true end

local function bind(cb, name)
  local f = cb[name]
  if f == nil then return nil end
  if type(f) ~= "function" then error(fmt("fit: callback hook '%s' must be a function, got %s", name, type(f)), 0) end
  if is_object(cb) then return function(...) return f(cb, ...) end end
  return f
end

local function prepare_callbacks(list, verbose)
  local cbs = {}
  if list ~= nil and type(list) ~= "table" then error("fit: callbacks must be a table (a list of callbacks)", 3) end
  local has_bar = false
  for i, cb in ipairs(list or {}) do
    if type(cb) ~= "table" then error(fmt("fit: callback %d is a %s, expected a table", i, type(cb)), 3) end
    if not is_object(cb) then
      for k in pairs(cb) do
        if type(k) == "string" and k:sub(1, 3) == "on_" and not HOOK_SET[k] then
          error(fmt("fit: callback %d has an unknown hook '%s' (known: %s)", i, k, table.concat(HOOKS, ", ")), 3)
        end
      end
    end
    if cb.__name == "ProgressBar" then has_bar = true end
    cbs[#cbs + 1] = cb
  end
  if verbose ~= 0 and not has_bar then
    table.insert(cbs, 1, ml.callbacks.ProgressBar{ mode = verbose == 2 and "lines" or "auto" })
  end
  return cbs
end

local function writer(output)
  if output == nil or output == io.stdout then
    return function(s) io.stdout:write(s); io.stdout:flush() end, ml._train.isatty(1)
  elseif io.type(output) == "file" then
    return function(s) output:write(s); output:flush() end, false
  elseif type(output) == "function" then
    return output, false
  end
  error("fit: option 'output' must be a file or a function(text)", 3)
end

-- fit(X, y, opts) | fit({X, y}, opts) | fit(dataset, opts)
local function parse_args(X, y, opts)
  if is_tensor(X) then return X, y, opts, nil end
  if type(X) == "table" and is_tensor(X[1]) and is_tensor(X[2]) and X.get == nil then return X[1], X[2], y, nil end
  if type(X) == "table" and type(X.get) == "function" then return nil, nil, y, X end
  error("fit: expected fit(X, y, opts), fit({X, y}, opts) or fit(dataset, opts); got a " .. type(X), 3)
end

--- model:fit(X, y | dataset, [opts]) -> history: trains with the compiled optimizer and loss (see README, "Training with fit").
function Module:fit(X, y, opts)
  local dataset
  X, y, opts, dataset = parse_args(X, y, opts)
  opts = check_options("fit", opts, FIT_OPTIONS)
  local c = compiled(self, "fit")
  local model, opt, crit, metrics = self, c.optimizer, c.loss, c.metrics
  local nn = require "moonlab.nn"

  -- options
  local epochs = opts.epochs or 1
  if math.type(epochs) ~= "integer" or epochs < 0 then error("fit: epochs must be a non-negative integer", 2) end
  local bs = opts.batch_size or 32
  if math.type(bs) ~= "integer" or bs < 1 then error("fit: batch_size must be a positive integer", 2) end
  local shuffle = opts.shuffle ~= false
  local verbose = opts.verbose
  if verbose == nil or verbose == true or verbose == "auto" or verbose == 1 then verbose = 1
  elseif verbose == false or verbose == 0 then verbose = 0
  elseif verbose ~= 2 then error("fit: verbose must be 0 (silent), 1 or \"auto\" (bar on a terminal, else lines) or 2 (lines)", 2) end
  local write, tty = writer(opts.output)
  if opts.validation_split ~= nil and opts.validation_data ~= nil then
    error("fit: give validation_split or validation_data, not both", 2)
  end
  local mode = opts.validation_split_mode or "random"
  if mode ~= "random" and mode ~= "stratified" and mode ~= "last" then
    error("fit: validation_split_mode must be \"random\", \"stratified\" or \"last\", got " .. tostring(mode), 2)
  end
  if opts.validation_split_mode ~= nil and opts.validation_split == nil then
    error("fit: validation_split_mode needs validation_split", 2)
  end

  -- data
  local data = ml.data
  local N, train_idx, Xv, yv, val_desc
  local ymin, ymax
  if dataset then
    if opts.validation_split then error("fit: validation_split needs tensors X, y; give a dataset validation_data = {Xv, yv}", 2) end
    if opts.class_weight then error("fit: class_weight needs tensors X, y", 2) end
    N = #dataset
  else
    check_xy("fit", X, y, "")
    N = rows(X)
  end
  if opts.validation_split ~= nil then
    local f = opts.validation_split
    if type(f) ~= "number" or not (f > 0 and f < 1) then error("fit: validation_split must be a fraction in (0, 1)", 2) end
  end
  local vd = opts.validation_data
  if vd ~= nil then
    if type(vd) ~= "table" or not is_tensor(vd[1]) or not is_tensor(vd[2]) then
      error("fit: validation_data must be {Xv, yv} (two tensors)", 2)
    end
    check_xy("fit", vd[1], vd[2], "validation_data: ")
  end

  -- resume
  local initial_epoch = opts.initial_epoch or 0
  if math.type(initial_epoch) ~= "integer" or initial_epoch < 0 then error("fit: initial_epoch must be a non-negative integer", 2) end
  local saved_fit
  if opts.resume ~= nil then
    if type(opts.resume) ~= "string" then error("fit: resume must be the path of a checkpoint", 2) end
    local ok, ck = pcall(nn.load_checkpoint, opts.resume, { model = model, optimizer = opt })
    if not ok then error("fit: cannot resume: " .. tostring(ck), 2) end
    if opts.initial_epoch ~= nil and opts.initial_epoch ~= ck.epoch then
      error(fmt("fit: initial_epoch %d differs from the checkpoint's epoch %d", opts.initial_epoch, ck.epoch or -1), 2)
    end
    initial_epoch = ck.epoch or 0
    saved_fit = ck.fit
  end
  local seed = opts.seed
  if seed == nil then seed = saved_fit and saved_fit.seed or ml.initial_seed() end
  if math.type(seed) ~= "integer" then error("fit: seed must be an integer", 2) end

  local ntrain = N
  if opts.validation_split ~= nil then
    local f = opts.validation_split
    local idx, nval = split_rows(N, f, mode, seed, y)
    ntrain = N - nval
    if idx then
      train_idx = idx[1]
      Xv, yv = X:index_select(1, idx[2]), y:index_select(1, idx[2])
    else
      Xv, yv = X:narrow(1, ntrain + 1, nval), y:narrow(1, ntrain + 1, nval)
    end
    local pct = f * 100
    val_desc = fmt("%s %s%% split%s, %d samples", mode, pct == math.floor(pct) and fmt("%d", pct) or fmt("%g", pct),
      mode == "last" and " (the last rows)" or fmt(" (seed %d)", seed), nval)
  elseif vd ~= nil then
    Xv, yv = vd[1], vd[2]
    val_desc = fmt("validation_data, %d samples", rows(Xv))
  end
  local sample_w, cw_lo, cw_hi
  if opts.class_weight ~= nil then sample_w, cw_lo, cw_hi = class_weights(opts.class_weight, y, crit) end
  local label_check = not dataset and y:dtype() == "int64" and y:dim() == 1 and not (type(crit) == "table" and crit.ignore_index ~= nil)
  if label_check then
    ymin, ymax = y:min():item(), y:max():item()
    if Xv and yv:dtype() == "int64" and yv:dim() == 1 then
      ymin, ymax = math.min(ymin, yv:min():item()), math.max(ymax, yv:max():item())
    end
  end
  -- The batches: data.loader, seeded, told each epoch's number, so epoch e's
  -- order is the same whatever ran before it (and as the explicit loop's).
  local source = dataset
  if not dataset then
    local cols = { X, y, sample_w }
    if train_idx then source = data.Subset(data.TensorDataset(table.unpack(cols)), train_idx)
    elseif ntrain < N then
      source = {}
      for i, t in ipairs(cols) do source[i] = t:narrow(1, 1, ntrain) end
    else source = cols end
  end
  local lok, loader = pcall(data.loader, source, { batch_size = bs, shuffle = shuffle, seed = seed })
  if not lok then error("fit: " .. tostring(loader):gsub("^[^%s:]+:%d+: ", ""), 2) end
  local steps = #loader
  ntrain = loader.n or ntrain

  -- history, possibly carried over from the checkpoint
  local history = { epochs = 0, stopped_early = false, interrupted = false, seed = seed, validation = val_desc }
  local names = { "loss" }
  for _, m in ipairs(metrics) do names[#names + 1] = m.name end
  if Xv then
    local n0 = #names
    for i = 1, n0 do names[#names + 1] = "val_" .. names[i] end
  end
  names[#names + 1] = "lr"
  for _, k in ipairs(names) do history[k] = {} end
  if saved_fit and saved_fit.history then
    local h = saved_fit.history
    for k, v in pairs(h) do
      if type(v) == "table" then history[k] = v end
    end
    history.epochs = h.epochs or 0
  end

  local callbacks = prepare_callbacks(opts.callbacks, verbose)
  local ctx = {
    model = model, optimizer = opt, loss = crit, history = history, log_names = names, write = write, tty = tty,
    verbose = verbose, seed = seed, resumed = opts.resume ~= nil,
    params = { epochs = epochs, initial_epoch = initial_epoch, steps = steps, samples = ntrain, batch_size = bs },
  }
  function ctx.say(s) if verbose ~= 0 then write(s .. "\n") end end
  -- the state a checkpoint needs to resume this fit exactly
  function ctx.fit_state()
    local states = {}
    for _, cb in ipairs(callbacks) do
      if type(cb.state_dict) == "function" then
        local st = is_object(cb) and cb:state_dict() or cb.state_dict()
        if st ~= nil then states[#states + 1] = { class = cb.__name or "table", state = st } end
      end
    end
    return { seed = seed, rng = ml.random_state(), history = history, callbacks = states }
  end
  for _, cb in ipairs(callbacks) do
    if is_object(cb) and cb.set_context then cb:set_context(ctx) end
  end
  if saved_fit then
    if saved_fit.rng then ml.set_random_state(saved_fit.rng) end
    local seen = {}
    for _, s in ipairs(saved_fit.callbacks or {}) do
      seen[s.class] = (seen[s.class] or 0) + 1
      local k = 0
      for _, cb in ipairs(callbacks) do
        if (cb.__name or "table") == s.class and type(cb.load_state_dict) == "function" then
          k = k + 1
          if k == seen[s.class] then
            if is_object(cb) then cb:load_state_dict(s.state) else cb.load_state_dict(s.state) end
            break
          end
        end
      end
    end
  end

  local hooks = {}
  for _, h in ipairs(HOOKS) do
    local list = {}
    for _, cb in ipairs(callbacks) do
      local f = bind(cb, h)
      if f then list[#list + 1] = f end
    end
    hooks[h] = list
  end
  local batch_begin, batch_end = hooks.on_batch_begin, hooks.on_batch_end
  local nbb, nbe = #batch_begin, #batch_end

  -- Ctrl-C: a flag read once per batch; the handler goes when fit ends, error or not.
  local T = ml._train
  local reduction = type(crit) == "table" and crit.reduction
  T.sigint_begin()
  local guard <close> = setmetatable({}, { __close = function()
    T.sigint_end()
    if sample_w then crit.reduction = reduction end
  end })
  local was_training = rawget(model, "training") ~= false
  rawset(model, "stop_training", false)

  local stop_reason, message
  local function run_hooks(list, ...)
    for i = 1, #list do
      local r, msg = list[i](...)
      if r == "stop" and not stop_reason then stop_reason, message = "callback", msg end
    end
    if rawget(model, "stop_training") and not stop_reason then stop_reason = "callback" end
  end

  -- epochs is the number of the last epoch: a resumed fit (or initial_epoch)
  -- at or past it has nothing to do, which must not pass in silence
  local nothing_to_do
  if epochs <= initial_epoch and (opts.resume ~= nil or initial_epoch > 0) then
    nothing_to_do = opts.resume ~= nil
      and fmt("fit: the checkpoint is at epoch %d and epochs=%d: nothing to train (epochs is the number of the last epoch: give epochs > %d to go on)",
        initial_epoch, epochs, initial_epoch)
      or fmt("fit: initial_epoch is %d and epochs=%d: nothing to train (epochs is the number of the last epoch)", initial_epoch, epochs)
    message = nothing_to_do
  end

  if val_desc then ctx.say("validation: " .. val_desc) end
  run_hooks(hooks.on_train_begin, {})
  local last_logs = {}
  local checked = false
  local blogs = {}
  local sigint_pending = T.sigint_pending
  local now = ml.now

  local lr_group = type(opt.param_groups) == "table" and opt.param_groups[1] or nil
  local epoch = initial_epoch
  while not stop_reason and epoch < epochs do
    epoch = epoch + 1
    if sigint_pending() then stop_reason = "interrupted"; break end
    run_hooks(hooks.on_epoch_begin, epoch, {})
    if stop_reason then break end
    -- the history's lr: the rate of the epoch's first batch (a per-batch schedule changes it within the epoch)
    local lr_epoch = lr_group and lr_group.lr
    model:train()
    ctx.epoch, ctx.t0 = epoch, now()
    local loss_sum, seen = 0, 0
    local msum, mcount = {}, {}
    local nm = #metrics
    for i = 1, nm do msum[i], mcount[i] = 0, 0 end
    ctx.loss_sum, ctx.seen, ctx.msum, ctx.mcount = 0, 0, msum, mcount

    -- the epoch's batches
    loader:set_epoch(epoch)
    local b = 0
    local complete = true
    for xb, yb, swb in loader:iter() do
      local len = rows(xb)
      b = b + 1
      if nbb > 0 then
        run_hooks(batch_begin, b, blogs)
        if b == 1 and lr_group then lr_epoch = lr_group.lr end
      end

      opt:zero_grad()
      local out = model(xb)
      if not checked then
        checked = true
        if not is_tensor(out) then error("fit: the model's forward returned a " .. type(out) .. ", expected a tensor", 2) end
        if out:dim() == 0 or rows(out) ~= len then
          error(fmt("fit: the model gave output %s for a batch of %d rows", shape_str(out), len), 2)
        end
        if label_check and out:dim() == 2 and out:shape()[2] > 1 then
          local C = out:shape()[2]
          if ymin < 1 then
            error(fmt("fit: y has label %d, but class labels are 1-based (1..%d)%s", ymin, C,
              ymin == 0 and "; add 1 to 0-based labels" or ""), 2)
          end
          if ymax > C then
            error(fmt("fit: y has label %d, but the model has %d outputs (labels 1..%d)", ymax, C, C), 2)
          end
        end
        if sample_w then
          local msg = check_class_keys(opts.class_weight, out, cw_lo, cw_hi)
          if msg then error(msg, 2) end
        end
      end
      local loss
      if swb then
        crit.reduction = "none"
        local l = crit(out, yb)
        crit.reduction = reduction
        if l:numel() ~= len then
          error(fmt("fit: class_weight: the loss with reduction 'none' gave %s for %d rows", shape_str(l), len), 2)
        end
        loss = (l:reshape(-1) * swb):sum() / swb:sum()
      else
        loss = crit(out, yb)
      end
      if b == 1 and not is_tensor(loss) then
        error("fit: the loss returned a " .. type(loss) .. ", expected a 0-d tensor (to call backward on)", 2)
      end
      local lv = loss:item()
      if lv ~= lv or lv == huge or lv == -huge then
        stop_reason = "nan"
        if swb and swb:sum():item() == 0 then
          message = fmt("fit: every row of epoch %d, batch %d has class_weight 0, so its weighted mean loss is 0/0; "
            .. "give those classes a weight > 0 or leave their rows out of the data", epoch, b)
        else
          message = fmt("fit: loss became %s at epoch %d, batch %d; lower the learning rate or check the data",
            lv ~= lv and "nan" or (lv > 0 and "inf" or "-inf"), epoch, b)
        end
        complete = false
        break
      end
      loss:backward()
      opt:step()
      loss_sum, seen = loss_sum + lv * len, seen + len
      if nm > 0 then
        local od = out:detach()
        for i = 1, nm do
          local s, k = metrics[i].fn(od, yb, c.threshold)
          msum[i], mcount[i] = msum[i] + s, mcount[i] + k
        end
      end
      if nbe > 0 then
        ctx.loss_sum, ctx.seen = loss_sum, seen
        blogs.loss, blogs.batch_loss, blogs.size = loss_sum / seen, lv, len
        for i = 1, nm do blogs[metrics[i].name] = msum[i] / mcount[i] end
        run_hooks(batch_end, b, blogs)
        if stop_reason then complete = b == steps; break end
      end
      if sigint_pending() then stop_reason = "interrupted"; complete = false; break end
    end
    ctx.batches = b
    if not complete then
      if stop_reason == "interrupted" then
        message = fmt("fit: interrupted at epoch %d, batch %d%s; the history holds the %d complete epochs",
          epoch, b, steps and ("/" .. steps) or "", history.epochs)
      elseif stop_reason == "callback" and not message then
        message = fmt("fit: a callback stopped training at epoch %d, batch %d", epoch, b)
      end
      break
    end

    -- the epoch is complete: its logs, validation, history, callbacks
    if seen == 0 then error("fit: the epoch had no batches", 2) end
    local logs = { loss = loss_sum / seen }
    for i = 1, nm do logs[metrics[i].name] = msum[i] / mcount[i] end
    if Xv then
      local vok, vr = pcall(measure, model, c, Xv, yv, math.max(bs, 256), "val_")
      if not vok then reraise(vr, 2, "fit: validation: ") end
      for k, v in pairs(vr) do logs[k] = v end
    end
    if type(lr_epoch) == "number" then logs.lr = lr_epoch end
    ctx.seconds = now() - ctx.t0
    for _, k in ipairs(names) do
      local h = history[k]
      h[#h + 1] = logs[k]
    end
    history.epochs = history.epochs + 1
    last_logs = logs
    run_hooks(hooks.on_epoch_end, epoch, logs)
    run_hooks(hooks.after_epoch, epoch, logs)
    if not stop_reason and sigint_pending() then
      stop_reason = "interrupted"
      message = fmt("fit: interrupted after epoch %d; the history holds the %d complete epochs", epoch, history.epochs)
    end
  end

  if stop_reason == "callback" or stop_reason == "nan" then history.stopped_early = true end
  if stop_reason == "interrupted" then history.interrupted = true end
  history.stop_reason, history.message = stop_reason, message
  ctx.stop_reason = stop_reason
  if message then
    if verbose ~= 0 then write((ctx.bar_open and "\n" or "") .. message .. "\n"); ctx.bar_open = false
    elseif stop_reason == "nan" or message == nothing_to_do then io.stderr:write(message .. "\n") end
  end
  run_hooks(hooks.on_train_end, last_logs)
  model:train(was_training)
  rawset(model, "stop_training", nil)
  return history
end

if ml.doc then
  ml.doc(Module.compile, "model:compile{optimizer, loss, [metrics]} -> model — sets the optimizer, loss and metrics (\"accuracy\", \"mae\", \"mse\", name = fn) that fit and evaluate use")
  ml.doc(Module.fit, "model:fit(X, y | dataset, [opts]) -> history — trains: epochs, batch_size, shuffle, validation_split/_data, class_weight, callbacks, resume, seed, verbose")
  ml.doc(Module.evaluate, "model:evaluate(X, y, [{batch_size=256}]) -> {loss=, <metric>=} — loss and metrics in eval mode without a graph; prints as \"loss 0.31 - accuracy 0.89\"")
  ml.doc(Module.predict, "model:predict(X, [{batch_size=256}]) -> tensor — the outputs for every row, batched, in eval mode, without a graph")
end

return M
