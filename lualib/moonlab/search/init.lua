--- moonlab.search (ml.search): hyperparameter search — spaces, samplers
-- (grid, random, TPE), pruning, and search.run, the one loop they share.
-- This index lists the parts of the package (a missing one is an error);
-- each returns a table of the names it adds.
local ml = require "moonlab"

local search = {}

local parts = {
  "space", "trial", "pruners", "run",
  "samplers.random", "samplers.grid", "samplers.tpe", "samplers.gp", "samplers.genetic", "cv", "importance",
}

local skip = { compile = true, active = true, draw = true, is_dist = true, snap_int = true, Distribution = true,
  new = true, Trial = true, Pruned = true, _set_current = true, SAMPLERS = true }

for _, part in ipairs(parts) do
  for k, v in pairs(require("moonlab.search." .. part)) do
    if not skip[k] then
      local name = k == "current" and "current_trial" or k
      if search[name] ~= nil then error("moonlab.search: " .. part .. " redefines search." .. name) end
      search[name] = v
    end
  end
end
search.space = require "moonlab.search.space"

ml.doc(search, "ml.search — hyperparameter search: spaces (uniform, loguniform, int, choice, fixed, conditions), "
  .. "samplers (grid, random, TPE, GP, genetic), pruning (median, successive halving, Hyperband), search.run, GridSearchCV / RandomizedSearchCV / SearchCV")

return search
