/* Sorting along a dimension: sort (stable) and topk.
 *
 * Order: NaN sorts as the largest value (last ascending, first descending),
 * as in PyTorch. Both are stable: equal values keep their original order, in
 * either direction; topk returns the same elements, in the same order, as a
 * stable sort cut to k. Each lane (one 1-D slice along dim) is copied into a
 * buffer of (value, index) pairs, sorted there, and written back; lanes run
 * in parallel. sort is an insertion sort of runs of 16 followed by a
 * bottom-up merge sort; topk with a small k keeps a sorted buffer of the k
 * best (O(n k)), and sorts in full otherwise.
 *
 * The backward of both sends each gradient element back to the position its
 * value came from: scatter_add of g into zeros, with the indices. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "apply.h"
#include "ops.h"

#define SORT_RUN 16
#define TOPK_SMALL 32 /* k up to which topk keeps a sorted buffer instead of sorting */

typedef struct {
    int64_t outer, n, inner, k; /* k: how many of each lane's n to keep */
    bool desc;
    const void *x; /* (outer, n, inner) contiguous */
    void *vals;    /* (outer, k, inner) */
    int64_t *idx;  /* (outer, k, inner) */
    atomic_int failed;
} sort_job;

/* BEFORE(a, b): a goes strictly before b. Ascending: a < b, or b is NaN and a
 * is not. Descending: a > b, or a is NaN and b is not. (x != x is false for
 * integers, so the NaN terms vanish there.) */
#define BEFORE(a, b, desc) ((desc) ? ((a) > (b) || ((a) != (a) && (b) == (b))) : ((a) < (b) || ((b) != (b) && (a) == (a))))

#define DEF_SORT(T)                                                                                           \
    typedef struct { T v; int64_t i; } pair_##T;                                                             \
                                                                                                             \
    static void insertion_##T(pair_##T *a, int64_t n, bool desc) {                                           \
        for (int64_t i = 1; i < n; i++) {                                                                    \
            pair_##T cur = a[i];                                                                             \
            int64_t j = i;                                                                                   \
            while (j > 0 && BEFORE(cur.v, a[j - 1].v, desc)) { a[j] = a[j - 1]; j--; }                       \
            a[j] = cur;                                                                                      \
        }                                                                                                    \
    }                                                                                                        \
                                                                                                             \
    /* stable merge sort of a[0..n); tmp has room for n pairs */                                             \
    static void msort_##T(pair_##T *a, pair_##T *tmp, int64_t n, bool desc) {                                \
        for (int64_t s = 0; s < n; s += SORT_RUN) insertion_##T(a + s, n - s < SORT_RUN ? n - s : SORT_RUN, desc); \
        pair_##T *src = a, *dst = tmp;                                                                       \
        for (int64_t w = SORT_RUN; w < n; w *= 2) {                                                          \
            for (int64_t lo = 0; lo < n; lo += 2 * w) {                                                      \
                int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;                 \
                int64_t i = lo, j = mid, k = lo;                                                             \
                while (i < mid && j < hi) dst[k++] = BEFORE(src[j].v, src[i].v, desc) ? src[j++] : src[i++];  \
                while (i < mid) dst[k++] = src[i++];                                                         \
                while (j < hi) dst[k++] = src[j++];                                                          \
            }                                                                                                \
            pair_##T *t = src; src = dst; dst = t;                                                           \
        }                                                                                                    \
        if (src != a) memcpy(a, src, sizeof *a * n);                                                         \
    }                                                                                                        \
                                                                                                             \
    /* the k best of the lane, in order, into a[0..k): a new value goes after every                          \
     * kept value it does not beat, so earlier positions win ties */                                         \
    static void topk_small_##T(pair_##T *a, const T *x, int64_t n, int64_t inner, int64_t k, bool desc) {    \
        int64_t cnt = 0;                                                                                     \
        for (int64_t i = 0; i < n; i++) {                                                                    \
            T v = x[i * inner];                                                                              \
            if (cnt == k && !BEFORE(v, a[k - 1].v, desc)) continue;                                          \
            int64_t j = cnt < k ? cnt++ : k - 1;                                                             \
            while (j > 0 && BEFORE(v, a[j - 1].v, desc)) { a[j] = a[j - 1]; j--; }                          \
            a[j] = (pair_##T){v, i};                                                                         \
        }                                                                                                    \
    }                                                                                                        \
                                                                                                             \
    static void lanes_##T(void *p, int64_t start, int64_t end) {                                             \
        sort_job *jb = p;                                                                                    \
        int64_t n = jb->n, inner = jb->inner, k = jb->k;                                                     \
        bool small = k <= TOPK_SMALL && k < n;                                                               \
        pair_##T *buf = malloc(sizeof *buf * (small ? (size_t)k : 2 * (size_t)n) + 1);                      \
        if (!buf) { jb->failed = 1; return; }                                                                \
        const T *x = jb->x;                                                                                  \
        T *vo = jb->vals;                                                                                    \
        for (int64_t lane = start; lane < end; lane++) {                                                     \
            int64_t o = lane / inner, c = lane % inner;                                                      \
            const T *xl = x + o * n * inner + c;                                                             \
            if (small) {                                                                                     \
                topk_small_##T(buf, xl, n, inner, k, jb->desc);                                              \
            } else {                                                                                         \
                for (int64_t i = 0; i < n; i++) buf[i] = (pair_##T){xl[i * inner], i};                       \
                msort_##T(buf, buf + n, n, jb->desc);                                                        \
            }                                                                                                \
            T *vl = vo + o * k * inner + c;                                                                  \
            int64_t *il = jb->idx + o * k * inner + c;                                                       \
            for (int64_t i = 0; i < k; i++) { vl[i * inner] = buf[i].v; il[i * inner] = buf[i].i; }         \
        }                                                                                                    \
        free(buf);                                                                                           \
    }
DEF_SORT(float)
DEF_SORT(double)
DEF_SORT(int64_t)
DEF_SORT(uint8_t)

/* ---- backward -------------------------------------------------------- */
static int sort_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *idx = ml_saved(n, 0);
    if (!idx) return -1;
    int dim = n->ctx.along.dim;
    ml_tensor *z = ml_zeros(n->in_ndim[0], n->in_shape[0], g->dtype);
    if (!z) return -1;
    if (z->ndim == 0) { /* a 0-d input: the gradient is g itself */
        ml_release(z);
        gin[0] = ml_clone(g);
        return gin[0] ? 0 : -1;
    }
    gin[0] = ml_scatter_add(z, dim, idx, g); /* grad mode is off during backward: no recording */
    ml_release(z);
    return gin[0] ? 0 : -1;
}

/* ---- forward --------------------------------------------------------- */
static ml_tensor *sort_impl(const char *fn, ml_tensor *a, int dim, int64_t k, bool desc, ml_tensor **indices) {
    int nd = a->ndim;
    if (dim < 0 || dim >= (nd ? nd : 1))
        return ml_error("%s: dimension %d out of range for a tensor with %d dimensions", fn, dim + 1, nd);
    int64_t n = nd ? a->shape[dim] : 1;
    if (nd == 0 && k != 1) return ml_error("%s: k = %lld is out of range for a 0-d tensor (k must be 1)", fn, (long long)k);
    if (k < 0 || k > n)
        return ml_error("%s: k = %lld is out of range: dimension %d has size %lld", fn, (long long)k, dim + 1, (long long)n);
    int64_t shape[ML_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    if (nd) shape[dim] = k;
    ml_tensor *x = ml_contiguous(a);
    ml_tensor *vals = x ? ml_empty(nd, shape, a->dtype) : NULL;
    ml_tensor *idx = vals ? ml_empty(nd, shape, ML_INT64) : NULL;
    if (!idx) { ml_release(x); ml_release(vals); return NULL; }
    sort_job j = {.n = n, .k = k, .desc = desc, .x = ml_data(x), .vals = ml_data(vals), .idx = ml_data(idx)};
    j.outer = 1;
    j.inner = 1;
    for (int d = 0; d < dim && nd; d++) j.outer *= a->shape[d];
    for (int d = dim + 1; d < nd; d++) j.inner *= a->shape[d];
    int64_t lanes = j.outer * j.inner;
    if (vals->numel) {
        ml_range_fn f = a->dtype == ML_FLOAT32 ? lanes_float
                        : a->dtype == ML_FLOAT64 ? lanes_double
                        : a->dtype == ML_INT64   ? lanes_int64_t
                                                 : lanes_uint8_t;
        int64_t grain = ML_PAR_GRAIN / (n > 0 ? n : 1);
        ml_parallel_for(lanes, grain > 0 ? grain : 1, f, &j);
    }
    ml_release(x);
    if (j.failed) {
        ml_release(vals);
        ml_release(idx);
        return ml_error("%s: out of memory", fn);
    }
    if (ml_needs_record(1, &a)) {
        ml_node *nd_ = ml_record(fn, sort_backward, vals, 1, &a);
        if (!nd_) { ml_release(vals); ml_release(idx); return NULL; }
        nd_->ctx.along.dim = dim;
        ml_save(nd_, 0, idx);
    }
    if (indices) *indices = idx;
    else ml_release(idx);
    return vals;
}

ml_tensor *ml_sort(ml_tensor *a, int dim, bool descending, ml_tensor **indices) {
    int64_t n = a->ndim ? (dim >= 0 && dim < a->ndim ? a->shape[dim] : 0) : 1;
    return sort_impl("sort", a, dim, n, descending, indices);
}

ml_tensor *ml_topk(ml_tensor *a, int64_t k, int dim, bool largest, ml_tensor **indices) {
    return sort_impl("topk", a, dim, k, largest, indices);
}
