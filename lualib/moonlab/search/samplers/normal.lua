--- search/samplers/normal.lua: the standard normal's density and CDF for the
-- model-based samplers (TPE's truncated Parzen kernels, GP's expected improvement).
local ml = require "moonlab"

local exp, sqrt = math.exp, math.sqrt
local M = {}

local INV_SQRT_2PI = 1 / sqrt(2 * math.pi)

--- normal.pdf(z) -> the standard normal density at z
function M.pdf(z) return exp(-0.5 * z * z) * INV_SQRT_2PI end

--- normal.cdf(z) -> the standard normal CDF through erf (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7)
function M.cdf(z)
  local x = z / sqrt(2)
  local s = x < 0 and -1 or 1
  x = math.abs(x)
  local t = 1 / (1 + 0.3275911 * x)
  local y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x)
  return 0.5 * (1 + s * y)
end

ml.doc(M.pdf, "normal.pdf(z) -> number — the standard normal density")
ml.doc(M.cdf, "normal.cdf(z) -> number — the standard normal CDF (|error| < 1.5e-7)")

return M
