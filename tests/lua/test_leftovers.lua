-- The measured gaps of issues 11 and 12: TPE's Parzen estimator against
-- Optuna 3.1's (fixtures from scripts/gen_tpe_fixtures.py), the lone last job
-- of core/workers on every thread, the live table of a search, and recipe
-- errors without a traceback.
local TPE = require("moonlab.search.samplers.tpe").TPESampler
local normal = require "moonlab.search.samplers.normal"
local workers = require "moonlab.core.workers"
local display = require "moonlab.search.display"

local fixture = ml.json.decode(T.read_file("tests/fixtures/search/tpe_parzen.json"))

T.test("normal.mass: the standard normal's mass of an interval, accurate far in the tails", function()
  T.near(normal.mass(-1, 1), 0.682689492137086, 1e-7)
  T.near(normal.mass(0, math.huge), 0.5, 1e-7)
  local p89 = 6.220960574271784e-16 - 1.128588405953840e-19 -- P(Z > 8) - P(Z > 9); 1 - cdf would give 0 there
  T.near(normal.mass(8, 9) / p89, 1, 1e-6)
  T.near(normal.mass(-9, -8) / p89, 1, 1e-6)
end)

T.test("TPE's Parzen estimator gives Optuna 3.1's log-densities (float, int, categorical)", function()
  for _, c in ipairs(fixture.cases) do
    if c.kind == "float" or c.kind == "int" then
      local low, high, q = c.low, c.high, nil
      if c.kind == "int" then low, high, q = c.low - 0.5, c.high + 0.5, 1 end
      local p = TPE._parzen(c.obs, TPE._weights(#c.obs), low, high, 1.0, true)
      if c.sigmas then T.all_near(p.sigmas, c.sigmas, 1e-12) end
      for i, x in ipairs(c.x) do
        T.near(TPE._logpdf(p, x, q, true), c.logpdf[i], 1e-6)
      end
    else
      local trials = {}
      for i, o in ipairs(c.obs) do trials[i] = { params = { k = c.choices[o] } } end
      local w = TPE._categorical({ prior_weight = 1.0 }, { choices = c.choices }, trials, "k")
      T.all_near(w, c.prob, 1e-12)
    end
  end
end)

T.test("TPE: width_weighted = false is the exact mixture density (integrates to 1)", function()
  local p = TPE._parzen({ 0.2, 0.25, 0.7 }, TPE._weights(3), 0, 1, 1.0, true)
  local s, n = 0, 2000
  for i = 1, n do s = s + math.exp(TPE._logpdf(p, (i - 0.5) / n, nil, false)) / n end
  T.near(s, 1, 1e-4)
  T.raises(function() TPE { width_weighted = 1 } end, "width_weighted")
end)

T.test("TPE still beats random on Branin and stays reproducible", function()
  local search = ml.search
  local sp = { x1 = search.uniform(-5, 10), x2 = search.uniform(0, 15) }
  local function branin(p)
    local b, c, t = 5.1 / (4 * math.pi ^ 2), 5 / math.pi, 1 / (8 * math.pi)
    return (p.x2 - b * p.x1 ^ 2 + c * p.x1 - 6) ^ 2 + 10 * (1 - t) * math.cos(p.x1) + 10
  end
  local sum = { tpe = 0, random = 0 }
  for seed = 1, 6 do
    for m in pairs(sum) do
      sum[m] = sum[m] + search.run(branin, sp, { method = m, trials = 40, seed = seed, verbose = false }).best_value
    end
  end
  T.ok(sum.tpe < sum.random, string.format("tpe %.3f random %.3f", sum.tpe / 6, sum.random / 6))
  local a = search.run(branin, sp, { method = "tpe", trials = 20, seed = 3, verbose = false })
  local b = search.run(branin, sp, { method = "tpe", trials = 20, seed = 3, verbose = false })
  T.eq(a.best_value, b.best_value)
end)

local function busy(seconds)
  local t = ml.now()
  while ml.now() - t < seconds do end
end

T.test("workers.map: the lone last job runs in the calling process on all its threads", function()
  if ml.threads() < 2 then return end -- one thread: nothing to give the last job
  local parent = ml._proc.getpid()
  local out = workers.map({ 1, 2, 3 }, function(j)
    busy(0.25)
    return { pid = ml._proc.getpid(), threads = ml.threads(), r = ml.rand(1):item() }
  end, { n_workers = 2, seed = 5 })
  T.ok(out[1].pid ~= parent and out[2].pid ~= parent, "the first two jobs run in workers")
  T.eq(out[1].threads, 1)
  T.eq(out[3].pid, parent)
  T.eq(out[3].threads, ml.threads())
  -- the same seeds wherever a job runs: job 3 in a worker draws the same number
  local kept = workers.map({ 1, 2, 3 }, function() busy(0.25) return ml.rand(1):item() end,
    { n_workers = 2, seed = 5, finish_here = false })
  T.eq(kept[3], out[3].r)
  -- short jobs, a timeout or explicit threads keep every job in a worker
  local quick = workers.map({ 1, 2, 3 }, function() return ml._proc.getpid() end, { n_workers = 2 })
  T.ok(quick[3] ~= parent)
  local fixed = workers.map({ 1, 2, 3 }, function() busy(0.25) return ml._proc.getpid() end,
    { n_workers = 2, threads_per_worker = 1 })
  T.ok(fixed[3] ~= parent)
  T.raises(function() workers.map({ 1 }, function() end, { finish_here = "yes" }) end, "finish_here")
end)

T.test("workers.map: a failing lone last job is reported like any other", function()
  if ml.threads() < 2 then return end
  local res, errs = workers.map({ 1, 2, 3 }, function(j)
    busy(0.25)
    if j == 3 then error("last one fails") end
    return j
  end, { n_workers = 2, errors = "return" })
  T.eq(res[1], 1)
  T.eq(res[2], 2)
  T.ok(errs[3]:find("last one fails", 1, true), errs[3])
end)

T.test("workers.map: on_tick runs while the workers work", function()
  local ticks = 0
  workers.map({ 1, 2 }, function() busy(0.3) return true end,
    { n_workers = 2, on_tick = function() ticks = ticks + 1 end, tick = 0.05 })
  T.ok(ticks >= 2, ticks)
  T.raises(function() workers.map({ 1 }, function() end, { on_tick = 3 }) end, "on_tick")
end)

-- a writer that keeps what is written
local function sink()
  local s = { parts = {} }
  function s:write(...) for _, v in ipairs({ ... }) do self.parts[#self.parts + 1] = v end return self end
  function s:flush() end
  function s:text() return table.concat(self.parts) end
  return s
end

T.test("search display: plain lines off a terminal, a table redrawn in place on one", function()
  local trials = {
    { number = 1, params = { lr = 0.01, k = 2 }, state = "complete", value = 0.5, duration = 1.25 },
    { number = 2, params = { lr = 0.1, k = 3 }, state = "failed", error = "boom", duration = 0.1 },
    { number = 3, params = { lr = 0.001, k = 1 }, state = "running" },
  }
  local out = sink()
  local d = display.new { names = { "k", "lr" }, metric = "acc", direction = "maximize", trials = 10, live = false, out = out }
  d:trial(trials[1], trials, trials[1])
  d:trial(trials[2], trials, trials[1])
  T.eq(out:text(), "trial 1  k=2 lr=0.01  acc 0.5  (1.25s)  best so far\ntrial 2  k=3 lr=0.1  failed: boom  (0.10s)\n")
  local live = sink()
  d = display.new { names = { "k", "lr" }, metric = "acc", direction = "maximize", trials = 10, live = true, out = live }
  d:draw(trials)
  local first = live:text()
  T.ok(not first:find("\27[", 1, true), "the first frame needs no cursor movement")
  T.ok(first:find("best so far: trial 1, acc = 0.5 (k=2, lr=0.01)", 1, true), first)
  T.ok(first:find("2/10 trials done (1 complete, 0 pruned, 1 failed), 1 running", 1, true), first)
  T.ok(first:find("running", 1, true))
  local n_lines = select(2, first:gsub("\n", ""))
  d:draw(trials)
  local second = live:text():sub(#first + 1)
  T.eq(second:sub(1, #("\27[" .. n_lines .. "F\27[J")), "\27[" .. n_lines .. "F\27[J")
end)

T.test("search.run: live = false prints a line per trial; live = true draws frames", function()
  local f = T.tmpname(".lua")
  T.write_file(f, [[
local live = arg[1] == "live"
ml.search.run(function(p) return p.x end, { x = ml.search.uniform(0, 1) },
  { method = "random", trials = 3, seed = 1, live = live })
]])
  local plain = io.popen(T.BIN .. " " .. T.quote(f) .. " plain"):read("a")
  T.eq(select(2, plain:gsub("\ntrial ", "")) + (plain:sub(1, 6) == "trial " and 1 or 0), 3)
  local live = io.popen(T.BIN .. " " .. T.quote(f) .. " live"):read("a")
  T.ok(live:find("\27%[%d+F\27%[J") and live:find("3/3 trials done", 1, true), live)
end)

T.test("recipes: a user error prints its message alone; MOONLAB_TRACEBACK=1 or a library bug adds the traceback", function()
  local f = T.tmpname(".lua")
  T.write_file(f, [[
return { params = { n = 3, lr = 0.1 }, run = function(p)
  if p.n == 9 then error("n is too big: " .. p.n) end
  if p.n == 7 then require("moonlab.search.space").draw(nil, nil) end -- a bug inside the library
  return { loss = p.lr }
end }
]])
  local function run(env, args)
    local p = io.popen(env .. " " .. T.BIN .. " " .. T.quote(f) .. " " .. args .. " 2>&1")
    local out = p:read("a")
    return out, p:close()
  end
  local out, ok = run("", "n=9")
  T.ok(not ok and out:find(":2: n is too big: 9", 1, true) and not out:find("traceback", 1, true), out)
  out, ok = run("", "lr=abc")
  T.ok(not ok and out:find("lr must be a number", 1, true) and not out:find("traceback", 1, true), out)
  out = run("MOONLAB_TRACEBACK=1", "n=9")
  T.ok(out:find("n is too big", 1, true) and out:find("stack traceback:", 1, true), out)
  out = run("", "n=7")
  T.ok(out:find("attempt to index", 1, true) and out:find("stack traceback:", 1, true), out)
  out = run("", "n=3")
  T.ok(out:find("loss", 1, true), out)
end)
