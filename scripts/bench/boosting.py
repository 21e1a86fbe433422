#!/usr/bin/python3
"""The competitor side of scripts/bench/boosting.sh.

    boosting.py make DIR          writes DIR/{X_train,y_train,X_test,y_test}.npy: make_classification,
                                  100,000 training + 20,000 test rows x 20 features (10 informative), seed 0
    boosting.py run DIR WHICH     fits WHICH (xgboost | sklearn) once on the training rows, prints
                                  "WHICH seconds test_accuracy" (the fit alone is timed)
"""
import sys
import time

import numpy as np


def make(d):
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=120000, n_features=20, n_informative=10, n_redundant=4,
                               flip_y=0.02, random_state=0)
    np.save(f"{d}/X_train.npy", X[:100000]), np.save(f"{d}/y_train.npy", y[:100000].astype(np.float64))
    np.save(f"{d}/X_test.npy", X[100000:]), np.save(f"{d}/y_test.npy", y[100000:].astype(np.float64))


def run(d, which):
    Xtr, ytr = np.load(f"{d}/X_train.npy"), np.load(f"{d}/y_train.npy")
    Xte, yte = np.load(f"{d}/X_test.npy"), np.load(f"{d}/y_test.npy")
    if which == "xgboost":
        import xgboost
        # matched to moonlab / sklearn: best-first (lossguide) up to 31 leaves, no depth limit, eta 0.1,
        # 200 rounds, 255 bins, no l2 (sklearn's l2_regularization=0); min_child_weight stays at its default 1
        m = xgboost.XGBClassifier(tree_method="hist", grow_policy="lossguide", max_leaves=31, max_depth=0,
                                  learning_rate=0.1, n_estimators=200, max_bin=255, reg_lambda=0.0,
                                  min_child_weight=1, nthread=2, random_state=0)
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier
        m = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20,
                                           early_stopping=False, random_state=0)
    t = time.perf_counter()
    m.fit(Xtr, ytr)
    dt = time.perf_counter() - t
    acc = float((m.predict(Xte) == yte).mean())
    print(which, "%.4f" % dt, "%.4f" % acc)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        run(sys.argv[2], sys.argv[3])
