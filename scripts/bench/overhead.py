#!/usr/bin/python3
"""The PyTorch side of scripts/bench/overhead.sh: torch.add (and a + b) of two
10-element float32 tensors, torch.set_num_threads(1).
    overhead.py [SECONDS]
Prints "OPS <form> <median ops/s> <best ops/s>"."""
import sys
import time

import torch

budget = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
torch.set_num_threads(1)
a, b = torch.rand(10), torch.rand(10)
add = torch.add


def run_add(n):
    for _ in range(n):
        c = add(a, b)


def run_plus(n):
    for _ in range(n):
        c = a + b


for name, run in (("torch.add", run_add), ("a+b", run_plus)):
    run(10000)
    n = 10000
    while True:
        t0 = time.perf_counter()
        run(n)
        if time.perf_counter() - t0 >= 0.01:
            break
        n *= 2
    s = []
    t_end = time.perf_counter() + budget
    while len(s) < 5 or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        run(n)
        s.append((time.perf_counter() - t0) / n)
    s.sort()
    print("OPS %s %.0f %.0f" % (name, 1 / s[len(s) // 2], 1 / s[0]))
