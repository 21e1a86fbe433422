/* Seconds on the monotonic clock: for deadlines and timings that a change of
 * the wall clock must not stretch. CLOCK_MONOTONIC counts from boot, so a
 * double keeps well under a nanosecond of precision for years of uptime. */
#ifndef ML_CORE_CLOCK_H
#define ML_CORE_CLOCK_H

#include <time.h>

static inline double ml_monotonic_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
