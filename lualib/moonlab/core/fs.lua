--- core/fs.lua: the file-system chores every package shares: mkdir -p, whole-file (atomic) writes, copies.
-- Errors name the caller, the path and the OS reason.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local lfs = require "lfs"

local fail, fmt = checks.fail, string.format
local M = {}

function M.mkdir_p(who, path)
  local sofar = path:sub(1, 1) == "/" and "" or nil
  for part in path:gmatch("[^/]+") do
    sofar = sofar and (sofar .. "/" .. part) or part
    local mode = lfs.attributes(sofar, "mode")
    if mode == nil then
      local ok, err = lfs.mkdir(sofar)
      if not ok and lfs.attributes(sofar, "mode") ~= "directory" then
        fail(fmt("%s: cannot create '%s': %s", who, sofar, tostring(err)))
      end
    elseif mode ~= "directory" then
      fail(fmt("%s: cannot create '%s': '%s' is not a directory", who, path, sofar))
    end
  end
end


-- io.open's message without the path it starts with (the callers name the path themselves)
local function reason(msg, path)
  msg = tostring(msg)
  if msg:sub(1, #path + 2) == path .. ": " then return msg:sub(#path + 3) end
  return msg
end

-- Writes text to path through a temporary file and a rename: a reader sees the old file or the new one, whole.
function M.write_atomic(who, path, text)
  local tmp = fmt("%s.tmp%d", path, ml._proc.getpid())
  local f, err = io.open(tmp, "wb")
  if not f then error(fmt("%s: cannot write '%s': %s", who, path, reason(err, tmp)), 0) end
  f:write(text)
  local ok, err2 = f:close()
  if not ok then os.remove(tmp); error(fmt("%s: cannot write '%s': %s", who, tmp, tostring(err2)), 0) end
  local rok, rerr = os.rename(tmp, path)
  if not rok then os.remove(tmp); error(fmt("%s: cannot rename '%s' to '%s': %s", who, tmp, path, tostring(rerr)), 0) end
end

--- fs.read_file(path) -> string | nil, reason: a whole file's bytes
function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

--- fs.copy_file(src, dst) -> true | nil, reason: copies bytes; a failed copy leaves no partial dst
function M.copy_file(src, dst)
  local i, err = io.open(src, "rb")
  if not i then return nil, err end
  local o, err2 = io.open(dst, "wb")
  if not o then i:close(); return nil, err2 end
  while true do
    local chunk = i:read(1 << 20)
    if not chunk then break end
    local ok, werr = o:write(chunk)
    if not ok then i:close(); o:close(); os.remove(dst); return nil, werr end
  end
  i:close()
  local ok, cerr = o:close()
  if not ok then os.remove(dst); return nil, cerr end
  return true
end

ml.doc(M.mkdir_p, "fs.mkdir_p(who, path) — creates path and its missing parents (LuaFileSystem), or raises 'who: cannot create PATH: reason'")
ml.doc(M.read_file, "fs.read_file(path) -> string | nil, reason — a whole file's bytes")
ml.doc(M.copy_file, "fs.copy_file(src, dst) -> true | nil, reason — copies a file's bytes; a failed copy leaves no partial dst")
ml.doc(M.write_atomic, "fs.write_atomic(who, path, text) — writes a file through a temporary file and a rename, so readers see it whole")

return M
