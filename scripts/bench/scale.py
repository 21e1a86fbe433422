#!/usr/bin/python3
"""scikit-learn side of scripts/bench/scale.sh: prints "sk OP seconds" (median of REPS runs) for
StandardScaler and MinMaxScaler fit_transform on N x D float64, and a plain copy (X.copy())."""
import sys, time
import numpy as np
from sklearn.preprocessing import StandardScaler, MinMaxScaler

N, D, REPS = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
X = np.random.default_rng(0).standard_normal((N, D))


def timed(f):
    f()
    ts = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[(len(ts) - 1) // 2]


print("sk copy", timed(lambda: X.copy()))
print("sk standard", timed(lambda: StandardScaler().fit_transform(X)))
print("sk minmax", timed(lambda: MinMaxScaler().fit_transform(X)))
