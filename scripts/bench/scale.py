#!/usr/bin/python3
"""scikit-learn side of scripts/bench/scale.sh: prints "sk OP seconds" (median of REPS runs) for
StandardScaler and MinMaxScaler fit_transform on N x D float64, and a plain copy into an allocated matrix (np.copyto(Y, X))."""
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


Y = np.empty_like(X)
print("sk copy", timed(lambda: np.copyto(Y, X)))
print("sk standard", timed(lambda: StandardScaler().fit_transform(X)))
print("sk minmax", timed(lambda: MinMaxScaler().fit_transform(X)))
