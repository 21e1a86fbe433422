-- Finite-difference gradient checks in float64 for every differentiable op,
-- and the tape's behaviour (reuse, accumulation, freed graphs, in-place
-- modification, detach, no_grad). The helper is tests/lua/gradcheck.lua.
local gradcheck = dofile("tests/lua/gradcheck.lua")

local D = { dtype = "float64" }
ml.seed(1234)

local function rn(shape) return ml.randn(shape, D) end
local function f64(t) return ml.tensor(t, D) end
-- randn pushed at least 0.2 away from 0 (kinks of relu, abs, sign ...)
local function away(shape)
  local x = rn(shape)
  return ml.where(x:ge(0), x + 0.2, x - 0.2)
end
-- uniform in [lo, hi)
local function unif(shape, lo, hi)
  local u = ml.rand(shape, D)
  return u * (hi - lo) + lo
end
local function pos(shape) return unif(shape, 0.5, 2.0) end

local function check(name, f, inputs, opts)
  T.test(name, function() gradcheck(f, inputs, opts) end)
end

-- ---- binary elementwise -----------------------------------------------
local ops2 = {
  add = function(a, b) return a + b end,
  sub = function(a, b) return a - b end,
  mul = function(a, b) return a * b end,
  div = function(a, b) return a / b end,
  pow = function(a, b) return a ^ b end,
  maximum = function(a, b) return a:maximum(b) end,
  minimum = function(a, b) return a:minimum(b) end,
}
local order2 = { "add", "sub", "mul", "div", "pow", "maximum", "minimum" }
-- operands: a positive for pow, b away from 0 for div, a and b apart for max/min
local function operands(op, sa, sb)
  if op == "pow" then return pos(sa), unif(sb, -1.5, 1.5) end
  if op == "div" then return rn(sa), away(sb) end
  if op == "maximum" or op == "minimum" then
    -- a in [-3,-1) or [1,3) at random, b in (-0.9, 0.9): never within 0.1 of each other
    local a = unif(sa, 1, 3)
    a = ml.where(ml.rand(sa):lt(0.5), a, -a)
    return a, unif(sb, -0.9, 0.9)
  end
  return rn(sa), rn(sb)
end

for _, op in ipairs(order2) do
  local f = ops2[op]
  for _, sh in ipairs({ { { 3, 4 }, { 3, 4 } }, { { 3, 1 }, { 1, 4 } }, { { 4 }, { 3, 4 } }, { { 3, 4 }, { 4 } },
                        { { 2, 3, 4 }, { 3, 1 } }, { {}, { 3, 4 } } }) do
    local a, b = operands(op, sh[1], sh[2])
    check(string.format("%s [%s] x [%s]", op, table.concat(sh[1], ","), table.concat(sh[2], ",")), f, { a, b })
  end
end

-- tensor op scalar, scalar op tensor
check("add scalar", function(a) return a + 2.5 end, { rn({ 3, 4 }) })
check("scalar add", function(a) return 2.5 + a end, { rn({ 3, 4 }) })
check("sub scalar", function(a) return a - 1.5 end, { rn({ 3, 4 }) })
check("scalar sub", function(a) return 1.5 - a end, { rn({ 3, 4 }) })
check("mul scalar", function(a) return a * -3 end, { rn({ 3, 4 }) })
check("scalar mul", function(a) return -3 * a end, { rn({ 3, 4 }) })
check("div scalar", function(a) return a / 4 end, { rn({ 3, 4 }) })
check("scalar div", function(a) return 2 / a end, { away({ 3, 4 }) })
check("pow scalar 2", function(a) return a ^ 2 end, { rn({ 3, 4 }) })
check("pow scalar 3", function(a) return a ^ 3 end, { rn({ 3, 4 }) })
check("pow scalar 0.5", function(a) return a ^ 0.5 end, { pos({ 3, 4 }) })
check("pow scalar -1.5", function(a) return a ^ -1.5 end, { pos({ 3, 4 }) })
check("scalar pow", function(a) return 2 ^ a end, { rn({ 3, 4 }) })
check("pow method", function(a, b) return a:pow(b) end, { pos({ 3, 4 }), rn({ 4 }) })
check("maximum scalar", function(a) return a:maximum(0.1) end, { away({ 3, 4 }) })
check("minimum scalar", function(a) return a:minimum(0.1) end, { away({ 3, 4 }) })
check("max(other)", function(a, b) return a:max(b) end, { operands("maximum", { 3, 4 }, { 4 }) })
check("min(other)", function(a, b) return a:min(b) end, { operands("minimum", { 3, 4 }, { 4 }) })
-- floor division (gradient zero) and remainder (d/da = 1, d/db = -floor(a / b)):
-- a = q * b with q's fraction in [0.2, 0.8], so no step lies within eps
local function divmod_operands(sa, sb)
  local b = away(sb)
  local q = ml.randint(-3, 3, sa):double() + unif(sa, 0.2, 0.8)
  return q * b, b
end
for _, sh in ipairs({ { { 3, 4 }, { 3, 4 } }, { { 3, 1 }, { 1, 4 } }, { { 2, 3, 4 }, { 3, 1 } } }) do
  local a, b = divmod_operands(sh[1], sh[2])
  local tag = string.format("[%s] x [%s]", table.concat(sh[1], ","), table.concat(sh[2], ","))
  check("remainder " .. tag, function(x, y) return x % y end, { a, b })
  check("floor_divide " .. tag, function(x, y) return x // y + x * y end, { a, b })
end
check("remainder scalar", function(a) return a % 0.7 end, { unif({ 3, 4 }, 0.1, 0.6) + ml.randint(-3, 3, { 3, 4 }):double() * 0.7 })
check("scalar remainder", function(b) return 2.5 % b end, { ml.tensor({ { 0.7, -0.9 }, { 1.1, -2.0 } }, D) })
check("remainder method", function(a, b) return a:remainder(b) * ml.floor_divide(a, b) end, { divmod_operands({ 4 }, { 4 }) })

check("ml.add function", function(a, b) return ml.add(a, b) * ml.mul(a, b) - ml.sub(b, a) / ml.div(a, 3) end,
  { away({ 3, 4 }), rn({ 3, 4 }) })
check("same tensor twice", function(a) return a * a + a / (a * a + 1) end, { rn({ 3, 4 }) })

-- where: both branches, broadcast, number branches
local cond = ml.tensor({ { true, false, true, false }, { false, false, true, true }, { true, true, false, false } })
check("where", function(a, b) return ml.where(cond, a, b) end, { rn({ 3, 4 }), rn({ 3, 4 }) })
check("where broadcast", function(a, b) return ml.where(cond, a, b) end, { rn({ 3, 1 }), rn({ 4 }) })
check("where number branch", function(a) return ml.where(cond, a, 0) + ml.where(cond, 1, a * 2) end, { rn({ 3, 4 }) })

-- ---- unary ------------------------------------------------------------
local unary = {
  { "neg", function(a) return -a end, rn },
  { "neg method", function(a) return a:neg() end, rn },
  { "abs", function(a) return a:abs() end, away },
  { "exp", function(a) return a:exp() end, rn },
  { "log", function(a) return a:log() end, pos },
  { "log1p", function(a) return a:log1p() end, function(s) return unif(s, -0.5, 2) end },
  { "sqrt", function(a) return a:sqrt() end, pos },
  { "rsqrt", function(a) return a:rsqrt() end, pos },
  { "sin", function(a) return a:sin() end, rn },
  { "cos", function(a) return a:cos() end, rn },
  { "tanh", function(a) return a:tanh() end, rn },
  { "sigmoid", function(a) return a:sigmoid() end, function(s) return rn(s) * 3 end },
  { "relu", function(a) return a:relu() end, away },
  { "gelu", function(a) return a:gelu() end, function(s) return rn(s) * 2 end },
  { "leaky_relu", function(a) return a:leaky_relu() end, away },
  { "leaky_relu 0.2", function(a) return a:leaky_relu(0.2) end, away },
  { "clamp", function(a) return a:clamp(-0.5, 0.5) end,
    function() return f64({ { -2, -0.7, -0.45, -0.1 }, { 0, 0.2, 0.49 - 0.02, 0.55 }, { 1.5, -0.3, 0.3, 3 } }) end },
  { "clamp min only", function(a) return a:clamp(0.1) end, away },
  { "clamp max only", function(a) return a:clamp(nil, 0.1) end, away },
  { "clamp table", function(a) return a:clamp({ min = -0.1, max = 0.3 }) end,
    function() return f64({ -1, -0.2, 0, 0.1, 0.25, 0.4, 2 }) end },
  { "sign (zero gradient)", function(a) return a:sign() * a end, away },
}
for _, u in ipairs(unary) do
  check(u[1], u[2], { u[3]({ 3, 4 }) })
  check(u[1] .. " ml.", function(a) return u[2](a) end, { u[3]({ 5 }) })
end
check("relu skipping the kink", function(a) return a:relu() end,
  { f64({ -1, 0, 1e-9, 2, -3 }) }, { skip = function(_, _, v) return math.abs(v) < 1e-3 end })
check("unary on a transposed view", function(a) return a:t():exp():sin() end, { rn({ 3, 4 }) })
check("unary on a 0-d tensor", function(a) return a:tanh() end, { f64(0.3) })

-- ---- reductions -------------------------------------------------------
local x34 = function() return rn({ 3, 4 }) end
local red = {
  { "sum", function(a) return a:sum() end },
  { "sum dim 1", function(a) return a:sum(1) end },
  { "sum dim 2 keepdim", function(a) return a:sum(2, true) end },
  { "sum dim -1", function(a) return a:sum(-1) end },
  { "sum keepdim table", function(a) return a:sum(1, { keepdim = true }) end },
  { "mean", function(a) return a:mean() end },
  { "mean dim 1", function(a) return a:mean(1) end },
  { "mean dim 2 keepdim", function(a) return a:mean(2, true) end },
  { "prod", function(a) return a:prod() end },
  { "prod dim 1", function(a) return a:prod(1) end },
  { "prod dim 2 keepdim", function(a) return a:prod(2, true) end },
  { "max all", function(a) return a:max() end },
  { "min all", function(a) return a:min() end },
  { "max dim 1", function(a) return (a:max(1)) end },
  { "max dim 2 keepdim", function(a) return (a:max(2, true)) end },
  { "min dim 2", function(a) return (a:min(2)) end },
  { "min dim 1 keepdim", function(a) return (a:min(1, true)) end },
  { "var", function(a) return a:var() end },
  { "var biased", function(a) return a:var({ unbiased = false }) end },
  { "var dim 1", function(a) return a:var(1) end },
  { "var dim 2 biased keepdim", function(a) return a:var(2, { unbiased = false, keepdim = true }) end },
  { "std", function(a) return a:std() end },
  { "std biased", function(a) return a:std({ unbiased = false }) end },
  { "std dim 1", function(a) return a:std(1) end },
  { "std dim 2 biased keepdim", function(a) return a:std(2, { unbiased = false, keepdim = true }) end },
  { "norm", function(a) return a:norm() end },
  { "norm p=1", function(a) return a:norm(1) end },
  { "norm p=2 dim 2", function(a) return a:norm(2, 2) end },
  { "norm p=3", function(a) return a:norm(3) end },
  { "norm p=3 dim 1 keepdim", function(a) return a:norm(3, 1, true) end },
  { "norm p=1 dim 1", function(a) return a:norm(1, 1) end },
  { "norm p=inf", function(a) return a:norm(math.huge) end },
  { "norm p=inf dim 2", function(a) return a:norm(math.huge, 2) end },
  { "logsumexp all", function(a) return a:logsumexp() end },
  { "logsumexp dim 1", function(a) return a:logsumexp(1) end },
  { "logsumexp dim 2 keepdim", function(a) return a:logsumexp(2, true) end },
  { "softmax dim 1", function(a) return a:softmax(1) end },
  { "softmax dim -1", function(a) return a:softmax(-1) end },
  { "log_softmax dim 1", function(a) return a:log_softmax(1) end },
  { "log_softmax dim 2", function(a) return a:log_softmax(2) end },
  { "cumsum dim 1", function(a) return a:cumsum(1) end },
  { "cumsum dim 2", function(a) return a:cumsum(2) end },
}
for _, r in ipairs(red) do check(r[1], r[2], { away({ 3, 4 }) }) end
for _, r in ipairs({
  { "sum 3-D dim 2", function(a) return a:sum(2) end },
  { "mean 3-D dim -1 keepdim", function(a) return a:mean(-1, true) end },
  { "prod 3-D dim 3", function(a) return a:prod(3) end },
  { "var 3-D dim 2", function(a) return a:var(2) end },
  { "max 3-D dim 2", function(a) return (a:max(2)) end },
  { "softmax 3-D dim 2", function(a) return a:softmax(2) end },
  { "log_softmax 3-D dim 1", function(a) return a:log_softmax(1) end },
  { "logsumexp 3-D dim 3", function(a) return a:logsumexp(3) end },
  { "cumsum 3-D dim 2", function(a) return a:cumsum(2) end },
  { "norm 3-D dim 3", function(a) return a:norm(2, 3) end },
}) do check(r[1], r[2], { away({ 2, 3, 4 }) }) end
check("reductions of a transposed view", function(a)
  local t = a:t()
  return { t:sum(1), t:prod(2), t:softmax(2), t:cumsum(1), t:var(1), (t:max(2)), t:logsumexp(1) }
end, { away({ 3, 4 }) })
check("1-D reductions", function(a)
  return { a:sum(), a:sum(1), a:mean(1), a:prod(1), a:softmax(1), a:log_softmax(1), a:cumsum(1), a:norm(), a:std(1) }
end, { away({ 5 }) })
check("prod with one zero", function(a) return { a:prod(), a:prod(2) } end,
  { f64({ { 1.5, 0, -2, 0.5 }, { 0.7, 1.1, -0.4, 2 }, { 0, 3, 0.5, -1 } }) })
check("prod with two zeros", function(a) return { a:prod(), a:prod(1) } end,
  { f64({ { 1.5, 0, -2, 0.5 }, { 0.7, 0, -0.4, 2 } }) })
check("softmax of large values", function(a) return { a:softmax(2), a:log_softmax(2), a:logsumexp(2) } end,
  { f64({ { 1000, 1001, 999 }, { -1000, -1002, -1001 } }) })

-- ---- linear algebra ---------------------------------------------------
check("matmul 2-D", function(a, b) return ml.matmul(a, b) end, { rn({ 3, 4 }), rn({ 4, 5 }) })
check("matmul transposed operands", function(a, b) return ml.matmul(a:t(), b:t()) end, { rn({ 4, 3 }), rn({ 5, 4 }) })
check("matmul batched", function(a, b) return ml.matmul(a, b) end, { rn({ 2, 3, 4 }), rn({ 2, 4, 5 }) })
check("matmul batched x 2-D", function(a, b) return ml.matmul(a, b) end, { rn({ 2, 3, 4 }), rn({ 4, 5 }) })
check("matmul 2-D x batched", function(a, b) return ml.matmul(a, b) end, { rn({ 3, 4 }), rn({ 2, 4, 5 }) })
check("matmul batch broadcast", function(a, b) return ml.matmul(a, b) end, { rn({ 2, 1, 3, 4 }), rn({ 3, 4, 2 }) })
check("matmul matrix-vector", function(a, b) return ml.matmul(a, b) end, { rn({ 3, 4 }), rn({ 4 }) })
check("matmul vector-matrix", function(a, b) return ml.matmul(a, b) end, { rn({ 4 }), rn({ 4, 5 }) })
check("matmul batched-vector", function(a, b) return ml.matmul(a, b) end, { rn({ 2, 3, 4 }), rn({ 4 }) })
check("matmul vector-batched", function(a, b) return ml.matmul(a, b) end, { rn({ 4 }), rn({ 2, 4, 5 }) })
check("matmul vector dot", function(a, b) return ml.matmul(a, b) end, { rn({ 4 }), rn({ 4 }) })
check("matmul method and mm/mv/bmm", function(a, b, v, c)
  return { a:matmul(b), ml.mm(a, b), ml.mv(a, v), ml.bmm(c, c:transpose(2, 3)) }
end, { rn({ 3, 4 }), rn({ 4, 5 }), rn({ 4 }), rn({ 2, 3, 4 }) })
check("dot", function(a, b) return ml.dot(a, b) end, { rn({ 5 }), rn({ 5 }) })
check("outer", function(a, b) return ml.outer(a, b) end, { rn({ 3 }), rn({ 4 }) })
check("addmm", function(c, a, b) return ml.addmm(c, a, b) end, { rn({ 3, 5 }), rn({ 3, 4 }), rn({ 4, 5 }) })
check("addmm bias [5] beta alpha", function(c, a, b) return ml.addmm(c, a, b, { beta = 0.5, alpha = -2 }) end,
  { rn({ 5 }), rn({ 3, 4 }), rn({ 4, 5 }) })
check("addmm bias [1,5] beta 0", function(c, a, b) return ml.addmm(c, a, b, { beta = 0, alpha = 1.5 }) end,
  { rn({ 1, 5 }), rn({ 3, 4 }), rn({ 4, 5 }) })
check("addmm transposed", function(c, a, b) return ml.addmm(c, a:t(), b, { beta = 2 }) end,
  { rn({ 3, 5 }), rn({ 4, 3 }), rn({ 4, 5 }) })

-- ---- views and copies -------------------------------------------------
local views = {
  { "reshape", function(a) return a:reshape(4, 3) * ml.arange(12):reshape(4, 3):double() end },
  { "reshape table -1", function(a) return a:reshape({ 2, -1 }):sum(1) end },
  { "reshape of a transpose (copies)", function(a) return a:t():reshape(12) * ml.arange(12):double() end },
  { "view", function(a) return a:view(2, 6) * ml.arange(12):view(2, 6):double() end },
  { "transpose", function(a) return a:transpose(1, 2):cumsum(2) end },
  { "t", function(a) return a:t():cumsum(2) end },
  { "permute", function(a) return a:reshape(2, 3, 2):permute(3, 1, 2):cumsum(3) end },
  { "narrow", function(a) return a:narrow(2, 2, 2):cumsum(2) end },
  { "narrow negative start", function(a) return a:narrow(1, -2, 2):cumsum(1) end },
  { "select", function(a) return a:select(2, 3) * ml.tensor({ 1, 2, 3 }, D) end },
  { "select negative", function(a) return a:select(1, -1):cumsum(1) end },
  { "expand", function(a) return a:reshape(3, 1, 4):expand(3, 2, 4):cumsum(2) end },
  { "expand new dims", function(a) return a:narrow(1, 1, 1):expand(2, 3, 4):cumsum(1) end },
  { "expand -1", function(a) return a:narrow(2, 1, 1):expand(-1, 3):cumsum(2) end },
  { "expand_as", function(a) return a:narrow(2, 1, 1):expand_as(ml.zeros(3, 4)):cumsum(2) end },
  { "squeeze", function(a) return a:reshape(1, 3, 1, 4):squeeze():cumsum(1) end },
  { "squeeze dim", function(a) return a:reshape(1, 3, 1, 4):squeeze(3):cumsum(3) end },
  { "unsqueeze", function(a) return a:unsqueeze(2):cumsum(3) end },
  { "unsqueeze -1", function(a) return a:unsqueeze(-1):expand(3, 4, 2):cumsum(3) end },
  { "flatten", function(a) return a:flatten():cumsum(1) end },
  { "flatten dims", function(a) return a:reshape(2, 3, 2):flatten(2, 3):cumsum(2) end },
  { "contiguous", function(a) return a:t():contiguous():cumsum(2) end },
  { "clone", function(a) return a:clone() * a:clone():t():t() end },
  { "to float64", function(a) return a:to("float64"):cumsum(1) end },
  { "double", function(a) return a:double():cumsum(1) end },
  { "index t[i]", function(a) return a[2]:cumsum(1) end },
  { "index t[-1]", function(a) return a[-1] * 3 end },
  { "chain of views", function(a) return a:t():narrow(1, 2, 3):unsqueeze(1):expand(2, 3, 3):permute(3, 2, 1):reshape(18):cumsum(1) end },
}
for _, v in ipairs(views) do check(v[1], v[2], { rn({ 3, 4 }) }) end

T.test("t[i] of a 2-D tensor is a view carrying gradients; t[i] of a 1-D one is a number", function()
  local x = f64({ { 1, 2, 3 }, { 4, 5, 6 } }):requires_grad()
  local y = x[2]:select(1, 3) * x[1]:select(1, 1) + x[-1]:select(1, -2)
  T.eq(y:dim(), 0)
  y:backward()
  T.all_near(x.grad, { { 6, 0, 0 }, { 0, 1, 1 } }, 0)
  T.eq(x[2][3], 6)
  T.eq(math.type(x[2][3]), "float")
end)

-- ---- index, join, sort ------------------------------------------------
local L64 = { dtype = "int64" }
local idx2 = ml.tensor({ { 1, 4 }, { 2, 2 }, { 4, 3 } }, L64)
check("index_select dim 1 (repeats)", function(a) return a:index_select(1, ml.tensor({ 3, 1, 3 }, L64)) end, { rn({ 3, 4 }) })
check("index_select dim 2", function(a) return a:index_select(2, ml.tensor({ 4, 2 }, L64)) end, { rn({ 3, 4 }) })
check("index_select table index", function(a) return ml.index_select(a, -1, { 2, 2, 1 }) end, { rn({ 3, 4 }) })
check("gather dim 2", function(a) return a:gather(2, idx2) end, { rn({ 3, 4 }) })
check("gather dim 1", function(a) return a:gather(1, ml.tensor({ { 3, 1, 1, 2 } }, L64)) end, { rn({ 3, 4 }) })
check("scatter_add dim 2 (repeated index)", function(a, s) return a:scatter_add(2, idx2, s) end, { rn({ 3, 4 }), rn({ 3, 2 }) })
check("scatter_add dim 1", function(a, s) return a:scatter_add(1, ml.tensor({ { 3, 1, 3, 2 } }, L64), s) end,
  { rn({ 3, 4 }), rn({ 1, 4 }) })
check("masked_select", function(a) return a:masked_select(cond) end, { rn({ 3, 4 }) })
check("masked_select broadcast mask", function(a) return a:masked_select(ml.tensor({ true, false, false, true })) end,
  { rn({ 3, 4 }) })
check("masked_fill", function(a) return a:masked_fill(cond, 2.5) end, { rn({ 3, 4 }) })
check("masked_fill broadcast mask", function(a) return a:masked_fill(ml.tensor({ { true }, { false }, { true } }), -1) end,
  { rn({ 3, 4 }) })
check("cat dim 1", function(a, b) return ml.cat({ a, b }, 1) end, { rn({ 2, 4 }), rn({ 3, 4 }) })
check("cat dim 2 (an input twice)", function(a, b) return ml.cat({ a, b, a }, 2) end, { rn({ 3, 2 }), rn({ 3, 4 }) })
check("cat of views", function(a) return ml.cat({ a:t(), a:narrow(1, 1, 2):t() }, 2) end, { rn({ 3, 4 }) })
check("stack dim 1", function(a, b) return ml.stack({ a, b }, 1) end, { rn({ 3, 4 }), rn({ 3, 4 }) })
check("stack dim 3", function(a, b) return ml.stack({ a, b }, 3) end, { rn({ 3, 4 }), rn({ 3, 4 }) })
check("split", function(a) return a:split(2, 2) end, { rn({ 3, 5 }) })
check("split sizes", function(a) return a:split({ 1, 3, 1 }, 2) end, { rn({ 3, 5 }) })
check("split one piece used", function(a) return a:split(2, 1)[2] * 2 end, { rn({ 5, 3 }) })
check("chunk", function(a) return a:chunk(2, 1) end, { rn({ 5, 3 }) })
check("sort values", function(a) return (a:sort(2)) end, { rn({ 3, 5 }) })
check("sort values dim 1 descending", function(a) return (a:sort(1, { descending = true })) end, { rn({ 3, 5 }) })
check("topk values", function(a) return (a:topk(2)) end, { rn({ 3, 5 }) })
check("topk values dim 1 smallest", function(a) return (a:topk(2, 1, { largest = false })) end, { rn({ 3, 5 }) })

-- a composite: a small MLP with a softmax cross-entropy written from ops
check("composite MLP loss", function(x, w1, b1, w2)
  local h = ml.addmm(b1, x, w1):tanh()
  local logits = ml.matmul(h, w2)
  local onehot = f64({ { 1, 0, 0 }, { 0, 0, 1 }, { 0, 1, 0 }, { 0, 0, 1 } })
  return -(logits:log_softmax(2) * onehot):sum() / 4 + (w1 * w1):sum() * 1e-2
end, { rn({ 4, 3 }), rn({ 3, 5 }), rn({ 5 }), rn({ 5, 3 }) })

-- ---- the tape ---------------------------------------------------------
T.test("reuse of a non-leaf: y = x*x; z = y + y*y", function()
  local x = f64({ 0.5, -1.5, 2 }):requires_grad()
  local y = x * x
  local z = y + y * y
  z:sum():backward()
  -- dz/dx = (1 + 2y) * 2x
  T.all_near(x.grad, { (1 + 2 * 0.25) * 1, (1 + 2 * 2.25) * -3, (1 + 2 * 4) * 4 }, 1e-12)
  gradcheck(function(a) local b = a * a; return b + b * b end, { rn({ 3 }) })
end)

T.test("gradients accumulate over two backward calls", function()
  local x = f64({ 1, 2, 3 }):requires_grad()
  ;(x * x):sum():backward()
  T.all_near(x.grad, { 2, 4, 6 }, 1e-12)
  ;(x * 3):sum():backward()
  T.all_near(x.grad, { 5, 7, 9 }, 1e-12)
  x:zero_grad()
  T.eq(x.grad, nil)
  ;(x * 3):sum():backward()
  T.all_near(x.grad, { 3, 3, 3 }, 1e-12)
end)

T.test("backward with an explicit gradient tensor", function()
  local x = f64({ { 1, 2 }, { 3, 4 } }):requires_grad()
  local y = x * x
  y:backward(f64({ { 1, 0.5 }, { -1, 2 } }))
  T.all_near(x.grad, { { 2, 2 }, { -6, 16 } }, 1e-12)
  T.raises(function() (x * 2):backward() end, "backward")
  T.raises(function() (x * 2):backward(f64({ 1, 2 })) end, "shape")
end)

T.test("backward twice through a freed graph raises; retain_graph works", function()
  local x = f64({ 1, 2, 3 }):requires_grad()
  local y = (x:exp() * x):sum()
  y:backward()
  T.raises(function() y:backward() end, "freed")
  local z = (x:exp() * x):sum()
  x:zero_grad()
  z:backward({ retain_graph = true })
  local g1 = x.grad:clone()
  z:backward()
  T.all_near(x.grad, g1 * 2, 1e-12)
end)

T.test("broadcast gradients reduce to the input's shape", function()
  local a = rn({ 3, 1 }):requires_grad()
  local b = rn({ 4 }):requires_grad()
  local c = f64(2.0):requires_grad()
  local d = rn({ 1, 1, 4 }):requires_grad()
  ;(a * b + c + d):sum():backward()
  T.eq(table.concat(a.grad:shape(), ","), "3,1")
  T.eq(table.concat(b.grad:shape(), ","), "4")
  T.eq(c.grad:dim(), 0)
  T.eq(table.concat(d.grad:shape(), ","), "1,1,4")
  T.all_near(a.grad, ml.ones(3, 1, D) * b:detach():sum(), 1e-12)
  T.all_near(b.grad, ml.ones(4, D) * a:detach():sum(), 1e-12)
  T.near(c.grad:item(), 12, 1e-12)
  T.all_near(d.grad, ml.ones(1, 1, 4, D) * 3, 1e-12)
end)

T.test("detach stops gradients", function()
  local x = f64({ 1, 2 }):requires_grad()
  local d = x:detach()
  T.eq(d:is_requires_grad(), false)
  T.ok(d:is_leaf())
  local y = (x * d):sum()
  y:backward()
  T.all_near(x.grad, { 1, 2 }, 1e-12)
  -- detach shares storage
  ml.no_grad(function() x[1] = 5 end)
  T.eq(d[1], 5)
  T.raises(function() (d * 2):sum():backward() end, "does not require grad")
end)

T.test("no_grad records nothing", function()
  local x = f64({ 1, 2 }):requires_grad()
  local y, extra = ml.no_grad(function() return (x * x):exp():sum(), 7 end)
  T.eq(extra, 7)
  T.eq(y:is_requires_grad(), false)
  T.eq(y.grad_fn, nil)
  T.ok(y:is_leaf())
  T.eq(ml.is_grad_enabled(), true)
  T.raises(function() y:backward() end, "does not require grad")
  -- grad mode comes back after an error inside no_grad
  pcall(ml.no_grad, function() error("boom") end)
  T.eq(ml.is_grad_enabled(), true)
  local z = ml.no_grad(function() return ml.enable_grad(function() return x * 2 end) end)
  T.eq(z:is_requires_grad(), true)
end)

T.test("modifying a saved tensor in place then backward errors", function()
  local x = f64({ 1, 2, 3 }):requires_grad()
  local y = x * 2
  local z = (y * y):sum() -- saves y
  ml.no_grad(function() y:mul_(3) end)
  T.raises(function() z:backward() end, "modified in place")
  -- a saved leaf
  local a = f64({ 1, 2, 3 }):requires_grad()
  local b = (a:exp()):sum() -- exp saves its output; mul saves a
  local c = (a * a):sum()
  ml.no_grad(function() a[2] = 7 end)
  T.raises(function() c:backward() end, "modified in place")
end)

T.test("in-place on a tensor requiring grad is refused under grad mode", function()
  local x = f64({ 1, 2, 3 }):requires_grad()
  T.raises(function() x[1] = 2 end, "requires grad")
  T.raises(function() x:add_(1) end, "")
end)

T.test("to float32 and back: gradient dtype follows the input", function()
  local x = f64({ 1, 2, 3 }):requires_grad()
  local y = x:to("float32") * ml.tensor({ 0.5, 2, -1 })
  T.eq(y:dtype(), "float32")
  y:sum():backward()
  T.eq(x.grad:dtype(), "float64")
  T.all_near(x.grad, { 0.5, 2, -1 }, 1e-12)
  local w = ml.tensor({ 1, 2, 3 }, { dtype = "float32" }):requires_grad()
  ;(w:double() * f64({ 0.25, 0.5, 4 })):sum():backward()
  T.eq(w.grad:dtype(), "float32")
  T.all_near(w.grad, { 0.25, 0.5, 4 }, 1e-7)
end)

T.test("float32 gradients of a float32 graph", function()
  local x = ml.tensor({ { 0.5, -1 }, { 2, 0.25 } }):requires_grad()
  local y = (x:exp() * x):sum()
  y:backward()
  T.eq(x.grad:dtype(), "float32")
  local xs = { 0.5, -1, 2, 0.25 }
  local want = {}
  for i, v in ipairs(xs) do want[i] = math.exp(v) * (1 + v) end
  T.all_near(x.grad:reshape(-1), want, 1e-6)
end)

T.test("gradcheck catches a wrong gradient", function()
  T.raises(function() gradcheck(function(a) return a * a:detach() end, { rn({ 3 }) }) end, "gradcheck: error")
  T.raises(function() gradcheck(function(a) return a end, { ml.randn(3) }) end, "no float64 input")
end)

-- ---- gradients at special points, as PyTorch defines them -----------------
local function grad_of(f, values)
  local x = f64(values):requires_grad()
  f(x):sum():backward()
  return x.grad
end

T.test("gradients at kinks follow PyTorch", function()
  T.all_near(grad_of(function(x) return x:relu() end, { 0, -1, 2 }), { 0, 0, 1 }, 0)
  T.all_near(grad_of(function(x) return x:abs() end, { 0, -1, 2 }), { 0, -1, 1 }, 0)
  T.all_near(grad_of(function(x) return x:leaky_relu(0.1) end, { 0, -1, 2 }), { 0.1, 0.1, 1 }, 0)
  T.all_near(grad_of(function(x) return x:clamp(-1, 1) end, { -1, 1, 2, -2, 0 }), { 1, 1, 0, 0, 1 }, 0)
  T.all_near(grad_of(function(x) return x:maximum(f64({ 1, 1 })) end, { 1, 2 }), { 0.5, 1 }, 0)
  T.all_near(grad_of(function(x) return x:minimum(f64({ 1, 1 })) end, { 1, 2 }), { 0.5, 0 }, 0)
  T.all_near(grad_of(function(x) return x ^ 2 end, { 0 }), { 0 }, 0)
  T.all_near(grad_of(function(x) return x:prod() end, { 0, 0, 2 }), { 0, 0, 0 }, 0)
  T.all_near(grad_of(function(x) return x:prod() end, { 0, 3, 2 }), { 6, 0, 0 }, 0)
end)

T.test("norm at the zero vector has gradient 0 (PyTorch), not NaN", function()
  T.all_near(grad_of(function(x) return x:norm() end, { 0, 0, 0 }), { 0, 0, 0 }, 0)
  T.all_near(grad_of(function(x) return x:norm(3) end, { 0, 0, 0 }), { 0, 0, 0 }, 0)
  T.all_near(grad_of(function(x) return x:norm(2, 2) end, { { 0, 0 }, { 3, 4 } }), { { 0, 0 }, { 0.6, 0.8 } }, 1e-15)
end)

T.test("std of a constant has gradient 0 (PyTorch), not NaN", function()
  T.all_near(grad_of(function(x) return x:std() end, { 5, 5, 5 }), { 0, 0, 0 }, 0)
  T.all_near(grad_of(function(x) return x:std(2) end, { { 5, 5 }, { 1, 3 } }), { { 0, 0 }, { -0.5 ^ 0.5, 0.5 ^ 0.5 } }, 1e-15)
end)

T.test("softmax with -inf entries: finite values and gradients", function()
  local x = f64({ -math.huge, 0, 1 }):requires_grad()
  local y = x:softmax(1)
  T.near(y[1], 0, 0)
  T.near(y[2] + y[3], 1, 1e-15)
  ;(y * f64({ 1, 2, 3 })):sum():backward()
  T.eq(x.grad[1], 0)
  T.ok(x.grad[2] == x.grad[2] and x.grad[3] == x.grad[3], "no NaN")
end)
