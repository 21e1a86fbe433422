#!/usr/bin/python3
"""The PyTorch side of scripts/bench/tiny.sh: a tiny regression, 10-32-1
(Linear, ACT, Linear), MSE, batch 32, 10,000 rows, shuffled every epoch,
PyTorch's default initialization.
    tiny.py gen DIR                                  writes DIR/tiny_x.npy, DIR/tiny_y.npy (NumPy, seed 0)
    tiny.py THREADS EPOCHS LOOP DIR [SEED] [CONFIG]  trains on them
LOOP is "perm" (a torch.randperm each epoch, batches by indexing the whole
tensors) or "dataloader" (DataLoader over a TensorDataset, shuffle=True).
CONFIG is "adam-relu" (Adam lr 1e-3, ReLU; the default) or "sgd-tanh" (SGD lr 1e-2, Tanh).
Prints "RESULT <seconds for all epochs> <final train MSE over all rows> <last epoch mean loss>"."""
import sys
import time

import numpy as np

if sys.argv[1] == "gen":
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10000, 10)).astype(np.float32)
    w = rng.standard_normal((10, 1)).astype(np.float32)
    y = (np.tanh(x @ w) + 0.1 * rng.standard_normal((10000, 1))).astype(np.float32)
    np.save(sys.argv[2] + "/tiny_x.npy", x)
    np.save(sys.argv[2] + "/tiny_y.npy", y)
    sys.exit(0)

import torch
from torch import nn

threads, epochs, loop, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
config = sys.argv[6] if len(sys.argv) > 6 else "adam-relu"
assert loop in ("perm", "dataloader"), loop
assert config in ("adam-relu", "sgd-tanh"), config
torch.set_num_threads(threads)
torch.manual_seed(seed)
x = torch.from_numpy(np.load(d + "/tiny_x.npy"))
y = torch.from_numpy(np.load(d + "/tiny_y.npy"))
n, bs = x.shape[0], 32

adam = config == "adam-relu"
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU() if adam else nn.Tanh(), nn.Linear(32, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3) if adam else torch.optim.SGD(model.parameters(), lr=1e-2)
crit = nn.MSELoss()

if loop == "dataloader":
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=bs, shuffle=True)

    def batches():
        return iter(loader)
else:
    def batches():
        perm = torch.randperm(n)
        for i in range(0, n, bs):
            j = perm[i:i + bs]
            yield x[j], y[j]

t0 = time.perf_counter()
for epoch in range(epochs):
    total = 0.0
    for xb, yb in batches():
        opt.zero_grad()
        loss = crit(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * xb.shape[0]
elapsed = time.perf_counter() - t0
with torch.no_grad():
    mse = crit(model(x), y).item()
print("RESULT %.4f %.6f %.6f" % (elapsed, mse, total / n))
