-- QA of tracking and monitoring (issue 14): regression tests for what an independent pass found broken.
-- moonlab runs: names that no run has, params./metrics. names, damaged records said; run:log's errors; data
-- read before a run opens; a moonlab search trial's resolved params; moonlab rerun of a search; plot.images of
-- [N, H, W]; SVG size and sharp images; the board's models folder and trials view.
local track = ml.track
local lfs = require "lfs"
local json = ml.json
local BIN = T.BIN:sub(1, 1) == "/" and T.BIN or (lfs.currentdir() .. "/" .. T.BIN)

local function moonlab(dir, args)
  return T.capture(string.format("cd %s && MOONLAB_RUNS=%s %s %s", T.quote(dir), T.quote(dir .. "/runs"), T.quote(BIN), args))
end

-- Two runs where fit's logged lr (a metric) and the recipe's lr (a param) differ, as with a schedule.
local function lr_runs(root)
  local ids = {}
  for i, lr in ipairs({ 0.1, 0.001 }) do
    local run = track.start { experiment = "e", name = "r" .. i, dir = root, params = { lr = lr, opt = "adam" }, source = false }
    run:log({ loss = 1 / i, lr = 0.05, val_accuracy = i / 4 }, 1) -- the metric lr: 0.05 in both
    run:finish()
    ids[i] = run.id
  end
  return ids
end

T.test("moonlab runs: a --filter or --sort name no run has is an error with a suggestion, not an empty table", function()
  local root = T.tmpdir()
  lr_runs(root .. "/runs")
  local out, err, code = moonlab(root, "runs --filter 'val_acc>0.1'")
  T.eq(code, 2, out .. err)
  T.ok(err:find("--filter 'val_acc>0.1': no run here has a param, final metric or field 'val_acc'", 1, true), err)
  T.ok(err:find("did you mean 'val_accuracy'", 1, true), err)
  local _, err2, code2 = moonlab(root, "runs --sort los")
  T.eq(code2, 2); T.ok(err2:find("--sort los: no run here", 1, true) and err2:find("did you mean 'loss'", 1, true), err2)
  -- fields every record has stay usable, and so do names some run has
  local _, _, code3 = moonlab(root, "runs --filter status=finished --sort duration")
  T.eq(code3, 0)
  local _, err4, code4 = moonlab(root, "runs --dir " .. T.quote(root .. "/nowhere"))
  T.eq(code4, 2); T.ok(err4:find("is not a folder of run records", 1, true), err4)
end)

T.test("moonlab runs: params.NAME and metrics.NAME tell a param from a metric of the same name; the headers say which", function()
  local root = T.tmpdir()
  local ids = lr_runs(root .. "/runs")
  local bare = moonlab(root, "runs --filter 'lr<0.01'") -- a bare name: the final metric (0.05), as documented
  T.ok(bare:find("no runs", 1, true), bare)
  local p = moonlab(root, "runs --filter 'params.lr<0.01'")
  T.ok(p:find(ids[2], 1, true) and not p:find(ids[1], 1, true), p)
  local m = moonlab(root, "runs --filter 'metrics.lr=0.05' --sort params.lr")
  T.ok(m:find(ids[2], 1, true) < m:find(ids[1], 1, true), m)
  local header = m:match("^[^\n]+")
  T.ok(header:find("params.lr", 1, true) and header:find("metrics.lr", 1, true), header)
  T.ok(not header:find(" opt ", 1, true), "a param equal in every run is still no column: " .. header)
end)

T.test("a damaged metrics.jsonl line is said with its number; a cut last line is the kill's; a bad meta.json is warned", function()
  local base = T.tmpdir()
  local root = base .. "/runs"
  local run = track.start { experiment = "d", dir = root, source = false }
  for i = 1, 3 do run:log({ loss = 1 / i }, i) end
  run:finish()
  local path = run.dir .. "/metrics.jsonl"
  local lines = {}
  for l in T.read_file(path):gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.write_file(path, lines[1] .. "\n" .. lines[2]:sub(1, 20) .. "\n" .. lines[3] .. "\n" .. '{"step":4,"ti')
  local rec = track.read(run.dir)
  T.eq(#rec.metrics, 2); T.eq(rec.cut_lines, 1); T.eq(table.concat(rec.corrupt_lines, ","), "2")
  local pts, cut, corrupt = track.read_metrics(path)
  T.eq(#pts, 2); T.eq(cut, 1); T.eq(#corrupt, 1)
  local out, err, code = moonlab(base, "runs show " .. run.id)
  T.eq(code, 0, err)
  T.ok(out:find("a last line cut by a kill skipped", 1, true), out)
  T.ok(err:find("metrics.jsonl: line 2 is not a metrics record", 1, true), err)
  -- a run whose meta.json is not JSON is named on stderr by the list, not left out in silence
  lfs.mkdir(root .. "/d/20260101-000000-broken")
  T.write_file(root .. "/d/20260101-000000-broken/meta.json", "{not json")
  local list, lerr, lcode = moonlab(base, "runs d")
  T.eq(lcode, 0, lerr)
  T.ok(list:find(run.id, 1, true), list)
  T.ok(lerr:find("skipped .*20260101%-000000%-broken: .*not valid JSON"), lerr)
  local metas, skipped = track.list(root, "d")
  T.eq(#metas, 1); T.eq(#skipped, 1); T.ok(skipped[1].dir:find("broken", 1, true))
end)

T.test("run:log and run:set_tags on a run folder that is gone name themselves and the path", function()
  local root = T.tmpdir()
  local run = track.start { experiment = "g", dir = root, source = false }
  os.execute("rm -rf " .. T.quote(run.dir))
  T.raises(function() run:log { loss = 1 } end, "run:log: cannot open '" .. run.dir .. "/metrics.jsonl': No such file or directory")
  local ok, err = pcall(run.set_tags, run, { a = 1 })
  T.ok(not ok and err:find("run:set_tags: cannot write '" .. run.dir .. "/meta.json': No such file or directory", 1, true), err)
  T.ok(not err:find(".tmp", 1, true), "the message names the file, once: " .. err)
  pcall(run.finish, run)
end)

T.test("data files read before a run opens are recorded by it (load, then start; fit{track = true})", function()
  local root = T.tmpdir()
  local csv = T.tmpname(".csv")
  T.write_file(csv, "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
  track._forget_reads()
  local df = ml.data.read_csv(csv) -- no run open yet
  local r1 = track.start { experiment = "pre", dir = root, source = false }
  r1:finish()
  local r2 = track.start { experiment = "pre", dir = root, source = false } -- a second run of the same script
  r2:finish()
  for _, r in ipairs({ r1, r2 }) do
    local d = track.read(r.dir).meta.data
    T.eq(#d, 1); T.eq(d[1].path, csv); T.eq(d[1].sha256, ml._track.sha256(T.read_file(csv)))
  end
  -- fit{track = true} opens its own run at the fit, after the data was read
  local X = df:to_tensor({ "a", "b" }, "float32")
  local y = df:to_tensor({ "y" }, "int64"):reshape(-1) + 1
  local net = ml.nn.Sequential { ml.nn.Linear(2, 2) }
  net:compile { optimizer = "sgd", loss = "cross_entropy" }
  local old = os.getenv("MOONLAB_RUNS")
  net:fit(X, y, { epochs = 1, verbose = 0, track = true })
  local fit_run
  for _, m in ipairs(track.list(old)) do if m.name == "fit" then fit_run = fit_run or m end end
  T.ok(fit_run, "fit's own run")
  local found = false
  for _, f in ipairs(fit_run.data) do if f.path == csv then found = true end end
  T.ok(found, "fit's own run records the CSV read before it")
  -- a file read while a run is open is that run's only
  track._forget_reads()
  local r3 = track.start { experiment = "pre", dir = root, source = false }
  ml.data.read_csv(csv)
  r3:finish()
  local r4 = track.start { experiment = "pre", dir = root, source = false }
  r4:finish()
  T.eq(#track.read(r3.dir).meta.data, 1); T.eq(#track.read(r4.dir).meta.data, 0)
end)

-- A recipe with a fixed value and defaults the search does not touch.
local RECIPE = [[
return {
  params = { lr = 0.1, width = 4, epochs = 2, batch_size = 8 },
  space = { lr = ml.search.loguniform(1e-3, 1), width = ml.search.int(2, 8) },
  run = function(p)
    ml.seed(1)
    local X = ml.randn(32, 3)
    local y = X:sum(2, true) * 0.5
    local model = ml.nn.Sequential { ml.nn.Linear(3, p.width), ml.nn.Tanh(), ml.nn.Linear(p.width, 1) }
    model:compile { optimizer = ml.optim.SGD(model:parameters(), { lr = p.lr }), loss = ml.nn.MSELoss() }
    local h = model:fit(X, y, { epochs = p.epochs, batch_size = p.batch_size, validation_split = 0.25, verbose = 0 })
    return { val_loss = h.val_loss[#h.val_loss] }
  end,
}
]]

T.test("moonlab search: a trial's resolved params are what its recipe ran with; the board's trials keep the sampled ones", function()
  local dir = T.tmpdir()
  T.write_file(dir .. "/tiny.lua", RECIPE)
  local out, err, code = moonlab(dir, "search tiny.lua --trials 2 --method random --seed 3 --metric val_loss epochs=3")
  T.eq(code, 0, out .. err)
  local trials = 0
  for _, m in ipairs(track.list(dir .. "/runs")) do
    if m.kind == "trial" then
      trials = trials + 1
      local p = track.read(m.dir).params
      T.eq(p.resolved.epochs, 3, "the fixed value"); T.eq(p.resolved.batch_size, 8, "a default")
      T.eq(p.resolved.lr, p.given.lr); T.eq(p.resolved.width, p.given.width)
      T.eq(p.given.epochs, nil, "given: the sampled values")
    end
  end
  T.eq(trials, 2)
  local search
  for _, m in ipairs(track.list(dir .. "/runs")) do if m.kind == "search" then search = m end end
  local s = ml.board.api.trials(dir .. "/runs", search.id)
  T.eq(table.concat(s.param_names, ","), "lr,width")
end)

T.test("moonlab rerun of a moonlab search run searches again (recorded options, fresh journal); a trial points to it", function()
  local dir = T.tmpdir()
  T.write_file(dir .. "/tiny.lua", RECIPE)
  local _, err, code = moonlab(dir, "search tiny.lua --trials 2 --method random --seed 3 --metric val_loss")
  T.eq(code, 0, err)
  local search, trial
  for _, m in ipairs(track.list(dir .. "/runs")) do
    if m.kind == "search" then search = m elseif m.kind == "trial" then trial = m end
  end
  local out, rerr, rcode = moonlab(dir, "rerun " .. search.id)
  T.eq(rcode, 0, out .. rerr)
  T.ok(out:find("the rerun reproduces the run", 1, true), out)
  T.ok(out:find("best_value%s+%S+%s+%S+%s+exact"), out)
  local again
  for _, m in ipairs(track.list(dir .. "/runs")) do if m.tags.rerun_of == search.id then again = m end end
  T.ok(again and again.kind == "search", "the rerun is a search run tagged rerun_of")
  local n = 0
  for _, m in ipairs(track.list(dir .. "/runs")) do if m.parent == again.id then n = n + 1 end end
  T.eq(n, 2, "the rerun ran its trials (a fresh journal, not the recorded one resumed)")
  local _, terr, tcode = moonlab(dir, "rerun " .. trial.id)
  T.eq(tcode, 2)
  T.ok(terr:find(" of the search " .. search.id .. ": rerun the search (moonlab rerun " .. search.id .. ")", 1, true), terr)
end)

T.test("plot.images takes [N, H, W] grey images (a dataset's x); a channel count it cannot draw fails at the call", function()
  local x = ml.rand(12, 9, 7)
  local fig = ml.plot.images { tensor = x, nrow = 6 }
  local path = T.tmpname(".png")
  fig:save(path)
  local img = ml.image.load_png(path)
  T.ok(img:size(3) > img:size(2), "two rows of six")
  T.raises(function() ml.plot.images { tensor = ml.rand(2, 5, 8, 8) } end,
    "plot.images: images have 5 channels; expected 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA)")
end)

T.test("SVG figures are as wide as their PNG (px, not pt), and an image in one stays sharp (scaled up blockwise)", function()
  local fig = ml.plot.images { tensor = ml.rand(4, 1, 8, 8), nrow = 4, width = 400 }
  local svg = T.tmpname(".svg")
  fig:save(svg)
  local s = T.read_file(svg)
  T.ok(s:find('width="400px"', 1, true), s:sub(1, 300))
  local iw = tonumber(s:match('<image[^>]- width="(%d+)"'))
  T.ok(iw and iw >= 300, "the embedded image is scaled up to about its drawn width, got " .. tostring(iw))
  local line = T.tmpname(".svg")
  ml.plot.line { y = { 1, 2 }, width = 320, height = 200 }:save(line)
  T.ok(T.read_file(line):find('width="320px" height="200px"', 1, true))
end)

T.test("board: a models folder made beside the runs after the board started is served", function()
  local base = T.tmpdir()
  lfs.mkdir(base .. "/runs")
  local h = ml.board.app.init({ root = base .. "/runs" })
  local function get(path)
    local st, body = h({ method = "GET", path = path, query = {}, headers = {} })
    return st, path:find("^/api/") and json.decode(body) or body
  end
  local st, models = get("/api/models")
  T.eq(st, 200); T.eq(#models, 0)
  lfs.mkdir(base .. "/models"); lfs.mkdir(base .. "/models/m"); lfs.mkdir(base .. "/models/m/1")
  T.write_file(base .. "/models/m/1/model.safetensors", "x")
  local _, later = get("/api/models")
  T.eq(#later, 1); T.eq(later[1].name, "m")
  T.eq((get("/models/m/1/model.safetensors")), 200)
end)

T.test("track.read{points = false}: a long log's summary without its points (moonlab runs held a 1M-line log as tables)", function()
  local root = T.tmpdir()
  local run = track.start { experiment = "long", dir = root, source = false }
  for i = 1, 2000 do run:log({ ["batch/loss"] = 1 / i }, i) end
  run:log({ val_loss = 0 / 0 }, 2001)
  run:finish()
  local full, light = track.read(run.dir), track.read(run.dir, { points = false })
  T.eq(#full.metrics, 2001); T.eq(#light.metrics, 0); T.eq(light.n_points, 2001)
  T.eq(light.final["batch/loss"], full.final["batch/loss"]); T.ok(light.final.val_loss ~= light.final.val_loss, "NaN read back")
  T.eq(light.count["batch/loss"], 2000); T.eq(light.last_step["batch/loss"], 2000); T.eq(light.last_step.val_loss, 2001)
  T.raises(function() track.read(run.dir, { point = false }) end, "track.read: unknown option 'point'")
  local out = T.capture(string.format("%s runs show %s --dir %s", T.quote(BIN), run.id, T.quote(root)))
  T.ok(out:find("metrics: 2001 points", 1, true) and out:find("batch/loss = 0.0005  (final, step 2000; 2000 points)", 1, true), out)
end)
