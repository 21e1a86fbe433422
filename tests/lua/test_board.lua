-- The dashboard: its JSON API called as a handler on run records written by hand per contract C,
-- then (where ml.http, node and chromium are there) the page end to end in headless Chromium.
local ml = require "moonlab"
local lfs = require "lfs"
local app = require "moonlab.board.app"
local json = ml.json

-- A run record as ml.track lays it out (contract C).
local function write_run(root, exp, id, o)
  local dir = root .. "/" .. exp .. "/" .. id
  lfs.mkdir(root); lfs.mkdir(root .. "/" .. exp); lfs.mkdir(dir); lfs.mkdir(dir .. "/artifacts")
  local meta = {
    id = id, name = o.name or id, experiment = exp, parent = o.parent or json.null, status = o.status or "finished",
    start_time = o.start or 1.7e9, end_time = o.status == "running" and json.null or (o.start or 1.7e9) + 10,
    pid = o.pid or 1, host = o.host or "elsewhere", seed = 0, threads = 1, moonlab_version = "test", git = json.null,
    source = json.null, data = json.array(), tags = json.object(o.tags or {}), command = json.array(), kind = o.kind or "run",
  }
  T.write_file(dir .. "/meta.json", json.encode(meta))
  T.write_file(dir .. "/params.json", json.encode({ given = json.object(o.params or {}), resolved = json.object(o.params or {}) }))
  local lines = {}
  for i, m in ipairs(o.points or {}) do
    lines[#lines + 1] = json.encode({ step = i, time = 1.7e9 + i, metrics = m }) .. "\n"
  end
  T.write_file(dir .. "/metrics.jsonl", table.concat(lines))
  return dir
end

local function curve(n, lr)
  local pts = {}
  for i = 1, n do pts[i] = { loss = 1 / (i * lr * 10 + 1), val_loss = 1.1 / (i * lr * 10 + 1), accuracy = 1 - 0.5 / i } end
  return pts
end

local root, handler
local function get(path, query, headers)
  local status, body, h = handler({ method = "GET", path = path, query = query or {}, headers = headers or {}, body = "" })
  local ok, v = pcall(json.decode, body)
  return status, ok and v or body, h
end

local function setup()
  local base = T.tmpdir()
  root = base .. "/runs"
  write_run(root, "mnist", "20260101-000001-aaaaaa", { name = "lr=0.1", params = { lr = 0.1, depth = 2 }, points = curve(5, 0.1), start = 1.7e9 })
  write_run(root, "mnist", "20260101-000002-bbbbbb", { name = "lr=0.01", params = { lr = 0.01, depth = 3 }, points = curve(8, 0.01), start = 1.7e9 + 20 })
  -- a run whose process is gone on this host: it reads as killed
  local host = (T.read_file("/proc/sys/kernel/hostname") or ""):gsub("%s+$", "")
  write_run(root, "mnist", "20260101-000003-cccccc", { status = "running", pid = 2 ^ 30 // 1, host = host, points = curve(2, 0.1), start = 1.7e9 + 30 })
  -- a search with three trials
  write_run(root, "tune", "20260101-000010-search", { kind = "search", tags = { metric = "val_loss", direction = "minimize" }, start = 1.7e9 + 40 })
  for i, lr in ipairs({ 0.3, 0.03, 0.003 }) do
    write_run(root, "tune", string.format("20260101-00001%d-trial%d", i, i), { kind = "trial", parent = "20260101-000010-search",
      params = { lr = lr, units = 16 * i }, points = curve(3, lr), start = 1.7e9 + 40 + i, tags = { trial = i, state = "complete" } })
  end
  local art = root .. "/mnist/20260101-000001-aaaaaa/artifacts"
  T.write_file(art .. "/curve.png", "\137PNG\r\n\26\n fake")
  lfs.mkdir(art .. "/tables")
  T.write_file(art .. "/tables/report.csv", "a,b\n1,2\n")
  lfs.mkdir(base .. "/models"); lfs.mkdir(base .. "/models/fashion")
  lfs.mkdir(base .. "/models/fashion/1"); lfs.mkdir(base .. "/models/fashion/2")
  T.write_file(base .. "/models/fashion/1/model.safetensors", "x")
  T.write_file(base .. "/models/fashion/2/model.safetensors", "xyz")
  T.write_file(base .. "/models/fashion/2/meta.json", '{"metrics": {"accuracy": 0.88}}')
  T.write_file(base .. "/secret.txt", "do not serve")
  handler = app.init({ root = root })
  return base
end
local base = setup()

T.test("board api: experiments and runs, newest first, with final metrics and killed status", function()
  local st, exps = get("/api/experiments")
  T.eq(st, 200)
  T.eq(#exps, 2); T.eq(exps[1].name, "mnist"); T.eq(exps[1].runs, 3); T.eq(exps[2].runs, 4)
  local _, runs = get("/api/runs", { experiment = "mnist" })
  T.eq(#runs, 3)
  T.eq(runs[1].id, "20260101-000003-cccccc"); T.eq(runs[1].status, "killed")
  T.eq(runs[3].name, "lr=0.1"); T.eq(runs[3].params.lr, 0.1); T.eq(runs[3].steps, 5)
  T.near(runs[3].metrics.loss, 1 / (5 * 0.1 * 10 + 1), 1e-12)
  local _, all = get("/api/runs")
  T.eq(#all, 7)
  T.eq((get("/api/runs", { experiment = "nope" })), 404)
  T.eq((get("/api/runs", { experiment = "../x" })), 400)
end)

T.test("board api: one run, its metrics since a line, a cut last line ignored", function()
  local id = "20260101-000002-bbbbbb"
  local st, r = get("/api/runs/" .. id)
  T.eq(st, 200); T.eq(r.meta.name, "lr=0.01"); T.eq(r.params.given.depth, 3)
  T.eq(table.concat(r.metric_keys, ","), "accuracy,loss,val_loss"); T.eq(r.points, 8)
  local _, m = get("/api/runs/" .. id .. "/metrics", { since = "0" })
  T.eq(#m.points, 8); T.eq(m.next, 8); T.eq(m.points[1].step, 1); T.eq(m.status, "finished")
  local _, m5 = get("/api/runs/" .. id .. "/metrics", { since = "5" })
  T.eq(#m5.points, 3); T.eq(m5.points[1].step, 6); T.eq(m5.next, 8)
  -- a run that grows: a complete line and a cut one
  local f = io.open(root .. "/mnist/" .. id .. "/metrics.jsonl", "ab")
  f:write('{"step": 9, "time": 1.0, "metrics": {"loss": 0.01}}\n{"step": 10, "ti')
  f:close()
  local _, m8 = get("/api/runs/" .. id .. "/metrics", { since = "8" })
  T.eq(#m8.points, 1); T.eq(m8.points[1].step, 9); T.eq(m8.next, 9)
  f = io.open(root .. "/mnist/" .. id .. "/metrics.jsonl", "ab")
  f:write('me": 2.0, "metrics": {"loss": 0.005}}\n')
  f:close()
  local _, m9 = get("/api/runs/" .. id .. "/metrics", { since = "9" })
  T.eq(#m9.points, 1); T.eq(m9.points[1].metrics.loss, 0.005); T.eq(m9.next, 10)
  local _, runs = get("/api/runs", { experiment = "mnist" })
  for _, r2 in ipairs(runs) do if r2.id == id then T.eq(r2.metrics.loss, 0.005); T.eq(r2.steps, 10) end end
  T.eq((get("/api/runs/" .. id .. "/metrics", { since = "-1" })), 400)
  T.eq((get("/api/runs/nope")), 404)
  T.eq((get("/api/runs/..")), 400)
end)

T.test("board api: a long per-batch log read from any line (marks every 256 lines), blank lines skipped", function()
  local pts = {}
  for i = 1, 700 do pts[i] = { ["batch/loss"] = i / 1000 } end
  local dir = write_run(root, "long", "20260101-000100-long00", { points = pts })
  local f = io.open(dir .. "/metrics.jsonl", "ab"); f:write("\n  \n"); f:close()
  for _, since in ipairs({ 0, 1, 255, 256, 257, 511, 512, 699, 700 }) do
    local _, m = get("/api/runs/20260101-000100-long00/metrics", { since = tostring(since) })
    T.eq(#m.points, 700 - since); T.eq(m.next, 700)
    if since < 700 then T.eq(m.points[1].step, since + 1); T.eq(m.points[#m.points].metrics["batch/loss"], 0.7) end
  end
  local _, r = get("/api/runs/20260101-000100-long00")
  T.eq(r.points, 700); T.eq(r.steps, 700)
end)

T.test("board api: max_points thins a long curve to first, last and per-bucket min/max; short curves stay whole", function()
  -- 100000 per-batch points with a spike up and one down, and an epoch metric every 1000 lines
  local id, n = "20260101-000200-thin00", 100000
  local dir = write_run(root, "long", id, {})
  local lines = {}
  local want_min, want_max = math.huge, -math.huge
  for i = 1, n do
    local v = 1 / (1 + i / 1000) + 0.01 * math.sin(i)
    if i == 54321 then v = 7 elseif i == 77777 then v = -3 end
    want_min, want_max = math.min(want_min, v), math.max(want_max, v)
    lines[i] = string.format('{"step":%d,"time":%d,"metrics":{"batch/loss":%.17g%s}}\n', i, 1.7e9 + i, v,
      i % 1000 == 0 and string.format(',"val_loss":%.17g', 1 / i) or "")
  end
  T.write_file(dir .. "/metrics.jsonl", table.concat(lines))
  local full_bytes = #table.concat(lines)
  local function summary(m)
    local nb, nv, lo, hi, steps = 0, 0, math.huge, -math.huge, {}
    for _, p in ipairs(m.points) do
      local v = p.metrics["batch/loss"]
      if v then nb = nb + 1; lo = math.min(lo, v); hi = math.max(hi, v) end
      if p.metrics.val_loss then nv = nv + 1 end
      steps[#steps + 1] = p.step
    end
    return { batch = nb, val = nv, lo = lo, hi = hi, first = steps[1], last = steps[#steps], steps = steps }
  end
  local st, m, _ = get("/api/runs/" .. id .. "/metrics", { since = "0", max_points = "500" })
  T.eq(st, 200); T.eq(m.next, n); T.eq(m.total, n); T.eq(m.thinned, true)
  local s = summary(m)
  T.ok(s.batch <= 500 and s.batch >= 450, "batch/loss kept " .. s.batch)
  T.eq(s.val, 100) -- 100 values: under max_points, every one kept
  T.eq(s.lo, want_min); T.eq(s.hi, want_max); T.eq(s.first, 1); T.eq(s.last, n)
  for i = 2, #s.steps do T.ok(s.steps[i] > s.steps[i - 1], "points in line order") end
  local _, body = handler({ method = "GET", path = "/api/runs/" .. id .. "/metrics", query = { since = "0", max_points = "500" }, headers = {} })
  T.ok(#body * 50 < full_bytes, string.format("the reply is %d bytes for a %d-byte log", #body, full_bytes))
  -- the default is api.MAX_POINTS per metric; a poll after the last line gets only the new lines, whole
  local _, md = get("/api/runs/" .. id .. "/metrics", { since = "0" })
  local sd = summary(md)
  T.ok(sd.batch <= 2000 and sd.batch > 1500, "default kept " .. sd.batch); T.eq(sd.hi, want_max)
  local _, tail = get("/api/runs/" .. id .. "/metrics", { since = tostring(n - 10), max_points = "500" })
  T.eq(#tail.points, 10); T.eq(tail.thinned, false); T.eq(tail.points[1].step, n - 9)
  -- max_points = 0: every point; a short curve is never thinned
  local _, short = get("/api/runs/20260101-000002-bbbbbb/metrics", { since = "0", max_points = "4" })
  T.eq(short.thinned, true); T.ok(#short.points <= 4 * 3, "three metrics, 4 points each at most")
  local _, all = get("/api/runs/20260101-000002-bbbbbb/metrics", { since = "0", max_points = "0" })
  T.eq(all.thinned, false); T.eq(#all.points, all.total)
  for _, bad in ipairs({ "x", "3", "-1", "2.5" }) do
    local code, e = get("/api/runs/" .. id .. "/metrics", { since = "0", max_points = bad })
    T.eq(code, 400); T.ok(e.error:find("max_points must be 0", 1, true), e.error)
  end
end)

T.test("board api: artifacts listed and served with their type; traversal refused", function()
  local id = "20260101-000001-aaaaaa"
  local _, arts = get("/api/runs/" .. id .. "/artifacts")
  T.eq(#arts, 2); T.eq(arts[1].name, "curve.png"); T.eq(arts[1].image, true); T.eq(arts[2].name, "tables/report.csv")
  local st, body, h = handler({ method = "GET", path = "/artifacts/" .. id .. "/curve.png", query = {}, headers = {} })
  T.eq(st, 200); T.eq(h["content-type"], "image/png"); T.eq(body:sub(1, 4), "\137PNG")
  local st2, body2, h2 = handler({ method = "GET", path = "/artifacts/" .. id .. "/tables/report.csv", query = {}, headers = {} })
  T.eq(st2, 200); T.eq(body2, "a,b\n1,2\n"); T.ok(h2["content-type"]:find("text/csv", 1, true))
  local st3 = handler({ method = "GET", path = "/artifacts/" .. id .. "/tables/report.csv", query = {}, headers = { ["if-none-match"] = h2.etag } })
  T.eq(st3, 304)
  for _, bad in ipairs({ "/../../../secret.txt", "/..%2F..%2F..%2Fsecret.txt", "/%2e%2e/%2e%2e/%2e%2e/secret.txt" }) do
    local s = handler({ method = "GET", path = "/artifacts/" .. id .. bad, query = {}, headers = {} })
    T.ok(s == 400 or s == 404, bad .. " answered " .. s)
  end
  T.eq((handler({ method = "GET", path = "/artifacts/" .. id .. "/missing.png", query = {}, headers = {} })), 404)
  T.eq((handler({ method = "GET", path = "/artifacts/..%2F..%2Fsecret.txt/x", query = {}, headers = {} })), 400)
end)

T.test("board api: a search's trials with value, state and the best", function()
  local _, s = get("/api/runs/20260101-000010-search/trials")
  T.eq(#s.trials, 3); T.eq(s.direction, "minimize"); T.eq(s.metric, "val_loss")
  T.eq(table.concat(s.param_names, ","), "lr,units")
  T.eq(s.trials[1].number, 1); T.eq(s.trials[1].state, "complete"); T.eq(s.trials[1].params.lr, 0.3)
  T.near(s.trials[1].value, 1.1 / (3 * 0.3 * 10 + 1), 1e-12)
  T.eq(s.best, "20260101-000011-trial1")
  local _, r = get("/api/runs/20260101-000010-search")
  T.eq(r.trials, 3); T.eq(#r.children, 0)
end)

T.test("board api: model versions beside the runs root, newest first", function()
  local _, m = get("/api/models")
  T.eq(#m, 1); T.eq(m[1].name, "fashion"); T.eq(#m[1].versions, 2)
  T.eq(m[1].versions[1].version, 2); T.eq(m[1].versions[1].meta.metrics.accuracy, 0.88); T.eq(m[1].versions[1].bytes, 3 + #'{"metrics": {"accuracy": 0.88}}')
  local st, body = handler({ method = "GET", path = "/models/fashion/2/model.safetensors", query = {}, headers = {} })
  T.eq(st, 200); T.eq(body, "xyz")
  T.eq((handler({ method = "GET", path = "/models/fashion/2/../../../secret.txt", query = {}, headers = {} })), 400)
end)

T.test("board app: the page and static files with types and cache headers; unknown routes and methods", function()
  local st, body, h = handler({ method = "GET", path = "/", query = {}, headers = {} })
  T.eq(st, 200); T.ok(h["content-type"]:find("text/html", 1, true)); T.ok(body:find("board.js", 1, true))
  local st2, _, h2 = handler({ method = "GET", path = "/static/board.js", query = {}, headers = {} })
  T.eq(st2, 200); T.ok(h2["content-type"]:find("javascript", 1, true)); T.eq(h2["cache-control"], "no-cache")
  local st3, _, h3 = handler({ method = "GET", path = "/static/vendor/uPlot.iife.min.js", query = {}, headers = {} })
  T.eq(st3, 200); T.ok(h3["cache-control"]:find("max-age", 1, true))
  T.eq((handler({ method = "GET", path = "/static/../app.lua", query = {}, headers = {} })), 400)
  T.eq((handler({ method = "GET", path = "/static/nope.js", query = {}, headers = {} })), 404)
  local s4, b4 = get("/api/nothing")
  T.eq(s4, 404); T.ok(b4.error:find("no API route", 1, true))
  T.eq((handler({ method = "POST", path = "/api/runs", query = {}, headers = {}, body = "" })), 405)
end)

T.test("board api: a missing runs folder lists nothing; a bad meta.json is skipped", function()
  local h = app.init({ root = base .. "/no-such" })
  local st, body = h({ method = "GET", path = "/api/runs", query = {}, headers = {} })
  T.eq(st, 200); T.eq(body, "[]")
  lfs.mkdir(root .. "/mnist/20260101-000009-broken")
  T.write_file(root .. "/mnist/20260101-000009-broken/meta.json", "{not json")
  local _, runs = get("/api/runs", { experiment = "mnist" })
  T.eq(#runs, 3)
end)

T.test("board app: a token is needed as a Bearer header, ?token= (answered with a cookie) or that cookie", function()
  local h = app.init({ root = root, token = "s3cret" })
  local function call(headers, query)
    return h({ method = "GET", path = "/api/experiments", query = query or {}, headers = headers or {}, body = "" })
  end
  local st, body = call()
  T.eq(st, 401); T.ok(body:find("needs its token", 1, true))
  T.eq((call({ authorization = "Bearer wrong" })), 401)
  T.eq((call({ authorization = "Bearer s3cret" })), 200)
  local st2, _, hd = call({}, { token = "s3cret" })
  T.eq(st2, 200); T.ok(hd["set-cookie"]:find("moonlab_board_token=s3cret", 1, true) and hd["set-cookie"]:find("HttpOnly", 1, true))
  T.eq((call({ cookie = "a=1; moonlab_board_token=s3cret" })), 200)
  T.eq((call({ cookie = "moonlab_board_token=s3cre" })), 401)
end)

T.test("board over HTTP (ml.http): JSON, types, traversal and the token through the real server", function()
  if not pcall(function() return ml.http.serve end) then print("  skip: ml.http is not in this build") return end
  local srv = ml.board.serve { dir = root, port = 0 }
  local ok, err = pcall(function()
    local st, body, h = ml.http.request { url = srv.url .. "/api/runs?experiment=mnist" }
    T.eq(st, 200); T.ok(h["content-type"]:find("application/json", 1, true)); T.eq(#json.decode(body), 3)
    local st2, body2, h2 = ml.http.request { url = srv.url .. "/artifacts/20260101-000001-aaaaaa/curve.png" }
    T.eq(st2, 200); T.eq(h2["content-type"], "image/png"); T.eq(body2:sub(1, 4), "\137PNG")
    local st3 = ml.http.request { url = srv.url .. "/artifacts/20260101-000001-aaaaaa/..%2F..%2F..%2Fsecret.txt" }
    T.ok(st3 == 400 or st3 == 404, "traversal answered " .. st3)
    local st4, body4 = ml.http.request { url = srv.url .. "/" }
    T.eq(st4, 200); T.ok(body4:find("board.js", 1, true))
  end)
  srv:stop()
  if not ok then error(err, 0) end
  local tsrv = ml.board.serve { dir = root, port = 0, token = "t0k" }
  local st, _ = ml.http.request { url = tsrv.url .. "/api/runs" }
  local st2 = ml.http.request { url = tsrv.url .. "/api/runs", headers = { Authorization = "Bearer t0k" } }
  tsrv:stop()
  T.eq(st, 401); T.eq(st2, 200)
end)

T.test("board.serve and moonlab board: bad options and folders are clear errors", function()
  T.raises(function() ml.board.serve { prot = 1 } end, "unknown option 'prot'")
  T.raises(function() ml.board.serve { dir = base .. "/nothing-here" } end, "is not a folder of run records")
  T.raises(function() ml.board.serve { dir = root, port = 70000 } end, "port must be at most 65535")
  local function cli(args)
    local p = io.popen(T.quote(T.BIN) .. " board " .. args .. " 2>&1; echo \"rc=$?\"")
    local out = p:read("a")
    p:close()
    return out
  end
  local out = cli("--port x " .. T.quote(root))
  T.ok(out:find("--port must be an integer", 1, true) and out:find("rc=2", 1, true), out)
  out = cli(T.quote(base .. "/nothing-here"))
  T.ok(out:find("is not a folder of run records", 1, true) and out:find("rc=1", 1, true), out)
  out = cli("--bogus")
  T.ok(out:find("unknown option '--bogus'", 1, true) and out:find("rc=2", 1, true), out)
  out = cli("--help")
  T.ok(out:find("usage: moonlab board", 1, true) and out:find("rc=0", 1, true), out)
end)

-- ---- end to end: ml.track's records of real fits, the board on a free port, headless Chromium --------

local function which(cmd)
  local p = io.popen("command -v " .. cmd .. " 2>/dev/null")
  local out = p:read("l")
  p:close()
  return out
end

T.test("board in headless Chromium: runs table, curves, live update, comparison, search view, models, a thinned long curve, screenshots", function()
  local has_http = pcall(function() return ml.http.serve end)
  local node, chromium = which("node"), os.getenv("CHROMIUM") or which("chromium")
  if not has_http then print("  skip: ml.http is not in this build (the board's browser test needs its server)") return end
  if not node or not chromium then
    print("  skip: the browser test needs node and chromium (" .. (node and "" or "node missing ") .. (chromium and "" or "chromium missing") .. ")")
    return
  end
  package.path = "tests/board/?.lua;" .. package.path
  local R = require "runs"
  local set = R.tracked_set(T.tmpdir())
  local srv = ml.board.serve { dir = set.root, port = 0 }
  local shots = os.getenv("MOONLAB_BOARD_SHOTS") or T.tmpname("")
  local cmd = string.format("%s tests/board/board_test.mjs --url %s --chromium %s --running %s --runs %s --search %s --points %d --shots %s "
    .. "--model %s:%d:%d --long %s:%d --timeout 60 2>&1",
    T.quote(node), srv.url, T.quote(chromium), T.quote(set.running), table.concat(set.ids, ","), set.search_id,
    #set.history.loss, T.quote(shots), set.model.name, set.model.versions, set.model.bytes, set.long_id, set.long_points)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  set.live:finish()
  srv:stop()
  for line in out:gmatch("[^\n]+") do print("  " .. line) end
  T.ok(out:find("\nPASS\n", 1, true) or out:sub(1, 5) == "PASS\n", "the browser test failed:\n" .. out)
  for _, name in ipairs({ "compare", "models", "long" }) do
    local png = T.read_file(shots .. "-" .. name .. ".png")
    T.ok(png and png:sub(2, 4) == "PNG", "a screenshot of " .. name)
  end
end)
