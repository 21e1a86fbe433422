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

-- erfc with a relative error below 1.2e-7 everywhere (Numerical Recipes' erfcc), so tail masses stay accurate
local function erfc(x)
  local z = math.abs(x)
  local t = 1 / (1 + 0.5 * z)
  local r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
  return x >= 0 and r or 2 - r
end

local SQRT1_2 = 1 / sqrt(2)

--- normal.mass(a, b) -> P(a < Z < b) for a standard normal Z, accurate in the tails (both ends beyond 0 use erfc)
function M.mass(a, b)
  if a >= 0 then return 0.5 * (erfc(a * SQRT1_2) - erfc(b * SQRT1_2)) end
  if b <= 0 then return 0.5 * (erfc(-b * SQRT1_2) - erfc(-a * SQRT1_2)) end
  return 1 - 0.5 * erfc(-a * SQRT1_2) - 0.5 * erfc(b * SQRT1_2)
end

ml.doc(M.mass, "normal.mass(a, b) -> number — P(a < Z < b) for a standard normal, accurate in the tails")
ml.doc(M.pdf, "normal.pdf(z) -> number — the standard normal density")
ml.doc(M.cdf, "normal.cdf(z) -> number — the standard normal CDF (|error| < 1.5e-7)")

return M
