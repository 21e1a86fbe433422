-- ml.metrics against scikit-learn 1.2 (fixtures by scripts/gen_metrics_fixtures.py): every case calls
-- ml.metrics[fn](args..., opts) on the inputs scikit-learn saw (int64, float64 and float32 tensors,
-- string lists; 0/1, 1/2, -1/1 and string labels; ties in scores; sample weights; absent classes;
-- zero_division; normalize options) and compares with 1e-12 relative tolerance.
local F = ml.json.decode(T.read_file("tests/fixtures/metrics/metrics_cases.json"))
local metrics = ml.metrics

local function build(v)
  if type(v) ~= "table" or v.t == nil then return v end
  if v.t == "str" then return v.v end
  local dtype = ({ i64 = "int64", f64 = "float64", f32 = "float32" })[v.t]
  local t = ml.tensor(v.v, { dtype = dtype })
  if #v.shape == 2 then t = t:reshape(v.shape[1], v.shape[2]) end
  if #v.shape == 0 then t = t:reshape({}) end
  return t
end

local function opts_of(c)
  local o = {}
  for k, v in pairs(c.opts) do
    if type(v) == "table" and v.t ~= nil then o[k] = build(v) else o[k] = v end
  end
  return o
end

local function plain(x)
  if ml.is_tensor(x) then return x:dim() == 0 and x:item() or x:tolist() end
  return x
end

-- recursive comparison: numbers to 1e-12 relative (NaN as the string "NaN"), strings exactly
local function same(got, want, path)
  got = plain(got)
  if want == ml.json.null then
    if got ~= nil and got ~= ml.json.null then return false, path .. ": want nil, got " .. tostring(got) end
    return true
  end
  if want == "NaN" then
    if type(got) == "number" and got ~= got then return true end
    return false, path .. ": want NaN, got " .. tostring(got)
  end
  if want == "Infinity" or want == "-Infinity" then
    if got == (want == "Infinity" and math.huge or -math.huge) then return true end
    return false, path .. ": want " .. want .. ", got " .. tostring(got)
  end
  if type(want) == "number" then
    if type(got) == "boolean" then got = got and 1 or 0 end
    if type(got) ~= "number" then return false, path .. ": want " .. want .. ", got " .. tostring(got) end
    if math.abs(got - want) <= 1e-12 * math.max(1, math.abs(want)) then return true end
    return false, string.format("%s: want %.17g, got %.17g", path, want, got)
  end
  if type(want) == "string" then
    if got == want then return true end
    return false, path .. ":\nwant:\n" .. want .. "\ngot:\n" .. tostring(got)
  end
  if type(got) ~= "table" then return false, path .. ": want a table, got " .. tostring(got) end
  if #want > 0 or next(want) == nil then
    if #got ~= #want then return false, string.format("%s: want %d entries, got %d", path, #want, #got) end
    for i = 1, #want do
      local ok, msg = same(got[i], want[i], path .. "[" .. i .. "]")
      if not ok then return false, msg end
    end
    return true
  end
  for k, v in pairs(want) do
    local ok, msg = same(got[k], v, path .. "." .. k)
    if not ok then return false, msg end
  end
  for k in pairs(got) do
    if want[k] == nil then return false, path .. ": unexpected key " .. tostring(k) end
  end
  return true
end

local function call(c)
  local args = {}
  for i, a in ipairs(c.args) do args[i] = build(a) end
  local opts = opts_of(c)
  local r = table.pack(metrics[c.fn](args[1], args[2], next(opts) and opts or nil))
  if r.n == 1 then return r[1] end
  local out = {}
  for i = 1, r.n do out[i] = r[i] == nil and ml.json.null or r[i] end
  return out, r.n
end

T.test("fixtures come from scikit-learn 1.2", function()
  T.ok(F.sklearn:match("^1%.2"), "sklearn " .. F.sklearn)
  T.ok(#F.cases > 500, "cases: " .. #F.cases)
end)

-- one test per family of cases, every case checked
local by_fn = {}
for _, c in ipairs(F.cases) do
  by_fn[c.fn] = by_fn[c.fn] or {}
  table.insert(by_fn[c.fn], c)
end
local fns = {}
for k in pairs(by_fn) do fns[#fns + 1] = k end
table.sort(fns)
for _, fn in ipairs(fns) do
  T.test(fn .. " matches scikit-learn (" .. #by_fn[fn] .. " cases)", function()
    local bad = {}
    for _, c in ipairs(by_fn[fn]) do
      local ok, got, n = pcall(call, c)
      if not ok then
        bad[#bad + 1] = c.name .. ": raised " .. tostring(got)
      else
        local want = c.want
        local ok2, msg = same(got, want, c.name)
        if not ok2 then bad[#bad + 1] = msg end
      end
    end
    T.ok(#bad == 0, #bad .. " of " .. #by_fn[fn] .. " differ:\n" .. table.concat(bad, "\n", 1, math.min(#bad, 6)))
  end)
end
