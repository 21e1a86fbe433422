/* Batch normalization, training mode (see batch_norm.h). Channels run in
 * parallel; the sums are in double. With xhat = (x - mean) rstd and the
 * incoming gradient g, per channel c over its M = N * P values:
 *   dbias_c   = sum g
 *   dweight_c = sum g xhat
 *   dx        = w_c rstd_c (g - dbias_c / M - xhat dweight_c / M) */
#include "batch_norm.h"

#include <math.h>
#include <stdlib.h>

#include "../autograd/autograd.h"
#include "../core/error.h"
#include "../core/parallel.h"

typedef struct {
    int64_t N, C, P;
    const void *x, *w, *b, *g;
    void *y, *dx, *dw, *db;
    double *stats; /* (2, C): mean, rstd */
    double *var;   /* (C) biased variance, forward only */
    double eps;
} bn_job;

#define DEF_BN(T)                                                                                    \
    static void bn_fwd_##T(void *ctx, int64_t c0, int64_t c1) {                                      \
        const bn_job *j = ctx;                                                                       \
        const T *x = j->x, *w = j->w, *b = j->b;                                                     \
        T *y = j->y;                                                                                 \
        double M = (double)(j->N * j->P);                                                            \
        for (int64_t c = c0; c < c1; c++) {                                                          \
            double s = 0, ss = 0;                                                                    \
            for (int64_t n = 0; n < j->N; n++) {                                                     \
                const T *xp = x + (n * j->C + c) * j->P;                                             \
                for (int64_t p = 0; p < j->P; p++) s += xp[p];                                       \
            }                                                                                        \
            double mean = s / M;                                                                     \
            for (int64_t n = 0; n < j->N; n++) { /* two passes: no cancellation in the variance */   \
                const T *xp = x + (n * j->C + c) * j->P;                                             \
                for (int64_t p = 0; p < j->P; p++) {                                                 \
                    double d = xp[p] - mean;                                                         \
                    ss += d * d;                                                                     \
                }                                                                                    \
            }                                                                                        \
            double var = ss / M, rstd = 1 / sqrt(var + j->eps);                                      \
            j->stats[c] = mean, j->stats[j->C + c] = rstd, j->var[c] = var;                          \
            T scale = (T)(rstd * (w ? w[c] : 1)), shift = (T)((b ? b[c] : 0) - mean * scale);        \
            for (int64_t n = 0; n < j->N; n++) {                                                     \
                const T *xp = x + (n * j->C + c) * j->P;                                             \
                T *yp = y + (n * j->C + c) * j->P;                                                   \
                for (int64_t p = 0; p < j->P; p++) yp[p] = xp[p] * scale + shift;                    \
            }                                                                                        \
        }                                                                                            \
    }                                                                                                \
    static void bn_bwd_##T(void *ctx, int64_t c0, int64_t c1) {                                      \
        const bn_job *j = ctx;                                                                       \
        const T *x = j->x, *w = j->w, *g = j->g;                                                     \
        double M = (double)(j->N * j->P);                                                            \
        for (int64_t c = c0; c < c1; c++) {                                                          \
            double mean = j->stats[c], rstd = j->stats[j->C + c], sg = 0, sgx = 0;                   \
            for (int64_t n = 0; n < j->N; n++) {                                                     \
                const T *xp = x + (n * j->C + c) * j->P, *gp = g + (n * j->C + c) * j->P;            \
                for (int64_t p = 0; p < j->P; p++) sg += gp[p], sgx += gp[p] * (xp[p] - mean);       \
            }                                                                                        \
            sgx *= rstd; /* sum g xhat */                                                            \
            if (j->db) ((T *)j->db)[c] = (T)sg;                                                      \
            if (j->dw) ((T *)j->dw)[c] = (T)sgx;                                                     \
            if (!j->dx) continue;                                                                    \
            double k = (w ? w[c] : 1) * rstd;                                                        \
            T a = (T)k, mg = (T)(sg / M), r = (T)rstd, m = (T)mean, q = (T)(sgx / M);                \
            for (int64_t n = 0; n < j->N; n++) {                                                     \
                const T *xp = x + (n * j->C + c) * j->P, *gp = g + (n * j->C + c) * j->P;            \
                T *dp = (T *)j->dx + (n * j->C + c) * j->P;                                          \
                for (int64_t p = 0; p < j->P; p++) dp[p] = a * (gp[p] - mg - (xp[p] - m) * r * q);   \
            }                                                                                        \
        }                                                                                            \
    }
DEF_BN(float)
DEF_BN(double)

static int64_t channel_grain(const bn_job *j) {
    int64_t per = j->N * j->P;
    int64_t g = per ? ML_PAR_GRAIN / per : 1;
    return g > 0 ? g : 1;
}

/* saved: x (contiguous), weight or nothing, stats (2, C) float64 */
static int bn_backward(ml_node *n, ml_tensor *gout, ml_tensor **gin) {
    ml_tensor *x = ml_saved(n, 0), *w = NULL, *st = ml_saved(n, 2);
    if (!x || !st) return -1;
    if (n->ctx.layer_norm.has_weight && !(w = ml_saved(n, 1))) return -1;
    ml_tensor *g = ml_contiguous(gout);
    if (!g) return -1;
    bn_job j = {.N = x->shape[0], .C = x->shape[1], .P = x->shape[2], .x = ml_data(x), .w = w ? ml_data(w) : NULL,
                .g = ml_data(g), .stats = ml_data(st)};
    int rc = -1;
    if (n->needs[0] && !(gin[0] = ml_empty(3, x->shape, x->dtype))) goto done;
    if (n->needs[1] && !(gin[1] = ml_empty(1, &j.C, x->dtype))) goto done;
    if (n->needs[2] && !(gin[2] = ml_empty(1, &j.C, x->dtype))) goto done;
    j.dx = gin[0] ? ml_data(gin[0]) : NULL;
    j.dw = gin[1] ? ml_data(gin[1]) : NULL;
    j.db = gin[2] ? ml_data(gin[2]) : NULL;
    ml_parallel_for(j.C, channel_grain(&j), x->dtype == ML_FLOAT32 ? bn_bwd_float : bn_bwd_double, &j);
    rc = 0;
done:
    ml_release(g);
    return rc;
}

ml_tensor *ml_batch_norm_train(ml_tensor *x, ml_tensor *w, ml_tensor *b, double eps, ml_tensor **mean,
                               ml_tensor **var) {
    const char *fn = "batch_norm";
    if (!ml_dtype_is_float(x->dtype)) return ml_error("%s: input must be a float tensor, got %s", fn, ml_dtype_name(x->dtype));
    if (x->ndim != 3) return ml_error("%s: input must be (N, C, P), got %d dimensions", fn, x->ndim);
    int64_t C = x->shape[1];
    ml_tensor *pw[2] = {w, b};
    for (int i = 0; i < 2; i++)
        if (pw[i] && (pw[i]->numel != C || pw[i]->dtype != x->dtype))
            return ml_error("%s: %s must hold %lld values of dtype %s", fn, i ? "bias" : "weight", (long long)C,
                            ml_dtype_name(x->dtype));
    if (x->shape[0] * x->shape[2] < 1) return ml_error("%s: empty batch", fn);
    int64_t two[2] = {2, C};
    ml_tensor *xc = ml_contiguous(x), *wc = NULL, *bc = NULL, *st = NULL, *vt = NULL, *y = NULL, *mt = NULL;
    if (!xc || (w && !(wc = ml_contiguous(w))) || (b && !(bc = ml_contiguous(b)))) goto fail;
    if (!(st = ml_empty(2, two, ML_FLOAT64)) || !(vt = ml_empty(1, &C, ML_FLOAT64)) ||
        !(y = ml_empty(3, x->shape, x->dtype)))
        goto fail;
    bn_job j = {.N = x->shape[0], .C = C, .P = x->shape[2], .x = ml_data(xc), .w = wc ? ml_data(wc) : NULL,
                .b = bc ? ml_data(bc) : NULL, .y = ml_data(y), .stats = ml_data(st), .var = ml_data(vt), .eps = eps};
    ml_parallel_for(C, channel_grain(&j), x->dtype == ML_FLOAT32 ? bn_fwd_float : bn_fwd_double, &j);
    ml_tensor *in[3] = {x, w, b};
    if (ml_needs_record(3, in)) {
        ml_node *n = ml_record("batch_norm", bn_backward, y, 3, in);
        if (!n) goto fail;
        ml_save(n, 0, xc);
        if (wc) ml_save(n, 1, wc);
        ml_save(n, 2, st);
        n->ctx.layer_norm.has_weight = wc != NULL; /* the same flag as layer norm's */
    }
    if (mean) {
        int64_t one = 1;
        ml_tensor *mv = ml_view(st, 1, &C, &one, st->offset);
        if (!mv || !(mt = ml_to_dtype(mv, x->dtype))) { ml_release(mv); goto fail; }
        ml_release(mv);
        *mean = mt;
    }
    if (var) {
        *var = ml_to_dtype(vt, x->dtype);
        if (!*var) { if (mean) ml_release(*mean); goto fail; }
    }
    ml_release(vt), ml_release(st), ml_release(bc), ml_release(wc), ml_release(xc);
    return y;
fail:
    ml_release(y), ml_release(vt), ml_release(st), ml_release(bc), ml_release(wc), ml_release(xc);
    return NULL;
}
