--- moonlab.sparse (ml.sparse): CSR sparse matrices, the output of the text
-- vectorizers (prep.CountVectorizer, prep.TfidfVectorizer) and an input of
-- nn.Linear. A matrix [rows, cols] holds three tensors: indptr (int64
-- [rows + 1], row r's entries are indptr[r] .. indptr[r+1]-1, 0-based
-- offsets as in scipy), the column of each entry (stored 0-based; the public
-- constructor and s:col_indices() use moonlab's 1-based numbering) and the
-- values (float32 or float64). The kernels are C (runtime/ops/sparse.c).
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"

local K = ml._sparse
local fail, fmt = checks.fail, string.format
local doc = ml.doc

local sparse = {}

local CSR = class.Object:extend("sparse.CSR",
  "sparse.CSR — a CSR sparse matrix: s.shape, s:nnz(), s:to_dense(), s:rows(index), s:narrow(1, start, len), s:sum([dim]); " ..
  "ml.sparse.matmul(s, dense) is differentiable w.r.t. the dense side")
sparse.CSR = CSR

-- A matrix over parts the kernels made (indices 0-based): no copy, no checks.
local function wrap(indptr, indices, values, rows, cols)
  local s = setmetatable({}, CSR)
  s._indptr, s._indices, s._values = indptr, indices, values
  s.shape = { rows, cols }
  s.dtype = values:dtype()
  return s
end
sparse._wrap = wrap

local function parts(s) return s._indptr, s._indices, s._values, s.shape[1], s.shape[2] end

local function as_int64(fn, what, v)
  if type(v) == "table" and not ml.is_tensor(v) then v = ml.tensor(v, {dtype = "int64"}) end
  if not ml.is_tensor(v) then fail(fmt("%s: %s must be an int64 tensor or a list of integers, got %s", fn, what, type(v))) end
  if v:dtype() ~= "int64" then fail(fmt("%s: %s must be int64, got %s", fn, what, v:dtype())) end
  if v:dim() ~= 1 then fail(fmt("%s: %s must be 1-D, got %d-D", fn, what, v:dim())) end
  return v:contiguous()
end

--- CSR:init([indptr, indices, values, shape]): see ml.sparse.csr; no arguments: an empty 0 x 0 matrix (for loading)
function CSR:init(indptr, indices, values, shape)
  local fn = "sparse.csr"
  if indptr == nil and indices == nil and values == nil and shape == nil then
    self._indptr, self._indices, self._values = ml.zeros({ 1 }, { dtype = "int64" }), ml.zeros({ 0 }, { dtype = "int64" }), ml.zeros({ 0 }, { dtype = "float64" })
    self.shape, self.dtype = { 0, 0 }, "float64"
    return
  end
  indptr = as_int64(fn, "indptr", indptr)
  indices = as_int64(fn, "indices", indices)
  if type(values) == "table" and not ml.is_tensor(values) then values = ml.tensor(values, {dtype = "float64"}) end
  if not ml.is_tensor(values) then fail(fmt("%s: values must be a float tensor or a list of numbers, got %s", fn, type(values))) end
  if values:dtype() ~= "float32" and values:dtype() ~= "float64" then values = values:to("float64") end
  local rows = indptr:numel() - 1
  local cols
  if shape == nil then
    cols = indices:numel() > 0 and indices:max():item() or 0
  else
    if type(shape) ~= "table" or math.type(shape[1]) ~= "integer" or math.type(shape[2]) ~= "integer" then
      fail(fmt("%s: shape must be {rows, cols} (integers), got %s", fn, checks.show(shape)))
    end
    if shape[1] ~= rows then fail(fmt("%s: shape has %d rows but indptr has %d entries (rows + 1 = %d expected)", fn, shape[1], indptr:numel(), shape[1] + 1)) end
    cols = shape[2]
  end
  local zero = indices - 1
  checks.call(K.check, indptr, zero, values:contiguous(), rows, cols, true, fn)
  self._indptr, self._indices, self._values = indptr, zero, values:contiguous()
  self.shape, self.dtype = { rows, cols }, values:dtype()
end

--- ml.sparse.csr(indptr, indices, values, [shape]) -> a CSR matrix: indptr 0-based offsets [rows + 1], indices 1-based columns, values; shape {rows, cols}
function sparse.csr(indptr, indices, values, shape) return CSR(indptr, indices, values, shape) end
doc(sparse.csr, "ml.sparse.csr(indptr, indices, values, [shape]) -> CSR matrix — indptr: 0-based offsets [rows + 1] (scipy's), indices: 1-based columns, values: float; shape {rows, cols}")

--- ml.sparse.is(x) -> whether x is a CSR matrix
function sparse.is(x) return getmetatable(x) == CSR end
doc(sparse.is, "ml.sparse.is(x) -> boolean — whether x is an ml.sparse CSR matrix")

--- ml.sparse.from_dense(t) -> the CSR matrix of a 2-D float tensor's nonzero entries
function sparse.from_dense(t)
  local fn = "sparse.from_dense"
  if not ml.is_tensor(t) or t:dim() ~= 2 then fail(fmt("%s: expected a 2-D tensor, got %s", fn, ml.is_tensor(t) and (t:dim() .. "-D tensor") or type(t))) end
  if t:dtype() ~= "float32" and t:dtype() ~= "float64" then t = t:to("float64") end
  local rows, cols = t:size(1), t:size(2)
  local mask = t:ne(0)
  local values = t:masked_select(mask)
  local colno = ml.arange(0, cols, 1, { dtype = "int64" }):view(1, cols):expand(rows, cols)
  local indices = colno:masked_select(mask)
  local counts = mask:to("int64"):sum(2)
  local indptr = ml.cat({ ml.zeros({ 1 }, { dtype = "int64" }), counts:cumsum(1) })
  return wrap(indptr, indices:contiguous(), values:contiguous(), rows, cols)
end
doc(sparse.from_dense, "ml.sparse.from_dense(t) -> CSR matrix — the nonzero entries of a 2-D tensor")

--- s:nnz() -> the number of stored entries
function CSR:nnz() return self._values:numel() end
--- s:dim() -> 2
function CSR:dim() return 2 end
--- s:size([d]) -> rows or cols, or {rows, cols}
function CSR:size(d)
  if d == nil then return { self.shape[1], self.shape[2] } end
  if d == 1 or d == -2 then return self.shape[1] elseif d == 2 or d == -1 then return self.shape[2] end
  fail(fmt("sparse:size: dimension %s out of range (1 or 2)", tostring(d)))
end
function CSR:__len() return self.shape[1] end

--- s:to_dense() -> the dense [rows, cols] tensor
function CSR:to_dense() return K.to_dense(parts(self)) end

--- s:indptr(), s:col_indices() (1-based), s:values(): the parts (the first and last shared, not copied)
function CSR:indptr() return self._indptr end
function CSR:col_indices() return self._indices + 1 end
function CSR:values() return self._values end

--- s:with_values(v) -> the same structure with new values (a float tensor [nnz])
function CSR:with_values(v)
  if not ml.is_tensor(v) or v:dim() ~= 1 or v:numel() ~= self:nnz() then
    fail(fmt("sparse:with_values: expected a tensor of %d values, got %s", self:nnz(), ml.is_tensor(v) and tostring(v:numel()) or type(v)))
  end
  return wrap(self._indptr, self._indices, v:contiguous(), self.shape[1], self.shape[2])
end

--- s:to(dtype) -> the matrix with float32 or float64 values
function CSR:to(dtype)
  if dtype ~= "float32" and dtype ~= "float64" then fail(fmt("sparse:to: expected 'float32' or 'float64', got %s", checks.show(dtype))) end
  if dtype == self.dtype then return self end
  return self:with_values(self._values:to(dtype))
end

--- s:rows(index) -> the rows of index (1-based, an int64 tensor or a list; negative from the end) as a new matrix
function CSR:rows(index)
  local p, ix, v = checks.call(K.take_rows, self._indptr, self._indices, self._values, self.shape[1], self.shape[2], as_int64("sparse:rows", "index", index))
  return wrap(p, ix, v, p:numel() - 1, self.shape[2])
end

--- s:narrow(1, start, len) -> rows start .. start + len - 1 (a view of the entries, no copy)
function CSR:narrow(dim, start, len)
  local fn = "sparse:narrow"
  if dim ~= 1 then fail(fmt("%s: only rows (dim 1) can be narrowed, got dim %s", fn, tostring(dim))) end
  local rows = self.shape[1]
  if math.type(start) ~= "integer" or math.type(len) ~= "integer" or start < 1 or len < 0 or start + len - 1 > rows then
    fail(fmt("%s: rows %s .. %s are outside 1..%d", fn, tostring(start), tostring(start and len and start + len - 1), rows))
  end
  local p = self._indptr:narrow(1, start, len + 1)
  local first = p[1]
  local n = p[len + 1] - first
  return wrap((p - first):contiguous(), self._indices:narrow(1, first + 1, n), self._values:narrow(1, first + 1, n), len, self.shape[2])
end

--- s:sum([dim]) -> the sum of all entries (a number), over rows (dim 1: [cols]) or over columns (dim 2: [rows])
function CSR:sum(dim)
  if dim == nil then return self._values:sum():item() end
  if dim == 1 or dim == -2 then return K.col_sums(self._indptr, self._indices, self._values, self.shape[1], self.shape[2], false) end
  if dim == 2 or dim == -1 then return K.row_reduce(self._indptr, self._indices, self._values, self.shape[1], self.shape[2], 0) end
  fail(fmt("sparse:sum: dimension %s out of range (1 or 2)", tostring(dim)))
end

--- s:col_counts() -> int64 [cols]: stored entries per column (document frequencies of a count matrix)
function CSR:col_counts() return K.col_sums(self._indptr, self._indices, self._values, self.shape[1], self.shape[2], true) end

--- s:row_norms([p]) -> [rows]: the l2 (p = 2, default) or l1 (p = 1) norm of each row
function CSR:row_norms(p)
  p = p or 2
  if p ~= 1 and p ~= 2 then fail(fmt("sparse:row_norms: p must be 1 or 2, got %s", tostring(p))) end
  return K.row_reduce(self._indptr, self._indices, self._values, self.shape[1], self.shape[2], p)
end

local function scale_vector(fn, v, n, dtype)
  if v == nil then return nil end
  if not ml.is_tensor(v) or v:numel() ~= n then fail(fmt("%s: expected a vector of %d, got %s", fn, n, ml.is_tensor(v) and tostring(v:numel()) or type(v))) end
  return v:reshape(n):to(dtype):contiguous()
end

--- s:scale(rowscale, colscale) -> entries multiplied by rowscale[row] and colscale[col] (either nil)
function CSR:scale(rowscale, colscale)
  local r = scale_vector("sparse:scale", rowscale, self.shape[1], self.dtype)
  local c = scale_vector("sparse:scale", colscale, self.shape[2], self.dtype)
  return self:with_values(K.scale(self._indptr, self._indices, self._values, self.shape[1], self.shape[2], r, c))
end
--- s:scale_rows(v), s:scale_cols(v): one side of s:scale
function CSR:scale_rows(v) return self:scale(v, nil) end
function CSR:scale_cols(v) return self:scale(nil, v) end

--- s:normalize([norm]) -> each row divided by its l2 (default) or l1 norm; zero rows stay zero
function CSR:normalize(norm)
  local p = norm == "l1" and 1 or (norm == nil or norm == "l2") and 2 or fail(fmt("sparse:normalize: norm must be 'l1' or 'l2', got %s", checks.show(norm)))
  local n = self:row_norms(p)
  return self:scale_rows(1 / ml.where(n:eq(0), ml.ones_like(n), n))
end

--- ml.sparse.matmul(s, dense) -> s @ dense, [rows, m]; gradients flow to dense
function sparse.matmul(s, dense)
  local fn = "sparse.matmul"
  if not sparse.is(s) then fail(fmt("%s: argument #1: expected a CSR matrix (ml.sparse), got %s", fn, ml.is_tensor(s) and "a tensor" or type(s))) end
  if not ml.is_tensor(dense) then fail(fmt("%s: argument #2: expected a tensor, got %s", fn, type(dense))) end
  local p, ix, v, r, c = parts(s)
  if dense:dim() == 1 then return checks.call(K.matmul, p, ix, v, r, c, dense:view(-1, 1)):view(-1) end
  return checks.call(K.matmul, p, ix, v, r, c, dense)
end
doc(sparse.matmul, "ml.sparse.matmul(s, dense) -> tensor [rows, m] — sparse @ dense (dense [cols, m] or [cols]); differentiable w.r.t. dense")

--- s:matmul(dense) -> ml.sparse.matmul(s, dense)
function CSR:matmul(dense) return sparse.matmul(self, dense) end

--- s:t_matmul(g) -> s^T @ g, [cols, m] (no gradient)
function CSR:t_matmul(g)
  local p, ix, v, r, c = parts(self)
  return K.t_matmul(p, ix, v, r, c, g)
end

function CSR:extra_repr()
  return fmt("shape=[%d, %d], nnz=%d, dtype=%s", self.shape[1], self.shape[2], self:nnz(), self.dtype)
end

-- core/persist: the parts as tensors, the shape as settings
function CSR:constructor_args() return { n = 0 } end
function CSR:persist_state()
  return { tensors = { indptr = self._indptr, indices = self._indices, values = self._values },
    settings = { rows = self.shape[1], cols = self.shape[2] } }
end
function CSR:load_persist_state(st)
  local t, s = st.tensors, st.settings or {}
  if not (t.indptr and t.indices and t.values) then fail("sparse.CSR: the saved state lacks indptr, indices or values") end
  K.check(t.indptr, t.indices, t.values, s.rows, s.cols, true, "sparse.load")
  self._indptr, self._indices, self._values = t.indptr, t.indices, t.values
  self.shape, self.dtype = { s.rows, s.cols }, t.values:dtype()
end

local method_docs = {
  nnz = "s:nnz() -> integer — the number of stored entries",
  dim = "s:dim() -> 2",
  size = "s:size([d]) -> rows or cols, or {rows, cols}",
  to_dense = "s:to_dense() -> tensor [rows, cols] — the dense matrix (s's dtype)",
  indptr = "s:indptr() -> int64 [rows + 1] — 0-based offsets of each row's entries (shared, not copied)",
  col_indices = "s:col_indices() -> int64 [nnz] — the 1-based column of each entry (a copy)",
  values = "s:values() -> tensor [nnz] — the stored values (shared, not copied)",
  with_values = "s:with_values(v) -> CSR — the same structure with new values [nnz]",
  to = "s:to(dtype) -> CSR — float32 or float64 values",
  rows = "s:rows(index) -> CSR — the rows of a 1-based index (int64 tensor or list; negative from the end; repeats allowed)",
  narrow = "s:narrow(1, start, len) -> CSR — rows start .. start + len - 1, viewing the same entries (no copy)",
  sum = "s:sum([dim]) -> number, or tensor: dim 1 sums over rows ([cols]), dim 2 over columns ([rows])",
  col_counts = "s:col_counts() -> int64 [cols] — stored entries per column (document frequencies of a count matrix)",
  row_norms = "s:row_norms([p=2]) -> tensor [rows] — the l2 (p = 2) or l1 (p = 1) norm of each row",
  scale = "s:scale(rowscale, colscale) -> CSR — each entry times rowscale[row] and colscale[col] (either may be nil)",
  scale_rows = "s:scale_rows(v) -> CSR — row r times v[r]",
  scale_cols = "s:scale_cols(v) -> CSR — column c times v[c]",
  normalize = "s:normalize([norm='l2']) -> CSR — each row divided by its 'l2' or 'l1' norm; zero rows stay zero",
  matmul = "s:matmul(dense) -> tensor — ml.sparse.matmul(s, dense), differentiable w.r.t. dense",
  t_matmul = "s:t_matmul(g) -> tensor [cols, m] — s^T @ g (the backward of matmul; no gradient of its own)",
  init = "CSR:init([indptr, indices, values, shape]) — see ml.sparse.csr; no arguments: an empty 0 x 0 matrix (for loading)",
  extra_repr = "s:extra_repr() -> string — shape, nnz and dtype",
  constructor_args = "s:constructor_args() -> {} — a saved matrix is rebuilt empty, then its state loaded",
  persist_state = "s:persist_state() -> {tensors, settings} — indptr, indices (0-based), values and the shape (core/persist)",
  load_persist_state = "s:load_persist_state(state) — restores and checks the parts saved by persist_state",
}
for name, text in pairs(method_docs) do doc(CSR[name], text) end

doc(sparse, "ml.sparse — CSR sparse matrices: ml.sparse.csr, from_dense, matmul (autograd through the dense side), row slicing, sums, norms")
return sparse
