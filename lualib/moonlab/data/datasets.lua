--- data/datasets.lua: files and datasets: read_idx, fashion_mnist, TensorDataset, Subset.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local B = require "moonlab.data.base"
local C = ml._data
local fail, check_options, shape_str = B.fail, B.check_options, B.shape_str
local check_sources, dataset_len = B.check_sources, B.dataset_len
local is_tensor = ml.is_tensor
local doc = ml.doc

local data = {}

local function read_idx(path, opts)
  opts = check_options("data.read_idx", opts, { "scale" })
  if opts.scale ~= nil and type(opts.scale) ~= "number" then
    fail("data.read_idx: option 'scale' must be a number, got " .. type(opts.scale))
  end
  require("moonlab.track.run").note_data(path) -- a tracked run hashes the files it reads (those read before it opened too)
  return B.call(C.read_idx, path, opts.scale)
end
data.read_idx = doc(read_idx, "data.read_idx(path, [{scale=}]) -> tensor — reads an IDX file (the MNIST format), "
  .. "gzipped or not: u8/i8/i16/i32 give int64, f32 float32, f64 float64; with scale, float32 values * scale")

local FASHION_DIR = "/usr/share/datasets/fashion-mnist"
local FASHION_CLASSES = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" }

local lfs = require "lfs"
local MODE_NAMES = { ["named pipe"] = "a FIFO", socket = "a socket", directory = "a directory",
  ["char device"] = "a character device", ["block device"] = "a block device", link = "a link" }

-- Whether p is a regular file, looked up without opening it (opening a FIFO blocks); the mode of
-- something else found there as the second value.
local function file_exists(p)
  local mode = lfs.attributes(p, "mode")
  return mode == "file", mode
end

data.fashion_mnist = doc(function(opts)
  opts = check_options("data.fashion_mnist", opts, { "dir" })
  local dir = opts.dir or FASHION_DIR
  if type(dir) ~= "string" then fail("data.fashion_mnist: option 'dir' must be a string, got " .. type(dir)) end
  local function find(name)
    local other
    for _, p in ipairs({ dir .. "/" .. name .. ".gz", dir .. "/" .. name }) do
      local is_file, mode = file_exists(p)
      if is_file then return p end
      if mode and not other then other = { p, mode } end
    end
    if other then
      fail(string.format("data.fashion_mnist: '%s' is not a regular file (%s)", other[1], MODE_NAMES[other[2]] or other[2]))
    end
    fail(string.format("data.fashion_mnist: files not found in %s (no %s.gz); install the Debian package "
      .. "dataset-fashion-mnist (make deps does)", dir, name))
  end
  local sets = {}
  for _, split in ipairs({ "train", "t10k" }) do
    local xp, yp = find(split .. "-images-idx3-ubyte"), find(split .. "-labels-idx1-ubyte")
    do local tr = require("moonlab.track.run"); tr.note_data(xp); tr.note_data(yp) end -- a tracked run hashes the files it reads
    local x = B.call(C.read_idx, xp, 1 / 255)
    local y = B.call(C.read_idx, yp)
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

local Dataset = class.Object

local TensorDataset = Dataset:extend("data.TensorDataset", "data.TensorDataset(x, [y, ...]) -> dataset — samples are rows: "
  .. "get(i) returns x[i], y[i], ...; #ds is the number of rows; data.loader batches it in C")

function TensorDataset:init(...)
  local list = table.pack(...)
  if list.n == 0 then fail("data.TensorDataset: expected at least one tensor") end
  local tensors = {}
  for k = 1, list.n do tensors[k] = list[k] end
  self.n = check_sources("data.TensorDataset", tensors)
  self.tensors = tensors
end
function TensorDataset:__len() return self.n end
--- ds:len() -> the number of samples
function TensorDataset:len() return self.n end
--- ds:get(i) -> x[i], y[i], ...
function TensorDataset:get(i)
  if math.type(i) ~= "integer" then
    fail(string.format("data.TensorDataset:get: the index must be an integer in 1..%d, got %s", self.n, checks.show(i)))
  end
  if i < 1 or i > self.n then
    fail(string.format("data.TensorDataset:get: index %d is out of range 1..%d (samples are 1-based)", i, self.n))
  end
  local out = {}
  for k, t in ipairs(self.tensors) do out[k] = t:select(1, i) end
  return table.unpack(out, 1, #self.tensors)
end
function TensorDataset:extra_repr()
  local parts = {}
  for k, t in ipairs(self.tensors) do parts[k] = shape_str(t) end
  return table.concat(parts, ", ")
end
doc(TensorDataset.get, "ds:get(i) -> x[i], y[i], ... — sample i: row i of each tensor")
doc(TensorDataset.len, "ds:len() -> n — the number of samples (rows), also #ds")
doc(TensorDataset.init, "data.TensorDataset.init(self, x, [y, ...]) — the constructor: checks the tensors share their first size")

local Subset = Dataset:extend("data.Subset", "data.Subset(dataset, indices) -> dataset — the samples of dataset at the given "
  .. "1-based indices: subset:get(i) is dataset:get(indices[i]); #subset samples")

function Subset:init(dataset, indices)
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
  self.dataset, self.indices, self.n = dataset, indices, indices:numel()
end
function Subset:__len() return self.n end
--- subset:len() -> the number of samples
function Subset:len() return self.n end
--- subset:get(i) -> dataset:get(indices[i])
function Subset:get(i)
  if math.type(i) ~= "integer" or i < 1 or i > self.n then
    fail(string.format("data.Subset:get: index %s is out of range 1..%d", tostring(i), self.n))
  end
  return self.dataset:get(self.indices[i])
end
function Subset:extra_repr() return string.format("%d of %s", self.n, tostring(self.dataset)) end
doc(Subset.get, "subset:get(i) -> sample — the dataset's sample at indices[i]")
doc(Subset.len, "subset:len() -> n — the number of samples (indices), also #subset")
doc(Subset.init, "data.Subset.init(self, dataset, indices) — the constructor: checks the indices against the dataset's length")

-- Rows of tensors and ml.sparse matrices, taken a batch at a time
-- (get_batch): what data.loader and fit use for a sparse X, such as TF-IDF.
-- ml.sparse.is, without loading ml.sparse: until it is loaded, nothing is sparse.
local function is_sparse(v)
  local sparse = package.loaded["moonlab.sparse"]
  return type(v) == "table" and sparse ~= nil and sparse.is(v)
end
data.is_sparse = doc(is_sparse, "data.is_sparse(v) -> boolean — whether v is an ml.sparse CSR matrix")

local RowsDataset = Dataset:extend("data.RowsDataset", "data.RowsDataset(a, [b, ...]) -> dataset — rows of tensors and "
  .. "ml.sparse matrices with the same number of rows; data.loader takes a batch at a time (get_batch), so a sparse X "
  .. "(TF-IDF) trains without densifying")

function RowsDataset:init(...)
  local fn = "data.RowsDataset"
  local parts = table.pack(...)
  if parts.n == 0 then fail(fn .. ": expected at least one tensor or sparse matrix") end
  local n
  for i = 1, parts.n do
    local p = parts[i]
    local rows
    if is_tensor(p) then
      if p:dim() == 0 then fail(string.format("%s: part %d is a 0-d tensor; parts need a rows dimension", fn, i)) end
      rows = p:size(1)
    elseif is_sparse(p) then rows = p.shape[1]
    else fail(string.format("%s: part %d is a %s; expected a tensor or an ml.sparse matrix", fn, i, type(p))) end
    if n and rows ~= n then fail(string.format("%s: part %d has %d rows, part 1 has %d", fn, i, rows, n)) end
    n = n or rows
  end
  self.parts, self.n = parts, n
end

function RowsDataset:__len() return self.n end

--- ds:get_batch(index) -> the rows at index (1-based int64) of every part
function RowsDataset:get_batch(index)
  local out = {}
  for i = 1, self.parts.n do
    local p = self.parts[i]
    out[i] = is_tensor(p) and p:index_select(1, index) or p:rows(index)
  end
  return table.unpack(out, 1, self.parts.n)
end

--- ds:get(i) -> row i of every part (sparse parts as 1-row matrices)
function RowsDataset:get(i)
  return self:get_batch(ml.tensor({ i }, { dtype = "int64" }))
end

ml.doc(RowsDataset.get_batch, "ds:get_batch(index) -> parts — the rows at index (1-based int64) of every part; sparse parts stay sparse")
ml.doc(RowsDataset.get, "ds:get(i) -> parts — row i of every part (a sparse part as a 1-row matrix)")

data.TensorDataset, data.Subset, data.RowsDataset = TensorDataset, Subset, RowsDataset

return data
