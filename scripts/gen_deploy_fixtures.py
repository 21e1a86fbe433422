#!/usr/bin/python3
"""Reference values for model bundles and `moonlab eval` from scikit-learn and
NumPy: writes tests/fixtures/deploy/reference.json, read by
tests/lua/test_bundle.lua and tests/lua/test_deploy_cli.lua.
- breast cancer: the per-feature mean and population std (ddof=0) of the raw
  features and the class frequencies (what a bundle's statistics hold), and
  accuracy / f1_macro / roc_auc of make_pipeline(StandardScaler(),
  LogisticRegression()) fitted and scored on the whole set (the eval gate's
  numbers; moonlab's LogisticRegression is lbfgs with C=1 as scikit-learn's).
- iris: the same pipeline's accuracy and f1_macro.
Run from the repository root: scripts/gen_deploy_fixtures.py"""
import json, os
import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT = "tests/fixtures/deploy"
VERSION = 1


def scores(X, y, binary):
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    pred = pipe.predict(X)
    out = {"accuracy": accuracy_score(y, pred), "f1_macro": f1_score(y, pred, average="macro")}
    if binary:
        out["roc_auc"] = roc_auc_score(y, pipe.decision_function(X))
    return out


def main():
    bc = load_breast_cancer()
    X, y = bc.data, bc.target
    ref = {
        "version": VERSION, "sklearn": sklearn.__version__,
        "breast_cancer": {
            "mean": X.mean(axis=0).tolist(), "std": X.std(axis=0).tolist(),
            "class_freq": (np.bincount(y) / len(y)).tolist(), "n": int(len(y)),
            "scores": scores(X, y, True),
        },
        "iris": {"scores": scores(*load_iris(return_X_y=True), False)},
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
