#!/usr/bin/python3
"""The matplotlib side of scripts/bench/plot.sh (Agg backend, 8x5 in at 100 dpi = 800x500
pixels): seconds to build and save each figure as a PNG, "plot CASE SECONDS" (the fastest of REPS runs)."""
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
out = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("TMPDIR", "/tmp")
rng = np.random.default_rng(0)
walk = rng.standard_normal(200000).cumsum()
sx, sy = rng.standard_normal(50000), rng.standard_normal(50000)
big = rng.standard_normal(1000000)
ep = 1 / np.arange(1, 51)


def line():
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    ax.plot(np.arange(1, walk.size + 1), walk)
    ax.set_title("walk")
    return fig


def scatter():
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    ax.scatter(sx, sy, s=4, alpha=0.8)
    ax.set_title("scatter")
    return fig


def hist():
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    ax.hist(big, bins=50)
    ax.set_title("hist")
    return fig


def curves():
    fig, axes = plt.subplots(1, 2, figsize=(8, 5), dpi=100)
    for ax, m in zip(axes, ["loss", "accuracy"]):
        ax.plot(np.arange(1, 51), ep, label="train")
        ax.plot(np.arange(1, 51), ep, label="val")
        ax.set_title(m)
        ax.set_xlabel("epoch")
        ax.legend(loc="best")
        ax.grid(True)
    return fig


for name, make in [("line200k", line), ("scatter50k", scatter), ("hist1M", hist), ("curves", curves)]:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fig = make()
        fig.savefig(os.path.join(out, "bench_plot_mpl_%s.png" % name))
        plt.close(fig)
        best = min(best, time.perf_counter() - t0)
    print("plot %s %.6f" % (name, best))
