#!/usr/bin/python3
"""scikit-learn side of scripts/bench/gridsearch.sh (the same search, n_jobs=None)."""
import sys, time
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
X, y = load_breast_cancer(return_X_y=True)
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    g = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                     {"logisticregression__C": [0.01, 0.1, 1, 10]}, cv=3).fit(X, y)
    times.append(time.perf_counter() - t0)
times.sort()
print("TIME %.5f %g %.6f" % (times[(reps - 1) // 2], g.best_params_["logisticregression__C"], g.best_score_))
