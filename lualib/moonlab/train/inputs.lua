--- train.inputs: what fit, evaluate and predict take as data, the validation
-- set (split off or given) and the batches.
--
-- A data argument is X, y (two tensors), {X, y}, {x = X, y = y} (what
-- data.fashion_mnist() returns) or a dataset: anything with get(i) and a
-- length (#ds or ds:len()), as data.loader takes.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local strip = require("moonlab.core.persist").strip

local fmt = string.format
local is_tensor = ml.is_tensor
-- A sparse X (ml.sparse CSR, TF-IDF's output) trains and predicts a batch of rows at a time.
local function is_sparse(v) return ml.data.is_sparse(v) end

-- Rows of X by index (int64, 1-based) or range, for a tensor or a sparse matrix.
local function take_rows(X, index) return is_tensor(X) and X:index_select(1, index) or X:rows(index) end
local M = {}
M.is_sparse = is_sparse

--- inputs.rows(t) -> the size of t's first dimension (1 for a scalar)
function M.rows(t)
  if not is_tensor(t) and is_sparse(t) then return t.shape[1] end
  return t:dim() == 0 and 1 or t:shape()[1]
end
local rows = M.rows

local function is_dataset(v) return type(v) == "table" and type(v.get) == "function" end

--- inputs.dataset_len(fn, ds) -> the number of samples of a dataset (#ds or ds:len())
function M.dataset_len(fn, ds)
  local mt = getmetatable(ds)
  local n
  if mt and mt.__len then n = #ds elseif type(ds.len) == "function" then n = ds:len() end
  if math.type(n) ~= "integer" or n < 0 then
    checks.fail(fn .. ": the dataset has get(i) but no length: give it a __len metamethod or a len() method")
  end
  return n
end

--- inputs.as_data(v) -> X, y | nil, nil, dataset | nil: one data argument in the forms fit takes
function M.as_data(v)
  if type(v) ~= "table" or is_tensor(v) then return nil end
  if is_dataset(v) then return nil, nil, v end
  if (is_tensor(v[1]) or is_sparse(v[1])) and is_tensor(v[2]) then return v[1], v[2] end
  if is_tensor(v.x) and is_tensor(v.y) then return v.x, v.y end
  if is_tensor(v.X) and is_tensor(v.y) then return v.X, v.y end
  return nil
end

local FORMS = "X, y (two tensors), {X, y}, {x = X, y = y} or a dataset with get(i) and a length"

--- inputs.parse(fn, a, b, c, options) -> X, y, opts, dataset: fit(X, y, opts) | fit({X, y} | {x=, y=} | dataset, opts);
-- a data table holding one of the option names is an error (options go in the second argument)
function M.parse(fn, a, b, c, options)
  if is_tensor(a) or is_sparse(a) then return a, b, c, nil end
  local X, y, ds = M.as_data(a)
  if X then checks.no_options_in(fn, a, options) end
  if X or ds then return X, y, b, ds end
  checks.fail(fmt("%s: expected %s; got %s", fn, FORMS, type(a) == "table" and "a table of neither form" or type(a)))
end

--- inputs.check_xy(fn, X, y, what): two tensors with the same, non-zero number of rows
function M.check_xy(fn, X, y, what)
  if not is_tensor(X) and not is_sparse(X) then
    checks.fail(fmt("%s: %sX must be a tensor (or an ml.sparse matrix), got %s", fn, what, type(X)))
  end
  if not is_tensor(y) then checks.fail(fmt("%s: %sy must be a tensor, got %s", fn, what, type(y))) end
  if X:dim() == 0 or y:dim() == 0 then checks.fail(fmt("%s: %sX and y need a first (rows) dimension", fn, what)) end
  if rows(X) ~= rows(y) then
    checks.fail(fmt("%s: %sX has %d rows but y has %d (they must match)", fn, what, rows(X), rows(y)))
  end
  if rows(X) == 0 then checks.fail(fmt("%s: %sX has no rows", fn, what)) end
end

-- ---- validation ------------------------------------------------------------------

-- Validation split: {train_idx, val_idx} (sorted int64), or nil for "last"; and the validation size.
local function split_rows(n, frac, mode, seed, y)
  local nval = math.floor(n * frac + 0.5)
  if nval < 1 or nval >= n then
    checks.fail(fmt("fit: validation_split %g of %d rows leaves the %s set empty", frac, n, nval < 1 and "validation" or "training"))
  end
  if mode == "last" then return nil, nval end
  local opts = { seed = seed }
  if mode == "stratified" then
    if not (y:dim() == 1 or (y:dim() == 2 and y:shape()[2] == 1)) then
      checks.fail("fit: validation_split_mode 'stratified' needs one label per row, y is " .. format.shape(y))
    end
    if y:dtype() == "float32" or y:dtype() == "float64" then
      checks.fail(fmt("fit: validation_split_mode 'stratified' needs integer class labels, got %s targets", y:dtype()))
    end
    opts.stratify = y:reshape(-1)
  end
  local ok, tr, va = pcall(ml.data.split_indices, n, frac, opts)
  if not ok then checks.fail("fit: " .. strip(tr)) end
  return { tr, va }, va:numel()
end

local function percent(f)
  local pct = f * 100
  return pct == math.floor(pct) and fmt("%d", pct) or fmt("%g", pct)
end

--- inputs.split(X, y, frac, mode, seed) -> val {X, y, desc}, train_idx | nil, ntrain: the validation split of fit
function M.split(X, y, frac, mode, seed)
  local N = rows(X)
  local idx, nval = split_rows(N, frac, mode, seed, y)
  local val = {}
  if idx then
    val.X, val.y = take_rows(X, idx[2]), y:index_select(1, idx[2])
  else
    val.X, val.y = X:narrow(1, N - nval + 1, nval), y:narrow(1, N - nval + 1, nval)
  end
  val.desc = fmt("%s %s%% split%s, %d samples", mode, percent(frac),
    mode == "last" and " (the last rows)" or fmt(" (seed %d)", seed), nval)
  return val, idx and idx[1] or nil, N - nval
end

--- inputs.validation_data(vd) -> val {X, y, desc} | {dataset, desc}: fit's validation_data in any data form
function M.validation_data(vd)
  local X, y, ds = M.as_data(vd)
  if ds then
    local n = M.dataset_len("fit: validation_data", ds)
    if n == 0 then checks.fail("fit: validation_data: the dataset has no samples") end
    return { dataset = ds, n = n, desc = fmt("validation_data, %d samples", n) }
  end
  if not X then checks.fail("fit: validation_data must be " .. FORMS:gsub("^X, y %(two tensors%), ", "")) end
  M.check_xy("fit", X, y, "validation_data: ")
  return { X = X, y = y, desc = fmt("validation_data, %d samples", rows(X)) }
end

--- inputs.label_range(y, val, crit) -> ymin, ymax | nil: the class labels to check against the model's outputs
function M.label_range(y, val, crit)
  if not (y and y:dtype() == "int64" and y:dim() == 1) then return nil end
  if type(crit) == "table" and crit.ignore_index ~= nil then return nil end
  local ymin, ymax = y:min():item(), y:max():item()
  local yv = val and val.y
  if yv and yv:dtype() == "int64" and yv:dim() == 1 then
    ymin, ymax = math.min(ymin, yv:min():item()), math.max(ymax, yv:max():item())
  end
  return ymin, ymax
end

--- inputs.check_labels(out, ymin, ymax): [N, C] outputs take labels 1..C
function M.check_labels(out, ymin, ymax)
  if not (ymin and out:dim() == 2 and out:shape()[2] > 1) then return end
  local C = out:shape()[2]
  if ymin < 1 then
    checks.fail(fmt("fit: y has label %d, but class labels are 1-based (1..%d)%s", ymin, C,
      ymin == 0 and "; add 1 to 0-based labels" or ""))
  end
  if ymax > C then checks.fail(fmt("fit: y has label %d, but the model has %d outputs (labels 1..%d)", ymax, C, C)) end
end

-- ---- batches --------------------------------------------------------------------------

--- inputs.train_loader(t, bs, shuffle, seed) -> loader: the training batches (data.loader, seeded) of
-- t = {dataset} | {X, y, [weights], [train_idx], ntrain}
function M.train_loader(t, bs, shuffle, seed)
  local data = ml.data
  local source = t.dataset
  if not source and is_sparse(t.X) then -- sparse rows: a batch at a time, never densified
    local cols = { t.X, t.y, t.weights }
    for i, c in pairs(cols) do
      if t.train_idx then cols[i] = take_rows(c, t.train_idx)
      elseif t.ntrain < rows(t.X) then cols[i] = c:narrow(1, 1, t.ntrain) end
    end
    source = data.RowsDataset(table.unpack(cols, 1, t.weights and 3 or 2))
  end
  if not source then
    local cols = { t.X, t.y, t.weights }
    if t.train_idx then source = data.Subset(data.TensorDataset(table.unpack(cols)), t.train_idx)
    elseif t.ntrain < rows(t.X) then
      source = {}
      for i, c in ipairs(cols) do source[i] = c:narrow(1, 1, t.ntrain) end
    else source = cols end
  end
  local ok, loader = pcall(data.loader, source, { batch_size = bs, shuffle = shuffle, seed = seed })
  if not ok then checks.fail("fit: " .. strip(loader)) end
  return loader
end

ml.doc(M.is_sparse, "inputs.is_sparse(v) -> boolean — whether v is an ml.sparse matrix (fit batches its rows)")
ml.doc(M.rows, "inputs.rows(t) -> integer — the size of t's first dimension (1 for a scalar)")
ml.doc(M.dataset_len, "inputs.dataset_len(fn, ds) -> integer — a dataset's length (#ds or ds:len()), else an error naming fn")
ml.doc(M.as_data, "inputs.as_data(v) -> X, y | nil, nil, dataset | nil — {X, y}, {x=, y=} or a dataset with get(i)")
ml.doc(M.parse, "inputs.parse(fn, a, b, c, options) -> X, y, opts, dataset — fit's arguments: X, y, opts or one data table/dataset, opts (a data table holding an option name is an error)")
ml.doc(M.check_xy, "inputs.check_xy(fn, X, y, what) — X and y are tensors with the same, non-zero number of rows")
ml.doc(M.split, "inputs.split(X, y, frac, mode, seed) -> val, train_idx, ntrain — fit's validation_split (random, stratified or the last rows)")
ml.doc(M.validation_data, "inputs.validation_data(vd) -> val — fit's validation_data: {X, y}, {x=, y=} or a dataset")
ml.doc(M.label_range, "inputs.label_range(y, val, loss) -> ymin, ymax | nil — the int64 class labels to check at the first batch")
ml.doc(M.check_labels, "inputs.check_labels(out, ymin, ymax) — [N, C] outputs take class labels 1..C, else an error at the user's line")
ml.doc(M.train_loader, "inputs.train_loader(t, batch_size, shuffle, seed) -> loader — the training batches through data.loader, seeded")

return M
