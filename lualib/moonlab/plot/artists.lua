--- moonlab.plot.artists: the things an axes draws, each a table with its data, its style and
-- three functions the axes call: bounds (the data range, for the limits), draw (onto a
-- canvas through the data-to-pixel map) and hits (how much of it lies in a box, for the
-- legend's emptiest corner). Lines and markers hand their float64 tensors to C in one
-- call each (ml._cairo polyline / markers / box_hits); rectangles and texts are few
-- (bars, bins, cells) and are drawn from Lua.
local ml = require "moonlab"
local values = require "moonlab.plot.values"

local artists = {}
local log10, min, max = math.log10, math.min, math.max

-- The pixel of data value v on an axis (a + b * v, v in log10 on a log axis); nil when it cannot be drawn.
local function to_px(a, b, log, v)
  if v ~= v or v == math.huge or v == -math.huge then return nil end
  if log then
    if v <= 0 then return nil end
    v = log10(v)
  end
  return a + b * v
end
artists.to_px = to_px

local function tensor_bounds(self, logx, logy)
  local x0, x1, nx = values.range(self.x, logx)
  local y0, y1, ny = values.range(self.y, logy)
  if nx == 0 or ny == 0 then return nil end
  return x0, x1, y0, y1
end

local function set_color(cv, c, alpha) cv:rgba(c[1], c[2], c[3], alpha or 1) end

--- artists.line{x, y, color, width, dash, label, alpha, marker, marker_size}: a polyline (NaN/Inf break it)
function artists.line(o)
  o.kind, o.legend_style = "line", "line"
  o.width = o.width or 2
  o.bounds = tensor_bounds
  function o.draw(self, cv, map)
    cv:new_path()
    set_color(cv, self.color, self.alpha)
    cv:line_width(self.width)
    cv:dash(self.dash)
    cv:polyline(self.x, self.y, map, true)
    cv:dash(nil)
    if self.marker then
      cv:new_path()
      cv:markers(self.x, self.y, map, self.marker_size or 3.5, self.marker, "fill")
    end
  end
  function o.hits(self, cv, map, box)
    return cv:box_hits(self.x, self.y, map, box[1], box[2], box[3], box[4], true)
  end
  return o
end

local FILLED = { circle = true, square = true, diamond = true, triangle = true }

--- artists.points{x, y, color, size | sizes (float64 [n] radii), shape, alpha, label}: markers
function artists.points(o)
  o.kind, o.legend_style = "points", "marker"
  o.shape = o.shape or "circle"
  o.bounds = tensor_bounds
  function o.draw(self, cv, map)
    cv:new_path()
    set_color(cv, self.color, self.alpha or 0.8)
    cv:line_width(1.5)
    cv:markers(self.x, self.y, map, self.sizes or self.size or 3.5, self.shape, FILLED[self.shape] and "fill" or "stroke")
  end
  function o.hits(self, cv, map, box)
    return cv:box_hits(self.x, self.y, map, box[1], box[2], box[3], box[4], false)
  end
  return o
end

--- artists.rects{x0, x1, y0, y1 (lists), color | colors (list), edge, alpha, label}: bars, bins, cells
function artists.rects(o)
  o.kind, o.legend_style = "rects", "patch"
  function o.bounds(self)
    local x0, x1, y0, y1 = math.huge, -math.huge, math.huge, -math.huge
    for i = 1, #self.x0 do
      x0, x1 = min(x0, self.x0[i], self.x1[i]), max(x1, self.x0[i], self.x1[i])
      y0, y1 = min(y0, self.y0[i], self.y1[i]), max(y1, self.y0[i], self.y1[i])
    end
    if x0 > x1 then return nil end
    return x0, x1, y0, y1
  end
  local function box_of(self, map, i)
    local a = to_px(map.ax, map.bx, map.logx, self.x0[i])
    local b = to_px(map.ax, map.bx, map.logx, self.x1[i])
    local c = to_px(map.ay, map.by, map.logy, self.y0[i])
    local d = to_px(map.ay, map.by, map.logy, self.y1[i])
    if not (a and b and c and d) then return nil end
    return min(a, b), min(c, d), max(a, b), max(c, d)
  end
  function o.draw(self, cv, map)
    for i = 1, #self.x0 do
      local x0, y0, x1, y1 = box_of(self, map, i)
      if x0 then
        cv:new_path()
        cv:rectangle(x0, y0, x1 - x0, y1 - y0)
        set_color(cv, self.colors and self.colors[i] or self.color, self.alpha)
        if self.edge then
          cv:fill(true)
          set_color(cv, self.edge)
          cv:line_width(self.edge_width or 0.8)
          cv:stroke()
        else
          cv:fill()
        end
      end
    end
  end
  function o.hits(self, cv, map, box)
    local n = 0
    for i = 1, #self.x0 do
      local x0, y0, x1, y1 = box_of(self, map, i)
      if x0 and x0 < box[3] and x1 > box[1] and y0 < box[4] and y1 > box[2] then
        -- the overlap's area in units of 100 px², so a bar under the box counts as much as points
        n = n + (min(x1, box[3]) - max(x0, box[1])) * (min(y1, box[4]) - max(y0, box[2])) / 100
      end
    end
    return n
  end
  return o
end

--- artists.texts{x, y, s (lists), color | colors, size, bold}: labels at data points, centred
function artists.texts(o)
  o.kind = "texts"
  function o.bounds() return nil end
  function o.draw(self, cv, map)
    local size = self.size or 11
    if self.fit then size = math.max(6, math.min(size, math.abs(map.bx) * 0.28, math.abs(map.by) * 0.45)) end
    cv:font(size, self.bold)
    for i = 1, #self.s do
      local x = to_px(map.ax, map.bx, map.logx, self.x[i])
      local y = to_px(map.ay, map.by, map.logy, self.y[i])
      if x and y then
        set_color(cv, self.colors and self.colors[i] or self.color or { 0, 0, 0 })
        cv:text(self.s[i], x + (self.dx or 0), y, self.ha or 0.5, self.va or "middle")
      end
    end
  end
  function o.hits() return 0 end
  return o
end

--- artists.image{img (float32 [C, H, W])}: an image filling the data box [0.5, W + 0.5] x [0.5, H + 0.5]
function artists.image(o)
  o.kind = "image"
  local H, W = o.img:size(2), o.img:size(3)
  function o.bounds() return 0.5, W + 0.5, 0.5, H + 0.5 end
  function o.draw(self, cv, map)
    local x0, x1 = map.ax + map.bx * 0.5, map.ax + map.bx * (W + 0.5)
    local y0, y1 = map.ay + map.by * 0.5, map.ay + map.by * (H + 0.5)
    cv:image(self.img, min(x0, x1), min(y0, y1), math.abs(x1 - x0), math.abs(y1 - y0), false)
  end
  function o.hits() return 1e9 end
  return o
end

return artists
