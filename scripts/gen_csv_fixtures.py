#!/usr/bin/python3
"""Fixtures for tests/lua/test_csv.lua: well-formed CSV files and what
pandas reads from them.

    scripts/gen_csv_fixtures.py    writes tests/fixtures/csv/{types.csv, types.csv.gz, floats.csv,
                                   quoted.csv, semicolon.csv, tab.tsv, pipe.txt, pandas.lua,
                                   quality.csv, quality.lua}

pandas.lua returns, per file, its columns in order with pandas' dtype and
values as exact Lua literals (repr of a double reads back as the same
double; nil for NaN / NaT / None; datetimes as int64 seconds since 1970 UTC).
floats.csv also holds Python's float() of each cell's text, the reference
for exact float parsing. The messy files beside them (messy*.csv,
bad_*.csv) are written by hand and not regenerated here.
"""
import gzip
import math
import os
import random

import pandas as pd

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "csv")


def write(name, text):
    with open(os.path.join(OUT, name), "w", newline="") as f:
        f.write(text)


def types_csv():
    rng = random.Random(9)
    lines = ["id,score,ok,day,stamp,name,count"]
    for i in range(1, 41):
        score = "" if i % 7 == 0 else repr(round(rng.uniform(-100, 100), rng.randint(0, 6)))
        ok = ["true", "false", "True", "FALSE"][i % 4]
        day = f"2021-{(i % 12) + 1:02d}-{(i % 28) + 1:02d}"
        stamp = f"2021-03-{(i % 28) + 1:02d}T{i % 24:02d}:{(i * 7) % 60:02d}:{(i * 13) % 60:02d}Z"
        name = ["alpha", "beta", "gamma delta", "épsilon"][i % 4]
        count = "NA" if i % 5 == 0 else str(rng.randint(-10**6, 10**6))
        lines.append(",".join([str(i), score, ok, day, stamp, name, count]))
    return "\n".join(lines) + "\n"


FLOATS = ["0.1", "0.2", "0.30000000000000004", "1e-300", "2.2250738585072014e-308", "4.9e-324",
          "1.7976931348623157e308", "123456789012345678901234567890", "9007199254740993", "-0.0",
          "3.141592653589793238462643383279", "1e22", "1e23", "8.5e-5", "  42.5 ", "+7.25", ".5", "5.",
          "6.02214076E23", "0.000001", "1234567.891", "-98765.4321e-3", "2.5e+10", "inf", "-inf",
          "0.1000000000000000055511151231257827", "7.0e-10", "100000000000000000000000"]


def floats_csv():
    return "x\n" + "\n".join(f'"{s}"' if s.strip() != s else s for s in FLOATS) + "\n"


QUOTED = ('id,text,n\n'
          '1,"a, b",10\n'
          '2,"he said ""hi""",20\n'
          '3,"two\nlines",30\n'
          '4,plain,40\n'
          '5,"",50\n'
          '6," padded ",60\n')


def lua_value(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "math.huge" if v > 0 else "-math.huge"
        return repr(v)
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def describe(df):
    out = []
    for name in df.columns:
        col = df[name]
        dtype = str(col.dtype)
        if dtype.startswith("datetime64"):
            values = [None if pd.isna(v) else int(v.value // 10**9) for v in col]
        else:
            values = [None if (not isinstance(v, str) and pd.isna(v)) else
                      (v.item() if hasattr(v, "item") else v) for v in col]
        out.append((name, dtype, values))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {"types.csv": types_csv(), "floats.csv": floats_csv(), "quoted.csv": QUOTED}
    files["semicolon.csv"] = files["quoted.csv"].replace(",", ";").replace('"a; b"', '"a; b"')
    files["tab.tsv"] = "a\tb\tc\n1\tx y\t2.5\n2\tz\t\n3\t\"q\tr\"\t4\n"
    files["pipe.txt"] = "a|b|c\n1|x|2020-05-06\n2|y|2020-05-07\n"
    for name, text in files.items():
        write(name, text)
    with open(os.path.join(OUT, "types.csv.gz"), "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
            f.write(files["types.csv"].encode())
    seps = {"types.csv": ",", "floats.csv": ",", "quoted.csv": ",", "semicolon.csv": ";", "tab.tsv": "\t",
            "pipe.txt": "|"}
    dates = {"types.csv": ["day", "stamp"], "pipe.txt": ["c"]}
    lines = [f"-- written by scripts/gen_csv_fixtures.py (version {VERSION}, pandas {pd.__version__}); do not edit",
             "return {", f"  version = {VERSION},"]
    for name, sep in seps.items():
        df = pd.read_csv(os.path.join(OUT, name), sep=sep, parse_dates=dates.get(name, False))
        lines.append(f'  ["{name}"] = {{')
        for col, dtype, values in describe(df):
            lines.append(f'    {{ name = {lua_value(col)}, dtype = "{dtype}", n = {len(values)}, values = {{ '
                         + ", ".join(lua_value(v) for v in values) + " } },")
        lines.append("  },")
    lines.append("  python_float = { " + ", ".join(f"{{ {lua_value(s)}, {lua_value(float(s))} }}" for s in FLOATS) + " },")
    lines.append("}")
    write("pandas.lua", "\n".join(lines) + "\n")


def quality_csv():
    """A frame for data.profile: outliers, duplicated rows, constant and near-constant columns."""
    import numpy as np
    rng = np.random.default_rng(3)
    n = 300
    x = rng.normal(10, 2, n).round(3)
    x[[5, 50, 150]] = [40.0, -25.0, 31.5]
    x[rng.random(n) < 0.05] = np.nan
    k = rng.integers(0, 20, n)
    k[[7, 70]] = [500, -300]
    df = pd.DataFrame({"x": x, "k": k, "const": ["same"] * n,
                       "near": ["a"] * (n - 6) + ["b", "c", "b", "c", "d", None],
                       "cat": rng.choice(["red", "green", "blue"], n)})
    df = pd.concat([df, df.iloc[[10, 20, 20, 30]]], ignore_index=True)  # 4 duplicated rows
    df.to_csv(os.path.join(OUT, "quality.csv"), index=False)
    back = pd.read_csv(os.path.join(OUT, "quality.csv"))
    lines = [f"-- written by scripts/gen_csv_fixtures.py (version {VERSION}, pandas {pd.__version__}); do not edit",
             "-- per column: nunique (pandas), missing, outliers by IQR 1.5 (numpy linear percentiles) and",
             "-- by z-score 3 (population std, as scipy.stats.zscore); duplicated = df.duplicated().sum()",
             "return {", f"  rows = {len(back)}, duplicated = {int(back.duplicated().sum())},", "  columns = {"]
    for name in back.columns:
        col = back[name]
        entry = {"unique": int(col.nunique()), "missing": int(col.isna().sum())}
        if col.dtype.kind in "if":
            v = col.dropna().to_numpy(dtype=float)
            q1, q3 = np.percentile(v, [25, 75])
            iqr = q3 - q1
            entry["iqr"] = int(((v < q1 - 1.5 * iqr) | (v > q3 + 1.5 * iqr)).sum())
            entry["z"] = int((np.abs(v - v.mean()) > 3 * v.std()).sum())
            entry["min"], entry["max"] = float(v.min()), float(v.max())
        lines.append(f"    {name} = {{ " + ", ".join(f"{k} = {lua_value(v)}" for k, v in entry.items()) + " },")
    lines += ["  },", "}"]
    write("quality.lua", "\n".join(lines) + "\n")


main()
quality_csv()
