--- Argument checks shared by the Lua library: errors that point at the
-- user's line, and options tables that refuse unknown keys.
local ml = require "moonlab"

local checks = {}

--- checks.fail(msg): raises msg at the first caller outside moonlab's Lua library
function checks.fail(msg)
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info then return error(msg, 0) end
    if info.what ~= "C" and not info.source:find("lualib/moonlab/", 1, true) then return error(msg, level) end
    level = level + 1
  end
end

local function is_module(v)
  local mt = type(v) == "table" and getmetatable(v)
  return mt and mt.__is_module == true
end

--- checks.options(fn, opts, known, [sorted]) -> opts or {}: refuses non-tables and unknown keys,
-- naming fn; the known names are listed as given, or sorted when asked
function checks.options(fn, opts, known, sorted)
  if opts == nil then return {} end
  if type(opts) ~= "table" or is_module(opts) or ml.is_tensor(opts) then
    checks.fail(fn .. ": options must be a table, got " .. (ml.is_tensor(opts) and "a tensor" or type(opts)))
  end
  for k in pairs(opts) do
    local ok = false
    for _, n in ipairs(known) do if k == n then ok = true break end end
    if not ok then
      if #known == 0 then checks.fail(string.format("%s: unknown option '%s' (%s takes no options)", fn, tostring(k), fn)) end
      local names = { table.unpack(known) }
      if sorted then table.sort(names) end
      checks.fail(string.format("%s: unknown option '%s' (known: %s)", fn, tostring(k), table.concat(names, ", ")))
    end
  end
  return opts
end

return checks
