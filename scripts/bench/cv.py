#!/usr/bin/python3
"""scripts/bench/cv.py N JOBS SEED: scikit-learn's cross_val_score of RandomForestClassifier(100 trees),
5 stratified folds, on the same kind of synthetic N x 20 problem as cv.lua; prints "RESULT seconds accuracy"."""
import sys
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score

n, jobs, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.RandomState(1000 + seed)
X = rng.randn(n, 20)
w = rng.randn(20)
y = (X @ w + rng.randn(n) * 0.5 + X[:, 0] * X[:, 1] > 0).astype(int)
t0 = time.perf_counter()
s = cross_val_score(RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1), X, y, cv=5, n_jobs=jobs)
print("RESULT %.4f %.4f" % (time.perf_counter() - t0, s.mean()))
