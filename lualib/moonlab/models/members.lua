--- models/members.lua: what the ensembles (voting, bagging, stacking) share:
-- checking a list of named members, saving fitted members, and placing a
-- member's class columns among the ensemble's.
--
-- Fitted members are estimators; core/persist saves them as nested objects
-- (each with its own state) when they are constructor arguments, so a fitted
-- ensemble's constructor_args carry them as a second argument {members = {...}}
-- and persist_state leaves the member fields out.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local M = {}

--- members.is_estimator(v) -> whether v has fit and get_params
function M.is_estimator(v)
  return type(v) == "table" and not ml.is_tensor(v) and type(v.fit) == "function" and type(v.get_params) == "function"
end

--- members.check_named(fn, list) -> list: {{name, estimator}, ...} with unique names
function M.check_named(fn, list)
  if type(list) ~= "table" or #list == 0 then
    fail(fmt("%s: estimators must be a non-empty list of {name, estimator}, got %s", fn, checks.show(list)))
  end
  local seen = {}
  for i, e in ipairs(list) do
    if type(e) ~= "table" or type(e[1]) ~= "string" or not M.is_estimator(e[2]) then
      fail(fmt("%s: estimators[%d] must be {name, estimator}, got %s", fn, i, checks.show(e)))
    end
    if seen[e[1]] then fail(fmt("%s: two estimators are named '%s'", fn, e[1])) end
    seen[e[1]] = true
  end
  return list
end

--- members.check_weights(fn, weights, n) -> a list of n numbers, or nil
function M.check_weights(fn, weights, n)
  if weights == nil then return nil end
  if ml.is_tensor(weights) then weights = weights:tolist() end
  if type(weights) ~= "table" or #weights ~= n then
    fail(fmt("%s: weights must be a list of %d numbers (one per estimator), got %s", fn, n, checks.show(weights)))
  end
  local total = 0
  for i, w in ipairs(weights) do total = total + checks.number(fn, "weights[" .. i .. "]", w, 0) end
  if total == 0 then fail(fmt("%s: weights sum to zero; at least one member needs a positive weight", fn)) end
  return weights
end

--- members.align(proba, member_classes, K) -> proba [n, K]: a member's columns (its classes, codes in 1..K) among all K
function M.align(proba, member_classes, K)
  if #member_classes == K then return proba end
  local n = #member_classes
  local rows, cols = ml.arange(0, n, { dtype = "int64" }), ml.tensor(member_classes, { dtype = "int64" })
  local P = ml.zeros(n * K, { dtype = proba:dtype() })
  P = P:scatter_add(1, rows * K + cols, ml.ones(n, { dtype = proba:dtype() })):reshape(n, K)
  return ml.matmul(proba, P)
end

--- members.persist_fitted(cls, fields, [derived]): fitted member fields travel in constructor_args, not in
-- persist_state; derived fields (named_estimators_) are left out of both and rebuilt by cls:_members_loaded()
--- members.define(name, doc, params, kind, spec) -> an ensemble class: the estimator base with frames and sparse X
-- passed to the members as they are, spec = {fitted = {fields}, derived = {fields}, members = fn(self), replace = fn,
-- check = fn, transform = fn} (the fitted members saved as nested objects, member__option parameters)
function M.define(name, doc, params, kind, spec)
  local cls = require("moonlab.models.base").define(name, doc, params)
  cls.KIND, cls.INPUT, cls.SPARSE = kind, "any", true
  cls._check, cls.transform = spec.check, spec.transform
  M.persist_fitted(cls, spec.fitted, spec.derived)
  M.nested_params(cls, spec.members, spec.replace)
  return cls
end

function M.persist_fitted(cls, fields, derived)
  local persist_state = cls.persist_state
  local skip = table.move(fields, 1, #fields, 1, {})
  for _, f in ipairs(derived or {}) do skip[#skip + 1] = f end
  function cls:persist_state()
    local saved = {}
    for _, f in ipairs(skip) do saved[f] = rawget(self, f) self[f] = nil end
    local ok, st = pcall(persist_state, self)
    for _, f in ipairs(skip) do self[f] = saved[f] end
    if not ok then error(st, 0) end
    return st
  end
  function cls:constructor_args()
    local params = self:get_params()
    if not rawget(self, "_fitted") then return table.pack(params) end
    local fitted = {}
    for _, f in ipairs(fields) do fitted[f] = self[f] end
    return table.pack(params, fitted)
  end
  local init = cls.init
  function cls:init(opts, fitted)
    init(self, opts)
    if fitted ~= nil then
      if type(fitted) ~= "table" then fail(fmt("%s: the second argument holds the fitted members, got %s", self.__name, type(fitted))) end
      for _, f in ipairs(fields) do self[f] = fitted[f] end
      if self._members_loaded then self:_members_loaded() end
    end
  end
end

--- members.fit_all(fn, jobs, fit, n_jobs, seed) -> fitted estimators: fit(job, i) for each job, in worker processes when n_jobs > 1
function M.fit_all(fn, jobs, fit, n_jobs, seed)
  local workers = require "moonlab.core.workers"
  local n = n_jobs == nil and 1 or require("moonlab.models.cross_validation").n_workers(fn, n_jobs)
  local results, errors = workers.map(jobs, fit, { n_workers = math.min(n, #jobs), seed = seed, errors = "return" })
  for i = 1, #jobs do
    if errors[i] then fail(fmt("%s: member %d of %d failed: %s", fn, i, #jobs, errors[i])) end
  end
  return results
end

--- members.nested_params(cls, members_of, replace): scikit-learn's nested parameters for an ensemble.
-- members_of(self) -> {{name, estimator}, ...}; replace(self, name, estimator) puts a new one in its place.
-- set_params{name__option = v} sets a member's option (on a clone, so a clone of the ensemble and the
-- caller's estimators are never changed), set_params{name = est} replaces a member; get_params(true)
-- (deep) also lists name = member and name__option = value.
function M.nested_params(cls, members_of, replace)
  local get, set = cls.get_params, cls.set_params
  function cls:get_params(deep)
    local out = get(self)
    if deep == true or (type(deep) == "table" and deep.deep == true) then
      for _, m in ipairs(members_of(self)) do
        local name, est = m[1], m[2]
        if out[name] == nil then out[name] = est end
        if M.is_estimator(est) then
          for k, v in pairs(est:get_params(true)) do out[name .. "__" .. k] = v end
        end
      end
    end
    return out
  end
  function cls:set_params(opts)
    local fn = self.__name .. ":set_params"
    if type(opts) ~= "table" then return set(self, opts) end
    local by_name, names = {}, {}
    for _, m in ipairs(members_of(self)) do by_name[m[1]] = m[2] names[#names + 1] = m[1] end
    local own_names = {}
    for _, p in ipairs(self.PARAMS) do own_names[p[1]] = true end
    local own, nested, swaps = {}, {}, {}
    for k, v in pairs(opts) do
      local name, rest
      if type(k) == "string" then name, rest = k:match("^(.-)__(.+)$") end
      if name then
        if by_name[name] == nil then checks.unknown(fn, "member", name, names) end
        nested[name] = nested[name] or {}
        nested[name][rest] = v
      elseif type(k) == "string" and not own_names[k] and by_name[k] ~= nil then
        if not M.is_estimator(v) then fail(fmt("%s: member '%s' must be replaced by an estimator, got %s", fn, k, checks.show(v))) end
        swaps[k] = v
      else
        own[k] = v
      end
    end
    set(self, own)
    for name, est in pairs(swaps) do replace(self, name, est) end
    for name, o in pairs(nested) do
      local est = swaps[name] or by_name[name]
      if not M.is_estimator(est) then fail(fmt("%s: member '%s' has no options to set", fn, name)) end
      local c = require("moonlab.models.base").clone(est)
      c:set_params(o)
      replace(self, name, c)
    end
    if next(swaps) or next(nested) then set(self, {}) end -- the checks again, on the new members
    return self
  end
end

--- members.replace_named(self, name, est): the list self.estimators with the member name replaced (a new list)
function M.replace_named(self, name, est)
  local list = {}
  for i, e in ipairs(self.estimators) do list[i] = e[1] == name and { e[1], est } or e end
  self.estimators = list
end

do
  local doc = ml.doc
  doc(M.nested_params, "members.nested_params(cls, members_of, replace) — set_params{member__option = v} / {member = est} and get_params(true) for an ensemble class")
  doc(M.replace_named, "members.replace_named(self, name, est) — self.estimators with one member replaced (a new list)")
  doc(M.is_estimator, "members.is_estimator(v) -> boolean — whether v has fit and get_params")
  doc(M.check_named, "members.check_named(fn, list) -> list — {{name, estimator}, ...} with unique names")
  doc(M.check_weights, "members.check_weights(fn, weights, n) -> list | nil — one non-negative weight per member")
  doc(M.align, "members.align(proba, member_classes, K) -> [n, K] — a member's probability columns among all classes")
  doc(M.persist_fitted, "members.persist_fitted(cls, fields, [derived]) — saves fitted member fields as nested objects of the constructor arguments")
  doc(M.fit_all, "members.fit_all(fn, jobs, fit, n_jobs, seed) -> estimators — fits members, in worker processes when n_jobs > 1")
end

return M
