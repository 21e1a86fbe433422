--- data/toy.lua: scikit-learn's small real datasets, read from the CSV files
-- Debian's python3-sklearn ships (no Python runs): load_breast_cancer,
-- load_wine, load_iris, load_digits, load_diabetes. Each returns a frame of the named feature columns
-- plus "target" (int64, scikit-learn's 0-based codes) and the target names.
--
--   local df, names = data.load_breast_cancer()   -- 569 x 31; names = {"malignant", "benign"}
--
-- The files start with a line "rows,features,name1,name2..." and then rows
-- of numbers without a header: the column names below are scikit-learn's
-- (they live in its Python code, not in the files).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt = checks.fail, string.format
local M = {}

local SEARCH = {
  "/usr/lib/python3/dist-packages/sklearn/datasets/data",
  "/usr/local/lib/python3/dist-packages/sklearn/datasets/data",
}

local FEATURES = {
  breast_cancer = {
    "mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness", "mean compactness",
    "mean concavity", "mean concave points", "mean symmetry", "mean fractal dimension", "radius error",
    "texture error", "perimeter error", "area error", "smoothness error", "compactness error", "concavity error",
    "concave points error", "symmetry error", "fractal dimension error", "worst radius", "worst texture",
    "worst perimeter", "worst area", "worst smoothness", "worst compactness", "worst concavity",
    "worst concave points", "worst symmetry", "worst fractal dimension",
  },
  wine = {
    "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
    "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280/od315_of_diluted_wines", "proline",
  },
  iris = { "sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)" },
}

--- data.sklearn_data_path(file) -> the path of one of scikit-learn's bundled data files, or an error saying what to install
function M.sklearn_data_path(file, fn)
  fn = fn or "data.sklearn_data_path"
  local env = os.getenv("MOONLAB_SKLEARN_DATA")
  local dirs = (env and env ~= "") and { env } or SEARCH -- the variable replaces the search
  for _, d in ipairs(dirs) do
    local p = d .. "/" .. file
    local f = io.open(p, "rb")
    if f then f:close(); return p end
  end
  fail(fmt("%s: scikit-learn's %s was not found (looked in %s); install Debian's python3-sklearn "
    .. "(apt-get install python3-sklearn, or `make deps`), or set MOONLAB_SKLEARN_DATA to a folder holding it",
    fn, file, table.concat(dirs, ", ")))
end

local function load(name, fn)
  local path = M.sklearn_data_path(name .. (name == "wine" and "_data" or "") .. ".csv", fn)
  local f = assert(io.open(path, "rb"))
  local first = f:read("l") or ""
  f:close()
  local targets, i = {}, 0
  for cell in first:gmatch("[^,]+") do -- "rows,features,name1,name2..."
    i = i + 1
    if i > 2 then targets[#targets + 1] = (cell:gsub("%s+$", "")) end
  end
  local names = table.move(FEATURES[name], 1, #FEATURES[name], 1, {})
  names[#names + 1] = "target"
  -- every feature is float64, as scikit-learn gives them (wine's magnesium and
  -- proline hold whole numbers, which would otherwise read as int64); target int64
  local dtypes = { target = "int64" }
  for _, f in ipairs(FEATURES[name]) do dtypes[f] = "float64" end
  local df = ml.data.read_csv(path, { skiprows = 1, header = false, names = names, dtypes = dtypes })
  return df, targets
end

--- data.load_digits() -> frame (64 pixel columns pixel_0_0 .. pixel_7_7, values 0..16, + target 0..9), target names
function M.load_digits()
  local fn = "data.load_digits"
  local path = M.sklearn_data_path("digits.csv.gz", fn)
  local names, dtypes = {}, { target = "int64" }
  for r = 0, 7 do
    for c = 0, 7 do
      names[#names + 1] = fmt("pixel_%d_%d", r, c)
      dtypes[names[#names]] = "float64"
    end
  end
  names[#names + 1] = "target"
  local df = ml.data.read_csv(path, { header = false, names = names, dtypes = dtypes })
  local targets = {}
  for d = 0, 9 do targets[#targets + 1] = tostring(d) end
  return df, targets
end

--- data.load_diabetes([{scaled=true}]) -> frame (10 features + target, a float64 disease progression after one year)
-- scaled (scikit-learn's default): each feature centred and divided by its standard deviation times sqrt(rows)
function M.load_diabetes(opts)
  local fn = "data.load_diabetes"
  opts = checks.options(fn, opts, { "scaled" })
  local scaled = checks.boolean(fn, "scaled", opts.scaled, true)
  local features = { "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6" }
  local dtypes = {}
  for _, f in ipairs(features) do dtypes[f] = "float64" end
  local X = ml.data.read_csv(M.sklearn_data_path("diabetes_data_raw.csv.gz", fn),
    { delimiter = " ", header = false, names = features, dtypes = dtypes })
  local y = ml.data.read_csv(M.sklearn_data_path("diabetes_target.csv.gz", fn),
    { header = false, names = { "target" }, dtypes = { target = "float64" } })
  if scaled then
    -- sklearn.preprocessing.scale then / sqrt(rows), in numpy's order of operations (sums row by row, as its
    -- axis-0 reductions run), so the values are scikit-learn's to the last bit; 442 x 10 numbers, done in Lua
    local n = #X
    local root = math.sqrt(n)
    for _, f in ipairs(features) do
      local v = X[f]:tolist()
      local s = 0
      for i = 1, n do s = s + v[i] end
      local mean = s / n
      local q = 0
      for i = 1, n do q = q + (v[i] - mean) ^ 2 end
      local sd = math.sqrt(q / n)
      for i = 1, n do v[i] = (v[i] - mean) / sd / root end
      X = X:with_column(f, ml.tensor(v, { dtype = "float64" }))
    end
  end
  X = X:with_column("target", y.target)
  return X, { "progression" }
end

--- data.load_breast_cancer() -> frame (30 features + target: 0 malignant, 1 benign), target names
function M.load_breast_cancer() return load("breast_cancer", "data.load_breast_cancer") end
--- data.load_wine() -> frame (13 features + target 0..2), target names
function M.load_wine() return load("wine", "data.load_wine") end
--- data.load_iris() -> frame (4 features + target 0..2), target names
function M.load_iris() return load("iris", "data.load_iris") end

ml.doc(M.sklearn_data_path, "data.sklearn_data_path(file) -> path — one of scikit-learn's bundled data files (Debian's "
  .. "python3-sklearn), or an error saying which package to install")
ml.doc(M.load_breast_cancer, "data.load_breast_cancer() -> frame, target_names — scikit-learn's breast-cancer data "
  .. "(569 x 30 features, target 0 = malignant, 1 = benign) from python3-sklearn's CSV")
ml.doc(M.load_wine, "data.load_wine() -> frame, target_names — scikit-learn's wine data (178 x 13, target 0..2)")
ml.doc(M.load_digits, "data.load_digits() -> frame, target_names — scikit-learn's 8x8 handwritten digits (1797 x 64 pixels 0..16, target 0..9)")
ml.doc(M.load_diabetes, "data.load_diabetes([{scaled=true}]) -> frame, names — scikit-learn's diabetes data (442 x 10, float target); scaled as sklearn's default")
ml.doc(M.load_iris, "data.load_iris() -> frame, target_names — Fisher's iris data (150 x 4, target 0..2)")

return M
