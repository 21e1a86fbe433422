-- prep.Tokenizer, CountVectorizer, TfidfVectorizer against scikit-learn
-- (tests/fixtures/text/cases.lua, scripts/gen_text_fixtures.py).
local prep = ml.prep
local fx = dofile("tests/fixtures/text/cases.lua")

local function build(case)
  local opts = {}
  for k, v in pairs(case.opts) do opts[k] = v end
  if opts.norm == false then opts.norm = false end
  return prep[case.class](opts)
end

for _, case in ipairs(fx.cases) do
  T.test("sklearn " .. case.name .. ": vocabulary and values", function()
    local v = build(case)
    local X = v:fit_transform(fx.corpus)
    T.eq(table.concat(v:get_feature_names_out(), "|"), table.concat(case.features, "|"))
    T.eq(X.shape[1], #fx.corpus)
    T.eq(X.shape[2], #case.features)
    T.all_near(X:to_dense(), ml.tensor(case.fit, { dtype = "float64" }), 1e-6)
    T.all_near(v:transform(fx.new_docs):to_dense(), ml.tensor(case.transform, { dtype = "float64" }), 1e-6)
    if case.idf then T.all_near(v.idf_, ml.tensor(case.idf, { dtype = "float64" }), 1e-6) end
    for i, term in ipairs(case.features) do T.eq(v.vocabulary_[term], i) end
  end)
end

T.test("fit then transform equals fit_transform; threads do not change the result", function()
  local docs = {}
  for i = 1, 3000 do docs[i] = fx.corpus[(i % #fx.corpus) + 1] .. " w" .. (i % 97) end
  local old = ml.threads()
  ml.threads(1)
  local a = prep.TfidfVectorizer { ngram_range = { 1, 2 } }:fit_transform(docs)
  ml.threads(2)
  local v = prep.TfidfVectorizer { ngram_range = { 1, 2 } }
  local b = v:fit_transform(docs)
  ml.threads(old)
  T.all_near(a:to_dense(), b:to_dense(), 0)
  T.all_near(v:fit(docs):transform(docs):to_dense(), b:to_dense(), 1e-12)
end)

T.test("a string column: each distinct string tokenized once, document frequencies count rows", function()
  local list = { fx.corpus[1], fx.corpus[2], fx.corpus[1], fx.corpus[6], fx.corpus[1] }
  local codes, pool = ml._strings.from_list(list)
  local col = ml.data.Column.new("string", codes, nil, pool)
  local a = prep.TfidfVectorizer():fit_transform(list)
  local v = prep.TfidfVectorizer()
  local b = v:fit_transform(col)
  T.all_near(b:to_dense(), a:to_dense(), 1e-12)
  T.all_near(v:transform(col):to_dense(), a:to_dense(), 1e-12)
  local df = ml.data.DataFrame { text = list }
  T.all_near(prep.TfidfVectorizer():fit_transform(df):to_dense(), a:to_dense(), 1e-12)
  T.all_near(prep.CountVectorizer { min_df = 2 }:fit_transform(df):to_dense(), prep.CountVectorizer { min_df = 2 }:fit_transform(list):to_dense(), 0)
end)

T.test("Tokenizer: Python's lower, Unicode word characters, stop words, n-grams", function()
  local t = prep.Tokenizer()
  T.eq(table.concat(t:tokenize("ÉCOLE—Straße, don't x 42 Ñandú_2"), "|"), "école|straße|don|42|ñandú_2")
  T.eq(ml._text.lower("ÀÉÎÕÜ ÇÑ ΟΔΟΣ İ"), "àéîõü çñ οδος i̇")
  local s = prep.Tokenizer { stop_words = "english", ngram_range = { 1, 2 } }
  T.eq(table.concat(s:analyze("The cat and the hat"), "|"), "cat|hat|cat hat")
  local p = prep.Tokenizer { token_pattern = "%a+" }
  T.eq(table.concat(p:tokenize("A b-CD"), "|"), "a|b|cd")
  local docs = { "A b-CD", "cd cd e" }
  local m = prep.CountVectorizer { token_pattern = "%a+" }:fit_transform(docs)
  T.all_near(m:to_dense(), ml.tensor({ { 1, 1, 1, 0 }, { 0, 0, 2, 1 } }, { dtype = "float64" }))
end)

T.test("english stop words are scikit-learn's list", function()
  local sw = require "moonlab.prep.stop_words_english"
  T.eq(#sw, 318)
end)

T.test("dtype, binary, save and load", function()
  local v = prep.TfidfVectorizer { dtype = "float32", sublinear_tf = true }
  local X = v:fit_transform(fx.corpus)
  T.eq(X.dtype, "float32")
  local path = T.tmpname(".safetensors")
  require("moonlab.core.persist").save(path, v)
  local w = require("moonlab.core.persist").load(path)
  T.eq(table.concat(w:get_feature_names_out(), "|"), table.concat(v:get_feature_names_out(), "|"))
  T.all_near(w:transform(fx.new_docs):to_dense(), v:transform(fx.new_docs):to_dense(), 1e-7)
  local c = prep.CountVectorizer { vocabulary = { fox = 2, the = 1 } }
  T.all_near(c:fit_transform({ "the fox the" }):to_dense(), ml.tensor({ { 2, 1 } }, { dtype = "float64" }))
end)

T.test("errors name the function and say what was expected", function()
  T.raises(function() prep.CountVectorizer { ngram = { 1, 2 } } end, "unknown option 'ngram'")
  T.raises(function() prep.CountVectorizer { ngram_range = { 2, 1 } } end, "prep.CountVectorizer: ngram_range must be")
  T.raises(function() prep.CountVectorizer { max_df = 1.5 } end, "max_df as a fraction must be in [0, 1]")
  T.raises(function() prep.CountVectorizer { stop_words = "french" } end, "stop_words must be 'english'")
  T.raises(function() prep.CountVectorizer():transform { "a" } end, "prep.CountVectorizer:transform: not fitted yet")
  T.raises(function() prep.CountVectorizer():fit_transform { "ok doc", 3 } end, "document 2 is a number, expected a string")
  T.raises(function() prep.CountVectorizer():fit_transform { "a b", "c" } end, "empty vocabulary")
  T.raises(function() prep.CountVectorizer { min_df = 2 }:fit_transform { "aa bb", "cc", "dd" } end, "no terms remain")
  T.raises(function() prep.TfidfVectorizer():fit_transform(ml.zeros(3)) end, "expected a list of strings, a string column")
  T.raises(function() prep.CountVectorizer { vocabulary = { "a", "a" } } end, "repeats the term 'a' (entries 1 and 2)")
  T.raises(function() prep.CountVectorizer { min_df = 3, max_df = 2 }:fit_transform { "aa" } end, "max_df corresponds to fewer documents")
end)

T.test("lowercase and tokens of random strings over many scripts match Python and scikit-learn", function()
  local bad = 0
  for i, case in ipairs(fx.unicode) do
    local low = ml._text.lower(case.s)
    local toks = prep.Tokenizer():tokenize(case.s)
    if low ~= case.lower or table.concat(toks, "\1") ~= table.concat(case.tokens, "\1") then
      bad = bad + 1
      if bad <= 3 then print(string.format("  string %d: %q -> %q / %q", i, case.s, low, table.concat(toks, "|"))) end
    end
  end
  T.eq(bad, 0)
end)

T.test("a vectorizer in a ColumnTransformer beside a scaler; saved and loaded with it", function()
  local df = ml.data.DataFrame({ text = { fx.corpus[1], fx.corpus[2], fx.corpus[6], fx.corpus[1] }, x = { 1.0, 2.0, 3.0, 4.0 } },
    { columns = { "text", "x" } })
  local ct = prep.ColumnTransformer({ { "words", prep.TfidfVectorizer(), { "text" } }, { "num", prep.StandardScaler(), { "x" } } })
  local out = ct:fit_transform(df)
  local words = prep.TfidfVectorizer():fit_transform({ fx.corpus[1], fx.corpus[2], fx.corpus[6], fx.corpus[1] })
  T.eq(out:size(2), words.shape[2] + 1)
  T.all_near(out:narrow(2, 1, words.shape[2]), words:to_dense(), 1e-12)
  local path = T.tmpname(".safetensors")
  require("moonlab.core.persist").save(path, ct)
  local again = require("moonlab.core.persist").load(path)
  T.all_near(again:transform(df), out, 1e-12)
end)
