#!/usr/bin/python3
"""References of tests/lua/test_plot.lua: the tick values of matplotlib's
MaxNLocator(nbins, steps=[1, 2, 2.5, 5, 10]) for known ranges (ml.plot.ticks),
and numpy.histogram's counts (plot.hist's bins).
Writes tests/fixtures/plot/ticks.json and tests/fixtures/plot/hist.json."""
import json
import random

import matplotlib
import numpy as np
from matplotlib.ticker import MaxNLocator

random.seed(14)
cases = [(0, 1, 9), (0, 7.3, 9), (-3.2, 11.9, 9), (0.001, 0.0042, 9), (1000.1, 1000.5, 9),
         (-1e6, 3e6, 9), (0, 100, 5), (0, 1, 3), (2, 2.0000001, 9), (-0.05, 1.05, 9), (0.5, 10.5, 9),
         (1e-9, 5e-9, 7), (123456, 123999, 9), (-7, -2, 4), (0.95, 1.0, 9), (0, 29.4, 6), (-1, 1, 2)]
for _ in range(60):
    a = random.uniform(-1, 1) * 10 ** random.randint(-4, 6)
    b = a + abs(random.uniform(0.01, 1)) * 10 ** random.randint(-4, 6)
    cases.append((a, b, random.choice([2, 3, 4, 5, 6, 7, 8, 9])))
out = []
for vmin, vmax, nbins in cases:
    loc = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10])
    out.append({"vmin": vmin, "vmax": vmax, "nbins": nbins,
                "ticks": [float(t) for t in loc.tick_values(vmin, vmax)]})
# integer=True (epochs, trials)
for vmin, vmax, nbins in [(0.8, 5.2, 9), (0.5, 30.5, 9), (-0.2, 1.2, 9), (1, 2, 9), (0.75, 3.25, 5), (0, 1000, 9),
                          (2.6, 7.4, 3), (-10.5, 40.5, 7)]:
    loc = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10], integer=True)
    out.append({"vmin": vmin, "vmax": vmax, "nbins": nbins, "integer": True,
                "ticks": [float(t) for t in loc.tick_values(vmin, vmax)]})
with open("tests/fixtures/plot/ticks.json", "w") as f:
    json.dump({"version": 1, "matplotlib": matplotlib.__version__, "cases": out}, f, indent=0)
print(len(out), "cases")

rng = np.random.default_rng(14)
hist = []
for n, bins in [(1000, 30), (37, 7), (500, 1), (200, 64)]:
    v = rng.normal(size=n) * 3 + 1
    v[::11] = np.nan
    v[5] = np.inf
    finite = v[np.isfinite(v)]
    counts, edges = np.histogram(finite, bins=bins)
    hist.append({"values": [float(x) if np.isfinite(x) else ("nan" if np.isnan(x) else "inf") for x in v], "bins": bins,
                 "counts": counts.tolist(), "lo": float(edges[0]), "hi": float(edges[-1])})
# a given range: values outside are not counted, the top edge is in the last bin
v = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.0, -1.0, 3.0])
counts, edges = np.histogram(v, bins=4, range=(0, 2))
hist.append({"values": v.tolist(), "bins": 4, "range": [0, 2], "counts": counts.tolist(), "lo": 0.0, "hi": 2.0})
with open("tests/fixtures/plot/hist.json", "w") as f:
    json.dump({"version": 1, "numpy": np.__version__, "cases": hist}, f)
print(len(hist), "histograms")
