#!/usr/bin/python3
"""The PyTorch side of scripts/bench/grad_penalty.sh: WGAN-GP critic steps,
each the critic on x_hat, torch.autograd.grad(out, x_hat, create_graph=True),
the penalty ((||g||_2 - 1)^2).mean(), its backward into the critic's weights
and an Adam step (lr 1e-4), on random float32 data, one thread.
    grad_penalty.py CRITIC STEPS [SEED]
CRITIC: "mlp" (784-512-256-1, LeakyReLU(0.2), batch 64) or "conv" (Conv2d
1->32 4x4 stride 2 pad 1, LeakyReLU, Conv2d 32->64 same, LeakyReLU,
Linear(3136, 1), batch 64 of 1x28x28).
Prints "RESULT <median ms per step over 5 blocks of STEPS/5> <last penalty>"."""
import statistics
import sys
import time

import torch
from torch import nn

kind = sys.argv[1] if len(sys.argv) > 1 else "mlp"
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
torch.set_num_threads(1)
torch.manual_seed(seed)
B = 64
if kind == "mlp":
    critic = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))
    shape = (B, 784)
else:
    critic = nn.Sequential(nn.Conv2d(1, 32, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                           nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(3136, 1))
    shape = (B, 1, 28, 28)
opt = torch.optim.Adam(critic.parameters(), lr=1e-4)
real, fake = torch.randn(shape), torch.randn(shape)
eshape = (B,) + (1,) * (len(shape) - 1)
last = None


def step():
    global last
    eps = torch.rand(eshape)
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = critic(x)
    (g,) = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out), create_graph=True)
    p = ((g.reshape(B, -1).norm(2, dim=1) - 1) ** 2).mean()
    opt.zero_grad()
    p.backward()
    opt.step()
    last = p.item()


step()  # warm-up
per = max(1, steps // 5)
times = []
for _ in range(5):
    t0 = time.perf_counter()
    for _ in range(per):
        step()
    times.append((time.perf_counter() - t0) * 1000 / per)
print("RESULT %.3f %.6f" % (statistics.median(times), last))
