#!/usr/bin/python3
"""The scikit-learn side of scripts/bench/linear.sh (see linear.lua):
   linear.py THREADS
LogisticRegression() (lbfgs) fit on the standardized breast cancer data
(median of 30 fits, ms) and KNeighborsClassifier(n_neighbors=5,
algorithm="brute", n_jobs=THREADS) predict of 10,000 x 50 queries against
10,000 x 50 rows (median of 5, s). Prints "RESULT <logreg ms> <accuracy> <knn s> <n_iter>"."""
import sys, time, os
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

threads = int(sys.argv[1])
X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
times = []
for i in range(31):
    t0 = time.perf_counter()
    m = LogisticRegression().fit(X, y)
    if i > 0:
        times.append((time.perf_counter() - t0) * 1000)
acc = m.score(X, y)
rng = np.random.default_rng(0)
R, Q = rng.standard_normal((10000, 50)), rng.standard_normal((10000, 50))
labels = rng.integers(0, 3, 10000)
knn = KNeighborsClassifier(n_neighbors=5, algorithm="brute", n_jobs=threads).fit(R, labels)
kt = []
for i in range(6):
    t0 = time.perf_counter()
    knn.predict(Q)
    if i > 0:
        kt.append(time.perf_counter() - t0)
print("RESULT %.3f %.4f %.4f %d" % (np.median(times), acc, np.median(kt), m.n_iter_[0]))
