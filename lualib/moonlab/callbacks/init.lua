--- ml.callbacks: hooks into model:fit (Keras callbacks), one file per callback.
--
--   local cb = ml.callbacks
--   model:fit(X, y, { callbacks = {
--     cb.EarlyStopping{ monitor = "val_loss", patience = 3, restore_best = true },
--     cb.ModelCheckpoint("best.safetensors", { monitor = "val_accuracy", save_best_only = true, save_last = true }),
--     cb.ReduceLROnPlateau{ factor = 0.5, patience = 2 },
--     cb.CSVLogger{ "log.csv" },
--     { on_epoch_end = function(epoch, logs) if logs.loss < 0.01 then return "stop" end end },
--   } })
--
-- Hooks: on_train_begin(logs), on_epoch_begin(epoch, logs), on_batch_begin(batch, logs),
-- on_batch_end(batch, logs), on_epoch_end(epoch, logs), after_epoch(epoch, logs) (runs
-- after every callback's on_epoch_end: ModelCheckpoint writes there, so its file
-- holds the others' state of that epoch), on_train_end(logs). Epochs count from 1
-- over the whole training (a resumed fit goes on counting), batches from 1 in each
-- epoch. A hook that returns "stop" (and optionally a message), or sets
-- model.stop_training = true, ends training.
--
-- A plain table's hooks are called as plain functions, hook(epoch, logs). A class
-- made with ml.callbacks.Callback:extend("Name") gets self (see callbacks/base.lua).
-- Before the first batch fit checks every monitor against the names the logs
-- will hold (loss, the metrics, val_ ones with validation, lr); a callback that
-- adds its own logs names them in adds_logs = {"name", ...}. The batch logs
-- table is reused from batch to batch: copy what you keep.
local ml = require "moonlab"
local base = require "moonlab.callbacks.base"

local callbacks = { Callback = base.Callback }

local FILES = {
  EarlyStopping = "early_stopping", ModelCheckpoint = "model_checkpoint", LearningRateScheduler = "lr_scheduler",
  ReduceLROnPlateau = "reduce_lr_on_plateau", CSVLogger = "csv_logger", ProgressBar = "progress_bar",
  Track = "track",
}
for name, file in pairs(FILES) do callbacks[name] = require("moonlab.callbacks." .. file) end

ml.doc(callbacks, "ml.callbacks — hooks into model:fit: EarlyStopping, ModelCheckpoint, LearningRateScheduler, ReduceLROnPlateau, CSVLogger, ProgressBar, Callback")

return callbacks
