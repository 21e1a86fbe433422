#!/usr/bin/python3
"""The PyTorch side of scripts/bench/lstm.sh: nn.LSTM(64, 128, num_layers=L),
input (T = 50, B = 64, 64), float32; one iteration is the forward, the loss
sum(y * w) + sum(h_n) + sum(c_n) and the backward to every parameter and the
input.
    lstm.py THREADS LAYERS ITERS [SEED]
Prints "RESULT <median fwd+bwd ms> <median fwd ms> <peak RSS MiB> <loop peak MiB>"
(scripts/bench/peak.py: the loop's peak above the RSS before it)."""
import statistics
import sys
import time

import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
import peak  # noqa: E402

threads, layers, iters = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(int(sys.argv[4]) if len(sys.argv) > 4 else 0)


lstm = torch.nn.LSTM(64, 128, num_layers=layers)
x = torch.randn(50, 64, 64, requires_grad=True)
w = torch.randn(50, 64, 128)
peak.start()
tot, fwd = [], []
for i in range(iters + 3):
    t0 = time.perf_counter()
    y, (h, c) = lstm(x)
    t1 = time.perf_counter()
    loss = (y * w).sum() + h.sum() + c.sum()
    loss.backward()
    t2 = time.perf_counter()
    lstm.zero_grad()
    x.grad = None
    if i >= 3:
        tot.append((t2 - t0) * 1e3)
        fwd.append((t1 - t0) * 1e3)
total_peak, loop_peak = peak.finish()
print("RESULT %.3f %.3f %.1f %.1f" % (statistics.median(tot), statistics.median(fwd), total_peak, loop_peak))
