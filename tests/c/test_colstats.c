/* The column kernels of ml.prep (runtime/ops/colstats.c): statistics that
 * skip NaN, the same results on one thread and on several (row blocks
 * combined in order), transforms that keep NaN, NumPy's linear quantiles,
 * distinct values and lookups, duplicate rows, pandas' rolling windows.
 * Prints "N passed, M failed" last; exits 1 on a failure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/core/parallel.h"
#include "../../runtime/ops/colstats.h"

#include "check.h"

static int near(double a, double b, double tol) { return fabs(a - b) <= tol * (fabs(b) > 1 ? fabs(b) : 1); }

static void test_stats(void) {
    /* (4, 2): column 2 has a NaN */
    double x[] = {1, 2, 3, NAN, 5, 6, 7, 7};
    double cnt[2], mean[2], m2[2], mn[2], mx[2];
    CHECK(ml_colstats(cnt, mean, m2, mn, mx, x, ML_FLOAT64, 4, 2, true) == 0);
    CHECK(cnt[0] == 4 && cnt[1] == 3);
    CHECK(mean[0] == 4 && mean[1] == 5);
    CHECK(near(m2[0], 20, 1e-15) && near(m2[1], 14, 1e-15));
    CHECK(mn[0] == 1 && mx[0] == 7 && mn[1] == 2 && mx[1] == 7);
    float xf[] = {NAN, NAN, 1, 2};
    CHECK(ml_colstats(cnt, mean, m2, mn, mx, xf, ML_FLOAT32, 2, 2, true) == 0);
    CHECK(cnt[0] == 1 && mean[0] == 1 && m2[0] == 0);
    double empty[] = {NAN, NAN};
    CHECK(ml_colstats(cnt, mean, m2, mn, mx, empty, ML_FLOAT64, 2, 1, true) == 0);
    CHECK(cnt[0] == 0 && isnan(mean[0]) && isnan(mn[0]) && isnan(mx[0]));
    CHECK(ml_colstats(cnt, mean, m2, mn, mx, x, ML_INT64, 4, 2, true) == -1);
    CHECK(ml_colstats(cnt, mean, m2, mn, mx, x, ML_FLOAT64, 4, 2, false) == 0);
    CHECK(isnan(m2[0]) && mn[1] == 2 && mx[1] == 7 && cnt[1] == 3);
}

/* A large matrix: the row blocks of two threads give what one thread gives (to rounding). */
static void test_threads_agree(void) {
    int64_t n = 300000, d = 3;
    double *x = malloc(sizeof(double) * n * d);
    for (int64_t i = 0; i < n * d; i++) x[i] = sin((double)i) * 100 + (i % 7 == 0 ? NAN : 0);
    double c1[3], m1[3], v1[3], a1[3], b1[3], c2[3], m2[3], v2[3], a2[3], b2[3];
    int saved = ml_get_threads();
    ml_set_threads(1);
    CHECK(ml_colstats(c1, m1, v1, a1, b1, x, ML_FLOAT64, n, d, true) == 0);
    ml_set_threads(2);
    CHECK(ml_colstats(c2, m2, v2, a2, b2, x, ML_FLOAT64, n, d, true) == 0);
    ml_set_threads(saved);
    for (int j = 0; j < 3; j++) {
        CHECK(c1[j] == c2[j] && a1[j] == a2[j] && b1[j] == b2[j]);
        CHECK(near(m1[j], m2[j], 1e-12) && near(v1[j], v2[j], 1e-12));
    }
    free(x);
}

static void test_transforms(void) {
    double x[] = {1, NAN, 3, 4}, out[4];
    double a[] = {1, 2}, b[] = {2, 0.5}, c[] = {10, 0};
    CHECK(ml_col_affine(out, x, ML_FLOAT64, a, b, c, false, 0, 0, 2, 2) == 0);
    CHECK(out[0] == 10 && isnan(out[1]) && out[2] == 14 && out[3] == 1);
    CHECK(ml_col_affine(out, x, ML_FLOAT64, a, b, NULL, true, 0, 2, 2, 2) == 0);
    CHECK(out[0] == 0 && out[2] == 2 && out[3] == 1);
    double lo[] = {2, 0}, hi[] = {2.5, 3.5};
    CHECK(ml_col_clip(out, x, ML_FLOAT64, lo, hi, 2, 2) == 0);
    CHECK(out[0] == 2 && isnan(out[1]) && out[2] == 2.5 && out[3] == 3.5);
    double fill[] = {-1, -2};
    CHECK(ml_col_fillnan(out, x, ML_FLOAT64, fill, 2, 2) == 0);
    CHECK(out[1] == -2 && out[0] == 1);
}

static void test_quantiles(void) {
    /* column 1: 1..5; column 2: 10, NaN, 30, 20, 40 */
    double x[] = {1, 10, 2, NAN, 3, 30, 4, 20, 5, 40};
    double q[] = {0, 0.25, 0.5, 0.9, 1}, out[10];
    CHECK(ml_col_quantiles(out, x, ML_FLOAT64, 5, 2, q, 5) == 0);
    CHECK(out[0] == 1 && out[2] == 2 && out[4] == 3 && near(out[6], 4.6, 1e-15) && out[8] == 5);
    CHECK(out[1] == 10 && near(out[3], 17.5, 1e-15) && out[5] == 25 && near(out[7], 37, 1e-15) && out[9] == 40);
    double bad[] = {1.5};
    CHECK(ml_col_quantiles(out, x, ML_FLOAT64, 5, 2, bad, 1) == -1);
}

static void test_unique_lookup(void) {
    double x[] = {3, NAN, 1, 3, NAN, 2}, vals[6];
    int64_t counts[6], pos[6];
    int64_t k = ml_col_unique(vals, counts, x, ML_FLOAT64, 1, 6);
    CHECK(k == 4 && vals[0] == 1 && vals[2] == 3 && isnan(vals[3]) && counts[2] == 2 && counts[3] == 2);
    CHECK(ml_col_lookup(pos, x, ML_FLOAT64, 1, 6, vals, k) == 0);
    CHECK(pos[0] == 3 && pos[1] == 4 && pos[2] == 1 && pos[5] == 2);
    double y[] = {2, 9, NAN};
    CHECK(ml_col_lookup(pos, y, ML_FLOAT64, 1, 3, vals, 3) == 0); /* categories without NaN */
    CHECK(pos[0] == 2 && pos[1] == 0 && pos[2] == 0);
}

static void test_duplicates(void) {
    double x[] = {1, 2, NAN, 1, 1, 2, NAN, 1, -0.0, 3, 0, 3};
    bool keep[6];
    CHECK(ml_rows_first_unique(keep, x, ML_FLOAT64, 6, 2, false) == 0);
    CHECK(keep[0] && keep[1] && !keep[2] && !keep[3] && keep[4] && !keep[5]);
    CHECK(ml_rows_first_unique(keep, x, ML_FLOAT64, 6, 2, true) == 0);
    CHECK(!keep[0] && !keep[1] && keep[2] && keep[3] && !keep[4] && keep[5]);
}

static void test_rolling(void) {
    double x[] = {1, 2, NAN, 4, 5}, out[5];
    CHECK(ml_rolling(out, x, 5, 2, false, 1, false) == 0);
    CHECK(out[0] == 1 && out[1] == 1.5 && out[2] == 2 && out[3] == 4 && out[4] == 4.5);
    CHECK(ml_rolling(out, x, 5, 3, true, 3, true) == 0);
    CHECK(isnan(out[0]) && isnan(out[1]) && isnan(out[2]) && isnan(out[3]) && isnan(out[4]));
    CHECK(ml_rolling(out, x, 5, 3, true, 2, true) == 0);
    CHECK(out[0] == 1.5 && out[1] == 1.5 && out[2] == 3 && out[3] == 4.5 && out[4] == 4.5);
    CHECK(ml_rolling(out, x, 5, 0, false, 0, false) == -1);
}

int main(void) {
    test_stats();
    test_threads_agree();
    test_transforms();
    test_quantiles();
    test_unique_lookup();
    test_duplicates();
    test_rolling();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
