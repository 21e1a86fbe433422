--- nn.layers: the index of the layer files, as torch/nn's init.lua. Each
-- family lives in its own file beside its docstrings; a missing file is an
-- error. New families (conv, recurrent, attention) are added to this list.
local M = {}

local FAMILIES = {
  "linear",     -- Linear
  "activation", -- ReLU, Sigmoid, Tanh, SiLU, LeakyReLU, ELU, GELU, Softmax, LogSoftmax
  "dropout",    -- Dropout
  "norm",       -- BatchNorm1d, LayerNorm
  "embedding",  -- Embedding
  "shape",      -- Identity, Flatten, Reshape
  "container",  -- Sequential, ModuleList
  "attention",  -- MultiheadAttention, scaled_dot_product_attention
  "transformer", -- TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder, Transformer, positional encodings
  "recurrent",  -- RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell
  "conv",       -- Conv1d, Conv2d, ConvTranspose2d
  "pool",       -- MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d
  "norm2d",     -- BatchNorm2d, GroupNorm
  "dropout2d",  -- Dropout2d
  "upsample",   -- Upsample
}

for _, family in ipairs(FAMILIES) do
  for name, cls in pairs(require("moonlab.nn.layers." .. family)) do
    if M[name] ~= nil then error("moonlab.nn.layers: " .. family .. " redefines nn." .. name) end
    M[name] = cls
  end
end

return M
