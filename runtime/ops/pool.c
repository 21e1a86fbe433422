/* 2-D pooling (see pool.h). Every kind is a window per output row and
 * column, computed once per call: the first tap, the number of taps, the
 * step between taps, and (average) the divisor's share. Planes (n, c) run
 * in parallel; backward scatters into its own plane, so no races.
 * Max windows hold only the taps inside the input (PyTorch's padding never
 * leaves one empty), so the inner loop checks no bounds.
 *   max:  y = x[argmax];          dx[argmax] += dy
 *   avg:  y = sum(x) / (dh dw);   dx[taps]  += dy / (dh dw) */
#include "pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "../core/error.h"
#include "../core/parallel.h"

enum { POOL_MAX, POOL_AVG, POOL_ADAPTIVE_MAX, POOL_ADAPTIVE_AVG };

typedef struct {
    int64_t lo, n, step, div; /* taps lo + k step for k < n (max: out-of-range ones skipped) */
} win;

int64_t ml_pool_out_size(int64_t in, int k, int stride, int pad, int dil, bool ceil_mode) {
    int64_t span = (int64_t)dil * (k - 1) + 1, num = in + 2 * pad - span;
    if (stride < 1 || k < 1 || num < 0) return -1;
    int64_t o = (ceil_mode ? (num + stride - 1) / stride : num / stride) + 1;
    if (ceil_mode && (o - 1) * stride >= in + pad) o--; /* the last window must start inside */
    return o;
}

/* Windows of one dimension (in -> out) for a pooling kind; w has out entries. */
static void make_windows(win *w, int kind, int64_t in, int64_t out, int k, int s, int p, int d, bool cip) {
    for (int64_t i = 0; i < out; i++) {
        if (kind == POOL_ADAPTIVE_MAX || kind == POOL_ADAPTIVE_AVG) {
            int64_t lo = i * in / out, hi = ((i + 1) * in + out - 1) / out;
            w[i] = (win){lo, hi - lo, 1, hi - lo};
        } else if (kind == POOL_MAX) { /* only the taps inside the input, so the kernel checks no bounds */
            int64_t lo = i * s - p, n = k;
            while (n > 0 && lo < 0) lo += d, n--;
            while (n > 0 && lo + (n - 1) * d >= in) n--;
            w[i] = (win){lo, n, d, 1};
        } else { /* average: clamp to the input; the divisor may count the padding */
            int64_t lo = i * s - p, hi = lo + k, cap = hi < in + p ? hi : in + p;
            int64_t padded = cap - lo;
            if (lo < 0) lo = 0;
            if (hi > in) hi = in;
            w[i] = (win){lo, hi > lo ? hi - lo : 0, 1, cip ? padded : (hi > lo ? hi - lo : 0)};
        }
    }
}

typedef struct {
    int kind;
    int64_t H, W, OH, OW;
    const win *wh, *ww;
    const void *x;  /* (planes, H, W) */
    void *y;        /* (planes, OH, OW) */
    int64_t *idx;   /* (planes, OH, OW) or NULL */
    const void *dy; /* backward */
    void *dx;
    const int64_t *sidx;
} pool_job;

#define DEF_POOL(T)                                                                                    \
    static void fwd_##T(void *ctx, int64_t p0, int64_t p1) {                                           \
        const pool_job *j = ctx;                                                                       \
        bool max = j->kind == POOL_MAX || j->kind == POOL_ADAPTIVE_MAX;                                \
        for (int64_t p = p0; p < p1; p++) {                                                            \
            const T *x = (const T *)j->x + p * j->H * j->W;                                            \
            T *y = (T *)j->y + p * j->OH * j->OW;                                                      \
            int64_t *ix = j->idx ? j->idx + p * j->OH * j->OW : NULL;                                  \
            for (int64_t oh = 0; oh < j->OH; oh++) {                                                   \
                win a = j->wh[oh];                                                                     \
                for (int64_t ow = 0; ow < j->OW; ow++) {                                               \
                    win b = j->ww[ow];                                                                 \
                    if (max) {                                                                         \
                        T best = -INFINITY;                                                            \
                        int64_t at = -1;                                                               \
                        for (int64_t u = 0; u < a.n; u++) {                                            \
                            const T *xr = x + (a.lo + u * a.step) * j->W;                              \
                            for (int64_t v = 0; v < b.n; v++) {                                        \
                                int64_t iw = b.lo + v * b.step;                                        \
                                T xv = xr[iw];                                                         \
                                if (xv > best || at < 0) best = xv, at = (a.lo + u * a.step) * j->W + iw; \
                                else if (xv != xv) { best = xv, at = (a.lo + u * a.step) * j->W + iw; goto found_##T; } \
                            }                                                                          \
                        }                                                                              \
                    found_##T:                                                                         \
                        y[oh * j->OW + ow] = best;                                                     \
                        if (ix) ix[oh * j->OW + ow] = at;                                              \
                    } else {                                                                           \
                        double s = 0;                                                                  \
                        for (int64_t ih = a.lo; ih < a.lo + a.n; ih++)                                 \
                            for (int64_t iw = b.lo; iw < b.lo + b.n; iw++) s += x[ih * j->W + iw];     \
                        int64_t dv = a.div * b.div;                                                    \
                        y[oh * j->OW + ow] = (T)(dv ? s / (double)dv : 0);                             \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }                                                                                                  \
    static void bwd_##T(void *ctx, int64_t p0, int64_t p1) {                                           \
        const pool_job *j = ctx;                                                                       \
        bool max = j->kind == POOL_MAX || j->kind == POOL_ADAPTIVE_MAX;                                \
        for (int64_t p = p0; p < p1; p++) {                                                            \
            T *dx = (T *)j->dx + p * j->H * j->W;                                                      \
            const T *dy = (const T *)j->dy + p * j->OH * j->OW;                                        \
            memset(dx, 0, (size_t)(j->H * j->W) * sizeof(T));                                          \
            if (max) {                                                                                 \
                const int64_t *ix = j->sidx + p * j->OH * j->OW;                                       \
                for (int64_t o = 0; o < j->OH * j->OW; o++)                                            \
                    if (ix[o] >= 0) dx[ix[o]] += dy[o];                                                \
                continue;                                                                              \
            }                                                                                          \
            for (int64_t oh = 0; oh < j->OH; oh++) {                                                   \
                win a = j->wh[oh];                                                                     \
                for (int64_t ow = 0; ow < j->OW; ow++) {                                               \
                    win b = j->ww[ow];                                                                 \
                    int64_t dv = a.div * b.div;                                                        \
                    if (!dv) continue;                                                                 \
                    T g = dy[oh * j->OW + ow] / (T)dv;                                                 \
                    for (int64_t ih = a.lo; ih < a.lo + a.n; ih++)                                     \
                        for (int64_t iw = b.lo; iw < b.lo + b.n; iw++) dx[ih * j->W + iw] += g;        \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }
DEF_POOL(float)
DEF_POOL(double)

/* Windows for a call: one array, rows then columns; NULL with ml_error set. */
static win *windows_for(int kind, const int64_t *xs, int64_t OH, int64_t OW, const ml_pool_opts *o) {
    win *w = malloc((size_t)(OH + OW + 1) * sizeof(win));
    if (!w) return ml_error("pool2d: out of memory");
    make_windows(w, kind, xs[2], OH, o->kernel[0], o->stride[0], o->pad[0], o->dil[0], o->count_include_pad);
    make_windows(w + OH, kind, xs[3], OW, o->kernel[1], o->stride[1], o->pad[1], o->dil[1], o->count_include_pad);
    return w;
}

static int64_t plane_grain(int64_t per_plane) {
    int64_t g = per_plane ? ML_PAR_GRAIN / per_plane : 1;
    return g > 0 ? g : 1;
}

static int pool_backward(ml_node *n, ml_tensor *gout, ml_tensor **gin) {
    int kind = n->ctx.pool.kind;
    bool max = kind == POOL_MAX || kind == POOL_ADAPTIVE_MAX;
    ml_tensor *ix = max ? ml_saved(n, 0) : NULL;
    if (max && !ix) return -1;
    ml_pool_opts o = {{n->ctx.pool.kernel[0], n->ctx.pool.kernel[1]}, {n->ctx.pool.stride[0], n->ctx.pool.stride[1]},
                      {n->ctx.pool.pad[0], n->ctx.pool.pad[1]}, {n->ctx.pool.dil[0], n->ctx.pool.dil[1]},
                      n->ctx.pool.ceil_mode, n->ctx.pool.count_include_pad};
    const int64_t *xs = n->in_shape[0];
    int64_t OH = n->out_shape[2], OW = n->out_shape[3];
    win *w = max ? NULL : windows_for(kind, xs, OH, OW, &o);
    if (!max && !w) return -1;
    ml_tensor *g = ml_contiguous(gout);
    int rc = -1;
    if (g && (gin[0] = ml_empty(4, xs, n->in_dtype[0]))) {
        pool_job j = {.kind = kind, .H = xs[2], .W = xs[3], .OH = OH, .OW = OW, .wh = w, .ww = w ? w + OH : NULL,
                      .dy = ml_data(g), .dx = ml_data(gin[0]), .sidx = ix ? ml_data(ix) : NULL};
        ml_parallel_for(xs[0] * xs[1], plane_grain(xs[2] * xs[3] + OH * OW),
                        n->in_dtype[0] == ML_FLOAT32 ? bwd_float : bwd_double, &j);
        rc = 0;
    }
    ml_release(g);
    free(w);
    return rc;
}

static ml_tensor *pool_run(const char *fn, int kind, ml_tensor *x, int64_t OH, int64_t OW, const ml_pool_opts *o,
                           ml_tensor **indices) {
    bool max = kind == POOL_MAX || kind == POOL_ADAPTIVE_MAX;
    int64_t ys[4] = {x->shape[0], x->shape[1], OH, OW};
    win *w = windows_for(kind, x->shape, OH, OW, o);
    ml_tensor *xc = w ? ml_contiguous(x) : NULL, *y = NULL, *ix = NULL;
    if (!xc || !(y = ml_empty(4, ys, x->dtype))) goto fail;
    bool record = ml_needs_record(1, &x);
    if (max && (record || indices) && !(ix = ml_empty(4, ys, ML_INT64))) goto fail; /* argmax only when needed */
    pool_job j = {.kind = kind, .H = x->shape[2], .W = x->shape[3], .OH = OH, .OW = OW, .wh = w, .ww = w + OH,
                  .x = ml_data(xc), .y = ml_data(y), .idx = ix ? ml_data(ix) : NULL};
    ml_parallel_for(x->shape[0] * x->shape[1], plane_grain(x->shape[2] * x->shape[3] + OH * OW),
                    x->dtype == ML_FLOAT32 ? fwd_float : fwd_double, &j);
    if (record) {
        ml_node *n = ml_record(fn, pool_backward, y, 1, &x);
        if (!n) goto fail;
        if (ix) ml_save(n, 0, ix);
        for (int i = 0; i < 2; i++) {
            n->ctx.pool.kernel[i] = o->kernel[i], n->ctx.pool.stride[i] = o->stride[i];
            n->ctx.pool.pad[i] = o->pad[i], n->ctx.pool.dil[i] = o->dil[i];
        }
        n->ctx.pool.ceil_mode = o->ceil_mode, n->ctx.pool.count_include_pad = o->count_include_pad;
        n->ctx.pool.kind = kind;
    }
    if (indices) *indices = ix;
    else ml_release(ix);
    ml_release(xc);
    free(w);
    return y;
fail:
    ml_release(ix), ml_release(y), ml_release(xc);
    free(w);
    return NULL;
}

static ml_tensor *check_input(const char *fn, ml_tensor *x) {
    if (!ml_dtype_is_float(x->dtype)) return ml_error("%s: input must be a float tensor, got %s", fn, ml_dtype_name(x->dtype));
    if (x->ndim != 4) return ml_error("%s: input must be 4-D (N, C, H, W), got %d dimensions", fn, x->ndim);
    return x;
}

static ml_tensor *windowed(const char *fn, int kind, ml_tensor *x, const ml_pool_opts *o, ml_tensor **indices) {
    if (!check_input(fn, x)) return NULL;
    int64_t out[2];
    for (int i = 0; i < 2; i++) {
        if (o->kernel[i] < 1 || o->stride[i] < 1 || o->dil[i] < 1)
            return ml_error("%s: kernel_size, stride and dilation must be >= 1", fn);
        if (o->pad[i] < 0 || 2 * o->pad[i] > o->kernel[i])
            return ml_error("%s: padding must be between 0 and half the kernel size (%d), got %d", fn, o->kernel[i] / 2,
                            o->pad[i]);
        out[i] = ml_pool_out_size(x->shape[2 + i], o->kernel[i], o->stride[i], o->pad[i], o->dil[i], o->ceil_mode);
        if (out[i] < 1)
            return ml_error("%s: the window (%d, dilated) is larger than the padded input (%lld)", fn, o->kernel[i],
                            (long long)(x->shape[2 + i] + 2 * o->pad[i]));
    }
    return pool_run(fn, kind, x, out[0], out[1], o, indices);
}

ml_tensor *ml_max_pool2d(ml_tensor *x, const ml_pool_opts *o, ml_tensor **indices) {
    return windowed("max_pool2d", POOL_MAX, x, o, indices);
}

ml_tensor *ml_avg_pool2d(ml_tensor *x, const ml_pool_opts *o) {
    ml_pool_opts a = *o;
    a.dil[0] = a.dil[1] = 1;
    return windowed("avg_pool2d", POOL_AVG, x, &a, NULL);
}

ml_tensor *ml_adaptive_pool2d(ml_tensor *x, int64_t OH, int64_t OW, bool max, ml_tensor **indices) {
    const char *fn = max ? "adaptive_max_pool2d" : "adaptive_avg_pool2d";
    if (!check_input(fn, x)) return NULL;
    if (OH < 1 || OW < 1) return ml_error("%s: output_size must be >= 1, got (%lld, %lld)", fn, (long long)OH, (long long)OW);
    ml_pool_opts o = {{1, 1}, {1, 1}, {0, 0}, {1, 1}, false, false};
    return pool_run(fn, max ? POOL_ADAPTIVE_MAX : POOL_AVG + 2, x, OH, OW, &o, indices);
}
