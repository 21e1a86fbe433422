-- ml.track: run records (contract C) — start/log/finish/read/list, fit's Track callback (the record equals
-- the returned history), search parent and child runs (jobs = 2 too), recipes, a kill -9 that reads back as
-- killed with its lines intact, crash-safe reads, data file hashes, errors.
local track = ml.track
local S = dofile("tests/lua/fit_helpers.lua")
local lfs = require "lfs"
local BIN, quote = T.BIN, T.quote
local ROOT = lfs.currentdir()
local ABS = BIN:sub(1, 1) == "/" and BIN or (ROOT .. "/" .. BIN)

local function model()
  ml.seed(3)
  local m = S.Sequential { S.Linear(2, 8), S.ReLU(), S.Linear(8, 2) }
  m:compile { optimizer = ml.optim.Adam(m:parameters(), { lr = 1e-2 }), loss = S.CrossEntropyLoss(), metrics = { "accuracy" } }
  return m
end

T.test("start writes the layout; log appends one line per call; finish closes; read and list give it back", function()
  local root = T.tmpdir()
  local run = track.start { experiment = "exp", name = "first", params = { lr = 0.1, width = 8 }, dir = root, tags = { who = "test" }, seed = 7 }
  T.ok(run.id:match("^%d%d%d%d%d%d%d%d%-%d%d%d%d%d%d%-%x%x%x%x%x%x$"), run.id)
  T.eq(run.dir, root .. "/exp/" .. run.id)
  T.eq(track.active(), run)
  for _, f in ipairs({ "meta.json", "params.json", "metrics.jsonl" }) do T.eq(lfs.attributes(run.dir .. "/" .. f, "mode"), "file", f) end
  T.eq(lfs.attributes(run.dir .. "/artifacts", "mode"), "directory")
  run:log({ loss = 0.5, acc = 0.25 }, 1)
  run:log({ loss = 0.1 / 3 })            -- step: the last + 1
  run:set_tags { phase = "two" }
  local p = run:artifact_path("tables/t.csv")
  T.write_file(p, "a,b\n1,2\n")
  local src = T.tmpname(".txt"); T.write_file(src, "hello")
  T.eq(run:log_artifact(src, "note.txt"), run.dir .. "/artifacts/note.txt")
  run:finish()
  T.eq(track.active(), nil)
  local r = track.read(run.dir)
  T.eq(r.meta.status, "finished"); T.eq(r.meta.name, "first"); T.eq(r.meta.experiment, "exp"); T.eq(r.meta.kind, "run")
  T.eq(r.meta.seed, 7); T.eq(r.meta.threads, ml.threads()); T.eq(r.meta.moonlab_version, ml.config().version)
  T.eq(r.meta.pid, ml._proc.getpid()); T.ok(type(r.meta.host) == "string" and #r.meta.host > 0)
  T.ok(r.meta.end_time >= r.meta.start_time)
  T.eq(r.meta.tags.who, "test"); T.eq(r.meta.tags.phase, "two")
  T.eq(r.params.given.lr, 0.1); T.eq(r.params.resolved.width, 8)
  T.eq(#r.metrics, 2)
  T.eq(r.metrics[1].step, 1); T.eq(r.metrics[2].step, 2)
  T.eq(r.metrics[2].metrics.loss, 0.1 / 3)  -- exact through JSON
  T.eq(r.final.acc, 0.25); T.eq(r.final.loss, 0.1 / 3)
  T.eq(T.read_file(run.dir .. "/artifacts/note.txt"), "hello")
  -- the metrics file: one JSON object per line with step, time and metrics
  local lines = {}
  for l in io.lines(run.dir .. "/metrics.jsonl") do lines[#lines + 1] = ml.json.decode(l) end
  T.eq(#lines, 2); T.ok(lines[1].time > 1.6e9)
  local run2 = track.start { experiment = "exp", dir = root }
  run2:finish("failed", "boom")
  local list = track.list(root)
  T.eq(#list, 2); T.eq(list[1].id, run2.id)  -- newest first
  T.eq(list[1].status, "failed"); T.eq(track.read(run2.dir).meta.error, "boom")
  T.eq(#track.list(root, "nope"), 0)
  T.eq(track.find(run.id, root).id, run.id)
  T.eq(track.find(run.dir).id, run.id)
end)

T.test("the recorded source: a copy and its SHA-256; data files read while a run is open are hashed", function()
  local root = T.tmpdir()
  local script = T.tmpname(".lua")
  T.write_file(script, "return 1\n")
  local csv = T.tmpname(".csv")
  T.write_file(csv, "a,b\n1,2\n3,4\n")
  local run = track.start { dir = root, source = script }
  ml.data.read_csv(csv)
  ml.data.read_csv(csv)  -- once in the record
  run:finish()
  local m = track.read(run.dir).meta
  T.eq(m.source.path, script)
  T.eq(m.source.sha256, ml._track.sha256("return 1\n"))
  T.eq(T.read_file(run.dir .. "/" .. m.source.copy), "return 1\n")
  T.eq(#m.data, 1)
  T.eq(m.data[1].path, csv); T.eq(m.data[1].bytes, 12); T.eq(m.data[1].sha256, ml._track.sha256("a,b\n1,2\n3,4\n"))
  -- the bundled data sets go through read_csv too
  local run2 = track.start { dir = root, source = false }
  ml.data.load_iris()
  run2:finish()
  local d = track.read(run2.dir).meta.data
  T.eq(#d, 1); T.ok(d[1].path:find("iris"), d[1].path); T.eq(#d[1].sha256, 64)
  T.eq(track.read(run2.dir).meta.source, nil)
end)

T.test("tensors read with ml.load / ml.load_npy (npy, safetensors) are data files of the open run; a model file is not", function()
  local root = T.tmpdir()
  local npy, st, other, model_file = T.tmpname(".npy"), T.tmpname(".safetensors"), T.tmpname(".bin"), T.tmpname(".safetensors")
  ml.save(npy, ml.arange(0, 6):reshape(2, 3))
  ml.save(st, { w = ml.ones(2, 2), b = ml.zeros(2) })
  ml.save_npy(other, ml.ones(3))
  local net = ml.nn.Linear(2, 1)
  net:save(model_file)
  ml.load(npy) -- no run open: noted for the runs opened later (once), nothing fails
  local run = track.start { dir = root, source = false }
  ml.load(npy); ml.load(npy) -- once in the record
  ml.load(st)
  ml.load_npy(other)
  ml.nn.load(model_file) -- a moonlab object file ('moonlab.format' metadata): a model, not data
  run:finish()
  local d = track.read(run.dir).meta.data
  local by_path = {}
  for _, e in ipairs(d) do by_path[e.path] = e end
  T.eq(#d, 3)
  T.eq(by_path[npy].sha256, ml._track.sha256(T.read_file(npy))); T.eq(by_path[npy].bytes, #T.read_file(npy))
  T.eq(by_path[st].sha256, ml._track.sha256(T.read_file(st)))
  T.ok(by_path[other], "ml.load_npy's file")
  T.eq(by_path[model_file], nil)
  -- a failed read notes nothing and raises as before
  local run2 = track.start { dir = root, source = false }
  T.raises(function() ml.load(T.tmpname(".npy")) end, "ml.load")
  run2:finish()
  local d2 = track.read(run2.dir).meta.data -- the file read before any run opened, not the failed one
  T.eq(#d2, 1); T.eq(d2[1].path, npy)
end)

T.test("SHA-256 of bytes and files (FIPS 180-4 vectors)", function()
  T.eq(ml._track.sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  T.eq(ml._track.sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  local f = T.tmpname(); T.write_file(f, string.rep("a", 1000000))
  local hex, n = ml._track.sha256_file(f)
  T.eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"); T.eq(n, 1000000)
  T.raises(function() ml._track.sha256_file("/nonexistent/file") end, "cannot open '/nonexistent/file': No such file")
end)

T.test("a fit with tracking leaves a record whose metrics equal the returned history exactly", function()
  local root = T.tmpdir()
  local X, y = S.blobs(96, 2)
  local m = model()
  local run = track.start { experiment = "fit", dir = root, params = { lr = 1e-2 } }
  local h = m:fit(X, y, { epochs = 4, batch_size = 16, verbose = 0, validation_split = 0.25 })
  run:finish()
  local r = track.read(run.dir)
  T.eq(#r.metrics, 4)
  local names = { "loss", "accuracy", "val_loss", "val_accuracy", "lr" }
  for i, p in ipairs(r.metrics) do
    T.eq(p.step, i)
    for _, k in ipairs(names) do T.eq(p.metrics[k], h[k][i], k .. " at epoch " .. i) end
  end
  -- track = false: nothing logged; a batch-logging Track: every 2nd batch under batch/ names
  local run2 = track.start { experiment = "fit", dir = root }
  m:fit(X, y, { epochs = 1, batch_size = 16, verbose = 0, track = false })
  T.eq(#track.read(run2.dir).metrics, 0)
  m:fit(X, y, { epochs = 1, batch_size = 16, verbose = 0, callbacks = { ml.callbacks.Track { run = run2, log_every_batch = 2 } } })
  run2:finish()
  local pts = track.read(run2.dir).metrics
  T.eq(#pts, 4) -- 6 batches: 3 batch lines, then the epoch's
  T.eq(pts[1].step, 2); T.ok(pts[1].metrics["batch/batch_loss"] ~= nil); T.eq(pts[4].step, 1); T.ok(pts[4].metrics.loss ~= nil)
end)

T.test("fit{track = run} logs into that run; Track's options are checked", function()
  local root = T.tmpdir()
  local X, y = S.blobs(32, 4)
  local m = model()
  local run = track.start { dir = root }
  local other = track.start { dir = root }
  local h = m:fit(X, y, { epochs = 2, batch_size = 16, verbose = 0, track = run })
  other:finish(); run:finish()
  T.eq(#track.read(run.dir).metrics, 2)
  T.eq(track.read(run.dir).final.loss, h.loss[2])
  T.eq(#track.read(other.dir).metrics, 0)
  T.raises(function() m:fit(X, y, { epochs = 1, verbose = 0, track = "yes" }) end, "fit: track must be true, false or a run")
  T.raises(function() ml.callbacks.Track { log_every = 2 } end, "did you mean 'log_every_batch'")
end)

T.test("a search leaves one parent run (kind search) and one child run per trial, in one process and with jobs = 2", function()
  for _, jobs in ipairs({ 1, 2 }) do
    local root = T.tmpdir()
    local outer = track.start { experiment = "s", dir = root, name = "outer" }
    local res = ml.search.run(function(p, trial)
      trial:report(1, p.x * 2)
      if p.x > 0.9 then error("too big") end
      return { loss = (p.x - 0.3) ^ 2, other = 1 }
    end, { x = ml.search.uniform(0, 1) }, { trials = 5, method = "random", seed = 4, verbose = false, metric = "loss", jobs = jobs })
    outer:finish()
    local all = track.list(root, "s")
    local parents, children = {}, {}
    for _, m in ipairs(all) do
      if m.kind == "search" then parents[#parents + 1] = m elseif m.kind == "trial" then children[#children + 1] = m end
    end
    T.eq(#parents, 1, "jobs " .. jobs); T.eq(#children, 5, "jobs " .. jobs)
    T.eq(parents[1].parent, outer.id); T.eq(parents[1].status, "finished")
    local by_trial = {}
    for _, c in ipairs(children) do T.eq(c.parent, parents[1].id); by_trial[c.tags.trial] = c end
    for _, t in ipairs(res.trials) do
      local c = track.read(by_trial[t.number].dir)
      T.eq(c.params.given.x, t.params.x)
      T.eq(c.meta.tags.state, t.state)
      if t.state == "complete" then
        T.eq(c.final.value, t.value); T.eq(c.final.loss, t.value); T.eq(c.meta.status, "finished")
        T.eq(c.metrics[1].metrics.intermediate, t.params.x * 2)
      else
        T.eq(c.meta.status, "failed"); T.ok(c.meta.error:find("too big"), c.meta.error)
      end
    end
    local pr = track.read(parents[1].dir)
    T.eq(pr.final.best_value, res.best_value)
    T.eq(pr.meta.tags.best_trial, res.best_trial.number)
    T.eq(pr.params.given.method, "random")
  end
end)

T.test("search.run{track = false} and a search with no open run record nothing", function()
  local root = T.tmpdir()
  local run = track.start { dir = root }
  ml.search.run(function(p) return p.x end, { x = { 1, 2 } }, { method = "grid", verbose = false, track = false })
  run:finish()
  T.eq(#track.list(root), 1)
end)

-- Runs a script with the moonlab binary in dir; returns stdout, stderr, code.
local function moonlab(dir, args)
  return T.capture(string.format("cd %s && MOONLAB_RUNS=%s %s %s", quote(dir), quote(dir .. "/runs"), quote(ABS), args))
end

T.test("moonlab recipe.lua records a run: params given and resolved, the returned metrics, finished; a failure reads failed", function()
  local dir = T.tmpdir()
  T.write_file(dir .. "/rec.lua", [[
return { params = { lr = 0.1, n = 3, fail = false },
  run = function(p) if p.fail then error("recipe went wrong") end return { score = p.lr * p.n, loss = 1 / p.n } end }
]])
  local out, err, code = moonlab(dir, "rec.lua n=4")
  T.eq(code, 0, err)
  T.ok(out:find("loss = 0.25, score = 0.4", 1, true), out)
  local runs = track.list(dir .. "/runs")
  T.eq(#runs, 1)
  local r = track.read(runs[1].dir)
  T.eq(r.meta.experiment, "rec"); T.eq(r.meta.status, "finished")
  T.eq(r.params.given.n, 4); T.eq(r.params.given.lr, nil)
  T.eq(r.params.resolved.lr, 0.1); T.eq(r.params.resolved.n, 4)
  T.eq(r.final.score, 0.1 * 4); T.eq(r.final.loss, 0.25)
  T.eq(r.meta.source.sha256, ml._track.sha256(T.read_file(dir .. "/rec.lua")))
  local _, err2, code2 = moonlab(dir, "rec.lua fail=true")
  T.ok(code2 ~= 0); T.ok(err2:find("recipe went wrong"), err2)
  local failed = track.list(dir .. "/runs")[1]
  T.eq(failed.status, "failed"); T.ok(failed.error:find("recipe went wrong"), failed.error)
  local _, _, code3 = moonlab(dir, "rec.lua --no-track")
  T.eq(code3, 0)
  T.eq(#track.list(dir .. "/runs"), 2)
  -- a plain script records nothing unless it starts a run
  T.write_file(dir .. "/plain.lua", "print(1)\n")
  moonlab(dir, "plain.lua")
  T.eq(#track.list(dir .. "/runs"), 2)
end)

T.test("a run killed with kill -9 reads back as killed, its lines up to the kill intact; a cut last line is ignored", function()
  local dir = T.tmpdir()
  local fifo = dir .. "/wait.fifo"
  assert(os.execute("mkfifo " .. quote(fifo)))
  T.write_file(dir .. "/victim.lua", string.format([[
local run = ml.track.start{experiment = "k", dir = %q}
for i = 1, 3 do run:log({loss = 1 / i}, i) end
local f = io.open(%q, "w") f:write("started\n") f:close()
io.open(%q, "r") -- blocks: nobody writes the FIFO
]], dir .. "/runs", dir .. "/ready", fifo))
  local p = io.popen(string.format("cd %s && %s victim.lua >/dev/null 2>&1 & echo $!", quote(dir), quote(ABS)))
  local pid = math.tointeger(tonumber(p:read("l")))
  p:close()
  local t0 = ml.now()
  while not T.read_file(dir .. "/ready") and ml.now() - t0 < 20 do os.execute("sleep 0.05") end
  T.ok(T.read_file(dir .. "/ready"), "the script started")
  local running = track.list(dir .. "/runs")[1]
  T.eq(running.status, "running")
  os.execute("kill -9 " .. pid)
  t0 = ml.now()
  while ml._proc.alive(pid) and ml.now() - t0 < 10 do os.execute("sleep 0.05") end
  local r = track.read(running.dir)
  T.eq(r.meta.status, "killed"); T.eq(r.meta.recorded_status, "running")
  T.eq(#r.metrics, 3); T.eq(r.metrics[3].metrics.loss, 1 / 3); T.eq(r.cut_lines, 0)
  -- a line cut by a kill mid-write
  local f = io.open(running.dir .. "/metrics.jsonl", "a"); f:write('{"step":4,"time":1,"metr'); f:close()
  local r2 = track.read(running.dir)
  T.eq(#r2.metrics, 3); T.eq(r2.cut_lines, 1)
end)

T.test("bad input is a clear error naming the function", function()
  local root = T.tmpdir()
  T.raises(function() track.start { dir = "/proc/no/such" } end, "track.start: cannot create '/proc/no': ")
  T.raises(function() track.start { experment = "x", dir = root } end, "did you mean 'experiment'")
  T.raises(function() track.start { experiment = "a/b", dir = root } end, "track.start: experiment must be a plain name")
  T.raises(function() track.start { params = 3, dir = root } end, "track.start: params must be a plain table, got 3")
  T.raises(function() track.start { seed = 1.5, dir = root } end, "track.start: seed must be an integer")
  local run = track.start { dir = root }
  T.raises(function() run:log({ loss = "x" }) end, "run:log: metric 'loss' must be a number")
  T.raises(function() run:log(5) end, "run:log: metrics must be a table")
  T.raises(function() run:log({ loss = 1 }, 1.5) end, "run:log: step must be an integer")
  T.raises(function() run:log_artifact("/nonexistent/x.png") end, "run:log_artifact: cannot read '/nonexistent/x.png'")
  T.raises(function() run:artifact_path("../escape") end, "run:artifact_path: name must be a relative file name")
  T.raises(function() run:finish("done") end, "run:finish: status must be one of")
  run:finish()
  T.raises(function() run:log({ loss = 1 }) end, "run:log: run " .. run.id .. " is already finished")
  T.raises(function() track.read(root) end, "track.read: '" .. root .. "' is not a run directory (no meta.json)")
  T.raises(function() track.find("zzz", root) end, "track.find: no run 'zzz'")
  -- a run closed by <close> finishes, failed when the block raised
  local id
  pcall(function()
    local r <close> = track.start { dir = root }
    id = r.id
    error("inside")
  end)
  T.eq(track.find(id, root).status, "failed")
end)

T.test("the learning curves and the search history go to artifacts through ml.plot (contract D; a stand-in here)", function()
  local saved_loaded, saved_preload = package.loaded["moonlab.plot"], package.preload["moonlab.plot"]
  local calls = {}
  local function fig(kind, arg1, opts)
    calls[#calls + 1] = { kind = kind, arg = arg1, opts = opts }
    return { save = function(_, path) T.write_file(path, kind) end }
  end
  package.loaded["moonlab.plot"] = {
    learning_curves = function(h, o) return fig("learning_curves", h, o) end,
    search_history = function(t, o) return fig("search_history", t, o) end,
  }
  local ok, err = pcall(function()
    local root = T.tmpdir()
    local X, y = S.blobs(32, 5)
    local run = track.start { dir = root, name = "plotted" }
    local h = model():fit(X, y, { epochs = 2, batch_size = 16, verbose = 0 })
    T.eq(T.read_file(run.dir .. "/artifacts/learning_curves.png"), "learning_curves")
    T.eq(calls[1].arg, h); T.eq(calls[1].opts.title, "plotted")
    ml.search.run(function(p) return p.x end, { x = { 1, 2, 3 } }, { method = "grid", verbose = false, direction = "maximize" })
    run:finish()
    local search_run
    for _, m in ipairs(track.list(root)) do if m.kind == "search" then search_run = m end end
    T.eq(T.read_file(search_run.dir .. "/artifacts/search_history.png"), "search_history")
    T.eq(#calls[2].arg, 3); T.eq(calls[2].opts.direction, "maximize"); T.eq(calls[2].arg[1].state, "complete")
  end)
  package.loaded["moonlab.plot"], package.preload["moonlab.plot"] = saved_loaded, saved_preload
  if not ok then error(err, 0) end
end)
