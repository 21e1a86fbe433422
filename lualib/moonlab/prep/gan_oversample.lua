--- prep/gan_oversample.lua: prep.GANOversampler, new rows of a class from a
-- small generative adversarial network, with the samplers' API
-- (prep/resample.lua: fit_resample, sampling_strategy, seed).
--
--   local X2, y2 = prep.GANOversampler{epochs = 2000, seed = 0}:fit_resample(X, y)
--
-- One GAN per class to grow, trained on that class's rows only (the
-- issue's "trained on the minority class"), not one conditional GAN over
-- all classes: a conditional model sees the rare label in a few percent of
-- its batches, so its discriminator learns little about it and the
-- generated "minority" rows drift towards the majority (CTGAN needs its
-- training-by-sampling to fight this); per class, every batch is the class.
-- Each GAN: a generator MLP latent_dim -> hidden -> hidden -> d and a
-- discriminator MLP d -> hidden -> hidden -> 1 (LeakyReLU 0.2), trained on
-- the class's rows standardized by its own mean and deviation, with
-- BCE-with-logits losses (the non-saturating generator loss of Goodfellow
-- et al. 2014) and two Adam optimizers (betas 0.5, 0.999) alternating one
-- step each per batch. The generated rows are scaled back and, with clip
-- (the default), clipped to the class's range per feature, so a constant
-- feature stays constant and no value leaves what the class showed.
local ml = require "moonlab"
local class = require "moonlab.core.class"
local checks = require "moonlab.core.checks"
require "moonlab.prep.resample" -- defines prep.Sampler, the base class

local nn, optim = ml.nn, ml.optim
local fail, fmt = checks.fail, string.format
local Sampler = class.get("prep.Sampler")

local GANOversampler = Sampler:extend("prep.GANOversampler",
  "prep.GANOversampler([{sampling_strategy='auto', epochs=2000, batch_size=64, latent_dim=16, hidden=64, lr=1e-3, "
  .. "clip=true, seed=}]) — new rows of the smaller classes from a GAN trained on each class's rows (numeric features)")
GANOversampler.over, GANOversampler.numeric = true, true

function GANOversampler:init(opts)
  self:_setup(opts, { epochs = 2000, batch_size = 64, latent_dim = 16, hidden = 64, lr = 1e-3, clip = true })
  local fn = self.__name
  self.epochs = checks.integer(fn, "epochs", self.epochs, 1)
  self.batch_size = checks.integer(fn, "batch_size", self.batch_size, 2)
  self.latent_dim = checks.integer(fn, "latent_dim", self.latent_dim, 1)
  self.hidden = checks.integer(fn, "hidden", self.hidden, 1)
  self.lr = checks.number(fn, "lr", self.lr, 0)
  if self.lr == 0 then fail(fn .. ": lr must be > 0, got 0") end
  self.clip = checks.boolean(fn, "clip", self.clip)
end

-- Two hidden layers; the discriminator drops a quarter of its units, so that on a few dozen rows it cannot
-- memorize them (it did without: its loss fell to ~0.3 and the generator's samples drifted).
local function mlp(din, h, dout, drop)
  if drop then
    return nn.Sequential { nn.Linear(din, h), nn.LeakyReLU(0.2), nn.Dropout(drop), nn.Linear(h, h), nn.LeakyReLU(0.2),
      nn.Dropout(drop), nn.Linear(h, dout) }
  end
  return nn.Sequential { nn.Linear(din, h), nn.LeakyReLU(0.2), nn.Linear(h, h), nn.LeakyReLU(0.2), nn.Linear(h, dout) }
end

-- The class's rows as float32, standardized, and what undoes it (a zero deviation counts as 1).
local function standardize(Xc)
  local mean = Xc:mean(1, true)
  local sd = Xc:std(1, { unbiased = false, keepdim = true })
  sd = sd + sd:eq(0):to(sd:dtype())
  return ((Xc - mean) / sd):float(), { mean = mean, sd = sd, lo = Xc:min(1, true), hi = Xc:max(1, true) }
end

-- Trains one GAN on the standardized rows Z [n, d]; returns the generator (in eval mode) and the last losses.
function GANOversampler:_train(Z)
  local n, d = Z:shape()[1], Z:shape()[2]
  local zdim, bs = self.latent_dim, math.min(self.batch_size, n)
  local G, D = mlp(zdim, self.hidden, d), mlp(d, self.hidden, 1, 0.25)
  local adam = { lr = self.lr, betas = { 0.5, 0.999 } }
  local optG, optD = optim.Adam(G:parameters(), adam), optim.Adam(D:parameters(), adam)
  local bce = nn.BCEWithLogitsLoss()
  local ones, zeros = ml.ones({ bs, 1 }), ml.zeros({ bs, 1 })
  local lossD, lossG
  for _ = 1, self.epochs do
    local perm = ml.randperm(n)
    for start = 1, n - bs + 1, bs do -- full batches only: the losses' targets keep one shape
      local real = Z:index_select(1, perm:narrow(1, start, bs))
      local fake = ml.no_grad(function() return G(ml.randn({ bs, zdim })) end)
      optD:zero_grad()
      lossD = bce(D(real), ones) + bce(D(fake), zeros)
      lossD:backward()
      optD:step()
      optG:zero_grad()
      lossG = bce(D(G(ml.randn({ bs, zdim }))), ones) -- non-saturating: -log D(G(z))
      lossG:backward()
      optG:step()
    end
  end
  G:eval()
  return G, lossD:item(), lossG:item()
end

-- count rows from the generator of a fitted class, in the scale (and dtype) of X.
local function generate(fitted, count, zdim, clip, dtype)
  local out = ml.no_grad(function() return fitted.G(ml.randn({ count, zdim })) end)
  local s = fitted.scale
  out = out:to(s.mean:dtype()) * s.sd + s.mean
  if clip then out = ml.minimum(ml.maximum(out, s.lo), s.hi) end
  return out:to(dtype)
end

function GANOversampler:_resample_rows(fn, X, y, plan)
  local parts_x, parts_y = { X }, { y }
  self.generators_, self.losses_ = {}, {}
  for _, p in ipairs(plan) do
    local c, count = p[1], p[2]
    if count > 0 then
      local Xc = X:index_select(1, ml.arange(1, y:numel() + 1):masked_select(y:eq(c)))
      if Xc:shape()[1] < 2 then
        fail(fmt("%s: class %s has %d row; a GAN needs at least 2 rows of a class to learn from", fn, tostring(c), Xc:shape()[1]))
      end
      local Z, scale = standardize(Xc)
      local G, ld, lg = self:_train(Z)
      local fitted = { G = G, scale = scale }
      self.generators_[c], self.losses_[c] = fitted, { discriminator = ld, generator = lg }
      parts_x[#parts_x + 1] = generate(fitted, count, self.latent_dim, self.clip, X:dtype())
      parts_y[#parts_y + 1] = ml.full({ count }, c, { dtype = "int64" })
    end
  end
  return parts_x, parts_y
end

--- gan:sample(c, n) -> X [n, d]: n more rows of class c from its generator (after fit_resample)
function GANOversampler:sample(c, n)
  local fn = self.__name .. ":sample"
  if not self.generators_ then fail(fn .. ": call fit_resample first; no generator is trained yet") end
  local fitted = self.generators_[c]
  if not fitted then
    local have = {}
    for k in pairs(self.generators_) do have[#have + 1] = tostring(k) end
    table.sort(have)
    fail(fmt("%s: no generator for class %s (trained for: %s)", fn, tostring(c), #have > 0 and table.concat(have, ", ") or "none"))
  end
  n = checks.integer(fn, "n", n, 0)
  local dtype = fitted.scale.mean:dtype()
  if n == 0 then return ml.zeros({ 0, fitted.scale.mean:shape()[2] }, { dtype = dtype }) end
  return generate(fitted, n, self.latent_dim, self.clip, dtype)
end

function GANOversampler:extra_repr()
  return fmt("%s, epochs=%d, batch_size=%d, latent_dim=%d, hidden=%d, lr=%g", Sampler.extra_repr(self), self.epochs,
    self.batch_size, self.latent_dim, self.hidden, self.lr)
end

ml.doc(GANOversampler.init, "GANOversampler:init(opts) — the constructor behind prep.GANOversampler{...}: checks and keeps the options")
ml.doc(GANOversampler.sample, "gan:sample(c, n) -> X [n, d] — n more rows of class c from the generator fit_resample trained")
ml.doc(GANOversampler.extra_repr, "GANOversampler:extra_repr() -> string — the options tostring shows")

return { GANOversampler = GANOversampler }
