/* The data frame kernels (runtime/data/frame_ops.h) against brute force on
 * random data: sorted factorization (both the direct-table and the hash
 * paths, negative values, -0.0, infinities, NaN), the stable argsort of two
 * keys with mixed directions, the join's pairs for every how, duplicated
 * rows, and describe's quantiles against a full sort. Prints
 * "N passed, M failed" last; exits 1 on a failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/data/frame_ops.h"

#include "check.h"

static uint64_t state = 88172645463325252ull;
static uint64_t next_u64(void) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
}

/* Compares two rows by (a ascending, NaN last; b descending). */
static int cmp_rows(const double *a, const int64_t *b, int64_t i, int64_t j) {
    bool ni = isnan(a[i]), nj = isnan(a[j]);
    if (ni != nj) return ni ? 1 : -1;
    if (!ni && a[i] != a[j]) return a[i] < a[j] ? -1 : 1;
    if (b[i] != b[j]) return b[i] > b[j] ? -1 : 1;
    return 0;
}

static void test_factorize_and_argsort(int64_t n, int64_t spread, bool wide) {
    double *a = malloc(n * sizeof *a);
    int64_t *b = malloc(n * sizeof *b), *ids = malloc(n * sizeof *ids), *order = malloc(n * sizeof *order);
    static const double special[] = {-0.0, 0.0, INFINITY, -INFINITY, NAN};
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = next_u64();
        a[i] = r % 17 == 0 ? special[r % 5] : (double)((int64_t)(r >> 8) % spread) - spread / 2;
        b[i] = wide ? (int64_t)next_u64() % 1000 * 1000000000000ll : (int64_t)(next_u64() % 5) - 2;
    }
    ml_frame_key ka = {.kind = ML_KEY_F64, .values = a}, kb = {.kind = ML_KEY_I64, .values = b, .descending = true};
    int64_t G = ml_frame_factorize(ids, &ka, 1, n, ML_FACT_SORT);
    CHECK(G > 0);
    bool ok = true;
    for (int64_t i = 0; i < n && ok; i++)
        for (int64_t j = 0; j < n && ok; j += 7) {
            int c = isnan(a[i]) || isnan(a[j]) ? (isnan(a[i]) - isnan(a[j])) : (a[i] > a[j]) - (a[i] < a[j]);
            int d = (ids[i] > ids[j]) - (ids[i] < ids[j]);
            ok = c == d;
        }
    CHECK(ok); /* sorted ids order the rows as their values (NaN last, -0.0 == 0.0) */
    ml_frame_key both[2] = {ka, kb};
    CHECK(ml_frame_argsort(order, both, 2, n) == 0);
    ok = true;
    for (int64_t k = 1; k < n && ok; k++) {
        int c = cmp_rows(a, b, order[k - 1], order[k]);
        ok = c < 0 || (c == 0 && order[k - 1] < order[k]); /* ordered, and stable */
    }
    CHECK(ok);
    free(a), free(b), free(ids), free(order);
}

static void test_join(void) {
    enum { NL = 300, NR = 200, G = 40 };
    int64_t lid[NL], rid[NR];
    for (int i = 0; i < NL; i++) lid[i] = next_u64() % G;
    for (int j = 0; j < NR; j++) rid[j] = next_u64() % (G + 10) % G;
    int64_t inner = 0, lonly = 0, ronly = 0;
    for (int i = 0; i < NL; i++) {
        int m = 0;
        for (int j = 0; j < NR; j++) m += lid[i] == rid[j];
        inner += m, lonly += m == 0;
    }
    for (int j = 0; j < NR; j++) {
        int m = 0;
        for (int i = 0; i < NL; i++) m += lid[i] == rid[j];
        ronly += m == 0;
    }
    CHECK(ml_frame_join(NULL, NULL, lid, NL, rid, NR, G, ML_JOIN_INNER) == inner);
    CHECK(ml_frame_join(NULL, NULL, lid, NL, rid, NR, G, ML_JOIN_LEFT) == inner + lonly);
    CHECK(ml_frame_join(NULL, NULL, lid, NL, rid, NR, G, ML_JOIN_RIGHT) == inner + ronly);
    int64_t m = ml_frame_join(NULL, NULL, lid, NL, rid, NR, G, ML_JOIN_OUTER);
    CHECK(m == inner + lonly + ronly);
    int64_t *li = malloc(m * sizeof *li), *ri = malloc(m * sizeof *ri);
    ml_frame_join(li, ri, lid, NL, rid, NR, G, ML_JOIN_OUTER);
    bool ok = true;
    for (int64_t k = 0; k < m; k++)
        if (li[k] >= 0 && ri[k] >= 0) ok = ok && lid[li[k]] == rid[ri[k]];
    CHECK(ok); /* every pair has equal keys */
    free(li), free(ri);
    int64_t bad[1] = {G};
    CHECK(ml_frame_join(NULL, NULL, bad, 1, rid, NR, G, ML_JOIN_INNER) == -1);
}

static void test_duplicated(void) {
    int64_t ids[] = {0, 1, 0, 2, 1, 0};
    uint8_t dup[6];
    ml_frame_duplicated(dup, ids, 6, 3, ML_KEEP_FIRST);
    CHECK(memcmp(dup, (uint8_t[]){0, 0, 1, 0, 1, 1}, 6) == 0);
    ml_frame_duplicated(dup, ids, 6, 3, ML_KEEP_LAST);
    CHECK(memcmp(dup, (uint8_t[]){1, 1, 1, 0, 0, 0}, 6) == 0);
    ml_frame_duplicated(dup, ids, 6, 3, ML_KEEP_NONE);
    CHECK(memcmp(dup, (uint8_t[]){1, 1, 1, 0, 1, 1}, 6) == 0);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_describe(int64_t n) {
    double *x = malloc(n * sizeof *x), *s = malloc(n * sizeof *s);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = i % 11 == 3 ? NAN : (double)(next_u64() % 1000) / 7;
        if (!isnan(x[i])) s[m++] = x[i];
    }
    qsort(s, m, sizeof *s, cmp_double);
    double out[8];
    const double *cols[1] = {x};
    static const double qs[3] = {0.25, 0.5, 0.75};
    CHECK(ml_frame_describe_f64(out, cols, 1, n, qs, 3) == 0);
    CHECK(out[0] == (double)m && out[3] == s[0] && out[7] == s[m - 1]);
    static const double q[3] = {0.25, 0.5, 0.75};
    for (int k = 0; k < 3; k++) {
        double pos = q[k] * (m - 1);
        int64_t lo = (int64_t)floor(pos);
        double want = lo + 1 < m ? s[lo] + (s[lo + 1] - s[lo]) * (pos - lo) : s[lo];
        CHECK(fabs(out[4 + k] - want) < 1e-12);
    }
    free(x), free(s);
}

int main(void) {
    test_factorize_and_argsort(1000, 50, false);     /* the direct table */
    test_factorize_and_argsort(3000, 1 << 30, true); /* the hash */
    test_factorize_and_argsort(1, 3, false);
    test_join();
    test_duplicated();
    for (int64_t n = 1; n < 200; n += 13) test_describe(n);
    test_describe(100000);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
