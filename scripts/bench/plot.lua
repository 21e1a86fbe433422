-- The moonlab side of scripts/bench/plot.sh: seconds to build and save each figure as an
-- 800x500 PNG, one line per case: "plot CASE SECONDS" (the fastest of REPS runs).
local reps = tonumber(arg[1]) or 3
local dir = arg[2] or os.getenv("TMPDIR") or "/tmp"
local plot = ml.plot
ml.seed(0)
local walk = ml.randn(200000):to("float64"):cumsum(1)
local sx, sy = ml.randn(50000):to("float64"), ml.randn(50000):to("float64")
local big = ml.randn(1000000):to("float64")
local epochs = {}
for i = 1, 50 do epochs[i] = 1 / i end
local h = { loss = epochs, val_loss = epochs, accuracy = epochs, val_accuracy = epochs }
local cases = {
  { "line200k", function() return plot.line { y = walk, title = "walk" } end },
  { "scatter50k", function() return plot.scatter { x = sx, y = sy, size = 2, title = "scatter" } end },
  { "hist1M", function() return plot.hist { values = big, bins = 50, title = "hist" } end },
  { "curves", function() return plot.learning_curves(h, { width = 800, height = 500 }) end },
}
for _, c in ipairs(cases) do
  local best = math.huge
  for _ = 1, reps do
    local t0 = ml.now()
    c[2]():save(dir .. "/bench_plot_" .. c[1] .. ".png")
    best = math.min(best, ml.now() - t0)
  end
  print(string.format("plot %s %.6f", c[1], best))
end
