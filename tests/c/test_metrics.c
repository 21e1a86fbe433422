/* ops/metrics.c from C: ml_binary_clf_curve against a naive curve (an insertion sort by descending
 * score, ties grouped) on scores with many ties, negative scores, -0.0 and 0.0, zero weights; the
 * radix passes over keys that differ only in low or only in high bits; label codes through the
 * presence table and the sort path; confusion counts and class sums. Prints "N passed, M failed" last;
 * exits 1 on a failure. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../runtime/ops/metrics.h"

#include "check.h"

static uint64_t rng = 88172645463325252ull;
static double uniform(void) { /* xorshift64, in [0, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* The curve the slow way: distinct scores descending, weights of positives/negatives scoring >= each. */
static int64_t naive_curve(double *fps, double *tps, double *thr, const double *s, const bool *pos, const double *w, int64_t n) {
    double *u = malloc((size_t)n * sizeof *u);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (w && w[i] == 0) continue;
        double v = s[i] == 0 ? 0.0 : s[i];
        int64_t j = 0;
        while (j < m && u[j] != v) j++;
        if (j == m) u[m++] = v;
    }
    for (int64_t a = 1; a < m; a++) /* descending */
        for (int64_t b = a; b > 0 && u[b] > u[b - 1]; b--) {
            double t = u[b];
            u[b] = u[b - 1], u[b - 1] = t;
        }
    for (int64_t j = 0; j < m; j++) {
        double tp = 0, fp = 0;
        for (int64_t i = 0; i < n; i++) {
            double wi = w ? w[i] : 1.0;
            if (wi != 0 && s[i] >= u[j]) {
                if (pos[i]) tp += wi;
                else fp += wi;
            }
        }
        fps[j] = fp, tps[j] = tp, thr[j] = u[j];
    }
    free(u);
    return m;
}

static void test_curve(int64_t n, double scale, double offset, int ties, bool weighted) {
    double *s = malloc(n * sizeof *s), *w = malloc(n * sizeof *w);
    bool *pos = malloc(n);
    double *f1 = malloc(n * 8), *t1 = malloc(n * 8), *h1 = malloc(n * 8), *f2 = malloc(n * 8), *t2 = malloc(n * 8), *h2 = malloc(n * 8);
    ml_curve_item *scratch = malloc(2 * n * sizeof *scratch);
    for (int64_t i = 0; i < n; i++) {
        double v = uniform();
        if (ties) v = floor(v * ties) / ties;
        s[i] = v * scale + offset;
        pos[i] = uniform() < 0.4;
        w[i] = i % 7 == 3 ? 0.0 : floor(uniform() * 4) / 2; /* halves: exact sums in any order */
    }
    if (n > 3) s[0] = -0.0, s[1] = 0.0;
    int64_t m = 0;
    CHECK(ml_binary_clf_curve(f1, t1, h1, &m, scratch, s, pos, weighted ? w : NULL, n) == 0);
    int64_t m2 = naive_curve(f2, t2, h2, s, pos, weighted ? w : NULL, n);
    CHECK(m == m2);
    bool same = m == m2;
    for (int64_t j = 0; same && j < m; j++) same = f1[j] == f2[j] && t1[j] == t2[j] && h1[j] == h2[j];
    CHECK(same);
    free(s), free(w), free(pos), free(f1), free(t1), free(h1), free(f2), free(t2), free(h2), free(scratch);
}

static void test_curve_refuses_nan(void) {
    double s[3] = {0.1, NAN, 0.3}, f[3], t[3], h[3];
    bool pos[3] = {1, 0, 1};
    ml_curve_item scratch[6];
    int64_t m;
    CHECK(ml_binary_clf_curve(f, t, h, &m, scratch, s, pos, NULL, 3) == -1);
}

static void test_codes(void) {
    int64_t a[6] = {5, -3, 5, 7, 7, -3}, b[4] = {9, 5, -3, 9}, classes[10], k = 0, codes[6], first;
    CHECK(ml_label_unique_i64(classes, &k, a, 6, b, 4) == 0);
    CHECK(k == 4 && classes[0] == -3 && classes[1] == 5 && classes[2] == 7 && classes[3] == 9);
    CHECK(ml_label_codes_i64(codes, &first, a, 6, classes, k) == 0);
    CHECK(first == -1 && codes[0] == 2 && codes[1] == 1 && codes[3] == 3);
    int64_t far[3] = {INT64_MIN + 1, 0, INT64_MAX}; /* the sort path */
    CHECK(ml_label_unique_i64(classes, &k, far, 3, NULL, 0) == 0);
    CHECK(k == 3 && classes[0] == INT64_MIN + 1 && classes[2] == INT64_MAX);
    CHECK(ml_label_codes_i64(codes, &first, far, 3, classes, k) == 0 && codes[2] == 3 && first == -1);
    int64_t known[2] = {0, INT64_MAX};
    CHECK(ml_label_codes_i64(codes, &first, far, 3, known, 2) == 0 && first == 0 && codes[0] == 0 && codes[1] == 1);
    double fa[5] = {2.0, -0.0, 0.5, 2.0, 0.0}, fc[5];
    CHECK(ml_label_unique_f64(fc, &k, fa, 5, NULL, 0) == 0);
    CHECK(k == 3 && fc[0] == 0 && !signbit(fc[0]) && fc[1] == 0.5 && fc[2] == 2.0);
    int64_t fcodes[5];
    CHECK(ml_label_codes_f64(fcodes, &first, fa, 5, fc, k) == 0 && first == -1 && fcodes[1] == 1 && fcodes[2] == 2);
    double whole[3] = {3, 1, 3}, wc[3];
    CHECK(ml_label_unique_f64(wc, &k, whole, 3, NULL, 0) == 0 && k == 2 && wc[0] == 1 && wc[1] == 3);
    double bad[2] = {1, NAN};
    CHECK(ml_label_unique_f64(wc, &k, bad, 2, NULL, 0) == -1);
}

static void test_counts(void) {
    int64_t t[5] = {1, 2, 2, 3, 1}, p[5] = {1, 2, 1, 3, 3};
    double w[5] = {1, 2, 3, 4, 5}, C[9], S[9];
    CHECK(ml_confusion_counts(C, t, p, w, 5, 3) == 0);
    CHECK(C[0] == 1 && C[2] == 5 && C[3] == 3 && C[4] == 2 && C[8] == 4);
    CHECK(ml_class_sums(S, S + 3, S + 6, t, p, NULL, 5, 3) == 0);
    CHECK(S[0] == 1 && S[1] == 1 && S[2] == 1 && S[3] == 2 && S[5] == 2 && S[6] == 2 && S[7] == 2);
    int64_t out[1] = {4};
    CHECK(ml_confusion_counts(C, out, p, NULL, 1, 3) == -1);
}

int main(void) {
    test_curve(1, 1, 0, 0, false);
    test_curve(50, 1, 0, 5, false);
    test_curve(300, 1, 0, 20, true);
    test_curve(500, 2, -1, 0, true);       /* negative and positive scores */
    test_curve(400, 1e-300, 0, 0, false);  /* tiny scores */
    test_curve(400, 1e300, 1e300, 0, true); /* huge: only the high digits differ */
    test_curve(2000, 1, 0, 3, true);       /* three distinct scores */
    test_curve_refuses_nan();
    test_codes();
    test_counts();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
