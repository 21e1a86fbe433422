/* 2-D convolution by im2col + GEMM (see conv.h).
 *
 * Which path: float32 convolutions with at least 16 input and output
 * channels (and groups 1, zero padding) go to oneDNN's direct primitives
 * (conv_dnnl.c), which won that range in scripts/bench/conv_layers.sh;
 * thin layers (an image's 1 or 3 input channels), groups, reflect padding
 * and float64 (gradient checks) take im2col + GEMM here: one sample's
 * im2col buffer stays in L2, the products go through ml_sgemm (which picks
 * oneDNN's or OpenBLAS's GEMM by shape) and samples run in parallel, one
 * thread each. MOONLAB_CONV=im2col / =onednn forces a side.
 *
 * For one sample and one group g (Kg = C/g * KH * KW, P = OH * OW):
 *   forward   y_g  (OCg, P)  = W_g (OCg, Kg) @ col (Kg, P)
 *   input     dcol (Kg, P)   = W_g^T @ dy_g (OCg, P);  dx += col2im(dcol)
 *   weight    dW_g (OCg, Kg) += dy_g @ col^T           (summed over samples)
 *   bias      db[oc] = sum over n and P of dy
 * A 1x1 kernel with stride 1 and no padding needs no im2col: col is x. */
#include "conv.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "../core/error.h"
#include "../core/parallel.h"
#include "conv_dnnl.h"
#include "gemm.h"

typedef struct {
    int64_t N, C, H, W;   /* input of the convolution */
    int64_t OC, KH, KW;   /* weight (OC, C / G, KH, KW) */
    int64_t OH, OW;       /* output */
    int64_t sh, sw, pt, pl, dh, dw, G;
    bool reflect;
} geom;

static inline bool is_pointwise(const geom *g) {
    return g->KH == 1 && g->KW == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->OH == g->H &&
           g->OW == g->W;
}

/* mirrored index for reflect padding (pad < n, so one reflection suffices) */
static inline int64_t reflect_at(int64_t i, int64_t n) {
    if (i < 0) return -i;
    if (i >= n) return 2 * (n - 1) - i;
    return i;
}

/* Threads for a loop over N samples: the knob, at most N, 1 inside a parallel region. */
static int sample_threads(int64_t N) {
    int nt = omp_in_parallel() ? 1 : ml_get_threads();
    if (nt > N) nt = (int)N;
    return nt < 1 ? 1 : nt;
}

static inline void gemm_float(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *A, int64_t lda,
                              const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    ml_sgemm(ta, tb, m, n, k, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
static inline void gemm_double(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double *A, int64_t lda,
                               const double *B, int64_t ldb, double beta, double *C, int64_t ldc) {
    ml_dgemm(ta, tb, m, n, k, 1.0, A, lda, B, ldb, beta, C, ldc);
}

#define DEF_CONV(T)                                                                                            \
    /* col (Cg * KH * KW, OH * OW) from x (Cg, H, W) */                                                        \
    static void im2col_##T(const geom *g, int64_t Cg, const T *x, T *col) {                                    \
        int64_t P = g->OH * g->OW;                                                                             \
        for (int64_t c = 0; c < Cg; c++)                                                                       \
            for (int64_t kh = 0; kh < g->KH; kh++)                                                             \
                for (int64_t kw = 0; kw < g->KW; kw++) {                                                       \
                    T *row = col + ((c * g->KH + kh) * g->KW + kw) * P;                                        \
                    const T *xc = x + c * g->H * g->W;                                                         \
                    int64_t w0 = kw * g->dw - g->pl;                                                           \
                    for (int64_t oh = 0; oh < g->OH; oh++) {                                                   \
                        T *r = row + oh * g->OW;                                                               \
                        int64_t ih = oh * g->sh - g->pt + kh * g->dh;                                          \
                        if (g->reflect) {                                                                      \
                            const T *xr = xc + reflect_at(ih, g->H) * g->W;                                    \
                            for (int64_t ow = 0; ow < g->OW; ow++) r[ow] = xr[reflect_at(w0 + ow * g->sw, g->W)]; \
                            continue;                                                                          \
                        }                                                                                      \
                        if (ih < 0 || ih >= g->H) {                                                            \
                            memset(r, 0, (size_t)g->OW * sizeof(T));                                           \
                            continue;                                                                          \
                        }                                                                                      \
                        const T *xr = xc + ih * g->W;                                                          \
                        if (g->sw == 1) {                                                                      \
                            /* ow in [lo, hi) reads x; the rest is padding */                                  \
                            int64_t lo = w0 < 0 ? -w0 : 0, hi = g->W - w0;                                     \
                            if (hi > g->OW) hi = g->OW;                                                        \
                            if (lo > g->OW) lo = g->OW;                                                        \
                            if (hi < lo) hi = lo;                                                              \
                            memset(r, 0, (size_t)lo * sizeof(T));                                              \
                            memcpy(r + lo, xr + w0 + lo, (size_t)(hi - lo) * sizeof(T));                       \
                            memset(r + hi, 0, (size_t)(g->OW - hi) * sizeof(T));                               \
                        } else {                                                                               \
                            for (int64_t ow = 0; ow < g->OW; ow++) {                                           \
                                int64_t iw = w0 + ow * g->sw;                                                  \
                                r[ow] = iw >= 0 && iw < g->W ? xr[iw] : 0;                                     \
                            }                                                                                  \
                        }                                                                                      \
                    }                                                                                          \
                }                                                                                              \
    }                                                                                                          \
    /* x (Cg, H, W) += col2im(col): the adjoint of im2col */                                                   \
    static void col2im_##T(const geom *g, int64_t Cg, const T *col, T *x) {                                    \
        int64_t P = g->OH * g->OW;                                                                             \
        for (int64_t c = 0; c < Cg; c++)                                                                       \
            for (int64_t kh = 0; kh < g->KH; kh++)                                                             \
                for (int64_t kw = 0; kw < g->KW; kw++) {                                                       \
                    const T *row = col + ((c * g->KH + kh) * g->KW + kw) * P;                                  \
                    T *xc = x + c * g->H * g->W;                                                               \
                    int64_t w0 = kw * g->dw - g->pl;                                                           \
                    for (int64_t oh = 0; oh < g->OH; oh++) {                                                   \
                        const T *r = row + oh * g->OW;                                                         \
                        int64_t ih = oh * g->sh - g->pt + kh * g->dh;                                          \
                        if (g->reflect) {                                                                      \
                            T *xr = xc + reflect_at(ih, g->H) * g->W;                                          \
                            for (int64_t ow = 0; ow < g->OW; ow++) xr[reflect_at(w0 + ow * g->sw, g->W)] += r[ow]; \
                            continue;                                                                          \
                        }                                                                                      \
                        if (ih < 0 || ih >= g->H) continue;                                                    \
                        T *xr = xc + ih * g->W;                                                                \
                        for (int64_t ow = 0; ow < g->OW; ow++) {                                               \
                            int64_t iw = w0 + ow * g->sw;                                                      \
                            if (iw >= 0 && iw < g->W) xr[iw] += r[ow];                                         \
                        }                                                                                      \
                    }                                                                                          \
                }                                                                                              \
    }                                                                                                          \
    /* y (N, OC, OH, OW) = conv(x (N, C, H, W), w); bias (OC) or NULL */                                       \
    static int fwd_##T(const geom *g, T *y, const T *x, const T *w, const T *bias) {                          \
        int64_t Cg = g->C / g->G, OCg = g->OC / g->G, Kg = Cg * g->KH * g->KW, P = g->OH * g->OW;              \
        bool direct = is_pointwise(g);                                                                         \
        int nt = sample_threads(g->N), bad = 0;                                                                \
        _Pragma("omp parallel num_threads(nt) reduction(|:bad)") {                                             \
            T *col = direct ? NULL : malloc((size_t)(Kg * P) * sizeof(T));                                     \
            if (!direct && !col) bad = 1;                                                                      \
            else {                                                                                             \
                _Pragma("omp for schedule(static)") for (int64_t n = 0; n < g->N; n++) {                       \
                    for (int64_t gi = 0; gi < g->G; gi++) {                                                    \
                        const T *xs = x + (n * g->C + gi * Cg) * g->H * g->W;                                  \
                        if (!direct) im2col_##T(g, Cg, xs, col);                                               \
                        T *ys = y + (n * g->OC + gi * OCg) * P;                                                \
                        gemm_##T(false, false, OCg, P, Kg, w + gi * OCg * Kg, Kg, direct ? xs : col, P, 0, ys, P); \
                        if (bias)                                                                              \
                            for (int64_t o = 0; o < OCg; o++) {                                                \
                                T b = bias[gi * OCg + o], *yo = ys + o * P;                                    \
                                for (int64_t p = 0; p < P; p++) yo[p] += b;                                    \
                            }                                                                                  \
                    }                                                                                          \
                }                                                                                              \
            }                                                                                                  \
            free(col);                                                                                         \
        }                                                                                                      \
        return bad ? -1 : 0;                                                                                   \
    }                                                                                                          \
    /* dx (N, C, H, W) = the adjoint of fwd in x, at dy (N, OC, OH, OW) */                                     \
    static int dgrad_##T(const geom *g, T *dx, const T *dy, const T *w) {                                     \
        int64_t Cg = g->C / g->G, OCg = g->OC / g->G, Kg = Cg * g->KH * g->KW, P = g->OH * g->OW;              \
        bool direct = is_pointwise(g);                                                                         \
        int nt = sample_threads(g->N), bad = 0;                                                                \
        _Pragma("omp parallel num_threads(nt) reduction(|:bad)") {                                             \
            T *col = direct ? NULL : malloc((size_t)(Kg * P) * sizeof(T));                                     \
            if (!direct && !col) bad = 1;                                                                      \
            else {                                                                                             \
                _Pragma("omp for schedule(static)") for (int64_t n = 0; n < g->N; n++) {                       \
                    T *dxs = dx + n * g->C * g->H * g->W;                                                      \
                    if (!direct) memset(dxs, 0, (size_t)(g->C * g->H * g->W) * sizeof(T));                     \
                    for (int64_t gi = 0; gi < g->G; gi++) {                                                    \
                        const T *dys = dy + (n * g->OC + gi * OCg) * P;                                        \
                        T *dxg = dxs + gi * Cg * g->H * g->W;                                                  \
                        gemm_##T(true, false, Kg, P, OCg, w + gi * OCg * Kg, Kg, dys, P, 0, direct ? dxg : col, P); \
                        if (!direct) col2im_##T(g, Cg, col, dxg);                                              \
                    }                                                                                          \
                }                                                                                              \
            }                                                                                                  \
            free(col);                                                                                         \
        }                                                                                                      \
        return bad ? -1 : 0;                                                                                   \
    }                                                                                                          \
    /* dw (OC, Cg, KH, KW) = sum over samples of dy_g @ col^T; each thread sums its samples, then one add */   \
    static int wgrad_##T(const geom *g, T *dw, const T *x, const T *dy) {                                     \
        int64_t Cg = g->C / g->G, OCg = g->OC / g->G, Kg = Cg * g->KH * g->KW, P = g->OH * g->OW;              \
        int64_t WN = g->OC * Kg;                                                                               \
        bool direct = is_pointwise(g);                                                                         \
        int nt = sample_threads(g->N), bad = 0;                                                                \
        T *part = calloc((size_t)(nt * WN) + 1, sizeof(T));                                                    \
        if (!part) return -1;                                                                                  \
        _Pragma("omp parallel num_threads(nt) reduction(|:bad)") {                                             \
            T *acc = part + (int64_t)omp_get_thread_num() * WN;                                                \
            T *col = direct ? NULL : malloc((size_t)(Kg * P) * sizeof(T));                                     \
            if (!direct && !col) bad = 1;                                                                      \
            else {                                                                                             \
                _Pragma("omp for schedule(static)") for (int64_t n = 0; n < g->N; n++) {                       \
                    for (int64_t gi = 0; gi < g->G; gi++) {                                                    \
                        const T *xs = x + (n * g->C + gi * Cg) * g->H * g->W;                                  \
                        if (!direct) im2col_##T(g, Cg, xs, col);                                               \
                        const T *dys = dy + (n * g->OC + gi * OCg) * P;                                        \
                        gemm_##T(false, true, OCg, Kg, P, dys, P, direct ? xs : col, P, 1, acc + gi * OCg * Kg, Kg); \
                    }                                                                                          \
                }                                                                                              \
            }                                                                                                  \
            free(col);                                                                                         \
        }                                                                                                      \
        for (int64_t i = 0; i < WN; i++) {                                                                     \
            T s = 0;                                                                                           \
            for (int t = 0; t < nt; t++) s += part[t * WN + i];                                                \
            dw[i] = s;                                                                                         \
        }                                                                                                      \
        free(part);                                                                                            \
        return bad ? -1 : 0;                                                                                   \
    }                                                                                                          \
    /* db (OC) = sum of dy (N, OC, P) over n and p, in double */                                               \
    static void bgrad_##T(T *db, const T *dy, int64_t N, int64_t OC, int64_t P) {                              \
        for (int64_t o = 0; o < OC; o++) {                                                                     \
            double s = 0;                                                                                      \
            for (int64_t n = 0; n < N; n++) {                                                                  \
                const T *d = dy + (n * OC + o) * P;                                                            \
                for (int64_t p = 0; p < P; p++) s += d[p];                                                     \
            }                                                                                                  \
            db[o] = (T)s;                                                                                      \
        }                                                                                                      \
    }
DEF_CONV(float)
DEF_CONV(double)

static int oom(void) {
    ml_error("conv2d: out of memory for the im2col buffers");
    return -1;
}
/* oneDNN's primitive for this float32 geometry when the rule wants it (conv_dnnl.h) */
static bool dnnl_geom(const geom *g, const ml_tensor *t, ml_dnnl_conv_geom *d) {
    if (t->dtype != ML_FLOAT32 || g->G != 1 || g->reflect) return false;
    *d = (ml_dnnl_conv_geom){.N = g->N, .C = g->C, .H = g->H, .W = g->W, .OC = g->OC, .KH = g->KH, .KW = g->KW,
                             .OH = g->OH, .OW = g->OW, .sh = g->sh, .sw = g->sw, .pt = g->pt, .pl = g->pl,
                             .dh = g->dh, .dw = g->dw};
    return ml_dnnl_conv_wanted(d);
}
static int run_fwd(const geom *g, ml_tensor *y, ml_tensor *x, ml_tensor *w, ml_tensor *b) {
    ml_dnnl_conv_geom d;
    if (dnnl_geom(g, y, &d) && ml_dnnl_conv_fwd(&d, ml_data(y), ml_data(x), ml_data(w), b ? ml_data(b) : NULL) == 0)
        return 0;
    int rc = y->dtype == ML_FLOAT32 ? fwd_float(g, ml_data(y), ml_data(x), ml_data(w), b ? ml_data(b) : NULL)
                                    : fwd_double(g, ml_data(y), ml_data(x), ml_data(w), b ? ml_data(b) : NULL);
    return rc < 0 ? oom() : 0;
}
static int run_dgrad(const geom *g, ml_tensor *dx, ml_tensor *dy, ml_tensor *w) {
    ml_dnnl_conv_geom d;
    if (dnnl_geom(g, dx, &d) && ml_dnnl_conv_dgrad(&d, ml_data(dx), ml_data(dy), ml_data(w)) == 0) return 0;
    int rc = dx->dtype == ML_FLOAT32 ? dgrad_float(g, ml_data(dx), ml_data(dy), ml_data(w))
                                     : dgrad_double(g, ml_data(dx), ml_data(dy), ml_data(w));
    return rc < 0 ? oom() : 0;
}
static int run_wgrad(const geom *g, ml_tensor *dw, ml_tensor *x, ml_tensor *dy) {
    ml_dnnl_conv_geom d;
    if (dnnl_geom(g, dw, &d) && ml_dnnl_conv_wgrad(&d, ml_data(dw), ml_data(x), ml_data(dy)) == 0) return 0;
    int rc = dw->dtype == ML_FLOAT32 ? wgrad_float(g, ml_data(dw), ml_data(x), ml_data(dy))
                                     : wgrad_double(g, ml_data(dw), ml_data(x), ml_data(dy));
    return rc < 0 ? oom() : 0;
}
static void run_bgrad(ml_tensor *db, ml_tensor *dy) {
    int64_t P = dy->shape[2] * dy->shape[3];
    if (db->dtype == ML_FLOAT32) bgrad_float(ml_data(db), ml_data(dy), dy->shape[0], dy->shape[1], P);
    else bgrad_double(ml_data(db), ml_data(dy), dy->shape[0], dy->shape[1], P);
}

int64_t ml_conv_out_size(int64_t in, int k, int stride, int pad_lo, int pad_hi, int dil) {
    int64_t span = (int64_t)dil * (k - 1) + 1, padded = in + pad_lo + pad_hi;
    if (stride < 1 || padded < span) return -1;
    return (padded - span) / stride + 1;
}

/* The convolution's geometry from x (N, C, H, W) and weight (OC, C/G, KH, KW); its output is (N, OC, OH, OW). */
static void make_geom(geom *g, const int64_t *xs, const int64_t *ws, int64_t OH, int64_t OW, const ml_conv_opts *o) {
    *g = (geom){.N = xs[0], .C = xs[1], .H = xs[2], .W = xs[3], .OC = ws[0], .KH = ws[2], .KW = ws[3],
                .OH = OH, .OW = OW, .sh = o->stride[0], .sw = o->stride[1], .pt = o->pad[0], .pl = o->pad[2],
                .dh = o->dil[0], .dw = o->dil[1], .G = o->groups, .reflect = o->reflect};
}

static void geom_from_node(geom *g, ml_node *n, bool transposed) {
    ml_conv_opts o = {{n->ctx.conv.stride[0], n->ctx.conv.stride[1]},
                      {n->ctx.conv.pad[0], 0, n->ctx.conv.pad[1], 0},
                      {n->ctx.conv.dil[0], n->ctx.conv.dil[1]},
                      n->ctx.conv.groups,
                      n->ctx.conv.reflect};
    /* the convolution's input is x for conv2d, the output z for the transposed one */
    const int64_t *cin = transposed ? n->out_shape : n->in_shape[0];
    const int64_t *cout = transposed ? n->in_shape[0] : n->out_shape;
    make_geom(g, cin, n->in_shape[1], cout[2], cout[3], &o);
}

static void save_opts(ml_node *n, const ml_conv_opts *o) {
    n->ctx.conv.stride[0] = o->stride[0], n->ctx.conv.stride[1] = o->stride[1];
    n->ctx.conv.pad[0] = o->pad[0], n->ctx.conv.pad[1] = o->pad[2];
    n->ctx.conv.dil[0] = o->dil[0], n->ctx.conv.dil[1] = o->dil[1];
    n->ctx.conv.groups = o->groups, n->ctx.conv.reflect = o->reflect;
}

/* inputs x, weight, bias; saved x and weight (contiguous) */
static int conv_backward(ml_node *n, ml_tensor *gout, ml_tensor **gin) {
    ml_tensor *x = ml_saved(n, 0), *w = ml_saved(n, 1);
    if (!x || !w) return -1;
    ml_tensor *g = ml_contiguous(gout);
    if (!g) return -1;
    geom ge;
    geom_from_node(&ge, n, false);
    int rc = -1;
    if (n->needs[0] && (!(gin[0] = ml_empty(4, x->shape, x->dtype)) || run_dgrad(&ge, gin[0], g, w) < 0)) goto done;
    if (n->needs[1] && (!(gin[1] = ml_empty(4, w->shape, w->dtype)) || run_wgrad(&ge, gin[1], x, g) < 0)) goto done;
    if (n->needs[2]) {
        if (!(gin[2] = ml_empty(1, &ge.OC, x->dtype))) goto done;
        run_bgrad(gin[2], g);
    }
    rc = 0;
done:
    ml_release(g);
    return rc;
}

/* inputs x (the convolution's output side), weight, bias; saved x and weight */
static int conv_transpose_backward(ml_node *n, ml_tensor *gout, ml_tensor **gin) {
    ml_tensor *x = ml_saved(n, 0), *w = ml_saved(n, 1);
    if (!x || !w) return -1;
    ml_tensor *g = ml_contiguous(gout);
    if (!g) return -1;
    geom ge;
    geom_from_node(&ge, n, true);
    int rc = -1;
    /* z = dgrad(x): dL/dx = conv(g), dL/dw = wgrad with g as the convolution's input and x as its dy */
    if (n->needs[0] && (!(gin[0] = ml_empty(4, x->shape, x->dtype)) || run_fwd(&ge, gin[0], g, w, NULL) < 0)) goto done;
    if (n->needs[1] && (!(gin[1] = ml_empty(4, w->shape, w->dtype)) || run_wgrad(&ge, gin[1], g, x) < 0)) goto done;
    if (n->needs[2]) {
        if (!(gin[2] = ml_empty(1, &ge.C, x->dtype))) goto done;
        run_bgrad(gin[2], g);
    }
    rc = 0;
done:
    ml_release(g);
    return rc;
}

/* The checks both directions share; x_ch is the channel count the weight's dimension 2 must match (times G). */
static ml_tensor *check_args(const char *fn, ml_tensor *x, ml_tensor *w, ml_tensor *b, const ml_conv_opts *o,
                             bool transposed) {
    if (!ml_dtype_is_float(x->dtype)) return ml_error("%s: input must be a float tensor, got %s", fn, ml_dtype_name(x->dtype));
    if (x->ndim != 4) return ml_error("%s: input must be 4-D (N, C, H, W), got %d dimensions", fn, x->ndim);
    if (w->ndim != 4) return ml_error("%s: weight must be 4-D, got %d dimensions", fn, w->ndim);
    if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return ml_error("%s: weight and bias must have the input's dtype %s", fn, ml_dtype_name(x->dtype));
    int G = o->groups;
    if (G < 1) return ml_error("%s: groups must be >= 1, got %d", fn, G);
    for (int i = 0; i < 2; i++) {
        if (o->stride[i] < 1) return ml_error("%s: stride must be >= 1, got %d", fn, o->stride[i]);
        if (o->dil[i] < 1) return ml_error("%s: dilation must be >= 1, got %d", fn, o->dil[i]);
    }
    for (int i = 0; i < 4; i++)
        if (o->pad[i] < 0) return ml_error("%s: padding must be >= 0, got %d", fn, o->pad[i]);
    int64_t in_ch = transposed ? w->shape[0] : w->shape[1] * G;
    int64_t out_ch = transposed ? w->shape[1] * G : w->shape[0];
    if (x->shape[1] != in_ch)
        return ml_error("%s: input has %lld channels, expected %lld", fn, (long long)x->shape[1], (long long)in_ch);
    if (w->shape[0] % G) /* conv: output channels; transposed: input channels */
        return ml_error("%s: %s channels (%lld) must be divisible by groups (%d)", fn, transposed ? "input" : "output",
                        (long long)w->shape[0], G);
    if (b && (b->ndim != 1 || b->shape[0] != out_ch))
        return ml_error("%s: bias must have %lld elements (one per output channel)", fn, (long long)out_ch);
    if (o->reflect) {
        if (transposed) return ml_error("%s: only zero padding is supported", fn);
        if (o->pad[0] >= x->shape[2] || o->pad[1] >= x->shape[2] || o->pad[2] >= x->shape[3] || o->pad[3] >= x->shape[3])
            return ml_error("%s: reflect padding must be smaller than the input size (%lld x %lld)", fn,
                            (long long)x->shape[2], (long long)x->shape[3]);
    }
    return x;
}

ml_tensor *ml_conv2d(ml_tensor *x, ml_tensor *w, ml_tensor *b, const ml_conv_opts *o) {
    const char *fn = "conv2d";
    if (!check_args(fn, x, w, b, o, false)) return NULL;
    int64_t OH = ml_conv_out_size(x->shape[2], (int)w->shape[2], o->stride[0], o->pad[0], o->pad[1], o->dil[0]);
    int64_t OW = ml_conv_out_size(x->shape[3], (int)w->shape[3], o->stride[1], o->pad[2], o->pad[3], o->dil[1]);
    if (OH < 1 || OW < 1)
        return ml_error("%s: the kernel (%lld x %lld, dilated) is larger than the padded input (%lld x %lld)", fn,
                        (long long)w->shape[2], (long long)w->shape[3], (long long)(x->shape[2] + o->pad[0] + o->pad[1]),
                        (long long)(x->shape[3] + o->pad[2] + o->pad[3]));
    geom g;
    make_geom(&g, x->shape, w->shape, OH, OW, o);
    int64_t ys[4] = {g.N, g.OC, OH, OW};
    ml_tensor *xc = ml_contiguous(x), *wc = ml_contiguous(w), *bc = b ? ml_contiguous(b) : NULL, *y = NULL;
    if (!xc || !wc || (b && !bc) || !(y = ml_empty(4, ys, x->dtype))) goto fail;
    if (run_fwd(&g, y, xc, wc, bc) < 0) goto fail;
    ml_tensor *in[3] = {x, w, b};
    if (ml_needs_record(b ? 3 : 2, in)) {
        ml_node *n = ml_record(fn, conv_backward, y, b ? 3 : 2, in);
        if (!n) goto fail;
        ml_save(n, 0, xc);
        ml_save(n, 1, wc);
        save_opts(n, o);
    }
    ml_release(xc), ml_release(wc), ml_release(bc);
    return y;
fail:
    ml_release(xc), ml_release(wc), ml_release(bc), ml_release(y);
    return NULL;
}

ml_tensor *ml_conv_transpose2d(ml_tensor *x, ml_tensor *w, ml_tensor *b, const ml_conv_opts *o, const int out_pad[2]) {
    const char *fn = "conv_transpose2d";
    if (!check_args(fn, x, w, b, o, true)) return NULL;
    int64_t os[2];
    for (int i = 0; i < 2; i++) {
        if (out_pad[i] < 0 || (out_pad[i] >= o->stride[i] && out_pad[i] >= o->dil[i]))
            return ml_error("%s: output_padding must be smaller than the stride or the dilation, got %d", fn, out_pad[i]);
        os[i] = (x->shape[2 + i] - 1) * o->stride[i] - o->pad[2 * i] - o->pad[2 * i + 1] +
                (int64_t)o->dil[i] * (w->shape[2 + i] - 1) + 1 + out_pad[i];
        if (os[i] < 1) return ml_error("%s: the output would be empty (size %lld)", fn, (long long)os[i]);
    }
    int64_t zs[4] = {x->shape[0], w->shape[1] * o->groups, os[0], os[1]};
    geom g;
    make_geom(&g, zs, w->shape, x->shape[2], x->shape[3], o);
    ml_tensor *xc = ml_contiguous(x), *wc = ml_contiguous(w), *bc = b ? ml_contiguous(b) : NULL, *z = NULL;
    if (!xc || !wc || (b && !bc) || !(z = ml_empty(4, zs, x->dtype))) goto fail;
    if (run_dgrad(&g, z, xc, wc) < 0) goto fail;
    if (bc) {
        int64_t P = os[0] * os[1];
        for (int64_t n = 0; n < zs[0]; n++)
            for (int64_t c = 0; c < zs[1]; c++) {
                double bv = ml_get_flat(bc, c);
                if (z->dtype == ML_FLOAT32) {
                    float *p = (float *)ml_data(z) + (n * zs[1] + c) * P;
                    for (int64_t i = 0; i < P; i++) p[i] += (float)bv;
                } else {
                    double *p = (double *)ml_data(z) + (n * zs[1] + c) * P;
                    for (int64_t i = 0; i < P; i++) p[i] += bv;
                }
            }
    }
    ml_tensor *in[3] = {x, w, b};
    if (ml_needs_record(b ? 3 : 2, in)) {
        ml_node *n = ml_record(fn, conv_transpose_backward, z, b ? 3 : 2, in);
        if (!n) goto fail;
        ml_save(n, 0, xc);
        ml_save(n, 1, wc);
        save_opts(n, o);
    }
    ml_release(xc), ml_release(wc), ml_release(bc);
    return z;
fail:
    ml_release(xc), ml_release(wc), ml_release(bc), ml_release(z);
    return NULL;
}
