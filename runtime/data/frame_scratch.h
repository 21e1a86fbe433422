/* Scratch memory of the frame kernels (frame_ops.c, frame_agg.c), taken
 * from the tensor storage and its block cache rather than from malloc: a
 * large malloc block is fresh mmap'd memory on every call, and its
 * first-touch page faults then cost more than the kernel itself (about
 * 50 microseconds a page on the virtual machines we run on, 0.8 s for
 * 64 MB); the cache hands back blocks that are already mapped.
 * fs_malloc / fs_calloc / fs_free mirror malloc / calloc / free; the block's
 * tensor is kept in the 64 bytes before the pointer (which stays 64-byte
 * aligned where the storage is). Thread-safe, as tensor allocation is. */
#ifndef ML_DATA_FRAME_SCRATCH_H
#define ML_DATA_FRAME_SCRATCH_H

#include <string.h>

#include "../tensor/tensor.h"

#define FS_HEADER 64

static inline void *fs_malloc(size_t bytes) {
    int64_t shape[1] = {(int64_t)(bytes + FS_HEADER)};
    ml_tensor *t = ml_empty(1, shape, ML_BOOL);
    if (!t) return NULL;
    char *p = ml_data(t);
    memcpy(p, &t, sizeof t);
    return p + FS_HEADER;
}

static inline void *fs_calloc(size_t n, size_t size) {
    void *p = fs_malloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

static inline void fs_free(void *p) {
    if (!p) return;
    ml_tensor *t;
    memcpy(&t, (char *)p - FS_HEADER, sizeof t);
    ml_release(t);
}

#endif
