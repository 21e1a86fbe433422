/* Unary elementwise ops (the ML_UNARY_OPS table of optable.h: exp, log,
 * tanh, relu, gelu ...), clamp, leaky_relu and where; forward kernels and
 * fused backward kernels that compute g * f'(x) in one pass. The
 * transcendental rows run through vecmath.h (SLEEF, vectorized) in float32
 * and float64; their table expressions are the definitions. */
#include <math.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"
#include "vecmath.h"

#define M_SQRT1_2_ 0.70710678118654752440
#define M_2_SQRTPI_ 1.12837916709551257390

#define OP_NAME(E, name, ...) [E] = #name,
static const char *const unary_names[ML_NUNARY] = {ML_UNARY_OPS(OP_NAME)};
#define OP_KEEPS_INT(E, name, keeps_int, ...) [E] = keeps_int,
static const bool keeps_int[ML_NUNARY] = {ML_UNARY_OPS(OP_KEEPS_INT)};
#define OP_SAVES(E, name, keeps_int, fwd, saves, ...) [E] = saves,
static const int saves[ML_NUNARY] = {ML_UNARY_OPS(OP_SAVES)};
#define OP_COUNT(...) +1
_Static_assert(0 ML_UNARY_OPS(OP_COUNT) == ML_NUNARY, "one row per unary op");

/* The rows that vecmath computes (ML_VM_NONE: the table's own loop). */
static const ml_vm_fn vec_fn[ML_NUNARY] = {[ML_EXP] = ML_VM_EXP,   [ML_LOG] = ML_VM_LOG,
                                           [ML_LOG1P] = ML_VM_LOG1P, [ML_TANH] = ML_VM_TANH,
                                           [ML_SIGMOID] = ML_VM_SIGMOID, [ML_GELU] = ML_VM_GELU};

/* d/dx gelu(x) = Phi(x) + x * phi(x) */
#define DEF_DGELU(T, F)                                                                                       \
    static inline T dgelu##F(T v) {                                                                          \
        T cdf = (T)0.5 * (1 + erf##F(v * (T)M_SQRT1_2_));                                                    \
        T pdf = exp##F((T)-0.5 * v * v) * (T)(M_2_SQRTPI_ * M_SQRT1_2_ * 0.5);                               \
        return cdf + v * pdf;                                                                                \
    }
DEF_DGELU(float, f)
DEF_DGELU(double, )

/* The type-generic helpers the table's expressions use: chosen at compile
 * time by the element type, so each loop calls the float or double routine
 * directly. */
#define F_(fn, v) _Generic((v), float: fn##f, default: fn)(v)
#define TANH_(v) F_(tanh, v)
static inline int64_t abs_i64(int64_t v) { return v < 0 ? -v : v; }
#define ABS_(v) _Generic((v), float: fabsf, double: fabs, default: abs_i64)(v)

typedef struct {
    ml_unary_op op;
    void *o;
    const void *a;
    double lo, hi;
} unary_job;

/* One loop per op (a switch outside the loops), so every loop is a tight,
 * vectorizable one; int64 gets the loops of the ops that keep integers. */
#define UNARY_CASE(E, name, keeps_int, fwd, ...)                                                             \
    case E:                                                                                                  \
        if (!IS_INT || keeps_int)                                                                            \
            for (int64_t i = s; i < e; i++) { real v = a[i]; o[i] = (fwd); }                                 \
        break;
#define DEF_UNARY(T, INT_T, VEC_MAP)                                                                          \
    static void unary_##T(void *p, int64_t s, int64_t e) {                                                   \
        typedef T real;                                                                                      \
        enum { IS_INT = INT_T };                                                                             \
        unary_job *j = p;                                                                                    \
        real *o = j->o;                                                                                      \
        const real *a = j->a;                                                                                \
        if (!IS_INT && vec_fn[j->op]) {                                                                      \
            VEC_MAP(vec_fn[j->op], o + s, a + s, e - s);                                                     \
            return;                                                                                          \
        }                                                                                                    \
        switch (j->op) {                                                                                     \
            ML_UNARY_OPS(UNARY_CASE)                                                                         \
        default: break;                                                                                      \
        }                                                                                                    \
    }
/* int64 never reaches a vecmath row: those ops make floats of integers */
static void no_vec_map(ml_vm_fn fn, int64_t *o, const int64_t *a, int64_t n) {}
DEF_UNARY(float, 0, ml_vm_map_f32)
DEF_UNARY(double, 0, ml_vm_map_f64)
DEF_UNARY(int64_t, 1, no_vec_map)

/* Runs a range kernel over a contiguous copy of a in dtype dt. */
static ml_tensor *run_unary(ml_tensor *a, ml_dtype dt, ml_range_fn fn, unary_job *j, int64_t grain) {
    ml_tensor *c = ml_to_dtype(a, dt);
    if (!c) return NULL;
    ml_tensor *ca = ml_contiguous(c);
    ml_release(c);
    if (!ca) return NULL;
    ml_tensor *out = ml_empty(a->ndim, a->shape, dt);
    if (out) {
        j->o = ml_data(out);
        j->a = ml_data(ca);
        ml_parallel_for(out->numel, grain, fn, j);
    }
    ml_release(ca);
    return out;
}

/* ---- backward: gin = g * f'(x), fused ------------------------------- */
/* The rules past the table's rows: clamp and leaky_relu share the kernel. */
enum { GRAD_CLAMP = ML_NUNARY, GRAD_LEAKY };

typedef struct {
    int op; /* an ml_unary_op, GRAD_CLAMP or GRAD_LEAKY */
    void *o;
    const void *g, *x, *y; /* x and y point at g when the op saved neither */
    double lo, hi;
} grad_job;

#define GRAD_CASE(E, name, keeps_int, fwd, saves, bwd, ...)                                                  \
    case E:                                                                                                  \
        for (int64_t i = s; i < e; i++) { real g = gp[i], x = xp[i], y = yp[i]; (void)g, (void)x, (void)y; o[i] = (bwd); } \
        break;
#define DEF_UNARY_GRAD(T, GELU_GRAD)                                                                           \
    static void unary_grad_##T(void *p, int64_t s, int64_t e) {                                              \
        typedef T real;                                                                                      \
        grad_job *j = p;                                                                                     \
        real *restrict o = j->o;                                                                             \
        const real *restrict gp = j->g, *restrict xp = j->x, *restrict yp = j->y;                            \
        if (j->op == ML_GELU) { /* erf and exp: vectorized by vecmath */                                    \
            GELU_GRAD(o + s, gp + s, xp + s, e - s);                                                         \
            return;                                                                                          \
        }                                                                                                    \
        switch (j->op) {                                                                                     \
            ML_UNARY_OPS(GRAD_CASE)                                                                          \
        case GRAD_CLAMP: /* pass where lo <= x <= hi (NaN bounds are open) */                               \
            for (int64_t i = s; i < e; i++)                                                                  \
                o[i] = ((j->lo != j->lo || xp[i] >= j->lo) && (j->hi != j->hi || xp[i] <= j->hi)) ? gp[i] : 0; \
            break;                                                                                           \
        default: /* GRAD_LEAKY: lo holds the slope */                                                        \
            for (int64_t i = s; i < e; i++) { real gv = gp[i]; o[i] = xp[i] > 0 ? gv : gv * (real)j->lo; }  \
            break;                                                                                           \
        }                                                                                                    \
    }
DEF_UNARY_GRAD(float, ml_vm_gelu_grad_f32)
DEF_UNARY_GRAD(double, ml_vm_gelu_grad_f64)

static int unary_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *x = n->saved[0], *y = n->saved[1];
    if ((x && !ml_saved(n, 0)) || (y && !ml_saved(n, 1))) return -1;
    ml_dtype dt = n->in_dtype[0];
    ml_tensor *gc = ml_contiguous(g);
    ml_tensor *out = gc ? ml_empty(gc->ndim, gc->shape, dt) : NULL;
    if (!out) { ml_release(gc); return -1; }
    const void *gd = ml_data(gc);
    grad_job j = {n->ctx.unary.op, ml_data(out), gd, x ? ml_data(x) : gd, y ? ml_data(y) : gd,
                  n->ctx.unary.lo, n->ctx.unary.hi};
    ml_parallel_for(out->numel, ML_PAR_GRAIN / 4, dt == ML_FLOAT32 ? unary_grad_float : unary_grad_double, &j);
    ml_release(gc);
    gin[0] = out;
    return 0;
}

/* Records the fused backward; saves the (contiguous) input or the output as the rule needs. */
static ml_tensor *record_unary(const char *name, int gop, ml_tensor *a, ml_tensor *out, double lo, double hi) {
    if (!ml_needs_record(1, &a)) return out;
    ml_node *n = ml_record(name, unary_backward, out, 1, &a);
    if (!n) { ml_release(out); return NULL; }
    n->ctx.unary.op = gop;
    n->ctx.unary.lo = lo;
    n->ctx.unary.hi = hi;
    int what = gop < ML_NUNARY ? saves[gop] : ML_SAVES_X;
    if (what == ML_SAVES_Y) {
        if (ml_save_output(n, 1, out) < 0) { ml_release(out); return NULL; }
    } else if (what == ML_SAVES_X) {
        ml_tensor *xc = ml_contiguous(a);
        if (!xc) { ml_release(out); return NULL; }
        ml_save(n, 0, xc);
        ml_release(xc);
    }
    return out;
}

ml_tensor *ml_unary(ml_unary_op op, ml_tensor *a) {
    ml_dtype dt = a->dtype;
    if (!ml_dtype_is_float(dt)) dt = keeps_int[op] ? ML_INT64 : ML_FLOAT32;
    unary_job j = {op, NULL, NULL, 0, 0};
    ml_range_fn fn = dt == ML_FLOAT32 ? unary_float : dt == ML_FLOAT64 ? unary_double : unary_int64_t;
    /* vectorized rows run near memory speed, as a ReLU: the same grain as binary ops */
    ml_tensor *out = run_unary(a, dt, fn, &j, vec_fn[op] ? ML_PAR_GRAIN : ML_PAR_GRAIN / 4);
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
    ml_tensor *out = run_unary(a, dt, fn, &j, ML_PAR_GRAIN / 4);
    if (!out) return NULL;
    return record_unary("clamp", GRAD_CLAMP, a, out, lo, hi);
}

ml_tensor *ml_leaky_relu(ml_tensor *a, double slope) {
    ml_dtype dt = ml_dtype_is_float(a->dtype) ? a->dtype : ML_FLOAT32;
    unary_job j = {0, NULL, NULL, slope, 0};
    ml_tensor *out = run_unary(a, dt, dt == ML_FLOAT32 ? leaky_float : leaky_double, &j, ML_PAR_GRAIN / 4);
    if (!out) return NULL;
    return record_unary("leaky_relu", GRAD_LEAKY, a, out, slope, 0);
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

/* the rule autograd/graph_rules.c knows by address (create_graph) */
const ml_backward_fn ml_rule_unary = unary_backward;
