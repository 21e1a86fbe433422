#!/usr/bin/python3
"""PyTorch side of scripts/bench/conv_layers.sh: the same layers, forward +
backward, float32, batch 128. PyTorch 1.13 on this machine runs these
convolutions through oneDNN 2.6 (aten::mkldnn_convolution in its profiler),
so this side measures oneDNN's convolution primitives.
   conv_layers.py THREADS REPEATS   -> "LAYER <name> <median ms>" lines"""
import sys, time
import torch
import torch.nn as nn

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
torch.set_num_threads(threads)
torch.manual_seed(0)
cases = [
    ("conv 1->32 3x3 p1 28x28", nn.Conv2d(1, 32, 3, padding=1), (128, 1, 28, 28)),
    ("conv 32->64 3x3 p1 14x14", nn.Conv2d(32, 64, 3, padding=1), (128, 32, 14, 14)),
    ("conv 64->64 3x3 s2 14x14", nn.Conv2d(64, 64, 3, padding=1, stride=2), (128, 64, 14, 14)),
    ("convT 64->32 4x4 s2 7x7", nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), (128, 64, 7, 7)),
    ("maxpool 2 32x28x28", nn.MaxPool2d(2), (128, 32, 28, 28)),
    ("batchnorm2d 32x28x28", nn.BatchNorm2d(32), (128, 32, 28, 28)),
]
for name, layer, shape in cases:
    layer.train()
    x = torch.randn(*shape, requires_grad=True)
    times = []
    for r in range(reps + 2):
        t0 = time.perf_counter()
        y = layer(x)
        y.sum().backward()
        dt = time.perf_counter() - t0
        if r >= 2:
            times.append(dt)
        x.grad = None
        layer.zero_grad()
    times.sort()
    print("LAYER %s %.3f" % (name, times[(len(times) - 1) // 2] * 1e3))
