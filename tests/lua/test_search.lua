-- ml.search: spaces, the grid / random / TPE samplers, pruning and search.run.
local search = ml.search

local function branin(p)
  local x, y = p.x, p.y
  local b, c, t = 5.1 / (4 * math.pi ^ 2), 5 / math.pi, 1 / (8 * math.pi)
  return (y - b * x ^ 2 + c * x - 6) ^ 2 + 10 * (1 - t) * math.cos(x) + 10
end

T.test("spaces: distributions draw inside their bounds; plain values and lists", function()
  local sp = search.space.compile("t", {
    lr = search.loguniform(1e-4, 1e-1), n = search.int(2, 64, { log = true }), k = search.int(0, 10, { step = 2 }),
    act = search.choice { "relu", "tanh" }, epochs = 5, depth = { 2, 4, 8 },
  })
  local r = require("moonlab.core.rng").new(7)
  for _ = 1, 200 do
    local p = search.space.draw(sp, function(_, d) return d:sample(r) end)
    T.ok(p.lr >= 1e-4 and p.lr <= 1e-1, p.lr)
    T.ok(math.type(p.n) == "integer" and p.n >= 2 and p.n <= 64, p.n)
    T.ok(p.k % 2 == 0 and p.k >= 0 and p.k <= 10, p.k)
    T.ok(p.act == "relu" or p.act == "tanh")
    T.eq(p.epochs, 5)
    T.ok(p.depth == 2 or p.depth == 4 or p.depth == 8)
  end
end)

T.test("spaces: clear errors", function()
  T.raises(function() search.uniform(1, 0) end, "search.uniform: low (1) must be below high (0)")
  T.raises(function() search.loguniform(0, 1) end, "needs 0 < low < high")
  T.raises(function() search.int(0, 9, { step = 2 }) end, "must be a multiple of step")
  T.raises(function() search.choice {} end, "non-empty list")
  T.raises(function() search.uniform(0, 1, { whne = {} }) end, "did you mean 'when'")
  T.raises(function() search.space.compile("f", { m = search.uniform(0, 1, { when = { optimzer = "sgd" } }), optimizer = { "sgd" } }) end,
    "names 'optimzer', which is not a parameter (did you mean 'optimizer'?)")
  T.raises(function()
    search.space.compile("f", { a = search.choice({ 1 }, { when = { b = 1 } }), b = search.choice({ 1 }, { when = { a = 1 } }) })
  end, "in a cycle")
  T.raises(function() search.run(function() return 1 end, { x = search.uniform(0, 1) }, { method = "tpee" }) end,
    "did you mean 'tpe'")
end)

T.test("grid: every combination once, conditions respected, in order", function()
  local seen = {}
  local res = search.run(function(p)
    local key = p.opt .. ":" .. tostring(p.mom) .. ":" .. p.n
    T.ok(not seen[key], key) seen[key] = true
    if p.opt == "adam" then T.eq(p.mom, nil) end
    return p.n
  end, { opt = { "sgd", "adam" }, mom = search.choice({ 0, 0.9 }, { when = { opt = "sgd" } }), n = search.int(1, 3) },
    { method = "grid", verbose = false })
  T.eq(#res.trials, 9)
  T.eq(res.best_value, 1)
  T.raises(function() search.run(function() return 1 end, { x = search.uniform(0, 1) }, { method = "grid", verbose = false }) end,
    "is continuous")
end)

T.test("random and TPE: reproducible with a seed; TPE beats random on Branin", function()
  local sp = { x = search.uniform(-5, 10), y = search.uniform(0, 15) }
  local a = search.run(branin, sp, { method = "tpe", trials = 30, seed = 5, verbose = false })
  local b = search.run(branin, sp, { method = "tpe", trials = 30, seed = 5, verbose = false })
  for i = 1, 30 do T.eq(a.trials[i].params.x, b.trials[i].params.x) end
  local sum = { random = 0, tpe = 0 }
  for seed = 1, 10 do
    for m in pairs(sum) do
      sum[m] = sum[m] + search.run(branin, sp, { method = m, trials = 50, seed = seed, verbose = false }).best_value
    end
  end
  T.ok(sum.tpe < sum.random, string.format("TPE mean %.3f vs random %.3f", sum.tpe / 10, sum.random / 10))
  T.ok(sum.tpe / 10 < 1.5, sum.tpe / 10) -- the minimum is 0.398
end)

T.test("GP and genetic search beat random search on Branin", function()
  local sp = { x = search.uniform(-5, 10), y = search.uniform(0, 15) }
  local sum = { random = 0, gp = 0, genetic = 0 }
  for seed = 1, 5 do
    for m in pairs(sum) do
      sum[m] = sum[m] + search.run(branin, sp, { method = m, trials = 40, seed = seed, verbose = false }).best_value
    end
  end
  T.ok(sum.gp < sum.random, string.format("GP mean %.3f vs random %.3f", sum.gp / 5, sum.random / 5))
  T.ok(sum.genetic < sum.random, string.format("genetic mean %.3f vs random %.3f", sum.genetic / 5, sum.random / 5))
  -- mixed spaces work too (one-hot choices, integers, conditions)
  local res = search.run(function(p) return (p.k - 3) ^ 2 + (p.kind == "b" and (p.z - 0.5) ^ 2 or 1) end,
    { kind = { "a", "b" }, k = search.int(0, 10), z = search.uniform(0, 1, { when = { kind = "b" } }) },
    { method = "gp", trials = 25, seed = 1, verbose = false })
  T.ok(res.best_value < 1.5, res.best_value)
  local g = search.run(function(p) return (p.k - 3) ^ 2 end, { k = search.int(0, 10), c = { 1, 2 } },
    { method = "genetic", sampler = { population_size = 6 }, trials = 30, seed = 1, verbose = false })
  T.ok(g.best_value <= 1, g.best_value)
  T.raises(function() search.GeneticSampler { population_size = 1 } end, "population_size")
end)

T.test("TPE on integer, categorical and conditional parameters", function()
  local function f(p) -- best: kind b, k = 7, z near 0.3
    local v = (p.k - 7) ^ 2
    if p.kind == "a" then v = v + 5 else v = v + (p.z - 0.3) ^ 2 * 10 end
    return v
  end
  local sp = { kind = { "a", "b" }, k = search.int(0, 20), z = search.uniform(0, 1, { when = { kind = "b" } }) }
  local res = search.run(f, sp, { method = "tpe", trials = 60, seed = 2, verbose = false })
  T.eq(res.best_params.kind, "b")
  T.ok(math.abs(res.best_params.k - 7) <= 1, res.best_params.k)
  T.ok(res.best_value < 1.5, res.best_value)
  for _, t in ipairs(res.trials) do
    if t.params.kind == "a" then T.eq(t.params.z, nil) else T.ok(t.params.z ~= nil) end
  end
end)

T.test("search.run: failures, pruning, metrics tables, target, seeds", function()
  local res = search.run(function(p) if p.x > 0.5 then error("boom") end return p.x end,
    { x = search.uniform(0, 1) }, { trials = 8, seed = 1, verbose = false })
  local failed = 0
  for _, t in ipairs(res.trials) do if t.state == "failed" then failed = failed + 1 T.ok(t.error:find("boom"), t.error) end end
  T.ok(failed > 0 and failed < 8)
  T.ok(res.best_value <= 0.5)
  local pr = search.run(function(p, t)
    for s = 1, 5 do
      t:report(s, p.x * s)
      if t:should_prune() then t:prune() end
    end
    return p.x
  end, { x = search.uniform(0, 1) }, { trials = 20, pruner = "median", seed = 3, verbose = false })
  local pruned = 0
  for _, t in ipairs(pr.trials) do if t.state == "pruned" then pruned = pruned + 1 end end
  T.ok(pruned > 0, "nothing pruned")
  local m = search.run(function(p) return { acc = p.x, loss = 1 - p.x } end, { x = search.uniform(0, 1) },
    { trials = 5, metric = "acc", direction = "maximize", seed = 1, verbose = false })
  T.eq(m.best_trial.metrics.loss, 1 - m.best_value)
  local bad = search.run(function() return { a = 1, b = 2 } end, { x = 1 }, { trials = 1, verbose = false })
  T.ok(bad.trials[1].error:find("say which one to search with metric"), bad.trials[1].error)
  local tg = search.run(function(p) return p.x end, { x = search.uniform(0, 1) },
    { trials = 100, target = 0.2, seed = 4, verbose = false })
  T.ok(#tg.trials < 100 and tg.best_value <= 0.2)
  -- each trial's seed is set: the same network initialization for the same trial
  local draws = {}
  search.run(function(p, t) draws[t.number] = ml.randn(1)[1] return 0 end, { x = 1 }, { trials = 2, seed = 9, verbose = false })
  local again = {}
  search.run(function(p, t) again[t.number] = ml.randn(1)[1] return 0 end, { x = 1 }, { trials = 2, seed = 9, verbose = false })
  T.eq(draws[2], again[2])
  T.ok(draws[1] ~= draws[2])
end)

T.test("results: the table prints; CSV and JSON files", function()
  local res = search.run(function(p) return p.x end, { x = search.uniform(0, 1), act = { "relu", "tanh" } },
    { trials = 4, seed = 1, verbose = false })
  local s = tostring(res)
  T.ok(s:find("trial") and s:find("best: trial"), s)
  local csv, json = T.tmpname(".csv"), T.tmpname(".json")
  res:to_csv(csv)
  res:to_json(json)
  local f = io.open(csv) local text = f:read("a") f:close()
  T.ok(text:find("^trial,act,x,value,state,seconds,error\n"), text)
  f = io.open(json) local j = ml.json.decode(f:read("a")) f:close()
  T.eq(#j.trials, 4)
  T.eq(j.best.value, res.best_value)
end)

T.test("successive halving and Hyperband prune the slow learners and keep the good ones", function()
  -- a trial's curve: value(step) = quality * (1 - 0.5^step); the best qualities must survive to the end
  local function objective(p, t)
    local v
    for s = 1, 27 do
      v = p.q * (1 - 0.5 ^ s)
      t:report(s, v)
      if t:should_prune() then t:prune() end
    end
    return v
  end
  for _, pr in ipairs({ "halving", "hyperband", search.HyperbandPruner { max_resource = 27 } }) do
    local res = search.run(objective, { q = search.uniform(0, 1) },
      { method = "random", trials = 30, seed = 2, pruner = pr, direction = "maximize", verbose = false })
    local pruned, best_q = 0, 0
    for _, t in ipairs(res.trials) do
      if t.state == "pruned" then pruned = pruned + 1 end
      best_q = math.max(best_q, t.params.q)
    end
    T.ok(pruned >= 10, tostring(pr) .. ": only " .. pruned .. " pruned")
    T.ok(res.best_params.q > 0.9 * best_q, string.format("%s: best kept q %.3f of %.3f", tostring(pr), res.best_params.q, best_q))
  end
  T.raises(function() search.run(objective, { q = 1 }, { pruner = "asha", verbose = false }) end, "unknown pruner 'asha'")
end)

T.test("fit inside a trial reports each epoch's metric and stops a pruned trial by itself", function()
  local nn = ml.nn
  ml.seed(0)
  local X = ml.randn(256, 4)
  local y = (X:select(2, 1) * 2 - X:select(2, 2)):reshape(256, 1)
  local epochs_run = {}
  local res = search.run(function(p, trial)
    local model = nn.Sequential { nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1) }
    model:compile { optimizer = ml.optim.Adam(model:parameters(), { lr = p.lr }), loss = nn.MSELoss() }
    local h = model:fit(X, y, { epochs = 6, batch_size = 32, validation_split = 0.25, verbose = 0 })
    epochs_run[trial.number] = h.epochs
    return h.val_loss[#h.val_loss]
  end, { lr = { 1e-7, 3e-2 } }, { method = "random", trials = 14, seed = 1, metric = "val_loss", pruner = "median", verbose = false })
  local pruned, bad = 0, 0
  for _, t in ipairs(res.trials) do
    T.eq(#t.steps, epochs_run[t.number]) -- one report per epoch
    if t.state == "pruned" then
      pruned = pruned + 1
      if t.params.lr == 1e-7 then bad = bad + 1 end
      T.ok(epochs_run[t.number] < 6, "a pruned trial stopped early")
    end
  end
  T.ok(pruned > 0 and bad * 2 > pruned, string.format("%d pruned, %d of them with the useless rate", pruned, bad))
  T.eq(res.best_params.lr, 3e-2)
end)

T.test("jobs = 2: trials run in two worker processes, each trial once, failures recorded", function()
  local res = search.run(function(p)
    if p.x > 0.8 then error("too far") end
    return { loss = (p.x - 0.3) ^ 2, pid = ml._proc.getpid() }
  end, { x = search.uniform(0, 1) }, { trials = 12, seed = 2, jobs = 2, metric = "loss", verbose = false })
  T.eq(#res.trials, 12)
  local pids, states = {}, {}
  for i, t in ipairs(res.trials) do
    T.eq(t.number, i)
    states[t.state] = (states[t.state] or 0) + 1
    if t.metrics then pids[t.metrics.pid] = true end
    if t.state == "failed" then T.ok(t.error:find("too far"), t.error) end
  end
  local n = 0 for _ in pairs(pids) do n = n + 1 end
  T.ok(n >= 1 and not pids[ml._proc.getpid()], "the trials ran in workers")
  T.ok((states.complete or 0) > 0)
end)

T.test("param_importances: the parameter that drives the objective comes first; they sum to 1", function()
  local res = search.run(function(p) return 10 * (p.a - 0.5) ^ 2 + 0.1 * p.b + (p.c == "x" and 1 or 0) end,
    { a = search.uniform(0, 1), b = search.uniform(0, 1), c = { "x", "y" }, k = 3 },
    { method = "random", trials = 60, seed = 1, verbose = false })
  local imp = search.param_importances(res)
  T.eq(imp[1].name, "a")
  T.eq(#imp, 3) -- k never varied
  local s = 0
  for _, e in ipairs(imp) do s = s + e.importance end
  T.near(s, 1, 1e-9)
  T.raises(function() search.param_importances({ trials = {} }) end, "needs at least 2 finished trials")
end)
