#!/usr/bin/python3
"""Reference values for tests/lua/test_models_tree.lua and test_models_forest.lua,
from scikit-learn 1.2 (Debian's python3-sklearn) on its bundled data sets,
the same files ml.data.load_* reads.

    scripts/gen_tree_fixtures.py   writes tests/fixtures/trees/trees.lua

Every case fits on the rows whose 0-based index i has i % 3 != 0 and
predicts the others (1-based in Lua: (row - 1) % 3 == 0 are the test rows).

  trees    DecisionTreeClassifier / Regressor with no randomness that matters
           (max_features=None, splitter="best", random_state=0) and several
           settings: the test predictions (labels, or values), the training
           rows' leaf ids (1-based, our node numbering is scikit-learn's:
           depth first, left child first), node_count, depth, n_leaves,
           feature_importances_ of random_state=0; how many distinct trees
           random_state 0..29 give (scikit-learn draws the features in a
           random order even with max_features=None, so splits that tie
           are broken by the seed) and the range and mean of their test
           scores (accuracy, or R²).
  forests  RandomForest / ExtraTrees with n_estimators=100 and defaults
           otherwise: the test accuracy (R² for regressors) averaged over
           random_state 0..4.

Numbers are Lua literals (%.17g, exact round trip for float64).
"""
import os

import numpy as np
import sklearn
from sklearn import datasets
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.metrics import r2_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "trees", "trees.lua")
LOADERS = {"iris": datasets.load_iris, "wine": datasets.load_wine, "breast_cancer": datasets.load_breast_cancer,
           "digits": datasets.load_digits, "diabetes": datasets.load_diabetes}


def lua(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {lua(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple, np.ndarray)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, str):
        return '"' + v + '"'
    if v is None:
        return "nil"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return "%.17g" % float(v)


def split(name):
    X, y = LOADERS[name](return_X_y=True)
    test = np.arange(len(y)) % 3 == 0
    return X[~test], y[~test], X[test], y[test]


TREE_CASES = [
    ("iris", "clf", {}),
    ("iris", "clf", {"max_depth": 3}),
    ("wine", "clf", {"criterion": "entropy"}),
    ("breast_cancer", "clf", {}),
    ("breast_cancer", "clf", {"min_samples_leaf": 5, "max_depth": 6}),
    ("breast_cancer", "clf", {"max_leaf_nodes": 8}),
    ("breast_cancer", "clf", {"class_weight": "balanced", "max_depth": 4}),
    ("breast_cancer", "clf", {"min_impurity_decrease": 0.01}),
    ("digits", "clf", {}),
    ("digits", "clf", {"min_samples_split": 10, "criterion": "entropy"}),
    ("diabetes", "reg", {}),
    ("diabetes", "reg", {"max_depth": 4}),
    ("diabetes", "reg", {"min_samples_leaf": 10}),
    ("diabetes", "reg", {"max_leaf_nodes": 12}),
    ("breast_cancer", "clf", {"max_depth": 2}),
    ("wine", "clf", {"max_depth": 2}),
    ("diabetes", "reg", {"max_depth": 3, "min_samples_leaf": 5}),
    ("digits", "clf", {"max_depth": 4, "criterion": "entropy"}),
    ("diabetes", "reg", {"min_samples_leaf": 20, "max_leaf_nodes": 10}),
]


def score(kind, y, p):
    return r2_score(y, p) if kind == "reg" else float((p == y).mean())


def tree_case(name, kind, opts):
    Xtr, ytr, Xte, yte = split(name)
    cls = DecisionTreeClassifier if kind == "clf" else DecisionTreeRegressor
    m = cls(random_state=0, **opts).fit(Xtr, ytr)
    # the trees scikit-learn grows for random_state 0..29 (they differ only where splits tie)
    variants, scores = set(), []
    for seed in range(30):
        v = cls(random_state=seed, **opts).fit(Xtr, ytr)
        variants.add(tuple(v.apply(Xtr)) + tuple(v.tree_.feature) + tuple(v.tree_.threshold))
        scores.append(score(kind, yte, v.predict(Xte)))
    return {"data": name, "kind": kind, "opts": opts, "predict": m.predict(Xte), "leaf": m.apply(Xtr) + 1,
            "node_count": m.tree_.node_count, "depth": m.get_depth(), "n_leaves": m.get_n_leaves(),
            "importances": m.feature_importances_, "variants": len(variants),
            "score_min": min(scores), "score_max": max(scores), "score_mean": float(np.mean(scores))}


FOREST_CASES = [
    ("iris", RandomForestClassifier), ("wine", RandomForestClassifier), ("breast_cancer", RandomForestClassifier),
    ("digits", RandomForestClassifier), ("diabetes", RandomForestRegressor),
    ("breast_cancer", ExtraTreesClassifier), ("digits", ExtraTreesClassifier), ("diabetes", ExtraTreesRegressor),
]


def forest_case(name, cls):
    Xtr, ytr, Xte, yte = split(name)
    scores = []
    for seed in range(5):
        m = cls(n_estimators=100, random_state=seed).fit(Xtr, ytr)
        p = m.predict(Xte)
        scores.append(r2_score(yte, p) if cls in (RandomForestRegressor, ExtraTreesRegressor) else float((p == yte).mean()))
    return {"data": name, "model": cls.__name__, "score": float(np.mean(scores))}


def main():
    trees = [tree_case(*c) for c in TREE_CASES]
    forests = [forest_case(*c) for c in FOREST_CASES]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(f"-- generated by scripts/gen_tree_fixtures.py (scikit-learn {sklearn.__version__}); do not edit\n")
        f.write("return {\n  version = 1,\n  trees = {\n")
        for t in trees:
            f.write("    " + lua(t) + ",\n")
        f.write("  },\n  forests = {\n")
        for t in forests:
            f.write("    " + lua(t) + ",\n")
        f.write("  },\n}\n")


if __name__ == "__main__":
    main()
