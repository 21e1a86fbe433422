--- moonlab.plot.hist: histograms, one set of values or several overlaid. The counts are
-- numpy.histogram's (equal bins over the finite values' range, the last bin closed),
-- computed in C in one pass (ml._cairo.histogram).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Figure = require "moonlab.plot.figure"
local artists = require "moonlab.plot.artists"
local colors = require "moonlab.plot.colors"
local values = require "moonlab.plot.values"

local fmt = string.format

local hist = {}

-- counts (Lua list), edges (Lua list of bins + 1) of t over [lo, hi]
local function counts_of(t, bins, lo, hi, density)
  local counts = ml._cairo.histogram(t, bins, lo, hi):tolist()
  local edges, width = {}, (hi - lo) / bins
  for i = 0, bins do edges[i + 1] = lo + width * i end
  edges[bins + 1] = hi
  if density then
    local total = 0
    for _, c in ipairs(counts) do total = total + c end
    for i, c in ipairs(counts) do counts[i] = total > 0 and c / (total * width) or 0 end
  end
  return counts, edges
end

--- plot.hist{values | series = {{values, label, color}, ...}, bins=30, range={lo, hi}, density=false, color, alpha, label, title, xlabel, ylabel, logy, ...} -> figure
-- (NaN and Inf values are not counted; with several series the bins are shared)
function hist.hist(opts)
  local fn = "plot.hist"
  local fig, ax = Figure.single(fn, opts, { "values", "series", "bins", "range", "density", "color", "alpha", "label" },
    { ylabel = opts and opts.density and "density" or "count" })
  local list = {}
  if opts.series ~= nil then
    if opts.values ~= nil then checks.fail(fn .. ": give values or series, not both") end
    if type(opts.series) ~= "table" or #opts.series == 0 then
      checks.fail(fmt("%s: series must be a non-empty list of {values, label} tables, got %s", fn, checks.show(opts.series)))
    end
    for i, s in ipairs(opts.series) do
      checks.options(fmt("%s (series %d)", fn, i), s, { "values", "label", "color" })
      list[i] = { t = values.vector(fn, fmt("series[%d].values", i), s.values), label = s.label,
        color = colors.parse(fn, s.color, colors.cycle(i)) }
    end
  else
    if opts.values == nil then checks.fail(fn .. ": values (or series) is required") end
    list[1] = { t = values.vector(fn, "values", opts.values), label = opts.label,
      color = colors.parse(fn, opts.color, colors.cycle(1)) }
  end
  local bins = checks.integer(fn, "bins", opts.bins or 30, 1, 100000)
  local lo, hi
  if opts.range ~= nil then
    local r = opts.range
    if type(r) ~= "table" or type(r[1]) ~= "number" or type(r[2]) ~= "number" or not (r[1] < r[2]) then
      checks.fail(fmt("%s: range must be {lo, hi} with lo < hi, got %s", fn, checks.show(r)))
    end
    lo, hi = r[1], r[2]
  else
    lo, hi = math.huge, -math.huge
    for _, s in ipairs(list) do
      local a, b, n = values.range(s.t)
      if n > 0 then lo, hi = math.min(lo, a), math.max(hi, b) end
    end
    if lo > hi then checks.fail(fn .. ": the values hold no finite number") end
    if lo == hi then lo, hi = lo - 0.5, hi + 0.5 end -- numpy's range for one distinct value
  end
  local alpha = opts.alpha and checks.number(fn, "alpha", opts.alpha, 0, 1) or (#list > 1 and 0.55 or 0.9)
  for _, s in ipairs(list) do
    local counts, edges = counts_of(s.t, bins, lo, hi, opts.density)
    local r = { x0 = {}, x1 = {}, y0 = {}, y1 = {} }
    for i = 1, bins do
      r.x0[i], r.x1[i], r.y0[i], r.y1[i] = edges[i], edges[i + 1], 0, counts[i]
    end
    r.color, r.alpha, r.label = s.color, alpha, s.label
    r.edge, r.edge_width = { 1, 1, 1 }, bins > 150 and 0 or 0.6
    if bins > 150 then r.edge = nil end
    r.sticky = { y = { 0 } }
    ax:add(artists.rects(r))
  end
  return fig
end

ml.doc(hist.hist, "plot.hist{values | series = {{values, label}}, bins=30, range, density, ...} -> figure — histograms (numpy.histogram's bins, counted in C); NaN/Inf values are not counted")

return hist
