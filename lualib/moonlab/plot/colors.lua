--- moonlab.plot.colors: matplotlib's tab10 cycle (distinct for the common kinds of colour
-- blindness in its first entries, and what people know from matplotlib), named colours,
-- "#rrggbb" strings, and the sequential "Blues" map of heatmaps.
local checks = require "moonlab.core.checks"

local colors = {}
local fmt = string.format

local TAB10 = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf" }
colors.tab10 = TAB10

local NAMED = { black = "#000000", white = "#ffffff", grey = "#7f7f7f", gray = "#7f7f7f", red = "#d62728",
  blue = "#1f77b4", orange = "#ff7f0e", green = "#2ca02c", purple = "#9467bd", brown = "#8c564b",
  pink = "#e377c2", olive = "#bcbd22", cyan = "#17becf" }

-- matplotlib's Blues at 9 evenly spaced points (from its _cm.py colorbrewer table)
local BLUES = { { 0.9686, 0.9843, 1.0 }, { 0.8706, 0.9216, 0.9686 }, { 0.7765, 0.8588, 0.9373 },
  { 0.6196, 0.7922, 0.8824 }, { 0.4196, 0.6824, 0.8392 }, { 0.2588, 0.5725, 0.7765 },
  { 0.1294, 0.4431, 0.7098 }, { 0.0314, 0.3176, 0.6118 }, { 0.0314, 0.1882, 0.4196 } }

local function hex(fn, s)
  local r, g, b = s:match("^#(%x%x)(%x%x)(%x%x)$")
  if not r then checks.fail(fmt("%s: a colour is a name (%s) or '#rrggbb', got '%s'", fn, "red, blue, ...", s)) end
  return { tonumber(r, 16) / 255, tonumber(g, 16) / 255, tonumber(b, 16) / 255 }
end

--- colors.cycle(i) -> {r, g, b}: the i-th colour of tab10 (1-based, wrapping)
function colors.cycle(i)
  return hex("plot", TAB10[(i - 1) % #TAB10 + 1])
end

--- colors.parse(fn, c, [default]) -> {r, g, b}: a name, "#rrggbb" or {r, g, b} in [0, 1]
function colors.parse(fn, c, default)
  if c == nil then return default end
  if type(c) == "table" and #c == 3 then
    for i = 1, 3 do checks.number(fn, "a colour component", c[i], 0, 1) end
    return c
  end
  if type(c) ~= "string" then
    checks.fail(fmt("%s: a colour is a name, '#rrggbb' or {r, g, b}, got %s", fn, checks.show(c)))
  end
  return hex(fn, NAMED[c] or c)
end

--- colors.blues(t) -> {r, g, b}: matplotlib's Blues map at t in [0, 1]
function colors.blues(t)
  t = math.min(1, math.max(0, t ~= t and 0 or t)) * (#BLUES - 1)
  local i = math.min(math.floor(t), #BLUES - 2)
  local f = t - i
  local a, b = BLUES[i + 1], BLUES[i + 2]
  return { a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f, a[3] + (b[3] - a[3]) * f }
end

--- colors.luminance(c) -> relative luminance (to pick black or white text over c)
function colors.luminance(c)
  return 0.2126 * c[1] + 0.7152 * c[2] + 0.0722 * c[3]
end

return colors
