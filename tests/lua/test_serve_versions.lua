-- Versions: a directory models/NAME/1, /2 ... served, a new version switched to under
-- load with no failed request, a rollback, a broken version refused, a pin, two models.
package.path = "tests/lua/?.lua;" .. package.path
local H = require "serve_helpers"
local lfs = require "lfs"

local root = T.tmpdir()
local dir = root .. "/iris"
lfs.mkdir(dir)
lfs.mkdir(dir .. "/1")
H.save_net(dir .. "/1/model.safetensors", 1)
H.save_net(dir .. "/2.safetensors", 2)
local other = root .. "/other"
lfs.mkdir(other)
H.save_net(other .. "/1.safetensors", 3)

local lines = {}
local srv = ml.serve { model = root, port = 0, workers = 2, quiet = true, poll = 0.05,
  log = function(l) lines[#lines + 1] = l end }
local url = srv.url
local row = { inputs = { { 5.1, 3.5, 1.4, 0.2 } } }

local function version_of(route)
  local s, b = H.post(url .. route, row)
  T.eq(s, 200, b)
  return ml.json.decode(b).version
end

T.test("a directory of models: the newest version of each is active, older ones reachable", function()
  T.eq(version_of("/v1/models/iris:predict"), 2)
  T.eq(version_of("/v1/models/iris/versions/1:predict"), 1)
  T.eq(version_of("/v1/models/other:predict"), 1)
  local s, b = H.get(url .. "/v1/models")
  T.eq(s, 200)
  local ms = ml.json.decode(b).models
  T.eq(#ms, 2); T.eq(ms[1].name, "iris"); T.eq(ms[1].active_version, 2); T.eq(#ms[1].versions, 2)
end)

T.test("a new version is switched to under load with no failed request; rollback; a broken one is refused", function()
  local out, stop = T.tmpname(".json"), T.tmpname(".stop")
  local client = T.tmpname(".lua")
  -- a client loop in another process: requests until told to stop, counting statuses and versions
  T.write_file(client, string.format([[
    local counts, versions, n = {}, {}, 0
    local t_end = ml.now() + 20
    while ml.now() < t_end do
      local ok, s, b = pcall(ml.http.request, { method = "POST", url = %q, body = %q,
        headers = { ["content-type"] = "application/json" }, timeout = 5 })
      s = ok and s or "error"
      counts[tostring(s)] = (counts[tostring(s)] or 0) + 1
      local v = ok and b:match('"version":(%%d+)')
      if v then versions[v] = (versions[v] or 0) + 1 end
      n = n + 1
      if n %% 20 == 0 and io.open(%q) then break end
    end
    local f = io.open(%q, "w"); f:write(ml.json.encode({ counts = counts, versions = versions, n = n })); f:close()
  ]], url .. "/v1/models/iris:predict", ml.json.encode(row), stop, out))
  os.execute(string.format("%s %s >/dev/null 2>&1 &", T.BIN, T.quote(client)))
  ml._stop.sleep(0.4)
  -- a half-written file is not taken: its size changes between polls
  local src = T.read_file(dir .. "/2.safetensors")
  local f = io.open(dir .. "/3.safetensors", "wb")
  f:write(src:sub(1, 1000)); f:flush()
  srv:poll()
  f:write(src:sub(1001)); f:close()
  srv:poll()
  T.eq(version_of("/v1/models/iris:predict"), 2)
  srv:poll() -- same mtime and size twice: checked, then switched to
  T.eq(version_of("/v1/models/iris:predict"), 3)
  ml._stop.sleep(0.4)
  T.write_file(stop, "stop")
  local deadline = ml.now() + 30
  while not T.read_file(out) and ml.now() < deadline do ml._stop.sleep(0.05) end
  local r = ml.json.decode(T.read_file(out) or "{}")
  T.ok(r.n and r.n >= 50, "the client made " .. tostring(r.n) .. " requests")
  T.eq(r.counts and r.counts["200"], r.n, ml.json.encode(r))
  T.ok(r.versions["2"] and r.versions["3"], "the client saw versions " .. ml.json.encode(r.versions))

  -- rollback
  local s, b = H.post(url .. "/v1/models/iris/versions/1:activate", "")
  T.eq(s, 200, b)
  T.eq(version_of("/v1/models/iris:predict"), 1)
  T.eq(version_of("/predict") ~= nil, true)
  s, b = H.post(url .. "/v1/models/iris/versions/7:activate", "")
  T.eq(s, 404, b)

  -- a broken version: refused with a log line, version 1 keeps serving
  T.write_file(dir .. "/4.safetensors", "this is not a model")
  srv:poll(); srv:poll()
  T.eq(version_of("/v1/models/iris:predict"), 1)
  local refused = false
  for _, l in ipairs(lines) do if l:find("version 4 refused", 1, true) then refused = true end end
  T.ok(refused, table.concat(lines, "\n"))
end)

T.test("--version pins a model", function()
  local s2 = ml.serve { model = dir, port = 0, workers = 1, quiet = true, version = 1, log = function() end }
  local s, b = H.post(s2.url .. "/predict", row)
  T.eq(s, 200, b)
  T.eq(ml.json.decode(b).version, 1)
  T.eq(ml.json.decode(b).model, "iris")
  s2:stop()
end)

srv:stop()
