-- The work of scripts/bench/search_jobs.sh: 20 random-search trials of a small
-- network (784-128-10, 3 epochs on 30000 Fashion-MNIST images, about half a second a trial) with JOBS worker processes.
--   moonlab search_jobs.lua JOBS [TRIALS] [THREADS=1]  -> "TIME <jobs> <seconds> <trials/s>"
-- (THREADS: the threads of the one process when JOBS = 1; workers always run one thread each)
local jobs = math.tointeger(tonumber(arg[1])) or 1
local trials = math.tointeger(tonumber(arg[2])) or 20
local nn, search = ml.nn, ml.search
ml.threads(math.tointeger(tonumber(arg[3])) or 1)
local train = ml.data.fashion_mnist()
local X, y = train.x:narrow(1, 1, 30000), train.y:narrow(1, 1, 30000)
local t0 = ml.now()
search.run(function(p)
  local model = nn.Sequential { nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10) }
  model:compile { optimizer = ml.optim.Adam(model:parameters(), { lr = p.lr }), loss = nn.CrossEntropyLoss() }
  local h = model:fit(X, y, { epochs = 3, batch_size = 64, validation_split = 0.2, verbose = 0 })
  return h.val_loss[#h.val_loss]
end, { lr = search.loguniform(1e-4, 1e-2) }, { method = "random", trials = trials, seed = 0, jobs = jobs, pruner = "none", verbose = false })
local dt = ml.now() - t0
print(string.format("TIME %d %.3f %.3f", jobs, dt, trials / dt))
