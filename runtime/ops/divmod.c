/* Floor division and remainder (see divmod.h): the kernels follow ATen's
 * div_floor_floating / div_floor_integer and remainder, so results match
 * PyTorch's bit for bit, signed zeros and the b < 0 cases included. */
#include "divmod.h"

#include <math.h>
#include <stdatomic.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"

static const char *names[] = {"floor_divide", "remainder"};

/* ---- scalar rules ------------------------------------------------------ */
#define DEF_FLOAT(T, FMOD, FLOOR, COPYSIGN)                                           \
    static inline T floordiv_##T(T a, T b) {                                         \
        if (b == 0) return a / b; /* IEEE: inf or NaN */                             \
        T mod = FMOD(a, b), div = (a - mod) / b;                                     \
        if (mod != 0 && (b < 0) != (mod < 0)) div -= 1;                              \
        if (div == 0) return COPYSIGN((T)0, a / b);                                  \
        T fl = FLOOR(div);                                                           \
        return div - fl > (T)0.5 ? fl + 1 : fl;                                      \
    }                                                                                \
    static inline T remainder_##T(T a, T b) {                                        \
        T mod = FMOD(a, b);                                                          \
        return mod != 0 && (b < 0) != (mod < 0) ? mod + b : mod;                     \
    }
DEF_FLOAT(float, fmodf, floorf, copysignf)
DEF_FLOAT(double, fmod, floor, copysign)

/* b == 0 is flagged (an error after the loop); b == -1 is done apart,
 * since INT64_MIN / -1 traps on x86. */
static inline int64_t floordiv_int64_t(int64_t a, int64_t b) {
    if (b == -1) return (int64_t)(0 - (uint64_t)a);
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}
static inline int64_t remainder_int64_t(int64_t a, int64_t b) {
    if (b == -1) return 0;
    int64_t r = a % b;
    return r != 0 && (r < 0) != (b < 0) ? r + b : r;
}

/* Row functions for ml_apply_binary; ctx: an _Atomic int set when an
 * integer divisor is zero. */
#define DEF_ROW(NAME, T, F, CHECK)                                                                \
    static void NAME(void *o_, const void *a_, int64_t sa, const void *b_, int64_t sb, int64_t n,  \
                     const void *ctx) {                                                            \
        T *o = o_;                                                                                 \
        const T *a = a_, *b = b_;                                                                  \
        for (int64_t i = 0; i < n; i++) {                                                          \
            T x = a[i * sa], y = b[i * sb];                                                        \
            if (CHECK && y == 0) {                                                                 \
                atomic_store_explicit((_Atomic int *)ctx, 1, memory_order_relaxed);                \
                o[i] = 0;                                                                          \
                continue;                                                                          \
            }                                                                                      \
            o[i] = F(x, y);                                                                        \
        }                                                                                          \
    }
DEF_ROW(floordiv_row_f32, float, floordiv_float, 0)
DEF_ROW(floordiv_row_f64, double, floordiv_double, 0)
DEF_ROW(floordiv_row_i64, int64_t, floordiv_int64_t, 1)
DEF_ROW(remainder_row_f32, float, remainder_float, 0)
DEF_ROW(remainder_row_f64, double, remainder_double, 0)
DEF_ROW(remainder_row_i64, int64_t, remainder_int64_t, 1)

/* [op][dtype]: float32, float64, int64 */
static const ml_row_fn rows[2][3] = {
    {floordiv_row_f32, floordiv_row_f64, floordiv_row_i64},
    {remainder_row_f32, remainder_row_f64, remainder_row_i64},
};

static ml_tensor *forward(ml_divmod_op op, ml_tensor *a, ml_tensor *b) {
    ml_dtype dt = ml_promote(a->dtype, b->dtype);
    if (dt == ML_BOOL) dt = ML_INT64;
    _Atomic int zero = 0;
    ml_tensor *out = ml_map_binary(names[op], a, b, dt, dt, rows[op][dt], (const void *)&zero);
    if (out && atomic_load(&zero)) {
        ml_release(out);
        return ml_error("%s: integer division by zero", names[op]);
    }
    return out;
}

/* ---- backward ------------------------------------------------------------
 * floor_divide: zero for both inputs (a step function).
 * remainder: r = a - b * floor(a / b): dr/da = 1, dr/db = -floor(a / b). */
static ml_tensor *zeros_for(ml_node *n, int k) { return ml_zeros(n->in_ndim[k], n->in_shape[k], n->in_dtype[k]); }

static int divmod_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    if (n->ctx.binary.op == ML_FLOOR_DIVIDE) {
        for (int k = 0; k < n->n_in; k++)
            if (n->needs[k] && !(gin[k] = zeros_for(n, k))) return -1;
        return 0;
    }
    if (n->needs[0] && !(gin[0] = ml_sum_to_shape(g, n->in_ndim[0], n->in_shape[0]))) return -1;
    if (n->n_in > 1 && n->needs[1]) {
        ml_tensor *a = ml_saved(n, 0), *b = a ? ml_saved(n, 1) : NULL;
        if (!b) return -1;
        ml_tensor *q = forward(ML_FLOOR_DIVIDE, a, b), *t = q ? ml_mul(g, q) : NULL;
        ml_tensor *nt = t ? ml_unary(ML_NEG, t) : NULL;
        gin[1] = nt ? ml_sum_to_shape(nt, n->in_ndim[1], n->in_shape[1]) : NULL;
        ml_release(q);
        ml_release(t);
        ml_release(nt);
        if (!gin[1]) return -1;
    }
    return 0;
}

ml_tensor *ml_divmod(ml_divmod_op op, ml_tensor *a, ml_tensor *b) {
    if (op != ML_FLOOR_DIVIDE && op != ML_REMAINDER) return ml_error("divmod: unknown op %d", (int)op);
    ml_tensor *out = forward(op, a, b);
    if (!out) return NULL;
    ml_tensor *in[2] = {a, b};
    if (ml_needs_record(2, in)) {
        if (!ml_dtype_is_float(out->dtype)) { ml_release(out); return ml_error("%s: gradients need float tensors", names[op]); }
        ml_node *n = ml_record(names[op], divmod_backward, out, 2, in);
        if (!n) { ml_release(out); return NULL; }
        n->ctx.binary.op = op;
        if (op == ML_REMAINDER) {
            ml_save(n, 0, a);
            ml_save(n, 1, b);
        }
    }
    return out;
}

ml_tensor *ml_divmod_scalar(ml_divmod_op op, ml_tensor *a, double s, bool reversed) {
    ml_tensor *st = ml_scalar_operand(a, s); /* the number's dtype as the other binary ops choose it */
    if (!st) return NULL;
    ml_tensor *out = reversed ? ml_divmod(op, st, a) : ml_divmod(op, a, st);
    ml_release(st);
    return out;
}
