--- moonlab.plot.legend: the legend of a panel: one row per labelled artist (a line, a
-- marker or a patch swatch beside its label), in a light box placed in the corner that
-- covers the least data (matplotlib's loc='best': the points and line segments each
-- candidate box would hide are counted in C, ties go to upper right, upper left,
-- lower left, lower right), or in the corner asked for.
local legend = {}

local FONT, PAD, SWATCH, INSET = 11, 6, 22, 6
local ORDER = { "upper right", "upper left", "lower left", "lower right" }

local function entries(axes)
  local out = {}
  for _, a in ipairs(axes.artists) do
    if a.label and a.label ~= "" and a.legend_style then out[#out + 1] = a end
  end
  return out
end

-- The box {x0, y0, x1, y1} of size w x h in a corner of the area.
local function place(area, corner, w, h)
  local x = corner:find("right") and (area.x + area.w - INSET - w) or (area.x + INSET)
  local y = corner:find("upper") and (area.y + INSET) or (area.y + area.h - INSET - h)
  return { x, y, x + w, y + h }
end

local function swatch(cv, a, x, y)
  local c = a.color
  cv:new_path()
  if a.legend_style == "line" then
    cv:move_to(x, y); cv:line_to(x + SWATCH, y)
    cv:rgba(c[1], c[2], c[3], a.alpha or 1)
    cv:line_width(a.width or 2)
    cv:dash(a.dash)
    cv:stroke()
    cv:dash(nil)
  elseif a.legend_style == "marker" then
    cv:arc(x + SWATCH / 2, y, 4, 0, 2 * math.pi)
    cv:rgba(c[1], c[2], c[3], a.alpha or 0.8)
    cv:fill()
  else
    cv:rectangle(x + 3, y - 5, SWATCH - 6, 10)
    cv:rgba(c[1], c[2], c[3], a.alpha or 1)
    cv:fill()
  end
end

--- legend.draw(cv, axes, layout) -> the box drawn {x0, y0, x1, y1, corner} or nil (no labelled artists)
function legend.draw(cv, axes, L)
  local list = entries(axes)
  if #list == 0 then return nil end
  cv:font(FONT)
  local wmax, line_h = 0, 0
  for _, a in ipairs(list) do
    local w, h = cv:text_extents(a.label)
    wmax, line_h = math.max(wmax, w), math.max(line_h, h)
  end
  line_h = line_h + 3
  local w, h = PAD * 3 + SWATCH + wmax, PAD * 2 + line_h * #list
  local corner = axes.legend
  if corner == "best" then
    local best, fewest = ORDER[1], math.huge
    for _, c in ipairs(ORDER) do
      local box, n = place(L.area, c, w, h), 0
      box = { box[1] - INSET, box[2] - INSET, box[3] + INSET, box[4] + INSET } -- data touching the box counts too
      for _, a in ipairs(axes.artists) do n = n + a:hits(cv, L.map, box) end
      if n < fewest then best, fewest = c, n end
    end
    corner = best
  end
  local box = place(L.area, corner, w, h)
  cv:new_path()
  cv:rectangle(box[1], box[2], w, h)
  cv:rgba(1, 1, 1, 0.85)
  cv:fill(true)
  cv:rgba(0.8, 0.8, 0.8)
  cv:line_width(1)
  cv:stroke()
  for i, a in ipairs(list) do
    local y = box[2] + PAD + line_h * (i - 0.5)
    swatch(cv, a, box[1] + PAD, y)
    cv:font(FONT)
    cv:rgba(0.1, 0.1, 0.1)
    cv:text(a.label, box[1] + PAD * 2 + SWATCH, y, 0, "middle")
  end
  box.corner = corner
  return box
end

return legend
