--- models/splitters.lua: cross-validation splitters, scikit-learn 1.2's
-- (sklearn.model_selection): KFold, StratifiedKFold, GroupKFold, ShuffleSplit,
-- StratifiedShuffleSplit, TimeSeriesSplit, RepeatedKFold, RepeatedStratifiedKFold.
--
--   local cv = models.StratifiedKFold{n_splits = 5, shuffle = true, random_state = 0}
--   for i, fold in ipairs(cv:split(X, y)) do ... fold.train, fold.test ... end   -- 1-based int64 indices
--
-- Fold sizes, stratification and group assignment are scikit-learn's exactly;
-- the unshuffled splits give its very indices. Shuffled splits use ml's
-- generator (random_state seeds it for the call and the caller's stream is
-- restored; nil draws from it), so they are stratified as scikit-learn's but
-- not its permutation. The work is tensor ops, nothing per row in Lua.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"

local fail, fmt = checks.fail, string.format
local M = {}
-- helpers for the other model-selection files, kept out of the names the models index adds
local internal = {}
setmetatable(M, { __index = internal })

-- ---- helpers --------------------------------------------------------------------------------

--- splitters.n_rows(fn, X) -> the rows of a tensor, a data frame, a sparse matrix or a list of rows
function internal.n_rows(fn, X)
  if ml.is_tensor(X) then
    if X:dim() == 0 then fail(fn .. ": X is a 0-D tensor; expected rows") end
    return X:size(1)
  end
  if type(X) == "table" then
    if type(X.size) == "function" and type(X.shape) == "table" then return X:size(1) end -- sparse
    if type(X._names) == "table" then return #X end -- a frame
    if getmetatable(X) == nil then return #X end
  end
  fail(fmt("%s: X must be a tensor, a data frame, a sparse matrix or a list of rows, got %s", fn, type(X)))
end

local function arange(a, b) -- int64 a..b
  if b < a then return ml.zeros(0, { dtype = "int64" }) end
  return ml.arange(a, b + 1, { dtype = "int64" })
end

local function where(mask) return arange(1, mask:numel()):masked_select(mask) end

-- f() run with ml's generator seeded by random_state (the caller's stream restored), or drawing from it
local function seeded(random_state, f)
  if random_state == nil then return f() end
  local state = ml.random_state()
  ml.seed(random_state)
  local r = table.pack(pcall(f))
  ml.set_random_state(state)
  if not r[1] then checks.reraise(r[2]) end
  return table.unpack(r, 2, r.n)
end

local function fold_from_test(n, test_mask, test)
  return { train = where(test_mask:logical_not()), test = test or where(test_mask) }
end

-- Splits from a fold number per row (0 .. k-1), scikit-learn's _iter_test_masks.
local function folds_from_assignment(assign, k)
  local out = {}
  for f = 0, k - 1 do
    local mask = assign:eq(f)
    out[f + 1] = fold_from_test(assign:numel(), mask)
  end
  return out
end

-- Codes 1..K in the order classes first appear (scikit-learn's StratifiedKFold encoding), and the counts.
local function first_appearance_codes(fn, y)
  local codes, classes = labels.encode(fn, y)
  local K = #classes
  local first = {}
  for k = 1, K do first[k] = { where(codes:eq(k))[1], k } end
  table.sort(first, function(a, b) return a[1] < b[1] end)
  local remap = {}
  for rank, e in ipairs(first) do remap[e[2]] = rank end
  local enc = ml.tensor(remap, { dtype = "int64" }):index_select(1, codes)
  local counts = {}
  for k = 1, K do counts[k] = enc:eq(k):sum():item() end
  return enc, counts
end

-- ---- the splitter classes ---------------------------------------------------------------------

local Splitter = class.Object:extend("models.Splitter",
  "models.Splitter — the base of the cross-validation splitters: split(X, [y], [groups]) -> {{train=, test=}, ...}, get_n_splits()")
M.Splitter = Splitter
Splitter.PARAMS = {}

function Splitter:init(opts)
  local names = {}
  for i, p in ipairs(self.PARAMS) do names[i] = p[1] end
  opts = checks.options(self.__name, opts, names)
  for _, p in ipairs(self.PARAMS) do
    local v = opts[p[1]]
    if v == nil then v = p[2] end
    self[p[1]] = v
  end
  self:_check(self.__name)
end

function Splitter:_check(fn) end

--- cv:get_params() -> {option = value}
function Splitter:get_params()
  local out = {}
  for _, p in ipairs(self.PARAMS) do out[p[1]] = self[p[1]] end
  return out
end

function Splitter:extra_repr()
  local parts = {}
  for _, p in ipairs(self.PARAMS) do
    local v = self[p[1]]
    if v ~= nil then parts[#parts + 1] = p[1] .. "=" .. tostring(v) end
  end
  return table.concat(parts, ", ")
end

--- cv:get_n_splits([X], [y], [groups]) -> the number of splits
function Splitter:get_n_splits() return self.n_splits end

--- cv:split(X, [y], [groups]) -> list of {train = int64 indices, test = int64 indices} (1-based)
function Splitter:split(X, y, groups)
  local fn = self.__name .. ":split"
  local n = internal.n_rows(fn, X)
  if y ~= nil then
    local ny = labels.length(fn, y)
    if ny ~= n then fail(fmt("%s: X has %d rows but y has %d values", fn, n, ny)) end
  end
  if groups ~= nil then
    local ng = labels.length(fn, groups)
    if ng ~= n then fail(fmt("%s: X has %d rows but groups has %d values", fn, n, ng)) end
  end
  return self:_split(fn, n, y, groups)
end

local function define(name, doc, params)
  local cls = Splitter:extend(name, doc)
  cls.PARAMS = params
  return cls
end

local function check_n_splits(fn, v, min)
  return checks.integer(fn, "n_splits", v, min or 2)
end

local function check_random_state(fn, self)
  if self.random_state ~= nil then checks.integer(fn, "random_state", self.random_state) end
end

local function too_many(fn, k, n)
  fail(fmt("%s: cannot have n_splits=%d greater than the number of samples n_samples=%d", fn, k, n))
end

-- ---- KFold -------------------------------------------------------------------------------------

local KFold = define("models.KFold",
  "models.KFold{n_splits=5, shuffle=false, random_state} — k consecutive folds (shuffled first when asked), the first n % k one row larger",
  { { "n_splits", 5 }, { "shuffle", false }, { "random_state", nil } })
M.KFold = KFold

function KFold:_check(fn)
  self.n_splits = check_n_splits(fn, self.n_splits)
  checks.boolean(fn, "shuffle", self.shuffle)
  check_random_state(fn, self)
  if self.random_state ~= nil and not self.shuffle then
    -- scikit-learn raises here too: the seed would be silently ignored
    fail(fmt("%s: random_state has no effect since shuffle is false; leave random_state nil or set shuffle = true", fn))
  end
end

-- The k folds of n rows as (start, size) pairs: scikit-learn's fold sizes.
local function fold_sizes(n, k)
  local out, start = {}, 1
  for f = 1, k do
    local size = n // k + (f <= n % k and 1 or 0)
    out[f] = { start, size }
    start = start + size
  end
  return out
end

function KFold:_split(fn, n)
  local k = self.n_splits
  if k > n then too_many(fn, k, n) end
  local order = self.shuffle and seeded(self.random_state, function() return ml.randperm(n) end) or arange(1, n)
  local out = {}
  for f, fs in ipairs(fold_sizes(n, k)) do
    local test = order:narrow(1, fs[1], fs[2])
    local mask = ml.zeros(n, { dtype = "int64" }):scatter_add(1, test, ml.ones(fs[2], { dtype = "int64" })):eq(1)
    out[f] = fold_from_test(n, mask, test:contiguous())
  end
  return out
end

-- ---- StratifiedKFold -------------------------------------------------------------------------

local StratifiedKFold = define("models.StratifiedKFold",
  "models.StratifiedKFold{n_splits=5, shuffle=false, random_state} — k folds that keep each class's share (scikit-learn 1.2's allocation)",
  { { "n_splits", 5 }, { "shuffle", false }, { "random_state", nil } })
M.StratifiedKFold = StratifiedKFold
StratifiedKFold._check = KFold._check

-- How many rows of each class each fold's test set gets: the classes sorted, then dealt round-robin
-- (scikit-learn: bincount(y_order[i::n_splits])).
local function allocation(counts, k)
  local alloc, start = {}, 0
  for f = 1, k do alloc[f] = {} end
  for c, cnt in ipairs(counts) do
    -- positions start .. start+cnt-1 of the sorted labels; fold f takes those p with p % k == f - 1
    for f = 1, k do
      local r = f - 1
      local first = start + ((r - start) % k)
      alloc[f][c] = first <= start + cnt - 1 and ((start + cnt - 1 - first) // k + 1) or 0
    end
    start = start + cnt
  end
  return alloc
end

local function stratified_assignment(fn, self, n, y)
  if y == nil then fail(fn .. ": StratifiedKFold needs y (the class labels)") end
  local k = self.n_splits
  if k > n then too_many(fn, k, n) end
  local enc, counts = first_appearance_codes(fn, y)
  local largest = 0
  for _, c in ipairs(counts) do largest = math.max(largest, c) end
  if k > largest then
    fail(fmt("%s: n_splits=%d cannot be greater than the number of members in each class (the largest has %d)", fn, k, largest))
  end
  local alloc = allocation(counts, k)
  local assign = ml.zeros(n, { dtype = "int64" })
  for c = 1, #counts do
    local parts = {}
    for f = 1, k do
      if alloc[f][c] > 0 then parts[#parts + 1] = ml.full({ alloc[f][c] }, f - 1, { dtype = "int64" }) end
    end
    local folds = #parts == 1 and parts[1] or ml.cat(parts)
    if self.shuffle then folds = folds:index_select(1, ml.randperm(folds:numel())) end
    assign = assign:scatter_add(1, where(enc:eq(c)), folds)
  end
  return assign
end

function StratifiedKFold:_split(fn, n, y)
  return seeded(self.shuffle and self.random_state or nil, function()
    return folds_from_assignment(stratified_assignment(fn, self, n, y), self.n_splits)
  end)
end

-- ---- GroupKFold --------------------------------------------------------------------------------

local GroupKFold = define("models.GroupKFold",
  "models.GroupKFold{n_splits=5} — k folds that never split a group: the largest groups first, each to the lightest fold",
  { { "n_splits", 5 } })
M.GroupKFold = GroupKFold

function GroupKFold:_check(fn) self.n_splits = check_n_splits(fn, self.n_splits) end

function GroupKFold:_split(fn, n, _, groups)
  if groups == nil then fail(fn .. ": GroupKFold needs groups (a group label per row)") end
  local k = self.n_splits
  local codes, values = labels.encode(fn, groups)
  local G = #values
  if k > G then fail(fmt("%s: cannot have n_splits=%d greater than the number of groups (%d)", fn, k, G)) end
  local sizes = {}
  for g = 1, G do sizes[g] = { g, codes:eq(g):sum():item() } end
  -- scikit-learn: argsort(sizes)[::-1], so among equal sizes the later group comes first
  table.sort(sizes, function(a, b) if a[2] ~= b[2] then return a[2] > b[2] end return a[1] > b[1] end)
  local load, fold_of = {}, {}
  for f = 1, k do load[f] = 0 end
  for _, e in ipairs(sizes) do
    local best = 1
    for f = 2, k do if load[f] < load[best] then best = f end end
    load[best] = load[best] + e[2]
    fold_of[e[1]] = best - 1
  end
  local assign = ml.tensor(fold_of, { dtype = "int64" }):index_select(1, codes)
  return folds_from_assignment(assign, k)
end

-- ---- ShuffleSplit and StratifiedShuffleSplit -----------------------------------------------------

-- scikit-learn's _validate_shuffle_split: test = ceil(test_size * n), train = floor(train_size * n).
local function shuffle_sizes(fn, n, test_size, train_size, default_test)
  local function check(name, v)
    if v == nil then return end
    if math.type(v) == "integer" then
      if v <= 0 or v >= n then fail(fmt("%s: %s=%d should be a positive integer smaller than the number of samples (%d), or a float in (0, 1)", fn, name, v, n)) end
    elseif type(v) ~= "number" or v <= 0 or v >= 1 then
      fail(fmt("%s: %s=%s should be a float in (0, 1) or an integer in [1, n_samples)", fn, name, checks.show(v)))
    end
  end
  check("test_size", test_size)
  check("train_size", train_size)
  if test_size == nil and train_size == nil then test_size = default_test end
  local n_test = test_size and (math.type(test_size) == "integer" and test_size or math.ceil(test_size * n - 1e-12))
  local n_train = train_size and (math.type(train_size) == "integer" and train_size or math.floor(train_size * n + 1e-12))
  n_test = n_test or (n - n_train)
  n_train = n_train or (n - n_test)
  if n_train + n_test > n then
    fail(fmt("%s: train_size and test_size take %d + %d rows, more than the %d there are", fn, n_train, n_test, n))
  end
  if n_train == 0 then fail(fmt("%s: with n_samples=%d and these sizes the training set would be empty", fn, n)) end
  return n_train, n_test
end

local ShuffleSplit = define("models.ShuffleSplit",
  "models.ShuffleSplit{n_splits=10, test_size, train_size, random_state} — independent random train/test splits (test_size 0.1 by default)",
  { { "n_splits", 10 }, { "test_size", nil }, { "train_size", nil }, { "random_state", nil } })
M.ShuffleSplit = ShuffleSplit

function ShuffleSplit:_check(fn)
  self.n_splits = check_n_splits(fn, self.n_splits, 1)
  check_random_state(fn, self)
end

function ShuffleSplit:_split(fn, n)
  local n_train, n_test = shuffle_sizes(fn, n, self.test_size, self.train_size, 0.1)
  return seeded(self.random_state, function()
    local out = {}
    for s = 1, self.n_splits do
      local perm = ml.randperm(n)
      out[s] = { train = perm:narrow(1, n_test + 1, n_train):contiguous(), test = perm:narrow(1, 1, n_test):contiguous() }
    end
    return out
  end)
end

-- scikit-learn's _approximate_mode: per-class draws that sum to n_draws, proportional to counts,
-- the remainder given to the largest fractional parts (ties broken at random).
local function approximate_mode(counts, n_draws)
  local total = 0
  for _, c in ipairs(counts) do total = total + c end
  local out, rem, need = {}, {}, n_draws
  for i, c in ipairs(counts) do
    local cont = c / total * n_draws
    out[i] = math.floor(cont)
    rem[i] = cont - out[i]
    need = need - out[i]
  end
  while need > 0 do
    local best = -1
    for i = 1, #counts do if rem[i] > best then best = rem[i] end end
    local tied = {}
    for i = 1, #counts do if rem[i] == best then tied[#tied + 1] = i end end
    local perm = ml.randperm(#tied):tolist()
    for j = 1, math.min(#tied, need) do
      local i = tied[perm[j]]
      out[i] = out[i] + 1
      rem[i] = -1
      need = need - 1
    end
  end
  return out
end

local StratifiedShuffleSplit = define("models.StratifiedShuffleSplit",
  "models.StratifiedShuffleSplit{n_splits=10, test_size, train_size, random_state} — random splits that keep each class's share",
  { { "n_splits", 10 }, { "test_size", nil }, { "train_size", nil }, { "random_state", nil } })
M.StratifiedShuffleSplit = StratifiedShuffleSplit
StratifiedShuffleSplit._check = ShuffleSplit._check

function StratifiedShuffleSplit:_split(fn, n, y)
  if y == nil then fail(fn .. ": StratifiedShuffleSplit needs y (the class labels)") end
  local n_train, n_test = shuffle_sizes(fn, n, self.test_size, self.train_size, 0.1)
  local codes, classes = labels.encode(fn, y)
  local K = #classes
  local members, counts = {}, {}
  for k = 1, K do
    members[k] = where(codes:eq(k))
    counts[k] = members[k]:numel()
    if counts[k] < 2 then
      fail(fmt("%s: the least populated class in y has only 1 member, which is too few; every class needs at least 2", fn))
    end
  end
  if n_train < K then fail(fmt("%s: the train size (%d) should be at least the number of classes (%d)", fn, n_train, K)) end
  if n_test < K then fail(fmt("%s: the test size (%d) should be at least the number of classes (%d)", fn, n_test, K)) end
  return seeded(self.random_state, function()
    local out = {}
    for s = 1, self.n_splits do
      local n_i = approximate_mode(counts, n_train)
      local left = {}
      for k = 1, K do left[k] = counts[k] - n_i[k] end
      local t_i = approximate_mode(left, n_test)
      local train, test = {}, {}
      for k = 1, K do
        local perm = members[k]:index_select(1, ml.randperm(counts[k]))
        if n_i[k] > 0 then train[#train + 1] = perm:narrow(1, 1, n_i[k]) end
        if t_i[k] > 0 then test[#test + 1] = perm:narrow(1, n_i[k] + 1, t_i[k]) end
      end
      train, test = ml.cat(train), ml.cat(test)
      out[s] = { train = train:index_select(1, ml.randperm(train:numel())), test = test:index_select(1, ml.randperm(test:numel())) }
    end
    return out
  end)
end

-- ---- TimeSeriesSplit ---------------------------------------------------------------------------

local TimeSeriesSplit = define("models.TimeSeriesSplit",
  "models.TimeSeriesSplit{n_splits=5, max_train_size, test_size, gap=0} — growing windows: train on the past, test on what follows",
  { { "n_splits", 5 }, { "max_train_size", nil }, { "test_size", nil }, { "gap", 0 } })
M.TimeSeriesSplit = TimeSeriesSplit

function TimeSeriesSplit:_check(fn)
  self.n_splits = check_n_splits(fn, self.n_splits)
  if self.max_train_size ~= nil then self.max_train_size = checks.integer(fn, "max_train_size", self.max_train_size, 1) end
  if self.test_size ~= nil then self.test_size = checks.integer(fn, "test_size", self.test_size, 1) end
  self.gap = checks.integer(fn, "gap", self.gap, 0)
end

function TimeSeriesSplit:_split(fn, n)
  local k = self.n_splits
  local test_size = self.test_size or n // (k + 1)
  if k + 1 > n then fail(fmt("%s: cannot have n_folds=%d (n_splits + 1) greater than the number of samples n_samples=%d", fn, k + 1, n)) end
  if n - self.gap - test_size * k <= 0 then
    fail(fmt("%s: too many splits=%d for n_samples=%d with test_size=%d and gap=%d", fn, k, n, test_size, self.gap))
  end
  local out = {}
  for s = 1, k do
    local test_start = n - k * test_size + (s - 1) * test_size -- 0-based
    local train_end = test_start - self.gap
    local first = 0
    if self.max_train_size and self.max_train_size < train_end then first = train_end - self.max_train_size end
    out[s] = { train = arange(first + 1, train_end), test = arange(test_start + 1, test_start + test_size) }
  end
  return out
end

-- ---- repeated splitters -------------------------------------------------------------------------

local function define_repeated(name, doc, inner)
  local cls = define(name, doc, { { "n_splits", 5 }, { "n_repeats", 10 }, { "random_state", nil } })
  function cls:_check(fn)
    self.n_splits = check_n_splits(fn, self.n_splits)
    self.n_repeats = checks.integer(fn, "n_repeats", self.n_repeats, 1)
    check_random_state(fn, self)
  end
  function cls:get_n_splits() return self.n_splits * self.n_repeats end
  function cls:_split(fn, n, y, groups)
    return seeded(self.random_state, function()
      local out = {}
      for _ = 1, self.n_repeats do
        local cv = inner { n_splits = self.n_splits, shuffle = true }
        for _, f in ipairs(cv:_split(fn, n, y, groups)) do out[#out + 1] = f end
      end
      return out
    end)
  end
  return cls
end

M.RepeatedKFold = define_repeated("models.RepeatedKFold",
  "models.RepeatedKFold{n_splits=5, n_repeats=10, random_state} — KFold repeated with a new shuffle each time", KFold)
M.RepeatedStratifiedKFold = define_repeated("models.RepeatedStratifiedKFold",
  "models.RepeatedStratifiedKFold{n_splits=5, n_repeats=10, random_state} — StratifiedKFold repeated with a new shuffle each time",
  StratifiedKFold)

--- splitters.check_cv(fn, cv, classifier, y) -> a splitter: an integer k (StratifiedKFold for classifiers, else KFold),
--- nil (5), a splitter object, or a list of {train, test} folds
function M.check_cv(fn, cv, classifier)
  if cv == nil then cv = 5 end
  if type(cv) == "number" then
    local k = checks.integer(fn, "cv", cv, 2)
    return classifier and StratifiedKFold { n_splits = k } or KFold { n_splits = k }
  end
  if type(cv) == "table" and type(cv.split) == "function" then return cv end
  if type(cv) == "table" and #cv > 0 and type(cv[1]) == "table" and cv[1].train and cv[1].test then
    local folds = cv
    return { split = function() return folds end, get_n_splits = function() return #folds end }
  end
  fail(fmt("%s: cv must be a number of folds, a splitter (models.KFold{...}) or a list of {train=, test=}, got %s", fn, checks.show(cv)))
end

do
  local doc = ml.doc
  doc(Splitter.split, "cv:split(X, [y], [groups]) -> {{train = int64, test = int64}, ...} — 1-based row indices of each split")
  doc(Splitter.get_n_splits, "cv:get_n_splits() -> integer — how many splits split returns")
  doc(Splitter.get_params, "cv:get_params() -> table — the splitter's options")
  doc(internal.n_rows, "splitters.n_rows(fn, X) -> integer — the rows of a tensor, frame, sparse matrix or list of rows")
  doc(M.check_cv, "splitters.check_cv(fn, cv, classifier) -> splitter — cv as a splitter (a number: StratifiedKFold for classifiers, KFold otherwise)")
end

return M
