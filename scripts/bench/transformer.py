#!/usr/bin/python3
"""The PyTorch side of scripts/bench/transformer.sh: one nn.TransformerEncoderLayer
(d_model 128, 4 heads, defaults: dim_feedforward 2048, dropout 0.1, ReLU,
post-norm), batch_first input (32, 64, 128), training mode.
    transformer.py THREADS STEPS [SEED]
A step: zero the gradients, forward, (y * w).sum(), backward. Prints
"RESULT <median step ms> <peak RSS MiB> <peak - RSS before the first step MiB>"."""
import statistics
import sys
import time

import torch

threads, steps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(int(sys.argv[3]) if len(sys.argv) > 3 else 0)


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024


layer = torch.nn.TransformerEncoderLayer(128, 4, batch_first=True)
x = torch.randn(32, 64, 128, requires_grad=True)
w = torch.randn(32, 64, 128)
base = status("VmRSS")
times = []
for s in range(steps + 3):
    t0 = time.perf_counter()
    layer.zero_grad()
    x.grad = None
    loss = (layer(x) * w).sum()
    loss.backward()
    dt = time.perf_counter() - t0
    if s >= 3:
        times.append(dt * 1000)
peak = status("VmHWM")
print("RESULT %.3f %.1f %.1f" % (statistics.median(times), peak, peak - base))
