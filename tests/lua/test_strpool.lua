-- The string pool behind data frames' string columns (runtime/data/strpool.c).
local S = ml._strings

T.test("strpool: from_list interns each distinct string once, missing as code 0", function()
  local codes, pool = S.from_list({ "b", "a", nil, "b", 7, false }, 6)
  T.eq(#pool, 3)
  T.all_near(codes, ml.tensor({ 1, 2, 0, 1, 3, 0 }, { dtype = "int64" }))
  T.eq(pool:get(1), "b"); T.eq(pool:get(3), "7"); T.eq(pool:get(0), nil)
  T.eq(pool:find("a"), 2); T.eq(pool:find("zz"), nil)
  T.eq(table.concat(pool:list(), ","), "b,a,7")
  local list, n = pool:decode(codes)
  T.eq(n, 6); T.eq(list[1], "b"); T.eq(list[3], nil); T.eq(list[5], "7")
end)

T.test("strpool: many strings, empty and binary strings survive growth", function()
  local pool = S.new()
  for i = 1, 20000 do T.eq(pool:intern("s" .. i), i) end
  T.eq(pool:intern(""), 20001); T.eq(pool:intern("a\0b"), 20002)
  T.eq(pool:intern("s777"), 777)
  T.eq(pool:get(20002), "a\0b"); T.eq(pool:get(20001), ""); T.eq(pool:get(19999), "s19999")
  T.ok(pool:bytes() > 20000 * 6)
end)

T.test("strpool: bad codes and bad elements are clear errors", function()
  local pool = S.new(); pool:intern("x")
  T.raises(function() pool:get(2) end, "pool:get: code 2 is out of range 0..1")
  T.raises(function() pool:decode(ml.tensor({ 1, 5 }, { dtype = "int64" })) end, "code 5 at element 2")
  T.raises(function() pool:decode(ml.tensor({ 1.5 })) end, "int64")
  T.raises(function() S.from_list({ "a", {} }) end, "element 2 is a table")
end)
