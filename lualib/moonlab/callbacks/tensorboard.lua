--- callbacks.TensorBoard: fit's logs as TensorBoard event files, as Keras's
-- TensorBoard callback writes them: the epoch logs as scalars "epoch_<name>"
-- in log_dir/train, the val_ ones (prefix dropped) in log_dir/validation;
-- every histogram_freq epochs histograms of each parameter ("fc1/weight")
-- and its last batch's gradient ("fc1/weight_grad"), and with write_images
-- the 2-D and 4-D weights as images; with update_freq = n, "batch_<name>"
-- scalars every n batches (step: batches since the start of the fit).
-- Scalar steps are fit's epoch numbers (1, 2, ...).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.callbacks.base"

local fmt = string.format

local TensorBoard = base.Callback:extend("TensorBoard")
TensorBoard.repr_fields = { "log_dir", "histogram_freq", "write_images", "update_freq" }

local OPTIONS = { "log_dir", "histogram_freq", "write_images", "update_freq" }

--- TensorBoard{log_dir = "logs", histogram_freq = 0, write_images = false, update_freq = "epoch"}: writes fit's logs as TensorBoard event files
function TensorBoard:init(a, b)
  local who = "callbacks.TensorBoard"
  local o = {}
  if type(a) == "string" then -- TensorBoard("logs", {...}) as well as TensorBoard{log_dir = "logs", ...}
    for k, v in pairs(checks.options(who, b, OPTIONS)) do o[k] = v end
    o.log_dir = a
  else
    if b ~= nil then checks.fail(who .. ": expected TensorBoard{log_dir = ..., ...} or TensorBoard(log_dir, {...})") end
    for k, v in pairs(checks.options(who, a, OPTIONS)) do o[k] = v end
  end
  self.log_dir = checks.string(who, "log_dir", o.log_dir, "logs")
  self.histogram_freq = checks.integer(who, "histogram_freq", o.histogram_freq or 0, 0)
  self.write_images = checks.boolean(who, "write_images", o.write_images, false)
  local uf = o.update_freq or "epoch"
  if uf ~= "epoch" and uf ~= "batch" then
    uf = checks.integer(who, "update_freq (\"epoch\", \"batch\" or a number of batches)", uf, 1)
  end
  self.update_freq = uf
  -- only a batch-level callback has a batch hook: fit keeps its fused epoch otherwise
  if uf ~= "epoch" then self.on_batch_end = self._log_batch end
end

function TensorBoard:on_train_begin()
  local tb = ml.track.TensorBoard
  self.train = tb(self.log_dir .. "/train")
  self.validation = nil -- opened at the first val_ log
  self.batches = 0
end

function TensorBoard:_log_batch(batch, logs)
  self.batches = self.batches + 1
  local every = self.update_freq == "batch" and 1 or self.update_freq
  if self.batches % every ~= 0 then return end
  local out = { batch_loss = logs.batch_loss }
  for k, v in pairs(logs) do
    if type(v) == "number" and k ~= "loss" and k ~= "batch_loss" and k ~= "size" then out["batch_" .. k] = v end
  end
  self.train:scalars(out, self.batches)
end

-- The parameters' names as TensorBoard groups them ("1.weight" -> "1/weight").
local function tag_of(name) return (name:gsub("%.", "/")) end

-- A weight as a grey image, as Keras's write_images: 2-D wide side across, 4-D kernels [out, in, kh, kw] as a grid.
local function weight_image(w)
  if w:dim() == 2 then
    if w:size(1) > w:size(2) then w = w:t() end
    return w:contiguous(), { normalize = true }
  elseif w:dim() == 4 then
    return w:contiguous():view(w:size(1) * w:size(2), 1, w:size(3), w:size(4)), { normalize = true, nrow = w:size(2) }
  end
end

function TensorBoard:_log_weights(epoch)
  for _, np in ipairs(self.model:named_parameters()) do
    local name, p = tag_of(np[1]), np[2]
    if p:numel() > 0 then
      self.train:histogram(name, p:detach(), epoch)
      local g = p.grad
      if g ~= nil then self.train:histogram(name .. "_grad", g, epoch) end
      if self.write_images then
        local img, opts = weight_image(p:detach():float())
        if img then self.train:image(name .. "/image", img, epoch, opts) end
      end
    end
  end
end

function TensorBoard:on_epoch_end(epoch, logs)
  if not self.train then return end
  local train, val = {}, {}
  for k, v in pairs(logs) do
    if type(k) == "string" and type(v) == "number" then
      if k:sub(1, 4) == "val_" then val["epoch_" .. k:sub(5)] = v else train["epoch_" .. k] = v end
    end
  end
  self.train:scalars(train, epoch)
  if next(val) then
    self.validation = self.validation or ml.track.TensorBoard(self.log_dir .. "/validation")
    self.validation:scalars(val, epoch)
  end
  if self.histogram_freq > 0 and epoch % self.histogram_freq == 0 then self:_log_weights(epoch) end
end

function TensorBoard:on_train_end()
  if self.train then self.train:close(); self.train = nil end
  if self.validation then self.validation:close(); self.validation = nil end
end

ml.doc(TensorBoard, "callbacks.TensorBoard{log_dir = 'logs', histogram_freq = 0, write_images = false, update_freq = 'epoch' | 'batch' | n} — " ..
  "writes fit's logs as TensorBoard event files (Keras's layout): epoch_<name> scalars in log_dir/train and log_dir/validation, " ..
  "histograms of the weights and gradients every histogram_freq epochs, weights as images, batch_<name> scalars every n batches")
ml.doc(TensorBoard.init, "TensorBoard:init{log_dir, histogram_freq, write_images, update_freq} — the constructor (TensorBoard{...} calls it)")
ml.doc(TensorBoard.on_train_begin, "tensorboard:on_train_begin() — opens log_dir/train's event file")
ml.doc(TensorBoard.on_epoch_end, "tensorboard:on_epoch_end(epoch, logs) — writes the epoch's scalars (and histograms, images every histogram_freq epochs)")
ml.doc(TensorBoard.on_train_end, "tensorboard:on_train_end() — closes the event files")

return TensorBoard
