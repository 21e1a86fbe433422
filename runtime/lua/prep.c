/* ml._prep: the column kernels of ml.prep (runtime/ops/colstats.h), for the
 * scalers, imputers, encoders and cleaning in lualib/moonlab/prep/. Thin:
 * check shapes and dtypes, call the kernel, push the result. Matrices are
 * 2-D float32/float64 (any strides; a non-contiguous one is copied first);
 * per-column parameters are 1-D float64 tensors of the matrix's width.
 *
 *   colstats(X, [with_var=true])        -> count, mean, m2, min, max   (float64 [d] each; m2 NaN without with_var)
 *   affine(X, a, b, [c], [lo, hi])      -> (X - a) * b + c, clamped into [lo, hi] when given
 *   clip(X, lo, hi)                     -> X clamped per column
 *   fillnan(X, fill)                    -> X with NaN replaced per column
 *   quantiles(X, {q...})                -> float64 [#q, d]
 *   unique(x)                           -> sorted distinct values (float64 [k]), counts (int64 [k])
 *   lookup(x, cats)                     -> int64 [n]: 1-based position of each value in cats, 0 if absent
 *   rows_unique(X, [keep_last])         -> bool [n]: first (last) of each group of equal rows
 *   rolling(x, window, center, min_periods, median) -> float64 [n] */
#include <math.h>
#include <stdlib.h>

#include "../ops/colstats.h"
#include "lbind.h"

/* A 2-D float matrix at idx, as a contiguous NEW reference; raises before allocating. */
static ml_tensor *check_matrix(lua_State *L, int idx, const char *fn) {
    ml_tensor *t = lb_check_tensor(L, idx, fn);
    if (t->ndim != 2) luaL_error(L, "%s: expected a 2-D matrix, got %d dims", fn, t->ndim);
    if (!ml_dtype_is_float(t->dtype)) luaL_error(L, "%s: expected a float32 or float64 matrix, got %s", fn, ml_dtype_name(t->dtype));
    ml_tensor *c = ml_contiguous(t);
    if (!c) lb_raise(L);
    return c;
}

/* A 1-D float tensor at idx as a contiguous NEW reference. */
static ml_tensor *check_vector(lua_State *L, int idx, const char *fn) {
    ml_tensor *t = lb_check_tensor(L, idx, fn);
    if (t->ndim != 1) luaL_error(L, "%s: argument #%d: expected a 1-D tensor, got %d dims", fn, idx, t->ndim);
    if (!ml_dtype_is_float(t->dtype)) luaL_error(L, "%s: argument #%d: expected a float tensor, got %s", fn, idx, ml_dtype_name(t->dtype));
    ml_tensor *c = ml_contiguous(t);
    if (!c) lb_raise(L);
    return c;
}

/* A float64 contiguous parameter vector of length d at idx (borrowed data pointer). */
static const double *check_params(lua_State *L, int idx, int64_t d, const char *fn) {
    ml_tensor *t = lb_check_tensor(L, idx, fn);
    if (t->ndim != 1 || t->shape[0] != d || t->dtype != ML_FLOAT64 || !ml_is_contiguous(t))
        luaL_error(L, "%s: argument #%d: expected a contiguous float64 tensor of %I values", fn, idx, (lua_Integer)d);
    return ml_data(t);
}

static int p_colstats(lua_State *L) {
    const char *fn = "prep.colstats";
    bool with_var = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
    ml_tensor *x = check_matrix(L, 1, fn);
    int64_t n = x->shape[0], d = x->shape[1];
    ml_tensor *out[5];
    for (int k = 0; k < 5; k++) out[k] = ml_empty(1, &x->shape[1], ML_FLOAT64);
    for (int k = 0; k < 5; k++) {
        if (!out[k]) { for (int i = 0; i < 5; i++) ml_release(out[i]); ml_release(x); return lb_raise(L); }
    }
    int rc = ml_colstats(ml_data(out[0]), ml_data(out[1]), ml_data(out[2]), ml_data(out[3]), ml_data(out[4]),
                         ml_data(x), x->dtype, n, d, with_var);
    ml_release(x);
    if (rc) { for (int i = 0; i < 5; i++) ml_release(out[i]); return lb_raise(L); }
    for (int k = 0; k < 5; k++) lb_push_tensor(L, out[k]);
    return 5;
}

/* moments_add(acc, X): acc (float64 [1 + 2d]) += n, column sums, sums of squares of X [n, d] */
static int p_moments_add(lua_State *L) {
    const char *fn = "prep.moments_add";
    ml_tensor *acc = lb_check_tensor(L, 1, fn);
    ml_tensor *x = check_matrix(L, 2, fn);
    int64_t n = x->shape[0], d = x->shape[1];
    if (acc->ndim != 1 || acc->shape[0] != 1 + 2 * d || acc->dtype != ML_FLOAT64 || !ml_is_contiguous(acc)) {
        ml_release(x);
        return luaL_error(L, "%s: acc must be a contiguous float64 tensor of %I values", fn, (lua_Integer)(1 + 2 * d));
    }
    int rc = ml_col_moments_add(ml_data(acc), ml_data(x), x->dtype, n, d);
    ml_release(x);
    if (rc) return lb_raise(L);
    return 0;
}

static int p_affine(lua_State *L) {
    const char *fn = "prep.affine";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    int64_t d = t->ndim == 2 ? t->shape[1] : 0;
    const double *a = check_params(L, 2, d, fn), *b = check_params(L, 3, d, fn);
    const double *c = lua_isnoneornil(L, 4) ? NULL : check_params(L, 4, d, fn);
    bool clip = !lua_isnoneornil(L, 5);
    double lo = clip ? luaL_checknumber(L, 5) : 0, hi = clip ? luaL_checknumber(L, 6) : 0;
    ml_tensor *x = check_matrix(L, 1, fn);
    ml_tensor *out = ml_empty(2, x->shape, x->dtype);
    if (!out) { ml_release(x); return lb_raise(L); }
    int rc = ml_col_affine(ml_data(out), ml_data(x), x->dtype, a, b, c, clip, lo, hi, x->shape[0], d);
    ml_release(x);
    if (rc) { ml_release(out); return lb_raise(L); }
    lb_push_tensor(L, out);
    return 1;
}

/* clip(X, lo, hi) and fillnan(X, fill): one matrix, per-column parameters, a new matrix. */
static int p_clip_or_fill(lua_State *L, bool fill) {
    const char *fn = fill ? "prep.fillnan" : "prep.clip";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    int64_t d = t->ndim == 2 ? t->shape[1] : 0;
    const double *p1 = check_params(L, 2, d, fn), *p2 = fill ? NULL : check_params(L, 3, d, fn);
    ml_tensor *x = check_matrix(L, 1, fn);
    ml_tensor *out = ml_empty(2, x->shape, x->dtype);
    if (!out) { ml_release(x); return lb_raise(L); }
    int rc = fill ? ml_col_fillnan(ml_data(out), ml_data(x), x->dtype, p1, x->shape[0], d)
                  : ml_col_clip(ml_data(out), ml_data(x), x->dtype, p1, p2, x->shape[0], d);
    ml_release(x);
    if (rc) { ml_release(out); return lb_raise(L); }
    lb_push_tensor(L, out);
    return 1;
}
static int p_clip(lua_State *L) { return p_clip_or_fill(L, false); }
static int p_fillnan(lua_State *L) { return p_clip_or_fill(L, true); }

static int p_quantiles(lua_State *L) {
    const char *fn = "prep.quantiles";
    lb_check_tensor(L, 1, fn);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer nq = (lua_Integer)lua_rawlen(L, 2);
    if (nq < 1 || nq > 1024) return luaL_error(L, "%s: expected 1 to 1024 quantiles, got %I", fn, nq);
    double q[1024];
    for (lua_Integer k = 1; k <= nq; k++) {
        lua_rawgeti(L, 2, k);
        int isnum;
        q[k - 1] = lua_tonumberx(L, -1, &isnum);
        lua_pop(L, 1);
        if (!isnum || !(q[k - 1] >= 0 && q[k - 1] <= 1)) return luaL_error(L, "%s: quantile %I must be a number in [0, 1]", fn, k);
    }
    ml_tensor *x = check_matrix(L, 1, fn);
    int64_t shape[2] = {nq, x->shape[1]};
    ml_tensor *out = ml_empty(2, shape, ML_FLOAT64);
    if (!out) { ml_release(x); return lb_raise(L); }
    int rc = ml_col_quantiles(ml_data(out), ml_data(x), x->dtype, x->shape[0], x->shape[1], q, nq);
    ml_release(x);
    if (rc) { ml_release(out); return lb_raise(L); }
    lb_push_tensor(L, out);
    return 1;
}

static int p_unique(lua_State *L) {
    const char *fn = "prep.unique";
    ml_tensor *x = check_vector(L, 1, fn);
    int64_t n = x->shape[0];
    double *vals = malloc(sizeof(double) * (size_t)(n + 1));
    int64_t *counts = malloc(sizeof(int64_t) * (size_t)(n + 1));
    int64_t k = (vals && counts) ? ml_col_unique(vals, counts, ml_data(x), x->dtype, 1, n) : -2;
    ml_release(x);
    if (k < 0) {
        free(vals);
        free(counts);
        return k == -2 ? luaL_error(L, "%s: out of memory", fn) : lb_raise(L);
    }
    ml_tensor *v = ml_empty(1, &k, ML_FLOAT64), *c = ml_empty(1, &k, ML_INT64);
    if (v && c) {
        for (int64_t i = 0; i < k; i++) {
            ((double *)ml_data(v))[i] = vals[i];
            ((int64_t *)ml_data(c))[i] = counts[i];
        }
    }
    free(vals);
    free(counts);
    if (!v || !c) { ml_release(v); ml_release(c); return lb_raise(L); }
    lb_push_tensor(L, v);
    lb_push_tensor(L, c);
    return 2;
}

static int p_lookup(lua_State *L) {
    const char *fn = "prep.lookup";
    lb_check_tensor(L, 1, fn);
    ml_tensor *ct = lb_check_tensor(L, 2, fn);
    if (ct->ndim != 1) return luaL_error(L, "%s: the categories must be a 1-D tensor", fn);
    const double *cats = check_params(L, 2, ct->shape[0], fn);
    ml_tensor *x = check_vector(L, 1, fn);
    ml_tensor *out = ml_empty(1, x->shape, ML_INT64);
    if (!out) { ml_release(x); return lb_raise(L); }
    int rc = ml_col_lookup(ml_data(out), ml_data(x), x->dtype, 1, x->shape[0], cats, ct->shape[0]);
    ml_release(x);
    if (rc) { ml_release(out); return lb_raise(L); }
    lb_push_tensor(L, out);
    return 1;
}

static int p_rows_unique(lua_State *L) {
    const char *fn = "prep.rows_unique";
    bool keep_last = lua_toboolean(L, 2);
    ml_tensor *x = check_matrix(L, 1, fn);
    ml_tensor *out = ml_empty(1, x->shape, ML_BOOL);
    if (!out) { ml_release(x); return lb_raise(L); }
    int rc = ml_rows_first_unique(ml_data(out), ml_data(x), x->dtype, x->shape[0], x->shape[1], keep_last);
    ml_release(x);
    if (rc) { ml_release(out); return lb_raise(L); }
    lb_push_tensor(L, out);
    return 1;
}

static int p_rolling(lua_State *L) {
    const char *fn = "prep.rolling";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    if (t->ndim != 1 || t->dtype != ML_FLOAT64) return luaL_error(L, "%s: expected a 1-D float64 series", fn);
    lua_Integer window = luaL_checkinteger(L, 2);
    bool center = lua_toboolean(L, 3);
    lua_Integer minp = luaL_checkinteger(L, 4);
    bool median = lua_toboolean(L, 5);
    if (window < 1) return luaL_error(L, "%s: window must be at least 1, got %I", fn, window);
    ml_tensor *x = ml_contiguous(t);
    if (!x) return lb_raise(L);
    ml_tensor *out = ml_empty(1, x->shape, ML_FLOAT64);
    if (!out) { ml_release(x); return lb_raise(L); }
    int rc = ml_rolling(ml_data(out), ml_data(x), x->shape[0], window, center, minp, median);
    ml_release(x);
    if (rc) { ml_release(out); return lb_raise(L); }
    lb_push_tensor(L, out);
    return 1;
}

void lb_open_prep(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"colstats", p_colstats}, {"moments_add", p_moments_add}, {"affine", p_affine},   {"clip", p_clip},
        {"fillnan", p_fillnan},   {"quantiles", p_quantiles}, {"unique", p_unique},
        {"lookup", p_lookup},     {"rows_unique", p_rows_unique}, {"rolling", p_rolling},
        {NULL, NULL},
    };
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, 1, "_prep");
}
