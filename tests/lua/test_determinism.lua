-- The same seed gives the same training run bit for bit as the run recorded
-- in tests/fixtures/determinism/fit_run.safetensors (scripts/gen_determinism_fixture.lua),
-- so refactors of the library cannot change the numbers unnoticed.
T.test("determinism: seeded fit run equals the recorded fixture bit for bit", function()
  local path = T.tmpname()
  local ok, err = pcall(function()
    local chunk = assert(loadfile("scripts/gen_determinism_fixture.lua"))
    local saved = arg
    arg = { [1] = path }
    local printed = print
    print = function() end
    local okc, e = pcall(chunk)
    print, arg = printed, saved
    if not okc then error(e, 0) end
    local want = ml.load("tests/fixtures/determinism/fit_run.safetensors")
    local got = ml.load(path)
    local n = 0
    for k, v in pairs(want) do
      n = n + 1
      T.ok(got[k] ~= nil, "missing " .. k)
      T.eq(got[k]:dtype(), v:dtype(), k)
      local a, b = got[k]:reshape(-1):tolist(), v:reshape(-1):tolist()
      T.eq(#a, #b, k)
      for i = 1, #b do
        if a[i] ~= b[i] then error(string.format("%s[%d] differs from the recorded run: %.17g vs %.17g", k, i, a[i], b[i]), 0) end
      end
    end
    T.ok(n >= 8, "fixture holds the weights and the history")
  end)
  os.remove(path)
  if not ok then error(err, 0) end
end)
