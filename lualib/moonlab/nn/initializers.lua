--- nn.init: weight initializers, in place, as PyTorch's torch.nn.init.
--
-- Every function fills its tensor in place inside ml.no_grad and returns it;
-- random ones draw from moonlab's one generator, so the same ml.seed gives
-- the same weights. Fans follow PyTorch: for a weight of shape [out, in, k...]
-- fan_in = in * prod(k), fan_out = out * prod(k).
--
--   nn.init.kaiming_uniform_(w, {a = 0, mode = "fan_in", nonlinearity = "leaky_relu"})
--       U(-b, b), b = gain * sqrt(3 / fan)
--   nn.init.kaiming_normal_(w, {a, mode, nonlinearity})     N(0, (gain / sqrt(fan))^2)
--   nn.init.xavier_uniform_(w, {gain = 1})   U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))
--   nn.init.xavier_normal_(w, {gain = 1})    N(0, gain^2 * 2 / (fan_in + fan_out))
--   nn.init.normal_(t, {mean = 0, std = 1}), nn.init.uniform_(t, {a = 0, b = 1})
--   nn.init.zeros_(t), nn.init.ones_(t), nn.init.constant_(t, v)
--   nn.init.calculate_gain(nonlinearity, [param])
local ml = require "moonlab"

local init = {}
local doc = ml.doc
local checks = require "moonlab.core.checks"
local fail, check_opts = checks.fail, checks.options



local function check_tensor(fn, t)
  if not ml.is_tensor(t) then fail(fn .. ": expected a tensor, got " .. type(t)) end
  local dt = t:dtype()
  if dt ~= "float32" and dt ~= "float64" then fail(fn .. ": expected a float tensor, got " .. dt) end
end

local function in_place(f) return ml.no_grad(f) end

--- calculate_gain(nonlinearity, [param]) -> the recommended gain for that nonlinearity
function init.calculate_gain(nonlinearity, param)
  local n = nonlinearity
  if type(n) ~= "string" then
    fail("nn.init.calculate_gain: expected the name of a nonlinearity ('relu', 'tanh', 'leaky_relu', ...), got " .. type(n))
  end
  if n == "linear" or n == "identity" or n == "sigmoid" or n:match("^conv") then return 1 end
  if n == "tanh" then return 5 / 3 end
  if n == "relu" then return math.sqrt(2) end
  if n == "leaky_relu" then
    local slope = param
    if slope == nil then slope = 0.01 end
    if type(slope) ~= "number" then fail("nn.init.calculate_gain: negative slope must be a number, got " .. type(slope)) end
    return math.sqrt(2 / (1 + slope * slope))
  end
  if n == "selu" then return 3 / 4 end
  checks.unknown("nn.init.calculate_gain", "nonlinearity", n,
    { "linear", "identity", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu" })
end

--- fans(t) -> fan_in, fan_out of a weight tensor (2 or more dimensions)
function init.fans(t, fn)
  if type(fn) ~= "string" then fn = nil end -- the caller's name, for the library's initializers
  if not ml.is_tensor(t) then fail((fn or "nn.init.fans") .. ": expected a tensor, got " .. type(t)) end
  local d = t:dim()
  if d < 2 then
    fail((fn or "nn.init.fans") .. ": fan in and fan out need a tensor with at least 2 dimensions, got " .. d)
  end
  local receptive = 1
  for i = 3, d do receptive = receptive * t:size(i) end
  return t:size(2) * receptive, t:size(1) * receptive
end

local function kaiming_std(fn, t, opts)
  opts = check_opts(fn, opts, { "a", "mode", "nonlinearity" })
  local mode = opts.mode or "fan_in"
  if mode ~= "fan_in" and mode ~= "fan_out" then
    fail(fn .. ": mode must be 'fan_in' or 'fan_out', got '" .. tostring(mode) .. "'")
  end
  local fan_in, fan_out = init.fans(t, fn)
  local fan = mode == "fan_in" and fan_in or fan_out
  local gain = init.calculate_gain(opts.nonlinearity or "leaky_relu", opts.a or 0)
  if fan == 0 then return 0 end
  return gain / math.sqrt(fan)
end

--- kaiming_uniform_(t, {a=0, mode="fan_in", nonlinearity="leaky_relu"}): He uniform, in place
function init.kaiming_uniform_(t, opts)
  check_tensor("nn.init.kaiming_uniform_", t)
  local bound = math.sqrt(3) * kaiming_std("nn.init.kaiming_uniform_", t, opts)
  return in_place(function() return ml._nn.uniform_(t, -bound, bound) end)
end

--- kaiming_normal_(t, {a=0, mode="fan_in", nonlinearity="leaky_relu"}): He normal, in place
function init.kaiming_normal_(t, opts)
  check_tensor("nn.init.kaiming_normal_", t)
  local std = kaiming_std("nn.init.kaiming_normal_", t, opts)
  return in_place(function() return ml._nn.normal_(t, 0, std) end)
end

local function xavier_std(fn, t, opts)
  opts = check_opts(fn, opts, { "gain" })
  local fan_in, fan_out = init.fans(t, fn)
  return (opts.gain or 1) * math.sqrt(2 / math.max(fan_in + fan_out, 1))
end

--- xavier_uniform_(t, {gain=1}): Glorot uniform, in place
function init.xavier_uniform_(t, opts)
  check_tensor("nn.init.xavier_uniform_", t)
  local a = math.sqrt(3) * xavier_std("nn.init.xavier_uniform_", t, opts)
  return in_place(function() return ml._nn.uniform_(t, -a, a) end)
end

--- xavier_normal_(t, {gain=1}): Glorot normal, in place
function init.xavier_normal_(t, opts)
  check_tensor("nn.init.xavier_normal_", t)
  local std = xavier_std("nn.init.xavier_normal_", t, opts)
  return in_place(function() return ml._nn.normal_(t, 0, std) end)
end

--- normal_(t, {mean=0, std=1}): fills with N(mean, std^2), in place
function init.normal_(t, opts)
  check_tensor("nn.init.normal_", t)
  opts = check_opts("nn.init.normal_", opts, { "mean", "std" })
  local mean, std = opts.mean or 0, opts.std or 1
  if std < 0 then fail("nn.init.normal_: std must be non-negative, got " .. std) end
  return in_place(function() return ml._nn.normal_(t, mean, std) end)
end

--- uniform_(t, {a=0, b=1}): fills with U(a, b), in place
function init.uniform_(t, opts)
  check_tensor("nn.init.uniform_", t)
  opts = check_opts("nn.init.uniform_", opts, { "a", "b" })
  local a, b = opts.a or 0, opts.b or 1
  if b < a then fail(string.format("nn.init.uniform_: a (%g) must not exceed b (%g)", a, b)) end
  return in_place(function() return ml._nn.uniform_(t, a, b) end)
end

--- constant_(t, v): fills with v, in place
function init.constant_(t, v)
  if not ml.is_tensor(t) then fail("nn.init.constant_: expected a tensor, got " .. type(t)) end
  if type(v) ~= "number" then fail("nn.init.constant_: value must be a number, got " .. type(v)) end
  return in_place(function() return t:fill_(v) end)
end

--- zeros_(t): fills with 0, in place
function init.zeros_(t)
  if not ml.is_tensor(t) then fail("nn.init.zeros_: expected a tensor, got " .. type(t)) end
  return in_place(function() return t:fill_(0) end)
end

--- ones_(t): fills with 1, in place
function init.ones_(t)
  if not ml.is_tensor(t) then fail("nn.init.ones_: expected a tensor, got " .. type(t)) end
  return in_place(function() return t:fill_(1) end)
end

doc(init.calculate_gain, "nn.init.calculate_gain(nonlinearity, [param]) -> number — recommended gain (relu: sqrt(2), tanh: 5/3, leaky_relu: sqrt(2/(1+slope^2)))")
doc(init.fans, "nn.init.fans(t) -> fan_in, fan_out — of a weight [out, in, k...]: in*prod(k), out*prod(k)")
doc(init.kaiming_uniform_, "nn.init.kaiming_uniform_(t, [{a=0, mode='fan_in', nonlinearity='leaky_relu'}]) -> t — He uniform U(-b, b), b = gain*sqrt(3/fan), in place")
doc(init.kaiming_normal_, "nn.init.kaiming_normal_(t, [{a=0, mode='fan_in', nonlinearity='leaky_relu'}]) -> t — He normal N(0, gain^2/fan), in place")
doc(init.xavier_uniform_, "nn.init.xavier_uniform_(t, [{gain=1}]) -> t — Glorot uniform U(-b, b), b = gain*sqrt(6/(fan_in+fan_out)), in place")
doc(init.xavier_normal_, "nn.init.xavier_normal_(t, [{gain=1}]) -> t — Glorot normal N(0, gain^2*2/(fan_in+fan_out)), in place")
doc(init.normal_, "nn.init.normal_(t, [{mean=0, std=1}]) -> t — fills with N(mean, std^2), in place")
doc(init.uniform_, "nn.init.uniform_(t, [{a=0, b=1}]) -> t — fills with U(a, b), in place")
doc(init.constant_, "nn.init.constant_(t, v) -> t — fills with v, in place")
doc(init.zeros_, "nn.init.zeros_(t) -> t — fills with 0, in place")
doc(init.ones_, "nn.init.ones_(t) -> t — fills with 1, in place")
doc(init, "nn.init — weight initializers (kaiming_*, xavier_*, normal_, uniform_, zeros_, ones_, constant_), in place; the same ml.seed gives the same weights")

return { init = init }
