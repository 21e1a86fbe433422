--- callbacks.Track: logs fit's epochs (and, with log_every_batch = N, every Nth batch) into a
-- run record (ml.track), and at the end writes the learning curves as an artifact.
--
--   local run = ml.track.start{experiment = "fashion", params = p}
--   model:fit(X, y, {epochs = 5})            -- the open run gets a Track callback by itself
--   model:fit(X, y, {track = false})         -- not this fit
--   model:fit(X, y, {callbacks = {ml.callbacks.Track{run = run, log_every_batch = 50}}})
--
-- Each epoch's logs go in as one line with step = the epoch, so the record's
-- metrics equal the returned history. Batch lines carry the batch logs under
-- "batch/" names (batch/batch_loss, batch/loss: the epoch's running mean) and
-- step = the batch's number counted over the whole fit.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.callbacks.base"

local fmt = string.format
local Track = base.Callback:extend("Track")
Track.repr_fields = { "log_every_batch", "plot" }

--- Track{run = the active run, log_every_batch = nil, plot = true}: logs fit into a run record
function Track:init(o)
  o = checks.options("Track", o, { "run", "log_every_batch", "plot", "experiment", "name" }, true)
  local run_mod = require "moonlab.track.run"
  if o.run ~= nil and getmetatable(o.run) ~= run_mod.Run then
    checks.fail("Track: run must be a run from ml.track.start, got " .. checks.show(o.run))
  end
  if o.log_every_batch ~= nil then
    self.log_every_batch = base.integer("Track", "log_every_batch", o.log_every_batch, 1)
    self.on_batch_end = Track.batch_end -- only then: a batch hook turns off fit's fused steps
  end
  self.plot = checks.boolean("Track", "plot", o.plot, true)
  self.run, self.experiment, self.name = o.run, o.experiment, o.name
end

function Track:on_train_begin()
  local run_mod = require "moonlab.track.run"
  self.own = false
  self.target = self.run or run_mod.active()
  if not self.target then -- fit{track = true} with no open run: a run of its own for this fit
    local p = self.ctx and self.ctx.params or {}
    self.target = run_mod.start { experiment = self.experiment, name = self.name or "fit",
      params = { epochs = p.epochs, batch_size = p.batch_size }, seed = self.ctx and self.ctx.seed }
    self.own = true
  end
  self.batches = 0
  self.blogs = {}
end

local function numbers(logs, prefix, out)
  for k, v in pairs(logs) do
    if type(k) == "string" and type(v) == "number" and not (prefix ~= "" and k == "size") then out[prefix .. k] = v end
  end
  return out
end

function Track:on_epoch_end(epoch, logs)
  if self.target and self.target.open then self.target:log(numbers(logs, "", {}), epoch) end
end

--- track:batch_end(batch, logs): the on_batch_end hook of Track{log_every_batch = N}
function Track:batch_end(batch, logs)
  self.batches = self.batches + 1
  if self.batches % self.log_every_batch ~= 0 or not (self.target and self.target.open) then return end
  local out = self.blogs
  for k in pairs(out) do out[k] = nil end
  self.target:log(numbers(logs, "batch/", out), self.batches)
end

-- The learning curves (ml.plot, contract D) as artifacts/learning_curves.png; skipped quietly without ml.plot.
local function plot_curves(run, history)
  local ok, plot = pcall(require, "moonlab.plot")
  if not ok or type(plot) ~= "table" or type(plot.learning_curves) ~= "function" then return end
  pcall(function()
    local fig = plot.learning_curves(history, { title = run.meta.name })
    fig:save(run:artifact_path("learning_curves.png"))
  end)
end

function Track:on_train_end()
  local run = self.target
  if not (run and run.open) then return end
  local history = self.ctx and self.ctx.history
  if self.plot and history and (history.epochs or 0) > 0 then plot_curves(run, history) end
  if self.own then
    run:set_tags { stop_reason = self.ctx and self.ctx.stop_reason or "completed" }
    run:finish()
  end
end

--- Track.attach(callbacks, track): what fit does with its option track (nil: the active run, if any;
-- false: none; true: the active run or a new one; a run: that run); a Track already listed wins
function Track.attach(cbs, track)
  if track == false then return cbs end
  for _, cb in ipairs(cbs) do if cb.__name == "Track" then return cbs end end
  if track == nil then
    local run_mod = package.loaded["moonlab.track.run"] -- not loaded: no run can be open
    if not (run_mod and run_mod.active()) then return cbs end
    cbs[#cbs + 1] = Track {}
  elseif track == true then
    cbs[#cbs + 1] = Track {}
  else
    local run_mod = require "moonlab.track.run"
    if getmetatable(track) ~= run_mod.Run then
      checks.fail("fit: track must be true, false or a run from ml.track.start, got " .. checks.show(track))
    end
    cbs[#cbs + 1] = Track { run = track }
  end
  return cbs
end

ml.doc(Track, "callbacks.Track{run = the active run, log_every_batch, plot = true} — logs each epoch's logs into a run record (ml.track), "
  .. "every Nth batch's too with log_every_batch = N, and the learning curves as an artifact at the end")
ml.doc(Track.init, "Track:init{run, log_every_batch, plot, experiment, name} — the constructor (Track{...} calls it)")
ml.doc(Track.on_train_begin, "track:on_train_begin() — picks the run: the given one, the active one, or a new one for this fit")
ml.doc(Track.on_epoch_end, "track:on_epoch_end(epoch, logs) — one metrics line with step = epoch")
ml.doc(Track.batch_end, "track:batch_end(batch, logs) — every Nth batch: a line of the batch logs as batch/NAME, step = the batch's number in the fit")
ml.doc(Track.on_train_end, "track:on_train_end() — writes artifacts/learning_curves.png (through ml.plot, when present); finishes a run it opened")
ml.doc(Track.attach, "Track.attach(callbacks, track) -> callbacks — fit's option track: nil (the active run), false, true, or a run")

return Track
