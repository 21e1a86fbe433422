--- prep/split.lua: prep.train_test_split, scikit-learn's: the pieces
-- themselves (tensors, frames or lists of rows), with scikit-learn's sizes
-- (a fractional test_size rounds up, a fractional train_size down) and its
-- stratified allocation (each class split in proportion, the remainders
-- given out by largest fraction). Shuffles come from moonlab's generator: a
-- seed makes them reproducible and leaves the global stream as it was.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.prep.base"

local fail, fmt = checks.fail, string.format

local M = {}

local OPTIONS = { "test_size", "train_size", "stratify", "shuffle", "seed" }

local function rows_of(v)
  if ml.is_tensor(v) then return v:dim() > 0 and v:size(1) or 0 end
  if base.is_frame(v) then return #v end
  return v.n or #v
end

local function take(v, idx)
  if ml.is_tensor(v) then return v:index_select(1, idx) end
  if base.is_frame(v) then return v:take(idx) end
  local out = {}
  for i, r in ipairs(idx:tolist()) do out[i] = v[r] end
  return out
end

-- scikit-learn's _validate_shuffle_split: the train and test counts.
local function sizes(fn, n, test, train)
  local function check(name, v)
    if v == nil then return end
    if type(v) ~= "number" or v <= 0 or (math.type(v) == "float" and v >= 1) or (math.type(v) == "integer" and v >= n) then
      fail(fmt("%s: %s must be a fraction in (0, 1) or a count in 1..%d, got %s", fn, name, n - 1, checks.show(v)))
    end
  end
  check("test_size", test)
  check("train_size", train)
  if test == nil and train == nil then test = 0.25 end
  local nt = test and (math.type(test) == "float" and math.ceil(test * n) or test)
  local nr = train and (math.type(train) == "float" and math.floor(train * n) or train)
  if nr == nil then nr = n - nt elseif nt == nil then nt = n - nr end
  if nr + nt > n then fail(fmt("%s: train_size + test_size = %d rows, more than the %d there are", fn, nr + nt, n)) end
  if nr == 0 then fail(fmt("%s: with %d rows and these sizes the training set would be empty", fn, n)) end
  return math.tointeger(nr), math.tointeger(nt)
end

-- scikit-learn's _approximate_mode: draws per class in proportion, the rest by largest remainder (ties drawn at random).
local function approximate_mode(counts, draws)
  local total = 0
  for _, c in ipairs(counts) do total = total + c end
  local out, cont, need = {}, {}, draws
  for i, c in ipairs(counts) do
    cont[i] = c / total * draws
    out[i] = math.floor(cont[i])
    need = need - out[i]
  end
  while need > 0 do
    local best
    for i in ipairs(counts) do
      local r = cont[i] - out[i]
      if r < 1 and (not best or r > best) then best = r end
    end
    local tied = {}
    for i in ipairs(counts) do if cont[i] - out[i] == best then tied[#tied + 1] = i end end
    local perm = ml.randperm(#tied):tolist()
    for k = 1, math.min(#tied, need) do
      local i = tied[perm[k]]
      out[i] = out[i] + 1
      cont[i] = out[i] -- its remainder is used up
    end
    need = need - math.min(#tied, need)
  end
  return out
end

-- Train and test row numbers (int64, 1-based) of a stratified split.
local function stratified(fn, labels, n, ntrain, ntest)
  local enc = require("moonlab.prep.encode").LabelEncoder()
  local cls = checks.call(enc.fit_transform, enc, labels)
  if cls:numel() ~= n then fail(fmt("%s: stratify has %d labels, X has %d rows", fn, cls:numel(), n)) end
  local sorted, order = cls:sort(1) -- stable: each class's rows in order
  local k = sorted[n]
  local counts = ml.zeros(k, { dtype = "int64" }):scatter_add(1, cls:sub(1):add(1), ml.ones(n, { dtype = "int64" })):tolist()
  for c, cnt in ipairs(counts) do
    if cnt < 2 then
      local label = enc:inverse_transform({ c })
      label = ml.is_tensor(label) and label:tolist()[1] or label[1]
      if type(label) == "number" and label == math.floor(label) and math.type(label) == "float" then label = math.tointeger(label) end
      fail(fmt("%s: the class %s of stratify has only %d member; each class needs at least 2", fn,
        type(label) == "string" and ("'" .. label .. "'") or tostring(label), cnt))
    end
  end
  if ntrain < k or ntest < k then
    fail(fmt("%s: the %s set (%d rows) is smaller than the number of classes (%d)", fn, ntrain < k and "train" or "test",
      math.min(ntrain, ntest), k))
  end
  local ni = approximate_mode(counts, ntrain)
  local rest = {}
  for c = 1, k do rest[c] = counts[c] - ni[c] end
  local ti = approximate_mode(rest, ntest)
  local train, test, start = {}, {}, 1
  for c = 1, k do
    local rows = order:narrow(1, start, counts[c]):index_select(1, ml.randperm(counts[c]))
    if ni[c] > 0 then train[#train + 1] = rows:narrow(1, 1, ni[c]) end
    if ti[c] > 0 then test[#test + 1] = rows:narrow(1, ni[c] + 1, ti[c]) end
    start = start + counts[c]
  end
  train, test = ml.cat(train, 1), ml.cat(test, 1)
  return train:index_select(1, ml.randperm(ntrain)), test:index_select(1, ml.randperm(ntest))
end

--- prep.train_test_split(X, [y], [{test_size=0.25, train_size, stratify, shuffle=true, seed}]) -> X_train, X_test[, y_train, y_test]
function M.train_test_split(X, y, opts)
  local fn = "prep.train_test_split"
  if opts == nil and type(y) == "table" and getmetatable(y) == nil and #y == 0 and next(y) ~= nil then
    y, opts = nil, y -- train_test_split(X, {test_size = 0.2})
  end
  opts = checks.options(fn, opts, OPTIONS)
  if X == nil or (type(X) ~= "table" and not ml.is_tensor(X)) then
    fail(fmt("%s: X must be a tensor, a data frame or a list of rows, got %s", fn, type(X)))
  end
  local n = rows_of(X)
  if n < 2 then fail(fmt("%s: X has %d row%s; a split needs at least 2", fn, n, n == 1 and "" or "s")) end
  if y ~= nil and rows_of(y) ~= n then fail(fmt("%s: y has %d rows, X has %d", fn, rows_of(y), n)) end
  local shuffle = checks.boolean(fn, "shuffle", opts.shuffle, true)
  local ntrain, ntest = sizes(fn, n, opts.test_size, opts.train_size)
  local strat = opts.stratify
  if strat == true then
    if y == nil then fail(fn .. ": stratify = true needs y") end
    strat = y
  end
  if strat ~= nil and not shuffle then fail(fn .. ": stratify needs shuffle = true (as scikit-learn)") end
  local state
  if opts.seed ~= nil then
    state = ml.random_state()
    ml.seed(checks.integer(fn, "seed", opts.seed, 0))
  end
  local ok, train, test = pcall(function()
    if strat ~= nil then
      if base.is_frame(strat) then fail(fn .. ": stratify must be labels (a tensor, a list or a column), not a frame") end
      return stratified(fn, strat, n, ntrain, ntest)
    end
    local perm = shuffle and ml.randperm(n) or ml.arange(1, n + 1, { dtype = "int64" })
    return perm:narrow(1, 1, ntrain), perm:narrow(1, ntrain + 1, ntest)
  end)
  if state then ml.set_random_state(state) end
  if not ok then checks.reraise(train) end
  if y == nil then return take(X, train), take(X, test) end
  return take(X, train), take(X, test), take(y, train), take(y, test)
end

ml.doc(M.train_test_split, "prep.train_test_split(X, [y], [{test_size=0.25, train_size, stratify, shuffle=true, seed}]) -> X_train, X_test[, y_train, y_test] — tensors, frames or lists, scikit-learn's sizes")

return M
