-- Peak resident memory of the measured part of a benchmark, taken the same way
-- as scripts/bench/peak.py on the PyTorch side:
--   local peak = dofile("scripts/bench/peak.lua")
--   peak.start()              -- after imports, data and model: the base
--   ... the measured loop ...
--   local total, working = peak.finish()   -- MiB
-- start() collects Lua's garbage (so setup's dead tensors are not counted as
-- the base and then freed under it), notes the high-water mark so far, resets
-- the kernel's (writing 5 to /proc/self/clear_refs) and reads VmRSS as the
-- base. finish() gives the whole process's peak and the working set: the peak
-- since start() minus the base, what the loop adds on top of the runtime, the
-- data and the parameters (an idle Python with torch holds ~230 MiB more than
-- moonlab, so whole-process peaks compare libraries, not the loop). Where
-- clear_refs is not writable the working set is the whole peak minus the base,
-- an upper bound, and `reset` is false.
local M = {}
local before, base = 0, 0
M.reset = false

local function status(key)
  local v = 0
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^" .. key .. ":%s+(%d+)")
    if kb then v = tonumber(kb) / 1024 end
  end
  return v
end

function M.start()
  collectgarbage()
  collectgarbage()
  before = status("VmHWM")
  local f = io.open("/proc/self/clear_refs", "w")
  M.reset = f ~= nil and f:write("5") ~= nil
  if f then f:close() end
  base = status("VmRSS")
end

function M.finish()
  local hwm = status("VmHWM")
  return math.max(before, hwm), hwm - base
end

return M
