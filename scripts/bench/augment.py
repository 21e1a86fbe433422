#!/usr/bin/python3
"""PyTorch side of scripts/bench/augment.sh: a random affine per sample (the same
parameter draws as torchvision's RandomAffine: angle, translation, scale, shear),
built as normalized theta matrices [N, 2, 3] and applied with F.affine_grid +
F.grid_sample(bilinear, zeros, align_corners=False); the draws and matrices are
part of the timed work, as they are in moonlab's. Prints "torch affine <median us> <best us>"."""
import math
import sys
import time

import torch
import torch.nn.functional as F

n = int(sys.argv[1]) if len(sys.argv) > 1 else 128
secs = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
torch.set_num_threads(1)
x = torch.rand(n, 1, 28, 28)
H = W = 28


def random_affine(x):
    ang = (torch.rand(n, dtype=torch.float64) * 30 - 15) * math.pi / 180
    tx = torch.round((torch.rand(n, dtype=torch.float64) * 2 - 1) * 0.1 * W)
    ty = torch.round((torch.rand(n, dtype=torch.float64) * 2 - 1) * 0.1 * H)
    sc = 0.9 + 0.2 * torch.rand(n, dtype=torch.float64)
    sx = (torch.rand(n, dtype=torch.float64) * 10 - 5) * math.pi / 180
    a, b = torch.cos(ang), -torch.cos(ang) * torch.tan(sx) - torch.sin(ang)
    c, d = torch.sin(ang), -torch.sin(ang) * torch.tan(sx) + torch.cos(ang)
    m = torch.stack([d, -b, -c, a], 1) / sc[:, None]  # the inverse of rotation * shear * scale
    theta = torch.empty(n, 2, 3, dtype=torch.float64)
    theta[:, 0, 0], theta[:, 0, 1] = m[:, 0], m[:, 1] * H / W
    theta[:, 1, 0], theta[:, 1, 1] = m[:, 2] * W / H, m[:, 3]
    theta[:, 0, 2] = (m[:, 0] * -tx + m[:, 1] * -ty) * 2 / W
    theta[:, 1, 2] = (m[:, 2] * -tx + m[:, 3] * -ty) * 2 / H
    grid = F.affine_grid(theta.float(), [n, 1, H, W], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


for _ in range(20):
    random_affine(x)
times, t0 = [], time.perf_counter()
while time.perf_counter() - t0 < secs:
    s = time.perf_counter()
    random_affine(x)
    times.append(time.perf_counter() - s)
times.sort()
print("torch affine %.2f %.2f" % (1e6 * times[(len(times) - 1) // 2], 1e6 * times[0]))
