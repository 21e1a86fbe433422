-- The moonlab side of scripts/bench/linear.sh.
--   moonlab linear.lua THREADS
-- 1. LogisticRegression() (lbfgs, C = 1) fit on the standardized breast cancer
--    data (569 x 30): the median of 30 fits, in milliseconds, and the training accuracy.
-- 2. KNeighborsClassifier(n_neighbors = 5) predict of 10,000 queries against
--    10,000 training rows of 50 standard-normal features (3 classes): the
--    median of 5 predicts, in seconds.
-- Prints "RESULT <logreg ms> <accuracy> <knn s> <logreg n_iter>".
local threads = math.tointeger(tonumber(arg[1])) or 1
ml.threads(threads)
ml.seed(0)
local now = ml.now

local function median(v)
  table.sort(v)
  local n = #v
  return n % 2 == 1 and v[(n + 1) / 2] or (v[n / 2] + v[n / 2 + 1]) / 2
end

local df = ml.data.load_breast_cancer()
local names = {}
for _, n in ipairs(df._names) do if n ~= "target" then names[#names + 1] = n end end
local X = ml.prep.StandardScaler():fit_transform(df:to_tensor(names))
local y = df:to_tensor({ "target" }):view(-1)

local times, m = {}, nil
for i = 1, 31 do
  local t0 = now()
  m = ml.models.LogisticRegression():fit(X, y)
  if i > 1 then times[#times + 1] = (now() - t0) * 1000 end -- the first fit warms up
end
local acc = m:score(X, y)

local R, Q = ml.randn(10000, 50, { dtype = "float64" }), ml.randn(10000, 50, { dtype = "float64" })
local labels = ml.randint(0, 3, { 10000 })
local knn = ml.models.KNeighborsClassifier({ n_neighbors = 5 }):fit(R, labels)
local kt = {}
for i = 1, 6 do
  local t0 = now()
  knn:predict(Q)
  if i > 1 then kt[#kt + 1] = now() - t0 end
end
print(string.format("RESULT %.3f %.4f %.4f %d", median(times), acc, median(kt), m.n_iter_[1]))
