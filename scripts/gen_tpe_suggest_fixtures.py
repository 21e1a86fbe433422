#!/usr/bin/python3
"""Fixtures for tests/lua/test_search_tpe.lua: what Optuna 3.1's TPESampler
(its defaults, Debian's python3-optuna) suggests after a fixed history of
trials, over many seeds, so that search.TPESampler{optuna = true} can be
checked against it as a distribution: a Branin history (two floats) and a
mixed one (an integer, a float, a categorical and a float that exists only
for one of its choices). Writes tests/fixtures/search/tpe_suggest.json."""
import json, math, os, warnings
warnings.simplefilter("ignore")
import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

optuna.logging.set_verbosity(optuna.logging.WARNING)
SEEDS = 4000
rs = np.random.RandomState(0)


def branin(p):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (p["x2"] - b * p["x1"] ** 2 + c * p["x1"] - 6) ** 2 + 10 * (1 - t) * math.cos(p["x1"]) + 10


def mixed(p):
    v = (p["n"] - 7) ** 2 / 10 + (p["x"] - 0.2) ** 2
    return v + ((p["y"] - 0.7) ** 2 if p["kind"] == "b" else 0.5)


def suggestions(history, dists_of, names):
    trials = [optuna.trial.create_trial(params=p, distributions=dists_of(p), value=v) for p, v in history]
    out = {k: [] for k in names}
    for s in range(SEEDS):
        st = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=s))
        st.add_trials(trials)
        t = st.ask()
        for k in names:  # the parameters this objective would ask for
            if k == "y" and t.suggest_categorical("kind", ["a", "b", "c"]) != "b":
                out[k].append(None)
                continue
            d = dists_of({"kind": "b"})[k]
            if isinstance(d, CategoricalDistribution):
                out[k].append(t.suggest_categorical(k, d.choices))
            elif isinstance(d, IntDistribution):
                out[k].append(t.suggest_int(k, d.low, d.high))
            else:
                out[k].append(t.suggest_float(k, d.low, d.high))
    return out


def stats(vals, low, high, bins):
    a = np.asarray([v for v in vals if v is not None], float)
    h = np.histogram(a, bins=bins, range=(low, high))[0]
    return {"n": int(a.size), "mean": float(a.mean()), "std": float(a.std()), "low": low, "high": high,
            "freq": list(map(float, h / a.size))}


cases = []
# Branin: 30 random trials
bd = {"x1": FloatDistribution(-5, 10), "x2": FloatDistribution(0, 15)}
hist = []
for _ in range(30):
    p = {"x1": float(rs.uniform(-5, 10)), "x2": float(rs.uniform(0, 15))}
    hist.append((p, branin(p)))
s = suggestions(hist, lambda p: bd, ["x1", "x2"])
cases.append({"name": "branin", "history": [{"params": p, "value": v} for p, v in hist],
              "x1": stats(s["x1"], -5, 10, 15), "x2": stats(s["x2"], 0, 15, 15)})

# mixed: 40 random trials, from the first seed whose best four hold kind "b" twice or more and another kind too
def md(p):
    d = {"n": IntDistribution(0, 20), "x": FloatDistribution(-1, 1), "kind": CategoricalDistribution(["a", "b", "c"])}
    if p.get("kind") == "b":
        d["y"] = FloatDistribution(0, 1)
    return d
for seed in range(1, 1000):
    rm = np.random.RandomState(seed)
    hist = []
    for _ in range(40):
        p = {"n": int(rm.randint(0, 21)), "x": float(rm.uniform(-1, 1)), "kind": ["a", "b", "c"][rm.randint(0, 3)]}
        if p["kind"] == "b":
            p["y"] = float(rm.uniform(0, 1))
        hist.append((p, mixed(p)))
    best = [p["kind"] for p, v in sorted(hist, key=lambda h: h[1])[:4]]
    if best.count("b") >= 2 and best.count("b") < 4:
        break
s = suggestions(hist, md, ["n", "x", "kind", "y"])
kinds = s["kind"]
cases.append({"name": "mixed", "history": [{"params": p, "value": v} for p, v in hist],
              "n": stats(s["n"], -0.5, 20.5, 21), "x": stats(s["x"], -1, 1, 10), "y": stats(s["y"], 0, 1, 10),
              "kind": {c: kinds.count(c) / len(kinds) for c in ["a", "b", "c"]}})

out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "search", "tpe_suggest.json")
with open(out, "w") as f:
    json.dump({"generator": "scripts/gen_tpe_suggest_fixtures.py", "optuna": optuna.__version__, "seeds": SEEDS,
               "cases": cases}, f, indent=1)
print("wrote", out)
