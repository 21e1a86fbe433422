#!/usr/bin/python3
"""The imbalanced-learn side of scripts/bench/smote.sh, and its data.

    smote.py make DIR          writes DIR/X.npy (float64 [100000, 20]) and DIR/y.npy (int64, 1:20 minority)
    smote.py run DIR REPS      times SMOTE(k_neighbors=5).fit_resample and the kNN it needs

Prints "SMOTE <median s> <best s>" and "KNN <median s> <best s>" (the
minority class's 6 nearest neighbours by NearestNeighbors(algorithm="brute"),
what SMOTE asks for).
"""
import os
import sys
import time

import numpy as np

if sys.argv[1] == "make":
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=100000, n_features=20, n_informative=10, n_redundant=5,
                               weights=[20 / 21, 1 / 21], flip_y=0, random_state=0)
    np.save(os.path.join(sys.argv[2], "X.npy"), X.astype(np.float64))
    np.save(os.path.join(sys.argv[2], "y.npy"), (y + 1).astype(np.int64))
    sys.exit(0)

from imblearn.over_sampling import SMOTE
from sklearn.neighbors import NearestNeighbors

d, reps = sys.argv[2], int(sys.argv[3])
X, y = np.load(os.path.join(d, "X.npy")), np.load(os.path.join(d, "y.npy"))
Xm = X[y == 2]


def timed(f):
    f()  # warm-up
    s = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        s.append(time.perf_counter() - t)
    return np.median(s), min(s)


print("SMOTE %.6f %.6f" % timed(lambda: SMOTE(k_neighbors=5, random_state=0).fit_resample(X, y)))
print("KNN %.6f %.6f" % timed(lambda: NearestNeighbors(n_neighbors=6, algorithm="brute").fit(Xm).kneighbors(Xm)))
