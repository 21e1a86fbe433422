#!/usr/bin/python3
"""The scikit-learn 1.2.1 reference values in tests/lua/test_search_cv.lua:
GridSearchCV on the breast-cancer and wine data, printed for pasting."""
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_breast_cancer(return_X_y=True)
g = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                 {"logisticregression__C": [0.01, 0.1, 1, 10]}, cv=3).fit(X, y)
print("mean", list(g.cv_results_["mean_test_score"]))
print("std", list(g.cv_results_["std_test_score"]))
print("rank", list(g.cv_results_["rank_test_score"]), g.best_params_, g.best_score_)
X, y = load_wine(return_X_y=True)
g = GridSearchCV(make_pipeline(StandardScaler(), KNeighborsClassifier()),
                 {"kneighborsclassifier__n_neighbors": [1, 3, 5, 7, 9, 11],
                  "kneighborsclassifier__weights": ["uniform", "distance"]}, cv=5, scoring="f1_macro").fit(X, y)
print(g.best_params_, g.best_score_)
