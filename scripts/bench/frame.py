#!/usr/bin/python3
"""The pandas side of scripts/bench/frame.sh: the same frame as frame.lua (N
rows, 20 float64 normal columns, an int64 key of ~1000 groups, a string key
of 100 distinct strings) and the median seconds of REPS runs of
df.describe() and df.groupby(key)[floats].mean() (sort=True, pandas' default).
usage: frame.py N REPS"""
import sys
import time

import numpy as np
import pandas as pd

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
rng = np.random.default_rng(1)
cols = {"c%d" % j: rng.standard_normal(N) for j in range(1, 21)}
cols["key"] = rng.integers(1, 1001, N)
words = np.array(["w%d" % (i * 7919) for i in range(1, 101)], dtype=object)
cols["skey"] = words[rng.integers(0, 100, N)]
df = pd.DataFrame(cols)
floats = ["c%d" % j for j in range(1, 21)]


def bench(name, f):
    f()
    ts = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    print("pd %s %.6f" % (name, float(np.median(ts))))


bench("describe", lambda: df.describe())
bench("groupby_int", lambda: df.groupby("key")[floats].mean())
bench("groupby_str", lambda: df.groupby("skey")[floats].mean())
