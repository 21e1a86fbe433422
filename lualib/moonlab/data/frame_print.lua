--- data/frame_print.lua: tostring(df), an aligned table as pandas prints it.
-- Beyond MAX_ROWS rows only the first and last EDGE_ROWS are shown, with a
-- "..." row between; beyond MAX_COLS columns the first and last EDGE_COLS,
-- with a "..." column; the shape follows when anything was left out. Only
-- the cells shown are formatted (never the whole frame). A float column
-- prints with one number of decimals for all its shown cells (as pandas),
-- missing cells as NaN (floats) or <NA> (other kinds).
local DataFrame = require "moonlab.data.frame"

local fmt = string.format

local MAX_ROWS, EDGE_ROWS = 60, 5
local MAX_COLS, EDGE_COLS = 20, 10

-- The positions shown out of n (false marks the "..." gap).
local function shown(n, max, edge)
  local out = {}
  if n <= max then for i = 1, n do out[i] = i end return out end
  for i = 1, edge do out[#out + 1] = i end
  out[#out + 1] = false
  for i = n - edge + 1, n do out[#out + 1] = i end
  return out
end

-- The cells of a float column at the shown rows, with a common number of decimals.
local function float_cells(col, rows)
  local vals, decimals, wide = {}, 1, false
  for r, i in ipairs(rows) do
    if i then
      local v = col.values[i]
      vals[r] = v
      if v == v and v ~= math.huge and v ~= -math.huge then
        local a = math.abs(v)
        if a >= 1e16 or (a > 0 and a < 1e-4) then wide = true
        else
          local s = fmt("%.6f", v):gsub("0+$", "")
          decimals = math.max(decimals, #s - (s:find(".", 1, true) or #s))
        end
      end
    end
  end
  local cells = {}
  for r, i in ipairs(rows) do
    local v = vals[r]
    if not i then cells[r] = "..."
    elseif v ~= v then cells[r] = "NaN"
    elseif v == math.huge then cells[r] = "inf"
    elseif v == -math.huge then cells[r] = "-inf"
    elseif wide then cells[r] = fmt("%.6e", v)
    else cells[r] = fmt("%." .. decimals .. "f", v) end
  end
  return cells
end

local function column_cells(col, rows)
  if col.kind == "float64" then return float_cells(col, rows) end
  local cells = {}
  for r, i in ipairs(rows) do cells[r] = i and col:format(i) or "..." end
  return cells
end

local function width(s) return utf8.len(s) or #s end

function DataFrame:__tostring()
  local n, names = self._n, self._names
  local rows, cols = shown(n, MAX_ROWS, EDGE_ROWS), shown(#names, MAX_COLS, EDGE_COLS)
  local columns = { {} }
  for r, i in ipairs(rows) do columns[1][r] = i and tostring(i) or "..." end
  columns[1].head = ""
  for c, j in ipairs(cols) do
    local cells
    if j then
      cells = column_cells(self._cols[names[j]], rows)
      cells.head = names[j]
    else
      cells = { head = "..." }
      for r = 1, #rows do cells[r] = "..." end
    end
    columns[c + 1] = cells
  end
  for _, cells in ipairs(columns) do
    local w = width(cells.head)
    for _, s in ipairs(cells) do w = math.max(w, width(s)) end
    cells.width = w
  end
  local lines = {}
  local function line(get)
    local parts = {}
    for c, cells in ipairs(columns) do
      local s = get(cells)
      parts[c] = string.rep(" ", cells.width - width(s)) .. s
    end
    lines[#lines + 1] = table.concat(parts, "  ")
  end
  line(function(cells) return cells.head end)
  for r = 1, #rows do line(function(cells) return cells[r] end) end
  if n == 0 then lines[#lines + 1] = "(no rows)" end
  lines[#lines + 1] = fmt("[%d rows x %d columns]", n, #names)
  return table.concat(lines, "\n")
end

return DataFrame
