-- Every kind of ml.plot figure, from real data and real (short) training, written as PNG
-- and SVG into a folder:
--   moonlab examples/plots.lua [out=plots] [epochs=40] [trials=30] [width=800]
local o = ml.overrides
local out, epochs, trials, width = o.out or "plots", o.epochs or 40, o.trials or 30, o.width or 800
local height = math.floor(width * 5 / 8)
local plot, nn, models, search = ml.plot, ml.nn, ml.models, ml.search
require("lfs").mkdir(out)
ml.seed(0)

local function save(fig, name)
  fig:save(out .. "/" .. name .. ".png")
  fig:save(out .. "/" .. name .. ".svg")
  print("wrote " .. out .. "/" .. name .. ".png and .svg")
end

-- Iris: a small network, its learning curves and its confusion matrix
local iris = ml.data.load_iris()
local X = iris:drop({ "target" }):to_tensor(nil, "float32")
X = (X - X:mean(1)) / X:std(1)
local y = iris:to_tensor({ "target" }, "int64"):reshape(-1) + 1 -- classes 1..3
local perm = ml.randperm(X:size(1))
local tr, va = perm:narrow(1, 1, 110), perm:narrow(1, 111, 40)
local net = nn.Sequential { nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3) }
net:compile { optimizer = ml.optim.Adam(net:parameters(), { lr = 0.01 }), loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
local history = net:fit(X:index_select(1, tr), y:index_select(1, tr), { epochs = epochs, batch_size = 16, verbose = 0,
  validation_data = { X:index_select(1, va), y:index_select(1, va) } })
save(plot.learning_curves(history, { title = "Iris MLP", width = width, height = math.floor(height * 0.8) }), "learning_curves")
local pred = net:predict(X):argmax(2)
save(plot.confusion { y_true = y, y_pred = pred, labels = { "setosa", "versicolor", "virginica" }, title = "Iris MLP" },
  "confusion")
save(plot.scatter { x = iris:column("petal length (cm)"), y = iris:column("petal width (cm)"), c = iris:column("target"),
  title = "Iris petals by class", xlabel = "petal length (cm)", ylabel = "petal width (cm)", width = width, height = height },
  "scatter")

-- Breast cancer: two classifiers' ROC and precision-recall curves
local bc = ml.data.load_breast_cancer()
local Xb = bc:drop({ "target" }):to_tensor(nil, "float64")
Xb = (Xb - Xb:mean(1)) / Xb:std(1)
local yb = bc:column("target")
local p_lr = models.LogisticRegression({ C = 0.01 }):fit(Xb, yb):predict_proba(Xb):select(2, 2)
local p_nb = models.GaussianNB():fit(Xb, yb):predict_proba(Xb):select(2, 2)
local curves = { { y_true = yb, y_score = p_lr, label = "logistic" }, { y_true = yb, y_score = p_nb, label = "naive Bayes" } }
save(plot.roc { curves = curves, width = width, height = height }, "roc")
save(plot.pr { curves = curves, width = width, height = height }, "pr")
save(plot.hist { series = { { values = bc:to_tensor({ "mean radius" }):reshape(-1):masked_select(yb.values:eq(0)), label = "malignant" },
  { values = bc:to_tensor({ "mean radius" }):reshape(-1):masked_select(yb.values:eq(1)), label = "benign" } }, bins = 30,
  title = "Mean radius", xlabel = "mean radius", width = width, height = height }, "hist")

-- A line plot on log axes, a bar chart, an image grid
local n = ml.arange(1, 101):to("float64")
save(plot.line { series = { { x = n, y = n:pow(-0.5), label = "n^-1/2" }, { x = n, y = n:pow(-1), label = "1/n", dash = "dashed" } },
  logx = true, logy = true, title = "Rates", xlabel = "n", ylabel = "error", width = width, height = height }, "line")
save(plot.bar { labels = { "setosa", "versicolor", "virginica" }, values = { 50, 50, 50 },
  title = "Iris classes", ylabel = "rows", width = width, height = height }, "bar")
local digits = ml.data.load_digits()
local imgs = digits:drop({ "target" }):to_tensor(nil, "float32"):narrow(1, 1, 40):reshape(40, 1, 8, 8) / 16
save(plot.images { tensor = imgs, nrow = 10, title = "Digits", width = width }, "images")

-- A small search: its history and the parameters' importances
local res = search.run(function(p) return (p.x - 0.3) ^ 2 + 0.1 * p.y + 0.01 * p.z end,
  { x = search.uniform(0, 1), y = search.uniform(0, 1), z = search.uniform(0, 1) },
  { method = "random", trials = trials, seed = 0, verbose = false })
save(plot.search_history(res.trials, { direction = "minimize", width = width, height = height }), "search_history")
save(plot.importances(search.param_importances(res), { width = width }), "importances")
