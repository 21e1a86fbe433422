#!/usr/bin/python3
"""Fixtures for tests/lua/test_leftovers.lua: the log-densities of Optuna 3.1's
univariate Parzen estimator (optuna/samplers/_tpe/parzen_estimator.py, the
TPESampler defaults) on fixed observations, which search.TPESampler's
estimator must reproduce: a float parameter (few observations, and more than
25 so the weights ramp), an integer one (discretized: the mass of each
integer's interval) and a categorical one.
Writes tests/fixtures/search/tpe_parzen.json."""
import json, os
import numpy as np
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights

P = _ParzenEstimatorParameters(True, 1.0, True, False, default_weights, False)
rs = np.random.RandomState(3)
cases = []

def float_case(name, obs, low, high):
    pe = _ParzenEstimator({"x": np.asarray(obs, float)}, {"x": FloatDistribution(low, high)}, P)
    xs = list(np.linspace(low, high, 13))
    lp = pe.log_pdf({"x": np.asarray(xs)})
    cases.append({"name": name, "kind": "float", "low": low, "high": high, "obs": list(map(float, obs)),
                  "x": list(map(float, xs)), "logpdf": list(map(float, lp)), "sigmas": list(map(float, pe._sigmas["x"]))})

float_case("float, 3 observations", [1.5, -2.0, 3.3], -5.0, 10.0)
float_case("float, 40 observations (ramped weights)", list(rs.uniform(-5, 10, 40)), -5.0, 10.0)
float_case("float, 1 observation", [0.9], 0.0, 1.0)

obs = [3, 7, 7, 12, 20, 0]
pe = _ParzenEstimator({"n": np.asarray(obs, float)}, {"n": IntDistribution(0, 20)}, P)
xs = list(range(0, 21))
cases.append({"name": "int 0..20", "kind": "int", "low": 0, "high": 20, "obs": obs, "x": xs,
              "logpdf": list(map(float, pe.log_pdf({"n": np.asarray(xs, float)})))})

for n_obs in (5, 30):
    obs = list(map(int, rs.randint(0, 3, n_obs)))
    pe = _ParzenEstimator({"k": np.asarray(obs)}, {"k": CategoricalDistribution(["a", "b", "c"])}, P)
    cases.append({"name": "categorical, %d observations" % n_obs, "kind": "categorical", "choices": ["a", "b", "c"],
                  "obs": [o + 1 for o in obs],
                  "prob": [float(np.exp(pe.log_pdf({"k": np.asarray([i])})[0])) for i in range(3)]})

out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "search", "tpe_parzen.json")
with open(out, "w") as f:
    json.dump({"generator": "scripts/gen_tpe_fixtures.py", "optuna": __import__("optuna").__version__, "cases": cases}, f, indent=1)
print("wrote", out)
