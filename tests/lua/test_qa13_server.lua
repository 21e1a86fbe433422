-- QA of the model server's HTTP core (issue 13): lifecycle, batching under
-- concurrency and hang-ups, slow clients, json_rows against ml.json.decode +
-- ml.tensor. Each test is the regression test of a bug found in review; the
-- clients are raw sockets from this one thread (many connections at once), so
-- the tests need no tool but curl for TLS.
package.path = "tests/lua/?.lua;" .. package.path
local H = require "serve_helpers"
local lfs = require "lfs"
local http, raw = ml.http, ml._http
local APP, ECHO = "tests.lua.apps.qa13", "tests.lua.apps.echo"

local function serve(opts)
  opts.app = opts.app or APP
  opts.port = 0
  if opts.quiet == nil then opts.quiet = true end
  return http.serve(opts)
end

local function have(cmd) return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true end

-- ---- a raw HTTP/1.1 client: many connections, one thread -------------------------------------

local Conn = {}
Conn.__index = Conn
local function connect(port) return setmetatable({ fd = assert(raw.raw_connect("127.0.0.1", port, 2)), buf = "" }, Conn) end
local function request(method, path, body, extra)
  body = body or ""
  return ("%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s"):format(method, path, extra or "", #body, body)
end
function Conn:send(s) return raw.raw_send(self.fd, s, 2) end
function Conn:post(path, body, extra) return self:send(request("POST", path, body, extra)) end
-- one answer: status, body, headers (lower-case names); nil, "timeout" | "closed"
function Conn:read(timeout)
  local deadline = ml.now() + (timeout or 10)
  local function more()
    if ml.now() > deadline then return "timeout" end
    local s, closed = raw.raw_recv(self.fd, 0.1)
    self.buf = self.buf .. s
    if closed and s == "" then return "closed" end
  end
  while not self.buf:find("\r\n\r\n", 1, true) do local why = more(); if why then return nil, why end end
  local e = self.buf:find("\r\n\r\n", 1, true)
  local head, h = self.buf:sub(1, e - 1), {}
  for k, v in head:gmatch("\r\n([^:\r\n]+):%s*([^\r\n]*)") do h[k:lower()] = v end
  local n = tonumber(h["content-length"] or "0")
  while #self.buf < e + 3 + n do local why = more(); if why then return nil, why end end
  local body = self.buf:sub(e + 4, e + 3 + n)
  self.buf = self.buf:sub(e + 4 + n)
  return tonumber(head:match("^HTTP/1%.%d (%d+)")), body, h
end
-- true once the server has closed the connection (within wait_s)
function Conn:gone(wait_s)
  local _, closed = raw.raw_recv(self.fd, wait_s or 0.01)
  return closed
end
function Conn:close() if self.fd then raw.raw_close(self.fd); self.fd = nil end end

local function in_flight(srv)
  return tonumber(srv:metrics_text():match("moonlab_http_requests_in_flight (%d+)"))
end

local function count(dir)
  local n = 0
  for f in lfs.dir(dir) do if f ~= "." and f ~= ".." then n = n + 1 end end
  return n
end

local ROW = '{"inputs": [[1, 2]]}'

-- ---- lifecycle ---------------------------------------------------------------------------------

T.test("stop past the grace with batches parked: each is answered, no libmicrohttpd abort", function()
  -- before: a worker stopped its daemon with a suspended connection 2 s into the
  -- stop, and libmicrohttpd panics (abort) on that: the process died
  local srv = serve{ workers = 2 }
  local cs = {}
  for i = 1, 4 do
    cs[i] = connect(srv.port)
    cs[i]:post("/batch?key=k" .. (i % 2) .. "&delay=8000&eager=0", ROW)
  end
  raw.sleep(0.2)
  local t0 = ml.now()
  srv:stop(0)
  T.ok(ml.now() - t0 < 3, ("the stop took %.1f s"):format(ml.now() - t0))
  for i = 1, 4 do
    local s, body, h = cs[i]:read(2)
    T.eq(s, 200, body)
    T.eq(ml.json.decode(body).y[1][2], 4.0)
    T.eq(h.connection, "close")
    cs[i]:close()
  end
  -- the same through __close and through the collector, with a call parked
  do
    local srv2 <close> = serve{ workers = 1 }
    local c = connect(srv2.port)
    c:post("/batch?delay=8000&eager=0", ROW)
    raw.sleep(0.1)
    c:close()
  end
  local srv3 = serve{ workers = 1 }
  local c = connect(srv3.port)
  c:post("/batch?delay=8000&eager=0", ROW)
  raw.sleep(0.1)
  srv3 = nil
  collectgarbage(); collectgarbage()
  T.eq((c:read(2)), 200)
  c:close()
end)

T.test("start and stop 200 servers in one process: no descriptor or thread left behind", function()
  local function cycle(i)
    local srv = serve{ app = ECHO, workers = (i % 4) + 1 }
    if i % 3 == 0 then T.eq((http.request{ url = srv.url .. "/health" }), 200) end
    if i % 5 == 0 then -- an idle keep-alive connection when it stops
      local c = connect(srv.port)
      c:send(request("GET", "/health"))
      T.eq((c:read(2)), 200)
      srv:stop(0.5)
      T.ok(c:gone(1), "an idle connection outlived the server")
      c:close()
    elseif i % 7 == 0 then -- a batch parked when it stops
      local c = connect(srv.port)
      c:post("/batch?delay=5000&eager=0", ROW)
      raw.sleep(0.02)
      srv:stop(0)
      T.eq((c:read(2)), 200)
      c:close()
    else
      srv:stop(0.5)
    end
  end
  for i = 1, 5 do cycle(i) end
  collectgarbage(); collectgarbage()
  local fds, tasks = count("/proc/self/fd"), count("/proc/self/task")
  local n = T.memory and 40 or 200
  for i = 1, n do
    cycle(i)
    if i % 50 == 0 then collectgarbage() end
  end
  collectgarbage(); collectgarbage()
  T.eq(count("/proc/self/fd"), fds, "open descriptors after " .. n .. " servers")
  T.eq(count("/proc/self/task"), tasks, "threads after " .. n .. " servers")
end)

T.test("SIGTERM with batches parked, a client half-way through its body and an idle connection: all settled, exit 0", function()
  local model = T.tmpname(".safetensors")
  H.save_net(model, 1)
  -- the Lua path's batches (ml.http.batch) wait for their delay; the C path's never wait
  local h = io.popen(("sh -c 'echo $$; exec %s serve %s --port 0 --workers 2 --quiet --timeout 1 --max-batch 8 --max-delay-ms 3000 --no-fast-path 2>&1'")
    :format(T.BIN, T.quote(model)))
  local pid = tonumber(h:read("l"))
  local port = tonumber((h:read("l") or ""):match("listening on https?://[%d.]+:(%d+)"))
  h:read("l")
  local ok, err = pcall(function()
    T.ok(port, "no port")
    local body = ml.json.encode{ inputs = { { 1, 2, 3, 4 } } }
    local idle = connect(port)
    idle:post("/predict", body)
    T.eq((idle:read(5)), 200)
    local half = connect(port) -- in flight, not parked: the eager batch waits for its delay
    half:send(request("POST", "/predict", body):sub(1, -5))
    raw.sleep(0.2) -- its headers are in before the others come
    local parked = {}
    for i = 1, 3 do parked[i] = connect(port); parked[i]:post("/predict", body) end
    raw.sleep(0.3)
    ml._proc.kill(pid, 15)
    for i = 1, 3 do
      local s, b, hd = parked[i]:read(10)
      T.eq(s, 200, b); T.eq(hd.connection, "close")
      T.eq(#ml.json.decode(b).predictions, 1)
      parked[i]:close()
    end
    T.ok(idle:gone(5), "the idle connection was not closed")
    idle:close(); half:close()
  end)
  if not ok then ml._proc.kill(pid, 9) end
  local rest = h:read("a")
  local _, _, code = h:close()
  if not ok then error(err, 0) end
  T.eq(code, 0, rest)
end)

-- ---- batching and concurrency ------------------------------------------------------------------

-- two models, two versions each, under ml.serve
local dir = T.tmpdir()
local nets = {}
for _, spec in ipairs{ { "a", 1, 11 }, { "a", 2, 12 }, { "b", 1, 13 }, { "b", 3, 14 } } do
  local name, v, seed = spec[1], spec[2], spec[3]
  lfs.mkdir(dir .. "/" .. name)
  lfs.mkdir(dir .. "/" .. name .. "/" .. v)
  nets[name .. v] = H.save_net(dir .. "/" .. name .. "/" .. v .. "/model.safetensors", seed, { name = name })
end
local X = H.iris()

T.test("batching with 2 and 4 workers, mixed keys (two models, several versions), keep-alive or not", function()
  local routes = { { "a", 1 }, { "a", 2 }, { "b", 1 }, { "b", 3 } }
  for _, workers in ipairs{ 2, 4 } do
    local srv = ml.serve{ model = dir, port = 0, workers = workers, max_batch = 8, max_delay_ms = 20, quiet = true }
    math.randomseed(workers)
    local N, conns, want = 32, {}, {}
    for i = 1, N do conns[i] = connect(srv.port) end
    local function send(i)
      local r = routes[math.random(#routes)]
      local rows = X:narrow(1, math.random(1, 140), math.random(1, 3))
      local path = ("/v1/models/%s/versions/%d:predict"):format(r[1], r[2])
      if math.random() < 0.4 then -- the active (greatest) version
        path = ("/v1/models/%s:predict"):format(r[1])
        r = { r[1], r[1] == "a" and 2 or 3 }
      end
      local _, am = nets[r[1] .. r[2]]:predict(rows):max(2)
      want[i] = { model = r[1], version = r[2], preds = am:reshape(-1):tolist() }
      -- every fourth client says Connection: close and connects anew
      if i % 4 == 0 then conns[i]:close(); conns[i] = connect(srv.port) end
      conns[i]:post(path, ml.json.encode{ inputs = rows:tolist() }, i % 4 == 0 and "Connection: close\r\n" or nil)
    end
    for _ = 1, 4 do
      for i = 1, N do send(i) end
      for i = 1, N do
        local s, body = conns[i]:read(10)
        T.eq(s, 200, body)
        local r, w = ml.json.decode(body), want[i]
        T.eq(r.model, w.model); T.eq(r.version, w.version)
        T.eq(#r.predictions, #w.preds)
        for j, p in ipairs(r.predictions) do T.eq(p, w.preds[j] - 1, "prediction of " .. body) end
      end
    end
    local m = H.prometheus(select(2, H.get(srv.url .. "/metrics")))
    local batches, rows = 0, 0
    for _, smp in ipairs(m.moonlab_serve_batch_size_count or {}) do batches = batches + smp.value end
    for _, smp in ipairs(m.moonlab_serve_batch_size_sum or {}) do rows = rows + smp.value end
    T.ok(batches < rows, ("no batch held two requests (%d batches, %d rows)"):format(batches, rows))
    for i = 1, N do conns[i]:close() end
    srv:stop()
  end
end)

T.test("eager batches across workers: the leader's worker hears when the last request parks elsewhere", function()
  -- before: the leader's worker slept on (up to its 50 ms poll) when the request that
  -- made every request parked arrived on another worker: a round in five took 25-50 ms
  local srv <close> = serve{ workers = 2 }
  local cs = {}
  for i = 1, 3 do cs[i] = connect(srv.port) end
  local slow = 0
  for _ = 1, 100 do
    local t0 = ml.now()
    for i = 1, 3 do cs[i]:post("/batch?max=64&delay=1500", ROW) end
    for i = 1, 3 do T.eq((cs[i]:read(5)), 200) end
    if ml.now() - t0 > 0.03 then slow = slow + 1 end
  end
  T.ok(slow <= 5, slow .. " rounds of 100 of three eager requests took over 30 ms")
  for i = 1, 3 do cs[i]:close() end
end)

T.test("clients hang up mid-body, right after sending and while parked: the others are answered, nothing stays in flight", function()
  for _, workers in ipairs{ 1, 2, 4 } do
    local srv = serve{ app = ECHO, workers = workers, timeout = 1 }
    for round = 1, 6 do
      local keep, late = {}, {}
      for i = 1, 20 do
        local c = connect(srv.port)
        local r = request("POST", ("/batch?max=8&delay=%d&eager=%d"):format(i % 5 == 4 and 1 or 150, i % 2), ROW)
        local kind = i % 5
        if kind == 0 then c:send(r:sub(1, #r - 5)); c:close()      -- mid-body
        elseif kind == 1 then c:send(r); c:close()                 -- right after sending
        elseif kind == 2 then c:send(r); late[#late + 1] = c       -- while parked
        else c:send(r); keep[#keep + 1] = c end
      end
      raw.sleep(0.02)
      for _, c in ipairs(late) do c:close() end
      for _, c in ipairs(keep) do
        local s, body = c:read(5)
        T.eq(s, 200, body)
        T.eq(ml.json.decode(body).y[1][1], 2.0)
        c:close()
      end
    end
    -- a body cut off with the hang-up is seen at the timeout at the latest (libmicrohttpd's
    -- edge-triggered epoll can miss an end of stream that came with the data)
    local t0, n = ml.now(), nil
    repeat raw.sleep(0.1); n = in_flight(srv) until n == 0 or ml.now() - t0 > 4
    T.eq(n, 0, "requests still in flight " .. (ml.now() - t0) .. " s after their clients left")
    T.eq((http.request{ url = srv.url .. "/batch?delay=1", body = ROW }), 200)
    srv:stop()
  end
end)

T.test("a call that cannot park runs alone: it does not stall a leader parked on its worker", function()
  -- before: it blocked its worker waiting for the batch, whose leader, parked on the
  -- same worker, could not run: both waited 30 s
  local srv <close> = serve{ workers = 1, quiet = true }
  local function post(path) return http.request{ url = srv.url .. path, body = ROW, timeout = 10 } end
  for _, route in ipairs{ "/wrapbatch", "/sortbatch" } do
    local leader = connect(srv.port)
    leader:post("/batch?key=z&delay=400&eager=0", ROW)
    raw.sleep(0.05)
    local t0 = ml.now()
    local s, body = post(route .. "?key=z&delay=400&eager=0")
    T.eq(s, 200, body); T.eq(body, '{"y":[[2.0,4.0]]}')
    T.ok(ml.now() - t0 < 0.3, route .. " waited " .. (ml.now() - t0) .. " s")
    local s2, b2 = leader:read(3)
    T.eq(s2, 200, b2)
    T.ok(ml.now() - t0 < 2, "the parked leader waited " .. (ml.now() - t0) .. " s")
    leader:close()
  end
  -- fn batching again, two batches in one handler, fn's status, fn yielding, handlers yielding
  local s, body = post("/fnbatch?delay=1"); T.eq(s, 200, body); T.eq(body, '{"y":[[2.0,4.0]]}')
  s, body = post("/twice?delay=1"); T.eq(s, 200, body); T.eq(body, '{"y":[[4.0,8.0]]}')
  s, body = post("/fnstatus?delay=1"); T.eq(s, 422); T.eq(ml.json.decode(body).error, "unprocessable rows")
  s, body = post("/fnyield?delay=1"); T.eq(s, 500); T.ok(body:find("yield across a C-call boundary", 1, true), body)
  for _, route in ipairs{ "/yield", "/yieldpcall" } do
    s, body = post(route)
    T.eq(s, 500); T.ok(ml.json.decode(body).error:find("coroutine.yield is not allowed", 1, true), body)
  end
  T.eq((post("/health")), 200)
end)

T.test("max_connections: extra clients wait in the backlog and are served; a burst of 600 connects does no harm", function()
  local srv <close> = serve{ app = ECHO, workers = 2, timeout = 2, max_connections = 4 }
  local idle = {}
  for i = 1, 4 do
    idle[i] = connect(srv.port)
    idle[i]:send(request("GET", "/health"))
    T.eq((idle[i]:read(2)), 200)
  end
  local extra = {}
  for i = 1, 6 do extra[i] = connect(srv.port); extra[i]:send(request("GET", "/health")) end
  T.eq(extra[1]:read(0.5), nil, "a fifth connection was served while four were open")
  idle[1]:close()
  T.eq((extra[1]:read(2)), 200, "the waiting client was not served when a slot freed")
  for i = 2, 6 do T.eq((extra[i]:read(8)), 200) end -- the idle ones time out meanwhile
  for _, c in ipairs(extra) do c:close() end
  for _, c in ipairs(idle) do c:close() end
  local many = {}
  for i = 1, 600 do
    local fd = raw.raw_connect("127.0.0.1", srv.port, 2)
    if not fd then break end
    raw.raw_send(fd, request("GET", "/health"), 0.1)
    many[i] = fd
  end
  T.ok(#many >= 500, "connects: " .. #many)
  for _, fd in ipairs(many) do raw.raw_close(fd) end
  T.eq((http.request{ url = srv.url .. "/health", timeout = 10 }), 200)
end)

T.test("TLS with batching: keep-alive clients share batches", function()
  if not (have("openssl") and have("curl")) then print("  (skipped: needs openssl and curl)") return end
  local d = T.tmpdir()
  local key, cert = d .. "/key.pem", d .. "/cert.pem"
  T.ok(os.execute(("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 -subj /CN=localhost >/dev/null 2>&1")
    :format(T.quote(key), T.quote(cert))), "openssl req failed")
  local srv <close> = serve{ workers = 2, tls_cert = cert, tls_key = key }
  local parts, outs = {}, {}
  for i = 1, 6 do
    local u = T.quote(srv.url .. "/batch?max=6&delay=3000&eager=0")
    local b = T.quote(('{"inputs": [[%d, 1]]}'):format(i))
    outs[i] = T.tmpname(".out")
    -- two requests on one connection (--next keeps it)
    parts[i] = ("(curl -sk -m 10 -d %s %s --next -sk -m 10 -d %s %s > %s 2>&1) &"):format(b, u, b, u, T.quote(outs[i]))
  end
  local t0 = ml.now()
  os.execute(table.concat(parts, " ") .. " wait")
  T.ok(ml.now() - t0 < 5, "six TLS clients waited for the delay: " .. (ml.now() - t0) .. " s")
  for i = 1, 6 do
    local text = T.read_file(outs[i]) or ""
    local want = ('{"y":[[%d.0,2.0]]}'):format(2 * i)
    T.eq(text, want .. want, "client " .. i)
  end
end)

-- ---- slow clients --------------------------------------------------------------------------------

T.test("slow-loris: trickled headers and bodies are cut after twice the timeout; honest keep-alive is not", function()
  -- before: libmicrohttpd's timeout counts idle time only, so a byte every 0.3 s
  -- held a connection (of max_connections) forever
  local srv <close> = serve{ app = ECHO, workers = 1, timeout = 1 }
  local heads, bodies = {}, {}
  for i = 1, 3 do heads[i] = connect(srv.port); heads[i]:send("GET /health HTTP/1.1\r\nHost: x\r\n") end
  for i = 1, 3 do bodies[i] = connect(srv.port); bodies[i]:send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n") end
  local honest = connect(srv.port)
  local t0, cut = ml.now(), {}
  while ml.now() - t0 < 4 do
    raw.sleep(0.3)
    for i, c in ipairs(heads) do if not cut[c] then raw.raw_send(c.fd, "X", 0.2); if c:gone() then cut[c] = ml.now() - t0 end end end
    for i, c in ipairs(bodies) do if not cut[c] then raw.raw_send(c.fd, "y", 0.2); if c:gone() then cut[c] = ml.now() - t0 end end end
    -- an honest keep-alive client: a request, 0.6 s idle, another
    honest:send(request("GET", "/health"))
    T.eq((honest:read(2)), 200, "an honest keep-alive client lost its connection")
    raw.sleep(0.3)
  end
  for _, c in ipairs(heads) do T.ok(cut[c] and cut[c] < 3.2, "a header trickle lived " .. tostring(cut[c])) end
  for _, c in ipairs(bodies) do T.ok(cut[c] and cut[c] < 3.2, "a body trickle lived " .. tostring(cut[c])) end
  for _, c in ipairs(heads) do c:close() end
  for _, c in ipairs(bodies) do c:close() end
  honest:close()
end)

T.test("a client that never reads its 3 MB answer holds up no one on its worker", function()
  local srv <close> = serve{ app = ECHO, workers = 1, timeout = 1, body_limit = 4 << 20 }
  local big = string.rep("x", 3 << 20)
  local sleepers = {}
  for i = 1, 3 do sleepers[i] = connect(srv.port); sleepers[i]:post("/echo", big) end
  raw.sleep(0.2)
  local t0 = ml.now()
  for _ = 1, 20 do T.eq((http.request{ url = srv.url .. "/echo", body = "hi", timeout = 5 }), 200) end
  T.ok(ml.now() - t0 < 1, "20 requests took " .. (ml.now() - t0) .. " s beside clients that do not read")
  for _, c in ipairs(sleepers) do c:close() end
end)

-- ---- json_rows against ml.json.decode + ml.tensor ----------------------------------------------

local R = math.random
local function pick(t) return t[R(#t)] end
local WS = { "", "", "", " ", "  ", "\n", "\t", "\r\n", " \n\t " }
local function ws() return R() < 0.3 and pick(WS) or "" end
local function digits(n, nonzero)
  local t = {}
  for i = 1, n do t[i] = tostring(R((i == 1 and nonzero) and 1 or 0, 9)) end
  return table.concat(t)
end
local function number()
  local k = R(1, 14)
  if k == 1 then return tostring(R(0, 255)) end
  if k == 2 then return pick{ "-0", "-0.0", "0e5", "0.0", "-0e-3", "0E+0" } end
  if k == 3 then
    return pick{ "1e39", "-1e39", "3.4028235e38", "3.4028234663852886e38", "3.4028235677973366e38", "1e-46", "1.4e-45",
      "7e-46", "1e400", "-1e400", "1e-400", "1e99999999", "2.5e-45", "1.17549435e-38", "1152921573326323713" }
  end
  if k == 4 then return (R() < 0.5 and "-" or "") .. digits(R(16, 21), true) end -- around 2^53 .. 2^64
  if k == 5 then
    return (R() < 0.5 and "-" or "") .. "0." .. string.rep("0", R(0, 40)) .. digits(R(1, 20), true) ..
      (R() < 0.5 and ("e" .. R(-10, 60)) or "")
  end
  if k == 6 then return digits(R(25, 70), true) .. (R() < 0.5 and ("." .. digits(R(1, 30))) or "") end
  local s = (R() < 0.4 and "-" or "") .. (R() < 0.3 and "0" or digits(R(1, 8), true))
  if R() < 0.8 then s = s .. "." .. digits(R(1, 19)) end
  if R() < 0.3 then s = s .. pick{ "e", "E" } .. pick{ "", "+", "-" } .. tostring(R(0, 45)) end
  return s
end
local function value(depth)
  local k = R(1, 7)
  if depth > 3 or k == 1 then return number() end
  if k == 2 then return '"' .. pick{ "a", "x y", '\\"}', "]", "\\u00e9", "\\n", "[[1]]", "inputs", "\\\\" } .. '"' end
  if k == 3 then return pick{ "true", "false", "null" } end
  local t = {}
  if k <= 5 then
    for i = 1, R(0, 3) do t[i] = ws() .. value(depth + 1) .. ws() end
    return "[" .. table.concat(t, ",") .. "]"
  end
  for i = 1, R(0, 3) do t[i] = ws() .. '"k' .. i .. '"' .. ws() .. ":" .. ws() .. value(depth + 1) .. ws() end
  return "{" .. table.concat(t, ",") .. "}"
end
local function rows_text()
  local k, n, d = R(1, 10), R(1, 5), R(1, 6)
  if k == 1 then -- one flat row
    local t = {}
    for j = 1, d do t[j] = ws() .. number() .. ws() end
    return "[" .. table.concat(t, ",") .. "]"
  end
  if k == 5 then return "[]" end
  local rs = {}
  for i = 1, n do
    local dd = (k == 2 and R() < 0.5) and R(0, 7) or d -- ragged
    local t = {}
    for j = 1, dd do t[j] = ws() .. ((k == 3 and R() < 0.2) and value(2) or number()) .. ws() end
    rs[i] = ws() .. "[" .. table.concat(t, ",") .. "]" .. ws()
  end
  if k == 4 then rs[R(n)] = ws() .. value(1) end
  return "[" .. table.concat(rs, ",") .. "]"
end
local function body_text()
  local members, has_rows = {}, false
  for i = 1, R(1, 4) do
    local key
    if not has_rows or R() < 0.1 then -- the rows' key, sometimes twice, escaped or near-miss
      key = R() < 0.8 and pick{ '"inputs"', '"instances"' } or pick{ '"\\u0069nputs"', '"other"', '"in\\"puts"', '"probabilities"' }
      has_rows = true
    else
      key = pick{ '"x"', '"probabilities"', '"return"', '"k' .. i .. '"', '"\\u0078' .. i .. '"' }
    end
    local v = (key:find("input") or key:find("instances")) and rows_text() or value(1)
    members[#members + 1] = ws() .. key .. ws() .. ":" .. ws() .. v .. ws()
  end
  local text = ws() .. "{" .. table.concat(members, ",") .. "}" .. ws()
  local m = R(1, 12)
  if m == 1 then text = text:sub(1, R(0, #text - 1))                                                  -- truncated
  elseif m == 2 then local i = R(1, #text); text = text:sub(1, i - 1) .. string.char(R(0, 255)) .. text:sub(i + 1)
  elseif m == 3 then text = "\239\187\191" .. text                                                     -- a BOM
  elseif m == 4 then local i = R(1, #text); text = text:sub(1, i - 1) .. text:sub(i + 1)              -- a byte less
  elseif m == 5 then text = pick{ "[" .. text .. "]", text .. text, "null", "", " ", "[[1,2]]", string.rep("[", 200) } end
  return text
end

local ARRAY_MT = getmetatable(ml.json.decode("[]"))
local function empty_array(t) return next(t) == nil and getmetatable(t) == ARRAY_MT end
local function same(a, b) -- decoded values, numbers bit for bit, [] apart from {}
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then return math.type(a) == math.type(b) and a == b and (a ~= 0 or 1 / a == 1 / b) end
  if type(a) ~= "table" then return a == b end
  if empty_array(a) ~= empty_array(b) then return false end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- What json_rows must answer, from ml.json.decode + ml.tensor.
local function reference(text)
  local ok, obj = pcall(ml.json.decode, text)
  if not ok then return { kind = "json", byte = tonumber(tostring(obj):match("%(byte (%d+)%)")) } end
  if type(obj) ~= "table" or obj[1] ~= nil or empty_array(obj) then return { obj = obj } end
  local key = obj.inputs ~= nil and "inputs" or obj.instances ~= nil and "instances" or nil
  local v = key and obj[key]
  if type(v) ~= "table" or #v == 0 then return { obj = obj } end
  local X
  if type(v[1]) == "number" then
    for _, x in ipairs(v) do if type(x) ~= "number" then return { obj = obj } end end
    X = ml.tensor({ v }, { dtype = "float32" })
  else
    for _, r in ipairs(v) do
      if type(r) ~= "table" or (#r == 0 and not empty_array(r)) then return { obj = obj } end
      for _, x in ipairs(r) do if type(x) ~= "number" then return { obj = obj } end end
    end
    for i, r in ipairs(v) do if #r ~= #v[1] then return { kind = "rows", row = i } end end
    if #v[1] == 0 then return { obj = obj } end
    X = ml.tensor(v, { dtype = "float32" })
  end
  local rest = {}
  for k, x in pairs(obj) do if k ~= key then rest[k] = x end end
  return { X = X, obj = rest }
end

-- nil when json_rows agrees with the reference, else what differs
local function differs(text)
  local want = reference(text)
  local ok, X, obj = pcall(http.json_rows, text)
  if want.kind then
    if ok then return "expected a " .. want.kind .. " error, got an answer" end
    if type(X) ~= "table" or X.status ~= 400 then return "not a 400: " .. tostring(X) end
    if want.kind == "json" then
      local at = tonumber(X.error:match("^invalid JSON at byte (%d+)"))
      if at ~= want.byte then return ("JSON error at byte %s, expected %s: %s"):format(tostring(at), tostring(want.byte), X.error) end
    elseif not X.error:find("^row " .. want.row .. " has") then
      return "rows error '" .. X.error .. "', expected row " .. want.row
    end
    return nil
  end
  if not ok then return "error " .. (type(X) == "table" and tostring(X.error) or tostring(X)) end
  if (X == nil) ~= (want.X == nil) then return "X is " .. tostring(X) .. ", expected " .. tostring(want.X) end
  if X then
    if table.concat(X:shape(), "x") ~= table.concat(want.X:shape(), "x") then return "shape " .. table.concat(X:shape(), "x") end
    local a, b = T.flatten(X:tolist()), T.flatten(want.X:tolist())
    for i = 1, #a do
      if string.pack("<f", a[i]) ~= string.pack("<f", b[i]) then return ("value %d is %.9g, expected %.9g"):format(i, a[i], b[i]) end
    end
  end
  if not same(obj, want.obj) then return "the rest of the object differs" end
end

T.test("json_rows equals ml.json.decode + ml.tensor: edge cases, then 4000 random bodies", function()
  local cases = {
    '{"inputs": [[-0]]}', '{"inputs": [[-0.0, 0e5, -0e-3]]}', '{"inputs": [[1152921573326323713, -9223372036854775808]]}',
    '{"inputs": [[1e39, -1e39, 3.4028235677973366e38, 1e-46, 1.4e-45, 1e400, 1e99999999]]}',
    '{"inputs": [[1], [2]], "inputs": [[3]]}', '{"instances": [[2]], "inputs": [[1]]}', '{"\\u0069nputs": [[5]]}',
    '\239\187\191{"inputs": [[1]]}', ' \n\t{ "inputs" \n: [ [ 1 , 2 ] \n, [3,4] ] \r\n} \n ',
    '{"inputs": [[1], [2, 3]], "p": tru}', '{"inputs": [[1], [2, 3], ["x"]]}', '{"inputs": [[1], [2, 3]]}',
    '{"inputs": [[1]], "x": ' .. ("["):rep(3000) .. ("]"):rep(3000) .. '}', '{"inputs": [[1]], "x": "\\ud800"}',
    '{"inputs": [[0.' .. ("0"):rep(999990) .. '1e9999999, 0.' .. ("0"):rep(99999) .. '1e100000]]}',
    '{"inputs": [[01]]}', '{"inputs": [[1.]]}', '{"inputs": [[1,]]}', '{"inputs": [[1]]}\0', '[[1]]', '{"inputs": [{}, []]}',
  }
  for _, text in ipairs(cases) do
    local d = differs(text)
    T.ok(not d, ("%s: %s"):format(("%q"):format(text:sub(1, 80)), tostring(d)))
  end
  math.randomseed(13)
  local bad, first = 0, nil
  for _ = 1, T.memory and 800 or 4000 do
    local text = body_text()
    local d = differs(text)
    if d then
      bad = bad + 1
      first = first or (("%q"):format(text:sub(1, 200)) .. ": " .. d)
    end
  end
  T.eq(bad, 0, first)
end)
