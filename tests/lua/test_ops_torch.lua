-- Forward values, integer outputs (indices), shapes, dtypes and input
-- gradients of (op(x) * w):sum() compared with PyTorch's, from the fixtures
-- that scripts/gen_op_fixtures.py writes (tests/fixtures/ops/torch_ops.lua).
-- Each case rebuilds its inputs, runs the op as its `op` names it (dims and
-- indices 1-based on both sides) and compares everything in one test.
--
-- Tolerances: float32 1e-5, float64 1e-10, relative to the largest element
-- of the expected tensor (|got - want| <= tol * (|want| + max|want|)); cases
-- marked strict (extreme arguments, large magnitudes, 1e6-element float32
-- reductions whose reference is the exact float64 answer) compare each
-- output element with a relative tolerance of its own.
local F = dofile("tests/fixtures/ops/torch_ops.lua")
local TOL = { float32 = 1e-5, float64 = 1e-10 }
local FLOOR = { float32 = 1e-37, float64 = 1e-300 } -- below this, absolute (denormals)

-- ---- fixture tensors ----------------------------------------------------
local function numel(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  return n
end

-- the k-th (1-based) flat element of a fixture tensor: data, tile or runs
local function getter(spec)
  if spec.data then return function(k) return spec.data[k] end end
  if spec.tile then
    local p, tile = #spec.tile, spec.tile
    return function(k) return tile[(k - 1) % p + 1] end
  end
  -- runs: {{value, count}, ...}; elements are read in order, so walk them
  local runs, r, upto = spec.runs, 1, spec.runs[1][2]
  local last = 0
  return function(k)
    if k < last then r, upto = 1, runs[1][2] end
    last = k
    while k > upto do r = r + 1; upto = upto + runs[r][2] end
    return runs[r][1]
  end
end

local function build(spec)
  local n = numel(spec.shape)
  local t
  if spec.data then
    t = ml.tensor(#spec.data > 0 and spec.data or {}, { dtype = spec.dtype })
  elseif spec.tile then
    local p = #spec.tile
    t = ml.tensor(spec.tile, { dtype = spec.dtype }):reshape(1, p):expand(n // p, p)
  else
    local parts = {}
    for _, r in ipairs(spec.runs) do parts[#parts + 1] = ml.full(r[2], r[1], { dtype = spec.dtype }) end
    t = ml.cat(parts, 1)
  end
  return t:reshape(spec.shape):contiguous()
end

local function shape_str(s) return "[" .. table.concat(s, ",") .. "]" end

local function flat_values(t)
  local v = t:reshape(-1):tolist()
  if type(v) ~= "table" then v = { v } end
  return v
end

-- compare a tensor with a fixture tensor; strict: each element relative to itself
local function compare(got, spec, what, strict)
  if not ml.is_tensor(got) then error(string.format("%s: expected a tensor, got %s", what, type(got)), 2) end
  if shape_str(got:shape()) ~= shape_str(spec.shape) then
    error(string.format("%s: shape %s, expected %s", what, shape_str(got:shape()), shape_str(spec.shape)), 2)
  end
  if got:dtype() ~= spec.dtype then error(string.format("%s: dtype %s, expected %s", what, got:dtype(), spec.dtype), 2) end
  local n = numel(spec.shape)
  local want = getter(spec)
  local g = flat_values(got)
  local tol, floor = TOL[spec.dtype], FLOOR[spec.dtype]
  local exact = spec.dtype == "int64" or spec.dtype == "bool"
  local maxabs = 0
  if not exact and not strict then
    for k = 1, n do
      local w = math.abs(want(k))
      if w == w and w ~= math.huge and w > maxabs then maxabs = w end
    end
  end
  local worst, wk = -1, nil
  for k = 1, n do
    local a, b = g[k], want(k)
    local bad
    if exact then bad = a ~= b
    elseif a ~= a or b ~= b then bad = not (a ~= a and b ~= b)
    elseif a == b then bad = false
    else
      local err = math.abs(a - b)
      local lim = strict and (tol * math.abs(b) + floor) or (tol * (math.abs(b) + maxabs) + floor)
      bad = not (err <= lim)
      if bad and err / lim > worst then worst, wk = err / lim, k end
    end
    if bad and (exact or a ~= a or b ~= b or a == math.huge or a == -math.huge) then wk = k; break end
  end
  if wk then
    error(string.format("%s: element %d of %d: expected %.9g, got %.9g (%s, tol %g)", what, wk, n, want(wk), g[wk],
      strict and "elementwise" or "relative to max", tol), 2)
  end
end

-- ---- the ops, as the fixtures name them ----------------------------------
local function kd(a) return a[2] or false end
local OPS = {
  add = function(x) return x[1] + x[2] end,
  sub = function(x) return x[1] - x[2] end,
  mul = function(x) return x[1] * x[2] end,
  div = function(x) return x[1] / x[2] end,
  pow = function(x) return x[1] ^ x[2] end,
  maximum = function(x) return x[1]:maximum(x[2]) end,
  minimum = function(x) return ml.minimum(x[1], x[2]) end,
  add_s = function(x, a) return x[1] + a[1] end,
  sub_s = function(x, a) return x[1] - a[1] end,
  mul_s = function(x, a) return x[1] * a[1] end,
  div_s = function(x, a) return x[1] / a[1] end,
  pow_s = function(x, a) return x[1] ^ a[1] end,
  s_add = function(x, a) return a[1] + x[1] end,
  s_sub = function(x, a) return a[1] - x[1] end,
  s_mul = function(x, a) return a[1] * x[1] end,
  s_div = function(x, a) return a[1] / x[1] end,
  s_pow = function(x, a) return a[1] ^ x[1] end,
  where = function(x) return ml.where(x[1], x[2], x[3]) end,
  neg = function(x) return -x[1] end,
  leaky_relu = function(x, a) return x[1]:leaky_relu(a[1]) end,
  clamp = function(x, a) return x[1]:clamp(a[1], a[2]) end,
  argmax = function(x, a) return x[1]:argmax(a[1]) end,
  argmin = function(x, a) return x[1]:argmin(a[1]) end,
  var = function(x, a)
    if a[1] == false then return x[1]:var({ unbiased = a[2] }) end
    return x[1]:var(a[1], { unbiased = a[2], keepdim = a[3] })
  end,
  std = function(x, a)
    if a[1] == false then return x[1]:std({ unbiased = a[2] }) end
    return x[1]:std(a[1], { unbiased = a[2], keepdim = a[3] })
  end,
  norm = function(x, a)
    if #a == 1 then return x[1]:norm(a[1]) end
    return x[1]:norm(a[1], a[2], a[3])
  end,
  softmax = function(x, a) return x[1]:softmax(a[1]) end,
  log_softmax = function(x, a) return x[1]:log_softmax(a[1]) end,
  cumsum = function(x, a) return x[1]:cumsum(a[1]) end,
  matmul = function(x) return ml.matmul(x[1], x[2]) end,
  dot = function(x) return ml.dot(x[1], x[2]) end,
  outer = function(x) return ml.outer(x[1], x[2]) end,
  addmm = function(x, a) return ml.addmm(x[1], x[2], x[3], { beta = a[1], alpha = a[2] }) end,
  permute_contiguous = function(x) return x[1]:permute(3, 1, 2):contiguous() end,
  transpose_reshape = function(x) return x[1]:transpose(1, 2):reshape(-1) end,
  narrow_select = function(x) return x[1]:narrow(2, 2, 2):select(1, 3) end,
  expand = function(x) return x[1]:expand(2, 3, 4) end,
  index_select = function(x, a) return x[1]:index_select(a[1], x[2]) end,
  gather = function(x, a) return x[1]:gather(a[1], x[2]) end,
  scatter_add = function(x, a) return x[1]:scatter_add(a[1], x[2], x[3]) end,
  masked_select = function(x) return x[1]:masked_select(x[2]) end,
  masked_fill = function(x, a) return x[1]:masked_fill(x[2], a[1]) end,
  cat = function(x, a) return ml.cat(x, a[1]) end,
  stack = function(x, a) return ml.stack(x, a[1]) end,
  sort = function(x, a) return x[1]:sort(a[1], { descending = a[2] }) end,
  topk = function(x, a) return x[1]:topk(a[1], a[2], { largest = a[3] }) end,
}
for _, name in ipairs({ "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu", "gelu" }) do
  OPS[name] = function(x) return x[1][name](x[1]) end
end
for _, name in ipairs({ "sum", "mean", "prod", "max", "min", "logsumexp" }) do
  OPS[name] = function(x, a)
    if #a == 0 then return x[1][name](x[1]) end
    return x[1][name](x[1], a[1], kd(a))
  end
end

-- ---- the tests ------------------------------------------------------------
T.test("torch fixtures: version and coverage", function()
  T.eq(F.version, 1, "fixture version (run scripts/gen_op_fixtures.py)")
  T.ok(type(F.torch) == "string", "torch version recorded")
  T.ok(#F.cases > 100, "cases")
  local missing = {}
  for _, c in ipairs(F.cases) do if not OPS[c.op] then missing[#missing + 1] = c.op end end
  T.eq(table.concat(missing, ","), "", "ops without a Lua function")
end)

for _, c in ipairs(F.cases) do
  T.test("torch: " .. c.name, function()
    local op = OPS[c.op]
    if not op then error("no Lua function for op " .. c.op) end
    local xs = {}
    for k, spec in ipairs(c.inputs) do
      xs[k] = build(spec)
      if spec.dtype == "float32" or spec.dtype == "float64" then xs[k]:requires_grad() end
    end
    local outs = table.pack(op(xs, c.args))
    local out = outs[1]
    compare(out, c.out, "output", c.strict)
    for k, e in ipairs(c.extra or {}) do compare(outs[k + 1], e, "output " .. (k + 1)) end
    -- the same values without grad mode
    local ng = ml.no_grad(function() return op(xs, c.args) end)
    compare(ng, c.out, "output under no_grad", c.strict)
    if c.w then
      local w = build(c.w)
      ;(out * w):sum():backward()
      for k, g in ipairs(c.grads) do
        local x = xs[k]
        if g then
          if not x.grad then error(string.format("input %d: no gradient", k)) end
          compare(x.grad, g, "gradient of input " .. k)
        elseif x.grad then
          compare(x.grad, { shape = x:shape(), dtype = x:dtype(), tile = { 0 } }, "gradient of input " .. k)
        end
      end
    end
  end)
end

-- float32 accumulation over 1e6 elements, against the exact answer computed
-- here in double: 1e6 * float32(0.1), where naive float32 summing gives ~100958
T.test("float32 accumulation: 1e6 elements of 0.1 in every reduction", function()
  local n = 1000000
  local tenth = ml.tensor({ 0.1 })[1] -- 0.100000001490116...
  local exact = n * tenth
  local a = ml.full(n, 0.1)
  local b = ml.ones(n)
  local got = {
    sum = a:sum():item(),
    ["sum dim"] = a:sum(1):item(),
    ["sum of a transposed view"] = a:reshape(1000, 1000):t():sum():item(),
    ["sum along a strided dim"] = a:reshape(n // 2, 2):sum(1)[1] * 2,
    ["mean * n"] = a:mean():item() * n,
    ["cumsum last"] = a:cumsum(1)[n],
    ["cumsum strided last"] = a:reshape(n // 2, 2):cumsum(1)[n // 2]:sum():item(),
    dot = ml.dot(a, b):item(),
    ["matmul vector"] = ml.matmul(a, b):item(),
    ["matmul 1xN Nx1"] = ml.matmul(a:reshape(1, n), b:reshape(n, 1)):item(),
    ["(a*b):sum()"] = (a * b):sum():item(),
    ["norm^2"] = ml.full(n, 0.5):norm():item() ^ 2 / 0.25 * tenth,
    ["exp(logsumexp(0))"] = math.exp(ml.zeros(n):logsumexp(1):item()) * tenth,
  }
  local names = {}
  for k in pairs(got) do names[#names + 1] = k end
  table.sort(names)
  local bad = {}
  for _, k in ipairs(names) do
    if not (math.abs(got[k] - exact) <= 1e-5 * exact) then
      bad[#bad + 1] = string.format("%s = %.9g", k, got[k])
    end
  end
  T.eq(table.concat(bad, "; "), "", string.format("exact %.9g", exact))
  -- float32 variance with a large offset: two-pass or Welford, not E[x^2] - E[x]^2
  local v = ml.tensor({ 1000.1, 1000.2, 1000.3, 1000.4 }):reshape(1, 4):expand(n // 4, 4):reshape(n)
  local vals = ml.tensor({ 1000.1, 1000.2, 1000.3, 1000.4 }):double()
  local m = vals:mean():item()
  local ss = ((vals - m) ^ 2):sum():item() * (n // 4)
  T.near(v:var():item(), ss / (n - 1), 1e-5 * ss / (n - 1))
  T.near(v:var({ unbiased = false }):item(), ss / n, 1e-5 * ss / n)
  T.near(v:std():item(), math.sqrt(ss / (n - 1)), 1e-5)
end)
