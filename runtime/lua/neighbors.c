/* ml._neighbors: the brute-force nearest-neighbour kernels
 * (runtime/ops/neighbors.c), for prep's samplers and KNNImputer and the
 * kNN estimators of later issues.
 *
 *   kneighbors(Q, R, k, [opts])  -> idx (int64 [m, k], 1-based rows of R, nearest first), dist ([m, k], Q's dtype)
 *       Q [m, d], R [n, d] float32 or float64 (the same), finite. opts: exclude_self (Q is R: row i
 *       is no neighbour of itself), skip (int64 [m]: row skip[i] of R is no neighbour of query i; 0: none)
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
    static const char *const known[] = {"exclude_self", "skip", NULL};
    lua_Integer k = luaL_checkinteger(L, 3);
    lb_check_options(L, 4, fn, known);
    bool exclude_self = lb_opt_bool_field(L, 4, "exclude_self", 0);
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
    ml_knn_opts o = {.k = k, .index_base = 1, .skip = sk ? ml_data(sk) : NULL, .skip_same = exclude_self};
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
        return luaL_error(L, "%s: Y must be float64 [n, %lld] like X", fn, (long long)X->shape[1]);
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
        return luaL_error(L, "%s: expected X [m, %lld], F [n, %lld] float64, k >= 1, fit_mean float64 [%lld], fit_valid bool [%lld]", fn,
                          (long long)d, (long long)d, (long long)d, (long long)d);
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

void lb_open_neighbors(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"kneighbors", l_kneighbors}, {"nan_euclidean", l_nan_euclidean}, {"knn_impute", l_knn_impute}, {NULL, NULL}};
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), fns);
    static const lb_doc docs[] = {
        {"kneighbors", "ml._neighbors.kneighbors(Q, R, k, [{exclude_self, skip}]) -> idx (int64 [m, k], 1-based), dist — brute-force "
                       "Euclidean k nearest rows of R for each row of Q, nearest first, ties to the lower row"},
        {"nan_euclidean", "ml._neighbors.nan_euclidean(X, Y) -> D float64 [m, n] — scikit-learn's nan_euclidean_distances (NaN = missing)"},
        {"knn_impute", "ml._neighbors.knn_impute(X, F, k, distance_weights, fit_mean, fit_valid) -> X imputed — KNNImputer's transform "
                       "(scikit-learn 1.2) over the fitted rows F"},
        {NULL, NULL},
    };
    lb_add_docs(L, lua_gettop(L), docs);
    lua_setfield(L, 1, "_neighbors");
}
