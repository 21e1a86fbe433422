/* Storage and views: allocation, lifetime, strided copy, dtype conversion. */
#include "tensor.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "pool.h"

_Atomic int64_t ml_bytes_allocated_total = 0;
_Atomic int64_t ml_bytes_live = 0;
_Thread_local int64_t ml_small_bytes_made = 0;

const char *ml_shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = 0;
    k += snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++) k += snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* ---- dtypes ---------------------------------------------------------- */
static const char *dtype_names[] = {"float32", "float64", "int64", "bool"};
const char *ml_dtype_name(ml_dtype dt) { return dtype_names[dt]; }

int ml_dtype_from_name(const char *name, ml_dtype *out) {
    for (int i = 0; i < ML_NDTYPES; i++)
        if (strcmp(name, dtype_names[i]) == 0) { *out = (ml_dtype)i; return 0; }
    if (!strcmp(name, "float")) { *out = ML_FLOAT32; return 0; }
    if (!strcmp(name, "double")) { *out = ML_FLOAT64; return 0; }
    if (!strcmp(name, "long") || !strcmp(name, "int")) { *out = ML_INT64; return 0; }
    return -1;
}

/* ---- storage --------------------------------------------------------- */
#define ML_MAX_BYTES ((size_t)1 << 40) /* 1 TiB: anything larger is a mistake */

/* A small cache of freed large blocks, reused for the next request of the
 * same size: a loop that makes a 64 MB temporary each step then touches
 * memory that is already mapped instead of page-faulting 16K fresh pages
 * (the cost that dominates a plain malloc'd elementwise op at that size). */
#define CACHE_MIN_BYTES ((size_t)256 << 10)
#define CACHE_SLOTS 16
#define CACHE_MAX_TOTAL ((size_t)256 << 20)
static struct { void *p; size_t size; } cache[CACHE_SLOTS];
static size_t cache_total = 0;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* *alloc is the size asked for; it becomes the size of the block given,
 * which may be a cached one up to 2x larger (an epoch's last, shorter batch
 * then reuses the full batches' blocks instead of adding its own). */
static void *block_alloc(size_t *alloc) {
    size_t want = *alloc;
    if (want >= CACHE_MIN_BYTES) {
        pthread_mutex_lock(&cache_lock);
        int best = -1;
        for (int i = 0; i < CACHE_SLOTS; i++) {
            if (!cache[i].p || cache[i].size < want || cache[i].size > 2 * want) continue;
            if (best < 0 || cache[i].size < cache[best].size) best = i;
            if (cache[i].size == want) break;
        }
        if (best >= 0) {
            void *p = cache[best].p;
            *alloc = cache[best].size;
            cache[best].p = NULL;
            cache_total -= *alloc;
            pthread_mutex_unlock(&cache_lock);
            return p;
        }
        pthread_mutex_unlock(&cache_lock);
    }
    /* small blocks: the thread's free lists (pool.h), then malloc, whose
     * 16-byte alignment is all the kernels need (they use unaligned vector
     * loads); aligned_alloc's slow path is several times slower */
    if (want <= ML_POOL_MAX) return ml_pool_alloc(want);
    if (want < CACHE_MIN_BYTES) return malloc(want);
    return aligned_alloc(64, want);
}

static void block_free(void *p, size_t alloc) {
    if (alloc <= ML_POOL_MAX) {
        ml_pool_free(p, alloc);
        return;
    }
    if (alloc >= CACHE_MIN_BYTES) {
        pthread_mutex_lock(&cache_lock);
        if (cache_total + alloc <= CACHE_MAX_TOTAL) {
            int slot = -1;
            for (int i = 0; i < CACHE_SLOTS; i++)
                if (!cache[i].p) { slot = i; break; }
            if (slot < 0) { /* evict the oldest-looking slot (0) */
                free(cache[0].p);
                cache_total -= cache[0].size;
                slot = 0;
            }
            cache[slot].p = p;
            cache[slot].size = alloc;
            cache_total += alloc;
            pthread_mutex_unlock(&cache_lock);
            return;
        }
        pthread_mutex_unlock(&cache_lock);
    }
    free(p);
}

size_t ml_storage_cache_bytes(void) {
    pthread_mutex_lock(&cache_lock);
    size_t n = cache_total;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

void ml_storage_cache_clear(void) {
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(cache[i].p);
        cache[i].p = NULL;
    }
    cache_total = 0;
    pthread_mutex_unlock(&cache_lock);
    ml_pool_drain();
}

/* ---- allocation budget ------------------------------------------------
 * While nn.load / persist.load rebuild a file, the live storage this thread
 * holds may grow by at most budget_cap bytes: budget_used is the block bytes
 * this thread allocated (a block reused from the cache included) minus those
 * it freed (a block given to the cache included) since the budget was set.
 * An allocation that would take budget_used past budget_cap fails before
 * allocating; temporaries freed along the way do not count. */
static _Thread_local int64_t budget_cap = -1; /* < 0: no budget */
static _Thread_local int64_t budget_used = 0;
static _Thread_local bool budget_exceeded = false;

int64_t ml_alloc_budget_set(int64_t limit, bool *exceeded) {
    int64_t old = budget_cap < 0 ? -1 : budget_cap - budget_used; /* >= 0: never past the cap */
    if (exceeded) *exceeded = budget_exceeded;
    budget_cap = limit < 0 ? -1 : limit;
    budget_used = 0;
    budget_exceeded = false;
    return old;
}

/* Whether a block of `block` bytes (for a request of nbytes) fits this
 * thread's budget; if not, sets the exceeded flag and the error. */
static bool budget_allows(size_t block, size_t nbytes) {
    if (budget_cap < 0 || budget_used + (int64_t)block <= budget_cap) return true;
    budget_exceeded = true;
    ml_error("cannot allocate %zu bytes: past the allocation budget (%lld bytes left)", nbytes,
             (long long)(budget_cap - budget_used > 0 ? budget_cap - budget_used : 0));
    return false;
}

static ml_storage *storage_new(size_t nbytes, bool zero) {
    if (nbytes > ML_MAX_BYTES) return ml_error("cannot allocate %zu bytes (more than 1 TiB)", nbytes);
    size_t want = (nbytes + 63) & ~(size_t)63;
    if (want == 0) want = 64;
    if (!budget_allows(want, nbytes)) return NULL;
    ml_storage *s = ml_pool_alloc(sizeof *s);
    if (!s) return ml_error("out of memory");
    ml_small_bytes_made += ml_pool_class_size(sizeof *s);
    size_t alloc = want;
    s->data = block_alloc(&alloc);
    if (!s->data) { ml_pool_free(s, sizeof *s); return ml_error("out of memory allocating %zu bytes", nbytes); }
    if (!budget_allows(alloc, nbytes)) { /* a larger cached block: give it back */
        block_free(s->data, alloc);
        ml_pool_free(s, sizeof *s);
        return NULL;
    }
    if (budget_cap >= 0) budget_used += (int64_t)alloc;
    if (zero) memset(s->data, 0, (nbytes + 63) & ~(size_t)63);
    s->nbytes = nbytes;
    s->capacity = alloc;
    s->refcount = 1;
    s->version = 0;
    s->base = NULL;
    s->dependents = 0;
    ml_bytes_allocated_total += (int64_t)alloc;
    ml_bytes_live += (int64_t)alloc;
    return s;
}

/* Frees the block s owns (none once rebound). */
static void storage_free_block(void *data, size_t capacity) {
    if (!capacity) return;
    ml_bytes_live -= (int64_t)capacity;
    if (budget_cap >= 0) budget_used -= (int64_t)capacity; /* freed while the budget is set (maybe into the cache) */
    block_free(data, capacity);
}

static void storage_release(ml_storage *s) {
    if (!s || --s->refcount > 0) return;
    if (s->base) { /* the data is base's */
        s->base->dependents--;
        storage_release(s->base);
    } else {
        storage_free_block(s->data, s->capacity);
    }
    ml_pool_free(s, sizeof *s);
}

/* ---- rebinding a storage into another's block (see tensor.h) ------------ */
static pthread_rwlock_t rebind_lock = PTHREAD_RWLOCK_INITIALIZER;

void ml_storage_read_lock(void) { pthread_rwlock_rdlock(&rebind_lock); }
void ml_storage_read_unlock(void) { pthread_rwlock_unlock(&rebind_lock); }

int ml_storage_rebind(ml_storage *s, ml_storage *base, size_t off) {
    ml_storage *root = ml_storage_root(base);
    off += (size_t)((char *)base->data - (char *)root->data);
    if (s == root || s->dependents > 0) {
        ml_error("storage rebind: other storages point into this one");
        return -1;
    }
    if (off > root->nbytes || s->nbytes > root->nbytes - off) {
        ml_error("storage rebind: %zu bytes at %zu do not fit in a block of %zu", s->nbytes, off, root->nbytes);
        return -1;
    }
    void *old = s->data;
    size_t old_capacity = s->capacity;
    ml_storage *old_base = s->base;
    root->refcount++;
    root->dependents++;
    pthread_rwlock_wrlock(&rebind_lock);
    s->data = (char *)root->data + off;
    s->base = root;
    s->capacity = 0;
    pthread_rwlock_unlock(&rebind_lock);
    if (old_base) { /* no reader holds the old pointer now */
        old_base->dependents--;
        storage_release(old_base);
    } else {
        storage_free_block(old, old_capacity);
    }
    return 0;
}

/* ---- lifetime -------------------------------------------------------- */
ml_tensor *ml_retain(ml_tensor *t) {
    if (t) t->refcount++;
    return t;
}

void ml_release(ml_tensor *t) {
    if (!t || --t->refcount > 0) return;
    storage_release(t->storage);
    ml_release(t->grad);
    ml_node_release(t->grad_fn);
    ml_pool_free(t, sizeof *t);
}

/* ---- creation -------------------------------------------------------- */
int64_t ml_numel_of(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

void ml_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i] > 0 ? shape[i] : 1;
    }
}

static ml_tensor *header_new(int ndim, const int64_t *shape, ml_dtype dt) {
    if (ndim < 0 || ndim > ML_MAX_DIMS) return ml_error("tensors have at most %d dimensions, got %d", ML_MAX_DIMS, ndim);
    /* the element count must fit, whatever the strides (views of expanded
     * or empty tensors too): the product with zeros as ones <= 2^62 */
    int64_t n = 1, numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return ml_error("negative dimension %lld", (long long)shape[i]);
        if (__builtin_mul_overflow(n, shape[i] ? shape[i] : 1, &n) || n > ((int64_t)1 << 62))
            return ml_error("tensor too large: more than 2^62 elements");
        numel *= shape[i];
    }
    ml_tensor *t = ml_pool_alloc(sizeof *t);
    if (!t) return ml_error("out of memory");
    ml_small_bytes_made += ml_pool_class_size(sizeof *t);
    /* field by field, not memset + memcpy: for a tiny op those became
     * `rep stos` / `rep movs`, whose start-up cost more than the rest */
    t->storage = NULL;
    t->offset = 0;
    t->numel = numel;
    t->ndim = ndim;
    t->dtype = dt;
    for (int i = 0; i < ML_MAX_DIMS; i++) {
        t->shape[i] = i < ndim ? shape[i] : 0;
        t->strides[i] = 0;
    }
    t->refcount = 1;
    t->requires_grad = false;
    t->grad = NULL;
    t->grad_fn = NULL;
    return t;
}

static ml_tensor *alloc_tensor(int ndim, const int64_t *shape, ml_dtype dt, bool zero) {
    ml_tensor *t = header_new(ndim, shape, dt); /* checks the sizes and that the count fits */
    if (!t) return NULL;
    if (t->numel > INT64_MAX / 16) { /* then its bytes fit too */
        ml_pool_free(t, sizeof *t);
        return ml_error("tensor too large to allocate");
    }
    t->storage = storage_new((size_t)t->numel * ml_dtype_size(dt), zero);
    if (!t->storage) { ml_pool_free(t, sizeof *t); return NULL; }
    ml_contiguous_strides(ndim, shape, t->strides);
    return t;
}

ml_tensor *ml_empty(int ndim, const int64_t *shape, ml_dtype dt) { return alloc_tensor(ndim, shape, dt, false); }
ml_tensor *ml_zeros(int ndim, const int64_t *shape, ml_dtype dt) { return alloc_tensor(ndim, shape, dt, true); }

ml_tensor *ml_full(int ndim, const int64_t *shape, ml_dtype dt, double v) {
    ml_tensor *t = ml_empty(ndim, shape, dt);
    if (!t) return NULL;
    int64_t n = t->numel;
    switch (dt) {
    case ML_FLOAT32: { float *p = ml_data(t), x = (float)v; for (int64_t i = 0; i < n; i++) p[i] = x; break; }
    case ML_FLOAT64: { double *p = ml_data(t); for (int64_t i = 0; i < n; i++) p[i] = v; break; }
    case ML_INT64: { int64_t *p = ml_data(t), x = (int64_t)v; for (int64_t i = 0; i < n; i++) p[i] = x; break; }
    case ML_BOOL: memset(ml_data(t), v != 0, n); break;
    default: break;
    }
    return t;
}

ml_tensor *ml_scalar(double v, ml_dtype dt) { return ml_full(0, NULL, dt, v); }

ml_tensor *ml_view(const ml_tensor *t, int ndim, const int64_t *shape, const int64_t *strides, int64_t offset) {
    ml_tensor *v = header_new(ndim, shape, t->dtype);
    if (!v) return NULL;
    if (ndim) memcpy(v->strides, strides, sizeof(int64_t) * ndim);
    v->offset = offset;
    v->storage = t->storage;
    v->storage->refcount++;
    return v;
}

ml_tensor *ml_alias(const ml_tensor *t) { return ml_view(t, t->ndim, t->shape, t->strides, t->offset); }

/* ---- queries --------------------------------------------------------- */
bool ml_is_contiguous(const ml_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->strides[i] != s) return false;
        s *= t->shape[i];
    }
    return true;
}

bool ml_same_shape(const ml_tensor *a, const ml_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

int64_t ml_flat_offset(const ml_tensor *t, int64_t i) {
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        int64_t n = t->shape[d];
        off += (i % n) * t->strides[d];
        i /= n;
    }
    return off;
}

double ml_get_flat(const ml_tensor *t, int64_t i) {
    int64_t off = t->offset + ml_flat_offset(t, i);
    void *d = t->storage->data;
    switch (t->dtype) {
    case ML_FLOAT32: return ((float *)d)[off];
    case ML_FLOAT64: return ((double *)d)[off];
    case ML_INT64: return (double)((int64_t *)d)[off];
    case ML_BOOL: return ((uint8_t *)d)[off];
    default: return 0;
    }
}

void ml_set_flat(ml_tensor *t, int64_t i, double v) {
    int64_t off = t->offset + ml_flat_offset(t, i);
    void *d = t->storage->data;
    switch (t->dtype) {
    case ML_FLOAT32: ((float *)d)[off] = (float)v; break;
    case ML_FLOAT64: ((double *)d)[off] = v; break;
    case ML_INT64: ((int64_t *)d)[off] = (int64_t)v; break;
    case ML_BOOL: ((uint8_t *)d)[off] = v != 0; break;
    default: break;
    }
}

int ml_norm_dim(const char *fn, int dim1, int ndim) {
    int n = ndim > 0 ? ndim : 1;
    if (dim1 < 0) dim1 += n + 1;
    if (dim1 < 1 || dim1 > n) {
        ml_error("%s: dimension %d out of range for a tensor with %d dimension%s", fn, dim1, ndim, ndim == 1 ? "" : "s");
        return -1;
    }
    return dim1 - 1;
}

void ml_bump_version(ml_tensor *t) { ml_storage_root(t->storage)->version++; }

/* ---- broadcasting ---------------------------------------------------- */
int ml_broadcast_shapes(const char *fn, int na, const int64_t *sa, int nb, const int64_t *sb, int *nout, int64_t *out) {
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int ia = na - n + i, ib = nb - n + i;
        int64_t a = ia >= 0 ? sa[ia] : 1, b = ib >= 0 ? sb[ib] : 1;
        if (a != b && a != 1 && b != 1) {
            char b1[128], b2[128];
            ml_error("%s: shapes %s and %s cannot be broadcast (dimension %d: %lld vs %lld)", fn,
                     ml_shape_str(b1, sizeof b1, na, sa), ml_shape_str(b2, sizeof b2, nb, sb), i + 1, (long long)a,
                     (long long)b);
            return -1;
        }
        out[i] = a == 1 ? b : a;
    }
    *nout = n;
    return 0;
}

void ml_broadcast_strides(const ml_tensor *t, int ndim, const int64_t *shape, int64_t *strides) {
    for (int i = 0; i < ndim; i++) {
        int it = t->ndim - ndim + i;
        strides[i] = (it < 0 || t->shape[it] == 1) && shape[i] != 1 ? 0 : (it < 0 ? 0 : t->strides[it]);
    }
}

/* ---- strided copy with conversion ----------------------------------- */
#define CONVERT_LOOP(TD, TS)                                                                                 \
    do {                                                                                                     \
        TD *restrict dp = (TD *)dbase;                                                                       \
        const TS *restrict sp = (const TS *)sbase;                                                           \
        for (int64_t j = 0; j < inner; j++) dp[j * dst_is] = (TD)sp[j * src_is];                             \
    } while (0)

#define CONVERT_LOOP_BOOL(TS)                                                                                \
    do {                                                                                                     \
        uint8_t *restrict dp = (uint8_t *)dbase;                                                             \
        const TS *restrict sp = (const TS *)sbase;                                                           \
        for (int64_t j = 0; j < inner; j++) dp[j * dst_is] = sp[j * src_is] != 0;                            \
    } while (0)

static void convert_row(ml_dtype dd, void *dbase, int64_t dst_is, ml_dtype sd, const void *sbase, int64_t src_is,
                        int64_t inner) {
    switch (dd * 4 + sd) {
    case ML_FLOAT32 * 4 + ML_FLOAT32: CONVERT_LOOP(float, float); break;
    case ML_FLOAT32 * 4 + ML_FLOAT64: CONVERT_LOOP(float, double); break;
    case ML_FLOAT32 * 4 + ML_INT64: CONVERT_LOOP(float, int64_t); break;
    case ML_FLOAT32 * 4 + ML_BOOL: CONVERT_LOOP(float, uint8_t); break;
    case ML_FLOAT64 * 4 + ML_FLOAT32: CONVERT_LOOP(double, float); break;
    case ML_FLOAT64 * 4 + ML_FLOAT64: CONVERT_LOOP(double, double); break;
    case ML_FLOAT64 * 4 + ML_INT64: CONVERT_LOOP(double, int64_t); break;
    case ML_FLOAT64 * 4 + ML_BOOL: CONVERT_LOOP(double, uint8_t); break;
    case ML_INT64 * 4 + ML_FLOAT32: CONVERT_LOOP(int64_t, float); break;
    case ML_INT64 * 4 + ML_FLOAT64: CONVERT_LOOP(int64_t, double); break;
    case ML_INT64 * 4 + ML_INT64: CONVERT_LOOP(int64_t, int64_t); break;
    case ML_INT64 * 4 + ML_BOOL: CONVERT_LOOP(int64_t, uint8_t); break;
    case ML_BOOL * 4 + ML_FLOAT32: CONVERT_LOOP_BOOL(float); break;
    case ML_BOOL * 4 + ML_FLOAT64: CONVERT_LOOP_BOOL(double); break;
    case ML_BOOL * 4 + ML_INT64: CONVERT_LOOP_BOOL(int64_t); break;
    case ML_BOOL * 4 + ML_BOOL: CONVERT_LOOP(uint8_t, uint8_t); break;
    }
}

/* ---- memory overlap ---------------------------------------------------- */
bool ml_has_internal_overlap(const ml_tensor *t) {
    if (t->numel <= 1) return false;
    /* dims of size > 1 by |stride|; each stride must step past everything
     * the smaller ones reach (a sufficient test, exact for our views) */
    int n = 0;
    int64_t sz[ML_MAX_DIMS], st[ML_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] <= 1) continue;
        int64_t s = t->strides[d] < 0 ? -t->strides[d] : t->strides[d];
        if (s == 0) return true;
        int k = n++;
        while (k > 0 && st[k - 1] > s) { st[k] = st[k - 1]; sz[k] = sz[k - 1]; k--; }
        st[k] = s;
        sz[k] = t->shape[d];
    }
    int64_t reach = 0;
    for (int k = 0; k < n; k++) {
        if (st[k] <= reach) return true;
        reach += (sz[k] - 1) * st[k];
    }
    return false;
}

/* [lo, hi) in bytes of storage that t's elements occupy */
static void byte_range(const ml_tensor *t, int64_t *lo, int64_t *hi) {
    int64_t l = t->offset, h = t->offset, es = (int64_t)ml_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++) {
        int64_t s = (t->shape[d] - 1) * t->strides[d];
        if (s < 0) l += s;
        else h += s;
    }
    *lo = l * es;
    *hi = (h + 1) * es;
}

bool ml_may_overlap(const ml_tensor *a, const ml_tensor *b) {
    ml_storage *ra = ml_storage_root(a->storage);
    if (ra != ml_storage_root(b->storage) || a->numel == 0 || b->numel == 0) return false;
    int64_t alo, ahi, blo, bhi;
    byte_range(a, &alo, &ahi);
    byte_range(b, &blo, &bhi);
    /* from the root's start: storages rebound into one block start at different bytes of it */
    int64_t da = (char *)a->storage->data - (char *)ra->data, db = (char *)b->storage->data - (char *)ra->data;
    return alo + da < bhi + db && blo + db < ahi + da;
}

bool ml_same_layout(const ml_tensor *a, const ml_tensor *b) {
    if (ml_storage_root(a->storage) != ml_storage_root(b->storage) || ml_data(a) != ml_data(b) ||
        a->dtype != b->dtype || b->ndim > a->ndim)
        return false;
    int64_t bs[ML_MAX_DIMS];
    ml_broadcast_strides(b, a->ndim, a->shape, bs);
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] > 1 && bs[d] != a->strides[d]) return false;
    return true;
}

int ml_check_writable(const char *fn, const ml_tensor *t) {
    if (!ml_has_internal_overlap(t)) return 0;
    ml_error("%s: unsupported operation: more than one element of the written-to tensor refers to a single memory "
             "location. Please clone() the tensor before performing the operation.",
             fn);
    return -1;
}

int ml_copy_into(ml_tensor *dst, const ml_tensor *src) {
    if (dst->numel == 0) return 0;
    if (ml_check_writable("copy_", dst) < 0) return -1;
    if (ml_may_overlap(dst, src) && !ml_same_layout(dst, src)) {
        ml_tensor *tmp = ml_clone(src);
        if (!tmp) return -1;
        int r = ml_copy_into(dst, tmp);
        ml_release(tmp);
        return r;
    }
    int64_t sstr[ML_MAX_DIMS];
    if (!ml_same_shape(dst, src)) {
        int n;
        int64_t shp[ML_MAX_DIMS];
        if (ml_broadcast_shapes("copy", dst->ndim, dst->shape, src->ndim, src->shape, &n, shp) < 0) return -1;
        if (n != dst->ndim || ml_numel_of(n, shp) != dst->numel) {
            char b1[128], b2[128];
            ml_error("copy: cannot copy shape %s into shape %s", ml_shape_str(b1, sizeof b1, src->ndim, src->shape),
                     ml_shape_str(b2, sizeof b2, dst->ndim, dst->shape));
            return -1;
        }
        ml_broadcast_strides(src, dst->ndim, dst->shape, sstr);
    } else {
        memcpy(sstr, src->strides, sizeof(int64_t) * src->ndim);
    }
    size_t des = ml_dtype_size(dst->dtype), ses = ml_dtype_size(src->dtype);
    char *dbase = ml_data(dst);
    const char *sbase = ml_data(src);
    if (ml_is_contiguous(dst) && ml_is_contiguous(src) && ml_same_shape(dst, src)) {
        if (dst->dtype == src->dtype) {
            if (dbase != sbase) memmove(dbase, sbase, dst->numel * des);
        } else {
            convert_row(dst->dtype, dbase, 1, src->dtype, sbase, 1, dst->numel);
        }
        return 0;
    }
    int nd = dst->ndim;
    if (nd == 0) {
        convert_row(dst->dtype, dbase, 1, src->dtype, sbase, 1, 1);
        return 0;
    }
    int64_t inner = dst->shape[nd - 1], dst_is = dst->strides[nd - 1], src_is = sstr[nd - 1];
    int64_t rows = dst->numel / inner, idx[ML_MAX_DIMS] = {0};
    for (int64_t r = 0; r < rows; r++) {
        int64_t doff = 0, soff = 0;
        for (int d = 0; d < nd - 1; d++) { doff += idx[d] * dst->strides[d]; soff += idx[d] * sstr[d]; }
        convert_row(dst->dtype, dbase + doff * des, dst_is, src->dtype, sbase + soff * ses, src_is, inner);
        for (int d = nd - 2; d >= 0; d--) {
            if (++idx[d] < dst->shape[d]) break;
            idx[d] = 0;
        }
    }
    return 0;
}

ml_tensor *ml_contiguous(ml_tensor *t) {
    if (ml_is_contiguous(t)) return ml_retain(t);
    return ml_clone(t);
}

ml_tensor *ml_clone(const ml_tensor *t) {
    ml_tensor *c = ml_empty(t->ndim, t->shape, t->dtype);
    if (!c) return NULL;
    ml_copy_into(c, t);
    return c;
}

ml_tensor *ml_to_dtype(ml_tensor *t, ml_dtype dt) {
    if (t->dtype == dt) return ml_retain(t);
    ml_tensor *c = ml_empty(t->ndim, t->shape, dt);
    if (!c) return NULL;
    ml_copy_into(c, t);
    return c;
}
