--- data/splits.lua: seeded random partitions: random_split, split_indices.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local B = require "moonlab.data.base"
local fail, check_options, check_int = B.fail, B.check_options, B.check_int
local dataset_len, permutation, check_seed = B.dataset_len, B.permutation, B.check_seed
local is_tensor = ml.is_tensor
local doc = ml.doc

local data = {}
local Subset = require("moonlab.data.datasets").Subset

-- Split sizes from fractions (summing to 1) or sizes (summing to n).
local function split_sizes(fn, n, lengths)
  if type(lengths) ~= "table" or #lengths == 0 then
    fail(fn .. ": argument #2: expected a list of fractions or sizes")
  end
  local all_int, sum = true, 0
  for i, v in ipairs(lengths) do
    if type(v) ~= "number" or v < 0 or v ~= v then
      fail(string.format("%s: length %d must be a non-negative number, got %s", fn, i, tostring(v)))
    end
    if math.type(v) ~= "integer" then all_int = false end
    sum = sum + v
  end
  local sizes = {}
  if all_int and sum == n then
    for i, v in ipairs(lengths) do sizes[i] = v end
    return sizes
  end
  if all_int then fail(string.format("%s: sizes add up to %d, but there are %d samples", fn, sum, n)) end
  if math.abs(sum - 1) > 1e-6 then
    fail(string.format("%s: fractions add up to %g, expected 1 (or give integer sizes adding up to %d)", fn, sum, n))
  end
  local total = 0
  for i, f in ipairs(lengths) do sizes[i] = math.floor(n * f); total = total + sizes[i] end
  for i = 1, n - total do -- the rest, one each, round-robin (as PyTorch)
    local k = (i - 1) % #sizes + 1
    sizes[k] = sizes[k] + 1
  end
  return sizes
end

data.random_split = doc(function(what, lengths, opts)
  local fn = "data.random_split"
  opts = check_options(fn, opts, { "seed" })
  local seed = check_seed(fn, opts.seed)
  local n, ds
  if type(what) == "number" then n = check_int(fn, "n", what, 0)
  elseif type(what) == "table" and type(what.get) == "function" then ds, n = what, dataset_len(fn, what)
  else fail(fn .. ": argument #1: expected a number of samples or a dataset, got " .. type(what)) end
  local sizes = split_sizes(fn, n, lengths)
  local perm = permutation(n, seed, 0)
  local out, start = {}, 1
  for i, size in ipairs(sizes) do
    local idx = perm:narrow(1, start, size):clone()
    start = start + size
    out[i] = ds and Subset(ds, idx) or idx
  end
  return table.unpack(out, 1, #sizes)
end, "data.random_split(n | dataset, {fractions | sizes}, [{seed=}]) -> parts... — a random partition: "
  .. "1-based int64 index tensors for a number, data.Subset datasets for a dataset")

-- Sorted int64 tensor from a Lua list of integers.
local function sorted_index(list)
  local t = ml.tensor(#list > 0 and list or { 0 }, { dtype = "int64" })
  if #list == 0 then return t:narrow(1, 1, 0):clone() end
  return (t:sort())
end

data.split_indices = doc(function(n, fraction, opts)
  local fn = "data.split_indices"
  n = check_int(fn, "n", n, 0)
  opts = check_options(fn, opts, { "seed", "stratify" })
  if type(fraction) ~= "number" or not (fraction > 0 and fraction < 1) then
    fail(fn .. ": fraction must be a number between 0 and 1 (exclusive), got " .. tostring(fraction))
  end
  local seed = check_seed(fn, opts.seed)
  local nval = math.floor(n * fraction + 0.5)
  if nval == 0 or nval == n then
    fail(string.format("%s: a fraction of %g of %d samples leaves the %s set empty", fn, fraction, n,
      nval == 0 and "validation" or "training"))
  end
  local perm = permutation(n, seed, 0)
  local labels = opts.stratify
  if labels == nil then
    return (perm:narrow(1, nval + 1, n - nval):sort()), (perm:narrow(1, 1, nval):sort())
  end
  if type(labels) == "table" then labels = ml.tensor(labels) end
  if not is_tensor(labels) or labels:dim() ~= 1 then
    fail(fn .. ": option 'stratify' must be a 1-D tensor (or table) of labels")
  end
  if labels:numel() ~= n then
    fail(string.format("%s: option 'stratify' has %d labels for %d samples", fn, labels:numel(), n))
  end
  local ldt = labels:dtype()
  if ldt == "float32" or ldt == "float64" or ldt == "float16" or ldt == "bfloat16" then
    fail(string.format("%s: option 'stratify' needs integer class labels, got %s (each distinct float would be a class)", fn, ldt))
  end
  -- Members of each class in the order of one random permutation (itself a
  -- uniform shuffle of each class); each class gives floor(fraction * count)
  -- samples, and the leftover ones (so that the total is exactly nval) go to
  -- the classes with the largest remainders; among equals, in the order in
  -- which the permutation first meets the classes, so a seeded random order
  -- rather than the lowest labels.
  local lab, order = labels:tolist(), perm:tolist()
  local members, classes = {}, {}
  for _, i in ipairs(order) do
    local c = lab[i]
    local m = members[c]
    if not m then m = {}; members[c] = m; classes[#classes + 1] = c end
    m[#m + 1] = i
  end
  local take, rest, total = {}, {}, 0
  for k, c in ipairs(classes) do
    local q = #members[c] * fraction
    take[k] = math.floor(q)
    rest[#rest + 1] = { k = k, frac = q - take[k], size = #members[c] }
    total = total + take[k]
  end
  table.sort(rest, function(a, b)
    if a.frac ~= b.frac then return a.frac > b.frac end
    if a.size ~= b.size then return a.size > b.size end
    return a.k < b.k -- k: the order of first appearance in the seeded permutation
  end)
  for i = 1, nval - total do
    local r = rest[(i - 1) % #rest + 1]
    take[r.k] = take[r.k] + 1
  end
  local train, val = {}, {}
  for k, c in ipairs(classes) do
    for j, i in ipairs(members[c]) do
      if j <= take[k] then val[#val + 1] = i else train[#train + 1] = i end
    end
  end
  return sorted_index(train), sorted_index(val)
end, "data.split_indices(n, fraction, [{seed=, stratify=labels}]) -> train_idx, val_idx — a random "
  .. "(optionally stratified) split of 1..n, fraction going to validation; sorted 1-based int64 indices")

return data
