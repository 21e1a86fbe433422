#!/usr/bin/python3
"""The PyTorch side of scripts/bench/mlp.sh: MLP 784-512-256-10 (ReLU),
Adam lr 1e-3, cross-entropy, batch 128, Fashion-MNIST (Debian's
dataset-fashion-mnist, scaled to [0,1]), shuffled every epoch, PyTorch's
default initialization.
    mlp.py THREADS EPOCHS LOOP [SEED]
LOOP is "perm" (a torch.randperm each epoch, batches by index_select on the
whole tensors) or "dataloader" (DataLoader over a TensorDataset,
shuffle=True). Threads: torch.set_num_threads(THREADS); OMP_NUM_THREADS and
OMP_WAIT_POLICY come from the caller's environment.
Prints one line per epoch "EPOCH <k> <seconds> <mean train loss>", then
"RESULT <median epoch s> <test accuracy %> <peak RSS MiB> <dataset MiB>" (VmHWM of this
process, read from /proc/self/status after training and evaluation, the
test set in batches of 256 on both sides)."""
import gzip
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

threads = int(sys.argv[1])
epochs = int(sys.argv[2])
loop = sys.argv[3]
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
assert loop in ("perm", "dataloader"), loop
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
    return torch.from_numpy(idx(name).astype(np.float32)).div_(255)


def labels(name):
    return torch.from_numpy(idx(name).astype(np.int64))


xtr, ytr = images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")
xte, yte = images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")
n = xtr.shape[0]
bs = 128

model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                      nn.Linear(256, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
crit = nn.CrossEntropyLoss()

if loop == "dataloader":
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=bs, shuffle=True)

    def batches():
        return iter(loader)
else:
    def batches():
        perm = torch.randperm(n)
        for i in range(0, n, bs):
            j = perm[i:i + bs]
            yield xtr[j], ytr[j]

times = []
for epoch in range(1, epochs + 1):
    model.train()
    t0 = time.perf_counter()
    total, seen = 0.0, 0
    for x, y in batches():
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
    correct = sum((model(xte[i:i + 256]).argmax(1) == yte[i:i + 256]).sum().item()
                  for i in range(0, xte.shape[0], 256))
acc = 100.0 * correct / xte.shape[0]
hwm = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
# the loaded dataset's bytes (train and test, inputs and labels), which the
# peak includes on both sides: mlp.sh reports the peak beyond them
data = sum(t.numel() * t.element_size() for t in (xtr, ytr, xte, yte)) / 2**20
print("RESULT %.4f %.2f %.1f %.1f" % (statistics.median(times), acc, hwm, data))
