--- nn.TransformerEncoderLayer, nn.TransformerDecoderLayer, nn.TransformerEncoder,
-- nn.TransformerDecoder, nn.Transformer and the positional encodings
-- (nn.SinusoidalPositionalEncoding, nn.LearnedPositionalEncoding): PyTorch's
-- layers and parameter names, composed of MultiheadAttention (the fused
-- kernel), Linear, LayerNorm and Dropout.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local class, fail, check_opts, fmt = B.class, B.fail, B.check_opts, B.fmt
local doc = ml.doc
local init = require("moonlab.nn.initializers").init
local Module = require("moonlab.nn.module").Module
local MultiheadAttention = require("moonlab.nn.layers.attention").MultiheadAttention
local Linear = require("moonlab.nn.layers.linear").Linear
local LayerNorm = require("moonlab.nn.layers.norm").LayerNorm
local Dropout = require("moonlab.nn.layers.dropout").Dropout
local act = require "moonlab.nn.layers.activation"
local ModuleList = require("moonlab.nn.layers.container").ModuleList
local check_count, check_dtype, check_bool, check_number, check_input, param, shape_str =
  B.check_count, B.check_dtype, B.check_bool, B.check_number, B.check_input, B.param, B.shape_str

local M = {}

local LAYER_OPTS = { "dim_feedforward", "dropout", "activation", "layer_norm_eps", "batch_first", "norm_first", "bias", "dtype" }

-- the options both layers share, checked, with PyTorch's defaults
local function layer_options(fn, d_model, nhead, opts)
  check_count(fn, "d_model", d_model)
  check_count(fn, "nhead", nhead)
  opts = check_opts(fn, opts, LAYER_OPTS)
  local o = {
    dim_feedforward = check_count(fn, "dim_feedforward", opts.dim_feedforward or 2048),
    dropout = check_number(fn, "dropout", opts.dropout or 0.1, 0, 1),
    activation = opts.activation or "relu",
    layer_norm_eps = check_number(fn, "layer_norm_eps", opts.layer_norm_eps or 1e-5, 0),
    batch_first = check_bool(fn, "batch_first", opts.batch_first, false),
    norm_first = check_bool(fn, "norm_first", opts.norm_first, false),
    bias = check_bool(fn, "bias", opts.bias, true),
    dtype = check_dtype(fn, opts.dtype),
  }
  if o.activation ~= "relu" and o.activation ~= "gelu" then
    fail(fmt("%s: activation must be 'relu' or 'gelu', got %s", fn, tostring(o.activation)))
  end
  return o
end

-- the parts both layers have: feed-forward, norms, dropouts
local function build_common(self, d_model, o, n_norms)
  local lin = { bias = o.bias, dtype = o.dtype }
  self.linear1 = Linear(d_model, o.dim_feedforward, lin)
  self.dropout = Dropout(o.dropout)
  self.linear2 = Linear(o.dim_feedforward, d_model, lin)
  self.norm_first = o.norm_first
  for i = 1, n_norms do self["norm" .. i] = LayerNorm(d_model, { eps = o.layer_norm_eps, bias = o.bias, dtype = o.dtype }) end
  for i = 1, n_norms do self["dropout" .. i] = Dropout(o.dropout) end
  self.activation = o.activation == "gelu" and act.GELU() or act.ReLU()
end

local function feed_forward(self, x, k)
  return self["dropout" .. k](self.linear2(self.dropout(self.activation(self.linear1(x)))))
end

-- ---- TransformerEncoderLayer --------------------------------------------
local ENC = "nn.TransformerEncoderLayer"
local TransformerEncoderLayer = class("TransformerEncoderLayer",
  "nn.TransformerEncoderLayer(d_model, nhead, [{dim_feedforward=2048, dropout=0.1, activation='relu'|'gelu', layer_norm_eps=1e-5, batch_first=false, norm_first=false, bias=true, dtype}]) — self-attention then feed-forward, each with a residual and LayerNorm (after, or before with norm_first); layer(src, [{src_mask, src_key_padding_mask, is_causal}])",
  3, "d_model, nhead, [options]")

function TransformerEncoderLayer:init(d_model, nhead, opts)
  local o = layer_options(ENC, d_model, nhead, opts)
  self.self_attn = MultiheadAttention(d_model, nhead, { dropout = o.dropout, bias = o.bias, batch_first = o.batch_first, dtype = o.dtype })
  build_common(self, d_model, o, 2)
end

local ENC_FWD = { "src_mask", "src_key_padding_mask", "is_causal" }

function TransformerEncoderLayer:_sa(x, o)
  local y = self.self_attn(x, x, x, { attn_mask = o.src_mask, key_padding_mask = o.src_key_padding_mask,
    need_weights = false, is_causal = o.is_causal })
  return self.dropout1(y)
end

function TransformerEncoderLayer:forward(src, opts)
  check_input(ENC, src)
  local o = check_opts(ENC, opts, ENC_FWD)
  local x = src
  if self.norm_first then
    x = x + self:_sa(self.norm1(x), o)
    return x + feed_forward(self, self.norm2(x), 2)
  end
  x = self.norm1(x + self:_sa(x, o))
  return self.norm2(x + feed_forward(self, x, 2))
end
doc(TransformerEncoderLayer.forward, "layer:forward(src, [{src_mask, src_key_padding_mask, is_causal}]) -> tensor of src's shape — masks as nn.MultiheadAttention's")

function TransformerEncoderLayer:extra_repr() return "norm_first=" .. tostring(self.norm_first) end

-- ---- TransformerDecoderLayer --------------------------------------------
local DEC = "nn.TransformerDecoderLayer"
local TransformerDecoderLayer = class("TransformerDecoderLayer",
  "nn.TransformerDecoderLayer(d_model, nhead, [{dim_feedforward=2048, dropout=0.1, activation='relu'|'gelu', layer_norm_eps=1e-5, batch_first=false, norm_first=false, bias=true, dtype}]) — self-attention, attention over the encoder's memory, feed-forward, each with a residual and LayerNorm; layer(tgt, memory, [{tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, tgt_is_causal, memory_is_causal}])",
  3, "d_model, nhead, [options]")

function TransformerDecoderLayer:init(d_model, nhead, opts)
  local o = layer_options(DEC, d_model, nhead, opts)
  local mo = { dropout = o.dropout, bias = o.bias, batch_first = o.batch_first, dtype = o.dtype }
  self.self_attn = MultiheadAttention(d_model, nhead, mo)
  self.multihead_attn = MultiheadAttention(d_model, nhead, mo)
  build_common(self, d_model, o, 3)
end

local DEC_FWD = { "tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask", "tgt_is_causal", "memory_is_causal" }

function TransformerDecoderLayer:_sa(x, o)
  return self.dropout1(self.self_attn(x, x, x, { attn_mask = o.tgt_mask, key_padding_mask = o.tgt_key_padding_mask,
    need_weights = false, is_causal = o.tgt_is_causal }))
end

function TransformerDecoderLayer:_mha(x, mem, o)
  return self.dropout2(self.multihead_attn(x, mem, mem, { attn_mask = o.memory_mask,
    key_padding_mask = o.memory_key_padding_mask, need_weights = false, is_causal = o.memory_is_causal }))
end

function TransformerDecoderLayer:forward(tgt, memory, opts)
  check_input(DEC, tgt)
  check_input(DEC, memory)
  local o = check_opts(DEC, opts, DEC_FWD)
  local x = tgt
  if self.norm_first then
    x = x + self:_sa(self.norm1(x), o)
    x = x + self:_mha(self.norm2(x), memory, o)
    return x + feed_forward(self, self.norm3(x), 3)
  end
  x = self.norm1(x + self:_sa(x, o))
  x = self.norm2(x + self:_mha(x, memory, o))
  return self.norm3(x + feed_forward(self, x, 3))
end
doc(TransformerDecoderLayer.forward, "layer:forward(tgt, memory, [{tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, tgt_is_causal, memory_is_causal}]) -> tensor of tgt's shape")

function TransformerDecoderLayer:extra_repr() return "norm_first=" .. tostring(self.norm_first) end

-- ---- stacks -------------------------------------------------------------
-- num_layers copies of layer (same class, arguments and weights, as PyTorch's deepcopy)
local function clones(fn, layer, n)
  if not Module.is_module(layer) then fail(fmt("%s: expected a layer module, got %s", fn, type(layer))) end
  check_count(fn, "num_layers", n)
  local cls, args = getmetatable(layer), rawget(layer, "_args")
  local sd = layer:state_dict()
  local list = {}
  for i = 1, n do
    local c = cls.new(cls, table.unpack(args, 1, args.n))
    c:load_state_dict(sd)
    list[i] = c
  end
  return ModuleList(list)
end

local function stack_norm(fn, opts)
  opts = check_opts(fn, opts, { "norm" })
  if opts.norm ~= nil and not Module.is_module(opts.norm) then
    fail(fmt("%s: option 'norm' must be a module (nn.LayerNorm), got %s", fn, type(opts.norm)))
  end
  return opts.norm
end

local ENCS = "nn.TransformerEncoder"
local TransformerEncoder = class("TransformerEncoder",
  "nn.TransformerEncoder(encoder_layer, num_layers, [{norm}]) — num_layers copies of the layer in turn, then the optional final norm; enc(src, [{mask, src_key_padding_mask, is_causal}])",
  3, "encoder_layer, num_layers, [options]")

function TransformerEncoder:init(encoder_layer, num_layers, opts)
  local norm = stack_norm(ENCS, opts)
  self.layers = clones(ENCS, encoder_layer, num_layers)
  self.num_layers = num_layers
  if norm then self.norm = norm end
end

function TransformerEncoder:forward(src, opts)
  local o = check_opts(ENCS, opts, { "mask", "src_key_padding_mask", "is_causal" })
  local lo = { src_mask = o.mask, src_key_padding_mask = o.src_key_padding_mask, is_causal = o.is_causal }
  local x = src
  for _, layer in ipairs(self.layers) do x = layer(x, lo) end
  return self.norm and self.norm(x) or x
end
doc(TransformerEncoder.forward, "enc:forward(src, [{mask, src_key_padding_mask, is_causal}]) -> tensor of src's shape")

local DECS = "nn.TransformerDecoder"
local TransformerDecoder = class("TransformerDecoder",
  "nn.TransformerDecoder(decoder_layer, num_layers, [{norm}]) — num_layers copies of the layer in turn, then the optional final norm; dec(tgt, memory, [{tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, tgt_is_causal}])",
  3, "decoder_layer, num_layers, [options]")

function TransformerDecoder:init(decoder_layer, num_layers, opts)
  local norm = stack_norm(DECS, opts)
  self.layers = clones(DECS, decoder_layer, num_layers)
  self.num_layers = num_layers
  if norm then self.norm = norm end
end

function TransformerDecoder:forward(tgt, memory, opts)
  local o = check_opts(DECS, opts, DEC_FWD)
  local x = tgt
  for _, layer in ipairs(self.layers) do x = layer(x, memory, o) end
  return self.norm and self.norm(x) or x
end
doc(TransformerDecoder.forward, "dec:forward(tgt, memory, [{tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, tgt_is_causal}]) -> tensor of tgt's shape")

-- ---- Transformer --------------------------------------------------------
local TR = "nn.Transformer"
local Transformer = class("Transformer",
  "nn.Transformer([{d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048, dropout=0.1, activation='relu', layer_norm_eps=1e-5, batch_first=false, norm_first=false, bias=true, dtype}]) — encoder and decoder stacks with final norms, as PyTorch; t(src, tgt, [{src_mask, tgt_mask, memory_mask, src_key_padding_mask, tgt_key_padding_mask, memory_key_padding_mask}])",
  1, "[options]")

function Transformer:init(opts)
  opts = check_opts(TR, opts, { "d_model", "nhead", "num_encoder_layers", "num_decoder_layers", table.unpack(LAYER_OPTS) })
  local d, h = opts.d_model or 512, opts.nhead or 8
  local lo = {}
  for _, k in ipairs(LAYER_OPTS) do lo[k] = opts[k] end
  local eps, bias, dt = opts.layer_norm_eps or 1e-5, opts.bias, opts.dtype
  self.encoder = TransformerEncoder(TransformerEncoderLayer(d, h, lo), check_count(TR, "num_encoder_layers", opts.num_encoder_layers or 6),
    { norm = LayerNorm(d, { eps = eps, bias = bias, dtype = dt }) })
  self.decoder = TransformerDecoder(TransformerDecoderLayer(d, h, lo), check_count(TR, "num_decoder_layers", opts.num_decoder_layers or 6),
    { norm = LayerNorm(d, { eps = eps, bias = bias, dtype = dt }) })
  self.d_model, self.nhead, self.batch_first = d, h, lo.batch_first or false
  self:_reset_parameters()
end

-- PyTorch's: xavier_uniform_ on every parameter with more than one dimension
function Transformer:_reset_parameters()
  for _, p in ipairs(self:parameters()) do
    if p:dim() > 1 then init.xavier_uniform_(p) end
  end
end

function Transformer:forward(src, tgt, opts)
  local o = check_opts(TR, opts, { "src_mask", "tgt_mask", "memory_mask", "src_key_padding_mask",
    "tgt_key_padding_mask", "memory_key_padding_mask", "src_is_causal", "tgt_is_causal", "memory_is_causal" })
  local memory = self.encoder(src, { mask = o.src_mask, src_key_padding_mask = o.src_key_padding_mask, is_causal = o.src_is_causal })
  return self.decoder(tgt, memory, { tgt_mask = o.tgt_mask, memory_mask = o.memory_mask,
    tgt_key_padding_mask = o.tgt_key_padding_mask, memory_key_padding_mask = o.memory_key_padding_mask,
    tgt_is_causal = o.tgt_is_causal, memory_is_causal = o.memory_is_causal })
end
doc(Transformer.forward, "t:forward(src, tgt, [{src_mask, tgt_mask, memory_mask, src_key_padding_mask, tgt_key_padding_mask, memory_key_padding_mask}]) -> the decoder's output, tgt's shape")

--- Transformer.generate_square_subsequent_mask(n, [dtype]) -> float (n, n): 0 on and below the diagonal, -inf above
function Transformer.generate_square_subsequent_mask(n, dtype)
  check_count("nn.Transformer.generate_square_subsequent_mask", "n", n)
  local r = ml.arange(1, n + 1)
  return ml.zeros({ n, n }, { dtype = dtype or "float32" }):masked_fill(r:reshape(1, n):gt(r:reshape(n, 1)), -math.huge)
end
doc(Transformer.generate_square_subsequent_mask, "nn.Transformer.generate_square_subsequent_mask(n, [dtype='float32']) -> (n, n) float mask: 0 on and below the diagonal, -inf above (a causal tgt_mask)")

-- ---- positional encodings -----------------------------------------------
local PE_OPTS = { "max_len", "dropout", "batch_first", "dtype" }

-- adds pe[1..L] to x of (L, N, E) or, batch_first, (N, L, E); then dropout
local function add_positions(self, fn, x, pe)
  check_input(fn, x)
  local d = x:dim()
  local ld = (self.batch_first and d == 3) and 2 or 1
  if (d ~= 2 and d ~= 3) or x:size(d) ~= self.d_model then
    fail(fmt("%s: input must be %s with E = %d, got shape %s", fn, self.batch_first and "(N, L, E)" or "(L, N, E)",
      self.d_model, shape_str(x)))
  end
  local L = x:size(ld)
  if L > self.max_len then fail(fmt("%s: sequence of length %d is longer than max_len %d", fn, L, self.max_len)) end
  local p = pe:narrow(1, 1, L)
  if d == 3 then p = ld == 1 and p:reshape(L, 1, self.d_model) or p:reshape(1, L, self.d_model) end
  return self.dropout(x + p)
end

local function pe_options(self, fn, d_model, opts, max_len)
  check_count(fn, "d_model", d_model)
  opts = check_opts(fn, opts, PE_OPTS)
  self.d_model = d_model
  self.max_len = check_count(fn, "max_len", opts.max_len or max_len)
  self.batch_first = check_bool(fn, "batch_first", opts.batch_first, false)
  self.dropout = Dropout(check_number(fn, "dropout", opts.dropout or 0, 0, 1))
  return check_dtype(fn, opts.dtype)
end

local SIN = "nn.SinusoidalPositionalEncoding"
local SinusoidalPositionalEncoding = class("SinusoidalPositionalEncoding",
  "nn.SinusoidalPositionalEncoding(d_model, [{max_len=5000, dropout=0, batch_first=false, dtype}]) — adds the fixed encodings of 'Attention is all you need': pe[pos, 2i] = sin(pos / 10000^(2i/d)), pe[pos, 2i+1] = cos(...), positions from 0; a buffer, no parameters",
  2, "d_model, [options]")

function SinusoidalPositionalEncoding:init(d_model, opts)
  local dt = pe_options(self, SIN, d_model, opts, 5000)
  local half = (d_model + 1) // 2
  local pos = ml.arange(0, self.max_len):to("float64"):reshape(self.max_len, 1)
  local freq = (ml.arange(0, half):to("float64") * (-2 * math.log(10000) / d_model)):exp():reshape(1, half)
  local ang = pos * freq -- (max_len, half)
  local pe = ml.stack({ ang:sin(), ang:cos() }, 3):reshape(self.max_len, 2 * half):narrow(2, 1, d_model)
  self:buffer("pe", pe:contiguous():to(dt))
end

function SinusoidalPositionalEncoding:forward(x) return add_positions(self, SIN, x, self.pe) end

function SinusoidalPositionalEncoding:extra_repr() return fmt("d_model=%d, max_len=%d", self.d_model, self.max_len) end

local LRN = "nn.LearnedPositionalEncoding"
local LearnedPositionalEncoding = class("LearnedPositionalEncoding",
  "nn.LearnedPositionalEncoding(d_model, [{max_len=512, dropout=0, batch_first=false, dtype}]) — adds a trained weight [max_len, d_model] (init N(0, 0.02^2), as BERT and GPT-2) row by position",
  2, "d_model, [options]")

function LearnedPositionalEncoding:init(d_model, opts)
  local dt = pe_options(self, LRN, d_model, opts, 512)
  self.weight = param({ self.max_len, d_model }, dt)
  init.normal_(self.weight, { std = 0.02 })
end

function LearnedPositionalEncoding:forward(x) return add_positions(self, LRN, x, self.weight) end

function LearnedPositionalEncoding:extra_repr() return fmt("d_model=%d, max_len=%d", self.d_model, self.max_len) end

M.TransformerEncoderLayer = TransformerEncoderLayer
M.TransformerDecoderLayer = TransformerDecoderLayer
M.TransformerEncoder = TransformerEncoder
M.TransformerDecoder = TransformerDecoder
M.Transformer = Transformer
M.SinusoidalPositionalEncoding = SinusoidalPositionalEncoding
M.LearnedPositionalEncoding = LearnedPositionalEncoding
return B.doc_forwards(M)
