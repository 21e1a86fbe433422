-- ml.now, ml.Timer, ml.time

-- Busy work for roughly `s` seconds of wall-clock time.
local function spin(s)
  local t0 = ml.now()
  while ml.now() - t0 < s do end
end

T.test("now: a float that never goes back", function()
  local prev = ml.now()
  T.eq(math.type(prev), "float")
  for _ = 1, 10000 do
    local t = ml.now()
    T.ok(t >= prev, "ml.now went back")
    prev = t
  end
end)

T.test("now: sub-microsecond resolution", function()
  -- The smallest step between two readings that differ.
  local best = math.huge
  for _ = 1, 200 do
    local a = ml.now()
    local b = ml.now()
    while b == a do b = ml.now() end
    best = math.min(best, b - a)
  end
  T.ok(best < 1e-6, "smallest step " .. best .. " s")
end)

T.test("now: counts wall-clock seconds", function()
  local t0, c0 = ml.now(), os.clock()
  spin(0.02)
  local wall, cpu = ml.now() - t0, os.clock() - c0
  T.ok(wall >= 0.02 and wall < 1, "wall " .. wall)
  T.ok(cpu <= wall * 1.5 + 0.01, "cpu " .. cpu .. " vs wall " .. wall)
end)

T.test("Timer: elapsed grows; stop freezes it; resume goes on", function()
  local t = ml.Timer()
  spin(0.002)
  local e1 = t:elapsed()
  T.ok(e1 >= 0.002 and e1 < 1, "elapsed " .. e1)
  local stopped = t:stop()
  T.ok(stopped >= e1)
  spin(0.002)
  T.eq(t:elapsed(), stopped, "stopped timer moved")
  T.eq(t:stop(), stopped, "second stop")
  T.ok(tostring(t):find("(stopped)", 1, true), tostring(t))
  T.eq(t:resume(), t, "resume returns the timer")
  spin(0.002)
  T.ok(t:elapsed() >= stopped + 0.002)
end)

T.test("Timer: reset goes back to zero", function()
  local t = ml.Timer()
  spin(0.005)
  T.eq(t:reset(), t, "reset returns the timer")
  T.ok(t:elapsed() < 0.005, "after reset " .. t:elapsed())
  t:stop(); t:reset()
  T.eq(t:elapsed(), 0.0, "reset while stopped")
end)

T.test("Timer: tostring picks the unit", function()
  local s = tostring(ml.Timer())
  T.ok(s:match("^Timer: %d+%.%d%d%d [um]?s$"), s)
  local t = ml.Timer()
  spin(0.002)
  t:stop()
  T.ok(tostring(t):match("^Timer: %d+%.%d%d%d ms %(stopped%)$"), tostring(t))
end)

T.test("Timer: methods are reachable for completion", function()
  local m = getmetatable(ml.Timer()).methods
  T.eq(type(m), "table")
  for _, k in ipairs({"elapsed", "reset", "stop", "resume"}) do T.eq(type(m[k]), "function", k) end
end)

T.test("Timer: clear errors", function()
  T.raises(function() ml.Timer(function() end) end, "ml.time(fn, n)")
  local t = ml.Timer()
  T.raises(function() t.elapsed({}) end, "Timer:elapsed: expected a Timer, got table")
end)

T.test("time: runs fn n times, returns median and minimum", function()
  local calls = 0
  local med, min = ml.time(function() calls = calls + 1; spin(0.0005) end, 5)
  T.eq(calls, 5)
  T.ok(min <= med, "min > median")
  T.ok(min >= 0.0005 and med < 0.5, "median " .. med)
  calls = 0
  ml.time(function() calls = calls + 1 end)
  T.eq(calls, 1, "n defaults to 1")
end)

T.test("time: errors", function()
  T.raises(function() ml.time(function() error("inner") end, 3) end, "inner")
  T.raises(function() ml.time(function() end, 0) end, "ml.time: n must be")
  T.raises(function() ml.time(42) end, "ml.time: argument #1: expected a function, got number")
end)
