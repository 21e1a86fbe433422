--- moonlab.plot.ticks: where the ticks of an axis go and how their labels read.
-- Linear axes follow matplotlib's MaxNLocator (steps 1, 2, 2.5, 5, 10, at least
-- two ticks), so an axis over [0, 7.3] gets 0, 1, 2 ... 7 as matplotlib's would;
-- log axes put ticks on the decades (every k-th one when there are many, and
-- 2 and 5 times them when there are fewer than two). Labels are compact: the
-- fewest decimals that tell the ticks apart, an exponent for very large or small values.
local ticks = {}

local floor, abs, log10, huge = math.floor, math.abs, math.log10, math.huge
local fmt = string.format

local STEPS = { 1, 2, 2.5, 5, 10 }
-- MaxNLocator's _staircase: 0.1 * steps[:-1], steps, 10 * steps[2]
local EXTENDED = { 0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20 }

-- Python's divmod for floats (floor division and a remainder with the divisor's sign).
local function divmod(x, y)
  local mod = math.fmod(x, y)
  local div = (x - mod) / y
  if mod ~= 0 and ((y < 0) ~= (mod < 0)) then mod = mod + y; div = div - 1 end
  local fd
  if div ~= 0 then
    fd = floor(div)
    if div - fd > 0.5 then fd = fd + 1 end
  else
    fd = 0
  end
  return fd, mod
end

local function floordiv(x, y) return (divmod(x, y)) end

-- matplotlib.ticker.scale_range
local function scale_range(vmin, vmax, n)
  local dv = abs(vmax - vmin)
  local meanv = (vmax + vmin) / 2
  local offset = 0
  if abs(meanv) / dv >= 100 then
    offset = 10 ^ floordiv(log10(abs(meanv)), 1)
    if meanv < 0 then offset = -offset end
  end
  return 10 ^ floordiv(log10(dv / n), 1), offset
end

-- matplotlib.ticker._Edge_integer: floor/ceil of x / step that forgives rounding near an edge.
local function edge(step, offset)
  local tol = 1e-10
  if offset ~= 0 then
    tol = math.min(0.4999, math.max(1e-10, 10 ^ (log10(abs(offset) / step) - 12)))
  end
  local function closeto(ms, e) return abs(ms - e) < tol end
  return {
    le = function(x)
      local d, m = divmod(x, step)
      if closeto(m / step, 1) then return d + 1 end
      return d
    end,
    ge = function(x)
      local d, m = divmod(x, step)
      if closeto(m / step, 0) then return d end
      return d + 1
    end,
  }
end

-- matplotlib.transforms.nonsingular(vmin, vmax, expander=1e-13, tiny=1e-14)
local function nonsingular(vmin, vmax)
  local expander, tiny = 1e-13, 1e-14
  if vmin ~= vmin or vmax ~= vmax or abs(vmin) == huge or abs(vmax) == huge then return -expander, expander end
  if vmax < vmin then vmin, vmax = vmax, vmin end
  local maxabs = math.max(abs(vmin), abs(vmax))
  if maxabs < (1e6 / tiny) * 2.2250738585072014e-308 then return -expander, expander end
  if vmax - vmin <= maxabs * tiny then
    if vmax == 0 and vmin == 0 then return -expander, expander end
    return vmin - expander * abs(vmin), vmax + expander * abs(vmax)
  end
  return vmin, vmax
end

--- ticks.max_n(vmin, vmax, nbins, [integer]) -> list: matplotlib's MaxNLocator(nbins, steps=[1, 2, 2.5, 5, 10],
-- integer).tick_values(vmin, vmax) (the ticks may reach a step beyond the range; the axis shows those inside it)
function ticks.max_n(vmin, vmax, nbins, integer)
  vmin, vmax = nonsingular(vmin, vmax)
  local scale, offset = scale_range(vmin, vmax, nbins)
  local lo, hi = vmin - offset, vmax - offset
  local raw_step = (hi - lo) / nbins
  local steps = {}
  for _, s in ipairs(EXTENDED) do
    local v = s * scale
    -- integer: steps above 1 must be whole numbers
    if not integer or v < 1 or abs(v - floor(v + 0.5)) < 0.001 then steps[#steps + 1] = v end
  end
  local istep = #steps
  for i, s in ipairs(steps) do
    if s >= raw_step then istep = i break end
  end
  local whole = integer and floor(hi) - math.ceil(lo) >= 1
  local out
  for i = istep, 1, -1 do
    local step = steps[i]
    if whole then step = math.max(1, step) end
    local best_vmin = floordiv(lo, step) * step
    local e = edge(step, offset)
    local low, high = e.le(lo - best_vmin), e.ge(hi - best_vmin)
    out = {}
    local inside = 0
    for k = low, high do
      local t = k * step + best_vmin
      out[#out + 1] = t + offset
      if t <= hi and t >= lo then inside = inside + 1 end
    end
    if inside >= 2 then break end
  end
  return out
end

--- ticks.log(vmin, vmax, nmax) -> list: ticks of a log axis over [vmin, vmax] (> 0), at most about nmax
-- (the decades; 1, 2 and 5 times them when there are at most three decades and room for them)
function ticks.log(vmin, vmax, nmax)
  local d0, d1 = math.ceil(log10(vmin) - 1e-10), floor(log10(vmax) + 1e-10)
  local out = {}
  local decades = d1 - d0 + 1
  if decades >= 2 and (decades > 3 or nmax < 7) then
    local every = math.max(1, math.ceil((d1 - d0 + 1) / nmax))
    for d = d0 - d0 % every, d1, every do
      if d >= d0 then out[#out + 1] = 10.0 ^ d end
    end
    return out
  end
  for d = d0 - 1, d1 + 1 do
    for _, m in ipairs({ 1, 2, 5 }) do
      local v = m * 10.0 ^ d
      if v >= vmin * (1 - 1e-10) and v <= vmax * (1 + 1e-10) then out[#out + 1] = v end
    end
  end
  if #out < 2 then return ticks.max_n(vmin, vmax, nmax) end
  return out
end

-- "2.5e6" from "2.5e+06"
local function tidy_exponent(s)
  local m, sign, e = s:match("^(.-)e([%+%-])0*(%d+)$")
  if not m then return s end
  if m:find("%.") then m = m:gsub("0+$", ""):gsub("%.$", "") end
  return m .. "e" .. (sign == "-" and "-" or "") .. e
end

--- ticks.labels(values, [log]) -> list of strings: the tick labels, with one number of decimals for all
function ticks.labels(values, log)
  local out = {}
  if #values == 0 then return out end
  local big = 0
  for _, v in ipairs(values) do big = math.max(big, abs(v)) end
  local nonzero_small = huge
  for _, v in ipairs(values) do if v ~= 0 then nonzero_small = math.min(nonzero_small, abs(v)) end end
  local scientific = big >= 1e5 or (big > 0 and big < 1e-3) or (log and nonzero_small < 1e-3)
  if scientific then
    for i, v in ipairs(values) do
      if v == 0 then out[i] = "0"
      else
        -- the fewest significant digits that keep the labels apart
        for digits = 1, 15 do
          out[i] = tidy_exponent(fmt("%." .. (digits - 1) .. "e", v))
          if abs(tonumber(out[i]) - v) <= 1e-9 * abs(v) then break end
        end
      end
    end
    return out
  end
  -- one number of decimals for all (a log axis: each its own), the fewest that read back
  local function fewest(list)
    for d = 0, 12 do
      local ok = true
      for _, v in ipairs(list) do
        if abs(tonumber(fmt("%." .. d .. "f", v)) - v) > 1e-9 * math.max(big, 1e-300) then ok = false break end
      end
      if ok then return d end
    end
    return 12
  end
  local shared = not log and fewest(values)
  for i, v in ipairs(values) do
    local s = fmt("%." .. (shared or fewest({ v })) .. "f", v)
    if tonumber(s) == 0 then s = s:gsub("^%-", "") end -- no "-0.0"
    out[i] = s
  end
  return out
end

return ticks
