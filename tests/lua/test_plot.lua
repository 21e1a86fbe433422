-- ml.plot: every plot kind writes a PNG (read back: size, the data's colour where the data is,
-- the background elsewhere) and an SVG (its words and paths); ticks equal matplotlib's
-- MaxNLocator, histogram counts numpy's (fixtures from scripts/gen_plot.py); bad input errors.
local plot = ml.plot
local f64 = function(t) return ml.tensor(t, { dtype = "float64" }) end

local function fixture(name) return ml.json.decode(T.read_file("tests/fixtures/plot/" .. name)) end

-- The PNG at path as a float32 [C, H, W] image, with its size checked.
local function load(path, w, h)
  local img = ml.image.load_png(path)
  T.eq(img:size(2), h, "PNG height")
  T.eq(img:size(3), w, "PNG width")
  return img
end

-- The RGB at pixel (x, y) (0-based pixels, as cairo's).
local function rgb(img, x, y)
  x, y = math.floor(x) + 1, math.floor(y) + 1
  return img[1][y][x], img[2][y][x], img[3][y][x]
end

local function is_white(img, x, y)
  local r, g, b = rgb(img, x, y)
  return r > 0.97 and g > 0.97 and b > 0.97
end

-- Whether some pixel within d of (x, y) has the colour c (tolerance tol).
local function colour_near(img, x, y, c, d, tol)
  d, tol = d or 2, tol or 0.12
  for dy = -d, d do
    for dx = -d, d do
      local r, g, b = rgb(img, x + dx, y + dy)
      if math.abs(r - c[1]) < tol and math.abs(g - c[2]) < tol and math.abs(b - c[3]) < tol then return true end
    end
  end
  return false
end

local C1 = plot.colors.cycle(1)

-- The pixel of data point (x, y) in the first panel of a saved figure.
local function px(fig, x, y, panel)
  local m = fig.panels[panel or 1].last_layout.map
  local tx = m.logx and math.log10(x) or x
  local ty = m.logy and math.log10(y) or y
  return m.ax + m.bx * tx, m.ay + m.by * ty
end

-- Whether the colour c is near the pixel of data point (x, y) of the figure.
local function at(img, fig, x, y, c, d, tol)
  local u, v = px(fig, x, y)
  return colour_near(img, u, v, c, d, tol)
end

local function svg_ok(path, title, image)
  local s = T.read_file(path)
  T.ok(s:sub(1, 5) == "<?xml", "an XML file")
  T.ok(s:find("<svg", 1, true) ~= nil, "an svg element")
  T.ok(s:find("</svg>%s*$") ~= nil, "the svg element is closed")
  T.ok(s:find("<title>" .. title .. "</title>", 1, true) ~= nil, "the title text is in the SVG")
  if image then T.ok(s:find("<image", 1, true) ~= nil, "an image") end
  T.ok(select(2, s:gsub("<path", "")) > (image and 2 or 10), "paths drawn")
  return s
end

T.test("ticks equal matplotlib's MaxNLocator on the fixture's ranges", function()
  local ticks = require "moonlab.plot.ticks"
  local d = fixture("ticks.json")
  T.ok(#d.cases >= 80)
  for _, c in ipairs(d.cases) do
    local got = ticks.max_n(c.vmin, c.vmax, c.nbins, c.integer)
    T.eq(#got, #c.ticks, string.format("tick count for [%g, %g] nbins %d", c.vmin, c.vmax, c.nbins))
    for k = 1, #got do T.near(got[k], c.ticks[k], 1e-9 * math.max(1, math.abs(c.ticks[k]))) end
  end
  T.all_near(plot.ticks(0, 7.3, 9), { 0, 1, 2, 3, 4, 5, 6, 7, 8 })
end)

T.test("tick labels are compact and share their decimals", function()
  local ticks = require "moonlab.plot.ticks"
  T.eq(table.concat(ticks.labels({ 0, 0.2, 0.4, 1 }), " "), "0.0 0.2 0.4 1.0")
  T.eq(table.concat(ticks.labels({ 0, 250, 500 }), " "), "0 250 500")
  T.eq(table.concat(ticks.labels({ -1e6, 0, 1.5e6 }), " "), "-1e6 0 1.5e6")
  T.eq(table.concat(ticks.labels({ 0.001, 0.1, 10, 1000 }, true), " "), "0.001 0.1 10 1000")
  T.eq(table.concat(ticks.labels({ -0.0, 0.5 }), " "), "0.0 0.5")
  T.all_near(ticks.log(0.003, 2000, 9), { 0.01, 0.1, 1, 10, 100, 1000 })
  T.all_near(ticks.log(1, 100, 9), { 1, 2, 5, 10, 20, 50, 100 })
end)

T.test("line: PNG with the line's colour on the data, white background, and SVG", function()
  local x = ml.linspace(0, 1, 50):to("float64")
  local fig = plot.line { x = x, y = x, title = "Diagonal", xlabel = "x", ylabel = "y", width = 320, height = 240 }
  local path = T.tmpname(".png")
  T.eq(fig:save(path), path)
  local img = load(path, 320, 240)
  local cx, cy = px(fig, 0.5, 0.5)
  T.ok(colour_near(img, cx, cy, C1), "the line passes through (0.5, 0.5)")
  T.ok(not at(img, fig, 0.1, 0.9, C1), "nothing drawn far from the line")
  T.ok(is_white(img, 1, 1), "background in the corner")
  local ax = fig.panels[1].last_layout.area
  T.ok(ax.x > 20 and ax.y > 10 and ax.x + ax.w < 320 and ax.y + ax.h < 240, "margins around the plot area")
  svg_ok(fig:save(T.tmpname(".svg")), "Diagonal")
end)

T.test("line: NaN and Inf points are skipped and break the line; series overlay with a legend", function()
  local y = f64({ 1, 2, 0 / 0, 4, 5, math.huge, 3 })
  local fig = plot.line { series = { { y = y, label = "gappy" }, { y = { 5, 4, 3, 2, 1, 0, -1 }, label = "down", dash = "dashed" } },
    width = 400, height = 300 }
  local img = load(fig:save(T.tmpname(".png")), 400, 300)
  T.ok(at(img, fig, 1.5, 1.5, C1), "the segment between two finite points is drawn")
  T.ok(not at(img, fig, 2.5, 3, C1, 1), "no segment across the NaN")
  T.ok(fig.panels[1].last_layout.legend ~= nil, "a legend for labelled series")
  -- limits come from the finite values only
  local L = fig.panels[1].last_layout
  T.ok(L.ylo > -2 and L.yhi < 6, "Inf does not stretch the axis")
end)

T.test("legend goes to the emptiest corner", function()
  -- data fill the upper right: the legend must go elsewhere
  local fig = plot.line { x = { 0, 1, 2, 3, 4 }, y = { 0, 0.1, 0.2, 3, 4 }, label = "rising", width = 400, height = 300 }
  fig:save(T.tmpname(".png"))
  T.eq(fig.panels[1].last_layout.legend.corner, "upper left")
  local falling = plot.line { x = { 0, 1, 2, 3, 4 }, y = { 4, 3, 0.2, 0.1, 0 }, label = "falling", width = 400, height = 300 }
  falling:save(T.tmpname(".png"))
  T.eq(falling.panels[1].last_layout.legend.corner, "upper right")
end)

T.test("x tick labels never overlap, even on a narrow figure", function()
  local fig = plot.line { x = { 1e5, 2e5 }, y = { 1, 2 }, width = 160, height = 200 }
  fig:save(T.tmpname(".png"))
  local L = fig.panels[1].last_layout
  local cv <close> = ml._cairo.canvas("png", 10, 10)
  cv:font(11)
  for i = 2, #L.xpos do
    local gap = (L.xpos[i] - L.xpos[i - 1]) * L.map.bx
    local w1, w2 = cv:text_extents(L.xlabels[i - 1]), cv:text_extents(L.xlabels[i])
    T.ok(gap >= (w1 + w2) / 2, "labels " .. L.xlabels[i - 1] .. " and " .. L.xlabels[i] .. " apart")
  end
  T.ok(#L.xpos >= 2)
end)

T.test("log axes: ticks on decades, non-positive values skipped", function()
  local x = f64({ 0.01, 0.1, 1, 10, 100, 1000 })
  local fig = plot.line { x = x, y = f64({ -1, 1, 10, 100, 1000, 10000 }), logx = true, logy = true, width = 400, height = 300 }
  local img = load(fig:save(T.tmpname(".png")), 400, 300)
  local L = fig.panels[1].last_layout
  T.eq(table.concat(L.xlabels, " "), "0.01 0.1 1 10 100 1000")
  T.ok(at(img, fig, 31.6, 316, C1), "the line on log-log axes")
end)

T.test("scatter: one colour per class, sizes", function()
  local fig = plot.scatter { x = { 0, 1, 2, 3 }, y = { 0, 1, 0, 1 }, c = { "a", "b", "a", "b" }, size = 5, width = 300, height = 240 }
  local img = load(fig:save(T.tmpname(".png")), 300, 240)
  T.ok(at(img, fig, 0, 0, C1, 1, 0.2), "class a in the first colour")
  T.ok(at(img, fig, 1, 1, plot.colors.cycle(2), 1, 0.2), "class b in the second")
  T.eq(#fig.panels[1].artists, 2)
  T.eq(fig.panels[1].artists[2].label, "b")
  local s = plot.scatter { x = f64({ 1, 2 }), y = f64({ 1, 2 }), sizes = { 2, 8 }, title = "Sized", width = 300, height = 240 }
  svg_ok(s:save(T.tmpname(".svg")), "Sized")
end)

T.test("hist: numpy's counts (fixtures), bars drawn from zero", function()
  local d = fixture("hist.json")
  for _, c in ipairs(d.cases) do
    local v = {}
    for i, x in ipairs(c.values) do v[i] = x == "nan" and 0 / 0 or (x == "inf" and math.huge or x) end
    local fig = plot.hist { values = v, bins = c.bins, range = c.range, width = 300, height = 240 }
    local bars = fig.panels[1].artists[1]
    T.eq(#bars.y1, c.bins)
    for i = 1, c.bins do T.eq(bars.y1[i], c.counts[i], "bin " .. i) end
    T.near(bars.x0[1], c.lo, 1e-9)
    T.near(bars.x1[c.bins], c.hi, 1e-9)
  end
  local fig = plot.hist { values = ml.randn(2000), bins = 20, title = "Normal", width = 320, height = 240 }
  local img = load(fig:save(T.tmpname(".png")), 320, 240)
  local L = fig.panels[1].last_layout
  T.eq(L.ylo, 0, "the count axis starts at 0")
  T.ok(at(img, fig, 0, 10, C1, 1, 0.15), "the middle bar is filled")
  svg_ok(fig:save(T.tmpname(".svg")), "Normal")
  -- density integrates to one
  local dfig = plot.hist { values = { 1, 2, 2, 3, 3, 3 }, bins = 3, density = true }
  local b, area = dfig.panels[1].artists[1], 0
  for i = 1, 3 do area = area + b.y1[i] * (b.x1[i] - b.x0[i]) end
  T.near(area, 1, 1e-12)
end)

T.test("bar: vertical and horizontal, categories as ticks", function()
  local fig = plot.bar { labels = { "a", "b", "c" }, values = { 1, 3, 2 }, title = "Bars", width = 300, height = 240 }
  local img = load(fig:save(T.tmpname(".png")), 300, 240)
  T.eq(table.concat(fig.panels[1].last_layout.xlabels, ","), "a,b,c")
  T.ok(at(img, fig, 2, 2.5, C1, 1, 0.1), "bar b reaches 3")
  T.ok(is_white(img, px(fig, 1, 1.75)), "bar a stops at 1")
  svg_ok(fig:save(T.tmpname(".svg")), "Bars")
  local h = plot.bar { labels = { "top", "bottom" }, values = { 2, 1 }, horizontal = true, width = 300, height = 240 }
  local himg = load(h:save(T.tmpname(".png")), 300, 240)
  local _, ytop = px(h, 1, 1)
  local _, ybottom = px(h, 1, 2)
  T.ok(ytop < ybottom, "the first label at the top")
  T.ok(at(himg, h, 1.6, 1, C1, 1, 0.1) and is_white(himg, px(h, 1.6, 2)))
end)

local function binary_scores()
  local y = { 0, 0, 1, 1, 0, 1, 0, 1, 1, 0 }
  local s = { 0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.7, 0.55, 0.3 }
  return y, s
end

T.test("roc and pr: AUC and AP in the legend, as ml.metrics computes them", function()
  local y, s = binary_scores()
  local auc = ml.metrics.roc_auc_score(y, s)
  local ap = ml.metrics.average_precision_score(y, s)
  local fig = plot.roc { y_true = y, y_score = s, label = "model", width = 320, height = 260 }
  local img = load(fig:save(T.tmpname(".png")), 320, 260)
  local arts = fig.panels[1].artists
  T.eq(arts[#arts].label, string.format("model (AUC = %.3f)", auc))
  T.ok(at(img, fig, 0, 0.8, C1, 2, 0.15) or at(img, fig, 0.2, 0.8, C1, 2, 0.15), "the curve drawn")
  svg_ok(fig:save(T.tmpname(".svg")), "ROC curve")
  local pr = plot.pr { curves = { { y_true = y, y_score = s, label = "a" }, { y_true = y, y_score = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.4, 0.5, 0.5, 0.5 }, label = "b" } },
    width = 320, height = 260 }
  pr:save(T.tmpname(".png"))
  T.eq(pr.panels[1].artists[1].label, string.format("a (AP = %.3f)", ap))
  svg_ok(pr:save(T.tmpname(".svg")), "Precision-recall curve")
end)

T.test("confusion: counts in the cells, darker where larger, normalized option, class names", function()
  local yt = { "cat", "cat", "dog", "dog", "dog", "bird" }
  local yp = { "cat", "dog", "dog", "dog", "dog", "bird" }
  local fig = plot.confusion { y_true = yt, y_pred = yp, title = "CM", width = 360, height = 320 }
  local img = load(fig:save(T.tmpname(".png")), 360, 320)
  local texts = fig.panels[1].artists[2]
  -- classes sorted: bird, cat, dog; row cat = {0, 1, 1}; row dog = {0, 0, 3}
  T.eq(table.concat(texts.s, ","), "1,0,0,0,1,1,0,0,3")
  T.eq(table.concat(fig.panels[1].last_layout.ylabels, ","), "bird,cat,dog")
  local r1 = rgb(img, px(fig, 3.3, 3.3)) -- the 3: darkest
  local r2 = rgb(img, px(fig, 1.3, 3.3)) -- a 0: lightest
  T.ok(r1 < 0.2 and r2 > 0.9, "the colour follows the count")
  svg_ok(fig:save(T.tmpname(".svg")), "CM")
  local n = plot.confusion { y_true = yt, y_pred = yp, normalize = "true", labels = { "B", "C", "D" } }
  T.eq(table.concat(n.panels[1].artists[2].s, ","), "1.00,0.00,0.00,0.00,0.50,0.50,0.00,0.00,1.00")
  n:save(T.tmpname(".png"))
  T.eq(table.concat(n.panels[1].last_layout.xlabels, ","), "B,C,D")
end)

T.test("images: the grid's pixels are painted", function()
  local imgs = ml.zeros(4, 1, 6, 6)
  imgs[2]:fill_(1) -- the second image white
  local fig = plot.images { tensor = imgs, nrow = 2, padding = 0, title = "Grid", width = 200, height = 230 }
  local img = load(fig:save(T.tmpname(".png")), 200, 230)
  local a = fig.panels[1].last_layout.area
  T.near(a.w, a.h, 1e-6) -- a square grid stays square
  local r1 = rgb(img, a.x + a.w * 0.25, a.y + a.h * 0.25)
  local r2 = rgb(img, a.x + a.w * 0.75, a.y + a.h * 0.25)
  local r3 = rgb(img, a.x + a.w * 0.25, a.y + a.h * 0.75)
  T.ok(r1 < 0.05 and r2 > 0.95 and r3 < 0.05, "black, white, black")
  svg_ok(fig:save(T.tmpname(".svg")), "Grid", true)
end)

T.test("search_history and importances (contract D)", function()
  local trials = {}
  for i = 1, 12 do trials[i] = { number = i, value = 10 - i + (i % 3) * 2, state = i == 5 and "pruned" or "complete" } end
  trials[13] = { number = 13, state = "failed" }
  local fig = plot.search_history(trials, { direction = "minimize" })
  local img = load(fig:save(T.tmpname(".png")), 800, 500)
  local best = fig.panels[1].artists[3]
  local by = best.y:tolist()
  T.eq(by[#by], -2) -- trial 12: 10 - 12 + 0; the pruned trial 5 does not count
  T.eq(by[1], 11)
  T.ok(at(img, fig, 1, trials[1].value, C1, 2, 0.2), "trial 1's point")
  svg_ok(fig:save(T.tmpname(".svg")), "Search history")
  local mx = plot.search_history(trials, { direction = "maximize" })
  T.eq(mx.panels[1].artists[3].y:tolist()[12], 12) -- trial 2: 10 - 2 + 4
  local imp = plot.importances({ lr = 0.6, depth = 0.3, dropout = 0.1 })
  local iimg = load(imp:save(T.tmpname(".png")), 800, imp.height)
  T.eq(table.concat(imp.panels[1].last_layout.ylabels, ","), "lr,depth,dropout")
  T.ok(at(iimg, imp, 0.5, 1, C1, 1, 0.1), "the largest bar")
  svg_ok(imp:save(T.tmpname(".svg")), "Parameter importances")
  -- search.param_importances' list form
  local imp2 = plot.importances({ { name = "a", importance = 0.2 }, { name = "b", importance = 0.8 } })
  imp2:save(T.tmpname(".png"))
  T.eq(table.concat(imp2.panels[1].last_layout.ylabels, ","), "b,a")
end)

T.test("learning_curves from a real short fit: one panel per metric, train and val overlaid", function()
  ml.seed(0)
  local iris = ml.data.load_iris()
  local X = iris:drop({ "target" }):to_tensor(nil, "float32")
  X = (X - X:mean(1)) / X:std(1)
  local y = iris:to_tensor({ "target" }, "int64"):reshape(-1) + 1
  local net = ml.nn.Sequential { ml.nn.Linear(4, 8), ml.nn.ReLU(), ml.nn.Linear(8, 3) }
  net:compile { optimizer = ml.optim.Adam(net:parameters(), { lr = 0.01 }), loss = ml.nn.CrossEntropyLoss(), metrics = { "accuracy" } }
  local h = net:fit(X, y, { epochs = 4, batch_size = 32, verbose = 0, validation_split = 0.2 })
  local fig = plot.learning_curves(h, { title = "Iris" })
  T.eq(#fig.panels, 2)
  T.eq(fig.panels[1].title, "loss")
  T.eq(fig.panels[2].title, "accuracy")
  local img = load(fig:save(T.tmpname(".png")), fig.width, fig.height)
  T.eq(#fig.panels[1].artists, 2)
  T.eq(fig.panels[1].artists[2].label, "val")
  T.all_near(fig.panels[1].artists[1].y, h.loss)
  T.ok(at(img, fig, 1, h.loss[1], C1, 2, 0.2), "the first epoch's loss")
  T.eq(table.concat(fig.panels[1].last_layout.xlabels, ","), "1,2,3,4")
  local s = svg_ok(fig:save(T.tmpname(".svg")), "Iris")
  T.ok(s:find("val", 1, true) ~= nil)
  -- several runs overlaid
  local two = plot.learning_curves({ h, { loss = { 1, 0.5, 0.4 } } }, { labels = { "adam", "sgd" } })
  two:save(T.tmpname(".png"))
  T.eq(two.panels[1].artists[3].label, "sgd train")
  T.eq(#two.panels, 2)
end)

T.test("a figure of several panels; save picks the format by extension", function()
  local fig = plot.Figure { width = 500, height = 300, rows = 1, cols = 2, title = "Two" }
  fig:axes({ title = "left" }):add(require("moonlab.plot.artists").line { x = f64({ 0, 1 }), y = f64({ 0, 1 }), color = C1 })
  fig:axes({ title = "right" })
  load(fig:save(T.tmpname(".PNG")), 500, 300)
  svg_ok(fig:save(T.tmpname(".svg")), "Two")
  T.raises(function() fig:axes() end, "all taken")
end)

T.test("errors name the plot and say what was expected", function()
  T.raises(function() plot.line { x = { 1, 2, 3 }, y = { 1, 2 } } end, "plot.line: x has 3 values but y has 2")
  T.raises(function() plot.line { y = {} } end, "plot.line: y is empty")
  T.raises(function() plot.line { y = { 1, "a" } } end, "plot.line: y[2] must be a number")
  T.raises(function() plot.line { y = { 1, 2 }, colour = "red" } end, "did you mean 'color'?")
  T.raises(function() plot.line {} end, "plot.line: y (or series) is required")
  T.raises(function() plot.line { y = ml.zeros(2, 3) } end, "1-D tensor")
  T.raises(function() plot.line { y = { 1, 2 } }:save("x.jpg") end, "plot.Figure:save: 'x.jpg' has the extension '.jpg'; expected .png or .svg")
  T.raises(function() plot.line { y = { 1, 2 } }:save("noext") end, "has no extension")
  T.raises(function() plot.line { y = { 1, 2 } }:save("/nonexistent-dir/x.png") end, "cannot write '/nonexistent-dir/x.png'")
  T.raises(function() plot.line { y = { 1, 2 }, legend = "uper right" } end, "did you mean 'upper right'?")
  T.raises(function() plot.line { y = { 1, 2 }, logy = true, ylim = { 0, 1 } } end, "positive on a log axis")
  T.raises(function() plot.scatter { x = { 1, 2 }, y = { 1, 2 }, c = { 1 } } end, "plot.scatter: x has 2 values but c has 1 labels")
  T.raises(function() plot.hist { values = { 0 / 0, 0 / 0 } } end, "plot.hist: the values hold no finite number")
  T.raises(function() plot.hist { values = { 1, 2 }, bins = 0 } end, "plot.hist: bins must be at least 1")
  T.raises(function() plot.bar { labels = { "a", "b" }, values = { 1 } } end, "plot.bar: labels has 2 values but values has 1")
  T.raises(function() plot.roc { y_true = { 0, 1, 1 }, y_score = { 0.5, 0.2 } } end, "plot.roc: y_true has 3 labels but y_score has 2")
  T.raises(function() plot.roc { y_true = { 1, 1 }, y_score = { 0.5, 0.2 }, curves = {} } end, "not both")
  T.raises(function() plot.confusion { y_true = { 1, 2 }, y_pred = { 1 } } end, "plot.confusion: y_true has 2 labels but y_pred has 1")
  T.raises(function() plot.confusion { y_true = { 1, 2 }, y_pred = { 1, 2 }, labels = { "a" } } end, "labels must name the 2 classes")
  T.raises(function() plot.confusion { y_true = { 1, 2 }, y_pred = { 1, 2 }, normalize = "rows" } end, "normalize must be one of")
  T.raises(function() plot.images { tensor = ml.zeros(2, 3, 4, 5, 6) } end, "plot.images:")
  T.raises(function() plot.images {} end, "tensor (the images) is required")
  T.raises(function() plot.search_history({}) end, "plot.search_history: trials must be a non-empty list")
  T.raises(function() plot.search_history({ { number = 1, state = "failed" } }) end, "none of the 1 trials has a value")
  T.raises(function() plot.search_history({ { number = 1, value = 1 } }, { direction = "up" }) end, "direction must be one of")
  T.raises(function() plot.importances({}) end, "plot.importances: expected a table {name = importance}")
  T.raises(function() plot.importances({ a = "x" }) end, "the importance of 'a' must be a number")
  T.raises(function() plot.learning_curves({ epochs = 3 }) end, "plot.learning_curves: the history holds no per-epoch metric")
  T.raises(function() plot.learning_curves({ loss = { 1, "x" } }, { metrics = { "loss" } }) end, "history.loss must be a list of numbers")
  T.raises(function() plot.learning_curves({ { loss = { 1 } }, { loss = { 2 } } }, { labels = { "a" } }) end, "labels must name the 2 histories")
  T.raises(function() plot.line { y = { 1, 2 }, width = 20 } end, "width must be at least 50")
  T.raises(function() plot.line { y = { 1, 2 }, width = 60, height = 60, title = "t", xlabel = "x", ylabel = "y" }:save(T.tmpname(".png")) end,
    "too small for its labels")
end)

T.test("thousands of points go through C in one call", function()
  local n = 50000
  local x = ml.randn(n):to("float64")
  local fig = plot.scatter { x = x, y = x * 2 + ml.randn(n):to("float64"), size = 1, width = 400, height = 300 }
  local t0 = os.clock()
  fig:save(T.tmpname(".png"))
  T.ok(os.clock() - t0 < 30) -- not a timing assert: it returns
  local h = plot.hist { values = x, bins = 50 }
  local total = 0
  for _, c in ipairs(h.panels[1].artists[1].y1) do total = total + c end
  T.eq(total, n)
end)
