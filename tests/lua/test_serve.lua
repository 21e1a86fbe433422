-- The model server (ml.serve, serve/app.lua) on a real server on port 0, called over
-- loopback sockets with ml.http.request: answers equal the model's own predictions,
-- every error status, metrics, drift, the request log and the hooks.
package.path = "tests/lua/?.lua;" .. package.path
local H = require "serve_helpers"
local bundle = require "moonlab.serve.bundle"

local net_path = T.tmpname(".safetensors")
local net, X = H.save_net(net_path, 1, { name = "iris" })
local log_path = T.tmpname(".jsonl")
local srv = ml.serve { model = net_path, name = "iris", port = 0, workers = 2, quiet = true, max_rows = 50,
  body_limit = 4096, request_log = log_path, drift_threshold = 3 }
local url = srv.url

local function decode(body) return ml.json.decode(body) end
local function expect_error(status, want_status, body, pattern)
  T.eq(status, want_status, body)
  local obj = decode(body)
  T.ok(type(obj.error) == "string", "no JSON error in " .. body)
  if pattern then T.ok(obj.error:find(pattern, 1, true), "error '" .. obj.error .. "' lacks '" .. pattern .. "'") end
end

T.test("a network's predictions and probabilities equal model:predict's", function()
  local rows = X:narrow(1, 1, 7)
  local out = net:predict(rows)
  local want_p = ml.softmax(out, 2)
  local _, want = out:max(2)
  for _, route in ipairs({ "/predict", "/v1/models/iris:predict", "/v1/models/iris/versions/1:predict" }) do
    local s, body = H.post(url .. route, { inputs = rows:tolist(), probabilities = true })
    T.eq(s, 200, body)
    local r = decode(body)
    T.eq(r.model, "iris"); T.eq(r.version, 1)
    local wl = want:reshape(-1):tolist()
    for i = 1, 7 do T.eq(r.predictions[i], wl[i] - 1) end -- classes {0, 1, 2}
    T.all_near(ml.tensor(r.probabilities), want_p:to("float64"), 1e-6)
  end
  -- instances, one flat row, "return"
  local s, body = H.post(url .. "/predict", { instances = X[1]:tolist(), ["return"] = { "labels", "probabilities" } })
  T.eq(s, 200, body)
  T.eq(#decode(body).predictions, 1)
  T.eq(#decode(body).probabilities[1], 3)
end)

T.test("bad requests get 400 with what was wrong; routes 404 and 405", function()
  local s, b = H.post(url .. "/predict", '{"inputs": [[1, 2, 3, 4]')
  expect_error(s, 400, b, "byte")
  s, b = H.post(url .. "/predict", { inputs = { { 1, 2, 3 } } })
  expect_error(s, 400, b, "has 3 values, expected 4")
  s, b = H.post(url .. "/predict", '{"inputs": [[1, 2, 3, 4], [1, 2, 3, 1e999]]}')
  expect_error(s, 400, b, "row 2 value 4 is Infinity")
  s, b = H.post(url .. "/predict", '{"inputs": []}')
  expect_error(s, 400, b, "empty batch")
  s, b = H.post(url .. "/predict", '{"inputs": [[1, 2, 3, 4], [1, 2, 3]]}')
  expect_error(s, 400, b, "row 2")
  s, b = H.post(url .. "/predict", '{"inputs": [[1, 2, "x", 4]]}')
  expect_error(s, 400, b, "row 1")
  s, b = H.post(url .. "/predict", { input = { { 1, 2, 3, 4 } } })
  expect_error(s, 400, b, "did you mean 'inputs'")
  s, b = H.post(url .. "/predict", '[1, 2]')
  expect_error(s, 400, b)
  local many = {}
  for i = 1, 51 do many[i] = { 1, 2, 3, 4 } end
  s, b = H.post(url .. "/predict", { inputs = many })
  expect_error(s, 400, b, "too many rows: 51, at most 50")
  s, b = H.post(url .. "/predict", string.rep(" ", 5000) .. '{"inputs": [[1, 2, 3, 4]]}')
  T.eq(s, 413, b)
  s, b = H.post(url .. "/predict", { inputs = { { 1, 2, 3, 4 } }, probabilities = "yes" })
  expect_error(s, 400, b, "probabilities")
  s, b = H.post(url .. "/v1/models/irsi:predict", { inputs = { { 1, 2, 3, 4 } } })
  expect_error(s, 404, b, "did you mean 'iris'")
  s, b = H.post(url .. "/v1/models/iris/versions/9:predict", { inputs = { { 1, 2, 3, 4 } } })
  expect_error(s, 404, b, "no version 9")
  s, b = H.get(url .. "/nowhere")
  expect_error(s, 404, b, "no route")
  local hd
  s, b, hd = H.get(url .. "/predict")
  expect_error(s, 405, b)
  T.eq(hd.allow, "POST")
  s, b, hd = H.post(url .. "/health", "")
  T.eq(s, 405); T.eq(hd.allow, "GET")
  -- the server still answers
  s = H.post(url .. "/predict", { inputs = { { 1, 2, 3, 4 } } })
  T.eq(s, 200)
end)

T.test("health, ready and the model list with its signature", function()
  local s, b = H.get(url .. "/health")
  T.eq(s, 200)
  s, b = H.get(url .. "/ready")
  T.eq(s, 200, b)
  s, b = H.get(url .. "/v1/models")
  T.eq(s, 200, b)
  local m = decode(b).models[1]
  T.eq(m.name, "iris"); T.eq(m.active_version, 1); T.eq(m.versions[1], 1)
  T.eq(m.signature.input.features, 4); T.eq(m.signature.kind, "classifier")
  s, b = H.get(url .. "/v1/models/iris")
  T.eq(s, 200, b)
end)

T.test("/metrics parses; drift moves with shifted inputs and warns once", function()
  local shifted = (X:narrow(1, 1, 20) + 10):tolist()
  for _ = 1, 5 do T.eq((H.post(url .. "/predict", { inputs = shifted })), 200) end
  ml._stop.sleep(0.3) -- the workers add their sums every 0.25 s
  T.eq((H.post(url .. "/predict", { inputs = shifted })), 200)
  T.eq((H.post(url .. "/predict", { inputs = shifted })), 200)
  local s, text = H.get(url .. "/metrics")
  T.eq(s, 200)
  local m = H.prometheus(text)
  T.ok(H.sample(m, "moonlab_serve_predictions_total", { model = "iris", version = "1" }) >= 100)
  T.ok(m.moonlab_serve_batch_size_bucket or m.moonlab_serve_batch_size_count, "no batch size histogram")
  T.eq(H.sample(m, "moonlab_serve_model_version", { model = "iris" }), 1)
  T.ok(m.moonlab_serve_predicted_class_total, "no class counts")
  local score = H.sample(m, "moonlab_serve_drift_score", { model = "iris", feature = "x1" })
  T.ok(score and score > 3, "drift score of x1: " .. tostring(score))
  T.ok(H.sample(m, "moonlab_http_requests_total", { route = "/predict", code = "400" }), "no request counts by code")
  -- warned once for the crossing, however many flushes see it over the threshold
  T.eq(H.sample(m, "moonlab_serve_drift_warnings_total", { model = "iris", feature = "x1" }), 1)
  ml._stop.sleep(0.3)
  T.eq((H.post(url .. "/predict", { inputs = shifted })), 200)
  m = H.prometheus(select(2, H.get(url .. "/metrics")))
  T.eq(H.sample(m, "moonlab_serve_drift_warnings_total", { model = "iris", feature = "x1" }), 1)
end)

T.test("the request log holds JSON lines of inputs and predictions", function()
  ml._stop.sleep(1.1) -- a worker's buffer is written at least every second
  H.post(url .. "/predict", { inputs = { { 1, 2, 3, 4 } } })
  H.post(url .. "/predict", { inputs = { { 1, 2, 3, 4 } } })
  local text = T.read_file(log_path) or ""
  local lines = 0
  for line in text:gmatch("[^\n]+") do
    local r = decode(line)
    T.eq(r.model, "iris"); T.eq(r.version, 1)
    T.ok(type(r.inputs) == "table" and type(r.predictions) == "table" and r.time)
    lines = lines + 1
  end
  T.ok(lines >= 5, "request log lines: " .. lines)
end)

T.test("an estimator in a pipeline takes named fields; a schema violation names the field", function()
  local df = ml.data.load_iris()
  local names = {}
  for _, n in ipairs(df.columns) do if n ~= "target" then names[#names + 1] = n end end
  local frame = df:select(names)
  local y = df:column("target").values
  local pipe = ml.prep.Pipeline { { "scale", ml.prep.StandardScaler() }, { "model", ml.models.LogisticRegression() } }
  pipe:fit(frame, y)
  local path = T.tmpname(".safetensors")
  bundle.save(path, { model = pipe, schema = ml.data.schema_of(frame), train = frame, y = y, name = "flowers" })
  local s2 = ml.serve { model = path, port = 0, workers = 1, quiet = true }
  local rows = {}
  for i = 1, 5 do
    local r = {}
    for _, n in ipairs(names) do r[n] = df:column(n).values[i * 25] end
    rows[i] = r
  end
  local s, b = H.post(s2.url .. "/predict", { instances = rows, probabilities = true })
  T.eq(s, 200, b)
  local want = pipe:predict(frame)
  local r = decode(b)
  for i = 1, 5 do
    local w = want[i * 25]
    if ml.is_tensor(w) then w = w:item() end
    T.eq(r.predictions[i], w)
  end
  local bad = { [names[1]] = "tall" }
  for j = 2, #names do bad[names[j]] = 1.0 end
  s, b = H.post(s2.url .. "/predict", { instances = { rows[1], bad } })
  expect_error(s, 400, b, "row 2: field '" .. names[1] .. "'")
  s2:stop()
end)

T.test("hooks run in every worker; a hook with an upvalue is refused", function()
  -- with batching on: a hook's decoded rows of numbers batch as parsed ones do
  local s3 = ml.serve { model = net_path, port = 0, workers = 2, quiet = true, max_batch = 8,
    preprocess = function(req)
      local obj = ml.json.decode(req.body)
      return { inputs = { obj.flower } }
    end,
    postprocess = function(resp, req)
      resp.hooked = true
      resp.method = req.method
    end }
  for _ = 1, 4 do
    local s, b = H.post(s3.url .. "/predict", { flower = { 1, 2, 3, 4 } })
    T.eq(s, 200, b)
    local r = decode(b)
    T.eq(r.hooked, true); T.eq(r.method, "POST"); T.eq(#r.predictions, 1)
    local _, want = net:predict(ml.tensor({ { 1, 2, 3, 4 } }):to("float32")):max(2)
    T.eq(r.predictions[1], want:item() - 1) -- classes {0, 1, 2}
  end
  local m = H.prometheus(select(2, ml.http.request(s3.url .. "/metrics")))
  T.ok(m.moonlab_serve_batch_size_count, "the hook's rows did not go through the batcher")
  s3:stop()
  local secret = 3
  T.raises(function()
    ml.serve { model = net_path, port = 0, preprocess = function(req) return secret end }
  end, "upvalue 'secret'")
end)

T.test("a bearer token guards every route but /health", function()
  local s4 = ml.serve { model = net_path, port = 0, workers = 1, quiet = true, token = "s3cret" }
  local s, b = H.post(s4.url .. "/predict", { inputs = { { 1, 2, 3, 4 } } })
  T.eq(s, 401, b)
  s = H.post(s4.url .. "/predict", { inputs = { { 1, 2, 3, 4 } } }, { authorization = "Bearer s3cret" })
  T.eq(s, 200)
  s = H.get(s4.url .. "/health")
  T.eq(s, 200)
  s4:stop()
end)

T.test("ml.serve checks its options", function()
  T.raises(function() ml.serve { model = net_path, prot = 1 } end, "did you mean 'port'")
  T.raises(function() ml.serve { model = "/nonexistent/m.safetensors" } end, "cannot find")
  T.raises(function() ml.serve { port = 0 } end, "give model")
  T.raises(function() ml.serve { model = net_path, version = 2 } end, "no version 2")
end)

srv:stop()
