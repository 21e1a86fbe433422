-- Core tensor behaviour: views share storage, broadcasting, dtypes,
-- reductions, matmul, indexing.
local t = ml.tensor

T.test("views share storage and never copy", function()
  local a = ml.arange(12):reshape(3, 4)
  local v = a:transpose(1, 2)
  T.eq(v:is_contiguous(), false)
  a[1] = 100                       -- row 1 of a is column 1 of v
  T.all_near(v:select(2, 1), {100, 100, 100, 100})
  local n = a:narrow(2, 2, 2)
  T.all_near(n:shape(), {3, 2})
  n[2] = 7
  T.all_near(a[2], {4, 7, 7, 7})
  local e = t({1, 2, 3}):unsqueeze(1):expand(4, 3)
  T.all_near(e:stride(), {0, 1})
  T.all_near(e:sum(1), {4, 8, 12})
  T.all_near(a:permute(2, 1):shape(), {4, 3})
  T.all_near(t({{{1}}, {{2}}}):squeeze():shape(), {2})
end)

T.test("stride() prints and compares as shape() does", function()
  local x = ml.zeros(2, 3)
  T.eq(tostring(x:stride()), "[3, 1]")
  T.eq(tostring(x:t():stride()), "[1, 3]")
  T.eq(tostring(ml.tensor(1):stride()), "[]")
  T.ok(x:stride() == x:t():t():stride())
  T.eq(getmetatable(x:stride()), getmetatable(x:shape()))
  T.eq(#x:stride(), 2)
  T.eq(x:stride(1), 3)
end)

T.test("reshape views when strides allow and copies otherwise", function()
  local a = ml.arange(24):reshape(2, 3, 4)
  local b = a:reshape(6, 4)
  b[1] = 0
  T.eq(a[1][1][1], 0)                     -- a view: the write shows through
  local c = a:transpose(2, 3):reshape(2, 12)  -- not expressible as a view: a copy
  T.all_near(c[1], {0, 4, 8, 0, 5, 9, 0, 6, 10, 0, 7, 11})
  T.raises(function() a:transpose(2, 3):view(2, 12) end, "view")
  T.all_near(a:reshape(-1, 6):shape(), {4, 6})
  T.raises(function() a:reshape(5, -1) end, "reshape: cannot reshape tensor of shape [2,3,4]")
end)

T.test("broadcasting follows NumPy", function()
  local a = t({{1}, {2}, {3}})     -- [3,1]
  local b = t({10, 20})            -- [2]
  T.all_near(a + b, {{11, 21}, {12, 22}, {13, 23}})
  T.all_near(2 - b, {-8, -18})
  T.all_near(b / 4, {2.5, 5})
  T.all_near(-(a * 2), {{-2}, {-4}, {-6}})
  T.raises(function() return ml.zeros(2, 3) + ml.zeros(4) end, "cannot be broadcast")
end)

T.test("dtype promotion", function()
  T.eq((t({1, 2}) + t({1.5, 2})):dtype(), "float32")
  T.eq((t({1, 2}) + 1):dtype(), "int64")
  T.eq((t({1, 2}) / 2):dtype(), "float32")
  T.eq((t({1, 2}, {dtype = "float64"}) * t({1.0, 2.0})):dtype(), "float64")
  T.eq(t({1, 2}):lt(2):dtype(), "bool")
  T.all_near(t({true, false}):to("float32"), {1, 0})
  T.all_near(t({1.7, -1.7}):long(), {1, -1})
end)

T.test("unary math", function()
  local x = t({-1.0, 0.0, 2.0})
  T.all_near(x:relu(), {0, 0, 2})
  T.all_near(x:abs(), {1, 0, 2})
  T.all_near(x:exp(), {math.exp(-1), 1, math.exp(2)}, 1e-6)
  T.all_near(x:sigmoid(), {1 / (1 + math.exp(1)), 0.5, 1 / (1 + math.exp(-2))}, 1e-6)
  T.all_near(x:clamp(-0.5, 1), {-0.5, 0, 1})
  T.all_near(x:clamp(nil, 1), {-1, 0, 1})
  T.all_near(x:gelu(), {-0.15865525, 0, 1.9544997}, 1e-6)
  T.all_near(t({0.0 / 0.0, 1 / 0, 1}):isnan(), {true, false, false})
  T.all_near(t({0.0 / 0.0, 1 / 0, 1}):isinf(), {false, true, false})
end)

T.test("reductions", function()
  local a = t({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}})
  T.near(a:sum():item(), 21)
  T.all_near(a:sum(1), {5, 7, 9})
  T.all_near(a:sum(2, true), {{6}, {15}})
  T.all_near(a:mean(-1), {2, 5})
  T.all_near(a:prod(2), {6, 120})
  local v, i = a:max(2)
  T.all_near(v, {3, 6}); T.all_near(i, {3, 3})
  T.all_near(a:argmin(1), {1, 1, 1})
  T.near(a:var():item(), 3.5)
  T.near(a:std(nil, {unbiased = false}):item(), math.sqrt(35 / 12), 1e-6)
  T.near(a:norm():item(), math.sqrt(91), 1e-6)
  T.all_near(a:cumsum(2), {{1, 3, 6}, {4, 9, 15}})
  T.all_near(t({1000.0, 1000.0}):logsumexp(1), 1000 + math.log(2), 1e-6)
  local s = t({{1000.0, 0.0}}):softmax(2)
  T.all_near(s, {{1, 0}})
  T.near(t({{1000.0, 0.0}}):log_softmax(2)[1][2], -1000, 1e-6)
end)

T.test("float32 sums accumulate accurately", function()
  local x = ml.full({1000000}, 0.1)
  T.near(x:sum():item(), 100000, 1e-6)
end)

T.test("matmul: 2-D, batched, vectors, transposed operands", function()
  local a = t({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}})
  local b = t({{1.0, 0.0, 2.0}, {0.0, 1.0, 3.0}})
  T.all_near(a:matmul(b), {{1, 2, 8}, {3, 4, 18}, {5, 6, 28}})
  T.all_near(a:t():matmul(a), {{35, 44}, {44, 56}})        -- Trans operand
  T.all_near(a:matmul(a:t()), {{5, 11, 17}, {11, 25, 39}, {17, 39, 61}})
  T.all_near(a:matmul(t({1.0, 1.0})), {3, 7, 11})          -- matrix-vector
  T.all_near(t({1.0, 1.0, 1.0}):matmul(a), {9, 12})         -- vector-matrix
  T.near(ml.dot(t({1.0, 2.0}), t({3.0, 4.0})):item(), 11)
  T.all_near(ml.outer(t({1.0, 2.0}), t({3.0, 4.0})), {{3, 4}, {6, 8}})
  local batch = ml.stack and ml.stack({a, a * 2}) or a:unsqueeze(1):expand(2, 3, 2):contiguous()
  T.all_near(batch:matmul(b):shape(), {2, 3, 3})
  T.all_near(ml.addmm(t({1.0, 1.0, 1.0}), a, b, {beta = 2}), {{3, 4, 10}, {5, 6, 20}, {7, 8, 30}})
  T.raises(function() ml.matmul(ml.zeros(3, 4), ml.zeros(5, 2)) end,
    "matmul: shapes [3,4] and [5,2] do not align (4 vs 5)")
end)

T.test("indexing is 1-based and checked", function()
  local a = t({{1, 2}, {3, 4}})
  T.eq(a[2][1], 3)
  T.eq(a[-1][-1], 4)
  T.raises(function() return a[3] end, "out of range")
  a[1] = t({9, 8})
  T.all_near(a, {{9, 8}, {3, 4}})
  a[2] = 0
  T.all_near(a, {{9, 8}, {0, 0}})
  T.eq(#a, 2)
end)

T.test("in-place ops refuse tensors that require grad", function()
  local w = ml.zeros(3):requires_grad()
  T.raises(function() w:add_(1) end, "in place")
  ml.no_grad(function() w:add_(1) end)
  T.all_near(w, {1, 1, 1})
end)

T.test("autograd basics", function()
  local x = t({1.0, 2.0, 3.0}):requires_grad()
  local y = (x * x + x * 3):sum()
  y:backward()
  T.all_near(x.grad, {5, 7, 9})
  T.eq(x.grad, x.grad)       -- the same Lua object each time
  y = (x * 2):sum()
  y:backward()               -- gradients accumulate
  T.all_near(x.grad, {7, 9, 11})
  x:zero_grad()
  T.eq(x.grad, nil)
  local z = (x:exp()):sum()
  z:backward()
  T.raises(function() z:backward() end, "freed")
  local b = ml.zeros(3):requires_grad()
  local m = ml.ones(2, 3)
  ;(m + b):sum():backward()
  T.all_near(b.grad, {2, 2, 2})   -- broadcast gradient reduced to b's shape
  T.eq(ml.no_grad(function() return (x * 2).grad_fn end), nil)
  T.eq((x * 2).grad_fn, "mul")
end)

T.test("max and min over everything share the gradient among ties (PyTorch)", function()
  local x = t({1.0, 3.0, 3.0, 2.0}):requires_grad()
  x:max():backward()
  T.all_near(x.grad, {0, 0.5, 0.5, 0})
  local y = t({{1.0, 3.0}, {3.0, 2.0}}):requires_grad()
  y:max(2):sum():backward()          -- along a dim: the first maximum takes it all
  T.all_near(y.grad, {{0, 1}, {1, 0}})
  local z = t({-3.0, 3.0, 1.0}):requires_grad()
  z:norm(math.huge):backward()
  T.all_near(z.grad, {-0.5, 0.5, 0})
  local w = t({2.0, -1.0, -1.0}):requires_grad()
  w:min():backward()
  T.all_near(w.grad, {0, 0.5, 0.5})
end)

-- A node that held its own output would be a refcount cycle: the graph and
-- every tensor it saved would outlive the Lua objects. Live tensor bytes
-- must come back after each op's graph is dropped.
T.test("graphs of every op are freed when their tensors are dropped", function()
  local ops = {
    function(x) return x:max() end, function(x) return x:min() end, function(x) return x:max(2) end,
    function(x) return x:sum() end, function(x) return x:mean(1) end, function(x) return x:prod() end,
    function(x) return x:var() end, function(x) return x:std() end, function(x) return x:norm() end,
    function(x) return x:norm(math.huge) end, function(x) return x:norm(3) end,
    function(x) return x:logsumexp(2) end, function(x) return x:softmax(2) end,
    function(x) return x:log_softmax(2) end, function(x) return x:cumsum(1) end,
    function(x) return x:exp() end, function(x) return x:tanh() end, function(x) return x:sigmoid() end,
    function(x) return x:sqrt() end, function(x) return x:relu() end, function(x) return x:clamp(0, 1) end,
    function(x) return x * x end, function(x) return x / (x + 2) end, function(x) return x ^ 2 end,
    function(x) return x:matmul(x:t()) end, function(x) return x:t():contiguous() end,
    function(x) return x:reshape(-1) end, function(x) return x:narrow(1, 1, 2) end,
    function(x) return x:sort(2) end, function(x) return x:topk(2) end,
    function(x) return ml.cat({x, x}, 1) end, function(x) return x:index_select(1, {1, 2}) end,
    function(x) return x:double() end,
  }
  collectgarbage(); collectgarbage()
  local base = ml.memory_stats().live
  for i, op in ipairs(ops) do
    for _, backward in ipairs({false, true}) do -- backward frees saved tensors; a graph never run must free too
      do
        local x = (ml.rand(3, 4) + 1):requires_grad()
        local y = op(x)
        if backward then y:sum():backward() end
      end
      collectgarbage(); collectgarbage()
      T.eq(ml.memory_stats().live, base, "op " .. i .. (backward and " (after backward)" or " (no backward)") .. " left tensor bytes alive")
    end
  end
end)

T.test("add and sub take PyTorch's alpha; other binary ops refuse a third argument", function()
  local a = ml.tensor { 1, 2 }
  T.all_near(a:add(ml.tensor { 1, 1 }, 10), ml.tensor { 11, 12 }, 0)
  T.all_near(ml.sub(a, ml.tensor { 1, 1 }, 10), ml.tensor { -9, -8 }, 0)
  T.all_near(a:add(3, 2), ml.tensor { 7, 8 }, 0)
  T.all_near(ml.add(3, a, 2), ml.tensor { 5, 7 }, 0)
  T.raises(function() a:mul(a, 3) end, "mul: takes two operands")
  T.raises(function() a:add(a, "x") end, "add: argument #3 (alpha) must be a number")
  local w = ml.tensor({ 1.0, 2.0 }, { requires_grad = true })
  ml.add(w, w, 3):sum():backward()
  T.all_near(w.grad, ml.tensor { 4, 4 }, 0)
end)
