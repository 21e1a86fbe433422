--- nn.utils for padded batches of sequences of different lengths:
-- pad_sequence, pack_padded_sequence / pad_packed_sequence (PyTorch's
-- names) and lengths <-> masks.
--
--   local x = nn.utils.pad_sequence({a, b, c}, {batch_first = true})   -- (B, T, F), zeros after each end
--   local packed = nn.utils.pack_padded_sequence(x, {5, 3, 2}, {batch_first = true})
--   local out, h = lstm(packed)                                        -- out: a PackedSequence
--   local y, lengths = nn.utils.pad_packed_sequence(out, {batch_first = true})
--
-- A PackedSequence here keeps the padded tensor and the lengths: the fused
-- recurrent scan skips each sequence's padded steps (its state is carried
-- unchanged), so outputs at padded steps are zero and the final states are
-- those at each sequence's last real step, as PyTorch's packed sequences
-- give, without reordering the batch (unsorted lengths are fine with
-- enforce_sorted = false).
local ml = require "moonlab"
local Object = require("moonlab.core.class").Object
local checks = require "moonlab.core.checks"

local fail, check_opts, fmt = checks.fail, checks.options, string.format
local doc = ml.doc

local M = {}

local PackedSequence = Object:extend("nn.utils.PackedSequence",
  "nn.utils.PackedSequence — a padded batch and its lengths, made by nn.utils.pack_padded_sequence; the recurrent layers take and return it")

function PackedSequence:init(data, lengths, batch_first)
  self.data, self.lengths, self.batch_first = data, lengths, batch_first
end

function PackedSequence:extra_repr()
  return fmt("shape=[%s], batch_first=%s", table.concat(self.data:shape(), ","), tostring(self.batch_first))
end
M.PackedSequence = PackedSequence

--- is_packed(v) -> whether v is a PackedSequence
function M.is_packed(v) return getmetatable(v) == PackedSequence end

-- lengths from a list of integers or an int64 tensor, checked against n sequences of at most T steps
local function check_lengths(fn, lengths, n, T)
  local list
  if ml.is_tensor(lengths) then
    if lengths:dim() ~= 1 then fail(fmt("%s: lengths must be 1-D, got shape [%s]", fn, table.concat(lengths:shape(), ","))) end
    list = lengths:tolist()
  elseif type(lengths) == "table" then list = lengths
  else fail(fmt("%s: lengths must be a list of integers or an int64 tensor, got %s", fn, type(lengths))) end
  if #list ~= n then fail(fmt("%s: %d lengths for a batch of %d sequences", fn, #list, n)) end
  for i, v in ipairs(list) do
    if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) then
      fail(fmt("%s: length %d is %s, expected an integer", fn, i, tostring(v)))
    end
    if v < 1 or v > T then fail(fmt("%s: length %d is %s, expected 1..%d (the padded length)", fn, i, tostring(v), T)) end
  end
  return ml.tensor(list, { dtype = "int64" }), list
end
M._check_lengths = check_lengths

--- pad_sequence(seqs, [{batch_first=false, padding_value=0}]) -> (T, B, *) or (B, T, *)
function M.pad_sequence(seqs, opts)
  local fn = "nn.utils.pad_sequence"
  opts = check_opts(fn, opts, { "batch_first", "padding_value" })
  if type(seqs) ~= "table" or #seqs == 0 then fail(fn .. ": expected a non-empty list of tensors (L_i, *)") end
  local T, first = 0, seqs[1]
  for i, s in ipairs(seqs) do
    if not ml.is_tensor(s) or s:dim() == 0 then fail(fmt("%s: element %d must be a tensor of at least 1 dimension, got %s", fn, i, ml.is_tensor(s) and "a 0-d tensor" or type(s))) end
    local a, b = s:shape(), first:shape()
    local same = #a == #b and s:dtype() == first:dtype()
    for d = 2, #a do same = same and a[d] == b[d] end
    if not same then
      fail(fmt("%s: element %d has shape [%s] (%s), expected [L, %s] (%s) as element 1", fn, i, table.concat(a, ","),
        s:dtype(), table.concat(b, ",", 2), first:dtype()))
    end
    T = math.max(T, a[1])
  end
  local pv = opts.padding_value or 0
  local padded = {}
  for i, s in ipairs(seqs) do -- one cat per sequence (differentiable), then one stack
    local L = s:shape()[1]
    if L == T then padded[i] = s
    else
      local shape = s:shape()
      shape[1] = T - L
      padded[i] = ml.cat({ s, ml.full(shape, pv, { dtype = s:dtype() }) }, 1)
    end
  end
  return ml.stack(padded, opts.batch_first and 1 or 2)
end

--- lengths_to_mask(lengths, T, [{batch_first=false}]) -> bool mask (T, B) (or (B, T)), true at real steps
function M.lengths_to_mask(lengths, T, opts)
  local fn = "nn.utils.lengths_to_mask"
  opts = check_opts(fn, opts, { "batch_first" })
  if math.type(T) ~= "integer" or T < 1 then fail(fmt("%s: T must be a positive integer, got %s", fn, tostring(T))) end
  local n = ml.is_tensor(lengths) and lengths:shape()[1] or (type(lengths) == "table" and #lengths or 0)
  local len = check_lengths(fn, lengths, n, T)
  local steps = ml.arange(1, T + 1)
  if opts.batch_first then return ml.le(steps:reshape({ 1, T }), len:reshape({ n, 1 })) end
  return ml.le(steps:reshape({ T, 1 }), len:reshape({ 1, n }))
end

--- mask_to_lengths(mask, [{batch_first=false}]) -> int64 lengths: real steps per sequence of a (T, B) (or (B, T)) mask
function M.mask_to_lengths(mask, opts)
  local fn = "nn.utils.mask_to_lengths"
  opts = check_opts(fn, opts, { "batch_first" })
  checks.tensor(fn, "mask", mask)
  if mask:dim() ~= 2 then fail(fmt("%s: mask must be 2-D, got shape [%s]", fn, table.concat(mask:shape(), ","))) end
  return mask:to("int64"):sum(opts.batch_first and 2 or 1)
end

--- pack_padded_sequence(x, lengths, [{batch_first=false, enforce_sorted=true}]) -> PackedSequence
function M.pack_padded_sequence(x, lengths, opts)
  local fn = "nn.utils.pack_padded_sequence"
  opts = check_opts(fn, opts, { "batch_first", "enforce_sorted" })
  checks.tensor(fn, "input", x)
  if x:dim() < 2 then fail(fmt("%s: input must be (T, B, *) or (B, T, *) with batch_first, got shape [%s]", fn, table.concat(x:shape(), ","))) end
  local s = x:shape()
  local B, T = s[opts.batch_first and 1 or 2], s[opts.batch_first and 2 or 1]
  local len, list = check_lengths(fn, lengths, B, T)
  if opts.enforce_sorted ~= false then
    for i = 2, #list do
      if list[i] > list[i - 1] then
        fail(fmt("%s: lengths must be sorted in decreasing order (length %d is %d after %d), or pass {enforce_sorted = false}",
          fn, i, list[i], list[i - 1]))
      end
    end
  end
  return PackedSequence(x, len, opts.batch_first == true)
end

--- pad_packed_sequence(p, [{batch_first=false, padding_value=0, total_length}]) -> padded tensor, lengths
function M.pad_packed_sequence(p, opts)
  local fn = "nn.utils.pad_packed_sequence"
  opts = check_opts(fn, opts, { "batch_first", "padding_value", "total_length" })
  if not M.is_packed(p) then fail(fmt("%s: expected a PackedSequence (nn.utils.pack_padded_sequence), got %s", fn, type(p))) end
  local x = p.data
  if (opts.batch_first == true) ~= p.batch_first then x = x:transpose(1, 2):contiguous() end
  local tdim = opts.batch_first and 2 or 1
  local T = x:shape()[tdim]
  local total = opts.total_length
  if total ~= nil then
    if math.type(total) ~= "integer" or total < T then
      fail(fmt("%s: total_length must be an integer >= the longest sequence (%d), got %s", fn, T, tostring(total)))
    end
    if total > T then
      local shape = x:shape()
      shape[tdim] = total - T
      x = ml.cat({ x, ml.zeros(shape, { dtype = x:dtype() }) }, tdim)
      T = total
    end
  end
  local pv = opts.padding_value
  if pv ~= nil and pv ~= 0 then -- padded steps hold zeros; put the padding value there
    local mask = M.lengths_to_mask(p.lengths, T, { batch_first = opts.batch_first })
    local shape = mask:shape()
    for _ = 3, x:dim() do shape[#shape + 1] = 1 end
    local m = mask:reshape(shape):to(x:dtype())
    x = x * m + (m * -1 + 1) * pv
  end
  return x, p.lengths
end

for name, f in pairs(M) do
  if type(f) == "function" and name:sub(1, 1) ~= "_" and not doc(f) then
    doc(f, "nn.utils." .. name .. " — see moonlab/nn/layers/sequence.lua")
  end
end
doc(M.pad_sequence, "nn.utils.pad_sequence(seqs, [{batch_first=false, padding_value=0}]) -> (T, B, *) — stacks sequences of different lengths, padded at the end")
doc(M.lengths_to_mask, "nn.utils.lengths_to_mask(lengths, T, [{batch_first=false}]) -> mask — a bool (T, B) mask, true at each sequence's real steps")
doc(M.mask_to_lengths, "nn.utils.mask_to_lengths(mask, [{batch_first=false}]) -> lengths — int64, the real steps of each sequence of a mask")
doc(M.pack_padded_sequence, "nn.utils.pack_padded_sequence(x, lengths, [{batch_first=false, enforce_sorted=true}]) -> PackedSequence — for nn.RNN/LSTM/GRU: padded steps change nothing")
doc(M.pad_packed_sequence, "nn.utils.pad_packed_sequence(p, [{batch_first=false, padding_value=0, total_length}]) -> x, lengths — the padded tensor of a PackedSequence and its lengths")
doc(M.is_packed, "nn.utils.is_packed(v) -> boolean — whether v is a PackedSequence")

return M
