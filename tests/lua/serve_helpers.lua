-- Helpers of the model server's tests: small models saved as bundles, a client, a
-- Prometheus text parser.
local H = {}
local bundle = require "moonlab.serve.bundle"

-- A small classifier network on 4 features, 3 classes (untrained weights are fine: the
-- tests compare the server's answers with the model's own predictions).
function H.net(seed, d, k)
  ml.seed(seed or 1)
  local nn = ml.nn
  return nn.Sequential { nn.Linear(d or 4, 8), nn.ReLU(), nn.Linear(8, k or 3) }
end

-- Iris: a network bundle with training statistics and classes 1..3.
function H.iris()
  local df = ml.data.load_iris()
  local names = {}
  for _, n in ipairs(df.columns) do if n ~= "target" then names[#names + 1] = n end end
  local X = df:to_tensor(names):to("float32")
  local y = df:to_tensor({ "target" }):reshape(-1)
  return X, y, names, df
end

function H.save_net(path, seed, opts)
  opts = opts or {}
  local X, y = H.iris()
  local m = H.net(seed)
  bundle.save(path, { model = m, train = X, y = y, classes = { 0, 1, 2 }, name = opts.name, version = opts.version })
  return m, X
end

-- Parses Prometheus text exposition: {name = {{labels = {...}, value = v}, ...}}, and raises on a bad line.
function H.prometheus(text)
  local out, types = {}, {}
  for line in text:gmatch("[^\n]+") do
    if line:match("^# TYPE ") then
      local n, t = line:match("^# TYPE ([%w_:]+) (%a+)$")
      assert(n, "bad TYPE line: " .. line)
      types[n] = t
    elseif line:match("^#") then
    else
      local name, rest = line:match("^([%a_:][%w_:]*)(.*)$")
      assert(name, "bad sample line: " .. line)
      local labels = {}
      if rest:sub(1, 1) == "{" then
        local body, after = rest:match("^{(.-)}(.*)$")
        assert(body, "bad labels: " .. line)
        for k, v in body:gmatch('([%a_][%w_]*)="(.-)"') do labels[k] = v end
        rest = after
      end
      local v = rest:match("^%s+(%S+)")
      assert(v, "no value: " .. line)
      local num = tonumber(v) or (v == "+Inf" and math.huge) or (v == "NaN" and 0 / 0)
      assert(num, "bad value: " .. line)
      out[name] = out[name] or {}
      table.insert(out[name], { labels = labels, value = num })
    end
  end
  return out, types
end

-- The value of the sample of name whose labels include want (or nil).
function H.sample(parsed, name, want)
  for _, s in ipairs(parsed[name] or {}) do
    local ok = true
    for k, v in pairs(want or {}) do if s.labels[k] ~= v then ok = false end end
    if ok then return s.value end
  end
end

function H.post(url, body, headers)
  local h = { ["content-type"] = "application/json" }
  for k, v in pairs(headers or {}) do h[k] = v end
  return ml.http.request { method = "POST", url = url, body = type(body) == "table" and ml.json.encode(body) or body,
    headers = h, timeout = 10 }
end

function H.get(url, headers)
  return ml.http.request { method = "GET", url = url, headers = headers, timeout = 10 }
end

return H
