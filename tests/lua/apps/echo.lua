--- A small app for tests/lua/test_http.lua: routes that echo the request, sleep,
-- fail in the ways a handler can, batch rows and touch the shared state.
local ml = require "moonlab"
local http = ml.http

local app = {}

local function query_number(req, k, default) return tonumber(req.query[k]) or default end

function app.init(config)
  local routes = {}

  routes["GET /health"] = function() return 200, "ok" end
  routes["POST /echo"] = function(req)
    return 200, { method = req.method, path = req.path, query = req.query, headers = req.headers,
      body = req.body, remote = req.remote, greeting = config.greeting }
  end
  routes["GET /echo"] = routes["POST /echo"]
  routes["GET /sleep"] = function(req)
    local t0 = ml.now()
    ml._http.sleep(query_number(req, "ms", 100) / 1000)
    if req.query.times then return 200, { t0 = t0, t1 = ml.now() } end
    return 200, { slept = query_number(req, "ms", 100) }
  end
  routes["GET /fail"] = function() error("boom in the handler") end
  routes["GET /teapot"] = function() error({ status = 418, error = "short and stout" }) end
  routes["GET /badstatus"] = function() return 42, "x" end
  routes["GET /headers"] = function() return 201, "made", { ["Content-Type"] = "text/x-test", ["X-Thing"] = "7" } end
  routes["GET /metrics"] = function() return 200, http.metrics.text(), "text/plain; version=0.0.4" end
  routes["GET /count"] = function(req)
    http.metrics.help("app_hits_total", "Hits of /count", "counter")
    http.metrics.inc("app_hits_total", { who = req.query.who or "anon" })
    http.metrics.set("app_temperature", nil, 21.5)
    http.metrics.observe("app_size", { kind = "a\"b\\c" }, query_number(req, "v", 1), { 1, 2, 5 })
    return 200, "counted"
  end
  routes["GET /shared"] = function(req)
    if req.query.v then http.shared.set(req.query.k, req.query.v) end
    return 200, { v = http.shared.get(req.query.k) }
  end
  routes["POST /acc"] = function(req)
    local t = ml.tensor(ml.json.decode(req.body), { dtype = "float64" })
    http.shared.acc_add("acc", t)
    return 200, { sum = http.shared.acc_get("acc"):tolist() }
  end
  routes["POST /batch"] = function(req)
    local X = http.json_rows(req.body)
    local seen
    local Y, n = http.batch("double", X, { max_batch = query_number(req, "max", 64), max_delay_ms = query_number(req, "delay", 50),
      eager = req.query.eager ~= "0" },
      function(all)
        if req.query.fail then error("the batch failed") end
        seen = all:size(1)
        return all * 2, ml.full({ all:size(1) }, all:size(1))
      end)
    return 200, { y = Y:tolist(), batch = n[1], leader = seen ~= nil }
  end
  routes["POST /rows"] = function(req)
    local X, obj = http.json_rows(req.body)
    return 200, { shape = X and X:shape() or ml.json.null, rest = obj }
  end

  return function(req)
    local key = req.method .. " " .. req.path
    local h = routes[key]
    if h then req.route = req.path; return h(req) end
    for k in pairs(routes) do
      if k:match("^%S+ (.*)$") == req.path then return 405, { error = "method not allowed" } end
    end
    return 404, { error = "no route " .. req.path }
  end
end

return app
