--- moonlab.recipe (ml.recipe): recipe files — a Lua file that returns its
-- hyperparameters with defaults, optionally their search space and one-line
-- docs, and a run function that trains and returns its metrics:
--
--   return {
--     params = { lr = 1e-3, epochs = 5, width = 128, optimizer = "adam" },
--     docs   = { lr = "Adam's learning rate" },                     -- optional, for --help
--     space  = { lr = ml.search.loguniform(1e-4, 1e-2), width = {64, 128, 256} },  -- optional, for moonlab search
--     run    = function(p, ctx) ... return { val_accuracy = acc } end,
--   }
--
-- `moonlab recipe.lua lr=0.01 epochs=2` runs it with those values (each
-- checked against its default's type; an unknown name is an error that
-- lists the known ones), `moonlab recipe.lua --help` lists the parameters,
-- `moonlab search recipe.lua ...` searches its space (cli/search.lua).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local recipe = {}

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

--- recipe.check(r, [path]) -> r: an error naming the file when r is not a recipe table
function recipe.check(r, path)
  local where = path or "recipe"
  if type(r) ~= "table" then fail(fmt("%s: a recipe returns a table {params = ..., run = function(p, ctx) ... end}, got %s", where, type(r))) end
  if type(r.run) ~= "function" then fail(fmt("%s: the recipe has no run function (run = function(p, ctx) ... end)", where)) end
  if r.params ~= nil and type(r.params) ~= "table" then fail(fmt("%s: params must be a table of defaults, got %s", where, type(r.params))) end
  for k in pairs(r.params or {}) do
    if type(k) ~= "string" then fail(fmt("%s: parameter names must be strings, got %s", where, type(k))) end
  end
  if r.space ~= nil and type(r.space) ~= "table" then fail(fmt("%s: space must be a table {name = distribution}, got %s", where, type(r.space))) end
  for k, s in pairs(r.space or {}) do
    if r.params and r.params[k] == nil then
      fail(fmt("%s: the space names '%s', which has no default in params", where, tostring(k)))
    end
    recipe.check_space_type(where, k, r.params and r.params[k], s)
  end
  return r
end

local function kind_of_value(v)
  if math.type(v) == "integer" then return "integer" end
  return type(v)
end

-- What a searched value must be for the parameter's default: a whole number for an integer default, a number for
-- a float one (an integer is fine), the default's type otherwise. A space that draws something else would hand
-- run() values its defaults never promised (a width of 123.4).
function recipe.check_space_type(where, name, default, s)
  if default == nil then return end
  local want = kind_of_value(default)
  local function ok(v)
    local got = kind_of_value(v)
    return got == want or (want == "number" and got == "integer")
  end
  local values
  if type(s) == "table" and s.is_distribution then
    if s.kind == "float" then
      if want ~= "number" then
        fail(fmt("%s: the space of '%s' draws floats (%s), but its default %s is %s%s", where, name, s:describe(), tostring(default),
          want == "integer" and "a whole number" or ("a " .. want), want == "integer" and "; use ml.search.int" or ""))
      end
      return
    elseif s.kind == "int" then
      if want ~= "integer" and want ~= "number" then
        fail(fmt("%s: the space of '%s' draws whole numbers (%s), but its default %s is a %s", where, name, s:describe(), tostring(default), want))
      end
      return
    elseif s.kind == "categorical" then values = s.choices
    elseif s.kind == "fixed" then values = { s.value }
    end
  elseif type(s) == "table" and getmetatable(s) == nil then values = s
  else values = { s } end
  for _, v in ipairs(values or {}) do
    if not ok(v) then
      fail(fmt("%s: the space of '%s' holds %s, but its default %s is %s", where, name, kind_of_value(v) == "string" and ("'" .. v .. "'") or tostring(v),
        tostring(default), want == "integer" and "a whole number" or ("a " .. want)))
    end
  end
end

--- recipe.is_recipe(v) -> whether v looks like a recipe table (a table with a run function)
function recipe.is_recipe(v)
  return type(v) == "table" and getmetatable(v) == nil and type(v.run) == "function"
end

local function type_of(v)
  if math.type(v) == "integer" then return "integer" end
  return type(v)
end

--- recipe.resolve(r, overrides, [path]) -> params: the defaults with the overrides, types checked
function recipe.resolve(r, overrides, path)
  local where = path or "recipe"
  local params = {}
  for k, v in pairs(r.params or {}) do params[k] = v end
  local known = sorted_keys(r.params or {})
  for _, k in ipairs(sorted_keys(overrides or {})) do
    local v = overrides[k]
    local default = (r.params or {})[k]
    if default == nil then
      local hint = checks.suggest(k, known)
      fail(fmt("%s: unknown parameter '%s'%s; the recipe's parameters are %s", where, k,
        hint and fmt(" (did you mean '%s'?)", hint) or "", #known > 0 and table.concat(known, ", ") or "none"))
    end
    local want, got = type_of(default), type_of(v)
    if want == "integer" and got == "number" then
      fail(fmt("%s: %s must be an integer (its default is %s), got %s", where, k, tostring(default), tostring(v)))
    elseif want == "number" and got == "integer" then
      v = v + 0.0
    elseif want ~= got and not (want == "number" and got == "integer") then
      if want == "string" then v = tostring(v) -- epochs=5 for a string parameter is the text "5"
      else
        fail(fmt("%s: %s must be a %s (its default is %s), got %s '%s'", where, k, want == "integer" and "whole number" or want,
          tostring(default), got == "integer" and "number" or got, tostring(v)))
      end
    end
    params[k] = v
  end
  return params
end

--- recipe.help(r, path) -> text: the parameters, their defaults, docs and search ranges
function recipe.help(r, path)
  local lines = { fmt("%s: a moonlab recipe. Run it with `moonlab %s [name=value ...]`%s", path, path,
    r.space and fmt(", search it with `moonlab search %s`", path) or "") }
  if r.doc then lines[#lines + 1] = tostring(r.doc) end
  lines[#lines + 1] = "parameters (default):"
  local width = 0
  for _, k in ipairs(sorted_keys(r.params or {})) do width = math.max(width, #k) end
  for _, k in ipairs(sorted_keys(r.params or {})) do
    local d = (r.docs or {})[k]
    local s = r.space and r.space[k]
    local space_text = ""
    if s ~= nil then
      if type(s) == "table" and s.describe then space_text = "  searched over " .. s:describe()
      elseif type(s) == "table" then
        local vs = {}
        for i, v in ipairs(s) do vs[i] = tostring(v) end
        space_text = "  searched over {" .. table.concat(vs, ", ") .. "}"
      end
    end
    lines[#lines + 1] = fmt("  %-" .. width .. "s  %s%s%s", k, tostring(r.params[k]), d and ("  " .. d) or "", space_text)
  end
  return table.concat(lines, "\n")
end

local function show(v)
  if type(v) == "number" and math.type(v) ~= "integer" then return fmt("%.6g", v) end
  return tostring(v)
end

--- recipe.run(r, [{overrides, path, trial}]) -> metrics: runs the recipe with its defaults and the overrides
function recipe.run(r, opts)
  opts = opts or {}
  local path = opts.path or "recipe"
  recipe.check(r, path)
  local params = recipe.resolve(r, opts.overrides, path)
  local ctx = { path = path, trial = opts.trial, params = params }
  return r.run(params, ctx), params
end

--- recipe.main(r, path): what `moonlab recipe.lua [name=value ...]` does — --help, or run and print the metrics
function recipe.main(r, path)
  recipe.check(r, path)
  for _, a in ipairs(arg or {}) do
    if a == "--help" or a == "-h" then print(recipe.help(r, path)) return end
  end
  -- every other argument is name=value: `--epochs 5` or a bare `epochs` would otherwise be dropped unseen
  local known = sorted_keys(r.params or {})
  local track -- --no-track: no run record (track/autolog.lua)
  for _, a in ipairs(arg or {}) do
    if a == "--no-track" then track = false
    elseif not a:match("^[%a_][%w_.%-]*=") then
      fail(fmt("%s: unexpected argument '%s'; a recipe takes name=value (parameters: %s), --no-track or --help", path, a,
        #known > 0 and table.concat(known, ", ") or "none"))
    end
  end
  local metrics = require("moonlab.track.autolog").recipe(recipe.run, r, { overrides = ml.overrides, path = path }, track)
  if type(metrics) == "table" then
    local parts = {}
    for _, k in ipairs(sorted_keys(metrics)) do parts[#parts + 1] = k .. " = " .. show(metrics[k]) end
    if #parts > 0 then print(table.concat(parts, ", ")) end
  elseif metrics ~= nil then
    print(show(metrics))
  end
end

--- recipe.load(path) -> r: a recipe file's table (checked)
function recipe.load(path)
  local chunk, err = loadfile(path)
  if not chunk then fail(fmt("recipe.load: %s", err)) end
  local r = chunk()
  return recipe.check(r, path)
end

do
  local doc = ml.doc
  doc(recipe, "ml.recipe — recipe files: {params = defaults, space = search space, docs, run = function(p, ctx)}; "
    .. "`moonlab recipe.lua k=v`, `moonlab recipe.lua --help`, `moonlab search recipe.lua`")
  doc(recipe.check, "recipe.check(r, [path]) -> r — an error naming the file when r is not a recipe (or its space draws values of another type than a default)")
  doc(recipe.check_space_type, "recipe.check_space_type(where, name, default, space_entry) — an error when the space of name draws values its default's type does not allow (floats for an integer)")
  doc(recipe.is_recipe, "recipe.is_recipe(v) -> boolean — whether v is a recipe table (a table with run)")
  doc(recipe.resolve, "recipe.resolve(r, overrides, [path]) -> params — the defaults with overrides, types checked against the defaults")
  doc(recipe.help, "recipe.help(r, path) -> text — the recipe's parameters, defaults, docs and search ranges")
  doc(recipe.run, "recipe.run(r, [{overrides, path, trial}]) -> metrics, params — runs the recipe")
  doc(recipe.main, "recipe.main(r, path) — `moonlab recipe.lua [k=v ...]`: --help, or run and print the metrics")
  doc(recipe.load, "recipe.load(path) -> r — a recipe file's table, checked")
end

return recipe
