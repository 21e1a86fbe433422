-- lualib/moonlab/core: the one class system, the checks and the formatters.
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"

T.test("core.class: extend, constructor, inheritance, registry, tostring", function()
  local A = class.Object:extend("test.A")
  function A:init(x) self.x = x end
  function A:extra_repr() return "x=" .. tostring(self.x) end
  function A:double() return 2 * self.x end
  local B = A:extend("test.B")
  local b = B(21)
  T.eq(b:double(), 42)
  T.eq(tostring(b), "test.B(x=21)")
  T.eq(tostring(B), "test.B")
  T.ok(b:is_a(A) and b:is_a(B) and b:is_a(class.Object))
  T.ok(not A(1):is_a(B))
  T.eq(class.get("test.B"), B)
  T.eq(class.name_of(b), "test.B")
  T.ok(class.is_class(B) and not class.is_class(b))
  T.ok(class.is_instance(b, A))
  T.eq(B.super, A)
  T.raises(function() A:extend(3) end, "expected a class name string")
end)

T.test("core.class: metamethods are inherited by subclasses", function()
  local A = class.Object:extend("test.M")
  A.__len = function() return 7 end
  local B = A:extend("test.M2")
  T.eq(#B(), 7)
end)

T.test("core.checks: options refuse unknown keys, list the known ones and suggest the closest", function()
  T.raises(function() checks.options("f", { lrate = 1 }, { "lr", "betas" }) end,
    "f: unknown option 'lrate' (known: lr, betas); did you mean 'lr'?")
  T.raises(function() checks.options("f", { epoch = 1 }, { "epochs", "batch_size" }, true) end,
    "f: unknown option 'epoch' (known: batch_size, epochs); did you mean 'epochs'?")
  local ok, err = pcall(checks.options, "f", { zzzz = 1 }, { "lr" })
  T.ok(not ok and not err:find("did you mean", 1, true), err)
  T.raises(function() checks.options("f", 3, {}) end, "f: options must be a table, got number")
  T.eq(next(checks.options("f", nil, {})), nil)
end)

T.test("core.checks: suggest finds typos, swaps and prefixes, and nothing for unrelated names", function()
  T.eq(checks.suggest("gama", { "step_size", "gamma" }), "gamma")
  T.eq(checks.suggest("monitr", { "monitor", "mode" }), "monitor")
  T.eq(checks.suggest("cross_entorpy", { "mse", "cross_entropy" }), "cross_entropy")
  T.eq(checks.suggest("Accuracy", { "accuracy", "mae" }), "accuracy")
  T.eq(checks.suggest("zzz", { "lr", "momentum" }), nil)
end)

T.test("core.checks: fail raises at the user's line; reraise keeps user positions", function()
  local ok, err = pcall(function() checks.fail("f: bad") end)
  T.ok(not ok and err:find("test_core.lua:%d+: f: bad") ~= nil, err)
  ok, err = pcall(checks.reraise, "lualib/moonlab/nn/x.lua:12: g: wrong")
  T.ok(not ok and not err:find("lualib/moonlab", 1, true) and err:find("g: wrong", 1, true) ~= nil, err)
  ok, err = pcall(checks.reraise, "mymodel.lua:7: oops")
  T.eq(err, "mymodel.lua:7: oops")
  ok, err = pcall(checks.call, error, "plain", 0)
  T.ok(not ok and err:find("plain", 1, true) ~= nil)
end)

T.test("core.checks: validators", function()
  T.eq(checks.integer("f", "n", 3.0), 3)
  T.eq(math.type(checks.integer("f", "n", 3.0)), "integer")
  T.raises(function() checks.integer("f", "n", 2.5) end, "f: n must be an integer, got 2.5")
  T.raises(function() checks.integer("f", "n", 0, 1) end, "f: n must be at least 1, got 0")
  T.raises(function() checks.number("f", "lr", 0 / 0, 0) end, "f: lr must be a number >= 0")
  T.raises(function() checks.number("f", "p", 2, 0, 1) end, "f: p must be a number in [0, 1], got 2")
  T.eq(checks.boolean("f", "b", nil, true), true)
  T.raises(function() checks.boolean("f", "b", 1) end, "f: b must be a boolean, got 1")
  T.raises(function() checks.one_of("f", "mode", "mni", { "min", "max" }) end,
    "f: mode must be one of 'min', 'max', got 'mni'; did you mean 'min'?")
  T.eq(checks.dtype("f", nil), "float32")
  T.raises(function() checks.dtype("f", "int8") end, "f: dtype must be 'float32' or 'float64', got int8")
  T.raises(function() checks.tensor("f", "x", {}) end, "f: x must be a tensor, got table")
  T.raises(function() checks.func("f", "fn", 1) end, "f: fn must be a function, got 1")
end)

T.test("C options checks suggest the closest name too", function()
  T.raises(function() ml.zeros(2, { dtyp = "int64" }) end,
    "ml.zeros: unknown option 'dtyp' (known: dtype, requires_grad); did you mean 'dtype'?")
  local ok, err = pcall(ml.zeros, 2, { qqqqq = 1 })
  T.ok(not ok and not err:find("did you mean", 1, true), err)
end)

T.test("core.format: shapes, thousands, numbers, durations, JSON-safe numbers", function()
  T.eq(format.shape(ml.zeros(3, 4)), "[3,4]")
  T.eq(format.shape({ 2 }), "[2]")
  T.eq(format.thousands(1234567), "1,234,567")
  T.eq(format.thousands(-1000), "-1,000")
  T.eq(format.thousands(12), "12")
  T.eq(format.number(0.5), "0.5000")
  T.eq(format.number(1e-5), "1.000e-05")
  T.eq(format.number(0 / 0), "nan")
  T.eq(format.exact(0.1), "0.1")
  T.eq(tonumber(format.exact(1 / 3)), 1 / 3)
  T.eq(format.duration(4.2), "4.2s")
  T.eq(format.duration(187), "3m07s")
  T.eq(format.duration(7500), "2h05m")
  local enc = format.to_json({ a = 0 / 0, b = math.huge, c = { -math.huge, 1 }, f = print })
  T.eq(enc.a, "nan"); T.eq(enc.b, "inf"); T.eq(enc.c[1], "-inf"); T.eq(enc.f, nil)
  local dec = format.from_json(ml.json.decode(ml.json.encode(enc)))
  T.ok(dec.a ~= dec.a); T.eq(dec.b, math.huge); T.eq(dec.c[1], -math.huge); T.eq(dec.c[2], 1)
end)

T.test("did you mean: dtype names, nonlinearities, subcommands", function()
  T.raises(function() ml.zeros(2, { dtype = "float23" }) end,
    "ml.zeros: unknown dtype 'float23' (expected float32, float64, int64 or bool); did you mean 'float32'?")
  T.raises(function() ml.nn.init.calculate_gain("rellu") end, "nn.init.calculate_gain: unknown nonlinearity 'rellu'")
  T.raises(function() ml.nn.init.calculate_gain("rellu") end, "did you mean 'relu'?")
  local h = io.popen(T.BIN .. " hepl 2>&1")
  local out = h:read("a")
  h:close()
  T.ok(out:find("did you mean 'help'?", 1, true), out)
end)

T.test("did you mean: ml.help and ?name suggest the closest documented name", function()
  local printed = print
  local out = {}
  print = function(s) out[#out + 1] = s end
  local ok, err = pcall(function()
    ml.help("Lineer")
    ml.help("nn.CrossEntropyLos")
    ml.help("zzzqqqxx")
  end)
  print = printed
  T.ok(ok, err)
  T.eq(out[1], "ml.help: no help for 'Lineer'; did you mean 'Linear'?")
  T.eq(out[2], "ml.help: no help for 'nn.CrossEntropyLos'; did you mean 'nn.CrossEntropyLoss'?")
  T.eq(out[3], "ml.help: no help for 'zzzqqqxx'")
end)
