--- data/loader.lua: data.loader: batches of tensors (gathered in C, a background thread) or of a dataset with get(i).
local ml = require "moonlab"
local class = require "moonlab.core.class"
local B = require "moonlab.data.base"
local C = ml._data
local fail, check_options, check_int, shape_str = B.fail, B.check_options, B.check_int, B.shape_str
local check_sources, dataset_len, permutation, check_seed = B.check_sources, B.dataset_len, B.permutation, B.check_seed
local is_tensor = ml.is_tensor
local checks = require "moonlab.core.checks"
local doc = ml.doc

local data = {}
local datasets = require "moonlab.data.datasets"
local TensorDataset, Subset, RowsDataset = datasets.TensorDataset, datasets.Subset, datasets.RowsDataset

local Loader = class.Object:extend("data.Loader")

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
  if type(ds.get) == "function" or type(ds.get_batch) == "function" then return { dataset = ds } end
  if ds[1] ~= nil then
    local list = {}
    local sparse = false
    for k, t in ipairs(ds) do list[k] = t; sparse = sparse or datasets.is_sparse(t) end
    if sparse then return { dataset = RowsDataset(table.unpack(list)) } end -- sparse rows: a batch at a time
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

local LOADER_OPTIONS = { "batch_size", "shuffle", "drop_last", "seed", "prefetch", "transform" }

-- The transform option: a prep.augment plan the C thread runs (self._c gets it), or a Lua callable
-- run on the caller's thread when a batch is handed out (kept in self._transform).
local function set_transform(self, fn, t)
  if t == nil then return end
  local mt = getmetatable(t)
  if type(t) ~= "function" and not (mt and mt.__call) then
    fail(string.format("%s: option 'transform' must be a prep.augment transform or a function, got %s", fn, type(t)))
  end
  local plan = type(t) == "table" and type(t._plan) == "function" and t:_plan() or nil
  if plan and self._c then
    B.call(C.loader_transform, self._c, plan)
  else
    self._transform = t
  end
end
data.loader = doc(function(dataset, opts)
  local fn = "data.loader"
  if type(dataset) == "table" and not is_tensor(dataset) and getmetatable(dataset) == nil then
    checks.no_options_in(fn, dataset, LOADER_OPTIONS)
  end
  opts = check_options(fn, opts, LOADER_OPTIONS)
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
    self._c = B.call(C.loader_new, r.sources, bs, self.drop_last, prefetch)
    self._indices = r.indices
    self.n = r.indices and r.indices:numel() or r.sources[1]:shape()[1]
  else
    self._ds = r.dataset
    self.n = dataset_len(fn, r.dataset)
  end
  set_transform(self, fn, opts.transform)
  self.batches = self.drop_last and self.n // bs or (self.n + bs - 1) // bs
  return self, nil, nil, self
end, "data.loader(dataset, [{batch_size=32, shuffle=false, drop_last=false, seed=, prefetch=, transform=}]) -> loader — "
  .. "batches of a tensor, {x, y}, {x=, y=} or a dataset with get(i); for x, y in loader do ... end; "
  .. "#loader batches; loader:iter() per epoch; transform: a prep.augment transform run on each batch's first tensor "
  .. "in the loader's thread (a Lua function runs on the caller's thread)")

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
    B.call(C.loader_start, self._c, order, self.epoch)
  else
    local rows_at_once = type(self._ds.get_batch) == "function"
    self._order = order and (rows_at_once and order or order:tolist()) or nil -- a tensor for get_batch
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

-- A dataset with get_batch(index) gives a whole batch from an int64 tensor of
-- its 1-based rows (a sparse matrix's rows, a frame's): no per-sample stacking.
local function next_batch_of_rows(self, start, stop)
  local fn = "data.loader"
  local idx
  if self._order then idx = self._order:narrow(1, start + 1, stop - start)
  else idx = ml.arange(start + 1, stop + 1) end
  local r = table.pack(pcall(self._ds.get_batch, self._ds, idx))
  if not r[1] then
    if type(r[2]) ~= "string" then error(r[2], 0) end
    fail(string.format("%s: dataset:get_batch(rows %d..%d of the epoch) failed: %s", fn, start + 1, stop, r[2]))
  end
  if r.n < 2 or r[2] == nil then fail(fn .. ": dataset:get_batch returned nothing; it must return the batch's values") end
  return table.unpack(r, 2, r.n)
end

local function next_dataset_batch(self)
  local fn = "data.loader"
  local start = self._pos * self.batch_size
  local stop = math.min(start + self.batch_size, self.n)
  if start >= self.n or (self.drop_last and stop - start < self.batch_size) then return nil end
  self._pos = self._pos + 1
  if type(self._ds.get_batch) == "function" then return next_batch_of_rows(self, start, stop) end
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
    if not is_keyed and n == 0 then
      fail(string.format("%s: dataset:get(%d) returned nothing; it must return the sample (values, or a table of them)", fn, i))
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

-- A Lua transform of the batch's first value, on this thread.
local function transformed(self, x, ...)
  local t = self._transform
  if t == nil or x == nil then return x, ... end
  return t(x), ...
end

function Loader:next()
  local c = self._c
  if c then -- the C loader keeps the epoch's state itself
    if not C.loader_active(c) then self:start() end
    return transformed(self, B.call(C.loader_next, c))
  end
  if not self._active then self:start() end
  return transformed(self, step(self, next_dataset_batch(self)))
end

-- The generic for calls loader(state, control): control is nil on the
-- first call of each loop, which starts a new epoch.
--
-- One loader runs one iteration at a time (the C loader is one background
-- pipeline). A loop over the loader inside a loop over the same loader
-- would restart the outer one's epoch: the outer loop notices, at its next
-- step, that the batch it is at is not the loader's last one, and stops
-- with an error instead of silently starting over.
local function remember(self, ...)
  self._last = (...)
  return ...
end

local loader_iter = C.loader_iter

-- With a Lua transform the loop's control is the transformed tensor: the C side checks the raw one.
local function transformed_step(self, x, ...)
  if x == nil then self._raw, self._out = nil, nil return nil end
  local out = self._transform(x)
  self._raw, self._out = x, out
  return out, ...
end

function Loader:__call(_, control)
  local c = self._c
  if c then -- over tensors: one C step per batch, which checks the nesting itself
    if control == nil then self:start() end
    if self._transform then
      if control ~= nil and rawequal(control, self._out) then control = self._raw end
      return transformed_step(self, loader_iter(c, control))
    end
    return loader_iter(c, control)
  end
  if control == nil then
    self:start()
  elseif not rawequal(control, self._last) then
    fail("data.loader: this loader is already being iterated (nested loops over one loader are not supported; "
      .. "make a second loader)")
  end
  return remember(self, self:next())
end

--- loader:stop() ends the current epoch early (a for loop's break does it through __close).
function Loader:stop()
  if self._c then return C.loader_stop(self._c) end -- a no-op when no epoch runs
  self._last = nil -- the last batch is not kept alive
  self._active = false
end

function Loader:__close() self:stop() end

--- loader:iter() -> the values of a generic for that runs one epoch and ends it on break.
-- (Its first value alone, the loader, is a complete iterator too.)
function Loader:iter() return self, nil, nil, self end

--- loader:set_epoch(k): the next epoch is number k (its seeded order), e.g. when resuming.
function Loader:set_epoch(k)
  self.epoch = check_int("data.loader:set_epoch", "the epoch", k, 1) - 1
end

--- loader:close() stops the background thread now (the collector does it otherwise).
function Loader:close()
  self:stop()
  if self._c then B.call(C.loader_free, self._c) end
end

doc(Loader.iter, "loader:iter() -> iterator — for x, y in loader:iter() do ... end runs one epoch; break ends it cleanly")
doc(Loader.next, "loader:next() -> batch... | nil — the next batch of the current epoch (starts one if none runs)")
doc(Loader.start, "loader:start() -> loader — begins a new epoch (for loops do this themselves)")
doc(Loader.stop, "loader:stop() — ends the current epoch early; the prepared batches are dropped")
doc(Loader.set_epoch, "loader:set_epoch(k) — the next epoch is number k (its seeded order), e.g. to resume")
doc(Loader.close, "loader:close() — stops the background thread now instead of at garbage collection")
doc(Loader, "data.Loader — what data.loader(dataset, [opts]) returns: for x, y in loader do ... end runs one epoch; #loader is the number of batches; fields n, batch_size, epoch")
data.Loader = Loader

return data
