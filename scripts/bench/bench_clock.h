/* What the C sides of scripts/bench/ share: a monotonic clock and the
 * comparison qsort needs for medians of doubles. */
#ifndef ML_BENCH_CLOCK_H
#define ML_BENCH_CLOCK_H

#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
