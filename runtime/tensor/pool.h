/* Per-thread free lists of small blocks: tensor headers, storages,
 * autograd nodes and tensor data up to ML_POOL_MAX bytes, in 64-byte size
 * classes.
 *
 * A tiny op makes and frees three or four such blocks; the collector frees
 * them in bursts of hundreds, which overflow glibc's per-thread cache and
 * send every malloc and free down its slow path (a third of a 10-element
 * add). A block here is an ordinary malloc'd block kept on a list after
 * its free: a block that is never freed is still a leak LeakSanitizer sees,
 * and under AddressSanitizer a pooled block is poisoned, so a use after
 * free is still caught. The lists are bounded (ML_POOL_*_BYTES), the
 * lists of a thread are freed when it exits, and ml_pool_drain() frees the
 * calling thread's now. Blocks may be freed on another thread than the one
 * that allocated them (they go to the freeing thread's lists). */
#ifndef ML_POOL_H
#define ML_POOL_H

#include <stdbool.h>
#include <stddef.h>

#define ML_POOL_MAX 4096                   /* largest pooled block */
/* Bytes kept per size class and thread, and in all of a thread's classes:
 * enough for the tensors one collector cycle frees (tens of thousands in a
 * loop of tiny ops), which is memory the process held at its peak anyway. */
#define ML_POOL_CLASS_BYTES ((size_t)16 << 20)
#define ML_POOL_THREAD_BYTES ((size_t)48 << 20)

#define ML_POOL_NCLASS (ML_POOL_MAX / 64 + 1) /* class k holds blocks of 64 * k bytes; 0 unused */

typedef struct ml_pool_block { struct ml_pool_block *next; } ml_pool_block;
typedef struct {
    ml_pool_block *head[ML_POOL_NCLASS];
    size_t bytes[ML_POOL_NCLASS];
    size_t total;
    bool registered; /* the thread-exit destructor knows this thread */
} ml_pool_lists;
extern _Thread_local ml_pool_lists ml_pool_tls;

/* The whole of alloc and free (pool.c); the inline versions below take
 * the common case without a call. */
void *ml_pool_alloc_full(size_t size);
void ml_pool_free_full(void *p, size_t size);

/* A block of at least size bytes (size <= ML_POOL_MAX, else plain malloc),
 * 16-byte aligned, uninitialized; NULL when out of memory. */
static inline void *ml_pool_alloc(size_t size) {
#if !defined(__SANITIZE_ADDRESS__) /* pooled blocks are poisoned there: the full path */
    size_t k = (size + 63) >> 6;
    ml_pool_block *b;
    if (k - 1 < ML_POOL_NCLASS - 1 && (b = ml_pool_tls.head[k])) {
        ml_pool_tls.head[k] = b->next;
        ml_pool_tls.bytes[k] -= k << 6;
        ml_pool_tls.total -= k << 6;
        return b;
    }
#endif
    return ml_pool_alloc_full(size);
}

/* Gives back p, allocated by ml_pool_alloc with the same size. NULL-safe. */
static inline void ml_pool_free(void *p, size_t size) {
#if !defined(__SANITIZE_ADDRESS__)
    size_t k = (size + 63) >> 6;
    if (p && k - 1 < ML_POOL_NCLASS - 1 && ml_pool_tls.registered &&
        ml_pool_tls.bytes[k] + (k << 6) <= ML_POOL_CLASS_BYTES && ml_pool_tls.total + (k << 6) <= ML_POOL_THREAD_BYTES) {
        ml_pool_block *b = p;
        b->next = ml_pool_tls.head[k];
        ml_pool_tls.head[k] = b;
        ml_pool_tls.bytes[k] += k << 6;
        ml_pool_tls.total += k << 6;
        return;
    }
#endif
    ml_pool_free_full(p, size);
}

/* The size ml_pool_alloc really gives for size (its class's). */
static inline size_t ml_pool_class_size(size_t size) {
    return size <= ML_POOL_MAX ? (size + 63) & ~(size_t)63 : size;
}
/* Frees the calling thread's pooled blocks. */
void ml_pool_drain(void);
/* Bytes in the calling thread's lists. */
size_t ml_pool_bytes(void);

#endif
