/* ml._neighbors: the brute-force nearest-neighbour kernels
 * (runtime/ops/neighbors.c), for prep's samplers and KNNImputer and the
 * kNN estimators of later issues.
 *
 *   kneighbors(Q, R, k, [opts])  -> idx (int64 [m, k], 1-based rows of R, nearest first), dist ([m, k], Q's dtype)
 *       Q [m, d], R [n, d] float32 or float64 (the same), finite. opts: exclude_self (Q is R: row i
 *       is no neighbour of itself), skip (int64 [m]: row skip[i] of R is no neighbour of query i; 0: none)
 *       p: 2 (Euclidean, the default) or 1 (Manhattan)
 *   knn_vote(idx, dist | nil, codes, K)  -> proba float64 [m, K]: the (1 / dist-weighted) share of each class
 *   knn_average(idx, dist | nil, Y [n, t]) -> float64 [m, t]: the (1 / dist-weighted) mean of the neighbours' rows
 *   nan_euclidean(X, Y)          -> D (float64 [m, n]), scikit-learn's nan_euclidean_distances
 *   knn_impute(X, F, k, distance_weights, fit_mean, fit_valid) -> X with its NaNs imputed (a new float64 tensor)
 *       F [n, d] the fitted rows, fit_mean float64 [d], fit_valid bool [d] */
#include <math.h>
#include <string.h>

#include "../ops/neighbors.h"
#include "lbind.h"

/* A 2-D float tensor argument, retained and contiguous; of dtype want unless want < 0. */
static ml_tensor *check_matrix(lua_State *L, int idx, const char *fn, const char *what, int want) {
    ml_tensor *t = lb_check_tensor(L, idx, fn);
    if (t->ndim != 2) luaL_error(L, "%s: %s must be 2-D [rows, features], got %d-D", fn, what, t->ndim);
    if (!ml_dtype_is_float(t->dtype)) luaL_error(L, "%s: %s must be float32 or float64, got %s", fn, what, ml_dtype_name(t->dtype));
    if (want >= 0 && (int)t->dtype != want)
        luaL_error(L, "%s: %s is %s, expected %s like the first argument", fn, what, ml_dtype_name(t->dtype),
                   ml_dtype_name((ml_dtype)want));
    ml_tensor *c = ml_contiguous(t);
    if (!c) lb_raise_as(L, fn);
    return c;
}

/* Whether the n values at p are all finite. */
static bool all_finite(const ml_tensor *t) {
    if (t->dtype == ML_FLOAT32) {
        const float *p = ml_data(t);
        for (int64_t i = 0; i < t->numel; i++)
            if (!isfinite(p[i])) return false;
    } else {
        const double *p = ml_data(t);
        for (int64_t i = 0; i < t->numel; i++)
            if (!isfinite(p[i])) return false;
    }
    return true;
}

static int l_kneighbors(lua_State *L) {
    static const char *fn = "ml._neighbors.kneighbors";
    static const char *const known[] = {"exclude_self", "skip", "p", NULL};
    lua_Integer k = luaL_checkinteger(L, 3);
    lb_check_options(L, 4, fn, known);
    bool exclude_self = lb_opt_bool_field(L, 4, "exclude_self", 0);
    double pw = lb_opt_number_field(L, 4, "p", 2);
    if (pw != 1 && pw != 2) return luaL_error(L, "%s: p = %f, expected 1 (Manhattan) or 2 (Euclidean)", fn, pw);
    ml_tensor *skip = NULL;
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "skip");
        if (!lua_isnil(L, -1)) skip = lb_check_tensor(L, -1, fn);
        lua_pop(L, 1);
    }
    ml_tensor *R0 = lb_check_tensor(L, 2, fn);
    ml_tensor *Q = check_matrix(L, 1, fn, "the queries", -1); /* the last check that raises: retained from here */
    ml_tensor *R = NULL, *sk = NULL, *idx = NULL, *dist = NULL;
    const char *bad = NULL;
    char msg[200];
    R = ml_contiguous(R0);
    int64_t m = Q->shape[0], d = Q->shape[1];
    if (!R) { bad = ml_last_error(); goto fail; }
    if (R->ndim != 2 || R->dtype != Q->dtype || R->shape[1] != d) {
        snprintf(msg, sizeof msg, "the reference rows must be %s [n, %lld] like the queries, got %s with %d dims", ml_dtype_name(Q->dtype),
                 (long long)d, ml_dtype_name(R->dtype), R->ndim);
        bad = msg;
        goto fail;
    }
    int64_t n = R->shape[0], avail = n - (exclude_self || skip ? 1 : 0);
    if (k < 1 || k > avail) {
        snprintf(msg, sizeof msg, "k = %lld, expected 1..%lld (%lld reference rows%s)", (long long)k, (long long)avail,
                 (long long)n, avail < n ? ", one excluded per query" : "");
        bad = msg;
        goto fail;
    }
    if (exclude_self && m != n) {
        snprintf(msg, sizeof msg, "exclude_self needs the queries to be the reference rows, got %lld and %lld rows", (long long)m, (long long)n);
        bad = msg;
        goto fail;
    }
    if (skip) {
        if (skip->dtype != ML_INT64 || skip->ndim != 1 || skip->shape[0] != m) {
            snprintf(msg, sizeof msg, "skip must be int64 [%lld] (one reference row per query), got %s with %lld elements", (long long)m,
                     ml_dtype_name(skip->dtype), (long long)skip->numel);
            bad = msg;
            goto fail;
        }
        sk = ml_contiguous(skip);
        if (!sk) { bad = ml_last_error(); goto fail; }
        const int64_t *s = ml_data(sk);
        for (int64_t i = 0; i < m; i++)
            if (s[i] < 0 || s[i] > n) {
                snprintf(msg, sizeof msg, "skip[%lld] = %lld, expected 0 (none) or a row 1..%lld", (long long)(i + 1), (long long)s[i], (long long)n);
                bad = msg;
                goto fail;
            }
    }
    if (!all_finite(Q) || !all_finite(R)) { bad = "the rows hold NaN or infinite values (nan_euclidean handles missing values)"; goto fail; }
    int64_t shape[2] = {m, k};
    idx = ml_empty(2, shape, ML_INT64);
    dist = ml_empty(2, shape, Q->dtype);
    if (!idx || !dist) { bad = ml_last_error(); goto fail; }
    ml_knn_opts o = {.k = k, .index_base = 1, .skip = sk ? ml_data(sk) : NULL, .skip_same = exclude_self, .p = (int)pw};
    int rc = Q->dtype == ML_FLOAT32 ? ml_knn_f32(ml_data(idx), ml_data(dist), ml_data(Q), ml_data(R), m, n, d, &o)
                                    : ml_knn_f64(ml_data(idx), ml_data(dist), ml_data(Q), ml_data(R), m, n, d, &o);
    if (rc) { bad = ml_last_error(); goto fail; }
    ml_release(Q), ml_release(R), ml_release(sk);
    lb_push_tensor(L, idx);
    lb_push_tensor(L, dist);
    lb_gc_account(L);
    return 2;
fail: {
    char out[320]; /* bad may be the runtime's buffer or msg: copied before anything is freed */
    snprintf(out, sizeof out, "%s: %s", fn, bad);
    ml_release(Q), ml_release(R), ml_release(sk), ml_release(idx), ml_release(dist);
    return luaL_error(L, "%s", out);
}
}

static int l_nan_euclidean(lua_State *L) {
    static const char *fn = "ml._neighbors.nan_euclidean";
    ml_tensor *Y0 = lb_check_tensor(L, 2, fn);
    ml_tensor *X = check_matrix(L, 1, fn, "X", ML_FLOAT64);
    ml_tensor *Y = NULL, *D = NULL;
    Y = ml_contiguous(Y0);
    if (!Y || Y->ndim != 2 || Y->dtype != ML_FLOAT64 || Y->shape[1] != X->shape[1]) {
        ml_release(X), ml_release(Y);
        return luaL_error(L, "%s: Y must be float64 [n, %I] like X", fn, (lua_Integer)X->shape[1]);
    }
    int64_t shape[2] = {X->shape[0], Y->shape[0]};
    D = ml_empty(2, shape, ML_FLOAT64);
    if (!D || ml_nan_euclidean_f64(ml_data(D), ml_data(X), ml_data(Y), shape[0], shape[1], X->shape[1])) {
        ml_release(X), ml_release(Y), ml_release(D);
        return lb_raise_as(L, fn);
    }
    ml_release(X), ml_release(Y);
    lb_push_tensor(L, D);
    lb_gc_account(L);
    return 1;
}

static int l_knn_impute(lua_State *L) {
    static const char *fn = "ml._neighbors.knn_impute";
    lua_Integer k = luaL_checkinteger(L, 3);
    bool distance_weights = lua_toboolean(L, 4);
    ml_tensor *mean = lb_check_tensor(L, 5, fn), *valid = lb_check_tensor(L, 6, fn), *F0 = lb_check_tensor(L, 2, fn);
    ml_tensor *X = check_matrix(L, 1, fn, "X", ML_FLOAT64);
    ml_tensor *F = ml_contiguous(F0);
    ml_tensor *mc = NULL, *vc = NULL, *out = NULL;
    int64_t d = X->shape[1];
    if (!F || F->ndim != 2 || F->dtype != ML_FLOAT64 || F->shape[1] != d || mean->dtype != ML_FLOAT64 || mean->numel != d ||
        valid->dtype != ML_BOOL || valid->numel != d || k < 1) {
        ml_release(X), ml_release(F);
        return luaL_error(L, "%s: expected X [m, %I], F [n, %I] float64, k >= 1, fit_mean float64 [%I], fit_valid bool [%I]", fn,
                          (lua_Integer)d, (lua_Integer)d, (lua_Integer)d, (lua_Integer)d);
    }
    mc = ml_contiguous(mean), vc = ml_contiguous(valid), out = ml_clone(X);
    int rc = (!mc || !vc || !out) ? -1
                                  : ml_knn_impute_f64(ml_data(out), X->shape[0], ml_data(F), F->shape[0], d, k, distance_weights,
                                                      ml_data(mc), ml_data(vc));
    ml_release(X), ml_release(F), ml_release(mc), ml_release(vc);
    if (rc) {
        ml_release(out);
        return lb_raise_as(L, fn);
    }
    lb_push_tensor(L, out);
    lb_gc_account(L);
    return 1;
}

/* The checks shared by knn_vote and knn_average: idx int64 [m, k] in 1..n, dist float64 [m, k] or nil. */
static void check_neighbours(lua_State *L, const char *fn, ml_tensor *idx, ml_tensor *dist, int64_t n) {
    if (idx->dtype != ML_INT64 || idx->ndim != 2 || !ml_is_contiguous(idx))
        luaL_error(L, "%s: idx must be a contiguous int64 [m, k] tensor", fn);
    if (dist && (dist->dtype != ML_FLOAT64 || !ml_is_contiguous(dist) || dist->ndim != 2 || dist->shape[0] != idx->shape[0] ||
                 dist->shape[1] != idx->shape[1]))
        luaL_error(L, "%s: dist must be a contiguous float64 tensor shaped like idx", fn);
    const int64_t *ix = ml_data(idx);
    for (int64_t i = 0; i < idx->numel; i++)
        if (ix[i] < 1 || ix[i] > n) luaL_error(L, "%s: idx holds %I, expected rows 1..%I", fn, (lua_Integer)ix[i], (lua_Integer)n);
}

static int l_knn_vote(lua_State *L) {
    static const char *fn = "ml._neighbors.knn_vote";
    ml_tensor *idx = lb_check_tensor(L, 1, fn), *dist = lua_isnil(L, 2) ? NULL : lb_check_tensor(L, 2, fn);
    ml_tensor *codes = lb_check_tensor(L, 3, fn);
    lua_Integer K = luaL_checkinteger(L, 4);
    if (codes->dtype != ML_INT64 || codes->ndim != 1 || !ml_is_contiguous(codes) || K < 1)
        return luaL_error(L, "%s: codes must be a contiguous int64 [n] tensor and K >= 1", fn);
    const int64_t *c = ml_data(codes);
    for (int64_t i = 0; i < codes->numel; i++)
        if (c[i] < 1 || c[i] > K) return luaL_error(L, "%s: codes[%I] = %I, expected 1..%I", fn, (lua_Integer)(i + 1), (lua_Integer)c[i], (lua_Integer)K);
    check_neighbours(L, fn, idx, dist, codes->numel);
    int64_t shape[2] = {idx->shape[0], K};
    ml_tensor *out = ml_empty(2, shape, ML_FLOAT64);
    if (!out || ml_knn_vote_f64(ml_data(out), ml_data(idx), dist ? ml_data(dist) : NULL, c, idx->shape[0], idx->shape[1], K)) {
        ml_release(out);
        return lb_raise_as(L, fn);
    }
    lb_push_tensor(L, out);
    lb_gc_account(L);
    return 1;
}

static int l_knn_average(lua_State *L) {
    static const char *fn = "ml._neighbors.knn_average";
    ml_tensor *idx = lb_check_tensor(L, 1, fn), *dist = lua_isnil(L, 2) ? NULL : lb_check_tensor(L, 2, fn);
    ml_tensor *Y = lb_check_tensor(L, 3, fn);
    if (Y->dtype != ML_FLOAT64 || Y->ndim != 2 || !ml_is_contiguous(Y) || Y->shape[1] < 1)
        return luaL_error(L, "%s: Y must be a contiguous float64 [n, t] tensor", fn);
    check_neighbours(L, fn, idx, dist, Y->shape[0]);
    int64_t shape[2] = {idx->shape[0], Y->shape[1]};
    ml_tensor *out = ml_empty(2, shape, ML_FLOAT64);
    if (!out || ml_knn_average_f64(ml_data(out), ml_data(idx), dist ? ml_data(dist) : NULL, ml_data(Y), idx->shape[0], idx->shape[1],
                                   Y->shape[1])) {
        ml_release(out);
        return lb_raise_as(L, fn);
    }
    lb_push_tensor(L, out);
    lb_gc_account(L);
    return 1;
}

void lb_open_neighbors(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"kneighbors", l_kneighbors}, {"knn_vote", l_knn_vote}, {"knn_average", l_knn_average}, {"nan_euclidean", l_nan_euclidean}, {"knn_impute", l_knn_impute}, {NULL, NULL}};
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), fns);
    static const lb_doc docs[] = {
        {"kneighbors", "ml._neighbors.kneighbors(Q, R, k, [{exclude_self, skip, p}]) -> idx (int64 [m, k], 1-based), dist — brute-force "
                       "Euclidean k nearest rows of R for each row of Q, nearest first, ties to the lower row"},
        {"knn_vote", "ml._neighbors.knn_vote(idx, dist | nil, codes, K) -> proba [m, K] — the kNN classifier's vote, uniform "
                     "or 1 / distance (scikit-learn's weights)"},
        {"knn_average", "ml._neighbors.knn_average(idx, dist | nil, Y) -> [m, t] — the kNN regressor's (weighted) mean of neighbours' rows"},
        {"nan_euclidean", "ml._neighbors.nan_euclidean(X, Y) -> D float64 [m, n] — scikit-learn's nan_euclidean_distances (NaN = missing)"},
        {"knn_impute", "ml._neighbors.knn_impute(X, F, k, distance_weights, fit_mean, fit_valid) -> X imputed — KNNImputer's transform "
                       "(scikit-learn 1.2) over the fitted rows F"},
        {NULL, NULL},
    };
    lb_add_docs(L, lua_gettop(L), docs);
    lua_setfield(L, 1, "_neighbors");
}
