/* runtime/net from C: the metrics registry's exposition text (label order,
 * escaping, cumulative buckets, type clashes), the batcher's leader and
 * followers on real threads (rows back in order, an error reaching everyone,
 * a bounded wait), json_rows on good, ragged and malformed bodies.
 * Prints "N passed, M failed" last; exits 1 on a failure. */
#include <pthread.h>
#include <math.h>
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
    ml_json_rows_free(&r);
    const char *ragged = "{\"instances\": [[1], [2, 3]]}";
    CHECK(ml_json_rows_parse(ragged, strlen(ragged), keys, 2, &r, err, sizeof err) == -2);
    CHECK(strstr(err, "row 2 has 2 values, expected 1") != NULL);
    ml_json_rows_free(&r);
    const char *bad = "{\"inputs\": [1, 2,]}";
    CHECK(ml_json_rows_parse(bad, strlen(bad), keys, 2, &r, err, sizeof err) == -1);
    CHECK(strncmp(err, "byte ", 5) == 0);
    ml_json_rows_free(&r);
    /* malformed around good rows: the slow way names the byte of the whole text */
    const char *bads[] = {"{\"inputs\": [[1, 2]], \"p\": tru}", "{\"inputs\": [[1, 02]]}", "{\"inputs\": [[1, 2]]} x",
                          "{\"inputs\": [[1, 2]],}", "{\"inputs\": [[1, 2.]]}", "{\"inputs\": [[1, -]]}",
                          "{\"inputs\": [[1, 2]], \"a\": [1}", "{\"inputs\": [[1e, 2]]}"};
    for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
        int rc = ml_json_rows_parse(bads[i], strlen(bads[i]), keys, 2, &r, err, sizeof err);
        CHECK(rc == -1);
        if (rc != -1) fprintf(stderr, "accepted: %s\n", bads[i]);
        ml_json_rows_free(&r);
    }
}

/* The fast scan gives the bits the strict reader gives, for numbers of every
 * shape (random digits, exponents, long mantissas, subnormal and huge). */
static void test_json_rows_numbers(void) {
    const char *keys[] = {"inputs"};
    unsigned long long st = 88172645463325252ull;
    char text[1 << 16];
    for (int round = 0; round < 500; round++) {
        size_t p = (size_t)snprintf(text, sizeof text, "{\"inputs\": [[");
        for (int j = 0; j < 200; j++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            int kind = (int)(st % 7);
            unsigned long long m = st >> 20;
            int e = (int)((st >> 8) % 80) - 40;
            char num[64];
            switch (kind) {
            case 0: snprintf(num, sizeof num, "%llu", m % 1000); break;
            case 1: snprintf(num, sizeof num, "-0.%06llu", m % 1000000); break;
            case 2: snprintf(num, sizeof num, "%llu.%llue%d", m % 100, m % 1000000007ull, e); break;
            case 3: snprintf(num, sizeof num, "%.17g", (double)(m % 100000) / 255.0); break;
            case 4: snprintf(num, sizeof num, "%llu%llu", m, m); break; /* over 19 digits */
            case 5: snprintf(num, sizeof num, "%dE+%d", (int)(m % 9) + 1, (int)(st % 45)); break;
            default: snprintf(num, sizeof num, "%.17g", (double)(float)((double)(m % 100000) / 255.0)); break; /* a float32 printed */
            }
            p += (size_t)snprintf(text + p, sizeof text - p, "%s%s", j ? ", " : "", num);
        }
        p += (size_t)snprintf(text + p, sizeof text - p, "]]}");
        ml_json_rows r;
        char err[200];
        CHECK(ml_json_rows_parse(text, p, keys, 1, &r, err, sizeof err) == 0);
        CHECK(r.vals != NULL && r.n == 1 && r.d == 200); /* the fast scan read it */
        float got[200];
        ml_json_rows_fill(&r, got);
        ml_json_rows_free(&r);
        ml_json *t = ml_json_parse(text, p, err, sizeof err);
        CHECK(t != NULL);
        const ml_json *row = &ml_json_get(t, "inputs")->items[0];
        for (int j = 0; j < 200; j++) {
            const ml_json *v = &row->items[j]; /* as ml.json.decode + ml.tensor: integers from their int64 */
            float want = v->is_int ? (float)v->integer : (float)v->number;
            if (memcmp(&want, &got[j], sizeof want) != 0) {
                CHECK(0);
                fprintf(stderr, "number %d of round %d: fast %.9g, reader %.9g\n", j, round, got[j], want);
                break;
            }
        }
        ml_json_free(t);
    }
}

/* Numbers where a float32 through a double differs from ml.json.decode +
 * ml.tensor's, exponents too long to hold, ragged rows in a malformed body. */
static void test_json_rows_edges(void) {
    const char *keys[] = {"inputs"};
    ml_json_rows r;
    char err[200];
    const char *t = "{\"inputs\": [[-0, 1152921573326323713, -9223372036854775808, 1e39, -0.0]]}";
    CHECK(ml_json_rows_parse(t, strlen(t), keys, 1, &r, err, sizeof err) == 0);
    float x[5];
    ml_json_rows_fill(&r, x);
    ml_json_rows_free(&r);
    CHECK(x[0] == 0 && !signbit(x[0]));                  /* an integer 0, as Lua reads "-0" */
    CHECK(x[1] == (float)1152921573326323713LL);         /* 2^60 + 2^37, not 2^60 (double rounding) */
    CHECK(x[2] == (float)INT64_MIN);
    CHECK(isinf(x[3]) && x[4] == 0 && signbit(x[4]));
    /* 0.<999990 zeros>1e9999999 is 1e9000008: infinite (a saturated exponent read it as 1e8) */
    size_t n = 999990;
    char *big = malloc(n + 64);
    CHECK(big != NULL);
    if (!big) return;
    size_t p = (size_t)sprintf(big, "{\"inputs\": [[0.");
    memset(big + p, '0', n);
    p += n;
    p += (size_t)sprintf(big + p, "1e9999999]]}");
    CHECK(ml_json_rows_parse(big, p, keys, 1, &r, err, sizeof err) == 0);
    ml_json_rows_fill(&r, x);
    ml_json_rows_free(&r);
    CHECK(isinf(x[0]));
    free(big);
    const char *bad = "{\"inputs\": [[1], [2, 3]], \"p\": tru}";
    CHECK(ml_json_rows_parse(bad, strlen(bad), keys, 1, &r, err, sizeof err) == -1); /* the JSON error, not the rows' */
    ml_json_rows_free(&r);
    const char *mixed = "{\"inputs\": [[1], [2, 3], [\"x\"]]}";
    CHECK(ml_json_rows_parse(mixed, strlen(mixed), keys, 1, &r, err, sizeof err) == 0 && !r.numeric);
    ml_json_rows_free(&r);
}

int main(void) {
    test_json_rows_numbers();
    test_json_rows_edges();
    test_metrics();
    test_batch(0);
    test_batch(1);
    test_follower_timeout();
    test_json_rows();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
