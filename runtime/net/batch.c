/* Leader/follower gathering of rows (see batch.h). One mutex per batcher
 * guards the open batches and every batch's state; each batch has its own
 * condition variable (on CLOCK_MONOTONIC, so a clock change cannot stretch
 * a wait). A batch lives while any caller holds a reference. */
#include "batch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OPEN, RUNNING, DONE };

struct ml_batch {
    ml_batcher *owner;
    ml_batch *next; /* in the open list */
    char *key;
    int64_t row_bytes, max_batch, n;
    int tag, state, refs;
    char *rows;
    size_t cap;
    pthread_cond_t cv;
    ml_batch_out out[ML_BATCH_MAX_OUT];
    int nout, err_status;
    char *err;
    /* parked callers (ml_batch_park): the leader until the batch is full or
     * claimed at its deadline, the followers until it is done */
    ml_batch_wake wake;
    void *leader_arg;
    struct parked { void *arg; } *followers;
    int nfollowers, capfollowers;
};

struct ml_batcher {
    pthread_mutex_t mu;
    ml_batch *open;
};

ml_batcher *ml_batcher_new(void) {
    ml_batcher *b = calloc(1, sizeof *b);
    if (b) pthread_mutex_init(&b->mu, NULL);
    return b;
}

static void batch_free(ml_batch *bt) {
    for (int i = 0; i < bt->nout; i++) free(bt->out[i].data);
    pthread_cond_destroy(&bt->cv);
    free(bt->followers);
    free(bt->rows);
    free(bt->key);
    free(bt->err);
    free(bt);
}

void ml_batcher_free(ml_batcher *b) {
    if (!b) return;
    while (b->open) { /* only batches nobody waits on remain */
        ml_batch *bt = b->open;
        b->open = bt->next;
        batch_free(bt);
    }
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static void unlink_open(ml_batcher *b, ml_batch *bt) {
    for (ml_batch **p = &b->open; *p; p = &(*p)->next)
        if (*p == bt) { *p = bt->next; break; }
    bt->next = NULL;
}

static int grow(ml_batch *bt, size_t need) {
    if (need <= bt->cap) return 0;
    size_t cap = bt->cap ? bt->cap : 4096;
    while (cap < need) cap *= 2;
    char *r = realloc(bt->rows, cap);
    if (!r) return -1;
    bt->rows = r;
    bt->cap = cap;
    return 0;
}

static ml_batch *batch_new(ml_batcher *b, const char *key, int64_t row_bytes, int tag, int64_t max_batch) {
    ml_batch *bt = calloc(1, sizeof *bt);
    if (!bt || !(bt->key = strdup(key))) { free(bt); return NULL; }
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&bt->cv, &a);
    pthread_condattr_destroy(&a);
    bt->owner = b;
    bt->row_bytes = row_bytes;
    bt->tag = tag;
    bt->max_batch = max_batch;
    return bt;
}

ml_batch *ml_batch_join(ml_batcher *b, const char *key, const void *rows, int64_t n, int64_t row_bytes, int tag,
                        int64_t max_batch, int *leader, int64_t *offset) {
    pthread_mutex_lock(&b->mu);
    ml_batch *bt = b->open;
    /* the open batch of this key and row type with room for these rows */
    for (; bt; bt = bt->next)
        if (bt->row_bytes == row_bytes && bt->tag == tag && strcmp(bt->key, key) == 0 && bt->n + n <= bt->max_batch)
            break;
    *leader = bt == NULL;
    if (!bt) {
        bt = batch_new(b, key, row_bytes, tag, max_batch < n ? n : max_batch);
        if (!bt) { pthread_mutex_unlock(&b->mu); return NULL; }
        bt->next = b->open;
        b->open = bt;
    }
    if (grow(bt, (size_t)((bt->n + n) * row_bytes)) < 0) {
        if (*leader) { unlink_open(b, bt); batch_free(bt); }
        pthread_mutex_unlock(&b->mu);
        return NULL;
    }
    memcpy(bt->rows + bt->n * row_bytes, rows, (size_t)(n * row_bytes));
    *offset = bt->n;
    bt->n += n;
    bt->refs++;
    void *wake_leader = NULL;
    ml_batch_wake wake = bt->wake;
    if (bt->n >= bt->max_batch) {
        unlink_open(b, bt); /* full: later callers open the next batch */
        pthread_cond_broadcast(&bt->cv);
        if (bt->leader_arg) { wake_leader = bt->leader_arg; bt->leader_arg = NULL; }
    }
    pthread_mutex_unlock(&b->mu);
    if (wake_leader) wake(wake_leader);
    return bt;
}

int ml_batch_park(ml_batch *bt, int leader, ml_batch_wake wake, void *arg) {
    ml_batcher *b = bt->owner;
    int now = 0;
    pthread_mutex_lock(&b->mu);
    bt->wake = wake;
    if (leader) {
        if (bt->n >= bt->max_batch || bt->state != OPEN) now = 1;
        else bt->leader_arg = arg;
    } else if (bt->state == DONE) {
        now = 1;
    } else {
        if (bt->nfollowers == bt->capfollowers) {
            int cap = bt->capfollowers ? 2 * bt->capfollowers : 16;
            struct parked *f = realloc(bt->followers, (size_t)cap * sizeof *f);
            if (!f) now = -1; /* cannot park: the caller waits instead */
            else bt->followers = f, bt->capfollowers = cap;
        }
        if (now == 0) bt->followers[bt->nfollowers++].arg = arg;
    }
    pthread_mutex_unlock(&b->mu);
    return now;
}

int ml_batch_claim(ml_batch *bt) {
    ml_batcher *b = bt->owner;
    pthread_mutex_lock(&b->mu);
    int mine = bt->leader_arg != NULL;
    bt->leader_arg = NULL;
    pthread_mutex_unlock(&b->mu);
    return mine;
}

static struct timespec deadline(double s) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (s < 0) s = 0;
    time_t whole = (time_t)s;
    t.tv_sec += whole;
    t.tv_nsec += (long)((s - (double)whole) * 1e9);
    if (t.tv_nsec >= 1000000000L) { t.tv_sec++; t.tv_nsec -= 1000000000L; }
    return t;
}

const void *ml_batch_gather(ml_batch *bt, double max_delay_s, int64_t *n) {
    ml_batcher *b = bt->owner;
    struct timespec until = deadline(max_delay_s);
    pthread_mutex_lock(&b->mu);
    while (bt->n < bt->max_batch)
        if (pthread_cond_timedwait(&bt->cv, &b->mu, &until) == ETIMEDOUT) break;
    unlink_open(b, bt);
    bt->state = RUNNING;
    *n = bt->n;
    pthread_mutex_unlock(&b->mu);
    return bt->rows; /* no one appends once it is RUNNING */
}

void ml_batch_finish(ml_batch *bt, ml_batch_out *outs, int nout, int err_status, const char *err) {
    ml_batcher *b = bt->owner;
    pthread_mutex_lock(&b->mu);
    unlink_open(b, bt);
    if (err) {
        bt->err = strdup(err);
        if (!bt->err) bt->err = NULL;
        bt->err_status = err_status;
        if (!bt->err) bt->err_status = -1; /* out of memory: still an error */
        for (int i = 0; i < nout; i++) free(outs[i].data);
    } else {
        for (int i = 0; i < nout && i < ML_BATCH_MAX_OUT; i++) bt->out[i] = outs[i];
        bt->nout = nout < ML_BATCH_MAX_OUT ? nout : ML_BATCH_MAX_OUT;
    }
    bt->state = DONE;
    pthread_cond_broadcast(&bt->cv);
    /* the parked followers are woken outside the lock; no one adds to the
     * list once the batch is DONE, and each holds a reference, so it lives */
    int nf = bt->nfollowers;
    bt->nfollowers = 0;
    ml_batch_wake wake = bt->wake;
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < nf; i++) wake(bt->followers[i].arg);
}

int ml_batch_wait(ml_batch *bt, double timeout_s) {
    ml_batcher *b = bt->owner;
    struct timespec until = deadline(timeout_s);
    pthread_mutex_lock(&b->mu);
    while (bt->state != DONE)
        if (pthread_cond_timedwait(&bt->cv, &b->mu, &until) == ETIMEDOUT) break;
    int rc = bt->state != DONE ? -1 : (bt->err || bt->err_status) ? 1 : 0;
    pthread_mutex_unlock(&b->mu);
    return rc;
}

const ml_batch_out *ml_batch_outputs(ml_batch *bt, int *nout) {
    *nout = bt->nout;
    return bt->out;
}

const char *ml_batch_error(ml_batch *bt, int *status) {
    *status = bt->err_status < 0 ? 0 : bt->err_status;
    return bt->err ? bt->err : "out of memory";
}

void ml_batch_release(ml_batch *bt) {
    ml_batcher *b = bt->owner;
    pthread_mutex_lock(&b->mu);
    int last = --bt->refs == 0;
    if (last) unlink_open(b, bt);
    pthread_mutex_unlock(&b->mu);
    if (last) batch_free(bt);
}
