/* The model server's C predict path (see predict.h): each step is the Lua
 * path's, in its order, through the same kernels, so the answer is the same
 * text (test_serve_fast_path.lua compares them byte for byte). */
#include "predict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../io/io.h"
#include "../ops/colstats.h"
#include "../ops/ops.h"
#include "json_rows.h"

static const char *const ROW_KEYS[] = {"inputs", "instances"};

static int all_finite(const float *v, int64_t n) {
    float acc = 0; /* a NaN or an infinity makes the product with zero NaN */
    for (int64_t i = 0; i < n; i++) acc += v[i] * 0.0f;
    return acc == 0.0f;
}

/* model(rows) through the plan and the tail: (n, k) outputs in out_t (a
 * tensor when a tail ran, released by the caller) or in the plan's buffer. */
static const float *forward(const ml_predict_route *r, const float *X, int64_t n, ml_tensor **out_t) {
    const float *y = ml_train_plan_forward(r->plan, X, n);
    *out_t = NULL;
    if (!y || r->tail == ML_PREDICT_TAIL_NONE) return y;
    int64_t shape[2] = {n, r->k};
    ml_tensor *t = ml_empty(2, shape, ML_FLOAT32);
    if (!t) return NULL;
    memcpy(ml_data(t), y, sizeof(float) * (size_t)(n * r->k));
    *out_t = r->tail == ML_PREDICT_TAIL_SOFTMAX ? ml_softmax(t, 1) : ml_log_softmax(t, 1);
    ml_release(t);
    return *out_t ? ml_data(*out_t) : NULL;
}

/* The class of each row: argmax's first maximum (ml.argmax). 0 when an output is NaN. */
static int argmax_rows(const float *y, int64_t n, int64_t k, int64_t *cls) {
    for (int64_t i = 0; i < n; i++) {
        const float *row = y + i * k;
        int64_t bi = 0;
        float best = row[0];
        if (best != best) return 0;
        for (int64_t j = 1; j < k; j++) {
            float v = row[j];
            if (v != v) return 0;
            if (v > best) best = v, bi = j;
        }
        cls[i] = bi;
    }
    return 1;
}

/* {"model":..,"predictions":[..],"version":N}: ml.json.encode's sorted keys. 0 when a value has no JSON form. */
static int write_answer(const ml_predict_route *r, ml_buf *b, const float *y, const int64_t *cls, int64_t n) {
    ml_buf_puts(b, "{\"model\":");
    ml_buf_puts(b, r->model_json);
    ml_buf_puts(b, ",\"predictions\":[");
    for (int64_t i = 0; i < n; i++) {
        if (i) ml_buf_add(b, ",", 1);
        if (cls) ml_buf_puts(b, r->class_json[cls[i]]);
        else if (ml_json_put_float(b, (double)y[i]) < 0) return 0;
    }
    ml_buf_printf(b, "],\"version\":%lld}", r->version);
    return !b->failed;
}

/* The Lua path's metrics of one answered request (but the batch size), and its drift sums. */
static void account(const ml_predict_route *r, ml_metrics *m, const float *X, int64_t n, const int64_t *cls) {
    ml_metrics_add(m, "moonlab_serve_predictions_total", ML_METRIC_COUNTER, &r->version_labels, (double)n, 0, NULL, 0);
    ml_metrics_add(m, "moonlab_serve_fast_path_requests_total", ML_METRIC_COUNTER, &r->version_labels, 1, 0, NULL, 0);
    if (cls) {
        for (int64_t i = 0; i < n; i++) { /* one call per distinct class of the rows */
            int64_t c = cls[i], seen = 0, count = 0;
            for (int64_t j = 0; j < i && !seen; j++) seen = cls[j] == c;
            if (seen) continue;
            for (int64_t j = i; j < n; j++) count += cls[j] == c;
            ml_metrics_add(m, "moonlab_serve_predicted_class_total", ML_METRIC_COUNTER, &r->class_labels[c],
                           (double)count, 0, NULL, 0);
            if (r->drift_y) r->drift_y[c] += (double)count;
        }
    }
    if (r->drift_x) ml_col_moments_add(r->drift_x, X, ML_FLOAT32, n, r->d);
}

ml_predict_status ml_predict_read(ml_predict_route *r, ml_http_server *srv, const ml_http_exchange *x, float **out,
                                  int64_t *nout) {
    if (ml_shared_generation(ml_http_shared(srv)) != r->generation) return ML_PREDICT_EXPIRED;
    double now = ml_monotonic_s();
    if (now >= r->expires) { /* this one goes the Lua way: it flushes the drift sums */
        r->expires = now + r->ttl;
        return ML_PREDICT_DECLINED;
    }
    ml_json_rows rows;
    char err[8];
    ml_predict_status st = ML_PREDICT_DECLINED;
    if (ml_json_rows_parse(x->body, x->body_len, ROW_KEYS, 2, &rows, err, sizeof err) < 0) goto done;
    int64_t n = rows.n;
    if (!rows.numeric || n < 1 || n > r->max_rows || rows.d != r->d || rows.members != 1) goto done;
    float *X = rows.vals;
    if (X) rows.vals = NULL; /* the fast scan's array is the rows: taken over */
    else if ((X = malloc(sizeof(float) * (size_t)(n * r->d)))) ml_json_rows_fill(&rows, X); /* from the tree */
    else goto done;
    if (!all_finite(X, n * r->d)) { /* the Lua path names the value */
        free(X);
        goto done;
    }
    *out = X;
    *nout = n;
    st = ML_PREDICT_OK;
done:
    ml_json_rows_free(&rows);
    return st;
}

void ml_predict_run(const ml_predict_route *r, ml_http_server *srv, const float *X, int64_t n, ml_http_exchange *const *xs,
                    const int64_t *counts, int nx, unsigned char *declined) {
    ml_tensor *out_t = NULL;
    const float *y = forward(r, X, n, &out_t);
    int64_t *cls = r->class_json && y ? malloc(sizeof *cls * (size_t)n) : NULL;
    ml_metrics *m = ml_http_metrics(srv);
    if (y && (cls || !r->class_json))
        ml_metrics_observe(m, "moonlab_serve_batch_size", &r->model_labels, (double)n, r->batch_buckets,
                           r->nbatch_buckets, NULL, 0);
    int64_t off = 0;
    for (int i = 0; i < nx; off += counts[i], i++) {
        declined[i] = 0;
        ml_http_exchange *x = xs[i];
        if (!x) continue;
        int64_t c = counts[i];
        int64_t *ci = cls ? cls + off : NULL;
        if (!y || (r->class_json && (!cls || !argmax_rows(y + off * r->k, c, r->k, ci))) ||
            !write_answer(r, &x->resp, y + off * r->k, ci, c)) {
            ml_buf_free(&x->resp);
            declined[i] = 1;
            continue;
        }
        x->status = 200;
        strcpy(x->content_type, "application/json");
        snprintf(x->route, sizeof x->route, "%s", r->route);
        account(r, m, X + off * r->d, c, ci);
    }
    free(cls);
    ml_release(out_t);
}

ml_predict_status ml_predict_try(ml_predict_route *r, ml_http_server *srv, ml_http_exchange *x) {
    float *X;
    int64_t n;
    ml_predict_status st = ml_predict_read(r, srv, x, &X, &n);
    if (st != ML_PREDICT_OK) return st;
    unsigned char declined;
    ml_predict_run(r, srv, X, n, &x, &n, 1, &declined);
    free(X);
    return declined ? ML_PREDICT_DECLINED : ML_PREDICT_OK;
}
