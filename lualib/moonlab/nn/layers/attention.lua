--- nn.scaled_dot_product_attention, nn.MultiheadAttention: attention on the
-- fused C kernel (runtime/ops/attention.c): one pass per (batch, head) block,
-- the backward recomputing the softmax from the saved row log-sum-exp.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local class, fail, check_opts, fmt = B.class, B.fail, B.check_opts, B.fmt
local doc = ml.doc
local init = require("moonlab.nn.initializers").init
local Linear = require("moonlab.nn.layers.linear").Linear
local check_count, check_dtype, check_bool, check_number, check_input, param, shape_str =
  B.check_count, B.check_dtype, B.check_bool, B.check_number, B.check_input, B.param, B.shape_str

local attention = ml._attention

local M = {}

-- ---- the functional form ------------------------------------------------
local SDPA = "nn.scaled_dot_product_attention"

--- scaled_dot_product_attention(q, k, v, [{attn_mask, dropout_p=0, is_causal=false, scale}]) -> out
local function scaled_dot_product_attention(q, k, v, opts)
  check_input(SDPA, q); check_input(SDPA, k); check_input(SDPA, v)
  opts = check_opts(SDPA, opts, { "attn_mask", "dropout_p", "is_causal", "scale" })
  local mask = opts.attn_mask
  if mask ~= nil and not ml.is_tensor(mask) then fail(fmt("%s: attn_mask must be a tensor, got %s", SDPA, type(mask))) end
  if mask and mask:dtype() ~= "bool" and mask:dtype() ~= q:dtype() then mask = mask:to(q:dtype()) end
  local p = check_number(SDPA, "dropout_p", opts.dropout_p or 0, 0, 1)
  if p >= 1 then fail(fmt("%s: dropout_p must be below 1, got %g", SDPA, p)) end
  local scale = opts.scale
  if scale ~= nil then check_number(SDPA, "scale", scale); if scale <= 0 then fail(SDPA .. ": scale must be positive, got " .. scale) end end
  return (attention(q, k, v, mask, check_bool(SDPA, "is_causal", opts.is_causal, false), scale, p, false, SDPA))
end
doc(scaled_dot_product_attention,
  "nn.scaled_dot_product_attention(q, k, v, [{attn_mask, dropout_p=0, is_causal=false, scale=1/sqrt(E)}]) — softmax(q k^T * scale + mask) v over (..., L, E) x (..., S, E) x (..., S, Ev), fused in C; a bool attn_mask is true where a key takes part (as PyTorch), a float one is added; a row with no key left gives zeros; the mask gets no gradient")

-- ---- MultiheadAttention -------------------------------------------------
local MHA = "nn.MultiheadAttention"
local MultiheadAttention = class("MultiheadAttention",
  "nn.MultiheadAttention(embed_dim, num_heads, [{dropout=0, bias=true, batch_first=false, dtype}]) — PyTorch's multi-head attention: in_proj_weight [3E, E], in_proj_bias [3E], out_proj (nn.Linear); mha(q, k, v, [{key_padding_mask, attn_mask, need_weights=true, average_attn_weights=true, is_causal}]) -> out, weights",
  3, "embed_dim, num_heads, [options]")

function MultiheadAttention:init(embed_dim, num_heads, opts)
  check_count(MHA, "embed_dim", embed_dim)
  check_count(MHA, "num_heads", num_heads)
  if num_heads < 1 then fail(MHA .. ": num_heads must be at least 1, got 0") end
  if embed_dim % num_heads ~= 0 then
    fail(fmt("%s: embed_dim (%d) must be divisible by num_heads (%d)", MHA, embed_dim, num_heads))
  end
  opts = check_opts(MHA, opts, { "dropout", "bias", "batch_first", "dtype" })
  local dt = check_dtype(MHA, opts.dtype)
  self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
  self.dropout = check_number(MHA, "dropout", opts.dropout or 0, 0, 1)
  self.batch_first = check_bool(MHA, "batch_first", opts.batch_first, false)
  local bias = check_bool(MHA, "bias", opts.bias, true)
  self.in_proj_weight = param({ 3 * embed_dim, embed_dim }, dt)
  if bias then self.in_proj_bias = param({ 3 * embed_dim }, dt) end
  self.out_proj = Linear(embed_dim, embed_dim, { bias = bias, dtype = dt })
  self:reset_parameters()
end

--- MultiheadAttention:reset_parameters(): PyTorch's: xavier_uniform_ in_proj_weight, zero biases
function MultiheadAttention:reset_parameters()
  init.xavier_uniform_(self.in_proj_weight)
  if self.in_proj_bias then init.zeros_(self.in_proj_bias) end
  if self.out_proj.bias then init.zeros_(self.out_proj.bias) end
end
doc(MultiheadAttention.reset_parameters, "mha:reset_parameters() — as PyTorch: xavier_uniform_ in_proj_weight, zero in_proj_bias and out_proj.bias (out_proj.weight keeps nn.Linear's init)")

local linear = ml._nn.linear

-- (N, L, E) -> (N, H, L, Dh), a view of the projection (the kernel reads strided heads)
local function heads(x, N, L, H, Dh) return x:reshape(N, L, H, Dh):transpose(2, 3) end

-- the projections of query, key and value, as (N, H, L|S, Dh) views
function MultiheadAttention:_project(q, k, v, N, L, S)
  local E, H, Dh = self.embed_dim, self.num_heads, self.head_dim
  local W, b = self.in_proj_weight, self.in_proj_bias
  if q == k and k == v then -- self-attention: one GEMM for the three
    local qkv = linear(q:reshape(N * L, E), W, b, MHA):reshape(N, L, 3, H, Dh)
    local function part(i) return qkv:select(3, i):transpose(2, 3) end
    return part(1), part(2), part(3)
  end
  local function proj(x, i, n)
    local y = linear(x:reshape(N * n, E), W:narrow(1, (i - 1) * E + 1, E), b and b:narrow(1, (i - 1) * E + 1, E), MHA)
    return heads(y, N, n, H, Dh)
  end
  return proj(q, 1, L), proj(k, 2, S), proj(v, 3, S)
end

-- bool (true: masked out) or float (added) -> additive float of dtype dt
local function additive(m, dt)
  if m:dtype() == "bool" then return ml.zeros(m:shape(), { dtype = dt }):masked_fill(m, -math.huge) end
  return m:dtype() == dt and m or m:to(dt)
end

-- attn_mask (L, S) or (N*H, L, S) and key_padding_mask (N, S) as one mask
-- broadcastable to (N, H, L, S) in the kernel's convention (bool: true takes part)
function MultiheadAttention:_mask(attn_mask, kpm, N, L, S, dt)
  local H = self.num_heads
  if attn_mask ~= nil then
    if not ml.is_tensor(attn_mask) then fail(fmt("%s: attn_mask must be a tensor, got %s", MHA, type(attn_mask))) end
    local d = attn_mask:dim()
    if d == 2 and (attn_mask:size(1) ~= L or attn_mask:size(2) ~= S) then
      fail(fmt("%s: attn_mask of shape %s, expected [%d,%d] (target length, source length)", MHA, shape_str(attn_mask), L, S))
    elseif d == 3 then
      if attn_mask:size(1) ~= N * H or attn_mask:size(2) ~= L or attn_mask:size(3) ~= S then
        fail(fmt("%s: attn_mask of shape %s, expected [%d,%d,%d] (batch * heads, target length, source length)", MHA,
          shape_str(attn_mask), N * H, L, S))
      end
      attn_mask = attn_mask:reshape(N, H, L, S)
    elseif d ~= 2 then
      fail(fmt("%s: attn_mask must be 2-D or 3-D, got shape %s", MHA, shape_str(attn_mask)))
    end
  end
  if kpm ~= nil then
    if not ml.is_tensor(kpm) then fail(fmt("%s: key_padding_mask must be a tensor, got %s", MHA, type(kpm))) end
    if kpm:dim() ~= 2 or kpm:size(1) ~= N or kpm:size(2) ~= S then
      fail(fmt("%s: key_padding_mask of shape %s, expected [%d,%d] (batch, source length)", MHA, shape_str(kpm), N, S))
    end
    kpm = kpm:reshape(N, 1, 1, S)
  end
  if attn_mask and kpm then return additive(attn_mask, dt) + additive(kpm, dt) end
  local m = attn_mask or kpm
  if m == nil then return nil end
  if m:dtype() == "bool" then return m:logical_not() end
  return m:dtype() == dt and m or m:to(dt)
end

local FWD_OPTS = { "key_padding_mask", "attn_mask", "need_weights", "average_attn_weights", "is_causal" }

-- the inputs as (N, L, E) views: batch_first or not, batched or not
function MultiheadAttention:_batch_view(x, what)
  check_input(MHA, x)
  local d = x:dim()
  if (d ~= 2 and d ~= 3) or x:size(d) ~= self.embed_dim then
    fail(fmt("%s: %s must be %s with E = %d, got shape %s", MHA, what,
      self.batch_first and "(N, L, E) or (L, E)" or "(L, N, E) or (L, E)", self.embed_dim, shape_str(x)))
  end
  if d == 2 then return x:unsqueeze(1), false end
  return self.batch_first and x or x:transpose(1, 2), true
end

function MultiheadAttention:forward(query, key, value, opts)
  key, value = key or query, value or key or query
  opts = check_opts(MHA, opts, FWD_OPTS)
  local q, batched = self:_batch_view(query, "query")
  local k = key == query and q or self:_batch_view(key, "key")
  local v = value == key and k or self:_batch_view(value, "value")
  local N, L, S, E = q:size(1), q:size(2), k:size(2), self.embed_dim
  if k:size(1) ~= N or v:size(1) ~= N then
    fail(fmt("%s: query, key and value must have one batch size, got shapes %s, %s and %s", MHA, shape_str(query),
      shape_str(key), shape_str(value)))
  end
  if v:size(2) ~= S then fail(fmt("%s: key and value must have one length, got shapes %s and %s", MHA, shape_str(key), shape_str(value))) end
  local kpm, am = opts.key_padding_mask, opts.attn_mask
  if not batched and kpm then kpm = kpm:dim() == 1 and kpm:unsqueeze(1) or kpm end
  local mask = self:_mask(am, kpm, N, L, S, q:dtype())
  local need = check_bool(MHA, "need_weights", opts.need_weights, true)
  local qh, kh, vh = self:_project(q, k, v, N, L, S)
  local p = self.training and self.dropout or 0
  local o, w = attention(qh, kh, vh, mask, check_bool(MHA, "is_causal", opts.is_causal, false), nil, p, need, MHA)
  o = o:transpose(2, 3):reshape(N * L, E) -- (N, H, L, Dh) -> (N*L, E)
  local y = linear(o, self.out_proj.weight, self.out_proj.bias, MHA):reshape(N, L, E)
  if not batched then y = y:reshape(L, E)
  elseif not self.batch_first then y = y:transpose(1, 2) end
  if not need then return y end
  if check_bool(MHA, "average_attn_weights", opts.average_attn_weights, true) then w = w:mean(2) end
  if not batched then w = w:select(1, 1) end
  return y, w
end
doc(MultiheadAttention.forward,
  "mha:forward(query, [key=query], [value=key], [{key_padding_mask, attn_mask, need_weights=true, average_attn_weights=true, is_causal=false}]) -> out, weights — as PyTorch: bool masks are true where attention is NOT allowed, float masks are added; weights (N, L, S) averaged over heads (not differentiable), nil when need_weights=false")

function MultiheadAttention:extra_repr()
  return fmt("embed_dim=%d, num_heads=%d, dropout=%g, batch_first=%s", self.embed_dim, self.num_heads, self.dropout,
    tostring(self.batch_first))
end

M.MultiheadAttention = MultiheadAttention
B.doc_forwards(M)
M.scaled_dot_product_attention = scaled_dot_product_attention -- a function: added after doc_forwards
return M
