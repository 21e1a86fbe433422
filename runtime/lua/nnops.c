/* Bindings for the fused nn kernels, under ml._nn (internal: the nn Lua
 * library calls them; users call nn.CrossEntropyLoss, nn.LayerNorm ...).
 *
 *   ml._nn.linear(x, weight, [bias], [name])           x W^T + b (one addmm for 2-D x)
 *   ml._nn.mse_loss(x, target, [reduction="mean"], [name])
 *   ml._nn.cross_entropy(logits, target, [weight], [label_smoothing=0], [ignore_index], [reduction="mean"], [name])
 *   ml._nn.cross_entropy_soft(logits, probs, [weight], [label_smoothing=0], [reduction="mean"], [name])
 *                                                      probs: class probabilities shaped like logits
 *   ml._nn.nll_loss(logp, target, [weight], [ignore_index], [reduction="mean"], [name])
 *   ml._nn.bce_with_logits(x, target, [weight], [pos_weight], [reduction="mean"], [name])
 *   ml._nn.bce(p, target, [weight], [reduction="mean"], [name])      p: probabilities in [0, 1]
 *   ml._nn.layer_norm(x, k, [weight], [bias], [eps=1e-5], [name])
 *   ml._nn.uniform_(t, a, b), ml._nn.normal_(t, mean, std), ml._nn.bernoulli_(t, p)   in place, return t
 *
 * Targets are 1-based class labels (int64) here, converted to the runtime's
 * 0-based ones; ignore_index is in the same 1-based numbering (any integer,
 * e.g. -100). `name` is the function named in error messages (the Lua class
 * passes "nn.CrossEntropyLoss" ...). Shapes, dtypes and label ranges are
 * checked here, before anything is allocated. */
#include <stdarg.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "../ops/loss.h"
#include "../ops/norm.h"
#include "../ops/ops.h"
#include "../ops/random.h"
#include "lbind.h"

/* Raises a message prefixed with the position of the first Lua caller
 * outside the nn library (the user's line, not layers.lua's); the message
 * names the user-facing function (nn.CrossEntropyLoss ...). */
static int nn_fail(lua_State *L, const char *fmt, ...) {
    lua_Debug ar;
    int where = 0;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
        if (strstr(ar.source, "moonlab/nn/")) continue;
        lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
        where = 1;
        break;
    }
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    if (where) lua_concat(L, 2);
    return lua_error(L);
}

static ml_tensor *opt_tensor(lua_State *L, int idx, const char *fn) {
    return lua_isnoneornil(L, idx) ? NULL : lb_check_tensor(L, idx, fn);
}

static ml_reduction check_reduction(lua_State *L, int idx, const char *fn) {
    if (lua_isnoneornil(L, idx)) return ML_REDUCE_MEAN;
    const char *s = lua_tostring(L, idx);
    if (s && !strcmp(s, "none")) return ML_REDUCE_NONE;
    if (s && !strcmp(s, "mean")) return ML_REDUCE_MEAN;
    if (s && !strcmp(s, "sum")) return ML_REDUCE_SUM;
    nn_fail(L, "%s: reduction must be 'none', 'mean' or 'sum', got %s%s%s", fn, s ? "'" : "",
               s ? s : luaL_typename(L, idx), s ? "'" : "");
    return ML_REDUCE_MEAN;
}

static int64_t int_at(const ml_tensor *t, int64_t i) {
    return ((const int64_t *)t->storage->data)[t->offset + ml_flat_offset(t, i)];
}

/* The shared checks of the class losses; returns the 0-based target (new reference). */
static ml_tensor *class_target(lua_State *L, const char *fn, ml_tensor *x, ml_tensor *y, ml_tensor *w,
                               int64_t ignore0) {
    char b1[128];
    if (!ml_dtype_is_float(x->dtype)) nn_fail(L, "%s: input must be a float tensor, got %s", fn, ml_dtype_name(x->dtype));
    if (x->ndim < 2)
        nn_fail(L, "%s: input must be (N, C) or (N, C, d1, ...), got shape %s", fn,
                   ml_shape_str(b1, sizeof b1, x->ndim, x->shape));
    if (y->dtype != ML_INT64)
        nn_fail(L, "%s: target must be int64 class labels 1..%d, got %s", fn, (int)x->shape[1], ml_dtype_name(y->dtype));
    if (y->ndim == 0 || y->shape[0] != x->shape[0])
        nn_fail(L, "%s: input has %I rows but target has %I", fn, (lua_Integer)x->shape[0],
                   (lua_Integer)(y->ndim ? y->shape[0] : 1));
    /* the target is the input's shape without the class dimension (2): [N] for [N, C] */
    int same = y->ndim == x->ndim - 1;
    for (int d = 0; same && d < y->ndim; d++) same = y->shape[d] == x->shape[d == 0 ? 0 : d + 1];
    if (!same) {
        int64_t want[ML_MAX_DIMS];
        int nw = 0;
        for (int d = 0; d < x->ndim; d++)
            if (d != 1) want[nw++] = x->shape[d];
        char b2[128], b3[128];
        nn_fail(L, "%s: target has shape %s, expected %s of class indices (input %s without its class dimension 2)",
                fn, ml_shape_str(b1, sizeof b1, y->ndim, y->shape), ml_shape_str(b2, sizeof b2, nw, want),
                ml_shape_str(b3, sizeof b3, x->ndim, x->shape));
    }
    if (w) {
        if (w->ndim != 1 || w->shape[0] != x->shape[1])
            nn_fail(L, "%s: weight must have one value per class (shape [%I]), got %s", fn, (lua_Integer)x->shape[1],
                       ml_shape_str(b1, sizeof b1, w->ndim, w->shape));
        if (w->dtype != x->dtype)
            nn_fail(L, "%s: weight dtype %s differs from the input's %s", fn, ml_dtype_name(w->dtype), ml_dtype_name(x->dtype));
    }
    int64_t C = x->shape[1];
    /* labels 1..C: check before converting, so the message shows the user's value */
    int64_t ignore1 = ignore0 == ML_NO_IGNORE ? ML_NO_IGNORE : ignore0 + 1;
    const int64_t *yp = ml_is_contiguous(y) ? ml_data(y) : NULL;
    for (int64_t i = 0; i < y->numel; i++) {
        int64_t v = yp ? yp[i] : int_at(y, i);
        if (v != ignore1 && (v < 1 || v > C))
            nn_fail(L, "%s: target %I is out of range for %I classes (labels are 1..%I)", fn, (lua_Integer)v,
                       (lua_Integer)C, (lua_Integer)C);
    }
    ml_tensor *y0 = ml_binary_scalar(ML_SUB, y, 1, false);
    if (!y0) lb_raise(L);
    return y0;
}

static int64_t opt_ignore(lua_State *L, int idx, const char *fn) {
    if (lua_isnoneornil(L, idx)) return ML_NO_IGNORE;
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, idx, &isint);
    if (!isint) nn_fail(L, "%s: ignore_index must be an integer, got %s", fn, luaL_typename(L, idx));
    if (v <= ML_NO_IGNORE + 1) nn_fail(L, "%s: ignore_index %I is too small", fn, v);
    return v - 1;
}

static int nn_cross_entropy(lua_State *L) {
    const char *fn = luaL_optstring(L, 7, "cross_entropy");
    ml_tensor *x = lb_check_tensor(L, 1, fn), *y = lb_check_tensor(L, 2, fn), *w = opt_tensor(L, 3, fn);
    double ls = luaL_optnumber(L, 4, 0);
    if (!(ls >= 0 && ls <= 1)) nn_fail(L, "%s: label_smoothing must be in [0, 1], got %f", fn, ls);
    int64_t ignore0 = opt_ignore(L, 5, fn);
    ml_reduction red = check_reduction(L, 6, fn);
    ml_tensor *y0 = class_target(L, fn, x, y, w, ignore0);
    ml_tensor *out = ml_cross_entropy(x, y0, w, ls, ignore0, red);
    ml_release(y0);
    lb_push_tensor(L, out);
    return 1;
}

static int nn_cross_entropy_soft(lua_State *L) {
    const char *fn = luaL_optstring(L, 6, "cross_entropy");
    ml_tensor *x = lb_check_tensor(L, 1, fn), *q = lb_check_tensor(L, 2, fn), *w = opt_tensor(L, 3, fn);
    double ls = luaL_optnumber(L, 4, 0);
    ml_reduction red = check_reduction(L, 5, fn);
    lb_push_tensor(L, ml_cross_entropy_soft(x, q, w, ls, red));
    return 1;
}

static int nn_nll_loss(lua_State *L) {
    const char *fn = luaL_optstring(L, 6, "nll_loss");
    ml_tensor *x = lb_check_tensor(L, 1, fn), *y = lb_check_tensor(L, 2, fn), *w = opt_tensor(L, 3, fn);
    int64_t ignore0 = opt_ignore(L, 4, fn);
    ml_reduction red = check_reduction(L, 5, fn);
    ml_tensor *y0 = class_target(L, fn, x, y, w, ignore0);
    ml_tensor *out = ml_nll_loss(x, y0, w, ignore0, red);
    ml_release(y0);
    lb_push_tensor(L, out);
    return 1;
}

/* bce_with_logits (logits = 1) and bce (probabilities, logits = 0; no pos_weight). */
static int bce_common(lua_State *L, int logits) {
    int nidx = logits ? 6 : 5;
    const char *fn = luaL_optstring(L, nidx, logits ? "bce_with_logits" : "bce");
    ml_tensor *x = lb_check_tensor(L, 1, fn), *y = lb_check_tensor(L, 2, fn);
    ml_tensor *w = opt_tensor(L, 3, fn), *pw = logits ? opt_tensor(L, 4, fn) : NULL;
    ml_reduction red = check_reduction(L, nidx - 1, fn);
    char b1[128], b2[128];
    if (!ml_dtype_is_float(x->dtype)) nn_fail(L, "%s: input must be a float tensor, got %s", fn, ml_dtype_name(x->dtype));
    if (x->ndim > 0 && y->ndim > 0 && x->shape[0] != y->shape[0])
        nn_fail(L, "%s: input has %I rows but target has %I", fn, (lua_Integer)x->shape[0], (lua_Integer)y->shape[0]);
    if (!ml_same_shape(x, y))
        nn_fail(L, "%s: target of shape %s does not match input of shape %s", fn,
                   ml_shape_str(b1, sizeof b1, y->ndim, y->shape), ml_shape_str(b2, sizeof b2, x->ndim, x->shape));
    /* 0/1 labels as int64 or bool are fine: they become the input's dtype */
    ml_tensor *yc = ml_to_dtype(y, x->dtype);
    if (!yc) return lb_raise(L);
    if (!logits) { /* probabilities must lie in [0, 1] */
        ml_tensor *xc = ml_contiguous(x);
        if (!xc) { ml_release(yc); return lb_raise(L); }
        int64_t bad = -1;
        for (int64_t i = 0; i < xc->numel && bad < 0; i++) {
            double v = ml_get_flat(xc, i);
            if (!(v >= 0 && v <= 1)) bad = i;
        }
        double v = bad >= 0 ? ml_get_flat(xc, bad) : 0;
        ml_release(xc);
        if (bad >= 0) {
            ml_release(yc);
            return nn_fail(L, "%s: input must hold probabilities in [0, 1], got %f (element %I); use nn.BCEWithLogitsLoss on logits",
                              fn, v, (lua_Integer)bad + 1);
        }
    }
    ml_tensor *out = logits ? ml_bce_with_logits(x, yc, w, pw, red) : ml_bce(x, yc, w, red);
    ml_release(yc);
    lb_push_tensor(L, out);
    return 1;
}

static int nn_bce_with_logits(lua_State *L) { return bce_common(L, 1); }
static int nn_bce(lua_State *L) { return bce_common(L, 0); }

/* input and target of one shape (a [N,1] vs [N] mismatch is almost always a bug, so no broadcasting) */
static void check_same_shape(lua_State *L, const char *fn, ml_tensor *x, ml_tensor *y) {
    char b1[128], b2[128];
    if (ml_same_shape(x, y)) return;
    if (x->ndim > 0 && y->ndim > 0 && x->shape[0] != y->shape[0])
        nn_fail(L, "%s: input has %I rows but target has %I", fn, (lua_Integer)x->shape[0], (lua_Integer)y->shape[0]);
    nn_fail(L, "%s: input has shape %s but target has shape %s (reshape one of them: they must match)", fn,
            ml_shape_str(b1, sizeof b1, x->ndim, x->shape), ml_shape_str(b2, sizeof b2, y->ndim, y->shape));
}

static int nn_mse_loss(lua_State *L) {
    const char *fn = luaL_optstring(L, 4, "mse_loss");
    ml_tensor *x = lb_check_tensor(L, 1, fn), *y = lb_check_tensor(L, 2, fn);
    ml_reduction red = check_reduction(L, 3, fn);
    if (!ml_dtype_is_float(x->dtype)) nn_fail(L, "%s: input must be a float tensor, got %s", fn, ml_dtype_name(x->dtype));
    check_same_shape(L, fn, x, y);
    ml_tensor *yc = ml_to_dtype(y, x->dtype);
    if (!yc) return lb_raise(L);
    ml_tensor *out = ml_mse_loss(x, yc, red);
    ml_release(yc);
    lb_push_tensor(L, out);
    return 1;
}

/* y = x W^T + b: one addmm for 2-D x (W^T is a transposed view, which BLAS
 * reads as it is), matmul then add for other shapes. */
static int nn_linear(lua_State *L) {
    const char *fn = luaL_optstring(L, 4, "linear");
    ml_tensor *x = lb_test_tensor(L, 1);
    if (!x) nn_fail(L, "%s: input must be a tensor, got %s", fn, luaL_typename(L, 1));
    ml_tensor *w = lb_check_tensor(L, 2, fn), *b = opt_tensor(L, 3, fn);
    if (w->ndim != 2) nn_fail(L, "%s: weight must be 2-D [out, in], got %d-D", fn, w->ndim);
    if (x->ndim == 0 || x->shape[x->ndim - 1] != w->shape[1])
        nn_fail(L, "%s: input has %I features, expected %I", fn, (lua_Integer)(x->ndim ? x->shape[x->ndim - 1] : 1),
                (lua_Integer)w->shape[1]);
    if (x->dtype != w->dtype)
        nn_fail(L, "%s: input dtype %s differs from the weight's %s (convert the input with :to('%s'))", fn,
                ml_dtype_name(x->dtype), ml_dtype_name(w->dtype), ml_dtype_name(w->dtype));
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0] || b->dtype != w->dtype)) {
        char b1[128];
        nn_fail(L, "%s: bias must be a %s tensor of shape [%I], got %s of shape %s", fn, ml_dtype_name(w->dtype),
                (lua_Integer)w->shape[0], ml_dtype_name(b->dtype), ml_shape_str(b1, sizeof b1, b->ndim, b->shape));
    }
    if (x->ndim == 2) { /* w read transposed where it lies, the bias preset into the output */
        lb_push_tensor(L, ml_linear(x, w, b));
        return 1;
    }
    if (x->ndim > 2) { /* (..., in) as (rows, in): one addmm, and one GEMM per gradient, not a batched product */
        int64_t rows[2] = {x->numel / x->shape[x->ndim - 1], x->shape[x->ndim - 1]}, shape[ML_MAX_DIMS];
        memcpy(shape, x->shape, sizeof(int64_t) * x->ndim);
        shape[x->ndim - 1] = w->shape[0];
        ml_tensor *x2 = ml_reshape(x, 2, rows), *y2 = x2 ? ml_linear(x2, w, b) : NULL;
        ml_tensor *y = y2 ? ml_reshape(y2, x->ndim, shape) : NULL;
        ml_release(x2);
        ml_release(y2);
        lb_push_tensor(L, y);
        return 1;
    }
    ml_tensor *wt = ml_transpose(w, 0, 1);
    if (!wt) return lb_raise(L);
    ml_tensor *out = ml_matmul(x, wt);
    if (out && b) {
        ml_tensor *o2 = ml_add(out, b);
        ml_release(out);
        out = o2;
    }
    ml_release(wt);
    lb_push_tensor(L, out);
    return 1;
}

static int nn_layer_norm(lua_State *L) {
    const char *fn = luaL_optstring(L, 6, "layer_norm");
    ml_tensor *x = lb_check_tensor(L, 1, fn);
    lua_Integer k = luaL_checkinteger(L, 2);
    ml_tensor *w = opt_tensor(L, 3, fn), *b = opt_tensor(L, 4, fn);
    double eps = luaL_optnumber(L, 5, 1e-5);
    char b1[128], b2[128];
    if (k < 1) nn_fail(L, "%s: the number of normalized dimensions must be at least 1, got %I", fn, k);
    if (k > x->ndim)
        nn_fail(L, "%s: input of shape %s has fewer than the %I normalized dimensions", fn,
                   ml_shape_str(b1, sizeof b1, x->ndim, x->shape), k);
    const int64_t *tail = x->shape + (x->ndim - k);
    ml_tensor *pw[2] = {w, b};
    for (int i = 0; i < 2; i++) {
        ml_tensor *p = pw[i];
        if (!p) continue;
        bool ok = p->ndim == k;
        for (int d = 0; ok && d < k; d++) ok = p->shape[d] == tail[d];
        if (!ok)
            nn_fail(L, "%s: input of shape %s does not end with the normalized shape %s", fn,
                       ml_shape_str(b1, sizeof b1, x->ndim, x->shape), ml_shape_str(b2, sizeof b2, p->ndim, p->shape));
    }
    lb_push_tensor(L, ml_layer_norm(x, (int)k, w, b, eps, NULL, NULL));
    return 1;
}

/* In-place random fills (nn.init, dropout masks): refused on a tensor that
 * requires grad while grad mode is on, as the other in-place ops. */
static ml_tensor *inplace_target(lua_State *L, const char *fn) {
    ml_tensor *t = lb_check_tensor(L, 1, fn);
    if (t->requires_grad && ml_grad_enabled())
        nn_fail(L, "%s: cannot modify a tensor that requires grad in place (use ml.no_grad)", fn);
    return t;
}

static int nn_uniform_(lua_State *L) {
    ml_tensor *t = inplace_target(L, "uniform_");
    if (ml_fill_uniform(t, luaL_checknumber(L, 2), luaL_checknumber(L, 3)) < 0) return lb_raise(L);
    lua_settop(L, 1);
    return 1;
}

static int nn_normal_(lua_State *L) {
    ml_tensor *t = inplace_target(L, "normal_");
    if (ml_fill_normal(t, luaL_checknumber(L, 2), luaL_checknumber(L, 3)) < 0) return lb_raise(L);
    lua_settop(L, 1);
    return 1;
}

static int nn_bernoulli_(lua_State *L) {
    ml_tensor *t = inplace_target(L, "bernoulli_");
    if (ml_fill_bernoulli(t, luaL_checknumber(L, 2)) < 0) return lb_raise(L);
    lua_settop(L, 1);
    return 1;
}

static const luaL_Reg funcs[] = {
    {"linear", nn_linear},
    {"mse_loss", nn_mse_loss},
    {"cross_entropy", nn_cross_entropy},
    {"cross_entropy_soft", nn_cross_entropy_soft},
    {"nll_loss", nn_nll_loss},
    {"bce_with_logits", nn_bce_with_logits},
    {"bce", nn_bce},
    {"layer_norm", nn_layer_norm},
    {"uniform_", nn_uniform_},
    {"normal_", nn_normal_},
    {"bernoulli_", nn_bernoulli_},
    {NULL, NULL},
};

void lb_open_nnops(lua_State *L) {
    lua_newtable(L);
    lb_setfuncs(L, lua_gettop(L), funcs);
    lua_setfield(L, 1, "_nn");
}
