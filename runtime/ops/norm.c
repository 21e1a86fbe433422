/* Layer normalization over the last k dimensions: a fused forward that
 * saves the per-row mean and rstd, and a fused backward.
 *
 * Forward, per row of D elements (stats in double, stored in x's dtype):
 *   mean = sum(x) / D,  var = sum((x - mean)^2) / D,  rstd = 1 / sqrt(var + eps)
 *   xhat = (x - mean) * rstd,  y = xhat * w + b
 * Backward (g = dL/dy; the mean of a row is over its D elements):
 *   dxhat = g * w
 *   dx    = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
 *   dw    = sum over rows of g * xhat
 *   db    = sum over rows of g
 * The first two terms of dx come from the mean (every element shifts it),
 * the last from the variance (every element scales it). Rows run in
 * parallel; dw and db are summed over rows in order, in double. */
#include "norm.h"

#include <math.h>
#include <stdlib.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"

typedef struct {
    int64_t M, D;
    const void *x, *w, *b, *g; /* x, g: (M, D); w, b: (D) or NULL */
    void *out;                 /* y (forward) or dx (backward): (M, D) */
    void *stats;               /* (2, M): mean, then rstd */
    double eps;
} ln_job;

/* Row sums keep 8 independent double accumulators (vectorizable, no long
 * dependency chain), added in a fixed order. */
#define SUM8(a) ((((a)[0] + (a)[1]) + ((a)[2] + (a)[3])) + (((a)[4] + (a)[5]) + ((a)[6] + (a)[7])))

#define DEF_LN(T, F)                                                                                         \
    static void ln_fwd_##T(void *p, int64_t s, int64_t e) {                                                 \
        ln_job *j = p;                                                                                      \
        int64_t D = j->D;                                                                                   \
        const T *w = j->w, *b = j->b;                                                                       \
        T *st = j->stats;                                                                                   \
        for (int64_t r = s; r < e; r++) {                                                                   \
            const T *x = (const T *)j->x + r * D;                                                           \
            T *y = (T *)j->out + r * D;                                                                     \
            double a[8] = {0}, q[8] = {0};                                                                  \
            int64_t i = 0;                                                                                  \
            for (; i + 8 <= D; i += 8)                                                                      \
                for (int k = 0; k < 8; k++) a[k] += x[i + k];                                               \
            for (; i < D; i++) a[0] += x[i];                                                                \
            double mean = D ? SUM8(a) / (double)D : 0;                                                      \
            for (i = 0; i + 8 <= D; i += 8)                                                                 \
                for (int k = 0; k < 8; k++) {                                                               \
                    double d = (double)x[i + k] - mean;                                                     \
                    q[k] += d * d;                                                                          \
                }                                                                                           \
            for (; i < D; i++) {                                                                            \
                double d = (double)x[i] - mean;                                                             \
                q[0] += d * d;                                                                              \
            }                                                                                               \
            double rstd = 1.0 / sqrt((D ? SUM8(q) / (double)D : 0) + j->eps);                               \
            T m = (T)mean, rs = (T)rstd;                                                                    \
            if (w && b)                                                                                     \
                for (int64_t i = 0; i < D; i++) y[i] = (x[i] - m) * rs * w[i] + b[i];                       \
            else if (w)                                                                                     \
                for (int64_t i = 0; i < D; i++) y[i] = (x[i] - m) * rs * w[i];                              \
            else if (b)                                                                                     \
                for (int64_t i = 0; i < D; i++) y[i] = (x[i] - m) * rs + b[i];                              \
            else                                                                                            \
                for (int64_t i = 0; i < D; i++) y[i] = (x[i] - m) * rs;                                     \
            st[r] = m;                                                                                      \
            st[j->M + r] = rs;                                                                              \
        }                                                                                                   \
    }                                                                                                       \
    static void ln_bwd_##T(void *p, int64_t s, int64_t e) {                                                 \
        ln_job *j = p;                                                                                      \
        int64_t D = j->D;                                                                                   \
        const T *w = j->w, *st = j->stats;                                                                  \
        for (int64_t r = s; r < e; r++) {                                                                   \
            const T *x = (const T *)j->x + r * D, *g = (const T *)j->g + r * D;                             \
            T *dx = (T *)j->out + r * D;                                                                    \
            T m = st[r], rs = st[j->M + r];                                                                 \
            double a[8] = {0}, c[8] = {0}; /* sum(dxhat), sum(dxhat * xhat), 8 lanes */                     \
            int64_t i = 0;                                                                                  \
            for (; i + 8 <= D; i += 8)                                                                      \
                for (int k = 0; k < 8; k++) {                                                               \
                    T dxh = w ? g[i + k] * w[i + k] : g[i + k];                                             \
                    a[k] += dxh;                                                                            \
                    c[k] += (double)dxh * ((x[i + k] - m) * rs);                                            \
                }                                                                                           \
            for (; i < D; i++) {                                                                            \
                T dxh = w ? g[i] * w[i] : g[i];                                                             \
                a[0] += dxh;                                                                                \
                c[0] += (double)dxh * ((x[i] - m) * rs);                                                    \
            }                                                                                               \
            T ma = (T)(SUM8(a) / (double)D), mc = (T)(SUM8(c) / (double)D);                                 \
            for (int64_t i = 0; i < D; i++) {                                                               \
                T dxh = w ? g[i] * w[i] : g[i];                                                             \
                dx[i] = rs * (dxh - ma - (x[i] - m) * rs * mc);                                             \
            }                                                                                               \
        }                                                                                                   \
    }                                                                                                       \
    /* dw (when dw != NULL) and db (when db != NULL) summed over rows in double */                          \
    static void ln_bwd_params_##T(const ln_job *j, double *acc_w, double *acc_b, T *dw, T *db) {            \
        int64_t D = j->D;                                                                                   \
        const T *st = j->stats;                                                                             \
        for (int64_t r = 0; r < j->M; r++) {                                                                \
            const T *x = (const T *)j->x + r * D, *g = (const T *)j->g + r * D;                             \
            T m = st[r], rs = st[j->M + r];                                                                 \
            if (dw)                                                                                         \
                for (int64_t i = 0; i < D; i++) acc_w[i] += (double)g[i] * ((x[i] - m) * rs);               \
            if (db)                                                                                         \
                for (int64_t i = 0; i < D; i++) acc_b[i] += g[i];                                           \
        }                                                                                                   \
        for (int64_t i = 0; i < D; i++) {                                                                   \
            if (dw) dw[i] = (T)acc_w[i];                                                                    \
            if (db) db[i] = (T)acc_b[i];                                                                    \
        }                                                                                                   \
    }
DEF_LN(float, f)
DEF_LN(double, )

static int ln_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *x = ml_saved(n, 0), *w = NULL, *st = ml_saved(n, 2);
    if (!x || !st) return -1;
    if (n->ctx.layer_norm.has_weight && !(w = ml_saved(n, 1))) return -1;
    ml_tensor *gc = ml_contiguous(g);
    if (!gc) return -1;
    ln_job j = {.M = n->ctx.layer_norm.D ? x->numel / n->ctx.layer_norm.D : 0, .D = n->ctx.layer_norm.D, .x = ml_data(x),
                .w = w ? ml_data(w) : NULL, .g = ml_data(gc), .stats = ml_data(st)};
    bool f32 = x->dtype == ML_FLOAT32;
    int rc = -1;
    double *acc = NULL;
    if (n->needs[0]) {
        if (!(gin[0] = ml_empty(x->ndim, x->shape, x->dtype))) goto done;
        j.out = ml_data(gin[0]);
        int64_t grain = j.D ? ML_PAR_GRAIN / j.D : 1;
        ml_parallel_for(j.M, grain > 0 ? grain : 1, f32 ? ln_bwd_float : ln_bwd_double, &j);
    }
    if (n->needs[1] || n->needs[2]) {
        if (n->needs[1] && !(gin[1] = ml_empty(n->in_ndim[1], n->in_shape[1], x->dtype))) goto done;
        if (n->needs[2] && !(gin[2] = ml_empty(n->in_ndim[2], n->in_shape[2], x->dtype))) goto done;
        if (!(acc = calloc((size_t)(2 * j.D + 1), sizeof(double)))) {
            ml_error("layer_norm: out of memory");
            goto done;
        }
        void *dw = gin[1] ? ml_data(gin[1]) : NULL, *db = gin[2] ? ml_data(gin[2]) : NULL;
        if (f32) ln_bwd_params_float(&j, acc, acc + j.D, dw, db);
        else ln_bwd_params_double(&j, acc, acc + j.D, dw, db);
    }
    rc = 0;
done:
    free(acc);
    ml_release(gc);
    return rc;
}

ml_tensor *ml_layer_norm(ml_tensor *x, int k, ml_tensor *weight, ml_tensor *bias, double eps, ml_tensor **mean,
                         ml_tensor **rstd) {
    const char *fn = "layer_norm";
    if (!ml_dtype_is_float(x->dtype)) return ml_error("%s: input must be a float tensor, got %s", fn, ml_dtype_name(x->dtype));
    if (k < 1 || k > x->ndim)
        return ml_error("%s: cannot normalize the last %d dimensions of a tensor with %d", fn, k, x->ndim);
    if (!(eps >= 0)) return ml_error("%s: eps must be non-negative, got %g", fn, eps);
    int64_t D = 1;
    for (int d = x->ndim - k; d < x->ndim; d++) D *= x->shape[d];
    ml_tensor *pw[2] = {weight, bias};
    for (int i = 0; i < 2; i++) {
        if (!pw[i]) continue;
        if (pw[i]->numel != D)
            return ml_error("%s: %s has %lld elements, expected %lld", fn, i ? "bias" : "weight",
                            (long long)pw[i]->numel, (long long)D);
        if (pw[i]->dtype != x->dtype)
            return ml_error("%s: %s dtype %s differs from the input's %s", fn, i ? "bias" : "weight",
                            ml_dtype_name(pw[i]->dtype), ml_dtype_name(x->dtype));
    }
    int64_t M = D ? x->numel / D : 0;
    ml_tensor *in3[3] = {x, weight, bias};
    ml_tensor *xc = ml_contiguous(x), *wc = NULL, *bc = NULL, *st = NULL, *out = NULL;
    if (!xc) return NULL;
    if (weight && !(wc = ml_contiguous(weight))) goto fail;
    if (bias && !(bc = ml_contiguous(bias))) goto fail;
    int64_t sshape[2] = {2, M};
    if (!(st = ml_empty(2, sshape, x->dtype)) || !(out = ml_empty(x->ndim, x->shape, x->dtype))) goto fail;
    ln_job j = {.M = M, .D = D, .x = ml_data(xc), .w = wc ? ml_data(wc) : NULL, .b = bc ? ml_data(bc) : NULL,
                .out = ml_data(out), .stats = ml_data(st), .eps = eps};
    int64_t grain = D ? ML_PAR_GRAIN / D : 1;
    ml_parallel_for(M, grain > 0 ? grain : 1, x->dtype == ML_FLOAT32 ? ln_fwd_float : ln_fwd_double, &j);
    if (ml_needs_record(3, in3)) {
        ml_node *n = ml_record(fn, ln_backward, out, 3, in3);
        if (!n) goto fail;
        ml_save(n, 0, xc);
        if (wc) ml_save(n, 1, wc);
        ml_save(n, 2, st);
        n->ctx.layer_norm.D = D;
        n->ctx.layer_norm.has_weight = wc != NULL;
        n->ctx.layer_norm.eps = eps; /* for create_graph's rule (autograd/graph_rules.c) */
    }
    int64_t one = 1;
    if (mean) *mean = ml_view(st, 1, &M, &one, st->offset);
    if (rstd) *rstd = ml_view(st, 1, &M, &one, st->offset + M);
    ml_release(st);
    ml_release(bc);
    ml_release(wc);
    ml_release(xc);
    return out;
fail:
    ml_release(out);
    ml_release(st);
    ml_release(bc);
    ml_release(wc);
    ml_release(xc);
    return NULL;
}

/* the rule autograd/graph_rules.c knows by address (create_graph) */
const ml_backward_fn ml_rule_layer_norm = ln_backward;
