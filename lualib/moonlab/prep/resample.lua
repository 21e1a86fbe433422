--- prep/resample.lua: class-imbalance samplers with imbalanced-learn's API.
--
--   local X2, y2 = prep.SMOTE{k_neighbors = 5, seed = 0}:fit_resample(X, y)
--
-- X is a float tensor [n, d] (or a data frame, read through df:to_tensor),
-- y a tensor or list of integer labels (moonlab's 1..K, or any integers).
-- sampling_strategy is imblearn's: "auto", "minority", "majority",
-- "not minority", "not majority", "all", a float ratio (binary y only),
-- {[class] = count}, or a function(y) returning that table. The output holds the original rows first, then the new
-- ones class by class in label order (RandomUnderSampler: the kept rows,
-- class by class), as imblearn's. Every sampler takes `seed`: the same seed
-- gives the same rows, and leaves ml's global random stream as it was;
-- without it the global stream (ml.seed) is used.
--
-- The neighbours come from the brute-force kernel ml._neighbors
-- (runtime/ops/neighbors.c); the synthetic rows are a few whole-tensor ops.
local ml = require "moonlab"
local Object = require("moonlab.core.class").Object
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

local fail, fmt = checks.fail, string.format
local M = {}

local STRATEGIES = { "auto", "minority", "majority", "not minority", "not majority", "all" }

-- ---- inputs -----------------------------------------------------------------

local function is_frame(x)
  local ok, DataFrame = pcall(require, "moonlab.data.frame")
  return ok and DataFrame.is(x)
end

-- X as a 2-D tensor (and the frame it came from), y as a 1-D tensor of integers (and y's dtype).
local function check_xy(fn, X, y, numeric)
  local frame
  if is_frame(X) then
    frame = X
    if numeric then
      for _, name in ipairs(X._names) do
        local kind = X._cols[name].kind
        if kind ~= "float64" and kind ~= "int64" and kind ~= "bool" then
          fail(fmt("%s: X's column '%s' is %s; this sampler interpolates numbers: encode it first (prep.OneHotEncoder, "
            .. "prep.OrdinalEncoder) or select the numeric columns", fn, name, kind))
        end
      end
    end
    -- rows are taken from the frame itself when nothing is computed on X: a [n, 0] stand-in
    X = numeric and X:to_tensor(X._names, "float64") or ml.zeros({ #X, 0 }, { dtype = "float64" })
  elseif not ml.is_tensor(X) then
    fail(fmt("%s: X must be a tensor [rows, features] or a data frame, got %s", fn, checks.show(X)))
  end
  if X:dim() ~= 2 then fail(fmt("%s: X must be 2-D [rows, features], got %s", fn, format.shape(X))) end
  if numeric and X:dtype() ~= "float32" and X:dtype() ~= "float64" then X = X:double() end
  if type(y) == "table" and not ml.is_tensor(y) then
    for i, v in ipairs(y) do
      if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) then
        fail(fmt("%s: y[%d] is %s, expected an integer class label", fn, i, checks.show(v)))
      end
    end
    y = ml.tensor(#y > 0 and y or {}, { dtype = "int64" })
  elseif not ml.is_tensor(y) then
    fail(fmt("%s: y must be a tensor or a list of integer labels, got %s", fn, checks.show(y)))
  end
  if not (y:dim() == 1 or (y:dim() == 2 and y:shape()[2] == 1)) then
    fail(fmt("%s: y must hold one label per row ([n] or [n, 1]), got %s", fn, format.shape(y)))
  end
  local ydtype = y:dtype()
  y = y:reshape(-1)
  if y:numel() ~= X:shape()[1] then
    fail(fmt("%s: X has %d rows but y has %d labels", fn, X:shape()[1], y:numel()))
  end
  if ydtype == "float32" or ydtype == "float64" then
    if y:isnan():sum():item() > 0 or y:ne(y:long():to(ydtype)):sum():item() > 0 then
      fail(fmt("%s: y holds labels that are not integers (a %s tensor); give class labels", fn, ydtype))
    end
  end
  if ydtype ~= "int64" then y = y:long() end
  if numeric then
    local bad = X:isnan():sum():item() + X:isinf():sum():item()
    if bad > 0 then
      fail(fmt("%s: X holds %d NaN or infinite values; impute them first (prep.SimpleImputer, prep.KNNImputer)", fn, bad))
    end
  end
  return X, y, frame, ydtype
end

-- The classes of y in increasing order and their counts ({[class] = n}).
local function class_counts(y)
  local n = y:numel()
  if n == 0 then return {}, {} end
  local sorted = y:sort()
  local ends = n > 1 and ml.arange(1, n):masked_select(sorted:narrow(1, 2, n - 1):ne(sorted:narrow(1, 1, n - 1))):tolist() or {}
  ends[#ends + 1] = n
  local classes, counts, prev = {}, {}, 0
  local values = sorted:index_select(1, ml.tensor(ends, { dtype = "int64" })):tolist()
  for i, e in ipairs(ends) do
    classes[i] = values[i]
    counts[values[i]] = e - prev
    prev = e
  end
  return classes, counts
end

-- The majority and minority classes (ties: the lower label, as imblearn's max/min over sorted classes).
local function extremes(classes, counts)
  local maj, min = classes[1], classes[1]
  for _, c in ipairs(classes) do
    if counts[c] > counts[maj] then maj = c end
    if counts[c] < counts[min] then min = c end
  end
  return maj, min
end

local function trunc(x) return math.tointeger(x >= 0 and math.floor(x) or math.ceil(x)) end

local check_strategy

-- imblearn's check_sampling_strategy: {{class, n}, ...} in label order, n the rows to add
-- (over-sampling) or to keep (under-sampling).
local function resolve_strategy(fn, strategy, classes, counts, over, y)
  if type(strategy) == "function" then
    local got = strategy(y)
    if type(got) ~= "table" or ml.is_tensor(got) then
      fail(fmt("%s: the sampling_strategy function returned %s, expected {[class] = count}", fn, checks.show(got)))
    end
    strategy = check_strategy(fn, got)
  end
  if #classes < 2 then
    fail(fmt("%s: y holds one class only (%s); resampling needs at least two", fn, tostring(classes[1])))
  end
  local maj, min = extremes(classes, counts)
  local want = {}
  local function all_but(skip)
    for _, c in ipairs(classes) do
      if c ~= skip then want[c] = over and counts[maj] - counts[c] or counts[min] end
    end
  end
  if type(strategy) == "string" then
    if strategy == "auto" then all_but(over and maj or min)
    elseif strategy == "not majority" then all_but(maj)
    elseif strategy == "not minority" then all_but(min)
    elseif strategy == "all" then all_but(nil)
    elseif strategy == "minority" then
      if not over then fail(fmt("%s: sampling_strategy 'minority' cannot be used with an under-sampler", fn)) end
      want[min] = counts[maj] - counts[min]
    elseif strategy == "majority" then
      if over then fail(fmt("%s: sampling_strategy 'majority' cannot be used with an over-sampler", fn)) end
      want[maj] = counts[min]
    else
      checks.one_of(fn, "sampling_strategy", strategy, STRATEGIES)
    end
  elseif type(strategy) == "number" then
    if #classes ~= 2 then
      fail(fmt("%s: a float sampling_strategy needs binary y, got %d classes; give {[class] = count}", fn, #classes))
    end
    for _, c in ipairs(classes) do
      if over and c ~= maj then
        want[c] = trunc(counts[maj] * strategy - counts[c])
        if want[c] < 0 then
          fail(fmt("%s: sampling_strategy %g asks for %d rows of class %s, fewer than its %d: increase the ratio", fn,
            strategy, trunc(counts[maj] * strategy), tostring(c), counts[c]))
        end
      elseif not over and c ~= min then
        want[c] = trunc(counts[min] / strategy)
        if want[c] > counts[c] then
          fail(fmt("%s: sampling_strategy %g asks for %d rows of class %s, more than its %d: increase the ratio", fn,
            strategy, want[c], tostring(c), counts[c]))
        end
      end
    end
  elseif type(strategy) == "table" then
    for c, n in pairs(strategy) do
      if counts[c] == nil then
        local have = {}
        for i, k in ipairs(classes) do have[i] = tostring(k) end
        fail(fmt("%s: sampling_strategy names class %s, which y does not hold (classes %s)", fn, tostring(c), table.concat(have, ", ")))
      end
      n = checks.integer(fn, fmt("sampling_strategy[%s]", tostring(c)), n, 0)
      if over and n < counts[c] then
        fail(fmt("%s: sampling_strategy[%s] = %d is fewer than the %d rows class %s has; an over-sampler only adds rows",
          fn, tostring(c), n, counts[c], tostring(c)))
      elseif not over and n > counts[c] then
        fail(fmt("%s: sampling_strategy[%s] = %d is more than the %d rows class %s has; an under-sampler only removes rows "
          .. "(an over-sampler adds them)", fn, tostring(c), n, counts[c], tostring(c)))
      end
      want[c] = over and n - counts[c] or n
    end
  end
  local plan = {}
  for _, c in ipairs(classes) do
    if want[c] then plan[#plan + 1] = { c, want[c] } end
  end
  return plan
end

-- Validates sampling_strategy at construction (the classes are checked at fit_resample).
function check_strategy(fn, s)
  if s == nil then return "auto" end
  if type(s) == "string" then return checks.one_of(fn, "sampling_strategy", s, STRATEGIES) end
  if type(s) == "number" then return checks.number(fn, "sampling_strategy (a ratio)", s, 0, 1) end
  if type(s) == "function" then return s end
  if type(s) == "table" and not ml.is_tensor(s) then
    for c in pairs(s) do
      if math.type(c) ~= "integer" then fail(fmt("%s: sampling_strategy keys must be integer class labels, got %s", fn, checks.show(c))) end
    end
    return s
  end
  fail(fmt("%s: sampling_strategy must be a name ('auto', ...), a ratio, {[class] = count} or a function(y), got %s", fn, checks.show(s)))
end

-- ---- randomness and building blocks ----------------------------------------

-- Runs f(...) on the stream of seed (then puts the global stream back), or on the global stream.
local function with_seed(seed, f, ...)
  if seed == nil then return f(...) end
  local saved = ml.random_state()
  ml.seed(seed)
  local res = table.pack(pcall(f, ...))
  ml.set_random_state(saved)
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- The 1-based rows of y holding class c (int64 [count]).
local function rows_of(y, c)
  return ml.arange(1, y:numel() + 1):masked_select(y:eq(c))
end

-- imblearn's _make_samples: n points base[r] + step * u * (nn_data[nns[r, j]] - base[r]),
-- (r, j) uniform over the cells of nns [rows(base), k], u uniform in [0, 1).
local function make_samples(base, nn_data, nns, n, step)
  local d = base:shape()[2]
  if n == 0 then return ml.zeros({ 0, d }, { dtype = base:dtype() }) end
  local k = nns:shape()[2]
  local flat = ml.randint(0, base:shape()[1] * k, { n })
  local steps = ml.rand({ n, 1 }, { dtype = base:dtype() })
  if step ~= 1 then steps = steps * step end
  local b = base:index_select(1, flat:floor_divide(k) + 1)
  local nb = nn_data:index_select(1, nns:reshape(-1):index_select(1, flat + 1))
  return b + steps * (nb - b)
end

-- One Beta(10, 10) draw: G1 / (G1 + G2), each a Gamma(10) as a sum of 10 exponentials.
local function beta10()
  local l = -ml.rand({ 2, 10 }, { dtype = "float64" }):log()
  local g = l:sum(2):tolist()
  return g[1] / (g[1] + g[2])
end

local function neighbours(fn, Q, R, k, opts)
  return checks.call(ml._neighbors.kneighbors, Q, R, k, opts)
end

-- The result in the caller's types: y in its dtype, X as a frame when a frame came in
-- (synthetic: numeric float64 columns of the same names; else the rows taken).
local function output(X, parts_x, parts_y, ydtype, frame, take)
  local Xo = #parts_x == 1 and parts_x[1] or ml.cat(parts_x, 1)
  local yo = #parts_y == 1 and parts_y[1] or ml.cat(parts_y, 1)
  if ydtype ~= "int64" then yo = yo:to(ydtype) end
  if frame then
    if take then return frame:take(take), yo end
    local Column = require "moonlab.data.column"
    local DataFrame = require "moonlab.data.frame"
    local cols = {}
    for j = 1, #frame._names do cols[j] = Column.new("float64", Xo:select(2, j):contiguous()) end
    return DataFrame.from_columns(frame._names, cols), yo
  end
  return Xo, yo
end

local function label_tensor(c, n) return ml.full({ n }, c, { dtype = "int64" }) end

-- ---- the base class ---------------------------------------------------------

local Sampler = Object:extend("prep.Sampler",
  "prep.Sampler — the base of the resamplers: sampler:fit_resample(X, y) -> X', y' (imbalanced-learn's API)")

-- Reads the options every sampler takes, and those of its kind (known: {name = default}).
function Sampler:_setup(opts, known)
  local fn = self.__name
  local names = { "sampling_strategy", "seed" }
  for k in pairs(known) do names[#names + 1] = k end
  table.sort(names)
  opts = checks.options(fn, opts, names)
  self.sampling_strategy = check_strategy(fn, opts.sampling_strategy)
  self.seed = opts.seed ~= nil and checks.integer(fn, "seed", opts.seed) or nil
  for k, default in pairs(known) do
    if opts[k] == nil then self[k] = default else self[k] = opts[k] end
  end
end

--- sampler:fit_resample(X, y) -> X', y': the resampled rows (originals first, then the new ones by class)
function Sampler:fit_resample(X, y)
  local fn = self.__name
  local Xt, yt, frame, ydtype = check_xy(fn, X, y, self.numeric)
  local classes, counts = class_counts(yt)
  local plan = resolve_strategy(fn, self.sampling_strategy, classes, counts, self.over, yt)
  self.sampling_strategy_ = {}
  for _, p in ipairs(plan) do self.sampling_strategy_[p[1]] = p[2] end
  local parts_x, parts_y, take = with_seed(self.seed, self._resample_rows, self, fn, Xt, yt, plan, counts)
  return output(Xt, parts_x, parts_y, ydtype, frame, take)
end

function Sampler:extra_repr()
  local s = self.sampling_strategy
  return "sampling_strategy=" .. (type(s) == "table" and "{...}" or tostring(s)) .. (self.seed and (", seed=" .. self.seed) or "")
end

-- ---- random over- and under-sampling -------------------------------------------

local RandomOverSampler = Sampler:extend("prep.RandomOverSampler",
  "prep.RandomOverSampler([{sampling_strategy='auto', shrinkage=nil, seed=}]) — adds rows of the smaller classes drawn with "
  .. "replacement; shrinkage (a number or {[class] = number}) adds Gaussian noise (a smoothed bootstrap), as imbalanced-learn's")
RandomOverSampler.over = true

function RandomOverSampler:init(opts)
  self:_setup(opts, { shrinkage = false })
  local s = self.shrinkage
  if s == false then self.shrinkage = nil
  elseif type(s) == "number" then checks.number(self.__name, "shrinkage", s, 0)
  elseif type(s) == "table" then
    for c, v in pairs(s) do checks.number(self.__name, fmt("shrinkage[%s]", tostring(c)), v, 0) end
  else fail(fmt("%s: shrinkage must be a number >= 0 or {[class] = number}, got %s", self.__name, checks.show(s))) end
  self.numeric = self.shrinkage ~= nil -- the smoothed bootstrap does arithmetic on X
end

function RandomOverSampler:_resample_rows(fn, X, y, plan)
  local n, d = X:shape()[1], X:shape()[2]
  local take, parts_x, parts_y = { ml.arange(1, n + 1) }, { X }, { y }
  for _, p in ipairs(plan) do
    local c, count = p[1], p[2]
    local rows = rows_of(y, c)
    local boot = rows:index_select(1, ml.randint(1, rows:numel() + 1, { count }))
    take[#take + 1] = boot
    parts_y[#parts_y + 1] = label_tensor(c, count)
    if self.shrinkage then
      local shrink = type(self.shrinkage) == "number" and self.shrinkage or self.shrinkage[c]
      if shrink == nil then fail(fmt("%s: shrinkage has no factor for class %s, which is resampled", fn, tostring(c))) end
      local smoothing = (4 / ((d + 2) * n)) ^ (1 / (d + 4))
      local scale = X:index_select(1, rows):std(1, { unbiased = false }) * (shrink * smoothing)
      parts_x[#parts_x + 1] = X:index_select(1, boot) + ml.randn({ count, d }, { dtype = X:dtype() }) * scale
    end
  end
  local idx = ml.cat(take, 1)
  self.sample_indices_ = idx
  if self.shrinkage then return parts_x, parts_y, nil end
  return { X:index_select(1, idx) }, { y:index_select(1, idx) }, idx
end

local RandomUnderSampler = Sampler:extend("prep.RandomUnderSampler",
  "prep.RandomUnderSampler([{sampling_strategy='auto', replacement=false, seed=}]) — keeps a random subset of the larger "
  .. "classes; the output holds the kept rows class by class, as imbalanced-learn's")
RandomUnderSampler.over = false

function RandomUnderSampler:init(opts)
  self:_setup(opts, { replacement = false })
  self.replacement = checks.boolean(self.__name, "replacement", self.replacement)
end

function RandomUnderSampler:_resample_rows(fn, X, y, plan, counts)
  local keep, take = {}, {}
  for _, p in ipairs(plan) do keep[p[1]] = p[2] end
  local classes = {}
  for c in pairs(counts) do classes[#classes + 1] = c end
  table.sort(classes)
  for _, c in ipairs(classes) do
    local rows = rows_of(y, c)
    local k = keep[c]
    if k then
      local pick = self.replacement and ml.randint(1, rows:numel() + 1, { k }) or ml.randperm(rows:numel()):narrow(1, 1, k)
      rows = k > 0 and rows:index_select(1, pick) or ml.zeros({ 0 }, { dtype = "int64" })
    end
    take[#take + 1] = rows
  end
  local idx = ml.cat(take, 1)
  self.sample_indices_ = idx
  return { X:index_select(1, idx) }, { y:index_select(1, idx) }, idx
end

-- ---- SMOTE and its variants -------------------------------------------------

local function check_neighbours_option(fn, what, v)
  return checks.integer(fn, what, v, 1)
end

-- The class's rows must have k neighbours among themselves.
local function need_rows(fn, c, have, k, what)
  if have < k + 1 then
    fail(fmt("%s: the minority class %s has %d samples, fewer than %s + 1 = %d", fn, tostring(c), have, what, k + 1))
  end
end

local SMOTE = Sampler:extend("prep.SMOTE",
  "prep.SMOTE([{sampling_strategy='auto', k_neighbors=5, seed=}]) — new rows on segments between a row of the class and one "
  .. "of its k nearest neighbours in the class (Chawla et al. 2002), as imbalanced-learn's")
SMOTE.over, SMOTE.numeric = true, true

function SMOTE:init(opts)
  self:_setup(opts, { k_neighbors = 5 })
  self.k_neighbors = check_neighbours_option(self.__name, "k_neighbors", self.k_neighbors)
end

function SMOTE:_resample_rows(fn, X, y, plan)
  local parts_x, parts_y = { X }, { y }
  local k = self.k_neighbors
  for _, p in ipairs(plan) do
    local c, count = p[1], p[2]
    if count > 0 then
      local Xc = X:index_select(1, rows_of(y, c))
      need_rows(fn, c, Xc:shape()[1], k, "k_neighbors")
      local nns = neighbours(fn, Xc, Xc, k, { exclude_self = true })
      parts_x[#parts_x + 1] = make_samples(Xc, Xc, nns, count, 1)
      parts_y[#parts_y + 1] = label_tensor(c, count)
    end
  end
  return parts_x, parts_y
end

function SMOTE:extra_repr() return Sampler.extra_repr(self) .. ", k_neighbors=" .. self.k_neighbors end

local BorderlineSMOTE = Sampler:extend("prep.BorderlineSMOTE",
  "prep.BorderlineSMOTE([{sampling_strategy='auto', k_neighbors=5, m_neighbors=10, kind='borderline-1', seed=}]) — SMOTE "
  .. "from the rows in danger only (at least half, not all, of their m nearest neighbours of another class); "
  .. "borderline-2 also steps (up to half way) towards the k nearest rows of the other classes (Han et al. 2005)")
BorderlineSMOTE.over, BorderlineSMOTE.numeric = true, true

function BorderlineSMOTE:init(opts)
  self:_setup(opts, { k_neighbors = 5, m_neighbors = 10, kind = "borderline-1" })
  self.k_neighbors = check_neighbours_option(self.__name, "k_neighbors", self.k_neighbors)
  self.m_neighbors = check_neighbours_option(self.__name, "m_neighbors", self.m_neighbors)
  self.kind = checks.one_of(self.__name, "kind", self.kind, { "borderline-1", "borderline-2" })
end

-- The rows of class c whose m nearest neighbours in X are at least half, and not all, of other classes
-- (imblearn's _in_danger_noise): a bool tensor over the class's rows.
local function in_danger(fn, X, y, rows, c, m)
  if X:shape()[1] < m + 1 then
    fail(fmt("%s: X has %d rows, fewer than m_neighbors + 1 = %d", fn, X:shape()[1], m + 1))
  end
  local nbr = neighbours(fn, X:index_select(1, rows), X, m, { skip = rows })
  local other = y:index_select(1, nbr:reshape(-1)):ne(c):reshape(rows:numel(), m):sum(2)
  return (other:ge(m / 2):long() + other:lt(m):long()):eq(2) -- m/2 <= other < m
end

function BorderlineSMOTE:_resample_rows(fn, X, y, plan)
  local parts_x, parts_y = { X }, { y }
  local k, m = self.k_neighbors, self.m_neighbors
  self.in_danger_ = {}
  for _, p in ipairs(plan) do
    local c, count = p[1], p[2]
    if count > 0 then
      local rows = rows_of(y, c)
      local Xc = X:index_select(1, rows)
      local danger = in_danger(fn, X, y, rows, c, m)
      self.in_danger_[c] = danger
      if danger:sum():item() > 0 then
        need_rows(fn, c, Xc:shape()[1], k, "k_neighbors")
        local drows = ml.arange(1, rows:numel() + 1):masked_select(danger)
        local Xd = Xc:index_select(1, drows)
        local nns = neighbours(fn, Xd, Xc, k, { skip = drows })
        local new
        if self.kind == "borderline-1" then
          new = make_samples(Xd, Xc, nns, count, 1)
        else
          local frac = beta10()
          local n1, n2 = trunc(frac * (count + 1)), trunc((1 - frac) * count)
          local Xo = X:index_select(1, ml.arange(1, X:shape()[1] + 1):masked_select(y:ne(c)))
          local nno = neighbours(fn, Xd, Xo, math.min(k, Xo:shape()[1]))
          new = ml.cat({ make_samples(Xd, Xc, nns, n1, 1), make_samples(Xd, Xo, nno, n2, 0.5) }, 1)
        end
        parts_x[#parts_x + 1] = new
        parts_y[#parts_y + 1] = label_tensor(c, new:shape()[1])
      end
    end
  end
  return parts_x, parts_y
end

function BorderlineSMOTE:extra_repr()
  return fmt("%s, kind='%s', k_neighbors=%d, m_neighbors=%d", Sampler.extra_repr(self), self.kind, self.k_neighbors, self.m_neighbors)
end

local ADASYN = Sampler:extend("prep.ADASYN",
  "prep.ADASYN([{sampling_strategy='auto', n_neighbors=5, seed=}]) — SMOTE with more new rows near the rows whose n "
  .. "nearest neighbours are of other classes (He et al. 2008), as imbalanced-learn's")
ADASYN.over, ADASYN.numeric = true, true

function ADASYN:init(opts)
  self:_setup(opts, { n_neighbors = 5 })
  self.n_neighbors = check_neighbours_option(self.__name, "n_neighbors", self.n_neighbors)
end

-- np.rint: to the nearest integer, halves to even.
local function rint(x)
  local frac = x % 1
  local fl = x - frac
  local up = frac:gt(0.5):long() + frac:eq(0.5):long() * (fl % 2):eq(1):long() -- 0 or 1
  return fl:long() + up
end

-- repeat_interleave(1..#counts, counts): row r appears counts[r] times, in order.
local function repeat_rows(counts, total)
  local pos = ml.arange(1, counts:numel() + 1):masked_select(counts:gt(0))
  local g = counts:masked_select(counts:gt(0))
  local starts = g:cumsum(1) - g + 1
  local mark = ml.zeros({ total }, { dtype = "int64" }):scatter_add(1, starts, ml.ones({ starts:numel() }, { dtype = "int64" }))
  return pos:index_select(1, mark:cumsum(1))
end

function ADASYN:_resample_rows(fn, X, y, plan)
  local parts_x, parts_y = { X }, { y }
  local k = self.n_neighbors
  self.generation_counts_ = {}
  for _, p in ipairs(plan) do
    local c, count = p[1], p[2]
    if count > 0 then
      local rows = rows_of(y, c)
      local Xc = X:index_select(1, rows)
      if X:shape()[1] < k + 1 then fail(fmt("%s: X has %d rows, fewer than n_neighbors + 1 = %d", fn, X:shape()[1], k + 1)) end
      need_rows(fn, c, Xc:shape()[1], k, "n_neighbors")
      local nbr = neighbours(fn, Xc, X, k, { skip = rows })
      local other = y:index_select(1, nbr:reshape(-1)):ne(c):reshape(rows:numel(), k):sum(2)
      if other:sum():item() == 0 then
        fail(fmt("%s: no neighbour of a row of class %s is of another class, so ADASYN has no weights (the ratio would be "
          .. "0/0); use prep.SMOTE", fn, tostring(c)))
      end
      local ratio = other:double() / k
      ratio = ratio / ratio:sum()
      local gen = rint(ratio * count)
      self.generation_counts_[c] = gen
      local total = gen:sum():item()
      if total == 0 then fail(fmt("%s: the weights give no new row of class %s (%d asked)", fn, tostring(c), count)) end
      local nns = neighbours(fn, Xc, Xc, k, { exclude_self = true })
      local base = repeat_rows(gen, total)
      local cols = ml.randint(1, k + 1, { total })
      local nb = nns:reshape(-1):index_select(1, (base - 1) * k + cols)
      local steps = ml.rand({ total, 1 }, { dtype = X:dtype() })
      local b = Xc:index_select(1, base)
      parts_x[#parts_x + 1] = b + steps * (Xc:index_select(1, nb) - b)
      parts_y[#parts_y + 1] = label_tensor(c, total)
    end
  end
  return parts_x, parts_y
end

function ADASYN:extra_repr() return Sampler.extra_repr(self) .. ", n_neighbors=" .. self.n_neighbors end

ml.doc(Sampler.fit_resample, "sampler:fit_resample(X, y) -> X', y' — the resampled rows: originals first, then the new rows "
  .. "class by class (tensors, or a frame when X is one); sampler.sampling_strategy_ = {[class] = rows added or kept}")

ml.doc(Sampler.extra_repr, "sampler:extra_repr() -> string — the options tostring(sampler) shows")
for name, cls in pairs({ RandomOverSampler = RandomOverSampler, RandomUnderSampler = RandomUnderSampler, SMOTE = SMOTE,
  BorderlineSMOTE = BorderlineSMOTE, ADASYN = ADASYN }) do
  ml.doc(cls.init, name .. ":init(opts) — the constructor behind prep." .. name .. "{...}: checks and keeps the options")
  if rawget(cls, "extra_repr") then ml.doc(cls.extra_repr, name .. ":extra_repr() -> string — the options tostring shows") end
end

M.RandomOverSampler = RandomOverSampler
M.RandomUnderSampler = RandomUnderSampler
M.SMOTE = SMOTE
M.BorderlineSMOTE = BorderlineSMOTE
M.ADASYN = ADASYN
return M
