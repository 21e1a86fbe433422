-- int64 values stay exact through Lua: reading an element, assigning one,
-- and numbers as operands (a double would round 2^53 + 1 and INT64_MAX).
T.test("int64: t[i] reads and writes every bit", function()
  local t = ml.tensor({ 1, 2, 3 }, { dtype = "int64" })
  t[1] = math.maxinteger; t[2] = math.mininteger; t[3] = 9007199254740993
  T.eq(t[1], math.maxinteger); T.eq(t[2], math.mininteger); T.eq(t[3], 9007199254740993)
  T.eq(ml.tensor({ 9007199254740995 }, { dtype = "int64" })[1], 9007199254740995)
end)

T.test("int64: number operands of comparisons and arithmetic are exact", function()
  local big = ml.tensor({ math.maxinteger, 5 }, { dtype = "int64" })
  T.eq(big:gt(math.maxinteger - 1):tolist()[1], true)
  T.eq(big:gt(math.maxinteger):tolist()[2], false)
  T.eq(ml.tensor({ 9007199254740993 }, { dtype = "int64" }):eq(9007199254740992):tolist()[1], false)
  T.eq(ml.tensor({ 1 }, { dtype = "int64" }):add(9007199254740992)[1], 9007199254740993)
  T.eq(ml.full({ 2 }, 9007199254740993, { dtype = "int64" })[2], 9007199254740993)
end)

T.test("C errors named by a method keep their name without a 'moonlab:' prefix", function()
  local df = ml.data.DataFrame{ a = { 1 } }
  local ok, err = pcall(df.write_csv, df, "/nonexistent-dir/x.csv")
  T.ok(not ok and err:find("df:write_csv: cannot create", 1, true) and not err:find("moonlab:", 1, true), err)
end)
