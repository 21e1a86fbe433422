/* Reductions over all elements or along one dimension: sum, mean, prod,
 * max/min (values and indices: the ML_REDUCE_OPS table of optable.h),
 * argmax/argmin, cumsum; var, std, norm and
 * logsumexp are compositions of these (their gradients come for free).
 * float32 sums accumulate in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"

typedef enum { R_SUM, R_PROD, R_MAX, R_MIN } reduce_kind;

/* The geometry of a reduction: input seen as (outer, n, inner), contiguous. */
typedef struct {
    int64_t outer, n, inner;
    int out_ndim;
    int64_t out_shape[ML_MAX_DIMS];
} geom;

static int make_geom(const char *fn, const ml_tensor *a, int dim, bool keepdim, geom *g) {
    if (dim < 0) {
        g->outer = 1;
        g->n = a->numel;
        g->inner = 1;
        g->out_ndim = 0;
        return 0;
    }
    if (dim >= (a->ndim ? a->ndim : 1)) {
        ml_error("%s: dimension %d out of range for a tensor with %d dimensions", fn, dim + 1, a->ndim);
        return -1;
    }
    if (a->ndim == 0) { /* a 0-d tensor reduces over its single element */
        g->outer = g->n = g->inner = 1;
        g->out_ndim = 0;
        return 0;
    }
    g->outer = 1;
    g->inner = 1;
    for (int i = 0; i < dim; i++) g->outer *= a->shape[i];
    for (int i = dim + 1; i < a->ndim; i++) g->inner *= a->shape[i];
    g->n = a->shape[dim];
    int k = 0;
    for (int i = 0; i < a->ndim; i++) {
        if (i == dim) {
            if (keepdim) g->out_shape[k++] = 1;
        } else {
            g->out_shape[k++] = a->shape[i];
        }
    }
    g->out_ndim = k;
    return 0;
}

typedef struct {
    reduce_kind kind;
    geom g;
    ml_dtype dt;
    const void *x;
    void *o;
    int64_t *idx; /* max/min indices (may be NULL) */
} reduce_job;

/* Contiguous sums in blocks of 256 with 16 independent lanes, each block
 * then added in double: the lanes vectorize (the runtime-dispatched AVX2 /
 * AVX-512 clones double the width again) and the error stays that of a
 * pairwise sum, not of a running float sum. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static double sum_f32(const float *x, int64_t n) {
    double total = 0;
    int64_t i = 0;
    for (; i + 256 <= n; i += 256) {
        float acc[16] = {0};
        for (int j = 0; j < 256; j += 16)
            for (int k = 0; k < 16; k++) acc[k] += x[i + j + k];
        double s = 0;
        for (int k = 0; k < 16; k++) s += acc[k];
        total += s;
    }
    for (; i < n; i++) total += x[i];
    return total;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static double sum_f64(const double *x, int64_t n) {
    double acc[8] = {0}, total = 0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[i + k];
    for (; i < n; i++) total += x[i];
    for (int k = 0; k < 8; k++) total += acc[k];
    return total;
}

static inline double sum_contig_float(const float *x, int64_t n) { return sum_f32(x, n); }
static inline double sum_contig_double(const double *x, int64_t n) { return sum_f64(x, n); }
static inline int64_t sum_contig_int64_t(const int64_t *x, int64_t n) {
    int64_t acc = 0;
    for (int64_t i = 0; i < n; i++) acc += x[i];
    return acc;
}

/* Each "lane" (o, k) reduces n elements spaced inner apart. */
#define DEF_REDUCE(T, ACC)                                                                                    \
    static void reduce_##T(void *p, int64_t s, int64_t e) {                                                  \
        reduce_job *j = p;                                                                                   \
        const T *x = j->x;                                                                                   \
        T *o = j->o;                                                                                         \
        int64_t n = j->g.n, inner = j->g.inner;                                                              \
        for (int64_t lane = s; lane < e; lane++) {                                                           \
            int64_t oi = lane / inner, k = lane % inner;                                                     \
            const T *px = x + oi * n * inner + k;                                                            \
            if (j->kind == R_SUM) {                                                                          \
                ACC acc = 0;                                                                                 \
                if (inner == 1)                                                                              \
                    acc = sum_contig_##T(px, n);                                                             \
                else                                                                                         \
                    for (int64_t i = 0; i < n; i++) acc += px[i * inner];                                    \
                o[lane] = (T)acc;                                                                            \
            } else if (j->kind == R_PROD) {                                                                  \
                ACC acc = 1;                                                                                 \
                for (int64_t i = 0; i < n; i++) acc *= px[i * inner];                                        \
                o[lane] = (T)acc;                                                                            \
            } else {                                                                                         \
                bool mx = j->kind == R_MAX;                                                                  \
                T best = px[0];                                                                              \
                int64_t bi = 0;                                                                              \
                for (int64_t i = 1; i < n && best == best; i++) {                                            \
                    T v = px[i * inner];                                                                     \
                    if (v != v || (mx ? v > best : v < best)) { best = v; bi = i; }                          \
                }                                                                                            \
                o[lane] = best;                                                                              \
                if (j->idx) j->idx[lane] = bi;                                                               \
            }                                                                                                \
        }                                                                                                    \
    }
DEF_REDUCE(float, double)
DEF_REDUCE(double, double)
DEF_REDUCE(int64_t, int64_t)

/* Sums along a middle or first dimension a row at a time: acc[k] += x[i][k]
 * walks memory in order and vectorizes, where one lane at a time would
 * stride by inner (a bias gradient: [128,512] summed over the batch). Same
 * order of additions per output as the lane loop, so the same results. */
#define DEF_ROWSUM(T)                                                                                         \
    static void rowsum_##T(void *p, int64_t s, int64_t e) {                                                  \
        reduce_job *j = p;                                                                                   \
        int64_t n = j->g.n, inner = j->g.inner;                                                              \
        double *acc = malloc(sizeof(double) * (size_t)inner);                                                \
        if (!acc) { reduce_##T(p, s * inner, e * inner); return; }                                           \
        for (int64_t oi = s; oi < e; oi++) {                                                                 \
            const T *x = (const T *)j->x + oi * n * inner;                                                   \
            for (int64_t k = 0; k < inner; k++) acc[k] = 0;                                                  \
            for (int64_t i = 0; i < n; i++) {                                                                \
                const T *row = x + i * inner;                                                                \
                for (int64_t k = 0; k < inner; k++) acc[k] += row[k];                                        \
            }                                                                                                \
            T *o = (T *)j->o + oi * inner;                                                                   \
            for (int64_t k = 0; k < inner; k++) o[k] = (T)acc[k];                                            \
        }                                                                                                    \
        free(acc);                                                                                           \
    }
DEF_ROWSUM(float)
DEF_ROWSUM(double)

/* Raw reduction, no autograd. idx receives indices for max/min when asked. */
static ml_tensor *reduce_raw(const char *fn, reduce_kind kind, ml_tensor *a, int dim, bool keepdim, ml_tensor **idx) {
    if (dim < 0 && kind == R_SUM && ml_dtype_is_float(a->dtype) && ml_is_contiguous(a)) {
        /* the sum of everything: the one lane reduce_float/_double would run */
        ml_tensor *out = ml_empty(0, NULL, a->dtype);
        if (!out) return NULL;
        if (a->dtype == ML_FLOAT32) *(float *)ml_data(out) = (float)sum_f32(ml_data(a), a->numel);
        else *(double *)ml_data(out) = sum_f64(ml_data(a), a->numel);
        return out;
    }
    geom g;
    if (make_geom(fn, a, dim, keepdim, &g) < 0) return NULL;
    if ((kind == R_MAX || kind == R_MIN) && g.n == 0) return ml_error("%s: cannot reduce an empty dimension", fn);
    ml_dtype dt = ml_dtype_is_float(a->dtype) ? a->dtype : ML_INT64;
    ml_tensor *c = ml_to_dtype(a, dt), *x = c ? ml_contiguous(c) : NULL;
    ml_release(c);
    if (!x) return NULL;
    ml_tensor *out = ml_empty(g.out_ndim, g.out_shape, dt);
    ml_tensor *it = (out && idx) ? ml_empty(g.out_ndim, g.out_shape, ML_INT64) : NULL;
    if (!out || (idx && !it)) { ml_release(x); ml_release(out); return NULL; }
    reduce_job j = {kind, g, dt, ml_data(x), ml_data(out), it ? ml_data(it) : NULL};
    int64_t lanes = g.outer * g.inner;
    if (kind == R_SUM && g.inner > 1 && ml_dtype_is_float(dt)) {
        int64_t per = g.n * g.inner, grain = per ? ML_PAR_GRAIN / per : g.outer;
        ml_parallel_for(g.outer, grain > 0 ? grain : 1, dt == ML_FLOAT32 ? rowsum_float : rowsum_double, &j);
    } else {
        int64_t grain = g.n ? ML_PAR_GRAIN / g.n : lanes;
        ml_parallel_for(lanes, grain > 0 ? grain : 1, dt == ML_FLOAT32 ? reduce_float : dt == ML_FLOAT64 ? reduce_double : reduce_int64_t, &j);
    }
    ml_release(x);
    if (idx) *idx = it;
    return out;
}

ml_tensor *ml_sum_dim(ml_tensor *a, int dim, bool keepdim) { return reduce_raw("sum", R_SUM, a, dim, keepdim, NULL); }

/* ---- backward rules -------------------------------------------------- */
/* g (reduced shape) viewed with the reduced dim restored to size 1, then expanded to the input. */
static ml_tensor *expand_back(ml_node *n, ml_tensor *g) {
    int dim = n->ctx.reduce.dim;
    bool keepdim = n->ctx.reduce.keepdim;
    ml_tensor *u = (dim >= 0 && !keepdim && n->in_ndim[0] > 0) ? ml_unsqueeze(g, dim) : ml_retain(g);
    if (!u) return NULL;
    ml_tensor *e = ml_expand(u, n->in_ndim[0], n->in_shape[0]);
    ml_release(u);
    return e;
}

static int sum_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *e = expand_back(n, g);
    if (!e) return -1;
    if (n->ctx.reduce.scale != 1.0) { /* mean */
        gin[0] = ml_binary_scalar(ML_MUL, e, n->ctx.reduce.scale, false);
        ml_release(e);
    } else {
        gin[0] = e;
    }
    return gin[0] ? 0 : -1;
}

/* the gradient flows to the chosen element of each lane */
/* max()/min() over all elements: the gradient is shared evenly by every
 * element equal to the result, as PyTorch does. */
static int extreme_all_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *a = ml_saved(n, 1), *v = ml_saved(n, 2);
    if (!a || !v) return -1;
    ml_tensor *mask = ml_compare(ML_EQ, a, v);
    ml_tensor *fm = mask ? ml_to_dtype(mask, g->dtype) : NULL;
    ml_tensor *cnt = fm ? ml_sum_dim(fm, -1, false) : NULL;
    ml_tensor *share = cnt ? ml_div(g, cnt) : NULL;
    gin[0] = share ? ml_mul(fm, share) : NULL;
    ml_release(mask); ml_release(fm); ml_release(cnt); ml_release(share);
    return gin[0] ? 0 : -1;
}

static int maxmin_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    if (n->ctx.reduce.dim < 0) return extreme_all_backward(n, g, gin);
    ml_tensor *idx = ml_saved(n, 0);
    if (!idx) return -1;
    int dim = n->ctx.reduce.dim;
    ml_tensor *gx = ml_zeros(n->in_ndim[0], n->in_shape[0], g->dtype);
    ml_tensor *gc = gx ? ml_contiguous(g) : NULL;
    if (!gc) { ml_release(gx); return -1; }
    geom gm;
    make_geom("max", gx, dim, true, &gm);
    const int64_t *ip = ml_data(idx);
    int64_t lanes = gm.outer * gm.inner;
    for (int64_t lane = 0; lane < lanes; lane++) {
        int64_t oi = lane / gm.inner, k = lane % gm.inner;
        int64_t pos = oi * gm.n * gm.inner + ip[lane] * gm.inner + k;
        if (g->dtype == ML_FLOAT32) ((float *)ml_data(gx))[pos] += ((float *)ml_data(gc))[lane];
        else ((double *)ml_data(gx))[pos] += ((double *)ml_data(gc))[lane];
    }
    ml_release(gc);
    gin[0] = gx;
    return 0;
}

/* d prod / d x_i = product of the other elements: prefix and suffix products, so zeros are handled */
static int prod_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *x = ml_saved(n, 0);
    if (!x) return -1;
    int dim = n->ctx.reduce.dim;
    geom gm;
    make_geom("prod", x, dim, true, &gm);
    ml_tensor *e = expand_back(n, g), *ec = e ? ml_contiguous(e) : NULL;
    ml_release(e);
    ml_tensor *gx = ec ? ml_empty(x->ndim, x->shape, x->dtype) : NULL;
    double *pre = gx ? malloc(sizeof(double) * (gm.n + 1)) : NULL;
    if (!pre) { ml_release(ec); ml_release(gx); return ml_error("prod: out of memory") ? 0 : -1; }
    int64_t lanes = gm.outer * gm.inner;
    for (int64_t lane = 0; lane < lanes; lane++) {
        int64_t oi = lane / gm.inner, k = lane % gm.inner, base = oi * gm.n * gm.inner + k;
        pre[0] = 1;
        for (int64_t i = 0; i < gm.n; i++) pre[i + 1] = pre[i] * ml_get_flat(x, base + i * gm.inner);
        double suf = 1;
        for (int64_t i = gm.n - 1; i >= 0; i--) {
            int64_t pos = base + i * gm.inner;
            ml_set_flat(gx, pos, ml_get_flat(ec, pos) * pre[i] * suf);
            suf *= ml_get_flat(x, pos);
        }
    }
    free(pre);
    ml_release(ec);
    gin[0] = gx;
    return 0;
}

/* ---- the table's rows ------------------------------------------------ */
#define OP_NAME(E, name, ...) [E] = #name,
static const char *const reduce_names[ML_NREDUCE] = {ML_REDUCE_OPS(OP_NAME)};
#define OP_KERNEL(E, name, kernel, ...) [E] = kernel,
static const reduce_kind kernel_of[ML_NREDUCE] = {ML_REDUCE_OPS(OP_KERNEL)};
#define OP_BACKWARD(E, name, kernel, backward, ...) [E] = backward,
static const ml_backward_fn backward_of[ML_NREDUCE] = {ML_REDUCE_OPS(OP_BACKWARD)};
#define OP_COUNT(...) +1
_Static_assert(0 ML_REDUCE_OPS(OP_COUNT) == ML_NREDUCE, "one row per reduction");

/* Saves what the row's backward reads: prod the (contiguous) input, max/min
 * the indices and, over everything, the input and an alias of the output
 * (ties share the gradient, as PyTorch; an alias, because a node must not
 * own its own output: a refcount cycle). */
static int save_for_backward(ml_node *n, reduce_kind kind, ml_tensor *a, ml_tensor *out, ml_tensor *it, int dim) {
    if (kind == R_PROD) {
        ml_tensor *xc = ml_contiguous(a);
        if (!xc) return -1;
        ml_save(n, 0, xc);
        ml_release(xc);
    } else if (kind == R_MAX || kind == R_MIN) {
        ml_save(n, 0, it);
        if (dim < 0) {
            ml_save(n, 1, a);
            if (ml_save_output(n, 2, out) < 0) return -1;
        }
    }
    return 0;
}

/* s *= scale in place, rounded as ml_binary_scalar(ML_MUL, s, scale)
 * rounds it (the scale in s's dtype, one product per element); s is a
 * fresh contiguous float result that nothing else holds. */
static void scale_fresh(ml_tensor *s, double scale) {
    if (s->dtype == ML_FLOAT32) {
        float *p = ml_data(s), f = (float)scale;
        for (int64_t i = 0; i < s->numel; i++) p[i] = p[i] * f;
    } else {
        double *p = ml_data(s);
        for (int64_t i = 0; i < s->numel; i++) p[i] = p[i] * scale;
    }
}

ml_tensor *ml_reduce(ml_reduce_op op, ml_tensor *a, int dim, bool keepdim, ml_tensor **idx) {
    const char *fn = reduce_names[op];
    reduce_kind kind = kernel_of[op];
    bool extreme = kind == R_MAX || kind == R_MIN;
    ml_tensor *it = NULL, *out;
    double scale = 1.0;
    if (op == ML_RMEAN) { /* the sum in float (integers give float32), times 1/n */
        ml_tensor *fa = ml_dtype_is_float(a->dtype) ? ml_retain(a) : ml_to_dtype(a, ML_FLOAT32);
        if (!fa) return NULL;
        ml_tensor *s = reduce_raw(fn, kind, fa, dim, keepdim, NULL);
        ml_release(fa);
        if (!s) return NULL;
        int64_t n = dim < 0 ? a->numel : (a->ndim ? a->shape[dim] : 1);
        scale = n ? 1.0 / (double)n : NAN;
        scale_fresh(s, scale);
        out = s;
    } else {
        out = reduce_raw(fn, kind, a, dim, keepdim, extreme ? &it : NULL);
    }
    if (!out) return NULL;
    if (ml_needs_record(1, &a)) {
        ml_node *n = ml_record(fn, backward_of[op], out, 1, &a);
        if (!n || save_for_backward(n, kind, a, out, it, dim) < 0) { ml_release(out); ml_release(it); return NULL; }
        n->ctx.reduce.dim = dim;
        n->ctx.reduce.keepdim = keepdim;
        n->ctx.reduce.scale = scale;
    }
    if (idx) *idx = it;
    else ml_release(it);
    return out;
}

ml_tensor *ml_sum(ml_tensor *a, int dim, bool keepdim) { return ml_reduce(ML_RSUM, a, dim, keepdim, NULL); }
ml_tensor *ml_mean(ml_tensor *a, int dim, bool keepdim) { return ml_reduce(ML_RMEAN, a, dim, keepdim, NULL); }
ml_tensor *ml_prod(ml_tensor *a, int dim, bool keepdim) { return ml_reduce(ML_RPROD, a, dim, keepdim, NULL); }
ml_tensor *ml_max(ml_tensor *a, int dim, bool keepdim, ml_tensor **idx) { return ml_reduce(ML_RMAX, a, dim, keepdim, idx); }
ml_tensor *ml_min(ml_tensor *a, int dim, bool keepdim, ml_tensor **idx) { return ml_reduce(ML_RMIN, a, dim, keepdim, idx); }

static ml_tensor *argext(const char *fn, reduce_kind kind, ml_tensor *a, int dim, bool keepdim) {
    ml_tensor *it = NULL;
    ml_tensor *v = reduce_raw(fn, kind, a, dim, keepdim, &it);
    ml_release(v);
    return v ? it : NULL;
}

ml_tensor *ml_argmax(ml_tensor *a, int dim, bool keepdim) { return argext("argmax", R_MAX, a, dim, keepdim); }
ml_tensor *ml_argmin(ml_tensor *a, int dim, bool keepdim) { return argext("argmin", R_MIN, a, dim, keepdim); }

/* ---- compositions ----------------------------------------------------- */
ml_tensor *ml_var(ml_tensor *a, int dim, bool keepdim, bool unbiased) {
    if (!ml_dtype_is_float(a->dtype)) return ml_error("var: expected a float tensor, got %s", ml_dtype_name(a->dtype));
    int64_t n = dim < 0 ? a->numel : (a->ndim ? a->shape[dim] : 1);
    ml_tensor *m = ml_mean(a, dim, true);
    ml_tensor *d = m ? ml_sub(a, m) : NULL, *d2 = d ? ml_mul(d, d) : NULL, *s = d2 ? ml_sum(d2, dim, keepdim) : NULL;
    ml_release(m);
    ml_release(d);
    ml_release(d2);
    if (!s) return NULL;
    int64_t denom = unbiased ? n - 1 : n;
    ml_tensor *out = ml_binary_scalar(ML_DIV, s, denom > 0 ? (double)denom : NAN, false);
    ml_release(s);
    return out;
}

/* y = s^(1/p) for s >= 0, with gradient g * y / (p * s) and 0 where s == 0
 * (where the root's derivative is infinite): std and norm at a constant or
 * zero input then get PyTorch's zero gradient instead of NaN. */
static int root_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *s = ml_saved(n, 0), *y = ml_saved(n, 1);
    if (!s || !y) return -1;
    double p = n->ctx.root.p;
    ml_tensor *gc = ml_contiguous(g), *out = gc ? ml_empty(s->ndim, s->shape, s->dtype) : NULL;
    if (!out) { ml_release(gc); return -1; }
    for (int64_t i = 0; i < out->numel; i++) {
        double sv = ml_get_flat(s, i);
        ml_set_flat(out, i, sv == 0 ? 0 : ml_get_flat(gc, i) * ml_get_flat(y, i) / (p * sv));
    }
    ml_release(gc);
    gin[0] = out;
    return 0;
}

static ml_tensor *root(ml_tensor *s, double p) {
    ml_tensor *out;
    bool was = ml_grad_enabled();
    ml_set_grad_enabled(false);
    out = p == 2 ? ml_unary(ML_SQRT, s) : ml_binary_scalar(ML_POW, s, 1.0 / p, false);
    ml_set_grad_enabled(was);
    if (out && ml_needs_record(1, &s)) {
        ml_node *n = ml_record("root", root_backward, out, 1, &s);
        if (!n || ml_save_output(n, 1, out) < 0) { ml_release(out); return NULL; }
        ml_save(n, 0, s);
        n->ctx.root.p = p;
    }
    return out;
}

ml_tensor *ml_std(ml_tensor *a, int dim, bool keepdim, bool unbiased) {
    if (!ml_dtype_is_float(a->dtype)) return ml_error("std: expected a float tensor, got %s", ml_dtype_name(a->dtype));
    ml_tensor *v = ml_var(a, dim, keepdim, unbiased);
    if (!v) return NULL;
    ml_tensor *out = root(v, 2);
    ml_release(v);
    return out;
}

ml_tensor *ml_norm(ml_tensor *a, double p, int dim, bool keepdim) {
    if (!ml_dtype_is_float(a->dtype)) return ml_error("norm: expected a float tensor, got %s", ml_dtype_name(a->dtype));
    if (!(p > 0)) return ml_error("norm: p must be positive, got %g", p);
    ml_tensor *ab = ml_unary(ML_ABS, a);
    if (!ab) return NULL;
    ml_tensor *out;
    if (isinf(p)) {
        out = ml_max(ab, dim, keepdim, NULL);
    } else if (p == 1) {
        out = ml_sum(ab, dim, keepdim);
    } else if (p == 2) { /* sqrt(sum x^2): its gradient x/norm avoids |x|' at 0 */
        ml_tensor *sq = ml_mul(a, a), *s = sq ? ml_sum(sq, dim, keepdim) : NULL;
        out = s ? root(s, 2) : NULL;
        ml_release(sq);
        ml_release(s);
    } else {
        ml_tensor *pw = ml_binary_scalar(ML_POW, ab, p, false), *s = pw ? ml_sum(pw, dim, keepdim) : NULL;
        out = s ? root(s, p) : NULL;
        ml_release(pw);
        ml_release(s);
    }
    ml_release(ab);
    return out;
}

ml_tensor *ml_logsumexp(ml_tensor *a, int dim, bool keepdim) {
    if (!ml_dtype_is_float(a->dtype)) return ml_error("logsumexp: expected a float tensor, got %s", ml_dtype_name(a->dtype));
    /* m + log(sum(exp(x - m))) with m the (constant) max: no overflow */
    ml_tensor *m = reduce_raw("logsumexp", R_MAX, a, dim, true, NULL);
    if (!m) return NULL;
    for (int64_t i = 0; i < m->numel; i++) /* all -inf or inf lanes: shift by 0 */
        if (isinf(ml_get_flat(m, i))) ml_set_flat(m, i, 0);
    ml_tensor *d = ml_sub(a, m), *e = d ? ml_unary(ML_EXP, d) : NULL, *s = e ? ml_sum(e, dim, true) : NULL;
    ml_tensor *l = s ? ml_unary(ML_LOG, s) : NULL, *r = l ? ml_add(l, m) : NULL;
    ml_release(d); ml_release(e); ml_release(s); ml_release(l); ml_release(m);
    if (!r || keepdim) return r;
    ml_tensor *out = dim < 0 ? ml_reshape(r, 0, NULL) : ml_squeeze(r, dim);
    ml_release(r);
    return out;
}

/* ---- cumsum ------------------------------------------------------------ */
static ml_tensor *cumsum_raw(ml_tensor *a, int dim, bool reverse) {
    geom g;
    if (make_geom("cumsum", a, dim, true, &g) < 0) return NULL;
    ml_dtype dt = ml_dtype_is_float(a->dtype) ? a->dtype : ML_INT64;
    ml_tensor *c = ml_to_dtype(a, dt), *x = c ? ml_contiguous(c) : NULL;
    ml_release(c);
    ml_tensor *out = x ? ml_empty(a->ndim, a->shape, dt) : NULL;
    if (!out || out->numel == 0) { ml_release(x); return out; }
    for (int64_t lane = 0; lane < g.outer * g.inner; lane++) {
        int64_t oi = lane / g.inner, k = lane % g.inner, base = oi * g.n * g.inner + k;
        if (dt == ML_INT64) {
            const int64_t *px = ml_data(x);
            int64_t *po = ml_data(out), acc = 0;
            for (int64_t i = 0; i < g.n; i++) {
                int64_t pos = base + (reverse ? g.n - 1 - i : i) * g.inner;
                po[pos] = acc += px[pos];
            }
        } else {
            double acc = 0;
            for (int64_t i = 0; i < g.n; i++) {
                int64_t pos = base + (reverse ? g.n - 1 - i : i) * g.inner;
                acc += dt == ML_FLOAT32 ? ((float *)ml_data(x))[pos] : ((double *)ml_data(x))[pos];
                if (dt == ML_FLOAT32) ((float *)ml_data(out))[pos] = (float)acc;
                else ((double *)ml_data(out))[pos] = acc;
            }
        }
    }
    ml_release(x);
    return out;
}

static int cumsum_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    gin[0] = cumsum_raw(g, n->ctx.along.dim, true);
    return gin[0] ? 0 : -1;
}

ml_tensor *ml_cumsum(ml_tensor *a, int dim) {
    ml_tensor *out = cumsum_raw(a, dim, false);
    if (out && ml_needs_record(1, &a)) {
        ml_node *n = ml_record("cumsum", cumsum_backward, out, 1, &a);
        if (!n) { ml_release(out); return NULL; }
        n->ctx.along.dim = dim;
    }
    return out;
}

/* the rules autograd/graph_rules.c knows by address (create_graph) */
const ml_backward_fn ml_rule_sum = sum_backward, ml_rule_root = root_backward;
