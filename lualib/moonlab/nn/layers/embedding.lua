--- nn.Embedding: a lookup table of rows by 1-based indices.
local ml = require "moonlab"
local B = require "moonlab.nn.layers.base"
local class, fail, check_opts, fmt = B.class, B.fail, B.check_opts, B.fmt
local doc = ml.doc
local init = require("moonlab.nn.initializers").init
local check_count, check_dtype, check_input, param = B.check_count, B.check_dtype, B.check_input, B.param

local M = {}

local Embedding = class("Embedding",
  "nn.Embedding(num, dim, [{padding_idx, dtype}]) — looks up rows of weight [num, dim] by 1-based int64 indices; weight ~ N(0, 1)",
  3, "num_embeddings, embedding_dim, [options]")

function Embedding:init(num_embeddings, embedding_dim, opts)
  local fn = "nn.Embedding"
  check_count(fn, "num_embeddings", num_embeddings)
  check_count(fn, "embedding_dim", embedding_dim)
  opts = check_opts(fn, opts, { "padding_idx", "dtype" })
  local dt = check_dtype(fn, opts.dtype)
  self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
  local p = opts.padding_idx
  if p ~= nil then
    if math.type(p) ~= "integer" or p == 0 or p > num_embeddings or p < -num_embeddings then
      fail(fmt("%s: padding_idx must be an index in 1..%d (or negative from the end), got %s", fn, num_embeddings,
        tostring(p)))
    end
    if p < 0 then p = num_embeddings + 1 + p end
    self.padding_idx = p
  end
  self.weight = param({ num_embeddings, embedding_dim }, dt)
  self:reset_parameters()
end

--- Embedding:reset_parameters(): weight ~ N(0, 1), the padding row zero
function Embedding:reset_parameters()
  init.normal_(self.weight)
  if self.padding_idx then
    local w, p = self.weight, self.padding_idx
    ml.no_grad(function() w:select(1, p):fill_(0) end)
  end
end
doc(Embedding.reset_parameters, "emb:reset_parameters() — re-draws the weight from N(0, 1), the padding_idx row zero")

function Embedding:forward(idx)
  local fn = "nn.Embedding"
  if type(idx) ~= "userdata" then check_input(fn, idx) end
  if idx:dtype() ~= "int64" then fail(fmt("%s: indices must be an int64 tensor, got %s", fn, idx:dtype())) end
  local flat = idx:reshape(-1)
  if flat:numel() > 0 then
    local lo, hi = flat:min():item(), flat:max():item()
    if lo < 1 or hi > self.num_embeddings then
      fail(fmt("%s: index %d is out of range for %d embeddings (indices are 1..%d)", fn,
        lo < 1 and lo or hi, self.num_embeddings, self.num_embeddings))
    end
  end
  local out = self.weight:index_select(1, flat)
  local p = self.padding_idx
  if p then -- the padding row gets no gradient: mask its lookups out
    out = out * flat:ne(p):to(out:dtype()):unsqueeze(2)
  end
  local shape = idx:shape()
  shape[#shape + 1] = self.embedding_dim
  return out:reshape(shape)
end

function Embedding:extra_repr()
  local s = fmt("%d, %d", self.num_embeddings, self.embedding_dim)
  if self.padding_idx then s = s .. fmt(", padding_idx=%d", self.padding_idx) end
  return s
end

M.Embedding = Embedding
return B.doc_forwards(M)
