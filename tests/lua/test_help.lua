-- ml.help and ml.doc: every public function carries a one-line docstring
-- (this file enforces it for ml and ml.Tensor), help finds docs by value and
-- by name, and unknown names print a message instead of raising.

-- Runs fn with print captured; returns the printed text and fn's results.
local function capture(fn, ...)
  local out, old = {}, print
  print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
    out[#out + 1] = table.concat(parts, "\t")
  end
  local res = table.pack(pcall(fn, ...))
  print = old
  if not res[1] then error(res[2], 2) end
  return table.concat(out, "\n"), table.unpack(res, 2, res.n)
end

local function help(x, ...)
  local printed, text = capture(ml.help, x, ...)
  return text, printed
end

-- The names in t that are public functions, sorted.
local function public_functions(t)
  local names = {}
  for k, v in pairs(t) do
    if type(k) == "string" and type(v) == "function" and k:sub(1, 1) ~= "_" then names[#names + 1] = k end
  end
  table.sort(names)
  return names
end

local function check_docs(t, prefix)
  local missing, bad = {}, {}
  for _, k in ipairs(public_functions(t)) do
    local d = ml.doc(t[k])
    if type(d) ~= "string" then missing[#missing + 1] = prefix .. k
    elseif not d:find(" — ", 1, true) or d:find("\n", 1, true) or not d:find(k, 1, true) then
      bad[#bad + 1] = prefix .. k .. ": " .. d
    end
  end
  T.ok(#missing == 0, "no docstring for: " .. table.concat(missing, ", "))
  T.ok(#bad == 0, "docstrings must be one line, 'signature — what it does', naming the function:\n  " ..
    table.concat(bad, "\n  "))
end

T.test("help: every ml function has a one-line docstring", function()
  T.ok(#public_functions(ml) > 50, "ml has its functions")
  check_docs(ml, "ml.")
end)

T.test("help: every tensor method has a one-line docstring", function()
  T.ok(#public_functions(ml.Tensor) > 50, "ml.Tensor has its methods")
  check_docs(ml.Tensor, "Tensor.")
end)

T.test("help: Timer methods have docstrings", function()
  check_docs(getmetatable(ml.Timer()).methods, "Timer:")
end)

-- The Lua library: every public function and class (table) of its modules,
-- and every method of nn.Module and of an optimizer, has a one-line doc of
-- its own naming it ("signature — what it does").
local function check_lib_docs(t, prefix, with_tables)
  local missing, bad, n = {}, {}, 0
  local names = {}
  for k, v in pairs(t) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" and (type(v) == "function" or (with_tables and type(v) == "table")) then
      names[#names + 1] = k
    end
  end
  table.sort(names)
  for _, k in ipairs(names) do
    n = n + 1
    local d = ml.doc(t[k])
    if type(d) ~= "string" then missing[#missing + 1] = prefix .. k
    elseif not d:find(" — ", 1, true) or d:find("\n", 1, true) or not d:find(k, 1, true) then
      bad[#bad + 1] = prefix .. k .. ": " .. d
    end
  end
  T.ok(n > 0, prefix .. " has public members")
  T.ok(#missing == 0, "no docstring for: " .. table.concat(missing, ", "))
  T.ok(#bad == 0, "docstrings must be one line, 'signature — what it does', naming the function or class:\n  " ..
    table.concat(bad, "\n  "))
end

T.test("help: every public function and class of the Lua library has a one-line docstring", function()
  local nn, optim = ml.nn, ml.optim
  for _, m in ipairs({
    { nn, "nn." }, { nn.init, "nn.init." }, { nn.utils, "nn.utils." }, { optim, "optim." }, { optim.lr, "optim.lr." },
    { ml.data, "data." }, { ml.callbacks, "callbacks." },
  }) do
    check_lib_docs(m[1], m[2], true)
  end
  for _, name in ipairs({ "nn", "optim", "data", "callbacks" }) do T.ok(ml.doc(ml[name]), "ml." .. name .. " has a doc") end
end)

-- The public functions reachable from obj: its own, then its classes' up the __index chain.
local function methods_of(obj)
  local out, t = {}, obj
  for _ = 1, 8 do
    if type(t) ~= "table" then break end
    for k, v in pairs(t) do
      if type(k) == "string" and type(v) == "function" and out[k] == nil then out[k] = v end
    end
    local mt = getmetatable(t)
    t = mt and mt.__index
  end
  return out
end

T.test("help: nn.Module and optimizer methods have one-line docstrings", function()
  local nn = ml.nn
  local methods = methods_of(nn.Module)
  for _, k in ipairs({ "parameters", "named_parameters", "state_dict", "load_state_dict", "train", "eval", "zero_grad",
    "forward", "extend", "compile", "fit", "evaluate", "predict", "save", "load_weights" }) do
    T.ok(methods[k], "nn.Module has " .. k)
  end
  check_lib_docs(methods, "Module:")
  local opt = ml.optim.Adam(nn.Linear(2, 2):parameters())
  methods = methods_of(opt)
  for _, k in ipairs({ "step", "zero_grad", "state_dict", "load_state_dict", "add_param_group" }) do
    T.ok(methods[k], "an optimizer has " .. k)
  end
  check_lib_docs(methods, "Adam:")
  check_lib_docs(methods_of(ml.optim.lr.StepLR(opt, { step_size = 1 })), "StepLR:")
  check_lib_docs(methods_of(ml.data.loader(ml.zeros(4, 2))), "Loader:")
end)

T.test("help: classes, instances and library names", function()
  local nn, optim = ml.nn, ml.optim
  local linear = help(nn.Linear)
  T.ok(linear:find(ml.doc(nn.Linear), 1, true) == 1, linear)
  T.ok(not linear:find(ml.doc(nn.Module.parameters), 1, true), "a class does not list its inherited methods:\n" .. linear)
  T.ok(linear:find("\n  (and the methods of nn.Module: ?nn.Module)", 1, true), "but names its parent:\n" .. linear)
  T.ok(linear:find(ml.doc(nn.Linear.reset_parameters), 1, true), "and its own")
  T.eq(help("nn.Linear"), linear)
  T.eq(help("ml.nn.Linear"), linear)
  -- an instance: its class doc, then its methods; its children are not members
  local Net = nn.Module:extend("HelpTestNet")
  ml.doc(Net, "HelpTestNet() — a test model")
  function Net:init() self.fc = nn.Linear(2, 3) end
  function Net:forward(x) return self.fc(x) end
  local text = help(Net())
  T.ok(text:find("HelpTestNet() — a test model\n", 1, true) == 1, text)
  T.ok(text:find("\n  " .. ml.doc(nn.Module.parameters), 1, true), text)
  T.ok(text:find("\n  " .. ml.doc(nn.Module.forward), 1, true), "an undocumented override shows the base doc:\n" .. text)
  T.ok(not text:find(ml.doc(nn.Linear), 1, true), "a child module is not a method:\n" .. text)
  local seq = help(nn.Sequential { nn.Linear(2, 2) })
  T.ok(seq:find(ml.doc(nn.Sequential), 1, true) == 1 and seq:find(ml.doc(nn.Sequential.add), 1, true), seq)
  -- optimizers: the class and an instance list the same methods
  local adam = help(optim.Adam)
  T.ok(adam:find(ml.doc(optim.Adam), 1, true) == 1, adam)
  T.ok(adam:find("\n  (and the methods of optim.Optimizer: ?optim.Optimizer)", 1, true), adam)
  local inst = help(optim.Adam(nn.Linear(2, 2):parameters()))
  T.ok(inst:find(ml.doc(optim.Adam), 1, true) == 1 and inst:find("\n  " .. ml.doc(optim.Optimizer.step), 1, true),
    "an instance: its class doc, then every method:\n" .. inst)
  T.eq(help("optim.Adam"), adam)
  -- modules list their classes and functions
  local nntext = help(nn)
  T.ok(nntext:find(ml.doc(nn), 1, true) == 1, nntext)
  T.ok(nntext:find("\n  " .. ml.doc(nn.Linear), 1, true) and nntext:find("\n  " .. ml.doc(nn.load), 1, true), nntext)
  T.ok(not nntext:find(ml.doc(nn.Module.parameters), 1, true), "a module lists no methods of its classes")
  T.ok(help(optim):find("\n  " .. ml.doc(optim.SGD), 1, true))
  -- names under the lazily loaded modules
  T.eq(help("data.loader"), ml.doc(ml.data.loader))
  T.eq(help("ml.data.loader"), ml.doc(ml.data.loader))
  T.eq(help("nn.init.zeros_"), ml.doc(nn.init.zeros_))
  T.ok(help("optim.lr.StepLR"):find(ml.doc(optim.lr.StepLR), 1, true) == 1)
  T.ok(help("callbacks.EarlyStopping"):find(ml.doc(ml.callbacks.EarlyStopping), 1, true) == 1)
  T.eq(help("nn.Module.parameters"), ml.doc(nn.Module.parameters))
end)

T.test("help: a function prints and returns its doc", function()
  local text, printed = help(ml.zeros)
  T.ok(text:find("^ml%.zeros%("), text)
  T.eq(printed, text)
  T.eq(ml.doc(ml.zeros), text)
  local s = help(ml.Tensor.sum)
  T.ok(s:find("t:sum([dim], [keepdim])", 1, true), s)
end)

T.test("help: names in every form find the same doc", function()
  local want = ml.doc(ml.Tensor.sum)
  for _, name in ipairs({"sum", "ml.sum", "Tensor.sum", "ml.Tensor.sum", "t:sum", "x:sum"}) do
    T.eq(help(name), want, name)
  end
  T.eq(help("tolist"), ml.doc(ml.Tensor.tolist), "a method that is not an ml function")
  T.eq(help("zeros"), ml.doc(ml.zeros))
  T.eq(help("ml.Timer"), ml.doc(ml.Timer))
  -- x:name through a real value: a Timer's method
  _G.__help_timer = ml.Timer()
  T.eq(help("__help_timer:elapsed"), ml.doc(getmetatable(__help_timer).methods.elapsed))
  __help_timer = nil
end)

T.test("help: functions shared by ml and Tensor share one doc; aliases name matmul", function()
  T.eq(ml.doc(ml.gather), ml.doc(ml.Tensor.gather))
  T.ok(ml.doc(ml.mm):find("matmul", 1, true))
end)

T.test("help: tensors and ml.Tensor list the methods by section", function()
  local text = help(ml.zeros(2, 3))
  T.ok(text:find("Tensor methods", 1, true), text)
  T.ok(text:find("Reductions:", 1, true) and text:find(" sum", 1, true), text)
  T.ok(not text:find("Other:", 1, true), "every method has a section:\n" .. text)
  T.eq(help(ml.Tensor), text)
  T.eq(help("Tensor"), text)
end)

T.test("help: no argument, nil or ml give the overview", function()
  local text = help()
  T.ok(text:find("ml.help", 1, true) and text:find("Creation:", 1, true) and text:find(" zeros", 1, true), text)
  T.ok(not text:find("Other:", 1, true), "every ml function has a section:\n" .. text)
  T.eq(help(nil), text)
  T.eq(help(ml), text)
end)

T.test("help: unknown names and values print a message, never raise", function()
  for _, x in ipairs({"nosuch", "ml.nosuch", "Tensor.nosuch", "t:nosuch", "a.b:c", "", "ml.", ":", "1 +", 42, true, {}}) do
    local text, printed = help(x)
    T.eq(text, nil, tostring(x))
    T.ok(printed:find("^ml%.help: no help for '"), printed)
  end
  local _, printed = help("nosuch")
  T.eq(printed, "ml.help: no help for 'nosuch'")
  _, printed = help(tostring)
  T.eq(printed, "ml.help: no help for 'tostring'", "an undocumented function is named when it can be")
  T.eq(ml.doc("nosuch"), nil)
  T.eq(ml.doc(tostring), nil)
end)

T.test("doc: documents Lua functions and tables", function()
  local function f(x) return x end
  T.eq(ml.doc(f), nil)
  T.eq(ml.doc(f, "f(x) -> x — returns its argument"), f, "returns the value")
  T.eq(ml.doc(f), "f(x) -> x — returns its argument")
  T.eq(help(f), "f(x) -> x — returns its argument")
  ml.doc(f, "f(x) -> x — redocumented")
  T.eq(ml.doc(f), "f(x) -> x — redocumented", "the last doc wins")

  -- a class: its doc, then its documented methods; instances answer with the class
  local Class = {}
  Class.__index = Class
  function Class.new() return setmetatable({}, Class) end
  function Class:run() end
  function Class:_private() end
  ml.doc(Class, "Class() — a test class")
  ml.doc(Class.run, "obj:run() — runs")
  ml.doc(Class._private, "obj:_private() — hidden")
  local text = help(Class)
  T.eq(text, "Class() — a test class\n  obj:run() — runs")
  T.eq(ml.doc(Class.new()), "Class() — a test class")

  -- a module without its own doc lists its documented functions
  local mod = {a = function() end, b = function() end, c = 1}
  ml.doc(mod.a, "mod.a() — first")
  T.eq(help(mod), "mod.a() — first")
  _G.__help_mod = mod
  T.eq(help("__help_mod.a"), "mod.a() — first")
  __help_mod = nil
end)

T.test("doc: bad arguments are errors", function()
  T.raises(function() ml.doc(42, "x") end, "ml.doc: argument #1: expected a function or a table, got number")
  T.raises(function() ml.doc("sum", "x") end, "ml.doc: argument #1")
  T.raises(function() ml.doc(function() end, 42) end, "ml.doc: argument #2: expected a doc string, got number")
end)

T.test("doc: documented values stay collectable", function()
  local weak = setmetatable({}, {__mode = "v"})
  do
    local g = function() end
    ml.doc(g, "g() — temporary")
    weak[1] = g
  end
  collectgarbage()
  collectgarbage()
  T.eq(weak[1], nil)
end)

-- The REPL's ?name goes through ml.help.
local BIN = T.BIN

local function repl(input)
  local inp, out, err = T.tmpname(), T.tmpname(), T.tmpname()
  local f = assert(io.open(inp, "w"))
  f:write(input)
  f:close()
  os.execute(string.format("%s <%s >%s 2>%s", BIN, inp, out, err))
  local function slurp(p)
    local h = assert(io.open(p))
    local s = h:read("a")
    h:close()
    os.remove(p)
    return s
  end
  os.remove(inp)
  return slurp(out), slurp(err)
end

T.test("REPL: ?name shows the docstring", function()
  local sum = ml.doc(ml.sum)
  local out, err = repl("?ml.zeros\n?sum\n?x:sum\nx = ml.ones(2)\n?x:mean\n?Tensor.max\n?nosuch\n?ml.version\n")
  local want = table.concat({ml.doc(ml.zeros), sum, sum, ml.doc(ml.mean), ml.doc(ml.max),
    "ml.help: no help for 'nosuch'", "ml.version: string"}, "\n") .. "\n"
  T.eq(out, want)
  T.eq(err, "")
  out, err = repl("?nosuch.field\n")
  T.eq(out, "")
  T.ok(err:find("nosuch", 1, true), err)
end)
