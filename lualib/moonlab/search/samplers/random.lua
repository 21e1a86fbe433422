--- search.RandomSampler: every parameter drawn independently from its
-- distribution (RandomizedSearchCV, Optuna's RandomSampler).
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local space = require "moonlab.search.space"

local Random = class.Object:extend("search.RandomSampler",
  "search.RandomSampler() — draws every parameter independently from its distribution")

function Random:init(opts)
  checks.options("search.RandomSampler", opts, {})
end

--- sampler:suggest(ctx) -> params; ctx = {space (compiled), trials, rng, direction, number}
function Random:suggest(ctx)
  return space.draw(ctx.space, function(_, d) return d:sample(ctx.rng) end)
end

ml.doc(Random.suggest, "sampler:suggest(ctx) -> params — the parameters of the next trial (ctx: space, trials, rng, direction, number)")

return { RandomSampler = Random }
