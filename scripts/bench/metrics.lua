-- The moonlab side of scripts/bench/metrics.sh: ml.metrics on the .npy files metrics.py made.
-- Usage: moonlab scripts/bench/metrics.lua DIR REPS; prints "<metric> <median s> <best s>" per metric.
local dir, reps = arg[1], tonumber(arg[2] or "5")
local yt, yp = ml.load_npy(dir .. "/yt.npy"), ml.load_npy(dir .. "/yp.npy")
local yb, score = ml.load_npy(dir .. "/yb.npy"), ml.load_npy(dir .. "/score.npy")
local m = ml.metrics

local function timed(f)
  f() -- warm-up
  local s = {}
  for i = 1, reps do
    collectgarbage()
    local t = ml.now()
    f()
    s[i] = ml.now() - t
  end
  table.sort(s)
  local med = #s % 2 == 1 and s[(#s + 1) // 2] or (s[#s // 2] + s[#s // 2 + 1]) / 2
  return med, s[1]
end

local runs = {
  { "accuracy", function() return m.accuracy_score(yt, yp) end },
  { "f1_macro", function() return m.f1_score(yt, yp, { average = "macro" }) end },
  { "confusion", function() return m.confusion_matrix(yt, yp) end },
  { "roc_auc", function() return m.roc_auc_score(yb, score) end },
  { "avg_prec", function() return m.average_precision_score(yb, score) end },
}
for _, r in ipairs(runs) do
  local med, best = timed(r[2])
  print(r[1], med, best)
  io.stdout:flush()
end
