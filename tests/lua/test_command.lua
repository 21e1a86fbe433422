-- The `moonlab` command: -e, scripts and their `arg`, exit codes, --version,
-- --help, key=value overrides, errors, and the REPL driven through a pipe.

-- The binary under test: the one running these tests (build-asan/ under
-- make check-memory), else ./build/moonlab.
local BIN = T.BIN

local quote = T.quote

local write_file = T.write_file

local temps = {}
local function tmp(text)
  local path = T.tmpname()
  temps[#temps + 1] = path
  if text then write_file(path, text) end
  return path
end

-- Runs BIN with the (already quoted) argument string and stdin from `input`
-- (never the terminal, so a bare REPL cannot wait on it). Returns stdout,
-- stderr and the exit code.
local function run(args, input)
  return T.capture(BIN .. " " .. args, input or "")
end

local function script(text) return tmp(text) end

T.test("-e runs code, in order, repeatable", function()
  local out, err, code = run("-e 'print(1+1)' -e 'io.write(type(ml), \" \", ml.version, \"\\n\")'")
  T.eq(out, "2\ntable " .. ml.version .. "\n")
  T.eq(err, "")
  T.eq(code, 0)
  out = run("-e ''")
  T.eq(out, "", "-e '' prints nothing (no REPL)")
end)

T.test("script: arg and ... as lua5.4 sets them", function()
  local s = script([[
    io.write(arg[0], "|", arg[-1], "|", arg[-2], "|", arg[-3], "|", #arg, "|", table.concat(arg, ","), "|")
    io.write(select("#", ...), "|", table.concat({...}, ","), "\n")
  ]])
  local out, err, code = run("-e 'x=1' " .. quote(s) .. " a 'b c' -e")
  T.eq(err, "")
  T.eq(code, 0)
  T.eq(out, table.concat({s, "x=1", "-e", BIN, "3", "a,b c,-e", "3", "a,b c,-e"}, "|") .. "\n")
end)

T.test("no script: arg[0] is the command, options follow", function()
  local out = run("-e 'print(arg[0], arg[1], arg[2], arg[-1])'")
  T.eq(out, BIN .. "\t-e\tprint(arg[0], arg[1], arg[2], arg[-1])\tnil\n")
end)

T.test("-- ends the options; - reads the script from stdin", function()
  local s = script("print('dashdash', ...)")
  T.eq((run("-- " .. quote(s) .. " -x")), "dashdash\t-x\n")
  local out, _, code = run("- p q", "print('stdin', arg[0], ...)")
  T.eq(out, "stdin\t-\tp\tq\n")
  T.eq(code, 0)
end)

T.test("exit codes: os.exit, true/false, normal end", function()
  T.eq(select(3, run(quote(script("os.exit(7)")))), 7)
  T.eq(select(3, run("-e 'os.exit(true)'")), 0)
  T.eq(select(3, run("-e 'os.exit(false)'")), 1)
  T.eq(select(3, run(quote(script("local x = 1")))), 0)
end)

T.test("runtime error: message, traceback, exit 1", function()
  local s = script("local function f() error('boom here') end\nf()\n")
  local out, err, code = run(quote(s))
  T.eq(code, 1)
  T.eq(out, "")
  T.ok(err:find("moonlab: " .. s .. ":1: boom here", 1, true), err)
  T.ok(err:find("stack traceback:", 1, true), err)
  T.ok(err:find("in local 'f'", 1, true), err)
end)

T.test("output before an error is kept, in order", function()
  local out, err, code = run(quote(script("print('before')\nerror('after')")))
  T.eq(out, "before\n")
  T.ok(err:find("after", 1, true))
  T.eq(code, 1)
end)

T.test("syntax errors, missing files, bad options", function()
  local _, err, code = run(quote(script("x = = 1")))
  T.eq(code, 1)
  T.ok(err:find("^moonlab: .*:1: unexpected symbol near '='"), err)
  _, err, code = run("-e 'x = = 1'")
  T.eq(code, 1)
  T.ok(err:find("moonlab: (command line):1:", 1, true), err)
  _, err, code = run("/nonexistent/nope.lua")
  T.eq(code, 1)
  T.ok(err:find("moonlab: cannot open /nonexistent/nope.lua", 1, true), err)
  _, err, code = run("--frobnicate")
  T.eq(code, 1)
  T.ok(err:find("unrecognized option '--frobnicate'", 1, true), err)
  T.ok(err:find("usage: moonlab", 1, true), "usage follows the error")
  _, err, code = run("-e")
  T.eq(code, 1)
  T.ok(err:find("'-e' needs an argument", 1, true), err)
end)

T.test("error objects that are not strings", function()
  local _, err, code = run("-e 'error(setmetatable({}, {__tostring = function() return \"custom err\" end}))'")
  T.eq(code, 1)
  T.ok(err:find("moonlab: custom err", 1, true), err)
  _, err = run("-e 'error({})'")
  T.ok(err:find("(error object is a table value)", 1, true), err)
end)

T.test("--version", function()
  for _, opt in ipairs({"--version", "-v"}) do
    local out, err, code = run(opt)
    T.eq(code, 0)
    T.eq(err, "")
    T.ok(out:match("^moonlab " .. ml.version:gsub("%.", "%%.") .. " %(Lua 5%.4%.%d+, .*OpenBLAS.*%)\n$"), out)
  end
end)

T.test("--help lists every option", function()
  local out, _, code = run("--help")
  T.eq(code, 0)
  for _, s in ipairs({"usage: moonlab", "-e CODE", "-i", "-l NAME", "--version", "--help", "key=value",
                      "ml.overrides", "stdin", "REPL"}) do
    T.ok(out:find(s, 1, true), "help lacks " .. s)
  end
  T.eq((run("-h")), out)
end)

T.test("key=value overrides: converted into ml.overrides, kept in arg", function()
  local s = script([[
    local o = ml.overrides
    local keys = {}
    for k in pairs(o) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do io.write(k, "=", tostring(o[k]), ":", math.type(o[k]) or type(o[k]), " ") end
    io.write("| ", #arg, " ", arg[2], "\n")
  ]])
  local out, err, code = run(quote(s) .. " plain lr=0.01 epochs=10 shuffle=true bn=false name=mlp opt.lr=1e-3 empty= 'a=b=c'")
  T.eq(err, "")
  T.eq(code, 0)
  T.eq(out, "a=b=c:string bn=false:boolean empty=:string epochs=10:integer lr=0.01:float name=mlp:string "
            .. "opt.lr=0.001:float shuffle=true:boolean | 9 lr=0.01\n")
  out = run("-e 'print(type(ml.overrides), next(ml.overrides))'")
  T.eq(out, "table\tnil\n", "always a table")
end)

T.test("-i runs the script, then the REPL", function()
  local s = script("answer = 42\n")
  local out, err, code = run("-i " .. quote(s), "return answer + 1\n")
  T.eq(out, "43\n")
  T.eq(err, "")
  T.eq(code, 0)
  out = run("-e 'y = 5' -i", "y * 2\n")
  T.eq(out, "10\n")
end)

-- ---- the REPL, through a pipe (no prompts without a terminal) ----------

T.test("REPL: bare moonlab prints results and exits 0", function()
  local out, err, code = run("", "return 1+1\n")
  T.eq(out, "2\n")
  T.eq(err, "")
  T.eq(code, 0)
end)

T.test("REPL: expressions print without return; statements print nothing", function()
  local out = run("", "x = 3\nx * 2\nprint('hi')\n'str'\nnil\n1, 'two', true\n")
  T.eq(out, "6\nhi\nstr\nnil\n1\ttwo\ttrue\n")
end)

T.test("REPL: multi-line input", function()
  local input = "function twice(x)\n  local y = x * 2\n  return y\nend\ntwice(21)\n"
              .. "t = {\n  1,\n  2,\n}\n#t\nml.now(\n) > 0\n"
  local out, err, code = run("", input)
  T.eq(err, "")
  T.eq(out, "42\n2\ntrue\n")
  T.eq(code, 0)
end)

T.test("REPL: an error does not end the session", function()
  local out, err, code = run("", "error('first')\nreturn 'still here'\nx = = 1\nreturn 'and here'\n")
  T.eq(out, "still here\nand here\n")
  T.ok(err:find("stdin:1: first", 1, true), err)
  T.ok(err:find("stack traceback:", 1, true), "runtime errors carry a traceback")
  T.ok(err:find("unexpected symbol near '='", 1, true), err)
  T.eq(code, 1, "piped input with a failed command exits 1")
end)

T.test("REPL: an unfinished chunk at end of input is an error", function()
  local out, err, code = run("", "function f()\n")
  T.eq(out, "")
  T.ok(err:find("<eof>", 1, true), err)
  T.eq(code, 1)
end)

T.test("REPL: exit stops reading; os.exit sets the code", function()
  local out, _, code = run("", "1\nexit\n2\n")
  T.eq(out, "1\n")
  T.eq(code, 0)
  _, _, code = run("", "os.exit(5)\n")
  T.eq(code, 5)
end)

T.test("REPL: tables shown readably, sorted, truncated", function()
  local out = run("", "{3, 1, b = 'x', a = {1}, [10] = true, ['not a name'] = {}}\n")
  T.eq(out, '{3, 1, [10] = true, a = {...}, b = "x", ["not a name"] = {}}\n')
  out = run("", "local t = {} for i = 1, 100 do t[i] = i end return t\n")
  T.ok(out:find("... (76 more)", 1, true), out)
  T.ok(out:find("^{\n  1,\n  2,\n"), "long tables one entry per line")
  out = run("", "{}\n")
  T.eq(out, "{}\n")
  out = run("", "setmetatable({}, {__tostring = function() return 'custom' end})\n")
  T.eq(out, "custom\n")
end)

T.test("REPL: _ holds the last result", function()
  T.eq((run("", "40 + 2\n_ + 1\n")), "42\n43\n")
end)

T.test("REPL: ?name prints help or the type; ? alone the REPL help", function()
  local out = run("", "?string.format\n?\n")
  T.ok(out:find("?name", 1, true), out)
  if not ml.help then T.ok(out:find("string.format: function", 1, true), out) end
  local _, err = run("", "?nosuch.field\n")
  T.ok(err:find("nosuch", 1, true), err)
end)

if ml.zeros then
  T.test("REPL: tensors print through their tostring", function()
    local out = run("", "ml.zeros(2, 3)\n")
    T.eq(out, tostring(ml.zeros(2, 3)) .. "\n")
  end)
end

-- ---- completion ---------------------------------------------------------

local function has(list, want)
  for _, v in ipairs(list) do if v == want then return true end end
  return false
end

T.test("complete: globals, keywords and fields", function()
  local c = ml._complete("ml.no")
  T.ok(has(c, "ml.now"), table.concat(c, " "))
  for _, v in ipairs(c) do T.ok(v:sub(1, 5) == "ml.no", v) end
  T.ok(has(ml._complete("pri"), "print"))
  T.ok(has(ml._complete("fun"), "function"), "keywords")
  T.ok(has(ml._complete("string.fo"), "string.format"))
  T.ok(has(ml._complete("ml.Ti"), "ml.Timer"))
  local sorted = ml._complete("ml.")
  for i = 2, #sorted do T.ok(sorted[i - 1] < sorted[i], "sorted, no duplicates") end
  T.ok(not has(ml._complete("ml."), "ml._complete"), "underscore names hidden")
  T.ok(has(ml._complete("ml._"), "ml._complete"), "unless asked for")
end)

T.test("complete: methods after ':' walk metatables", function()
  _G.__ctimer = ml.Timer()
  local c = ml._complete("__ctimer:re")
  T.eq(table.concat(c, " "), "__ctimer:reset __ctimer:resume")
  __ctimer_s = "abc"
  T.ok(has(ml._complete("__ctimer_s:up"), "__ctimer_s:upper"), "strings through __index")
  -- A Lua class chain: instance -> Class -> Base, through __index tables.
  local Base = {base_method = function() end}
  Base.__index = Base
  local Class = setmetatable({method = function() end, field = 1}, Base)
  Class.__index = Class
  __cobj = setmetatable({own = 2}, Class)
  c = ml._complete("__cobj:")
  T.eq(table.concat(c, " "), "__cobj:base_method __cobj:method", "':' offers functions only")
  c = ml._complete("__cobj.")
  T.ok(has(c, "__cobj.own") and has(c, "__cobj.field") and has(c, "__cobj.base_method"), table.concat(c, " "))
  __ctimer, __ctimer_s, __cobj = nil, nil, nil
end)

T.test("complete: paths that cannot be walked give nothing", function()
  for _, text in ipairs({"nosuch.x", "1.5", "ml..x", "a:b.c", ".x", "string.format.x", "ml.now:x"}) do
    T.eq(#ml._complete(text), 0, text)
  end
end)

if ml.zeros then
  T.test("complete: tensor methods", function()
    __cx = ml.zeros(2)
    local methods = getmetatable(__cx).methods
    local c = ml._complete("__cx:")
    T.ok(#c > 0, "no tensor methods completed")
    for _, v in ipairs(c) do T.eq(type(methods[v:sub(6)]), "function", v) end
    local name = next(methods)
    T.ok(has(c, "__cx:" .. name) or name:sub(1, 1) == "_", name)
    __cx = nil
  end)
end

T.test("complete: through the REPL", function()
  local out = run("", "x = ml.Timer()\nreturn table.concat(ml._complete('x:el'), ' ')\n")
  T.eq(out, "x:elapsed\n")
end)

for _, p in ipairs(temps) do os.remove(p) end
