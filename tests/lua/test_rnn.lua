-- Recurrent layers (nn.RNN, nn.LSTM, nn.GRU, the cells) and padded
-- sequences: forward and backward against PyTorch on the same weights
-- (tests/fixtures/nn/rnn.lua, scripts/gen_rnn_fixtures.py), float64
-- finite-difference checks of the fused scan, errors, save/load.
local nn = ml.nn
local gradcheck = dofile("tests/lua/gradcheck.lua")
local fx = dofile("tests/fixtures/nn/rnn.lua")
local F = T.fixture_tensor

local function build(c)
  local m = T.build(c.ctor)
  local sd = {}
  for k, v in pairs(c.params) do sd[k] = F(v) end
  m:load_state_dict(sd)
  return m
end

for _, c in ipairs(fx.cases) do
  T.test("rnn vs torch: " .. c.name, function()
    local m = build(c)
    local f32 = c.x.dtype == "float32"
    local tol = f32 and 2e-5 or 1e-10
    local x = F(c.x):requires_grad()
    local state
    if c.state then
      local s = {}
      for i, v in ipairs(c.state) do s[i] = F(v):requires_grad() end
      state = #s == 1 and s[1] or s
    end
    local loss
    if c.cell then
      local h, cc = m(x, state)
      T.all_near(h, F(c.out_h), tol)
      loss = (h * F(c.w_h)):sum()
      if c.out_c then
        T.all_near(cc, F(c.out_c), tol)
        loss = loss + (cc * F(c.w_c)):sum()
      end
    else
      local inp = x
      local bf = m.batch_first
      if c.lengths then inp = nn.utils.pack_padded_sequence(x, c.lengths, { batch_first = bf, enforce_sorted = false }) end
      local y, hn = m(inp, state)
      if c.lengths then
        T.ok(nn.utils.is_packed(y), "a packed input gives a packed output")
        y = nn.utils.pad_packed_sequence(y, { batch_first = bf })
      end
      local h, cc = hn, nil
      if c.out_c then h, cc = hn[1], hn[2] end
      T.all_near(y, F(c.out_y), tol)
      T.all_near(h, F(c.out_h), tol)
      loss = (y * F(c.w_y)):sum() + (h * F(c.w_h)):sum()
      if cc then
        T.all_near(cc, F(c.out_c), tol)
        loss = loss + (cc * F(c.w_c)):sum()
      end
    end
    loss:backward()
    T.all_near(x.grad, F(c.grads.x), tol * 10)
    if c.state then
      local s = type(state) == "table" and state or { state }
      for i, v in ipairs(c.grads.state) do T.all_near(s[i].grad, F(v), tol * 10) end
    end
    local params = {}
    for _, kv in ipairs(m:named_parameters()) do params[kv[1]] = kv[2] end
    for k, want in pairs(c.grads) do
      if k ~= "x" and k ~= "state" then
        T.ok(params[k], "parameter " .. k)
        T.all_near(params[k].grad, F(want), tol * 10)
      end
    end
  end)
end

T.test("fused scan: float64 finite differences, every mode, both directions, with and without lengths", function()
  ml.seed(3)
  for mode, g in pairs({ rnn_tanh = 1, rnn_relu = 1, lstm = 4, gru = 3 }) do
    local S = mode == "lstm" and 2 or 1
    for _, rev in ipairs({ false, true }) do
      for _, len in ipairs({ false, ml.tensor({ 3, 1, 2 }, { dtype = "int64" }) }) do
        for _, hc in ipairs({ 5, 6 }) do -- W_hh alone, and [W_hh | b_hh]
          local gx = ml.randn({ 3, 3, g * 5 }, { dtype = "float64" })
          local s0 = ml.randn({ S, 3, 5 }, { dtype = "float64" })
          local w = ml.randn({ g * 5, hc }, { dtype = "float64" }) * 0.5
          gradcheck(function(a, b, c) return ml._rnn.scan(mode, rev, a, b, c, len or nil) end, { gx, s0, w },
            { tol = 1e-6, skip = mode == "rnn_relu" and function(k, i, v) return false end or nil })
        end
      end
    end
  end
end)

T.test("nn.LSTM / nn.GRU through the layer: float64 finite differences (2 layers, bidirectional, lengths)", function()
  ml.seed(4)
  local lstm = nn.LSTM(3, 4, { num_layers = 2, bidirectional = true, dtype = "float64" })
  local x = ml.randn({ 4, 2, 3 }, { dtype = "float64" })
  local h0 = ml.randn({ 4, 2, 4 }, { dtype = "float64" })
  local c0 = ml.randn({ 4, 2, 4 }, { dtype = "float64" })
  gradcheck(function(a, b, c)
    local y, st = lstm(nn.utils.pack_padded_sequence(a, { 4, 2 }), { b, c })
    return { y.data, st[1], st[2] }
  end, { x, h0, c0 })
  local gru = nn.GRU(3, 4, { batch_first = true, dtype = "float64" })
  gradcheck(function(a)
    local y, h = gru(a)
    return { y, h }
  end, { ml.randn({ 2, 3, 3 }, { dtype = "float64" }) })
end)

T.test("padded steps change nothing: a padded batch equals each sequence alone", function()
  ml.seed(5)
  local gru = nn.GRU(3, 4, { bidirectional = true, batch_first = true })
  local a, b = ml.randn({ 5, 3 }), ml.randn({ 2, 3 })
  local x = nn.utils.pad_sequence({ a, b }, { batch_first = true })
  T.eq(x:shape()[2], 5)
  local y, h = gru(nn.utils.pack_padded_sequence(x, { 5, 2 }, { batch_first = true }))
  local yb, hb = gru(b:unsqueeze(1))
  local yp = nn.utils.pad_packed_sequence(y, { batch_first = true })
  T.all_near(yp:select(1, 2):narrow(1, 1, 2), yb:select(1, 1), 1e-6)
  T.all_near(yp:select(1, 2):narrow(1, 3, 3), ml.zeros({ 3, 8 }), 0)
  T.all_near(h:select(2, 2), hb:select(2, 1), 1e-6)
  -- unbatched input equals a batch of one
  local yu, hu = gru(b)
  T.all_near(yu, yb:select(1, 1), 1e-6)
  T.all_near(hu, hb:select(2, 1), 1e-6)
end)

T.test("nn.utils: masks, lengths, padding values, total_length", function()
  local m = nn.utils.lengths_to_mask({ 3, 1 }, 4)
  T.eq(m:dtype(), "bool")
  T.eq(table.concat(T.flatten(m:to("int64"):tolist()), ""), "11101000")
  T.eq(table.concat(nn.utils.mask_to_lengths(m):tolist(), ","), "3,1")
  local x = ml.ones({ 3, 2, 1 })
  local p = nn.utils.pack_padded_sequence(x, { 3, 1 })
  local y, len = nn.utils.pad_packed_sequence(p, { padding_value = -1, total_length = 4, batch_first = true })
  T.eq(table.concat(y:shape(), ","), "2,4,1")
  T.all_near(y:reshape({ 8 }), { 1, 1, 1, -1, 1, -1, -1, -1 }, 0)
  T.eq(table.concat(len:tolist(), ","), "3,1")
  local s = nn.utils.pad_sequence({ ml.ones({ 2, 2 }), ml.ones({ 1, 2 }) }, { padding_value = 9 })
  T.all_near(s:reshape({ 8 }), { 1, 1, 1, 1, 1, 1, 9, 9 }, 0)
end)

T.test("errors name the function and say what was expected", function()
  local lstm = nn.LSTM(4, 3, { num_layers = 2 })
  T.raises(function() lstm(ml.randn({ 5, 2, 3 })) end, "nn.LSTM: input has 3 features, expected 4")
  T.raises(function() lstm(ml.randn({ 5 })) end, "nn.LSTM: input must be (T, B, features)")
  T.raises(function() lstm(ml.randn({ 5, 2, 4 }, { dtype = "float64" })) end, "differs from the layer's float32")
  T.raises(function() lstm(ml.randn({ 5, 2, 4 }), ml.zeros({ 2, 2, 3 })) end, "nn.LSTM: the initial state must be a table {h0, c0}")
  T.raises(function() lstm(ml.randn({ 5, 2, 4 }), { ml.zeros({ 1, 2, 3 }), ml.zeros({ 2, 2, 3 }) }) end,
    "nn.LSTM: h0 has shape [1,2,3], expected [2,2,3]")
  T.raises(function() nn.GRU(4, 3, { num_layer = 2 }) end, "did you mean 'num_layers'?")
  T.raises(function() nn.RNN(4, 3, { nonlinearity = "sigmoid" }) end, "nn.RNN: nonlinearity must be 'tanh' or 'relu'")
  T.raises(function() nn.RNN(4, -1) end, "nn.RNN: hidden_size must be a non-negative integer")
  T.raises(function() nn.utils.pack_padded_sequence(ml.zeros({ 4, 2, 1 }), { 2, 3 }) end, "enforce_sorted = false")
  T.raises(function() nn.utils.pack_padded_sequence(ml.zeros({ 4, 2, 1 }), { 5, 3 }) end, "expected 1..4")
  T.raises(function() nn.utils.pack_padded_sequence(ml.zeros({ 4, 2, 1 }), { 3 }) end, "1 lengths for a batch of 2")
  local g = nn.GRU(2, 3, { batch_first = true })
  T.raises(function() g(nn.utils.pack_padded_sequence(ml.zeros({ 4, 2, 2 }), { 4, 3 })) end, "batch_first=false but the layer has batch_first=true")
  T.raises(function() nn.LSTMCell(2, 3)(ml.zeros({ 1, 2 }), ml.zeros({ 1, 3 })) end, "nn.LSTMCell: the state must be a table {h, c}")
  T.raises(function() nn.GRUCell(2, 3)(ml.zeros({ 1, 2 }), ml.zeros({ 2, 3 })) end, "nn.GRUCell: h has shape [2,3], expected [1,3]")
end)

T.test("parameters: PyTorch's names, shapes and init range; save and load", function()
  local lstm = nn.LSTM(3, 5, { num_layers = 2, bidirectional = true, bias = true })
  local p = {}
  for _, kv in ipairs(lstm:named_parameters()) do p[kv[1]] = kv[2] end
  T.eq(table.concat(p.weight_ih_l0:shape(), ","), "20,3")
  T.eq(table.concat(p.weight_ih_l1_reverse:shape(), ","), "20,10")
  T.eq(table.concat(p.bias_hh_l1:shape(), ","), "20")
  local k = 1 / math.sqrt(5)
  for _, t in pairs(p) do T.ok(t:abs():max():item() <= k + 1e-7, "init within 1/sqrt(hidden)") end
  local n = 0
  for _ in pairs(p) do n = n + 1 end
  T.eq(n, 16)
  local path = T.tmpname(".safetensors")
  lstm:save(path)
  local back = nn.load(path)
  local x = ml.randn({ 4, 2, 3 })
  local y1 = lstm(x)
  local y2 = back(x)
  T.all_near(y1, y2, 0)
  T.eq(tostring(back):match("^LSTM%b()"), "LSTM(3, 5, num_layers=2, bidirectional=true)")
end)

T.test("dropout between layers only in training; a sequence model trains", function()
  ml.seed(6)
  local rnn = nn.GRU(2, 8, { num_layers = 2, dropout = 0.5 })
  local x = ml.randn({ 6, 4, 2 })
  rnn:eval()
  local a, b = rnn(x), rnn(x)
  T.all_near(a, b, 0)
  rnn:train()
  local c = rnn(x)
  T.ok((c - a):abs():max():item() > 1e-4, "dropout changes the training output")
  -- learn to output the running sum's sign: the loss must fall
  ml.seed(7)
  local model = nn.LSTM(1, 8)
  local head = nn.Linear(8, 1)
  local params = model:parameters()
  for _, q in ipairs(head:parameters()) do params[#params + 1] = q end
  local opt = ml.optim.Adam(params, { lr = 0.02 })
  local xs = ml.randn({ 10, 16, 1 })
  local ys = ml.cumsum(xs, 1)
  local first, last
  for it = 1, 60 do
    local y = model(xs)
    local loss = ((head(y) - ys) ^ 2):mean()
    opt:zero_grad()
    loss:backward()
    opt:step()
    if it == 1 then first = loss:item() end
    last = loss:item()
  end
  T.ok(last < first * 0.3, string.format("loss fell from %g to %g", first, last))
end)
