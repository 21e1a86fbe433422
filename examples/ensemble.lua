-- Combine several models to make predictions more stable and accurate: on the
-- wine data (178 wines from three cultivars, 13 chemical measurements) and the
-- digits (1,797 8x8 handwritten digits), a few different models and three
-- ways of combining them, each member's cross-validated accuracy beside the
-- ensemble's:
--   voting    each member votes with its class probabilities (soft voting)
--   bagging   one model fit on many bootstrap samples of the rows, averaged
--   stacking  a meta-model learns how far to trust each member, from their
--             predictions on rows they did not see (out-of-fold)
-- Every model sits behind a StandardScaler in a pipeline, refit on each fold.
--   moonlab examples/ensemble.lua [folds=5] [trees=100] [epochs=30] [bags=10] [digits=1]
local models, prep, nn = ml.models, ml.prep, ml.nn
local folds = ml.overrides.folds or 5
local trees = ml.overrides.trees or 100
local epochs = ml.overrides.epochs or 30
local bags = ml.overrides.bags or 10
local with_digits = (ml.overrides.digits or 1) ~= 0

ml.seed(0)

local function mlp(p, n_features, n_classes)
  return nn.Sequential { nn.Linear(n_features, p.hidden), nn.ReLU(), nn.Linear(p.hidden, n_classes) }
end

local function scaled(model) return prep.Pipeline { { "scale", prep.StandardScaler() }, { "model", model } } end

local function members()
  return {
    { "logistic", scaled(models.LogisticRegression {}) },
    { "knn", scaled(models.KNeighborsClassifier {}) },
    { "tree", scaled(models.DecisionTreeClassifier { max_depth = 6, random_state = 0 }) },
    { "network", scaled(models.NetClassifier { build = mlp, params = { hidden = 32 }, epochs = epochs, lr = 3e-3, random_state = 0 }) },
  }
end

local function evaluate(title, df)
  local features = {}
  for _, name in ipairs(df._names) do if name ~= "target" then features[#features + 1] = name end end
  local X, y = df:to_tensor(features), df:column("target").values
  local cv = models.StratifiedKFold { n_splits = folds, shuffle = true, random_state = 0 }
  print(string.format("\n%s: %d rows, %d features; %d-fold cross-validated accuracy", title, X:size(1), #features, folds))
  local function report(name, est)
    local s = models.cross_val_score(est, X, y, { cv = cv })
    print(string.format("  %-44s %.4f ± %.4f", name, s:mean():item(), s:std(1, { unbiased = false }):item()))
    return s:mean():item()
  end
  local best = 0
  for _, m in ipairs(members()) do best = math.max(best, report(m[1], m[2])) end
  local ensembles = {
    { "soft vote of the four", models.VotingClassifier { estimators = members(), voting = "soft" } },
    { string.format("bagging %d trees (a random forest's idea)", bags),
      models.BaggingClassifier { estimator = models.DecisionTreeClassifier { max_depth = 6 }, n_estimators = bags, random_state = 0 } },
    { string.format("bagging %d networks", math.max(2, bags // 2)),
      scaled(models.BaggingClassifier { estimator = models.NetClassifier { build = mlp, params = { hidden = 32 }, epochs = epochs, lr = 3e-3 },
        n_estimators = math.max(2, bags // 2), random_state = 0 }) },
    { "stacking, logistic regression on top", models.StackingClassifier { estimators = members(),
      final_estimator = models.LogisticRegression {}, cv = folds } },
    { string.format("random forest (%d trees)", trees), models.RandomForestClassifier { n_estimators = trees, random_state = 0 } },
  }
  print("  ---")
  for _, e in ipairs(ensembles) do
    local s = report(e[1], e[2])
    if s > best then print(string.format("  %-44s +%.4f over the best single member", "", s - best)) end
  end
end

evaluate("wine", ml.data.load_wine())
if with_digits then evaluate("digits", ml.data.load_digits()) end
