-- `moonlab serve` as a subprocess: it prints its URL and models, survives a fuzz of
-- malformed, truncated, oversized and wrong-typed predict requests and slow-loris
-- connections with flat memory, and exits 0 on SIGTERM.
package.path = "tests/lua/?.lua;" .. package.path
local H = require "serve_helpers"

local model = T.tmpname(".safetensors")
H.save_net(model, 1)

-- starts `moonlab serve ARGS` in the background; returns pid, url and the handle of its output
local function start(args)
  local h = io.popen(string.format("sh -c 'echo $$; exec %s serve %s %s 2>&1'", T.BIN, T.quote(model), args))
  local pid = tonumber(h:read("l"))
  local first = h:read("l") or ""
  local url = first:match("listening on (http://[%d.:]+)")
  T.ok(url, "no URL in: " .. first)
  local models = h:read("l") or ""
  T.ok(models:find("model ", 1, true) and models:find("version 1 active", 1, true), models)
  return pid, url, h
end

local function rss_kb(pid)
  local f = io.open("/proc/" .. pid .. "/status")
  local text = f and f:read("a") or ""
  if f then f:close() end
  return tonumber(text:match("VmRSS:%s+(%d+)")) or 0
end

T.test("moonlab serve exits 0 on SIGTERM after finishing", function()
  local pid, url, h = start("--port 0 --workers 2 --quiet")
  local s = H.post(url .. "/predict", { inputs = { { 1, 2, 3, 4 } } })
  T.eq(s, 200)
  ml._proc.kill(pid, 15)
  local rest = h:read("a")
  local ok, how, code = h:close()
  T.eq(code, 0, rest)
  T.ok(rest:find("stopped", 1, true), rest)
end)

T.test("moonlab serve refuses bad options clearly", function()
  local h = io.popen(string.format("%s serve %s --prot 8080 2>&1", T.BIN, T.quote(model)))
  local out = h:read("a")
  local _, _, code = h:close()
  T.eq(code, 2)
  T.ok(out:find("did you mean '--port'", 1, true), out)
end)

T.test("fuzz: malformed, truncated, oversized requests and slow clients; then a good request; memory flat", function()
  local pid, url, h = start("--port 0 --workers 2 --quiet --timeout 1 --body-limit 65536 --max-rows 100")
  -- a failure below must not leave the server running (closing h would wait for it forever)
  local ok, err = pcall(function()
  local port = url:match(":(%d+)$")
  local good = { inputs = { { 1, 2, 3, 4 } } }
  -- warm up, then measure
  for _ = 1, 200 do H.post(url .. "/predict", good) end
  local rss0 = rss_kb(pid)
  local bodies = {
    "", "{", "}", "[", "null", "true", "1", '"x"', "{}", '{"inputs":', '{"inputs": null}', '{"inputs": "x"}',
    '{"inputs": [[1,2,3,4]', '{"inputs": [[1,2,3,4]]]', '{"inputs": [[1,2,3]]}', '{"inputs": [[1,2,3,4,5]]}',
    '{"inputs": [["a","b","c","d"]]}', '{"inputs": [[1,2,3,{}]]}', '{"inputs": [[1,2,3,4],[1]]}', '{"inputs": [[]]}',
    '{"inputs": []}', '{"inputs": [[1e999,2,3,4]]}', '{"inputs": [[-1e999,2,3,4]]}', '{"instances": {"a": 1}}',
    '{"inputs": [[1,2,3,4]], "probabilities": 3}', '{"inputs": [[1,2,3,4]], "return": "x"}', '{"inputs": [[1,2,3,4]], "return": [5]}',
    '{"inputs": [[1,2,3,4]], "zzz": 1}', '{"inputs": [[1,2,3,4]] ,,}', '\0\0\0', '{"inputs": [[1,2,3,4e]]}',
    string.rep("[", 5000), '{"inputs": ' .. string.rep("[", 200) .. string.rep("]", 200) .. '}',
  }
  local statuses = {}
  math.randomseed(7)
  local n = 0
  local good_text = ml.json.encode({ inputs = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } } })
  for round = 1, 40 do
    for _, b in ipairs(bodies) do
      local s = H.post(url .. "/predict", b)
      statuses[s] = (statuses[s] or 0) + 1
      n = n + 1
    end
    -- truncations and random byte flips of a good body
    for _ = 1, 20 do
      local cut = good_text:sub(1, math.random(0, #good_text - 1))
      local i = math.random(1, #good_text)
      local flip = good_text:sub(1, i - 1) .. string.char(math.random(0, 255)) .. good_text:sub(i + 1)
      for _, b in ipairs({ cut, flip }) do
        local s = H.post(url .. "/predict", b)
        T.ok(s == 200 or s == 400, "status " .. s .. " for " .. string.format("%q", b))
        n = n + 1
      end
    end
  end
  for s in pairs(statuses) do T.ok(s == 400 or s == 413, "status " .. s) end
  -- wrong methods, oversized bodies, too many rows, unknown routes
  local big = '{"inputs": [' .. string.rep("[1,2,3,4],", 20000) .. '[1,2,3,4]]}'
  T.eq((H.post(url .. "/predict", big)), 413)
  local many = '{"inputs": [' .. string.rep("[1,2,3,4],", 200) .. '[1,2,3,4]]}'
  T.eq((H.post(url .. "/predict", many)), 400)
  T.eq((H.get(url .. "/predict")), 405)
  T.eq((H.get(url .. "/v1/models/x/versions/abc:predict")), 404)
  -- raw sockets: truncated requests and headers, garbage, slow-loris (the server's timeout is 1 s)
  local C = ml._http
  local raw = {
    "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inp",
    "POST /predict HTTP/1.1\r\nContent-Le",
    "GARBAGE\r\n\r\n",
    "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{\"in",
  }
  local t0 = ml.now()
  for _ = 1, 30 do
    for _, r in ipairs(raw) do
      local fd = C.raw_connect("127.0.0.1", tonumber(port), 2)
      T.ok(fd, "cannot connect")
      C.raw_send(fd, r:sub(1, math.random(1, #r)), 1)
      C.raw_close(fd)
    end
  end
  local loris = {}
  for i = 1, 8 do
    loris[i] = C.raw_connect("127.0.0.1", tonumber(port), 2)
    C.raw_send(loris[i], "POST /predict HTTP/1.1\r\nHost: x\r\n", 1)
  end
  local closed = 0
  for _ = 1, 6 do -- a byte every 0.4 s, held open past the timeout: the server drops them
    ml._stop.sleep(0.4)
    for i = 1, 8 do if loris[i] then C.raw_send(loris[i], "X", 0.2) end end
  end
  for i = 1, 8 do
    local _, gone = C.raw_recv(loris[i], 0.5)
    if gone then closed = closed + 1 end
    C.raw_close(loris[i])
  end
  T.ok(closed >= 6, "slow-loris connections the server dropped: " .. closed .. " of 8")
  T.ok(ml.now() - t0 < 20, "the raw requests took " .. (ml.now() - t0) .. " s")
  -- the server still answers, right
  local s, b = H.post(url .. "/predict", good)
  T.eq(s, 200, b)
  for _ = 1, 200 do H.post(url .. "/predict", good) end
  local rss1 = rss_kb(pid)
  -- (not under make check-memory: AddressSanitizer's quarantine holds freed memory)
  T.ok(T.memory or rss1 - rss0 < 30 * 1024, string.format("RSS grew from %d to %d kB over %d requests", rss0, rss1, n))
  end)
  ml._proc.kill(pid, 15)
  h:read("a")
  local _, _, code = h:close()
  if not ok then error(err, 0) end
  T.eq(code, 0)
end)
