--- moonlab.core.rng: small seeded random streams in Lua (splitmix64), for
-- policy code that draws a few numbers and must not disturb ml's global
-- generator or depend on the order other code draws in: a search's sampler,
-- the seed of trial k. Tensors of random numbers come from ml.rand / ml.randn.
--
--   local r = rng.new(42)
--   r:uniform()  r:normal()  r:integer(1, 6)  r:choice(list)
--   rng.derive(seed, k)       -- a new seed for the k-th child of seed (trial k of a search)
local ml = require "moonlab"

local rng = {}
local Stream = {}
Stream.__index = Stream

local GOLDEN = -7046029254386353131 -- 0x9E3779B97F4A7C15 as a signed 64-bit integer

-- splitmix64's output function (Steele, Lea and Flood 2014): a 64-bit mix
local function mix(z)
  z = (z ~ (z >> 30)) * -4658895280553007687 -- 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * -7723592293110705685 -- 0x94D049BB133111EB
  return z ~ (z >> 31)
end

--- rng.new(seed) -> a stream (seed: an integer)
function rng.new(seed)
  if math.type(seed) ~= "integer" then
    if type(seed) == "number" and seed == math.floor(seed) then seed = math.tointeger(seed)
    else error("rng.new: the seed must be an integer, got " .. tostring(seed), 2) end
  end
  return setmetatable({ state = mix(seed + GOLDEN) }, Stream)
end

--- rng.derive(seed, k) -> integer: the seed of child k of seed (independent of every other child)
function rng.derive(seed, k)
  return mix(mix(seed + GOLDEN) + k * GOLDEN) & 0x7FFFFFFF
end

--- s:next64() -> a uniformly random 64-bit integer
function Stream:next64()
  self.state = self.state + GOLDEN
  return mix(self.state)
end

--- s:uniform([a=0, b=1]) -> a float in [a, b)
function Stream:uniform(a, b)
  local u = ((self:next64() >> 11) & 0x1FFFFFFFFFFFFF) * (1.0 / 9007199254740992.0) -- 53 bits
  if a then return a + (b - a) * u end
  return u
end

--- s:normal([mu=0, sigma=1]) -> a normal draw (Box-Muller)
function Stream:normal(mu, sigma)
  local u1 = 1 - self:uniform()
  local u2 = self:uniform()
  local z = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
  return (mu or 0) + (sigma or 1) * z
end

--- s:integer(lo, hi) -> an integer in [lo, hi]
function Stream:integer(lo, hi)
  local span = hi - lo + 1
  return lo + math.floor(self:uniform() * span)
end

--- s:choice(list) -> one element of list, uniformly
function Stream:choice(list)
  return list[self:integer(1, #list)]
end

--- s:shuffle(list) -> list shuffled in place (Fisher-Yates)
function Stream:shuffle(list)
  for i = #list, 2, -1 do
    local j = self:integer(1, i)
    list[i], list[j] = list[j], list[i]
  end
  return list
end

do
  local doc = ml.doc
  doc(rng.new, "rng.new(seed) -> stream — a seeded splitmix64 stream: s:uniform([a, b]), s:normal([mu, sigma]), s:integer(lo, hi), s:choice(list), s:shuffle(list)")
  doc(rng.derive, "rng.derive(seed, k) -> integer — the seed of child k of seed (trial k of a search), independent of the others")
end

return rng
