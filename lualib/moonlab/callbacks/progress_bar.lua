--- callbacks.ProgressBar: fit's display; a live bar on a terminal, one line per epoch otherwise.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local base = require "moonlab.callbacks.base"

local fmt = string.format

local ProgressBar = base.Callback:extend("ProgressBar")
ProgressBar.repr_fields = { "mode", "width" }

--- ProgressBar{mode="auto"|"bar"|"lines", width}: fit's display; a live bar on a terminal, one line per epoch otherwise.
function ProgressBar:init(o)
  o = checks.options("ProgressBar", o, { "mode", "width" }, true)
  self.mode = o.mode or "auto"
  if self.mode ~= "auto" and self.mode ~= "bar" and self.mode ~= "lines" then
    checks.fail("ProgressBar: mode must be \"auto\", \"bar\" or \"lines\"")
  end
  if o.width ~= nil and (math.type(o.width) ~= "integer" or o.width < 20) then
    checks.fail("ProgressBar: width must be an integer >= 20 (columns), got " .. tostring(o.width))
  end
  self.width = o.width
end

local function rate(r)
  if r >= 1e6 then return fmt("%.1fM", r / 1e6) elseif r >= 1e4 then return fmt("%.0fk", r / 1e3)
  elseif r >= 1e3 then return fmt("%.1fk", r / 1e3) end
  return fmt("%.0f", r)
end

local BAR_WIDTH = 20

local function bar(done, total, w)
  w = w or BAR_WIDTH
  if not total or total == 0 then return "" end
  local k = math.floor(w * done / total)
  if k >= w then return "[" .. string.rep("=", w) .. "]" end
  return "[" .. string.rep("=", k) .. ">" .. string.rep(".", w - k - 1) .. "]"
end

-- The columns a line may use: width - 1, so that the cursor never wraps (a
-- wrapped line is not erased by the next \r redraw). nil: no limit.
function ProgressBar:columns()
  local w = self.width
  if not w and self.ctx.tty then w = ml._train.term_width(1) end
  return w and math.max(w - 1, 10) or nil
end

-- The live line, cut to max columns (nil: no limit). Least important first:
-- samples/s; then the bar shrinks (down to 10) if that is enough; then the
-- metrics after the loss go (last first), the bar shrinks to 5 and then goes,
-- then the ETA; what still does not fit is cut.
local function bar_line(head, count, b, steps, eta, fields, speed, max)
  local function build(bw, neta, nfields, with_speed)
    local s = head .. " " .. count
    if bw > 0 then s = s .. " " .. bar(b, steps, bw) end
    if neta and eta then s = s .. " ETA " .. eta end
    for i = 1, nfields do s = s .. " - " .. fields[i] end
    if with_speed and speed then s = s .. " - " .. speed end
    return s
  end
  local bw = steps and BAR_WIDTH or 0
  local s = build(bw, true, #fields, true)
  if not max or #s <= max then return s end
  s = build(bw, true, #fields, false)
  local nf = #fields
  if #s > max and bw > 0 and #s - max <= bw - 10 then -- a shorter bar keeps every metric
    return build(bw - (#s - max), true, nf, false)
  end
  while #s > max and nf > 1 do
    nf = nf - 1
    s = build(bw, true, nf, false)
  end
  if #s > max and bw > 0 then
    bw = math.max(bw - (#s - max), 5)
    s = build(bw, true, nf, false)
    if #s > max then bw = 0; s = build(0, true, nf, false) end
  end
  if #s > max then s = build(bw, false, nf, false) end
  if #s > max then s = s:sub(1, max) end
  return s
end

-- The finished epoch's line: with the full bar when it fits, else without the
-- bar, else broken at the " - " between fields into indented lines, so that a
-- line never wraps in the terminal.
local function end_lines(head, count, full_bar, rest, max)
  local s = head .. (count and (" " .. count .. " " .. full_bar) or "") .. " - " .. table.concat(rest, " - ")
  if not max or #s <= max then return s end
  s = head .. " - " .. table.concat(rest, " - ")
  if #s <= max then return s end
  local lines, cur = {}, head
  for _, f in ipairs(rest) do
    if #cur + 3 + #f <= max then
      cur = cur .. " - " .. f
    else
      lines[#lines + 1] = cur
      cur = "  " .. f
    end
  end
  lines[#lines + 1] = cur
  for i, l in ipairs(lines) do if #l > max then lines[i] = l:sub(1, max) end end
  return table.concat(lines, "\n")
end

function ProgressBar:set_context(ctx)
  base.Callback.set_context(self, ctx)
  self.bar = self.mode == "bar" or (self.mode == "auto" and ctx.tty)
  self.on_batch_end = self.bar and ProgressBar.batch or nil
end

function ProgressBar:on_epoch_begin()
  self.last = -1
end

function ProgressBar:head(epoch)
  local p = self.ctx.params
  return fmt("epoch %d/%d", epoch, p.epochs)
end

function ProgressBar:batch(b, logs)
  local ctx = self.ctx
  local t = ml.now()
  local steps = ctx.params.steps
  if t - self.last < 0.1 and b ~= steps then return end
  self.last = t
  local num, elapsed = format.number, t - ctx.t0
  local count = steps and fmt("%d/%d", b, steps) or tostring(b)
  local eta = steps and b < steps and format.duration(elapsed / b * (steps - b)) or nil
  local fields = {}
  for _, k in ipairs(ctx.log_names) do
    local v = logs[k]
    if v ~= nil and k ~= "lr" then fields[#fields + 1] = k .. " " .. num(v) end
  end
  local speed = elapsed > 0 and (rate(ctx.seen / elapsed) .. " samples/s") or nil
  ctx.write("\r" .. bar_line(self:head(ctx.epoch), count, b, steps, eta, fields, speed, self:columns()) .. "\27[K")
  ctx.bar_open = true
end

function ProgressBar:on_epoch_end(epoch, logs)
  local ctx = self.ctx
  local num = format.number
  local rest = { format.duration(ctx.seconds or 0) }
  for _, k in ipairs(ctx.log_names) do
    if logs[k] ~= nil and k ~= "lr" then rest[#rest + 1] = k .. " " .. num(logs[k]) end
  end
  if self.bar then
    local steps = ctx.params.steps or ctx.batches
    local line = end_lines(self:head(epoch), fmt("%d/%d", steps, steps), bar(steps, steps), rest, self:columns())
    ctx.write("\r" .. (line:gsub("\n", "\27[K\n")) .. "\27[K\n")
  else
    ctx.write(self:head(epoch) .. " - " .. table.concat(rest, " - ") .. "\n")
  end
  ctx.bar_open = false
end

function ProgressBar:on_train_end()
  if self.ctx.bar_open then self.ctx.write("\n"); self.ctx.bar_open = false end
end

ml.doc(ProgressBar, "callbacks.ProgressBar{mode=\"auto\"|\"bar\"|\"lines\", width} — fit's display: a live bar on a terminal (cut to its width), one line per epoch otherwise")
ml.doc(ProgressBar.init, "ProgressBar:init([opts]) — the constructor (ProgressBar{...} calls it)")
ml.doc(ProgressBar.columns, "bar:columns() -> integer | nil — the columns a line may use: width - 1 (the width option, else the terminal's); nil when not on a terminal")
ml.doc(ProgressBar.set_context, "bar:set_context(ctx) — chooses a live bar (mode \"bar\", or \"auto\" on a terminal) or one line per epoch")
ml.doc(ProgressBar.on_epoch_begin, "bar:on_epoch_begin() — resets the redraw timer")
ml.doc(ProgressBar.head, "bar:head(epoch) -> string — \"epoch k/N\"")
ml.doc(ProgressBar.batch, "bar:batch(b, logs) — redraws the live bar (at most every 0.1 s): progress, ETA, logs, samples/s, cut to the terminal's width")
ml.doc(ProgressBar.on_epoch_end, "bar:on_epoch_end(epoch, logs) — prints the epoch's line: time and logs")
ml.doc(ProgressBar.on_train_end, "bar:on_train_end() — ends a bar line left open")

return ProgressBar
