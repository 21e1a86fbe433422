/* The broadcast iterator: collapses dimensions that are contiguous for
 * every operand, then walks rows of the innermost dimension, splitting rows
 * (or, for one long row, the row itself) across threads. */
#include "apply.h"

#include <math.h>
#include <string.h>

#include "ops.h"

typedef struct {
    int nd;
    int64_t shape[ML_MAX_DIMS], sa[ML_MAX_DIMS], sb[ML_MAX_DIMS];
    char *o;
    const char *a, *b;
    size_t oes, ies;
    ml_row_fn fn;
    const void *ctx;
} apply_job;

/* rows [start, end) of the collapsed iteration space */
static void apply_rows(void *p, int64_t start, int64_t end) {
    apply_job *j = p;
    int nd = j->nd;
    int64_t inner = j->shape[nd - 1];
    for (int64_t r = start; r < end; r++) {
        int64_t rem = r, ao = 0, bo = 0;
        for (int d = nd - 2; d >= 0; d--) {
            int64_t i = rem % j->shape[d];
            rem /= j->shape[d];
            ao += i * j->sa[d];
            bo += i * j->sb[d];
        }
        j->fn(j->o + r * inner * j->oes, j->a + ao * j->ies, j->sa[nd - 1], j->b + bo * j->ies, j->sb[nd - 1], inner,
              j->ctx);
    }
}

/* one long row split across threads */
static void apply_flat(void *p, int64_t start, int64_t end) {
    apply_job *j = p;
    int64_t sa = j->sa[0], sb = j->sb[0];
    j->fn(j->o + start * j->oes, j->a + start * sa * j->ies, sa, j->b + start * sb * j->ies, sb, end - start, j->ctx);
}

/* fn over n elements as one row: a direct call below the size where
 * ml_parallel_for would split it (what a tiny op pays for the thread
 * check and the job), else split across threads as before. */
__attribute__((noinline)) static void run_flat_parallel(char *o, const char *a, int64_t sa, const char *b, int64_t sb,
                                                        int64_t n, size_t oes, size_t ies, ml_row_fn fn, const void *ctx) {
    apply_job j = {.nd = 1, .shape = {n}, .sa = {sa}, .sb = {sb}, .o = o, .a = a, .b = b, .oes = oes, .ies = ies,
                   .fn = fn, .ctx = ctx};
    ml_parallel_for(n, ML_PAR_GRAIN, apply_flat, &j);
}

static inline void run_flat(char *o, const char *a, int64_t sa, const char *b, int64_t sb, int64_t n, size_t oes,
                            size_t ies, ml_row_fn fn, const void *ctx) {
    if (n < 2 * ML_PAR_GRAIN) fn(o, a, sa, b, sb, n, ctx);
    else run_flat_parallel(o, a, sa, b, sb, n, oes, ies, fn, ctx); /* (its job's zeroing stays off the small path) */
}

void ml_apply_binary(ml_tensor *out, const ml_tensor *a, const ml_tensor *b, ml_row_fn fn, const void *ctx) {
    if (out->numel == 0) return;
    if (ml_same_shape(a, out) && ml_same_shape(b, out) && ml_is_contiguous(a) && ml_is_contiguous(b)) {
        /* the common case needs none of the collapsing below */
        run_flat(ml_data(out), ml_data(a), 1, ml_data(b), 1, out->numel, ml_dtype_size(out->dtype),
                 ml_dtype_size(a->dtype), fn, ctx);
        return;
    }
    apply_job j;
    int nd = out->ndim;
    int64_t sa[ML_MAX_DIMS], sb[ML_MAX_DIMS];
    ml_broadcast_strides(a, nd, out->shape, sa);
    ml_broadcast_strides(b, nd, out->shape, sb);
    /* drop size-1 dims, then merge neighbours that are contiguous in both inputs */
    int k = 0;
    for (int d = 0; d < nd; d++) {
        if (out->shape[d] == 1) continue;
        if (k > 0 && sa[d] * out->shape[d] == j.sa[k - 1] && sb[d] * out->shape[d] == j.sb[k - 1]) {
            j.shape[k - 1] *= out->shape[d];
            j.sa[k - 1] = sa[d];
            j.sb[k - 1] = sb[d];
            continue;
        }
        j.shape[k] = out->shape[d];
        j.sa[k] = sa[d];
        j.sb[k] = sb[d];
        k++;
    }
    if (k == 0) {
        j.shape[0] = 1;
        j.sa[0] = j.sb[0] = 0;
        k = 1;
    }
    j.nd = k;
    j.o = ml_data(out);
    j.a = ml_data(a);
    j.b = ml_data(b);
    j.oes = ml_dtype_size(out->dtype);
    j.ies = ml_dtype_size(a->dtype);
    j.fn = fn;
    j.ctx = ctx;
    if (k == 1) {
        run_flat(j.o, j.a, j.sa[0], j.b, j.sb[0], j.shape[0], j.oes, j.ies, fn, ctx);
    } else {
        int64_t inner = j.shape[k - 1], rows = out->numel / inner;
        int64_t grain = ML_PAR_GRAIN / inner;
        ml_parallel_for(rows, grain > 0 ? grain : 1, apply_rows, &j);
    }
}

ml_tensor *ml_map_binary(const char *fn_name, ml_tensor *a, ml_tensor *b, ml_dtype dt, ml_dtype out_dt, ml_row_fn fn,
                         const void *ctx) {
    if (a->dtype == dt && b->dtype == dt && ml_same_shape(a, b)) { /* nothing to broadcast or convert */
        ml_tensor *out = ml_empty(a->ndim, a->shape, out_dt);
        if (!out || out->numel == 0) return out;
        if (ml_is_contiguous(a) && ml_is_contiguous(b))
            run_flat(ml_data(out), ml_data(a), 1, ml_data(b), 1, out->numel, ml_dtype_size(out_dt), ml_dtype_size(dt), fn,
                     ctx);
        else
            ml_apply_binary(out, a, b, fn, ctx);
        return out;
    }
    int nd;
    int64_t shape[ML_MAX_DIMS];
    if (ml_broadcast_shapes(fn_name, a->ndim, a->shape, b->ndim, b->shape, &nd, shape) < 0) return NULL;
    ml_tensor *ca = ml_to_dtype(a, dt), *cb = ca ? ml_to_dtype(b, dt) : NULL;
    ml_tensor *out = cb ? ml_empty(nd, shape, out_dt) : NULL;
    if (out) ml_apply_binary(out, ca, cb, fn, ctx);
    ml_release(ca);
    ml_release(cb);
    return out;
}

ml_tensor *ml_scalar_operand(const ml_tensor *a, double s) {
    bool integral = s == floor(s) && fabs(s) < 9e18;
    return ml_scalar(s, ml_dtype_is_float(a->dtype) ? a->dtype : integral ? ML_INT64 : ML_FLOAT32);
}

ml_tensor *ml_map_scalar(ml_tensor *a, const void *s, bool reversed, ml_dtype out_dt, ml_row_fn fn, const void *ctx) {
    ml_tensor *out = ml_empty(a->ndim, a->shape, out_dt);
    if (!out || out->numel == 0) return out;
    size_t oes = ml_dtype_size(out_dt), ies = ml_dtype_size(a->dtype);
    if (reversed) run_flat(ml_data(out), s, 0, ml_data(a), 1, a->numel, oes, ies, fn, ctx);
    else run_flat(ml_data(out), ml_data(a), 1, s, 0, a->numel, oes, ies, fn, ctx);
    return out;
}
