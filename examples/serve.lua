-- Serving a model: train a small network on the iris flowers, save it as a
-- bundle (the model, its training statistics and classes), serve it with
-- ml.serve on a free port, and ask it for predictions over HTTP as a client
-- would, then read its /metrics. `moonlab serve iris.safetensors` serves the same
-- file from the command line.
--   moonlab examples/serve.lua [epochs=200] [workers=2]
local nn = ml.nn
local epochs = ml.overrides.epochs or 200
local workers = ml.overrides.workers or 2

ml.seed(0)
local df = ml.data.load_iris()
local features = {}
for _, name in ipairs(df.columns) do if name ~= "target" then features[#features + 1] = name end end
local X = df:to_tensor(features):to("float32")
local y = df:column("target").values + 1 -- classes 1..3
local model = nn.Sequential { nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3) }
model:compile { loss = nn.CrossEntropyLoss(), optimizer = ml.optim.Adam(model:parameters(), { lr = 0.02 }) }
model:fit(ml.prep.StandardScaler():fit_transform(X):to("float32"), y, { epochs = epochs, batch_size = 32, verbose = 0 })

-- the scaler goes in the bundle, so the server takes raw measurements
local scaler = ml.prep.StandardScaler():fit(X)
local path = os.tmpname() .. ".safetensors"
ml.serve.bundle.save(path, { model = model, pipeline = scaler, train = X, y = y, name = "iris", version = 1 })

local srv = ml.serve { model = path, port = 0, workers = workers, quiet = true }
print("serving " .. srv.url)
local status, body = ml.http.request { method = "POST", url = srv.url .. "/v1/models/iris:predict",
  body = ml.json.encode({ inputs = { { 5.1, 3.5, 1.4, 0.2 }, { 6.7, 3.0, 5.2, 2.3 } }, probabilities = true }),
  headers = { ["content-type"] = "application/json" } }
print(status, body)
local reply = ml.json.decode(body)
print(string.format("predicted classes %s and %s", reply.predictions[1], reply.predictions[2]))
local _, metrics = ml.http.request { url = srv.url .. "/metrics" }
for line in metrics:gmatch("[^\n]+") do
  if line:match("^moonlab_serve_predictions_total") then print(line) end
end
srv:stop()
os.remove(path)
