--- train.resume: fit{resume = path}. The whole checkpoint is read and
-- checked before anything changes: the weights against the model, the
-- optimizer state's presence and class, every field of fit's state (seed,
-- generator state, history, the callbacks' states against the given
-- callbacks). Only then is it applied, the optimizer first (it checks
-- everything before it changes anything), and a failure there puts back
-- what was loaded. Every failure is "fit: cannot resume: '<path>': ...".
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local hooks = require "moonlab.train.hooks"

local fmt = string.format
local show = checks.show
local M = {}

local function strip(msg)
  msg = tostring(msg)
  return (msg:gsub("^[^\n:]*:%d+: ", ""))
end

local function fail(path, msg) checks.fail(fmt("fit: cannot resume: '%s': %s", path, msg)) end

local function check_weights(path, model, st)
  local want = model:state_dict()
  for name, t in pairs(want) do
    local s = st[name]
    if s == nil then fail(path, fmt("the weights do not fit the model: the checkpoint lacks weight '%s'", name)) end
    if s:dtype() ~= t:dtype() or format.shape(s) ~= format.shape(t) then
      fail(path, fmt("the weights do not fit the model: weight '%s' is %s %s in the checkpoint, %s %s in the model", name, s:dtype(), format.shape(s), t:dtype(), format.shape(t)))
    end
  end
  for name in pairs(st) do
    if want[name] == nil then fail(path, fmt("the weights do not fit the model: the checkpoint has weight '%s', which the model lacks", name)) end
  end
end

local function check_rng(path, rng)
  if rng == nil then return end
  if type(rng) ~= "string" then fail(path, "fit state 'rng' is " .. show(rng) .. ", expected the generator's state string") end
  local keep = ml.random_state()
  local ok, err = pcall(ml.set_random_state, rng)
  ml.set_random_state(keep)
  if not ok then fail(path, "fit state 'rng': " .. strip(err)) end
end

local HISTORY_SCALARS = { epochs = "integer", stopped_early = "boolean", interrupted = "boolean", seed = "integer",
  validation = "string", stop_reason = "string", message = "string", fused_steps = "integer" }

local function check_list(path, k, v, epochs)
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n ~= #v then fail(path, fmt("history '%s' is not a list", k)) end
  if #v > epochs then fail(path, fmt("history '%s' has %d values for %d epochs", k, #v, epochs)) end
  for i, x in ipairs(v) do
    if type(x) ~= "number" then fail(path, fmt("history '%s'[%d] is %s, expected a number", k, i, show(x))) end
  end
end

local function check_history(path, h, epoch)
  if h == nil then return end
  if type(h) ~= "table" then fail(path, "fit state 'history' is " .. show(h) .. ", expected a table") end
  local e = h.epochs
  if math.type(e) ~= "integer" or e < 0 or (epoch and e > epoch) then
    fail(path, fmt("history 'epochs' is %s, expected an integer in 0..%s", show(e), epoch and tostring(epoch) or "n"))
  end
  -- every epoch logs the loss, and each log has one value per epoch (or none: a log that was never written)
  if e > 0 and (type(h.loss) ~= "table" or #h.loss ~= e) then
    fail(path, fmt("history 'loss' has %s values for %d epochs", type(h.loss) == "table" and tostring(#h.loss) or "no", e))
  end
  for k, v in pairs(h) do
    if type(k) == "string" and not HISTORY_SCALARS[k] and type(v) == "table" and #v ~= 0 and #v ~= e then
      fail(path, fmt("history '%s' has %d values for %d epochs", k, #v, e))
    end
  end
  for k, v in pairs(h) do
    if type(k) ~= "string" then fail(path, "history has a key " .. show(k) .. ", expected log names") end
    local kind = HISTORY_SCALARS[k]
    if kind == "integer" then
      if math.type(v) ~= "integer" then fail(path, fmt("history '%s' is %s, expected an integer", k, show(v))) end
    elseif kind then
      if type(v) ~= kind then fail(path, fmt("history '%s' is %s, expected a %s", k, show(v), kind)) end
    elseif type(v) ~= "table" then
      fail(path, fmt("history '%s' is %s, expected a list of numbers", k, show(v)))
    else
      check_list(path, k, v, e)
    end
  end
end

-- The callbacks' states and the optimizer's parameter shapes as written in the file's metadata
-- (nn.load_checkpoint reads them as it finds them): each must have the right kind.
local function check_written(path, meta)
  if type(meta) ~= "table" then return end
  local function doc(key)
    local raw = meta[key]
    if type(raw) ~= "string" then return nil end
    local ok, d = pcall(ml.json.decode, raw)
    return ok and d or nil
  end
  local f = doc("moonlab.fit")
  if type(f) == "table" and f.callbacks ~= nil then
    local cbs = f.callbacks
    if type(cbs) ~= "table" then fail(path, "fit state 'callbacks' is " .. show(cbs) .. ", expected a list") end
    local n = 0
    for _ in pairs(cbs) do n = n + 1 end
    if n ~= #cbs then fail(path, "fit state 'callbacks' is not a list") end
    for i, c in ipairs(cbs) do
      if type(c) ~= "table" then fail(path, fmt("fit state: callback state %d is %s, expected {class, meta}", i, show(c))) end
      if type(c.class) ~= "string" then fail(path, fmt("fit state: callback state %d has class %s, expected a class name", i, show(c.class))) end
      if c.class ~= "table" and require("moonlab.core.class").get(c.class) == nil then
        fail(path, fmt("fit state: callback state %d is of class '%s', which is not defined", i, c.class))
      end
      if c.meta ~= nil and type(c.meta) ~= "table" then
        fail(path, fmt("fit state: callback state %d ('%s') has meta %s, expected a table", i, c.class, show(c.meta)))
      end
    end
  end
  local o = doc("moonlab.optimizer")
  if o ~= nil then
    if type(o) ~= "table" then fail(path, "the optimizer state is " .. show(o) .. ", expected a table") end
    if o.class ~= nil and type(o.class) ~= "string" then fail(path, "the optimizer class is " .. show(o.class) .. ", expected a name") end
    if type(o.meta) ~= "table" then fail(path, "the optimizer state's meta is " .. show(o.meta) .. ", expected a table") end
    local m = o.meta
    if m.shapes ~= nil then
      if type(m.shapes) ~= "table" then fail(path, "the optimizer's shapes are " .. show(m.shapes) .. ", expected a list of shapes") end
      for k, s in pairs(m.shapes) do
        local good = math.type(k) == "integer" and type(s) == "table"
        if good then
          for j, d in pairs(s) do
            if math.type(j) ~= "integer" or math.type(d) ~= "integer" or d < 0 then good = false end
          end
        end
        if not good then fail(path, fmt("the optimizer's shape %s is %s, expected a list of sizes", show(k), show(s))) end
      end
    end
    if m.dtypes ~= nil then
      if type(m.dtypes) ~= "table" then fail(path, "the optimizer's dtypes are " .. show(m.dtypes) .. ", expected a list of dtype names") end
      for k, d in pairs(m.dtypes) do
        if math.type(k) ~= "integer" or type(d) ~= "string" then
          fail(path, fmt("the optimizer's dtype %s is %s, expected a dtype name", show(k), show(d)))
        end
      end
    end
  end
end

local function check_fit(path, f, epoch)
  if f == nil then return end
  if type(f) ~= "table" then fail(path, "fit state is " .. show(f) .. ", expected a table") end
  if f.seed ~= nil and math.type(f.seed) ~= "integer" then fail(path, "fit state 'seed' is " .. show(f.seed) .. ", expected an integer") end
  check_rng(path, f.rng)
  check_history(path, f.history, epoch)
  if f.callbacks ~= nil and type(f.callbacks) ~= "table" then fail(path, "fit state 'callbacks' is " .. show(f.callbacks) .. ", expected a list") end
  for i, s in ipairs(f.callbacks or {}) do
    if type(s) ~= "table" or type(s.class) ~= "string" or type(s.state) ~= "table" then
      fail(path, fmt("fit state: callback state %d is damaged (expected {class, state})", i))
    end
  end
end

--- resume.read(path, model, optimizer, [initial_epoch]) -> ck: reads and checks the checkpoint; changes nothing
function M.read(path, model, opt, initial_epoch)
  if type(path) ~= "string" then checks.fail("fit: resume must be the path of a checkpoint, got " .. show(path)) end
  local nn = require "moonlab.nn"
  local ok, ck = pcall(nn.load_checkpoint, path)
  if not ok then
    -- say which field is damaged, when it is one nn.load_checkpoint read as it found it
    local okm, _, meta = pcall(ml.load, path)
    if okm then check_written(path, meta) end
    checks.fail("fit: cannot resume: " .. strip(ck))
  end
  check_written(path, ck.metadata)
  if ck.epoch ~= nil and (math.type(ck.epoch) ~= "integer" or ck.epoch < 0) then
    fail(path, "the epoch is " .. show(ck.epoch) .. ", expected an integer >= 0")
  end
  if initial_epoch ~= nil and initial_epoch ~= ck.epoch then
    checks.fail(fmt("fit: initial_epoch %d differs from the checkpoint's epoch %d", initial_epoch, ck.epoch or -1))
  end
  check_weights(path, model, ck.model_state or {})
  if type(ck.optimizer_state) ~= "table" then fail(path, "it holds no optimizer state") end
  local have = getmetatable(opt) and getmetatable(opt).__name
  if type(ck.optimizer_class) == "string" and have and ck.optimizer_class ~= have then
    fail(path, fmt("it holds %s state, but the optimizer is a %s", ck.optimizer_class, have))
  end
  check_fit(path, ck.fit, ck.epoch)
  -- what nn.load_checkpoint read leniently: the list of callback states as written
  local raw = ck.metadata and ck.metadata["moonlab.fit"]
  local okj, doc = pcall(ml.json.decode, raw or "null")
  if raw and okj and type(doc) == "table" and doc.callbacks ~= nil and type(doc.callbacks) ~= "table" then
    fail(path, "fit state 'callbacks' is " .. show(doc.callbacks) .. ", expected a list")
  end
  ck.path = path
  return ck
end

--- resume.match(ck, callbacks) -> {{cb, state}}: pairs the saved states with the callbacks and checks each (validate_state)
function M.match(ck, cbs)
  local matches = hooks.match_states(cbs, ck.fit and ck.fit.callbacks)
  for _, m in ipairs(matches) do
    local cb, st = m[1], m[2]
    if hooks.is_object(cb) and type(cb.validate_state) == "function" then
      local msg = cb:validate_state(st)
      if msg then fail(ck.path, fmt("the state of %s: %s", cb.__name, msg)) end
    end
  end
  return matches
end

local clone_state = require("moonlab.core.persist").clone_state

--- resume.apply(ck, model, optimizer, matches): loads the checked checkpoint; a failure puts back what was loaded
function M.apply(ck, model, opt, matches)
  local model_snap = clone_state(model:state_dict())
  local opt_snap = clone_state(opt:state_dict())
  local step = "the optimizer state does not load"
  local ok, err = pcall(function()
    opt:load_state_dict(ck.optimizer_state)
    step = "the weights do not load"
    model:load_state_dict(ck.model_state)
    for _, m in ipairs(matches) do
      step = "the state of " .. tostring(m[1].__name or "a callback") .. " does not load"
      hooks.load_state(m[1], m[2])
    end
  end)
  if not ok then
    pcall(model.load_state_dict, model, model_snap)
    pcall(opt.load_state_dict, opt, opt_snap)
    fail(ck.path, step .. ": " .. strip(err))
  end
  if ck.fit and ck.fit.rng then ml.set_random_state(ck.fit.rng) end
end

ml.doc(M.read, "resume.read(path, model, optimizer, [initial_epoch]) -> checkpoint — reads a checkpoint and checks all of it (weights, optimizer, fit's state) without changing anything")
ml.doc(M.match, "resume.match(checkpoint, callbacks) -> {{cb, state}} — pairs saved callback states with the callbacks and validates each")
ml.doc(M.apply, "resume.apply(checkpoint, model, optimizer, matches) — loads optimizer, weights, callbacks' states and the generator; undoes it all on a failure")

return M
