/* The per-point kernels of ml.plot (runtime/ops/plot_data.c): finite ranges, numpy.histogram's
 * counts (last bin closed, outside and non-finite values dropped), data to pixels (log axes drop
 * non-positive values), the polyline simplification per pixel column, box hits.
 * Prints "N passed, M failed" last; exits 1 on a failure. */
#include <math.h>
#include <stdio.h>

#include "../../runtime/ops/plot_data.h"
#include "check.h"

static void test_range(void) {
    double x[] = {NAN, 3, -2, INFINITY, 0, 5};
    double lo = 0, hi = 0;
    CHECK(ml_plot_finite_range(&lo, &hi, x, 6, false) == 4 && lo == -2 && hi == 5);
    CHECK(ml_plot_finite_range(&lo, &hi, x, 6, true) == 2 && lo == 3 && hi == 5);
    double none[] = {NAN, -INFINITY};
    lo = hi = 7;
    CHECK(ml_plot_finite_range(&lo, &hi, none, 2, false) == 0 && lo == 7 && hi == 7);
}

static void test_histogram(void) {
    double x[] = {0, 0.5, 1, 1.5, 2, 2, -1, 3, NAN};
    int64_t c[4];
    CHECK(ml_plot_histogram(c, x, 9, 4, 0, 2) == 0);
    CHECK(c[0] == 1 && c[1] == 1 && c[2] == 1 && c[3] == 3); /* numpy: [1, 1, 1, 3] */
    CHECK(ml_plot_histogram(c, x, 9, 0, 0, 2) == -1);
    CHECK(ml_plot_histogram(c, x, 9, 4, 2, 2) == -1);
}

static void test_pixels(void) {
    double x[] = {1, 10, -1, 100}, y[] = {0, 1, 2, NAN}, px[4], py[4];
    ml_plot_axis ax = {10, 2, true}, ay = {100, -5, false};
    ml_plot_to_pixels(px, py, x, y, 4, &ax, &ay);
    CHECK(px[0] == 10 && py[0] == 100 && fabs(px[1] - 12) < 1e-12 && py[1] == 95);
    CHECK(isnan(px[2]) && isnan(py[2]) && isnan(px[3])); /* log of -1; NaN y */
}

static void test_simplify(void) {
    /* ten points in column 3, then two in column 4, a NaN run, one more */
    double px[16], py[16];
    int n = 0;
    double ys[10] = {5, 9, 1, 7, 3, 8, 2, 6, 4, 5};
    for (int i = 0; i < 10; i++, n++) { px[n] = 3.0 + i * 0.05; py[n] = ys[i]; }
    px[n] = 4.1; py[n++] = 1;
    px[n] = 4.2; py[n++] = 2;
    px[n] = NAN; py[n++] = NAN;
    px[n] = NAN; py[n++] = NAN;
    px[n] = 6; py[n++] = 0;
    int64_t m = ml_plot_simplify(px, py, n);
    CHECK(m == 8);
    /* first (5), the lowest (1, index 2) before the highest (9, index 1)? order by index: 9 then 1 */
    CHECK(py[0] == 5 && py[1] == 9 && py[2] == 1 && py[3] == 5);
    CHECK(py[4] == 1 && py[5] == 2 && isnan(px[6]) && px[7] == 6);
}

static void test_box_hits(void) {
    double px[] = {0, 10, 20}, py[] = {0, 10, 0};
    CHECK(ml_plot_box_hits(px, py, 3, 9, 9, 11, 11, false) == 1);
    CHECK(ml_plot_box_hits(px, py, 3, 4, 4, 6, 6, true) == 1);  /* only the first segment crosses */
    CHECK(ml_plot_box_hits(px, py, 3, 30, 30, 40, 40, true) == 0);
}

int main(void) {
    test_range();
    test_histogram();
    test_pixels();
    test_simplify();
    test_box_hits();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
