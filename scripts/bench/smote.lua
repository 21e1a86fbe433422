-- The moonlab side of scripts/bench/smote.sh: prep.SMOTE{k_neighbors = 5}:fit_resample
-- and the kNN it runs (ml._neighbors.kneighbors of the minority class with itself, k = 5
-- without each row), on the data smote.py made.
--   moonlab smote.lua DIR REPS   -> "SMOTE <median s> <best s>", "KNN <median s> <best s>"
local dir, reps = arg[1], tonumber(arg[2])
local X, y = ml.load_npy(dir .. "/X.npy"), ml.load_npy(dir .. "/y.npy")
local Xm = X:index_select(1, ml.arange(1, y:numel() + 1):masked_select(y:eq(2)))

local function timed(f)
  f() -- warm-up
  local s = {}
  for i = 1, reps do
    local t = ml.now()
    f()
    s[i] = ml.now() - t
  end
  table.sort(s)
  local m = #s % 2 == 1 and s[(#s + 1) // 2] or (s[#s // 2] + s[#s // 2 + 1]) / 2
  return m, s[1]
end

print(string.format("SMOTE %.6f %.6f", timed(function() return ml.prep.SMOTE{ k_neighbors = 5, seed = 0 }:fit_resample(X, y) end)))
print(string.format("KNN %.6f %.6f", timed(function() return ml._neighbors.kneighbors(Xm, Xm, 5, { exclude_self = true }) end)))
