-- `moonlab runs` (list, --sort, --filter, --status, show, compare, gc) and `moonlab rerun` on real records,
-- and the MLflow export checked structurally against what MLflow's FileStore reads
-- (mlflow/store/tracking/file_store.py; MLflow itself is not installed here, so this is a check of the layout).
local track = ml.track
local lfs = require "lfs"
local BIN, quote = T.BIN, T.quote
local ROOT = lfs.currentdir()
local ABS = BIN:sub(1, 1) == "/" and BIN or (ROOT .. "/" .. BIN)

local function moonlab(dir, args)
  return T.capture(string.format("cd %s && MOONLAB_RUNS=%s %s %s", quote(dir), quote(dir .. "/runs"), quote(ABS), args))
end

-- Three runs of experiment "e" with different lr, one failed, plus a search with two trials.
local function make_runs(root)
  local ids = {}
  for i, lr in ipairs({ 0.1, 0.01, 0.001 }) do
    local run = track.start { experiment = "e", name = "r" .. i, dir = root, params = { lr = lr, width = 8 }, source = false }
    run:log({ loss = 1 / i, acc = i / 10 }, 1)
    run:log({ loss = 0.5 / i, acc = i / 5 }, 2)
    run:finish(i == 3 and "failed" or "finished", i == 3 and "diverged" or nil)
    ids[i] = run.id
  end
  local outer = track.start { experiment = "s", dir = root, source = false }
  ml.search.run(function(p) return p.x end, { x = { 1, 2 } }, { method = "grid", verbose = false })
  outer:finish()
  return ids
end

T.test("runs lists a table; --sort, --desc, --filter, --status pick and order runs", function()
  local root = T.tmpdir()
  local ids = make_runs(root)
  local out, err, code = moonlab(root, "runs e --dir " .. quote(root))
  T.eq(code, 0, err)
  local header = out:match("^[^\n]+")
  for _, col in ipairs({ "id", "name", "status", "start", "duration", "lr", "acc", "loss" }) do T.ok(header:find(col, 1, true), header) end
  T.ok(not header:find("width", 1, true), "a param equal in every run is not a column: " .. header)
  for _, id in ipairs(ids) do T.ok(out:find(id, 1, true), out) end
  T.ok(out:find("failed"), out)
  local sorted = moonlab(root, "runs e --sort loss --dir " .. quote(root))
  T.ok(sorted:find(ids[3], 1, true) < sorted:find(ids[2], 1, true) and sorted:find(ids[2], 1, true) < sorted:find(ids[1], 1, true), sorted)
  local desc = moonlab(root, "runs e --sort loss --desc --dir " .. quote(root))
  T.ok(desc:find(ids[1], 1, true) < desc:find(ids[2], 1, true), desc)
  local filtered = moonlab(root, "runs --filter 'lr<0.05' --filter 'acc>=0.4' --dir " .. quote(root))
  T.ok(filtered:find(ids[2], 1, true) and filtered:find(ids[3], 1, true) and not filtered:find(ids[1], 1, true), filtered)
  local failed = moonlab(root, "runs --status failed --dir " .. quote(root))
  T.ok(failed:find(ids[3], 1, true) and not failed:find(ids[2], 1, true), failed)
  local trials = moonlab(root, "runs s --kind trial --dir " .. quote(root))
  local n = 0
  for _ in trials:gmatch("trial %d") do n = n + 1 end
  T.eq(n, 2, trials)
  local _, e2, c2 = moonlab(root, "runs --filter 'lr<<' --dir " .. quote(root))
  T.eq(c2, 2); T.ok(e2:find("--filter 'lr<<': expected NAME<VALUE", 1, true), e2)
  local _, e3, c3 = moonlab(root, "runs --sortt loss --dir " .. quote(root))
  T.eq(c3, 2); T.ok(e3:find("did you mean '--sort'", 1, true), e3)
end)

T.test("runs show prints the whole record; compare marks the differences", function()
  local root = T.tmpdir()
  local ids = make_runs(root)
  local out, err, code = moonlab(root, "runs show " .. ids[3]:sub(1, 20) .. "x --dir " .. quote(root))
  T.eq(code, 2); T.ok(err:find("no run"), err)
  out, err, code = moonlab(root, "runs show " .. ids[3] .. " --dir " .. quote(root))
  T.eq(code, 0, err)
  for _, want in ipairs({ "run " .. ids[3], "status     failed", "error      diverged", "params (given):", "lr = 0.001",
    "metrics: 2 points", "loss = 0.1666", "host", "seed", "threads" }) do
    T.ok(out:find(want, 1, true), want .. " in\n" .. out)
  end
  out, err, code = moonlab(root, "runs compare " .. ids[1] .. " " .. ids[2] .. " --dir " .. quote(root))
  T.eq(code, 0, err)
  T.ok(out:find("%*%s+param lr%s+0.1%s+0.01"), out)
  T.ok(out:find("\n%s+param width%s+8%s+8"), out)   -- equal: unmarked
  T.ok(out:find("%*%s+metric loss%s+0.5%s+0.25"), out)
  local _, e2, c2 = moonlab(root, "runs compare " .. ids[1] .. " --dir " .. quote(root))
  T.eq(c2, 2); T.ok(e2:find("two runs or more"), e2)
end)

T.test("runs gc deletes failed / killed / old runs, never running ones; --dry-run deletes nothing", function()
  local root = T.tmpdir()
  local ids = make_runs(root)
  local open = track.start { experiment = "e", dir = root, source = false } -- running, this process is alive
  local _, err, code = moonlab(root, "runs gc --dir " .. quote(root))
  T.eq(code, 2); T.ok(err:find("deletes nothing unless told what"), err)
  local out = moonlab(root, "runs gc --failed --dry-run --dir " .. quote(root))
  T.ok(out:find("would delete " .. ids[3], 1, true), out)
  T.eq(lfs.attributes(root .. "/e/" .. ids[3], "mode"), "directory")
  out = moonlab(root, "runs gc --failed --dir " .. quote(root))
  T.ok(out:find("1 run%(s%) deleted"), out)
  T.eq(lfs.attributes(root .. "/e/" .. ids[3], "mode"), nil)
  out = moonlab(root, "runs gc e --older-than 0s --dir " .. quote(root))
  T.ok(out:find("2 run%(s%) deleted"), out)
  T.eq(#track.list(root, "e"), 1)
  T.eq(track.list(root, "e")[1].id, open.id)
  open:finish()
  local _, e2, c2 = moonlab(root, "runs gc --older-than soon --dir " .. quote(root))
  T.eq(c2, 2); T.ok(e2:find("expected a duration"), e2)
end)

T.test("rerun re-executes the recorded script copy with its params and seed and reports whether metrics match", function()
  local dir = T.tmpdir()
  T.write_file(dir .. "/rec.lua", [[
return { params = { n = 3, noise = false },
  run = function(p)
    local x = ml.randn(50):sum():item() -- drawn from the recorded seed
    return { score = p.n * 2 + x, jitter = p.noise and os.clock() + os.time() or 0 }
  end }
]])
  local _, err, code = moonlab(dir, "rec.lua n=5")
  T.eq(code, 0, err)
  local first = track.list(dir .. "/runs")[1]
  local out, err2, code2 = moonlab(dir, "rerun " .. first.id)
  T.eq(code2, 0, out .. err2)
  T.ok(out:find("score%s+%S+%s+%S+%s+exact"), out)
  T.ok(out:find("the rerun reproduces the run", 1, true), out)
  local again = track.list(dir .. "/runs")[1]
  T.eq(again.tags.rerun_of, first.id)
  local rec = track.read(again.dir)
  T.eq(rec.params.given.n, 5)
  T.eq(rec.final.score, track.read(first.dir).final.score)
  -- a metric that changes from run to run
  moonlab(dir, "rec.lua noise=true")
  local noisy = track.list(dir .. "/runs")[1]
  local out3, _, code3 = moonlab(dir, "rerun " .. noisy.id)
  T.eq(code3, 1, out3); T.ok(out3:find("jitter.*DIFFERS"), out3)
  local out4, _, code4 = moonlab(dir, "rerun " .. noisy.id .. " --rtol 10")
  T.eq(code4, 0, out4); T.ok(out4:find("within tolerance"), out4)
  local _, e5, c5 = moonlab(dir, "rerun nosuchrun")
  T.eq(c5, 2); T.ok(e5:find("no run 'nosuchrun'"), e5)
end)

-- "key: value" lines of a meta.yaml (the flat YAML MLflow's FileStore writes)
local function yaml(path)
  local t = {}
  for line in io.lines(path) do
    local k, v = line:match("^([%w_]+): (.*)$")
    if k then t[k] = v:match("^'(.*)'$") or v end
  end
  return t
end

T.test("runs export --mlflow writes MLflow's file-store layout: experiment and run meta.yaml, metrics, params, tags, artifacts", function()
  local root = T.tmpdir()
  local ids = make_runs(root)
  local run1 = track.read(root .. "/e/" .. ids[1])
  T.write_file(run1.dir .. "/artifacts/model.txt", "weights")
  local out_dir = T.tmpdir() .. "/mlruns"
  local out, err, code = moonlab(root, "runs export --mlflow " .. quote(out_dir) .. " --dir " .. quote(root))
  T.eq(code, 0, err)
  T.ok(out:find("exported 7 run%(s%) of 2 experiment%(s%)"), out)
  T.ok(out:find("MLFLOW_ALLOW_FILE_STORE=true", 1, true), out)
  local exps = {}
  for _, e in ipairs(T.listdir(out_dir)) do
    local m = e ~= ".trash" and yaml(out_dir .. "/" .. e .. "/meta.yaml") or { experiment_id = e, lifecycle_stage = "active",
      artifact_location = "file://" .. out_dir .. "/" .. e, creation_time = 0, last_update_time = 0, name = ".trash" }
    T.eq(m.experiment_id, e); T.eq(m.lifecycle_stage, "active")
    T.eq(m.artifact_location, "file://" .. out_dir .. "/" .. e)
    T.ok(tonumber(m.creation_time) and tonumber(m.last_update_time), "times in ms")
    exps[m.name] = e
  end
  T.ok(exps.e and exps.s, "both experiments")
  T.eq(exps.Default, "0") -- FileStore's default experiment, made since the folder had none
  local status_of = { finished = "3", failed = "4" }
  for i, id in ipairs(ids) do
    local rec = track.read(root .. "/e/" .. id)
    local uuid = track.mlflow_run_uuid(id)
    T.ok(uuid:match("^%x+$") and #uuid == 32, uuid)
    local rdir = out_dir .. "/" .. exps.e .. "/" .. uuid
    local m = yaml(rdir .. "/meta.yaml")
    for _, field in ipairs({ "artifact_uri", "end_time", "entry_point_name", "experiment_id", "lifecycle_stage", "run_id",
      "run_name", "run_uuid", "source_name", "source_type", "source_version", "start_time", "status", "tags", "user_id" }) do
      T.ok(m[field] ~= nil, "run meta.yaml has " .. field)
    end
    T.eq(m.run_id, uuid); T.eq(m.run_uuid, uuid); T.eq(m.experiment_id, exps.e); T.eq(m.run_name, "r" .. i)
    T.eq(m.status, status_of[rec.meta.status]); T.eq(m.lifecycle_stage, "active")
    T.eq(tonumber(m.start_time), math.floor(rec.meta.start_time * 1000 + 0.5))
    T.eq(m.artifact_uri, "file://" .. rdir .. "/artifacts")
    -- metrics: "timestamp_ms value step" per point
    local lines = {}
    for l in io.lines(rdir .. "/metrics/loss") do lines[#lines + 1] = l end
    T.eq(#lines, 2)
    local ts, v, step = lines[2]:match("^(%d+) (%S+) (%d+)$")
    T.ok(ts and tonumber(ts) > 1.6e12, lines[2]); T.eq(tonumber(v), rec.metrics[2].metrics.loss); T.eq(step, "2")
    T.eq(T.read_file(rdir .. "/params/lr"), tostring(rec.params.resolved.lr))
    T.eq(T.read_file(rdir .. "/tags/mlflow.runName"), "r" .. i)
    T.eq(T.read_file(rdir .. "/tags/moonlab.run_id"), id)
  end
  T.eq(T.read_file(out_dir .. "/" .. exps.e .. "/" .. track.mlflow_run_uuid(ids[1]) .. "/artifacts/model.txt"), "weights")
  -- a trial names its parent with mlflow.parentRunId
  local trial
  for _, m in ipairs(track.list(root, "s")) do if m.kind == "trial" then trial = m end end
  local tdir = out_dir .. "/" .. exps.s .. "/" .. track.mlflow_run_uuid(trial.id)
  T.eq(T.read_file(tdir .. "/tags/mlflow.parentRunId"), track.mlflow_run_uuid(trial.parent))
  -- exporting again reuses the experiment ids
  moonlab(root, "runs export --mlflow " .. quote(out_dir) .. " e --dir " .. quote(root))
  T.eq(table.concat(T.listdir(out_dir), " "), ".trash 0 " .. table.concat({ exps.e, exps.s }, " "))
end)
