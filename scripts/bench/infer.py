#!/usr/bin/python3
"""The PyTorch side of scripts/bench/infer.sh: batch-1 inference of the MLP
784-512-256-10 (Linear, ReLU, Linear, ReLU, Linear), float32, eval mode,
at PyTorch's best: torch.inference_mode() around the loop (no autograd
bookkeeping at all; torch.no_grad() measured the same within noise: best
calls 181-194 us for both on the shared 2-core machine), THREADS threads.
    infer.py THREADS SECONDS
Prints "US <median> <best> <calls>" (us per call)."""
import sys
import time

import torch
from torch import nn

threads, budget = int(sys.argv[1]), float(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)).eval()
row = torch.rand(1, 784)
reps = 10
with torch.inference_mode():
    for _ in range(20):
        model(row)
    s = []
    t_end = time.perf_counter() + budget
    while len(s) < 5 or (time.perf_counter() < t_end and len(s) < 100000):
        t0 = time.perf_counter()
        for _ in range(reps):
            model(row)
        s.append((time.perf_counter() - t0) / reps)
s.sort()
print("US %.3f %.3f %d" % (s[len(s) // 2] * 1e6, s[0] * 1e6, len(s) * reps))
