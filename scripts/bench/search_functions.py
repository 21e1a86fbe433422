#!/usr/bin/python3
"""The Optuna side of scripts/bench/search.sh: Optuna 3.1's TPE sampler
(its defaults) and its RandomSampler on the same functions, spaces, budget
and seeds; prints "BEST <function> optuna-<sampler> <seed> <value>" and the
sampler's own time for 200 TPE trials ("TIME optuna-tpe 200 <seconds>")."""
import math, os, sys, time, warnings
warnings.simplefilter("ignore")
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
budget = int(sys.argv[2]) if len(sys.argv) > 2 else 60
seed0 = int(os.environ.get("SEED0", "1"))  # seeds seed0 .. seed0 + seeds - 1, as on the moonlab side

A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
ALPHA = [1.0, 1.2, 3.0, 3.2]

def branin(t):
    x1, x2 = t.suggest_float("x1", -5, 10), t.suggest_float("x2", 0, 15)
    b, c, tt = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - tt) * math.cos(x1) + 10

def hartmann6(t):
    x = [t.suggest_float("x%d" % (j + 1), 0, 1) for j in range(6)]
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2 for j in range(6))) for i in range(4))

def rosenbrock4(t):
    x = [t.suggest_float("x%d" % (j + 1), -2, 2) for j in range(4)]
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(3))

def mixed(t):
    n = t.suggest_int("n", 0, 20)
    x = t.suggest_float("x", -1, 1)
    kind = t.suggest_categorical("kind", ["a", "b", "c"])
    v = (n - 7) ** 2 / 10 + (x - 0.2) ** 2
    if kind == "b":
        v += (t.suggest_float("y", 0, 1) - 0.7) ** 2
    else:
        v += 0.5
    return v

for name, f in [("branin", branin), ("hartmann6", hartmann6), ("rosenbrock4", rosenbrock4), ("mixed", mixed)]:
    samplers = [("optuna-random", lambda s: optuna.samplers.RandomSampler(seed=s)),
                ("optuna-tpe", lambda s: optuna.samplers.TPESampler(seed=s))]
    if os.environ.get("OPTUNA_MV") == "1":  # its multivariate option, beside moonlab's tpe_mv
        samplers.append(("optuna-tpe_mv", lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True)))
    only = os.environ.get("OPTUNA_ONLY")  # one label, e.g. optuna-tpe_mv
    for label, make in samplers:
        if only and label != only:
            continue
        for seed in range(seed0, seed0 + seeds):
            st = optuna.create_study(sampler=make(seed))
            st.optimize(f, n_trials=budget)
            print("BEST %s %s %d %.10g" % (name, label, seed, st.best_value), flush=True)
t0 = time.perf_counter()
st = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1))
st.optimize(branin, n_trials=200)
print("TIME optuna-tpe 200 %.4f" % (time.perf_counter() - t0))
