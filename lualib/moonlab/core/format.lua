--- moonlab.core.format: the one place for number, duration and shape
-- formatting, and the JSON codec for numbers JSON cannot hold.
local ml = require "moonlab"

local format = {}
local fmt, huge = string.format, math.huge

--- format.shape(t_or_sizes) -> "[3,4]": a tensor's shape (or a table of sizes) for messages
function format.shape(t)
  if ml.is_tensor(t) then t = t:shape() end
  local parts = {}
  for i, v in ipairs(t) do parts[i] = tostring(v) end
  return "[" .. table.concat(parts, ",") .. "]"
end

--- format.thousands(n) -> "1,234,567"
function format.thousands(n)
  local s = tostring(math.tointeger(n) or n)
  local sign, digits, rest = s:match("^(-?)(%d+)(.*)$")
  if not digits then return s end
  digits = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return sign .. digits .. rest
end

--- format.number(v) -> a metric for a log line: 4 decimals, or an exponent for very small/large values
function format.number(v)
  if v ~= v then return "nan" end
  if v == huge then return "inf" elseif v == -huge then return "-inf" end
  local a = math.abs(v)
  if a ~= 0 and (a < 1e-3 or a >= 1e6) then return fmt("%.3e", v) end
  return fmt("%.4f", v)
end

--- format.exact(v) -> the shortest "%.Ng" text that reads back as the same double (integers as integers)
function format.exact(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v then return "nan" elseif v == huge then return "inf" elseif v == -huge then return "-inf" end
  local s
  for p = 15, 17 do
    s = fmt("%." .. p .. "g", v)
    if tonumber(s) == v then break end
  end
  return s
end

--- format.duration(seconds) -> "4.2s", "3m07s", "2h05m"
function format.duration(s)
  if s < 60 then return fmt("%.1fs", s) end
  if s < 3600 then return fmt("%dm%02ds", s // 60, math.floor(s % 60)) end
  return fmt("%dh%02dm", s // 3600, math.floor(s % 3600) // 60)
end

-- ---- quoting text that came from a file ----

format.EXCERPT_CHARS = 40

-- the length of the printable UTF-8 sequence at byte i of s, or nil (the rule of runtime/io/file.c)
local function utf8_printable(s, i)
  local c = s:byte(i)
  local n = (c >= 0xC2 and c <= 0xDF) and 2 or (c >= 0xE0 and c <= 0xEF) and 3 or (c >= 0xF0 and c <= 0xF4) and 4 or nil
  if not n or i + n - 1 > #s then return nil end
  for j = i + 1, i + n - 1 do
    local b = s:byte(j)
    if b < 0x80 or b > 0xBF then return nil end
  end
  local c1 = s:byte(i + 1)
  if c == 0xC2 and c1 < 0xA0 then return nil end
  if (c == 0xE0 and c1 < 0xA0) or (c == 0xF0 and c1 < 0x90) then return nil end
  if (c == 0xED and c1 >= 0xA0) or (c == 0xF4 and c1 >= 0x90) then return nil end
  return n
end

--- format.excerpt(v, [max=40]) -> text safe to quote in a message: control bytes and invalid UTF-8 as \xNN, backslashes doubled, cut to max characters with "..."
function format.excerpt(v, max)
  local s = tostring(v)
  local out, i, shown, len = {}, 1, 0, #s
  max = max or format.EXCERPT_CHARS
  while i <= len and shown < max do
    local c = s:byte(i)
    if c >= 0x20 and c < 0x7f and c ~= 92 then out[#out + 1] = string.char(c); i = i + 1
    elseif c == 92 then out[#out + 1] = "\\\\"; i = i + 1
    else
      local n = utf8_printable(s, i)
      if n then out[#out + 1] = s:sub(i, i + n - 1); i = i + n
      else out[#out + 1] = fmt("\\x%02x", c); i = i + 1 end
    end
    shown = shown + 1
  end
  if i <= len then out[#out + 1] = "..." end
  return table.concat(out)
end

-- ---- JSON-safe numbers: NaN and the infinities travel as the strings "nan", "inf", "-inf" ----

--- format.json_number(v) -> v, or "nan"/"inf"/"-inf" for the numbers JSON cannot hold
function format.json_number(v)
  if type(v) ~= "number" then return v end
  if v ~= v then return "nan" elseif v == huge then return "inf" elseif v == -huge then return "-inf" end
  return v
end

--- format.number_from_json(v) -> the number v stands for ("nan", "inf", "-inf" included), or nil
function format.number_from_json(v)
  if v == "nan" then return 0 / 0 elseif v == "inf" then return huge elseif v == "-inf" then return -huge end
  if type(v) == "number" then return v end
  return nil
end

--- format.to_json(v) -> a JSON-able deep copy: numbers made safe, functions, tensors and objects dropped
function format.to_json(v, depth)
  depth = depth or 0
  if depth > 64 then error("format.to_json: nesting deeper than 64 levels", 2) end
  local t = type(v)
  if t == "number" then return format.json_number(v) end
  if t == "string" or t == "boolean" then return v end
  if t ~= "table" or ml.is_tensor(v) or getmetatable(v) ~= nil then return nil end
  local out = {}
  for k, x in pairs(v) do out[k] = format.to_json(x, depth + 1) end
  return out
end

--- format.from_json(v) -> the inverse of to_json: "nan"/"inf"/"-inf" back to numbers, json.null to nil
function format.from_json(v)
  local n = format.number_from_json(v)
  if n ~= nil then return n end
  if ml.json and v == ml.json.null then return nil end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = format.from_json(x) end
  return out
end

do
  local doc = ml.doc
  doc(format, "core.format — shape, thousands, number, exact, duration formatting and the NaN/Inf-safe JSON codec (json_number, number_from_json, to_json, from_json)")
  doc(format.shape, "format.shape(t) -> '[3,4]' — a tensor's shape, or a table of sizes, for messages")
  doc(format.thousands, "format.thousands(n) -> '1,234,567'")
  doc(format.number, "format.number(v) -> string — a metric for a log line (4 decimals, exponent when tiny or huge)")
  doc(format.exact, "format.exact(v) -> string — the shortest decimal that reads back as the same number")
  doc(format.duration, "format.duration(seconds) -> '4.2s' | '3m07s' | '2h05m'")
  doc(format.json_number, "format.json_number(v) -> v, or 'nan'/'inf'/'-inf' (JSON has no such numbers)")
  doc(format.number_from_json, "format.number_from_json(v) -> number | nil — reads what json_number wrote")
  doc(format.to_json, "format.to_json(v) -> a JSON-able deep copy with safe numbers; functions, tensors and objects are dropped")
  doc(format.from_json, "format.from_json(v) -> the inverse of to_json")
  doc(format.excerpt, "format.excerpt(v, [max=40]) -> string — text from a file made safe to quote: control bytes and invalid UTF-8 as \\xNN, cut to 40 characters with '...' (as the C side's messages)")
end

return format
