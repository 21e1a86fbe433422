--- ml.plot: PNG and SVG plots drawn with cairo, one call each, matplotlib-like:
--   ml.plot.line{x = epochs, y = loss, title = "loss"}:save("loss.png")
-- Values are tensors or Lua lists; NaN and Inf points are skipped. Each call returns a
-- figure; fig:save(path) writes .png or .svg by the extension. One file per plot kind.
local ml = require "moonlab"

local plot = {}

-- Each part adds its public names; a name defined twice is a mistake.
local parts = {
  "line",
  "scatter",
  "hist",
  "bar",
  "curves",
  "confusion",
  "images",
  "search",
  "learning",
}

for _, part in ipairs(parts) do
  for k, v in pairs(require("moonlab.plot." .. part)) do
    if plot[k] ~= nil then error("moonlab.plot: " .. part .. " redefines plot." .. k) end
    plot[k] = v
  end
end

plot.Figure = require "moonlab.plot.figure"
plot.ticks = require("moonlab.plot.ticks").max_n
plot.colors = require "moonlab.plot.colors"

ml.doc(plot.colors, "plot.colors — tab10 (colors.cycle(i)), names and '#rrggbb' (colors.parse), the Blues map (colors.blues(t))")
ml.doc(plot.ticks, "plot.ticks(vmin, vmax, nbins) -> list: tick values of matplotlib's MaxNLocator(nbins, steps=[1, 2, 2.5, 5, 10])")
ml.doc(plot, "ml.plot — PNG/SVG plots with cairo: line, scatter, hist, bar, roc, pr, confusion, images, " ..
  "search_history, importances, learning_curves; each returns a figure, fig:save('x.png' | 'x.svg')")

return plot
