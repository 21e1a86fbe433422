-- core/workers: jobs in forked worker processes (runtime/core/proc.c, runtime/lua/proc.c).
local workers = require "moonlab.core.workers"

T.test("workers.map: results in job order, tensors and tables round-trip, data shared copy-on-write", function()
  local X = ml.randn(200, 7, { dtype = "float64" })
  local jobs = {}
  for i = 1, 9 do jobs[i] = { k = i } end
  local out = workers.map(jobs, function(job, i)
    return { i = i, k = job.k, sum = X:sum():item() * job.k, t = X:narrow(1, i, 2) * job.k, ints = ml.arange(1, i + 1, { dtype = "int64" }),
      nested = { s = "x" .. i, b = i % 2 == 0, f = 0.5, list = { 1, 2, { 3 } } }, none = nil }
  end, { n_workers = 2 })
  T.eq(#out, 9)
  for i, r in ipairs(out) do
    T.eq(r.i, i)
    T.eq(r.k, i)
    T.near(r.sum, X:sum():item() * i, 1e-9)
    T.eq(r.t:dtype(), "float64")
    T.all_near(r.t, X:narrow(1, i, 2) * i, 0)
    T.eq(r.ints:dtype(), "int64")
    T.eq(r.ints:numel(), i)
    T.eq(r.nested.s, "x" .. i)
    T.eq(r.nested.b, i % 2 == 0)
    T.eq(r.nested.list[3][1], 3)
    T.eq(math.type(r.k), "integer")
  end
end)

T.test("workers.map: the same results with 1 or 2 workers (per-job seeds), the caller's stream kept", function()
  local jobs = { 1, 2, 3, 4, 5 }
  local f = function(j) return ml.rand(3, { dtype = "float64" }) * j end
  ml.seed(11)
  local a = workers.map(jobs, f, { n_workers = 2, seed = 7 })
  local after = ml.rand(1):item()
  ml.seed(11)
  local b = workers.map(jobs, f, { n_workers = 1, seed = 7 })
  T.eq(ml.rand(1):item(), after, "the caller's random stream")
  for i = 1, 5 do T.all_near(a[i], b[i], 0) end
end)

T.test("workers.map: a job that raises comes back as its index and message; the others run", function()
  local res, errs = workers.map({ 1, 2, 3, 4 }, function(j)
    if j == 3 then error("bad fold " .. j) end
    return j * 10
  end, { n_workers = 2, errors = "return" })
  T.eq(res[1], 10)
  T.eq(res[2], 20)
  T.eq(res[4], 40)
  T.eq(res[3], nil)
  T.ok(errs[3]:find("bad fold 3", 1, true), errs[3])
  T.raises(function()
    workers.map({ 1, 2, 3 }, function(j) if j == 2 then error("boom") end return j end, { n_workers = 2 })
  end, "workers.map: job 2 of 3 failed: boom")
end)

T.test("workers.map: a worker that dies (os.exit, a signal) is reported, never hangs, and is replaced", function()
  local P = ml._proc
  local res, errs = workers.map({ 1, 2, 3, 4, 5, 6 }, function(j)
    if j == 2 then os.exit(3) end
    if j == 4 then P.kill(P.getpid(), 9) end
    if j == 5 then P.kill(P.getpid(), 15) end -- (not SIGSEGV: AddressSanitizer would catch that one)
    return j
  end, { n_workers = 2, errors = "return" })
  T.eq(res[1], 1)
  T.eq(res[3], 3)
  T.eq(res[6], 6)
  T.ok(errs[2]:find("exited (status 3)", 1, true), errs[2])
  T.ok(errs[4]:find("signal 9 (SIGKILL)", 1, true), errs[4])
  T.ok(errs[5]:find("signal 15 (SIGTERM)", 1, true), errs[5])
end)

T.test("workers.map: a fitted estimator comes back through core/persist; the serial path returns the same", function()
  local H = dofile("tests/lua/model_helpers.lua")
  local X, y = H.dataset("iris")
  for _, n in ipairs({ 1, 2 }) do
    local out = workers.map({ 1, 2 }, function(j) return H.Centroid { temperature = j }:fit(X, y) end, { n_workers = n })
    T.eq(out[2].temperature, 2)
    T.all_near(out[2].centroids_, H.Centroid {}:fit(X, y).centroids_, 0)
    T.near(out[1]:score(X, y), H.Centroid {}:fit(X, y):score(X, y), 0)
  end
end)

T.test("workers: results that cannot travel and bad options are clear errors", function()
  T.raises(function() workers.map({ 1, 2 }, function() return function() end end, { n_workers = 2 }) end, "cannot be sent back")
  T.raises(function() workers.map({ 1 }, function() end, { n_worker = 2 }) end, "did you mean 'n_workers'")
  T.raises(function() workers.map({ 1 }, function() end, { n_workers = 0 }) end, "n_workers")
  T.raises(function() workers.map("x", function() end) end, "expected a list of jobs")
  T.raises(function() workers.encode(coroutine.create(function() end)) end, "cannot send a thread")
  local t = {}
  t.self = t
  T.raises(function() workers.encode(t) end, "deeper than")
  T.eq(#workers.map({}, function() return 1 end, { n_workers = 2 }), 0)
end)

T.test("workers.encode/decode: numbers keep integer-ness, strings keep bytes, NaN and infinities survive", function()
  local v = workers.decode(workers.encode({ 1, 2.5, "a\0b", 0 / 0, math.huge, -math.huge, { x = true, [10] = false }, math.mininteger }))
  T.eq(math.type(v[1]), "integer")
  T.eq(v[2], 2.5)
  T.eq(v[3], "a\0b")
  T.ok(v[4] ~= v[4])
  T.eq(v[5], math.huge)
  T.eq(v[6], -math.huge)
  T.eq(v[7].x, true)
  T.eq(v[7][10], false)
  T.eq(v[8], math.mininteger)
end)

T.test("workers.map: timeout kills a job that runs too long and reports it; the others finish", function()
  local res, errs = workers.map({ 1, 2, 3 }, function(j)
    if j == 2 then while true do end end
    return j
  end, { n_workers = 2, errors = "return", timeout = 0.5 })
  T.eq(res[1], 1)
  T.eq(res[3], 3)
  T.ok(errs[2] and errs[2]:find("timeout of 0.5 s", 1, true), tostring(errs[2]))
end)
