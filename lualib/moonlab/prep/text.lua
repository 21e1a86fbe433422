--- prep/text.lua: text features as scikit-learn makes them: prep.Tokenizer,
-- prep.CountVectorizer and prep.TfidfVectorizer. The documents are a Lua
-- list of strings, a string column of a data frame (each distinct string is
-- tokenized once) or a frame of one such column; the output is an ml.sparse
-- CSR matrix [documents, terms]. Tokenizing and counting run in C
-- (runtime/ops/text.c) on every thread; nothing per token runs in Lua, except
-- with a custom token_pattern (a Lua pattern, matched by gmatch: the slow path).
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local sparse = require "moonlab.sparse"

local T, S = ml._text, ml._strings
local fail, fmt = checks.fail, string.format
local doc = ml.doc

local M = {}

local english -- scikit-learn's ENGLISH_STOP_WORDS, loaded on first use
local function english_stop_words()
  english = english or require "moonlab.prep.stop_words_english"
  return english
end

-- ---- tokenizing ------------------------------------------------------------------------------

local TOKENIZER_OPTS = { "lowercase", "token_pattern", "stop_words", "ngram_range" }

-- Checks the tokenizer options shared by the three classes into self.
local function set_tokenizer_opts(self, fn, opts)
  self.lowercase = checks.boolean(fn, "lowercase", opts.lowercase, true)
  if opts.token_pattern ~= nil then
    local p = checks.string(fn, "token_pattern", opts.token_pattern)
    local ok, err = pcall(string.gmatch, "", p)
    if ok then ok, err = pcall(function() for _ in string.gmatch("probe", p) do end end) end
    if not ok then fail(fmt("%s: token_pattern is not a valid Lua pattern: %s", fn, tostring(err))) end
    self.token_pattern = p
  end
  local sw = opts.stop_words
  if sw == "english" then
    self.stop_words = "english"
  elseif type(sw) == "table" then
    for i, w in ipairs(sw) do
      if type(w) ~= "string" then fail(fmt("%s: stop_words[%d] is a %s, expected a string", fn, i, type(w))) end
    end
    self.stop_words = { table.unpack(sw) }
  elseif sw ~= nil then
    fail(fmt("%s: stop_words must be 'english' or a list of strings, got %s", fn, checks.show(sw)))
  end
  local nr = opts.ngram_range or { 1, 1 }
  if type(nr) ~= "table" or math.type(nr[1]) ~= "integer" or math.type(nr[2]) ~= "integer" or nr[1] < 1 or nr[2] < nr[1] then
    fail(fmt("%s: ngram_range must be {min_n, max_n} with 1 <= min_n <= max_n, got %s", fn, checks.show(nr)))
  end
  self.ngram_range = { nr[1], nr[2] }
end

-- The options of the C counter (runtime/lua/text.c) for self.
local function kernel_opts(self, fn)
  if self.stop_words and not self._stop_pool then
    local list = self.stop_words == "english" and english_stop_words() or self.stop_words
    local _, pool = S.from_list(list)
    self._stop_pool = pool
  end
  return { fn = fn, lowercase = self.lowercase, pretokenized = self.token_pattern ~= nil, ngram_min = self.ngram_range[1],
    ngram_max = self.ngram_range[2], stop_words = self._stop_pool }
end

-- A custom pattern's slow path: each document becomes its tokens joined by NUL bytes.
local function pretokenize(self, docs)
  if self.token_pattern == nil then return docs end
  if type(docs) ~= "table" then docs = docs:list() end -- a string pool
  local out, p, lower = {}, self.token_pattern, T.lower
  for i, d in ipairs(docs) do
    if type(d) ~= "string" then break end
    if self.lowercase then d = lower(d) end
    local toks = {}
    for tok in d:gmatch(p) do toks[#toks + 1] = tok end
    out[i] = table.concat(toks, "\0")
  end
  return out
end

local Tokenizer = class.Object:extend("prep.Tokenizer",
  "prep.Tokenizer([{lowercase=true, token_pattern=nil, stop_words=nil, ngram_range={1, 1}}]) — scikit-learn's analyzer: " ..
  "Python's lower(), the tokens of (?u)\\b\\w\\w+\\b (Unicode word characters, in C) or of a Lua pattern, stop words ('english' or a list), n-grams")
M.Tokenizer = Tokenizer

function Tokenizer:init(opts)
  local fn = "prep.Tokenizer"
  opts = checks.options(fn, opts, TOKENIZER_OPTS)
  set_tokenizer_opts(self, fn, opts)
end

--- tokenizer:tokenize(doc) -> {token, ...}: lowercased, split, stop words removed (no n-grams)
function Tokenizer:tokenize(d)
  if type(d) ~= "string" then fail(fmt("prep.Tokenizer:tokenize: expected a string, got %s", type(d))) end
  if self.lowercase then d = T.lower(d) end
  local toks = {}
  if self.token_pattern then
    for tok in d:gmatch(self.token_pattern) do toks[#toks + 1] = tok end
  else
    toks = T.tokens(d)
  end
  if self.stop_words then
    local stop = {}
    for _, w in ipairs(self.stop_words == "english" and english_stop_words() or self.stop_words) do stop[w] = true end
    local kept = {}
    for _, t in ipairs(toks) do if not stop[t] then kept[#kept + 1] = t end end
    toks = kept
  end
  return toks
end
doc(Tokenizer.tokenize, "tokenizer:tokenize(doc) -> {token, ...} — lowercased, split by the token pattern, stop words removed")

--- tokenizer:analyze(doc) -> {term, ...}: the tokens and their n-grams (joined by spaces), as a vectorizer counts them
function Tokenizer:analyze(d)
  local toks = self:tokenize(d)
  local lo, hi = self.ngram_range[1], self.ngram_range[2]
  local out = {}
  for n = lo, hi do
    for i = 1, #toks - n + 1 do out[#out + 1] = table.concat(toks, " ", i, i + n - 1) end
  end
  return out
end
doc(Tokenizer.analyze, "tokenizer:analyze(doc) -> {term, ...} — the tokens and their n-grams in ngram_range, as the vectorizers count them")

-- ---- documents -----------------------------------------------------------------------------------

-- The documents of X: (docs for the C counter, weights or nil, row codes or nil, rows).
-- A string column gives its pool (each distinct string once), the rows holding each
-- (weights) and each row's code (to expand the result back to rows).
local function documents(fn, X)
  if type(X) == "table" and getmetatable(X) == nil then return X, nil, nil, #X end -- the C side checks each element
  local data = ml.data
  local col = X
  if data.DataFrame.is(X) then
    if #X.columns ~= 1 then
      fail(fmt("%s: a frame of documents must have one text column, got %d columns (pick one: df:column('name'))", fn, #X.columns))
    end
    col = X:column(X.columns[1])
  end
  if type(col) == "table" and col.kind and col.pool then
    if col.kind ~= "string" and col.kind ~= "category" then fail(fmt("%s: expected a string column, got a %s column", fn, col.kind)) end
    local codes = col.values
    local missing = codes:eq(0)
    if missing:sum():item() > 0 then
      local first = ml.arange(1, codes:numel() + 1, 1, { dtype = "int64" }):masked_select(missing)[1]
      fail(fmt("%s: document %d is missing; fill or drop missing text first (df:fillna / df:dropna)", fn, first))
    end
    local weights = ml.zeros({ #col.pool }, { dtype = "int64" }):scatter_add(1, codes, ml.ones_like(codes))
    return col.pool, weights, codes, codes:numel()
  end
  fail(fmt("%s: expected a list of strings, a string column or a frame of one, got %s", fn,
    ml.is_tensor(X) and "a tensor" or class.name_of(X) or type(X)))
end

-- ---- CountVectorizer -------------------------------------------------------------------------------

local COUNT_OPTS = { "lowercase", "token_pattern", "stop_words", "ngram_range", "min_df", "max_df", "max_features",
  "vocabulary", "binary", "dtype" }

local CountVectorizer = class.Object:extend("prep.CountVectorizer",
  "prep.CountVectorizer([{lowercase, token_pattern, stop_words, ngram_range={1, 1}, min_df=1, max_df=1.0, max_features, " ..
  "vocabulary, binary=false, dtype='float64'}]) — term counts as a sparse CSR matrix, scikit-learn's vocabulary and values " ..
  "(min_df/max_df: an integer is a document count, a float a fraction)")
M.CountVectorizer = CountVectorizer

local function check_df(fn, what, v, default)
  if v == nil then return default end
  if math.type(v) == "integer" then
    if v < 0 then fail(fmt("%s: %s must be >= 0, got %d", fn, what, v)) end
  elseif type(v) == "number" then
    if not (v >= 0 and v <= 1) then fail(fmt("%s: %s as a fraction must be in [0, 1], got %s", fn, what, tostring(v))) end
  else
    fail(fmt("%s: %s must be an integer (documents) or a fraction in [0, 1], got %s", fn, what, checks.show(v)))
  end
  return v
end

-- A given vocabulary: a list of terms (column order) or {term = column}.
local function check_vocabulary(fn, v)
  if type(v) ~= "table" then fail(fmt("%s: vocabulary must be a list of terms or a {term = column} table, got %s", fn, type(v))) end
  local list = {}
  if #v > 0 then
    for i, t in ipairs(v) do
      if type(t) ~= "string" then fail(fmt("%s: vocabulary[%d] is a %s, expected a string", fn, i, type(t))) end
      list[i] = t
    end
  else
    local n = 0
    for t, c in pairs(v) do
      if type(t) ~= "string" or math.type(c) ~= "integer" then fail(fmt("%s: vocabulary must map terms to integer columns, got %s = %s", fn, checks.show(t), checks.show(c))) end
      n = n + 1
      list[c] = t
    end
    for i = 1, n do
      if list[i] == nil then fail(fmt("%s: the vocabulary's columns must be 1..%d, column %d is missing", fn, n, i)) end
    end
  end
  if #list == 0 then fail(fmt("%s: the vocabulary is empty", fn)) end
  local _, pool = S.from_list(list)
  if #pool ~= #list then
    local seen = {}
    for i, t in ipairs(list) do
      if seen[t] then fail(fmt("%s: the vocabulary repeats the term '%s' (entries %d and %d)", fn, t, seen[t], i)) end
      seen[t] = i
    end
  end
  return list, pool
end

local function count_init(self, fn, opts, known)
  opts = checks.options(fn, opts, known)
  set_tokenizer_opts(self, fn, opts)
  self.min_df = check_df(fn, "min_df", opts.min_df, 1)
  self.max_df = check_df(fn, "max_df", opts.max_df, 1.0)
  if opts.max_features ~= nil then self.max_features = checks.integer(fn, "max_features", opts.max_features, 1) end
  self.binary = checks.boolean(fn, "binary", opts.binary, false)
  self.dtype = checks.one_of(fn, "dtype", opts.dtype, { "float64", "float32" }, "float64")
  if opts.vocabulary ~= nil then
    self.vocabulary = check_vocabulary(fn, opts.vocabulary)
  end
  return opts
end

function CountVectorizer:init(opts) count_init(self, "prep.CountVectorizer", opts, COUNT_OPTS) end

-- Records the fitted vocabulary (pool: code = column) as vocabulary_ and the feature list.
local function set_vocabulary(self, pool, list)
  self._vocab_pool = pool
  self._features = list or pool:list()
  local v = {}
  for i, t in ipairs(self._features) do v[t] = i end
  self.vocabulary_ = v
end

-- Expands a matrix over distinct strings to the rows of a column.
local function to_rows(m, codes) if codes then return m:rows(codes) end return m end

-- The count matrix of X, learning the vocabulary (fit) or using the fitted one.
local function count_matrix(self, fn, X, fit)
  local docs, weights, codes, n = documents(fn, X)
  local o = kernel_opts(self, fn)
  local src = pretokenize(self, docs)
  o.binary, o.dtype = self.binary, "float64"
  if fit and n == 0 then fail(fmt("%s: no documents; fit needs at least one", fn)) end
  if fit and not self.vocabulary then
    local lo = math.type(self.min_df) == "integer" and self.min_df or self.min_df * n
    local hi = math.type(self.max_df) == "integer" and self.max_df or self.max_df * n
    if hi < lo then fail(fmt("%s: max_df corresponds to fewer documents than min_df", fn)) end
    o.min_df, o.max_df, o.max_features = math.max(lo, 1), hi, self.max_features or 0
    local pool, ip, ix, v = checks.call(T.fit, src, weights, o)
    set_vocabulary(self, pool)
    return to_rows(sparse._wrap(ip, ix, v, ip:numel() - 1, #pool), codes)
  end
  if fit then
    local list, pool = check_vocabulary(fn, self.vocabulary)
    set_vocabulary(self, pool, list)
  elseif not self._vocab_pool then
    fail(fmt("%s: not fitted yet; call fit or fit_transform first", fn))
  end
  local ip, ix, v = checks.call(T.transform, src, self._vocab_pool, o)
  return to_rows(sparse._wrap(ip, ix, v, ip:numel() - 1, #self._features), codes)
end

local function with_dtype(m, dtype) return dtype == "float64" and m or m:to(dtype) end

--- vec:fit(X) -> vec: learns the vocabulary of the documents X
function CountVectorizer:fit(X)
  count_matrix(self, self.__name .. ":fit", X, true)
  return self
end

--- vec:fit_transform(X) -> CSR [documents, terms]: fit, then the counts of X
function CountVectorizer:fit_transform(X)
  return with_dtype(count_matrix(self, self.__name .. ":fit_transform", X, true), self.dtype)
end

--- vec:transform(X) -> CSR [documents, terms]: counts over the fitted vocabulary (other terms ignored)
function CountVectorizer:transform(X)
  return with_dtype(count_matrix(self, self.__name .. ":transform", X, false), self.dtype)
end

--- vec:get_feature_names_out() -> {term of column 1, 2, ...}
function CountVectorizer:get_feature_names_out()
  if not self._features then fail(self.__name .. ":get_feature_names_out: not fitted yet; call fit or fit_transform first") end
  return { table.unpack(self._features) }
end

--- vec:build_analyzer() -> a prep.Tokenizer with this vectorizer's settings
function CountVectorizer:build_analyzer()
  return Tokenizer { lowercase = self.lowercase, token_pattern = self.token_pattern, stop_words = self.stop_words, ngram_range = self.ngram_range }
end

function CountVectorizer:extra_repr()
  local n = self._features and #self._features
  return n and fmt("terms=%d", n) or "not fitted"
end

--- vec:save(path) / prep.load(path): one file through core/persist
function CountVectorizer:save(path)
  require("moonlab.core.persist").save(path, self)
end
doc(CountVectorizer.save, "vec:save(path) — writes the fitted vectorizer (terms, idf_) to one safetensors file (prep.load reads it)")

-- core/persist: the fitted terms as settings, idf_ (TF-IDF) as a tensor
function CountVectorizer:persist_state()
  if not self._features then return nil end
  return { tensors = { idf_ = self.idf_ }, settings = { terms = self._features } }
end

function CountVectorizer:load_persist_state(st)
  local terms = st.settings and st.settings.terms
  if type(terms) ~= "table" or #terms == 0 then fail(self.__name .. ": the saved state has no terms") end
  for i, t in ipairs(terms) do -- the terms "nan", "inf" and "-inf" come back from JSON as numbers
    if type(t) == "number" then
      terms[i] = t ~= t and "nan" or (t == math.huge and "inf") or (t == -math.huge and "-inf") or tostring(t)
    end
  end
  local list, pool = check_vocabulary(self.__name, terms)
  set_vocabulary(self, pool, list)
  if st.tensors.idf_ then self.idf_ = st.tensors.idf_ end
end

-- ---- TfidfVectorizer ------------------------------------------------------------------------------

local TFIDF_OPTS = { "norm", "use_idf", "smooth_idf", "sublinear_tf" }
for _, k in ipairs(COUNT_OPTS) do TFIDF_OPTS[#TFIDF_OPTS + 1] = k end

local TfidfVectorizer = CountVectorizer:extend("prep.TfidfVectorizer",
  "prep.TfidfVectorizer([{norm='l2', use_idf=true, smooth_idf=true, sublinear_tf=false, ...CountVectorizer's options}]) — " ..
  "TF-IDF weights as a sparse CSR matrix, as scikit-learn: idf = ln((1 + n) / (1 + df)) + 1 (smooth), rows normalized; idf_ after fit")
M.TfidfVectorizer = TfidfVectorizer

function TfidfVectorizer:init(opts)
  local fn = "prep.TfidfVectorizer"
  opts = count_init(self, fn, opts, TFIDF_OPTS)
  if opts.norm == false then
    self.norm = nil
  else
    self.norm = checks.one_of(fn, "norm", opts.norm, { "l2", "l1" }, "l2")
  end
  self.use_idf = checks.boolean(fn, "use_idf", opts.use_idf, true)
  self.smooth_idf = checks.boolean(fn, "smooth_idf", opts.smooth_idf, true)
  self.sublinear_tf = checks.boolean(fn, "sublinear_tf", opts.sublinear_tf, false)
end

-- idf_ from the document frequencies of a count matrix.
local function fit_idf(self, counts)
  if not self.use_idf then self.idf_ = nil return end
  local n = counts.shape[1]
  local df = counts:col_counts():to("float64")
  if self.smooth_idf then df, n = df + 1, n + 1 end
  self.idf_ = (n / df):log() + 1
end

local function weigh(self, counts)
  local m = counts
  if self.sublinear_tf then m = m:with_values(m:values():log() + 1) end
  if self.use_idf then m = m:scale_cols(self.idf_) end
  if self.norm then m = m:normalize(self.norm) end
  return with_dtype(m, self.dtype)
end

function TfidfVectorizer:fit(X)
  fit_idf(self, count_matrix(self, "prep.TfidfVectorizer:fit", X, true))
  return self
end

function TfidfVectorizer:fit_transform(X)
  local counts = count_matrix(self, "prep.TfidfVectorizer:fit_transform", X, true)
  fit_idf(self, counts)
  return weigh(self, counts)
end

function TfidfVectorizer:transform(X)
  local fn = "prep.TfidfVectorizer:transform"
  if self.use_idf and not self.idf_ and self._vocab_pool then fail(fn .. ": not fitted yet; call fit or fit_transform first") end
  return weigh(self, count_matrix(self, fn, X, false))
end

for _, cls in ipairs { CountVectorizer, TfidfVectorizer } do
  doc(cls.fit, "vectorizer:fit(X) -> self — learns the vocabulary (and TF-IDF's idf_) of X: a list of strings, a string column, or a frame of one")
  doc(cls.fit_transform, "vectorizer:fit_transform(X) -> CSR [documents, terms] — fit, then transform")
  doc(cls.transform, "vectorizer:transform(X) -> CSR [documents, terms] — over the fitted vocabulary; unseen terms are ignored")
end
doc(CountVectorizer.get_feature_names_out, "vectorizer:get_feature_names_out() -> {term, ...} — the term of each column, in order")
doc(CountVectorizer.build_analyzer, "vectorizer:build_analyzer() -> prep.Tokenizer — the tokenizer with this vectorizer's settings")

doc(Tokenizer.init, "Tokenizer:init([opts]) — checks the options (see prep.Tokenizer)")
doc(CountVectorizer.init, "CountVectorizer:init([opts]) — checks the options (see prep.CountVectorizer)")
doc(TfidfVectorizer.init, "TfidfVectorizer:init([opts]) — checks the options (see prep.TfidfVectorizer)")
doc(CountVectorizer.extra_repr, "vectorizer:extra_repr() -> string — the number of terms, or 'not fitted'")
doc(CountVectorizer.persist_state, "vectorizer:persist_state() -> {tensors, settings} — the terms in column order and idf_ (core/persist)")
doc(CountVectorizer.load_persist_state, "vectorizer:load_persist_state(state) — restores the terms and idf_ saved by persist_state")

return M
