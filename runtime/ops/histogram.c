/* Histogram counting into sorted limits (see histogram.h). */
#include <float.h>
#include <math.h>

#include "../core/error.h"
#include "histogram.h"

int64_t ml_histogram_default_limits(double *out) {
    int64_t half = 0;
    for (double v = 1e-12; v < 1e20; v *= 1.1) half++; /* the same products TensorFlow makes */
    if (out) {
        double v = 1e-12;
        for (int64_t i = 0; i < half; i++, v *= 1.1) {
            out[half + 2 + i] = v;  /* positive side, after 0 */
            out[half - i] = -v;     /* mirrored, after -DBL_MAX */
        }
        out[0] = -DBL_MAX;
        out[half + 1] = 0.0;
        out[2 * half + 2] = DBL_MAX;
    }
    return 2 * half + 3;
}

/* The first limit greater than v (std::upper_bound), clamped to the last
 * bucket. Branchless: the compare becomes a conditional move, so the ~11
 * steps over TensorFlow's 1551 limits (in L1) never mispredict (a table
 * keyed by the exponent bits, tried, was slower: its short scans do). */
static inline int64_t bucket_of(double v, const double *limits, int64_t k) {
    const double *base = limits;
    int64_t n = k;
    while (n > 1) {
        int64_t half = n / 2;
        base = base[half] <= v ? base + half : base;
        n -= half;
    }
    int64_t i = (base - limits) + (*base <= v);
    return i < k ? i : k - 1;
}

#define COUNT(T)                                                                                                   \
    static int64_t count_##T(double *counts, ml_histogram_stats *s, const T *x, int64_t n, const double *limits,   \
                             int64_t k) {                                                                          \
        double mn = DBL_MAX, mx = -DBL_MAX, sum = 0, sq = 0;                                                       \
        for (int64_t i = 0; i < n; i++) {                                                                          \
            double v = (double)x[i];                                                                               \
            if (v != v) return i;                                                                                  \
            mn = v < mn ? v : mn;                                                                                  \
            mx = v > mx ? v : mx;                                                                                  \
            sum += v;                                                                                              \
            sq += v * v;                                                                                           \
            counts[bucket_of(v, limits, k)] += 1;                                                                  \
        }                                                                                                          \
        s->min = mn, s->max = mx, s->num = (double)n, s->sum = sum, s->sum_squares = sq;                           \
        return -1;                                                                                                 \
    }
COUNT(float)
COUNT(double)
COUNT(int64_t)

int ml_histogram(const char *fn, double *counts, ml_histogram_stats *stats, const ml_tensor *x, const double *limits,
                 int64_t k) {
    if (!ml_is_contiguous(x)) { ml_error("%s: expected a contiguous tensor", fn); return -1; }
    if (k < 1) { ml_error("%s: a histogram needs at least one bucket", fn); return -1; }
    for (int64_t i = 0; i < k; i++) counts[i] = 0;
    int64_t bad;
    switch (x->dtype) {
    case ML_FLOAT32: bad = count_float(counts, stats, ml_data(x), x->numel, limits, k); break;
    case ML_FLOAT64: bad = count_double(counts, stats, ml_data(x), x->numel, limits, k); break;
    case ML_INT64: bad = count_int64_t(counts, stats, ml_data(x), x->numel, limits, k); break;
    default: ml_error("%s: expected a float or int64 tensor, got %s", fn, ml_dtype_name(x->dtype)); return -1;
    }
    if (bad >= 0) {
        ml_error("%s: the values hold NaN (element %lld of %lld)", fn, (long long)bad + 1, (long long)x->numel);
        return -1;
    }
    return 0;
}

int64_t ml_histogram_squash(double *limits, double *counts, int64_t k) {
    int64_t out = 0;
    for (int64_t i = 0; i < k;) {
        double end = limits[i], count = counts[i];
        int64_t j = i + 1;
        while (count <= 0 && j < k && counts[j] <= 0) end = limits[j], count = counts[j], j++;
        limits[out] = end, counts[out] = count, out++;
        i = j;
    }
    if (out == 0) limits[0] = DBL_MAX, counts[0] = 0, out = 1;
    return out;
}
