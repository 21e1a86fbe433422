--- `moonlab serve MODEL_OR_DIR [options]`: serves models over HTTP until SIGTERM
-- (graceful: stops accepting, finishes the requests in flight, exits 0).
local ml = require "moonlab"

local USAGE = [[
usage: moonlab serve MODEL_OR_DIR [MORE ...] [options]
  MODEL_OR_DIR      a model or bundle file, a directory of versions (NAME/1, NAME/2 ...)
                    or a directory of such directories (several models)
options:
  --port N            the port (default 8080; 0: a free one)
  --host H            the address to bind (default 127.0.0.1)
  --workers N         worker threads, each with its own Lua state (default: the CPU count, at most 8)
  --max-batch N       dynamic batching: merge concurrent requests up to N rows (default 1: off)
  --max-delay-ms X    how long a batch waits for more rows (default 2)
  --max-rows N        the most rows one request may hold (default 10000)
  --body-limit BYTES  larger bodies get 413 (default 1048576)
  --timeout S         seconds a connection may idle; a request must be read within twice that (default 10)
  --max-connections N (default 256)
  --token-file FILE   every route but GET /health needs "Authorization: Bearer <the file's first line>"
  --tls-cert PEM --tls-key PEM   HTTPS
  --version N         pin the (single) model to version N
  --name NAME         the model's name (default: the file's or the directory's name)
  --request-log FILE  append sampled requests and predictions as JSON lines
  --log-sample P      the fraction of requests logged (default 1)
  --drift-threshold X log a warning when a feature's drift score passes X
  --poll S            seconds between two looks at the versions directory (default 1)
  --no-fast-path      answer every request in Lua (by default plain networks are answered in C)
  --quiet             no access log lines]]

local FLAGS = {
  ["--port"] = { "port", "int" }, ["--host"] = { "host", "str" }, ["--workers"] = { "workers", "int" },
  ["--max-batch"] = { "max_batch", "int" }, ["--max-delay-ms"] = { "max_delay_ms", "num" },
  ["--max-rows"] = { "max_rows", "int" }, ["--body-limit"] = { "body_limit", "int" },
  ["--timeout"] = { "timeout", "num" }, ["--max-connections"] = { "max_connections", "int" },
  ["--token-file"] = { "token_file", "str" }, ["--tls-cert"] = { "tls_cert", "str" },
  ["--tls-key"] = { "tls_key", "str" }, ["--version"] = { "version", "int" }, ["--name"] = { "name", "str" },
  ["--request-log"] = { "request_log", "str" }, ["--log-sample"] = { "log_sample", "num" },
  ["--drift-threshold"] = { "drift_threshold", "num" }, ["--poll"] = { "poll", "num" },
}

local function fail(msg)
  io.stderr:write("moonlab serve: ", msg, "\n")
  return 2
end

local function parse(args)
  local opts, paths = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local flag, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    flag = flag or a
    if a == "--help" or a == "-h" then return nil, nil, "help"
    elseif a == "--quiet" then opts.quiet = true
    elseif a == "--no-fast-path" then opts.fast_path = false
    elseif FLAGS[flag] then
      local key, kind = FLAGS[flag][1], FLAGS[flag][2]
      local v = inline
      if v == nil then i = i + 1; v = args[i] end
      if v == nil then return nil, nil, flag .. " needs a value" end
      if kind ~= "str" then
        local n = tonumber(v)
        if not n or (kind == "int" and not math.tointeger(n)) then
          return nil, nil, string.format("%s expects %s, got '%s'", flag, kind == "int" and "an integer" or "a number", v)
        end
        v = kind == "int" and math.tointeger(n) or n
      end
      opts[key] = v
    elseif a:sub(1, 2) == "--" then
      local names = {}
      for k in pairs(FLAGS) do names[#names + 1] = k end
      names[#names + 1] = "--quiet"
      names[#names + 1] = "--no-fast-path"
      local hint = require("moonlab.core.checks").suggest(flag, names)
      return nil, nil, string.format("unknown option '%s'%s (moonlab serve --help lists them)", flag,
        hint and ("; did you mean '" .. hint .. "'?") or "")
    else paths[#paths + 1] = a end
    i = i + 1
  end
  return opts, paths
end

local function run(args)
  local opts, paths, err = parse(args)
  if err == "help" then print(USAGE); return 0 end
  if err then return fail(err) end
  if #paths == 0 then return fail("give a model file or a directory of versions\n" .. USAGE) end
  if opts.token_file then
    local f, ferr = io.open(opts.token_file)
    if not f then return fail("cannot read the token file: " .. tostring(ferr)) end
    local token = (f:read("l") or ""):match("^%s*(.-)%s*$")
    f:close()
    if token == "" then return fail(string.format("the token file '%s' is empty", opts.token_file)) end
    opts.token, opts.token_file = token, nil
  end
  opts.port = opts.port or 8080
  opts.workers = opts.workers or math.min(8, math.max(1, ml._proc.ncpu()))
  if #paths == 1 then opts.model = paths[1] else opts.models = paths end
  local ok, srv = pcall(ml.serve.start, opts)
  if not ok then return fail((tostring(srv):gsub("^[^\n]-:%d+: ", ""):gsub("^ml%.serve: ", ""))) end
  print(string.format("moonlab serve: listening on %s (%d worker%s%s)", srv.url, opts.workers,
    opts.workers == 1 and "" or "s", (opts.max_batch or 1) > 1 and (", batching up to " .. opts.max_batch .. " rows") or ""))
  for _, m in ipairs(srv.models) do
    local vs = {}
    for _, v in ipairs(m.versions) do vs[#vs + 1] = tostring(v.version) end
    print(string.format("  model %s: version %d active (versions %s) -> POST %s/v1/models/%s:predict",
      m.name, m.active, table.concat(vs, ", "), srv.url, m.name))
  end
  io.stdout:flush()
  srv:wait()
  print("moonlab serve: stopped")
  return 0
end

return { summary = "serve models over HTTP: /predict, versions, /metrics, drift (moonlab serve MODEL_OR_DIR --port 8080)",
  usage = USAGE, run = run }
