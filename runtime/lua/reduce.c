/* Reductions: t:sum([dim], [keepdim]) and friends. dim is 1-based (negative
 * from the end); keepdim is a boolean or an options table {keepdim=true}.
 * Reductions over everything return 0-d tensors; indices come back 1-based. */
#include <math.h>

#include "../ops/ops.h"
#include "lbind.h"

/* dim at idx (nil: all, -1 internally), keepdim at idx+1 */
static int opt_dim(lua_State *L, int idx, ml_tensor *t, const char *fn) {
    if (lua_isnoneornil(L, idx)) return -1;
    return lb_check_dim(L, idx, t->ndim, fn);
}

static bool opt_keepdim(lua_State *L, int idx, const char *fn) {
    if (lua_istable(L, idx)) {
        static const char *const known[] = {"keepdim", "unbiased", NULL};
        lb_check_options(L, idx, fn, known);
        return lb_opt_bool_field(L, idx, "keepdim", 0);
    }
    if (!lua_isnoneornil(L, idx) && !lua_isboolean(L, idx))
        luaL_error(L, "%s: keepdim must be a boolean, got %s", fn, luaL_typename(L, idx));
    return lua_toboolean(L, idx);
}

typedef ml_tensor *(*reduce_fn)(ml_tensor *, int, bool);

static int reduce(lua_State *L, reduce_fn f, const char *fn) {
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    int dim = opt_dim(L, 2, t, fn);
    bool keep = opt_keepdim(L, 3, fn);
    lb_push_tensor(L, f(t, dim, keep));
    return 1;
}

static int r_sum(lua_State *L) { return reduce(L, ml_sum, "sum"); }
static int r_mean(lua_State *L) { return reduce(L, ml_mean, "mean"); }
static int r_prod(lua_State *L) { return reduce(L, ml_prod, "prod"); }
static int r_logsumexp(lua_State *L) { return reduce(L, ml_logsumexp, "logsumexp"); }

/* 0-based C indices to 1-based Lua ones */
static ml_tensor *one_based(ml_tensor *idx) {
    if (!idx) return NULL;
    ml_tensor *r = ml_binary_scalar(ML_ADD, idx, 1, false);
    ml_release(idx);
    return r;
}

/* t:max() -> 0-d values; t:max(dim, [keepdim]) -> values, indices; t:max(other) -> maximum */
static int maxmin(lua_State *L, bool is_max) {
    const char *fn = is_max ? "max" : "min";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    if (lb_test_tensor(L, 2)) {
        lb_push_tensor(L, ml_binary(is_max ? ML_MAXIMUM : ML_MINIMUM, t, lb_test_tensor(L, 2)));
        return 1;
    }
    int dim = opt_dim(L, 2, t, fn);
    bool keep = opt_keepdim(L, 3, fn);
    if (dim < 0) {
        lb_push_tensor(L, is_max ? ml_max(t, -1, false, NULL) : ml_min(t, -1, false, NULL));
        return 1;
    }
    ml_tensor *idx = NULL;
    ml_tensor *v = is_max ? ml_max(t, dim, keep, &idx) : ml_min(t, dim, keep, &idx);
    lb_push_tensor(L, v);
    lb_push_tensor(L, one_based(idx));
    return 2;
}
static int r_max(lua_State *L) { return maxmin(L, true); }
static int r_min(lua_State *L) { return maxmin(L, false); }

static int argext(lua_State *L, bool is_max) {
    const char *fn = is_max ? "argmax" : "argmin";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    int dim = opt_dim(L, 2, t, fn);
    bool keep = opt_keepdim(L, 3, fn);
    lb_push_tensor(L, one_based(is_max ? ml_argmax(t, dim, keep) : ml_argmin(t, dim, keep)));
    return 1;
}
static int r_argmax(lua_State *L) { return argext(L, true); }
static int r_argmin(lua_State *L) { return argext(L, false); }

/* t:var([dim], [{unbiased=true, keepdim=false}]) ; unbiased by default, as PyTorch */
static int varstd(lua_State *L, bool is_std) {
    const char *fn = is_std ? "std" : "var";
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    int dim = -1, opts = 3;
    if (lua_istable(L, 2)) opts = 2;
    else dim = opt_dim(L, 2, t, fn);
    bool keep = opt_keepdim(L, opts, fn);
    bool unbiased = lb_opt_bool_field(L, opts, "unbiased", 1);
    lb_push_tensor(L, is_std ? ml_std(t, dim, keep, unbiased) : ml_var(t, dim, keep, unbiased));
    return 1;
}
static int r_var(lua_State *L) { return varstd(L, false); }
static int r_std(lua_State *L) { return varstd(L, true); }

/* t:norm([p=2], [dim], [keepdim]); p may be math.huge */
static int r_norm(lua_State *L) {
    ml_tensor *t = lb_check_tensor(L, 1, "norm");
    double p = luaL_optnumber(L, 2, 2);
    int dim = opt_dim(L, 3, t, "norm");
    bool keep = opt_keepdim(L, 4, "norm");
    lb_push_tensor(L, ml_norm(t, p, dim, keep));
    return 1;
}

static int along(lua_State *L, ml_tensor *(*f)(ml_tensor *, int), const char *fn) {
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    if (lua_isnoneornil(L, 2)) return luaL_error(L, "%s: a dimension is required, e.g. t:%s(-1)", fn, fn);
    int dim = t->ndim ? lb_check_dim(L, 2, t->ndim, fn) : 0;
    lb_push_tensor(L, f(t, dim));
    return 1;
}
static int r_softmax(lua_State *L) { return along(L, ml_softmax, "softmax"); }
static int r_log_softmax(lua_State *L) { return along(L, ml_log_softmax, "log_softmax"); }
static int r_cumsum(lua_State *L) { return along(L, ml_cumsum, "cumsum"); }

static const luaL_Reg funcs[] = {
    {"sum", r_sum}, {"mean", r_mean}, {"prod", r_prod}, {"max", r_max}, {"min", r_min},
    {"argmax", r_argmax}, {"argmin", r_argmin}, {"var", r_var}, {"std", r_std}, {"norm", r_norm},
    {"logsumexp", r_logsumexp}, {"softmax", r_softmax}, {"log_softmax", r_log_softmax}, {"cumsum", r_cumsum},
    {NULL, NULL},
};

#define REDUCE_DOC(E, name, kernel, backward, doc) {#name, doc},
static const lb_doc docs[] = {
    {"Reductions", NULL},
    ML_REDUCE_OPS(REDUCE_DOC) /* sum mean prod max min: docs from ops/optable.h */
    {"argmax", "t:argmax([dim], [keepdim]) -> tensor — 1-based int64 index of the largest element, in the flattened t or along dim"},
    {"argmin", "t:argmin([dim], [keepdim]) -> tensor — 1-based int64 index of the smallest element, in the flattened t or along dim"},
    {"var", "t:var([dim], [keepdim | {keepdim=false, unbiased=true}]) -> tensor — variance of all elements or along dim (unbiased by default)"},
    {"std", "t:std([dim], [keepdim | {keepdim=false, unbiased=true}]) -> tensor — standard deviation of all elements or along dim (unbiased by default)"},
    {"norm", "t:norm([p=2], [dim], [keepdim]) -> tensor — p-norm of all elements or along dim; p may be math.huge"},
    {"logsumexp", "t:logsumexp([dim], [keepdim]) -> tensor — log(sum(exp(t))) of all elements or along dim, computed stably"},
    {"softmax", "t:softmax(dim) -> tensor — exp(t) / sum(exp(t)) along dim (required, e.g. -1)"},
    {"log_softmax", "t:log_softmax(dim) -> tensor — log(softmax(t)) along dim (required, e.g. -1), computed stably"},
    {"cumsum", "t:cumsum(dim) -> tensor — running sum along dim"},
    {NULL, NULL},
};

void lb_open_reduce(lua_State *L) {
    lb_setfuncs(L, 1, funcs);
    lb_setfuncs(L, 2, funcs);
    lb_add_docs(L, 1, docs);
    lb_add_docs(L, 2, docs);
}
