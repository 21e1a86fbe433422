--- train.loop: model:fit, the epochs and their batches.
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
-- Metrics and batch hooks cost nothing when there are none. When the model,
-- loss and optimizer qualify (train/fused.lua), a batch is instead one C call
-- that pulls it from the loader and trains on it, with the same numbers;
-- history.fused_steps counts those batches (fit{fused = false} or
-- MOONLAB_FUSED=0: none).
--
-- history.stop_reason says how fit ended: "completed", "early_stopping"
-- (EarlyStopping), "callback" (another callback), "nan" (the loss became NaN
-- or infinite) or "interrupted" (Ctrl-C). With on_interrupt = "raise", "nan"
-- and "interrupted" raise an error at the caller's line instead of returning
-- (after the callbacks' on_train_end, so EarlyStopping's best weights are back).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local compile = require "moonlab.train.compile"
local inputs = require "moonlab.train.inputs"
local class_weight = require "moonlab.train.class_weight"
local evaluate = require "moonlab.train.evaluate"
local hooks = require "moonlab.train.hooks"
local resume = require "moonlab.train.resume"
local fused = require "moonlab.train.fused"

local fmt = string.format
local huge = math.huge
local is_tensor = ml.is_tensor
local train_step = ml._train.step
local rows = inputs.rows
local M = {}

M.OPTIONS = {
  "epochs", "batch_size", "shuffle", "validation_split", "validation_data", "validation_split_mode",
  "class_weight", "verbose", "callbacks", "initial_epoch", "resume", "seed", "output", "on_interrupt", "fused",
  "track", -- a run record (callbacks/track.lua): nil = the active run, false = none, true, or a run
}

local function writer(output)
  if output == nil or output == io.stdout then
    return function(s) io.stdout:write(s); io.stdout:flush() end, ml._train.isatty(1)
  elseif io.type(output) == "file" then
    return function(s) output:write(s); output:flush() end, false
  elseif type(output) == "function" then
    return output, false
  end
  checks.fail("fit: option 'output' must be a file or a function(text)")
end

local function verbosity(v)
  if v == nil or v == true or v == "auto" or v == 1 then return 1 end
  if v == false or v == 0 then return 0 end
  if v == 2 then return 2 end
  checks.fail("fit: verbose must be 0 (silent), 1 or \"auto\" (bar on a terminal, else lines) or 2 (lines)")
end

-- The options that need no data: {epochs, bs, shuffle, verbose, write, tty, mode, on_interrupt, initial_epoch}.
local function settings(opts)
  local s = {}
  s.epochs = opts.epochs or 1
  if math.type(s.epochs) ~= "integer" or s.epochs < 0 then checks.fail("fit: epochs must be a non-negative integer") end
  s.bs = opts.batch_size or 32
  if math.type(s.bs) ~= "integer" or s.bs < 1 then checks.fail("fit: batch_size must be a positive integer") end
  s.shuffle = opts.shuffle ~= false
  s.verbose = verbosity(opts.verbose)
  s.write, s.tty = writer(opts.output)
  s.on_interrupt = checks.one_of("fit", "on_interrupt", opts.on_interrupt, { "return", "raise" }, "return")
  if opts.validation_split ~= nil and opts.validation_data ~= nil then
    checks.fail("fit: give validation_split or validation_data, not both")
  end
  s.mode = checks.one_of("fit", "validation_split_mode", opts.validation_split_mode, { "random", "stratified", "last" }, "random")
  if opts.validation_split_mode ~= nil and opts.validation_split == nil then
    checks.fail("fit: validation_split_mode needs validation_split")
  end
  local f = opts.validation_split
  if f ~= nil and (type(f) ~= "number" or not (f > 0 and f < 1)) then checks.fail("fit: validation_split must be a fraction in (0, 1)") end
  s.initial_epoch = opts.initial_epoch or 0
  if math.type(s.initial_epoch) ~= "integer" or s.initial_epoch < 0 then checks.fail("fit: initial_epoch must be a non-negative integer") end
  return s
end

-- The training data, the validation set and the per-row weights: a table
-- {X, y, dataset, N, ntrain, train_idx, val, weights, cw_lo, cw_hi, ymin, ymax}.
local function prepare_data(X, y, ds, opts, s, seed, crit)
  local d = { X = X, y = y, dataset = ds }
  if ds then
    if opts.validation_split then checks.fail("fit: validation_split needs tensors X, y; give the dataset's validation set as validation_data") end
    if opts.class_weight then checks.fail("fit: class_weight needs tensors X, y") end
    d.N = inputs.dataset_len("fit", ds)
  else
    inputs.check_xy("fit", X, y, "")
    d.N = rows(X)
  end
  d.ntrain = d.N
  if opts.validation_split ~= nil then
    d.val, d.train_idx, d.ntrain = inputs.split(X, y, opts.validation_split, s.mode, seed)
  elseif opts.validation_data ~= nil then
    d.val = inputs.validation_data(opts.validation_data)
  end
  if opts.class_weight ~= nil then d.weights, d.cw_lo, d.cw_hi = class_weight.weights(opts.class_weight, y, crit) end
  if not ds then d.ymin, d.ymax = inputs.label_range(y, d.val, crit) end
  return d
end

-- The log names: loss, the metrics, their val_ twins with validation, lr.
local function log_names(metrics, with_val)
  local names = { "loss" }
  for _, m in ipairs(metrics) do names[#names + 1] = m.name end
  if with_val then
    local n0 = #names
    for i = 1, n0 do names[#names + 1] = "val_" .. names[i] end
  end
  names[#names + 1] = "lr"
  return names
end

-- Inside a search trial (ml.search), each epoch's value of the search's
-- metric goes to the trial, and a trial the pruner stops ends fit here
-- (history.stop_reason = "pruned"; search.run records the trial as pruned).
local function report_to_trial(F, epoch, logs)
  if not package.loaded["moonlab.search.trial"] then return end
  local trial = package.loaded["moonlab.search.trial"].current()
  if not trial then return end
  local key = trial.monitor or (trial._study and trial._study.metric)
  local v = key and logs[key]
  if type(v) ~= "number" then return end
  trial:report(epoch, v)
  if trial:should_prune() then
    trial.pruned_in_fit = true
    F.stop_reason = "pruned"
    F.message = fmt("fit: the search pruned this trial after epoch %d (%s = %.6g)", epoch, key, v)
  end
end

-- The history, carried over from a checkpoint's (already checked) when resuming.
local function new_history(seed, val_desc, names, saved)
  local history = { epochs = 0, stopped_early = false, interrupted = false, seed = seed, validation = val_desc }
  for _, k in ipairs(names) do history[k] = {} end
  if saved then
    for k, v in pairs(saved) do
      if type(v) == "table" then history[k] = v end
    end
    history.epochs = saved.epochs or 0
  end
  return history
end

local function run_hooks(F, list, ...)
  for i = 1, #list do
    local r, msg = list[i][1](...)
    if r == "stop" and not F.stop_reason then F.stop_reason, F.message = list[i][2], msg end
  end
  if rawget(F.model, "stop_training") and not F.stop_reason then F.stop_reason = "callback" end
end

-- At the first batch: what the model gives fits the data.
local function first_batch_checks(F, out, len)
  if not is_tensor(out) then checks.fail("fit: the model's forward returned a " .. type(out) .. ", expected a tensor") end
  if out:dim() == 0 or rows(out) ~= len then
    checks.fail(fmt("fit: the model gave output %s for a batch of %d rows", format.shape(out), len))
  end
  inputs.check_labels(out, F.data.ymin, F.data.ymax)
  if F.data.weights then
    local msg = class_weight.check_keys(F.opts.class_weight, out, F.data.cw_lo, F.data.cw_hi)
    if msg then checks.fail(msg) end
  end
end

local function nan_message(F, lv, swb, epoch, b)
  if swb and swb:sum():item() == 0 then
    return fmt("fit: every row of epoch %d, batch %d has class_weight 0, so its weighted mean loss is 0/0; "
      .. "give those classes a weight > 0 or leave their rows out of the data", epoch, b)
  end
  return fmt("fit: loss became %s at epoch %d, batch %d; lower the learning rate or check the data",
    lv ~= lv and "nan" or (lv > 0 and "inf" or "-inf"), epoch, b)
end

-- A batch fit can train on: tensors X and y (a dataset's get(i) may return anything the loader can batch).
local function describe(v)
  if type(v) == "table" and not is_tensor(v) then
    local first = v[1]
    return "a list of " .. (is_tensor(first) and "tensors" or type(first) .. "s")
  end
  return "a " .. type(v)
end

local function check_batch(F, xb, yb)
  local from = F.data.dataset and " (from dataset:get(i); it must return the sample's x and y as tensors or numbers)" or ""
  if not is_tensor(xb) and not inputs.is_sparse(xb) then
    checks.fail("fit: the batch's input is " .. describe(xb) .. ", expected a tensor" .. from)
  end
  if not is_tensor(yb) then checks.fail("fit: the batch's target is " .. describe(yb) .. ", expected a tensor" .. from) end
end

-- One batch: forward, loss, NaN check, backward, step. Returns the loss value, or nil when it was not finite.
-- With a fused plan (train/fused.lua) all of it is one C call, unless the plan declines the batch.
local function train_batch(F, E, xb, yb, swb)
  local plan = F.plan
  if plan and F.checked then
    local lv, len = train_step(plan, xb, yb)
    if lv then
      if lv ~= lv or lv == huge or lv == -huge then
        F.stop_reason, F.message = "nan", nan_message(F, lv, swb, E.epoch, E.b)
        return nil
      end
      E.loss_sum, E.seen, E.fused = E.loss_sum + lv * len, E.seen + len, E.fused + 1
      return lv
    end
  end
  if not F.checked then check_batch(F, xb, yb) end
  local len = xb:size(1) -- a batch has a first dimension (the loader stacks samples)
  local opt, crit = F.opt, F.crit
  opt:zero_grad()
  local out = F.model(xb)
  if not F.checked then F.checked = true; first_batch_checks(F, out, len) end
  local loss = swb and class_weight.weighted_loss(crit, out, yb, swb) or crit(out, yb)
  if E.b == 1 and not is_tensor(loss) then
    checks.fail("fit: the loss returned a " .. type(loss) .. ", expected a 0-d tensor (to call backward on)")
  end
  local lv = loss:item()
  if lv ~= lv or lv == huge or lv == -huge then
    F.stop_reason, F.message = "nan", nan_message(F, lv, swb, E.epoch, E.b)
    return nil
  end
  loss:backward()
  opt:step()
  E.loss_sum, E.seen = E.loss_sum + lv * len, E.seen + len
  local metrics = F.metrics
  if #metrics > 0 then
    local od = out:detach()
    for i = 1, #metrics do
      local fn = metrics[i].fn
      if fn then
        local s, k = fn(od, yb, F.c.threshold)
        E.msum[i], E.mcount[i] = E.msum[i] + s, E.mcount[i] + k
      end
    end
    -- the epoch-level metrics (F1, AUC ...) see the whole epoch's outputs at its end
    if E.outs then E.outs[#E.outs + 1], E.ys[#E.ys + 1] = od, yb:clone() end
  end
  return lv
end

local function batch_logs(F, E, lv, len)
  local blogs = F.blogs
  F.ctx.loss_sum, F.ctx.seen = E.loss_sum, E.seen
  blogs.loss, blogs.batch_loss, blogs.size = E.loss_sum / E.seen, lv, len
  for i = 1, #F.metrics do
    if F.metrics[i].fn then blogs[F.metrics[i].name] = E.msum[i] / E.mcount[i] end
  end
  return blogs
end

-- The epoch's batches under a fused plan, pulled from the loader's C side by
-- the step itself (ml._train.next), so no batch reaches Lua unless the plan
-- declines it (or it is fit's first, which the general path checks).
local function run_pulled_batches(F, E, c)
  local sigint_pending, pull, plan, loader = ml._train.sigint_pending, ml._train.next, F.plan, F.loader
  loader:start()
  while true do
    local lv, a, b = pull(plan, c, not F.checked)
    if lv == false then return true end
    E.b = E.b + 1
    if lv == nil then
      lv = train_batch(F, E, a, b, nil)
      if not lv then loader:stop(); return false end
    elseif lv ~= lv or lv == huge or lv == -huge then
      F.stop_reason, F.message = "nan", nan_message(F, lv, nil, E.epoch, E.b)
      loader:stop()
      return false
    else
      E.loss_sum, E.seen, E.fused = E.loss_sum + lv * a, E.seen + a, E.fused + 1
    end
    if sigint_pending() then F.stop_reason = "interrupted"; loader:stop(); return false end
  end
end

-- The epoch's batches. Returns whether the epoch ran to its end.
local function run_batches(F, E)
  local H = F.hooks
  local nbb, nbe = #H.on_batch_begin, #H.on_batch_end
  local sigint_pending = ml._train.sigint_pending
  F.loader:set_epoch(E.epoch)
  -- made each epoch, so a callback that swapped a layer or a tensor between epochs is seen
  F.plan = F.fused and fused.plan(F.model, F.crit, F.opt, F.data.X, F.s.bs) or nil
  local c = F.plan and rawget(F.loader, "_c")
  if c then return run_pulled_batches(F, E, c) end
  for xb, yb, swb in F.loader:iter() do
    E.b = E.b + 1
    if nbb > 0 then
      run_hooks(F, H.on_batch_begin, E.b, F.blogs)
      if E.b == 1 and F.lr_group then E.lr = F.lr_group.lr end
    end
    local lv = train_batch(F, E, xb, yb, swb)
    if not lv then return false end
    if nbe > 0 then
      run_hooks(F, H.on_batch_end, E.b, batch_logs(F, E, lv, rows(xb)))
      if F.stop_reason then return E.b == F.steps end
    end
    if sigint_pending() then F.stop_reason = "interrupted"; return false end
  end
  return true
end

-- The complete epoch's logs: training means, validation, lr.
local function epoch_logs(F, E)
  if E.seen == 0 then checks.fail("fit: the epoch had no batches") end
  local logs = { loss = E.loss_sum / E.seen }
  for i = 1, #F.metrics do
    if F.metrics[i].fn then logs[F.metrics[i].name] = E.msum[i] / E.mcount[i] end
  end
  if E.outs then evaluate.epoch_metrics(F.metrics, F.c.threshold, E.outs, E.ys, logs, "") end
  local val = F.data.val
  if val then
    local ok, vr = pcall(evaluate.measure, F.model, F.c, val, math.max(F.s.bs, 256), "val_")
    if not ok then evaluate.pass_on(vr, "fit: validation: ") end
    for k, v in pairs(vr) do logs[k] = v end
  end
  if type(E.lr) == "number" then logs.lr = E.lr end
  return logs
end

-- One epoch. Returns false when training is to stop.
local function run_epoch(F, epoch)
  local ctx, history = F.ctx, F.history
  run_hooks(F, F.hooks.on_epoch_begin, epoch, {})
  if F.stop_reason then return false end
  -- the history's lr: the rate of the epoch's first batch (a per-batch schedule changes it within the epoch)
  local E = { epoch = epoch, b = 0, loss_sum = 0, seen = 0, msum = {}, mcount = {}, lr = F.lr_group and F.lr_group.lr,
    fused = 0 }
  for i = 1, #F.metrics do E.msum[i], E.mcount[i] = 0, 0 end
  if #F.c.epoch_metrics > 0 then E.outs, E.ys = {}, {} end
  F.model:train()
  ctx.epoch, ctx.t0 = epoch, ml.now()
  ctx.loss_sum, ctx.seen, ctx.msum, ctx.mcount = 0, 0, E.msum, E.mcount
  local complete = run_batches(F, E)
  F.plan = nil
  ctx.batches = E.b
  history.fused_steps = history.fused_steps + E.fused
  if not complete then
    if F.stop_reason == "interrupted" then
      F.message = fmt("fit: interrupted at epoch %d, batch %d%s; the history holds the %d complete epochs",
        epoch, E.b, F.steps and ("/" .. F.steps) or "", history.epochs)
    elseif not F.message then
      F.message = fmt("fit: a callback stopped training at epoch %d, batch %d", epoch, E.b)
    end
    return false
  end
  local logs = epoch_logs(F, E)
  ctx.seconds = ml.now() - ctx.t0
  for _, k in ipairs(F.names) do
    local h = history[k]
    h[#h + 1] = logs[k]
  end
  history.epochs = history.epochs + 1
  F.last_logs = logs
  run_hooks(F, F.hooks.on_epoch_end, epoch, logs)
  run_hooks(F, F.hooks.after_epoch, epoch, logs)
  report_to_trial(F, epoch, logs)
  if not F.stop_reason and ml._train.sigint_pending() then
    F.stop_reason = "interrupted"
    F.message = fmt("fit: interrupted after epoch %d; the history holds the %d complete epochs", epoch, history.epochs)
  end
  return not F.stop_reason
end

local function nothing_to_do(F)
  local s, e0 = F.s, F.initial_epoch
  if not (s.epochs <= e0 and (F.resumed or e0 > 0)) then return nil end
  if F.resumed then
    return fmt("fit: the checkpoint is at epoch %d and epochs=%d: nothing to train (epochs is the number of the last epoch: give epochs > %d to go on)",
      e0, s.epochs, e0)
  end
  return fmt("fit: initial_epoch is %d and epochs=%d: nothing to train (epochs is the number of the last epoch)", e0, s.epochs)
end

-- The context callbacks see (self.ctx), with the checkpoint state ModelCheckpoint writes.
local function make_ctx(F)
  local s = F.s
  local ctx = {
    model = F.model, optimizer = F.opt, loss = F.crit, history = F.history, log_names = F.names, write = s.write, tty = s.tty,
    verbose = s.verbose, seed = F.seed, resumed = F.resumed,
    params = { epochs = s.epochs, initial_epoch = F.initial_epoch, steps = F.steps, samples = F.ntrain, batch_size = s.bs },
  }
  function ctx.say(text) if s.verbose ~= 0 then s.write(text .. "\n") end end
  function ctx.fit_state()
    return { seed = F.seed, rng = ml.random_state(), history = F.history, callbacks = hooks.state(F.callbacks) }
  end
  return ctx
end

-- Everything before the first epoch: data, checkpoint, history, callbacks.
local function setup(F, X, y, ds, opts)
  local s = F.s
  local ck
  F.initial_epoch = s.initial_epoch
  if opts.resume ~= nil then
    ck = resume.read(opts.resume, F.model, F.opt, opts.initial_epoch)
    F.initial_epoch, F.resumed = ck.epoch or 0, true
  end
  local saved = ck and ck.fit
  F.seed = opts.seed
  if F.seed == nil then F.seed = saved and saved.seed or ml.initial_seed() end
  if math.type(F.seed) ~= "integer" then checks.fail("fit: seed must be an integer") end
  F.data = prepare_data(X, y, ds, opts, s, F.seed, F.crit)
  local d = F.data
  F.loader = inputs.train_loader(d, s.bs, s.shuffle, F.seed)
  F.steps = #F.loader
  F.ntrain = F.loader.n or d.ntrain
  F.names = log_names(F.metrics, d.val ~= nil)
  F.history = new_history(F.seed, d.val and d.val.desc, F.names, saved and saved.history)
  F.callbacks = ml.callbacks.Track.attach(hooks.prepare(opts.callbacks, s.verbose), opts.track)
  F.ctx = make_ctx(F)
  for _, cb in ipairs(F.callbacks) do
    if hooks.is_object(cb) and cb.set_context then cb:set_context(F.ctx) end
  end
  hooks.check_logs(F.callbacks, hooks.log_names(F.callbacks, F.names))
  local matches = ck and resume.match(ck, F.callbacks)
  F.hooks = hooks.lists(F.callbacks)
  if ck then resume.apply(ck, F.model, F.opt, matches) end
  F.lr_group = type(F.opt.param_groups) == "table" and F.opt.param_groups[1] or nil
  local H = F.hooks
  F.fused = fused.enabled(opts.fused) and #F.metrics == 0 and not d.weights and not ds and
    #H.on_batch_begin == 0 and #H.on_batch_end == 0
  F.history.fused_steps = 0
end

local STOPPED = { nan = true, interrupted = true }

-- The end: the history's stop fields, the log's last word, on_train_end.
local function finish(F)
  local history, s = F.history, F.s
  local reason = F.stop_reason or "completed"
  if reason == "callback" or reason == "early_stopping" or reason == "nan" then history.stopped_early = true end
  if reason == "interrupted" then history.interrupted = true end
  if STOPPED[reason] and F.message then
    F.message = F.message .. fmt("; fit stopped (history.stop_reason = \"%s\"): the model is not fully trained", reason)
  end
  history.stop_reason, history.message = reason, F.message
  F.ctx.stop_reason = reason
  local msg = F.message
  if msg then
    if s.verbose ~= 0 then s.write((F.ctx.bar_open and "\n" or "") .. msg .. "\n"); F.ctx.bar_open = false
    elseif (reason == "nan" and s.on_interrupt ~= "raise") or msg == F.idle then io.stderr:write(msg .. "\n") end
  end
  run_hooks(F, F.hooks.on_train_end, F.last_logs)
end

-- The epochs, between setup and finish.
local function train(F, X, y, ds, opts)
  setup(F, X, y, ds, opts)
  F.idle = nothing_to_do(F)
  F.message = F.idle
  if F.data.val then F.ctx.say("validation: " .. F.data.val.desc) end
  if #F.c.epoch_metrics > 0 then
    F.ctx.say(table.concat(F.c.epoch_metrics, ", ") .. ": computed over each epoch's whole predictions (not batch means)")
  end
  run_hooks(F, F.hooks.on_train_begin, {})
  local epoch = F.initial_epoch
  while not F.stop_reason and epoch < F.s.epochs do
    epoch = epoch + 1
    if ml._train.sigint_pending() then F.stop_reason = "interrupted"; break end
    if not run_epoch(F, epoch) then break end
  end
  finish(F)
end

--- loop.fit(model, ...) -> history: what model:fit(X, y, [opts]) | model:fit(data, [opts]) does
function M.fit(model, a, b, c)
  local X, y, opts, ds = inputs.parse("fit", a, b, c, M.OPTIONS)
  opts = checks.options("fit", opts, M.OPTIONS, true)
  local cm = compile.compiled(model, "fit")
  local F = { model = model, c = cm, opt = cm.optimizer, crit = cm.loss, metrics = cm.metrics, opts = opts,
    s = settings(opts), blogs = {}, last_logs = {}, checked = false }
  local T = ml._train
  local was_training = rawget(model, "training") ~= false
  rawset(model, "stop_training", false)
  T.sigint_begin()
  local ok, err = pcall(train, F, X, y, ds, opts)
  T.sigint_end()
  rawset(model, "stop_training", nil)
  model:train(was_training)
  if not ok then evaluate.pass_on(err, "fit: ") end
  if F.s.on_interrupt == "raise" and STOPPED[F.history.stop_reason] then
    checks.fail(F.history.message .. " (on_interrupt = \"raise\")")
  end
  return F.history
end

ml.doc(M.fit, "loop.fit(model, X, y | data, [opts]) -> history — what model:fit does: the epochs, their batches, validation, callbacks; history.stop_reason tells how it ended")

return M
