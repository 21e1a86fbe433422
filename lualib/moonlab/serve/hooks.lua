--- moonlab.serve.hooks: the Lua hooks of ml.serve{preprocess = fn, postprocess = fn}.
--
-- Functions cannot cross Lua states, and every worker is its own state: a hook is
-- sent to the workers as its bytecode (string.dump, hex in the JSON config) and
-- loaded there with the worker's globals as _ENV. So a hook may use globals
-- (ml, string, its own require calls) but no upvalue other than _ENV: a local of
-- the script it was written in would not exist in the worker, and such a hook is
-- refused when the server starts, naming the upvalue.
--   preprocess(req)        -> nil (req changed in place), a string (the new body)
--                             or a table (the decoded request, {"inputs": ...})
--   postprocess(resp, req) -> nil (resp changed in place) or the response table
local ml = require "moonlab"

local fmt = string.format
local hooks = {}

local NAMES = { "preprocess", "postprocess" }

local function hex(s) return (s:gsub(".", function(c) return fmt("%02x", c:byte()) end)) end
local function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end

--- hooks.pack(fn, where) -> hex bytecode of a hook; refuses a function with upvalues other than _ENV
function hooks.pack(fn, where)
  if type(fn) ~= "function" then
    error(fmt("%s must be a function, got %s", where, type(fn)), 0)
  end
  local i = 1
  while true do
    local name = debug.getupvalue(fn, i)
    if name == nil then break end
    if name ~= "_ENV" then
      error(fmt("%s uses the upvalue '%s': a hook runs in each worker's own Lua state, so it may use globals " ..
        "and require but no local variable of the script (move '%s' inside the function or make it global)",
        where, name, name), 0)
    end
    i = i + 1
  end
  local ok, code = pcall(string.dump, fn)
  if not ok then error(fmt("%s cannot be sent to the workers: %s", where, code), 0) end
  return hex(code)
end

--- hooks.pack_all(opts, fn) -> {preprocess = hex, postprocess = hex} of the options that are set
function hooks.pack_all(opts, fn)
  local out = {}
  for _, n in ipairs(NAMES) do
    if opts[n] ~= nil then out[n] = hooks.pack(opts[n], fn .. ": " .. n) end
  end
  return out
end

--- hooks.unpack(packed) -> {preprocess = fn, postprocess = fn}: the hooks loaded in this state
function hooks.unpack(packed)
  local out = {}
  for _, n in ipairs(NAMES) do
    if packed and packed[n] then
      local fn, err = load(unhex(packed[n]), "=" .. n, "b", _G)
      if not fn then error(fmt("serve: the %s hook does not load: %s", n, err), 0) end
      out[n] = fn
    end
  end
  return out
end

ml.doc(hooks.pack, "serve.hooks.pack(fn, where) -> hex — a hook's bytecode for the workers; refuses upvalues other than _ENV")
ml.doc(hooks.pack_all, "serve.hooks.pack_all(opts, fn) -> {preprocess, postprocess} — the packed hooks of ml.serve's options")
ml.doc(hooks.unpack, "serve.hooks.unpack(packed) -> {preprocess = fn, postprocess = fn} — the hooks loaded in a worker's state")

return hooks
