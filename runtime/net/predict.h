/* The model server's C predict path: POST /predict of numeric rows to a
 * plain network (a chain of Linear layers and elementwise activations, the
 * plans of runtime/ops/train_step.h) answered in the worker thread with no
 * Lua: the body parsed into rows (json_rows.h), the forward, the argmax (or
 * the values of a regressor), the answer written as ml.json.encode writes
 * it, and the same metrics and drift sums as the Lua path.
 *
 * It is a cache of the Lua path's decision, never a second set of rules:
 * lualib/moonlab/serve/app.lua installs a route in its worker after it has
 * answered one request the plain way, and only when nothing of that request
 * needs Lua (no hooks, no request log, no batching, no pipeline). The C path
 * then takes the happy path only: anything unusual (other members than the
 * rows, a width or row count off, a NaN in or out, malformed JSON) is
 * declined, and the Lua path answers it, with its own messages. Every ttl
 * seconds one request is declined on purpose, so that the Lua path flushes
 * the drift sums (every quarter of a second) while the others stay in C;
 * and a route expires when a shared string changes (a version switch), so
 * the Lua path looks again and installs a fresh one.
 *
 * Every pointer in a route is borrowed: the binding anchors what it points
 * to for the route's life. Knows nothing of Lua. */
#ifndef ML_NET_PREDICT_H
#define ML_NET_PREDICT_H

#include <stdint.h>

#include "../ops/train_step.h"
#include "server.h"

typedef enum { ML_PREDICT_TAIL_NONE, ML_PREDICT_TAIL_SOFTMAX, ML_PREDICT_TAIL_LOG_SOFTMAX } ml_predict_tail;

typedef struct {
    ml_train_plan *plan;       /* the network's forward */
    ml_predict_tail tail;      /* a trailing nn.Softmax / nn.LogSoftmax, run by softmax.c as the Lua path does */
    int64_t d, k;              /* input features; outputs (k >= 2: classes, argmax; k == 1: a regressor's value) */
    int64_t max_rows;          /* most rows a request may have (the config's max_rows and the plan's rows) */
    int64_t max_batch;         /* most rows of one forward: 1, each request alone; more: the requests read in
                                * one turn of the worker's loop share forwards (predict_route.c) */
    const char *const *class_json; /* (k) each class label as JSON, for a classifier; NULL for a regressor */
    const char *model_json;    /* the model's name as JSON */
    long long version;
    const char *route;         /* the metrics' route label */
    /* the metrics the Lua path writes per request */
    ml_labels model_labels, version_labels; /* {model}, {model, version} */
    const ml_labels *class_labels;          /* (k) {model, version, class}; NULL for a regressor */
    const double *batch_buckets;
    int nbatch_buckets;
    /* the worker's local drift sums (float64; NULL: none): n, sums, sums of squares (1 + 2d); class counts (k) */
    double *drift_x, *drift_y;
    double expires, ttl;       /* monotonic seconds: then one request goes the Lua way, and ttl more */
    uint64_t generation;       /* ml_shared_generation when installed */
} ml_predict_route;

typedef enum {
    ML_PREDICT_OK,       /* read: the rows are the route's (ml_predict_read) / answered (ml_predict_try) */
    ML_PREDICT_DECLINED, /* the Lua path answers this request; the route stays */
    ML_PREDICT_EXPIRED,  /* the Lua path answers it, and the route is dropped */
} ml_predict_status;

/* Reads x's body as rows for r: on OK, *rows (malloc'd, n x d float32, the
 * caller frees it) and *n. */
ml_predict_status ml_predict_read(ml_predict_route *r, ml_http_server *srv, const ml_http_exchange *x, float **rows,
                                  int64_t *n);

/* One forward of the n rows of X (the requests' rows one after another)
 * and the answers of the nx exchanges: xs[i] owns counts[i] rows (xs[i]
 * NULL: nobody to answer; its rows still run). declined[i] is set for an
 * exchange the Lua path must answer (an output with no JSON form), as for
 * all of them when the forward itself fails. The batch-size histogram sees
 * n once, the other metrics and the drift sums each answered request. */
void ml_predict_run(const ml_predict_route *r, ml_http_server *srv, const float *X, int64_t n, ml_http_exchange *const *xs,
                    const int64_t *counts, int nx, unsigned char *declined);

/* Read and run one request alone: OK when x holds the answer. */
ml_predict_status ml_predict_try(ml_predict_route *r, ml_http_server *srv, ml_http_exchange *x);

#endif
