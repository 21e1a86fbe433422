--- moonlab.plot.axes: one panel of a figure: its artists, the limits they need (with
-- matplotlib's 5% margins, and sticky edges so bars stand on zero), the data-to-pixel
-- map (linear or log10, y up, or down for heatmaps), ticks at nice values whose
-- labels never overlap (measured with the canvas's text extents), margins made from
-- the labels' sizes, a light grid, the frame, axis labels, the panel title and the legend.
local ticks = require "moonlab.plot.ticks"
local legend = require "moonlab.plot.legend"
local checks = require "moonlab.core.checks"

local Axes = {}
Axes.__index = Axes

local floor, min, max, log10, huge = math.floor, math.min, math.max, math.log10, math.huge
local fmt = string.format

local FONT = { tick = 11, label = 12, title = 13 }
local PAD, TICK = 8, 4
local GRID, FRAME, TEXT = { 0.88, 0.88, 0.88 }, { 0.25, 0.25, 0.25 }, { 0.1, 0.1, 0.1 }

local OPTIONS = { "title", "xlabel", "ylabel", "logx", "logy", "xlim", "ylim", "grid", "legend", "xcats", "ycats",
  "yinvert", "equal", "frame", "margin", "xinteger" }
local LEGEND_PLACES = { "best", "upper right", "upper left", "lower left", "lower right", "none" }

--- axes.new(fn, opts) -> an empty panel; opts: title, xlabel, ylabel, logx, logy, xlim, ylim ({lo, hi}),
-- grid=true, legend='best' (or a corner, or 'none'), xcats/ycats (category labels at 1..n), yinvert, equal, frame,
-- xinteger (whole-number x ticks: epochs, trials)
local function new(fn, opts)
  opts = opts or {}
  local self = setmetatable({ fn = fn, artists = {} }, Axes)
  for _, k in ipairs(OPTIONS) do self[k] = opts[k] end
  for _, k in ipairs({ "title", "xlabel", "ylabel" }) do
    if self[k] ~= nil and type(self[k]) ~= "string" then
      checks.fail(fmt("%s: %s must be a string, got %s", fn, k, checks.show(self[k])))
    end
  end
  self.logx = checks.boolean(fn, "logx", self.logx, false)
  self.logy = checks.boolean(fn, "logy", self.logy, false)
  self.grid = checks.boolean(fn, "grid", self.grid, true)
  self.frame = self.frame ~= false
  self.legend = checks.one_of(fn, "legend", self.legend == false and "none" or self.legend, LEGEND_PLACES, "best")
  self.margin = self.margin or 0.05
  for _, k in ipairs({ "xlim", "ylim" }) do
    local l = self[k]
    if l ~= nil then
      if type(l) ~= "table" or type(l[1]) ~= "number" or type(l[2]) ~= "number" or not (l[1] < l[2]) then
        checks.fail(fmt("%s: %s must be {lo, hi} with lo < hi, got %s", fn, k, checks.show(l)))
      end
      local log = k == "xlim" and self.logx or self.logy
      if log and l[1] <= 0 then checks.fail(fmt("%s: %s must be positive on a log axis, got {%g, %g}", fn, k, l[1], l[2])) end
    end
  end
  return self
end

--- axes:add(artist) -> artist
function Axes:add(a)
  self.artists[#self.artists + 1] = a
  return a
end

local function tr(v, log) return log and log10(v) or v end

-- The limits of axis "x" or "y", in the transformed (log10) space.
function Axes:limits(which)
  local log = self["log" .. which]
  local fixed = self[which .. "lim"]
  if fixed then return tr(fixed[1], log), tr(fixed[2], log) end
  local cats = self[which .. "cats"]
  if cats then return 0.5, #cats + 0.5 end
  local lo, hi = huge, -huge
  for _, a in ipairs(self.artists) do
    local x0, x1, y0, y1 = a:bounds(self.logx, self.logy)
    if x0 then
      if which == "x" then lo, hi = min(lo, x0), max(hi, x1) else lo, hi = min(lo, y0), max(hi, y1) end
    end
  end
  if lo > hi then
    if log then return 0, 1 end
    return 0, 1
  end
  local dlo, dhi = lo, hi -- data range, for the sticky edges
  lo, hi = tr(lo, log), tr(hi, log)
  if lo == hi then
    local d = lo ~= 0 and math.abs(lo) * 0.05 or 0.5
    if log then d = 0.5 end
    lo, hi = lo - d, hi + d
  end
  local m = (hi - lo) * self.margin
  local nlo, nhi = lo - m, hi + m
  for _, a in ipairs(self.artists) do
    for _, s in ipairs(a.sticky and a.sticky[which] or {}) do
      if not log or s > 0 then
        local ts = tr(s, log)
        if dlo >= s and nlo < ts then nlo = ts end
        if dhi <= s and nhi > ts then nhi = ts end
      end
    end
  end
  return nlo, nhi
end

-- Tick positions (transformed space) and labels of an axis over [lo, hi] with at most nbins intervals.
function Axes:ticks_for(which, lo, hi, nbins)
  local cats = self[which .. "cats"]
  if cats then
    local pos = {}
    for i = 1, #cats do pos[i] = i end
    return pos, cats
  end
  local log = self["log" .. which]
  local vals = log and ticks.log(10 ^ lo, 10 ^ hi, nbins) or ticks.max_n(lo, hi, nbins, self[which .. "integer"])
  local eps = (hi - lo) * 1e-9
  local pos, kept = {}, {}
  for _, v in ipairs(vals) do
    local p = tr(v, log)
    if p >= lo - eps and p <= hi + eps then pos[#pos + 1] = p; kept[#kept + 1] = v end
  end
  return pos, ticks.labels(kept, log)
end

local function widths(cv, labels)
  local w, wmax = {}, 0
  for i, s in ipairs(labels) do
    w[i] = cv:text_extents(s)
    wmax = max(wmax, w[i])
  end
  return w, wmax
end

-- X ticks whose labels do not overlap along the width w (pixels from left), fewest bins first dropped.
function Axes:fit_xticks(cv, lo, hi, left, w, font_px)
  local nbins = max(1, min(9, floor(w / (font_px * 3))))
  while true do
    local pos, labels = self:ticks_for("x", lo, hi, nbins)
    local ws = widths(cv, labels)
    local ok = true
    for i = 2, #pos do
      local gap = (pos[i] - pos[i - 1]) / (hi - lo) * w
      if gap < (ws[i] + ws[i - 1]) / 2 + 8 then ok = false break end
    end
    if ok or nbins == 1 or self.xcats then return pos, labels, ws, ok end
    nbins = nbins - 1
  end
end

function Axes:fit_yticks(cv, lo, hi, h, line_h)
  local nbins = max(1, min(9, floor(h / (line_h * 2))))
  while true do
    local pos, labels = self:ticks_for("y", lo, hi, nbins)
    local ok = true
    for i = 2, #pos do
      if math.abs(pos[i] - pos[i - 1]) / (hi - lo) * h < line_h * 1.3 then ok = false break end
    end
    if ok or nbins == 1 or self.ycats then return pos, labels end
    nbins = nbins - 1
  end
end

-- Where everything goes inside the cell {x, y, w, h}: the plot area, the limits, the ticks.
function Axes:layout(cv, cell)
  local L = {}
  L.xlo, L.xhi = self:limits("x")
  L.ylo, L.yhi = self:limits("y")
  local show_ticks = self.frame
  cv:font(FONT.tick)
  local _, tick_h = cv:text_extents("0")
  cv:font(FONT.label)
  local _, label_h = cv:text_extents("0")
  cv:font(FONT.title, true)
  local _, title_h = cv:text_extents("0")
  local top = self.title and (title_h + PAD + 2) or PAD
  local bottom = PAD + (self.xlabel and label_h + 4 or 0) + (show_ticks and tick_h + TICK + 3 or 0)
  local ylabel_w = self.ylabel and label_h + 6 or 0
  local right = PAD + 4
  cv:font(FONT.tick)
  -- vertical category labels when they do not fit side by side
  local guess_w = cell.w - 60 - right - ylabel_w
  if show_ticks and self.xcats then
    local _, wmax = widths(cv, self.xcats)
    if wmax + 6 > guess_w / #self.xcats then
      L.xrot = true
      bottom = bottom - tick_h + wmax
    end
  end
  local h = cell.h - top - bottom
  L.ypos, L.ylabels = {}, {}
  if show_ticks then L.ypos, L.ylabels = self:fit_yticks(cv, L.ylo, L.yhi, h, tick_h) end
  local _, ywmax = widths(cv, L.ylabels)
  L.ywmax, L.xlabel_room = ywmax, bottom - PAD - (self.xlabel and label_h + 4 or 0)
  local left = PAD + ylabel_w + (show_ticks and ywmax + TICK + 4 or 0)
  local w = cell.w - left - right
  L.xpos, L.xlabels = {}, {}
  if show_ticks then
    local xw
    L.xpos, L.xlabels, xw = self:fit_xticks(cv, L.xlo, L.xhi, left, w, FONT.tick)
    -- the last label may stick out on the right: make room for it
    local n = #L.xpos
    if n > 0 and not L.xrot then
      local px = (L.xpos[n] - L.xlo) / (L.xhi - L.xlo) * w
      local over = px + xw[n] / 2 - (w + right - 2)
      if over > 0 then
        right = right + over
        w = cell.w - left - right
        L.xpos, L.xlabels = self:fit_xticks(cv, L.xlo, L.xhi, left, w, FONT.tick)
      end
    end
  end
  if w < 10 or h < 10 then
    checks.fail(fmt("%s: the figure is too small for its labels (a plot area of %d x %d pixels); make it larger",
      self.fn, floor(w), floor(h)))
  end
  local x, y = cell.x + left, cell.y + top
  if self.equal then -- one pixel per unit on both axes, centred
    local s = min(w / (L.xhi - L.xlo), h / (L.yhi - L.ylo))
    local nw, nh = s * (L.xhi - L.xlo), s * (L.yhi - L.ylo)
    x, y, w, h = x + (w - nw) / 2, y + (h - nh) / 2, nw, nh
  end
  L.area = { x = x, y = y, w = w, h = h }
  local bx = w / (L.xhi - L.xlo)
  local by = h / (L.yhi - L.ylo)
  L.map = { ax = x - L.xlo * bx, bx = bx, logx = self.logx }
  if self.yinvert then
    L.map.ay, L.map.by = y - L.ylo * by, by
  else
    L.map.ay, L.map.by = y + h + L.ylo * by, -by
  end
  L.map.logy = self.logy
  L.fonts = { tick_h = tick_h, label_h = label_h }
  return L
end

local function rgb(cv, c, a) cv:rgba(c[1], c[2], c[3], a or 1) end

function Axes:draw_ticks(cv, L)
  local a, m = L.area, L.map
  cv:font(FONT.tick)
  rgb(cv, TEXT)
  for i, p in ipairs(L.xpos) do
    local px = m.ax + m.bx * p
    if L.xrot then cv:text(L.xlabels[i], px, a.y + a.h + TICK + 3, 1, "middle", -math.pi / 2)
    else cv:text(L.xlabels[i], px, a.y + a.h + TICK + 3, 0.5, "top") end
  end
  for i, p in ipairs(L.ypos) do
    cv:text(L.ylabels[i], a.x - TICK - 4, m.ay + m.by * p, 1, "middle")
  end
  cv:new_path()
  for _, p in ipairs(L.xpos) do
    local px = m.ax + m.bx * p
    cv:move_to(px, a.y + a.h); cv:line_to(px, a.y + a.h + TICK)
  end
  for _, p in ipairs(L.ypos) do
    local py = m.ay + m.by * p
    cv:move_to(a.x, py); cv:line_to(a.x - TICK, py)
  end
  rgb(cv, FRAME)
  cv:line_width(1)
  cv:stroke()
end

function Axes:draw_grid(cv, L)
  local a, m = L.area, L.map
  cv:new_path()
  for _, p in ipairs(self.xcats and {} or L.xpos) do -- no grid across categories
    local px = m.ax + m.bx * p
    cv:move_to(px, a.y); cv:line_to(px, a.y + a.h)
  end
  for _, p in ipairs(self.ycats and {} or L.ypos) do
    local py = m.ay + m.by * p
    cv:move_to(a.x, py); cv:line_to(a.x + a.w, py)
  end
  rgb(cv, GRID)
  cv:line_width(0.8)
  cv:stroke()
end

function Axes:draw_labels(cv, L, cell)
  local a = L.area
  rgb(cv, TEXT)
  if self.xlabel then
    cv:font(FONT.label)
    cv:text(self.xlabel, a.x + a.w / 2, a.y + a.h + L.xlabel_room + 4, 0.5, "top")
  end
  if self.ylabel then
    cv:font(FONT.label)
    local room = self.frame and L.ywmax + TICK + 4 or 0
    cv:text(self.ylabel, a.x - room - 6, a.y + a.h / 2, 0.5, "bottom", -math.pi / 2)
  end
  if self.title then
    cv:font(FONT.title, true)
    cv:text(self.title, a.x + a.w / 2, a.y - PAD, 0.5, "bottom")
  end
end

--- axes:render(cv, cell) -> layout: draws the panel into the cell {x, y, w, h} of the canvas
function Axes:render(cv, cell)
  local L = self:layout(cv, cell)
  local a = L.area
  if self.grid and self.frame then self:draw_grid(cv, L) end
  cv:save()
  cv:new_path()
  cv:rectangle(a.x, a.y, a.w, a.h)
  cv:clip()
  for _, art in ipairs(self.artists) do art:draw(cv, L.map) end
  cv:restore()
  if self.frame then
    cv:new_path()
    cv:rectangle(a.x, a.y, a.w, a.h)
    rgb(cv, FRAME)
    cv:line_width(1)
    cv:stroke()
    self:draw_ticks(cv, L)
  end
  self:draw_labels(cv, L, cell)
  if self.legend ~= "none" then L.legend = legend.draw(cv, self, L) end
  self.last_layout = L
  return L
end

return { new = new, Axes = Axes, FONT = FONT }
