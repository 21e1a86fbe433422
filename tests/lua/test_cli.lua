-- The command as installed: subcommands (lualib/moonlab/cli/NAME.lua),
-- `moonlab help`, finding the Lua library from the binary's real location
-- (PATH, copies, make install), lfs, and the script's folder on package.path.
local lfs = require "lfs"
local BIN = T.BIN
local ABS = BIN:sub(1, 1) == "/" and BIN or (lfs.currentdir() .. "/" .. BIN)
local ROOT = lfs.currentdir()

local quote = T.quote

local write_file = T.write_file

-- Runs the shell command line cmd (in dir, when given) with empty stdin;
-- returns stdout, stderr, exit code.
local function sh(cmd, dir)
  return T.capture(string.format("cd %s && %s", quote(dir or ROOT), cmd))
end

local function mkdir(path)
  assert(lfs.mkdir(path))
  return path
end

T.test("moonlab help lists the subcommands, one line each", function()
  local out, err, code = sh(quote(ABS) .. " help")
  T.eq(err, "")
  T.eq(code, 0)
  T.ok(out:find("\n  help +list the subcommands"), out)
  local one, _, c2 = sh(quote(ABS) .. " help help")
  T.eq(c2, 0)
  T.ok(one:find("moonlab help: list the subcommands", 1, true), one)
  T.ok((sh(quote(ABS) .. " --help")):find("moonlab NAME [args]", 1, true), "--help names subcommands")
end)

T.test("moonlab NAME args runs cli/NAME.lua with its arguments and exit status", function()
  -- a subcommand beside the working directory: moonlab/cli/ on package.path ("./?.lua")
  local dir = mkdir(T.tmpname())
  mkdir(dir .. "/moonlab")
  mkdir(dir .. "/moonlab/cli")
  write_file(dir .. "/moonlab/cli/greet.lua", [[
    return { summary = "says hello", run = function(args)
      print("hello " .. table.concat(args, ",") .. " " .. arg[0] .. " " .. type(ml))
      return tonumber(args[1]) or 0
    end }]])
  write_file(dir .. "/moonlab/cli/bare.lua", "return function(args) print('bare', #args) end")
  local out, err, code = sh(quote(ABS) .. " greet 3 x", dir)
  T.eq(err, "")
  T.eq(out, "hello 3,x greet table\n")
  T.eq(code, 3)
  out, err, code = sh(quote(ABS) .. " bare a b", dir)
  T.eq(out, "bare\t2\n")
  T.eq(code, 0)
  out = sh(quote(ABS) .. " help", dir)
  T.ok(out:find("greet +says hello") and out:find("\n  help ", 1, true), out)
end)

T.test("a file wins over a subcommand; foo.lua is always a script; unknown names list the subcommands", function()
  local dir = mkdir(T.tmpname())
  write_file(dir .. "/help", "print('the file named help')")
  local out, _, code = sh(quote(ABS) .. " help", dir)
  T.eq(out, "the file named help\n")
  T.eq(code, 0)
  local _, err
  _, err, code = sh(quote(ABS) .. " help.lua", dir)
  T.eq(code, 1)
  T.ok(err:find("cannot open help.lua", 1, true), err)
  out, err, code = sh(quote(ABS) .. " nosuchcommand")
  T.eq(code, 1)
  T.eq(out, "")
  T.ok(err:find("'nosuchcommand' is neither a file nor a subcommand; subcommands: ", 1, true), err)
  T.ok(err:find("help", 1, true), err)
  T.ok(not err:find("traceback", 1, true), err)
end)

T.test("lfs is reachable from the command", function()
  local out, err = sh(quote(ABS) .. [[ -e 'local lfs = require "lfs"; print(lfs._VERSION ~= nil, lfs.attributes(".", "mode"))']])
  T.eq(err, "")
  T.eq(out, "true\tdirectory\n")
end)

T.test("the script's folder is on package.path", function()
  local dir = mkdir(T.tmpname())
  write_file(dir .. "/mymodels.lua", "return {answer = 42}")
  write_file(dir .. "/recipe.lua", "print(require('mymodels').answer)")
  local elsewhere = mkdir(T.tmpname())
  local out, err, code = sh(quote(ABS) .. " " .. quote(dir .. "/recipe.lua"), elsewhere)
  T.eq(err, "")
  T.eq(out, "42\n")
  T.eq(code, 0)
  out = sh(quote(ABS) .. " recipe.lua", dir)
  T.eq(out, "42\n", "a relative script")
end)

T.test("a command found on PATH finds its library", function()
  local bindir = ABS:match("^(.*)/[^/]+$")
  local out, err = sh("PATH=" .. quote(bindir) .. ":$PATH " .. ABS:match("[^/]+$") ..
    " -e 'print(type(ml.nn), type(ml.optim.SGD))'", mkdir(T.tmpname()))
  T.eq(err, "")
  T.eq(out, "table\ttable\n")
end)

T.test("a copy without the library: ml.nn raises where it looked; C functions still work", function()
  local dir = mkdir(T.tmpname())
  mkdir(dir .. "/bin")
  assert(os.execute("cp " .. quote(ABS) .. " " .. quote(dir .. "/bin/moonlab")))
  local out, err, code = sh("MOONLAB_LUALIB= ./bin/moonlab -e 'print(ml.zeros(2):numel())' -e 'print(ml.nn)'", dir)
  T.eq(out, "2\n")
  T.eq(code, 1)
  T.ok(err:find("ml.nn: moonlab's Lua library (lualib) was not found; looked in " .. dir .. "/lualib, " .. dir .. "/share/moonlab/lualib", 1, true), err)
  T.ok(err:find("share/moonlab/lualib", 1, true), err)
  _, err, code = sh("./bin/moonlab help", dir)
  T.eq(code, 1)
  T.ok(err:find("was not found; looked in", 1, true), err)
  -- MOONLAB_LUALIB points it at a library
  out, err = sh("MOONLAB_LUALIB=" .. quote(ROOT .. "/lualib") .. " ./bin/moonlab -e 'print(type(ml.nn))'", dir)
  T.eq(err, "")
  T.eq(out, "table\n")
end)

T.test("MOONLAB_LUALIB set to a folder without the library is an error, never a silent fall-back", function()
  local out, err, code = sh("MOONLAB_LUALIB=/nonexistent/lualib " .. quote(ABS) .. " -e 'print(ml.nn)'", ROOT)
  T.eq(code, 1)
  T.ok(err:find("looked in /nonexistent/lualib ($MOONLAB_LUALIB, which has no moonlab/ folder)", 1, true), err)
end)

local has_make = os.execute("command -v make >/dev/null 2>&1") and not BIN:find("asan", 1, true)
if has_make then
  T.test("make install DESTDIR=... PREFIX=...: the installed command works from anywhere", function()
    local dest = mkdir(T.tmpname())
    local out, err, code = sh("make -s install DESTDIR=" .. quote(dest) .. " PREFIX=/opt/ml")
    T.eq(code, 0, err)
    local prefix = dest .. "/opt/ml"
    for _, f in ipairs({"/bin/moonlab", "/lib/moonlab/moonlab.so", "/share/moonlab/lualib/moonlab/cli/help.lua"}) do
      T.ok(lfs.attributes(prefix .. f), f .. " installed")
    end
    out, err, code = sh(quote(prefix .. "/bin/moonlab") ..
      " -e 'print(type(ml.nn.Linear), package.moonlab_lualib, require(\"lfs\") ~= nil)'", mkdir(T.tmpname()))
    T.eq(err, "")
    T.eq(out, "table\t" .. prefix .. "/share/moonlab/lualib\ttrue\n")
    out = sh("PATH=" .. quote(prefix .. "/bin") .. ":$PATH moonlab help")
    T.ok(out:find("\n  help ", 1, true), out)
    -- the module, for lua5.4's own require
    if os.execute("command -v lua5.4 >/dev/null 2>&1") then
      out, err = sh("LUA_CPATH=" .. quote(prefix .. "/lib/lua/5.4/?.so;;") ..
        " lua5.4 -e 'local ml = require \"moonlab\"; print(type(ml.nn), package.moonlab_lualib)'")
      T.eq(err, "")
      T.eq(out, "table\t" .. prefix .. "/share/moonlab/lualib\n")
    end
    sh("make -s uninstall DESTDIR=" .. quote(dest) .. " PREFIX=/opt/ml")
    T.ok(not lfs.attributes(prefix .. "/bin/moonlab"), "uninstall removes the command")
  end)
end
