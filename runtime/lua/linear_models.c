/* ml._linear: the linear estimators' kernels (runtime/ops/linear_models.c),
 * for ml.models' linear.lua, coordinate_descent.lua and logistic.lua. The
 * Lua side hands float64 contiguous tensors; these bindings check that and
 * the sizes, allocate the outputs and call the kernel.
 *
 *   lstsq(X [n, d], Y [n, t], rcond)                 -> coef [d, t], rank, singular values [min(n, d)]
 *   ridge(X [n, d], Y [n, t], alpha [t])             -> coef [t, d]
 *   enet_cd(w0 [d], Xc [d, n], y [n], l1, l2, max_iter, tol, seed, positive) -> w [d], gap, n_iter
 *   logistic_loss_grad(W [K, d + b], X [n, d], codes int64 [n], sw [n] | nil, intercept, positive, l2) -> loss, grad */
#include <string.h>

#include "../ops/linear_models.h"
#include "lbind.h"

/* A float64 contiguous tensor of ndim dimensions (borrowed). */
static ml_tensor *check_f64(lua_State *L, int idx, const char *fn, const char *what, int ndim) {
    ml_tensor *t = lb_check_tensor(L, idx, fn);
    if (t->dtype != ML_FLOAT64 || !ml_is_contiguous(t) || t->ndim != ndim)
        luaL_error(L, "%s: %s must be a contiguous float64 %d-D tensor, got %s with %d dims", fn, what, ndim,
                   ml_dtype_name(t->dtype), t->ndim);
    return t;
}

static int push_new(lua_State *L, ml_tensor *t, const char *fn) {
    if (!t) return lb_raise_as(L, fn);
    lb_push_tensor(L, t);
    return 1;
}

static int l_lstsq(lua_State *L) {
    static const char *fn = "ml._linear.lstsq";
    ml_tensor *X = check_f64(L, 1, fn, "X", 2), *Y = check_f64(L, 2, fn, "Y", 2);
    double rcond = luaL_optnumber(L, 3, -1);
    int64_t n = X->shape[0], d = X->shape[1], t = Y->shape[1], mn = n < d ? n : d;
    if (Y->shape[0] != n) return luaL_error(L, "%s: X has %I rows but Y has %I", fn, (lua_Integer)n, (lua_Integer)Y->shape[0]);
    int64_t cs[2] = {d, t}, ss[1] = {mn};
    ml_tensor *coef = ml_empty(2, cs, ML_FLOAT64), *sv = ml_empty(1, ss, ML_FLOAT64);
    int64_t rank = 0;
    if (!coef || !sv || ml_lstsq_f64(ml_data(coef), &rank, ml_data(sv), ml_data(X), ml_data(Y), n, d, t, rcond)) {
        ml_release(coef), ml_release(sv);
        return lb_raise_as(L, fn);
    }
    lb_push_tensor(L, coef);
    lua_pushinteger(L, rank);
    lb_push_tensor(L, sv);
    lb_gc_account(L);
    return 3;
}

static int l_ridge(lua_State *L) {
    static const char *fn = "ml._linear.ridge";
    ml_tensor *X = check_f64(L, 1, fn, "X", 2), *Y = check_f64(L, 2, fn, "Y", 2), *alpha = check_f64(L, 3, fn, "alpha", 1);
    int64_t n = X->shape[0], d = X->shape[1], t = Y->shape[1];
    if (Y->shape[0] != n || alpha->shape[0] != t)
        return luaL_error(L, "%s: expected Y [%I, t] and alpha [t], got Y with %I rows and %I alphas for %I targets", fn,
                          (lua_Integer)n, (lua_Integer)Y->shape[0], (lua_Integer)alpha->shape[0], (lua_Integer)t);
    int64_t cs[2] = {t, d};
    ml_tensor *coef = ml_empty(2, cs, ML_FLOAT64);
    if (!coef || ml_ridge_f64(ml_data(coef), ml_data(X), ml_data(Y), ml_data(alpha), n, d, t)) {
        ml_release(coef);
        return lb_raise_as(L, fn);
    }
    push_new(L, coef, fn);
    lb_gc_account(L);
    return 1;
}

static int l_enet_cd(lua_State *L) {
    static const char *fn = "ml._linear.enet_cd";
    ml_tensor *w0 = check_f64(L, 1, fn, "w0", 1), *Xc = check_f64(L, 2, fn, "Xc", 2), *y = check_f64(L, 3, fn, "y", 1);
    double l1 = luaL_checknumber(L, 4), l2 = luaL_checknumber(L, 5);
    lua_Integer max_iter = luaL_checkinteger(L, 6), seed = luaL_checkinteger(L, 8);
    double tol = luaL_checknumber(L, 7);
    bool positive = lua_toboolean(L, 9);
    int64_t d = Xc->shape[0], n = Xc->shape[1];
    if (w0->shape[0] != d || y->shape[0] != n)
        return luaL_error(L, "%s: expected w0 [%I] and y [%I], got %I and %I values", fn, (lua_Integer)d, (lua_Integer)n,
                          (lua_Integer)w0->shape[0], (lua_Integer)y->shape[0]);
    if (max_iter < 0) return luaL_error(L, "%s: max_iter must be >= 0, got %I", fn, (lua_Integer)max_iter);
    ml_tensor *w = ml_clone(w0);
    double gap = 0;
    int64_t it = 0;
    if (!w || ml_enet_cd_f64(ml_data(w), &gap, &it, ml_data(Xc), ml_data(y), n, d, l1, l2, max_iter, tol, seed, positive)) {
        ml_release(w);
        return lb_raise_as(L, fn);
    }
    lb_push_tensor(L, w);
    lua_pushnumber(L, gap);
    lua_pushinteger(L, it);
    lb_gc_account(L);
    return 3;
}

static int l_logistic_loss_grad(lua_State *L) {
    static const char *fn = "ml._linear.logistic_loss_grad";
    ml_tensor *W = check_f64(L, 1, fn, "W", 2), *X = check_f64(L, 2, fn, "X", 2);
    ml_tensor *codes = lb_check_tensor(L, 3, fn), *sw = lua_isnil(L, 4) ? NULL : check_f64(L, 4, fn, "sample_weight", 1);
    bool intercept = lua_toboolean(L, 5);
    lua_Integer positive = luaL_checkinteger(L, 6);
    double l2 = luaL_checknumber(L, 7);
    int64_t n = X->shape[0], d = X->shape[1], K = W->shape[0];
    if (W->shape[1] != d + (intercept ? 1 : 0))
        return luaL_error(L, "%s: W must be [K, %I], got [%I, %I]", fn, (lua_Integer)(d + (intercept ? 1 : 0)), (lua_Integer)K,
                          (lua_Integer)W->shape[1]);
    if (codes->dtype != ML_INT64 || !ml_is_contiguous(codes) || codes->numel != n || (sw && sw->shape[0] != n))
        return luaL_error(L, "%s: codes must be contiguous int64 [%I] (and sample_weight float64 [%I])", fn, (lua_Integer)n,
                          (lua_Integer)n);
    const int64_t *c = ml_data(codes);
    for (int64_t i = 0; i < n; i++)
        if (c[i] < 1 || (K > 1 && c[i] > K))
            return luaL_error(L, "%s: codes[%I] = %I, expected 1..%I", fn, (lua_Integer)(i + 1), (lua_Integer)c[i],
                              (lua_Integer)(K > 1 ? K : 2));
    ml_tensor *grad = ml_empty(2, W->shape, ML_FLOAT64);
    double loss = 0;
    if (!grad || ml_logistic_loss_grad_f64(&loss, ml_data(grad), ml_data(W), ml_data(X), c, sw ? ml_data(sw) : NULL, n, d, K,
                                           intercept, positive, l2)) {
        ml_release(grad);
        return lb_raise_as(L, fn);
    }
    lua_pushnumber(L, loss);
    lb_push_tensor(L, grad);
    lb_gc_account(L);
    return 2;
}

void lb_open_linear_models(lua_State *L) {
    static const luaL_Reg fns[] = {{"lstsq", l_lstsq},
                                   {"ridge", l_ridge},
                                   {"enet_cd", l_enet_cd},
                                   {"logistic_loss_grad", l_logistic_loss_grad},
                                   {NULL, NULL}};
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), fns);
    static const lb_doc docs[] = {
        {"lstsq", "ml._linear.lstsq(X, Y, [rcond]) -> coef [d, t], rank, singular values — minimum-norm least squares (LAPACK dgelsd)"},
        {"ridge", "ml._linear.ridge(X, Y, alpha) -> coef [t, d] — (X'X + alpha I)^-1 X'Y by Cholesky, one alpha per target"},
        {"enet_cd", "ml._linear.enet_cd(w0, Xc, y, l1, l2, max_iter, tol, seed, positive) -> w, gap, n_iter — elastic-net "
                    "coordinate descent (scikit-learn's cd_fast), Xc the columns of X"},
        {"logistic_loss_grad", "ml._linear.logistic_loss_grad(W, X, codes, sw, intercept, positive, l2) -> loss, grad — "
                               "binary (K = 1) or multinomial logistic loss with an L2 term, and its gradient"},
        {NULL, NULL},
    };
    lb_add_docs(L, lua_gettop(L), docs);
    lua_setfield(L, 1, "_linear");
}
