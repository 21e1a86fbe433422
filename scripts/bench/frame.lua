-- The moonlab side of scripts/bench/frame.sh: a frame of N rows (20 float64
-- columns of normal values, an int64 key of ~1000 groups, a string key of
-- 100 distinct strings), built from generated tensors; prints the median
-- seconds of REPS runs of each operation:
--   describe        df:describe() (the 21 numeric columns)
--   groupby_int     df:groupby("key"):agg{c1 = "mean", ..., c20 = "mean"}
--   groupby_str     the same by the string key
-- usage: moonlab scripts/bench/frame.lua N REPS
local data = ml.data
local N, REPS = tonumber(arg[1] or 1000000), tonumber(arg[2] or 5)
ml.seed(1)
local names, cols = {}, {}
local spec = {}
for j = 1, 20 do
  local name = "c" .. j
  names[j], cols[name] = name, data.Column.new("float64", ml.randn(N, { dtype = "float64" }))
  spec[name] = "mean"
end
names[21], cols.key = "key", data.Column.new("int64", ml.randint(1, 1001, { N }, { dtype = "int64" }))
local words = {}
for i = 1, 100 do words[i] = "w" .. i * 7919 end
local _, pool = ml._strings.from_list(words)
names[22], cols.skey = "skey", data.Column.new("string", ml.randint(1, 101, { N }, { dtype = "int64" }), nil, pool)
local df = data.DataFrame.from_columns(names, cols)

local function median(t) table.sort(t); return t[(#t + 1) // 2] end
local function bench(name, f)
  f() -- warm
  local ts = {}
  for r = 1, REPS do
    local t0 = ml.now()
    f()
    ts[r] = ml.now() - t0
  end
  print(string.format("ml %s %.6f", name, median(ts)))
end
bench("describe", function() return df:describe() end)
bench("groupby_int", function() return df:groupby("key"):agg(spec) end)
bench("groupby_str", function() return df:groupby("skey"):agg(spec) end)
