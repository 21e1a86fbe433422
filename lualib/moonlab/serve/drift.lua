--- moonlab.serve.drift: running statistics of what a model is sent and what it
-- answers, compared with the training statistics its bundle carries.
--
-- Each worker sums its inputs locally (count, per-feature sum and sum of squares,
-- counts of predicted classes) and adds them into ml.http.shared accumulators at
-- most every FLUSH_S seconds, so the hot path pays two in-place tensor additions.
-- The scores are computed from the shared sums wherever they are read (/metrics,
-- the watcher):
--   feature drift = |mean_serve - mean_train| / std_train
--   class drift   = the population stability index of predicted class frequencies,
--                   sum (p_serve - p_train) * ln(p_serve / p_train)
local ml = require "moonlab"

local fmt = string.format
local drift = {}

local FLUSH_S = 0.25
drift.FLUSH_S = FLUSH_S
local EPS = 1e-4 -- PSI of a class never predicted (or never seen) stays finite

local function key(name, version, part) return fmt("serve/drift/%s/%d/%s", name, version, part) end

local Recorder = {}
Recorder.__index = Recorder

--- drift.recorder(name, version, d, k, [stats], [threshold]) -> a worker's local sums for one model version
-- (d features, k classes or 0); with stats and threshold, each flush checks the scores and warns
function drift.recorder(name, version, d, k, stats, threshold)
  return setmetatable({
    name = name, version = version, d = d, k = k or 0, stats = stats, threshold = threshold,
    x = ml.zeros(1 + 2 * d, { dtype = "float64" }), -- [n, sum_1..d, sumsq_1..d]
    y = (k or 0) > 0 and ml.zeros(k, { dtype = "float64" }) or nil,
    ycounts = {}, dirty = false, last = ml.now(),
  }, Recorder)
end

--- rec:add(X, codes): X the model input [n, d]; codes the predicted class numbers (a Lua list 1..K) or nil
function Recorder:add(X, codes)
  local n, d = X:size(1), self.d
  if X:dim() ~= 2 or X:size(2) ~= d then return end
  ml._prep.moments_add(self.x, X) -- n, column sums and sums of squares, in one C pass
  if codes and self.y then
    local c = self.ycounts
    for i = 1, #codes do local v = codes[i]; if v then c[v] = (c[v] or 0) + 1 end end
  end
  self.dirty = true
  if ml.now() - self.last >= FLUSH_S then self:flush() end
end

--- rec:flush(): adds the local sums into the shared accumulators and starts again from zero
function Recorder:flush()
  self.last = ml.now()
  -- rows added by the C predict path (serve/fast_path.lua) count too: it adds into x and y directly
  if not self.dirty and self.x[1] == 0 then return end
  local shared = ml.http.shared
  shared.acc_add(key(self.name, self.version, "x"), self.x)
  self.x:zero_()
  if self.y then
    for c, v in pairs(self.ycounts) do
      if c >= 1 and c <= self.k then self.y[c] = self.y[c] + v end
    end
    self.ycounts = {}
    shared.acc_add(key(self.name, self.version, "y"), self.y)
    self.y:zero_()
  end
  self.dirty = false
  if self.threshold and self.stats then drift.warnings(self.name, self.version, self.stats, self.threshold) end
end

--- drift.scores(stats, sums, counts) -> {n, mean = {...}, score = {...}, psi = number|nil}
-- stats: a bundle's {mean, std, class_freq}; sums: the [1 + 2d] accumulator; counts: the [K] one or nil
function drift.scores(stats, sums, counts)
  local out = { n = 0, mean = {}, score = {} }
  if not sums then return out end
  local s = sums:tolist()
  local n = s[1]
  out.n = n
  if n <= 0 then return out end
  local d = (#s - 1) // 2
  for j = 1, d do
    local m = s[1 + j] / n
    out.mean[j] = m
    local mt, st = stats and stats.mean and stats.mean[j], stats and stats.std and stats.std[j]
    if mt and st then
      out.score[j] = math.abs(m - mt) / (st > 1e-12 and st or 1e-12)
    end
  end
  local freq = stats and stats.class_freq
  if counts and freq and #freq > 0 then
    local c = counts:tolist()
    local total, ftotal = 0, 0
    for k = 1, #c do total = total + c[k] end
    for k = 1, #freq do ftotal = ftotal + freq[k] end
    if total > 0 and ftotal > 0 then
      local psi = 0
      for k = 1, math.max(#c, #freq) do
        local ps = math.max((c[k] or 0) / total, EPS)
        local pt = math.max((freq[k] or 0) / ftotal, EPS)
        psi = psi + (ps - pt) * math.log(ps / pt)
      end
      out.psi = psi
    end
  end
  return out
end

--- drift.read(name, version, stats) -> the scores of a model version from the shared sums
function drift.read(name, version, stats)
  local shared = ml.http.shared
  return drift.scores(stats, shared.acc_get(key(name, version, "x")), shared.acc_get(key(name, version, "y")))
end

local function feature_name(stats, j)
  return stats and stats.features and stats.features[j] or ("x" .. j)
end

--- drift.export(name, version, stats): sets the drift gauges of /metrics from the shared sums
function drift.export(name, version, stats)
  local r = drift.read(name, version, stats)
  local metrics = ml.http.metrics
  local v = tostring(version)
  for j, sc in pairs(r.score) do
    metrics.set("moonlab_serve_drift_score", { model = name, version = v, feature = feature_name(stats, j) }, sc)
  end
  if r.psi then metrics.set("moonlab_serve_prediction_psi", { model = name, version = v }, r.psi) end
  return r
end

--- drift.warnings(name, version, stats, threshold, [log]) -> r: a log line (and moonlab_serve_drift_warnings_total)
-- when a score passes threshold, once per feature per crossing: which side each score is on lives in
-- ml.http.shared, so the workers warn once between them
function drift.warnings(name, version, stats, threshold, log)
  local r = drift.export(name, version, stats)
  log = log or function(line) io.stderr:write(line, "\n") end
  local shared = ml.http.shared
  local function check(label, what, score)
    local k = fmt("serve/drift_over/%s/%d/%s", name, version, label)
    local over = score > threshold
    local was = shared.get(k) == "1"
    if over ~= was then
      shared.set(k, over and "1" or "0")
      if over then
        ml.http.metrics.inc("moonlab_serve_drift_warnings_total", { model = name, version = tostring(version), feature = label })
        log(fmt("serve: drift warning: model %s version %d: %s drift %.3g passed the threshold %g (%s rows seen)",
          name, version, what, score, threshold, tostring(math.tointeger(r.n) or r.n)))
      end
    end
  end
  for j, sc in pairs(r.score) do
    local f = feature_name(stats, j)
    check(f, "feature '" .. f .. "'", sc)
  end
  if r.psi then check("(predicted classes)", "predicted classes (PSI)", r.psi) end
  return r
end

ml.doc(drift.recorder, "serve.drift.recorder(name, version, d, k, [stats], [threshold]) -> rec — a worker's running sums of inputs and predicted classes; rec:add(X, codes), rec:flush()")
ml.doc(drift.scores, "serve.drift.scores(stats, sums, counts) -> {n, mean, score, psi} — drift per feature |mean - mean_train| / std_train and the PSI of predicted classes")
ml.doc(drift.read, "serve.drift.read(name, version, stats) -> scores — drift.scores from the workers' shared sums")
ml.doc(drift.export, "serve.drift.export(name, version, stats) -> scores — sets moonlab_serve_drift_score{feature} and moonlab_serve_prediction_psi")
ml.doc(drift.warnings, "serve.drift.warnings(name, version, stats, threshold, [log]) -> scores — exports, and warns once per crossing of threshold (shared between workers)")

return drift
