--- moonlab.core.workers: run a list of Lua jobs in forked worker processes.
--
--   local workers = require "moonlab.core.workers"
--   local out = workers.map(folds, function(fold, i) return fit_and_score(fold) end, {n_workers = 2})
--
-- The workers are forked after the data is in memory, so they share it
-- copy-on-write: a job is sent as its index only, and fn(jobs[i], i) runs in
-- the child on the child's copy of everything the parent had. Results come
-- back through a pipe, serialized: nil, booleans, numbers, strings, tables of
-- those (no cycles), tensors (raw bytes) and objects with state (fitted
-- estimators, sparse matrices: through core/persist and a temporary file).
-- Functions and userdata other than tensors cannot travel.
--
-- Each worker runs with ml.threads(threads_per_worker), by default
-- floor(ml.threads() / n_workers) (at least 1), so workers x threads <= cores.
-- When the last job would run alone on one worker's share of the cores (5
-- folds on 2 workers), it waits for the busy workers if they end soon and
-- then runs in this process on all of its threads (opts.finish_here = false
-- keeps it in a worker; never with threads_per_worker or a timeout given).
-- opts.finish_here = "now" starts it here at once, on all the threads, while
-- the busy workers finish theirs: for jobs whose threads never wait on one
-- another (a forest's trees), which lose nothing by sharing the cores for a
-- while, so no core idles (a barrier-bound job, a network's, would stall).
-- opts.on_tick() is called about every opts.tick seconds (0.5) while the
-- workers run (a live display).
-- Job i runs after ml.seed(seed + i) (seed from opts, else drawn from ml's
-- generator), so results do not depend on how many workers ran them; the
-- caller's random stream is restored afterwards.
--
-- A job that raises comes back as an error naming its index and message; a
-- worker that dies (a signal, os.exit) is reported for the job it was running
-- and replaced, so the other jobs still run. map raises on the first failed
-- job unless opts.errors = "return", then it returns results, errors ({[i] = message}).
-- n_workers = 1 (or one job) runs the jobs in this process, serially. opts.timeout (seconds, worker
-- processes only) kills a worker whose job runs longer and reports that job.
--
-- Used by cross-validation (models/cross_validation.lua) and, later, the
-- hyperparameter searches.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"

local P = ml._proc
local fail, fmt = checks.fail, string.format
local spack, sunpack = string.pack, string.unpack

local workers = {}

-- ---- serialization --------------------------------------------------------------------

local MAX_DEPTH = 64

local function encode_into(v, out, depth, tmp)
  if depth > MAX_DEPTH then error("workers: a result nested deeper than " .. MAX_DEPTH .. " levels (a cycle?)", 0) end
  local t = type(v)
  if v == nil then out[#out + 1] = "n"
  elseif t == "boolean" then out[#out + 1] = v and "1" or "0"
  elseif math.type(v) == "integer" then out[#out + 1] = spack("<c1i8", "i", v)
  elseif t == "number" then out[#out + 1] = spack("<c1d", "f", v)
  elseif t == "string" then out[#out + 1] = spack("<c1s8", "s", v)
  elseif ml.is_tensor(v) then
    local shape = v:shape()
    out[#out + 1] = spack("<c1s1B", "T", v:dtype(), #shape)
    for _, d in ipairs(shape) do out[#out + 1] = spack("<i8", d) end
    out[#out + 1] = spack("<s8", P.tensor_bytes(v:detach()))
  elseif t == "table" and class.name_of(v) ~= nil then
    -- an object with state: through core/persist (fitted estimators, sparse matrices)
    local path = os.tmpname()
    tmp[#tmp + 1] = path
    local ok, err = pcall(require("moonlab.core.persist").save, path, v)
    if not ok then error(fmt("workers: cannot send a %s: %s", class.name_of(v), tostring(err)), 0) end
    out[#out + 1] = spack("<c1s8", "O", path)
  elseif t == "table" then
    local keys = {}
    for k in pairs(v) do
      local kt = type(k)
      if kt ~= "string" and kt ~= "number" and kt ~= "boolean" then error("workers: cannot send a table key of type " .. kt, 0) end
      keys[#keys + 1] = k
    end
    out[#out + 1] = spack("<c1i8", "t", #keys)
    for _, k in ipairs(keys) do
      encode_into(k, out, depth + 1, tmp)
      encode_into(v[k], out, depth + 1, tmp)
    end
  else
    error("workers: cannot send a " .. t .. " (results are numbers, strings, booleans, tables, tensors or objects with state)", 0)
  end
end

--- workers.encode(v) -> bytes: v serialized (objects with state go to temporary files that decode removes)
function workers.encode(v)
  local out, tmp = {}, {}
  local ok, err = pcall(encode_into, v, out, 0, tmp)
  if not ok then
    for _, p in ipairs(tmp) do os.remove(p) end
    error(err, 0)
  end
  return table.concat(out)
end

local function decode_at(s, pos, depth)
  local tag = s:sub(pos, pos)
  pos = pos + 1
  if tag == "n" then return nil, pos
  elseif tag == "1" then return true, pos
  elseif tag == "0" then return false, pos
  elseif tag == "i" then return sunpack("<i8", s, pos)
  elseif tag == "f" then return sunpack("<d", s, pos)
  elseif tag == "s" then return sunpack("<s8", s, pos)
  elseif tag == "T" then
    local dtype, nd
    dtype, nd, pos = sunpack("<s1B", s, pos)
    local shape = {}
    for i = 1, nd do shape[i], pos = sunpack("<i8", s, pos) end
    local bytes
    bytes, pos = sunpack("<s8", s, pos)
    return P.tensor_from_bytes(bytes, dtype, shape), pos
  elseif tag == "O" then
    local path
    path, pos = sunpack("<s8", s, pos)
    local ok, obj = pcall(require("moonlab.core.persist").load, path, { trusted = true })
    os.remove(path)
    if not ok then error("workers: cannot read a result object back: " .. tostring(obj), 0) end
    return obj, pos
  elseif tag == "t" then
    local n
    n, pos = sunpack("<i8", s, pos)
    local t = {}
    for _ = 1, n do
      local k, v
      k, pos = decode_at(s, pos, depth + 1)
      v, pos = decode_at(s, pos, depth + 1)
      t[k] = v
    end
    return t, pos
  end
  error(fmt("workers: a damaged message (tag %q at byte %d)", tag, pos - 1), 0)
end

--- workers.decode(bytes) -> the value workers.encode serialized
function workers.decode(s)
  local v = decode_at(s, 1, 0)
  return v
end

-- ---- running jobs -------------------------------------------------------------------------

local SIGNALS = { [1] = "SIGHUP", [2] = "SIGINT", [4] = "SIGILL", [6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE",
  [9] = "SIGKILL", [11] = "SIGSEGV", [13] = "SIGPIPE", [15] = "SIGTERM" }

local function message_of(err)
  if type(err) ~= "string" and type(err) ~= "number" then
    local mt = getmetatable(err)
    if not (type(mt) == "table" and mt.__tostring) then
      -- error({...}) or error(nil): say what was raised rather than "table: 0x55..."
      local what = type(err)
      if type(err) == "table" then
        local keys = {}
        for k, v in pairs(err) do
          if #keys == 4 then keys[#keys + 1] = "..." break end
          keys[#keys + 1] = tostring(k) .. " = " .. (type(v) == "string" and string.format("%q", v) or tostring(v))
        end
        what = "a table {" .. table.concat(keys, ", ") .. "}"
      end
      return "the job raised " .. what .. " instead of an error message"
    end
  end
  return require("moonlab.core.persist").strip(err)
end

local function run_job(fn, jobs, i, seed)
  ml.seed(seed + i)
  local ok, r = pcall(fn, jobs[i], i)
  if ok then return true, r end
  return false, message_of(r)
end

local LONE_MIN_SECONDS = 0.2 -- shorter jobs gain nothing worth the worker's isolation (or a collection after them)

-- The child's loop: job indices in, {i, ok, result | message} out, until the task pipe closes.
local function child_main(fn, jobs, seed, threads, task_r, result_w)
  ml.threads(threads)
  P.keep_freed_memory() -- its next job reuses the pages this one frees (a fault is dear on a virtual machine)
  while true do
    local msg = P.recv(task_r)
    if msg == nil then break end
    local i = sunpack("<i8", msg)
    local t0 = ml.now()
    local ok, r = run_job(fn, jobs, i, seed)
    local sent, bytes = pcall(workers.encode, { i, ok, r })
    if not sent then bytes = workers.encode({ i, false, "the result cannot be sent back: " .. tostring(bytes) }) end
    P.send(result_w, bytes)
    -- a long job's garbage (a forest's 25 MB of arrays) freed now, so the next job reuses its blocks
    -- (a full collection costs a few milliseconds)
    r, bytes = nil, nil
    if ml.now() - t0 >= LONE_MIN_SECONDS then collectgarbage("collect") end
  end
  P.exit(0)
end

local function spawn(fn, jobs, seed, threads)
  local task_r, task_w = P.pipe()
  local result_r, result_w = P.pipe()
  local pid = P.fork()
  if pid == 0 then
    P.close(task_w)
    P.close(result_r)
    local ok, err = pcall(child_main, fn, jobs, seed, threads, task_r, result_w)
    if not ok then io.stderr:write("moonlab worker: ", tostring(err), "\n") end
    P.exit(ok and 0 or 70)
  end
  P.close(task_r)
  P.close(result_w)
  return { pid = pid, task = task_w, result = result_r }
end

local function retire(w)
  if w.task then P.close(w.task) w.task = nil end
  if w.result then P.close(w.result) w.result = nil end
end

local function death_message(w)
  local how, code = P.wait(w.pid)
  w.pid = nil
  if w.timed_out then return fmt("the job ran past the timeout of %g s; its worker was killed", w.timed_out) end
  if how == "signal" then
    return fmt("the worker process was killed by signal %d (%s)", code, SIGNALS[code] or "?")
  end
  return fmt("the worker process exited (status %d) before returning a result (os.exit in the job?)", code)
end

-- The math libraries' one-time start (oneDNN's set-up takes ~0.4 s on the first float32 product) is paid
-- once here, before the fork, rather than once in every worker.
local warmed = false
local function warm_up()
  if warmed then return end
  warmed = true
  local a = ml.ones(64, 64)
  ml.matmul(a, a)
end

-- Whether the last job should wait for the busy workers and then run here,
-- in the calling process, on every thread: true when fewer jobs are left to
-- start than there are workers and the busy jobs, judged by the mean time of
-- the finished ones, end soon enough that waiting for them and running the
-- job on all the cores beats running it now on one worker's share. (Forked
-- workers cannot take more threads: GNU OpenMP hangs in a child forked after
-- the parent ran a parallel region, so they run at one thread each when the
-- cores are shared out; the caller's own threads are healthy.)
local function finish_here(queued, pool, n_workers, durations, now)
  if queued ~= 1 or n_workers < 2 or #durations == 0 then return false end
  local mean = 0
  for _, d in ipairs(durations) do mean = mean + d end
  mean = mean / #durations
  if mean < LONE_MIN_SECONDS then return false end
  for _, w in ipairs(pool) do
    -- a busy job expected to run on for more than a third of a job: start the last one now instead
    if w.job and mean - (now - w.started) > mean / 3 then return false end
  end
  return true
end

-- Whether the last job starts here at once (finish_here = "now"): one job left to start, and the jobs so
-- far long enough to be worth it.
local function start_here_now(queued, n_workers, durations)
  if queued ~= 1 or n_workers < 2 or #durations == 0 then return false end
  local mean = 0
  for _, d in ipairs(durations) do mean = mean + d end
  return mean / #durations >= LONE_MIN_SECONDS
end

local function parallel_map(fn, jobs, n_workers, threads, seed, timeout, lone_here, on_tick, tick)
  warm_up()
  local n = #jobs
  local results, errors = {}, {}
  local pool, next_job, done = {}, 1, 0
  local durations = {}
  local here, here_done -- the index of the job kept back to run in this process; whether it ran
  local function assign(w)
    if next_job > n then retire(w) return end
    w.job = next_job
    w.started = ml.now()
    next_job = next_job + 1
    P.send(w.task, spack("<i8", w.job))
  end
  -- a free worker: takes the next job, or waits when the last one is kept for this process ("now": runs
  -- it here at once, the worker retired so that its core is this process's)
  local function free(w)
    w.job = nil
    if lone_here and not here and next_job == n then
      local queued = n - next_job + 1
      if lone_here == "now" and start_here_now(queued, n_workers, durations) then
        here, next_job = next_job, next_job + 1
        retire(w)
        local jok, r = run_job(fn, jobs, here, seed)
        if jok then results[here] = r else errors[here] = r end
        here_done = true
        return
      elseif lone_here ~= "now" and finish_here(queued, pool, n_workers, durations, ml.now()) then
        here, next_job = next_job, next_job + 1
      end
    end
    assign(w)
  end
  -- the poll's wait: until the first running job reaches the timeout (forever without one)
  local last_tick = ml.now()
  local function wait_ms(live)
    local now = ml.now()
    if on_tick and now - last_tick >= tick then
      last_tick = now
      on_tick()
    end
    local tick_ms = on_tick and math.max(1, math.ceil((last_tick + tick - now) * 1000)) or nil
    if not timeout then return tick_ms or -1 end
    local left = math.huge
    for _, w in ipairs(live) do
      local rest = w.started + timeout - now
      if rest <= 0 and w.pid then
        w.timed_out = timeout
        P.kill(w.pid, 9) -- its pipe then reads as closed, and the job is reported
      end
      left = math.min(left, math.max(rest, 0))
    end
    return math.min(math.ceil(left * 1000) + 1, tick_ms or math.huge)
  end
  local ok, err = pcall(function()
    for k = 1, math.min(n_workers, n) do
      pool[k] = spawn(fn, jobs, seed, threads)
      assign(pool[k])
    end
    local function pending() return here and n - 1 or n end
    while done < pending() do
      local fds, live = {}, {}
      for _, w in ipairs(pool) do
        if w.result then fds[#fds + 1], live[#live + 1] = w.result, w end
      end
      if #fds == 0 then
        error("workers.map: no worker left with " .. (n - done) .. " jobs to go", 0)
      end
      local ready = P.poll(fds, wait_ms(live))
      for k, w in ipairs(live) do
        if ready[k] then
          local msg = P.recv(w.result)
          if msg == nil then
            -- the child died: its job failed; a fresh worker takes the remaining jobs
            errors[w.job] = death_message(w)
            done = done + 1
            retire(w)
            if next_job <= n then
              local fresh = spawn(fn, jobs, seed, threads)
              fresh.timed_out = nil
              for j, x in ipairs(pool) do if x == w then pool[j] = fresh end end
              assign(fresh)
            end
          else
            local r = workers.decode(msg)
            if r[2] then results[r[1]] = r[3] else errors[r[1]] = r[3] end
            durations[#durations + 1] = ml.now() - w.started
            done = done + 1
            free(w)
          end
        end
      end
    end
  end)
  for _, w in ipairs(pool) do
    if w.pid and not ok then P.kill(w.pid, 9) end
    retire(w)
    if w.pid then P.wait(w.pid) w.pid = nil end
  end
  if not ok then error(err, 0) end
  if here and not here_done then -- every worker is done: the last job on all of this process's threads
    local jok, r = run_job(fn, jobs, here, seed)
    if jok then results[here] = r else errors[here] = r end
  end
  return results, errors
end

local function serial_map(fn, jobs, seed)
  local results, errors = {}, {}
  for i = 1, #jobs do
    local ok, r = run_job(fn, jobs, i, seed)
    if ok then results[i] = r else errors[i] = r end
  end
  return results, errors
end

--- workers.map(jobs, fn, [{n_workers = ml.threads(), threads_per_worker, seed, errors = "raise"|"return", timeout}])
--- -> results in job order (fn(jobs[i], i) for each i), [errors]
function workers.map(jobs, fn, opts)
  local name = "workers.map"
  opts = checks.options(name, opts, { "n_workers", "threads_per_worker", "seed", "errors", "timeout", "finish_here",
    "on_tick", "tick" })
  if type(jobs) ~= "table" then fail(fmt("%s: expected a list of jobs, got %s", name, type(jobs))) end
  checks.func(name, "fn", fn)
  local cores = math.max(1, ml.threads())
  local n_workers = opts.n_workers == nil and cores or checks.integer(name, "n_workers", opts.n_workers, -1)
  if n_workers == -1 then n_workers = P.ncpu() end
  if n_workers == 0 then fail(name .. ": n_workers must be >= 1 (or -1 for every processor), got 0") end
  local threads = opts.threads_per_worker and checks.integer(name, "threads_per_worker", opts.threads_per_worker, 1)
    or math.max(1, cores // n_workers)
  local on_error = checks.one_of(name, "errors", opts.errors, { "raise", "return" }, "raise")
  local timeout = opts.timeout ~= nil and checks.number(name, "timeout", opts.timeout, 0) or nil
  local finish_opt = opts.finish_here
  if finish_opt == nil then finish_opt = true end
  if finish_opt ~= true and finish_opt ~= false and finish_opt ~= "now" then
    fail(fmt("%s: finish_here must be true, false or 'now', got %s", name, checks.show(finish_opt)))
  end
  local on_tick = opts.on_tick ~= nil and checks.func(name, "on_tick", opts.on_tick) or nil
  local tick = opts.tick ~= nil and checks.number(name, "tick", opts.tick, 0.01) or 0.5
  local saved = ml.random_state()
  local seed = opts.seed and checks.integer(name, "seed", opts.seed) or ml.randint(0, 2 ^ 31, { 1 }):item()
  local results, errors
  if n_workers == 1 or #jobs <= 1 then
    results, errors = serial_map(fn, jobs, seed)
  else
    local threads_before = ml.threads()
    local lone_here = opts.threads_per_worker == nil and timeout == nil and cores > threads and finish_opt
    local ok, r, e = pcall(parallel_map, fn, jobs, n_workers, threads, seed, timeout, lone_here, on_tick, tick)
    ml.threads(threads_before)
    if not ok then ml.set_random_state(saved) checks.reraise(r) end
    results, errors = r, e
  end
  ml.set_random_state(saved)
  if on_error == "raise" then
    for i = 1, #jobs do
      if errors[i] then fail(fmt("%s: job %d of %d failed: %s", name, i, #jobs, errors[i])) end
    end
  end
  return results, errors
end

ml.doc(workers, "core.workers — runs Lua jobs in forked worker processes (copy-on-write data, results through a pipe)")
ml.doc(workers.map, "workers.map(jobs, fn, [{n_workers, threads_per_worker, seed, errors = 'raise'|'return', timeout (s, worker processes), finish_here = true|false|'now', on_tick = fn, tick = 0.5 (s)}]) -> results[, errors] — fn(jobs[i], i) in worker processes, results in job order")
ml.doc(workers.encode, "workers.encode(v) -> bytes — numbers, strings, tables, tensors and objects with state, serialized for a pipe")
ml.doc(workers.decode, "workers.decode(bytes) -> v — the value workers.encode serialized")

return workers
