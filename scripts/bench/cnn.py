#!/usr/bin/python3
"""The PyTorch side of scripts/bench/cnn.sh: the issue's CNN
conv(1->32, 3x3, pad 1)-ReLU-maxpool 2-conv(32->64, 3x3, pad 1)-ReLU-maxpool 2-
Linear(3136->128)-ReLU-Linear(128->10), Adam lr 1e-3, cross-entropy,
batch 128, Fashion-MNIST (Debian's dataset-fashion-mnist, scaled to [0,1]),
shuffled every epoch (a randperm, batches by indexing the whole tensors:
PyTorch's fastest loop in scripts/bench/mlp.sh), default initialization.
    cnn.py THREADS EPOCHS [SEED] [LIMIT]
Prints "EPOCH <k> <seconds> <mean train loss>" per epoch, then
"RESULT <median epoch s> <test accuracy %> <peak RSS MiB> <working set MiB>"
(scripts/bench/peak.py: the process's peak, and the peak of training and
evaluation above the RSS once data, model and optimizer exist; the test set in
batches of 128, the training batch, as cnn.lua explains)."""
import gzip
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, __import__("os").path.dirname(__file__))
import peak  # noqa: E402

threads = int(sys.argv[1])
epochs = int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
torch.set_num_threads(threads)
torch.manual_seed(seed)

DIR = "/usr/share/datasets/fashion-mnist"


def idx(name):
    with gzip.open("%s/%s.gz" % (DIR, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def images(name):
    return torch.from_numpy(idx(name).astype(np.float32)).div_(255).reshape(-1, 1, 28, 28)


def labels(name):
    return torch.from_numpy(idx(name).astype(np.int64))


xtr, ytr = images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")
xte, yte = images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")
if limit:
    xtr, ytr = xtr[:limit], ytr[:limit]
n = xtr.shape[0]
bs = 128

model = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
crit = nn.CrossEntropyLoss()

peak.start()
times = []
for epoch in range(1, epochs + 1):
    model.train()
    t0 = time.perf_counter()
    total, seen = 0.0, 0
    perm = torch.randperm(n)
    for i in range(0, n, bs):
        j = perm[i:i + bs]
        x, y = xtr[j], ytr[j]
        opt.zero_grad()
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
        total += loss.item() * x.shape[0]
        seen += x.shape[0]
    times.append(time.perf_counter() - t0)
    print("EPOCH %d %.4f %.4f" % (epoch, times[-1], total / seen), flush=True)

model.eval()
with torch.no_grad():
    correct = sum((model(xte[i:i + 128]).argmax(1) == yte[i:i + 128]).sum().item()
                  for i in range(0, xte.shape[0], 128))
acc = 100.0 * correct / xte.shape[0]
total_peak, working = peak.finish()
print("RESULT %.4f %.2f %.1f %.1f" % (statistics.median(times), acc, total_peak, working))
