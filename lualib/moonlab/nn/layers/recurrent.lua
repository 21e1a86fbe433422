--- nn.RNN, nn.LSTM, nn.GRU and their cells (PyTorch's semantics, parameter
-- names, layouts and init).
--
--   local lstm = nn.LSTM(64, 128, {num_layers = 2, batch_first = true})
--   local y, state = lstm(x)           -- y (B, T, 128); state = {h_n, c_n}, each (2, B, 128)
--   local y2, state2 = lstm(x2, state) -- carries the state on
--
-- Each layer and direction is one product x W_ih^T + b_ih over the whole
-- sequence (nn.linear), then the fused scan ml._rnn.scan (runtime/ops/rnn.c):
-- a GEMM h W_hh^T per step and one pass for the gates and the state update,
-- with its own backward. b_hh travels as the last column of W_hh, so the
-- scan's three inputs are the input part, the initial state and [W_hh | b_hh].
-- A PackedSequence input (nn.utils.pack_padded_sequence) gives the scan the
-- lengths: padded steps carry the state and their outputs are zero.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local seq = require "moonlab.nn.layers.sequence"
local init = require("moonlab.nn.initializers").init

local class, check_opts, fmt, fail = B.class, B.check_opts, B.fmt, B.fail
local check_count, check_dtype, check_bool, param = B.check_count, B.check_dtype, B.check_bool, B.param
local linear, scan = ml._nn.linear, ml._rnn.scan
local shape_str = B.shape_str

local M = {}

local GATES = { rnn_tanh = 1, rnn_relu = 1, lstm = 4, gru = 3 }

-- PyTorch's init for every recurrent weight and bias: U(-1/sqrt(hidden), 1/sqrt(hidden))
local function reset_all(self)
  local k = self.hidden_size > 0 and 1 / math.sqrt(self.hidden_size) or 0
  for _, p in ipairs(self:parameters()) do init.uniform_(p, { a = -k, b = k }) end
end

-- The scan's weight: [W_hh | b_hh] (b_hh as a last column), or W_hh alone.
local function hidden_weight(w_hh, b_hh)
  if not b_hh then return w_hh end
  return ml.cat({ w_hh, b_hh:unsqueeze(2) }, 2)
end

-- One direction of one layer over x (T, B, in): its outputs (T, B, H) and final states.
local function run_direction(mode, reverse, x, w_ih, b_ih, w_hh, b_hh, h0, c0, lengths, fn)
  local s = x:shape()
  local T, Bn = s[1], s[2]
  local gx = linear(x:reshape({ T * Bn, s[3] }), w_ih, b_ih, fn):reshape({ T, Bn, w_ih:shape()[1] })
  local s0 = c0 and ml.stack({ h0, c0 }) or h0:unsqueeze(1)
  local states = scan(mode, reverse, gx, s0, hidden_weight(w_hh, b_hh), lengths, fn)
  local hs = states:select(1, 1)
  local last = reverse and 1 or T + 1 -- the state after the direction's last step
  local y = hs:narrow(1, reverse and 1 or 2, T)
  return y, hs:select(1, last), c0 and states:select(1, 2):select(1, last) or nil
end

-- The shared constructor of RNN, LSTM and GRU.
local function init_layer(self, fn, mode, input_size, hidden_size, opts, extra)
  check_count(fn, "input_size", input_size)
  check_count(fn, "hidden_size", hidden_size)
  local known = { "num_layers", "bias", "batch_first", "dropout", "bidirectional", "dtype" }
  for _, k in ipairs(extra or {}) do known[#known + 1] = k end
  opts = check_opts(fn, opts, known)
  local L = opts.num_layers or 1
  if math.type(L) ~= "integer" or L < 1 then fail(fmt("%s: num_layers must be a positive integer, got %s", fn, tostring(L))) end
  local dropout = opts.dropout or 0
  B.check_number(fn, "dropout", dropout, 0, 1)
  local dt = check_dtype(fn, opts.dtype)
  self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, L
  self.bias = check_bool(fn, "bias", opts.bias, true)
  self.batch_first = check_bool(fn, "batch_first", opts.batch_first, false)
  self.bidirectional = check_bool(fn, "bidirectional", opts.bidirectional, false)
  self.dropout = dropout
  local D, G = self.bidirectional and 2 or 1, GATES[mode] * hidden_size
  for l = 0, L - 1 do
    local isz = l == 0 and input_size or hidden_size * D
    for d = 0, D - 1 do
      local sfx = l .. (d == 1 and "_reverse" or "")
      self["weight_ih_l" .. sfx] = param({ G, isz }, dt)
      self["weight_hh_l" .. sfx] = param({ G, hidden_size }, dt)
      if self.bias then
        self["bias_ih_l" .. sfx] = param({ G }, dt)
        self["bias_hh_l" .. sfx] = param({ G }, dt)
      end
    end
  end
  reset_all(self)
end

-- The input as (T, B, in), whether it was unbatched, and the lengths of a PackedSequence.
local function check_input(self, fn, x)
  local lengths
  if seq.is_packed(x) then
    if x.batch_first ~= self.batch_first then
      fail(fmt("%s: the PackedSequence was made with batch_first=%s but the layer has batch_first=%s", fn,
        tostring(x.batch_first), tostring(self.batch_first)))
    end
    lengths, x = x.lengths, x.data
  end
  B.check_input(fn, x)
  local nd = x:dim()
  if nd ~= 2 and nd ~= 3 then
    fail(fmt("%s: input must be %s or unbatched (T, %d), got shape %s", fn,
      self.batch_first and "(B, T, features)" or "(T, B, features)", self.input_size, shape_str(x:shape())))
  end
  local s = x:shape()
  if s[nd] ~= self.input_size then fail(fmt("%s: input has %d features, expected %d", fn, s[nd], self.input_size)) end
  local dt = self.weight_ih_l0:dtype()
  if x:dtype() ~= dt then
    fail(fmt("%s: input dtype %s differs from the layer's %s (convert the input with :to('%s'))", fn, x:dtype(), dt, dt))
  end
  local unbatched = nd == 2
  if unbatched then
    if lengths then fail(fn .. ": a PackedSequence must hold a batch (3-D data)") end
    x = x:unsqueeze(2)
  elseif self.batch_first then x = x:transpose(1, 2) end
  return x:contiguous(), unbatched, lengths
end

-- An initial state h0 / c0 given by the user: (L * D, B, H), or (L * D, H) unbatched.
local function check_state(fn, what, h, want, unbatched, dt)
  if h == nil then return ml.zeros(want, { dtype = dt }) end
  if not ml.is_tensor(h) then fail(fmt("%s: %s must be a tensor, got %s", fn, what, type(h))) end
  if unbatched then
    if h:dim() ~= 2 then fail(fmt("%s: %s must be 2-D (%d, %d) for an unbatched input, got shape %s", fn, what, want[1], want[3], shape_str(h:shape()))) end
    h = h:unsqueeze(2)
  end
  local s = h:shape()
  if #s ~= 3 or s[1] ~= want[1] or s[2] ~= want[2] or s[3] ~= want[3] then
    fail(fmt("%s: %s has shape %s, expected %s (num_layers * directions, batch, hidden_size)", fn, what,
      shape_str(s), shape_str(want)))
  end
  if h:dtype() ~= dt then fail(fmt("%s: %s dtype %s differs from the layer's %s", fn, what, h:dtype(), dt)) end
  return h
end

-- forward(x, [hx]) for all three: returns the output and the final state
-- (h_n, or {h_n, c_n} for LSTM), as PyTorch.
local function forward_layer(self, input, hx)
  local fn = self._nn_name
  local x, unbatched, lengths = check_input(self, fn, input)
  local s = x:shape()
  local T, Bn, H = s[1], s[2], self.hidden_size
  local D, L, dt = self.bidirectional and 2 or 1, self.num_layers, x:dtype()
  local lstm = self.mode == "lstm"
  local want = { L * D, Bn, H }
  local h0, c0
  if lstm then
    if hx ~= nil and (type(hx) ~= "table" or ml.is_tensor(hx) or #hx ~= 2) then
      fail(fmt("%s: the initial state must be a table {h0, c0}, got %s", fn, ml.is_tensor(hx) and "a tensor" or type(hx)))
    end
    h0 = check_state(fn, "h0", hx and hx[1], want, unbatched, dt)
    c0 = check_state(fn, "c0", hx and hx[2], want, unbatched, dt)
  else
    h0 = check_state(fn, "h0", hx, want, unbatched, dt)
  end
  local hn, cn = {}, {}
  for l = 0, L - 1 do
    local outs = {}
    for d = 0, D - 1 do
      local sfx, k = l .. (d == 1 and "_reverse" or ""), l * D + d + 1
      local y, h, c = run_direction(self.mode, d == 1, x, self["weight_ih_l" .. sfx], self["bias_ih_l" .. sfx],
        self["weight_hh_l" .. sfx], self["bias_hh_l" .. sfx], h0:select(1, k), c0 and c0:select(1, k), lengths, fn)
      outs[d + 1], hn[k], cn[k] = y, h, c
    end
    x = D == 2 and ml.cat(outs, 3) or outs[1]
    if self.dropout > 0 and self.training and l < L - 1 then
      local mask = ml._nn.bernoulli_(ml.empty_like(x), 1 - self.dropout)
      x = self.dropout == 1 and x * 0 or x * mask:mul_(1 / (1 - self.dropout))
    end
  end
  if lengths then -- outputs at padded steps are zero (the carried states are not outputs)
    x = x * seq.lengths_to_mask(lengths, T):to(dt):unsqueeze(3)
  end
  local h_n, c_n = ml.stack(hn), lstm and ml.stack(cn) or nil
  if unbatched then
    x, h_n = x:squeeze(2), h_n:squeeze(2)
    if c_n then c_n = c_n:squeeze(2) end
  elseif self.batch_first then x = x:transpose(1, 2):contiguous() end
  if lengths then x = seq.PackedSequence(x, lengths, self.batch_first) end
  if lstm then return x, { h_n, c_n } end
  return x, h_n
end

local function layer_repr(self)
  local parts = { fmt("%d, %d", self.input_size, self.hidden_size) }
  if self.num_layers ~= 1 then parts[#parts + 1] = "num_layers=" .. self.num_layers end
  if self.mode == "rnn_relu" then parts[#parts + 1] = "nonlinearity='relu'" end
  if not self.bias then parts[#parts + 1] = "bias=false" end
  if self.batch_first then parts[#parts + 1] = "batch_first=true" end
  if self.dropout > 0 then parts[#parts + 1] = fmt("dropout=%g", self.dropout) end
  if self.bidirectional then parts[#parts + 1] = "bidirectional=true" end
  return table.concat(parts, ", ")
end

local OPTS_DOC = "{num_layers=1, bias=true, batch_first=false, dropout=0, bidirectional=false, dtype='float32'}"

local RNN = class("RNN",
  "nn.RNN(input_size, hidden_size, [" .. OPTS_DOC:sub(1, -2) .. ", nonlinearity='tanh'}]) — Elman RNN h = act(W_ih x + b_ih + W_hh h' + b_hh); rnn(x, [h0]) -> output, h_n",
  3, "input_size, hidden_size, [options]")
function RNN:init(input_size, hidden_size, opts)
  local nl = opts and type(opts) == "table" and opts.nonlinearity or "tanh"
  if nl ~= "tanh" and nl ~= "relu" then fail(fmt("nn.RNN: nonlinearity must be 'tanh' or 'relu', got %s", tostring(nl))) end
  init_layer(self, "nn.RNN", "rnn_" .. nl, input_size, hidden_size, opts, { "nonlinearity" })
end

local LSTM = class("LSTM",
  "nn.LSTM(input_size, hidden_size, [" .. OPTS_DOC .. "]) — long short-term memory (gates i, f, g, o); lstm(x, [{h0, c0}]) -> output, {h_n, c_n}",
  3, "input_size, hidden_size, [options]")
function LSTM:init(input_size, hidden_size, opts) init_layer(self, "nn.LSTM", "lstm", input_size, hidden_size, opts) end

local GRU = class("GRU",
  "nn.GRU(input_size, hidden_size, [" .. OPTS_DOC .. "]) — gated recurrent unit (gates r, z, n); gru(x, [h0]) -> output, h_n",
  3, "input_size, hidden_size, [options]")
function GRU:init(input_size, hidden_size, opts) init_layer(self, "nn.GRU", "gru", input_size, hidden_size, opts) end

for _, cls in ipairs({ RNN, LSTM, GRU }) do
  cls.forward = forward_layer
  cls.extra_repr = layer_repr
  cls.reset_parameters = reset_all
  ml.doc(cls.forward, "rnn:forward(x, [state]) -> output, final state — x (T, B, in) ((B, T, in) with batch_first), unbatched (T, in), or a PackedSequence")
end
ml.doc(reset_all, "rnn:reset_parameters() — re-draws every weight and bias as PyTorch: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))")

-- ---- cells: one step, the same fused kernel with T = 1 ----------------------

local function init_cell(self, fn, mode, input_size, hidden_size, opts, extra)
  check_count(fn, "input_size", input_size)
  check_count(fn, "hidden_size", hidden_size)
  local known = { "bias", "dtype" }
  for _, k in ipairs(extra or {}) do known[#known + 1] = k end
  opts = check_opts(fn, opts, known)
  local dt = check_dtype(fn, opts.dtype)
  self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
  self.bias = check_bool(fn, "bias", opts.bias, true)
  local G = GATES[mode] * hidden_size
  self.weight_ih = param({ G, input_size }, dt)
  self.weight_hh = param({ G, hidden_size }, dt)
  if self.bias then
    self.bias_ih = param({ G }, dt)
    self.bias_hh = param({ G }, dt)
  end
  reset_all(self)
end

-- one step: x (B, in) or (in); state h (B, H) (LSTM: {h, c}); returns h' (LSTM: h', c')
local function forward_cell(self, x, hx)
  local fn = self._nn_name
  B.check_input(fn, x)
  local nd = x:dim()
  if nd ~= 1 and nd ~= 2 then fail(fmt("%s: input must be (B, %d) or (%d), got shape %s", fn, self.input_size, self.input_size, shape_str(x:shape()))) end
  if x:shape()[nd] ~= self.input_size then fail(fmt("%s: input has %d features, expected %d", fn, x:shape()[nd], self.input_size)) end
  local dt = self.weight_ih:dtype()
  if x:dtype() ~= dt then fail(fmt("%s: input dtype %s differs from the layer's %s (convert the input with :to('%s'))", fn, x:dtype(), dt, dt)) end
  local unbatched = nd == 1
  if unbatched then x = x:unsqueeze(1) end
  local Bn, H, lstm = x:shape()[1], self.hidden_size, self.mode == "lstm"
  if lstm and hx ~= nil and (type(hx) ~= "table" or ml.is_tensor(hx) or #hx ~= 2) then
    fail(fmt("%s: the state must be a table {h, c}, got %s", fn, ml.is_tensor(hx) and "a tensor" or type(hx)))
  end
  local want = unbatched and { H } or { Bn, H }
  local function state(what, h)
    if h == nil then return ml.zeros({ Bn, H }, { dtype = dt }) end
    if not ml.is_tensor(h) then fail(fmt("%s: %s must be a tensor, got %s", fn, what, type(h))) end
    local s = h:shape()
    local ok = #s == #want
    for i = 1, #want do ok = ok and s[i] == want[i] end
    if not ok then fail(fmt("%s: %s has shape %s, expected %s", fn, what, shape_str(s), shape_str(want))) end
    if h:dtype() ~= dt then fail(fmt("%s: %s dtype %s differs from the layer's %s", fn, what, h:dtype(), dt)) end
    return unbatched and h:unsqueeze(1) or h
  end
  local h0 = state("h", lstm and hx and hx[1] or (not lstm and hx or nil))
  local c0 = lstm and state("c", hx and hx[2]) or nil
  local gx = linear(x, self.weight_ih, self.bias_ih, fn):unsqueeze(1)
  local s0 = lstm and ml.stack({ h0, c0 }) or h0:unsqueeze(1)
  local states = scan(self.mode, false, gx, s0, hidden_weight(self.weight_hh, self.bias_hh), nil, fn)
  local h = states:select(1, 1):select(1, 2)
  local c = lstm and states:select(1, 2):select(1, 2) or nil
  if unbatched then
    h = h:squeeze(1)
    if c then c = c:squeeze(1) end
  end
  if lstm then return h, c end
  return h
end

local function cell_repr(self)
  local s = fmt("%d, %d", self.input_size, self.hidden_size)
  if self.mode == "rnn_relu" then s = s .. ", nonlinearity='relu'" end
  if not self.bias then s = s .. ", bias=false" end
  return s
end

local RNNCell = class("RNNCell",
  "nn.RNNCell(input_size, hidden_size, [{bias=true, nonlinearity='tanh', dtype='float32'}]) — one Elman step; cell(x, [h]) -> h'",
  3, "input_size, hidden_size, [options]")
function RNNCell:init(input_size, hidden_size, opts)
  local nl = opts and type(opts) == "table" and opts.nonlinearity or "tanh"
  if nl ~= "tanh" and nl ~= "relu" then fail(fmt("nn.RNNCell: nonlinearity must be 'tanh' or 'relu', got %s", tostring(nl))) end
  init_cell(self, "nn.RNNCell", "rnn_" .. nl, input_size, hidden_size, opts, { "nonlinearity" })
end

local LSTMCell = class("LSTMCell",
  "nn.LSTMCell(input_size, hidden_size, [{bias=true, dtype='float32'}]) — one LSTM step; cell(x, [{h, c}]) -> h', c'",
  3, "input_size, hidden_size, [options]")
function LSTMCell:init(input_size, hidden_size, opts) init_cell(self, "nn.LSTMCell", "lstm", input_size, hidden_size, opts) end

local GRUCell = class("GRUCell",
  "nn.GRUCell(input_size, hidden_size, [{bias=true, dtype='float32'}]) — one GRU step; cell(x, [h]) -> h'",
  3, "input_size, hidden_size, [options]")
function GRUCell:init(input_size, hidden_size, opts) init_cell(self, "nn.GRUCell", "gru", input_size, hidden_size, opts) end

for _, cls in ipairs({ RNNCell, LSTMCell, GRUCell }) do
  cls.forward = forward_cell
  cls.extra_repr = cell_repr
  cls.reset_parameters = reset_all
end
ml.doc(forward_cell, "cell:forward(x, [state]) -> the next state — x (B, in) or (in); LSTMCell takes {h, c} and returns h', c'")

M.RNN, M.LSTM, M.GRU = RNN, LSTM, GRU
M.RNNCell, M.LSTMCell, M.GRUCell = RNNCell, LSTMCell, GRUCell
return B.doc_forwards(M)
