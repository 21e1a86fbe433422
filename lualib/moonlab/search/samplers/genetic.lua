--- search.GeneticSampler: a steady-state genetic algorithm (DEAP's eaMuPlusLambda
-- in ask/tell form). The first population_size trials are random; after
-- that the population is the best population_size finished trials (so the
-- best ones always survive: elitism), and each new trial is a child of two
-- parents chosen by tournament (the best of tournament_size random members),
-- made by uniform crossover (each parameter from either parent, with
-- probability crossover_prob, else parent one's) and mutation (each
-- parameter, with probability mutation_prob (default 1 / number of
-- parameters): a number moves by a Gaussian step of mutation_scale times
-- its range, in log space for log parameters; a choice is drawn anew).
-- Conditional parameters come from a parent that has them, else are drawn.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local space = require "moonlab.search.space"

local GA = class.Object:extend("search.GeneticSampler",
  "search.GeneticSampler([{population_size=20, tournament_size=3, crossover_prob=0.9, mutation_prob=1/params, "
  .. "mutation_scale=0.1}]) — a genetic algorithm: tournament selection, uniform crossover, Gaussian mutation, elitism")

function GA:init(opts)
  local fn = "search.GeneticSampler"
  opts = checks.options(fn, opts, { "population_size", "tournament_size", "crossover_prob", "mutation_prob", "mutation_scale" })
  self.population_size = opts.population_size ~= nil and checks.integer(fn, "population_size", opts.population_size, 2) or 20
  self.tournament_size = opts.tournament_size ~= nil and checks.integer(fn, "tournament_size", opts.tournament_size, 1) or 3
  self.crossover_prob = opts.crossover_prob ~= nil and checks.number(fn, "crossover_prob", opts.crossover_prob, 0, 1) or 0.9
  self.mutation_prob = opts.mutation_prob ~= nil and checks.number(fn, "mutation_prob", opts.mutation_prob, 0, 1) or nil
  self.mutation_scale = opts.mutation_scale ~= nil and checks.number(fn, "mutation_scale", opts.mutation_scale, 0) or 0.1
end

local function tournament(self, pop, sign, r)
  local best
  for _ = 1, math.min(self.tournament_size, #pop) do
    local c = pop[r:integer(1, #pop)]
    if not best or sign * c.value < sign * best.value then best = c end
  end
  return best
end

local function mutate(self, d, v, r)
  if d.kind == "fixed" then return d.value end
  if d.kind == "categorical" then return d:sample(r) end
  local lo, hi = d.low, d.high
  local x = v
  if d.log then lo, hi, x = math.log(lo), math.log(hi), math.log(v) end
  x = x + r:normal(0, self.mutation_scale * (hi - lo))
  -- reflect at the bounds so the edges are not over-sampled
  for _ = 1, 4 do
    if x < lo then x = 2 * lo - x elseif x > hi then x = 2 * hi - x else break end
  end
  x = math.min(hi, math.max(lo, x))
  if d.log then x = math.exp(x) end
  if d.kind == "int" then return space.snap_int(d, x) end
  return math.min(d.high, math.max(d.low, x))
end

--- sampler:suggest(ctx) -> params; ctx = {space (compiled), trials, rng, direction, number}
function GA:suggest(ctx)
  local r = ctx.rng
  local done = {}
  for _, t in ipairs(ctx.trials) do
    if t.state == "complete" and type(t.value) == "number" and t.value == t.value then done[#done + 1] = t end
  end
  if #done < self.population_size then
    return space.draw(ctx.space, function(_, d) return d:sample(r) end)
  end
  local sign = ctx.direction == "maximize" and -1 or 1
  table.sort(done, function(a, b)
    if a.value ~= b.value then return sign * a.value < sign * b.value end
    return a.number < b.number
  end)
  local pop = table.move(done, 1, self.population_size, 1, {})
  local a, b = tournament(self, pop, sign, r), tournament(self, pop, sign, r)
  local cross = r:uniform() < self.crossover_prob
  local n_params = #ctx.space.names
  local pm = self.mutation_prob or 1 / math.max(1, n_params)
  return space.draw(ctx.space, function(name, d)
    local from = (cross and r:uniform() < 0.5) and b or a
    local v = from.params[name]
    if v == nil then v = (from == a and b or a).params[name] end
    if v == nil or not d:contains(v) then return d:sample(r) end
    if r:uniform() < pm then return mutate(self, d, v, r) end
    return v
  end)
end

ml.doc(GA.suggest, "sampler:suggest(ctx) -> params — a child of two tournament-selected parents (crossover, mutation)")

return { GeneticSampler = GA }
