-- Evaluating models the way a scikit-learn user would: the breast-cancer data
-- (569 tumours, 30 measurements, malignant or benign), five models each behind
-- a StandardScaler in a pipeline (so every fold fits its own scaler), compared
-- by stratified 5-fold cross-validation in one table (mean ± std of accuracy,
-- F1 and ROC AUC, and the fit time); a soft-voting ensemble of the five beside
-- them; then the best one refit on the training rows and judged once on a
-- held-out test set (classification report, ROC AUC), and its learning curve
-- to see whether more data or more regularization would help. Folds run in
-- worker processes, one per core.
--   moonlab examples/evaluate.lua [folds=5] [trees=100] [epochs=40]
local models, prep, nn, metrics = ml.models, ml.prep, ml.nn, ml.metrics
local folds = ml.overrides.folds or 5
local trees = ml.overrides.trees or 100
local epochs = ml.overrides.epochs or 40

ml.seed(0)
local df, target_names = ml.data.load_breast_cancer()
local features = {}
for _, name in ipairs(df._names) do if name ~= "target" then features[#features + 1] = name end end
local X, y = df:to_tensor(features), df:column("target").values
-- a quarter of the rows is kept aside, untouched until the very end
local X_train, X_test, y_train, y_test = prep.train_test_split(X, y, { test_size = 0.25, stratify = y, seed = 0 })
print(string.format("breast cancer: %d training rows, %d held out, %d features, classes %s / %s",
  X_train:size(1), X_test:size(1), #features, target_names[1], target_names[2]))

local function mlp(p, n_features, n_classes)
  return nn.Sequential { nn.Linear(n_features, p.hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(p.hidden, n_classes) }
end

local candidates = {
  { "logistic regression", models.LogisticRegression {} },
  { "k nearest neighbours", models.KNeighborsClassifier {} },
  { "random forest", models.RandomForestClassifier { n_estimators = trees, random_state = 0 } },
  { "gradient boosting", models.HistGradientBoostingClassifier { random_state = 0 } },
  { "network", models.NetClassifier { build = mlp, params = { hidden = 32 }, epochs = epochs, lr = 3e-3, random_state = 0 } },
}
local pipes = {}
for i, c in ipairs(candidates) do
  pipes[i] = { c[1], prep.Pipeline { { "scale", prep.StandardScaler() }, { "model", c[2] } } }
end

local cv = models.StratifiedKFold { n_splits = folds, shuffle = true, random_state = 0 }
local scoring = { "accuracy", "f1_macro", "roc_auc" }

local function row(name, r)
  local function ms(t) return string.format("%.4f ± %.4f", t:mean():item(), t:std(1, { unbiased = false }):item()) end
  print(string.format("%-24s %-17s %-17s %-17s %7.3f s", name, ms(r.test_accuracy), ms(r.test_f1_macro), ms(r.test_roc_auc),
    r.fit_time:mean():item()))
end

print(string.format("\nstratified %d-fold cross-validation on the training rows", folds))
print(string.format("%-24s %-17s %-17s %-17s %9s", "model", "accuracy", "F1 (macro)", "ROC AUC", "fit time"))
local results, best = {}, nil
for i, p in ipairs(pipes) do
  results[i] = models.cross_validate(p[2], X_train, y_train, { cv = cv, scoring = scoring })
  row(p[1], results[i])
  if not best or results[i].test_roc_auc:mean():item() > results[best].test_roc_auc:mean():item() then best = i end
end

-- the five together: each votes with its probabilities
local vote = models.VotingClassifier { estimators = pipes, voting = "soft" }
local vote_result = models.cross_validate(vote, X_train, y_train, { cv = cv, scoring = scoring })
row("soft vote of the five", vote_result)

-- the best by ROC AUC, refit on all the training rows, judged once on the held-out rows
local name, chosen = pipes[best][1], pipes[best][2]:clone()
chosen:fit(X_train, y_train)
local pred = chosen:predict(X_test)
local proba = chosen:predict_proba(X_test)
local best_auc, vote_auc = results[best].test_roc_auc:mean():item(), vote_result.test_roc_auc:mean():item()
print(string.format("\nbest of the five by cross-validated ROC AUC: %s (%.4f%s); on the %d held-out rows:", name, best_auc,
  vote_auc > best_auc and string.format("; the soft vote's %.4f is higher still, at five times the fit cost", vote_auc) or "",
  X_test:size(1)))
print(metrics.classification_report(y_test, pred, { target_names = target_names }))
print(string.format("ROC AUC on the held-out rows: %.4f", metrics.roc_auc_score(y_test, proba:select(2, 2))))

print(string.format("\nlearning curve of the %s (accuracy, %d folds)", name, folds))
models.print_curve(models.learning_curve(pipes[best][2], X_train, y_train, { cv = cv, scoring = "accuracy" }))
