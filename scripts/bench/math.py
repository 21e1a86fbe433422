#!/usr/bin/python3
"""The PyTorch side of scripts/bench/math.sh: the same ops on the same
kind of inputs as math.lua, one thread, a fresh output tensor per op.

    math.py N SECONDS op[,op...]

Prints "OP <name> <median ns/element> <best ns/element> <calls>" per op.
"""
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
n, budget = int(sys.argv[1]), float(sys.argv[2])
ops = sys.argv[3].split(",")
torch.manual_seed(1)
x32 = torch.rand(n) * 6 - 3
p32 = torch.rand(n) + 0.5
x64 = x32.double()
run = {
    "add": lambda: x32 + p32,
    "mul": lambda: x32 * p32,
    "exp": lambda: torch.exp(x32),
    "log": lambda: torch.log(p32),
    "tanh": lambda: torch.tanh(x32),
    "sigmoid": lambda: torch.sigmoid(x32),
    "gelu": lambda: F.gelu(x32),  # approximate="none": the erf form
    "exp64": lambda: torch.exp(x64),
    "tanh64": lambda: torch.tanh(x64),
}
with torch.no_grad():
    for name in ops:
        once = run[name]
        for _ in range(2):
            once()
        s = []
        t_end = time.perf_counter() + budget
        while len(s) < 5 or (time.perf_counter() < t_end and len(s) < 100000):
            t0 = time.perf_counter()
            once()
            s.append(time.perf_counter() - t0)
        s.sort()
        print("OP %s %.4f %.4f %d" % (name, s[len(s) // 2] * 1e9 / n, s[0] * 1e9 / n, len(s)))
