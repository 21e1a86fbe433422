-- Text classification: which file of Debian's `fortunes` package does a
-- quotation come from? Each file is a category, quotes are separated by lines
-- holding only "%". TF-IDF features (prep.TfidfVectorizer, a sparse CSR
-- matrix) feed a linear softmax classifier (nn.Linear on the sparse input,
-- cross-entropy, Adam); reports the test accuracy beside always guessing the
-- largest category.
--   moonlab examples/text.lua [epochs=8] [per_category=N quotes at most, for a quick run]
--     [dir=/usr/share/games/fortunes] [categories=art,computers,...]
local nn, optim, prep = ml.nn, ml.optim, ml.prep
local epochs = ml.overrides.epochs or 8
local per_category = ml.overrides.per_category
local dir = ml.overrides.dir or "/usr/share/games/fortunes"
local lfs = require "lfs"

if not lfs.attributes(dir, "mode") then
  io.stderr:write(string.format("examples/text.lua: %s not found; install Debian's fortune data: sudo apt-get install fortunes (or fortunes-min)\n", dir))
  os.exit(1)
end

-- The category files: plain files without the .dat index or .u8 link.
local names = {}
if ml.overrides.categories then
  for c in tostring(ml.overrides.categories):gmatch("[^,]+") do names[#names + 1] = c end
else
  for f in lfs.dir(dir) do
    local path = dir .. "/" .. f
    if not f:match("^%.") and not f:match("%.dat$") and not f:match("%.u8$") and lfs.symlinkattributes(path, "mode") == "file" then
      names[#names + 1] = f
    end
  end
  table.sort(names)
end

local docs, labels = {}, {}
for k, name in ipairs(names) do
  local fh = assert(io.open(dir .. "/" .. name, "rb"))
  local text = fh:read("a")
  fh:close()
  local n = 0
  for quote in (text .. "\n%\n"):gmatch("(.-)\n%%\n") do
    if quote:match("%S") and (not per_category or n < per_category) then
      n = n + 1
      docs[#docs + 1], labels[#labels + 1] = quote, k
    end
  end
end
print(string.format("%d quotations in %d categories from %s", #docs, #names, dir))

-- A seeded 80/20 split.
ml.seed(0)
local order = ml.randperm(#docs):tolist()
local n_test = math.floor(#docs / 5)
local function pick(from, to)
  local d, y = {}, {}
  for i = from, to do d[#d + 1], y[#y + 1] = docs[order[i]], labels[order[i]] end
  return d, ml.tensor(y, { dtype = "int64" })
end
local test_docs, test_y = pick(1, n_test)
local train_docs, train_y = pick(n_test + 1, #docs)

local t0 = ml.now()
local tfidf = prep.TfidfVectorizer { ngram_range = { 1, 2 }, min_df = 2, sublinear_tf = true, dtype = "float32" }
local X = tfidf:fit_transform(train_docs)
local X_test = tfidf:transform(test_docs)
print(string.format("TF-IDF: %d x %d, %d stored entries (%.2fs)", X.shape[1], X.shape[2], X:nnz(), ml.now() - t0))

-- A linear layer straight on the sparse matrix: fit takes a sparse X and
-- batches its rows, never densifying 15,000 x 60,000 entries.
local model = nn.Sequential{ nn.Linear(X.shape[2], #names) }
model:compile{ optimizer = optim.Adam(model:parameters(), { lr = 0.01 }), loss = nn.CrossEntropyLoss(),
  metrics = { "accuracy" } }
local history = model:fit(X, train_y, { epochs = epochs, batch_size = 256, validation_data = { X_test, test_y },
  verbose = 0, seed = 0 })
for epoch = 1, #history.loss do
  print(string.format("epoch %d  loss %.4f  test accuracy %.2f%%", epoch, history.loss[epoch],
    100 * history.val_accuracy[epoch]))
end

local counts = {}
for _, y in ipairs(train_y:tolist()) do counts[y] = (counts[y] or 0) + 1 end
local top = 1
for k, c in pairs(counts) do if c > (counts[top] or 0) then top = k end end
local base = test_y:eq(top):to("float64"):mean():item()
local acc = model:predict(X_test):argmax(2):eq(test_y):to("float64"):mean():item()
print(string.format("test accuracy %.2f%% over %d categories (always guessing '%s': %.2f%%)", 100 * acc, #names, names[top], 100 * base))
