-- A DCGAN on Fashion-MNIST: a generator (Linear to 7x7 feature maps, then
-- two ConvTranspose2d that double the size to 14x14 and 28x28, batch norm,
-- ReLU, Tanh) against a discriminator (two stride-2 Conv2d, LeakyReLU 0.2,
-- a Linear to one logit), both trained with Adam(lr 2e-4, betas 0.5, 0.999)
-- as Radford et al. (2015) do, with the non-saturating loss. Each epoch
-- prints the two losses and D's mean opinion of real and generated images;
-- at the end 64 samples from a fixed noise go to a PNG grid (ml.image).
--   moonlab examples/gan.lua [epochs=5] [limit=20000 training images] [out=gan_samples.png]
--     [loss=non_saturating | minimax | wgan-gp] [loop=train | hand] [batch=64] [width=32] [seed=0]
-- loop=train runs nn.gan.train; loop=hand runs the same alternation written
-- out below (hand_epoch). loss=wgan-gp trains a Wasserstein critic with the
-- gradient penalty (5 critic steps per generator step, Adam betas 0, 0.9, lr 1e-4,
-- as Gulrajani et al. 2017); it needs ml.grad.
local nn, optim, gan = ml.nn, ml.optim, ml.nn.gan
local o = ml.overrides
local epochs, limit = o.epochs or 5, o.limit or 20000
local out, batch, width, nz = o.out or "gan_samples.png", o.batch or 64, o.width or 32, 100
local kind = o.loss or "non_saturating"
local wgan = kind == "wgan-gp"
if wgan then kind = "wasserstein" end

ml.seed(o.seed or 0)
local train = ml.data.fashion_mnist()
local x = train.x:narrow(1, 1, math.min(limit, train.x:size(1))):reshape(-1, 1, 28, 28) * 2 - 1 -- [-1, 1], as Tanh
local loader = ml.data.loader(x, { batch_size = batch, shuffle = true, seed = 0, drop_last = true })

-- DCGAN's initialization: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02)
local function dcgan_init(model)
  ml.no_grad(function()
    model:apply(function(m)
      local name = m.__name or ""
      if name:match("Conv") then m.weight:copy_(ml.randn(m.weight:shape()) * 0.02) end
      if name:match("BatchNorm") then
        m.weight:copy_(ml.randn(m.weight:shape()) * 0.02 + 1)
        m.bias:zero_()
      end
    end)
  end)
  return model
end

local w = width
local G = dcgan_init(nn.Sequential {
  nn.Linear(nz, 2 * w * 7 * 7, { bias = false }), nn.Reshape(2 * w, 7, 7), nn.BatchNorm2d(2 * w), nn.ReLU(), -- (N, 2w, 7, 7)
  nn.ConvTranspose2d(2 * w, w, 4, { stride = 2, padding = 1, bias = false }), nn.BatchNorm2d(w), nn.ReLU(), -- (N, w, 14, 14)
  nn.ConvTranspose2d(w, 1, 4, { stride = 2, padding = 1 }), nn.Tanh(), -- (N, 1, 28, 28)
})
local D = dcgan_init(nn.Sequential {
  nn.Conv2d(1, w, 4, { stride = 2, padding = 1 }), nn.LeakyReLU(0.2), -- (N, w, 14, 14)
  nn.Conv2d(w, 2 * w, 4, { stride = 2, padding = 1 }), nn.LeakyReLU(0.2), -- (N, 2w, 7, 7)
  nn.Flatten(), nn.Linear(2 * w * 7 * 7, 1), -- one logit (a critic score for wgan-gp)
})
print(G)
print(D)

local lr, betas = wgan and 1e-4 or 2e-4, wgan and { 0.0, 0.9 } or { 0.5, 0.999 }
local g_opt = optim.Adam(G:parameters(), { lr = lr, betas = betas })
local d_opt = optim.Adam(D:parameters(), { lr = lr, betas = betas })
local fixed_z = ml.randn(64, nz)

-- The alternation gan.train runs, written out: per batch one D step on real
-- images and on generated ones detached from G (so this step moves only D),
-- then one G step through the updated D (every n_critic-th batch).
local n_critic = wgan and 5 or 1
local function hand_epoch()
  G:train()
  D:train()
  local s = { d_loss = 0, g_loss = 0, d_real = 0, d_fake = 0, nd = 0, ng = 0 }
  for real in loader:iter() do
    local fake = G(ml.randn(real:size(1), nz))
    d_opt:zero_grad()
    local r, f = D(real), D(fake:detach())
    local d_loss = gan.discriminator_loss(r, f, { kind = kind })
    if wgan then d_loss = d_loss + gan.gradient_penalty(D, real, fake:detach(), { weight = 10 }) end
    d_loss:backward()
    d_opt:step()
    s.nd = s.nd + 1
    s.d_loss = s.d_loss + d_loss:item()
    s.d_real = s.d_real + (wgan and r or r:sigmoid()):mean():item()
    s.d_fake = s.d_fake + (wgan and f or f:sigmoid()):mean():item()
    if s.nd % n_critic == 0 then
      g_opt:zero_grad()
      local g_loss = gan.generator_loss(D(fake), { kind = kind })
      g_loss:backward()
      g_opt:step()
      s.ng, s.g_loss = s.ng + 1, s.g_loss + g_loss:item()
    end
  end
  G:eval()
  D:eval()
  return { d_loss = s.d_loss / s.nd, g_loss = s.ng > 0 and s.g_loss / s.ng or 0 / 0, d_real = s.d_real / s.nd, d_fake = s.d_fake / s.nd }
end

local t0 = ml.now()
local function report(epoch, logs)
  local g = logs.g_loss == logs.g_loss and string.format("%.4f", logs.g_loss) or "-" -- NaN: no G step (fewer batches than n_critic)
  print(string.format("epoch %d  D loss %.4f  G loss %s  D(x) %.3f  D(G(z)) %.3f  (%.1fs)", epoch, logs.d_loss,
    g, logs.d_real, logs.d_fake, ml.now() - t0))
end
if (o.loop or "train") == "hand" then
  for epoch = 1, epochs do report(epoch, hand_epoch()) end
else
  gan.train { generator = G, discriminator = D, g_optimizer = g_opt, d_optimizer = d_opt, data = loader, latent = nz,
    loss = kind, n_critic = n_critic, gp_weight = wgan and 10 or 0, epochs = epochs, on_epoch = report }
end

-- Samples from the fixed noise, in eval mode (batch norm's running statistics), [-1, 1] mapped onto [0, 1].
local samples = ml.no_grad(function() G:eval() return G(fixed_z) end)
ml.image.save_png(samples, out, { nrow = 8, normalize = true, value_range = { -1, 1 } })
print(string.format("%d images, %d epochs in %.1fs; 64 samples written to %s", x:size(1), epochs, ml.now() - t0, out))
