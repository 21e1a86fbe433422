-- Matrix products under each kernel rule (MOONLAB_GEMM=auto|openblas|onednn):
-- every float32 product of the cases below, computed in a child process per
-- rule, against the float64 product computed here (OpenBLAS dgemm): the four
-- transpose combinations, views with padded rows, a column-strided view (the
-- copied path), batched with broadcast, k = 0, one row (gemv), one column,
-- addmm with alpha and beta, and Linear's forward and both backward products.
-- Also ml.config() and what `moonlab --version` says about the kernels.
-- (ops/gemm.c's own choices and leading dimensions are tested in tests/c/test_gemm.c.)

local BIN, quote = T.BIN, T.quote

-- the inputs, float64, written once and read by every child
local function inputs()
  ml.seed(7)
  local u = function(...) return (ml.rand(...) - 0.5):to("float64") end
  return {
    x = u(128, 784), w = u(512, 784), g = u(128, 512), b = u(512),
    p = u(64, 96), q = u(80, 64), big = u(200, 300),
    ba = u(3, 1, 40, 50), bb = u(4, 50, 30), row = u(1, 784), vec = u(784),
  }
end

-- the products, as a chunk run both here (float64) and in the children (float32)
local CASES = [[
local t, dt = ...
local c = function(name) return t[name]:to(dt) end
local x, w, g, b, p, q, big = c("x"), c("w"), c("g"), c("b"), c("p"), c("q"), c("big")
local r = {
  nt = ml.matmul(x, w:t()),                              -- x @ W^T (Linear forward)
  nn = ml.matmul(g, w),                                  -- g @ W (Linear's input gradient)
  tn = ml.matmul(x:t(), g),                              -- x^T @ g (Linear's weight gradient)
  tt = ml.matmul(p:t(), q:t()),
  padded = ml.matmul(big:narrow(1, 3, 150):narrow(2, 11, 120), big:narrow(1, 51, 120):narrow(2, 1, 70)), -- ld > cols
  padded_t = ml.matmul(big:t():narrow(1, 1, 100), big:narrow(2, 1, 64)),      -- transposed, ld 300
  strided = ml.matmul(big:reshape(200, 150, 2):select(3, 1):narrow(1, 1, 64), big:narrow(1, 1, 150):narrow(2, 1, 40)),
  batched = ml.matmul(c("ba"), c("bb")),
  k0 = ml.matmul(ml.zeros(5, 0, {dtype = dt}), ml.zeros(0, 7, {dtype = dt})),
  row = ml.matmul(c("row"), w:t()),                      -- one row: batch-1 inference
  vecmat = ml.matmul(c("vec"), w:t()),
  matvec = ml.matmul(w, c("vec")),
  rowcol = ml.matmul(c("row"), c("vec"):reshape(784, 1)),
  addmm = ml.addmm(b, x, w:t(), {beta = 0.5, alpha = -2}),
  tiny = ml.matmul(x:narrow(1, 1, 32):narrow(2, 1, 10), w:narrow(1, 1, 32):narrow(2, 1, 10):t()),
}
-- Linear's backward products through autograd
local xg, wg = x:clone():requires_grad(), w:clone():requires_grad()
local y = ml.addmm(b, xg, wg:t())
;(y * g):sum():backward()
r.dx, r.dw = xg.grad, wg.grad
return r
]]

local function products(t, dt) return assert(load(CASES, "cases"))(t, dt) end

T.test("every rule gives float32 products within float tolerance of float64", function()
  local t = inputs()
  local path, out = T.tmpname(".safetensors"), T.tmpname(".safetensors")
  ml.save(path, t)
  local want = products(t, "float64")
  local chunk = T.tmpname(".lua")
  T.write_file(chunk, CASES)
  for _, rule in ipairs({ "auto", "openblas", "onednn" }) do
    local code = string.format([[
      local r = assert(loadfile(%q))(ml.load(%q), "float32")
      assert(ml.config().gemm == %q)
      ml.save(%q, r)]], chunk, path, rule, out)
    local _, err, rc = T.capture("MOONLAB_GEMM=" .. rule .. " " .. BIN .. " -e " .. quote(code), "")
    T.eq(rc, 0, rule .. ": " .. err)
    local got = ml.load(out)
    for name, ref in pairs(want) do
      local gv = got[name]
      T.ok(gv, rule .. ": " .. name .. " missing")
      T.eq(gv:dtype(), "float32", name)
      T.eq(tostring(gv:size()), tostring(ref:size()), rule .. ": shape of " .. name)
      local err_ = ref:numel() > 0 and (gv:to("float64") - ref):abs():max():item() or 0
      T.ok(err_ <= 2e-5 * math.max(1, ref:numel() > 0 and ref:abs():max():item() or 0),
        string.format("%s: %s off by %.3g", rule, name, err_))
    end
  end
end)

T.test("ml.config() names the libraries, the kernels they chose and the threads", function()
  local c = ml.config()
  T.eq(type(c), "table")
  T.eq(c.version, ml.version)
  T.eq(math.type(c.threads), "integer")
  T.eq(c.threads, ml.threads())
  T.ok(c.gemm == "auto" or c.gemm == "openblas" or c.gemm == "onednn", c.gemm)
  T.ok(type(c.cpu) == "string" and c.cpu:match("family %d+"), c.cpu)
  T.ok(c.lua:match("^Lua 5%.4"), c.lua)
  T.ok(c.openblas.version:match("^%d+%.%d+%.%d+"), c.openblas.version)
  T.eq(c.openblas.variant, "openmp")
  T.eq(type(c.openblas.core), "string")
  T.ok(c.openblas.config:match("^OpenBLAS"), c.openblas.config)
  T.ok(c.onednn.version:match("^%d+%.%d+%.%d+$"), c.onednn.version)
  T.ok(c.onednn.isa ~= "unknown", c.onednn.isa)
  T.eq(type(c.onednn.preferred), "boolean")
  if c.onednn.preferred then T.ok(c.onednn.isa:match("^avx512_core"), c.onednn.isa) end
  T.ok(c.sleef.version:match("^%d+%.%d+%.%d+$"), c.sleef.version)
  T.eq(type(c.sleef.isa), "string")
end)

T.test("moonlab --version mentions OpenBLAS, oneDNN, SLEEF, the rule and the threads", function()
  local out, _, rc = T.capture(BIN .. " --version", "")
  T.eq(rc, 0)
  local c = ml.config()
  for _, s in ipairs({ "OpenBLAS " .. c.openblas.version, c.openblas.core, "oneDNN " .. c.onednn.version, c.onednn.isa,
                       "SLEEF " .. c.sleef.version, "gemm auto" }) do
    T.ok(out:find(s, 1, true), s .. " not in " .. out)
  end
  out = T.capture("MOONLAB_GEMM=openblas OMP_NUM_THREADS=1 " .. BIN .. " -v", "")
  T.ok(out:find("gemm openblas, 1 threads", 1, true), out)
  -- an unknown rule falls back to auto, which ml.config() shows, and says so on stderr
  local err
  out, err = T.capture("MOONLAB_GEMM=fastest " .. BIN .. " -e 'io.write(ml.config().gemm)'", "")
  T.eq(out, "auto")
  T.ok(err:find("MOONLAB_GEMM=fastest is not one of auto, openblas, onednn; using auto", 1, true), err)
end)

T.test("two threads: the same products twice give the same bits", function()
  local code = [[
    ml.threads(2); ml.seed(3)
    local a, b = ml.rand(256, 300), ml.rand(256, 300)
    local r1, r2 = ml.matmul(a, b:t()), ml.matmul(a, b:t())
    local s1, s2 = ml.matmul(a:narrow(1, 1, 128), b:t()), ml.matmul(a:narrow(1, 1, 128), b:t())
    io.write(tostring(r1:equal(r2) and s1:equal(s2)))]]
  local out, err = T.capture(BIN .. " -e " .. quote(code), "")
  T.eq(out, "true", err)
end)
