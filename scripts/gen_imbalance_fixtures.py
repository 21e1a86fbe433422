#!/usr/bin/python3
"""Reference values for tests/lua/test_neighbors.lua and test_imbalance.lua,
from scikit-learn 1.2 and imbalanced-learn 0.10 (Debian's python3-sklearn
and python3-imblearn).

    scripts/gen_imbalance_fixtures.py   writes tests/fixtures/imbalance/imbalance.lua

What it holds:
  knn       NearestNeighbors(algorithm="brute") on random float64 data
            (continuous: no ties): kneighbors(Q) and kneighbors() (each row
            without itself), indices 1-based, distances; a float32 case.
  nan_dist  nan_euclidean_distances of rows with missing values.
  impute    KNNImputer fit on data with NaNs (a row missing everywhere, a
            column missing everywhere): fit_transform and transform of new
            rows, for n_neighbors 1, 3, 5 and weights uniform / distance;
            add_indicator=True on the data with an empty column.
  weights   compute_class_weight / compute_sample_weight, "balanced" and a dict.
  datasets  two imbalanced data sets (3 classes labelled 1..3; binary
            labelled 0 / 5), with, for every sampler and sampling strategy,
            imblearn's counts per class after fit_resample and the mean of
            each class's rows in its output; BorderlineSMOTE's danger set
            (m_neighbors 10) and ADASYN's generation count per minority
            point (n_neighbors 5), computed as imblearn does.

Numbers are Lua literals (%.17g, exact round trip for float64).
"""
import os

import numpy as np
import imblearn
import sklearn
from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from imblearn.utils import check_sampling_strategy
from sklearn.datasets import make_classification
from sklearn.impute import KNNImputer
from sklearn.metrics.pairwise import nan_euclidean_distances
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "imbalance", "imbalance.lua")


def lua(v):
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if v != v:
            return "0/0"
        if v in (float("inf"), float("-inf")):
            return "math.huge" if v > 0 else "-math.huge"
        return "%.17g" % v
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, np.ndarray):
        return tensor(v)
    if isinstance(v, dict):
        items = []
        for k, x in v.items():
            key = ("[%s]" % lua(k)) if not isinstance(k, str) or not k.isidentifier() else k
            if isinstance(k, str) and not k.isidentifier():
                key = '["%s"]' % k
            items.append("%s = %s" % (key, lua(x)))
        return "{" + ", ".join(items) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    raise TypeError(type(v))


def tensor(a):
    a = np.asarray(a)
    dtype = {"float64": "float64", "float32": "float32", "int64": "int64", "bool": "bool"}[str(a.dtype)]
    return "{data = {%s}, shape = {%s}, dtype = \"%s\"}" % (
        ", ".join(lua(x) for x in a.reshape(-1)), ", ".join(str(s) for s in a.shape), dtype)


def knn_cases():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 6)
    Q = rng.randn(25, 6)
    nn = NearestNeighbors(n_neighbors=5, algorithm="brute").fit(X)
    d, i = nn.kneighbors(Q)
    ds, is_ = nn.kneighbors()  # each row of X without itself
    X32 = rng.randn(60, 4).astype(np.float32)
    nn32 = NearestNeighbors(n_neighbors=3, algorithm="brute").fit(X32)
    d32, i32 = nn32.kneighbors(X32[:20])
    return {
        "X": X, "Q": Q, "k": 5, "idx": i.astype(np.int64) + 1, "dist": d,
        "self_idx": is_.astype(np.int64) + 1, "self_dist": ds,
        "X32": X32, "k32": 3, "idx32": i32.astype(np.int64) + 1, "dist32": d32.astype(np.float64),
    }


def nan_data(rng, n, d, share):
    X = rng.randn(n, d) * np.array([1.0, 10.0, 0.1, 3.0, 1.0])[:d] + np.arange(d)
    X[rng.rand(n, d) < share] = np.nan
    return X


def impute_cases():
    rng = np.random.RandomState(1)
    F = nan_data(rng, 40, 5, 0.2)
    F[3, :] = np.nan          # a row missing everywhere: its distances are all NaN -> column means
    G = F.copy()
    G[:, 2] = np.nan          # a column missing everywhere: dropped, as scikit-learn does
    N = nan_data(rng, 15, 5, 0.3)
    N[0, :] = np.nan
    cases = []
    for data_name, fit in (("F", F), ("G", G)):
        for k in (1, 3, 5):
            for w in ("uniform", "distance"):
                imp = KNNImputer(n_neighbors=k, weights=w)
                ft = imp.fit_transform(fit)
                tr = imp.transform(N)
                cases.append({"fit": data_name, "k": k, "weights": w, "fit_transform": ft, "transform": tr})
    ind = KNNImputer(n_neighbors=3, add_indicator=True)
    indicator = {"fit_transform": ind.fit_transform(G), "transform": ind.transform(N)}
    return {"F": F, "G": G, "N": N, "cases": cases, "indicator": indicator, "nan_dist": nan_euclidean_distances(N, F)}


def weight_cases():
    y = np.array([1] * 10 + [2] * 3 + [3] * 7 + [2] * 2, dtype=np.int64)
    classes = np.unique(y)
    bal = compute_class_weight("balanced", classes=classes, y=y)
    cw = {1: 0.5, 3: 2.0}
    dic = compute_class_weight(cw, classes=classes, y=y)
    y0 = np.array([0, 0, 0, 7, 7, -2], dtype=np.int64)
    return {
        "y": y, "balanced": bal, "dict": cw, "dict_weights": dic,
        "sample_balanced": compute_sample_weight("balanced", y),
        "sample_dict": compute_sample_weight(cw, y),
        "y_any": y0, "sample_any": compute_sample_weight("balanced", y0),
    }


STRATS_OVER = ["auto", "minority", "not majority", "not minority", "all"]
STRATS_UNDER = ["auto", "majority", "not minority", "not majority", "all"]


def strategy_key(s):
    if isinstance(s, dict):
        return "dict"
    if isinstance(s, float):
        return "ratio"
    return s


def sampler_runs(X, y, binary):
    classes = np.unique(y)
    counts = {int(c): int((y == c).sum()) for c in classes}
    minority = min(counts, key=counts.get)
    majority = max(counts, key=counts.get)
    over = list(STRATS_OVER)
    under = list(STRATS_UNDER)
    if binary:
        over.append(0.5)
        under.append(0.5)
    over.append({minority: counts[minority] * 3, majority: counts[majority]})
    under.append({majority: counts[minority] * 2})
    makers = {
        "RandomOverSampler": (lambda s: RandomOverSampler(sampling_strategy=s, random_state=0), over),
        "RandomOverSampler_shrink": (lambda s: RandomOverSampler(sampling_strategy=s, shrinkage=1.0, random_state=0), over),
        "RandomUnderSampler": (lambda s: RandomUnderSampler(sampling_strategy=s, random_state=0), under),
        "RandomUnderSampler_repl": (lambda s: RandomUnderSampler(sampling_strategy=s, replacement=True, random_state=0), under),
        "SMOTE": (lambda s: SMOTE(sampling_strategy=s, random_state=0), over),
        "BorderlineSMOTE1": (lambda s: BorderlineSMOTE(sampling_strategy=s, kind="borderline-1", random_state=0), over),
        "BorderlineSMOTE2": (lambda s: BorderlineSMOTE(sampling_strategy=s, kind="borderline-2", random_state=0), over),
        "ADASYN": (lambda s: ADASYN(sampling_strategy=s, random_state=0), over),
    }
    runs = []
    for name, (make, strats) in makers.items():
        for s in strats:
            # imblearn 0.10.0's parameter check rejects "minority" for over-samplers (fixed in 0.10.1);
            # its own check_sampling_strategy resolves it, and that dict gives the same run
            sv = check_sampling_strategy(s, y, "over-sampling") if s == "minority" else s
            if s == "minority" and not isinstance(make(0.5), RandomUnderSampler):
                sv = {c: counts[c] + n for c, n in sv.items()}
            Xr, yr = make(sv).fit_resample(X, y)
            got = {int(c): int((yr == c).sum()) for c in classes}
            means = {int(c): Xr[yr == c].mean(axis=0) for c in classes}
            runs.append({"sampler": name, "strategy": strategy_key(s),
                         "strategy_value": s if isinstance(s, (dict, float)) else s,
                         "counts": got, "means": means, "n": int(len(yr))})
    return runs


def danger_and_adasyn(X, y):
    """BorderlineSMOTE's danger set (m_neighbors 10) and ADASYN's counts
    (n_neighbors 5) for each class imblearn over-samples under 'auto'."""
    classes, cnt = np.unique(y, return_counts=True)
    n_major = cnt.max()
    out = {}
    for c, nc in zip(classes, cnt):
        if nc == n_major:
            continue
        Xc = X[y == c]
        nn_m = NearestNeighbors(n_neighbors=11).fit(X)
        nbr = nn_m.kneighbors(Xc, return_distance=False)[:, 1:]
        n_maj = (y[nbr] != c).sum(axis=1)
        danger = (n_maj >= 10 / 2) & (n_maj < 10)
        nn5 = NearestNeighbors(n_neighbors=6).fit(X)
        nbr5 = nn5.kneighbors(Xc, return_distance=False)[:, 1:]
        ratio = (y[nbr5] != c).sum(axis=1) / 5
        ratio = ratio / ratio.sum()
        gen = np.rint(ratio * (n_major - nc)).astype(np.int64)
        out[int(c)] = {"danger": danger, "adasyn": gen}
    return out


def datasets():
    X3, y3 = make_classification(n_samples=400, n_features=4, n_informative=3, n_redundant=1, n_classes=3,
                                 weights=[0.1, 0.25, 0.65], class_sep=0.8, flip_y=0, random_state=3)
    y3 = (y3 + 1).astype(np.int64)
    Xb, yb = make_classification(n_samples=300, n_features=3, n_informative=2, n_redundant=0, n_classes=2,
                                 weights=[0.12, 0.88], class_sep=0.6, flip_y=0, random_state=4)
    yb = np.where(yb == 0, 0, 5).astype(np.int64)
    out = []
    for name, X, y, binary in (("three", X3, y3, False), ("binary", Xb, yb, True)):
        out.append({"name": name, "X": X, "y": y, "runs": sampler_runs(X, y, binary),
                    "checks": danger_and_adasyn(X, y)})
    return out


def main():
    body = {
        "version": VERSION,
        "sklearn": sklearn.__version__,
        "imblearn": imblearn.__version__,
        "knn": knn_cases(),
        "impute": impute_cases(),
        "weights": weight_cases(),
        "datasets": datasets(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("-- written by scripts/gen_imbalance_fixtures.py; do not edit\n")
        f.write("return " + lua(body) + "\n")
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
