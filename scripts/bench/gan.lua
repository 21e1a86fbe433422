-- The DCGAN step of examples/gan.lua (width 32, batch 64), timed: one D step
-- on real and detached fake images, one G step through D, Adam on both
-- (lr 2e-4, betas 0.5, 0.999), non-saturating loss. scripts/bench/gan.sh
-- runs it beside scripts/bench/gan.py.
--   moonlab scripts/bench/gan.lua THREADS STEPS SEED
local threads, steps, seed = tonumber(arg[1] or 1), tonumber(arg[2] or 50), tonumber(arg[3] or 0)
ml.threads(threads)
ml.seed(seed)
local nn, gan = ml.nn, ml.nn.gan
local w, nz, batch = 32, 100, 64
local G = nn.Sequential {
  nn.Linear(nz, 2 * w * 7 * 7, { bias = false }), nn.Reshape(2 * w, 7, 7), nn.BatchNorm2d(2 * w), nn.ReLU(),
  nn.ConvTranspose2d(2 * w, w, 4, { stride = 2, padding = 1, bias = false }), nn.BatchNorm2d(w), nn.ReLU(),
  nn.ConvTranspose2d(w, 1, 4, { stride = 2, padding = 1 }), nn.Tanh(),
}
local D = nn.Sequential {
  nn.Conv2d(1, w, 4, { stride = 2, padding = 1 }), nn.LeakyReLU(0.2),
  nn.Conv2d(w, 2 * w, 4, { stride = 2, padding = 1 }), nn.LeakyReLU(0.2),
  nn.Flatten(), nn.Linear(2 * w * 7 * 7, 1),
}
local g_opt = ml.optim.Adam(G:parameters(), { lr = 2e-4, betas = { 0.5, 0.999 } })
local d_opt = ml.optim.Adam(D:parameters(), { lr = 2e-4, betas = { 0.5, 0.999 } })
local real = ml.rand(batch, 1, 28, 28) * 2 - 1
local function step()
  local fake = G(ml.randn(batch, nz))
  d_opt:zero_grad()
  local d_loss = gan.discriminator_loss(D(real), D(fake:detach()))
  d_loss:backward()
  d_opt:step()
  g_opt:zero_grad()
  local g_loss = gan.generator_loss(D(fake))
  g_loss:backward()
  g_opt:step()
  return d_loss:item() + g_loss:item()
end
for _ = 1, 3 do step() end
local t0 = ml.now()
for _ = 1, steps do step() end
print(string.format("RESULT %.6f", (ml.now() - t0) / steps))
