/* Tensors: refcounted storage and strided views over it.
 *
 * Nothing here knows about Lua. Functions that can fail return NULL (or -1)
 * and leave a message in ml_last_error(); callers in the bindings turn that
 * into a Lua error. Nothing aborts. */
#ifndef ML_TENSOR_H
#define ML_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"

#define ML_MAX_DIMS 8

typedef enum { ML_FLOAT32 = 0, ML_FLOAT64, ML_INT64, ML_BOOL, ML_NDTYPES } ml_dtype;

/* Bytes per element (inline: every ml_data() asks). */
static inline size_t ml_dtype_size(ml_dtype dt) {
    static const size_t sizes[ML_NDTYPES] = {4, 8, 8, 1};
    return sizes[dt];
}
const char *ml_dtype_name(ml_dtype dt);
int ml_dtype_from_name(const char *name, ml_dtype *out); /* 0 ok, -1 unknown */
static inline bool ml_dtype_is_float(ml_dtype dt) { return dt == ML_FLOAT32 || dt == ML_FLOAT64; }
/* The dtype two operands are computed in: bool < int64 < float32 < float64. */
static inline ml_dtype ml_promote(ml_dtype a, ml_dtype b) {
    static const int rank[] = {2, 3, 1, 0};
    return rank[a] >= rank[b] ? a : b;
}

/* A refcounted buffer shared by every view of it (64-byte aligned from
 * 256 KiB up; below that, malloc's 16 bytes).
 * version counts in-place writes so autograd can detect a saved tensor
 * that was modified before backward.
 * A storage can be rebound into another one's block (ml_storage_rebind:
 * the optimizer's flattening): its data then points into base's block, it
 * holds a reference to base, owns no block of its own (capacity 0) and
 * shares base's version; every tensor over it, views made earlier
 * included, sees the new memory. */
typedef struct ml_storage {
    void *data;
    size_t nbytes;
    size_t capacity; /* bytes of the block (>= nbytes: a reused cached block may be larger); 0 when rebound */
    int64_t refcount;
    uint64_t version;
    struct ml_storage *base; /* NULL, or the storage whose block data lies in (retained; never itself rebound) */
    int64_t dependents;      /* storages rebound into this one's block */
} ml_storage;

/* The storage that owns s's memory: s, or its base. */
static inline ml_storage *ml_storage_root(ml_storage *s) { return s->base ? s->base : s; }

struct ml_node;

typedef struct ml_tensor {
    ml_storage *storage;
    int64_t offset; /* in elements */
    int64_t numel;
    int ndim;
    ml_dtype dtype;
    int64_t shape[ML_MAX_DIMS];
    int64_t strides[ML_MAX_DIMS]; /* in elements */
    int64_t refcount;
    /* autograd */
    bool requires_grad;
    struct ml_tensor *grad;   /* accumulated gradient (leaves), owned */
    struct ml_node *grad_fn;  /* the node that produced this tensor, owned */
} ml_tensor;

/* ---- errors (ml_error, ml_last_error: core/error.h) ------------------ */
/* Appends "[2,3,4]" to buf (size n). */
const char *ml_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);

/* ---- memory accounting (read by the bindings to drive Lua's collector) - */
extern _Atomic int64_t ml_bytes_allocated_total; /* monotone counter */
extern _Atomic int64_t ml_bytes_live;
/* Bytes of tensor headers, storages and autograd nodes this thread has
 * allocated (monotone; blocks as pooled): the collector is told about them
 * as well as the data, since a loop of tiny ops is mostly these. */
extern _Thread_local int64_t ml_small_bytes_made;

/* Sets this thread's allocation budget: from now on the tensor storage this
 * thread holds may grow by at most limit bytes (blocks allocated minus blocks
 * freed on this thread, the block cache's included; limit < 0: no budget), and
 * clears its exceeded flag. Returns what the previous budget had left (-1:
 * none) and, in *exceeded (may be NULL), whether it refused an allocation. */
int64_t ml_alloc_budget_set(int64_t limit, bool *exceeded);

/* ---- lifetime -------------------------------------------------------- */
ml_tensor *ml_retain(ml_tensor *t);
void ml_release(ml_tensor *t); /* NULL-safe */
/* Points s at bytes [off, off + s->nbytes) of base's block (base's root's,
 * when base is itself rebound): s takes a reference to that root and frees
 * its own block (or drops its previous base). The caller has copied the
 * values. Refused (-1) when other storages are rebound into s, or the range
 * does not fit. The swap is done under a write lock that readers on other
 * threads (the data loader's worker) take with ml_storage_read_lock around
 * their reads of ->data, so none reads a freed block. */
int ml_storage_rebind(ml_storage *s, ml_storage *base, size_t off);
void ml_storage_read_lock(void);
void ml_storage_read_unlock(void);
/* Frees the blocks kept for reuse: the large-block cache (see tensor.c)
 * and the calling thread's small-block lists (pool.h). */
void ml_storage_cache_clear(void);
size_t ml_storage_cache_bytes(void); /* the large-block cache's bytes (ml_pool_bytes: the small lists') */

/* ---- creation -------------------------------------------------------- */
ml_tensor *ml_empty(int ndim, const int64_t *shape, ml_dtype dt);
ml_tensor *ml_zeros(int ndim, const int64_t *shape, ml_dtype dt);
ml_tensor *ml_full(int ndim, const int64_t *shape, ml_dtype dt, double value);
ml_tensor *ml_scalar(double v, ml_dtype dt); /* 0-d tensor */
/* A new header over t's storage: shares data, no copy. */
ml_tensor *ml_view(const ml_tensor *t, int ndim, const int64_t *shape, const int64_t *strides, int64_t offset);
ml_tensor *ml_alias(const ml_tensor *t); /* same view, new header (no autograd state) */

/* ---- queries --------------------------------------------------------- */
static inline void *ml_data(const ml_tensor *t) {
    return (char *)t->storage->data + t->offset * (int64_t)ml_dtype_size(t->dtype);
}
bool ml_is_contiguous(const ml_tensor *t);
bool ml_same_shape(const ml_tensor *a, const ml_tensor *b);
int64_t ml_numel_of(int ndim, const int64_t *shape);
void ml_contiguous_strides(int ndim, const int64_t *shape, int64_t *strides);
/* Element at flat (row-major) index i, as double; and store. */
double ml_get_flat(const ml_tensor *t, int64_t i);
void ml_set_flat(ml_tensor *t, int64_t i, double v);
/* Offset (in elements, from data start) of flat index i. */
int64_t ml_flat_offset(const ml_tensor *t, int64_t i);
/* Normalizes a 1-based (or negative) dim for a tensor of ndim dims into
 * 0-based; returns -1 (with error) when out of range. */
int ml_norm_dim(const char *fn, int dim1, int ndim);

/* ---- copies and conversion ------------------------------------------ */
/* Copies src into dst (same numel order, any strides, converting dtype).
 * src is broadcast to dst's shape when shapes differ. A src that overlaps
 * dst is read as it was before the copy (through a temporary); a dst with
 * internal overlap is refused (see ml_check_writable). */
int ml_copy_into(ml_tensor *dst, const ml_tensor *src);

/* ---- memory overlap (in-place writes) ---------------------------------- */
/* True when two elements of t are one memory location (an expanded view). */
bool ml_has_internal_overlap(const ml_tensor *t);
/* True when a and b may touch a common byte of one storage (or of one
 * root storage: see ml_storage_rebind). */
bool ml_may_overlap(const ml_tensor *a, const ml_tensor *b);
/* True when b, broadcast to a's shape, reads every element at the very
 * location a writes it (x:add_(x)): elementwise in-place is then safe. */
bool ml_same_layout(const ml_tensor *a, const ml_tensor *b);
/* 0, or -1 with "fn: unsupported operation: more than one element of the
 * written-to tensor refers to a single memory location. ..." when t has
 * internal overlap, as PyTorch refuses it. */
int ml_check_writable(const char *fn, const ml_tensor *t);
/* Returns t itself (retained) when already contiguous, else a copy. */
ml_tensor *ml_contiguous(ml_tensor *t);
ml_tensor *ml_clone(const ml_tensor *t);
ml_tensor *ml_to_dtype(ml_tensor *t, ml_dtype dt); /* retained t if same */
void ml_bump_version(ml_tensor *t);

/* ---- shape helpers --------------------------------------------------- */
/* NumPy broadcasting of two shapes; -1 with error naming fn on mismatch. */
int ml_broadcast_shapes(const char *fn, int na, const int64_t *sa, int nb, const int64_t *sb, int *nout,
                        int64_t *out);
/* Strides that read t as if it had shape (ndim, shape) under broadcasting. */
void ml_broadcast_strides(const ml_tensor *t, int ndim, const int64_t *shape, int64_t *strides);

#endif
