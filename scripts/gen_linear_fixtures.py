#!/usr/bin/python3
"""Reference values for ml.models' linear models, naive Bayes and k-nearest
neighbours (scikit-learn) and for optim.LBFGS (PyTorch): writes
tests/fixtures/linear/*.json, read by tests/lua/test_models_linear.lua,
test_models_nb_knn.lua and test_lbfgs.lua. The data are scikit-learn's
bundled sets (the files ml.data.load_* reads), standardized with
StandardScaler where the tests say "std". Matrices are {"data": flat
row-major list, "shape": [...]}. Run from the repository root."""
import json, os
import numpy as np
import sklearn
import torch
from sklearn import datasets
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LinearRegression, Ridge, Lasso, ElasticNet, LogisticRegression
from sklearn.naive_bayes import GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

OUT = "tests/fixtures/linear"
VERSION = 1


def mat(a):
    a = np.asarray(a, dtype=np.float64)
    return {"data": [float(x) for x in a.ravel()], "shape": list(a.shape)}


def write(name, obj):
    obj["version"] = VERSION
    obj["sklearn"] = sklearn.__version__
    obj["torch"] = torch.__version__
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(obj, f, indent=0, allow_nan=False)


def std(X):
    return StandardScaler().fit_transform(X)


diab = datasets.load_diabetes()
Xd, yd = diab.data, diab.target
bc = datasets.load_breast_cancer()
Xb, yb = std(bc.data), bc.target
iris = datasets.load_iris()
Xi, yi = std(iris.data), iris.target
wine = datasets.load_wine()
Xw, yw = std(wine.data), wine.target
digits = datasets.load_digits()
Xg, yg = digits.data, digits.target
rng = np.random.default_rng(11)
sw_d = rng.uniform(0.5, 2.0, len(yd))

# ---- least squares, ridge ---------------------------------------------------------------
out = {}
m = LinearRegression().fit(Xd, yd)
out["diabetes"] = {"coef": mat(m.coef_), "intercept": float(m.intercept_), "rank": int(m.rank_),
                   "singular": mat(m.singular_), "r2": m.score(Xd, yd), "pred": mat(m.predict(Xd[:10]))}
Y2 = np.c_[yd, 0.5 * yd + 100 * Xd[:, 0]]
m = LinearRegression().fit(Xd, Y2)
out["multi"] = {"coef": mat(m.coef_), "intercept": mat(m.intercept_)}
m = LinearRegression().fit(Xd, yd, sample_weight=sw_d)
out["weighted"] = {"coef": mat(m.coef_), "intercept": float(m.intercept_), "sw": mat(sw_d)}
m = LinearRegression(fit_intercept=False).fit(Xd, yd)
out["no_intercept"] = {"coef": mat(m.coef_)}
Xr = np.c_[Xd[:, :3], Xd[:, 0] + Xd[:, 1]]  # rank-deficient
m = LinearRegression().fit(Xr, yd)
out["rank_deficient"] = {"coef": mat(m.coef_), "intercept": float(m.intercept_), "rank": int(m.rank_)}
for alpha in (1.0, 0.1):
    m = Ridge(alpha=alpha).fit(Xd, yd)
    out["ridge_%g" % alpha] = {"coef": mat(m.coef_), "intercept": float(m.intercept_), "r2": m.score(Xd, yd)}
m = Ridge(alpha=0.5).fit(Xd, yd, sample_weight=sw_d)
out["ridge_weighted"] = {"coef": mat(m.coef_), "intercept": float(m.intercept_)}
m = Ridge(alpha=np.array([0.5, 2.0])).fit(Xd, Y2)
out["ridge_multi"] = {"coef": mat(m.coef_), "intercept": mat(m.intercept_)}
write("least_squares", out)

# ---- lasso, elastic net -----------------------------------------------------------------
out = {}
for name, m in [("lasso", Lasso(alpha=0.1)), ("lasso_tight", Lasso(alpha=0.05, tol=1e-10, max_iter=100000)),
                ("enet", ElasticNet(alpha=0.01, l1_ratio=0.7)),
                ("enet_tight", ElasticNet(alpha=0.005, l1_ratio=0.3, tol=1e-10, max_iter=100000)),
                ("positive", Lasso(alpha=0.05, positive=True, tol=1e-10, max_iter=100000)),
                ("no_intercept", Lasso(alpha=0.1, fit_intercept=False, tol=1e-10, max_iter=100000))]:
    m.fit(Xd, yd)
    out[name] = {"coef": mat(m.coef_), "intercept": float(m.intercept_), "n_iter": int(m.n_iter_),
                 "dual_gap": float(m.dual_gap_), "r2": m.score(Xd, yd), "pred": mat(m.predict(Xd[:10]))}
m = Lasso(alpha=0.05, tol=1e-10, max_iter=100000).fit(Xd, yd, sample_weight=sw_d)
out["weighted"] = {"coef": mat(m.coef_), "intercept": float(m.intercept_)}
m = ElasticNet(alpha=0.01, tol=1e-10, max_iter=100000).fit(Xd, Y2)
out["multi"] = {"coef": mat(m.coef_), "intercept": mat(m.intercept_)}
write("coordinate_descent", out)

# ---- logistic regression ----------------------------------------------------------------
out = {}
cases = [
    ("bc", Xb, yb, dict()),
    ("bc_tight", Xb, yb, dict(tol=1e-10, max_iter=10000)),
    ("bc_c01_tight", Xb, yb, dict(C=0.1, tol=1e-10, max_iter=10000)),
    ("iris", Xi, yi, dict()),
    ("iris_tight", Xi, yi, dict(tol=1e-10, max_iter=10000)),
    ("wine_tight", Xw, yw, dict(tol=1e-10, max_iter=10000)),
    ("wine_balanced", Xw, yw, dict(class_weight="balanced", tol=1e-10, max_iter=10000)),
    ("iris_ovr", Xi, yi, dict(multi_class="ovr", tol=1e-10, max_iter=10000)),
    ("iris_no_intercept", Xi, yi, dict(fit_intercept=False, tol=1e-10, max_iter=10000)),
    ("bc_l1", Xb, yb, dict(penalty="l1", C=0.1, solver="saga", tol=1e-10, max_iter=100000)),
    ("iris_enet", Xi, yi, dict(penalty="elasticnet", l1_ratio=0.5, C=0.5, solver="saga", tol=1e-10, max_iter=100000)),
]
for name, X, y, kw in cases:
    m = LogisticRegression(**kw).fit(X, y)
    out[name] = {"coef": mat(m.coef_), "intercept": mat(m.intercept_), "n_iter": int(np.max(m.n_iter_)),
                 "proba": mat(m.predict_proba(X[:8])), "decision": mat(m.decision_function(X[:8])),
                 "accuracy": m.score(X, y), "options": kw}
write("logistic", out)

# ---- naive Bayes ------------------------------------------------------------------------
out = {}
for name, X, y in [("iris", iris.data, iris.target), ("wine", wine.data, wine.target)]:
    m = GaussianNB().fit(X, y)
    out["gauss_" + name] = {"theta": mat(m.theta_), "var": mat(m.var_), "class_prior": mat(m.class_prior_),
                            "epsilon": float(m.epsilon_), "proba": mat(m.predict_proba(X[::15])),
                            "log_proba": mat(m.predict_log_proba(X[::15])), "accuracy": m.score(X, y)}
m = GaussianNB(priors=[0.2, 0.3, 0.5], var_smoothing=1e-3).fit(iris.data, iris.target)
out["gauss_priors"] = {"theta": mat(m.theta_), "var": mat(m.var_), "proba": mat(m.predict_proba(iris.data[::15]))}
sw_i = rng.uniform(0.5, 2.0, len(iris.target))
m = GaussianNB().fit(iris.data, iris.target, sample_weight=sw_i)
out["gauss_weighted"] = {"theta": mat(m.theta_), "var": mat(m.var_), "class_prior": mat(m.class_prior_), "sw": mat(sw_i)}
for name, kw in [("multi_digits", dict()), ("multi_alpha", dict(alpha=0.3, fit_prior=False))]:
    m = MultinomialNB(**kw).fit(Xg, yg)
    out[name] = {"feature_log_prob": mat(m.feature_log_prob_), "class_log_prior": mat(m.class_log_prior_),
                 "class_count": mat(m.class_count_), "proba": mat(m.predict_proba(Xg[::100])),
                 "accuracy": m.score(Xg, yg)}
write("naive_bayes", out)

# ---- k-nearest neighbours ---------------------------------------------------------------
out = {}
perm = rng.permutation(len(yw))
tr, te = perm[:120], perm[120:]
out["wine_split"] = {"train": [int(i) + 1 for i in tr], "test": [int(i) + 1 for i in te]}
for name, kw in [("uniform", dict()), ("distance", dict(weights="distance", n_neighbors=7)), ("manhattan", dict(p=1))]:
    m = KNeighborsClassifier(algorithm="brute", **kw).fit(Xw[tr], yw[tr])
    dist, ind = m.kneighbors(Xw[te])
    out["clf_" + name] = {"proba": mat(m.predict_proba(Xw[te])), "pred": [int(v) for v in m.predict(Xw[te])],
                          "dist": mat(dist), "ind": mat(ind + 1), "accuracy": m.score(Xw[te], yw[te]), "options": kw}
permd = rng.permutation(len(yd))
trd, ted = permd[:300], permd[300:]
out["diabetes_split"] = {"train": [int(i) + 1 for i in trd], "test": [int(i) + 1 for i in ted]}
for name, kw in [("uniform", dict(n_neighbors=10)), ("distance", dict(weights="distance", n_neighbors=10))]:
    m = KNeighborsRegressor(algorithm="brute", **kw).fit(Xd[trd], yd[trd])
    out["reg_" + name] = {"pred": mat(m.predict(Xd[ted])), "r2": m.score(Xd[ted], yd[ted]), "options": kw}
write("neighbors", out)

# ---- optim.LBFGS vs torch.optim.LBFGS ---------------------------------------------------
out = {}
g = torch.Generator().manual_seed(3)
X = torch.randn(32, 3, generator=g, dtype=torch.float64)
y = torch.sin(X.sum(1, keepdim=True))
W1 = torch.randn(5, 3, generator=g, dtype=torch.float64) * 0.5
b1 = torch.randn(5, generator=g, dtype=torch.float64) * 0.1
W2 = torch.randn(1, 5, generator=g, dtype=torch.float64) * 0.5
b2 = torch.randn(1, generator=g, dtype=torch.float64) * 0.1
out["data"] = {"X": mat(X), "y": mat(y), "W1": mat(W1), "b1": mat(b1), "W2": mat(W2), "b2": mat(b2)}
for name, kw in [("plain", dict(lr=0.5, max_iter=5)), ("wolfe", dict(line_search_fn="strong_wolfe", max_iter=10)),
                 ("wolfe_hist3", dict(line_search_fn="strong_wolfe", history_size=3, max_iter=20))]:
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(W1); net[0].bias.copy_(b1); net[2].weight.copy_(W2); net[2].bias.copy_(b2)
    opt = torch.optim.LBFGS(net.parameters(), **kw)
    losses = []
    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(X), y)
        loss.backward()
        return loss
    for _ in range(4):
        losses.append(float(opt.step(closure)))
    losses.append(float(closure()))
    out[name] = {"options": kw, "losses": losses, "func_evals": opt.state[opt._params[0]]["func_evals"]}
write("lbfgs", out)
print("wrote", OUT)
