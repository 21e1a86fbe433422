--- track/provenance.lua: where a run came from — the machine, the git commit of the
-- script's repository, hashes of the files it read, the command line.
-- Nothing here raises for a missing tool: a machine without git records git = null.
local ml = require "moonlab"

local M = {}

local function dir_of(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end
M.dir_of = dir_of

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function read_command(cmd)
  local p = io.popen(cmd, "r")
  if not p then return nil end
  local out = p:read("a")
  local ok = p:close()
  if not ok then return nil end
  return out
end

--- provenance.git(dir) -> {commit, dirty} | nil: the commit of the repository holding dir (quiet without git)
function M.git(dir)
  local q = shell_quote(dir or ".")
  local commit = read_command("git -C " .. q .. " rev-parse HEAD 2>/dev/null")
  commit = commit and commit:match("^(%x+)%s*$")
  if not commit then return nil end
  local status = read_command("git -C " .. q .. " status --porcelain --untracked-files=no 2>/dev/null")
  return { commit = commit, dirty = status ~= nil and status:match("%S") ~= nil }
end

local host
--- provenance.host() -> the machine's name (what `hostname` prints)
function M.host()
  if host then return host end
  local f = io.open("/proc/sys/kernel/hostname", "r")
  if f then host = f:read("l"); f:close() end
  if not host or host == "" then host = os.getenv("HOSTNAME") or (read_command("hostname 2>/dev/null") or ""):match("^(%S+)") end
  host = host or "unknown"
  return host
end

--- provenance.file(path) -> {path, sha256, bytes} | nil: the hash of a file (nil when it cannot be read)
function M.file(path)
  local ok, hex, bytes = pcall(ml._track.sha256_file, path)
  if not ok then return nil end
  return { path = path, sha256 = hex, bytes = bytes }
end

--- provenance.command() -> {argv...}: the interpreter, its options, the script and its arguments
function M.command()
  local out = {}
  if type(arg) ~= "table" then return out end
  local lo = 0
  while arg[lo - 1] ~= nil do lo = lo - 1 end
  for i = lo, #arg do out[#out + 1] = tostring(arg[i]) end
  return out
end

--- provenance.script() -> the path of the running script (arg[0]) when it is a file, else nil
function M.script()
  local s = type(arg) == "table" and arg[0]
  if type(s) ~= "string" or not s:match("%.lua$") then return nil end
  local f = io.open(s, "rb")
  if not f then return nil end
  f:close()
  return s
end

ml.doc(M.git, "provenance.git(dir) -> {commit, dirty} | nil — `git -C dir rev-parse HEAD` and whether tracked files changed; nil outside a repository or without git")
ml.doc(M.host, "provenance.host() -> string — this machine's host name")
ml.doc(M.file, "provenance.file(path) -> {path, sha256, bytes} | nil — a file's SHA-256 and size")
ml.doc(M.command, "provenance.command() -> {argv...} — the command line that started this process")
ml.doc(M.script, "provenance.script() -> path | nil — the running script (arg[0]) when it is a .lua file")
ml.doc(M.dir_of, "provenance.dir_of(path) -> the directory part of path ('.' for a bare name)")

return M
