-- Determinism: the same seed and thread count give the same training run bit
-- for bit (scripts/gen_determinism_fixture.lua run twice, in two processes,
-- at 1 and at 2 threads), and that run stays close to the one recorded in
-- tests/fixtures/determinism/fit_run.safetensors, so a refactor cannot change
-- the numbers unnoticed. The fixture is compared with a tolerance, not bit for
-- bit: the float32 kernels (oneDNN's JIT, SLEEF) are chosen for the CPU at
-- hand, and a different CPU may sum in a different order.
local function run(threads)
  local path = T.tmpname()
  local _, err, code = T.capture(string.format("OMP_NUM_THREADS=%d %s scripts/gen_determinism_fixture.lua %s %d",
    threads, T.BIN, T.quote(path), threads))
  if code ~= 0 then error("gen_determinism_fixture.lua failed: " .. err, 0) end
  local t = ml.load(path)
  os.remove(path)
  return t
end

local function each_value(want, got, fn)
  local n = 0
  for k, v in pairs(want) do
    n = n + 1
    T.ok(got[k] ~= nil, "missing " .. k)
    T.eq(got[k]:dtype(), v:dtype(), k)
    local a, b = got[k]:reshape(-1):tolist(), v:reshape(-1):tolist()
    T.eq(#a, #b, k)
    for i = 1, #b do fn(k, i, a[i], b[i]) end
  end
  return n
end

for _, threads in ipairs{1, 2} do
  T.test("determinism: the same seed at " .. threads .. " thread(s) gives the same run bit for bit", function()
    local a, b = run(threads), run(threads)
    local n = each_value(a, b, function(k, i, x, y)
      if x ~= y then error(string.format("%s[%d] differs between two runs: %.17g vs %.17g", k, i, x, y), 0) end
    end)
    T.ok(n >= 8, "the run holds the weights and the history")
  end)
end

T.test("determinism: the seeded run stays close to the recorded fixture", function()
  local want = ml.load("tests/fixtures/determinism/fit_run.safetensors")
  local got = run(1)
  local n = each_value(want, got, function(k, i, x, y)
    if math.abs(x - y) > 2e-3 * (1 + math.abs(y)) then
      error(string.format("%s[%d] moved away from the recorded run: %.9g vs %.9g", k, i, x, y), 0)
    end
  end)
  T.ok(n >= 8, "fixture holds the weights and the history")
end)
