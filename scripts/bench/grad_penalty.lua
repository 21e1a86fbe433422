-- The moonlab side of scripts/bench/grad_penalty.sh: WGAN-GP critic steps,
-- each the critic on x_hat, ml.grad(out, x_hat, {create_graph = true}), the
-- penalty ((||g||_2 - 1)^2).mean(), its backward into the critic's weights,
-- and an Adam step (lr 1e-4), on random float32 data.
--   moonlab grad_penalty.lua CRITIC STEPS [SEED]
-- CRITIC is "mlp" (784-512-256-1, LeakyReLU(0.2), batch 64) or "conv"
-- (Conv2d 1->32 4x4 stride 2 pad 1, LeakyReLU, Conv2d 32->64 same, LeakyReLU,
-- Linear(3136, 1), batch 64 of 1x28x28).
-- Prints "RESULT <median ms per step over 5 blocks of STEPS/5> <last penalty>".
local nn, optim = ml.nn, ml.optim
local critic_kind, steps, seed = arg[1] or "mlp", math.tointeger(tonumber(arg[2])) or 50, math.tointeger(tonumber(arg[3])) or 0
ml.threads(1)
ml.seed(seed)
local B = 64
local critic, shape
if critic_kind == "mlp" then
  critic = nn.Sequential{ nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1) }
  shape = { B, 784 }
else
  critic = nn.Sequential{ nn.Conv2d(1, 32, 4, { stride = 2, padding = 1 }), nn.LeakyReLU(0.2),
    nn.Conv2d(32, 64, 4, { stride = 2, padding = 1 }), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(3136, 1) }
  shape = { B, 1, 28, 28 }
end
local opt = optim.Adam(critic:parameters(), { lr = 1e-4 })
local real, fake = ml.randn(shape), ml.randn(shape)
local eshape = { B }
for _ = 2, #shape do eshape[#eshape + 1] = 1 end

local last
local function step()
  local eps = ml.rand(eshape)
  local x = (eps * real + (1 - eps) * fake):requires_grad()
  local out = critic(x)
  local g = ml.grad(out, x, { grad_outputs = ml.ones(out:shape()), create_graph = true })[1]
  local p = ((g:reshape(B, -1):norm(2, 2) - 1):pow(2)):mean()
  opt:zero_grad()
  p:backward()
  opt:step()
  last = p:item()
end

step() -- warm-up
local times = {}
local per = math.max(1, steps // 5)
for b = 1, 5 do
  local t0 = ml.now()
  for _ = 1, per do step() end
  times[b] = (ml.now() - t0) * 1000 / per
end
table.sort(times)
print(string.format("RESULT %.3f %.6f", times[3], last))
