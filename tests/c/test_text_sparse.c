/* The text counter (runtime/ops/text.c) and the CSR kernels
 * (runtime/ops/sparse.c) from C: Python's lowercase, the default token
 * pattern on UTF-8, fit's vocabulary order, df limits and CSR rows, the
 * result independent of the thread count, and S @ D / S^T @ G against
 * dense loops. Prints "N passed, M failed" last; exits 1 on a failure. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/core/parallel.h"
#include "../../runtime/ops/sparse.h"
#include "../../runtime/ops/text.h"

#include "check.h"

static void test_lower(void) {
    char out[64];
    const char *in = "ÀÉÎ Straße İ ΟΔΟΣ ABC";
    size_t n = ml_text_lower(out, in, strlen(in));
    out[n] = 0;
    CHECK(strcmp(out, "àéî straße i\xcc\x87 οδος abc") == 0);
}

typedef struct { char buf[256]; size_t n; int count; } joined;
static void join_token(void *ctx, const char *tok, size_t len) {
    joined *j = ctx;
    if (j->count++) j->buf[j->n++] = '|';
    memcpy(j->buf + j->n, tok, len);
    j->n += len;
    j->buf[j->n] = 0;
}

static void test_tokens(void) {
    joined j = {{0}, 0, 0};
    const char *s = "a bc—déjà_vu 42x, ¾½ \xff\xfe zz";
    ml_text_tokens(s, strlen(s), join_token, &j);
    CHECK(strcmp(j.buf, "bc|déjà_vu|42x|¾½|zz") == 0);
}

static void test_fit(int threads) {
    ml_set_threads(threads);
    enum { N = 300 };
    const char *text[N];
    size_t len[N];
    static const char *base[3] = {"the cat sat", "The CAT, the hat!", "zebra"};
    for (int i = 0; i < N; i++) text[i] = base[i % 3], len[i] = strlen(text[i]);
    ml_text_docs d = {N, text, len, NULL};
    ml_text_opts o = {true, false, 1, 2, NULL};
    ml_text_select sel = {1, 199, 0, false}; /* drops "the", "cat", "the cat" (200 documents each) */
    ml_strpool *vocab = NULL;
    ml_text_counts c;
    CHECK(ml_text_fit("test", &d, &o, &sel, ML_FLOAT64, &vocab, &c) == 0);
    if (!vocab) return;
    const char *want[] = {"cat sat", "cat the", "hat", "sat", "the hat", "zebra"};
    CHECK(ml_strpool_count(vocab) == 6);
    if (ml_strpool_count(vocab) != 6) return;
    for (int k = 0; k < 6; k++) CHECK(strcmp(ml_strpool_get(vocab, k + 1, NULL), want[k]) == 0);
    const int64_t *ip = ml_data(c.indptr), *ix = ml_data(c.indices);
    const double *v = ml_data(c.values);
    CHECK(ip[1] == 2 && ix[0] == 0 && ix[1] == 3 && v[0] == 1);         /* the cat sat: cat sat, sat */
    CHECK(ip[2] == 5 && ix[2] == 1 && ix[3] == 2 && ix[4] == 4);        /* the cat the hat: cat the, hat, the hat */
    CHECK(ip[3] == 6 && ix[5] == 5);                                    /* zebra */
    CHECK(ip[N] == 600 && ((int64_t *)ml_data(c.df))[3] == 100);
    ml_csr s = {c.indptr, c.indices, c.values, N, 6};
    CHECK(ml_csr_check("test", &s, true) == 0);
    ml_strpool_release(vocab);
    ml_release(c.indptr); ml_release(c.indices); ml_release(c.values); ml_release(c.df);
}

static void test_products(void) {
    /* S = [[1, 0, 2], [0, 0, 0], [0, 3, 0]], D = [[1, 2], [3, 4], [5, 6]] */
    int64_t three = 3, nnz = 3, four = 4;
    ml_tensor *ip = ml_empty(1, &four, ML_INT64), *ix = ml_empty(1, &nnz, ML_INT64), *v = ml_empty(1, &nnz, ML_FLOAT64);
    int64_t P[] = {0, 2, 2, 3}, I[] = {0, 2, 1};
    double V[] = {1, 2, 3};
    memcpy(ml_data(ip), P, sizeof P); memcpy(ml_data(ix), I, sizeof I); memcpy(ml_data(v), V, sizeof V);
    int64_t dshape[2] = {3, 2};
    ml_tensor *D = ml_empty(2, dshape, ML_FLOAT64);
    double *dd = ml_data(D);
    for (int i = 0; i < 6; i++) dd[i] = i + 1;
    ml_csr s = {ip, ix, v, 3, 3};
    ml_tensor *y = ml_csr_matmul(&s, D);
    CHECK(y != NULL);
    if (y) {
        double *o = ml_data(y);
        CHECK(o[0] == 11 && o[1] == 14 && o[2] == 0 && o[3] == 0 && o[4] == 9 && o[5] == 12);
    }
    ml_tensor *g = ml_csr_t_matmul(&s, D); /* S^T @ D: [[1, 2], [15, 18], [2, 4]] */
    CHECK(g != NULL);
    if (g) {
        double *o = ml_data(g);
        CHECK(o[0] == 1 && o[1] == 2 && o[2] == 15 && o[3] == 18 && o[4] == 2 && o[5] == 4);
    }
    ml_tensor *bad = ml_empty(1, &three, ML_FLOAT64);
    CHECK(ml_csr_matmul(&s, bad) == NULL && strstr(ml_last_error(), "must be 2-D with 3 rows"));
    I[1] = 7;
    memcpy(ml_data(ix), I, sizeof I);
    CHECK(ml_csr_check("test", &s, true) < 0 && strstr(ml_last_error(), "column index 8 of entry 2"));
    ml_release(y); ml_release(g); ml_release(bad); ml_release(D);
    ml_release(ip); ml_release(ix); ml_release(v);
}

int main(void) {
    test_lower();
    test_tokens();
    test_fit(1);
    test_fit(2);
    test_products();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
