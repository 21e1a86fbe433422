#!/usr/bin/python3
"""Reference folds for tests/lua/test_models_selection.lua, from scikit-learn
1.2 (Debian's python3-sklearn).

    scripts/gen_selection_fixtures.py   writes tests/fixtures/selection/splits.json

What it holds (indices 1-based, as moonlab's splitters return them):
  cases     the unshuffled splitters' exact folds (KFold, StratifiedKFold,
            GroupKFold, TimeSeriesSplit) on label and group vectors chosen
            to exercise uneven folds, classes in first-appearance order,
            string labels and ties in group sizes (few groups, where
            NumPy's argsort is stable).
  strat     for shuffled stratified splitters, the per-fold class counts
            of the test sets (which any correct stratification reproduces)
  sizes     ShuffleSplit train/test sizes for float and integer options
  curves    on the breast cancer data, StandardScaler + NearestCentroid
            (what the tests' test.Centroid computes): cross_val_score with
            StratifiedKFold(5), learning_curve (default sizes) and the
            train/test scores; scores as %.17g floats
"""
import json
import os

import numpy as np
import sklearn
from sklearn import model_selection as ms

assert sklearn.__version__.startswith("1.2"), sklearn.__version__

rng = np.random.RandomState(0)
cases = []


def folds(cv, X, y=None, groups=None):
    return [{"train": (tr + 1).tolist(), "test": (te + 1).tolist()} for tr, te in cv.split(X, y, groups)]


def add(name, cls, opts, n, y=None, groups=None):
    X = np.zeros((n, 2))
    cv = getattr(ms, cls)(**opts)
    cases.append({"name": name, "class": cls, "opts": opts, "n": n, "y": None if y is None else list(y),
                  "groups": None if groups is None else list(groups), "folds": folds(cv, X, y, groups)})


for n, k in [(12, 5), (10, 3), (7, 7), (100, 4)]:
    add("kfold_%d_%d" % (n, k), "KFold", {"n_splits": k}, n)

y1 = [3, 3, 1, 1, 1, 2, 2, 2, 2, 3, 1, 2, 2, 3, 1, 1]
add("strat_small", "StratifiedKFold", {"n_splits": 3}, len(y1), y1)
y2 = rng.choice([0, 1, 2, 5], size=57, p=[0.5, 0.3, 0.15, 0.05]).tolist()
add("strat_unbalanced", "StratifiedKFold", {"n_splits": 2}, len(y2), y2)
add("strat_unbalanced5", "StratifiedKFold", {"n_splits": 5}, len(y2), y2)
y3 = ["b", "a", "c", "a", "b", "b", "c", "a", "a", "b", "c", "c", "a", "b"]
add("strat_strings", "StratifiedKFold", {"n_splits": 4}, len(y3), y3)
y4 = rng.randint(1, 4, size=150).tolist()
add("strat_150", "StratifiedKFold", {"n_splits": 5}, len(y4), y4)

g1 = [1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 4, 5]
add("group_3", "GroupKFold", {"n_splits": 3}, len(g1), groups=g1)
g2 = rng.randint(0, 9, size=40).tolist()
add("group_random", "GroupKFold", {"n_splits": 4}, len(g2), groups=g2)

add("ts_5", "TimeSeriesSplit", {"n_splits": 5}, 20)
add("ts_gap", "TimeSeriesSplit", {"n_splits": 3, "gap": 2}, 17)
add("ts_max", "TimeSeriesSplit", {"n_splits": 4, "max_train_size": 5}, 23)
add("ts_test", "TimeSeriesSplit", {"n_splits": 3, "test_size": 2, "gap": 1}, 15)

strat = []
for cls, opts in [("StratifiedShuffleSplit", {"n_splits": 3, "test_size": 0.3, "random_state": 0}),
                  ("StratifiedShuffleSplit", {"n_splits": 2, "test_size": 11, "train_size": 30, "random_state": 0}),
                  ("StratifiedKFold", {"n_splits": 5, "shuffle": True, "random_state": 0})]:
    cv = getattr(ms, cls)(**opts)
    y = np.array(y2)
    counts = []
    for tr, te in cv.split(np.zeros((len(y), 1)), y):
        counts.append({"train": [int((y[tr] == c).sum()) for c in sorted(set(y2))],
                       "test": [int((y[te] == c).sum()) for c in sorted(set(y2))]})
    strat.append({"class": cls, "opts": opts, "y": y2, "counts": counts})

sizes = []
for n, opts in [(10, {}), (10, {"test_size": 0.25}), (11, {"train_size": 0.5}), (20, {"test_size": 3, "train_size": 0.5}),
                (7, {"test_size": 0.33})]:
    cv = ms.ShuffleSplit(n_splits=1, random_state=0, **opts)
    tr, te = next(cv.split(np.zeros((n, 1))))
    sizes.append({"n": n, "opts": opts, "train": len(tr), "test": len(te)})

from sklearn.datasets import load_breast_cancer
from sklearn.neighbors import NearestCentroid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

Xb, yb = load_breast_cancer(return_X_y=True)
pipe = make_pipeline(StandardScaler(), NearestCentroid())
sizes_abs, tr, te = ms.learning_curve(pipe, Xb, yb, cv=5)
curves = {"cv_scores": ms.cross_val_score(pipe, Xb, yb, cv=5).tolist(), "train_sizes_abs": sizes_abs.tolist(),
          "train_scores": tr.tolist(), "test_scores": te.tolist(),
          "train_std": tr.std(axis=1).tolist(), "test_std": te.std(axis=1).tolist()}

out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "selection", "splits.json")
with open(out, "w") as f:
    json.dump({"version": 1, "sklearn": sklearn.__version__, "cases": cases, "strat": strat, "sizes": sizes, "curves": curves}, f)
    f.write("\n")
print("wrote", out)
