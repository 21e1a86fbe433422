#!/usr/bin/python3
"""The PyTorch side of scripts/bench/overhead.sh: the same tiny ops as
overhead.lua on 10-element float32 tensors, torch.set_num_threads(1).
    overhead.py [SECONDS] [FORM ...]
Prints "OPS <form> <median ops/s> <best ops/s>" per form, the form named as
overhead.lua names it (the PyTorch spelling is in FORMS)."""
import sys
import time

import torch

budget = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
torch.set_num_threads(1)
a, b = torch.rand(10), torch.rand(10)
m = torch.rand(2, 5)
x = torch.rand(1).sum()  # a 0-d tensor
w = torch.rand(10, requires_grad=True)
add, no_grad = torch.add, torch.no_grad


# moonlab's name -> PyTorch's spelling of the same op (one statement)
FORMS = {
    "a+b": "c = a + b",
    "ml.add": "c = add(a, b)",
    "a*2": "c = a * 2",
    "a:tanh()": "c = a.tanh()",
    "a:sum()": "c = a.sum()",
    "a:mean()": "c = a.mean()",
    "a:reshape(2,5)": "c = a.reshape(2, 5)",
    "m:t()": "c = m.t()",
    "m[2]": "c = m[1]",
    "x:item()": "c = x.item()",
    "a:shape()": "c = a.shape",
    "no_grad(f)": "with no_grad(): pass",
    "(w*a):sum():backward()": "(w * a).sum().backward()",
}


def loop(stmt):
    """A function running stmt n times inline, as overhead.lua's loops do
    (no Python call per op beyond the op's own)."""
    src = "def run(n):\n    for _ in range(n):\n        " + stmt.replace("\n", "\n        ") + "\n"
    env = dict(globals())
    exec(src, env)
    return env["run"]


chosen = sys.argv[2:] or list(FORMS)
for name in chosen:
    run = loop(FORMS[name])
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
