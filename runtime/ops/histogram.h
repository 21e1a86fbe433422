/* Histograms as TensorFlow's HistogramProto holds them (TensorBoard's
 * histogram and distribution tabs). Nothing here knows Lua.
 *
 * A bucket i holds the values v with limits[i-1] <= v < limits[i]
 * (TensorFlow's Histogram::Add: the first limit greater than v); values at
 * or past the last limit fall into the last bucket. */
#ifndef ML_OPS_HISTOGRAM_H
#define ML_OPS_HISTOGRAM_H

#include <stdint.h>

#include "../tensor/tensor.h"

/* TensorFlow's default limits: -DBL_MAX, then -1e20 .. -1e-12 shrinking by
 * 1.1, 0, 1e-12 .. growing by 1.1 up to the last below 1e20, DBL_MAX.
 * Writes them into out (may be NULL) and returns their count. */
int64_t ml_histogram_default_limits(double *out);

typedef struct {
    double min, max, num, sum, sum_squares;
} ml_histogram_stats;

/* counts[0..k) (zeroed first) and stats of the values of x (contiguous,
 * float32, float64 or int64), in float64. -1 with a message starting
 * with fn when x holds NaN (the element named, 1-based). */
int ml_histogram(const char *fn, double *counts, ml_histogram_stats *stats, const ml_tensor *x, const double *limits,
                 int64_t k);

/* TensorFlow's EncodeToProto: runs of empty buckets squashed into their
 * last one, in place; returns the new count (at least 1: an empty
 * histogram is one bucket {DBL_MAX: 0}). */
int64_t ml_histogram_squash(double *limits, double *counts, int64_t k);

#endif
