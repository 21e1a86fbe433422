-- Memory: tensors are full userdata whose storage Lua's collector frees, at
-- the pace tensors are made (lb_gc_account), views share storage, and
-- `local t <close>` frees at the end of the scope. Resident memory is read
-- from /proc/self/statm. Under `make check-memory` (T.memory) the loops are
-- shorter and the resident-memory bounds are not checked: ASan's quarantine
-- keeps freed blocks resident on purpose, and LeakSanitizer checks instead.

local PAGE = 4096
do
  local p = io.popen("getconf PAGESIZE 2>/dev/null")
  if p then
    PAGE = tonumber(p:read("a")) or PAGE
    p:close()
  end
end

-- resident set size in MiB, or nil where /proc is missing
local function rss_mb()
  local f = io.open("/proc/self/statm", "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local pages = tonumber(s:match("^%s*%d+%s+(%d+)"))
  return pages and pages * PAGE / 2 ^ 20
end

local have_rss = rss_mb() ~= nil
local GC_MODE = collectgarbage("incremental") -- asking switches the mode: switch back
collectgarbage(GC_MODE)
local check_rss = have_rss and not T.memory

local function fmt(x) return string.format("%.1f MiB", x) end

T.test("a view keeps its storage alive after the base is dropped", function()
  local a = ml.zeros(1000, 10)
  for i = 1, 1000, 100 do a[i] = i end -- row i holds i everywhere
  local b = a:narrow(1, 301, 200) -- rows 301..500
  local c = a:select(2, 5)        -- column 5, all rows
  local d = a:t()
  a = nil
  collectgarbage()
  collectgarbage()
  T.eq(b[1][3], 301.0, "narrow view after the base is collected")
  T.eq(c[901], 901.0, "select view after the base is collected")
  T.eq(d[10][101], 101.0, "transposed view after the base is collected")
  b[2][1] = 7 -- writes still land in the shared storage
  T.eq(d[1][302], 7.0, "a write through one view shows in another")
  b, c = nil, nil
  collectgarbage()
  local want = 7
  for i = 1, 1000, 100 do want = want + 10 * i end
  T.eq(d:sum():item(), want, "last view alone")
end)

T.test("local t <close> frees the tensor at the end of the scope", function()
  collectgarbage()
  local base = rss_mb()
  local kept, inside
  do
    local t <close> = ml.zeros(4096, 4096) -- 64 MiB, written by zeros
    inside = rss_mb()
    kept = t
  end
  -- no collectgarbage(): the storage must already be gone
  local after = rss_mb()
  -- Only measurable when the 64 MiB came as fresh pages (malloc may reuse
  -- freed, still resident heap memory, and then RSS cannot tell).
  if check_rss and inside - base > 48 then
    T.ok(after - base < 16, "after the scope, resident memory is still " .. fmt(after - base) .. " above the start")
  end
  -- the closed tensor is an error to use, never a crash, and closing twice is harmless
  T.raises(function() return kept:sum() end, "freed")
  T.raises(function() return ml.sum(kept) end, "sum")
  T.raises(function() return kept + 1 end, "freed")
  local mt = getmetatable(kept)
  mt.__close(kept)
  mt.__gc(kept)
  kept = nil
  collectgarbage()
end)

T.test("<close> on error exits frees too, and nil is allowed", function()
  collectgarbage()
  local base = rss_mb()
  for _ = 1, (T.memory and 2 or 8) do
    local ok = pcall(function()
      local t <close> = ml.zeros(2048, 2048) -- 16 MiB
      local none <close> = nil
      error("boom")
    end)
    T.eq(ok, false)
  end
  if check_rss then
    local grew = rss_mb() - base
    T.ok(grew < 24, "8 closed 16 MiB tensors left " .. fmt(grew) .. " resident")
  end
  collectgarbage()
end)

-- The issue's loop: temporaries and a backward per iteration, and no
-- collectgarbage() in the loop. What is live at any time is a few 64 KiB
-- tensors; the garbage must not pile up.
T.test("10,000 iterations of temporaries and backward keep resident memory bounded", function()
  local n = T.memory and 1000 or 10000
  local x = ml.randn(128, 128):requires_grad()
  collectgarbage()
  local base = rss_mb()
  local at1000, peak = nil, 0
  for i = 1, n do
    local y = ((x * 2):tanh():matmul(x)):sum()
    y:backward()
    if i == 1 then T.eq(table.concat(x.grad:shape(), ","), "128,128", "x.grad shape") end
    x.grad = nil
    if have_rss and (i % 250 == 0) then
      local r = rss_mb()
      if r > peak then peak = r end
      if i == 1000 then at1000 = r end
    end
  end
  T.eq(x.grad, nil, "x.grad after x.grad = nil")
  if check_rss then
    local final = rss_mb()
    T.ok(final - at1000 < 64,
      "resident memory grew by " .. fmt(final - at1000) .. " between iteration 1000 and 10000 (limit 64 MiB)")
    T.ok(peak - base < 128,
      "resident memory peaked " .. fmt(peak - base) .. " above the start for ~1 MiB of live tensors (limit 128 MiB)")
  end
end)

-- The same with 4 MiB temporaries: Lua's own heap hardly grows (a tensor box
-- is a few dozen bytes), so only the tensor-byte accounting can make the
-- collector run often enough; that must hold in generational mode too (the
-- mode the moonlab command and lua5.4 use).
T.test("large temporaries without collectgarbage stay bounded", function()
  local n = T.memory and 30 or 300
  local x = ml.randn(1024, 1024)
  collectgarbage()
  local base, peak = rss_mb(), 0
  for i = 1, n do
    local s = (x * 2):tanh():sum()
    if have_rss and i % 10 == 0 then
      local r = rss_mb()
      if r > peak then peak = r end
    end
  end
  if check_rss then
    T.ok(peak - base < 256,
      "resident memory peaked " .. fmt(peak - base) .. " above the start for 12 MiB of live tensors (limit 256 MiB; " ..
      "Lua's collector in " .. GC_MODE .. " mode)")
  end
end)

-- A graph never holds its own output: dropping the result of a recorded op
-- frees the intermediates even though the node saved them.
T.test("dropped graphs are freed by the collector", function()
  local n = T.memory and 3 or 20
  local x = ml.randn(1024, 1024):requires_grad()
  collectgarbage()
  local base = rss_mb()
  for _ = 1, n do
    local y = (x * 2):tanh():sigmoid() -- each saves a 4 MiB tensor
    y = nil
    collectgarbage()
  end
  if check_rss then
    local grew = rss_mb() - base
    T.ok(grew < 48, "resident memory grew by " .. fmt(grew) .. " after " .. n .. " dropped graphs (limit 48 MiB)")
  end
  -- and a graph dropped after a retained backward
  local y = (x * x):sum()
  y:backward({retain_graph = true})
  y = nil
  collectgarbage()
  T.ok(x.grad ~= nil, "x.grad survives the graph")
  x.grad = nil
end)

T.test("gradients and grad accessors do not leak", function()
  local x = ml.randn(64, 64):requires_grad()
  collectgarbage()
  local base = rss_mb()
  for _ = 1, (T.memory and 200 or 3000) do
    local y = (x:matmul(x)):mean()
    y:backward()
    local g1, g2 = x.grad, x.grad
    T.ok(rawequal(g1, g2), "x.grad gives the same object while it lives")
    x:zero_grad()
  end
  if check_rss then
    local grew = rss_mb() - base
    T.ok(grew < 64, "resident memory grew by " .. fmt(grew))
  end
end)
