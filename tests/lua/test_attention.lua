-- Attention and Transformer layers: the fused kernel against PyTorch
-- (tests/fixtures/attention/attention.lua, scripts/gen_attention_fixtures.py),
-- float64 finite-difference gradient checks with each mask kind, the
-- modules on PyTorch's weights, save/load, errors.
local nn = ml.nn
local gradcheck = dofile("tests/lua/gradcheck.lua")
local FX = dofile("tests/fixtures/attention/attention.lua")
local ft, build = T.fixture_tensor, T.build
local D = { dtype = "float64" }
local sdpa = nn.scaled_dot_product_attention

T.test("attention fixtures: version and cases", function()
  T.eq(FX.version, 1)
  T.ok(#FX.cases >= 15, "cases")
end)

-- ---- the fused kernel vs PyTorch ---------------------------------------------
local function mask_of(c)
  return c.mask and ft(c.mask) or nil
end

for _, c in ipairs(FX.cases) do
  if c.q then
    T.test("attention vs torch: " .. c.name, function()
      local q, k, v = ft(c.q):requires_grad(), ft(c.k):requires_grad(), ft(c.v):requires_grad()
      local out = sdpa(q, k, v, { attn_mask = mask_of(c), is_causal = c.causal })
      T.all_near(out, ft(c.output), 1e-12, "output")
      ;(out * ft(c.w)):sum():backward()
      T.all_near(q.grad, ft(c.grad_q), 1e-11, "grad q")
      T.all_near(k.grad, ft(c.grad_k), 1e-11, "grad k")
      T.all_near(v.grad, ft(c.grad_v), 1e-11, "grad v")
      -- float32 runs the same rule within float32 rounding
      local o32 = sdpa(ft(c.q):to("float32"), ft(c.k):to("float32"), ft(c.v):to("float32"),
        { attn_mask = c.mask and (c.mask.dtype == "bool" and ft(c.mask) or ft(c.mask):to("float32")), is_causal = c.causal })
      T.all_near(o32:to("float64"), ft(c.output), 1e-5, "float32 output")
    end)
  end
end

-- ---- the modules vs PyTorch, same weights -----------------------------------
for _, c in ipairs(FX.cases) do
  if c.ctor then
    T.test("attention module vs torch: " .. c.name, function()
      local m = build(c.ctor)
      local sd = {}
      for k, v in pairs(c.state) do sd[k] = ft(v) end
      m:load_state_dict(sd)
      local inputs = {}
      for i, x in ipairs(c.inputs) do inputs[i] = ft(x):requires_grad() end
      local opts = {}
      for k, v in pairs(c.opts) do opts[k] = (type(v) == "table" and v.shape) and ft(v) or v end
      local self_attn = opts.self
      opts.self = nil
      local out, w
      if self_attn then out, w = m(inputs[1], inputs[1], inputs[1], opts)
      else
        local args = { table.unpack(inputs) }
        args[#args + 1] = opts
        out, w = m(table.unpack(args))
      end
      local tol = 1e-10
      T.all_near(out, ft(c.output), tol, "output")
      if c.weights then T.all_near(w, ft(c.weights), tol, "attention weights") end
      ;(out * ft(c.w)):sum():backward()
      for i, g in ipairs(c.grad_inputs) do T.all_near(inputs[i].grad, ft(g), tol, "grad of input " .. i) end
      local named = {}
      for _, p in ipairs(m:named_parameters()) do named[p[1]] = p[2] end
      local n = 0
      for name, g in pairs(c.grads) do
        n = n + 1
        T.ok(named[name], "parameter " .. name .. " exists")
        T.all_near(named[name].grad, ft(g), tol, "grad of " .. name)
      end
      T.eq(#m:named_parameters(), n, "parameter count")
    end)
  end
end

-- ---- float64 gradient checks of the fused kernel -------------------------------
local function qkv(B, H, L, S, E, Ev)
  return ml.randn({ B, H, L, E }, D), ml.randn({ B, H, S, E }, D), ml.randn({ B, H, S, Ev }, D)
end

T.test("gradcheck attention: no mask, odd sizes", function()
  ml.seed(1)
  local q, k, v = qkv(2, 3, 5, 7, 3, 4)
  gradcheck(function(a, b, c) return sdpa(a, b, c) end, { q, k, v })
end)

T.test("gradcheck attention: bool mask", function()
  ml.seed(2)
  local q, k, v = qkv(2, 2, 4, 6, 5, 3)
  local m = ml.rand({ 2, 1, 4, 6 }):gt(0.3)
  m:narrow(4, 1, 1):fill_(true) -- every row keeps a key
  gradcheck(function(a, b, c) return sdpa(a, b, c, { attn_mask = m }) end, { q, k, v })
end)

T.test("gradcheck attention: additive float mask and scale", function()
  ml.seed(3)
  local q, k, v = qkv(1, 3, 4, 5, 4, 4)
  local m = ml.randn({ 4, 5 }, D)
  gradcheck(function(a, b, c) return sdpa(a, b, c, { attn_mask = m, scale = 0.37 }) end, { q, k, v })
end)

T.test("gradcheck attention: causal", function()
  ml.seed(4)
  local q, k, v = qkv(2, 2, 5, 5, 3, 2)
  gradcheck(function(a, b, c) return sdpa(a, b, c, { is_causal = true }) end, { q, k, v })
end)

T.test("gradcheck attention: dropout (the same seed draws the same mask)", function()
  ml.seed(5)
  local q, k, v = qkv(2, 2, 4, 6, 3, 3)
  gradcheck(function(a, b, c) ml.seed(9); return sdpa(a, b, c, { dropout_p = 0.3 }) end, { q, k, v })
end)

T.test("gradcheck attention: strided heads of one projection", function()
  ml.seed(6)
  local x = ml.randn({ 2, 5, 3, 6 }, D) -- (N, L, H, 2 * Dh): q and k are strided views
  gradcheck(function(a)
    local q, k = a:narrow(4, 1, 3):transpose(2, 3), a:narrow(4, 4, 3):transpose(2, 3)
    return sdpa(q, k, k, { is_causal = true })
  end, { x })
end)

T.test("gradcheck nn.MultiheadAttention with masks", function()
  ml.seed(7)
  local m = nn.MultiheadAttention(6, 2, { dtype = "float64" })
  local q, kv = ml.randn({ 3, 2, 6 }, D), ml.randn({ 4, 2, 6 }, D)
  local kpm = ml.tensor({ { false, false, true, false }, { true, false, false, false } })
  local inputs = { q, kv }
  for _, p in ipairs(m:parameters()) do inputs[#inputs + 1] = p end
  gradcheck(function(a, b) return (m(a, b, b, { key_padding_mask = kpm, need_weights = false })) end, inputs)
end)

T.test("gradcheck nn.TransformerEncoderLayer pre-norm gelu", function()
  ml.seed(8)
  local m = nn.TransformerEncoderLayer(4, 2, { dim_feedforward = 6, dropout = 0, activation = "gelu", norm_first = true, dtype = "float64" })
  local x = ml.randn({ 3, 2, 4 }, D)
  local inputs = { x }
  for _, p in ipairs(m:parameters()) do inputs[#inputs + 1] = p end
  gradcheck(function(a) return m(a, { is_causal = true }) end, inputs, { tol = 1e-5 })
end)

-- ---- behaviour ---------------------------------------------------------------
T.test("attention: a row with every key masked gives zeros, not NaN", function()
  local q, k, v = qkv(1, 1, 2, 3, 2, 2)
  local m = ml.tensor({ { true, true, true }, { false, false, false } })
  local o = sdpa(q:requires_grad(), k, v, { attn_mask = m })
  T.all_near(o:select(3, 2), ml.zeros({ 1, 1, 2 }, D), 0)
  o:sum():backward()
  local g = q.grad:abs():sum():item()
  T.ok(g == g and g < math.huge, "finite gradient")
end)

T.test("attention: expanded and transposed inputs give the contiguous result", function()
  ml.seed(13)
  local q = ml.randn({ 2, 3, 4, 5 }, D)
  local k1 = ml.randn({ 2, 3, 1, 5 }, D)           -- one key repeated: row stride 0
  local vb = ml.randn({ 1, 3, 6, 2 }, D)           -- batch broadcast: batch stride 0
  local k, v = k1:expand(2, 3, 6, 5), vb:expand(2, 3, 6, 2)
  local vt = ml.randn({ 2, 3, 2, 6 }, D):transpose(3, 4) -- last dimension strided
  T.all_near(sdpa(q, k, v), sdpa(q, k:contiguous(), v:contiguous()), 1e-14)
  T.all_near(sdpa(q, k, vt), sdpa(q, k:contiguous(), vt:contiguous()), 1e-14)
  local empty = sdpa(q, ml.randn({ 2, 3, 0, 5 }, D), ml.randn({ 2, 3, 0, 2 }, D))
  T.eq(table.concat(empty:shape(), ","), "2,3,4,2")
end)

T.test("attention: the result does not depend on the thread count", function()
  ml.seed(10)
  local q, k, v = ml.randn({ 4, 4, 16, 8 }), ml.randn({ 4, 4, 16, 8 }), ml.randn({ 4, 4, 16, 8 })
  local before = ml.threads()
  ml.threads(1)
  ml.seed(3)
  local a = sdpa(q, k, v, { dropout_p = 0.2, is_causal = true })
  ml.threads(2)
  ml.seed(3)
  local b = sdpa(q, k, v, { dropout_p = 0.2, is_causal = true })
  ml.threads(before)
  T.all_near(a, b, 0)
end)

T.test("nn.MultiheadAttention: dropout only in training; eval is deterministic", function()
  ml.seed(11)
  local m = nn.MultiheadAttention(8, 2, { dropout = 0.5 })
  local x = ml.randn(4, 2, 8)
  local a = m(x, x, x, { need_weights = false })
  local b = m(x, x, x, { need_weights = false })
  T.ok((a - b):abs():max():item() > 0, "training draws new masks")
  m:eval()
  T.all_near(m(x, x, x, { need_weights = false }), m(x, x, x, { need_weights = false }), 0)
  local _, w = m(x, x, x)
  T.all_near(w:sum(3), ml.ones(2, 4), 1e-5)
end)

T.test("nn.MultiheadAttention: unbatched input and PyTorch's parameter names", function()
  local m = nn.MultiheadAttention(6, 3)
  local y, w = m(ml.randn(5, 6))
  T.eq(table.concat(y:shape(), ","), "5,6")
  T.eq(table.concat(w:shape(), ","), "5,5")
  local names = {}
  for _, p in ipairs(m:named_parameters()) do names[#names + 1] = p[1] end
  T.eq(table.concat(names, " "), "in_proj_weight in_proj_bias out_proj.weight out_proj.bias")
end)

T.test("positional encodings: sinusoidal values, learned parameter, batch_first", function()
  local pe = nn.SinusoidalPositionalEncoding(6, { max_len = 8 })
  T.near(pe.pe[3][1], math.sin(2), 1e-6)
  T.near(pe.pe[3][2], math.cos(2), 1e-6)
  T.near(pe.pe[3][3], math.sin(2 / 10000 ^ (2 / 6)), 1e-6)
  local x = ml.zeros(5, 2, 6)
  T.all_near(pe(x):select(2, 1), pe.pe:narrow(1, 1, 5), 0)
  local lp = nn.LearnedPositionalEncoding(6, { max_len = 8, batch_first = true })
  T.eq(#lp:parameters(), 1)
  local y = lp(ml.zeros(2, 5, 6))
  T.all_near(y:select(1, 2), lp.weight:narrow(1, 1, 5), 0)
  T.raises(function() pe(ml.zeros(9, 1, 6)) end, "longer than max_len 8")
end)

T.test("Transformer layers save and load through nn serialization", function()
  ml.seed(12)
  local t = nn.Transformer({ d_model = 8, nhead = 2, num_encoder_layers = 2, num_decoder_layers = 1, dim_feedforward = 16, batch_first = true })
  local path = T.tmpname(".safetensors")
  t:save(path)
  local t2 = nn.load(path)
  t:eval(); t2:eval()
  local a, b = ml.randn(2, 5, 8), ml.randn(2, 3, 8)
  T.all_near(t(a, b), t2(a, b), 0)
  local e = nn.Sequential { nn.SinusoidalPositionalEncoding(8, { max_len = 16 }),
    nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, { dim_feedforward = 8 }), 2, { norm = nn.LayerNorm(8) }) }
  e:save(path)
  local e2 = nn.load(path)
  e:eval(); e2:eval()
  local x = ml.randn(5, 2, 8)
  T.all_near(e(x), e2(x), 0)
end)

T.test("Transformer.generate_square_subsequent_mask", function()
  local m = nn.Transformer.generate_square_subsequent_mask(3)
  T.eq(m[1][2], -math.huge)
  T.eq(m[2][1], 0)
  T.eq(m[3][3], 0)
end)

-- ---- errors --------------------------------------------------------------------
T.test("attention errors name the function and say what was expected", function()
  local q, k, v = qkv(1, 2, 3, 4, 5, 6)
  T.raises(function() sdpa(q, k, ml.randn({ 1, 2, 5, 6 }, D)) end, "nn.scaled_dot_product_attention: value has 5 positions, expected 4")
  T.raises(function() sdpa(q, ml.randn({ 1, 2, 4, 3 }, D), v) end, "key has 3 features, expected 5")
  T.raises(function() sdpa(q, k:to("float32"), v) end, "must have one dtype")
  T.raises(function() sdpa(q, k, v, { attn_mask = ml.ones(3, 5):gt(0) }) end, "does not broadcast")
  T.raises(function() sdpa(q, k, v, { dropout = 0.1 }) end, "did you mean 'dropout_p'")
  T.raises(function() sdpa(q, k, v, { dropout_p = 1 }) end, "dropout_p must be below 1")
  T.raises(function() nn.MultiheadAttention(10, 3) end, "nn.MultiheadAttention: embed_dim (10) must be divisible by num_heads (3)")
  local m = nn.MultiheadAttention(8, 2)
  T.raises(function() m(ml.randn(4, 2, 7)) end, "nn.MultiheadAttention: query must be (L, N, E) or (L, E) with E = 8, got shape [4,2,7]")
  T.raises(function() m(ml.randn(4, 2, 8), nil, nil, { key_padding_mask = ml.ones(2, 3):gt(0) }) end,
    "key_padding_mask of shape [2,3], expected [2,4]")
  T.raises(function() m(ml.randn(4, 2, 8), nil, nil, { attn_mask = ml.ones(4, 5):gt(0) }) end, "attn_mask of shape [4,5], expected [4,4]")
  T.raises(function() nn.TransformerEncoderLayer(8, 2, { activation = "tanh" }) end, "activation must be 'relu' or 'gelu'")
  T.raises(function() nn.TransformerEncoderLayer(8, 2, { norm_frist = true }) end, "did you mean 'norm_first'")
end)
