--- moonlab.plot.bar: bar charts, vertical or horizontal, one series or several grouped.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Figure = require "moonlab.plot.figure"
local artists = require "moonlab.plot.artists"
local colors = require "moonlab.plot.colors"
local values = require "moonlab.plot.values"

local fmt = string.format

local bar = {}

local function label_list(fn, v)
  if type(v) ~= "table" or #v == 0 then checks.fail(fmt("%s: labels must be a non-empty list, got %s", fn, checks.show(v))) end
  local out = {}
  for i, s in ipairs(v) do
    if type(s) ~= "string" and type(s) ~= "number" then
      checks.fail(fmt("%s: labels[%d] must be a string or a number, got %s", fn, i, checks.show(s)))
    end
    out[i] = tostring(s)
  end
  return out
end

--- plot.bar{labels, values | series = {{values, label, color}, ...}, horizontal=false, color, title, xlabel, ylabel, ...} -> figure
-- (horizontal bars list the first label at the top; several series are grouped side by side)
function bar.bar(opts)
  local fn = "plot.bar"
  local fig = Figure.single(fn, opts, { "labels", "values", "series", "horizontal", "color", "label" })
  local horizontal = checks.boolean(fn, "horizontal", opts.horizontal, false)
  local names = label_list(fn, opts.labels)
  local ax = fig.panels[1]
  if horizontal then ax.ycats, ax.yinvert = names, true else ax.xcats = names end
  local list = {}
  if opts.series ~= nil then
    if opts.values ~= nil then checks.fail(fn .. ": give values or series, not both") end
    if type(opts.series) ~= "table" or #opts.series == 0 then
      checks.fail(fmt("%s: series must be a non-empty list of {values, label} tables, got %s", fn, checks.show(opts.series)))
    end
    for i, s in ipairs(opts.series) do
      checks.options(fmt("%s (series %d)", fn, i), s, { "values", "label", "color" })
      list[i] = { v = values.numbers(fn, fmt("series[%d].values", i), s.values), label = s.label,
        color = colors.parse(fn, s.color, colors.cycle(i)), what = fmt("series[%d].values", i) }
    end
  else
    if opts.values == nil then checks.fail(fn .. ": values (or series) is required") end
    list[1] = { v = values.numbers(fn, "values", opts.values), label = opts.label,
      color = colors.parse(fn, opts.color, colors.cycle(1)), what = "values" }
  end
  local m = #list
  local w = 0.8 / m
  for j, s in ipairs(list) do
    if #s.v ~= #names then checks.fail(fmt("%s: labels has %d values but %s has %d", fn, #names, s.what, #s.v)) end
    local r = { x0 = {}, x1 = {}, y0 = {}, y1 = {}, color = s.color, label = s.label, sticky = {} }
    for i, v in ipairs(s.v) do
      local a = i - 0.4 + (j - 1) * w
      if v ~= v or math.abs(v) == math.huge then v = 0 end -- a missing bar, not a broken axis
      if horizontal then r.y0[i], r.y1[i], r.x0[i], r.x1[i] = a, a + w, 0, v
      else r.x0[i], r.x1[i], r.y0[i], r.y1[i] = a, a + w, 0, v end
    end
    r.sticky[horizontal and "x" or "y"] = { 0 }
    ax:add(artists.rects(r))
  end
  return fig
end

ml.doc(bar.bar, "plot.bar{labels, values | series = {{values, label}}, horizontal=false, color, ...} -> figure — bar charts, grouped when several series")

return bar
