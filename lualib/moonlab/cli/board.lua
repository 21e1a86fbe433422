--- `moonlab board [DIR]`: the web dashboard over a folder of run records.
--   moonlab board [DIR] [--port 6006] [--host 127.0.0.1] [--models DIR] [--token T] [--verbose]
-- Prints the URL and serves until SIGTERM or Ctrl-C.
local ml = require "moonlab"

local USAGE = [[
usage: moonlab board [DIR] [options]
  DIR              the run records (default $MOONLAB_RUNS or ./runs)
options:
  --port N         the port (default 6006; 0 picks a free one)
  --host H         the address to listen on (default 127.0.0.1: this machine only)
  --models DIR     model versions (NAME/N/ folders; default: models/ beside DIR)
  --token T        require "Authorization: Bearer T" (for a --host other than loopback)
  --verbose        log each request to stderr]]

local function fail(msg)
  io.stderr:write("moonlab board: ", msg, "\n", USAGE, "\n")
  return 2
end

local VALUED = { ["--port"] = "port", ["--host"] = "host", ["--models"] = "models", ["--token"] = "token" }

local function run(args)
  local opts, dir = { quiet = true }, nil
  local i = 1
  while i <= #args do
    local a = args[i]
    local key, val = a:match("^(%-%-[%w-]+)=(.*)$")
    key = key or a
    if key == "-h" or key == "--help" then print(USAGE); return 0
    elseif key == "--verbose" then opts.quiet = false
    elseif VALUED[key] then
      if not val then i = i + 1; val = args[i] end
      if val == nil then return fail(key .. " needs a value") end
      opts[VALUED[key]] = val
    elseif a:sub(1, 1) == "-" then return fail("unknown option '" .. a .. "'")
    elseif dir then return fail("one DIR only, got '" .. dir .. "' and '" .. a .. "'")
    else dir = a end
    i = i + 1
  end
  if opts.port then
    local p = math.tointeger(tonumber(opts.port))
    if not p or p < 0 or p > 65535 then return fail("--port must be an integer 0..65535, got '" .. opts.port .. "'") end
    opts.port = p
  end
  opts.dir = dir
  local ok, srv = pcall(ml.board.serve, opts)
  if not ok then io.stderr:write("moonlab board: ", tostring(srv):gsub("^board%.serve: ", ""), "\n"); return 1 end
  print("moonlab board: serving " .. (dir or os.getenv("MOONLAB_RUNS") or "./runs") .. " on " .. srv.url)
  io.stdout:flush()
  srv:wait()
  return 0
end

return { summary = "the web dashboard over run records: moonlab board [DIR] [--port 6006]", usage = USAGE, run = run }
