--- moonlab.serve.request_log: a sampled log of requests as JSON lines
-- {"time", "model", "version", "inputs", "predictions"}, for later retraining.
--
-- Each worker keeps its own buffer (no lock on the request path) and appends it
-- with ONE write on an unbuffered O_APPEND file when it holds BUFFER_BYTES or is
-- FLUSH_S old, so lines of several workers never interleave. The buffer is also
-- written when the worker's state closes (its __gc), so a graceful stop loses nothing.
local ml = require "moonlab"

local fmt = string.format
local request_log = {}

local BUFFER_BYTES = 1 << 16
local FLUSH_S = 1.0

local Log = {}
Log.__index = Log

local function flush(self)
  if #self.lines == 0 then return end
  local f = io.open(self.path, "a")
  if f then
    f:setvbuf("no")
    f:write(table.concat(self.lines))
    f:close()
  elseif not self.warned then
    self.warned = true
    io.stderr:write(fmt("serve: request log: cannot append to '%s'\n", self.path))
  end
  self.lines, self.bytes, self.last = {}, 0, ml.now()
end

--- request_log.open(path, [sample=1]) -> log: a worker's sampled buffer of request lines
function request_log.open(path, sample)
  local self = setmetatable({ path = path, sample = sample or 1, lines = {}, bytes = 0, last = ml.now() }, Log)
  -- flushed when the state closes (a Lua table's __gc needs a proxy in 5.4: setmetatable on a table works)
  self.guard = setmetatable({}, { __gc = function() flush(self) end })
  return self
end

--- log:record(model, version, inputs, predictions): keeps the request with probability sample
-- (inputs: the decoded rows as sent, or a tensor of numeric rows)
function Log:record(model, version, inputs, predictions)
  if self.sample < 1 and math.random() >= self.sample then return end
  if ml.is_tensor(inputs) then inputs = inputs:tolist() end
  local ok, line = pcall(ml.json.encode, {
    time = os.time(), model = model, version = version,
    inputs = inputs, predictions = predictions,
  })
  if not ok then return end -- a value JSON cannot hold (NaN): the line is skipped, never the request
  self.lines[#self.lines + 1] = line .. "\n"
  self.bytes = self.bytes + #line + 1
  if self.bytes >= BUFFER_BYTES or ml.now() - self.last >= FLUSH_S then flush(self) end
end

--- log:flush(): writes what the buffer holds now
function Log:flush() flush(self) end

ml.doc(request_log.open, "serve.request_log.open(path, [sample=1]) -> log — a worker's buffered, sampled JSON-lines request log; log:record(model, version, inputs, predictions), log:flush()")

return request_log
