#!/usr/bin/python3
"""Reference values for ml.prep from scikit-learn and pandas: writes
tests/fixtures/prep/*.json, read by tests/lua/test_prep_*.lua. Matrices are
{"data": flat row-major list, "shape": [...]}; NaN is written as "nan" (JSON
has none). Run from the repository root: scripts/gen_prep_fixtures.py"""
import json, math, os
import numpy as np
import pandas as pd
import sklearn
from sklearn import preprocessing as P
from sklearn.impute import SimpleImputer
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.model_selection import train_test_split

OUT = "tests/fixtures/prep"
VERSION = 1


def clean(v):
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def mat(a):
    a = np.asarray(a, dtype=np.float64)
    return {"data": [clean(float(x)) for x in a.ravel()], "shape": list(a.shape)}


def write(name, obj):
    obj["version"] = VERSION
    obj["sklearn"] = sklearn.__version__
    obj["pandas"] = pd.__version__
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(obj, f, indent=0, allow_nan=False)


rng = np.random.default_rng(7)
X = rng.normal(3, 2, size=(40, 4)) * np.array([1, 10, 0.1, 1])
X[:, 3] = rng.integers(0, 3, 40)  # a column of few values
X[[2, 5, 11], 0] = np.nan
X[[7], 1] = np.nan
X2 = rng.normal(3, 3, size=(9, 4)) * np.array([1, 10, 0.1, 1])
X2[1, 2] = np.nan
const = np.c_[X[:, :2], np.full(40, 5.0)]  # a constant column (scale 1)


def scaler_case(name, est, X, X2, attrs):
    est.fit(X)
    out = {"name": name, "X": mat(X), "X2": mat(X2), "fit_X": mat(est.transform(X)), "transform_X2": mat(est.transform(X2))}
    if hasattr(est, "inverse_transform"):
        out["inverse_X2"] = mat(est.inverse_transform(est.transform(X2)))
    for a in attrs:
        v = getattr(est, a)
        out[a] = None if v is None else (mat(v) if np.ndim(v) > 0 else clean(float(v)))
    return out


cases = [
    dict(scaler_case("standard", P.StandardScaler(), X, X2, ["mean_", "var_", "scale_", "n_samples_seen_"]), opts={}),
    dict(scaler_case("standard_nomean", P.StandardScaler(with_mean=False), X, X2, ["mean_", "var_", "scale_"]), opts={"with_mean": False}),
    dict(scaler_case("standard_const", P.StandardScaler(), const, const[:5], ["mean_", "var_", "scale_"]), opts={}),
    dict(scaler_case("minmax", P.MinMaxScaler(feature_range=(-1, 2)), X, X2, ["data_min_", "data_max_", "data_range_", "scale_", "min_"]),
         opts={"feature_range": [-1, 2]}),
    dict(scaler_case("minmax_clip", P.MinMaxScaler(clip=True), X, X2, ["data_min_", "data_max_", "scale_", "min_"]), opts={"clip": True}),
    dict(scaler_case("robust", P.RobustScaler(), X, X2, ["center_", "scale_"]), opts={}),
    dict(scaler_case("robust_1090", P.RobustScaler(quantile_range=(10, 90), with_centering=False), X, X2, ["scale_"]),
         opts={"quantile_range": [10, 90], "with_centering": False}),
    dict(scaler_case("maxabs", P.MaxAbsScaler(), X, X2, ["max_abs_", "scale_"]), opts={}),
]
XF = np.nan_to_num(X)
for norm in ["l1", "l2", "max"]:
    n = P.Normalizer(norm=norm).fit(XF)
    cases.append({"name": "normalizer_" + norm, "X": mat(XF), "X2": mat(XF[:6]), "fit_X": mat(n.transform(XF)),
                  "transform_X2": mat(n.transform(XF[:6])), "opts": {"norm": norm}})
classes = {"standard": "StandardScaler", "minmax": "MinMaxScaler", "robust": "RobustScaler", "maxabs": "MaxAbsScaler",
           "normalizer": "Normalizer"}
for c in cases:
    c["class"] = classes[c["name"].split("_")[0]]
write("scalers", {"cases": cases})

# ---- imputers ----
XI = X.copy()
XI[:, 2] = np.nan  # an all-missing column: dropped except by "constant"
XI[[3, 4], 3] = np.nan
imp = []
for strategy in ["mean", "median", "most_frequent", "constant"]:
    for ind in [False, True]:
        kw = dict(strategy=strategy, add_indicator=ind)
        if strategy == "constant":
            kw["fill_value"] = -7.5
        s = SimpleImputer(**kw).fit(XI)
        imp.append({"opts": kw, "statistics_": mat(s.statistics_), "transform_X": mat(s.transform(XI)),
                    "transform_X2": mat(s.transform(X2)), "names": list(s.get_feature_names_out(["x1", "x2", "x3", "x4"]))})
strs = np.array([["red", "s"], ["blue", None], ["red", "m"], [None, "m"], ["green", "s"], ["blue", "m"]], dtype=object)
imp_str = []
for strategy in ["most_frequent", "constant"]:
    s = SimpleImputer(strategy=strategy, missing_values=None).fit(strs)
    imp_str.append({"strategy": strategy, "statistics_": list(s.statistics_), "transform": s.transform(strs).tolist()})
write("imputers", {"X": mat(XI), "X2": mat(X2), "cases": imp, "strings": [[v for v in r] for r in strs.tolist()], "string_cases": imp_str})

# ---- encoders ----
XE = np.c_[rng.integers(0, 4, 30), rng.choice([1.5, 2.5, 7.0], 30, p=[0.7, 0.2, 0.1]), rng.integers(0, 2, 30)].astype(float)
XE2 = np.array([[0, 1.5, 0], [3, 7.0, 1], [2, 2.5, 1]], dtype=float)
XEu = np.array([[9, 1.5, 0], [1, 3.0, 1]], dtype=float)  # unknown values
enc = []
for kw in [dict(), dict(drop="first"), dict(drop="if_binary"), dict(handle_unknown="ignore"),
           dict(handle_unknown="infrequent_if_exist", min_frequency=5), dict(handle_unknown="infrequent_if_exist", max_categories=2),
           dict(min_frequency=0.2), dict(handle_unknown="infrequent_if_exist", min_frequency=4, drop="first")]:
    e = P.OneHotEncoder(sparse_output=False, **kw).fit(XE)
    case = {"opts": kw, "categories_": [list(map(float, c)) for c in e.categories_], "transform_X": mat(e.transform(XE)),
            "transform_X2": mat(e.transform(XE2)), "names": list(e.get_feature_names_out(["x1", "x2", "x3"]))}
    if kw.get("handle_unknown") in ("ignore", "infrequent_if_exist"):
        case["transform_unknown"] = mat(e.transform(XEu))
    enc.append(case)
cols = {"color": ["red", "blue", "red", "green", "blue", "red", "red", "teal"], "size": ["s", "m", "m", "l", "s", "m", "xl", "m"]}
df = pd.DataFrame(cols)
str_cases = []
for kw in [dict(), dict(handle_unknown="infrequent_if_exist", min_frequency=2), dict(drop="first")]:
    e = P.OneHotEncoder(sparse_output=False, **kw).fit(df)
    new = pd.DataFrame({"color": ["teal", "blue", "pink"] if kw.get("handle_unknown") else ["teal", "blue", "green"],
                        "size": ["xl", "s", "m"]})
    str_cases.append({"opts": kw, "categories_": [list(c) for c in e.categories_], "transform": mat(e.transform(df)),
                      "new": {k: list(v) for k, v in new.items()}, "transform_new": mat(e.transform(new)),
                      "names": list(e.get_feature_names_out())})
o = P.OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(df)
ordinal = {"transform": mat(o.transform(df)), "new": {"color": ["pink", "blue"], "size": ["m", "xxl"]},
           "transform_new": mat(o.transform(pd.DataFrame({"color": ["pink", "blue"], "size": ["m", "xxl"]}))),
           "numeric_X": mat(XE), "numeric_transform": mat(P.OrdinalEncoder().fit_transform(XE))}
le = P.LabelEncoder().fit(["paris", "tokyo", "amsterdam", "paris"])
labels = {"fit": ["paris", "tokyo", "amsterdam", "paris"], "classes_": list(le.classes_),
          "transform": (le.transform(["tokyo", "amsterdam", "paris"]) + 1).tolist(),
          "numeric_fit": [3, 0, 7, 3, 0], "numeric_classes_": [0, 3, 7]}
write("encoders", {"X": mat(XE), "X2": mat(XE2), "X_unknown": mat(XEu), "cases": enc, "frame": cols, "string_cases": str_cases,
                   "ordinal": ordinal, "labels": labels})

# ---- dates (pandas) ----
stamps = pd.to_datetime(["2024-02-29 13:45:10", "1969-12-31 23:59:59", "2000-01-01 00:00:00", "1900-03-01 06:30:00",
                         "2038-01-19 03:14:07", "2023-12-31 12:00:00", "1970-01-01 00:00:00", "2100-02-28 23:01:00"])
secs = (stamps.astype("int64") // 10**9).tolist()
dates = {"seconds": secs, "year": stamps.year.tolist(), "month": stamps.month.tolist(), "day": stamps.day.tolist(),
         "weekday": stamps.weekday.tolist(), "dayofyear": stamps.dayofyear.tolist(), "hour": stamps.hour.tolist(),
         "minute": stamps.minute.tolist(), "is_weekend": (stamps.weekday >= 5).astype(int).tolist()}

# ---- rolling (pandas) ----
series = rng.normal(0, 1, 25)
series[[4, 5, 12]] = np.nan
s = pd.Series(series)
rolling = {"x": [clean(float(v)) for v in series], "cases": []}
for window, center, minp in [(3, False, None), (4, True, None), (5, False, 1), (4, False, 2), (5, True, 3), (1, False, None)]:
    r = s.rolling(window, center=center, min_periods=minp)
    rolling["cases"].append({"window": window, "center": center, "min_periods": minp,
                             "mean": [clean(float(v)) for v in r.mean()], "median": [clean(float(v)) for v in r.median()]})

# ---- cleaning: outliers and winsorizing (numpy/pandas) ----
XO = rng.normal(0, 1, (50, 3))
XO[3, 0], XO[17, 1], XO[30, 2], XO[41, 0] = 9.0, -7.5, 5.0, 3.2
XO[[8, 9], 1] = np.nan
mean, std = np.nanmean(XO, 0), np.nanstd(XO, 0)
with np.errstate(invalid="ignore"):
    z = np.abs((XO - mean) / std) > 3
    q1, q3 = np.nanpercentile(XO, 25, axis=0), np.nanpercentile(XO, 75, axis=0)
    iqr = q3 - q1
    out_iqr = (XO < q1 - 1.5 * iqr) | (XO > q3 + 1.5 * iqr)
lo, hi = np.nanquantile(XO, 0.05, axis=0), np.nanquantile(XO, 0.95, axis=0)
clean_fx = {"X": mat(XO), "zscore_rows": z.any(1).astype(int).tolist(), "iqr_rows": out_iqr.any(1).astype(int).tolist(),
            "winsor_lower": mat(lo), "winsor_upper": mat(hi), "winsorized": mat(pd.DataFrame(XO).clip(lo, hi, axis=1).values)}

# ---- train_test_split sizes ----
split = {"sizes": [], "strat": []}
for n, test, train in [(10, 0.25, None), (10, None, 0.7), (7, 0.33, None), (100, 0.2, 0.5), (11, 3, None), (9, None, 4),
                       (13, 0.1, None)]:
    a, b = train_test_split(np.arange(n), test_size=test, train_size=train, random_state=0)
    split["sizes"].append({"n": n, "test_size": test, "train_size": train, "n_train": len(a), "n_test": len(b)})
for counts, test in [([30, 10, 5], 0.2), ([50, 50], 0.3), ([12, 7, 7, 4], 0.25)]:
    y = np.repeat(np.arange(len(counts)), counts)
    a, b = train_test_split(y, test_size=test, stratify=y, random_state=0)
    split["strat"].append({"counts": counts, "test_size": test, "train_counts": np.bincount(a).tolist(),
                           "test_counts": np.bincount(b).tolist()})

# ---- ColumnTransformer on a frame ----
frame = pd.DataFrame({"age": [22, 38, np.nan, 35, 54, 2, 27, 14], "fare": [7.25, 71.3, 8.05, 53.1, 51.9, 21.1, 11.1, 30.0],
                      "sex": ["m", "f", "f", "f", "m", "m", "f", "f"], "port": ["S", "C", "S", "S", "Q", "S", "S", "C"],
                      "pclass": [3, 1, 3, 1, 1, 3, 3, 2]})
ct = ColumnTransformer([("num", make_pipeline(SimpleImputer(strategy="median"), P.StandardScaler()), ["age", "fare"]),
                        ("cat", P.OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["sex", "port"])],
                       remainder="passthrough")
out = ct.fit_transform(frame)
new = pd.DataFrame({"age": [np.nan, 80.0], "fare": [5.0, 500.0], "sex": ["f", "m"], "port": ["X", "C"], "pclass": [2, 1]})
compose = {"frame": {k: [clean(float(v)) if isinstance(v, (float, np.floating)) else (int(v) if isinstance(v, (np.integer,)) else v)
                         for v in frame[k]] for k in frame.columns},
           "columns": list(frame.columns), "transform": mat(out), "names": list(ct.get_feature_names_out()),
           "new": {k: [clean(float(v)) if isinstance(v, (float, np.floating)) else (int(v) if isinstance(v, np.integer) else v)
                       for v in new[k]] for k in new.columns},
           "transform_new": mat(ct.transform(new))}
write("misc", {"dates": dates, "rolling": rolling, "clean": clean_fx, "split": split, "compose": compose})
print("wrote", OUT)
