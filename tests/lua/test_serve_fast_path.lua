-- The model server's C predict path (serve/fast_path.lua, runtime/net/predict.c): the
-- same bytes, statuses, metrics and drift sums as the Lua path (ml.serve{fast_path =
-- false}) for every kind of body, with and without batching, across a version switch.
package.path = "tests/lua/?.lua;" .. package.path
local H = require "serve_helpers"
local bundle = require "moonlab.serve.bundle"
local lfs = require "lfs"
local raw = ml._http
local nn = ml.nn
local fmt = string.format

local X = H.iris()

-- the kinds of network the C path runs: every activation it knows, a Softmax tail, a regressor
local function models()
  ml.seed(3)
  local all_kinds = nn.Sequential { nn.Flatten(), nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 16), nn.Tanh(),
    nn.Linear(16, 8), nn.LeakyReLU(0.1), nn.Linear(8, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 3) }
  local softmax = nn.Sequential { nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax() }
  local regressor = nn.Sequential { nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1) }
  local names, y, ynames = { "setosa", "versicolor", "virginica" }, {}, {}
  for i = 1, X:size(1) do y[i] = (i % 3 == 0) and 2 or (i % 5 == 0 and 1 or 0); ynames[i] = names[y[i] + 1] end
  y = ml.tensor(y, { dtype = "int64" })
  local dir = T.tmpdir()
  local files = {}
  for name, spec in pairs({
    kinds = { model = all_kinds, train = X, y = ynames, classes = names },
    soft = { model = softmax, train = X, y = y, classes = { 0, 1, 2 } },
    reg = { model = regressor, train = X },
  }) do
    spec.name = name
    files[name] = dir .. "/" .. name .. ".safetensors"
    bundle.save(files[name], spec)
  end
  return files
end
local files = models()

local function start(file, opts)
  opts = opts or {}
  opts.model, opts.port, opts.quiet = file, 0, true
  opts.workers = opts.workers or 1
  return ml.serve(opts)
end

local function post(srv, path, body)
  local ok, status, text = pcall(ml.http.request, { method = "POST", url = srv.url .. path, body = body, timeout = 10 })
  assert(ok, status)
  return status, text
end

local function metric(srv, name, labels)
  local m = H.prometheus(select(2, ml.http.request(srv.url .. "/metrics")))
  local total = 0
  for _, s in ipairs(m[name] or {}) do
    local match = true
    for k, v in pairs(labels or {}) do if s.labels[k] ~= v then match = false end end
    if match then total = total + s.value end
  end
  return total
end

-- bodies of every shape: plain rows, one flat row, instances, and the ones the C path declines
local function bodies(rng_seed)
  ml.seed(rng_seed)
  local out = {}
  for i = 1, 30 do
    local n = (i % 5) + 1
    local rows = (ml.randn(n, 4) * 3):tolist()
    out[#out + 1] = ml.json.encode({ inputs = rows })
  end
  out[#out + 1] = ml.json.encode({ instances = X:narrow(1, 1, 3):tolist() })
  out[#out + 1] = ml.json.encode({ inputs = X[5]:tolist() })
  out[#out + 1] = '  {"inputs" : [ [1 , 2, 3, 4.5e0] ] }  '
  out[#out + 1] = ml.json.encode({ inputs = X:narrow(1, 1, 70):tolist() }) -- more rows than the C plan
  out[#out + 1] = ml.json.encode({ inputs = X:narrow(1, 1, 2):tolist(), probabilities = true })
  out[#out + 1] = '{"inputs": [[1, 2, 3]]}'
  out[#out + 1] = '{"inputs": [[1, 2, 3, 1e39]]}'
  out[#out + 1] = '{"inputs": [[1, 2, 3, 4]], "inputs": [[1, 2, 3, 4]]}'
  out[#out + 1] = '{"inputs": [[1, 2, 3, 4]'
  out[#out + 1] = '{"inputs": []}'
  out[#out + 1] = '{"inptus": [[1, 2, 3, 4]]}'
  out[#out + 1] = '{"inputs": [[1, 2, 3, "4"]]}'
  out[#out + 1] = '{"inputs": [[1e-45, -0.0, 3.4e38, -3.4e38]]}'
  return out
end

T.test("the C path answers every body as the Lua path does, byte for byte", function()
  for name, file in pairs(files) do
    local fast, slow = start(file), start(file, { fast_path = false })
    for _, path in ipairs({ "/predict", "/v1/models/" .. name .. ":predict", "/v1/models/" .. name .. "/versions/1:predict" }) do
      for i, body in ipairs(bodies(7)) do
        local s1, b1 = post(fast, path, body)
        local s2, b2 = post(slow, path, body)
        T.eq(s1, s2, fmt("%s %s body %d: %s", name, path, i, body:sub(1, 80)))
        T.eq(b1, b2, fmt("%s %s body %d: %s", name, path, i, body:sub(1, 80)))
      end
    end
    -- the C path did answer most of them (the first request of each route installs it)
    local n = metric(fast, "moonlab_serve_fast_path_requests_total")
    T.ok(n >= 60, fmt("%s: the C path answered %d requests", name, n))
    T.eq(metric(slow, "moonlab_serve_fast_path_requests_total"), 0)
    -- the same counts per class and in all, and the same drift sums (flushed by /metrics)
    for _, m in ipairs({ "moonlab_serve_predictions_total", "moonlab_serve_predicted_class_total",
      "moonlab_serve_batch_size_sum", "moonlab_serve_batch_size_count" }) do
      T.eq(metric(fast, m), metric(slow, m), name .. " " .. m)
    end
    local f, s = H.prometheus(select(2, ml.http.request(fast.url .. "/metrics"))),
      H.prometheus(select(2, ml.http.request(slow.url .. "/metrics")))
    local fd, sd = f.moonlab_serve_drift_score or {}, s.moonlab_serve_drift_score or {}
    T.eq(#fd, 4, name .. ": drift scores")
    table.sort(fd, function(a, b) return a.labels.feature < b.labels.feature end)
    table.sort(sd, function(a, b) return a.labels.feature < b.labels.feature end)
    for j = 1, #fd do T.near(fd[j].value, sd[j].value, 1e-9, name .. " drift " .. fd[j].labels.feature) end
    fast:stop(); slow:stop()
  end
end)

-- n connections each send one request before any answer is read: the worker reads them in
-- one turn and the C path batches them
local function burst(srv, body_of, n)
  local fds = {}
  for i = 1, n do fds[i] = assert(raw.raw_connect("127.0.0.1", srv.port, 2)) end
  for i = 1, n do
    local b = body_of(i)
    raw.raw_send(fds[i], fmt("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", #b, b), 2)
  end
  local answers = {}
  for i = 1, n do
    local buf, deadline = "", ml.now() + 10
    while ml.now() < deadline do
      local s = raw.raw_recv(fds[i], 0.05)
      buf = buf .. s
      local e = buf:find("\r\n\r\n", 1, true)
      local len = e and tonumber(buf:sub(1, e):lower():match("content%-length:%s*(%d+)"))
      if len and #buf >= e + 3 + len then
        answers[i] = { tonumber(buf:match("^HTTP/1%.1 (%d+)")), buf:sub(e + 4, e + 3 + len) }
        break
      end
    end
    raw.raw_close(fds[i])
  end
  return answers
end

T.test("batching in C: concurrent requests share forwards and each gets its own rows back", function()
  local fast = start(files.kinds, { max_batch = 16, workers = 2 })
  local slow = start(files.kinds, { fast_path = false })
  post(fast, "/predict", ml.json.encode({ inputs = X:narrow(1, 1, 1):tolist() })) -- installs the route
  local all = bodies(11)
  local function body_of(i) return all[(i - 1) % #all + 1] end
  for round = 1, 5 do
    local got = burst(fast, body_of, 24)
    for i = 1, 24 do
      local s, b = post(slow, "/predict", body_of(i))
      T.ok(got[i], fmt("round %d request %d: no answer", round, i))
      T.eq(got[i][1], s, fmt("round %d request %d", round, i))
      T.eq(got[i][2], b, fmt("round %d request %d: %s", round, i, body_of(i):sub(1, 60)))
    end
  end
  T.eq(metric(fast, "moonlab_serve_predictions_total"), metric(slow, "moonlab_serve_predictions_total") + 1)
  fast:stop(); slow:stop()
end)

T.test("batching in C: the requests that came in while the worker was busy run as one forward", function()
  local fast = start(files.kinds, { max_batch = 16, workers = 1 })
  local one = ml.json.encode({ inputs = X:narrow(1, 1, 1):tolist() })
  post(fast, "/predict", one)
  -- a big request (the Lua path: more rows than the C plan) keeps the one worker busy while 24
  -- one-row requests come in
  local big = ml.json.encode({ inputs = X:index_select(1, (ml.arange(0, 9000) % 150 + 1):to("int64")):tolist() })
  local before = metric(fast, "moonlab_serve_batch_size_count")
  local got = burst(fast, function(i) return i == 1 and big or one end, 25)
  for i = 2, 25 do T.eq(got[i][1], 200, got[i][2]) end
  T.eq(got[1][1], 200)
  local forwards = metric(fast, "moonlab_serve_batch_size_count") - before - 1 -- the big one's
  T.ok(forwards >= 2 and forwards < 24, fmt("24 requests that waited together ran in %d forwards", forwards))
  fast:stop()
end)

T.test("clients that hang up while their batch waits: the others are answered, the server goes on", function()
  local fast = start(files.kinds, { max_batch = 64 })
  local body = ml.json.encode({ inputs = X:narrow(1, 1, 2):tolist() })
  post(fast, "/predict", body)
  for _ = 1, 20 do
    local fds = {}
    for i = 1, 8 do
      fds[i] = assert(raw.raw_connect("127.0.0.1", fast.port, 2))
      raw.raw_send(fds[i], fmt("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", #body, body), 2)
      if i % 2 == 0 then raw.raw_close(fds[i]); fds[i] = nil end
    end
    for i = 1, 8 do if fds[i] then raw.raw_close(fds[i]) end end
  end
  local s, b = post(fast, "/predict", body)
  T.eq(s, 200, b)
  T.eq(#ml.json.decode(b).predictions, 2)
  fast:stop()
end)

T.test("a new version switches the C path too, with no failed request", function()
  local dir = T.tmpdir() .. "/m"
  lfs.mkdir(dir)
  lfs.mkdir(dir .. "/1")
  local m1 = H.save_net(dir .. "/1/model.safetensors", 1, { name = "m" })
  local srv = ml.serve { model = dir, port = 0, quiet = true, workers = 2, poll = 0.05 }
  local rows = X:narrow(1, 1, 5)
  local body = ml.json.encode({ inputs = rows:tolist() })
  local function classes(m)
    local _, c = m:predict(rows):max(2)
    local out = {}
    for i, v in ipairs(c:reshape(-1):tolist()) do out[i] = v - 1 end
    return out
  end
  for _ = 1, 20 do
    local s, b = post(srv, "/predict", body)
    T.eq(s, 200, b)
    T.eq(ml.json.encode(ml.json.decode(b).predictions), ml.json.encode(classes(m1)))
  end
  lfs.mkdir(dir .. "/2")
  local m2 = H.save_net(dir .. "/2/model.safetensors", 2, { name = "m" })
  local deadline, switched = ml.now() + 10, false
  while ml.now() < deadline and not switched do
    srv:poll()
    local s, b = post(srv, "/predict", body)
    T.eq(s, 200, b)
    switched = ml.json.decode(b).version == 2
  end
  T.ok(switched, "version 2 never answered")
  for _ = 1, 20 do
    local s, b = post(srv, "/predict", body)
    local r = ml.json.decode(b)
    T.eq(s, 200, b)
    T.eq(r.version, 2)
    T.eq(ml.json.encode(r.predictions), ml.json.encode(classes(m2)))
  end
  T.ok(metric(srv, "moonlab_serve_fast_path_requests_total", { version = "2" }) > 0, "version 2 never went the C way")
  srv:stop()
end)
