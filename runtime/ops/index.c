/* Indexing: index_select, gather, scatter_add, masked_select, masked_fill,
 * and the kernels their backward rules need (index_add, scatter_add into
 * zeros, scatter into mask positions).
 *
 * Indices are 0-based int64 tensors here (the bindings convert from Lua's
 * 1-based ones); an out-of-range index is reported 1-based, as the user
 * wrote it. Every index is validated before anything is written. Copies are
 * by element size (1, 4 or 8 bytes), so one kernel serves every dtype; the
 * additions (index_add, scatter_add) are instantiated per numeric dtype. */
#include <string.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"

/* ---- shared checks ----------------------------------------------------- */
/* The index as a contiguous int64 tensor (new reference), or NULL. */
static ml_tensor *check_index(const char *fn, ml_tensor *index) {
    if (index->dtype != ML_INT64)
        return ml_error("%s: index must be an int64 tensor, got %s", fn, ml_dtype_name(index->dtype));
    return ml_contiguous(index);
}

/* Every value of ix in [0, size); the message names the 1-based value. */
static int check_range(const char *fn, const ml_tensor *ix, int dim, int64_t size) {
    const int64_t *p = ml_data(ix);
    for (int64_t i = 0; i < ix->numel; i++) {
        if ((uint64_t)p[i] >= (uint64_t)size) {
            ml_error("%s: index %lld is out of range for dimension %d of size %lld%s", fn, (long long)p[i] + 1, dim + 1,
                     (long long)size, p[i] == -1 ? " (indices are 1-based)" : "");
            return -1;
        }
    }
    return 0;
}

static int check_dim(const char *fn, const ml_tensor *a, int dim) {
    if (a->ndim == 0) { ml_error("%s: expected a tensor with at least 1 dimension, got a 0-d tensor", fn); return -1; }
    if (dim < 0 || dim >= a->ndim) {
        ml_error("%s: dimension %d out of range for a tensor with %d dimensions", fn, dim + 1, a->ndim);
        return -1;
    }
    return 0;
}

static int64_t prod(const int64_t *s, int from, int to) {
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= s[i];
    return p;
}

/* The gradient g converted to the dtype input k had (promoted ops). */
static ml_tensor *as_input_dtype(ml_node *n, int k, ml_tensor *g) {
    if (!g || g->dtype == n->in_dtype[k] || !ml_dtype_is_float(n->in_dtype[k])) return g;
    ml_tensor *c = ml_to_dtype(g, n->in_dtype[k]);
    ml_release(g);
    return c;
}

/* ---- index_select -------------------------------------------------------- */
/* a (outer, n, inner) contiguous -> out (outer, nidx, inner): one row copy per (o, j). */
typedef struct {
    const char *src;
    char *dst;
    const int64_t *ix; /* (nidx) */
    int64_t nidx, n, inner;
    size_t es;
} isel_job;

#define ISEL_ELEMS(T)                                                                                         \
    do {                                                                                                     \
        const T *s = (const T *)j->src;                                                                      \
        T *d = (T *)j->dst;                                                                                  \
        for (int64_t r = start; r < end; r++) d[r] = s[(r / j->nidx) * j->n + j->ix[r % j->nidx]];            \
    } while (0)

static void isel_rows(void *p, int64_t start, int64_t end) {
    isel_job *j = p;
    if (j->inner == 1) { /* selecting along the last dimension: element copies */
        switch (j->es) {
        case 1: ISEL_ELEMS(uint8_t); break;
        case 4: ISEL_ELEMS(uint32_t); break;
        default: ISEL_ELEMS(uint64_t); break;
        }
        return;
    }
    size_t rb = (size_t)j->inner * j->es;
    for (int64_t r = start; r < end; r++) {
        int64_t o = r / j->nidx, k = r % j->nidx;
        memcpy(j->dst + (size_t)r * rb, j->src + (size_t)(o * j->n + j->ix[k]) * rb, rb);
    }
}

/* gx (outer, n, inner) += g (outer, nidx, inner) scattered by ix along the middle dimension. */
#define DEF_INDEX_ADD(T)                                                                                      \
    static void index_add_##T(T *gx, const T *g, const int64_t *ix, int64_t outer, int64_t nidx, int64_t n,  \
                              int64_t inner) {                                                               \
        for (int64_t o = 0; o < outer; o++)                                                                  \
            for (int64_t k = 0; k < nidx; k++) {                                                             \
                T *d = gx + (o * n + ix[k]) * inner;                                                         \
                const T *s = g + (o * nidx + k) * inner;                                                     \
                for (int64_t i = 0; i < inner; i++) d[i] += s[i];                                            \
            }                                                                                                \
    }
DEF_INDEX_ADD(float)
DEF_INDEX_ADD(double)

/* d index_select / d a: the rows of g added into zeros at the selected positions */
static int index_select_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *ix = ml_saved(n, 0);
    if (!ix) return -1;
    int dim = n->ctx.along.dim;
    ml_tensor *gc = ml_contiguous(g);
    ml_tensor *gx = gc ? ml_zeros(n->in_ndim[0], n->in_shape[0], g->dtype) : NULL;
    if (!gx) { ml_release(gc); return -1; }
    const int64_t *s = n->in_shape[0];
    int64_t outer = prod(s, 0, dim), inner = prod(s, dim + 1, n->in_ndim[0]);
    if (g->dtype == ML_FLOAT32) index_add_float(ml_data(gx), ml_data(gc), ml_data(ix), outer, ix->numel, s[dim], inner);
    else index_add_double(ml_data(gx), ml_data(gc), ml_data(ix), outer, ix->numel, s[dim], inner);
    ml_release(gc);
    gin[0] = as_input_dtype(n, 0, gx);
    return gin[0] ? 0 : -1;
}

ml_tensor *ml_index_select(ml_tensor *a, int dim, ml_tensor *index) {
    const char *fn = "index_select";
    if (check_dim(fn, a, dim) < 0) return NULL;
    if (index->ndim > 1) return ml_error("%s: index must be 1-D, got %d dimensions", fn, index->ndim);
    ml_tensor *ix = check_index(fn, index);
    if (!ix) return NULL;
    if (check_range(fn, ix, dim, a->shape[dim]) < 0) { ml_release(ix); return NULL; }
    int64_t shape[ML_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[dim] = ix->numel;
    ml_tensor *x = ml_contiguous(a);
    ml_tensor *out = x ? ml_empty(a->ndim, shape, a->dtype) : NULL;
    if (!out) { ml_release(x); ml_release(ix); return NULL; }
    isel_job j = {ml_data(x), ml_data(out), ml_data(ix), ix->numel, a->shape[dim], prod(a->shape, dim + 1, a->ndim),
                  ml_dtype_size(a->dtype)};
    int64_t rows = prod(a->shape, 0, dim) * ix->numel;
    int64_t grain = j.inner ? ML_PAR_GRAIN / j.inner : rows;
    if (out->numel) ml_parallel_for(rows, grain > 0 ? grain : 1, isel_rows, &j);
    ml_release(x);
    if (ml_needs_record(1, &a)) {
        ml_node *n = ml_record(fn, index_select_backward, out, 1, &a);
        if (!n) { ml_release(out); ml_release(ix); return NULL; }
        n->ctx.along.dim = dim;
        ml_save(n, 0, ix);
    }
    ml_release(ix);
    return out;
}

/* ---- gather and scatter_add ----------------------------------------------- */
/* Both walk the index (contiguous, shape ishape) row by row along its last
 * dimension. For an index position p, the "indexed" tensor is read (gather)
 * or written (scatter) at p with coordinate `dim` replaced by ix[p]; the
 * "plain" tensor is written (gather's output) or read (scatter's src) at p. */
typedef struct {
    int nd, dim;
    int64_t shape[ML_MAX_DIMS]; /* the index's shape */
    int64_t xs[ML_MAX_DIMS];    /* strides of the indexed tensor */
    int64_t ps[ML_MAX_DIMS];    /* strides of the plain tensor */
    const int64_t *ix;
    char *x, *p;                /* data pointers (element 0 of each view) */
    size_t es;
    ml_dtype dt;
} walk_job;

/* Offsets of row r (coordinates of all but the last dimension) in x (without `dim`) and p. */
static void row_offsets(const walk_job *j, int64_t r, int64_t *xo, int64_t *po) {
    int64_t a = 0, b = 0;
    for (int d = j->nd - 2; d >= 0; d--) {
        int64_t c = r % j->shape[d];
        r /= j->shape[d];
        if (d != j->dim) a += c * j->xs[d];
        b += c * j->ps[d];
    }
    *xo = a;
    *po = b;
}

#define GATHER_ROW(T)                                                                                         \
    do {                                                                                                     \
        const T *x = (const T *)j->x + xo;                                                                   \
        T *o = (T *)j->p + po;                                                                               \
        if (last_is_dim)                                                                                     \
            for (int64_t i = 0; i < len; i++) o[i] = x[ix[i] * xd];                                          \
        else                                                                                                 \
            for (int64_t i = 0; i < len; i++) o[i] = x[i * xl + ix[i] * xd];                                 \
    } while (0)

/* the plain tensor is gather's contiguous output: ps are contiguous strides */
static void gather_rows(void *p, int64_t start, int64_t end) {
    walk_job *j = p;
    int64_t len = j->shape[j->nd - 1], xd = j->xs[j->dim], xl = j->xs[j->nd - 1];
    bool last_is_dim = j->dim == j->nd - 1;
    for (int64_t r = start; r < end; r++) {
        int64_t xo, po;
        row_offsets(j, r, &xo, &po);
        const int64_t *ix = j->ix + r * len;
        switch (j->es) {
        case 1: GATHER_ROW(uint8_t); break;
        case 4: GATHER_ROW(uint32_t); break;
        default: GATHER_ROW(uint64_t); break;
        }
    }
}

#define SCATTER_ADD_ROWS(T)                                                                                   \
    do {                                                                                                     \
        for (int64_t r = 0; r < rows; r++) {                                                                 \
            int64_t xo, po;                                                                                  \
            row_offsets(j, r, &xo, &po);                                                                     \
            const int64_t *ix = j->ix + r * len;                                                             \
            T *x = (T *)j->x + xo;                                                                           \
            const T *s = (const T *)j->p + po;                                                               \
            if (last_is_dim)                                                                                 \
                for (int64_t i = 0; i < len; i++) x[ix[i] * xd] += s[i * pl];                                \
            else                                                                                             \
                for (int64_t i = 0; i < len; i++) x[i * xl + ix[i] * xd] += s[i * pl];                       \
        }                                                                                                    \
    } while (0)

/* Serial: two index positions may hit the same element. */
static void scatter_add_rows(walk_job *j) {
    int64_t len = j->shape[j->nd - 1], xd = j->xs[j->dim], xl = j->xs[j->nd - 1], pl = j->ps[j->nd - 1];
    int64_t rows = len ? ml_numel_of(j->nd, j->shape) / len : 0;
    bool last_is_dim = j->dim == j->nd - 1;
    switch (j->dt) {
    case ML_FLOAT32: SCATTER_ADD_ROWS(float); break;
    case ML_FLOAT64: SCATTER_ADD_ROWS(double); break;
    case ML_INT64: SCATTER_ADD_ROWS(int64_t); break;
    default: break;
    }
}

static walk_job make_walk(const ml_tensor *x, const ml_tensor *plain, const ml_tensor *ix, int dim) {
    walk_job j = {.nd = ix->ndim, .dim = dim, .ix = ml_data(ix), .x = ml_data(x), .p = ml_data(plain),
                  .es = ml_dtype_size(x->dtype), .dt = x->dtype};
    memcpy(j.shape, ix->shape, sizeof j.shape);
    memcpy(j.xs, x->strides, sizeof j.xs);
    memcpy(j.ps, plain->strides, sizeof j.ps);
    return j;
}

/* index.shape[d] <= t.shape[d] for every d (except `dim` when skip_dim). */
static int check_fits(const char *fn, const ml_tensor *ix, const ml_tensor *t, const char *what, int dim, bool skip_dim) {
    if (ix->ndim != t->ndim) {
        ml_error("%s: index has %d dimensions, expected %d (as %s)", fn, ix->ndim, t->ndim, what);
        return -1;
    }
    for (int d = 0; d < t->ndim; d++) {
        if ((skip_dim && d == dim) || ix->shape[d] <= t->shape[d]) continue;
        char b1[128], b2[128];
        ml_error("%s: index has shape %s, expected at most %s (%s) in every dimension%s", fn,
                 ml_shape_str(b1, sizeof b1, ix->ndim, ix->shape), ml_shape_str(b2, sizeof b2, t->ndim, t->shape), what,
                 skip_dim ? " except the indexed one" : "");
        return -1;
    }
    return 0;
}

/* Raw scatter_add into a contiguous copy of a (no autograd). */
static ml_tensor *scatter_add_raw(ml_tensor *a, int dim, ml_tensor *ix, ml_tensor *src) {
    ml_tensor *out = ml_clone(a);
    if (!out) return NULL;
    if (ix->numel) {
        walk_job j = make_walk(out, src, ix, dim);
        scatter_add_rows(&j);
    }
    return out;
}

static int gather_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *ix = ml_saved(n, 0);
    if (!ix) return -1;
    ml_tensor *z = ml_zeros(n->in_ndim[0], n->in_shape[0], g->dtype);
    if (!z) return -1;
    ml_tensor *gx = scatter_add_raw(z, n->ctx.along.dim, ix, g);
    ml_release(z);
    gin[0] = as_input_dtype(n, 0, gx);
    return gin[0] ? 0 : -1;
}

static ml_tensor *gather_raw(ml_tensor *a, int dim, ml_tensor *ix) {
    ml_tensor *out = ml_empty(ix->ndim, ix->shape, a->dtype);
    if (!out || !out->numel) return out;
    walk_job j = make_walk(a, out, ix, dim);
    int64_t len = ix->shape[ix->ndim - 1], rows = ix->numel / len;
    int64_t grain = ML_PAR_GRAIN / len;
    ml_parallel_for(rows, grain > 0 ? grain : 1, gather_rows, &j);
    return out;
}

ml_tensor *ml_gather(ml_tensor *a, int dim, ml_tensor *index) {
    const char *fn = "gather";
    if (check_dim(fn, a, dim) < 0) return NULL;
    ml_tensor *ix = check_index(fn, index);
    if (!ix) return NULL;
    if (check_fits(fn, ix, a, "the input", dim, true) < 0 || check_range(fn, ix, dim, a->shape[dim]) < 0) {
        ml_release(ix);
        return NULL;
    }
    ml_tensor *out = gather_raw(a, dim, ix);
    if (out && ml_needs_record(1, &a)) {
        ml_node *n = ml_record(fn, gather_backward, out, 1, &a);
        if (!n) { ml_release(out); out = NULL; }
        else {
            n->ctx.along.dim = dim;
            ml_save(n, 0, ix);
        }
    }
    ml_release(ix);
    return out;
}

/* d/d a = g; d/d src = g gathered at the index positions (zeros where src was not used) */
static int scatter_add_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    if (n->needs[0]) gin[0] = ml_retain(g);
    if (!n->needs[1]) return 0;
    ml_tensor *ix = ml_saved(n, 0);
    if (!ix) return -1;
    ml_tensor *gs = gather_raw(g, n->ctx.along.dim, ix);
    if (!gs) return -1;
    const int64_t *ss = n->in_shape[1];
    if (memcmp(ss, ix->shape, sizeof(int64_t) * ix->ndim) != 0) { /* src larger than the index */
        ml_tensor *z = ml_zeros(n->in_ndim[1], ss, g->dtype);
        ml_tensor *v = z ? ml_view(z, ix->ndim, ix->shape, z->strides, 0) : NULL;
        int r = v ? ml_copy_into(v, gs) : -1;
        ml_release(v);
        ml_release(gs);
        if (r < 0) { ml_release(z); return -1; }
        gs = z;
    }
    gin[1] = as_input_dtype(n, 1, gs);
    return gin[1] ? 0 : -1;
}

ml_tensor *ml_scatter_add(ml_tensor *a, int dim, ml_tensor *index, ml_tensor *src) {
    const char *fn = "scatter_add";
    if (check_dim(fn, a, dim) < 0) return NULL;
    if (a->dtype == ML_BOOL) return ml_error("%s: bool tensors are not supported", fn);
    if (src->dtype != a->dtype)
        return ml_error("%s: src has dtype %s, expected %s (the dtype of the input)", fn, ml_dtype_name(src->dtype),
                        ml_dtype_name(a->dtype));
    ml_tensor *ix = check_index(fn, index);
    if (!ix) return NULL;
    if (check_fits(fn, ix, a, "the input", dim, true) < 0 || check_fits(fn, ix, src, "src", dim, false) < 0 ||
        check_range(fn, ix, dim, a->shape[dim]) < 0) {
        ml_release(ix);
        return NULL;
    }
    ml_tensor *out = scatter_add_raw(a, dim, ix, src);
    ml_tensor *in[2] = {a, src};
    if (out && ml_needs_record(2, in)) {
        ml_node *n = ml_record(fn, scatter_add_backward, out, 2, in);
        if (!n) { ml_release(out); out = NULL; }
        else {
            n->ctx.along.dim = dim;
            ml_save(n, 0, ix);
        }
    }
    ml_release(ix);
    return out;
}

/* ---- masked_select and masked_fill ------------------------------------------ */
static int check_mask(const char *fn, const ml_tensor *mask) {
    if (mask->dtype != ML_BOOL) {
        ml_error("%s: mask must be a bool tensor, got %s", fn, ml_dtype_name(mask->dtype));
        return -1;
    }
    return 0;
}

/* t broadcast to (ndim, shape) as a contiguous tensor (t itself, retained, when it already is). */
static ml_tensor *broadcast_contig(ml_tensor *t, int ndim, const int64_t *shape) {
    if (t->ndim == ndim && !memcmp(t->shape, shape, sizeof(int64_t) * ndim)) return ml_contiguous(t);
    ml_tensor *c = ml_empty(ndim, shape, t->dtype);
    if (c && ml_copy_into(c, t) < 0) { ml_release(c); return NULL; }
    return c;
}

/* Copies the elements of x (contiguous) where m is set into out, in order. */
#define COMPACT(T)                                                                                            \
    do {                                                                                                     \
        const T *s = (const T *)xs;                                                                          \
        T *d = (T *)ds;                                                                                      \
        int64_t k = 0;                                                                                       \
        for (int64_t i = 0; i < n; i++)                                                                      \
            if (m[i]) d[k++] = s[i];                                                                         \
    } while (0)

static void compact(void *ds, const void *xs, const uint8_t *m, int64_t n, size_t es) {
    switch (es) {
    case 1: COMPACT(uint8_t); break;
    case 4: COMPACT(uint32_t); break;
    default: COMPACT(uint64_t); break;
    }
}

/* the inverse: the elements of g (contiguous) written, in order, where m is set */
#define EXPAND(T)                                                                                             \
    do {                                                                                                     \
        const T *s = (const T *)gs;                                                                          \
        T *d = (T *)ds;                                                                                      \
        int64_t k = 0;                                                                                       \
        for (int64_t i = 0; i < n; i++)                                                                      \
            if (m[i]) d[i] = s[k++];                                                                         \
    } while (0)

static void expand_masked(void *ds, const void *gs, const uint8_t *m, int64_t n, size_t es) {
    switch (es) {
    case 1: EXPAND(uint8_t); break;
    case 4: EXPAND(uint32_t); break;
    default: EXPAND(uint64_t); break;
    }
}

static int masked_select_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *m = ml_saved(n, 0); /* the mask broadcast to the common shape, contiguous */
    if (!m) return -1;
    ml_tensor *gc = ml_contiguous(g);
    ml_tensor *z = gc ? ml_zeros(m->ndim, m->shape, g->dtype) : NULL;
    if (!z) { ml_release(gc); return -1; }
    expand_masked(ml_data(z), ml_data(gc), ml_data(m), m->numel, ml_dtype_size(g->dtype));
    ml_release(gc);
    gin[0] = ml_sum_to_shape(z, n->in_ndim[0], n->in_shape[0]);
    ml_release(z);
    gin[0] = as_input_dtype(n, 0, gin[0]);
    return gin[0] ? 0 : -1;
}

ml_tensor *ml_masked_select(ml_tensor *a, ml_tensor *mask) {
    const char *fn = "masked_select";
    if (check_mask(fn, mask) < 0) return NULL;
    int nd;
    int64_t shape[ML_MAX_DIMS];
    if (ml_broadcast_shapes(fn, a->ndim, a->shape, mask->ndim, mask->shape, &nd, shape) < 0) return NULL;
    ml_tensor *x = broadcast_contig(a, nd, shape), *m = x ? broadcast_contig(mask, nd, shape) : NULL;
    if (!m) { ml_release(x); return NULL; }
    const uint8_t *mp = ml_data(m);
    int64_t count = 0;
    for (int64_t i = 0; i < m->numel; i++) count += mp[i] != 0;
    ml_tensor *out = ml_empty(1, &count, a->dtype);
    if (out) compact(ml_data(out), ml_data(x), mp, m->numel, ml_dtype_size(a->dtype));
    ml_release(x);
    if (out && ml_needs_record(1, &a)) {
        ml_node *n = ml_record(fn, masked_select_backward, out, 1, &a);
        if (!n) { ml_release(out); out = NULL; }
        else ml_save(n, 0, m);
    }
    ml_release(m);
    return out;
}

#define FILL_MASKED(T, V)                                                                                     \
    do {                                                                                                     \
        T *d = ml_data(out), v = (V);                                                                        \
        for (int64_t i = 0; i < n; i++)                                                                      \
            if (mp[i]) d[i] = v;                                                                             \
    } while (0)

static void fill_masked(ml_tensor *out, const uint8_t *mp, double value) {
    int64_t n = out->numel;
    switch (out->dtype) {
    case ML_FLOAT32: FILL_MASKED(float, (float)value); break;
    case ML_FLOAT64: FILL_MASKED(double, value); break;
    case ML_INT64: FILL_MASKED(int64_t, (int64_t)value); break;
    case ML_BOOL: FILL_MASKED(uint8_t, value != 0); break;
    default: break;
    }
}

/* the filled positions do not depend on the input: g with zeros there */
static int masked_fill_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *m = ml_saved(n, 0);
    if (!m) return -1;
    ml_tensor *gx = ml_clone(g);
    if (!gx) return -1;
    fill_masked(gx, ml_data(m), 0.0);
    gin[0] = as_input_dtype(n, 0, gx);
    return gin[0] ? 0 : -1;
}

ml_tensor *ml_masked_fill(ml_tensor *a, ml_tensor *mask, double value) {
    const char *fn = "masked_fill";
    if (check_mask(fn, mask) < 0) return NULL;
    int nd;
    int64_t shape[ML_MAX_DIMS];
    if (ml_broadcast_shapes(fn, a->ndim, a->shape, mask->ndim, mask->shape, &nd, shape) < 0) return NULL;
    if (nd != a->ndim || memcmp(shape, a->shape, sizeof(int64_t) * nd) != 0) {
        char b1[128], b2[128];
        return ml_error("%s: mask of shape %s cannot be broadcast to the input's shape %s", fn,
                        ml_shape_str(b1, sizeof b1, mask->ndim, mask->shape), ml_shape_str(b2, sizeof b2, a->ndim, a->shape));
    }
    if (a->dtype == ML_INT64 && !(value >= -0x1p63 && value < 0x1p63))
        return ml_error("%s: value %g cannot be stored in an int64 tensor", fn, value);
    ml_tensor *m = broadcast_contig(mask, a->ndim, a->shape);
    ml_tensor *out = m ? ml_clone(a) : NULL;
    if (!out) { ml_release(m); return NULL; }
    fill_masked(out, ml_data(m), value);
    if (ml_needs_record(1, &a)) {
        ml_node *n = ml_record(fn, masked_fill_backward, out, 1, &a);
        if (!n) { ml_release(out); out = NULL; }
        else ml_save(n, 0, m);
    }
    ml_release(m);
    return out;
}
