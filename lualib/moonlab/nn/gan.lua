--- moonlab.nn.gan (ml.nn.gan): adversarial training. The losses of a
-- generator G and a discriminator (or critic) D, the WGAN-GP gradient
-- penalty, and gan.train, the loop that alternates the two optimizers.
--
-- Losses take D's raw outputs (logits; critic scores for "wasserstein") and
-- are written in their stable forms: -log sigmoid(x) = softplus(-x) and
-- -log(1 - sigmoid(x)) = softplus(x), through the fused BCE-with-logits
-- kernel, never log(sigmoid(x)) (which is -inf once sigmoid underflows).
--   kind             D loss                                 G loss
--   minimax          -log D(x) - log(1 - D(G(z)))           log(1 - D(G(z)))     (Goodfellow et al. 2014)
--   non_saturating   same                                   -log D(G(z))         (the paper's practical fix)
--   wasserstein      mean(D(G(z))) - mean(D(x))             -mean(D(G(z)))       (Arjovsky et al. 2017)
-- each a mean over the batch.
local ml = require "moonlab"
local checks = require "moonlab.core.checks"

local fail, fmt, doc = checks.fail, string.format, ml.doc
local nnops = ml._nn

local gan = {}

local KINDS = { "minimax", "non_saturating", "wasserstein" }
local ALIASES = { ["non-saturating"] = "non_saturating", ns = "non_saturating", wgan = "wasserstein",
  ["wgan-gp"] = "wasserstein", gan = "minimax" }

local function check_kind(fn, kind)
  if kind == nil then return "non_saturating" end
  return checks.one_of(fn, "kind", ALIASES[kind] or kind, KINDS)
end

local function check_logits(fn, what, t)
  if not ml.is_tensor(t) then fail(fmt("%s: %s must be a tensor of D's outputs, got %s", fn, what, checks.show(t))) end
  local dt = t:dtype()
  if dt ~= "float32" and dt ~= "float64" then fail(fmt("%s: %s must be a float tensor, got %s", fn, what, dt)) end
  if t:numel() == 0 then fail(fmt("%s: %s is empty", fn, what)) end
  return t
end

-- mean(-log sigmoid(x)) for target 1, mean(-log(1 - sigmoid(x))) for target 0: BCE with logits.
local function bce(fn, x, target)
  return nnops.bce_with_logits(x, ml.full(x:shape(), target, { dtype = x:dtype() }), nil, nil, "mean", fn)
end

--- gan.discriminator_loss(real_logits, fake_logits, [{kind = "non_saturating"}]) -> 0-d loss D minimizes
function gan.discriminator_loss(real, fake, opts)
  local fn = "gan.discriminator_loss"
  opts = checks.options(fn, opts, { "kind" })
  local kind = check_kind(fn, opts.kind)
  check_logits(fn, "real_logits", real)
  check_logits(fn, "fake_logits", fake)
  if real:dtype() ~= fake:dtype() then
    fail(fmt("%s: real_logits (%s) and fake_logits (%s) must have one dtype", fn, real:dtype(), fake:dtype()))
  end
  if kind == "wasserstein" then return fake:mean() - real:mean() end
  return bce(fn, real, 1) + bce(fn, fake, 0)
end

--- gan.generator_loss(fake_logits, [{kind = "non_saturating"}]) -> 0-d loss G minimizes
function gan.generator_loss(fake, opts)
  local fn = "gan.generator_loss"
  opts = checks.options(fn, opts, { "kind" })
  local kind = check_kind(fn, opts.kind)
  check_logits(fn, "fake_logits", fake)
  if kind == "wasserstein" then return -fake:mean() end
  if kind == "minimax" then return -bce(fn, fake, 0) end -- mean log(1 - D(G(z)))
  return bce(fn, fake, 1) -- mean -log D(G(z))
end

-- Runs f(...) on the random stream of seed, then puts the global stream back (seed nil: the global stream).
local function with_seed(seed, f, ...)
  if seed == nil then return f(...) end
  local saved = ml.random_state()
  ml.seed(seed)
  local res = table.pack(pcall(f, ...))
  ml.set_random_state(saved)
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

local function call_critic(fn, critic, x)
  local ok, out = pcall(critic, x)
  if not ok then checks.reraise(out, fn .. ": the critic failed: ") end
  if not ml.is_tensor(out) then fail(fmt("%s: the critic must return a tensor, got %s", fn, checks.show(out))) end
  return out
end

--- gan.gradient_penalty(critic, real, fake, [{weight = 10, seed, alpha}]) -> 0-d weight * mean((||grad D(x_hat)||_2 - 1)^2)
function gan.gradient_penalty(critic, real, fake, opts)
  local fn = "gan.gradient_penalty"
  opts = checks.options(fn, opts, { "weight", "seed", "alpha" })
  checks.func(fn, "critic", critic)
  local weight = checks.number(fn, "weight", opts.weight == nil and 10 or opts.weight, 0)
  local seed = opts.seed ~= nil and checks.integer(fn, "seed", opts.seed, 0) or nil
  check_logits(fn, "real", real)
  check_logits(fn, "fake", fake)
  local rs, fs = real:shape(), fake:shape()
  if table.concat(rs, ",") ~= table.concat(fs, ",") or real:dtype() ~= fake:dtype() then
    fail(fmt("%s: real [%s] %s and fake [%s] %s must have one shape and dtype", fn, table.concat(rs, ", "),
      real:dtype(), table.concat(fs, ", "), fake:dtype()))
  end
  if type(ml.grad) ~= "function" then
    fail(fn .. ": needs ml.grad (gradients of gradients, create_graph = true), which this build of moonlab lacks")
  end
  local n = rs[1]
  local ashape = { n }
  for i = 2, #rs do ashape[i] = 1 end
  -- one mixing weight per sample, broadcast over its features: x_hat on the segment from fake to real
  local alpha
  if opts.alpha ~= nil then -- given (to reproduce a reference), else drawn
    alpha = checks.tensor(fn, "alpha", opts.alpha)
    if alpha:numel() ~= n or alpha:dtype() ~= real:dtype() then
      fail(fmt("%s: alpha must be a %s tensor of %d mixing weights (one per sample), got %s of %d", fn, real:dtype(), n,
        alpha:dtype(), alpha:numel()))
    end
    alpha = alpha:reshape(ashape)
  else
    alpha = with_seed(seed, ml.rand, ashape, { dtype = real:dtype() })
  end
  local x_hat = ml.no_grad(function() return fake:detach() + alpha * (real:detach() - fake:detach()) end)
  x_hat:requires_grad(true)
  local out = call_critic(fn, critic, x_hat)
  local gok, grads = pcall(ml.grad, { out }, { x_hat }, { grad_outputs = { ml.full(out:shape(), 1, { dtype = out:dtype() }) },
    create_graph = true })
  if not gok then -- a layer without second derivatives: said at the user's line, naming the penalty
    checks.reraise(grads, fn .. ": the critic's gradient must itself be differentiable: ")
  end
  local g = grads[1]
  -- ||g||_2 with PyTorch's gradient at a zero norm (0, not sqrt's inf * 0 = NaN): a sample whose gradient is zero
  -- (a dead ReLU critic, a zero-initialized last layer) takes sqrt of 1 in a branch where() does not pick
  local sq = (g:reshape(n, -1) * g:reshape(n, -1)):sum(2)
  local zero = sq:eq(0)
  local root = (sq + zero:to(sq:dtype())):sqrt()
  local norms = ml.where(zero, ml.zeros_like(root), root)
  local d = norms - 1
  return (d * d):mean() * weight
end

-- ---- the training loop ----------------------------------------------------------------------

local TRAIN_OPTS = { "generator", "discriminator", "g_optimizer", "d_optimizer", "data", "latent", "loss", "n_critic",
  "gp_weight", "clip_value", "epochs", "batch_size", "on_epoch" }

local function check_module(fn, what, m)
  if type(m) ~= "table" or type(m.train) ~= "function" or type(m.parameters) ~= "function" then
    fail(fmt("%s: %s must be an nn.Module, got %s", fn, what, checks.show(m)))
  end
  return m
end

local function check_optimizer(fn, what, o)
  if type(o) ~= "table" or type(o.step) ~= "function" or type(o.zero_grad) ~= "function" then
    fail(fmt("%s: %s must be an optimizer (optim.Adam(...)), got %s", fn, what, checks.show(o)))
  end
  return o
end

-- The latent sampler: fn(n) -> z. A number k draws z ~ N(0, 1) of shape [n, k].
local function sampler(fn, latent)
  if latent == nil then latent = 100 end
  if type(latent) == "number" then
    local k = checks.integer(fn, "latent", latent, 1)
    return function(n) return ml.randn(n, k) end
  end
  checks.func(fn, "latent", latent)
  return function(n)
    local z = latent(n)
    if not ml.is_tensor(z) then fail(fmt("%s: latent(%d) must return a tensor, got %s", fn, n, checks.show(z))) end
    return z
  end
end

-- The batches of one epoch: a loader's (its first tensor), or a tensor's, shuffled.
local function batches(fn, source, batch_size)
  if ml.is_tensor(source) then
    local loader = ml.data.loader(source, { batch_size = batch_size, shuffle = true })
    return function() return loader:iter() end
  end
  if type(source) == "table" and type(source.iter) == "function" then
    return function() return source:iter() end
  end
  fail(fmt("%s: data must be a data.loader or a tensor of real samples, got %s", fn, checks.show(source)))
end

local function check_train_opts(fn, o)
  o = checks.options(fn, o, TRAIN_OPTS)
  local c = {
    G = check_module(fn, "generator", o.generator),
    D = check_module(fn, "discriminator", o.discriminator),
    g_opt = check_optimizer(fn, "g_optimizer", o.g_optimizer),
    d_opt = check_optimizer(fn, "d_optimizer", o.d_optimizer),
    latent = sampler(fn, o.latent),
    kind = check_kind(fn, o.loss),
    epochs = checks.integer(fn, "epochs", o.epochs or 1, 1),
    batch_size = checks.integer(fn, "batch_size", o.batch_size or 64, 1),
    on_epoch = o.on_epoch ~= nil and checks.func(fn, "on_epoch", o.on_epoch) or nil,
  }
  if c.g_opt == c.d_opt then fail(fn .. ": g_optimizer and d_optimizer must be two optimizers (one per model)") end
  c.batches = batches(fn, o.data, c.batch_size)
  local wgan = c.kind == "wasserstein"
  c.gp_weight = checks.number(fn, "gp_weight", o.gp_weight == nil and (wgan and 10 or 0) or o.gp_weight, 0)
  if c.gp_weight > 0 and not wgan then fail(fmt("%s: gp_weight goes with loss = 'wasserstein', got loss = '%s'", fn, c.kind)) end
  c.n_critic = checks.integer(fn, "n_critic", o.n_critic or ((wgan and c.gp_weight > 0) and 5 or 1), 1)
  c.clip_value = o.clip_value ~= nil and checks.number(fn, "clip_value", o.clip_value, 0) or nil
  return c
end

local function mean_of(t, kind)
  -- D(x) as a probability for the logistic losses, as a raw score for the critic
  return ml.no_grad(function() return (kind == "wasserstein" and t or t:sigmoid()):mean():item() end)
end

-- WGAN's weight clipping: every critic parameter into [-c, c].
local function clip_weights(D, c)
  ml.no_grad(function()
    for _, p in ipairs(D:parameters()) do p:copy_(p:clamp(-c, c)) end
  end)
end

-- One discriminator step on a real batch and a detached fake one; returns its loss and the mean outputs.
local function d_step(c, real, fake)
  c.d_opt:zero_grad()
  local r, f = c.D(real), c.D(fake:detach())
  local loss = gan.discriminator_loss(r, f, { kind = c.kind })
  if c.gp_weight > 0 then loss = loss + gan.gradient_penalty(c.D, real, fake:detach(), { weight = c.gp_weight }) end
  loss:backward()
  c.d_opt:step()
  if c.clip_value then clip_weights(c.D, c.clip_value) end
  return loss:item(), mean_of(r, c.kind), mean_of(f, c.kind)
end

-- One generator step through the (just updated) discriminator.
local function g_step(c, fake)
  c.g_opt:zero_grad()
  local loss = gan.generator_loss(c.D(fake), { kind = c.kind })
  loss:backward()
  c.g_opt:step()
  return loss:item()
end

local function run_epoch(fn, c)
  c.G:train()
  c.D:train()
  local s = { d = 0, g = 0, real = 0, fake = 0, nd = 0, ng = 0 }
  for real in c.batches() do
    local n = real:size(1)
    local fake = c.G(c.latent(n))
    local dl, dr, df = d_step(c, real, fake)
    s.d, s.real, s.fake, s.nd = s.d + dl, s.real + dr, s.fake + df, s.nd + 1
    if s.nd % c.n_critic == 0 then
      s.g, s.ng = s.g + g_step(c, fake), s.ng + 1
    end
  end
  if s.nd == 0 then fail(fn .. ": data gave no batch") end
  return { d_loss = s.d / s.nd, g_loss = s.ng > 0 and s.g / s.ng or 0 / 0, d_real = s.real / s.nd, d_fake = s.fake / s.nd }
end

--- gan.train{generator, discriminator, g_optimizer, d_optimizer, data, ...} -> history {d_loss, g_loss, d_real, d_fake}
function gan.train(opts)
  local fn = "gan.train"
  local c = check_train_opts(fn, opts)
  local hist = { d_loss = {}, g_loss = {}, d_real = {}, d_fake = {} }
  for epoch = 1, c.epochs do
    local logs = run_epoch(fn, c)
    for k, v in pairs(logs) do hist[k][epoch] = v end
    if c.on_epoch then
      c.G:eval()
      c.D:eval()
      local stop = c.on_epoch(epoch, logs)
      if stop == false then break end
    end
  end
  c.G:eval()
  c.D:eval()
  return hist
end

doc(gan, "ml.nn.gan — adversarial training: discriminator_loss, generator_loss (minimax, non_saturating, wasserstein), gradient_penalty (WGAN-GP) and train, the loop that alternates a D and a G optimizer")
doc(gan.discriminator_loss, "gan.discriminator_loss(real_logits, fake_logits, [{kind='non_saturating'}]) -> loss — D's loss on its raw outputs: " ..
  "softplus(-real) + softplus(fake) means (-log D(x) - log(1 - D(G(z))), stable for any logit) for 'minimax' and 'non_saturating'; " ..
  "mean(fake) - mean(real) for 'wasserstein' critic scores")
doc(gan.generator_loss, "gan.generator_loss(fake_logits, [{kind='non_saturating'}]) -> loss — G's loss: -mean log D(G(z)) ('non_saturating'), " ..
  "mean log(1 - D(G(z))) ('minimax'), -mean(fake) ('wasserstein'), in stable log-sigmoid forms")
doc(gan.gradient_penalty, "gan.gradient_penalty(critic, real, fake, [{weight=10, seed, alpha}]) -> loss — WGAN-GP's weight * mean((||grad_x critic(x_hat)||_2 - 1)^2) " ..
  "at x_hat = fake + alpha (real - fake), alpha ~ U(0, 1) per sample (drawn on seed's stream, or given as [N]); differentiable w.r.t. the critic's parameters (ml.grad with create_graph)")
doc(gan.train, "gan.train{generator=, discriminator=, g_optimizer=, d_optimizer=, data=loader or tensor, latent=100 or fn(n) -> z, " ..
  "loss='non_saturating' ('minimax', 'wasserstein'), n_critic=1 (5 for WGAN-GP), gp_weight=10 (wasserstein), clip_value=nil (WGAN clipping), " ..
  "epochs=1, batch_size=64 (tensor data), on_epoch=fn(epoch, logs) (false stops)} -> history {d_loss, g_loss, d_real, d_fake} — " ..
  "per batch a D step on real and detached fake samples, then (every n_critic-th batch) a G step; models in train mode while training, eval after")

return gan
