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

#include <stddef.h>

#define ML_POOL_MAX 4096                   /* largest pooled block */
/* Bytes kept per size class and thread, and in all of a thread's classes:
 * enough for the tensors one collector cycle frees (tens of thousands in a
 * loop of tiny ops), which is memory the process held at its peak anyway. */
#define ML_POOL_CLASS_BYTES ((size_t)16 << 20)
#define ML_POOL_THREAD_BYTES ((size_t)48 << 20)

/* A block of at least size bytes (size <= ML_POOL_MAX, else plain malloc),
 * 16-byte aligned, uninitialized; NULL when out of memory. */
void *ml_pool_alloc(size_t size);
/* Gives back p, allocated by ml_pool_alloc with the same size. NULL-safe. */
void ml_pool_free(void *p, size_t size);
/* The size ml_pool_alloc really gives for size (its class's). */
static inline size_t ml_pool_class_size(size_t size) {
    return size <= ML_POOL_MAX ? (size + 63) & ~(size_t)63 : size;
}
/* Frees the calling thread's pooled blocks. */
void ml_pool_drain(void);
/* Bytes in the calling thread's lists. */
size_t ml_pool_bytes(void);

#endif
