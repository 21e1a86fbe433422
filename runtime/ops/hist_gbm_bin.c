/* The bin mapper of histogram gradient boosting (scikit-learn's _BinMapper):
 * per feature, thresholds from the distinct values or the quantiles of the
 * non-missing values, then every value mapped to its bin (uint8). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/parallel.h"
#include "hist_gbm.h"

#define ALMOST_INF 1e300

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* splitmix64: the subsample's stream (a fixed function of the seed). */
static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* thr [max_bins - 1]: feature values v [m] (sorted, no NaN) -> the thresholds; returns their count. */
static int thresholds_of(double *thr, const double *v, int64_t m, int max_bins) {
    int64_t distinct = 0;
    for (int64_t i = 0; i < m; i++)
        if (i == 0 || v[i] != v[i - 1]) distinct++;
    int k = 0;
    if (distinct <= max_bins) {
        double prev = 0;
        bool first = true;
        for (int64_t i = 0; i < m; i++) {
            if (!first && v[i] == prev) continue;
            if (!first) thr[k++] = (prev + v[i]) * 0.5;
            prev = v[i], first = false;
        }
    } else {
        /* np.percentile(v, linspace(0, 100, max_bins + 1)[1:-1], method="midpoint") */
        double step = 100.0 / max_bins;
        for (int q = 1; q < max_bins; q++) {
            double vi = (double)(m - 1) * ((q * step) / 100.0);
            double lo = floor(vi);
            int64_t a = (int64_t)lo, b = a + 1 < m ? a + 1 : m - 1;
            double gamma = vi - lo == 0 ? 0.0 : 0.5;
            double diff = v[b] - v[a];
            thr[k++] = gamma >= 0.5 ? v[b] - diff * (1 - gamma) : v[a] + diff * gamma;
        }
    }
    for (int i = 0; i < k; i++)
        if (thr[i] > ALMOST_INF) thr[i] = ALMOST_INF;
    return k;
}

int ml_hgb_bin_fit(ml_hgb_binner *b, const double *X, int64_t n, int64_t d, int max_bins, int64_t subsample, uint64_t seed) {
    memset(b, 0, sizeof *b);
    if (max_bins < 2 || max_bins > 255) return ml_error("max_bins must be in [2, 255], got %d", max_bins), -1;
    int64_t m = n;
    int64_t *rows = NULL;
    if (subsample > 0 && n > subsample) { /* a partial Fisher-Yates shuffle picks the rows */
        rows = malloc(sizeof *rows * n);
        if (!rows) return ml_error("out of memory binning %lld rows", (long long)n), -1;
        for (int64_t i = 0; i < n; i++) rows[i] = i;
        uint64_t s = seed;
        for (int64_t i = 0; i < subsample; i++) {
            int64_t j = i + (int64_t)(splitmix(&s) % (uint64_t)(n - i));
            int64_t t = rows[i];
            rows[i] = rows[j], rows[j] = t;
        }
        m = subsample;
    }
    b->max_bins = max_bins, b->d = d;
    b->thresholds = malloc(sizeof(double) * (size_t)d * (max_bins - 1));
    b->n_bins_non_missing = malloc(sizeof(int32_t) * (size_t)d);
    int nt = ml_get_threads();
    double *work = malloc(sizeof(double) * (size_t)m * nt);
    if (!b->thresholds || !b->n_bins_non_missing || !work) {
        free(rows), free(work), ml_hgb_binner_free(b);
        return ml_error("out of memory binning %lld x %lld values", (long long)n, (long long)d), -1;
    }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1 && n * d >= 65536)
    for (int64_t j = 0; j < d; j++) {
        double *v = work + (size_t)m * omp_get_thread_num();
        int64_t k = 0;
        for (int64_t i = 0; i < m; i++) {
            double x = X[(rows ? rows[i] : i) * d + j];
            if (!isnan(x)) v[k++] = x;
        }
        qsort(v, k, sizeof *v, cmp_double);
        double *thr = b->thresholds + (size_t)j * (max_bins - 1);
        int c = k ? thresholds_of(thr, v, k, max_bins) : 0;
        for (int i = c; i < max_bins - 1; i++) thr[i] = INFINITY;
        b->n_bins_non_missing[j] = c + 1;
    }
    free(rows), free(work);
    return 0;
}

void ml_hgb_binner_free(ml_hgb_binner *b) {
    free(b->thresholds), free(b->n_bins_non_missing);
    b->thresholds = NULL, b->n_bins_non_missing = NULL;
}

int ml_hgb_bin_map(uint8_t *Xb, const ml_hgb_binner *b, const double *X, int64_t n) {
    int64_t d = b->d;
    int nt = ml_get_threads();
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && n * d >= 65536)
    for (int64_t j = 0; j < d; j++) {
        const double *thr = b->thresholds + (size_t)j * (b->max_bins - 1);
        int nthr = b->n_bins_non_missing[j] - 1;
        uint8_t *out = Xb + (size_t)j * n;
        for (int64_t i = 0; i < n; i++) {
            double x = X[i * d + j];
            if (isnan(x)) {
                out[i] = (uint8_t)b->max_bins;
                continue;
            }
            int lo = 0, hi = nthr; /* the first threshold >= x: x <= thr[bin] */
            while (lo < hi) {
                int mid = lo + (hi - lo - 1) / 2;
                if (x <= thr[mid]) hi = mid;
                else lo = mid + 1;
            }
            out[i] = (uint8_t)lo;
        }
    }
    return 0;
}
