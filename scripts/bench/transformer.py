#!/usr/bin/python3
"""The PyTorch side of scripts/bench/transformer.sh: one nn.TransformerEncoderLayer
(d_model 128, 4 heads, defaults: dim_feedforward 2048, dropout 0.1, ReLU,
post-norm), batch_first input (32, 64, 128), training mode.
    transformer.py THREADS STEPS [SEED]
A step: zero the gradients, forward, (y * w).sum(), backward. Prints
"RESULT <median step ms> <peak RSS MiB> <working set MiB>"
(scripts/bench/peak.py: the steps' peak above the RSS before the first)."""
import statistics
import sys
import time

import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
import peak  # noqa: E402

threads, steps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(int(sys.argv[3]) if len(sys.argv) > 3 else 0)


layer = torch.nn.TransformerEncoderLayer(128, 4, batch_first=True)
x = torch.randn(32, 64, 128, requires_grad=True)
w = torch.randn(32, 64, 128)
peak.start()
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
total_peak, working = peak.finish()
print("RESULT %.3f %.1f %.1f" % (statistics.median(times), total_peak, working))
