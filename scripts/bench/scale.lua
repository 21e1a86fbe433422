-- moonlab side of scripts/bench/scale.sh: prints "ml OP seconds" (median of REPS runs) for
-- StandardScaler and MinMaxScaler fit_transform on N x D float64, and a plain copy into an allocated matrix (Y:copy_(X)).
local N, D, REPS = tonumber(arg[1] or 1000000), tonumber(arg[2] or 20), tonumber(arg[3] or 3)
local prep = ml.prep
ml.seed(0)
local X = ml.randn(N, D, { dtype = "float64" })
local function median(t) table.sort(t) return t[(#t + 1) // 2] end
local function time(f)
  f() -- warm: page in the output blocks
  local ts = {}
  for r = 1, REPS do
    local t0 = ml.now()
    f()
    ts[r] = ml.now() - t0
  end
  return median(ts)
end
local Y = ml.empty(N, D, { dtype = "float64" })
print("ml copy " .. time(function() return Y:copy_(X) end))
print("ml standard " .. time(function() return prep.StandardScaler():fit_transform(X) end))
print("ml minmax " .. time(function() return prep.MinMaxScaler():fit_transform(X) end))
