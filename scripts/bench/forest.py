#!/usr/bin/python3
"""The scikit-learn side of scripts/bench/forest.sh.

    forest.py make DIR        writes DIR/{X_train,y_train,X_test,y_test}.npy: make_classification
                              (100,000 x 20, n_informative 10, random_state 0), 80,000 rows to fit
    forest.py run DIR REPS [ROUND]  RandomForestClassifier(n_estimators=100, n_jobs=2) fit and predict_proba,
                              REPS times (random_state ROUND * REPS + rep): prints "fit MEDIAN BEST",
                              "fit_cpu ...", "predict ...", "predict_cpu ...", "accuracy MEAN MEAN"
                              (cpu: the process's CPU seconds, joblib's threads included)
"""
import sys
import time

import numpy as np


def make(d):
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=100_000, n_features=20, n_informative=10, random_state=0)
    X = X.astype(np.float64)
    np.save(f"{d}/X_train.npy", X[:80_000])
    np.save(f"{d}/y_train.npy", y[:80_000].astype(np.int64))
    np.save(f"{d}/X_test.npy", X[80_000:])
    np.save(f"{d}/y_test.npy", y[80_000:].astype(np.int64))


def run(d, reps, rnd):
    from sklearn.ensemble import RandomForestClassifier
    Xtr, ytr = np.load(f"{d}/X_train.npy"), np.load(f"{d}/y_train.npy")
    Xte, yte = np.load(f"{d}/X_test.npy"), np.load(f"{d}/y_test.npy")
    fit, pred, acc, fit_cpu, pred_cpu = [], [], [], [], []
    for r in range(reps):
        m = RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=rnd * reps + r)
        t, c = time.perf_counter(), time.process_time()
        m.fit(Xtr, ytr)
        fit.append(time.perf_counter() - t)
        fit_cpu.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        p = m.predict_proba(Xte)
        pred.append(time.perf_counter() - t)
        pred_cpu.append(time.process_time() - c)
        acc.append(float((p.argmax(1) == yte).mean()))
    print("fit", np.median(fit), min(fit))
    print("fit_cpu", np.median(fit_cpu), min(fit_cpu))
    print("predict", np.median(pred), min(pred))
    print("predict_cpu", np.median(pred_cpu), min(pred_cpu))
    print("accuracy", np.mean(acc), np.mean(acc))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
