-- A character-level language model: an embedding, a 2-layer LSTM and a
-- linear head, trained on poems and song lyrics from Debian's fortunes
-- package (/usr/share/games/fortunes/songs-poems, installed by `make deps`).
-- It prints the loss falling (the mean cross-entropy per character, in nats;
-- ln(vocabulary) is the loss of a uniform guess) and then samples text,
-- carrying the LSTM's state from one character to the next.
--   moonlab examples/sequence.lua [steps=500] [hidden=128] [seq=64] [batch=32] [chars=200000]
--                                 [sample=400] [temperature=0.8] [file=PATH]
local nn, optim = ml.nn, ml.optim
local o = ml.overrides
local steps, hidden, seq, batch = o.steps or 500, o.hidden or 128, o.seq or 64, o.batch or 32
local nchars, nsample, temperature = o.chars or 200000, o.sample or 400, o.temperature or 0.8
local path = o.file or "/usr/share/games/fortunes/songs-poems"

ml.seed(0)
local f = io.open(path, "rb")
if not f then error("examples/sequence.lua: cannot open '" .. path .. "' (make deps installs the fortunes package)") end
local text = f:read(nchars)
f:close()

-- the vocabulary: the bytes that occur; ids 1..V (a byte -> id table as a tensor, so encoding is one index_select)
local codes = {}
for i = 1, #text, 4096 do
  for _, b in ipairs({ text:byte(i, math.min(i + 4095, #text)) }) do codes[#codes + 1] = b end
end
local seen, vocab, lut = {}, {}, {}
for _, b in ipairs(codes) do seen[b] = true end
for b = 0, 255 do
  if seen[b] then vocab[#vocab + 1] = b end
  lut[b + 1] = seen[b] and #vocab or 1
end
local V = #vocab
local data = ml.tensor(lut, { dtype = "int64" }):index_select(1, ml.tensor(codes, { dtype = "int64" }) + 1)
local N = data:size(1)
print(string.format("%d characters of %s, vocabulary %d (a uniform guess: loss %.2f)", N, path, V, math.log(V)))

local Model = nn.Module:extend("CharLSTM")
function Model:init(v, h)
  self.embed = nn.Embedding(v, 64)
  self.lstm = nn.LSTM(64, h, { num_layers = 2, batch_first = true })
  self.head = nn.Linear(h, v)
end
function Model:forward(x, state) -- x (B, T) ids -> logits (B, T, V), the LSTM's final state
  local y, st = self.lstm(self.embed(x), state)
  return self.head(y), st
end
local model = Model(V, hidden)
local opt = optim.Adam(model:parameters(), { lr = 3e-3 })
local crit = nn.CrossEntropyLoss()

-- a batch of random windows: inputs data[s .. s+seq-1], targets one character on
local offsets = ml.arange(0, seq + 1):reshape({ 1, seq + 1 })
local function windows()
  local starts = ml.randint(1, N - seq + 1, { batch, 1 })
  local w = data:index_select(1, (starts + offsets):reshape({ batch * (seq + 1) })):reshape({ batch, seq + 1 })
  return w:narrow(2, 1, seq), w:narrow(2, 2, seq)
end

local t0, running = ml.now(), nil
for step = 1, steps do
  local x, y = windows()
  local logits = model(x)
  local loss = crit(logits:reshape({ batch * seq, V }), y:reshape({ batch * seq }))
  opt:zero_grad()
  loss:backward()
  nn.utils.clip_grad_norm(model:parameters(), 1.0)
  opt:step()
  local l = loss:item()
  running = running and 0.9 * running + 0.1 * l or l
  if step == 1 or step % math.max(1, steps // 10) == 0 or step == steps then
    print(string.format("step %4d  loss %.3f  (%.1f s)", step, running, ml.now() - t0))
  end
end

-- sampling: one character at a time, the state carried on
model:eval()
local function sample_id(logits)
  local p = ml.softmax(logits / temperature, 1):tolist()
  local r, acc = ml.rand({ 1 }):item(), 0
  for i = 1, #p do
    acc = acc + p[i]
    if r <= acc then return i end
  end
  return #p
end
local out = {}
ml.no_grad(function()
  local id, state = lut[string.byte("\n") + 1], nil
  for _ = 1, nsample do
    local logits
    logits, state = model(ml.tensor({ { id } }, { dtype = "int64" }), state)
    id = sample_id(logits:reshape({ V }))
    out[#out + 1] = string.char(vocab[id])
  end
end)
print("sample (temperature " .. temperature .. "):")
print(table.concat(out))
