/* Comparisons returning bool masks (the ML_COMPARE_OPS table of optable.h), isnan/isinf, logical not, and dtype
 * conversion (differentiable between float dtypes). */
#include <math.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"

#define OP_NAME(E, name, ...) [E] = #name,
static const char *const compare_names[ML_NCOMPARE] = {ML_COMPARE_OPS(OP_NAME)};
#define OP_COUNT(...) +1
_Static_assert(0 ML_COMPARE_OPS(OP_COUNT) == ML_NCOMPARE, "one row per comparison");

#define DEF_CMP(NAME, T, OP)                                                                                  \
    static void NAME(void *o_, const void *a_, int64_t sa, const void *b_, int64_t sb, int64_t n,            \
                     const void *ctx) {                                                                      \
        uint8_t *o = o_;                                                                                     \
        const T *a = a_, *b = b_;                                                                            \
        if (sa == 1 && sb == 0) {                                                                            \
            T y = b[0];                                                                                      \
            for (int64_t i = 0; i < n; i++) { T x = a[i]; o[i] = x OP y; }                                  \
        } else {                                                                                             \
            for (int64_t i = 0; i < n; i++) { T x = a[i * sa], y = b[i * sb]; o[i] = x OP y; }               \
        }                                                                                                    \
    }
#define CMP_float(E, name, op, ...) DEF_CMP(name##_float, float, op)
#define CMP_double(E, name, op, ...) DEF_CMP(name##_double, double, op)
#define CMP_int64(E, name, op, ...) DEF_CMP(name##_int64, int64_t, op)
#define CMP_bool(E, name, op, ...) DEF_CMP(name##_bool, uint8_t, op)
ML_COMPARE_OPS(CMP_float)
ML_COMPARE_OPS(CMP_double)
ML_COMPARE_OPS(CMP_int64)
ML_COMPARE_OPS(CMP_bool)

/* [op][dtype]: float32, float64, int64, bool */
#define ROWS(E, name, ...) [E] = {name##_float, name##_double, name##_int64, name##_bool},
static const ml_row_fn compare_rows[ML_NCOMPARE][4] = {ML_COMPARE_OPS(ROWS)};
_Static_assert(ML_FLOAT32 == 0 && ML_FLOAT64 == 1 && ML_INT64 == 2 && ML_BOOL == 3, "compare_rows is indexed by dtype");

ml_tensor *ml_compare(ml_compare_op op, ml_tensor *a, ml_tensor *b) {
    ml_dtype dt = ml_promote(a->dtype, b->dtype);
    return ml_map_binary(compare_names[op], a, b, dt, ML_BOOL, compare_rows[op][dt], NULL);
}

typedef enum { TEST_NAN, TEST_INF, TEST_NOT } test_kind;

static ml_tensor *test_values(ml_tensor *a, test_kind kind) {
    ml_tensor *out = ml_empty(a->ndim, a->shape, ML_BOOL);
    ml_tensor *c = out ? ml_contiguous(a) : NULL;
    if (!c) { ml_release(out); return NULL; }
    uint8_t *o = ml_data(out);
    int64_t n = out->numel;
    if (a->dtype == ML_FLOAT32) {
        const float *p = ml_data(c);
        for (int64_t i = 0; i < n; i++) o[i] = kind == TEST_NAN ? isnan(p[i]) : kind == TEST_INF ? isinf(p[i]) : p[i] == 0;
    } else if (a->dtype == ML_FLOAT64) {
        const double *p = ml_data(c);
        for (int64_t i = 0; i < n; i++) o[i] = kind == TEST_NAN ? isnan(p[i]) : kind == TEST_INF ? isinf(p[i]) : p[i] == 0;
    } else if (a->dtype == ML_INT64) {
        const int64_t *p = ml_data(c);
        for (int64_t i = 0; i < n; i++) o[i] = kind == TEST_NOT ? p[i] == 0 : 0;
    } else {
        const uint8_t *p = ml_data(c);
        for (int64_t i = 0; i < n; i++) o[i] = kind == TEST_NOT ? !p[i] : 0;
    }
    ml_release(c);
    return out;
}

ml_tensor *ml_isnan(ml_tensor *a) { return test_values(a, TEST_NAN); }
ml_tensor *ml_isinf(ml_tensor *a) { return test_values(a, TEST_INF); }
ml_tensor *ml_logical_not(ml_tensor *a) { return test_values(a, TEST_NOT); }

static int to_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    gin[0] = ml_to_dtype(g, n->in_dtype[0]);
    return gin[0] ? 0 : -1;
}

/* Same dtype: the tensor itself, as PyTorch's .to() returns self. */
ml_tensor *ml_to(ml_tensor *a, ml_dtype dt) {
    if (a->dtype == dt) return ml_retain(a);
    ml_tensor *out = ml_to_dtype(a, dt);
    if (out && ml_needs_record(1, &a) && ml_dtype_is_float(dt)) {
        if (!ml_record("to", to_backward, out, 1, &a)) { ml_release(out); return NULL; }
    }
    return out;
}

/* the rule autograd/graph_rules.c knows by address (create_graph) */
const ml_backward_fn ml_rule_to = to_backward;
