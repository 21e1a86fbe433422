#!/usr/bin/python3
"""The scikit-learn side of scripts/bench/metrics.sh, and its data.

    metrics.py make DIR        writes DIR/{yt,yp}.npy (int64 [1M], 5 classes), DIR/yb.npy (int64 0/1)
                               and DIR/score.npy (float64 [1M], continuous: one distinct score per sample)
    metrics.py run DIR REPS    times sklearn.metrics on them

Prints "<metric> <median s> <best s>" per metric.
"""
import os
import sys
import time
import warnings

import numpy as np

warnings.simplefilter("ignore")
if sys.argv[1] == "make":
    rng = np.random.default_rng(0)
    n = 1_000_000
    yt = rng.integers(0, 5, n)
    yp = np.where(rng.random(n) < 0.7, yt, rng.integers(0, 5, n))
    yb = rng.integers(0, 2, n)
    score = np.clip(0.25 * yb + 0.75 * rng.random(n), 0, 1)
    for name, a in [("yt", yt), ("yp", yp), ("yb", yb), ("score", score)]:
        np.save(os.path.join(sys.argv[2], name + ".npy"), a)
    sys.exit(0)

from sklearn import metrics

d, reps = sys.argv[2], int(sys.argv[3])
yt, yp, yb, score = (np.load(os.path.join(d, f + ".npy")) for f in ("yt", "yp", "yb", "score"))


def timed(f):
    f()  # warm-up
    s = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        s.append(time.perf_counter() - t)
    return np.median(s), min(s)


runs = [
    ("accuracy", lambda: metrics.accuracy_score(yt, yp)),
    ("f1_macro", lambda: metrics.f1_score(yt, yp, average="macro")),
    ("confusion", lambda: metrics.confusion_matrix(yt, yp)),
    ("roc_auc", lambda: metrics.roc_auc_score(yb, score)),
    ("avg_prec", lambda: metrics.average_precision_score(yb, score)),
]
for name, f in runs:
    med, best = timed(f)
    print(name, med, best, flush=True)
