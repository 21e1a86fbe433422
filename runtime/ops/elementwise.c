/* Binary elementwise ops with NumPy broadcasting: + - * / pow maximum
 * minimum (the ML_BINARY_OPS table of optable.h), their scalar forms,
 * in-place forms, and their backward rules. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"

#define OP_NAME(E, name, ...) [E] = #name,
static const char *const binary_names[ML_NBINARY] = {ML_BINARY_OPS(OP_NAME)};
#define OP_SAVES(E, name, fwd, saves, ...) [E] = saves,
static const bool saves_inputs[ML_NBINARY] = {ML_BINARY_OPS(OP_SAVES)};
#define OP_COUNT(...) +1
_Static_assert(0 ML_BINARY_OPS(OP_COUNT) == ML_NBINARY, "one row per binary op");

static inline int64_t ipow(int64_t x, int64_t y) {
    if (y < 0) return x == 1 ? 1 : (x == -1 ? (y & 1 ? -1 : 1) : 0);
    int64_t r = 1;
    while (y) {
        if (y & 1) r *= x;
        x *= x;
        y >>= 1;
    }
    return r;
}
/* the type-generic helpers of the table's expressions */
#define POW_(x, y) _Generic((x), float: powf, double: pow, default: ipow)(x, y)
#define MAXV(x, y) (((x) > (y) || (x) != (x)) ? (x) : (y))
#define MINV(x, y) (((x) < (y) || (x) != (x)) ? (x) : (y))

/* One row function per (op, dtype): four loops, chosen per row by the
 * input strides, so the common cases vectorize. */
#define DEF_ROW(NAME, T, EXPR)                                                                                \
    static void NAME(void *o_, const void *a_, int64_t sa, const void *b_, int64_t sb, int64_t n,            \
                     const void *ctx) {                                                                      \
        T *o = o_;                                                                                           \
        const T *a = a_, *b = b_;                                                                            \
        if (sa == 1 && sb == 1) {                                                                            \
            for (int64_t i = 0; i < n; i++) { T x = a[i], y = b[i]; o[i] = (EXPR); }                         \
        } else if (sa == 1 && sb == 0) {                                                                     \
            T y = b[0];                                                                                      \
            for (int64_t i = 0; i < n; i++) { T x = a[i]; o[i] = (EXPR); }                                  \
        } else if (sa == 0 && sb == 1) {                                                                     \
            T x = a[0];                                                                                      \
            for (int64_t i = 0; i < n; i++) { T y = b[i]; o[i] = (EXPR); }                                  \
        } else {                                                                                             \
            for (int64_t i = 0; i < n; i++) { T x = a[i * sa], y = b[i * sb]; o[i] = (EXPR); }               \
        }                                                                                                    \
    }
#define ROW_float(E, name, fwd, ...) DEF_ROW(name##_float, float, fwd)
#define ROW_double(E, name, fwd, ...) DEF_ROW(name##_double, double, fwd)
#define ROW_int64(E, name, fwd, ...) DEF_ROW(name##_int64, int64_t, fwd)
ML_BINARY_OPS(ROW_float)
ML_BINARY_OPS(ROW_double)
ML_BINARY_OPS(ROW_int64)

/* [op][dtype]: float32, float64, int64 (int division is promoted to float before) */
#define ROWS(E, name, ...) [E] = {name##_float, name##_double, name##_int64},
static const ml_row_fn binary_rows[ML_NBINARY][3] = {ML_BINARY_OPS(ROWS)};
_Static_assert(ML_FLOAT32 == 0 && ML_FLOAT64 == 1 && ML_INT64 == 2, "binary_rows is indexed by dtype");

/* The dtype an op computes in: bool arithmetic runs as int64, and true
 * division of integers gives float32, as in PyTorch. */
static ml_dtype compute_dtype(ml_binary_op op, ml_dtype a, ml_dtype b) {
    ml_dtype dt = ml_promote(a, b);
    if (dt == ML_BOOL) dt = ML_INT64;
    if (op == ML_DIV && dt == ML_INT64) dt = ML_FLOAT32;
    return dt;
}

/* Computes out = a op b (no autograd). */
static ml_tensor *binary_forward(ml_binary_op op, ml_tensor *a, ml_tensor *b) {
    ml_dtype dt = compute_dtype(op, a->dtype, b->dtype);
    return ml_map_binary(binary_names[op], a, b, dt, dt, binary_rows[op][dt], NULL);
}

/* ---- backward rules -------------------------------------------------- */
/* g reduced to input k's shape (new reference) */
static ml_tensor *reduce_to_input(ml_node *n, int k, ml_tensor *g) {
    return ml_sum_to_shape(g, n->in_ndim[k], n->in_shape[k]);
}

static ml_tensor *take(ml_node *n, int k, ml_tensor *g) {
    if (!g) return NULL;
    ml_tensor *r = reduce_to_input(n, k, g);
    ml_release(g);
    return r;
}

/* the 0.5-at-ties mask PyTorch uses for maximum/minimum: 1 where a wins */
static ml_tensor *win_mask(ml_tensor *a, ml_tensor *b, ml_compare_op strict) {
    ml_tensor *gt = ml_compare(strict, a, b), *eq = ml_compare(ML_EQ, a, b);
    ml_tensor *r = NULL;
    if (gt && eq) {
        ml_tensor *gf = ml_to(gt, a->dtype), *ef = ml_to(eq, a->dtype);
        ml_tensor *half = ef ? ml_binary_scalar(ML_MUL, ef, 0.5, false) : NULL;
        if (gf && half) r = ml_add(gf, half);
        ml_release(gf);
        ml_release(ef);
        ml_release(half);
    }
    ml_release(gt);
    ml_release(eq);
    return r;
}

static int binary_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_binary_op op = (ml_binary_op)n->ctx.binary.op;
    ml_tensor *a = n->saved[0], *b = n->saved[1];
    if ((op == ML_MUL || op == ML_DIV || op == ML_POW || op == ML_MAXIMUM || op == ML_MINIMUM) &&
        (!ml_saved(n, 0) || !ml_saved(n, 1)))
        return -1;
    switch (op) {
    case ML_ADD:
        if (n->needs[0] && !(gin[0] = reduce_to_input(n, 0, g))) return -1;
        if (n->needs[1] && !(gin[1] = reduce_to_input(n, 1, g))) return -1;
        return 0;
    case ML_SUB:
        if (n->needs[0] && !(gin[0] = reduce_to_input(n, 0, g))) return -1;
        if (n->needs[1] && !(gin[1] = take(n, 1, ml_unary(ML_NEG, g)))) return -1;
        return 0;
    case ML_MUL:
        if (n->needs[0] && !(gin[0] = take(n, 0, ml_mul(g, b)))) return -1;
        if (n->needs[1] && !(gin[1] = take(n, 1, ml_mul(g, a)))) return -1;
        return 0;
    case ML_DIV: {
        /* d(a/b)/da = 1/b ; d(a/b)/db = -a/b^2 */
        if (n->needs[0] && !(gin[0] = take(n, 0, ml_div(g, b)))) return -1;
        if (n->needs[1]) {
            ml_tensor *b2 = ml_mul(b, b), *ab = b2 ? ml_div(a, b2) : NULL, *t = ab ? ml_mul(g, ab) : NULL;
            ml_release(b2);
            ml_release(ab);
            if (!t || !(gin[1] = take(n, 1, ml_unary(ML_NEG, t)))) { ml_release(t); return -1; }
            ml_release(t);
        }
        return 0;
    }
    case ML_POW: {
        /* d(a^b)/da = b * a^(b-1) ; d(a^b)/db = a^b * log(a) */
        if (n->needs[0]) {
            ml_tensor *bm1 = ml_binary_scalar(ML_SUB, b, 1, false);
            ml_tensor *p = bm1 ? ml_binary(ML_POW, a, bm1) : NULL, *t = p ? ml_mul(p, b) : NULL;
            ml_release(bm1);
            ml_release(p);
            if (!t || !(gin[0] = take(n, 0, ml_mul(g, t)))) { ml_release(t); return -1; }
            ml_release(t);
        }
        if (n->needs[1]) {
            ml_tensor *p = ml_binary(ML_POW, a, b), *l = ml_unary(ML_LOG, a), *t = (p && l) ? ml_mul(p, l) : NULL;
            ml_release(p);
            ml_release(l);
            if (!t || !(gin[1] = take(n, 1, ml_mul(g, t)))) { ml_release(t); return -1; }
            ml_release(t);
        }
        return 0;
    }
    case ML_MAXIMUM:
    case ML_MINIMUM: {
        ml_compare_op strict = op == ML_MAXIMUM ? ML_GT : ML_LT;
        if (n->needs[0]) {
            ml_tensor *m = win_mask(a, b, strict);
            if (!m || !(gin[0] = take(n, 0, ml_mul(g, m)))) { ml_release(m); return -1; }
            ml_release(m);
        }
        if (n->needs[1]) {
            ml_tensor *m = win_mask(b, a, strict);
            if (!m || !(gin[1] = take(n, 1, ml_mul(g, m)))) { ml_release(m); return -1; }
            ml_release(m);
        }
        return 0;
    }
    default: return ml_error("backward: unknown binary op") ? 0 : -1;
    }
}

ml_tensor *ml_binary(ml_binary_op op, ml_tensor *a, ml_tensor *b) {
    ml_tensor *out = binary_forward(op, a, b);
    if (!out) return NULL;
    ml_tensor *in[2] = {a, b};
    if (ml_needs_record(2, in)) {
        if (!ml_dtype_is_float(out->dtype)) { ml_release(out); return ml_error("%s: gradients need float tensors", binary_names[op]); }
        ml_node *n = ml_record(binary_names[op], binary_backward, out, 2, in);
        if (!n) { ml_release(out); return NULL; }
        n->ctx.binary.op = op;
        if (saves_inputs[op]) {
            ml_save(n, 0, a);
            ml_save(n, 1, b);
        }
    }
    return out;
}

ml_tensor *ml_add(ml_tensor *a, ml_tensor *b) { return ml_binary(ML_ADD, a, b); }
ml_tensor *ml_sub(ml_tensor *a, ml_tensor *b) { return ml_binary(ML_SUB, a, b); }
ml_tensor *ml_mul(ml_tensor *a, ml_tensor *b) { return ml_binary(ML_MUL, a, b); }
ml_tensor *ml_div(ml_tensor *a, ml_tensor *b) { return ml_binary(ML_DIV, a, b); }

/* ---- scalar forms ---------------------------------------------------- */
static int scalar_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_binary_op op = (ml_binary_op)n->ctx.binary.op;
    bool rev = n->ctx.binary.reversed;
    double s = n->ctx.binary.s;
    switch (op) {
    case ML_ADD: gin[0] = ml_retain(g); break;
    case ML_SUB: gin[0] = rev ? ml_unary(ML_NEG, g) : ml_retain(g); break;
    case ML_MUL: gin[0] = ml_binary_scalar(ML_MUL, g, s, false); break;
    case ML_DIV:
        if (!rev) gin[0] = ml_binary_scalar(ML_DIV, g, s, false);
        else { /* d(s/a)/da = -s/a^2 */
            ml_tensor *a = ml_saved(n, 0);
            if (!a) return -1;
            ml_tensor *a2 = ml_mul(a, a), *t = a2 ? ml_binary_scalar(ML_DIV, a2, -s, true) : NULL;
            gin[0] = t ? ml_mul(g, t) : NULL;
            ml_release(a2);
            ml_release(t);
        }
        break;
    case ML_POW: {
        ml_tensor *a = ml_saved(n, 0);
        if (!a) return -1;
        ml_tensor *t;
        if (!rev) { /* s * a^(s-1) */
            ml_tensor *p = ml_binary_scalar(ML_POW, a, s - 1, false);
            t = p ? ml_binary_scalar(ML_MUL, p, s, false) : NULL;
            ml_release(p);
        } else { /* s^a * log s */
            ml_tensor *p = ml_binary_scalar(ML_POW, a, s, true);
            t = p ? ml_binary_scalar(ML_MUL, p, log(s), false) : NULL;
            ml_release(p);
        }
        gin[0] = t ? ml_mul(g, t) : NULL;
        ml_release(t);
        break;
    }
    case ML_MAXIMUM:
    case ML_MINIMUM: {
        ml_tensor *a = ml_saved(n, 0);
        if (!a) return -1;
        ml_tensor *st = ml_scalar(s, a->dtype);
        ml_tensor *m = st ? win_mask(a, st, op == ML_MAXIMUM ? ML_GT : ML_LT) : NULL;
        gin[0] = m ? ml_mul(g, m) : NULL;
        ml_release(st);
        ml_release(m);
        break;
    }
    default: break;
    }
    return gin[0] ? 0 : -1;
}

/* a op s for a contiguous float a: s in a's dtype, as ml_scalar_operand
 * would make it, handed to the row as a broadcast element */
static ml_tensor *scalar_forward_float(ml_binary_op op, ml_tensor *a, double s, bool reversed) {
    union { float f; double d; } v;
    if (a->dtype == ML_FLOAT32) v.f = (float)s;
    else v.d = s;
    return ml_map_scalar(a, &v, reversed, a->dtype, binary_rows[op][a->dtype], NULL);
}

ml_tensor *ml_binary_scalar(ml_binary_op op, ml_tensor *a, double s, bool reversed) {
    ml_tensor *out;
    if (ml_dtype_is_float(a->dtype) && ml_is_contiguous(a)) {
        out = scalar_forward_float(op, a, s, reversed);
    } else {
        ml_tensor *st = ml_scalar_operand(a, s);
        if (!st) return NULL;
        out = reversed ? binary_forward(op, st, a) : binary_forward(op, a, st);
        ml_release(st);
    }
    if (!out) return NULL;
    if (ml_needs_record(1, &a)) {
        if (!ml_dtype_is_float(out->dtype)) { ml_release(out); return ml_error("%s: gradients need float tensors", binary_names[op]); }
        ml_node *n = ml_record(binary_names[op], scalar_backward, out, 1, &a);
        if (!n) { ml_release(out); return NULL; }
        n->ctx.binary.op = op;
        n->ctx.binary.reversed = reversed;
        n->ctx.binary.s = s;
        if (op == ML_DIV || op == ML_POW || op == ML_MAXIMUM || op == ML_MINIMUM) ml_save(n, 0, a);
    }
    return out;
}

/* ---- in place -------------------------------------------------------- */
static int check_inplace(const char *fn, ml_tensor *a) {
    if (a->requires_grad && ml_grad_enabled()) {
        ml_error("%s: cannot modify a tensor that requires grad in place (use ml.no_grad, or an out-of-place op)", fn);
        return -1;
    }
    return 0;
}

int ml_binary_inplace(ml_binary_op op, ml_tensor *a, ml_tensor *b) {
    if (check_inplace(binary_names[op], a) < 0) return -1;
    if (a->dtype == b->dtype && ml_dtype_is_float(a->dtype) && ml_same_shape(a, b) && ml_is_contiguous(a) &&
        ml_is_contiguous(b) && (ml_data(a) == ml_data(b) || !ml_may_overlap(a, b))) {
        /* the common case (a gradient accumulated into .grad, an optimizer
         * update): nothing to broadcast, convert or copy first */
        ml_apply_binary(a, a, b, binary_rows[op][a->dtype], NULL);
        ml_bump_version(a);
        return 0;
    }
    int nd;
    int64_t shape[ML_MAX_DIMS];
    if (ml_broadcast_shapes(binary_names[op], a->ndim, a->shape, b->ndim, b->shape, &nd, shape) < 0) return -1;
    if (nd != a->ndim || ml_numel_of(nd, shape) != a->numel) {
        char b1[128], b2[128];
        ml_error("%s: in-place result of shape %s cannot be stored in a tensor of shape %s", binary_names[op],
                 ml_shape_str(b1, sizeof b1, nd, shape), ml_shape_str(b2, sizeof b2, a->ndim, a->shape));
        return -1;
    }
    ml_dtype dt = a->dtype == ML_BOOL ? ML_INT64 : a->dtype;
    if (op == ML_DIV && dt == ML_INT64) {
        ml_error("%s: in-place true division of an integer tensor (convert it to float first)", binary_names[op]);
        return -1;
    }
    if (ml_has_internal_overlap(a)) { /* the name ("add_") is only built for the message */
        char fn[32];
        snprintf(fn, sizeof fn, "%s_", binary_names[op]);
        return ml_check_writable(fn, a);
    }
    ml_tensor *cb = ml_to_dtype(b, dt);
    if (cb && ml_may_overlap(a, cb) && !ml_same_layout(a, cb)) { /* x:add_(x:t()): read b before writing a */
        ml_tensor *t = ml_clone(cb);
        ml_release(cb);
        cb = t;
    }
    if (!cb) return -1;
    if (ml_is_contiguous(a) && a->dtype == dt) {
        ml_apply_binary(a, a, cb, binary_rows[op][dt], NULL);
    } else { /* strided or bool target: compute then copy back */
        ml_tensor *ca = ml_to_dtype(a, dt), *out = ca ? ml_empty(a->ndim, a->shape, dt) : NULL;
        if (out) {
            ml_apply_binary(out, ca, cb, binary_rows[op][dt], NULL);
            ml_copy_into(a, out);
        }
        ml_release(ca);
        ml_release(out);
        if (!out) { ml_release(cb); return -1; }
    }
    ml_release(cb);
    ml_bump_version(a);
    return 0;
}

int ml_add_inplace(ml_tensor *a, ml_tensor *b, double alpha) {
    if (alpha == 1.0) return ml_binary_inplace(ML_ADD, a, b);
    ml_tensor *sb = ml_binary_scalar(ML_MUL, b, alpha, false);
    if (!sb) return -1;
    int r = ml_binary_inplace(ML_ADD, a, sb);
    ml_release(sb);
    return r;
}

int ml_mul_scalar_inplace(ml_tensor *a, double s) {
    ml_tensor *st = ml_scalar(s, ml_dtype_is_float(a->dtype) ? a->dtype : ML_INT64);
    if (!st) return -1;
    int r = ml_binary_inplace(ML_MUL, a, st);
    ml_release(st);
    return r;
}

int ml_fill_inplace(ml_tensor *a, double v) {
    if (check_inplace("fill", a) < 0 || ml_check_writable("fill_", a) < 0) return -1;
    ml_tensor *st = ml_scalar(v, a->dtype);
    if (!st) return -1;
    int r = ml_copy_into(a, st);
    ml_release(st);
    ml_bump_version(a);
    return r;
}

/* the rules autograd/graph_rules.c knows by address (create_graph) */
const ml_backward_fn ml_rule_binary = binary_backward, ml_rule_scalar = scalar_backward;
