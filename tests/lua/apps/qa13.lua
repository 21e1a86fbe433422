--- An app for tests/lua/test_qa13_server.lua: handlers that batch in the odd ways a
-- user's code may (from an inner coroutine, twice, with a failing or yielding fn),
-- and handlers that yield without batching.
local ml = require "moonlab"
local http = ml.http

local app = {}

function app.init(config)
  local routes = {}
  local function q(req, k, d) return tonumber(req.query[k]) or d end
  local function opts(req) return { max_batch = q(req, "max", 64), max_delay_ms = q(req, "delay", 50), eager = req.query.eager ~= "0" } end
  local function double(all) return all * 2 end

  routes["/batch"] = function(req)
    local X = http.json_rows(req.body)
    local Y = http.batch(req.query.key or "k", X, opts(req), double)
    return 200, { y = Y:tolist() }
  end
  -- ml.http.batch from a coroutine of the handler's own: it cannot park there
  routes["/wrapbatch"] = function(req)
    local X = http.json_rows(req.body)
    local Y = coroutine.wrap(function() return http.batch(req.query.key or "k", X, opts(req), double) end)()
    return 200, { y = Y:tolist() }
  end
  -- from a metamethod called by C (not yieldable)
  routes["/sortbatch"] = function(req)
    local X = http.json_rows(req.body)
    local Y
    table.sort({ 2, 1 }, function(a, b)
      if not Y then Y = http.batch(req.query.key or "k", X, opts(req), double) end
      return a < b
    end)
    return 200, { y = Y:tolist() }
  end
  routes["/twice"] = function(req)
    local X = http.json_rows(req.body)
    local Y = http.batch("t1", X, opts(req), double)
    local Z = http.batch("t2", Y, opts(req), double)
    return 200, { y = Z:tolist() }
  end
  routes["/fnstatus"] = function(req)
    local X = http.json_rows(req.body)
    http.batch("s", X, opts(req), function() error({ status = 422, error = "unprocessable rows" }) end)
  end
  routes["/fnyield"] = function(req)
    local X = http.json_rows(req.body)
    http.batch("y", X, opts(req), function(all) coroutine.yield(); return all end)
  end
  routes["/fnbatch"] = function(req) -- fn batches again (another key)
    local X = http.json_rows(req.body)
    local Y = http.batch("outer", X, opts(req), function(all) return http.batch("inner", all, opts(req), double) end)
    return 200, { y = Y:tolist() }
  end
  routes["/yield"] = function() coroutine.yield(1); return 200, "not reached" end
  routes["/yieldpcall"] = function() local ok = pcall(coroutine.yield, 1); return 200, tostring(ok) end
  routes["/health"] = function() return 200, "ok" end
  routes["/sleep"] = function(req) ml._http.sleep(q(req, "ms", 100) / 1000); return 200, "slept" end

  return function(req)
    local h = routes[req.path]
    if not h then return 404, { error = "no route " .. req.path } end
    req.route = req.path
    return h(req)
  end
end

return app
