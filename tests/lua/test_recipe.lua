-- Recipes (ml.recipe) and `moonlab search`: run with overrides, --help,
-- type errors, a search over the recipe's space that resumes from its journal.
local BIN = T.BIN:sub(1, 1) == "/" and T.BIN or (require("lfs").currentdir() .. "/" .. T.BIN)

local function sh(cmd)
  local h = io.popen(cmd .. " 2>&1")
  local out = h:read("a")
  local ok = h:close()
  return out, ok
end

local RECIPE = [[
return {
  params = { x = 0.5, k = 3, name = "a", flag = false },
  docs = { x = "where to look" },
  space = { x = ml.search.uniform(0, 1), k = ml.search.int(1, 10) },
  run = function(p, ctx)
    assert(type(ctx.params) == "table")
    return { score = -(p.x - 0.3) ^ 2 - (p.k - 4) ^ 2, name = p.name, flag = p.flag }
  end,
}
]]

local function recipe_file()
  local dir = T.tmpdir()
  local p = dir .. "/r.lua"
  local f = assert(io.open(p, "w")) f:write(RECIPE) f:close()
  return dir, p
end

T.test("a recipe runs with its defaults and key=value overrides; --help lists its parameters", function()
  local _, p = recipe_file()
  local out, ok = sh(string.format("%s %s", T.BIN, p))
  T.ok(ok, out)
  T.ok(out:find("flag = false, name = a, score = %-1%.04"), out)
  out = sh(string.format("%s %s x=0.3 k=4 name=7 flag=true", T.BIN, p))
  T.ok(out:find("flag = true, name = 7, score = %-?0\n"), out)
  out = sh(string.format("%s %s --help", T.BIN, p))
  T.ok(out:find("x     0.5  where to look  searched over uniform%(0, 1%)"), out)
end)

T.test("a recipe's overrides are checked: unknown names and wrong types", function()
  local _, p = recipe_file()
  local out, ok = sh(string.format("%s %s xx=1", T.BIN, p))
  T.ok(not ok and out:find("unknown parameter 'xx' %(did you mean 'x'%?%); the recipe's parameters are flag, k, name, x"), out)
  out, ok = sh(string.format("%s %s k=2.5", T.BIN, p))
  T.ok(not ok and out:find("k must be an integer %(its default is 3%), got 2.5"), out)
  out, ok = sh(string.format("%s %s flag=3", T.BIN, p))
  T.ok(not ok and out:find("flag must be a boolean"), out)
  T.raises(function() ml.recipe.check({ params = {} }, "f.lua") end, "f.lua: the recipe has no run function")
  T.raises(function() ml.recipe.check({ params = { a = 1 }, space = { b = {1, 2} }, run = print }, "f.lua") end,
    "the space names 'b', which has no default")
end)

T.test("moonlab search: searches the recipe's space, writes the results, resumes from its journal", function()
  local dir, p = recipe_file()
  local cd = "cd " .. T.quote(dir) .. " && "
  local T = setmetatable({ BIN = BIN }, { __index = T })
  local out, ok = sh(cd .. string.format("%s search r.lua --trials 6 --metric score --seed 1", T.BIN))
  T.ok(ok, out)
  T.ok(out:find("maximize score"), out) -- the direction follows the metric's name
  T.ok(out:find("best: trial %d+, score = "), out)
  local f = io.open(dir .. "/r.search.csv") T.ok(f, "no CSV") local csv = f:read("a") f:close()
  T.ok(csv:find("^trial,k,x,score,state,seconds,error\n"), csv)
  out = sh(cd .. string.format("%s search r.lua --trials 9 --metric score --seed 1", T.BIN))
  T.ok(out:find("trial 7 ") and not out:find("trial 1 "), out) -- resumed: trials 7..9 only
  out = sh(cd .. string.format("%s search --show r.search.jsonl", T.BIN))
  T.ok(out:find("\n    9 "), out)
  out, ok = sh(cd .. string.format("%s search r.lua --trails 3", T.BIN))
  T.ok(not ok and out:find("unknown option %-%-trails %(did you mean %-%-trials%?%)"), out)
  out, ok = sh(cd .. string.format("%s search r.lua x=1", T.BIN))
  T.ok(not ok and out:find("'x' is searched"), out)
end)

T.test("examples/recipes/fashion_mlp.lua runs, is overridden and searched from the command line", function()
  local out, ok = sh(string.format("%s examples/recipes/fashion_mlp.lua epochs=1 limit=600 hidden=32", T.BIN))
  T.ok(ok and out:find("val_accuracy = 0%.%d+"), out)
  local dir = T.tmpdir()
  out, ok = sh(string.format("%s search examples/recipes/fashion_mlp.lua --trials 2 --metric val_accuracy --journal %s/j.jsonl epochs=1 limit=600",
    T.BIN, T.quote(dir)))
  T.ok(ok and out:find("best: trial %d, val_accuracy = 0%.%d+"), out)
  os.remove("fashion_mlp.search.csv")
end)
