/* Unary elementwise ops (exp, log, tanh, relu, gelu ...), clamp,
 * leaky_relu and where; forward kernels and fused backward kernels that
 * compute g * f'(x) in one pass. */
#include <math.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"

static const char *unary_names[] = {"neg",  "abs",  "exp",     "log",  "log1p", "sqrt", "rsqrt",
                                    "sin",  "cos",  "tanh",    "sigmoid", "relu", "gelu", "sign"};

#define M_SQRT1_2_ 0.70710678118654752440
#define M_2_SQRTPI_ 1.12837916709551257390

/* f(x) for each op, in type T (F: the float suffix, f or empty) */
#define UNARY_EXPR(OP, x, F)                                                                                  \
    ((OP) == ML_NEG       ? -(x)                                                                             \
     : (OP) == ML_ABS     ? fabs##F(x)                                                                       \
     : (OP) == ML_EXP     ? exp##F(x)                                                                        \
     : (OP) == ML_LOG     ? log##F(x)                                                                        \
     : (OP) == ML_LOG1P   ? log1p##F(x)                                                                      \
     : (OP) == ML_SQRT    ? sqrt##F(x)                                                                       \
     : (OP) == ML_RSQRT   ? 1 / sqrt##F(x)                                                                   \
     : (OP) == ML_SIN     ? sin##F(x)                                                                        \
     : (OP) == ML_COS     ? cos##F(x)                                                                        \
     : (OP) == ML_TANH    ? TANH##F(x)                                                                       \
     : (OP) == ML_SIGMOID ? 1 / (1 + exp##F(-(x)))                                                           \
     : (OP) == ML_RELU    ? (!((x) <= 0) ? (x) : 0)                                                          \
     : (OP) == ML_GELU    ? 0.5##F * (x) * (1 + erf##F((x) * 0.70710678118654752440##F))                               \
     : (OP) == ML_SIGN    ? (((x) > 0) - ((x) < 0))                                                          \
                          : 0)

/* float32 tanh without libm's slow tanhf: Cephes' odd polynomial below
 * 0.625 (where 1 - 2/(e^2x + 1) would cancel), that formula above; both are
 * computed and one selected, so the loop has no branch. Max error ~2 ulp. */
static inline float tanh_f32(float x) {
    float ax = fabsf(x), s = x * x;
    float small = ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s + 1.33314422036e-1f) * s -
                   3.33332819422e-1f) * s * x + x;
    float big = copysignf(1.0f - 2.0f / (expf(2.0f * ax) + 1.0f), x);
    return ax < 0.625f ? small : big;
}
#define TANHf tanh_f32
#define TANH tanh

typedef struct {
    ml_unary_op op;
    void *o;
    const void *a;
    double lo, hi;
} unary_job;

/* The op is a template parameter of each loop (a switch outside the loop),
 * so every loop is a tight, vectorizable one. */
#define DEF_UNARY(T, F)                                                                                       \
    static void unary_##T(void *p, int64_t s, int64_t e) {                                                   \
        unary_job *j = p;                                                                                    \
        T *o = j->o;                                                                                         \
        const T *a = j->a;                                                                                   \
        switch (j->op) {                                                                                     \
        case ML_NEG: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_NEG, a[i], F); break;              \
        case ML_ABS: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_ABS, a[i], F); break;              \
        case ML_EXP: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_EXP, a[i], F); break;              \
        case ML_LOG: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_LOG, a[i], F); break;              \
        case ML_LOG1P: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_LOG1P, a[i], F); break;          \
        case ML_SQRT: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_SQRT, a[i], F); break;            \
        case ML_RSQRT: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_RSQRT, a[i], F); break;          \
        case ML_SIN: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_SIN, a[i], F); break;              \
        case ML_COS: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_COS, a[i], F); break;              \
        case ML_TANH: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_TANH, a[i], F); break;            \
        case ML_SIGMOID: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_SIGMOID, a[i], F); break;      \
        case ML_RELU: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_RELU, a[i], F); break;            \
        case ML_GELU: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_GELU, a[i], F); break;            \
        case ML_SIGN: for (int64_t i = s; i < e; i++) o[i] = UNARY_EXPR(ML_SIGN, a[i], F); break;            \
        default: break;                                                                                      \
        }                                                                                                    \
    }
DEF_UNARY(float, f)
DEF_UNARY(double, )

static void unary_int64(void *p, int64_t s, int64_t e) {
    unary_job *j = p;
    int64_t *o = j->o;
    const int64_t *a = j->a;
    for (int64_t i = s; i < e; i++) {
        int64_t x = a[i];
        o[i] = j->op == ML_NEG ? -x : j->op == ML_ABS ? (x < 0 ? -x : x) : j->op == ML_RELU ? (x > 0 ? x : 0)
                                                                                         : (x > 0) - (x < 0);
    }
}

static bool keeps_int(ml_unary_op op) { return op == ML_NEG || op == ML_ABS || op == ML_RELU || op == ML_SIGN; }

/* Runs a range kernel over a contiguous copy of a in dtype dt. */
static ml_tensor *run_unary(ml_tensor *a, ml_dtype dt, ml_range_fn fn, unary_job *j) {
    ml_tensor *c = ml_to_dtype(a, dt);
    if (!c) return NULL;
    ml_tensor *ca = ml_contiguous(c);
    ml_release(c);
    if (!ca) return NULL;
    ml_tensor *out = ml_empty(a->ndim, a->shape, dt);
    if (out) {
        j->o = ml_data(out);
        j->a = ml_data(ca);
        ml_parallel_for(out->numel, ML_PAR_GRAIN / 4, fn, j);
    }
    ml_release(ca);
    return out;
}

/* ---- backward: gin = g * f'(x), fused ------------------------------- */
typedef struct {
    ml_unary_op op;
    void *o;
    const void *g, *x, *y;
    double lo, hi;
} grad_job;

#define DEF_UNARY_GRAD(T, F)                                                                                  \
    static void unary_grad_##T(void *p, int64_t s, int64_t e) {                                              \
        grad_job *j = p;                                                                                     \
        T *restrict o = j->o;                                                                                \
        const T *restrict g = j->g, *restrict x = j->x, *restrict y = j->y;                                  \
        switch (j->op) {                                                                                     \
        case ML_NEG: for (int64_t i = s; i < e; i++) o[i] = -g[i]; break;                                    \
        case ML_ABS: for (int64_t i = s; i < e; i++) o[i] = g[i] * ((x[i] > 0) - (x[i] < 0)); break;         \
        case ML_EXP: for (int64_t i = s; i < e; i++) o[i] = g[i] * y[i]; break;                              \
        case ML_LOG: for (int64_t i = s; i < e; i++) o[i] = g[i] / x[i]; break;                              \
        case ML_LOG1P: for (int64_t i = s; i < e; i++) o[i] = g[i] / (1 + x[i]); break;                      \
        case ML_SQRT: for (int64_t i = s; i < e; i++) o[i] = g[i] * (T)0.5 / y[i]; break;                    \
        case ML_RSQRT: for (int64_t i = s; i < e; i++) o[i] = g[i] * (T)-0.5 * y[i] * y[i] * y[i]; break;    \
        case ML_SIN: for (int64_t i = s; i < e; i++) o[i] = g[i] * cos##F(x[i]); break;                      \
        case ML_COS: for (int64_t i = s; i < e; i++) o[i] = -g[i] * sin##F(x[i]); break;                     \
        case ML_TANH: for (int64_t i = s; i < e; i++) o[i] = g[i] * (1 - y[i] * y[i]); break;                \
        case ML_SIGMOID: for (int64_t i = s; i < e; i++) o[i] = g[i] * y[i] * (1 - y[i]); break;             \
        case ML_RELU: /* g read on both paths, so the select vectorizes */                                   \
            for (int64_t i = s; i < e; i++) { T gv = g[i]; o[i] = x[i] > 0 ? gv : 0; }                       \
            break;                                                                                           \
        case ML_GELU: /* d/dx x*Phi(x) = Phi(x) + x*phi(x) */                                                \
            for (int64_t i = s; i < e; i++) {                                                                \
                T v = x[i];                                                                                  \
                T cdf = (T)0.5 * (1 + erf##F(v * (T)M_SQRT1_2_));                                            \
                T pdf = exp##F((T)-0.5 * v * v) * (T)(M_2_SQRTPI_ * M_SQRT1_2_ * 0.5);                       \
                o[i] = g[i] * (cdf + v * pdf);                                                               \
            }                                                                                                \
            break;                                                                                           \
        case ML_SIGN: for (int64_t i = s; i < e; i++) o[i] = 0; break;                                       \
        case ML_NUNARY: /* clamp: pass where lo <= x <= hi (NaN bounds are open) */                          \
            for (int64_t i = s; i < e; i++)                                                                  \
                o[i] = ((j->lo != j->lo || x[i] >= j->lo) && (j->hi != j->hi || x[i] <= j->hi)) ? g[i] : 0;  \
            break;                                                                                           \
        default: /* leaky relu: lo holds the slope */                                                        \
            for (int64_t i = s; i < e; i++) { T gv = g[i]; o[i] = x[i] > 0 ? gv : gv * (T)j->lo; }          \
            break;                                                                                           \
        }                                                                                                    \
    }
DEF_UNARY_GRAD(float, f)
DEF_UNARY_GRAD(double, )

#define ML_CLAMP_GRAD ML_NUNARY
#define ML_LEAKY_GRAD (ML_NUNARY + 1)

static int unary_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *x = n->saved[0], *y = n->saved[1];
    if ((x && !ml_saved(n, 0)) || (y && !ml_saved(n, 1))) return -1;
    ml_dtype dt = n->in_dtype[0];
    ml_tensor *gc = ml_contiguous(g);
    ml_tensor *out = gc ? ml_empty(gc->ndim, gc->shape, dt) : NULL;
    if (!out) { ml_release(gc); return -1; }
    grad_job j = {(ml_unary_op)n->iarg[0], ml_data(out), ml_data(gc), x ? ml_data(x) : NULL, y ? ml_data(y) : NULL,
                  n->darg[0], n->darg[1]};
    ml_parallel_for(out->numel, ML_PAR_GRAIN / 4, dt == ML_FLOAT32 ? unary_grad_float : unary_grad_double, &j);
    ml_release(gc);
    gin[0] = out;
    return 0;
}

/* Records the fused backward; saves the (contiguous) input and/or output as the rule needs. */
static ml_tensor *record_unary(const char *name, int gop, ml_tensor *a, ml_tensor *out, double lo, double hi) {
    if (!ml_needs_record(1, &a)) return out;
    ml_node *n = ml_record(name, unary_backward, out, 1, &a);
    if (!n) { ml_release(out); return NULL; }
    n->iarg[0] = gop;
    n->darg[0] = lo;
    n->darg[1] = hi;
    bool uses_y = gop == ML_EXP || gop == ML_SQRT || gop == ML_RSQRT || gop == ML_TANH || gop == ML_SIGMOID;
    if (uses_y) {
        if (ml_save_output(n, 1, out) < 0) { ml_release(out); return NULL; }
    } else if (gop != ML_NEG && gop != ML_SIGN) {
        ml_tensor *xc = ml_contiguous(a);
        if (!xc) { ml_release(out); return NULL; }
        ml_save(n, 0, xc);
        ml_release(xc);
    }
    return out;
}

ml_tensor *ml_unary(ml_unary_op op, ml_tensor *a) {
    ml_dtype dt = a->dtype;
    if (!ml_dtype_is_float(dt)) dt = keeps_int(op) ? ML_INT64 : ML_FLOAT32;
    unary_job j = {op, NULL, NULL, 0, 0};
    ml_range_fn fn = dt == ML_FLOAT32 ? unary_float : dt == ML_FLOAT64 ? unary_double : unary_int64;
    ml_tensor *out = run_unary(a, dt, fn, &j);
    if (!out) return NULL;
    return record_unary(unary_names[op], op, a, out, 0, 0);
}

/* ---- clamp and leaky_relu -------------------------------------------- */
#define DEF_CLAMP(T)                                                                                          \
    static void clamp_##T(void *p, int64_t s, int64_t e) {                                                   \
        unary_job *j = p;                                                                                    \
        T *o = j->o;                                                                                         \
        const T *a = j->a;                                                                                   \
        bool has_lo = j->lo == j->lo, has_hi = j->hi == j->hi;                                               \
        T lo = has_lo ? (T)j->lo : 0, hi = has_hi ? (T)j->hi : 0;                                            \
        for (int64_t i = s; i < e; i++) {                                                                    \
            T v = a[i];                                                                                      \
            if (has_lo && v < lo) v = lo;                                                                    \
            if (has_hi && v > hi) v = hi;                                                                    \
            o[i] = v;                                                                                        \
        }                                                                                                    \
    }                                                                                                        \
    __attribute__((unused)) static void leaky_##T(void *p, int64_t s, int64_t e) {                                                   \
        unary_job *j = p;                                                                                    \
        T *o = j->o;                                                                                         \
        const T *a = j->a;                                                                                   \
        T slope = (T)j->lo;                                                                                  \
        for (int64_t i = s; i < e; i++) o[i] = a[i] > 0 ? a[i] : a[i] * slope;                               \
    }
DEF_CLAMP(float)
DEF_CLAMP(double)
DEF_CLAMP(int64_t)

ml_tensor *ml_clamp(ml_tensor *a, double lo, double hi) {
    if (lo == lo && hi == hi && lo > hi) return ml_error("clamp: min %g is greater than max %g", lo, hi);
    ml_dtype dt = a->dtype == ML_BOOL ? ML_INT64 : a->dtype;
    if (dt == ML_INT64 && ((lo == lo && lo != floor(lo)) || (hi == hi && hi != floor(hi)))) dt = ML_FLOAT32;
    unary_job j = {0, NULL, NULL, lo, hi};
    ml_range_fn fn = dt == ML_FLOAT32 ? clamp_float : dt == ML_FLOAT64 ? clamp_double : clamp_int64_t;
    ml_tensor *out = run_unary(a, dt, fn, &j);
    if (!out) return NULL;
    return record_unary("clamp", ML_CLAMP_GRAD, a, out, lo, hi);
}

ml_tensor *ml_leaky_relu(ml_tensor *a, double slope) {
    ml_dtype dt = ml_dtype_is_float(a->dtype) ? a->dtype : ML_FLOAT32;
    unary_job j = {0, NULL, NULL, slope, 0};
    ml_tensor *out = run_unary(a, dt, dt == ML_FLOAT32 ? leaky_float : leaky_double, &j);
    if (!out) return NULL;
    return record_unary("leaky_relu", ML_LEAKY_GRAD, a, out, slope, 0);
}

/* ---- where ----------------------------------------------------------- */
static int where_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *cond = ml_saved(n, 0);
    if (!cond) return -1;
    ml_tensor *zero = ml_scalar(0, g->dtype);
    if (!zero) return -1;
    for (int k = 1; k <= 2; k++) {
        if (!n->needs[k]) continue;
        ml_tensor *w = k == 1 ? ml_where(cond, g, zero) : ml_where(cond, zero, g);
        gin[k] = w ? ml_sum_to_shape(w, n->in_ndim[k], n->in_shape[k]) : NULL;
        ml_release(w);
        if (!gin[k]) { ml_release(zero); return -1; }
    }
    ml_release(zero);
    return 0;
}

ml_tensor *ml_where(ml_tensor *cond, ml_tensor *a, ml_tensor *b) {
    if (cond->dtype != ML_BOOL) return ml_error("where: condition must be a bool tensor, got %s", ml_dtype_name(cond->dtype));
    int n1, n2;
    int64_t s1[ML_MAX_DIMS], s2[ML_MAX_DIMS];
    if (ml_broadcast_shapes("where", a->ndim, a->shape, b->ndim, b->shape, &n1, s1) < 0) return NULL;
    if (ml_broadcast_shapes("where", cond->ndim, cond->shape, n1, s1, &n2, s2) < 0) return NULL;
    ml_dtype dt = ml_promote(a->dtype, b->dtype);
    ml_tensor *out = ml_empty(n2, s2, dt);
    ml_tensor *ca = out ? ml_to_dtype(a, dt) : NULL, *cb = ca ? ml_to_dtype(b, dt) : NULL;
    if (!cb) { ml_release(out); ml_release(ca); return NULL; }
    /* broadcast each operand to the output, then pick element by element */
    int64_t sc[ML_MAX_DIMS], sa[ML_MAX_DIMS], sb[ML_MAX_DIMS];
    ml_broadcast_strides(cond, n2, s2, sc);
    ml_broadcast_strides(ca, n2, s2, sa);
    ml_broadcast_strides(cb, n2, s2, sb);
    ml_tensor *vc = ml_view(cond, n2, s2, sc, cond->offset), *va = ml_view(ca, n2, s2, sa, ca->offset),
              *vb = ml_view(cb, n2, s2, sb, cb->offset);
    ml_tensor *cc = vc ? ml_contiguous(vc) : NULL, *cca = va ? ml_contiguous(va) : NULL,
              *ccb = vb ? ml_contiguous(vb) : NULL;
    if (cc && cca && ccb) {
        const uint8_t *m = ml_data(cc);
        size_t es = ml_dtype_size(dt);
        char *o = ml_data(out);
        const char *pa = ml_data(cca), *pb = ml_data(ccb);
        for (int64_t i = 0; i < out->numel; i++) memcpy(o + i * es, (m[i] ? pa : pb) + i * es, es);
    } else {
        ml_release(out);
        out = NULL;
    }
    ml_release(vc); ml_release(va); ml_release(vb);
    ml_release(cc); ml_release(cca); ml_release(ccb);
    ml_release(ca); ml_release(cb);
    if (!out) return NULL;
    ml_tensor *in[3] = {cond, a, b};
    if (ml_needs_record(3, in)) {
        ml_node *n = ml_record("where", where_backward, out, 3, in);
        if (!n) { ml_release(out); return NULL; }
        ml_save(n, 0, cond);
    }
    return out;
}
