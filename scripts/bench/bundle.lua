-- bundle: one row through a bundle's fast path (b:predict_tensor) against model:predict on the same
-- Fashion-MNIST MLP (784-512-10), and b:predict on a decoded JSON row (rows() + decode) for scale.
-- One thread, ROUNDS rounds alternating the sides, N calls each; prints each side's median per call.
local N = tonumber(os.getenv("N") or "20000")
local ROUNDS = tonumber(os.getenv("ROUNDS") or "7")
ml.threads(1)
local nn, bundle = ml.nn, ml.serve.bundle
ml.seed(0)
local net = nn.Sequential{ nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10) }
net:eval()
local path = os.tmpname() .. ".safetensors"
bundle.save(path, { model = net, classes = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, train = ml.rand(100, 784) })
local b = bundle.load(path)
os.remove(path)
local x = ml.rand(1, 784)
local row = { x[1]:tolist() }
local clock = os.clock
local function per_call(f)
  local t0 = clock()
  for _ = 1, N do f() end
  return (clock() - t0) / N * 1e6
end
local sides = {
  { "model:predict(x)", function() return net:predict(x) end },
  { "b:predict_tensor(x)", function() return b:predict_tensor(x) end },
  { "b:predict(json row)", function() return b:predict(row) end },
}
local times = {}
for _, s in ipairs(sides) do times[s[1]] = {} end
for _ = 1, ROUNDS do
  for _, s in ipairs(sides) do table.insert(times[s[1]], per_call(s[2])) end
end
local function median(t) table.sort(t) return t[(#t + 1) // 2] end
local base = median(times["model:predict(x)"])
for _, s in ipairs(sides) do
  local m = median(times[s[1]])
  print(string.format("%-22s %8.2f us/call  (%+.2f us vs model:predict, ratio %.3f)", s[1], m, m - base, m / base))
end
