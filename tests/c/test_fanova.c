/* fANOVA's per-tree variances from C (runtime/ops/fanova.c) on trees small
 * enough to work out by hand: a two-column tree with an interaction, a
 * one-hot group (the product of its columns' cells), a group the tree never
 * splits on, the same numbers on 1 and 2 threads, and the max_cells refusal.
 * Prints "N passed, M failed" last; exits 1 on a failure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/core/error.h"
#include "../../runtime/core/parallel.h"
#include "../../runtime/ops/fanova.h"

#include "check.h"

#define NEAR(a, b) (fabs((a) - (b)) <= 1e-12 * (1 + fabs(b)))

/*        x0 <= 0.5
 *       /         \
 *     0.0       x1 <= 0.5
 *              /        \
 *            1.0        3.0        on [0, 1]^2 (and a third column never split)
 * Leaves: 0 on half the box, 1 and 3 on a quarter each: mean 1, variance 0.5*1 + 0.25*0 + 0.25*4 = 1.5.
 * x0 alone: 0 on x0 < 0.5, the mean of 1 and 3 = 2 above: variance 1. x1 alone: 0.5 below, 1.5 above: 0.25.
 * The remaining 0.25 is the interaction, which no single column gets. */
static const int64_t L[] = {2, 0, 4, 0, 0}, R[] = {3, 0, 5, 0, 0}, F[] = {1, 0, 2, 0, 0};
static const double TH[] = {0.5, -2, 0.5, -2, -2}, V[] = {1.0, 0.0, 2.0, 1.0, 3.0};

static ml_forest_view two_trees(int64_t *off) {
    /* the same tree twice, the second scaled by the box's values below (same shares) */
    static int64_t l2[10], r2[10], f2[10];
    static double th2[10], v2[10];
    for (int i = 0; i < 5; i++) {
        l2[i] = l2[i + 5] = L[i], r2[i] = r2[i + 5] = R[i], f2[i] = f2[i + 5] = F[i];
        th2[i] = th2[i + 5] = TH[i], v2[i] = V[i], v2[i + 5] = 10 * V[i];
    }
    off[0] = 0, off[1] = 5, off[2] = 10;
    return (ml_forest_view){.left = l2, .right = r2, .feature = f2, .offsets = off, .threshold = th2, .value = v2, .n_trees = 2, .n_values = 1};
}

static void test_by_hand(void) {
    int64_t off[3];
    ml_forest_view f = two_trees(off);
    const double bounds[] = {0, 1, 0, 1, -3, 7};
    const int64_t group[] = {0, 1, 2};
    double m[6], total[2];
    CHECK(ml_fanova(m, total, &f, bounds, group, 3, 3, 1000) == 0);
    /* the third column adds volume 10 to every leaf, the same to all: the shares do not move */
    CHECK(NEAR(total[0], 1.5) && NEAR(m[0], 1.0) && NEAR(m[1], 0.25) && m[2] == 0.0);
    CHECK(NEAR(total[1], 150.0) && NEAR(m[3], 100.0) && NEAR(m[4], 25.0) && m[5] == 0.0);
    /* both columns as one group: all of the variance */
    const int64_t one[] = {0, 0, 1};
    CHECK(ml_fanova(m, total, &f, bounds, one, 3, 2, 1000) == 0);
    CHECK(NEAR(m[0], 1.5) && m[1] == 0.0 && NEAR(m[2], 150.0));
    /* a wider box on x0: the split at 0.5 now leaves 0 on [0, 0.5] (1/4) and the right subtree on [0.5, 2] (3/4) */
    const double wide[] = {0, 2, 0, 1, 0, 1};
    CHECK(ml_fanova(m, total, &f, wide, group, 3, 3, 1000) == 0);
    double mean = 0.75 * 2.0, var = 0.25 * 0 + 0.375 * 1 + 0.375 * 9 - mean * mean;
    CHECK(NEAR(total[0], var));
    CHECK(NEAR(m[0], 0.25 * 0.75 * 4.0)); /* 0 w.p. 1/4, 2 w.p. 3/4 */
    /* x1 alone: at x1 < 0.5, 0 on 1/4 and 1 on 3/4 -> 0.75; above: 2.25; each half */
    CHECK(NEAR(m[1], 0.25 * 1.5 * 1.5));
}

static void test_threads_and_cells(void) {
    int64_t off[3];
    ml_forest_view f = two_trees(off);
    const double bounds[] = {0, 1, 0, 1, 0, 1};
    const int64_t group[] = {0, 1, 2};
    double a[6], b[6], ta[2], tb[2];
    ml_set_threads(1);
    CHECK(ml_fanova(a, ta, &f, bounds, group, 3, 3, 1000) == 0);
    ml_set_threads(2);
    CHECK(ml_fanova(b, tb, &f, bounds, group, 3, 3, 1000) == 0);
    ml_set_threads(1);
    CHECK(!memcmp(a, b, sizeof a) && !memcmp(ta, tb, sizeof ta));
    /* a group of x0 and x1 spans 2 x 2 cells: refused under max_cells = 3 */
    const int64_t one[] = {0, 0, 1};
    CHECK(ml_fanova(a, ta, &f, bounds, one, 3, 2, 3) == -1);
    CHECK(strstr(ml_last_error(), "4 cells") != NULL);
}

int main(void) {
    test_by_hand();
    test_threads_and_cells();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
