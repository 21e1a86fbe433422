#!/usr/bin/python3
"""Reference values for tests/lua/test_models_boosting.lua, from
scikit-learn 1.2 (HistGradientBoosting*) and XGBoost 1.7 (Debian's
python3-sklearn and python3-xgboost).

    scripts/gen_boosting_fixtures.py    writes tests/fixtures/boosting/boosting.lua

What it holds, per data set (breast_cancer, wine, iris, digits, diabetes:
the files Debian's python3-sklearn ships, which ml.data.load_* reads): a
fixed split (test = the rows whose 0-based index is a multiple of 4), and
  sklearn   HistGradientBoosting with early_stopping=False and otherwise the
            defaults: its test accuracy (R² for diabetes), n_iter_, and its
            raw predictions on the test rows (decision_function; predict for
            the regressor) for the deterministic comparison (digits: the
            first 40 test rows);
  xgboost   XGBClassifier / XGBRegressor, tree_method="hist",
            grow_policy="lossguide", max_leaves=31, max_depth=0, eta=0.1,
            100 rounds, max_bin=255, reg_lambda=0 (sklearn's
            l2_regularization=0); min_child_weight (a hessian sum) stands for
            min_samples_leaf (a row count): 20 for squared error (hessian 1
            per row: the same thing), 1 (XGBoost's default) for log loss,
            whose hessians p(1-p) <= 0.25 would make 20 far stricter than 20 rows.
A synthetic case where missingness carries the signal ("missing"): X and y
stored, the class depends on whether feature 1 is NaN; sklearn's raw
predictions on its test rows and its accuracy. A regression with missing
values ("missing_reg"), and the l2 / max_depth / min_samples_leaf variants
on breast cancer ("variants").

Numbers are Lua literals (%.17g, exact round trip for float64).
"""
import os

import numpy as np
import sklearn
import xgboost
from sklearn import datasets
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, r2_score

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "boosting", "boosting.lua")


def lua(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {lua(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, np.ndarray):
        return lua(v.tolist())
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if np.isnan(v):
            return "0/0"
        if np.isinf(v):
            return "math.huge" if v > 0 else "-math.huge"
        return "%.17g" % v
    if isinstance(v, str):
        return '"' + v + '"'
    raise TypeError(type(v))


def split(n):
    test = np.arange(n) % 4 == 0
    return ~test, test


def xgb_model(classifier):
    common = dict(tree_method="hist", grow_policy="lossguide", max_leaves=31, max_depth=0, learning_rate=0.1,
                  n_estimators=100, max_bin=255, reg_lambda=0.0, nthread=2, random_state=0)
    if classifier:
        return xgboost.XGBClassifier(min_child_weight=1, **common)
    return xgboost.XGBRegressor(min_child_weight=20, **common)


def case(name, X, y, classifier, raw_rows=None, **opts):
    tr, te = split(len(y))
    cls = HistGradientBoostingClassifier if classifier else HistGradientBoostingRegressor
    m = cls(early_stopping=False, random_state=0, **opts).fit(X[tr], y[tr])
    raw = m.decision_function(X[te]) if classifier else m.predict(X[te])
    if raw_rows is not None:
        raw = raw[:raw_rows]
    score = accuracy_score if classifier else r2_score
    out = {"sklearn": {"score": score(y[te], m.predict(X[te])), "n_iter": m.n_iter_, "raw": raw}}
    if not opts:
        yx = y[tr]
        xm = xgb_model(classifier).fit(X[tr], yx)
        out["xgboost"] = {"score": score(y[te], xm.predict(X[te]))}
    print(name, {k: v["score"] for k, v in out.items()})
    return out


def main():
    F = {"versions": {"sklearn": sklearn.__version__, "xgboost": xgboost.__version__, "numpy": np.__version__}}
    F["breast_cancer"] = case("breast_cancer", *datasets.load_breast_cancer(return_X_y=True), True)
    F["wine"] = case("wine", *datasets.load_wine(return_X_y=True), True)
    F["iris"] = case("iris", *datasets.load_iris(return_X_y=True), True)
    F["digits"] = case("digits", *datasets.load_digits(return_X_y=True), True, raw_rows=40)
    F["diabetes"] = case("diabetes", *datasets.load_diabetes(return_X_y=True), False)

    X, y = datasets.load_breast_cancer(return_X_y=True)
    F["variants"] = [
        {"opts": o, **case("variant %s" % o, X, y, True, **o)}
        for o in ({"l2_regularization": 1.0}, {"max_depth": 3}, {"min_samples_leaf": 5, "max_leaf_nodes": 8},
                  {"learning_rate": 0.3, "max_iter": 30}, {"max_bins": 32})
    ]

    # missingness carries the signal: class 1 rows have feature 1 missing 80% of the time, class 0 rows 10%
    rng = np.random.RandomState(0)
    n = 800
    y = rng.randint(0, 2, n)
    X = rng.normal(size=(n, 4))
    X[:, 0] += 0.3 * y
    miss = rng.rand(n) < np.where(y == 1, 0.8, 0.1)
    X[miss, 1] = np.nan
    X[rng.rand(n) < 0.05, 2] = np.nan
    F["missing"] = {"X": X, "y": y, **case("missing", X, y, True)}

    Xr = rng.normal(size=(600, 3))
    yr = Xr[:, 0] * 2 + np.where(rng.rand(600) < 0.3, 3.0, 0.0)
    Xr[yr > 2.5, 1] = np.nan  # the missing rows are the high ones
    Xr[rng.rand(600) < 0.1, 2] = np.nan
    F["missing_reg"] = {"X": Xr, "y": yr, **case("missing_reg", Xr, yr, False)}

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("-- written by scripts/gen_boosting_fixtures.py; do not edit\nreturn {\n")
        for k, v in F.items():
            f.write(f"  {k} = {lua(v)},\n")
        f.write("}\n")


if __name__ == "__main__":
    main()
