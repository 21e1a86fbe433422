--- search/display.lua: what a search prints while it runs. On a terminal
-- (stdout a tty) a live table of the last trials, the best so far and the
-- counts, redrawn in place with ANSI cursor movement; elsewhere (a pipe, a
-- file, a test) one plain line per finished trial, marking the best so far.
--
--   local d = display.new { names = compiled.names, metric = "acc", direction = "maximize", trials = 50 }
--   d:trial(t, trials, best)   -- after a trial of this process ends: a line, or a redraw
--   d:draw(trials)             -- a redraw from the trials as they stand (the parent of jobs > 1, on a timer)
--   d:close(trials)            -- the last frame stays on screen
local ml = require "moonlab"
local result = require "moonlab.search.result"

local fmt = string.format
local M = {}

local Display = {}
Display.__index = Display
M.Display = Display

local ROWS = 10 -- trials shown in the live table

local function show(v)
  if type(v) == "number" and math.type(v) ~= "integer" then return fmt("%.4g", v) end
  return tostring(v)
end

--- display.new({names, metric, direction, trials, live, out}) -> a display; live defaults to whether stdout is a terminal
function M.new(o)
  local live = o.live
  if live == nil then live = ml._train.isatty(1) end
  return setmetatable({ names = o.names or {}, metric = o.metric, direction = o.direction or "minimize",
    n_trials = o.trials, live = live and true or false, out = o.out or io.stdout, lines = 0, t0 = ml.now() }, Display)
end

-- the plain line of one finished trial (as a log: a pipe or a file keeps every one)
function Display:line(t, best)
  local ps = {}
  local names = {}
  for k in pairs(t.params) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do ps[#ps + 1] = k .. "=" .. show(t.params[k]) end
  local what = t.state == "complete" and fmt("%s %.6g", self.metric or "value", t.value)
    or (t.state == "failed" and ("failed: " .. tostring(t.error)) or t.state)
  return fmt("trial %d  %s  %s  (%.2fs)%s", t.number, table.concat(ps, " "), what, t.duration or 0,
    best and best == t and "  best so far" or "")
end

local function best_of(trials, direction)
  local sign = direction == "maximize" and -1 or 1
  local best
  for _, t in ipairs(trials) do
    if t.state == "complete" and type(t.value) == "number" and (best == nil or sign * t.value < sign * best.value) then best = t end
  end
  return best
end

--- d:frame(trials) -> the live table's lines: the last trials (running ones included), the best so far, the counts
function Display:frame(trials)
  local recent = {}
  for i = math.max(1, #trials - ROWS + 1), #trials do recent[#recent + 1] = trials[i] end
  local view = result.new { trials = recent, direction = self.direction, metric = self.metric,
    space = { names = self.names }, elapsed = 0 }
  local header, rows = view:rows()
  for i, t in ipairs(recent) do
    if t.state == "running" then rows[i][#rows[i]] = "-" end
  end
  local width = {}
  for j, h in ipairs(header) do width[j] = #h end
  for _, r in ipairs(rows) do for j, c in ipairs(r) do width[j] = math.max(width[j], #c) end end
  local lines = {}
  local function add(cells)
    local parts = {}
    for j, c in ipairs(cells) do parts[j] = (" "):rep(width[j] - #c) .. c end
    lines[#lines + 1] = table.concat(parts, "  ")
  end
  add(header)
  for _, r in ipairs(rows) do add(r) end
  local best = best_of(trials, self.direction)
  if best then
    local ps = {}
    for _, n in ipairs(self.names) do
      if best.params[n] ~= nil then ps[#ps + 1] = n .. "=" .. show(best.params[n]) end
    end
    lines[#lines + 1] = fmt("best so far: trial %d, %s = %.6g (%s)", best.number, self.metric or "value", best.value,
      table.concat(ps, ", "))
  else
    lines[#lines + 1] = "best so far: none yet"
  end
  local count = { complete = 0, running = 0, pruned = 0, failed = 0 }
  for _, t in ipairs(trials) do count[t.state] = (count[t.state] or 0) + 1 end
  local ended = count.complete + count.pruned + count.failed
  lines[#lines + 1] = fmt("%d%s trials done (%d complete, %d pruned, %d failed), %d running, %.1f s", ended,
    self.n_trials and ("/" .. self.n_trials) or "", count.complete, count.pruned, count.failed, count.running,
    ml.now() - self.t0)
  return lines
end

--- d:draw(trials): redraws the live table in place (nothing when not live)
function Display:draw(trials)
  if not self.live then return end
  local cols = ml._train.term_width(1)
  local lines = self:frame(trials)
  local buf = {}
  -- back to the frame's first line and clear below: ESC[nF (n lines up, column 1), ESC[J
  if self.lines > 0 then buf[1] = fmt("\27[%dF\27[J", self.lines) end
  for _, l in ipairs(lines) do
    if #l >= cols then l = l:sub(1, cols - 1) end -- a wrapped line would break the count of lines to go back
    buf[#buf + 1] = l .. "\n"
  end
  self.out:write(table.concat(buf))
  self.out:flush()
  self.lines = #lines
end

--- d:trial(t, trials, best): a trial of this process ended: its line, or a redraw of the live table
function Display:trial(t, trials, best)
  if self.live then return self:draw(trials) end
  self.out:write(self:line(t, best), "\n")
  self.out:flush()
end

--- d:note(text): a message (a rerun): a line when plain; in the live table the trial shows as running
function Display:note(text)
  if not self.live then self.out:write(text, "\n") self.out:flush() end
end

--- d:close(trials): the final frame (live), left on the screen
function Display:close(trials)
  if self.live then self:draw(trials) end
end

do
  local doc = ml.doc
  doc(M.new, "display.new({names, metric, direction, trials, live = isatty(stdout), out}) -> display — a search's progress: a live table on a terminal, plain lines elsewhere")
  doc(Display.frame, "d:frame(trials) -> lines — the live table: the last trials, the best so far, the counts")
  doc(Display.draw, "d:draw(trials) — redraws the live table in place (ANSI cursor movement)")
  doc(Display.trial, "d:trial(t, trials, best) — a finished trial: its plain line, or a redraw")
  doc(Display.line, "d:line(t, best) -> string — one finished trial as a plain line")
  doc(Display.note, "d:note(text) — a message line when not live")
  doc(Display.close, "d:close(trials) — the final frame")
end

return M
