#!/usr/bin/python3
"""Reference values for tests/lua/test_frame_ops.lua, computed by pandas.

    scripts/gen_frame_fixtures.py    writes tests/fixtures/frame/expected.lua

One seeded 40-row frame (a string key g with missing cells, an integer key
k with missing cells, floats x with ties and NaN, floats y, messy strings
s) and what pandas gives for it: sort_values (stable, several keys and
directions, both na_positions), groupby aggregations (one and two keys,
dropna both ways) and size, describe (with percentiles too), duplicated rows, value_counts,
dropna, ffill / bfill, merge (every how, one and two keys, missing keys
matching as pandas does) and the string methods. Row numbers are 1-based
(moonlab's), missing values nil, NaN 0/0; the file is a Lua table for
dofile.
"""
import math
import os

import numpy as np
import pandas as pd

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "frame")


def lua(v):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v) and False):
        return "nil"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "0/0"
        if math.isinf(v):
            return "math.huge" if v > 0 else "-math.huge"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dict):
        return "{" + ", ".join("[%s] = %s" % (lua(k), lua(x)) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple, np.ndarray, pd.Series, pd.Index)):
        items = list(v)
        return "{" + ", ".join(lua(x) for x in items) + ", n = %d}" % len(items)
    raise TypeError(type(v))


def cells(series):
    """A column as a list: None for missing."""
    return [None if (x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA) else x for x in series]


def make_frame():
    rng = np.random.default_rng(9)
    n = 40
    g = rng.choice(["b", "a", "c", "d", None], size=n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    k = [None if rng.random() < 0.1 else int(rng.integers(0, 4)) for _ in range(n)]
    x = np.round(rng.normal(0, 2, size=n), 1)
    x[rng.random(n) < 0.12] = np.nan
    y = rng.uniform(-5, 5, size=n)
    s = rng.choice([" Apple ", "banana", "Cherry pie", "apple", None, "x-y-z", "a-b", "BANANA split"], size=n)
    return pd.DataFrame({"g": pd.Series(g, dtype=object), "k": pd.array(k, dtype="Int64"), "x": x, "y": y,
                         "s": pd.Series(s, dtype=object)})


def rows(index):
    return [int(i) + 1 for i in index]


def main():
    df = make_frame()
    out = {}
    out["columns"] = {"g": cells(df.g), "k": cells(df.k), "x": cells(df.x), "y": cells(df.y), "s": cells(df.s)}
    # sort_values: the original row numbers in the sorted order
    sorts = []
    for by, asc, na in [(["x"], True, "last"), (["x"], False, "first"), (["g", "x"], [True, False], "last"),
                        (["k", "g", "y"], [False, True, True], "first"), (["s"], True, "last")]:
        r = df.sort_values(by, ascending=asc, na_position=na, kind="stable")
        sorts.append({"by": by, "ascending": asc if isinstance(asc, list) else [asc] * len(by), "na_position": na,
                      "order": rows(r.index)})
    out["sorts"] = sorts
    # groupby
    aggs = ["sum", "mean", "count", "min", "max", "std", "first", "nunique"]
    gb = df.groupby("g")
    out["groupby_g"] = {"keys": list(gb.size().index), "size": list(gb.size()),
                        **{"x_" + a: cells(gb.x.agg(a)) for a in aggs},
                        **{"k_" + a: cells(gb.k.agg(a).astype("float64")) for a in ["sum", "mean", "count", "min", "max", "nunique"]}}
    gb2 = df.groupby(["g", "k"])
    m2 = gb2.x.mean()
    out["groupby_gk"] = {"g": [a for a, _ in m2.index], "k": [int(b) for _, b in m2.index], "x_mean": cells(m2),
                         "y_std": cells(gb2.y.std())}
    gb3 = df.groupby(["g", "k"], dropna=False)
    s3 = gb3.size()
    out["groupby_gk_na"] = {"g": [None if (isinstance(a, float) and math.isnan(a)) else a for a, _ in s3.index],
                            "k": [None if b is pd.NA or (isinstance(b, float) and math.isnan(b)) else int(b) for _, b in s3.index],
                            "size": list(s3)}
    # describe
    d = df[["x", "y"]].describe()
    out["describe"] = {c: cells(d[c]) for c in ["x", "y"]}
    d = df[["x", "y"]].describe(percentiles=[0.1, 0.9, 0.333])
    out["describe_p"] = {"rows": list(d.index), **{c: cells(d[c]) for c in ["x", "y"]}}
    d = df[["g"]].describe()
    out["describe_g"] = {"count": int(d.g["count"]), "unique": int(d.g["unique"]), "top": d.g["top"], "freq": int(d.g["freq"])}
    # duplicated rows
    out["duplicated"] = {str(keep): cells(df.duplicated(subset=["g", "k"], keep=keep)) for keep in ["first", "last", False]}
    out["value_counts_g"] = {k: int(v) for k, v in df.g.value_counts().items()}
    out["value_counts_gk"] = [[a, int(b), int(c)] for (a, b), c in df[["g", "k"]].value_counts().items()]
    # dropna
    out["dropna"] = {"any": rows(df.dropna().index), "all_xk": rows(df.dropna(how="all", subset=["x", "k"]).index),
                     "thresh4": rows(df.dropna(thresh=4).index), "any_gs": rows(df.dropna(subset=["g", "s"]).index)}
    out["fill"] = {"ffill_x": cells(df.x.ffill()), "bfill_x": cells(df.x.bfill()), "ffill_x_limit1": cells(df.x.ffill(limit=1)),
                   "ffill_g": cells(df.g.ffill())}
    # merge: row numbers of each side (nil where there is none)
    left = df[["g", "k"]].copy()
    left["lrow"] = np.arange(1, len(df) + 1)
    right = pd.DataFrame({"g": pd.Series(["a", "b", "b", None, "e", "c"], dtype=object),
                          "k": pd.array([1, 0, 2, None, 1, 3], dtype="Int64"), "rrow": np.arange(1, 7)})
    merges = []
    for on in [["g"], ["g", "k"]]:
        for how in ["inner", "left", "right", "outer"]:
            r = left.merge(right, on=on, how=how)
            merges.append({"on": on, "how": how, "lrow": cells(r.lrow), "rrow": cells(r.rrow),
                           "g": cells(r.g)})
    out["right"] = {"g": cells(right.g), "k": cells(right.k)}
    out["merges"] = merges
    # strings
    s = df.s.str
    out["strings"] = {"lower": cells(s.lower()), "upper": cells(s.upper()), "strip": cells(s.strip()),
                      "len": cells(s.len()), "contains_an": cells(s.contains("an", regex=False)),
                      "startswith_a": cells(s.startswith("a")), "endswith_e": cells(s.endswith("e")),
                      "replace_an": cells(s.replace("an", "AN", regex=False)),
                      "split_1": cells(s.split("-", expand=True)[0]), "split_3": cells(s.split("-", expand=True)[2]),
                      "isin": cells(df.s.isin(["apple", "a-b"]))}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "expected.lua"), "w") as f:
        f.write("-- written by scripts/gen_frame_fixtures.py (pandas %s); do not edit\n" % pd.__version__)
        f.write("return {\n  version = %d,\n" % VERSION)
        for key, v in out.items():
            f.write("  %s = %s,\n" % (key, lua(v)))
        f.write("}\n")


if __name__ == "__main__":
    main()
