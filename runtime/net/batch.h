/* Dynamic batching across the worker threads of one server: callers with
 * the same key append their rows to one open batch; the first (the leader)
 * waits until max_delay passes or max_batch rows are in, runs the model on
 * all rows in its own Lua state, and publishes the outputs; the others (the
 * followers) sleep on the batch's condition variable and copy their rows of
 * each output out. The leader always publishes (outputs or an error) and a
 * follower's wait is bounded, so no caller can hang. Knows nothing of Lua. */
#ifndef ML_NET_BATCH_H
#define ML_NET_BATCH_H

#include <stddef.h>
#include <stdint.h>

#define ML_BATCH_MAX_OUT 4

typedef struct ml_batcher ml_batcher;
typedef struct ml_batch ml_batch;

/* One output of the leader's run: a contiguous array of rows. */
typedef struct {
    int dtype;          /* an ml_dtype, opaque here */
    int ndim;
    int64_t shape[8];   /* shape[0]: rows of the whole batch */
    void *data;         /* malloc'd, owned by the batch once published */
    size_t bytes;
} ml_batch_out;

ml_batcher *ml_batcher_new(void);
void ml_batcher_free(ml_batcher *b); /* after every caller has returned */

/* Appends n rows (row_bytes each, of element type tag) to key's open batch,
 * or opens one. Returns a reference to the batch; *leader is 1 for the
 * caller that opened it; *offset is the index of the caller's first row.
 * NULL when out of memory. */
ml_batch *ml_batch_join(ml_batcher *b, const char *key, const void *rows, int64_t n, int64_t row_bytes, int tag,
                        int64_t max_batch, int *leader, int64_t *offset);
/* Leader: waits up to max_delay_s for the batch to fill, closes it to new
 * callers and returns all rows (*n of them; valid until the release). */
const void *ml_batch_gather(ml_batch *bt, double max_delay_s, int64_t *n);
/* Leader: publishes nout outputs (taking their data) or, when err is not
 * NULL, an error (status 0 for a plain error) for every caller. */
void ml_batch_finish(ml_batch *bt, ml_batch_out *outs, int nout, int err_status, const char *err);
/* Follower: waits up to timeout_s for the leader. 0: outputs are there;
 * 1: the leader published an error; -1: timed out. */
int ml_batch_wait(ml_batch *bt, double timeout_s);
/* The published outputs (count in *nout), or the error. */
const ml_batch_out *ml_batch_outputs(ml_batch *bt, int *nout);
const char *ml_batch_error(ml_batch *bt, int *status);
void ml_batch_release(ml_batch *bt); /* drops the caller's reference */

/* Parking, for callers that must not block their thread (the server's
 * workers): instead of gather or wait, a caller parks with wake and arg.
 * A parked leader is woken (wake(arg), from the thread that fills the batch)
 * when the batch fills; at its deadline its own thread claims it instead. A
 * parked follower is woken when the leader finishes. Returns 1 when the
 * caller should go on at once (a leader whose batch is full, a follower
 * whose batch is done), -1 when it cannot park (out of memory: wait
 * instead), 0 when parked. All callers of one batch use the same wake. */
typedef void (*ml_batch_wake)(void *arg);
int ml_batch_park(ml_batch *bt, int leader, ml_batch_wake wake, void *arg);
/* Leader at its deadline: 1 if it was still parked (now it is not, and no
 * wake will come), 0 if a wake came or is coming. */
int ml_batch_claim(ml_batch *bt);

#endif
