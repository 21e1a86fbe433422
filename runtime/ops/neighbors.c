/* Brute-force nearest neighbours (see neighbors.h): the Euclidean search in
 * float32 and float64 (neighbors_impl.h, included once per type), and
 * scikit-learn's NaN-aware distance with the KNNImputer transform built on it. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "../core/error.h"
#include "../core/parallel.h"
#include "gemm.h"
#include "neighbors.h"

/* Query rows per block and reference rows per tile: a float64 tile is
 * 64 x 1024 x 8 = 512 KiB per thread, so the scan after each product reads
 * it from L2 (1 MiB on Zen 4/5); 128 x 2048 (2 MiB) measured 1.2-1.5x
 * slower on 4762 x 4762 x 20 (noisy: a shared machine). */
#ifndef KNN_QUERY_BLOCK /* -D overrides, for measuring other tiles */
#define KNN_QUERY_BLOCK 64
#endif
#ifndef KNN_REF_TILE
#define KNN_REF_TILE 1024
#endif

/* Whether any of the 16 keys a[t] + b[t] is below thr: the test that lets the
 * scan skip a chunk without touching the heap (SSE2 is in every x86-64). */
#ifdef __SSE2__
#include <emmintrin.h>
static inline bool knn_f64_any_below16(const double *a, const double *b, double thr) {
    __m128d t = _mm_set1_pd(thr), acc = _mm_setzero_pd();
    for (int i = 0; i < 16; i += 2) acc = _mm_or_pd(acc, _mm_cmplt_pd(_mm_add_pd(_mm_loadu_pd(a + i), _mm_loadu_pd(b + i)), t));
    return _mm_movemask_pd(acc) != 0;
}
static inline bool knn_f32_any_below16(const float *a, const float *b, float thr) {
    __m128 t = _mm_set1_ps(thr), acc = _mm_setzero_ps();
    for (int i = 0; i < 16; i += 4) acc = _mm_or_ps(acc, _mm_cmplt_ps(_mm_add_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i)), t));
    return _mm_movemask_ps(acc) != 0;
}
#else
#define KNN_ANY_BELOW16(T, SUFFIX)                                                      \
    static inline bool knn_##SUFFIX##_any_below16(const T *a, const T *b, T thr) {      \
        int any = 0;                                                                    \
        for (int i = 0; i < 16; i++) any |= a[i] + b[i] < thr;                          \
        return any;                                                                     \
    }
KNN_ANY_BELOW16(double, f64)
KNN_ANY_BELOW16(float, f32)
#endif

#define T float
#define GEMM ml_sgemm
#define NAME(x) knn_f32_##x
#include "neighbors_impl.h"
#undef T
#undef GEMM
#undef NAME

#define T double
#define GEMM ml_dgemm
#define NAME(x) knn_f64_##x
#include "neighbors_impl.h"
#undef T
#undef GEMM
#undef NAME

int ml_knn_f32(int64_t *idx, float *dist, const float *Q, const float *R, int64_t m, int64_t n, int64_t d,
               const ml_knn_opts *opts) {
    return knn_f32_knn(idx, dist, Q, R, m, n, d, opts);
}

int ml_knn_f64(int64_t *idx, double *dist, const double *Q, const double *R, int64_t m, int64_t n, int64_t d,
               const ml_knn_opts *opts) {
    return knn_f64_knn(idx, dist, Q, R, m, n, d, opts);
}

/* ---- NaN-aware: scikit-learn's nan_euclidean ------------------------- */

/* The distance of rows x and y [d]: the squared differences of the
 * coordinates present in both, scaled by d / present (NaN when none). */
static double nan_euclidean(const double *x, const double *y, int64_t d) {
    double s = 0;
    int64_t present = 0;
    for (int64_t p = 0; p < d; p++) {
        double t = x[p] - y[p];
        if (t == t) s += t * t, present++; /* NaN when either is missing */
    }
    if (present == 0) return NAN;
    return sqrt(s / (double)present * (double)d);
}

typedef struct {
    double *D;
    const double *X, *Y;
    int64_t n, d;
} nan_dist_ctx;

static void nan_dist_range(void *vc, int64_t i0, int64_t i1) {
    nan_dist_ctx *c = vc;
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = 0; j < c->n; j++) c->D[i * c->n + j] = nan_euclidean(c->X + i * c->d, c->Y + j * c->d, c->d);
}

int ml_nan_euclidean_f64(double *D, const double *X, const double *Y, int64_t m, int64_t n, int64_t d) {
    if (m < 0 || n < 0 || d < 0) return ml_error("nan_euclidean: negative size"), -1;
    nan_dist_ctx c = {D, X, Y, n, d};
    int64_t work = n * (d > 0 ? d : 1);
    ml_parallel_for(m, work > 0 ? 1 + 65536 / work : 1, nan_dist_range, &c);
    return 0;
}

/* ---- KNNImputer ------------------------------------------------------ */

/* Donor order: nearer first, NaN distances last (numpy's argpartition puts
 * them there), then the lower row. */
static inline bool donor_before(double v, int64_t j, double w, int64_t i) {
    bool vn = v != v, wn = w != w;
    if (vn != wn) return wn;
    if (!vn && v != w) return v < w;
    return j < i;
}

/* Offers donor (v, j) to the max-heap hv/hi of cnt (<= k) entries; returns the new count. */
static int64_t donor_offer(double *hv, int64_t *hi, int64_t cnt, int64_t k, double v, int64_t j) {
    int64_t c;
    if (cnt < k) {
        c = cnt++;
        while (c > 0) {
            int64_t p = (c - 1) / 2;
            if (!donor_before(hv[p], hi[p], v, j)) break;
            hv[c] = hv[p], hi[c] = hi[p];
            c = p;
        }
        hv[c] = v, hi[c] = j;
        return cnt;
    }
    if (!donor_before(v, j, hv[0], hi[0])) return cnt;
    c = 0;
    for (;;) {
        int64_t l = 2 * c + 1, big = c;
        double bv = v;
        int64_t bi = j;
        if (l < k && donor_before(bv, bi, hv[l], hi[l])) big = l, bv = hv[l], bi = hi[l];
        if (l + 1 < k && donor_before(bv, bi, hv[l + 1], hi[l + 1])) big = l + 1;
        if (big == c) break;
        hv[c] = hv[big], hi[c] = hi[big];
        c = big;
    }
    hv[c] = v, hi[c] = j;
    return cnt;
}

/* The imputed value from cnt donors of column col: scikit-learn's
 * _calc_impute (np.ma.average with the weights of _get_weights). */
static double donor_average(const double *hv, const int64_t *hi, int64_t cnt, const double *F, int64_t d, int64_t col,
                            bool distance_weights) {
    double sw = 0, s = 0;
    if (!distance_weights) {
        for (int64_t a = 0; a < cnt; a++) s += F[hi[a] * d + col];
        return s / (double)cnt;
    }
    bool zero = false; /* a donor at distance 0: those alone count (1 / 0 = inf) */
    for (int64_t a = 0; a < cnt; a++) zero |= hv[a] == 0;
    for (int64_t a = 0; a < cnt; a++) {
        double w = zero ? (hv[a] == 0 ? 1.0 : 0.0) : (hv[a] == hv[a] ? 1.0 / hv[a] : 0.0);
        sw += w, s += w * F[hi[a] * d + col];
    }
    return s / sw;
}

typedef struct {
    double *X;
    const double *F;
    int64_t n, d, k;
    bool distance_weights;
    const double *fit_mean;
    const bool *fit_valid;
    int failed;
} impute_ctx;

static void impute_range(void *vc, int64_t i0, int64_t i1) {
    impute_ctx *c = vc;
    const int64_t n = c->n, d = c->d, k = c->k;
    double *dist = malloc(sizeof(double) * (n > 0 ? n : 1)); /* [n] the row's distance to each fitted row */
    double *hv = malloc(sizeof(double) * k);
    int64_t *hi = malloc(sizeof(int64_t) * k);
    if (!dist || !hv || !hi) {
        __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
        goto done;
    }
    for (int64_t i = i0; i < i1; i++) {
        double *x = c->X + i * d;
        bool receives = false;
        for (int64_t p = 0; p < d && !receives; p++) receives = x[p] != x[p] && c->fit_valid[p];
        if (!receives) continue;
        for (int64_t j = 0; j < n; j++) dist[j] = nan_euclidean(x, c->F + j * d, d);
        for (int64_t col = 0; col < d; col++) {
            if (x[col] == x[col] || !c->fit_valid[col]) continue;
            int64_t cnt = 0;
            bool any_distance = false;
            for (int64_t j = 0; j < n; j++) {
                double f = c->F[j * d + col];
                if (f != f) continue; /* not a donor for this column */
                any_distance |= dist[j] == dist[j];
                cnt = donor_offer(hv, hi, cnt, k, dist[j], j);
            }
            /* distances read x's other cells, never this one: imputing in place is safe */
            x[col] = any_distance ? donor_average(hv, hi, cnt, c->F, d, col, c->distance_weights) : c->fit_mean[col];
        }
    }
done:
    free(dist), free(hv), free(hi);
}

int ml_knn_impute_f64(double *X, int64_t m, const double *F, int64_t n, int64_t d, int64_t k, bool distance_weights,
                      const double *fit_mean, const bool *fit_valid) {
    if (m < 0 || n < 0 || d < 0) return ml_error("knn_impute: negative size"), -1;
    if (k < 1) return ml_error("knn_impute: k = %lld, expected >= 1", (long long)k), -1;
    impute_ctx c = {X, F, n, d, k, distance_weights, fit_mean, fit_valid, 0};
    int64_t work = n * (d > 0 ? d : 1);
    ml_parallel_for(m, work > 0 ? 1 + 65536 / work : 1, impute_range, &c);
    if (c.failed) return ml_error("knn_impute: out of memory"), -1;
    return 0;
}

/* ---- the kNN estimators' aggregation --------------------------------- */

/* w [k]: the weights of one row's neighbours (scikit-learn's _get_weights):
 * 1 each (uniform), 1 / dist, or, when some dist is 0, 1 for those and 0 for the rest. */
static void knn_row_weights(double *w, const double *dist, int64_t k) {
    if (!dist) {
        for (int64_t a = 0; a < k; a++) w[a] = 1;
        return;
    }
    bool zero = false;
    for (int64_t a = 0; a < k; a++) zero |= dist[a] == 0;
    for (int64_t a = 0; a < k; a++) w[a] = zero ? (dist[a] == 0 ? 1.0 : 0.0) : 1.0 / dist[a];
}

typedef struct {
    double *out;
    const int64_t *idx, *codes;
    const double *dist, *Y;
    int64_t k, width; /* K classes (vote) or t targets (average) */
    int failed;
} knn_agg_ctx;

static void knn_vote_range(void *vc, int64_t i0, int64_t i1) {
    knn_agg_ctx *c = vc;
    double w[c->k > 0 ? c->k : 1];
    for (int64_t i = i0; i < i1; i++) {
        double *p = c->out + i * c->width, sw = 0;
        knn_row_weights(w, c->dist ? c->dist + i * c->k : NULL, c->k);
        for (int64_t q = 0; q < c->width; q++) p[q] = 0;
        for (int64_t a = 0; a < c->k; a++) p[c->codes[c->idx[i * c->k + a] - 1] - 1] += w[a], sw += w[a];
        for (int64_t q = 0; q < c->width; q++) p[q] /= sw;
    }
}

static void knn_average_range(void *vc, int64_t i0, int64_t i1) {
    knn_agg_ctx *c = vc;
    double w[c->k > 0 ? c->k : 1];
    for (int64_t i = i0; i < i1; i++) {
        double *o = c->out + i * c->width, sw = 0;
        knn_row_weights(w, c->dist ? c->dist + i * c->k : NULL, c->k);
        for (int64_t q = 0; q < c->width; q++) o[q] = 0;
        for (int64_t a = 0; a < c->k; a++) {
            const double *y = c->Y + (c->idx[i * c->k + a] - 1) * c->width;
            for (int64_t q = 0; q < c->width; q++) o[q] += w[a] * y[q];
            sw += w[a];
        }
        for (int64_t q = 0; q < c->width; q++) o[q] /= sw;
    }
}

int ml_knn_vote_f64(double *proba, const int64_t *idx, const double *dist, const int64_t *codes, int64_t m, int64_t k, int64_t K) {
    if (m < 0 || k < 1 || k > 4096 || K < 1) return ml_error("knn_vote: bad sizes (m %lld, k %lld, K %lld)", (long long)m, (long long)k, (long long)K), -1;
    knn_agg_ctx c = {proba, idx, codes, dist, NULL, k, K, 0};
    ml_parallel_for(m, 1 + 65536 / (k * K), knn_vote_range, &c);
    return 0;
}

int ml_knn_average_f64(double *out, const int64_t *idx, const double *dist, const double *Y, int64_t m, int64_t k, int64_t t) {
    if (m < 0 || k < 1 || k > 4096 || t < 1) return ml_error("knn_average: bad sizes (m %lld, k %lld, t %lld)", (long long)m, (long long)k, (long long)t), -1;
    knn_agg_ctx c = {out, idx, NULL, dist, Y, k, t, 0};
    ml_parallel_for(m, 1 + 65536 / (k * t), knn_average_range, &c);
    return 0;
}
