/* The batch loader (see loader.h): sources, an epoch's order, a worker
 * thread and a small queue of prepared batches.
 *
 * State machine, all under `mu`:
 *   the caller's start() waits until the worker is not gathering, drops the
 *   queue, installs the new order, sets `active` and wakes the worker;
 *   the worker, while active and the queue has room, claims batch
 *   `produced`, gathers it with the lock released, and queues it; it then
 *   sleeps (`idle`) when the queue is full, and the caller wakes it when
 *   the queue is down to `low` (half), so one wake-up refills several slots;
 *   next() takes the oldest queued batch; when the queue is empty and the
 *   worker has not begun the batch due (on a busy machine it may wait for a
 *   core), next() claims it and gathers it itself rather than wait; else it
 *   waits for the worker's batch (or its error);
 *   stop() clears `active`, waits out a gather in progress and drops the
 *   queue; free() sets `quit` and joins.
 * The order array is replaced only by start(), on the caller's thread,
 * while the worker is not gathering (`busy` and `active` are false), so a
 * gather reads a stable order without holding the lock. */
#define _GNU_SOURCE
#include "loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/random.h"

#define FN "data.loader"

typedef struct {
    int64_t row_bytes;
    int ndim;
    ml_dtype dtype;
    int64_t shape[ML_MAX_DIMS];
} source;

struct ml_loader {
    int nsrc;
    ml_tensor *src[ML_LOADER_MAX_SOURCES]; /* our own headers (never the caller's): caller's thread only */
    source s[ML_LOADER_MAX_SOURCES];       /* what the worker reads */
    int64_t rows, batch;
    bool drop_last;
    int depth; /* queue slots; 0: no worker */
    int low;   /* the caller wakes a sleeping worker when the queue is down to this */

    ml_loader_transform_fn transform; /* of each batch's first tensor, or NULL; set while no epoch runs */
    void *transform_ctx;
    void (*transform_free)(void *);
    int64_t epoch; /* the transform's epoch number; set while no epoch runs */

    int64_t *order; /* this epoch's rows, 0-based */
    int64_t norder, nbatches;

    pthread_mutex_t mu;
    pthread_cond_t wake;  /* the worker waits on it */
    pthread_cond_t ready; /* the caller waits on it */
    pthread_t thread;
    bool has_thread, quit, active, busy, failed, idle;
    int64_t produced, consumed;
    ml_tensor **queue; /* depth * nsrc */
    int qhead, qcount;
    char err[512];
};

/* ---- gathering ---------------------------------------------------------- */
static void copy_rows(char *dst, const char *base, int64_t rb, const int64_t *rows, int64_t n) {
    switch (rb) { /* labels and narrow rows: one typed load/store per row */
    case 8:
        for (int64_t i = 0; i < n; i++) memcpy(dst + 8 * i, base + 8 * rows[i], 8);
        break;
    case 4:
        for (int64_t i = 0; i < n; i++) memcpy(dst + 4 * i, base + 4 * rows[i], 4);
        break;
    default:
        for (int64_t i = 0; i < n; i++) memcpy(dst + rb * i, base + rb * rows[i], (size_t)rb);
    }
}

/* Batch b of the order into out[0..nsrc): new tensors, or -1 with the error
 * (nothing left allocated). Runs on the worker (worker = true) or the
 * caller's thread. */
static int gather(const ml_loader *l, const int64_t *order, int64_t norder, int64_t b, ml_tensor **out, bool worker) {
    int64_t start = b * l->batch, n = norder - start < l->batch ? norder - start : l->batch;
    for (int k = 0; k < l->nsrc; k++) {
        const source *s = &l->s[k];
        int64_t shape[ML_MAX_DIMS];
        memcpy(shape, s->shape, sizeof shape);
        shape[0] = n;
        out[k] = ml_empty(s->ndim, shape, s->dtype);
        if (!out[k]) {
            char why[256];
            snprintf(why, sizeof why, "%s", ml_last_error());
            for (int j = 0; j < k; j++) ml_release(out[j]);
            ml_error("%s: cannot make a batch: %s", FN, why);
            return -1;
        }
    }
    /* On the worker, the sources' data pointers are read under the rebind
     * lock: the caller's thread may be rebinding a storage into an
     * optimizer's parameter block (ml_storage_rebind), freeing the block it
     * had. On the caller's thread no rebind can run meanwhile. */
    if (worker) ml_storage_read_lock();
    for (int k = 0; k < l->nsrc; k++)
        copy_rows(ml_data(out[k]), ml_data(l->src[k]), l->s[k].row_bytes, order + start, n);
    if (worker) ml_storage_read_unlock();
    if (l->transform) {
        ml_tensor *t = l->transform(l->transform_ctx, out[0], l->epoch, b + 1, worker);
        if (!t) {
            char why[400];
            snprintf(why, sizeof why, "%s", ml_last_error());
            for (int k = 0; k < l->nsrc; k++) ml_release(out[k]);
            ml_error("%s: the transform failed on batch %lld of epoch %lld: %s", FN, (long long)(b + 1),
                     (long long)l->epoch, why);
            return -1;
        }
        ml_release(out[0]);
        out[0] = t;
    }
    return 0;
}

/* ---- the worker ----------------------------------------------------------- */
static void *worker(void *arg) {
    ml_loader *l = arg;
    ml_tensor *batch[ML_LOADER_MAX_SOURCES];
    pthread_mutex_lock(&l->mu);
    for (;;) {
        l->idle = true;
        while (!l->quit && !(l->active && !l->failed && l->produced < l->nbatches && l->qcount < l->depth))
            pthread_cond_wait(&l->wake, &l->mu);
        l->idle = false;
        if (l->quit) break;
        int64_t b = l->produced++;
        const int64_t *order = l->order;
        int64_t norder = l->norder;
        l->busy = true;
        pthread_mutex_unlock(&l->mu);
        int rc = gather(l, order, norder, b, batch, true);
        pthread_mutex_lock(&l->mu);
        l->busy = false;
        if (rc < 0) {
            l->failed = true;
            snprintf(l->err, sizeof l->err, "%s", ml_last_error());
        } else {
            ml_tensor **slot = l->queue + (size_t)((l->qhead + l->qcount) % l->depth) * l->nsrc;
            memcpy(slot, batch, sizeof(ml_tensor *) * l->nsrc);
            l->qcount++;
        }
        pthread_cond_broadcast(&l->ready);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* With mu held: waits until no gather runs, then drops the queued batches. */
static void drain_locked(ml_loader *l) {
    while (l->busy) pthread_cond_wait(&l->ready, &l->mu);
    for (int q = 0; q < l->qcount; q++) {
        ml_tensor **slot = l->queue + (size_t)((l->qhead + q) % l->depth) * l->nsrc;
        for (int k = 0; k < l->nsrc; k++) ml_release(slot[k]);
    }
    l->qhead = l->qcount = 0;
}

/* ---- the caller's side --------------------------------------------------- */
ml_loader *ml_loader_new(int nsrc, ml_tensor *const *srcs, int64_t batch_size, bool drop_last, int prefetch) {
    if (nsrc < 1 || nsrc > ML_LOADER_MAX_SOURCES)
        return ml_error("%s: expected 1 to %d tensors, got %d", FN, ML_LOADER_MAX_SOURCES, nsrc);
    if (batch_size < 1) return ml_error("%s: batch_size must be a positive integer, got %lld", FN, (long long)batch_size);
    if (prefetch < -1 || prefetch > ML_LOADER_MAX_PREFETCH)
        return ml_error("%s: prefetch must be 0 to %d, got %d", FN, ML_LOADER_MAX_PREFETCH, prefetch);
    for (int k = 0; k < nsrc; k++) {
        if (srcs[k]->ndim < 1)
            return ml_error("%s: tensor %d is 0-d; each tensor needs a first dimension of samples", FN, k + 1);
        if (srcs[k]->shape[0] != srcs[0]->shape[0])
            return ml_error("%s: tensor 1 has %lld samples (first dimension) but tensor %d has %lld", FN,
                            (long long)srcs[0]->shape[0], k + 1, (long long)srcs[k]->shape[0]);
    }
    if (prefetch < 0) { /* auto: as many batches as fit in ML_LOADER_AUTO_BYTES, 1 to 8 */
        int64_t bytes = 0;
        for (int k = 0; k < nsrc; k++)
            bytes += (srcs[k]->shape[0] ? srcs[k]->numel / srcs[k]->shape[0] : 0) * (int64_t)ml_dtype_size(srcs[k]->dtype);
        bytes *= batch_size;
        int64_t fit = bytes > 0 ? ML_LOADER_AUTO_BYTES / bytes : 8;
        prefetch = fit < 1 ? 1 : fit > 8 ? 8 : (int)fit; /* one batch ahead is enough when a step outlasts a gather */
        if (bytes < (64 << 10)) prefetch = 0; /* waking the worker costs more than gathering a small batch here */
    }
    ml_loader *l = calloc(1, sizeof *l);
    if (!l) return ml_error("%s: out of memory", FN);
    l->queue = prefetch ? calloc((size_t)prefetch * nsrc, sizeof(ml_tensor *)) : NULL;
    if (prefetch && !l->queue) { free(l); return ml_error("%s: out of memory", FN); }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->wake, NULL);
    pthread_cond_init(&l->ready, NULL);
    l->nsrc = nsrc;
    l->rows = srcs[0]->shape[0];
    l->batch = batch_size;
    l->drop_last = drop_last;
    l->depth = prefetch;
    l->low = prefetch / 2;
    for (int k = 0; k < nsrc; k++) {
        /* Our own header over the storage, never the caller's tensor: the
         * worker reads raw rows, and an optimizer's flattening may rebind a
         * parameter's header to another storage (freeing the old one when
         * it held the last reference). A header of our own keeps the
         * storage we read alive whatever happens to the caller's tensor;
         * when the flattening rebinds the storage itself (a parameter that
         * owns its storage), we read the parameter block from then on. */
        ml_tensor *c = ml_contiguous(srcs[k]);
        l->src[k] = c == srcs[k] ? ml_alias(c) : c;
        if (c == srcs[k]) ml_release(c);
        if (!l->src[k]) { ml_loader_free(l); return NULL; }
        ml_tensor *t = l->src[k];
        source *s = &l->s[k];
        s->ndim = t->ndim;
        s->dtype = t->dtype;
        memcpy(s->shape, t->shape, sizeof s->shape);
        s->row_bytes = (t->shape[0] ? t->numel / t->shape[0] : ml_numel_of(t->ndim - 1, t->shape + 1)) *
                       (int64_t)ml_dtype_size(t->dtype);
    }
    return l;
}

void ml_loader_free(ml_loader *l) {
    if (!l) return;
    if (l->has_thread) {
        pthread_mutex_lock(&l->mu);
        l->active = false;
        drain_locked(l);
        l->quit = true;
        pthread_cond_broadcast(&l->wake);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->wake);
    pthread_cond_destroy(&l->ready);
    for (int k = 0; k < l->nsrc; k++) ml_release(l->src[k]);
    if (l->transform_free) l->transform_free(l->transform_ctx);
    free(l->queue);
    free(l->order);
    free(l);
}

int64_t ml_loader_rows(const ml_loader *l) { return l->rows; }
int ml_loader_sources(const ml_loader *l) { return l->nsrc; }
int64_t ml_loader_batches(const ml_loader *l) { return l->nbatches; }
bool ml_loader_active(const ml_loader *l) { return l->active; } /* only the caller's thread writes it */

void ml_loader_stop(ml_loader *l) {
    if (!l->has_thread) { l->active = false; return; }
    pthread_mutex_lock(&l->mu);
    l->active = false;
    drain_locked(l);
    pthread_mutex_unlock(&l->mu);
}

void ml_loader_set_transform(ml_loader *l, ml_loader_transform_fn fn, void *ctx, void (*free_ctx)(void *)) {
    ml_loader_stop(l); /* the worker is idle from here until the next start */
    if (l->transform_free) l->transform_free(l->transform_ctx);
    l->transform = fn;
    l->transform_ctx = ctx;
    l->transform_free = free_ctx;
}

void ml_loader_set_epoch(ml_loader *l, int64_t epoch) {
    ml_loader_stop(l);
    l->epoch = epoch;
}

int ml_loader_start(ml_loader *l, const ml_tensor *order, int64_t base) {
    int64_t n = l->rows;
    if (order) {
        if (order->dtype != ML_INT64 || order->ndim != 1) {
            char sb[160];
            ml_error("%s: the order must be a 1-D int64 tensor, got %s %s", FN, ml_dtype_name(order->dtype),
                     ml_shape_str(sb, sizeof sb, order->ndim, order->shape));
            return -1;
        }
        n = order->numel;
    }
    int64_t *o = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!o) { ml_error("%s: out of memory", FN); return -1; }
    if (order) {
        const int64_t *p = (const int64_t *)ml_data(order);
        int64_t st = order->strides[0];
        for (int64_t i = 0; i < n; i++) {
            int64_t v = p[i * st] - base;
            if (v < 0 || v >= l->rows) {
                ml_error("%s: order value %lld at position %lld is out of range %lld..%lld", FN,
                         (long long)p[i * st], (long long)(i + base), (long long)base, (long long)(l->rows - 1 + base));
                free(o);
                return -1;
            }
            o[i] = v;
        }
    } else {
        for (int64_t i = 0; i < n; i++) o[i] = i;
    }
    ml_loader_stop(l);
    pthread_mutex_lock(&l->mu);
    free(l->order);
    l->order = o;
    l->norder = n;
    l->nbatches = l->drop_last ? n / l->batch : (n + l->batch - 1) / l->batch;
    l->produced = l->consumed = 0;
    l->failed = false;
    l->active = true;
    if (l->depth && !l->has_thread) l->has_thread = pthread_create(&l->thread, NULL, worker, l) == 0;
    pthread_cond_broadcast(&l->wake);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

int ml_loader_next(ml_loader *l, ml_tensor **out) {
    if (!l->active) return 0;
    if (l->consumed >= l->nbatches) {
        ml_loader_stop(l);
        return 0;
    }
    if (!l->has_thread) { /* prefetch 0, or the thread could not start */
        if (gather(l, l->order, l->norder, l->consumed, out, false) < 0) return -1;
        l->consumed++;
        return 1;
    }
    pthread_mutex_lock(&l->mu);
    if (l->qcount == 0 && !l->failed && l->produced == l->consumed) {
        /* The worker is behind (descheduled on a busy machine) and has not
         * started this batch: gather it here rather than wait for a core. */
        int64_t b = l->produced++;
        pthread_mutex_unlock(&l->mu);
        int rc = gather(l, l->order, l->norder, b, out, false);
        pthread_mutex_lock(&l->mu);
        if (rc == 0) l->consumed++;
        else l->active = false;
        bool wake = l->idle;
        pthread_mutex_unlock(&l->mu);
        if (wake) pthread_cond_signal(&l->wake);
        return rc < 0 ? -1 : 1;
    }
    while (l->qcount == 0 && !l->failed) pthread_cond_wait(&l->ready, &l->mu);
    if (l->qcount == 0) { /* the worker failed: end the epoch with its error */
        ml_error("%s", l->err);
        l->active = false;
        pthread_mutex_unlock(&l->mu);
        return -1;
    }
    ml_tensor **slot = l->queue + (size_t)l->qhead * l->nsrc;
    memcpy(out, slot, sizeof(ml_tensor *) * l->nsrc);
    l->qhead = (l->qhead + 1) % l->depth;
    l->qcount--;
    l->consumed++;
    /* Waking a thread costs microseconds (a futex call, and in a VM an
     * inter-processor interrupt): let the queue run down to `low` first, so
     * the worker refills several slots per wake-up. The signal goes after
     * the unlock, so the woken worker does not block on our mutex. */
    bool wake = l->idle && l->qcount <= l->low;
    pthread_mutex_unlock(&l->mu);
    if (wake) pthread_cond_signal(&l->wake);
    return 1;
}

/* ---- seeded permutations -------------------------------------------------- */
static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

ml_tensor *ml_seeded_randperm(int64_t n, uint64_t seed, uint64_t stream) {
    uint64_t saved[4], st[4], x = mix(seed ^ mix(stream));
    for (int i = 0; i < 4; i++) st[i] = mix(x += 0x9e3779b97f4a7c15ULL); /* what ml_seed(x) sets */
    if (!(st[0] | st[1] | st[2] | st[3])) st[0] = 1;
    ml_random_get_state(saved);
    ml_random_set_state(st);
    ml_tensor *p = ml_randperm(n, ML_INT64);
    ml_random_set_state(saved);
    return p;
}
