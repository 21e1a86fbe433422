--- moonlab.plot.search: a search's history (each finished trial's objective and the best so
-- far, Optuna's plot_optimization_history) and parameter importances as horizontal bars
-- (Optuna's plot_param_importances).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Figure = require "moonlab.plot.figure"
local artists = require "moonlab.plot.artists"
local colors = require "moonlab.plot.colors"
local bar = require "moonlab.plot.bar"

local fmt = string.format

local search = {}

local function f64(list) return ml.tensor(list, { dtype = "float64" }) end

--- plot.search_history(trials, [{direction='minimize', title, ylabel='objective', width, height}]) -> figure
-- (trials: a list of {number, value, state}, as search results and journals hold them; complete trials
-- are points, pruned ones with a value grey points, and a line follows the best so far)
function search.search_history(trials, opts)
  local fn = "plot.search_history"
  opts = checks.options(fn, opts, { "direction", "title", "ylabel", "width", "height", "logy" })
  if type(trials) == "table" and trials.trials ~= nil and #trials == 0 then trials = trials.trials end -- a search result
  if type(trials) ~= "table" or #trials == 0 then
    checks.fail(fmt("%s: trials must be a non-empty list of {number, value, state}, got %s", fn,
      type(trials) == "table" and "an empty table" or checks.show(trials)))
  end
  local direction = checks.one_of(fn, "direction", opts.direction, { "minimize", "maximize" }, "minimize")
  local fig = Figure({ width = opts.width, height = opts.height }, fn)
  local ax = fig:axes { title = opts.title or "Search history", xlabel = "trial", ylabel = opts.ylabel or "objective", xinteger = true,
    logy = opts.logy }
  local cx, cy, px, py, bx, by = {}, {}, {}, {}, {}, {}
  local best
  for i, t in ipairs(trials) do
    if type(t) ~= "table" then checks.fail(fmt("%s: trials[%d] must be a table {number, value, state}, got %s", fn, i, checks.show(t))) end
    local n = t.number or i
    if type(n) ~= "number" then checks.fail(fmt("%s: trials[%d].number must be a number, got %s", fn, i, checks.show(n))) end
    local v = t.value
    if v ~= nil and type(v) ~= "number" then checks.fail(fmt("%s: trials[%d].value must be a number, got %s", fn, i, checks.show(v))) end
    local state = t.state or (v ~= nil and "complete" or "failed")
    if v ~= nil and v == v then
      if state == "complete" then
        cx[#cx + 1], cy[#cy + 1] = n, v
        if best == nil or (direction == "minimize" and v < best) or (direction == "maximize" and v > best) then best = v end
      elseif state == "pruned" then
        px[#px + 1], py[#py + 1] = n, v
      end
    end
    if best ~= nil then bx[#bx + 1], by[#by + 1] = n, best end
  end
  if #cx == 0 and #px == 0 then checks.fail(fmt("%s: none of the %d trials has a value to plot", fn, #trials)) end
  if #px > 0 then
    ax:add(artists.points { x = f64(px), y = f64(py), color = { 0.6, 0.6, 0.6 }, size = 3.5, label = "pruned" })
  end
  if #cx > 0 then
    ax:add(artists.points { x = f64(cx), y = f64(cy), color = colors.cycle(1), size = 4, label = "objective" })
    ax:add(artists.line { x = f64(bx), y = f64(by), color = colors.cycle(4), width = 2,
      label = fmt("best so far (%s)", direction == "minimize" and "min" or "max") })
  end
  return fig
end

--- plot.importances(tbl, [{title, top=20, width, height}]) -> figure: {name = importance} (or search.param_importances'
-- list of {name, importance}) as horizontal bars, largest at the top
function search.importances(tbl, opts)
  local fn = "plot.importances"
  opts = checks.options(fn, opts, { "title", "top", "width", "height", "xlabel" })
  if type(tbl) ~= "table" or next(tbl) == nil then
    checks.fail(fmt("%s: expected a table {name = importance} with at least one entry, got %s", fn,
      type(tbl) == "table" and "an empty table" or checks.show(tbl)))
  end
  local list = {}
  if #tbl > 0 then
    for i, e in ipairs(tbl) do
      if type(e) ~= "table" or type(e.importance) ~= "number" then
        checks.fail(fmt("%s: entry %d must be {name, importance}, got %s", fn, i, checks.show(e)))
      end
      list[#list + 1] = { name = tostring(e.name), v = e.importance }
    end
  else
    for k, v in pairs(tbl) do
      if type(v) ~= "number" then checks.fail(fmt("%s: the importance of '%s' must be a number, got %s", fn, tostring(k), checks.show(v))) end
      list[#list + 1] = { name = tostring(k), v = v }
    end
  end
  table.sort(list, function(a, b) if a.v ~= b.v then return a.v > b.v end return a.name < b.name end)
  local top = checks.integer(fn, "top", opts.top or 20, 1)
  local names, vals = {}, {}
  for i = 1, math.min(top, #list) do names[i], vals[i] = list[i].name, list[i].v end
  local height = opts.height or math.max(200, math.min(900, 90 + 34 * #names))
  return bar.bar { labels = names, values = vals, horizontal = true, title = opts.title or "Parameter importances",
    xlabel = opts.xlabel or "importance", width = opts.width, height = height }
end

ml.doc(search.search_history, "plot.search_history(trials, [{direction='minimize', title, ylabel, logy}]) -> figure — each complete trial's objective (pruned ones grey) and the best so far")
ml.doc(search.importances, "plot.importances({name = importance} | param_importances' list, [{title, top=20}]) -> figure — horizontal bars, largest at the top")

return search
