-- QA report (issue 7), the training side: FIFOs in the readers, Lua optimizer
-- mistakes, fit's arguments, ModelCheckpoint's templated directories, the
-- data sets' and metrics' errors, schedule state. Each test failed before its fix.
local lfs = require "lfs"
local nn, cb = ml.nn, ml.callbacks
local dir = T.tmpdir()
local BIN, quote = T.BIN, T.quote

-- Runs code in a child under `timeout 5` (a FIFO regression fails instead of hanging); -> exit code, output.
local function child(code)
  local out = T.tmpname()
  local _, _, rc = os.execute(string.format("timeout 5 %s -e %s >%s 2>&1 </dev/null", BIN, quote(code), quote(out)))
  local msg = T.read_file(out)
  os.remove(out)
  return rc, msg
end

-- ---- 9: FIFOs ----------------------------------------------------------------------
T.test("QA 9: data.fashion_mnist on a folder of FIFOs is refused at once", function()
  local d = dir .. "/fifos"
  assert(lfs.mkdir(d))
  for _, split in ipairs({ "train", "t10k" }) do
    for _, n in ipairs({ "-images-idx3-ubyte", "-labels-idx1-ubyte" }) do
      if not os.execute("mkfifo " .. quote(d .. "/" .. split .. n .. ".gz") .. " 2>/dev/null") then return end
    end
  end
  local rc, msg = child(string.format("local ok, e = pcall(ml.data.fashion_mnist, {dir = %q}); io.write(tostring(e))", d))
  T.ok(rc ~= 124, "data.fashion_mnist blocked on a FIFO")
  T.ok(msg:find("data.fashion_mnist: '" .. d .. "/train-images-idx3-ubyte.gz' is not a regular file (a FIFO)", 1, true), msg)
end)

T.test("QA 9: CSVLogger{fifo, append = true} in fit is refused at once", function()
  local fifo = dir .. "/log.fifo"
  if not os.execute("mkfifo " .. quote(fifo) .. " 2>/dev/null") then return end
  local code = string.format([[local m = ml.nn.Linear(2, 1); m:compile{optimizer = "sgd", loss = "mse"}
    local ok, e = pcall(m.fit, m, ml.zeros(4, 2), ml.zeros(4, 1), {epochs = 1, verbose = 0,
      callbacks = {ml.callbacks.CSVLogger{%q, append = true}}}); io.write(tostring(e))]], fifo)
  local rc, msg = child(code)
  T.ok(rc ~= 124, "CSVLogger blocked on a FIFO")
  T.ok(msg:find("CSVLogger: cannot open '" .. fifo .. "': not a regular file (a FIFO)", 1, true), msg)
end)
