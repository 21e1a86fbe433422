/* Fused losses: cross-entropy on logits, NLL on log-probabilities, and
 * binary cross-entropy on logits and on probabilities, with their backward
 * rules.
 *
 * Layout. Class losses see the logits as (N, C, inner) with inner = d1*d2...
 * (1 for the usual (N, C)): a "lane" is one (sample, position) pair, whose C
 * class values lie `inner` apart. Targets, per-lane losses and the "none"
 * output are (N, inner).
 *
 * Cross-entropy (row i, classes c, p = softmax(x_i), lse = log sum exp x_i):
 *   loss_i = sum_c a_c * (lse - x_c),   a_c = (1 - eps) w[y] [c == y] + eps/C w[c]
 *   d loss_i / d x_j = p_j * A - a_j,    A = sum_c a_c = (1 - eps) w[y] + eps/C sum_c w[c]
 * The forward pass computes that gradient while it has exp(x - max) in hand
 * (when the graph is recorded), so backward only scales it: by g_i for
 * "none", g / sum_i w[y_i] for "mean", g for "sum" (llm.c's fused classifier).
 *
 * BCE with logits (elementwise, lw = 1 + (pw - 1) y, sp = softplus(-x)):
 *   loss = w ((1 - y) x + lw sp)
 *   d/dx = w ((1 - y) - lw sigmoid(-x))
 *   d/dy = w (-x + (pw - 1) sp)
 * sp = max(-x, 0) + log1p(exp(-|x|)) and sigmoid(-x) from the same exp(-|x|):
 * no overflow for any x. BCE on probabilities (ml_bce) clamps its logs at
 * -100 as PyTorch does:
 *   loss = -w (y log x + (1 - y) log(1 - x))
 *   d/dx = w (x - y) / max(x (1 - x), 1e-12),  d/dy = w (log(1 - x) - log x)
 * MSE: loss = (x - y)^2, d/dx = 2 (x - y) = -d/dy.
 * Sums run in double, over fixed blocks added in
 * order, so results do not depend on the thread count. */
#include "loss.h"

#include <math.h>
#include <stdlib.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"
#include "vecmath.h"

/* elements per vecmath call in the loss loops (a stack buffer each) */
enum { LOSS_CHUNK = 256 };

/* ---- shared checks ----------------------------------------------------- */
static int check_class_args(const char *fn, ml_tensor *x, ml_tensor *target, ml_tensor *weight, int64_t *lanes,
                            int64_t *C, int64_t *inner) {
    char b1[128], b2[128];
    if (!ml_dtype_is_float(x->dtype)) {
        ml_error("%s: input must be a float tensor, got %s", fn, ml_dtype_name(x->dtype));
        return -1;
    }
    if (x->ndim < 2) {
        ml_error("%s: input must have a class dimension: (N, C) or (N, C, d1, ...), got shape %s", fn,
                 ml_shape_str(b1, sizeof b1, x->ndim, x->shape));
        return -1;
    }
    if (target->dtype != ML_INT64) {
        ml_error("%s: target must be int64 class indices, got %s", fn, ml_dtype_name(target->dtype));
        return -1;
    }
    bool ok = target->ndim == x->ndim - 1 && target->shape[0] == x->shape[0];
    for (int d = 1; ok && d < target->ndim; d++) ok = target->shape[d] == x->shape[d + 1];
    if (!ok) {
        ml_error("%s: target of shape %s does not match input of shape %s (expected the input's shape without dimension 2)",
                 fn, ml_shape_str(b1, sizeof b1, target->ndim, target->shape),
                 ml_shape_str(b2, sizeof b2, x->ndim, x->shape));
        return -1;
    }
    *C = x->shape[1];
    *inner = 1;
    for (int d = 2; d < x->ndim; d++) *inner *= x->shape[d];
    *lanes = target->numel;
    if (weight) {
        if (weight->ndim != 1 || weight->shape[0] != *C) {
            ml_error("%s: weight must have shape [%lld] (one per class), got %s", fn, (long long)*C,
                     ml_shape_str(b1, sizeof b1, weight->ndim, weight->shape));
            return -1;
        }
        if (weight->dtype != x->dtype) {
            ml_error("%s: weight dtype %s differs from the input's %s", fn, ml_dtype_name(weight->dtype),
                     ml_dtype_name(x->dtype));
            return -1;
        }
    }
    return 0;
}

static int check_targets(const char *fn, const int64_t *y, int64_t n, int64_t C, int64_t ignore) {
    for (int64_t i = 0; i < n; i++)
        if (y[i] != ignore && (y[i] < 0 || y[i] >= C)) {
            ml_error("%s: target %lld (0-based) is out of range for %lld classes", fn, (long long)y[i], (long long)C);
            return -1;
        }
    return 0;
}

/* ---- scaling a saved gradient (the backward of every loss here) -------- */
/* out = d * s (s scalar) when gl == NULL, else out[lane, c] = d[lane, c] * gl[lane] * s. */
typedef struct {
    int64_t C, inner;
    const void *d, *gl;
    double s;
    void *o;
} scale_job;

#define DEF_SCALE(T)                                                                                         \
    static void scale_flat_##T(void *p, int64_t s, int64_t e) {                                             \
        scale_job *j = p;                                                                                   \
        const T *d = j->d;                                                                                  \
        T *o = j->o, k = (T)j->s;                                                                           \
        for (int64_t i = s; i < e; i++) o[i] = d[i] * k;                                                    \
    }                                                                                                       \
    static void scale_lanes_##T(void *p, int64_t s, int64_t e) {                                            \
        scale_job *j = p;                                                                                   \
        int64_t C = j->C, in = j->inner;                                                                    \
        const T *gl = j->gl;                                                                                \
        for (int64_t lane = s; lane < e; lane++) {                                                          \
            int64_t base = (lane / in) * C * in + lane % in;                                                \
            const T *d = (const T *)j->d + base;                                                            \
            T *o = (T *)j->o + base, k = gl[lane] * (T)j->s;                                                \
            for (int64_t c = 0; c < C; c++) o[c * in] = d[c * in] * k;                                      \
        }                                                                                                   \
    }
DEF_SCALE(float)
DEF_SCALE(double)

/* A new tensor: the saved gradient d scaled by sign and the upstream
 * gradient g (0-d for reduced losses, else one value per lane). */
static ml_tensor *scale_saved(ml_tensor *d, ml_tensor *g, ml_reduction red, double denom, int64_t C, int64_t inner,
                              double sign) {
    ml_tensor *out = ml_empty(d->ndim, d->shape, d->dtype);
    if (!out) return NULL;
    scale_job j = {.C = C, .inner = inner, .d = ml_data(d), .o = ml_data(out), .s = sign};
    bool f32 = d->dtype == ML_FLOAT32;
    if (red != ML_REDUCE_NONE) {
        j.s = sign * ml_get_flat(g, 0);
        if (red == ML_REDUCE_MEAN) j.s /= denom;
        ml_parallel_for(d->numel, ML_PAR_GRAIN, f32 ? scale_flat_float : scale_flat_double, &j);
        return out;
    }
    ml_tensor *gc = ml_to_dtype(g, d->dtype), *gcc = gc ? ml_contiguous(gc) : NULL;
    ml_release(gc);
    if (!gcc) { ml_release(out); return NULL; }
    j.gl = ml_data(gcc);
    int64_t grain = C ? ML_PAR_GRAIN / C : 1;
    ml_parallel_for(d->numel / (C ? C : 1), grain > 0 ? grain : 1, f32 ? scale_lanes_float : scale_lanes_double, &j);
    ml_release(gcc);
    return out;
}

/* The node of a loss over k inputs, with its reduction and divisor set; on
 * failure NULL, and the output is released (*outp = NULL). */
static ml_node *record_loss(const char *fn, ml_backward_fn bw, ml_tensor **outp, int k, ml_tensor *const *in,
                            ml_reduction red, double denom) {
    ml_node *n = ml_record(fn, bw, *outp, k, in);
    if (!n) {
        ml_release(*outp);
        *outp = NULL;
        return NULL;
    }
    n->ctx.loss.reduction = red;
    n->ctx.loss.denom = denom;
    return n;
}

/* The reduced (0-d) or per-lane output from per-lane double losses. */
static ml_tensor *reduce_lanes(const double *loss, const double *wrow, int64_t lanes, ml_reduction red,
                               int ndim, const int64_t *shape, ml_dtype dt, double *denom) {
    *denom = 1;
    if (red == ML_REDUCE_NONE) {
        ml_tensor *out = ml_empty(ndim, shape, dt);
        if (!out) return NULL;
        if (dt == ML_FLOAT32) {
            float *o = ml_data(out);
            for (int64_t i = 0; i < lanes; i++) o[i] = (float)loss[i];
        } else {
            double *o = ml_data(out);
            for (int64_t i = 0; i < lanes; i++) o[i] = loss[i];
        }
        return out;
    }
    double total = 0, wsum = 0;
    for (int64_t i = 0; i < lanes; i++) total += loss[i];
    if (red == ML_REDUCE_MEAN) {
        for (int64_t i = 0; i < lanes; i++) wsum += wrow[i];
        *denom = wsum;
        total /= wsum; /* 0/0 = NaN when every target is ignored, as PyTorch */
    }
    return ml_scalar(total, dt);
}

/* ---- cross-entropy ------------------------------------------------------ */
typedef struct {
    int64_t C, inner, ignore;
    const void *x, *w;   /* (N, C, inner) logits; (C) weights or NULL */
    const int64_t *y;    /* (N, inner) 0-based */
    double eps, wsum;    /* label smoothing; sum of the class weights (C without) */
    double *loss, *wrow; /* (lanes) */
    void *grad;          /* (N, C, inner) d loss_lane / d x, or NULL */
} ce_job;

#define DEF_CE(T, F, VM)                                                                                     \
    static void ce_fwd_##T(void *p, int64_t s, int64_t e) {                                                 \
        ce_job *j = p;                                                                                      \
        int64_t C = j->C, in = j->inner;                                                                    \
        T buf[LOSS_CHUNK];                                                                                  \
        const T *w = j->w;                                                                                  \
        for (int64_t lane = s; lane < e; lane++) {                                                          \
            int64_t base = (lane / in) * C * in + lane % in;                                                \
            const T *x = (const T *)j->x + base;                                                            \
            T *g = j->grad ? (T *)j->grad + base : NULL;                                                    \
            int64_t y = j->y[lane];                                                                         \
            if (y == j->ignore) {                                                                           \
                j->loss[lane] = 0;                                                                          \
                j->wrow[lane] = 0;                                                                          \
                if (g)                                                                                      \
                    for (int64_t c = 0; c < C; c++) g[c * in] = 0;                                          \
                continue;                                                                                   \
            }                                                                                               \
            T m = -INFINITY;                                                                                \
            for (int64_t c = 0; c < C; c++) m = x[c * in] > m ? x[c * in] : m;                              \
            if (isinf(m)) m = 0;                                                                            \
            double sum = 0; /* in class order, in double: exp(x - m) by vecmath, in chunks */                \
            for (int64_t c0 = 0; c0 < C; c0 += LOSS_CHUNK) {                                                \
                int64_t k = C - c0 < LOSS_CHUNK ? C - c0 : LOSS_CHUNK;                                      \
                for (int64_t c = 0; c < k; c++) buf[c] = x[(c0 + c) * in] - m;                              \
                VM(ML_VM_EXP, buf, buf, k);                                                                 \
                for (int64_t c = 0; c < k; c++) sum += buf[c];                                              \
                if (g)                                                                                      \
                    for (int64_t c = 0; c < k; c++) g[(c0 + c) * in] = buf[c];                              \
            }                                                                                               \
            double lse = (double)m + (double)log##F((T)sum);                                                \
            double wy = w ? (double)w[y] : 1.0;                                                             \
            double loss = (1 - j->eps) * wy * (lse - (double)x[y * in]);                                    \
            if (j->eps > 0) {                                                                               \
                double sx = 0;                                                                              \
                if (w)                                                                                      \
                    for (int64_t c = 0; c < C; c++) sx += (double)w[c] * x[c * in];                         \
                else                                                                                        \
                    for (int64_t c = 0; c < C; c++) sx += x[c * in];                                        \
                loss += j->eps / (double)C * (lse * j->wsum - sx);                                          \
            }                                                                                               \
            j->loss[lane] = loss;                                                                           \
            j->wrow[lane] = wy;                                                                             \
            if (g) {                                                                                        \
                double A = (1 - j->eps) * wy + j->eps / (double)C * j->wsum;                                \
                T k = (T)(A / sum), ec = (T)(j->eps / (double)C);                                           \
                if (j->eps > 0 && w)                                                                        \
                    for (int64_t c = 0; c < C; c++) g[c * in] = g[c * in] * k - ec * w[c];                  \
                else                                                                                        \
                    for (int64_t c = 0; c < C; c++) g[c * in] = g[c * in] * k - ec;                         \
                g[y * in] -= (T)((1 - j->eps) * wy);                                                        \
            }                                                                                               \
        }                                                                                                   \
    }
DEF_CE(float, f, ml_vm_map_f32)
DEF_CE(double, , ml_vm_map_f64)

/* For the fused training step: the kernel over N rows of (N, C) logits,
 * no weight, smoothing or ignored class, then reduce_lanes' sums. */
double ml_cross_entropy_raw(ml_dtype dt, const void *x, const int64_t *y, int64_t N, int64_t C, void *grad,
                            double *lanes, double *wsum) {
    ce_job j = {.C = C, .inner = 1, .ignore = ML_NO_IGNORE, .x = x, .y = y, .wsum = (double)C, .loss = lanes,
                .wrow = lanes + N, .grad = grad};
    (dt == ML_FLOAT32 ? ce_fwd_float : ce_fwd_double)(&j, 0, N);
    double total = 0, w = 0;
    for (int64_t i = 0; i < N; i++) total += lanes[i];
    for (int64_t i = 0; i < N; i++) w += lanes[N + i];
    *wsum = w;
    return total;
}

static int ce_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *d = ml_saved(n, 0);
    if (!d) return -1;
    gin[0] = scale_saved(d, g, (ml_reduction)n->ctx.loss.reduction, n->ctx.loss.denom, n->ctx.loss.C, n->ctx.loss.inner, 1);
    return gin[0] ? 0 : -1;
}

ml_tensor *ml_cross_entropy(ml_tensor *logits, ml_tensor *target, ml_tensor *weight, double label_smoothing,
                            int64_t ignore_index, ml_reduction red) {
    const char *fn = "cross_entropy";
    int64_t lanes, C, inner;
    if (check_class_args(fn, logits, target, weight, &lanes, &C, &inner) < 0) return NULL;
    if (!(label_smoothing >= 0 && label_smoothing <= 1))
        return ml_error("%s: label_smoothing must be in [0, 1], got %g", fn, label_smoothing);
    ml_tensor *x = ml_contiguous(logits), *y = x ? ml_contiguous(target) : NULL;
    ml_tensor *w = y && weight ? ml_contiguous(weight) : NULL;
    ml_tensor *grad = NULL, *out = NULL;
    double *buf = NULL;
    bool rec = ml_needs_record(1, &logits);
    if (!y || (weight && !w)) goto done;
    if (check_targets(fn, ml_data(y), lanes, C, ignore_index) < 0) goto done;
    if (rec && !(grad = ml_empty(x->ndim, x->shape, x->dtype))) goto done;
    if (!(buf = malloc(sizeof(double) * (size_t)(2 * lanes + 1)))) {
        ml_error("%s: out of memory", fn);
        goto done;
    }
    ce_job j = {.C = C, .inner = inner, .ignore = ignore_index, .x = ml_data(x), .w = w ? ml_data(w) : NULL,
                .y = ml_data(y), .eps = label_smoothing, .wsum = (double)C, .loss = buf, .wrow = buf + lanes,
                .grad = grad ? ml_data(grad) : NULL};
    if (w) {
        j.wsum = 0;
        for (int64_t c = 0; c < C; c++) j.wsum += ml_get_flat(w, c);
    }
    int64_t grain = C ? ML_PAR_GRAIN / C : 1;
    ml_parallel_for(lanes, grain > 0 ? grain : 1, x->dtype == ML_FLOAT32 ? ce_fwd_float : ce_fwd_double, &j);
    double denom;
    out = reduce_lanes(j.loss, j.wrow, lanes, red, y->ndim, y->shape, x->dtype, &denom);
    if (out && rec) {
        ml_node *n = record_loss(fn, ce_backward, &out, 1, &logits, red, denom);
        if (!n) goto done;
        ml_save(n, 0, grad);
        n->ctx.loss.C = C;
        n->ctx.loss.inner = inner;
    }
done:
    free(buf);
    ml_release(grad);
    ml_release(w);
    ml_release(y);
    ml_release(x);
    return out;
}

/* ---- cross-entropy against class probabilities ---------------------------
 * q' = (1 - eps) q + eps / C, wq_c = w[c] q'_c (w = 1 without weights):
 *   loss_i = sum_c wq_c (lse - x_c) = A lse - sum_c wq_c x_c,   A = sum_c wq_c
 *   d loss_i / d x_j = p_j A - wq_j
 *   d loss_i / d q_j = (1 - eps) w[j] (lse - x_j)
 * Every lane weighs 1: "mean" divides by the number of lanes, as PyTorch. */
typedef struct {
    int64_t C, inner;
    const void *x, *q, *w; /* (N, C, inner) logits and probabilities; (C) weights or NULL */
    double eps;
    double *loss, *wrow;   /* (lanes) */
    void *dx, *dq;         /* (N, C, inner) d loss_lane / d x and / d q, or NULL */
} ces_job;

#define DEF_CE_SOFT(T, F, VM)                                                                                \
    static void ces_fwd_##T(void *p, int64_t s, int64_t e) {                                                \
        ces_job *j = p;                                                                                     \
        int64_t C = j->C, in = j->inner;                                                                    \
        T buf[LOSS_CHUNK];                                                                                  \
        const T *w = j->w;                                                                                  \
        double keep = 1 - j->eps, add = j->eps / (double)C;                                                 \
        for (int64_t lane = s; lane < e; lane++) {                                                          \
            int64_t base = (lane / in) * C * in + lane % in;                                                \
            const T *x = (const T *)j->x + base, *q = (const T *)j->q + base;                               \
            T *g = j->dx ? (T *)j->dx + base : NULL, *gq = j->dq ? (T *)j->dq + base : NULL;                \
            T m = -INFINITY;                                                                                \
            for (int64_t c = 0; c < C; c++) m = x[c * in] > m ? x[c * in] : m;                              \
            if (isinf(m)) m = 0;                                                                            \
            double sum = 0;                                                                                 \
            for (int64_t c0 = 0; c0 < C; c0 += LOSS_CHUNK) {                                                \
                int64_t k = C - c0 < LOSS_CHUNK ? C - c0 : LOSS_CHUNK;                                      \
                for (int64_t c = 0; c < k; c++) buf[c] = x[(c0 + c) * in] - m;                              \
                VM(ML_VM_EXP, buf, buf, k);                                                                 \
                for (int64_t c = 0; c < k; c++) sum += buf[c];                                              \
                if (g)                                                                                      \
                    for (int64_t c = 0; c < k; c++) g[(c0 + c) * in] = buf[c];                              \
            }                                                                                               \
            double lse = (double)m + (double)log##F((T)sum), A = 0, sx = 0;                                 \
            for (int64_t c = 0; c < C; c++) {                                                               \
                double wq = (keep * (double)q[c * in] + add) * (w ? (double)w[c] : 1.0);                    \
                A += wq;                                                                                    \
                sx += wq * (double)x[c * in];                                                               \
                if (gq) gq[c * in] = (T)(keep * (w ? (double)w[c] : 1.0) * (lse - (double)x[c * in]));      \
            }                                                                                               \
            j->loss[lane] = A * lse - sx;                                                                   \
            j->wrow[lane] = 1;                                                                              \
            if (g) {                                                                                        \
                T k = (T)(A / sum);                                                                         \
                for (int64_t c = 0; c < C; c++)                                                             \
                    g[c * in] = g[c * in] * k - (T)((keep * (double)q[c * in] + add) * (w ? (double)w[c] : 1.0)); \
            }                                                                                               \
        }                                                                                                   \
    }
DEF_CE_SOFT(float, f, ml_vm_map_f32)
DEF_CE_SOFT(double, , ml_vm_map_f64)

static int ces_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    for (int k = 0; k < 2; k++) {
        if (!n->needs[k]) continue;
        ml_tensor *d = ml_saved(n, k);
        if (!d) return -1;
        gin[k] = scale_saved(d, g, (ml_reduction)n->ctx.loss.reduction, n->ctx.loss.denom, n->ctx.loss.C,
                             n->ctx.loss.inner, 1);
        if (!gin[k]) return -1;
    }
    return 0;
}

ml_tensor *ml_cross_entropy_soft(ml_tensor *logits, ml_tensor *probs, ml_tensor *weight, double label_smoothing,
                                 ml_reduction red) {
    const char *fn = "cross_entropy";
    char b1[128], b2[128];
    if (!ml_dtype_is_float(logits->dtype) || logits->ndim < 2)
        return ml_error("%s: input must be float (N, C) or (N, C, d1, ...), got %s %s", fn, ml_dtype_name(logits->dtype),
                        ml_shape_str(b1, sizeof b1, logits->ndim, logits->shape));
    if (!ml_same_shape(logits, probs) || probs->dtype != logits->dtype)
        return ml_error("%s: class probabilities %s %s do not match the input %s %s", fn, ml_dtype_name(probs->dtype),
                        ml_shape_str(b1, sizeof b1, probs->ndim, probs->shape), ml_dtype_name(logits->dtype),
                        ml_shape_str(b2, sizeof b2, logits->ndim, logits->shape));
    if (!(label_smoothing >= 0 && label_smoothing <= 1))
        return ml_error("%s: label_smoothing must be in [0, 1], got %g", fn, label_smoothing);
    int64_t C = logits->shape[1], inner = 1, lshape[ML_MAX_DIMS];
    for (int d = 2; d < logits->ndim; d++) inner *= logits->shape[d];
    int lnd = 0;
    for (int d = 0; d < logits->ndim; d++)
        if (d != 1) lshape[lnd++] = logits->shape[d];
    int64_t lanes = C ? logits->numel / C : 0;
    if (weight && (weight->ndim != 1 || weight->shape[0] != C || weight->dtype != logits->dtype))
        return ml_error("%s: weight must be %s [%lld] (one per class), got %s %s", fn, ml_dtype_name(logits->dtype),
                        (long long)C, ml_dtype_name(weight->dtype), ml_shape_str(b1, sizeof b1, weight->ndim, weight->shape));
    ml_tensor *in2[2] = {logits, probs};
    bool rec = ml_needs_record(2, in2);
    ml_tensor *x = ml_contiguous(logits), *q = x ? ml_contiguous(probs) : NULL;
    ml_tensor *w = q && weight ? ml_contiguous(weight) : NULL;
    ml_tensor *dx = NULL, *dq = NULL, *out = NULL;
    double *buf = NULL;
    if (!q || (weight && !w)) goto done;
    if (rec && logits->requires_grad && !(dx = ml_empty(x->ndim, x->shape, x->dtype))) goto done;
    if (rec && probs->requires_grad && !(dq = ml_empty(x->ndim, x->shape, x->dtype))) goto done;
    if (!(buf = malloc(sizeof(double) * (size_t)(2 * lanes + 1)))) {
        ml_error("%s: out of memory", fn);
        goto done;
    }
    ces_job j = {.C = C, .inner = inner, .x = ml_data(x), .q = ml_data(q), .w = w ? ml_data(w) : NULL,
                 .eps = label_smoothing, .loss = buf, .wrow = buf + lanes, .dx = dx ? ml_data(dx) : NULL,
                 .dq = dq ? ml_data(dq) : NULL};
    int64_t grain = C ? ML_PAR_GRAIN / C : 1;
    ml_parallel_for(lanes, grain > 0 ? grain : 1, x->dtype == ML_FLOAT32 ? ces_fwd_float : ces_fwd_double, &j);
    double denom;
    out = reduce_lanes(j.loss, j.wrow, lanes, red, lnd, lshape, x->dtype, &denom);
    if (out && rec) {
        ml_node *n = record_loss(fn, ces_backward, &out, 2, in2, red, denom);
        if (!n) goto done;
        if (dx) ml_save(n, 0, dx);
        if (dq) ml_save(n, 1, dq);
        n->ctx.loss.C = C;
        n->ctx.loss.inner = inner;
    }
done:
    free(buf);
    ml_release(dq);
    ml_release(dx);
    ml_release(w);
    ml_release(q);
    ml_release(x);
    return out;
}

/* ---- NLL ----------------------------------------------------------------- */
static int nll_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *y = ml_saved(n, 0);
    if (!y) return -1;
    ml_tensor *w = NULL;
    if (n->ctx.loss.weighted && !(w = ml_saved(n, 1))) return -1;
    ml_reduction red = (ml_reduction)n->ctx.loss.reduction;
    int64_t C = n->ctx.loss.C, in = n->ctx.loss.inner, ignore = n->ctx.loss.ignore_index;
    ml_tensor *out = ml_zeros(n->in_ndim[0], n->in_shape[0], n->in_dtype[0]);
    ml_tensor *gc = out && red == ML_REDUCE_NONE ? ml_contiguous(g) : NULL;
    if (!out || (red == ML_REDUCE_NONE && !gc)) {
        ml_release(out);
        return -1;
    }
    double s = red == ML_REDUCE_NONE ? 0 : ml_get_flat(g, 0) / (red == ML_REDUCE_MEAN ? n->ctx.loss.denom : 1);
    const int64_t *yv = ml_data(y);
    for (int64_t lane = 0; lane < y->numel; lane++) {
        if (yv[lane] == ignore) continue;
        double wy = w ? ml_get_flat(w, yv[lane]) : 1.0;
        double gl = gc ? ml_get_flat(gc, lane) : s;
        ml_set_flat(out, (lane / in) * C * in + lane % in + yv[lane] * in, -wy * gl);
    }
    ml_release(gc);
    gin[0] = out;
    return 0;
}

ml_tensor *ml_nll_loss(ml_tensor *logp, ml_tensor *target, ml_tensor *weight, int64_t ignore_index, ml_reduction red) {
    const char *fn = "nll_loss";
    int64_t lanes, C, inner;
    if (check_class_args(fn, logp, target, weight, &lanes, &C, &inner) < 0) return NULL;
    ml_tensor *x = ml_contiguous(logp), *y = x ? ml_contiguous(target) : NULL;
    ml_tensor *w = y && weight ? ml_contiguous(weight) : NULL;
    ml_tensor *out = NULL;
    double *buf = NULL;
    if (!y || (weight && !w)) goto done;
    const int64_t *yv = ml_data(y);
    if (check_targets(fn, yv, lanes, C, ignore_index) < 0) goto done;
    if (!(buf = malloc(sizeof(double) * (size_t)(2 * lanes + 1)))) {
        ml_error("%s: out of memory", fn);
        goto done;
    }
    for (int64_t lane = 0; lane < lanes; lane++) {
        if (yv[lane] == ignore_index) {
            buf[lane] = buf[lanes + lane] = 0;
            continue;
        }
        double wy = w ? ml_get_flat(w, yv[lane]) : 1.0;
        buf[lane] = -wy * ml_get_flat(x, (lane / inner) * C * inner + lane % inner + yv[lane] * inner);
        buf[lanes + lane] = wy;
    }
    double denom;
    out = reduce_lanes(buf, buf + lanes, lanes, red, y->ndim, y->shape, x->dtype, &denom);
    if (out && ml_needs_record(1, &logp)) {
        ml_node *n = record_loss(fn, nll_backward, &out, 1, &logp, red, denom);
        if (!n) goto done;
        ml_save(n, 0, y);
        if (w) ml_save(n, 1, w);
        n->ctx.loss.C = C;
        n->ctx.loss.inner = inner;
        n->ctx.loss.ignore_index = ignore_index;
        n->ctx.loss.weighted = w != NULL;
    }
done:
    free(buf);
    ml_release(w);
    ml_release(y);
    ml_release(x);
    return out;
}

/* ---- BCE with logits --------------------------------------------------- */
#define BCE_BLOCK 4096

typedef struct {
    int64_t n;
    const void *x, *y, *w, *pw; /* w, pw: NULL or expanded to x's shape */
    void *loss;                 /* per element ("none") or NULL */
    double *part;               /* one partial sum per block */
    void *dx, *dy;              /* unscaled gradients, or NULL */
} bce_job;

/* exp(-|x|) and log1p of it by vecmath, LOSS_CHUNK elements at a time */
#define DEF_BCE(T, VM)                                                                                       \
    static void bce_fwd_##T(void *p, int64_t s, int64_t e) {                                                \
        bce_job *j = p;                                                                                     \
        const T *x = j->x, *y = j->y, *w = j->w, *pw = j->pw;                                               \
        T *loss = j->loss, *dx = j->dx, *dy = j->dy;                                                        \
        T exb[LOSS_CHUNK], l1b[LOSS_CHUNK];                                                                 \
        for (int64_t b = s; b < e; b++) {                                                                   \
            int64_t i0 = b * BCE_BLOCK, i1 = i0 + BCE_BLOCK < j->n ? i0 + BCE_BLOCK : j->n;                 \
            double acc = 0;                                                                                 \
            for (int64_t c0 = i0; c0 < i1; c0 += LOSS_CHUNK) {                                              \
                int64_t k = i1 - c0 < LOSS_CHUNK ? i1 - c0 : LOSS_CHUNK;                                    \
                for (int64_t c = 0; c < k; c++) exb[c] = -(x[c0 + c] < 0 ? -x[c0 + c] : x[c0 + c]);         \
                VM(ML_VM_EXP, exb, exb, k);  /* exp(-|x|) in (0, 1] */                                      \
                VM(ML_VM_LOG1P, l1b, exb, k);                                                               \
                for (int64_t c = 0; c < k; c++) {                                                           \
                    int64_t i = c0 + c;                                                                     \
                    T xv = x[i], yv = y[i], ex = exb[c];                                                    \
                    T sp = (xv < 0 ? -xv : 0) + l1b[c]; /* softplus(-x) */                                  \
                    T pm1 = pw ? pw[i] - 1 : 0;                                                             \
                    T lw = 1 + pm1 * yv;                                                                    \
                    T wv = w ? w[i] : 1;                                                                    \
                    T l = wv * ((1 - yv) * xv + lw * sp);                                                   \
                    acc += l;                                                                               \
                    if (loss) loss[i] = l;                                                                  \
                    if (dx) {                                                                               \
                        T sneg = xv >= 0 ? ex / (1 + ex) : 1 / (1 + ex); /* sigmoid(-x) */                  \
                        dx[i] = wv * ((1 - yv) - lw * sneg);                                                \
                    }                                                                                       \
                    if (dy) dy[i] = wv * (pm1 * sp - xv);                                                   \
                }                                                                                           \
            }                                                                                               \
            j->part[b] = acc;                                                                               \
        }                                                                                                   \
    }
DEF_BCE(float, ml_vm_map_f32)
DEF_BCE(double, ml_vm_map_f64)

/* BCE on probabilities: logs clamped at -100 and the gradient's denominator
 * at 1e-12, as PyTorch, so x = 0 or 1 gives finite values. */
#define DEF_BCEP(T, VM)                                                                                      \
    static void bcep_fwd_##T(void *p, int64_t s, int64_t e) {                                               \
        bce_job *j = p;                                                                                     \
        const T *x = j->x, *y = j->y, *w = j->w;                                                            \
        T *loss = j->loss, *dx = j->dx, *dy = j->dy;                                                        \
        T lxb[LOSS_CHUNK], l1b[LOSS_CHUNK];                                                                 \
        for (int64_t b = s; b < e; b++) {                                                                   \
            int64_t i0 = b * BCE_BLOCK, i1 = i0 + BCE_BLOCK < j->n ? i0 + BCE_BLOCK : j->n;                 \
            double acc = 0;                                                                                 \
            for (int64_t c0 = i0; c0 < i1; c0 += LOSS_CHUNK) {                                              \
                int64_t k = i1 - c0 < LOSS_CHUNK ? i1 - c0 : LOSS_CHUNK;                                    \
                for (int64_t c = 0; c < k; c++) l1b[c] = 1 - x[c0 + c];                                     \
                VM(ML_VM_LOG, lxb, x + c0, k);                                                              \
                VM(ML_VM_LOG, l1b, l1b, k);                                                                 \
                for (int64_t c = 0; c < k; c++) {                                                           \
                    int64_t i = c0 + c;                                                                     \
                    T xv = x[i], yv = y[i];                                                                 \
                    T lx = lxb[c] > -100 ? lxb[c] : -100, l1x = l1b[c] > -100 ? l1b[c] : -100;              \
                    T wv = w ? w[i] : 1;                                                                    \
                    T l = -wv * (yv * lx + (1 - yv) * l1x);                                                 \
                    acc += l;                                                                               \
                    if (loss) loss[i] = l;                                                                  \
                    if (dx) {                                                                               \
                        T den = xv * (1 - xv);                                                              \
                        dx[i] = wv * (xv - yv) / (den > (T)1e-12 ? den : (T)1e-12);                         \
                    }                                                                                       \
                    if (dy) dy[i] = wv * (l1x - lx);                                                        \
                }                                                                                           \
            }                                                                                               \
            j->part[b] = acc;                                                                               \
        }                                                                                                   \
    }
DEF_BCEP(float, ml_vm_map_f32)
DEF_BCEP(double, ml_vm_map_f64)

/* For the fused training step: the logits kernel block by block on the
 * caller's arrays (no weight, pos_weight or target gradient), the blocks'
 * sums added in order. */
double ml_bce_with_logits_raw(ml_dtype dt, const void *x, const void *y, void *dx, int64_t n) {
    size_t es = ml_dtype_size(dt);
    double total = 0, part = 0;
    for (int64_t i0 = 0; i0 < n; i0 += BCE_BLOCK) {
        bce_job j = {.n = n - i0, .x = (const char *)x + i0 * es, .y = (const char *)y + i0 * es,
                     .dx = (char *)dx + i0 * es, .part = &part};
        (dt == ML_FLOAT32 ? bce_fwd_float : bce_fwd_double)(&j, 0, 1);
        total += part;
    }
    return total;
}

static int bce_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_reduction red = (ml_reduction)n->ctx.loss.reduction;
    for (int k = 0; k < 2; k++) {
        if (!n->needs[k]) continue;
        ml_tensor *d = ml_saved(n, k);
        if (!d) return -1;
        if (!(gin[k] = scale_saved(d, g, red, n->ctx.loss.denom, 1, 1, 1))) return -1;
    }
    return 0;
}

/* t broadcast to x's shape, as a contiguous tensor of x's dtype (new reference). */
static ml_tensor *expand_like(const char *fn, const char *what, ml_tensor *t, ml_tensor *x) {
    int nd;
    int64_t s[ML_MAX_DIMS];
    char b1[128], b2[128];
    if (ml_broadcast_shapes(fn, t->ndim, t->shape, x->ndim, x->shape, &nd, s) < 0 || nd != x->ndim ||
        ml_numel_of(nd, s) != x->numel)
        return ml_error("%s: %s of shape %s does not broadcast to the input's shape %s", fn, what,
                        ml_shape_str(b1, sizeof b1, t->ndim, t->shape), ml_shape_str(b2, sizeof b2, x->ndim, x->shape));
    ml_tensor *c = ml_to_dtype(t, x->dtype);
    if (!c) return NULL;
    int64_t strides[ML_MAX_DIMS];
    ml_broadcast_strides(c, x->ndim, x->shape, strides);
    ml_tensor *v = ml_view(c, x->ndim, x->shape, strides, c->offset);
    ml_release(c);
    if (!v) return NULL;
    ml_tensor *r = ml_contiguous(v);
    ml_release(v);
    return r;
}

static ml_tensor *bce_impl(const char *fn, bool logits, ml_tensor *input, ml_tensor *target, ml_tensor *weight,
                           ml_tensor *pos_weight, ml_reduction red) {
    char b1[128], b2[128];
    if (!ml_dtype_is_float(input->dtype))
        return ml_error("%s: input must be a float tensor, got %s", fn, ml_dtype_name(input->dtype));
    if (!ml_same_shape(input, target))
        return ml_error("%s: target of shape %s does not match input of shape %s", fn,
                        ml_shape_str(b1, sizeof b1, target->ndim, target->shape),
                        ml_shape_str(b2, sizeof b2, input->ndim, input->shape));
    if (target->dtype != input->dtype)
        return ml_error("%s: target dtype %s differs from the input's %s (convert it with :to())", fn,
                        ml_dtype_name(target->dtype), ml_dtype_name(input->dtype));
    ml_tensor *in2[2] = {input, target};
    bool rec = ml_needs_record(2, in2);
    ml_tensor *x = ml_contiguous(input), *y = x ? ml_contiguous(target) : NULL;
    ml_tensor *w = NULL, *pw = NULL, *dx = NULL, *dy = NULL, *out = NULL;
    double *part = NULL;
    if (!y) goto done;
    if (weight && !(w = expand_like(fn, "weight", weight, x))) goto done;
    if (pos_weight && !(pw = expand_like(fn, "pos_weight", pos_weight, x))) goto done;
    if (rec && input->requires_grad && !(dx = ml_empty(x->ndim, x->shape, x->dtype))) goto done;
    if (rec && target->requires_grad && !(dy = ml_empty(x->ndim, x->shape, x->dtype))) goto done;
    if (red == ML_REDUCE_NONE && !(out = ml_empty(x->ndim, x->shape, x->dtype))) goto done;
    int64_t nb = (x->numel + BCE_BLOCK - 1) / BCE_BLOCK;
    if (!(part = malloc(sizeof(double) * (size_t)(nb + 1)))) {
        ml_error("%s: out of memory", fn);
        goto done;
    }
    bce_job j = {.n = x->numel, .x = ml_data(x), .y = ml_data(y), .w = w ? ml_data(w) : NULL,
                 .pw = pw ? ml_data(pw) : NULL, .loss = out ? ml_data(out) : NULL, .part = part,
                 .dx = dx ? ml_data(dx) : NULL, .dy = dy ? ml_data(dy) : NULL};
    bool f32 = x->dtype == ML_FLOAT32;
    ml_range_fn kern = logits ? (f32 ? bce_fwd_float : bce_fwd_double) : (f32 ? bcep_fwd_float : bcep_fwd_double);
    ml_parallel_for(nb, ML_PAR_GRAIN / BCE_BLOCK, kern, &j);
    double denom = 1;
    if (red != ML_REDUCE_NONE) {
        double total = 0;
        for (int64_t b = 0; b < nb; b++) total += part[b];
        if (red == ML_REDUCE_MEAN) {
            denom = (double)x->numel;
            total /= denom;
        }
        if (!(out = ml_scalar(total, x->dtype))) goto done;
    }
    if (rec) {
        ml_node *n = record_loss(fn, bce_backward, &out, 2, in2, red, denom);
        if (!n) goto done;
        if (dx) ml_save(n, 0, dx);
        if (dy) ml_save(n, 1, dy);
    }
done:
    free(part);
    ml_release(dy);
    ml_release(dx);
    ml_release(pw);
    ml_release(w);
    ml_release(y);
    ml_release(x);
    return out;
}

ml_tensor *ml_bce_with_logits(ml_tensor *x, ml_tensor *y, ml_tensor *weight, ml_tensor *pos_weight, ml_reduction red) {
    return bce_impl("binary_cross_entropy_with_logits", true, x, y, weight, pos_weight, red);
}

ml_tensor *ml_bce(ml_tensor *x, ml_tensor *y, ml_tensor *weight, ml_reduction red) {
    return bce_impl("binary_cross_entropy", false, x, y, weight, NULL, red);
}

/* ---- mean squared error ------------------------------------------------- */
/* loss = (x - y)^2; the saved 2 (x - y) serves both inputs (d/dy = -d/dx). */
typedef struct {
    int64_t n;
    const void *x, *y;
    void *loss, *d2; /* per element ("none") or NULL; 2 (x - y) or NULL */
    double *part;
} mse_job;

/* Separate simple loops over a block (in cache) vectorize; the sum keeps 8
 * independent double accumulators, so it is not one long dependency chain. */
#define DEF_MSE(T)                                                                                           \
    static void mse_fwd_##T(void *p, int64_t s, int64_t e) {                                                \
        mse_job *j = p;                                                                                     \
        for (int64_t b = s; b < e; b++) {                                                                   \
            int64_t i0 = b * BCE_BLOCK, n = (i0 + BCE_BLOCK < j->n ? i0 + BCE_BLOCK : j->n) - i0;           \
            const T *x = (const T *)j->x + i0, *y = (const T *)j->y + i0;                                   \
            if (j->loss) {                                                                                  \
                T *l = (T *)j->loss + i0;                                                                   \
                for (int64_t i = 0; i < n; i++) l[i] = (x[i] - y[i]) * (x[i] - y[i]);                       \
            }                                                                                               \
            if (j->d2) {                                                                                    \
                T *d2 = (T *)j->d2 + i0;                                                                    \
                for (int64_t i = 0; i < n; i++) d2[i] = (x[i] - y[i]) + (x[i] - y[i]);                      \
            }                                                                                               \
            double a[8] = {0};                                                                              \
            int64_t i = 0;                                                                                  \
            for (; i + 8 <= n; i += 8)                                                                      \
                for (int k = 0; k < 8; k++) {                                                               \
                    double d = (double)(x[i + k] - y[i + k]);                                               \
                    a[k] += d * d;                                                                          \
                }                                                                                           \
            for (; i < n; i++) {                                                                            \
                double d = (double)(x[i] - y[i]);                                                           \
                a[0] += d * d;                                                                              \
            }                                                                                               \
            j->part[b] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));                 \
        }                                                                                                   \
    }
DEF_MSE(float)
DEF_MSE(double)

/* For the fused training step (train_step.c): the same kernel block by
 * block on the caller's arrays, the blocks' sums added in order. */
double ml_mse_raw(ml_dtype dt, const void *x, const void *y, void *d2, int64_t n) {
    size_t es = ml_dtype_size(dt);
    double total = 0, part = 0;
    for (int64_t i0 = 0; i0 < n; i0 += BCE_BLOCK) {
        mse_job j = {.n = n - i0, .x = (const char *)x + i0 * es, .y = (const char *)y + i0 * es,
                     .d2 = (char *)d2 + i0 * es, .part = &part};
        (dt == ML_FLOAT32 ? mse_fwd_float : mse_fwd_double)(&j, 0, 1);
        total += part;
    }
    return total;
}

static int mse_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *d = ml_saved(n, 0);
    if (!d) return -1;
    for (int k = 0; k < 2; k++)
        if (n->needs[k] && !(gin[k] = scale_saved(d, g, (ml_reduction)n->ctx.loss.reduction, n->ctx.loss.denom, 1, 1, k ? -1 : 1)))
            return -1;
    return 0;
}

ml_tensor *ml_mse_loss(ml_tensor *input, ml_tensor *target, ml_reduction red) {
    const char *fn = "mse_loss";
    char b1[128], b2[128];
    if (!ml_dtype_is_float(input->dtype))
        return ml_error("%s: input must be a float tensor, got %s", fn, ml_dtype_name(input->dtype));
    if (!ml_same_shape(input, target))
        return ml_error("%s: target of shape %s does not match input of shape %s", fn,
                        ml_shape_str(b1, sizeof b1, target->ndim, target->shape),
                        ml_shape_str(b2, sizeof b2, input->ndim, input->shape));
    if (target->dtype != input->dtype)
        return ml_error("%s: target dtype %s differs from the input's %s", fn, ml_dtype_name(target->dtype),
                        ml_dtype_name(input->dtype));
    ml_tensor *in2[2] = {input, target};
    bool rec = ml_needs_record(2, in2);
    ml_tensor *x = ml_contiguous(input), *y = x ? ml_contiguous(target) : NULL, *d2 = NULL, *out = NULL;
    double *part = NULL;
    if (!y) goto done;
    if (rec && !(d2 = ml_empty(x->ndim, x->shape, x->dtype))) goto done;
    if (red == ML_REDUCE_NONE && !(out = ml_empty(x->ndim, x->shape, x->dtype))) goto done;
    int64_t nb = (x->numel + BCE_BLOCK - 1) / BCE_BLOCK;
    if (!(part = malloc(sizeof(double) * (size_t)(nb + 1)))) {
        ml_error("%s: out of memory", fn);
        goto done;
    }
    mse_job j = {.n = x->numel, .x = ml_data(x), .y = ml_data(y), .loss = out ? ml_data(out) : NULL,
                 .d2 = d2 ? ml_data(d2) : NULL, .part = part};
    ml_parallel_for(nb, ML_PAR_GRAIN / BCE_BLOCK, x->dtype == ML_FLOAT32 ? mse_fwd_float : mse_fwd_double, &j);
    double denom = 1;
    if (red != ML_REDUCE_NONE) {
        double total = 0;
        for (int64_t b = 0; b < nb; b++) total += part[b];
        if (red == ML_REDUCE_MEAN) {
            denom = (double)x->numel;
            total /= denom;
        }
        if (!(out = ml_scalar(total, x->dtype))) goto done;
    }
    if (rec) {
        ml_node *n = record_loss(fn, mse_backward, &out, 2, in2, red, denom);
        if (!n) goto done;
        ml_save(n, 0, d2);
    }
done:
    free(part);
    ml_release(d2);
    ml_release(y);
    ml_release(x);
    return out;
}
