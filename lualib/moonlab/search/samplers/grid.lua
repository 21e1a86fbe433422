--- search.GridSampler: every combination of the parameters' values, in
-- order (GridSearchCV's ParameterGrid). Conditional parameters take part
-- only in the combinations where they exist, so {optimizer = {"sgd",
-- "adam"}, momentum = choice({0, 0.9}, {when = {optimizer = "sgd"}})} is 3
-- points, not 4.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local space = require "moonlab.search.space"

local Grid = class.Object:extend("search.GridSampler",
  "search.GridSampler() — every combination of the parameters' values (lists, choices, int ranges), in order")

function Grid:init(opts)
  checks.options("search.GridSampler", opts, {})
end

--- grid.points(compiled) -> list of params: the whole grid
function Grid.points(compiled)
  local out = {}
  local order = compiled.order
  local function walk(i, params)
    if i > #order then
      local copy = {}
      for k, v in pairs(params) do copy[k] = v end
      out[#out + 1] = copy
      return
    end
    local name = order[i]
    if not space.active(compiled, params, name) then return walk(i + 1, params) end
    for _, v in ipairs(compiled.dists[name]:grid(name)) do
      params[name] = v
      walk(i + 1, params)
    end
    params[name] = nil
  end
  walk(1, {})
  return out
end

--- sampler:total(compiled) -> the number of grid points
function Grid:total(compiled)
  if not self._points or self._space ~= compiled then self._points, self._space = Grid.points(compiled), compiled end
  return #self._points
end

--- sampler:suggest(ctx) -> the grid point of trial ctx.number (1-based), nil past the end
function Grid:suggest(ctx)
  self:total(ctx.space)
  local p = self._points[ctx.number]
  if not p then return nil end
  local copy = {}
  for k, v in pairs(p) do copy[k] = v end
  return copy
end

ml.doc(Grid.points, "GridSampler.points(compiled) -> list — every combination of the space's values (conditions respected)")
ml.doc(Grid.total, "sampler:total(compiled) -> n — the number of grid points")
ml.doc(Grid.suggest, "sampler:suggest(ctx) -> params | nil — grid point number ctx.number")

return { GridSampler = Grid }
