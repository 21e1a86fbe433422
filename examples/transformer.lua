-- A small Transformer classifier on Fashion-MNIST, as a vision transformer:
-- each 28x28 image is cut into 7x7 patches of 4x4 pixels (49 tokens of 16
-- values), embedded to d_model, given learned positions, run through a
-- pre-norm nn.TransformerEncoder and averaged over tokens before the
-- classifying Linear. Trained with AdamW and model:fit: 85.8% test accuracy
-- after 5 epochs (322 s on this 2-core machine). Then the CNN of
-- examples/fashion_cnn.lua (its model and training loop, loaded from that
-- file) trains on the same rows for the same epochs, and both accuracies are
-- printed side by side (the CNN: 91.1%, 132 s): the CNN does better on this data, attention has no
-- built-in notion of neighbouring pixels. cnn=0 skips the CNN.
--   moonlab examples/transformer.lua [epochs=5] [limit=N rows, for a quick run] [d_model=64] [layers=2] [cnn=1]
local nn, optim, data = ml.nn, ml.optim, ml.data
local epochs = ml.overrides.epochs or 5
local limit = ml.overrides.limit
local d_model = ml.overrides.d_model or 64
local n_layers = ml.overrides.layers or 2
local with_cnn = ml.overrides.cnn ~= 0

ml.seed(0)
local train, test = data.fashion_mnist()
if limit then
  train = { x = train.x:narrow(1, 1, limit), y = train.y:narrow(1, 1, limit) }
  local n = math.min(limit, test.x:size(1))
  test = { x = test.x:narrow(1, 1, n), y = test.y:narrow(1, 1, n) }
end

local PatchTransformer = nn.Module:extend("PatchTransformer",
  "PatchTransformer(d_model, layers) — 4x4 patches of a 28x28 image as 49 tokens, a Transformer encoder, mean over tokens, 10 classes")

function PatchTransformer:init(d, layers)
  self.embed = nn.Linear(16, d)
  self.pos = nn.LearnedPositionalEncoding(d, { max_len = 49, batch_first = true })
  local layer = nn.TransformerEncoderLayer(d, 4, { dim_feedforward = 2 * d, dropout = 0.1, activation = "gelu",
    batch_first = true, norm_first = true })
  self.encoder = nn.TransformerEncoder(layer, layers, { norm = nn.LayerNorm(d) })
  self.head = nn.Linear(d, 10)
end

function PatchTransformer:forward(x) -- x (N, 28, 28)
  local n = x:size(1)
  local patches = x:reshape(n, 7, 4, 7, 4):permute(1, 2, 4, 3, 5):reshape(n, 49, 16)
  local h = self.encoder(self.pos(self.embed(patches)))
  return self.head(h:mean(2))
end

local model = PatchTransformer(d_model, n_layers)
print(model)
local opt = optim.AdamW(model:parameters(), { lr = 2e-3, weight_decay = 0.01 })
model:compile{ optimizer = opt, loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
-- The last tenth of the training rows validates; the CNN below trains on the same first nine tenths.
local n = train.x:size(1)
local nval = math.max(1, n // 10)
local fit_rows = { x = train.x:narrow(1, 1, n - nval), y = train.y:narrow(1, 1, n - nval) }
local t0 = ml.now()
model:fit(fit_rows.x, fit_rows.y, { epochs = epochs, batch_size = 128,
  validation_data = { train.x:narrow(1, n - nval + 1, nval), train.y:narrow(1, n - nval + 1, nval) },
  callbacks = { ml.callbacks.LearningRateScheduler(optim.lr.CosineAnnealingLR(opt, { T_max = epochs })) } })
local result = model:evaluate(test.x, test.y)
local transformer_s = ml.now() - t0
local line = string.format("%-40s test accuracy %.2f%% after %d epochs (%.0f s)",
  string.format("Transformer (%d layers, d_model %d):", n_layers, d_model), 100 * result.accuracy, epochs, transformer_s)
print(line)
if not with_cnn then return end

local here = (arg and arg[0] or ""):match("^(.*)/") or "examples"
local cnn = assert(loadfile(here .. "/fashion_cnn.lua"))("--library")
ml.seed(0)
local cnn_model = cnn.model()
local t1 = ml.now()
local cnn_acc = cnn.train(cnn_model, fit_rows, test, epochs, "CNN ")
print(line)
print(string.format("%-40s test accuracy %.2f%% after %d epochs (%.0f s)", "CNN (examples/fashion_cnn.lua):", 100 * cnn_acc,
  epochs, ml.now() - t1))
