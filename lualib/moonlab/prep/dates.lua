--- prep/dates.lua: prep.DateFeatures, calendar features of dates and times:
-- year, month, day, weekday (pandas' 0 = Monday .. 6 = Sunday), day of year,
-- hour, minute, is_weekend, and optional cyclic sin/cos pairs for the
-- periodic ones (month, weekday, day of year, hour, minute), so December is
-- next to January. Input: date/datetime frame columns, or an int64 tensor of
-- seconds since 1970-01-01 UTC ([n] or [n, d]). The calendar is computed on
-- whole tensors (Howard Hinnant's days-to-civil algorithm in integer ops), so
-- no Lua runs per row. Missing dates give NaN features.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local base = require "moonlab.prep.base"

local fail, fmt = checks.fail, string.format

local M = {}

local FEATURES = { "year", "month", "day", "weekday", "dayofyear", "hour", "minute", "is_weekend" }
-- the period of each cyclic feature and the offset that makes its first value 0
local CYCLE = { month = { 12, 1 }, weekday = { 7, 0 }, dayofyear = { 365.2425, 1 }, hour = { 24, 0 }, minute = { 60, 0 },
  day = { 31, 1 } }

local DateFeatures = base.define("prep.DateFeatures",
  "prep.DateFeatures([{features={'year','month','day','weekday','dayofyear','hour','minute','is_weekend'}, cyclic=false}]) "
  .. "— calendar features of date/datetime columns or int64 epoch seconds; cyclic adds sin/cos of month, weekday, "
  .. "day of year, hour and minute",
  { { "features", FEATURES }, { "cyclic", false } })
DateFeatures.INPUT = "columns"

function DateFeatures:_check(fn)
  if type(self.features) ~= "table" or #self.features == 0 then
    fail(fmt("%s: features must be a non-empty list of names, got %s", fn, checks.show(self.features)))
  end
  for _, f in ipairs(self.features) do checks.one_of(fn, "feature", f, FEATURES) end
  checks.boolean(fn, "cyclic", self.cyclic)
end

local function idiv(t, k) return t:floor_divide(k) end

--- prep.calendar(seconds) -> {year, month, day, weekday, dayofyear, hour, minute} int64 tensors of epoch seconds
function M.calendar(s)
  local days = idiv(s, 86400)
  local secs = s:sub(days:mul(86400))
  local z = days:add(719468)
  local era = idiv(z, 146097)
  local doe = z:sub(era:mul(146097))
  local yoe = doe:sub(idiv(doe, 1460)):add(idiv(doe, 36524)):sub(idiv(doe, 146096)):floor_divide(365)
  local doy = doe:sub(yoe:mul(365):add(idiv(yoe, 4)):sub(idiv(yoe, 100)))
  local mp = idiv(doy:mul(5):add(2), 153)
  local day = doy:sub(idiv(mp:mul(153):add(2), 5)):add(1)
  local month = ml.where(mp:lt(10), mp:add(3), mp:sub(9))
  local year = yoe:add(era:mul(400)):add(month:le(2):to("int64"))
  -- January 1st of that year, by the inverse algorithm (month 1 is day 306 of the March-based year)
  local y1 = year:sub(1)
  local era1 = idiv(y1, 400)
  local yoe1 = y1:sub(era1:mul(400))
  local jan1 = era1:mul(146097):add(yoe1:mul(365)):add(idiv(yoe1, 4)):sub(idiv(yoe1, 100)):add(306 - 719468)
  return {
    year = year, month = month, day = day,
    weekday = days:add(3):remainder(7), -- 1970-01-01 was a Thursday (3)
    dayofyear = days:sub(jan1):add(1),
    hour = idiv(secs, 3600), minute = idiv(secs, 60):remainder(60),
  }
end

function DateFeatures:_fit(cols, _, fn)
  for _, c in ipairs(cols) do
    if c.kind ~= "date" and c.kind ~= "datetime" and c.kind ~= "int64" then
      fail(fmt("%s: column '%s' holds %s values; expected dates, datetimes or int64 seconds since 1970", fn, c.name, c.kind))
    end
  end
end

function DateFeatures:_transform(cols, fn)
  self:_fit(cols, nil, fn)
  local parts = {}
  for _, c in ipairs(cols) do
    local cal = M.calendar(c.values)
    local missing = c.valid and c.valid:logical_not() or nil
    local function add(v)
      v = v:to("float64")
      if missing then v = v:masked_fill(missing, 0 / 0) end
      parts[#parts + 1] = v:reshape(v:size(1), 1)
    end
    for _, f in ipairs(self.features) do
      if f == "is_weekend" then add(cal.weekday:ge(5)) else add(cal[f]) end
    end
    if self.cyclic then
      for _, f in ipairs(self.features) do
        local cy = CYCLE[f]
        if cy and f ~= "day" then
          local angle = cal[f]:sub(cy[2]):to("float64"):mul(2 * math.pi / cy[1])
          add(angle:sin())
          add(angle:cos())
        end
      end
    end
  end
  return #parts == 1 and parts[1] or ml.cat(parts, 2)
end

function DateFeatures:_feature_names(input)
  input = input or self.feature_names_in_
  local out = {}
  for j = 1, self.n_features_in_ do
    local p = input and input[j] or ("x" .. j)
    for _, f in ipairs(self.features) do out[#out + 1] = p .. "_" .. f end
    if self.cyclic then
      for _, f in ipairs(self.features) do
        if CYCLE[f] and f ~= "day" then
          out[#out + 1] = p .. "_" .. f .. "_sin"
          out[#out + 1] = p .. "_" .. f .. "_cos"
        end
      end
    end
  end
  return out
end
M.DateFeatures = DateFeatures

ml.doc(M.calendar, "prep.calendar(seconds) -> {year, month, day, weekday, dayofyear, hour, minute} — int64 tensors from int64 epoch seconds (UTC; weekday 0 = Monday)")

return M
