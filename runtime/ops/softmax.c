/* softmax and log_softmax along a dimension: fused, max-subtracted kernels
 * and their backward rules:
 *   softmax:     dx = y * (g - sum(g * y))
 *   log_softmax: dx = g - exp(y) * sum(g)                                  */
#include <math.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"
#include "vecmath.h"

typedef struct {
    int64_t n, inner;
    bool log;
    const void *x, *g; /* forward: x ; backward: y and g */
    void *o;
} sm_job;

/* The exponentials go through vecmath (SLEEF, vectorized), a lane at a time:
 * in place in the output when the lane is contiguous (inner == 1), else
 * through a small stack buffer, gathered and scattered. The sum runs in
 * double in element order, as before, so results do not depend on it. */
enum { SM_CHUNK = 256 };

#define DEF_SOFTMAX(T, VM)                                                                                    \
    /* e[k] = exp(x[k * in] - m) for k < n (e: (n), contiguous) */                                           \
    static inline void exp_shifted_##T(T *e, const T *x, int64_t in, T m, int64_t n) {                       \
        for (int64_t k = 0; k < n; k++) e[k] = x[k * in] - m;                                                \
        VM(ML_VM_EXP, e, e, n);                                                                              \
    }                                                                                                        \
    static void softmax_fwd_##T(void *p, int64_t s, int64_t e) {                                             \
        sm_job *j = p;                                                                                       \
        int64_t n = j->n, in = j->inner;                                                                     \
        T buf[SM_CHUNK];                                                                                     \
        for (int64_t lane = s; lane < e; lane++) {                                                           \
            int64_t base = (lane / in) * n * in + lane % in;                                                 \
            const T *x = (const T *)j->x + base;                                                             \
            T *o = (T *)j->o + base;                                                                         \
            T m = -INFINITY;                                                                                 \
            for (int64_t i = 0; i < n; i++) m = x[i * in] > m ? x[i * in] : m;                               \
            if (isinf(m)) m = 0;                                                                             \
            double sum = 0;                                                                                  \
            if (in == 1) {                                                                                   \
                exp_shifted_##T(o, x, 1, m, n);                                                              \
                for (int64_t i = 0; i < n; i++) sum += o[i];                                                 \
            } else {                                                                                         \
                for (int64_t i0 = 0; i0 < n; i0 += SM_CHUNK) {                                               \
                    int64_t k = n - i0 < SM_CHUNK ? n - i0 : SM_CHUNK;                                       \
                    exp_shifted_##T(buf, x + i0 * in, in, m, k);                                             \
                    for (int64_t c = 0; c < k; c++) {                                                        \
                        sum += buf[c];                                                                       \
                        o[(i0 + c) * in] = buf[c];                                                           \
                    }                                                                                        \
                }                                                                                            \
            }                                                                                                \
            if (j->log) { /* (x - m) - log(sum): rounding log(sum) + m would lose digits */                 \
                T ls = (T)log(sum);                                                                          \
                for (int64_t i = 0; i < n; i++) o[i * in] = (x[i * in] - m) - ls;                            \
            } else {                                                                                         \
                T inv = (T)(1.0 / sum);                                                                      \
                for (int64_t i = 0; i < n; i++) o[i * in] *= inv;                                            \
            }                                                                                                \
        }                                                                                                    \
    }                                                                                                        \
    static void softmax_bwd_##T(void *p, int64_t s, int64_t e) {                                             \
        sm_job *j = p;                                                                                       \
        int64_t n = j->n, in = j->inner;                                                                     \
        T buf[SM_CHUNK];                                                                                     \
        for (int64_t lane = s; lane < e; lane++) {                                                           \
            int64_t base = (lane / in) * n * in + lane % in;                                                 \
            const T *y = (const T *)j->x + base, *g = (const T *)j->g + base;                                \
            T *o = (T *)j->o + base;                                                                         \
            double acc = 0;                                                                                  \
            if (j->log) { /* o = g - exp(y) sum(g) */                                                       \
                for (int64_t i = 0; i < n; i++) acc += g[i * in];                                            \
                for (int64_t i0 = 0; i0 < n; i0 += SM_CHUNK) {                                               \
                    int64_t k = n - i0 < SM_CHUNK ? n - i0 : SM_CHUNK;                                       \
                    exp_shifted_##T(buf, y + i0 * in, in, 0, k);                                             \
                    for (int64_t c = 0; c < k; c++) o[(i0 + c) * in] = g[(i0 + c) * in] - buf[c] * (T)acc;   \
                }                                                                                            \
            } else {                                                                                         \
                for (int64_t i = 0; i < n; i++) acc += (double)g[i * in] * y[i * in];                        \
                for (int64_t i = 0; i < n; i++) o[i * in] = y[i * in] * (g[i * in] - (T)acc);                \
            }                                                                                                \
        }                                                                                                    \
    }
DEF_SOFTMAX(float, ml_vm_map_f32)
DEF_SOFTMAX(double, ml_vm_map_f64)

static void lanes_of(const ml_tensor *a, int dim, int64_t *n, int64_t *inner, int64_t *lanes) {
    *n = a->ndim ? a->shape[dim] : 1;
    *inner = 1;
    for (int i = dim + 1; i < a->ndim; i++) *inner *= a->shape[i];
    *lanes = *n ? a->numel / *n : 0;
}

static int softmax_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *y = ml_saved(n, 0);
    if (!y) return -1;
    ml_tensor *gc = ml_contiguous(g), *out = gc ? ml_empty(y->ndim, y->shape, y->dtype) : NULL;
    if (!out) { ml_release(gc); return -1; }
    sm_job j;
    int64_t lanes;
    lanes_of(y, n->ctx.softmax.dim, &j.n, &j.inner, &lanes);
    j.log = n->ctx.softmax.log;
    j.x = ml_data(y);
    j.g = ml_data(gc);
    j.o = ml_data(out);
    int64_t grain = j.n ? ML_PAR_GRAIN / j.n : 1;
    ml_parallel_for(lanes, grain > 0 ? grain : 1, y->dtype == ML_FLOAT32 ? softmax_bwd_float : softmax_bwd_double, &j);
    ml_release(gc);
    gin[0] = out;
    return 0;
}

static ml_tensor *softmax_impl(const char *fn, ml_tensor *a, int dim, bool log) {
    if (!ml_dtype_is_float(a->dtype)) return ml_error("%s: expected a float tensor, got %s", fn, ml_dtype_name(a->dtype));
    if (a->ndim && (dim < 0 || dim >= a->ndim))
        return ml_error("%s: dimension %d out of range for a tensor with %d dimensions", fn, dim + 1, a->ndim);
    if (!a->ndim) dim = 0;
    ml_tensor *x = ml_contiguous(a), *out = x ? ml_empty(a->ndim, a->shape, a->dtype) : NULL;
    if (!out) { ml_release(x); return NULL; }
    sm_job j;
    int64_t lanes;
    lanes_of(a, dim, &j.n, &j.inner, &lanes);
    j.log = log;
    j.x = ml_data(x);
    j.o = ml_data(out);
    int64_t grain = j.n ? ML_PAR_GRAIN / j.n : 1;
    ml_parallel_for(lanes, grain > 0 ? grain : 1, a->dtype == ML_FLOAT32 ? softmax_fwd_float : softmax_fwd_double, &j);
    ml_release(x);
    if (ml_needs_record(1, &a)) {
        ml_node *n = ml_record(fn, softmax_backward, out, 1, &a);
        if (!n || ml_save_output(n, 0, out) < 0) { ml_release(out); return NULL; }
        n->ctx.softmax.dim = dim;
        n->ctx.softmax.log = log;
    }
    return out;
}

ml_tensor *ml_softmax(ml_tensor *a, int dim) { return softmax_impl("softmax", a, dim, false); }
ml_tensor *ml_log_softmax(ml_tensor *a, int dim) { return softmax_impl("log_softmax", a, dim, true); }
