-- QA of issue 12 (search, recipes) and the GAN/image pieces of issue 10:
-- regression tests for what the QA pass found and fixed.
local search, models = ml.search, ml.models
local BIN = T.BIN:sub(1, 1) == "/" and T.BIN or (require("lfs").currentdir() .. "/" .. T.BIN)

local function sh(cmd)
  local h = io.popen(cmd .. " 2>&1")
  local out = h:read("a")
  local ok = h:close()
  return out, ok
end

local function iris()
  local df = ml.data.load_iris()
  return df:drop("target"):to_tensor(), df.target
end

T.test("RandomizedSearchCV over lists draws without replacement and cuts n_iter to the grid (as sklearn)", function()
  local X, y = iris()
  local rs = search.RandomizedSearchCV(models.KNeighborsClassifier{}, { n_neighbors = { 1, 3, 5 }, weights = { "uniform", "distance" } },
    { n_iter = 10, cv = 3, random_state = 0 })
  rs:fit(X, y)
  local seen = {}
  T.eq(#rs.cv_results_.params, 6)
  for _, p in ipairs(rs.cv_results_.params) do
    local key = p.n_neighbors .. p.weights
    T.ok(not seen[key], "candidate drawn twice: " .. key)
    seen[key] = true
  end
  -- fewer than the grid: n_iter distinct candidates
  local rs2 = search.RandomizedSearchCV(models.KNeighborsClassifier{}, { n_neighbors = { 1, 3, 5, 7, 9 } },
    { n_iter = 4, cv = 3, random_state = 1 })
  rs2:fit(X, y)
  T.eq(#rs2.cv_results_.params, 4)
  local s2 = {}
  for _, p in ipairs(rs2.cv_results_.params) do T.ok(not s2[p.n_neighbors]) s2[p.n_neighbors] = true end
  -- a list of spaces with a distribution: each candidate from one of them
  local rs3 = search.RandomizedSearchCV(models.KNeighborsClassifier{}, { { n_neighbors = { 1, 3 } }, { n_neighbors = search.int(6, 9) } },
    { n_iter = 6, cv = 3, random_state = 0 })
  rs3:fit(X, y)
  T.eq(#rs3.cv_results_.params, 6)
  for _, p in ipairs(rs3.cv_results_.params) do
    local k = p.n_neighbors
    T.ok(k == 1 or k == 3 or (k >= 6 and k <= 9), tostring(k))
  end
end)

T.test("GridSearchCV's cv_results_ has sklearn's split<i>_test_score (NaN for a failed candidate)", function()
  local X, y = iris()
  local gs = search.GridSearchCV(models.KNeighborsClassifier{}, { n_neighbors = { 1, -3 } }, { cv = 3 })
  gs:fit(X, y)
  local cr = gs.cv_results_
  T.ok(cr.split0_test_score and cr.split1_test_score and cr.split2_test_score, "no split scores")
  T.ok(cr.split3_test_score == nil)
  local mean = (cr.split0_test_score[1] + cr.split1_test_score[1] + cr.split2_test_score[1]) / 3
  T.near(mean, cr.mean_test_score[1], 1e-12)
  T.ok(cr.split0_test_score[2] ~= cr.split0_test_score[2], "a failed candidate's split score is NaN")
  T.eq(cr.rank_test_score[2], 2)
end)

T.test("search spaces reject infinite bounds", function()
  T.raises(function() search.uniform(0, math.huge) end, "search.uniform: needs finite bounds")
  T.raises(function() search.uniform(-math.huge, 0) end, "search.uniform: needs finite bounds")
  T.raises(function() search.loguniform(1e-3, math.huge) end, "search.loguniform: needs 0 < low < high < inf")
end)

T.test("gradient_penalty: a zero input gradient gives zero parameter gradients (PyTorch), not NaN", function()
  local L = ml.nn.Linear(3, 1)
  ml.no_grad(function() L.weight:zero_() end)
  local gp = ml.nn.gan.gradient_penalty(L, ml.randn{4, 3}, ml.randn{4, 3}, { seed = 1 })
  T.near(gp:item(), 10, 1e-6)
  gp:backward()
  for _, v in ipairs(L.weight.grad:reshape(-1):tolist()) do T.eq(v, 0) end
  -- and a nonzero gradient is unchanged: the value and gradient of PyTorch (checked by hand)
  local L2 = ml.nn.Linear(2, 1)
  ml.no_grad(function() L2.weight:copy_(ml.tensor{ { 3.0, 4.0 } }) L2.bias:zero_() end)
  local gp2 = ml.nn.gan.gradient_penalty(L2, ml.ones{2, 2}, ml.zeros{2, 2}, { weight = 1, alpha = ml.tensor{ 0.5, 0.5 } })
  T.near(gp2:item(), 16, 1e-5) -- ||w|| = 5: (5 - 1)^2
  gp2:backward()
  local g = L2.weight.grad:reshape(-1):tolist() -- d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
  T.near(g[1], 2 * 4 * 3 / 5, 1e-5)
  T.near(g[2], 2 * 4 * 4 / 5, 1e-5)
end)

local RECIPE = [[
return {
  params = { x = 0.5, k = 3 },
  space = { x = ml.search.uniform(0, 1) },
  run = function(p) return { loss = (p.x - 0.3) ^ 2 + p.k, acc = 1 - p.x } end,
}
]]

local function recipe_dir()
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/r.lua", "w")) f:write(RECIPE) f:close()
  return dir, "cd " .. T.quote(dir) .. " && "
end

T.test("a recipe refuses arguments that are not name=value (--k 5 would be dropped unseen)", function()
  local dir = recipe_dir()
  local out, ok = sh(string.format("%s %s/r.lua --k 5", BIN, T.quote(dir)))
  T.ok(not ok and out:find("unexpected argument '%-%-k'; a recipe takes name=value %(parameters: k, x%)"), out)
  out, ok = sh(string.format("%s %s/r.lua k", BIN, T.quote(dir)))
  T.ok(not ok and out:find("unexpected argument 'k'"), out)
  out, ok = sh(string.format("%s %s/r.lua k=4", BIN, T.quote(dir)))
  T.ok(ok and out:find("loss = 4%.04"), out)
end)

T.test("moonlab search: clean errors for a bad fixed value, and a journal of another metric or direction", function()
  local dir, cd = recipe_dir()
  local out, ok = sh(cd .. string.format("%s search r.lua k=abc", BIN))
  T.ok(not ok and out:find("moonlab search: r.lua: k must be a whole number") and not out:find("traceback"), out)
  out, ok = sh(cd .. string.format("%s search r.lua --trials 2 --metric loss --method random", BIN))
  T.ok(ok and out:find("minimize loss"), out)
  T.ok(io.open(dir .. "/r.search.csv"), "the CSV beside the journal")
  out, ok = sh(cd .. string.format("%s search r.lua --trials 3 --metric acc --direction minimize", BIN))
  T.ok(not ok and out:find("holds a search on the metric 'loss', not 'acc'") and not out:find("traceback"), out)
  out, ok = sh(cd .. string.format("%s search r.lua --trials 3 --metric loss --direction maximize", BIN))
  T.ok(not ok and out:find("holds a search to minimize loss, not to maximize") and not out:find("traceback"), out)
  out, ok = sh(cd .. string.format("%s search r.lua --direction up", BIN))
  T.ok(not ok and out:find("%-%-direction needs maximize or minimize, got up"), out)
  -- --journal FILE: the CSV goes beside it, not over NAME.search.csv of another search
  out, ok = sh(cd .. string.format("%s search r.lua --trials 1 --metric loss --method random --journal other.jsonl", BIN))
  T.ok(ok and out:find("trials written to other.csv"), out)
end)

T.test("the journal refuses a search on another metric (library form)", function()
  local path = T.tmpname(".jsonl")
  search.run(function(p) return { a = p.x, b = 1 } end, { x = search.uniform(0, 1) },
    { method = "random", trials = 1, metric = "a", journal = path, verbose = false, seed = 0 })
  T.raises(function()
    search.run(function(p) return { a = p.x, b = 1 } end, { x = search.uniform(0, 1) },
      { method = "random", trials = 2, metric = "b", journal = path, verbose = false, seed = 0 })
  end, "holds a search on the metric 'a', not 'b'")
  os.remove(path)
end)

T.test("moonlab search's default direction reads whole words: val_mape and gap_loss minimize", function()
  local dir, cd = recipe_dir()
  local f = assert(io.open(dir .. "/m.lua", "w"))
  f:write("return { params = {x = 0.5}, space = {x = ml.search.uniform(0, 1)}, run = function(p) return {val_mape = p.x, top1 = p.x} end }")
  f:close()
  local out = sh(cd .. string.format("%s search m.lua --trials 1 --metric val_mape --method random", BIN))
  T.ok(out:find("minimize val_mape"), out)
  out = sh(cd .. string.format("%s search m.lua --trials 1 --metric top1 --method random --journal t.jsonl", BIN))
  T.ok(out:find("maximize top1"), out)
end)

T.test("res:to_csv writes numbers that read back exactly (the best parameters reproduce from the file)", function()
  local res = search.run(function(p) return p.x end, { x = search.uniform(0, 1) }, { method = "random", trials = 3, seed = 2, verbose = false })
  local csv = T.tmpname(".csv")
  res:to_csv(csv)
  local f = io.open(csv) f:read("l") local row = f:read("l") f:close()
  local x = tonumber(row:match("^1,([^,]+),"))
  T.eq(x, res.trials[1].params.x)
  T.ok(tostring(res):find("%d%.%d%d%d%d%d%d? "), "the printed table stays short")
  os.remove(csv)
end)

T.test("a journal's cut last line is reported once, not twice", function()
  local dir = T.tmpdir()
  local script = dir .. "/cut.lua"
  local f = assert(io.open(script, "w"))
  f:write(string.format([[
local search, path = ml.search, %q
search.run(function(p) return p.x end, {x = search.uniform(0, 1)}, {method = "random", trials = 2, journal = path, verbose = false, seed = 0})
local f = io.open(path, "a") f:write('{"op":"finish","number":') f:close()
local r = search.run(function(p) return p.x end, {x = search.uniform(0, 1)}, {method = "random", trials = 3, journal = path, verbose = false, seed = 0})
print("trials", #r.trials, r.trials[3].state)
]], dir .. "/j.jsonl"))
  f:close()
  local out, ok = sh(string.format("%s %s", BIN, T.quote(script)))
  T.ok(ok and out:find("trials\t3\tcomplete"), out)
  local n = 0
  for _ in out:gmatch("a crash while writing") do n = n + 1 end
  T.eq(n, 1, out)
end)

T.test("a GridSearchCV clones, and is a classifier to an outer cross-validation (nested CV stratifies, as sklearn)", function()
  local X, y = iris()
  local gs = search.GridSearchCV(models.KNeighborsClassifier{}, { n_neighbors = { 1, 5 } }, { cv = 3 })
  local c = models.clone(gs)
  T.eq(c.__name, "search.GridSearchCV")
  T.ok(c.estimator ~= gs.estimator and c.space == gs.space)
  T.eq(gs.KIND, "classifier")
  -- iris is sorted by class: an unstratified outer KFold scored 0 on every fold
  local s = models.cross_val_score(gs, X, y, { cv = 3 }):tolist()
  T.near(s[1], 0.98, 1e-12) -- scikit-learn: [0.98, 0.94, 0.98] (the last fold has a tie at the 5th neighbour)
  T.near(s[2], 0.94, 1e-12)
  T.ok(s[3] > 0.9, tostring(s[3]))
end)

T.test("several metrics: refit names the one that picks the best (sklearn), mean_test_<name> of each", function()
  local X, y = iris()
  T.raises(function() search.GridSearchCV(models.KNeighborsClassifier{}, { n_neighbors = { 1, 5 } }, { scoring = { "accuracy", "f1_macro" } }) end,
    "refit must name the one that picks the best")
  T.raises(function() search.GridSearchCV(models.KNeighborsClassifier{}, { n_neighbors = { 1 } }, { scoring = { "accuracy", "f1_macro" }, refit = "f1" }) end,
    "unknown refit metric 'f1'")
  T.raises(function() search.GridSearchCV(models.KNeighborsClassifier{}, { n_neighbors = { 1 } }, { scoring = "accuracy", refit = "accuracy" }) end,
    "refit = 'accuracy' names a metric")
  local gs = search.GridSearchCV(models.KNeighborsClassifier{}, { n_neighbors = { 1, 5 } },
    { cv = 3, scoring = { "accuracy", "f1_macro" }, refit = "f1_macro" })
  gs:fit(X, y)
  local cr = gs.cv_results_
  T.ok(cr.mean_test_accuracy and cr.mean_test_f1_macro, "per-metric means")
  for i = 1, 2 do T.near(cr.mean_test_score[i], cr.mean_test_f1_macro[i], 1e-12) end
  T.ok(gs.best_estimator_ ~= nil)
  local one = search.GridSearchCV(models.KNeighborsClassifier{}, { n_neighbors = { 1, 5 } }, { cv = 3, scoring = { "accuracy" } })
  one:fit(X, y)
  local plain = search.GridSearchCV(models.KNeighborsClassifier{}, { n_neighbors = { 1, 5 } }, { cv = 3, scoring = "accuracy" }):fit(X, y)
  T.near(one.best_score_, plain.best_score_, 1e-12)
end)

T.test("gradient_penalty: a critic without second derivatives is an error at the caller's line, naming the penalty", function()
  local D = ml.nn.Sequential { ml.nn.Conv2d(1, 2, 3), ml.nn.AvgPool2d(2), ml.nn.Flatten(), ml.nn.Linear(18, 1) }
  local ok, err = pcall(ml.nn.gan.gradient_penalty, D, ml.randn{2, 1, 8, 8}, ml.randn{2, 1, 8, 8}, { seed = 1 })
  if not ok then -- (once avg_pool2d has its double backward, this passes through)
    T.ok(tostring(err):find("gan.gradient_penalty: the critic's gradient must itself be differentiable: ml.grad: ", 1, true), err)
    T.ok(not tostring(err):find("gan.lua", 1, true), err)
  end
end)

T.test("load_png: a valid header too large to allocate says so (not 'not a valid PNG file: out of memory')", function()
  local function crc32(s)
    local crc = 0xFFFFFFFF
    for i = 1, #s do
      crc = crc ~ s:byte(i)
      for _ = 1, 8 do crc = (crc & 1) == 1 and ((crc >> 1) ~ 0xEDB88320) or (crc >> 1) end
    end
    return crc ~ 0xFFFFFFFF
  end
  local function chunk(t, d) return string.pack(">I4", #d) .. t .. d .. string.pack(">I4", crc32(t .. d)) end
  local path = T.tmpname(".png")
  local f = assert(io.open(path, "wb"))
  f:write("\137PNG\r\n\26\n", chunk("IHDR", string.pack(">I4I4BBBBB", 1000000, 1000000, 8, 6, 0, 0, 0)),
    chunk("IDAT", "\0\0\0\0"), chunk("IEND", ""))
  f:close()
  T.raises(function() ml.image.load_png(path) end, "is a 1000000 x 1000000 PNG with 4 channels: too large to load")
  os.remove(path)
end)

T.test("a journal with damaged records (a number that is a string, a value that is text) skips them with a warning", function()
  local path = T.tmpname(".jsonl")
  local f = assert(io.open(path, "w"))
  f:write('{"op":"study","direction":"minimize","seed":5,"params":["x"],"method":"random"}\n')
  f:write('{"op":"trial","number":"two","params":5}\n')
  f:write('{"op":"trial","number":1,"params":{"x":0.5},"seed":3,"pid":1,"host":"elsewhere"}\n')
  f:write('{"op":"finish","number":1,"state":"complete","value":"abc"}\n')
  f:write('{"op":"trial","number":-3,"params":{"x":0.5}}\n')
  f:write('[1,2,3]\n')
  f:close()
  local r = search.run(function(p) return p.x end, { x = search.uniform(0, 1) },
    { method = "tpe", trials = 4, journal = path, verbose = false })
  T.eq(#r.trials, 4)
  T.eq(r.trials[1].state, "running") -- another host's trial: not ours to call stale
  for i = 2, 4 do T.eq(r.trials[i].state, "complete") end
  os.remove(path)
end)

T.test("moonlab search: bad options, a missing recipe and a file that is no journal are one clean line each", function()
  local dir, cd = recipe_dir()
  local f = assert(io.open(dir .. "/garbage.jsonl", "w")) f:write("garbage\n") f:close()
  local cases = {
    { "search r.lua --trials 0", "%-%-trials needs a whole number >= 1, got 0" },
    { "search r.lua --method gird", "unknown %-%-method 'gird' %(did you mean grid%?%)" },
    { "search r.lua --seed abc", "%-%-seed needs a whole number, got abc" },
    { "search r.lua --pruner foo", "unknown %-%-pruner 'foo'" },
    { "search nothere.lua", "moonlab search: recipe.load: cannot open nothere.lua" },
    { "search --show garbage.jsonl", "'garbage.jsonl' is not a search journal" },
    { "search --show .", "cannot read '.'" },
  }
  for _, c in ipairs(cases) do
    local out, ok = sh(cd .. BIN .. " " .. c[1])
    T.ok(not ok and out:find(c[2]) and not out:find("traceback"), c[1] .. ": " .. out)
  end
end)

T.test("a journal's shared lock opens read-only (a read-only journal can be shown) and creates nothing", function()
  local path = T.tmpname(".jsonl")
  T.ok(not pcall(ml._journal.lock, path, false))
  T.ok(io.open(path) == nil, "a shared lock created the file")
  local j = ml._journal.lock(path, true) -- the exclusive one creates it
  j:append('{"op":"study","direction":"minimize","params":[]}\n')
  j:unlock()
  local r = ml._journal.lock(path, false)
  T.ok(r:read(0):find('"op":"study"', 1, true))
  r:unlock()
  os.remove(path)
end)

T.test("recipe.check: a space that draws another type than the default is an error up front (not every trial failing)", function()
  local function check(space, params)
    return ml.recipe.check({ params = params or { h = 256, lr = 0.1, opt = "adam", flag = false, layers = { 64 } }, space = space, run = print }, "r.lua")
  end
  T.raises(function() check { h = search.uniform(1, 5) } end, "r.lua: the space of 'h' draws floats (uniform(1, 5)), but its default 256 is a whole number; use ml.search.int")
  T.raises(function() check { h = { 64, 128.5 } } end, "the space of 'h' holds 128.5, but its default 256 is a whole number")
  T.raises(function() check { opt = { "adam", 3 } } end, "the space of 'opt' holds 3, but its default adam is a string")
  T.raises(function() check { flag = { 1, 0 } } end, "the space of 'flag' holds 1, but its default false is a boolean")
  T.raises(function() check { opt = search.loguniform(1e-3, 1) } end, "draws floats")
  T.raises(function() check "x" end, "space must be a table")
  check { h = search.int(1, 5), lr = search.int(1, 3), opt = { "adam", "sgd" }, flag = { true, false },
    layers = { { 64 }, { 128, 64 } } }
  check { lr = { 1, 0.5 }, opt = search.fixed("sgd") }
end)

T.test("search.run prunes with the median pruner by default, as Optuna (and as its help and moonlab search say)", function()
  local function objective(p, t)
    for s = 1, 5 do
      t:report(s, p.q * s)
      if t:should_prune() then t:prune() end
    end
    return p.q * 5
  end
  local res = search.run(objective, { q = search.uniform(0, 1) }, { method = "random", trials = 20, seed = 3, verbose = false })
  local pruned = 0
  for _, t in ipairs(res.trials) do if t.state == "pruned" then pruned = pruned + 1 end end
  T.ok(pruned > 0, "no trial pruned by default")
  local off = search.run(objective, { q = search.uniform(0, 1) }, { method = "random", trials = 20, seed = 3, verbose = false, pruner = "none" })
  for _, t in ipairs(off.trials) do T.eq(t.state, "complete") end
end)

T.test("RandomizedSearchCV warns when n_iter is larger than its grid of lists (sklearn's warning)", function()
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/w.lua", "w"))
  f:write([[
local df = ml.data.load_iris()
local rs = ml.search.RandomizedSearchCV(ml.models.KNeighborsClassifier{}, {n_neighbors = {1, 3}}, {n_iter = 5, cv = 3})
rs:fit(df:drop("target"):to_tensor(), df.target)
print("candidates", #rs.cv_results_.params)
]])
  f:close()
  local out, ok = sh(BIN .. " " .. T.quote(dir .. "/w.lua"))
  T.ok(ok and out:find("candidates\t2"), out)
  T.ok(out:find("search.RandomizedSearchCV:fit: the space holds 2 candidates, fewer than n_iter = 5; running 2", 1, true), out)
end)
