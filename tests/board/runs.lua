-- Run records written by hand exactly as contract C lays them out (ml.track's files), for the
-- dashboard's tests: R.write_run(root, experiment, id, opts) and R.browser_set(base) (the set the
-- browser test loads: two finished runs, a running one, a search with trials, artifacts, models).
local ml = require "moonlab"
local lfs = require "lfs"
local json = ml.json

local R = {}

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

function R.hostname()
  local f = io.open("/proc/sys/kernel/hostname")
  local s = f and f:read("a") or ""
  if f then f:close() end
  return (s:gsub("%s+$", ""))
end

-- opts: name, parent, status, start, pid, host, params, points (list of metric tables), tags, kind
function R.write_run(root, exp, id, o)
  local dir = root .. "/" .. exp .. "/" .. id
  lfs.mkdir(root); lfs.mkdir(root .. "/" .. exp); lfs.mkdir(dir); lfs.mkdir(dir .. "/artifacts")
  local start = o.start or 1.7e9
  local meta = {
    id = id, name = o.name or id, experiment = exp, parent = o.parent or json.null, status = o.status or "finished",
    start_time = start, end_time = (o.status or "finished") == "running" and json.null or start + #(o.points or {}) * 1.5 + 0.5,
    pid = o.pid or 1, host = o.host or "elsewhere", seed = 0, threads = 1, moonlab_version = "test", git = json.null,
    source = json.null, data = json.array(), tags = json.object(o.tags or {}), command = json.array(o.command or {}),
    kind = o.kind or "run",
  }
  write(dir .. "/meta.json", json.encode(meta))
  write(dir .. "/params.json", json.encode({ given = json.object(o.params or {}), resolved = json.object(o.params or {}) }))
  local lines = {}
  for i, m in ipairs(o.points or {}) do
    lines[#lines + 1] = json.encode({ step = i, time = start + i * 1.5, metrics = m }) .. "\n"
  end
  write(dir .. "/metrics.jsonl", table.concat(lines))
  return dir
end

-- A learning curve of n epochs: loss falling at rate lr, validation a little above, accuracy rising.
function R.curve(n, lr, from)
  local pts = {}
  for i = from or 1, n do
    pts[#pts + 1] = { loss = 2.3 / (1 + i * lr * 4), val_loss = 2.4 / (1 + i * lr * 3.6) + 0.02 * math.sin(i),
      accuracy = 1 - 0.9 / (1 + i * lr * 4), val_accuracy = 1 - 0.92 / (1 + i * lr * 3.6) }
  end
  return pts
end

-- The browser test's set; returns {root, running = dir of the running run, ids = {...}}.
function R.browser_set(base)
  local root = base .. "/runs"
  local out = { root = root, ids = {} }
  local t0 = os.time() - 3600
  local runs = {
    { id = "20260102-090000-a1b2c3", name = "mlp lr=0.1", params = { lr = 0.1, hidden = 128, optimizer = "adam", epochs = 12 }, n = 12 },
    { id = "20260102-091500-d4e5f6", name = "mlp lr=0.03", params = { lr = 0.03, hidden = 256, optimizer = "adam", epochs = 12 }, n = 12 },
    { id = "20260102-093000-0f1e2d", name = "mlp sgd", params = { lr = 0.3, hidden = 128, optimizer = "sgd", epochs = 8 }, n = 8, status = "failed" },
  }
  for i, r in ipairs(runs) do
    R.write_run(root, "fashion", r.id, { name = r.name, params = r.params, points = R.curve(r.n, r.params.lr), status = r.status,
      start = t0 + i * 600, tags = { model = "mlp" }, command = { "moonlab", "examples/fashion_mlp.lua" } })
    out.ids[#out.ids + 1] = r.id
  end
  -- the live one: its pid is this process, so it reads as running while the test lasts
  out.running_id = "20260102-100000-live01"
  out.running = R.write_run(root, "fashion", out.running_id, { name = "mlp live", status = "running", pid = ml._proc.getpid(),
    host = R.hostname(), params = { lr = 0.05, hidden = 64, optimizer = "adam", epochs = 40 }, points = R.curve(5, 0.05), start = os.time() - 60 })
  -- a search and its trials
  local sid = "20260102-110000-search"
  R.write_run(root, "tuning", sid, { name = "tpe search", kind = "search", tags = { metric = "val_loss", direction = "minimize" }, start = t0 + 3000 })
  local space = { { 0.3, 32, "relu" }, { 0.1, 64, "relu" }, { 0.03, 128, "gelu" }, { 0.01, 256, "gelu" }, { 0.003, 64, "tanh" },
    { 0.05, 128, "relu" }, { 0.02, 256, "gelu" }, { 0.001, 32, "tanh" } }
  for i, p in ipairs(space) do
    R.write_run(root, "tuning", string.format("20260102-1100%02d-trial%d", i, i), { kind = "trial", parent = sid,
      params = { lr = p[1], units = p[2], activation = p[3] }, points = R.curve(4, p[1] * (p[3] == "gelu" and 1.5 or 1)),
      start = t0 + 3000 + i, tags = { trial = i, state = "complete" } })
  end
  out.search_id = sid
  -- an artifact image and a table
  local art = root .. "/fashion/" .. runs[1].id .. "/artifacts"
  local ramp = ml.arange(0, 160):float():div(160):reshape(1, 1, 160)
  local img = ml.zeros(3, 96, 160) + ramp * ml.tensor({ 0.35, 0.55, 0.95 }):reshape(3, 1, 1)
  ml.image.save_png(img, art .. "/gradient.png")
  write(art .. "/report.csv", "class,precision,recall\n0,0.91,0.88\n1,0.97,0.98\n")
  lfs.mkdir(base .. "/models"); lfs.mkdir(base .. "/models/fashion-mlp")
  for v = 1, 2 do
    local d = base .. "/models/fashion-mlp/" .. v
    lfs.mkdir(d)
    write(d .. "/model.safetensors", string.rep("x", 1000 * v))
    write(d .. "/meta.json", json.encode({ metrics = { accuracy = 0.85 + v * 0.01 }, run = runs[v].id }))
  end
  return out
end

-- The same kind of set made by ml.track itself: real short fits (two blobs, a small MLP) with
-- tracking, a tracked random search, and a run left open (running, this process) for the live check.
-- Returns {root, ids = {finished fits}, epochs, running_id, running, search_id, model = {name, versions, bytes},
-- long_id, long_points (a run of one long per-batch curve with a spike at step 12345)}.
function R.tracked_set(base)
  local nn = ml.nn
  local root = base .. "/runs"
  local out = { root = root, ids = {}, epochs = 6 }
  ml.seed(3)
  local n = 160
  local labels = {}
  for i = 1, n do labels[i] = (i % 2) + 1 end
  local y = ml.tensor(labels)
  local X = ml.randn(n, 4) + y:float():reshape(n, 1) * ml.tensor({ 1.5, 0, 0, 0 }):reshape(1, 4)
  local function fit(name, p)
    local run = ml.track.start { experiment = "blobs", name = name, params = p, dir = root, source = false, tags = { model = "mlp" } }
    local model = nn.Sequential { nn.Linear(4, p.hidden), nn.ReLU(), nn.Linear(p.hidden, 2) }
    local opt = p.optimizer == "sgd" and ml.optim.SGD(model:parameters(), { lr = p.lr, momentum = 0.9 })
      or ml.optim.Adam(model:parameters(), { lr = p.lr })
    model:compile { optimizer = opt, loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
    local h = model:fit(X, y, { epochs = out.epochs, batch_size = 32, validation_split = 0.25, verbose = 0 })
    run:finish()
    out.ids[#out.ids + 1] = run.id
    return h, model, run.id
  end
  -- the first two fits saved as versions 1 and 2 of a model (models/NAME/N/ beside the runs, as moonlab promote lays out)
  local models = base .. "/models/blobs-mlp"
  local function save_version(v, model, h, id)
    lfs.mkdir(base .. "/models"); lfs.mkdir(models); lfs.mkdir(models .. "/" .. v)
    model:save(models .. "/" .. v .. "/model.safetensors")
    write(models .. "/" .. v .. "/meta.json", json.encode({ metrics = { val_accuracy = h.val_accuracy[#h.val_accuracy] }, run = id }))
  end
  local h1, m1, id1 = fit("mlp lr=0.05", { lr = 0.05, hidden = 16, optimizer = "adam" })
  out.history = h1
  save_version(1, m1, h1, id1)
  local h2, m2, id2 = fit("mlp lr=0.01", { lr = 0.01, hidden = 32, optimizer = "adam" })
  save_version(2, m2, h2, id2)
  out.model = { name = "blobs-mlp", versions = 2, bytes = lfs.attributes(models .. "/2/model.safetensors", "size") }
  fit("mlp sgd", { lr = 0.1, hidden = 16, optimizer = "sgd" })
  -- a long per-batch curve (what log_every_batch = 1 leaves over a long fit), thinned by the server
  local long = ml.track.start { experiment = "long", name = "per-batch", dir = root, source = false }
  out.long_points = 20000
  for i = 1, out.long_points do
    long:log({ ["batch/loss"] = 1 / (1 + i / 500) + (i == 12345 and 5 or 0) }, i)
  end
  long:finish()
  out.long_id = long.id
  -- a tracked search: its parent run and one child run per trial
  local outer = ml.track.start { experiment = "tuning", name = "tune", dir = root, source = false }
  local search = ml.search
  search.run(function(p) return (math.log(p.lr, 10) + 2) ^ 2 + (p.units - 48) ^ 2 / 1000 + (p.act == "relu" and 0 or 0.3) end,
    { lr = search.loguniform(1e-4, 1), units = search.int(8, 128), act = search.choice({ "relu", "tanh" }) },
    { method = "random", trials = 8, seed = 1, verbose = false, track = outer })
  outer:finish()
  for _, m in ipairs(ml.track.list(root, "tuning")) do
    if m.kind == "search" then out.search_id = m.id end
  end
  -- the live run stays open while the browser test appends to it
  local live = ml.track.start { experiment = "blobs", name = "mlp live", dir = root, source = false,
    params = { lr = 0.02, hidden = 8, optimizer = "adam" } }
  for i = 1, 4 do live:log({ loss = 1 / (i + 1), val_loss = 1.1 / (i + 1) }, i) end
  out.live, out.running_id, out.running = live, live.id, live.dir
  return out
end

return R
