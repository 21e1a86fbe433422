-- scikit-learn's bundled datasets, read from python3-sklearn's CSV files (data/toy.lua).
local data = ml.data

T.test("toy data: breast cancer, wine and iris have scikit-learn's shapes, names and targets", function()
  local df, names = data.load_breast_cancer()
  T.eq(df.shape[1], 569); T.eq(df.shape[2], 31)
  T.eq(df.columns[1], "mean radius"); T.eq(df.columns[31], "target")
  T.eq(table.concat(names, ","), "malignant,benign")
  T.eq(df.dtypes.target, "int64"); T.eq(df.target:sum():item(), 357) -- 357 benign, as scikit-learn's
  T.near(df:column("mean radius"):get(1), 17.99, 0)
  local wine, wn = data.load_wine()
  T.eq(wine.shape[1], 178); T.eq(wine.shape[2], 14); T.eq(#wn, 3)
  local iris = data.load_iris()
  T.eq(iris.shape[1], 150); T.eq(iris.columns[4], "petal width (cm)")
end)

T.test("toy data: an absent file says which package to install", function()
  local dir = T.tmpdir()
  local h = io.popen(string.format("MOONLAB_SKLEARN_DATA=%s %s -e 'ml.data.load_wine()' 2>&1", T.quote(dir), T.BIN))
  local out = h:read("a"); h:close()
  T.ok(out:find("data.load_wine: scikit-learn's wine_data.csv was not found", 1, true), out)
  T.ok(out:find("python3-sklearn", 1, true), out)
end)

T.test("load_digits and load_diabetes read scikit-learn's files", function()
  local d, names = ml.data.load_digits()
  T.eq(#d, 1797) T.eq(#d.columns, 65) T.eq(#names, 10)
  T.eq(d.target:max():item(), 9)
  T.near(d.pixel_0_2:sum():item(), 9353, 1e-9) -- sklearn: load_digits().data[:, 2].sum()
  local b = ml.data.load_diabetes()
  T.eq(#b, 442) T.eq(#b.columns, 11)
  T.near(b.age[1], 0.038075906433423026, 1e-12) -- sklearn's scaled value
  T.near(b.target[1], 151, 0)
  local raw = ml.data.load_diabetes { scaled = false }
  T.near(raw.bmi[1], 32.1, 1e-12)
end)
