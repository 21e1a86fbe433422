#!/usr/bin/python3
"""Fixtures for ml.metrics: scikit-learn 1.2's values on the same inputs.

Writes tests/fixtures/metrics/metrics_cases.json: a list of cases
{"name", "fn", "args": [...], "opts": {...}, "want": ...}. Inputs are tagged
{"t": "i64"|"f64"|"f32"|"str", "v": [...], "shape": [...]} (strings as Lua
lists); opts are moonlab's (average None is "none"); NaN and infinite results
are the strings "NaN", "Infinity", "-Infinity"; a None in a result is JSON null. tests/lua/test_metrics_sklearn.lua
calls ml.metrics[fn](args..., opts) and compares (1e-12 relative).

Run: /usr/bin/python3 scripts/gen_metrics_fixtures.py
"""
import json
import math
import os
import warnings

import numpy as np
import sklearn
from sklearn import metrics as skm

warnings.simplefilter("ignore")
rng = np.random.default_rng(11)
cases = []


def tag(x):
    if isinstance(x, list) and x and isinstance(x[0], str):
        return {"t": "str", "v": x}
    a = np.asarray(x)
    if a.dtype.kind in "iu":
        return {"t": "i64", "v": a.reshape(-1).tolist(), "shape": list(a.shape)}
    if a.dtype == np.float32:
        return {"t": "f32", "v": a.reshape(-1).astype(np.float64).tolist(), "shape": list(a.shape)}
    return {"t": "f64", "v": a.reshape(-1).tolist(), "shape": list(a.shape)}


def plain(v):
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (tuple, list)):
        return [plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return plain(v.tolist())
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    f = float(v)
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return "NaN" if math.isnan(f) else f


def add(name, fn, args, sk_kwargs=None, ml_opts=None, sk_fn=None):
    sk_kwargs = sk_kwargs or {}
    want = (sk_fn or getattr(skm, fn))(*args, **sk_kwargs)
    opts = dict(sk_kwargs if ml_opts is None else ml_opts)
    for k, v in list(opts.items()):
        if k == "average" and v is None:
            opts[k] = "none"
        elif isinstance(v, np.ndarray):
            opts[k] = tag(v)
        elif isinstance(v, list):
            opts[k] = plain(v)
    cases.append({"name": name, "fn": fn, "args": [tag(a) for a in args], "opts": opts, "want": plain(want)})


def ties(s, decimals=1):
    return np.round(s, decimals)


# ---- label sets -----------------------------------------------------------
n = 40
y01 = rng.integers(0, 2, n)
p01 = np.where(rng.random(n) < 0.75, y01, 1 - y01)
s01 = ties(np.clip(0.3 * y01 + 0.7 * rng.random(n), 0, 1))
w = np.round(rng.random(n) * 3, 2)
w[3] = 0.0  # a zero weight (left out of the curves)

binary_sets = {
    "01": (y01, p01, {}),
    "12": (y01 + 1, p01 + 1, {"pos_label": 2}),
    "pm1": (2 * y01 - 1, 2 * p01 - 1, {}),
    "str": (["pos" if v else "neg" for v in y01], ["pos" if v else "neg" for v in p01], {"pos_label": "pos"}),
    "f64": (y01.astype(np.float64), p01.astype(np.float64), {}),
}

m = 50
K = 4
ym = rng.integers(0, K, m)
pm = np.where(rng.random(m) < 0.6, ym, rng.integers(0, K - 1, m))  # class 3 rarely predicted
pm[pm == 3] = 2
wm = np.round(rng.random(m) * 2 + 0.1, 2)
names = np.array(["ant", "bee", "cat", "dog"])
multi_sets = {
    "int": (ym, pm),
    "str": (names[ym].tolist(), names[pm].tolist()),
    "f64": (ym.astype(np.float64) + 1, pm.astype(np.float64) + 1),
    "neg": (ym - 2, pm - 2),
}

# ---- label metrics --------------------------------------------------------
for key, (yt, yp, pl) in binary_sets.items():
    add(f"accuracy {key}", "accuracy_score", [yt, yp])
    add(f"accuracy {key} w", "accuracy_score", [yt, yp], {"sample_weight": w})
    add(f"accuracy {key} count", "accuracy_score", [yt, yp], {"normalize": False})
    add(f"balanced {key}", "balanced_accuracy_score", [yt, yp], {"sample_weight": w})
    add(f"balanced {key} adj", "balanced_accuracy_score", [yt, yp], {"adjusted": True})
    for fn in ["precision_score", "recall_score", "f1_score"]:
        add(f"{fn} {key}", fn, [yt, yp], dict(pl))
        add(f"{fn} {key} w", fn, [yt, yp], dict(pl, sample_weight=w))
        for avg in ["micro", "macro", "weighted", None]:
            add(f"{fn} {key} {avg}", fn, [yt, yp], {"average": avg})
    add(f"fbeta {key} 0.5", "fbeta_score", [yt, yp], dict(pl, beta=0.5))
    add(f"fbeta {key} 2 w", "fbeta_score", [yt, yp], dict(pl, beta=2.0, sample_weight=w))
    add(f"prfs {key}", "precision_recall_fscore_support", [yt, yp])
    add(f"prfs {key} binary", "precision_recall_fscore_support", [yt, yp], dict(pl, average="binary"))
    add(f"confusion {key}", "confusion_matrix", [yt, yp])
    add(f"confusion {key} w", "confusion_matrix", [yt, yp], {"sample_weight": w})
    for norm in ["true", "pred", "all"]:
        add(f"confusion {key} {norm}", "confusion_matrix", [yt, yp], {"normalize": norm})
    add(f"mcc {key}", "matthews_corrcoef", [yt, yp])
    add(f"mcc {key} w", "matthews_corrcoef", [yt, yp], {"sample_weight": w})
    add(f"kappa {key}", "cohen_kappa_score", [yt, yp])
    add(f"report {key}", "classification_report", [yt, yp])
    add(f"report {key} dict", "classification_report", [yt, yp], {"output_dict": True})

for key, (yt, yp) in multi_sets.items():
    labs = sorted(set(list(yt)))
    add(f"accuracy m{key}", "accuracy_score", [yt, yp])
    add(f"accuracy m{key} w", "accuracy_score", [yt, yp], {"sample_weight": wm})
    add(f"balanced m{key}", "balanced_accuracy_score", [yt, yp])
    add(f"balanced m{key} w adj", "balanced_accuracy_score", [yt, yp], {"sample_weight": wm, "adjusted": True})
    for avg in ["micro", "macro", "weighted", None]:
        for fn in ["precision_score", "recall_score", "f1_score"]:
            add(f"{fn} m{key} {avg}", fn, [yt, yp], {"average": avg})
            add(f"{fn} m{key} {avg} w", fn, [yt, yp], {"average": avg, "sample_weight": wm})
        add(f"fbeta m{key} {avg}", "fbeta_score", [yt, yp], {"average": avg, "beta": 0.5})
        add(f"prfs m{key} {avg}", "precision_recall_fscore_support", [yt, yp], {"average": avg, "beta": 2.0})
    for zd in [0, 1]:
        add(f"precision m{key} zd{zd}", "precision_score", [yt, yp], {"average": "macro", "zero_division": zd})
        add(f"prfs m{key} zd{zd}", "precision_recall_fscore_support", [yt, yp], {"zero_division": zd})
    sub = [labs[2], labs[0]]
    add(f"f1 m{key} labels", "f1_score", [yt, yp], {"average": "macro", "labels": sub})
    add(f"f1 m{key} labels micro", "f1_score", [yt, yp], {"average": "micro", "labels": sub})
    add(f"prfs m{key} labels", "precision_recall_fscore_support", [yt, yp], {"labels": sub})
    add(f"confusion m{key}", "confusion_matrix", [yt, yp])
    add(f"confusion m{key} labels", "confusion_matrix", [yt, yp], {"labels": [labs[3], labs[1], labs[0]]})
    add(f"confusion m{key} w", "confusion_matrix", [yt, yp], {"sample_weight": wm})
    for norm in ["true", "pred", "all"]:
        add(f"confusion m{key} {norm}", "confusion_matrix", [yt, yp], {"normalize": norm, "sample_weight": wm})
    add(f"mcc m{key}", "matthews_corrcoef", [yt, yp])
    add(f"mcc m{key} w", "matthews_corrcoef", [yt, yp], {"sample_weight": wm})
    for wt in [None, "linear", "quadratic"]:
        add(f"kappa m{key} {wt}", "cohen_kappa_score", [yt, yp], {"weights": wt} if wt else {})
    add(f"kappa m{key} w labels", "cohen_kappa_score", [yt, yp], {"sample_weight": wm, "labels": labs[:3]})
    add(f"report m{key}", "classification_report", [yt, yp])
    add(f"report m{key} w", "classification_report", [yt, yp], {"sample_weight": wm, "digits": 4})
    add(f"report m{key} dict", "classification_report", [yt, yp], {"output_dict": True, "sample_weight": wm})
    add(f"report m{key} labels", "classification_report", [yt, yp], {"labels": labs[:2]})
    add(f"report m{key} names", "classification_report", [yt, yp], {"target_names": ["A", "Bb", "Ccc", "a long name"]})

# zero-division corners: no predicted positives, no true positives, an absent class
z_true = np.array([0, 0, 1, 1, 0, 0])
z_none = np.zeros(6, dtype=np.int64)
for zd in [0, 1]:
    add(f"precision nopred zd{zd}", "precision_score", [z_true, z_none], {"zero_division": zd})
    add(f"recall notrue zd{zd}", "recall_score", [z_none, z_true], {"zero_division": zd})
    add(f"f1 nopred zd{zd}", "f1_score", [z_true, z_none], {"zero_division": zd})
    add(f"f1 weighted notrue zd{zd}", "f1_score", [z_none, z_none], {"zero_division": zd, "average": "weighted",
                                                                      "labels": [1]})
add("precision nopred warn", "precision_score", [z_true, z_none])
add("f1 only-negatives", "f1_score", [z_none, z_none])
add("mcc constant", "matthews_corrcoef", [z_true, z_none])
add("balanced absent pred class", "balanced_accuracy_score", [np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])])

# ---- scores ---------------------------------------------------------------
for key, (yt, _, pl) in binary_sets.items():
    add(f"roc_curve {key}", "roc_curve", [yt, s01], dict(pl))
    add(f"roc_curve {key} all", "roc_curve", [yt, s01], dict(pl, drop_intermediate=False))
    add(f"roc_curve {key} w", "roc_curve", [yt, s01], dict(pl, sample_weight=w))
    add(f"roc_auc {key}", "roc_auc_score", [yt, s01])
    add(f"roc_auc {key} w", "roc_auc_score", [yt, s01], {"sample_weight": w})
    add(f"roc_auc {key} max_fpr", "roc_auc_score", [yt, s01], {"max_fpr": 0.3})
    add(f"pr_curve {key}", "precision_recall_curve", [yt, s01], dict(pl))
    add(f"pr_curve {key} w", "precision_recall_curve", [yt, s01], dict(pl, sample_weight=w))
    add(f"ap {key}", "average_precision_score", [yt, s01], dict(pl, pos_label=pl.get("pos_label", 1)))
    add(f"ap {key} w", "average_precision_score", [yt, s01], dict(pl, pos_label=pl.get("pos_label", 1), sample_weight=w))
    add(f"brier {key}", "brier_score_loss", [yt, s01], dict(pl))
    add(f"brier {key} w", "brier_score_loss", [yt, s01], dict(pl, sample_weight=w))
    add(f"log_loss {key}", "log_loss", [yt, s01])
    add(f"log_loss {key} w", "log_loss", [yt, s01], {"sample_weight": w, "normalize": False})
    add(f"top_k {key} k1", "top_k_accuracy_score", [yt, s01], {"k": 1})
    add(f"top_k {key} k1 w", "top_k_accuracy_score", [yt, s01 * 4 - 2], {"k": 1, "sample_weight": w})

# continuous scores (few ties) and exact ties everywhere
sc = rng.random(n)
add("roc_auc continuous", "roc_auc_score", [y01, sc])
add("ap continuous", "average_precision_score", [y01, sc])
add("roc_curve one score", "roc_curve", [y01, np.full(n, 0.5)])
add("roc_auc one score", "roc_auc_score", [y01, np.full(n, 0.5)])
add("ap one score w", "average_precision_score", [y01, np.full(n, 0.5)], {"sample_weight": w})
add("log_loss clip", "log_loss", [np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 0.0, 1e-20])])
add("log_loss eps", "log_loss", [np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 0.3, 0.9])], {"eps": 1e-3})
add("log_loss f32", "log_loss", [np.array([0, 1, 1, 0]), np.array([0.0, 1.0, 0.3, 0.9], dtype=np.float32)])
add("log_loss 2 cols", "log_loss", [y01, np.stack([1 - s01, s01], 1)])

logits = rng.normal(size=(m, K))
logits[:, 1] = np.round(logits[:, 1])  # ties inside columns
P = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
Pt = np.round(P, 1)
Pt = Pt / Pt.sum(1, keepdims=True)  # ties across columns, rows still summing to 1
for key, (yt, _) in multi_sets.items():
    for avg in ["macro", "weighted"]:
        add(f"roc_auc m{key} ovr {avg}", "roc_auc_score", [yt, P], {"multi_class": "ovr", "average": avg})
        add(f"roc_auc m{key} ovo {avg}", "roc_auc_score", [yt, Pt], {"multi_class": "ovo", "average": avg})
    add(f"roc_auc m{key} ovr w", "roc_auc_score", [yt, Pt], {"multi_class": "ovr", "sample_weight": wm})
    add(f"roc_auc m{key} ovr none", "roc_auc_score", [yt, P], {"multi_class": "ovr", "average": None})
    add(f"roc_auc m{key} ovr micro", "roc_auc_score", [yt, Pt], {"multi_class": "ovr", "average": "micro"})
    for avg in ["micro", "macro", "weighted", None]:
        add(f"ap m{key} {avg}", "average_precision_score", [yt, Pt], {"average": avg},
            sk_fn=lambda a, b, **kw: skm.average_precision_score(
                __import__("sklearn.preprocessing", fromlist=["x"]).label_binarize(a, classes=sorted(set(a))), b, **kw))
    add(f"log_loss m{key}", "log_loss", [yt, P])
    add(f"log_loss m{key} w", "log_loss", [yt, Pt], {"sample_weight": wm})
    for k in [1, 2, 3]:
        add(f"top_k m{key} k{k}", "top_k_accuracy_score", [yt, Pt], {"k": k})
    add(f"top_k m{key} k2 w", "top_k_accuracy_score", [yt, logits], {"k": 2, "sample_weight": wm, "normalize": False})
# a class of the labels absent from y_true
y3 = np.array([0, 1, 1, 0, 1, 0])
P3 = rng.dirichlet([1, 1, 1], 6)
add("log_loss labels", "log_loss", [y3, P3], {"labels": [0, 1, 2]})
add("top_k labels", "top_k_accuracy_score", [y3, P3], {"k": 2, "labels": [0, 1, 2]})

# ---- regression -----------------------------------------------------------
r = 30
yr = rng.normal(size=r) * 3
pr = yr + rng.normal(size=r)
yr2 = rng.normal(size=(r, 3)) * np.array([1, 5, 0.1])
pr2 = yr2 + rng.normal(size=(r, 3)) * 0.5
wr = np.round(rng.random(r) * 2, 2)
yr_med = np.round(yr)  # ties for the medians
pr_med = np.round(pr)
reg = ["mean_squared_error", "mean_absolute_error", "median_absolute_error", "r2_score", "explained_variance_score",
       "mean_absolute_percentage_error"]
for fn in reg:
    add(f"{fn} 1d", fn, [yr, pr])
    add(f"{fn} 1d w", fn, [yr, pr], {"sample_weight": wr})
    add(f"{fn} ties w", fn, [yr_med, pr_med], {"sample_weight": wr})
    add(f"{fn} ties even", fn, [yr_med[:20], pr_med[:20]])
    for mo in ["raw_values", "uniform_average"]:
        add(f"{fn} 2d {mo}", fn, [yr2, pr2], {"multioutput": mo})
        add(f"{fn} 2d {mo} w", fn, [yr2, pr2], {"multioutput": mo, "sample_weight": wr})
    add(f"{fn} 2d weights", fn, [yr2, pr2], {"multioutput": [0.2, 0.3, 0.5]},
        ml_opts={"multioutput": [0.2, 0.3, 0.5]})
for fn in ["r2_score", "explained_variance_score"]:
    add(f"{fn} variance_weighted", fn, [yr2, pr2], {"multioutput": "variance_weighted"})
    add(f"{fn} constant", fn, [np.ones(5), np.array([1, 1, 1, 1, 2.0])])
    add(f"{fn} constant perfect", fn, [np.ones(5), np.ones(5)])
    add(f"{fn} constant not finite", fn, [np.ones(5), np.array([1, 1, 1, 1, 2.0])], {"force_finite": False},
        ml_opts={"force_finite": False})
add("rmse squared False", "mean_squared_error", [yr2, pr2], {"squared": False})
add("rmse squared False w", "mean_squared_error", [yr, pr], {"squared": False, "sample_weight": wr})
add("max_error", "max_error", [yr, pr])
add("mape zero", "mean_absolute_percentage_error", [np.array([0.0, 1, 2]), np.array([0.5, 1, 3])])


def rmse(a, b, **kw):
    return skm.mean_squared_error(a, b, squared=False, **kw)


add("root_mean_squared_error", "root_mean_squared_error", [yr2, pr2], sk_fn=rmse)
add("root_mean_squared_error w raw", "root_mean_squared_error", [yr, pr], {"sample_weight": wr}, sk_fn=rmse)

out = {"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}
path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "metrics", "metrics_cases.json")
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"{len(cases)} cases -> {os.path.normpath(path)}")
