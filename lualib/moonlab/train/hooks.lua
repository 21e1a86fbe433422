--- train.hooks: fit's callbacks: checked, bound (class objects get self,
-- plain tables' hooks are plain functions) and grouped by hook.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fmt = string.format
local M = {}

M.HOOKS = { "on_train_begin", "on_epoch_begin", "on_batch_begin", "on_batch_end", "on_epoch_end",
  "after_epoch", "on_train_end" }
local HOOK_SET = {}
for _, h in ipairs(M.HOOKS) do HOOK_SET[h] = true end

--- hooks.is_object(cb) -> whether cb is an instance of a callback class (its hooks get self)
function M.is_object(cb) return getmetatable(cb) ~= nil and cb.__is_callback == true end
local is_object = M.is_object

local function unknown_hook(i, k, who)
  local hint = checks.suggest(k, M.HOOKS)
  checks.fail(fmt("fit: callback %d%s has an unknown hook '%s' (known: %s)%s", i, who or "", k, table.concat(M.HOOKS, ", "),
    hint and fmt("; did you mean '%s'?", hint) or ""))
end

local function check_plain(i, cb)
  for k in pairs(cb) do
    if type(k) == "string" and k:sub(1, 3) == "on_" and not HOOK_SET[k] then unknown_hook(i, k) end
  end
end

-- A callback object: its fields and those of its class and the classes above it (up to Callback)
-- hold no on_* name that is not a hook.
local function check_object(i, cb)
  local t, seen = cb, {}
  while type(t) == "table" and not seen[t] do
    seen[t] = true
    for k in pairs(t) do
      if type(k) == "string" and k:sub(1, 3) == "on_" and not HOOK_SET[k] then
        unknown_hook(i, k, " (" .. tostring(cb.__name or "a callback") .. ")")
      end
    end
    local mt = getmetatable(t)
    if mt == nil then break end
    t = type(mt.__index) == "table" and mt.__index or mt
    if t == mt and seen[t] then break end
  end
end

--- hooks.prepare(list, verbose) -> the callbacks fit runs: the given ones, checked, with a ProgressBar first unless silent or given
function M.prepare(list, verbose)
  if list ~= nil and type(list) ~= "table" then checks.fail("fit: callbacks must be a table (a list of callbacks)") end
  -- one callback given alone (a callback object, or a plain table of hooks) is a list of one
  if list ~= nil and list[1] == nil and next(list) ~= nil then list = { list } end
  local cbs, has_bar = {}, false
  for i, cb in ipairs(list or {}) do
    if type(cb) ~= "table" then checks.fail(fmt("fit: callback %d is a %s, expected a table", i, type(cb))) end
    if is_object(cb) then check_object(i, cb) else check_plain(i, cb) end
    if cb.__name == "ProgressBar" then has_bar = true end
    if cb.adds_logs ~= nil and type(cb.adds_logs) ~= "table" then
      checks.fail(fmt("fit: callback %d: adds_logs must be a list of log names", i))
    end
    cbs[#cbs + 1] = cb
  end
  if verbose ~= 0 and not has_bar then
    table.insert(cbs, 1, ml.callbacks.ProgressBar{ mode = verbose == 2 and "lines" or "auto" })
  end
  return cbs
end

--- hooks.log_names(cbs, names) -> names plus those the callbacks add (adds_logs)
function M.log_names(cbs, names)
  local out = { table.unpack(names) }
  for _, cb in ipairs(cbs) do
    for _, k in ipairs(cb.adds_logs or {}) do out[#out + 1] = k end
  end
  return out
end

--- hooks.check_logs(cbs, names): every callback that monitors a log checks it against names, before training
function M.check_logs(cbs, names)
  for _, cb in ipairs(cbs) do
    if is_object(cb) and type(cb.check_logs) == "function" then cb:check_logs(names) end
  end
end

local function bind(cb, name)
  local f = cb[name]
  if f == nil then return nil end
  if type(f) ~= "function" then checks.fail(fmt("fit: callback hook '%s' must be a function, got %s", name, type(f))) end
  if is_object(cb) then return function(...) return f(cb, ...) end end
  return f
end

--- hooks.lists(cbs) -> {hook = {{fn, reason}, ...}}: each hook's functions, with the stop_reason their callback gives
function M.lists(cbs)
  local lists = {}
  for _, h in ipairs(M.HOOKS) do
    local list = {}
    for _, cb in ipairs(cbs) do
      local f = bind(cb, h)
      if f then list[#list + 1] = { f, is_object(cb) and cb.stop_reason or "callback" } end
    end
    lists[h] = list
  end
  return lists
end

--- hooks.state(cbs) -> {{class, state}, ...}: the callbacks' states, for a checkpoint
function M.state(cbs)
  local states = {}
  for _, cb in ipairs(cbs) do
    if type(cb.state_dict) == "function" then
      local st = is_object(cb) and cb:state_dict() or cb.state_dict()
      if st ~= nil then states[#states + 1] = { class = cb.__name or "table", state = st } end
    end
  end
  return states
end

--- hooks.match_states(cbs, saved) -> {{cb, state}, ...}: the k-th saved state of a class goes to the k-th callback of that class
function M.match_states(cbs, saved)
  local pairs_out, seen = {}, {}
  for _, s in ipairs(saved or {}) do
    seen[s.class] = (seen[s.class] or 0) + 1
    local k = 0
    for _, cb in ipairs(cbs) do
      if (cb.__name or "table") == s.class and type(cb.load_state_dict) == "function" then
        k = k + 1
        if k == seen[s.class] then pairs_out[#pairs_out + 1] = { cb, s.state }; break end
      end
    end
  end
  return pairs_out
end

--- hooks.load_state(cb, st): cb:load_state_dict(st) for objects, cb.load_state_dict(st) for plain tables
function M.load_state(cb, st)
  if is_object(cb) then cb:load_state_dict(st) else cb.load_state_dict(st) end
end

ml.doc(M.is_object, "hooks.is_object(cb) -> boolean — whether cb is an instance of a callback class (its hooks get self)")
ml.doc(M.prepare, "hooks.prepare(list, verbose) -> callbacks — fit's callbacks, checked (unknown hooks with 'did you mean'), with a ProgressBar unless silent")
ml.doc(M.log_names, "hooks.log_names(callbacks, names) -> names — fit's log names plus those callbacks add (adds_logs = {...})")
ml.doc(M.check_logs, "hooks.check_logs(callbacks, names) — before the first batch: each callback checks that the logs it monitors will be there")
ml.doc(M.lists, "hooks.lists(callbacks) -> {hook = {{fn, stop_reason}}} — the bound hooks, grouped by name")
ml.doc(M.state, "hooks.state(callbacks) -> {{class, state}} — the callbacks' state_dict()s, for a checkpoint")
ml.doc(M.match_states, "hooks.match_states(callbacks, saved) -> {{cb, state}} — pairs saved states with the callbacks of their class, in order")
ml.doc(M.load_state, "hooks.load_state(cb, state) — loads a saved state into a callback object or plain table")

return M
