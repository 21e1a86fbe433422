-- `moonlab help [NAME]`: the subcommands with one line each, or one subcommand's usage.
local cli = require "moonlab.cli"

local function run(args)
  local name = args[1]
  if name then
    local spec = cli.load(name)
    if not spec then
      io.stderr:write("moonlab help: no subcommand '", name, "'\n")
      return 1
    end
    print("moonlab " .. name .. ": " .. spec.summary)
    if spec.usage then print(spec.usage) end
    return 0
  end
  print("usage: moonlab NAME [args]   (moonlab --help for the options, scripts and the REPL)")
  print("subcommands:")
  local list = cli.list()
  local width = 4
  for _, s in ipairs(list) do width = math.max(width, #s.name) end
  for _, s in ipairs(list) do print(string.format("  %-" .. width .. "s  %s", s.name, s.summary)) end
  return 0
end

return {
  summary = "list the subcommands, or show one: moonlab help [NAME]",
  usage = "  moonlab help          every subcommand with its one-line summary\n" ..
          "  moonlab help NAME     the summary and usage of subcommand NAME",
  run = run,
}
