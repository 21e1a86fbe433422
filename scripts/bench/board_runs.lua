-- Writes the run records scripts/bench/board.sh serves (contract C's layout, by tests/board/runs.lua):
-- RUNS runs of EPOCHS epochs in one experiment, and one run with a per-batch log of LONG lines.
-- usage: moonlab scripts/bench/board_runs.lua DIR [RUNS=200] [EPOCHS=50] [LONG=20000]
package.path = "tests/board/?.lua;" .. package.path
local R = require "runs"
local dir, nruns, epochs, long = arg[1], tonumber(arg[2] or 200), tonumber(arg[3] or 50), tonumber(arg[4] or 20000)
local lfs = require "lfs"
lfs.mkdir(dir)
for i = 1, nruns do
  R.write_run(dir .. "/runs", "sweep", string.format("20260101-%06d-r%05d", i, i), { name = "run " .. i,
    params = { lr = 0.1 / i, hidden = 16 * (i % 8 + 1), optimizer = i % 2 == 0 and "adam" or "sgd" },
    points = R.curve(epochs, 0.1 / i + 0.01), start = 1.7e9 + i })
end
local pts = {}
for i = 1, long do pts[i] = { ["batch/loss"] = 1 / (1 + i / 100), ["batch/accuracy"] = 1 - 1 / (1 + i / 100) } end
R.write_run(dir .. "/runs", "long", "20260102-000000-long00", { name = "per-batch", points = pts, start = 1.8e9 })
print("wrote " .. nruns .. " runs and one of " .. long .. " lines under " .. dir .. "/runs")
