/* Column statistics and column-wise transforms of a contiguous row-major
 * matrix x (n, d) of float32 or float64, the kernels behind ml.prep's
 * scalers, imputers and cleaning. NaN is a missing value: statistics skip it,
 * transforms pass it through (as scikit-learn does). Accumulation is in
 * float64 whatever the input dtype. Work is split over row blocks (reductions,
 * transforms) or columns (quantiles) on the runtime's threads. Functions
 * return 0, or -1 with ml_error set. Nothing here knows about Lua. */
#ifndef ML_OPS_COLSTATS_H
#define ML_OPS_COLSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "../tensor/tensor.h"

/* Per column: count of non-NaN values, their mean, the sum of squared
 * deviations from it (m2; the variance is m2 / count), min and max (NaN for a
 * column with no value). Two passes: sums, then deviations from the mean, so
 * the variance does not lose digits to cancellation; without with_var the
 * second pass is skipped and m2 is NaN (MinMaxScaler needs only the range).
 * Every output is (d). */
int ml_colstats(double *count, double *mean, double *m2, double *min, double *max, // (d) each
                const void *x, ml_dtype dt,                                          // (n, d)
                int64_t n, int64_t d, bool with_var);

/* acc[0] += n, acc[1 + j] += sum of column j, acc[1 + d + j] += sum of its
 * squares (acc: 1 + 2d float64): the running moments a model server keeps of
 * its inputs, in one pass and no allocation. NaN propagates (the server
 * refuses it before). */
int ml_col_moments_add(double *acc, const void *x, ml_dtype dt, int64_t n, int64_t d);

/* out = (x - a) * b + c per column (a, b, c: (d); c may be NULL for 0), then,
 * when clip, clamped into [lo, hi]; NaN stays NaN. out may be x (in place). */
int ml_col_affine(void *out,                 // (n, d), dtype dt
                  const void *x, ml_dtype dt, // (n, d)
                  const double *a, const double *b, const double *c, bool clip, double lo, double hi,
                  int64_t n, int64_t d);

/* out = min(max(x, lo[j]), hi[j]) per column; NaN stays NaN (winsorizing). */
int ml_col_clip(void *out, const void *x, ml_dtype dt, const double *lo, const double *hi, int64_t n, int64_t d);

/* out = isnan(x) ? fill[j] : x per column (an imputer's transform). */
int ml_col_fillnan(void *out, const void *x, ml_dtype dt, const double *fill, int64_t n, int64_t d);

/* The quantiles q[k] in [0, 1] of each column's non-NaN values with linear
 * interpolation between order statistics (NumPy's nanpercentile "linear"):
 * out[k * d + j]; NaN for a column without values. */
int ml_col_quantiles(double *out,                 // (nq, d)
                     const void *x, ml_dtype dt,  // (n, d)
                     int64_t n, int64_t d, const double *q, int64_t nq);

/* The sorted distinct values of one strided column of n values (NaN, if any,
 * last) and how often each occurs: writes k values and counts into vals and
 * counts (room for n each) and returns k, or -1. */
int64_t ml_col_unique(double *vals, int64_t *counts, const void *x, ml_dtype dt, int64_t stride, int64_t n);

/* For each of n strided values, its 1-based position in the sorted distinct
 * values cats (k; NaN may be the last one), 0 when it is not among them. */
int ml_col_lookup(int64_t *out, const void *x, ml_dtype dt, int64_t stride, int64_t n, const double *cats, int64_t k);

/* keep[i] = whether row i of x (n, d) is the first (keep_last: the last) of
 * the rows equal to it bit for bit (NaN equals NaN). Hashes rows. */
int ml_rows_first_unique(bool *keep, const void *x, ml_dtype dt, int64_t n, int64_t d, bool keep_last);

/* pandas' rolling(window, center, min_periods).mean() / .median() of a
 * float64 series x (n): out[i] over the window ending at i (centered: around
 * i), NaN skipped, NaN where fewer than min_periods values are present. */
int ml_rolling(double *out, const double *x, int64_t n, int64_t window, bool center, int64_t min_periods, bool median);

#endif
