--- callbacks.CSVLogger: one row per epoch (the epoch, then the logs by name).
local ml = require "moonlab"
local checks = require "moonlab.core.checks"
local format = require "moonlab.core.format"
local base = require "moonlab.callbacks.base"
local lfs = require "lfs"

local CSVLogger = base.Callback:extend("CSVLogger")
CSVLogger.repr_fields = { "path", "append", "sep" }

--- CSVLogger(path, [opts]) | CSVLogger{path, append=auto, separator=","}: one row per epoch; appends when fit resumes.
function CSVLogger:init(a, b)
  local o = base.path_options("CSVLogger", a, b, { "path", "append", "separator" })
  if o.append ~= nil and type(o.append) ~= "boolean" then checks.fail("CSVLogger: append must be a boolean, got " .. checks.show(o.append)) end
  if o.separator ~= nil and (type(o.separator) ~= "string" or o.separator == "") then
    checks.fail("CSVLogger: separator must be a non-empty string, got " .. checks.show(o.separator))
  end
  base.check_dir("CSVLogger", "path", o.path)
  self.path, self.append, self.sep = o.path, o.append, o.separator or ","
end

local function cell(v, sep)
  if type(v) == "number" then return format.exact(v) end
  local s = tostring(v)
  if s:find(sep, 1, true) or s:find('"', 1, true) or s:find("\n", 1, true) then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- The columns of an existing file's header (after "epoch"), or nil.
local function header_keys(path, sep)
  if lfs.attributes(path, "mode") ~= "file" then return nil end -- not there, or not a file to read (a FIFO blocks)
  local f = io.open(path, "r")
  if not f then return nil end
  local head = f:read("l")
  f:close()
  if not head or head == "" then return nil end
  local keys = {}
  for k in (head .. sep):gmatch("(.-)" .. sep:gsub("%p", "%%%0")) do keys[#keys + 1] = k end
  if keys[1] ~= "epoch" then return nil end
  table.remove(keys, 1)
  return keys
end

function CSVLogger:on_train_begin()
  local append = self.append
  if append == nil then append = self.ctx ~= nil and self.ctx.resumed end
  local mode = lfs.attributes(self.path, "mode")
  if mode == "named pipe" or mode == "directory" or mode == "socket" then
    -- opening a FIFO waits for a reader; a directory or a socket cannot be written as a file
    error(string.format("CSVLogger: cannot open '%s': not a regular file (%s)", self.path,
      mode == "named pipe" and "a FIFO" or "a " .. mode), 0)
  end
  self.keys = append and header_keys(self.path, self.sep) or nil
  local f, err = io.open(self.path, append and "a" or "w")
  if not f then error("CSVLogger: cannot open '" .. self.path .. "': " .. tostring(err), 0) end
  self.file = f
end

function CSVLogger:on_epoch_end(epoch, logs)
  local f = self.file
  if not f then return end
  if not self.keys then
    local keys = {}
    for k in pairs(logs) do if type(k) == "string" then keys[#keys + 1] = k end end
    table.sort(keys)
    self.keys = keys
    f:write("epoch", #keys > 0 and self.sep or "", table.concat(keys, self.sep), "\n")
  end
  local row = { tostring(epoch) }
  for _, k in ipairs(self.keys) do row[#row + 1] = logs[k] == nil and "" or cell(logs[k], self.sep) end
  f:write(table.concat(row, self.sep), "\n")
  f:flush()
end

function CSVLogger:on_train_end()
  if self.file then self.file:close(); self.file = nil end
end

ml.doc(CSVLogger, "callbacks.CSVLogger(path, [opts]) | CSVLogger{path, append, separator=\",\"} — writes one row per epoch: epoch and the logs by name; appends when fit resumes (append unset)")
ml.doc(CSVLogger.init, "CSVLogger:init(path | {path, ...}, [opts]) — the constructor (CSVLogger(...) calls it); the file's directory must exist")
ml.doc(CSVLogger.on_train_begin, "csv:on_train_begin() — opens the file: appends (keeping its columns) with append or a resumed fit, else starts it anew")
ml.doc(CSVLogger.on_epoch_end, "csv:on_epoch_end(epoch, logs) — writes a row: the epoch, then the logs by name (a header first)")
ml.doc(CSVLogger.on_train_end, "csv:on_train_end() — closes the file")

return CSVLogger
