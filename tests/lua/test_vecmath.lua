-- Vectorized math (runtime/ops/vecmath, SLEEF): exp, log, log1p, tanh,
-- sigmoid and gelu in float32 and float64 against float64 references
-- (tests/fixtures/vecmath/ref.lua, from scripts/gen_vecmath_fixture.py) over
-- wide ranges and the special values; tails and odd starts, strided views
-- and a two-thread split give the same bits as the plain call; gradients by
-- finite differences and gelu's against its reference; softmax, log_softmax
-- and the BCE losses, whose exponentials and logs go through vecmath, against
-- float64 sums. The whole file runs again in a child process for each other
-- instruction set (MOONLAB_ISA=avx2, scalar), so every path is checked on
-- one machine. ULP-exact bounds per kernel are in tests/c/test_vecmath.c.
local gradcheck = dofile("tests/lua/gradcheck.lua")
local REF = dofile("tests/fixtures/vecmath/ref.lua")
local OPS = { "exp", "log", "log1p", "tanh", "sigmoid", "gelu" }
-- error bound in units of eps * |ref| (an ULP is at most that): SLEEF's u10
-- routines are 1 ULP, float32 tanh its u35 one (3.5 ULP); sigmoid and gelu
-- compose them (tests/c/test_vecmath.c)
local BOUND = { exp = 1, log = 1, log1p = 1, tanh = 1, sigmoid = 2, gelu = 8 }
local BOUND_F32 = { tanh = 3.5 }
local EPS = { float32 = 2 ^ -23, float64 = 2 ^ -52 }
-- below these, results are denormal (or, for gelu, Phi(x) is): absolute
local FLOOR = { float32 = 2 ^ -126, float64 = 2 ^ -1022 }

local function isnan(v) return v ~= v end
local function same(a, b) -- equal with the sign of zero, or both NaN
  if isnan(a) or isnan(b) then return isnan(a) and isnan(b) end
  return a == b and (a ~= 0 or 1 / a == 1 / b)
end

local function check_values(what, got, ref, dtype, bound, xs)
  -- float64 references are rounded from 40 digits: half an ULP more
  local tol = (bound + (dtype == "float64" and 0.5 or 0)) * EPS[dtype]
  for i = 1, #ref do
    local g, r = got[i], ref[i]
    local exact = isnan(r) or r == 0 or r == math.huge or r == -math.huge
    local ok
    if exact then ok = same(g, r)
    else ok = math.abs(g - r) <= tol * math.abs(r) + bound * FLOOR[dtype] end
    if not ok then
      error(string.format("%s(%.9g) = %.17g, expected %.17g", what, xs[i], g, r), 2)
    end
  end
end

for _, op in ipairs(OPS) do
  for _, dt in ipairs { "float32", "float64" } do
    T.test("vecmath: " .. op .. " " .. dt .. " against float64 references, specials included", function()
      local f = REF[op]
      local x = ml.tensor(f.x, { dtype = dt })
      local y = x[op](x)
      T.eq(y:dtype(), dt)
      local ref = f.ref
      if dt == "float32" then -- the reference rounded as a float32 result would be (overflow, underflow)
        ref = ml.tensor(f.ref, { dtype = "float64" }):to("float32"):tolist()
      end
      check_values(op .. " " .. dt, y:tolist(), ref, dt, dt == "float32" and BOUND_F32[op] or BOUND[op], f.x)
    end)
  end
end

T.test("vecmath: the named cases (overflow, log of 0 and of negatives, saturation, tiny tails)", function()
  local inf = math.huge
  local function v(op, x, dt) return ml.tensor({ x }, { dtype = dt })[op](ml.tensor({ x }, { dtype = dt })):tolist()[1] end
  for _, dt in ipairs { "float32", "float64" } do
    T.eq(v("exp", 1000, dt), inf)
    T.eq(v("exp", -1000, dt), 0)
    T.eq(v("log", 0, dt), -inf)
    T.ok(isnan(v("log", -1, dt)), "log(-1) is NaN")
    T.eq(v("tanh", 30, dt), 1)
    T.eq(v("tanh", -30, dt), -1)
    T.eq(v("sigmoid", 100, dt), 1)
    T.ok(v("sigmoid", -100, dt) > 0, "sigmoid(-100) keeps its tiny value") -- 3.7e-44, a float32 denormal
    T.near(v("sigmoid", -100, dt), math.exp(-100), math.exp(-100) * (dt == "float32" and 0.05 or 1e-14))
    T.near(v("gelu", -10, dt), -7.6198530241604969e-23, 7.62e-23 * (dt == "float32" and 1e-6 or 1e-14))
    T.ok(same(v("gelu", -inf, dt), -0.0), "gelu(-inf) is -0")
    T.eq(v("gelu", inf, dt), inf)
  end
end)

-- ---- the same bits however the call is cut --------------------------------
local function bits_equal(a, b, what)
  local x, y = a:reshape(-1):tolist(), b:reshape(-1):tolist()
  T.eq(#x, #y, what)
  for i = 1, #x do
    if not same(x[i], y[i]) then error(string.format("%s: element %d: %.17g vs %.17g", what, i, x[i], y[i]), 2) end
  end
end

T.test("vecmath: odd lengths and odd starts (the tail) give the bits of the whole call", function()
  ml.seed(7)
  for _, dt in ipairs { "float32", "float64" } do
    local x = (ml.rand(1100, { dtype = dt }) * 16 - 8)
    local xp = x:abs() + 1e-3
    for _, op in ipairs(OPS) do
      local src = (op == "log") and xp or x
      local full = src[op](src)
      for _, s in ipairs { 1, 2, 3, 7, 16, 17 } do
        for _, n in ipairs { 1, 5, 8, 15, 16, 17, 31, 33, 1037 } do
          bits_equal(src:narrow(1, s, n)[op](src:narrow(1, s, n)), full:narrow(1, s, n),
            string.format("%s %s [%d, +%d)", op, dt, s, n))
        end
      end
    end
  end
end)

T.test("vecmath: strided views give the values of their contiguous copies", function()
  ml.seed(8)
  for _, dt in ipairs { "float32", "float64" } do
    local m = (ml.rand(37, 23, { dtype = dt }) * 10 - 5):t() -- (23, 37), not contiguous
    T.ok(not m:is_contiguous())
    for _, op in ipairs(OPS) do
      local src = op == "log" and m:abs() or m
      if op == "log" then src = src:t():t() end
      bits_equal(src[op](src), src:contiguous()[op](src:contiguous()), op .. " " .. dt .. " transposed")
    end
  end
end)

T.test("vecmath: a large tensor split across two threads gives the one-thread bits", function()
  ml.seed(9)
  local x = ml.rand(600001) * 12 - 6
  local was = ml.threads()
  local one = {}
  ml.threads(1)
  for _, op in ipairs(OPS) do one[op] = (op == "log" and x:abs() or x)[op](op == "log" and x:abs() or x) end
  ml.threads(2)
  for _, op in ipairs(OPS) do
    local src = op == "log" and x:abs() or x
    bits_equal(src[op](src), one[op], op .. " at 2 threads")
  end
  ml.threads(was)
end)

-- ---- gradients ------------------------------------------------------------
T.test("vecmath: finite-difference gradients in float64 (gelu over both tails)", function()
  ml.seed(10)
  local D = { dtype = "float64" }
  local wide = ml.rand(40, D) * 16 - 8
  local pos = ml.rand(40, D) * 5 + 0.1
  for _, op in ipairs(OPS) do
    local x = (op == "log" or op == "log1p") and pos or wide
    gradcheck(function(a) return a[op](a) end, { x:clone() }, { tol = 1e-6 })
  end
end)

T.test("vecmath: gelu's backward against its reference, float32 and float64", function()
  local f = REF.gelu
  for _, dt in ipairs { "float32", "float64" } do
    local xs, ds = {}, {}
    for i, v in ipairs(f.x) do
      if v == v and v ~= math.huge and v ~= -math.huge then xs[#xs + 1], ds[#ds + 1] = v, f.dref[i] end
    end
    local x = ml.tensor(xs, { dtype = dt, requires_grad = true })
    x:gelu():sum():backward()
    local g = x.grad:tolist()
    for i = 1, #xs do
      -- gelu' crosses 0 near -0.75 by cancellation of Phi(x) and x phi(x): bound by the terms' size
      local scale = math.abs(ds[i]) + 0.5
      T.ok(math.abs(g[i] - ds[i]) <= 16 * EPS[dt] * scale,
        string.format("gelu'(%.9g) %s = %.17g, expected %.17g", xs[i], dt, g[i], ds[i]))
    end
  end
end)

-- ---- softmax, log_softmax, the BCE losses -----------------------------------
-- float64 references in Lua: max-subtracted sums along dim of a 2-D table
local function softmax_ref(rows, dim, log)
  local n1, n2 = #rows, #rows[1]
  local out = {}
  for i = 1, n1 do out[i] = {} end
  local lanes, len = dim == 2 and n1 or n2, dim == 2 and n2 or n1
  for l = 1, lanes do
    local function at(k) if dim == 2 then return rows[l][k] else return rows[k][l] end end
    local function put(k, v) if dim == 2 then out[l][k] = v else out[k][l] = v end end
    local m = -math.huge
    for k = 1, len do if at(k) > m then m = at(k) end end
    local s = 0
    for k = 1, len do s = s + math.exp(at(k) - m) end
    for k = 1, len do
      if log then put(k, at(k) - m - math.log(s)) else put(k, math.exp(at(k) - m) / s) end
    end
  end
  return out
end

T.test("vecmath: softmax and log_softmax along each dim (contiguous and strided lanes, 300 > one chunk)", function()
  ml.seed(11)
  for _, dt in ipairs { "float32", "float64" } do
    for _, shape in ipairs { { 3, 300 }, { 300, 3 }, { 5, 17 } } do
      local x = ml.randn(shape[1], shape[2], { dtype = dt }) * 20
      x = x + 1000 -- large logits: the max subtraction
      local rows = x:tolist()
      for dim = 1, 2 do
        for _, log in ipairs { false, true } do
          local got = (log and x:log_softmax(dim) or x:softmax(dim)):tolist()
          local want = softmax_ref(rows, dim, log)
          local tol = dt == "float32" and 2e-6 or 1e-13
          for i = 1, #want do
            for k = 1, #want[i] do
              local g, w = got[i][k], want[i][k]
              local lim = log and tol * (1 + math.abs(w)) * 30 or tol * math.abs(w) + FLOOR[dt]
              if not (math.abs(g - w) <= lim) then
                error(string.format("%s %s dim %d [%d,%d]: %.17g vs %.17g", log and "log_softmax" or "softmax", dt,
                  dim, i, k, g, w))
              end
            end
          end
        end
      end
    end
  end
end)

T.test("vecmath: log_softmax's backward (exp of the output) by finite differences", function()
  ml.seed(12)
  gradcheck(function(a) return a:log_softmax(2) end, { ml.randn(4, 7, { dtype = "float64" }) * 3 })
  gradcheck(function(a) return a:log_softmax(1) end, { ml.randn(4, 7, { dtype = "float64" }) * 3 })
end)

T.test("vecmath: binary cross-entropy (logits and probabilities) against float64 sums", function()
  local xs, ys = {}, {}
  for i = 0, 200 do
    xs[#xs + 1] = -100 + i -- logits from -100 to 100: exp(-|x|) underflows at the ends
    ys[#ys + 1] = (i % 3) / 2
  end
  for _, dt in ipairs { "float32", "float64" } do
    local x, y = ml.tensor(xs, { dtype = dt }), ml.tensor(ys, { dtype = dt })
    local got = ml._nn.bce_with_logits(x, y, nil, nil, "none"):tolist()
    local p = x:sigmoid()
    local gotp = ml._nn.bce(p, y, nil, "none"):tolist()
    local pl = p:tolist()
    for i = 1, #xs do
      local xv, yv = xs[i], ys[i]
      local sp = math.max(-xv, 0) + math.log(1 + math.exp(-math.abs(xv))) -- softplus(-x)
      local want = (1 - yv) * xv + sp
      T.ok(math.abs(got[i] - want) <= (dt == "float32" and 4e-7 or 1e-15) * (1 + math.abs(want)),
        string.format("bce_with_logits %s x = %g: %.17g vs %.17g", dt, xv, got[i], want))
      local lx, l1x = math.max(math.log(pl[i]), -100), math.max(math.log(1 - pl[i]), -100)
      if pl[i] == 0 then lx = -100 end
      if pl[i] == 1 then l1x = -100 end
      local wantp = -(yv * lx + (1 - yv) * l1x)
      -- 1 - p rounds in dt before its log, as the kernel's; compare with that rounding's error
      T.ok(math.abs(gotp[i] - wantp) <= (dt == "float32" and 2e-6 or 1e-14) * (1 + math.abs(wantp)),
        string.format("bce %s p = %.9g: %.17g vs %.17g", dt, pl[i], gotp[i], wantp))
    end
  end
end)

-- ---- every other instruction set, in a child process ----------------------
if not os.getenv("MOONLAB_VECMATH_CHILD") then
  for _, isa in ipairs { "avx2", "scalar" } do
    T.test("vecmath: this file passes with MOONLAB_ISA=" .. isa, function()
      local out, err, code = T.capture(string.format("MOONLAB_VECMATH_CHILD=1 MOONLAB_ISA=%s %s tests/run.lua tests/lua/test_vecmath.lua",
        isa, T.BIN))
      local failed = out and out:match("(%d+) failed")
      if code ~= 0 or failed ~= "0" then error("MOONLAB_ISA=" .. isa .. ": " .. tostring(out) .. tostring(err), 0) end
      T.ok(not (err or ""):find("MOONLAB_ISA", 1, true), "no warning about the ISA name")
    end)
  end
  T.test("vecmath: an unknown MOONLAB_ISA warns and runs with the widest ISA", function()
    local out, err, code = T.capture(string.format("MOONLAB_ISA=sse9 %s -e %s", T.BIN, T.quote("print(ml.tensor({0}):exp():tolist()[1])")))
    T.eq(code, 0)
    T.ok(err:find("MOONLAB_ISA=sse9 is not one of", 1, true), err)
    T.eq(out, "1.0\n")
  end)
end
