/* The batch loader: gathers rows of source tensors into fresh contiguous
 * batches, preparing the next batches in a background thread while the
 * caller trains on the current one.
 *
 * Sources are tensors [N, ...] of any dtype with the same N. An epoch is an
 * order: a 1-D int64 tensor of row numbers (a permutation, or any selection
 * of rows, repeats allowed). Batch b holds rows order[b*B .. (b+1)*B) of
 * every source, each gathered by one memcpy per row into a new tensor
 * [B, ...] (the last batch is shorter unless drop_last).
 *
 * Threads. The worker only reads the sources' data and allocates new
 * tensors (ml_empty is thread-safe: the storage cache has a mutex, the byte
 * counters are atomic, the error buffer is thread-local). It never touches
 * a refcount of a tensor the caller can see: the loader keeps its own
 * references to the sources (taken and dropped by the caller's thread, in
 * new and free), and its batches belong to nobody else until the caller
 * takes them from the queue. Batches pass through a queue of `prefetch`
 * slots guarded by a mutex and two condition variables. Writing into a
 * source in place while an epoch runs is a data race, as it is in PyTorch.
 *
 * Nothing here knows about Lua. Functions that fail return NULL or -1 with
 * a message in ml_last_error() that starts with "data.loader: ". */
#ifndef ML_LOADER_H
#define ML_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "../tensor/tensor.h"

#define ML_LOADER_MAX_SOURCES 16
#define ML_LOADER_MAX_PREFETCH 16

typedef struct ml_loader ml_loader;

#define ML_LOADER_AUTO_BYTES ((int64_t)512 << 10)

/* A loader over nsrc sources (1..16, each with at least one dimension, the
 * same first size). The loader keeps a reference to each (a contiguous copy
 * of a strided one). prefetch: batches prepared ahead by the worker thread
 * (1..16); 0 prepares each batch in ml_loader_next on the caller's thread;
 * -1 picks as many as fit in 512 KB, 1 to 8 (0 under 64 KB). The thread starts with the
 * first epoch, sleeps when the queue is full and is woken when it is down
 * to half, so one wake-up refills several slots. When the queue is empty
 * and the worker has not begun the batch due, ml_loader_next gathers it
 * itself instead of waiting for the worker to get a core. */
ml_loader *ml_loader_new(int nsrc, ml_tensor *const *srcs, int64_t batch_size, bool drop_last, int prefetch);
/* Stops the worker, joins it, drops the batches not taken and the sources. NULL-safe. */
void ml_loader_free(ml_loader *l);

int64_t ml_loader_rows(const ml_loader *l); /* N, the sources' first size */
int ml_loader_sources(const ml_loader *l);

/* Starts an epoch, ending the current one first. order: 1-D int64, values
 * in base .. base+N-1 (base 0 or 1), copied; NULL is every row in order. */
int ml_loader_start(ml_loader *l, const ml_tensor *order, int64_t base);
/* Whether an epoch runs (started, not ended nor stopped). */
bool ml_loader_active(const ml_loader *l);
/* Batches in the current epoch (0 before the first). */
int64_t ml_loader_batches(const ml_loader *l);
/* The next batch: out[0..nsrc) get new references. Returns 1, or 0 at the
 * end of the epoch (which ends it), or -1 with the error (out untouched). */
int ml_loader_next(ml_loader *l, ml_tensor **out);
/* Ends the current epoch early: waits for a batch in preparation, drops
 * the prepared ones. The worker then sleeps until the next start. */
void ml_loader_stop(ml_loader *l);

/* A transform of each batch's first tensor, run where the batch is gathered
 * (the worker thread, or the caller's when it gathers a batch itself):
 * returns a new tensor that replaces the batch's (its reference is taken),
 * or NULL with ml_error set, which ends the epoch with that error at the
 * caller's next(). epoch: the number given to ml_loader_set_epoch; batch:
 * 1-based within the epoch; worker: whether it runs on the worker thread
 * (then it should not start parallel regions of its own). It must not touch
 * Lua or the global random generator. The loader owns ctx from here on and
 * calls free_ctx(ctx) (when not NULL) when it is replaced or freed. NULL fn
 * removes the transform. Ends the current epoch first. */
typedef ml_tensor *(*ml_loader_transform_fn)(void *ctx, const ml_tensor *batch, int64_t epoch, int64_t batch_no,
                                             bool worker);
void ml_loader_set_transform(ml_loader *l, ml_loader_transform_fn fn, void *ctx, void (*free_ctx)(void *));
/* The epoch number the transform gets for the batches of the next start (0 until set). */
void ml_loader_set_epoch(ml_loader *l, int64_t epoch);

/* A permutation of 1..n (int64, 1-based) that depends only on (seed,
 * stream) and leaves the global generator as it was: ml_randperm drawn
 * from the xoshiro256** state that ml_seed(h) would set, where
 * h = mix(seed ^ mix(stream)) and mix is splitmix64's output function
 * (z ^= z >> 30; z *= 0xbf58476d1ce4e5b9; z ^= z >> 27; z *= 0x94d049bb133111eb;
 * z ^= z >> 31). Seeded loaders shuffle epoch k with stream k; seeded splits
 * use stream 0. */
ml_tensor *ml_seeded_randperm(int64_t n, uint64_t seed, uint64_t stream);

#endif
