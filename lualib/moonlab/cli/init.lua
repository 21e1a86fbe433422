--- moonlab.cli: the subcommands of the `moonlab` command.
-- `moonlab NAME args...` runs lualib/moonlab/cli/NAME.lua. Such a file returns
--   { summary = "one line for `moonlab help`", usage = "optional longer text",
--     run = function(args) ... return 0 end }
-- where args is the list of strings after NAME (the global `arg` is set as
-- for a script, arg[0] = NAME). run returns the exit status: an integer,
-- true or nil (0), false (1). A file may also return just the function.
local cli = {}

local NAME = "^[%a_][%w_%-]*$"

-- The folders moonlab/cli/ on package.path (the "?.lua" templates).
local function folders()
  local out, seen = {}, {}
  for template in package.path:gmatch("[^;]+") do
    local dir = template:match("^(.*)%?%.lua$")
    if dir then
      dir = dir .. "moonlab/cli"
      if not seen[dir] then seen[dir] = true; out[#out + 1] = dir end
    end
  end
  return out
end

--- cli.find(name) -> path|nil: the file of subcommand name.
function cli.find(name)
  if type(name) ~= "string" or not name:match(NAME) or name == "init" then return nil end
  return package.searchpath("moonlab.cli." .. name, package.path)
end

--- cli.load(name) -> spec|nil, err: the subcommand's table {summary, usage, run}.
function cli.load(name)
  local path = cli.find(name)
  if not path then return nil, "no subcommand '" .. tostring(name) .. "'" end
  local chunk, err = loadfile(path)
  if not chunk then error("moonlab " .. name .. ": " .. err, 0) end
  local spec = chunk(name, path)
  if type(spec) == "function" then spec = { run = spec } end
  if type(spec) ~= "table" or type(spec.run) ~= "function" then
    error(string.format("moonlab %s: %s must return {summary = ..., run = function(args) ... end}, got %s",
      name, path, type(spec)), 0)
  end
  spec.name, spec.path, spec.summary = name, path, spec.summary or ""
  return spec
end

--- cli.list() -> {spec...}: every subcommand, sorted by name.
function cli.list()
  local lfs = require "lfs"
  local names, out = {}, {}
  for _, dir in ipairs(folders()) do
    if lfs.attributes(dir, "mode") == "directory" then
      for f in lfs.dir(dir) do
        local n = f:match("^(.+)%.lua$")
        if n and n ~= "init" and n:match(NAME) and not names[n] then names[n] = true end
      end
    end
  end
  for n in pairs(names) do
    local ok, spec = pcall(cli.load, n)
    out[#out + 1] = ok and spec or { name = n, summary = "(does not load: " .. tostring(spec) .. ")" }
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

--- cli.main(name, args) -> status: runs subcommand name with the list args.
function cli.main(name, args)
  local spec = cli.load(name)
  if not spec then
    local names = {}
    for _, s in ipairs(cli.list()) do names[#names + 1] = s.name end
    local ok, checks = pcall(require, "moonlab.core.checks")
    local hint = ok and checks.suggest(name, names)
    io.stderr:write(string.format("moonlab: '%s' is neither a file nor a subcommand%s; subcommands: %s\n" ..
      "(moonlab help lists them; a script needs its .lua or a path)\n", name,
      hint and ("; did you mean '" .. hint .. "'?") or "", table.concat(names, ", ")))
    return 1
  end
  local status = spec.run(args or {})
  if status == nil or status == true then return 0 end
  if status == false then return 1 end
  return math.tointeger(status) or 1
end

local ml = package.loaded.moonlab
if ml then -- the command may run a subcommand before the moonlab module is loaded
  ml.doc(cli, "moonlab.cli — the subcommands of the moonlab command: cli.list(), cli.find(name), cli.load(name), cli.main(name, args)")
  ml.doc(cli.find, "cli.find(name) -> path|nil — the file lualib/moonlab/cli/NAME.lua of a subcommand")
  ml.doc(cli.load, "cli.load(name) -> spec|nil, err — loads a subcommand: {name, path, summary, usage, run}")
  ml.doc(cli.list, "cli.list() -> {spec...} — every subcommand on package.path, sorted by name")
  ml.doc(cli.main, "cli.main(name, args) -> status — runs subcommand name with the list of strings args; the exit status")
end

return cli
