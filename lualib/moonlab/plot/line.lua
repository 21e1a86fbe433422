--- moonlab.plot.line: line plots, one series or several overlaid.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Figure = require "moonlab.plot.figure"
local artists = require "moonlab.plot.artists"
local colors = require "moonlab.plot.colors"
local values = require "moonlab.plot.values"

local fmt = string.format

local SERIES_KEYS = { "x", "y", "label", "color", "width", "dash", "marker", "alpha" }
local DASHES = { solid = false, dashed = { 6, 4 }, dotted = { 1.5, 3 }, dashdot = { 6, 3, 1.5, 3 } }

local function dash_of(fn, d)
  if d == nil or d == false then return nil end
  if type(d) == "table" then return d end
  local v = DASHES[checks.one_of(fn, "dash", d, { "solid", "dashed", "dotted", "dashdot" })]
  return v or nil
end

-- One series' line artist (i: its place in the colour cycle).
local function series_line(fn, s, i)
  checks.options(fn .. " (series " .. i .. ")", s, SERIES_KEYS)
  local x, y = values.pair(fn, s.x, s.y, i > 0 and fmt("series[%d].x", i) or "x", i > 0 and fmt("series[%d].y", i) or "y")
  if s.label ~= nil and type(s.label) ~= "string" then
    checks.fail(fmt("%s: label must be a string, got %s", fn, checks.show(s.label)))
  end
  return artists.line {
    x = x, y = y, label = s.label, color = colors.parse(fn, s.color, colors.cycle(math.max(i, 1))),
    width = s.width and checks.number(fn, "width", s.width, 0) or 2, dash = dash_of(fn, s.dash),
    marker = s.marker, alpha = s.alpha,
  }
end

local line = {}

--- plot.line{x, y | series = {{x, y, label, color, dash, marker}, ...}, label, title, xlabel, ylabel, logx, logy, xlim, ylim, legend, width=800, height=500} -> figure
-- (x defaults to 1..n; NaN and Inf points are skipped: the line breaks there)
function line.line(opts)
  local fn = "plot.line"
  local fig, ax = Figure.single(fn, opts, { "x", "y", "series", "label", "color", "dash", "marker", "alpha" })
  if opts.series ~= nil then
    if opts.y ~= nil or opts.x ~= nil then checks.fail(fn .. ": give x, y or series, not both") end
    if type(opts.series) ~= "table" or #opts.series == 0 then
      checks.fail(fmt("%s: series must be a non-empty list of {x, y, label} tables, got %s", fn, checks.show(opts.series)))
    end
    for i, s in ipairs(opts.series) do
      if type(s) ~= "table" then checks.fail(fmt("%s: series[%d] must be a table {x, y, label}, got %s", fn, i, checks.show(s))) end
      ax:add(series_line(fn, s, i))
    end
  else
    if opts.y == nil then checks.fail(fn .. ": y (or series) is required") end
    ax:add(series_line(fn, { x = opts.x, y = opts.y, label = opts.label, color = opts.color, dash = opts.dash,
      marker = opts.marker, alpha = opts.alpha }, 0))
  end
  return fig
end

ml.doc(line.line, "plot.line{x, y | series = {{x, y, label, color, dash, marker}, ...}, title, xlabel, ylabel, logx, logy, xlim, ylim, legend, width=800, height=500} -> figure — line plots; x defaults to 1..n; NaN/Inf points break the line")

return line
