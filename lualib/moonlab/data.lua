--- moonlab.data (ml.data): datasets and batches.
--
--   local train, test = data.fashion_mnist()            -- {x = float32 [N,28,28] in [0,1], y = int64 [N] in 1..10}
--   for x, y in data.loader({train.x, train.y}, {batch_size = 128, shuffle = true}) do ... end
--   local dl = data.loader(train, {batch_size = 128, shuffle = true, seed = 1})
--   for epoch = 1, 10 do for x, y in dl:iter() do ... end end
--
-- Tensors are batched in C (runtime/data/loader.c): the rows of the next
-- batches are gathered in a background thread while the current batch
-- trains. Dataset objects (anything with `get(i)` and a length) are batched
-- here, sequentially, by stacking their samples.
--
-- Shuffling is reproducible: with `seed`, epoch k's order depends only on
-- (seed, k); without one, each epoch draws ml.randperm from the global
-- generator, so the same ml.seed gives the same orders.
local ml = require "moonlab"
local C = ml._data

local data = {}

-- Errors point at the user's line: the first caller outside this file.
local THIS = debug.getinfo(1, "S").source
local function fail(msg)
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info or info.source ~= THIS then break end
    level = level + 1
  end
  error(msg, level)
end

-- The C functions' errors carry this file's position (luaL_error's "where"
-- is their caller): relay them from the user's line instead.
local SRC = debug.getinfo(1, "S").short_src
local function relay(ok, ...)
  if ok then return ... end
  local msg = tostring((...))
  if msg:sub(1, #SRC + 1) == SRC .. ":" then msg = msg:gsub("^[^:]*:%d+: ", "", 1) end
  fail(msg)
end

local function doc(f, text)
  if ml.doc then ml.doc(f, text) end
  return f
end

local is_tensor = ml.is_tensor

local function check_options(fn, opts, known, argn)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    fail(string.format("%s: argument #%d: expected an options table, got %s", fn, argn, type(opts)))
  end
  for k in pairs(opts) do
    local ok = false
    for _, name in ipairs(known) do if k == name then ok = true end end
    if not ok then
      fail(string.format("%s: unknown option '%s' (known: %s)", fn, tostring(k), table.concat(known, ", ")))
    end
  end
  return opts
end

local function check_int(fn, what, v, min)
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v) and v == v and math.abs(v) < 2^53) then
    fail(string.format("%s: %s must be an integer, got %s", fn, what, type(v) == "number" and tostring(v) or type(v)))
  end
  v = math.tointeger(v)
  if min and v < min then fail(string.format("%s: %s must be at least %d, got %d", fn, what, min, v)) end
  return v
end

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

-- ---------------------------------------------------------------------------
-- Files

local function read_idx(path, opts)
  opts = check_options("data.read_idx", opts, { "scale" }, 2)
  if opts.scale ~= nil and type(opts.scale) ~= "number" then
    fail("data.read_idx: option 'scale' must be a number, got " .. type(opts.scale))
  end
  return relay(pcall(C.read_idx, path, opts.scale))
end
data.read_idx = doc(read_idx, "data.read_idx(path, [{scale=}]) -> tensor — reads an IDX file (the MNIST format), "
  .. "gzipped or not: u8/i8/i16/i32 give int64, f32 float32, f64 float64; with scale, float32 values * scale")

local FASHION_DIR = "/usr/share/datasets/fashion-mnist"
local FASHION_CLASSES = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" }

local function file_exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

data.fashion_mnist = doc(function(opts)
  opts = check_options("data.fashion_mnist", opts, { "dir" }, 1)
  local dir = opts.dir or FASHION_DIR
  if type(dir) ~= "string" then fail("data.fashion_mnist: option 'dir' must be a string, got " .. type(dir)) end
  local function find(name)
    for _, p in ipairs({ dir .. "/" .. name .. ".gz", dir .. "/" .. name }) do
      if file_exists(p) then return p end
    end
    fail(string.format("data.fashion_mnist: files not found in %s (no %s.gz); install the Debian package "
      .. "dataset-fashion-mnist (make deps does)", dir, name))
  end
  local sets = {}
  for _, split in ipairs({ "train", "t10k" }) do
    local xp, yp = find(split .. "-images-idx3-ubyte"), find(split .. "-labels-idx1-ubyte")
    local x = relay(pcall(C.read_idx, xp, 1 / 255))
    local y = relay(pcall(C.read_idx, yp))
    if x:dim() ~= 3 or y:dim() ~= 1 or x:shape()[1] ~= y:shape()[1] then
      fail(string.format("data.fashion_mnist: '%s' %s and '%s' %s do not match", xp, shape_str(x), yp, shape_str(y)))
    end
    y:add_(1) -- the files hold 0..9; moonlab's class indices are 1-based
    sets[#sets + 1] = { x = x, y = y, classes = FASHION_CLASSES }
  end
  return sets[1], sets[2]
end, "data.fashion_mnist([{dir=}]) -> train, test — Fashion-MNIST from Debian's dataset-fashion-mnist: "
  .. "{x = float32 [N,28,28] in [0,1], y = int64 [N] in 1..10, classes = {names}}")

-- ---------------------------------------------------------------------------
-- Datasets

local TensorDataset = { __name = "data.TensorDataset" }
TensorDataset.__index = TensorDataset
function TensorDataset:__len() return self.n end
function TensorDataset:len() return self.n end
function TensorDataset:get(i)
  local out = {}
  for k, t in ipairs(self.tensors) do out[k] = t:select(1, i) end
  return table.unpack(out, 1, #self.tensors)
end
function TensorDataset:__tostring()
  local parts = {}
  for k, t in ipairs(self.tensors) do parts[k] = shape_str(t) end
  return "data.TensorDataset(" .. table.concat(parts, ", ") .. ")"
end

-- Sources of a list of tensors: checks they are tensors with one common first size.
local function check_sources(fn, list, names)
  local n
  for k, t in ipairs(list) do
    local name = names and names[k] or ("tensor " .. k)
    if not is_tensor(t) then fail(string.format("%s: %s is a %s, expected a tensor", fn, name, type(t))) end
    if t:dim() == 0 then fail(string.format("%s: %s is 0-d; it needs a first dimension of samples", fn, name)) end
    local rows = t:shape()[1]
    if n == nil then n = rows
    elseif rows ~= n then
      local first = names and names[1] or "tensor 1"
      fail(string.format("%s: %s has %d samples (first dimension) but %s has %d", fn, first, n, name, rows))
    end
  end
  return n
end

data.TensorDataset = doc(function(...)
  local list = table.pack(...)
  if list.n == 0 then fail("data.TensorDataset: expected at least one tensor") end
  local tensors = {}
  for k = 1, list.n do tensors[k] = list[k] end
  local n = check_sources("data.TensorDataset", tensors)
  return setmetatable({ tensors = tensors, n = n }, TensorDataset)
end, "data.TensorDataset(x, [y, ...]) -> dataset — samples are rows: get(i) returns x[i], y[i], ...; "
  .. "#ds is the number of rows; data.loader batches it in C")

local Subset = { __name = "data.Subset" }
Subset.__index = Subset
function Subset:__len() return self.n end
function Subset:len() return self.n end
function Subset:get(i)
  if math.type(i) ~= "integer" or i < 1 or i > self.n then
    fail(string.format("data.Subset:get: index %s is out of range 1..%d", tostring(i), self.n))
  end
  return self.dataset:get(self.indices[i])
end
function Subset:__tostring() return string.format("data.Subset(%d of %s)", self.n, tostring(self.dataset)) end

local function dataset_len(fn, ds)
  local mt = getmetatable(ds)
  if mt and mt.__len then return check_int(fn, "#dataset", #ds, 0) end
  if type(ds.len) == "function" then return check_int(fn, "dataset:len()", ds:len(), 0) end
  fail(fn .. ": the dataset has get(i) but no length: give it a __len metamethod or a len() method")
end

data.Subset = doc(function(dataset, indices)
  if type(dataset) ~= "table" or type(dataset.get) ~= "function" then
    fail("data.Subset: argument #1: expected a dataset (with get(i)), got " .. type(dataset))
  end
  if type(indices) == "table" then indices = ml.tensor(indices, { dtype = "int64" }) end
  if not is_tensor(indices) or indices:dtype() ~= "int64" or indices:dim() ~= 1 then
    fail("data.Subset: argument #2: expected 1-D int64 indices (1-based) or a table of integers")
  end
  local n = dataset_len("data.Subset", dataset)
  if indices:numel() > 0 then
    local lo, hi = indices:min():item(), indices:max():item()
    if lo < 1 or hi > n then
      fail(string.format("data.Subset: index %d is out of range 1..%d", lo < 1 and lo or hi, n))
    end
  end
  return setmetatable({ dataset = dataset, indices = indices, n = indices:numel() }, Subset)
end, "data.Subset(dataset, indices) -> dataset — the samples of dataset at the given 1-based indices")

-- ---------------------------------------------------------------------------
-- Seeded permutations and splits

-- A permutation of 1..n: from (seed, stream) when seeded, else the global generator.
local function permutation(n, seed, stream)
  if seed ~= nil then return relay(pcall(C.randperm, n, seed, stream or 0)) end
  return ml.randperm(n)
end

local function check_seed(fn, seed)
  if seed == nil then return nil end
  return check_int(fn, "option 'seed'", seed)
end

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
  opts = check_options(fn, opts, { "seed" }, 3)
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
    out[i] = ds and data.Subset(ds, idx) or idx
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
  opts = check_options(fn, opts, { "seed", "stratify" }, 3)
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

-- ---------------------------------------------------------------------------
-- The loader

local Loader = { __name = "data.Loader" }
Loader.__index = Loader

-- What the dataset argument is. Tensor-backed datasets give
-- {sources = {tensors}, indices = int64 or nil, names = ...}; others {dataset = ds}.
local function resolve(fn, ds)
  if is_tensor(ds) then
    check_sources(fn, { ds })
    return { sources = { ds } }
  end
  if type(ds) ~= "table" then
    fail(string.format("%s: argument #1: expected a tensor, a list of tensors, {x=, y=} or a dataset, got %s",
      fn, type(ds)))
  end
  local mt = getmetatable(ds)
  if mt == TensorDataset then return { sources = ds.tensors } end
  if mt == Subset then
    local inner = resolve(fn, ds.dataset)
    if inner.sources then
      inner.indices = inner.indices and inner.indices:index_select(1, ds.indices) or ds.indices
      return inner
    end
    return { dataset = ds }
  end
  if type(ds.get) == "function" then return { dataset = ds } end
  if ds[1] ~= nil then
    local list = {}
    for k, t in ipairs(ds) do list[k] = t end
    check_sources(fn, list)
    return { sources = list }
  end
  if ds.x ~= nil then
    local list, names = { ds.x }, { "x" }
    if ds.y ~= nil then list[2], names[2] = ds.y, "y" end
    check_sources(fn, list, names)
    return { sources = list }
  end
  fail(fn .. ": argument #1: a table that is neither a list of tensors, {x=, y=}, nor a dataset with get(i)")
end

data.loader = doc(function(dataset, opts)
  local fn = "data.loader"
  opts = check_options(fn, opts, { "batch_size", "shuffle", "drop_last", "seed", "prefetch" }, 2)
  local bs = check_int(fn, "option 'batch_size'", opts.batch_size or 32, 1)
  for _, k in ipairs({ "shuffle", "drop_last" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "boolean" then
      fail(string.format("%s: option '%s' must be a boolean, got %s", fn, k, type(opts[k])))
    end
  end
  local prefetch = opts.prefetch ~= nil and check_int(fn, "option 'prefetch'", opts.prefetch, 0) or nil
  local r = resolve(fn, dataset)
  local self = setmetatable({
    batch_size = bs, shuffle = opts.shuffle or false, drop_last = opts.drop_last or false,
    seed = check_seed(fn, opts.seed), epoch = 0, dataset = dataset,
  }, Loader)
  if r.sources then
    self._c = relay(pcall(C.loader_new, r.sources, bs, self.drop_last, prefetch))
    self._indices = r.indices
    self.n = r.indices and r.indices:numel() or r.sources[1]:shape()[1]
  else
    self._ds = r.dataset
    self.n = dataset_len(fn, r.dataset)
  end
  self.batches = self.drop_last and self.n // bs or (self.n + bs - 1) // bs
  return self, nil, nil, self
end, "data.loader(dataset, [{batch_size=32, shuffle=false, drop_last=false, seed=, prefetch=}]) -> loader — "
  .. "batches of a tensor, {x, y}, {x=, y=} or a dataset with get(i); for x, y in loader do ... end; "
  .. "#loader batches; loader:iter() per epoch")

function Loader:__len() return self.batches end

function Loader:__tostring()
  return string.format("data.Loader(%d samples, %d batches of %d%s%s)", self.n, self.batches, self.batch_size,
    self.shuffle and ", shuffled" or "", self.drop_last and ", drop_last" or "")
end

-- This epoch's order of samples: nil (all, in order) or 1-based int64.
local function epoch_order(self)
  local perm
  if self.shuffle then perm = permutation(self.n, self.seed, self.epoch) end
  if self._indices then return perm and self._indices:index_select(1, perm) or self._indices end
  return perm
end

--- loader:start() begins a new epoch (ending the current one); for loops call it for you.
function Loader:start()
  self.epoch = self.epoch + 1
  local order = epoch_order(self)
  if self._c then
    relay(pcall(C.loader_start, self._c, order))
  else
    self._order = order and order:tolist() or nil
    self._pos = 0
  end
  self._active = true
  return self
end

-- One sample's parts: multiple results, or one table of them (array or keyed).
local function sample_parts(ds, i)
  local r = table.pack(ds:get(i))
  if r.n == 1 and type(r[1]) == "table" then
    local t = r[1]
    if t[1] ~= nil or next(t) == nil then return t, #t, false end
    return t, nil, true
  end
  return r, r.n, false
end

-- A position in a message: "file.lua:12: rest" -> "file.lua:12", "rest".
local function split_location(msg)
  return msg:match("^([^%s:][^\n:]*:%d+): (.*)$")
end

-- Batch k's column `what` from the samples list (their dataset indices in idx).
local function collate(fn, list, what, idx)
  local first = list[1]
  if is_tensor(first) then
    local ok, out = pcall(ml.stack, list)
    if ok then return out end
    local s1 = shape_str(first)
    for j = 2, #list do
      local t = list[j]
      if not is_tensor(t) then
        fail(string.format("%s: %s is a tensor in dataset:get(%d) but a %s in dataset:get(%d)", fn, what, idx[1],
          type(t), idx[j]))
      end
      if shape_str(t) ~= s1 then
        fail(string.format("%s: %s has shape %s in dataset:get(%d) but %s in dataset:get(%d); the samples of a batch "
          .. "must have one shape to be stacked", fn, what, s1, idx[1], shape_str(t), idx[j]))
      end
      if t:dtype() ~= first:dtype() then
        fail(string.format("%s: %s is %s in dataset:get(%d) but %s in dataset:get(%d)", fn, what, first:dtype(), idx[1],
          t:dtype(), idx[j]))
      end
    end
    local _, rest = split_location(tostring(out))
    fail(string.format("%s: cannot stack %s of dataset:get(%d..): %s", fn, what, idx[1], rest or tostring(out)))
  end
  local ty = type(first)
  if ty == "number" or ty == "boolean" then
    for i = 2, #list do
      if type(list[i]) ~= ty then
        fail(string.format("%s: %s is a %s in dataset:get(%d) and a %s in dataset:get(%d)", fn, what, ty, idx[1],
          type(list[i]), idx[i]))
      end
    end
    return ml.tensor(list)
  end
  return list -- strings, tables: a plain list, as PyTorch's collate does
end

local function next_dataset_batch(self)
  local fn = "data.loader"
  local start = self._pos * self.batch_size
  local stop = math.min(start + self.batch_size, self.n)
  if start >= self.n or (self.drop_last and stop - start < self.batch_size) then return nil end
  self._pos = self._pos + 1
  local cols, keyed, width = {}, false, nil
  local idx = {}
  for j = start + 1, stop do
    local i = self._order and self._order[j] or j
    idx[#idx + 1] = i
    local ok, parts, n, is_keyed = pcall(sample_parts, self._ds, i)
    if not ok then
      -- the dataset's own error, with the index; its position (in the dataset's code) is kept
      if type(parts) ~= "string" then error(parts, 0) end
      if split_location(parts) then error(string.format("%s: dataset:get(%d) failed: %s", fn, i, parts), 0) end
      fail(string.format("%s: dataset:get(%d) failed: %s", fn, i, parts))
    end
    if width == nil then width, keyed = n, is_keyed end
    if is_keyed ~= keyed or n ~= width then
      fail(string.format("%s: dataset:get(%d) returned a different structure than the first sample", fn, i))
    end
    if keyed then
      for k, v in pairs(parts) do
        cols[k] = cols[k] or {}
        cols[k][#cols[k] + 1] = v
      end
    else
      for k = 1, n do
        if parts[k] == nil then fail(string.format("%s: dataset:get(%d) returned nil in position %d", fn, i, k)) end
        cols[k] = cols[k] or {}
        cols[k][#cols[k] + 1] = parts[k]
      end
    end
  end
  if keyed then
    local out = {}
    for k, list in pairs(cols) do out[k] = collate(fn, list, "field '" .. tostring(k) .. "'", idx) end
    return out
  end
  local out = {}
  for k = 1, width do out[k] = collate(fn, cols[k], "value " .. k, idx) end
  return table.unpack(out, 1, width)
end

--- loader:next() -> the next batch of the current epoch (starting one if none runs), or nil at its end.
local function step(self, ...)
  if select("#", ...) == 0 or (...) == nil then self._active = false end
  return ...
end

function Loader:next()
  if not self._active then self:start() end
  if self._c then return step(self, relay(pcall(C.loader_next, self._c))) end
  return step(self, next_dataset_batch(self))
end

-- The generic for calls loader(state, control): control is nil on the
-- first call of each loop, which starts a new epoch.
function Loader:__call(_, control)
  if control == nil then self:start() end
  return self:next()
end

--- loader:stop() ends the current epoch early (a for loop's break does it through __close).
function Loader:stop()
  if self._active then
    self._active = false
    if self._c then relay(pcall(C.loader_stop, self._c)) end
  end
end

function Loader:__close() self:stop() end

--- loader:iter() -> the values of a generic for that runs one epoch and ends it on break.
function Loader:iter() return self, nil, nil, self end

--- loader:set_epoch(k): the next epoch is number k (its seeded order), e.g. when resuming.
function Loader:set_epoch(k)
  self.epoch = check_int("data.loader:set_epoch", "the epoch", k, 1) - 1
end

--- loader:close() stops the background thread now (the collector does it otherwise).
function Loader:close()
  self:stop()
  if self._c then relay(pcall(C.loader_free, self._c)) end
end

doc(Loader.iter, "loader:iter() -> iterator — for x, y in loader:iter() do ... end runs one epoch; break ends it cleanly")
doc(Loader.next, "loader:next() -> batch... | nil — the next batch of the current epoch (starts one if none runs)")
doc(Loader.start, "loader:start() -> loader — begins a new epoch (for loops do this themselves)")
doc(Loader.stop, "loader:stop() — ends the current epoch early; the prepared batches are dropped")
doc(Loader.set_epoch, "loader:set_epoch(k) — the next epoch is number k (its seeded order), e.g. to resume")
doc(Loader.close, "loader:close() — stops the background thread now instead of at garbage collection")
doc(Loader, "data.Loader — what data.loader(dataset, [opts]) returns: for x, y in loader do ... end runs one epoch; #loader is the number of batches; fields n, batch_size, epoch")
doc(TensorDataset, "data.TensorDataset — what data.TensorDataset(x, [y, ...]) returns: ds:get(i) -> x[i], y[i], ...; #ds rows")
doc(TensorDataset.get, "ds:get(i) -> x[i], y[i], ... — sample i: row i of each tensor")
doc(TensorDataset.len, "ds:len() -> n — the number of samples (rows), also #ds")
doc(Subset, "data.Subset — what data.Subset(dataset, indices) returns: subset:get(i) is dataset:get(indices[i]); #subset samples")
doc(Subset.get, "subset:get(i) -> sample — the dataset's sample at indices[i]")
doc(Subset.len, "subset:len() -> n — the number of samples (indices), also #subset")
doc(data, "ml.data — datasets and batches: data.loader (batched in C, a background thread), TensorDataset, Subset, random_split, split_indices, read_idx, fashion_mnist")
data.Loader = Loader

return data
