-- Regression tests for the bugs an adversarial review of the runtime found:
-- each test failed before its fix.

local tmpdir = os.tmpname()
os.remove(tmpdir)
os.execute("mkdir -p '" .. tmpdir .. "'")

-- ---- JSON: duplicate keys are found in linear time ----------------------------
T.test("json: an object of 200,000 keys decodes in linear time, and duplicates are still refused", function()
  local n = 200000
  local parts = {}
  for i = 1, n do parts[i] = string.format('"key%d":%d', i, i) end
  local text = "{" .. table.concat(parts, ",") .. "}"
  local t0 = ml.now()
  local v = ml.json.decode(text)
  local dt = ml.now() - t0
  T.eq(v.key1, 1)
  T.eq(v["key" .. n], n)
  T.ok(dt < 5, string.format("decoding %d keys took %.2f s", n, dt))
  -- a duplicate at the very end, and one among keys that share a hash bucket's neighbourhood
  T.raises(function() ml.json.decode("{" .. table.concat(parts, ",") .. ',"key77":0}') end, 'duplicate key "key77"')
  T.raises(function() ml.json.decode('{"a":1,"b":2,"a":3}') end, 'duplicate key "a"')
  T.eq(ml.json.decode('{"a":{"a":1},"b":{"a":2}}').b.a, 2) -- the same key in two objects is fine
end)
