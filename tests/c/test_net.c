/* runtime/net from C: the metrics registry's exposition text (label order,
 * escaping, cumulative buckets, type clashes), the batcher's leader and
 * followers on real threads (rows back in order, an error reaching everyone,
 * a bounded wait), json_rows on good, ragged and malformed bodies.
 * Prints "N passed, M failed" last; exits 1 on a failure. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/net/batch.h"
#include "../../runtime/net/json_rows.h"
#include "../../runtime/net/metrics.h"

#include "check.h"

static void test_metrics(void) {
    ml_metrics *m = ml_metrics_new();
    char err[200];
    const char *k[] = {"b", "a"}, *v[] = {"x\"y", "1\\2\n"};
    ml_labels l = {k, v, 2};
    CHECK(ml_metrics_help(m, "reqs_total", "Requests\nall", ML_METRIC_COUNTER, err, sizeof err) == 0);
    CHECK(ml_metrics_add(m, "reqs_total", ML_METRIC_COUNTER, &l, 2, 0, err, sizeof err) == 0);
    CHECK(ml_metrics_add(m, "reqs_total", ML_METRIC_COUNTER, &l, 1, 0, err, sizeof err) == 0);
    CHECK(ml_metrics_add(m, "reqs_total", ML_METRIC_COUNTER, NULL, -1, 0, err, sizeof err) < 0);
    CHECK(ml_metrics_add(m, "reqs_total", ML_METRIC_GAUGE, NULL, 1, 1, err, sizeof err) < 0);
    CHECK(strstr(err, "is a counter, not a gauge") != NULL);
    CHECK(ml_metrics_add(m, "bad name", ML_METRIC_GAUGE, NULL, 1, 1, err, sizeof err) < 0);
    const double b[] = {0.1, 1};
    CHECK(ml_metrics_observe(m, "lat", NULL, 0.05, b, 2, err, sizeof err) == 0);
    CHECK(ml_metrics_observe(m, "lat", NULL, 0.5, b, 2, err, sizeof err) == 0);
    CHECK(ml_metrics_observe(m, "lat", NULL, 5, NULL, 0, err, sizeof err) == 0);
    ml_buf out = {0};
    ml_metrics_text(m, &out);
    const char *want = "# HELP reqs_total Requests\\nall\n"
                       "# TYPE reqs_total counter\n"
                       "reqs_total{a=\"1\\\\2\\n\",b=\"x\\\"y\"} 3\n"
                       "# TYPE lat histogram\n"
                       "lat_bucket{le=\"0.1\"} 1\n"
                       "lat_bucket{le=\"1\"} 2\n"
                       "lat_bucket{le=\"+Inf\"} 3\n"
                       "lat_sum 5.55\n"
                       "lat_count 3\n";
    CHECK(out.data && strcmp(out.data, want) == 0);
    if (out.data && strcmp(out.data, want) != 0) fprintf(stderr, "got:\n%s", out.data);
    ml_buf_free(&out);
    ml_metrics_free(m);
}

typedef struct {
    ml_batcher *b;
    int id, fail, leader;
    float got[2];
    int rc;
} caller;

static void *call(void *arg) {
    caller *c = arg;
    float row[2] = {(float)c->id, (float)(10 * c->id)};
    int64_t off;
    ml_batch *bt = ml_batch_join(c->b, "k", row, 1, sizeof row, 0, 4, &c->leader, &off);
    if (c->leader) {
        int64_t n;
        const float *all = ml_batch_gather(bt, 2.0, &n);
        if (c->fail) ml_batch_finish(bt, NULL, 0, 400, "bad rows");
        else {
            ml_batch_out o = {.dtype = 0, .ndim = 2, .shape = {n, 2}, .bytes = sizeof(float) * 2 * n};
            o.data = malloc(o.bytes);
            for (int64_t i = 0; i < 2 * n; i++) ((float *)o.data)[i] = 2 * all[i];
            ml_batch_finish(bt, &o, 1, 0, NULL);
        }
        c->rc = c->fail ? 1 : 0;
    } else c->rc = ml_batch_wait(bt, 5.0);
    if (c->rc == 0) {
        int nout;
        const ml_batch_out *o = ml_batch_outputs(bt, &nout);
        memcpy(c->got, (const float *)o[0].data + 2 * off, sizeof c->got);
    }
    ml_batch_release(bt);
    return NULL;
}

static void test_batch(int fail) {
    ml_batcher *b = ml_batcher_new();
    caller c[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (caller){.b = b, .id = i + 1, .fail = fail};
        pthread_create(&t[i], NULL, call, &c[i]);
    }
    int leaders = 0, ok = 1;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        leaders += c[i].leader;
        if (fail) ok &= c[i].rc == 1;
        else ok &= c[i].rc == 0 && c[i].got[0] == 2.f * (i + 1) && c[i].got[1] == 20.f * (i + 1);
    }
    CHECK(leaders == 1);
    CHECK(ok);
    ml_batcher_free(b);
}

static void test_follower_timeout(void) {
    ml_batcher *b = ml_batcher_new();
    float row[1] = {1};
    int leader;
    int64_t off;
    ml_batch *a = ml_batch_join(b, "k", row, 1, sizeof row, 0, 8, &leader, &off);
    CHECK(leader == 1);
    ml_batch *f = ml_batch_join(b, "k", row, 1, sizeof row, 0, 8, &leader, &off);
    CHECK(leader == 0 && f == a && off == 1);
    CHECK(ml_batch_wait(f, 0.05) == -1); /* the leader never finished: bounded */
    ml_batch_release(f);
    ml_batch_finish(a, NULL, 0, 0, "late");
    ml_batch_release(a);
    ml_batcher_free(b);
}

static void test_json_rows(void) {
    const char *keys[] = {"inputs", "instances"};
    const char *t = "{\"a\": [1, {\"x\": \"]\"}], \"inputs\": [[1, 2.5], [-3e2, 0.125]], \"z\": null}";
    ml_json_rows r;
    char err[200];
    CHECK(ml_json_rows_parse(t, strlen(t), keys, 2, &r, err, sizeof err) == 0);
    CHECK(r.numeric && r.n == 2 && r.d == 2 && r.member == 1);
    float x[4];
    ml_json_rows_fill(&r, x);
    CHECK(x[0] == 1 && x[1] == 2.5f && x[2] == -300 && x[3] == 0.125f);
    ml_buf rest = {0};
    ml_json_rows_rest(t, strlen(t), r.member, &rest);
    CHECK(rest.data && strcmp(rest.data, "{\"a\": [1, {\"x\": \"]\"}],\"z\": null}") == 0);
    ml_buf_free(&rest);
    ml_json_free(r.tree);
    const char *ragged = "{\"instances\": [[1], [2, 3]]}";
    CHECK(ml_json_rows_parse(ragged, strlen(ragged), keys, 2, &r, err, sizeof err) == -2);
    CHECK(strstr(err, "row 2 has 2 values, expected 1") != NULL);
    ml_json_free(r.tree);
    const char *bad = "{\"inputs\": [1, 2,]}";
    CHECK(ml_json_rows_parse(bad, strlen(bad), keys, 2, &r, err, sizeof err) == -1);
    CHECK(strncmp(err, "byte ", 5) == 0);
    ml_json_free(r.tree);
}

int main(void) {
    test_metrics();
    test_batch(0);
    test_batch(1);
    test_follower_timeout();
    test_json_rows();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
