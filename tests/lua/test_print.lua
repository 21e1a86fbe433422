-- tostring(t), t:tolist(), t:item(), ml.set_printoptions.

local function f32(x) return ml.tensor(x, {dtype = "float32"}) end

-- Runs fn with print options set, restoring the previous ones even on error.
local function with_opts(opts, fn)
  local old = ml.set_printoptions(opts)
  local ok, err = pcall(fn)
  ml.set_printoptions(old)
  if not ok then error(err, 0) end
end

-- ---- tostring ------------------------------------------------------------

T.test("print: float32 2x3, fixed with 4 decimals, aligned", function()
  local t = f32({{0.1234, -1.5, 2}, {3, 4, 5}})
  T.eq(tostring(t), "tensor([[ 0.1234, -1.5000,  2.0000],\n" ..
                    "        [ 3.0000,  4.0000,  5.0000]], dtype=float32, shape=[2,3])")
end)

T.test("print: integer-valued floats print as '1.'", function()
  T.eq(tostring(f32({1, 2, 3})), "tensor([1., 2., 3.], dtype=float32, shape=[3])")
  T.eq(tostring(f32({-1, 20, 0})), "tensor([-1., 20.,  0.], dtype=float32, shape=[3])")
  T.eq(tostring(f32({0, 0})), "tensor([0., 0.], dtype=float32, shape=[2])")
end)

T.test("print: float64", function()
  T.eq(tostring(ml.tensor({0.5, 0.25}, {dtype = "float64"})), "tensor([0.5000, 0.2500], dtype=float64, shape=[2])")
end)

T.test("print: int64", function()
  local t = ml.tensor({{1, -20}, {300, 4}}, {dtype = "int64"})
  T.eq(tostring(t), "tensor([[  1, -20],\n" ..
                    "        [300,   4]], dtype=int64, shape=[2,2])")
end)

T.test("print: bool as true/false", function()
  local t = ml.tensor({true, false, true}, {dtype = "bool"})
  T.eq(tostring(t), "tensor([ true, false,  true], dtype=bool, shape=[3])")
end)

T.test("print: 0-d", function()
  T.eq(tostring(f32(3.5)), "tensor(3.5000, dtype=float32, shape=[])")
  T.eq(tostring(ml.tensor(7, {dtype = "int64"})), "tensor(7, dtype=int64, shape=[])")
end)

T.test("print: empty", function()
  T.eq(tostring(f32({})), "tensor([], dtype=float32, shape=[0])")
  T.eq(tostring(f32({}):reshape(0, 3)), "tensor([], dtype=float32, shape=[0,3])")
end)

T.test("print: nan and inf", function()
  T.eq(tostring(f32({0 / 0, 1 / 0, -1 / 0, 1})), "tensor([ nan,  inf, -inf,   1.], dtype=float32, shape=[4])")
  T.eq(tostring(f32({0 / 0, 1.5})), "tensor([   nan, 1.5000], dtype=float32, shape=[2])")
  T.eq(tostring(f32(-(0 / 0))), "tensor(nan, dtype=float32, shape=[])")
end)

T.test("print: scientific for large ratios, large or tiny values", function()
  T.eq(tostring(f32({1e10, 1, 2})), "tensor([1.0000e+10, 1.0000e+00, 2.0000e+00], dtype=float32, shape=[3])")
  T.eq(tostring(f32({1e-5, 0.5})), "tensor([1.0000e-05, 5.0000e-01], dtype=float32, shape=[2])")
  T.eq(tostring(f32({-0.5, 2000})), "tensor([-5.0000e-01,  2.0000e+03], dtype=float32, shape=[2])")
  -- ratio of exactly 1000 stays fixed
  T.eq(tostring(f32({1, 1000})), "tensor([   1., 1000.], dtype=float32, shape=[2])")
end)

T.test("print: 3-d separates blocks with a blank line", function()
  local t = f32({{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}})
  T.eq(tostring(t), "tensor([[[1., 2.],\n" ..
                    "         [3., 4.]],\n" ..
                    "\n" ..
                    "        [[5., 6.],\n" ..
                    "         [7., 8.]]], dtype=float32, shape=[2,2,2])")
end)

T.test("print: long rows wrap at linewidth", function()
  local v = {}
  for i = 1, 20 do v[i] = i / 8 end
  local s = tostring(f32(v))
  T.eq(s, "tensor([0.1250, 0.2500, 0.3750, 0.5000, 0.6250, 0.7500, 0.8750, 1.0000, 1.1250,\n" ..
          "        1.2500, 1.3750, 1.5000, 1.6250, 1.7500, 1.8750, 2.0000, 2.1250, 2.2500,\n" ..
          "        2.3750, 2.5000], dtype=float32, shape=[20])")
  for line in s:gmatch("[^\n]+") do T.ok(#line <= 80, "line longer than 80: " .. line) end
end)

T.test("print: summarized 1-d shows edge items", function()
  local v = {}
  for i = 1, 2000 do v[i] = i end
  T.eq(tostring(ml.tensor(v, {dtype = "int64"})),
       "tensor([   1,    2,    3,  ..., 1998, 1999, 2000], dtype=int64, shape=[2000])")
end)

T.test("print: 100x100 is truncated and stays short", function()
  local rows = {}
  for i = 1, 100 do
    local r = {}
    for j = 1, 100 do r[j] = (i - 1) * 100 + j end
    rows[i] = r
  end
  local s = tostring(f32(rows))
  T.ok(#s < 1000, "printed " .. #s .. " characters")
  T.ok(s:find("...", 1, true), "no '...'")
  local lines = {}
  for line in s:gmatch("[^\n]+") do lines[#lines + 1] = line end
  T.eq(lines[1], "tensor([[1.0000e+00, 2.0000e+00, 3.0000e+00,  ..., 9.8000e+01, 9.9000e+01,")
  T.eq(lines[7], "        ...,")
  T.eq(lines[#lines], "         1.0000e+04]], dtype=float32, shape=[100,100])")
  T.eq(#lines, 13)
end)

T.test("print: views print their own elements", function()
  local t = f32({{1, 2, 3}, {4, 5, 6}})
  if t.transpose then
    T.eq(tostring(t:transpose(1, 2)), "tensor([[1., 4.],\n" ..
                                      "        [2., 5.],\n" ..
                                      "        [3., 6.]], dtype=float32, shape=[3,2])")
  end
  if t.narrow then
    T.eq(tostring(t:narrow(2, 2, 2)), "tensor([[2., 3.],\n" ..
                                      "        [5., 6.]], dtype=float32, shape=[2,2])")
  end
end)

T.test("print: requires_grad and grad_fn markers", function()
  local x = f32({1, 2})
  if not x.requires_grad then return end
  x:requires_grad()
  T.eq(tostring(x), "tensor([1., 2.], dtype=float32, shape=[2], requires_grad=true)")
  local ok, y = pcall(function() return x * 2 end)
  if ok then
    local s = tostring(y)
    T.ok(s:find(", grad_fn=<", 1, true), s)
    T.ok(not s:find("requires_grad", 1, true), s)
  end
end)

T.test("print: tostring of a freed tensor does not crash", function()
  local t = f32({1})
  local mt = getmetatable(t)
  if mt.__close then
    mt.__close(t)
    T.eq(tostring(t), "tensor(<freed>)")
  end
end)

-- ---- set_printoptions ------------------------------------------------------

T.test("set_printoptions: precision, sci_mode, restore", function()
  local t = f32({{0.1234, -1.5, 2}, {3, 4, 5}})
  with_opts({precision = 2}, function()
    T.eq(tostring(t), "tensor([[ 0.12, -1.50,  2.00],\n" ..
                      "        [ 3.00,  4.00,  5.00]], dtype=float32, shape=[2,3])")
  end)
  with_opts({sci_mode = true, precision = 1}, function()
    T.eq(tostring(f32({1, 2})), "tensor([1.0e+00, 2.0e+00], dtype=float32, shape=[2])")
  end)
  with_opts({sci_mode = false}, function()
    T.eq(tostring(f32({1e-5, 0.5})), "tensor([0.0000, 0.5000], dtype=float32, shape=[2])")
  end)
  T.eq(tostring(f32({1, 2})), "tensor([1., 2.], dtype=float32, shape=[2])")
  local cur = ml.set_printoptions()
  T.eq(cur.precision, 4); T.eq(cur.edgeitems, 3); T.eq(cur.threshold, 1000)
  T.eq(cur.linewidth, 80); T.eq(cur.sci_mode, "auto")
end)

T.test("set_printoptions: threshold and edgeitems", function()
  with_opts({threshold = 3, edgeitems = 1}, function()
    T.eq(tostring(ml.tensor({1, 2, 3, 4}, {dtype = "int64"})), "tensor([1,  ..., 4], dtype=int64, shape=[4])")
  end)
  with_opts({threshold = math.huge}, function()
    local v = {}
    for i = 1, 2000 do v[i] = i end
    T.ok(not tostring(ml.tensor(v, {dtype = "int64"})):find("...", 1, true))
  end)
  with_opts({profile = "short"}, function()
    T.eq(tostring(f32({0.125})), "tensor([0.12], dtype=float32, shape=[1])")
  end)
end)

T.test("set_printoptions: bad options are errors", function()
  T.raises(function() ml.set_printoptions{x = 1} end, "ml.set_printoptions: unknown option 'x'")
  T.raises(function() ml.set_printoptions{precision = -1} end, "ml.set_printoptions: option 'precision'")
  T.raises(function() ml.set_printoptions{precision = 1.5} end, "ml.set_printoptions: option 'precision'")
  T.raises(function() ml.set_printoptions{sci_mode = 1} end, "ml.set_printoptions: option 'sci_mode'")
  T.raises(function() ml.set_printoptions{profile = "long"} end, "ml.set_printoptions: profile")
  T.eq(ml.set_printoptions().precision, 4)
end)

-- ---- tolist / item ---------------------------------------------------------

T.test("tolist: float, int64, bool, 0-d", function()
  local l = f32({{1.5, 2}, {3, 4}}):tolist()
  T.eq(#l, 2); T.eq(#l[1], 2)
  T.eq(l[1][1], 1.5); T.eq(l[2][2], 4.0)
  T.eq(math.type(l[2][2]), "float")
  local li = ml.tensor({{1, 2, 3}, {4, 5, 6}}, {dtype = "int64"}):tolist()
  T.eq(li[2][3], 6); T.eq(math.type(li[2][3]), "integer")
  local lb = ml.tensor({true, false}, {dtype = "bool"}):tolist()
  T.eq(lb[1], true); T.eq(lb[2], false)
  T.eq(f32(2.5):tolist(), 2.5)
  T.eq(ml.tensor(9, {dtype = "int64"}):tolist(), 9)
  T.eq(#f32({}):tolist(), 0)
end)

T.test("tolist: round trip through ml.tensor", function()
  local src = {{{0.5, -1}, {2, 3}}, {{4, 5}, {6, 7.25}}}
  local back = f32(src):tolist()
  T.eq(#back, 2)
  for i = 1, 2 do for j = 1, 2 do for k = 1, 2 do T.eq(back[i][j][k], src[i][j][k]) end end end
  local again = ml.tensor(back, {dtype = "float64"}):tolist()
  T.eq(again[2][2][2], 7.25)
  local big = ml.tensor({9007199254740993}, {dtype = "int64"}):tolist()
  T.eq(big[1], 9007199254740993, "int64 keeps every bit")
end)

T.test("tolist: views read through strides", function()
  local t = f32({{1, 2, 3}, {4, 5, 6}})
  if t.transpose then
    local l = t:transpose(1, 2):tolist()
    T.eq(#l, 3); T.eq(l[1][2], 4.0); T.eq(l[3][1], 3.0)
  end
end)

T.test("item: single element, any shape", function()
  T.eq(f32(3.5):item(), 3.5)
  T.eq(f32({{2}}):item(), 2.0)
  local i = ml.tensor({7}, {dtype = "int64"}):item()
  T.eq(i, 7); T.eq(math.type(i), "integer")
  T.eq(ml.tensor({true}, {dtype = "bool"}):item(), true)
end)

T.test("item: errors on more than one element", function()
  local t = f32({{1, 2, 3}, {4, 5, 6}})
  T.raises(function() t:item() end, "item: tensor has 6 elements, expected 1")
  T.raises(function() f32({}):item() end, "item: tensor has 0 elements, expected 1")
end)
