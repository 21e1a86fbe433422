#!/usr/bin/python3
"""Reference importances for tests/lua/test_search_importance.lua, from Optuna
3.1's FanovaImportanceEvaluator (Debian's python3-optuna, scikit-learn 1.2).

    scripts/gen_fanova_fixtures.py   writes tests/fixtures/search/fanova.json

What it holds:
  cases   fixed trial sets (params drawn with NumPy from a fixed seed, values
          from the function), each with its space and Optuna's importances
          (optuna.importance.get_param_importances with
          FanovaImportanceEvaluator(seed=s)) for seeds 0..9: their mean,
          min and max per parameter, so the test's tolerance can be read
          against the spread that the forest's randomness alone gives.
            branin     Branin(x1, x2) and a useless x3, 100 trials
            mixed      a categorical (3 choices), an int and a float, 100 trials
            log        loguniform lr, int(log) width and a uniform dropout, 120 trials
            cond       optimizer {sgd, adam}, momentum only for sgd (Optuna leaves
                       it out: it is not in every trial), lr, 100 trials; and its
                       subset: params = [momentum, lr], assessed on the trials
                       that have both
  trees   an exact check of the marginal-variance computation alone: a few of
          the fitted scikit-learn trees of the mixed case (node arrays) with the
          bounds and column groups Optuna gave them, and what Optuna's
          _FanovaTree computes on them (the tree's variance and each
          parameter's marginal variance), so the kernel is compared on the same
          trees, to rounding.
"""
import json
import math
import os

import numpy as np
import optuna
import sklearn
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.importance import FanovaImportanceEvaluator, get_param_importances
from optuna.importance._fanova._tree import _FanovaTree
from optuna._transform import _SearchSpaceTransform

assert optuna.__version__.startswith("3.1"), optuna.__version__
assert sklearn.__version__.startswith("1.2"), sklearn.__version__
optuna.logging.set_verbosity(optuna.logging.WARNING)

SEEDS = list(range(10))
rs = np.random.RandomState(12)


def branin(x1, x2):
    b, c, r, s, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


def to_dist(spec):
    k = spec["kind"]
    if k == "uniform":
        return FloatDistribution(spec["low"], spec["high"])
    if k == "loguniform":
        return FloatDistribution(spec["low"], spec["high"], log=True)
    if k == "int":
        return IntDistribution(spec["low"], spec["high"], log=spec.get("log", False))
    return CategoricalDistribution(spec["choices"])


def draw(spec):
    k = spec["kind"]
    if k == "uniform":
        return float(rs.uniform(spec["low"], spec["high"]))
    if k == "loguniform":
        return float(math.exp(rs.uniform(math.log(spec["low"]), math.log(spec["high"]))))
    if k == "int":
        if spec.get("log"):
            v = math.exp(rs.uniform(math.log(spec["low"] - 0.5), math.log(spec["high"] + 0.5)))
            return int(min(max(round(v), spec["low"]), spec["high"]))
        return int(rs.randint(spec["low"], spec["high"] + 1))
    return spec["choices"][rs.randint(len(spec["choices"]))]


def make_study(space, trials):
    study = optuna.create_study()
    for t in trials:
        dists = {n: to_dist(space[n]) for n in t["params"]}
        study.add_trial(optuna.trial.create_trial(params=t["params"], distributions=dists, value=t["value"]))
    return study


def case(name, space, n, f, when=None):
    trials = []
    for _ in range(n):
        p = {}
        for pname in sorted(space, key=lambda n: (n in (when or {}), n)):  # a conditional one after what it reads
            if when and pname in when and p.get(when[pname][0]) != when[pname][1]:
                continue
            p[pname] = draw(space[pname])
        trials.append({"params": p, "value": float(f(p))})
    study = make_study(space, trials)
    runs = [get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=s)) for s in SEEDS]
    names = list(runs[0].keys())
    per = {n: [float(r[n]) for r in runs] for n in names}
    return {
        "name": name, "space": space, "when": when or {}, "trials": trials,
        "optuna_seed0": {n: float(runs[0][n]) for n in names},
        "optuna_mean": {n: float(np.mean(per[n])) for n in names},
        "optuna_min": {n: float(np.min(per[n])) for n in names},
        "optuna_max": {n: float(np.max(per[n])) for n in names},
        "ranking": sorted(names, key=lambda n: -np.mean(per[n])),
    }, study


cases = []
c, _ = case("branin", {"x1": {"kind": "uniform", "low": -5.0, "high": 10.0},
                       "x2": {"kind": "uniform", "low": 0.0, "high": 15.0},
                       "x3": {"kind": "uniform", "low": 0.0, "high": 1.0}},
            100, lambda p: branin(p["x1"], p["x2"]))
cases.append(c)
COST = {"a": 0.0, "b": 3.0, "c": 8.0}
c, mixed_study = case("mixed", {"kind": {"kind": "categorical", "choices": ["a", "b", "c"]},
                                "n": {"kind": "int", "low": 1, "high": 10},
                                "x": {"kind": "uniform", "low": 0.0, "high": 1.0}},
                      100, lambda p: COST[p["kind"]] + 0.3 * (p["n"] - 4) ** 2 + 0.5 * p["x"])
cases.append(c)
c, _ = case("log", {"lr": {"kind": "loguniform", "low": 1e-5, "high": 1e-1},
                    "width": {"kind": "int", "low": 16, "high": 512, "log": True},
                    "dropout": {"kind": "uniform", "low": 0.0, "high": 0.5}},
            120, lambda p: 40 * p["lr"] + (math.log2(p["width"]) - 7) ** 2 / 8 + 0.5 * p["dropout"])
cases.append(c)
c, cond_study = case("cond", {"optimizer": {"kind": "categorical", "choices": ["sgd", "adam"]},
                     "momentum": {"kind": "uniform", "low": 0.0, "high": 0.99},
                     "lr": {"kind": "uniform", "low": 0.0, "high": 1.0}},
            100, lambda p: (1.0 if p["optimizer"] == "sgd" else 0.0) + 2 * (p["lr"] - 0.3) ** 2 + p.get("momentum", 0.0),
            when={"momentum": ["optimizer", "sgd"]})
# params = [momentum, lr]: assessed on the trials that have both (the sgd ones)
runs = [get_param_importances(cond_study, params=["momentum", "lr"], evaluator=FanovaImportanceEvaluator(seed=s)) for s in SEEDS]
c["subset"] = {"params": ["momentum", "lr"], "trials": sum(1 for t in c["trials"] if "momentum" in t["params"]),
               "optuna_mean": {n: float(np.mean([r[n] for r in runs])) for n in ("momentum", "lr")},
               "optuna_min": {n: float(np.min([r[n] for r in runs])) for n in ("momentum", "lr")},
               "optuna_max": {n: float(np.max([r[n] for r in runs])) for n in ("momentum", "lr")}}
cases.append(c)

# The exact check: Optuna's _FanovaTree on a few trees of the mixed case's forest.
ev = FanovaImportanceEvaluator(seed=0)
get_param_importances(mixed_study, evaluator=ev)
fanova = ev._evaluator
dists = optuna.importance._base._get_distributions(mixed_study, params=None)
trans = _SearchSpaceTransform(dists, transform_log=False, transform_step=False)
groups = [0] * trans.bounds.shape[0]
for g, cols in enumerate(trans.column_to_encoded_columns):
    for col in cols:
        groups[col] = g + 1
trees = []
for ti in (0, 1, 2):
    est = fanova._forest.estimators_[ti]
    t = est.tree_
    ft = _FanovaTree(t, trans.bounds)
    trees.append({
        # 1-based children and features, 0 at leaves (moonlab's forest arrays)
        "children_left": [int(v) + 1 if v >= 0 else 0 for v in t.children_left],
        "children_right": [int(v) + 1 if v >= 0 else 0 for v in t.children_right],
        "feature": [int(v) + 1 if v >= 0 else 0 for v in t.feature],
        "threshold": [float(v) for v in t.threshold],
        "value": [float(v) for v in t.value.reshape(-1)],
        "variance": float(ft.variance),
        "marginal": [float(ft.get_marginal_variance(cols)) for cols in trans.column_to_encoded_columns],
    })
doc = {
    "generator": "scripts/gen_fanova_fixtures.py", "optuna": optuna.__version__, "sklearn": sklearn.__version__,
    "seeds": SEEDS, "cases": cases,
    "trees": {"params": list(dists.keys()), "bounds": [[float(a), float(b)] for a, b in trans.bounds], "groups": groups,
              "trees": trees},
}
out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "search", "fanova.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
for c in cases:
    print(c["name"], {n: "%.3f [%.3f, %.3f]" % (c["optuna_mean"][n], c["optuna_min"][n], c["optuna_max"][n]) for n in c["ranking"]})
print("cond, params = [momentum, lr]:", cases[-1]["subset"])
print("wrote", os.path.normpath(out))
