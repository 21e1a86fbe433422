-- A fitted pipeline keeps its training frame's schema (data.schema_of) and checks new rows against it.
local data, prep = ml.data, ml.prep

T.test("pipe:validate lists the new rows that break the training schema; raise makes it an error", function()
  local df = data.read_csv("examples/data/books.csv")
  local pipe = prep.Pipeline{ prep.ColumnTransformer{ { "num", prep.StandardScaler(), { "pages" } } } }
  pipe:fit(df)
  T.eq(pipe:validate(df:head(20)).ok ~= false, true)
  local bad = df:head(2):with_column("pages", { -3, 100 }):with_column("category", { "poetry", "fiction" })
  local r = pipe:validate(bad)
  T.ok(r.summary:find("pages: 1 row below min", 1, true), r.summary)
  T.ok(r.summary:find("category: 1 row not in allowed values", 1, true), r.summary)
  T.raises(function() pipe:validate(bad, { raise = true }) end, "pages: 1 row below min")
  T.raises(function() pipe:validate(ml.zeros(2, 2)) end, "prep.Pipeline:validate: expected a data frame")
  local plain = prep.Pipeline{ prep.StandardScaler() }:fit(ml.randn(4, 2))
  T.raises(function() plain:validate(df) end, "was not fitted on a data frame")
end)
