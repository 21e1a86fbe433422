#!/usr/bin/python3
"""The read_csv benchmark's file (scripts/bench/read_csv.sh): N rows (default
1,000,000) of 20 float columns with 5% empty cells, one text
column (1,000 distinct words) and one ISO date column. Seeded, so every run
measures the same bytes. Usage: gen_bench_csv.py OUT.csv [N]"""
import sys

import numpy as np
import pandas as pd

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
rng = np.random.default_rng(9)
cols = {}
for j in range(20):
    x = rng.normal(loc=j, scale=10.0, size=n).round(6)
    x[rng.random(n) < 0.05] = np.nan
    cols[f"x{j + 1}"] = x
words = np.array([f"word{k}" for k in range(1000)])
cols["text"] = words[rng.integers(0, 1000, size=n)]
cols["date"] = (np.datetime64("2000-01-01") + rng.integers(0, 9000, size=n)).astype("datetime64[D]").astype(str)
pd.DataFrame(cols).to_csv(out, index=False)
