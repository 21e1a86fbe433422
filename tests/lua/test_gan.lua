-- nn.gan: the adversarial losses against PyTorch (scripts/gen_gan_losses.py),
-- their gradients by finite differences, the WGAN-GP penalty, and gan.train's
-- alternation of the two optimizers.
local nn, gan = ml.nn, ml.nn.gan
local gradcheck = dofile("tests/lua/gradcheck.lua")
local F = dofile("tests/fixtures/gan/losses.lua")

local function loss_of(c, real, fake)
  if c.who == "discriminator" then return gan.discriminator_loss(real, fake, { kind = c.kind }) end
  return gan.generator_loss(fake, { kind = c.kind })
end

T.test("fixture version", function() T.eq(F.version, 1) end)

T.test("losses and their gradients match PyTorch's formulas", function()
  for _, c in ipairs(F.losses) do
    local real = T.fixture_tensor(c.real):requires_grad()
    local fake = T.fixture_tensor(c.fake):requires_grad()
    local loss = loss_of(c, real, fake)
    local f64 = real:dtype() == "float64"
    local tol = f64 and 1e-12 or 1e-5
    T.eq(loss:dim(), 0, c.name .. ": a 0-d loss")
    T.eq(loss:dtype(), real:dtype(), c.name .. ": dtype")
    T.near(loss:item(), c.loss.data[1], tol)
    loss:backward()
    T.all_near(fake.grad, T.fixture_tensor(c.grad_fake), tol)
    if c.who == "discriminator" then T.all_near(real.grad, T.fixture_tensor(c.grad_real), tol) end
  end
end)

T.test("losses stay finite at extreme logits (no log(sigmoid(x)))", function()
  local big = ml.tensor({ -1e30, -1e4, 1e4, 1e30 }, { dtype = "float32" })
  for _, kind in ipairs({ "minimax", "non_saturating" }) do
    local d = gan.discriminator_loss(big, big, { kind = kind }):item()
    local g = gan.generator_loss(big, { kind = kind }):item()
    T.ok(d == d and math.abs(d) < math.huge, kind .. " D loss " .. d)
    T.ok(g == g and math.abs(g) < math.huge, kind .. " G loss " .. g)
  end
  -- D certain and right: loss ~ 0; G fooling D completely: non-saturating loss ~ 0
  T.near(gan.discriminator_loss(ml.tensor({ 50.0 }), ml.tensor({ -50.0 })):item(), 0, 1e-12)
  T.near(gan.generator_loss(ml.tensor({ 50.0 })):item(), 0, 1e-12)
  T.near(gan.generator_loss(ml.tensor({ -50.0 })):item(), 50, 1e-4)
end)

T.test("the loss gradients pass the finite-difference check (float64)", function()
  local r = ml.randn(5, 1, { dtype = "float64" })
  local f = ml.randn(4, 1, { dtype = "float64" })
  for _, kind in ipairs({ "minimax", "non_saturating", "wasserstein" }) do
    gradcheck(function(a, b) return gan.discriminator_loss(a, b, { kind = kind }) end, { r, f })
    gradcheck(function(b) return gan.generator_loss(b, { kind = kind }) end, { f })
  end
end)

T.test("kind names and their aliases", function()
  local r, f = ml.randn(3), ml.randn(3)
  T.eq(gan.discriminator_loss(r, f):item(), gan.discriminator_loss(r, f, { kind = "non_saturating" }):item())
  T.eq(gan.generator_loss(f, { kind = "wgan-gp" }):item(), gan.generator_loss(f, { kind = "wasserstein" }):item())
  T.eq(gan.generator_loss(f, { kind = "non-saturating" }):item(), gan.generator_loss(f):item())
end)

T.test("loss errors name the function and say what came", function()
  local r = ml.randn(3)
  T.raises(function() gan.discriminator_loss(r, r, { kind = "minmax" }) end,
    "gan.discriminator_loss: kind must be one of 'minimax', 'non_saturating', 'wasserstein', got 'minmax'; did you mean 'minimax'?")
  T.raises(function() gan.generator_loss(r, { knd = "minimax" }) end, "gan.generator_loss: unknown option 'knd'")
  T.raises(function() gan.generator_loss({ 1, 2 }) end, "gan.generator_loss: fake_logits must be a tensor of D's outputs, got table")
  T.raises(function() gan.discriminator_loss(ml.tensor({ 1, 2 }), r) end, "real_logits must be a float tensor, got int64")
  T.raises(function() gan.discriminator_loss(r, r:double()) end, "must have one dtype")
  T.raises(function() gan.generator_loss(ml.zeros(0)) end, "gan.generator_loss: fake_logits is empty")
end)

-- ---- gradient penalty ---------------------------------------------------------------------------

local function fixture_critic()
  local P = F.penalty
  local critic = nn.Sequential { nn.Linear(4, 5, { dtype = "float64" }), nn.Tanh(), nn.Linear(5, 1, { dtype = "float64" }) }
  critic:load_state_dict({ ["1.weight"] = T.fixture_tensor(P.w1), ["1.bias"] = T.fixture_tensor(P.b1),
    ["3.weight"] = T.fixture_tensor(P.w2), ["3.bias"] = T.fixture_tensor(P.b2) })
  return critic
end

T.test("gradient_penalty checks its arguments", function()
  local critic = nn.Linear(4, 1)
  T.raises(function() gan.gradient_penalty(critic, ml.randn(3, 4), ml.randn(2, 4)) end,
    "gan.gradient_penalty: real [3, 4] float32 and fake [2, 4] float32 must have one shape and dtype")
  T.raises(function() gan.gradient_penalty(critic, ml.randn(3, 4), ml.randn(3, 4), { wieght = 1 }) end, "did you mean 'weight'?")
  T.raises(function() gan.gradient_penalty(critic, ml.randn(3, 4), ml.randn(3, 4), { weight = -1 }) end, "weight must be a number >= 0")
  T.raises(function() gan.gradient_penalty(3, ml.randn(3, 4), ml.randn(3, 4)) end, "gan.gradient_penalty: critic must be a function")
  if not ml.grad then
    T.raises(function() gan.gradient_penalty(critic, ml.randn(3, 4), ml.randn(3, 4)) end, "needs ml.grad")
  end
end)

T.test("gradient_penalty matches PyTorch's double backward (needs ml.grad)", function()
  if not ml.grad then
    print("  (skipped: ml.grad, the gradient of gradients, is not in this build; the coordinator enables it after merging)")
    return
  end
  local P = F.penalty
  local critic = fixture_critic()
  local pen = gan.gradient_penalty(critic, T.fixture_tensor(P.real), T.fixture_tensor(P.fake),
    { weight = P.weight, alpha = T.fixture_tensor(P.alpha) })
  T.near(pen:item(), P.penalty.data[1], 1e-10)
  pen:backward()
  local named = {}
  for _, p in ipairs(critic:named_parameters()) do named[p[1]] = p[2] end
  T.all_near(named["1.weight"].grad, T.fixture_tensor(P.grad_w1), 1e-10)
  T.all_near(named["1.bias"].grad, T.fixture_tensor(P.grad_b1), 1e-10)
  T.all_near(named["3.weight"].grad, T.fixture_tensor(P.grad_w2), 1e-10)
  -- a linear critic's input gradient is its weight everywhere: weight * (||w|| - 1)^2
  local lin = nn.Linear(4, 1, { dtype = "float64" })
  local w = lin.weight
  local want = 10 * ((w * w):sum():sqrt():item() - 1) ^ 2
  T.near(gan.gradient_penalty(lin, ml.randn(8, 4, { dtype = "float64" }), ml.randn(8, 4, { dtype = "float64" })):item(), want, 1e-10)
  -- the same seed, the same interpolates
  local r, f = ml.randn(5, 4, { dtype = "float64" }), ml.randn(5, 4, { dtype = "float64" })
  T.eq(gan.gradient_penalty(critic, r, f, { seed = 3 }):item(), gan.gradient_penalty(critic, r, f, { seed = 3 }):item())
end)

-- ---- the training loop --------------------------------------------------------------------------

-- An optimizer that records the order of the steps into log.
local function spy(opt, name, log)
  return {
    step = function() log[#log + 1] = name; opt:step() end,
    zero_grad = function() opt:zero_grad() end,
  }
end

-- A module that records whether it was in training mode when called.
local Probe = nn.Module:extend("GanTestProbe")
function Probe:init(inner, seen) self.inner = inner; self._seen = seen end
function Probe:forward(x)
  self._seen[#self._seen + 1] = self.training
  return self.inner(x)
end

local function toy(seed)
  ml.seed(seed or 0)
  local G = nn.Sequential { nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1) }
  local D = nn.Sequential { nn.Linear(1, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1) }
  local real = ml.randn(256, 1) * 0.5 + 3 -- N(3, 0.5^2)
  return G, D, real
end

T.test("gan.train alternates D and G steps, n_critic D steps per G step", function()
  local G, D, real = toy(1)
  local log = {}
  local h = gan.train {
    generator = G, discriminator = D, latent = 2, data = real, batch_size = 64, epochs = 2, n_critic = 2,
    g_optimizer = spy(ml.optim.Adam(G:parameters(), { lr = 1e-3 }), "G", log),
    d_optimizer = spy(ml.optim.Adam(D:parameters(), { lr = 1e-3 }), "D", log),
  }
  T.eq(table.concat(log, ""), "DDGDDGDDGDDG") -- 4 batches per epoch, 2 epochs
  T.eq(#h.d_loss, 2)
  T.eq(#h.g_loss, 2)
  T.eq(#h.d_real, 2)
  T.eq(#h.d_fake, 2)
end)

T.test("the D step leaves G's parameters alone (fake samples detached)", function()
  local G, D, real = toy(2)
  local before = {}
  for i, p in ipairs(G:parameters()) do before[i] = p:clone() end
  local g_opt = ml.optim.SGD(G:parameters(), { lr = 0 }) -- G never moves
  gan.train { generator = G, discriminator = D, g_optimizer = g_opt, d_optimizer = ml.optim.SGD(D:parameters(), { lr = 0.1 }),
    data = real, latent = 2, epochs = 1, n_critic = 1000 }
  for i, p in ipairs(G:parameters()) do
    T.ok(ml.equal(p, before[i]), "G parameter " .. i .. " changed")
    T.ok(p.grad == nil or p.grad:abs():max():item() == 0, "G parameter " .. i .. " got a gradient from the D step")
  end
end)

T.test("gan.train learns a 1-D Gaussian and sets train/eval modes", function()
  local G, D, real = toy(3)
  local seen, epochs_seen = {}, {}
  local Gp = Probe(G, seen)
  local h = gan.train {
    generator = Gp, discriminator = D, latent = function(n) return ml.randn(n, 2) end, data = ml.data.loader(real, { batch_size = 32, shuffle = true, seed = 0 }),
    g_optimizer = ml.optim.Adam(G:parameters(), { lr = 5e-3, betas = { 0.5, 0.999 } }),
    d_optimizer = ml.optim.Adam(D:parameters(), { lr = 5e-3, betas = { 0.5, 0.999 } }),
    epochs = 30,
    on_epoch = function(epoch, logs)
      epochs_seen[#epochs_seen + 1] = epoch
      T.eq(Gp.training, false, "on_epoch sees eval mode")
      T.ok(logs.d_loss == logs.d_loss and logs.g_loss == logs.g_loss, "finite logs")
      T.ok(logs.d_real > 0 and logs.d_real < 1 and logs.d_fake > 0 and logs.d_fake < 1, "D(x), D(G(z)) are probabilities")
    end,
  }
  for _, t in ipairs(seen) do T.eq(t, true, "G ran in eval mode while training") end
  T.eq(#epochs_seen, 30)
  T.eq(Gp.training, false)
  T.eq(D.training, false)
  local s = ml.no_grad(function() return G(ml.randn(2000, 2)) end)
  T.near(s:mean():item(), 3, 0.5)
  T.ok(#h.d_loss == 30 and #h.g_loss == 30)
end)

T.test("gan.train with the wasserstein loss, weight clipping and early stop", function()
  local G, D, real = toy(4)
  local h = gan.train {
    generator = G, discriminator = D, latent = 2, data = real, loss = "wasserstein", gp_weight = 0, clip_value = 0.05,
    g_optimizer = ml.optim.RMSprop(G:parameters(), { lr = 5e-4 }), d_optimizer = ml.optim.RMSprop(D:parameters(), { lr = 5e-4 }),
    epochs = 5, on_epoch = function(epoch) return epoch < 2 end,
  }
  T.eq(#h.d_loss, 2, "on_epoch returning false stops")
  for _, p in ipairs(D:parameters()) do T.ok(p:abs():max():item() <= 0.05 + 1e-7, "clipped") end
end)

T.test("gan.train with the gradient penalty (needs ml.grad)", function()
  if not ml.grad then
    print("  (skipped: ml.grad is not in this build)")
    return
  end
  local G, D, real = toy(5)
  local log = {}
  local h = gan.train {
    generator = G, discriminator = D, latent = 2, data = real, loss = "wasserstein", batch_size = 32,
    g_optimizer = spy(ml.optim.Adam(G:parameters(), { lr = 1e-4, betas = { 0.5, 0.9 } }), "G", log),
    d_optimizer = spy(ml.optim.Adam(D:parameters(), { lr = 1e-4, betas = { 0.5, 0.9 } }), "D", log),
  }
  T.eq(table.concat(log, ""), "DDDDDGDDD", "n_critic defaults to 5 with the penalty")
  T.ok(h.d_loss[1] == h.d_loss[1])
end)

T.test("gan.train errors", function()
  local G, D, real = toy(6)
  local go, dop = ml.optim.SGD(G:parameters(), { lr = 0.1 }), ml.optim.SGD(D:parameters(), { lr = 0.1 })
  local base = function(extra)
    local o = { generator = G, discriminator = D, g_optimizer = go, d_optimizer = dop, data = real, latent = 2 }
    for k, v in pairs(extra) do o[k] = v end
    return o
  end
  T.raises(function() gan.train(base { epoch = 2 }) end, "gan.train: unknown option 'epoch'")
  T.raises(function() gan.train(base { generator = 3 }) end, "gan.train: generator must be an nn.Module, got 3")
  T.raises(function() gan.train(base { d_optimizer = go }) end, "must be two optimizers")
  T.raises(function() gan.train(base { g_optimizer = {} }) end, "g_optimizer must be an optimizer")
  T.raises(function() gan.train(base { data = "x" }) end, "gan.train: data must be a data.loader or a tensor")
  T.raises(function() gan.train(base { loss = "hinge" }) end, "kind must be one of")
  T.raises(function() gan.train(base { gp_weight = 10 }) end, "gp_weight goes with loss = 'wasserstein'")
  T.raises(function() gan.train(base { latent = function() return 1 end }) end, "latent(64) must return a tensor, got 1")
  T.raises(function() gan.train(base { latent = 0 }) end, "latent must be at least 1")
  T.raises(function() gan.train(base { n_critic = 0 }) end, "n_critic must be at least 1")
end)

T.test("every gan function has a docstring", function()
  T.ok(ml.doc(gan))
  for _, f in ipairs({ "discriminator_loss", "generator_loss", "gradient_penalty", "train" }) do
    T.ok(ml.doc(gan[f]) and ml.doc(gan[f]):find("gan." .. f, 1, true) == 1, f)
  end
end)
