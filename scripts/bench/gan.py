#!/usr/bin/python3
"""PyTorch side of scripts/bench/gan.sh: the DCGAN step of examples/gan.lua
(width 32, batch 64, Adam 2e-4 / (0.5, 0.999), non-saturating loss).
    gan.py THREADS STEPS SEED"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

threads, steps, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(seed)
w, nz, batch = 32, 100, 64
G = nn.Sequential(
    nn.Linear(nz, 2 * w * 7 * 7, bias=False), nn.Unflatten(1, (2 * w, 7, 7)), nn.BatchNorm2d(2 * w), nn.ReLU(),
    nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
    nn.ConvTranspose2d(w, 1, 4, stride=2, padding=1), nn.Tanh())
D = nn.Sequential(
    nn.Conv2d(1, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
    nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
    nn.Flatten(), nn.Linear(2 * w * 7 * 7, 1))
g_opt = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
d_opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
real = torch.rand(batch, 1, 28, 28) * 2 - 1


def bce(x, t):
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, t))


def step():
    fake = G(torch.randn(batch, nz))
    d_opt.zero_grad()
    d_loss = bce(D(real), 1) + bce(D(fake.detach()), 0)
    d_loss.backward()
    d_opt.step()
    g_opt.zero_grad()
    g_loss = bce(D(fake), 1)
    g_loss.backward()
    g_opt.step()
    return d_loss.item() + g_loss.item()


for _ in range(3):
    step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
print("RESULT %.6f" % ((time.perf_counter() - t0) / steps))
