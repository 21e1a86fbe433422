-- search journals: several processes on one file, a killed search resumed,
-- a stale trial run again with its parameters and seed, a cut last line.
local script = [[
local path, n, sleep, marker = arg[1], tonumber(arg[2]), tonumber(arg[3] or 0), arg[4]
local res = ml.search.run(function(p, t)
  if marker then local f = io.open(marker, "w") f:write(t.number) f:close() end
  local t0 = ml.now() while ml.now() - t0 < sleep do end
  return (p.x - 0.3) ^ 2 + ml.rand(1)[1] * 0 -- the trial's seed is set: draws are reproducible
end, { x = ml.search.uniform(0, 1) }, { trials = n, seed = 11, journal = path, verbose = false, method = "tpe" })
print("DONE", #res.trials, res.best_value)
]]

local function write_script()
  local p = T.tmpname(".lua")
  local f = assert(io.open(p, "w")) f:write(script) f:close()
  return p
end

local function records(path)
  local out = {}
  for line in io.lines(path) do
    local ok, r = pcall(ml.json.decode, line)
    if line ~= "" and ok then out[#out + 1] = r end
  end
  return out
end

T.test("journal: two processes share one search without running a trial twice or losing one", function()
  local s, j = write_script(), T.tmpname(".jsonl")
  local cmd = string.format("%s %s %s 16 0.01", T.BIN, s, j)
  local h = io.popen(string.format("(%s & %s & wait) 2>&1", cmd, cmd))
  local out = h:read("a")
  T.ok(h:close(), out)
  local started, finished = {}, {}
  for _, r in ipairs(records(j)) do
    if r.op == "trial" then T.eq(started[r.number], nil, "trial " .. r.number .. " claimed twice") started[r.number] = true end
    if r.op == "finish" then finished[r.number] = (finished[r.number] or 0) + 1 end
  end
  for k = 1, 16 do
    T.ok(started[k], "trial " .. k .. " never claimed")
    T.eq(finished[k], 1)
  end
end)

T.test("journal: a killed search resumes; its stale trial runs again with the same parameters and seed", function()
  local s, j, marker = write_script(), T.tmpname(".jsonl"), T.tmpname(".txt")
  -- the first run: killed with SIGKILL while its third trial runs
  local h = io.popen(string.format("%s %s %s 6 0.4 %s >/dev/null 2>&1 & echo $!", T.BIN, s, j, marker))
  local pid = h:read("l") h:close()
  local t0 = ml.now()
  while ml.now() - t0 < 10 do
    local f = io.open(marker) local k = f and f:read("a") if f then f:close() end
    if k == "3" then break end
    os.execute("sleep 0.05")
  end
  os.execute("kill -9 " .. pid .. " 2>/dev/null; sleep 0.1")
  local before = records(j)
  local killed
  for _, r in ipairs(before) do if r.op == "trial" and r.number == 3 then killed = r end end
  T.ok(killed, "trial 3 was not started")
  -- the same command again finishes the search, trial 3 included
  local out = io.popen(string.format("%s %s %s 6 0 2>&1", T.BIN, s, j)):read("a")
  T.ok(out:find("DONE\t6"), out)
  local reruns, finished = 0, {}
  for _, r in ipairs(records(j)) do
    if r.op == "trial" and r.number == 3 and r.rerun then
      reruns = reruns + 1
      T.eq(r.seed, killed.seed)
      T.eq(r.params.x, killed.params.x)
    end
    if r.op == "finish" then finished[r.number] = true end
  end
  T.eq(reruns, 1)
  for k = 1, 6 do T.ok(finished[k], "trial " .. k .. " not finished") end
end)

T.test("journal: a last line cut short is skipped with a warning; the search goes on", function()
  local s, j = write_script(), T.tmpname(".jsonl")
  local h = io.popen(string.format("%s %s %s 3 0 2>&1", T.BIN, s, j))
  local first = h:read("a")
  T.ok(h:close(), first)
  local f = io.open(j, "a") f:write('{"op":"finish","numb') f:close() -- a crash mid-write
  local out = io.popen(string.format("%s %s %s 5 0 2>&1", T.BIN, s, j)):read("a")
  T.ok(out:find("cut short"), out)
  T.ok(out:find("DONE\t5"), out)
  local n = 0
  for _, r in ipairs(records(j)) do if r.op == "finish" then n = n + 1 end end
  T.eq(n, 5)
end)

T.test("journal: a different search on the same file is refused", function()
  local j = T.tmpname(".jsonl")
  ml.search.run(function(p) return p.x end, { x = ml.search.uniform(0, 1) }, { trials = 2, journal = j, verbose = false })
  T.raises(function()
    ml.search.run(function(p) return p.y end, { y = ml.search.uniform(0, 1) }, { trials = 2, journal = j, verbose = false })
  end, "holds a search over {x}, not {y}")
  T.raises(function()
    ml.search.run(function(p) return p.x end, { x = ml.search.uniform(0, 1) },
      { trials = 2, journal = j, verbose = false, direction = "maximize" })
  end, "holds a search to minimize, not to maximize")
  T.raises(function() ml.search.run(function() return 1 end, { x = 1 }, { journal = "/nonexistent/dir/j.jsonl", verbose = false }) end,
    "cannot open '/nonexistent/dir/j.jsonl': No such file or directory")
end)
