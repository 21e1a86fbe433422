-- The REPL: top-level locals kept between inputs and after -i, exit()/quit(),
-- values inside printed tables, ?name lookups, and (through a pty) history
-- and file-name completion.
local BIN = T.BIN

local quote = T.quote

local write_file = T.write_file

local read_file = T.read_file

-- Runs BIN with args, stdin from input; returns stdout, stderr, exit code.
local function run(args, input, env)
  return T.capture(string.format("%s %s %s", env or "", BIN, args), input or "")
end

local function repl(input) return run("", input) end

T.test("REPL locals: a top-level local stays for the next input, not as a global", function()
  local out, err = repl("local x = 3\nx\nrawget(_G, 'x')\nx = 4\nx, rawget(_G, 'x')\n")
  T.eq(err, "")
  T.eq(out, "3\nnil\n4\tnil\n")
end)

T.test("REPL locals: several names, attributes, no value, local function", function()
  local out, err = repl("local a, b = 1, 2\na + b\nlocal c <const>, d = 5\nc, d\nlocal e\ne\n" ..
    "local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end\nfact(5)\n" ..
    "local p = 1 local q = p + 1; print(q)\n")
  T.eq(err, "")
  T.eq(out, "3\n5\tnil\nnil\n120\n2\n")
end)

T.test("REPL locals: functions typed later see them; nested locals stay local", function()
  local out, err = repl("local k = 10\nfunction scaled(v) return v * k end\nscaled(2)\nk = 3\nscaled(2)\n" ..
    "do local inner = 1 end\ninner\nfor i = 1, 2 do local y = i end\ny\n" ..
    "function f() local z = 5 return z end\nf(), z\n")
  T.eq(err, "")
  T.eq(out, "20\n6\nnil\nnil\n5\tnil\n")
end)

T.test("REPL locals: 'local' inside strings and comments is left alone", function()
  local out, err = repl("s = 'local x = 1' -- local y = 2\ns\nx, y\nt = [[local w]]\nt\n--[[ local v ]] u = 1\nv, u\n")
  T.eq(err, "")
  T.eq(out, "local x = 1\nnil\tnil\nlocal w\nnil\t1\n")
end)

T.test("REPL locals: Tab completion and ?name see them", function()
  local out, err = repl("local tm = ml.Timer()\nreturn table.concat(ml._complete('tm:el'), ' ')\n?tm:elapsed\n")
  T.eq(err, "")
  T.eq(out, "tm:elapsed\n" .. ml.doc(getmetatable(ml.Timer()).methods.elapsed) .. "\n")
end)

T.test("-i keeps the script's top-level locals for inspection", function()
  local s = T.tmpname(".lua")
  write_file(s, "local model = {name = 'm'}\nlocal n = 42\nlocal function helper() return n end\n" ..
    "do local hidden = 1 end\nprint('ran')\n")
  local out, err, code = run("-i " .. quote(s), "n + 1\nmodel.name\nhelper()\nhidden\n")
  T.eq(err, "")
  T.eq(out, "ran\n43\nm\n42\nnil\n")
  T.eq(code, 0)
end)

T.test("-i after a failing script: the REPL opens with the locals live at the error", function()
  local s = T.tmpname(".lua")
  write_file(s, "local a = 1\nfor i = 1, 3 do\n  local b = i * 10\n  if i == 2 then error('boom') end\nend\n")
  local out, err, code = run("-i " .. quote(s), "a, i, b\n")
  T.eq(out, "1\t2\t20\n")
  T.ok(err:find(":4: boom", 1, true), err)
  T.eq(code, 1, "the script failed")
  out, err, code = run(quote(s), "a\n")
  T.eq(out, "", "no REPL without -i")
  T.eq(code, 1)
end)

T.test("REPL: exit(), quit(), quit leave; exit() works inside code", function()
  for _, cmd in ipairs({"exit()", "quit()", "quit", "exit"}) do
    local out, err, code = repl("1\n" .. cmd .. "\n2\n")
    T.eq(out, "1\n", cmd)
    T.eq(err, "", cmd)
    T.eq(code, 0, cmd)
  end
  local out, err, code = repl("for i = 1, 3 do print(i) if i == 2 then quit() end end\nprint('no')\n")
  T.eq(out, "1\n2\n")
  T.eq(err, "")
  T.eq(code, 0)
  out = repl("exit = 5\nexit\n")
  T.eq(out, "", "a bare exit leaves even when the name is taken")
end)

T.test("REPL: tensors inside printed tables keep their shape; long values are cut between tokens", function()
  local out = repl("{w = ml.zeros(2, 3), b = ml.ones(3)}\n")
  T.ok(out:find("w = tensor(..., dtype=float32, shape=[2,3])", 1, true), out)
  T.ok(out:find("b = " .. tostring(ml.ones(3)), 1, true), out)
  out = repl("{setmetatable({}, {__tostring = function() return ('word '):rep(20) end})}\n")
  T.ok(out:find("word word ...}", 1, true), out)
end)

T.test("shapes print as [3, 4] and stay sequences", function()
  local s = ml.zeros(3, 4):shape()
  T.eq(tostring(s), "[3, 4]")
  T.eq(#s, 2)
  T.eq(table.concat(s, "x"), "3x4")
  T.eq(s[2], 4)
  T.ok(s == ml.ones(3, 4):shape() and s ~= ml.ones(4, 3):shape(), "== compares sizes")
  T.eq(tostring(ml.zeros(5):size()), "[5]")
  T.eq(tostring(ml.tensor(1):shape()), "[]")
  T.eq((repl("ml.zeros(3, 4):shape()\n")), "[3, 4]\n")
end)

T.test("?name: the names people type", function()
  local nn = ml.nn
  local cases = {
    {"?fit", ml.doc(nn.Module.fit)},
    {"?model:fit", ml.doc(nn.Module.fit)},
    {"?Linear", ml.doc(nn.Linear)},
    {"?nn.Linear", ml.doc(nn.Linear)},
    {"?CrossEntropyLoss", ml.doc(nn.CrossEntropyLoss)},
    {"?EarlyStopping", ml.doc(ml.callbacks.EarlyStopping)},
    {"?zeros_", ml.doc(nn.init.zeros_)},
    {"?Linear:forward", ml.doc(nn.Linear.forward)},
  }
  for _, c in ipairs(cases) do
    local out, err = repl(c[1] .. "\n")
    T.eq(err, "", c[1])
    T.ok(out:find(c[2], 1, true) == 1, c[1] .. " gave:\n" .. out)
  end
end)

T.test("?nn.Linear shows the class, not every inherited method", function()
  local out = repl("?nn.Linear\n")
  T.ok(not out:find(ml.doc(ml.nn.Module.parameters), 1, true), out)
  T.ok(out:find("?nn.Module", 1, true), out)
  local lines = select(2, out:gsub("\n", ""))
  T.ok(lines < 12, "a short listing: " .. lines .. " lines")
end)

T.test("?ml lists the modules; ?unknown never prints a raw Lua error", function()
  local out = repl("?ml\n")
  for _, m in ipairs({"nn", "optim", "data", "callbacks"}) do
    T.ok(out:find("\n  " .. ml.doc(ml[m]), 1, true), m .. " missing in:\n" .. out)
  end
  if ml.json then T.ok(out:find("\n  ml.json", 1, true), "ml.json listed:\n" .. out) end
  for _, q in ipairs({"?nosuch.field", "?nosuch:method", "?nosuch", "?a.b.c.d"}) do
    local o, err = repl(q .. "\n")
    T.ok(not (o .. err):find("attempt to", 1, true) and not (o .. err):find("traceback", 1, true), q .. ": " .. o .. err)
    T.ok((o .. err):find("no help for", 1, true), q .. ": " .. o .. err)
  end
end)

-- ---- through a pseudo-terminal (util-linux `script`) ----------------------
local has_script = os.execute("command -v script >/dev/null 2>&1")

if has_script then
  local function tty(input, dir)
    local hist, inp, out = T.tmpname(), T.tmpname(), T.tmpname()
    write_file(inp, input)
    local bin = BIN:sub(1, 1) == "/" and BIN or (require("lfs").currentdir() .. "/" .. BIN)
    os.execute(string.format("cd %s && MOONLAB_HISTORY=%s timeout 20 script -qec %s /dev/null <%s >%s 2>&1",
      quote(dir or "."), hist, quote(bin), inp, out))
    return read_file(out) or "", read_file(hist) or ""
  end

  T.test("REPL on a terminal: a multi-line chunk is one history entry, in the file too", function()
    local _, hist = tty("function g(a)\nreturn a + 1\nend\ng(2)\nexit\n")
    local entries = {}
    for e in (hist:gsub("\n*$", "") .. "\n"):gmatch("#%d+\n(.-)\n%f[#\0]") do entries[#entries + 1] = e end
    T.eq(#entries, 2, "entries in:\n" .. hist)
    T.eq(entries[1], "function g(a)\nreturn a + 1\nend")
    T.eq(entries[2], "g(2)")
  end)

  T.test("REPL on a terminal: Tab inside a string completes a file path", function()
    local dir = T.tmpname()
    require("lfs").mkdir(dir)
    require("lfs").mkdir(dir .. "/data")
    write_file(dir .. "/data/train_set.csv", "")
    local out = tty('s = "data/tr\t"\ns\nexit\n', dir)
    T.ok(out:find("data/train_set.csv\r?\n"), out)
  end)
end
