-- The two classic Python preparation recipes, in moonlab, on a small book
-- catalogue with missing cells, free text and dates (examples/data/books.csv,
-- made by scripts/gen_seed_prep_data.py).
--   moonlab examples/seed_prep.lua [path=examples/data/books.csv]
local data, prep, nn, optim = ml.data, ml.prep, ml.nn, ml.optim
local path = ml.overrides.path or "examples/data/books.csv"

local df = data.read_csv(path)
print(string.format("read %s: %d rows, columns %s", path, df.shape[1], table.concat(df.columns, ", ")))

-- Recipe 1. pandas + scikit-learn:
--   df = pd.read_csv(path).dropna()
--   num = df.select_dtypes("number").columns.drop("id")
--   df[num] = StandardScaler().fit_transform(df[num])
local clean = df:dropna()
local num = clean:select_dtypes("number"):drop({ "id" }).columns
local scaler = prep.StandardScaler()
local scaled = scaler:fit_transform(clean[num])
print(string.format("recipe 1: dropped %d rows with missing cells; standardized %s",
  df.shape[1] - clean.shape[1], table.concat(num, ", ")))
print("  column means after scaling ~0:", scaled:mean(1))
print("  scaler.mean_:", scaler.mean_)

-- Recipe 2. scikit-learn:
--   X = ColumnTransformer([("text", TfidfVectorizer(), "description"),
--                          ("date", <year and month of pd.to_datetime(released)>, ["released"])])
-- Missing release dates are imputed with the most frequent date first.
local features = prep.ColumnTransformer{
  { "text", prep.TfidfVectorizer{ stop_words = "english" }, { "description" } },
  { "date", prep.Pipeline{ prep.SimpleImputer{ strategy = "most_frequent" }, prep.DateFeatures{ features = { "year", "month" } } },
    { "released" } },
}
local X = features:fit_transform(df)
local names = features:get_feature_names_out()
print(string.format("recipe 2: %d rows x %d features (%d TF-IDF terms, then %s, %s)", X:size(1), X:size(2),
  X:size(2) - 2, names[#names - 1], names[#names]))

-- And a use for it: a linear classifier of the category from those features.
ml.seed(0)
local y = prep.LabelEncoder():fit_transform(df:column("category"))
local Xs = prep.StandardScaler():fit_transform(X):float()
local model = nn.Sequential{ nn.Linear(Xs:size(2), 3) }
model:compile{ optimizer = optim.Adam(model:parameters(), { lr = 1e-2 }), loss = nn.CrossEntropyLoss(), metrics = { "accuracy" } }
local history = model:fit(Xs, y, { epochs = 20, batch_size = 32, validation_split = 0.2, verbose = 0 })
print(string.format("category from description + date: validation accuracy %.2f", history.val_accuracy[#history.val_accuracy]))
