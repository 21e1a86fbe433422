--- moonlab.plot.learning: learning curves from fit's history (history.loss, history.val_loss,
-- history.accuracy ...: one value per epoch): one panel per metric, the training series and
-- its val_ twin overlaid; several histories (runs) overlaid in their own colours.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local Figure = require "moonlab.plot.figure"
local artists = require "moonlab.plot.artists"
local colors = require "moonlab.plot.colors"

local fmt = string.format
local SKIP = { lr = true } -- the schedule is not a learning curve (ask for it with metrics = {"lr"})

local learning = {}

local function numeric_list(v)
  if type(v) ~= "table" or #v == 0 then return false end
  for i = 1, #v do if type(v[i]) ~= "number" then return false end end
  return true
end

-- The metrics to draw, in order: loss first, then the others by name; val_x joins x.
local function metric_names(histories, wanted)
  if wanted then return wanted end
  local seen, names = {}, {}
  for _, h in ipairs(histories) do
    for k, v in pairs(h) do
      if type(k) == "string" and numeric_list(v) then
        local base = k:match("^val_(.+)$") or k
        if not SKIP[base] and not seen[base] then seen[base] = true; names[#names + 1] = base end
      end
    end
  end
  table.sort(names, function(a, b)
    if (a == "loss") ~= (b == "loss") then return a == "loss" end
    return a < b
  end)
  return names
end

local function series(fn, h, key, r)
  local v = h[key]
  if v == nil then return nil end
  if not numeric_list(v) then
    checks.fail(fmt("%s: history%s.%s must be a list of numbers (one per epoch), got %s", fn, r and fmt("[%d]", r) or "", key,
      checks.show(v)))
  end
  local x = ml.arange(1, #v + 1):to("float64")
  return x, ml.tensor(v, { dtype = "float64" }), #v
end

--- plot.learning_curves(history | {history, ...}, [{labels, title, metrics, cols, width, height}]) -> figure
-- (one panel per metric: train solid, val_ dashed; NaN epochs are skipped)
function learning.learning_curves(history, opts)
  local fn = "plot.learning_curves"
  opts = checks.options(fn, opts, { "labels", "title", "metrics", "cols", "width", "height" })
  if type(history) ~= "table" then checks.fail(fmt("%s: expected fit's history (or a list of them), got %s", fn, checks.show(history))) end
  local histories = (#history > 0 and type(history[1]) == "table") and history or { history }
  for i, h in ipairs(histories) do
    if type(h) ~= "table" then checks.fail(fmt("%s: history %d must be a table, got %s", fn, i, checks.show(h))) end
  end
  local names = metric_names(histories, opts.metrics)
  if #names == 0 then checks.fail(fn .. ": the history holds no per-epoch metric (a list of numbers such as loss or val_loss)") end
  local runs = #histories
  local labels = opts.labels
  if labels ~= nil and (type(labels) ~= "table" or #labels ~= runs) then
    checks.fail(fmt("%s: labels must name the %d histories, got %s", fn, runs,
      type(labels) == "table" and (#labels .. " labels") or checks.show(labels)))
  end
  local cols = checks.integer(fn, "cols", opts.cols or math.min(#names, 3), 1)
  local rows = math.ceil(#names / cols)
  local fig = Figure({ width = opts.width or math.max(640, math.min(1500, 460 * cols)),
    height = opts.height or (380 * rows + (opts.title and 30 or 0)), rows = rows, cols = cols, title = opts.title }, fn)
  for _, m in ipairs(names) do
    local ax = fig:axes { title = m, xlabel = "epoch", xinteger = true }
    local drawn = 0
    for r, h in ipairs(histories) do
      local who = runs > 1 and (labels and tostring(labels[r]) or ("run " .. r)) or nil
      for _, part in ipairs({ { m, "train", nil }, { "val_" .. m, "val", { 6, 4 } } }) do
        local x, y, n = series(fn, h, part[1], runs > 1 and r)
        if x then
          local color = runs > 1 and colors.cycle(r) or colors.cycle(part[2] == "train" and 1 or 2)
          ax:add(artists.line { x = x, y = y, color = color, width = 2, dash = runs > 1 and part[3] or nil,
            marker = n <= 1 and "circle" or nil, label = who and (who .. " " .. part[2]) or part[2] })
          drawn = drawn + 1
        end
      end
    end
    if drawn == 0 then checks.fail(fmt("%s: no history holds '%s' or 'val_%s'", fn, m, m)) end
  end
  return fig
end

ml.doc(learning.learning_curves, "plot.learning_curves(history | {history, ...}, [{labels, title, metrics, cols, width, height}]) -> figure — one panel per metric of fit's history, train and val_ overlaid, several runs in their own colours")

return learning
