--- moonlab.plot.confusion: a confusion matrix as a heatmap (rows: true labels, columns:
-- predicted, matplotlib's Blues), each cell with its count (or its share when normalized),
-- as scikit-learn's ConfusionMatrixDisplay draws it.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local labels = require "moonlab.core.labels"
local Figure = require "moonlab.plot.figure"
local artists = require "moonlab.plot.artists"
local colors = require "moonlab.plot.colors"
local values = require "moonlab.plot.values"

local fmt = string.format

local confusion = {}

--- plot.confusion{y_true, y_pred, labels = display names, normalize = nil | 'true' | 'pred' | 'all', title, width=600, height=520} -> figure
-- (the classes are the sorted union of y_true and y_pred's values, as metrics.confusion_matrix's; labels renames them in that order)
function confusion.confusion(opts)
  local fn = "plot.confusion"
  local fig, ax = Figure.single(fn, opts, { "y_true", "y_pred", "labels", "normalize" },
    { xlabel = "Predicted label", ylabel = "True label", grid = false, legend = "none", title = "Confusion matrix" })
  if opts.width == nil and opts.height == nil then fig.width, fig.height = 600, 520 end
  if opts.y_true == nil or opts.y_pred == nil then checks.fail(fn .. ": y_true and y_pred are required") end
  local n, m = labels.length(fn, opts.y_true), labels.length(fn, opts.y_pred)
  if n ~= m then checks.fail(fmt("%s: y_true has %d labels but y_pred has %d", fn, n, m)) end
  if n == 0 then checks.fail(fn .. ": y_true is empty") end
  local normalize = opts.normalize ~= nil and checks.one_of(fn, "normalize", opts.normalize, { "true", "pred", "all" }) or nil
  local _, _, classes = labels.encode_pair(fn, opts.y_true, opts.y_pred)
  local C = values.call(fn, ml.metrics.confusion_matrix, opts.y_true, opts.y_pred, { labels = classes, normalize = normalize })
  local K = #classes
  local names = {}
  if opts.labels ~= nil then
    if type(opts.labels) ~= "table" or #opts.labels ~= K then
      checks.fail(fmt("%s: labels must name the %d classes (%s), got %s", fn, K, table.concat((function()
        local s = {}
        for i, c in ipairs(classes) do s[i] = labels.show(c) end
        return s
      end)(), ", "), type(opts.labels) == "table" and (#opts.labels .. " names") or checks.show(opts.labels)))
    end
    for i, s in ipairs(opts.labels) do names[i] = tostring(s) end
  else
    for i, c in ipairs(classes) do names[i] = tostring(c) end
  end
  ax.xcats, ax.ycats, ax.yinvert, ax.equal = names, names, true, true
  local v = C:to("float64"):tolist()
  local top = 0
  for i = 1, K do for j = 1, K do if v[i][j] == v[i][j] then top = math.max(top, v[i][j]) end end end
  local cells = { x0 = {}, x1 = {}, y0 = {}, y1 = {}, colors = {} }
  local text = { x = {}, y = {}, s = {}, colors = {}, size = 12, fit = true }
  for i = 1, K do
    for j = 1, K do
      local k = #cells.x0 + 1
      local c = colors.blues(top > 0 and v[i][j] / top or 0)
      cells.x0[k], cells.x1[k], cells.y0[k], cells.y1[k], cells.colors[k] = j - 0.5, j + 0.5, i - 0.5, i + 0.5, c
      text.x[k], text.y[k] = j, i
      text.s[k] = normalize and fmt("%.2f", v[i][j]) or fmt("%d", math.floor(v[i][j] + 0.5))
      text.colors[k] = colors.luminance(c) < 0.45 and { 1, 1, 1 } or { 0.1, 0.1, 0.1 }
    end
  end
  ax:add(artists.rects(cells))
  ax:add(artists.texts(text))
  fig.matrix = C
  return fig
end

ml.doc(confusion.confusion, "plot.confusion{y_true, y_pred, labels = class names, normalize = nil|'true'|'pred'|'all', title} -> figure — a confusion matrix heatmap with counts (rows true, columns predicted)")

return confusion
