/* ml._boosting: histogram gradient boosting (runtime/ops/hist_gbm.h), for
 * models.HistGradientBoostingClassifier / Regressor (models/boosting.lua).
 *
 *   fit(X, y, w, Xv, yv, wv, opts) -> {nodes, tree_start, baseline, thresholds, n_bins_non_missing, n_iter,
 *                                      train_score, validation_score}
 *       X [n, d], y [n], w [n] or nil, Xv [nv, d] / yv / wv or nil (the validation rows): contiguous float64;
 *       classification targets are codes 0..K-1. opts: loss ("squared_error" | "absolute_error" | "log_loss"),
 *       n_outputs, learning_rate, max_iter, max_leaf_nodes (0: none), max_depth (0: none), min_samples_leaf,
 *       l2_regularization, max_bins, early_stopping, n_iter_no_change, tol, seed (the binning subsample)
 *   predict(X, nodes, tree_start, n_outputs, [first, last]) -> raw float64 [n, n_outputs]: the sum of trees
 *       first..last (1-based, all by default), without the baseline */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/hist_gbm.h"
#include "lbind.h"

#define BIN_SUBSAMPLE 200000 /* scikit-learn's _BinMapper subsample */

/* A contiguous float64 tensor of ndim dims (rows = shape[0]) or NULL for nil when optional. Borrowed. */
static ml_tensor *check_f64(lua_State *L, int idx, const char *fn, const char *what, int ndim, bool optional) {
    if (optional && lua_isnoneornil(L, idx)) return NULL;
    ml_tensor *t = lb_check_tensor(L, idx, fn);
    if (t->dtype != ML_FLOAT64 || t->ndim != ndim || !ml_is_contiguous(t))
        luaL_error(L, "%s: %s must be a contiguous float64 %d-D tensor, got %s %d-D", fn, what, ndim, ml_dtype_name(t->dtype), t->ndim);
    return t;
}

static const char *const fit_known[] = {"loss", "n_outputs", "learning_rate", "max_iter", "max_leaf_nodes", "max_depth",
                                        "min_samples_leaf", "l2_regularization", "max_bins", "early_stopping",
                                        "n_iter_no_change", "tol", "seed", NULL};

static ml_hgb_loss check_loss(lua_State *L, const char *fn) {
    lua_getfield(L, 7, "loss");
    const char *s = luaL_optstring(L, -1, "squared_error");
    ml_hgb_loss loss = !strcmp(s, "squared_error")    ? ML_HGB_SQUARED_ERROR
                       : !strcmp(s, "absolute_error") ? ML_HGB_ABSOLUTE_ERROR
                       : !strcmp(s, "log_loss")       ? ML_HGB_LOG_LOSS
                                                      : (ml_hgb_loss)-1;
    if ((int)loss < 0) luaL_error(L, "%s: loss must be 'squared_error', 'absolute_error' or 'log_loss', got '%s'", fn, s);
    lua_pop(L, 1);
    return loss;
}

static void push_f64(lua_State *L, const double *v, int64_t n, const char *field) {
    ml_tensor *t = ml_empty(1, &n, ML_FLOAT64);
    if (t && n) memcpy(ml_data(t), v, sizeof *v * n);
    lb_push_tensor(L, t);
    lua_setfield(L, -2, field);
}

static int l_fit(lua_State *L) {
    static const char *fn = "ml._boosting.fit";
    ml_tensor *X = check_f64(L, 1, fn, "X", 2, false), *y = check_f64(L, 2, fn, "y", 1, false);
    ml_tensor *w = check_f64(L, 3, fn, "w", 1, true), *Xv = check_f64(L, 4, fn, "Xv", 2, true);
    ml_tensor *yv = check_f64(L, 5, fn, "yv", 1, true), *wv = check_f64(L, 6, fn, "wv", 1, true);
    luaL_checktype(L, 7, LUA_TTABLE);
    lb_check_options(L, 7, fn, fit_known);
    int64_t n = X->shape[0], d = X->shape[1], nv = Xv ? Xv->shape[0] : 0;
    if (n < 1 || d < 1 || n > UINT32_MAX) luaL_error(L, "%s: X must have 1..2^32 rows and at least one column", fn);
    if (y->shape[0] != n || (w && w->shape[0] != n)) luaL_error(L, "%s: y and w must have one value per row of X", fn);
    if (Xv && (Xv->shape[1] != d || !yv || yv->shape[0] != nv || (wv && wv->shape[0] != nv)))
        luaL_error(L, "%s: the validation rows must be [nv, %I] with nv targets (and weights)", fn, (lua_Integer)d);
    ml_hgb_params p = {
        .loss = check_loss(L, fn),
        .n_outputs = (int)lb_opt_number_field(L, 7, "n_outputs", 1),
        .learning_rate = lb_opt_number_field(L, 7, "learning_rate", 0.1),
        .max_iter = (int64_t)lb_opt_number_field(L, 7, "max_iter", 100),
        .max_leaf_nodes = (int64_t)lb_opt_number_field(L, 7, "max_leaf_nodes", 31),
        .max_depth = (int64_t)lb_opt_number_field(L, 7, "max_depth", 0),
        .min_samples_leaf = (int64_t)lb_opt_number_field(L, 7, "min_samples_leaf", 20),
        .l2_regularization = lb_opt_number_field(L, 7, "l2_regularization", 0),
        .early_stopping = lb_opt_bool_field(L, 7, "early_stopping", 0),
        .n_iter_no_change = (int64_t)lb_opt_number_field(L, 7, "n_iter_no_change", 10),
        .tol = lb_opt_number_field(L, 7, "tol", 1e-7),
    };
    int max_bins = (int)lb_opt_number_field(L, 7, "max_bins", 255);
    uint64_t seed = (uint64_t)lb_opt_number_field(L, 7, "seed", 0);
    if (p.n_outputs < 1 || p.n_outputs > 256 || (p.n_outputs > 1 && p.loss != ML_HGB_LOG_LOSS))
        luaL_error(L, "%s: n_outputs must be 1, or 3..256 with log_loss", fn);
    if (p.max_iter < 1 || p.min_samples_leaf < 1 || p.max_leaf_nodes < 0 || p.max_leaf_nodes == 1 || p.max_depth < 0 ||
        p.n_iter_no_change < 1 || !(p.learning_rate > 0) || !(p.l2_regularization >= 0) || max_bins < 2 || max_bins > 255)
        luaL_error(L, "%s: an option is out of range", fn);
    const double *yp = ml_data(y);
    for (int64_t i = 0; i < n; i++) /* the targets: finite; codes 0..K-1 for log_loss */
        if (!isfinite(yp[i]) || (p.loss == ML_HGB_LOG_LOSS && (yp[i] < 0 || yp[i] >= (p.n_outputs == 1 ? 2 : p.n_outputs) || yp[i] != floor(yp[i]))))
            luaL_error(L, "%s: y[%I] = %f is not a valid target", fn, (lua_Integer)(i + 1), yp[i]);
    if (yv) {
        const double *q = ml_data(yv);
        for (int64_t i = 0; i < nv; i++)
            if (!isfinite(q[i]) || (p.loss == ML_HGB_LOG_LOSS && (q[i] < 0 || q[i] >= (p.n_outputs == 1 ? 2 : p.n_outputs) || q[i] != floor(q[i]))))
                luaL_error(L, "%s: yv[%I] = %f is not a valid target", fn, (lua_Integer)(i + 1), q[i]);
    }

    ml_hgb_binner b;
    ml_hgb_model m;
    memset(&m, 0, sizeof m);
    uint8_t *Xb = NULL, *Xvb = NULL;
    if (ml_hgb_bin_fit(&b, ml_data(X), n, d, max_bins, BIN_SUBSAMPLE, seed) < 0) return lb_raise_as(L, fn);
    Xb = malloc((size_t)n * d), Xvb = nv ? malloc((size_t)nv * d) : NULL;
    int rc = -1;
    if (!Xb || (nv && !Xvb)) {
        lua_pushfstring(L, "%s: out of memory binning %d rows", fn, (int)n);
        goto fail;
    }
    ml_hgb_bin_map(Xb, &b, ml_data(X), n);
    if (nv) ml_hgb_bin_map(Xvb, &b, ml_data(Xv), nv);
    rc = ml_hgb_fit(&m, &p, &b, Xb, n, yp, w ? ml_data(w) : NULL, Xvb, nv, yv ? ml_data(yv) : NULL, wv ? ml_data(wv) : NULL);
    free(Xb), free(Xvb), Xb = Xvb = NULL;
    if (rc < 0) {
        lua_pushfstring(L, "%s: %s", fn, ml_last_error());
        goto fail;
    }
    lua_createtable(L, 0, 8);
    int64_t shape[2] = {m.n_nodes, ML_HGB_NODE_COLS};
    ml_tensor *nodes = ml_empty(2, shape, ML_FLOAT64);
    if (nodes) memcpy(ml_data(nodes), m.nodes, sizeof(double) * m.n_nodes * ML_HGB_NODE_COLS);
    int64_t nts = m.n_trees + 1;
    ml_tensor *ts = ml_empty(1, &nts, ML_INT64);
    if (ts) memcpy(ml_data(ts), m.tree_start, sizeof(int64_t) * nts);
    int64_t tshape[2] = {d, max_bins - 1};
    ml_tensor *thr = ml_empty(2, tshape, ML_FLOAT64);
    if (thr) memcpy(ml_data(thr), b.thresholds, sizeof(double) * d * (max_bins - 1));
    ml_tensor *nb = ml_empty(1, &d, ML_INT64);
    if (nb)
        for (int64_t j = 0; j < d; j++) ((int64_t *)ml_data(nb))[j] = b.n_bins_non_missing[j];
    if (!nodes || !ts || !thr || !nb) {
        ml_release(nodes), ml_release(ts), ml_release(thr), ml_release(nb);
        lua_pushfstring(L, "%s: out of memory", fn);
        goto fail;
    }
    lb_push_tensor(L, nodes), lua_setfield(L, -2, "nodes");
    lb_push_tensor(L, ts), lua_setfield(L, -2, "tree_start");
    lb_push_tensor(L, thr), lua_setfield(L, -2, "thresholds");
    lb_push_tensor(L, nb), lua_setfield(L, -2, "n_bins_non_missing");
    push_f64(L, m.baseline, m.n_outputs, "baseline");
    push_f64(L, m.train_score, m.n_scores, "train_score");
    push_f64(L, m.val_score, nv ? m.n_scores : 0, "validation_score");
    lua_pushinteger(L, m.n_iter), lua_setfield(L, -2, "n_iter");
    ml_hgb_model_free(&m), ml_hgb_binner_free(&b);
    lb_gc_account(L);
    return 1;
fail:
    free(Xb), free(Xvb), ml_hgb_model_free(&m), ml_hgb_binner_free(&b);
    return lua_error(L);
}

static int l_predict(lua_State *L) {
    static const char *fn = "ml._boosting.predict";
    ml_tensor *X = check_f64(L, 1, fn, "X", 2, false), *nodes = check_f64(L, 2, fn, "nodes", 2, false);
    ml_tensor *ts = lb_check_tensor(L, 3, fn);
    lua_Integer K = luaL_checkinteger(L, 4);
    if (ts->dtype != ML_INT64 || ts->ndim != 1 || !ml_is_contiguous(ts) || ts->numel < 1)
        luaL_error(L, "%s: tree_start must be a contiguous int64 1-D tensor", fn);
    if (nodes->shape[1] != ML_HGB_NODE_COLS) luaL_error(L, "%s: nodes must have %d columns", fn, ML_HGB_NODE_COLS);
    int64_t n_trees = ts->numel - 1, n = X->shape[0], d = X->shape[1];
    lua_Integer first = luaL_optinteger(L, 5, 1), last = luaL_optinteger(L, 6, n_trees);
    if (K < 1 || K > 256 || first < 1 || last > n_trees || first > last + 1)
        luaL_error(L, "%s: trees %d..%d of %d (%d outputs) is not a valid range", fn, (int)first, (int)last, (int)n_trees, (int)K);
    const int64_t *start = ml_data(ts);
    const char *bad = ml_hgb_check_trees(ml_data(nodes), nodes->shape[0], start, n_trees, d);
    if (bad) luaL_error(L, "%s: the model's trees are damaged: %s", fn, bad);
    if ((first - 1) % K) luaL_error(L, "%s: the first tree must start an iteration (1 + a multiple of %d)", fn, (int)K);
    int64_t shape[2] = {n, K};
    ml_tensor *raw = ml_zeros(2, shape, ML_FLOAT64);
    if (!raw) return lb_raise_as(L, fn);
    /* trees first..last: a window of tree_start whose tree t still adds to output t % K */
    if (last >= first) {
        ml_hgb_predict_raw(ml_data(raw), ml_data(X), n, d, ml_data(nodes), start + (first - 1), last - first + 1, (int)K);
    }
    lb_push_tensor(L, raw);
    lb_gc_account(L);
    return 1;
}

void lb_open_boosting(lua_State *L) {
    static const luaL_Reg fns[] = {{"fit", l_fit}, {"predict", l_predict}, {NULL, NULL}};
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), fns);
    static const lb_doc docs[] = {
        {"fit", "ml._boosting.fit(X, y, w, Xv, yv, wv, opts) -> {nodes, tree_start, baseline, thresholds, n_iter, train_score, "
                "validation_score} — histogram gradient boosting (scikit-learn's algorithm) on float64 rows"},
        {"predict", "ml._boosting.predict(X, nodes, tree_start, n_outputs, [first, last]) -> float64 [n, n_outputs] — the sum of "
                    "trees first..last on raw values (NaN missing), without the baseline"},
        {NULL, NULL},
    };
    lb_add_docs(L, lua_gettop(L), docs);
    lua_setfield(L, 1, "_boosting");
}
