/* ops/neighbors.c from C: ml_knn_f64 / ml_knn_f32 against a naive search
 * (every distance, then a selection by (distance, index)) on shapes that
 * cross the query blocks and reference tiles, with skip arrays, skip_same,
 * index_base 0 and 1, k = all candidates; the refused arguments; and
 * ml_knn_impute_f64's edge cases (a row with no common coordinate gets the
 * mean, a donor at distance 0 alone decides under distance weights, fewer
 * donors than k). Prints "N passed, M failed" last; exits 1 on a failure. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../runtime/core/parallel.h"
#include "../../runtime/ops/neighbors.h"

#include "check.h"

static uint64_t rng = 88172645463325252ull;
static double uniform(void) { /* xorshift64, in [-0.5, 0.5) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0 - 0.5;
}

/* The k nearest rows of R to q by exact distance, ties to the lower index, skipping row s (-1: none). */
static void naive(int64_t *out, const double *q, const double *R, int64_t n, int64_t d, int64_t k, int64_t s) {
    for (int64_t a = 0; a < k; a++) {
        int64_t best = -1;
        double bd = INFINITY;
        for (int64_t j = 0; j < n; j++) {
            if (j == s) continue;
            bool taken = false;
            for (int64_t b = 0; b < a; b++) taken |= out[b] == j;
            if (taken) continue;
            double t = 0;
            for (int64_t p = 0; p < d; p++) t += (q[p] - R[j * d + p]) * (q[p] - R[j * d + p]);
            if (t < bd) bd = t, best = j;
        }
        out[a] = best;
    }
}

static void test_against_naive(bool f32, int64_t m, int64_t n, int64_t d, int64_t k, int mode) {
    double *Q = malloc(sizeof(double) * m * d), *R = malloc(sizeof(double) * n * d);
    float *Qf = malloc(sizeof(float) * m * d), *Rf = malloc(sizeof(float) * n * d);
    int64_t *skip = malloc(sizeof(int64_t) * m), *idx = malloc(sizeof(int64_t) * m * k), want[64];
    double *dist = malloc(sizeof(double) * m * k);
    float *distf = malloc(sizeof(float) * m * k);
    for (int64_t i = 0; i < n * d; i++) R[i] = uniform(), Rf[i] = (float)R[i];
    for (int64_t i = 0; i < m; i++) {
        for (int64_t p = 0; p < d; p++) Q[i * d + p] = mode == 1 ? R[i * d + p] : uniform();
        skip[i] = (i * 7) % n + 1; /* 1-based */
    }
    if (f32) /* queries and references exactly the float32 values, so both sides see the same points */
        for (int64_t i = 0; i < m * d; i++) Qf[i] = (float)Q[i], Q[i] = Qf[i];
    if (f32)
        for (int64_t i = 0; i < n * d; i++) R[i] = Rf[i];
    ml_knn_opts o = {.k = k, .index_base = 1, .skip = mode == 2 ? skip : NULL, .skip_same = mode == 1};
    int rc = f32 ? ml_knn_f32(idx, distf, Qf, Rf, m, n, d, &o) : ml_knn_f64(idx, dist, Q, R, m, n, d, &o);
    CHECK(rc == 0);
    int64_t bad = 0;
    for (int64_t i = 0; i < m; i++) {
        int64_t s = mode == 1 ? i : mode == 2 ? skip[i] - 1 : -1;
        naive(want, Q + i * d, R, n, d, k, s);
        for (int64_t a = 0; a < k; a++) {
            bad += idx[i * k + a] != want[a] + 1;
            double e = 0;
            for (int64_t p = 0; p < d; p++) e += (Q[i * d + p] - R[want[a] * d + p]) * (Q[i * d + p] - R[want[a] * d + p]);
            double got = f32 ? distf[i * k + a] : dist[i * k + a];
            bad += fabs(got - sqrt(e)) > (f32 ? 1e-6 : 1e-12);
        }
    }
    if (bad) fprintf(stderr, "knn %s m %lld n %lld d %lld k %lld mode %d: %lld mismatches\n", f32 ? "f32" : "f64", (long long)m,
                     (long long)n, (long long)d, (long long)k, mode, (long long)bad);
    CHECK(bad == 0);
    free(Q), free(R), free(Qf), free(Rf), free(skip), free(idx), free(dist), free(distf);
}

static void test_refused(void) {
    double R[6] = {0, 0, 1, 1, 2, 2};
    int64_t idx[6];
    ml_knn_opts o = {.k = 4};
    CHECK(ml_knn_f64(idx, NULL, R, R, 3, 3, 2, &o) == -1);
    o.k = 3, o.skip_same = true;
    CHECK(ml_knn_f64(idx, NULL, R, R, 3, 3, 2, &o) == -1);
    o.k = 0, o.skip_same = false;
    CHECK(ml_knn_f64(idx, NULL, R, R, 3, 3, 2, &o) == -1);
    o.k = 2, o.index_base = 0;
    CHECK(ml_knn_f64(idx, NULL, R, R, 3, 3, 2, &o) == 0);
    CHECK(idx[0] == 0 && idx[1] == 1 && idx[2] == 1 && idx[4] == 2 && idx[5] == 1);
    CHECK(ml_knn_f64(idx, NULL, R, R, 0, 3, 2, &o) == 0); /* no queries: nothing to do */
}

static void test_impute_edges(void) {
    const double N = NAN;
    /* donors: F [4, 2]; column 0 missing in row 3 */
    double F[8] = {0, 0, 1, 10, 2, 20, N, 30};
    double mean[2] = {1, 15};
    bool valid[2] = {true, true};
    /* row 0: only column 1 present, 10 -> nearest donor row 1 (distance 0) */
    /* row 1: nothing present -> every distance NaN -> the column means */
    double X[4] = {N, 10, N, N};
    CHECK(ml_knn_impute_f64(X, 2, F, 4, 2, 2, true, mean, valid) == 0);
    CHECK(X[0] == 1);                   /* distance weights: the donor at distance 0 alone */
    CHECK(X[1] == 10);                  /* present cells unchanged */
    CHECK(X[2] == 1 && X[3] == 15);     /* no common coordinate: means */
    double Y[2] = {N, 10};
    CHECK(ml_knn_impute_f64(Y, 1, F, 4, 2, 2, false, mean, valid) == 0);
    CHECK(Y[0] == 0.5); /* uniform: row 1 (d 0), then rows 0 and 2 tie (d sqrt(200)): the lower, (1 + 0) / 2 */
    double Z[2] = {N, 10};
    CHECK(ml_knn_impute_f64(Z, 1, F, 4, 2, 9, false, mean, valid) == 0); /* k beyond the 3 donors of column 0 */
    CHECK(fabs(Z[0] - 1.0) < 1e-15);                                     /* (0 + 1 + 2) / 3 */
    bool invalid[2] = {false, true};
    double W[2] = {N, 10};
    CHECK(ml_knn_impute_f64(W, 1, F, 4, 2, 2, false, mean, invalid) == 0);
    CHECK(isnan(W[0])); /* a column missing everywhere at fit is left alone */
}

int main(void) {
    int was = ml_get_threads();
    for (int t = 1; t <= 2; t++) {
        ml_set_threads(t);
        test_against_naive(false, 300, 2500, 5, 4, 0); /* 3 query blocks, 2 reference tiles */
        test_against_naive(false, 300, 2500, 5, 4, 1); /* skip_same */
        test_against_naive(false, 300, 2500, 5, 4, 2); /* a skip array */
        test_against_naive(true, 200, 600, 3, 5, 0);
        test_against_naive(false, 7, 9, 2, 9, 0);      /* k = every reference row */
        test_against_naive(false, 7, 9, 2, 8, 1);      /* k = every other row */
        test_against_naive(false, 5, 30, 0, 3, 0);     /* d = 0: all at distance 0, ties by index */
    }
    ml_set_threads(was);
    test_refused();
    test_impute_edges();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
