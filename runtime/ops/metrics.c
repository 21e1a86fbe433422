/* The kernels behind ml.metrics (see metrics.h). */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"

/* A presence table is used when the values span at most this many integers
 * (or four per sample): 8 bytes a slot, so at most 32 MB. */
#define DENSE_SPAN_MIN (1 << 16)
#define DENSE_SPAN_MAX (1 << 22)

static bool dense_span(int64_t lo, int64_t hi, int64_t n) {
    if (hi < lo) return false;
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    uint64_t cap = (uint64_t)(4 * n > DENSE_SPAN_MIN ? 4 * n : DENSE_SPAN_MIN);
    if (cap > DENSE_SPAN_MAX) cap = DENSE_SPAN_MAX;
    return span < cap;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}
static int cmp_f64(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- label values -> codes ------------------------------------------- */

/* The distinct values of the integers in a and b through a presence table over [lo, hi]. */
static int unique_dense(int64_t *classes, int64_t *k, const int64_t *a, int64_t na, const int64_t *b, int64_t nb,
                        int64_t lo, int64_t hi) {
    size_t span = (size_t)(hi - lo) + 1;
    unsigned char *seen = calloc(span, 1);
    if (!seen) return ml_error("out of memory for a label table of %zu entries", span), -1;
    for (int64_t i = 0; i < na; i++) seen[a[i] - lo] = 1;
    for (int64_t i = 0; i < nb; i++) seen[b[i] - lo] = 1;
    int64_t K = 0;
    for (size_t v = 0; v < span; v++)
        if (seen[v]) classes[K++] = lo + (int64_t)v;
    free(seen);
    *k = K;
    return 0;
}

/* Sorts a copy already in classes [n] and keeps one of each value. */
static int64_t sort_unique_i64(int64_t *classes, int64_t n) {
    if (n == 0) return 0;
    qsort(classes, (size_t)n, sizeof *classes, cmp_i64);
    int64_t K = 1;
    for (int64_t i = 1; i < n; i++)
        if (classes[i] != classes[K - 1]) classes[K++] = classes[i];
    return K;
}

int ml_label_unique_i64(int64_t *classes, int64_t *k, const int64_t *a, int64_t na, const int64_t *b, int64_t nb) {
    if (!b) nb = 0;
    if (na + nb == 0) return *k = 0, 0;
    int64_t lo = na ? a[0] : b[0], hi = lo;
    for (int64_t i = 0; i < na; i++) lo = a[i] < lo ? a[i] : lo, hi = a[i] > hi ? a[i] : hi;
    for (int64_t i = 0; i < nb; i++) lo = b[i] < lo ? b[i] : lo, hi = b[i] > hi ? b[i] : hi;
    if (dense_span(lo, hi, na + nb)) return unique_dense(classes, k, a, na, b, nb, lo, hi);
    memcpy(classes, a, (size_t)na * sizeof *a);
    if (nb) memcpy(classes + na, b, (size_t)nb * sizeof *b);
    *k = sort_unique_i64(classes, na + nb);
    return 0;
}

/* Whether every value is a whole number in int64's exact range, with their min and max. */
static bool whole_range(const double *v, int64_t n, int64_t *lo, int64_t *hi) {
    for (int64_t i = 0; i < n; i++) {
        double x = v[i];
        if (!(x >= -9007199254740992.0 && x <= 9007199254740992.0) || x != (double)(int64_t)x) return false;
        int64_t q = (int64_t)x;
        if (q < *lo) *lo = q;
        if (q > *hi) *hi = q;
    }
    return true;
}

static int find_nan(const double *v, int64_t n, const char *which) {
    for (int64_t i = 0; i < n; i++)
        if (isnan(v[i])) return ml_error("%s value %lld is NaN (a missing label)", which, (long long)(i + 1)), -1;
    return 0;
}

int ml_label_unique_f64(double *classes, int64_t *k, const double *a, int64_t na, const double *b, int64_t nb) {
    if (!b) nb = 0;
    if (na + nb == 0) return *k = 0, 0;
    if (find_nan(a, na, "the first labels' ") || find_nan(b, nb, "the second labels' ")) return -1;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    if (whole_range(a, na, &lo, &hi) && whole_range(b, nb, &lo, &hi) && dense_span(lo, hi, na + nb)) {
        size_t span = (size_t)(hi - lo) + 1;
        unsigned char *seen = calloc(span, 1);
        if (!seen) return ml_error("out of memory for a label table of %zu entries", span), -1;
        for (int64_t i = 0; i < na; i++) seen[(int64_t)a[i] - lo] = 1;
        for (int64_t i = 0; i < nb; i++) seen[(int64_t)b[i] - lo] = 1;
        int64_t K = 0;
        for (size_t v = 0; v < span; v++)
            if (seen[v]) classes[K++] = (double)(lo + (int64_t)v);
        free(seen);
        *k = K;
        return 0;
    }
    memcpy(classes, a, (size_t)na * sizeof *a);
    if (nb) memcpy(classes + na, b, (size_t)nb * sizeof *b);
    int64_t n = na + nb;
    qsort(classes, (size_t)n, sizeof *classes, cmp_f64);
    int64_t K = 1;
    if (classes[0] == 0) classes[0] = 0.0; /* -0.0 */
    for (int64_t i = 1; i < n; i++)
        if (classes[i] != classes[K - 1]) classes[K++] = classes[i];
    *k = K;
    return 0;
}

/* The 1-based position of v among the sorted classes [k], 0 when absent. */
#define BSEARCH_CODE(classes, k, v)                     \
    ({                                                  \
        int64_t lo_ = 0, hi_ = (k);                     \
        while (lo_ < hi_) {                             \
            int64_t mid_ = (lo_ + hi_) / 2;             \
            if ((classes)[mid_] < (v)) lo_ = mid_ + 1;  \
            else hi_ = mid_;                            \
        }                                               \
        (lo_ < (k) && (classes)[lo_] == (v)) ? lo_ + 1 : 0; \
    })

int ml_label_codes_i64(int64_t *codes, int64_t *first_unseen, const int64_t *y, int64_t n, const int64_t *classes, int64_t k) {
    *first_unseen = -1;
    if (k > 0 && dense_span(classes[0], classes[k - 1], k)) {
        int64_t lo = classes[0], hi = classes[k - 1];
        size_t span = (size_t)(hi - lo) + 1;
        int64_t *lut = calloc(span, sizeof *lut);
        if (!lut) return ml_error("out of memory for a label table of %zu entries", span), -1;
        for (int64_t c = 0; c < k; c++) lut[classes[c] - lo] = c + 1;
        for (int64_t i = 0; i < n; i++) {
            int64_t v = y[i];
            codes[i] = (v >= lo && v <= hi) ? lut[v - lo] : 0;
        }
        free(lut);
    } else {
        for (int64_t i = 0; i < n; i++) codes[i] = BSEARCH_CODE(classes, k, y[i]);
    }
    for (int64_t i = 0; i < n; i++)
        if (codes[i] == 0) return *first_unseen = i, 0;
    return 0;
}

int ml_label_codes_f64(int64_t *codes, int64_t *first_unseen, const double *y, int64_t n, const double *classes, int64_t k) {
    *first_unseen = -1;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    if (k > 0 && whole_range(classes, k, &lo, &hi) && dense_span(lo, hi, k)) {
        size_t span = (size_t)(hi - lo) + 1;
        int64_t *lut = calloc(span, sizeof *lut);
        if (!lut) return ml_error("out of memory for a label table of %zu entries", span), -1;
        for (int64_t c = 0; c < k; c++) lut[(int64_t)classes[c] - lo] = c + 1;
        for (int64_t i = 0; i < n; i++) {
            double v = y[i];
            int64_t q = (v >= (double)lo && v <= (double)hi) ? (int64_t)v : lo - 1;
            codes[i] = (q >= lo && (double)q == v) ? lut[q - lo] : 0;
        }
        free(lut);
    } else {
        for (int64_t i = 0; i < n; i++) codes[i] = BSEARCH_CODE(classes, k, y[i]);
    }
    for (int64_t i = 0; i < n; i++)
        if (codes[i] == 0) return *first_unseen = i, 0;
    return 0;
}

/* ---- confusion counts -------------------------------------------------- */

int ml_confusion_counts(double *C, const int64_t *t, const int64_t *p, const double *w, int64_t n, int64_t k) {
    memset(C, 0, (size_t)(k * k) * sizeof *C);
    for (int64_t i = 0; i < n; i++) {
        int64_t a = t[i], b = p[i];
        if (a < 1 || a > k || b < 1 || b > k)
            return ml_error("code %lld/%lld of sample %lld is outside 1..%lld", (long long)a, (long long)b, (long long)(i + 1),
                            (long long)k), -1;
        C[(a - 1) * k + (b - 1)] += w ? w[i] : 1.0;
    }
    return 0;
}

int ml_class_sums(double *tp, double *pred, double *truth, const int64_t *t, const int64_t *p, const double *w, int64_t n,
                  int64_t k) {
    memset(tp, 0, (size_t)k * sizeof *tp);
    memset(pred, 0, (size_t)k * sizeof *pred);
    memset(truth, 0, (size_t)k * sizeof *truth);
    for (int64_t i = 0; i < n; i++) {
        int64_t a = t[i], b = p[i];
        if (a < 1 || a > k || b < 1 || b > k)
            return ml_error("code %lld/%lld of sample %lld is outside 1..%lld", (long long)a, (long long)b, (long long)(i + 1),
                            (long long)k), -1;
        double wi = w ? w[i] : 1.0;
        truth[a - 1] += wi;
        pred[b - 1] += wi;
        if (a == b) tp[a - 1] += wi;
    }
    return 0;
}

/* ---- the sorted curve -------------------------------------------------- */

/* Scores as unsigned keys whose ascending order is the scores' descending order, and back. */
static inline uint64_t desc_key(double s) {
    if (s == 0) s = 0.0; /* -0.0 ties with 0.0 */
    uint64_t u;
    memcpy(&u, &s, sizeof u);
    u = (u >> 63) ? ~u : (u | 0x8000000000000000ull); /* ascending */
    return ~u;
}
static inline double key_score(uint64_t k) {
    uint64_t u = ~k;
    u = (u >> 63) ? (u & 0x7fffffffffffffffull) : ~u;
    double s;
    memcpy(&s, &u, sizeof s);
    return s;
}

/* LSD radix sort by 11-bit digits (stable: ties keep their order); passes where every key has the
 * same digit are skipped. a and tmp [n]; the result is in a. */
#define RADIX_BITS 11
#define RADIX_PASSES 6
#define RADIX_SIZE (1 << RADIX_BITS)
static void radix_sort(ml_curve_item *a, ml_curve_item *tmp, int64_t (*hist)[RADIX_SIZE], int64_t n) {
    memset(hist, 0, RADIX_PASSES * sizeof *hist);
    for (int64_t i = 0; i < n; i++) {
        uint64_t k = a[i].key;
        for (int p = 0; p < RADIX_PASSES; p++) hist[p][(k >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
    }
    ml_curve_item *src = a, *dst = tmp;
    for (int p = 0; p < RADIX_PASSES; p++) {
        int64_t *h = hist[p];
        int shift = p * RADIX_BITS;
        if (h[(src[0].key >> shift) & (RADIX_SIZE - 1)] == n) continue;
        int64_t sum = 0;
        for (int b = 0; b < RADIX_SIZE; b++) {
            int64_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        for (int64_t i = 0; i < n; i++) dst[h[(src[i].key >> shift) & (RADIX_SIZE - 1)]++] = src[i];
        ml_curve_item *t = src;
        src = dst, dst = t;
    }
    if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

int ml_binary_clf_curve(double *fps, double *tps, double *thr, int64_t *m, ml_curve_item *scratch, const double *score,
                        const bool *pos, const double *w, int64_t n) {
    *m = 0;
    int64_t(*hist)[RADIX_SIZE] = malloc(RADIX_PASSES * sizeof *hist);
    if (!hist) return ml_error("out of memory sorting %lld scores", (long long)n), -1;
    ml_curve_item *a = scratch, *tmp = scratch + n;
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(score[i])) {
            free(hist);
            return ml_error("score %lld is %s", (long long)(i + 1), isnan(score[i]) ? "NaN" : "infinite"), -1;
        }
        if (w && w[i] == 0) continue;
        a[kept].key = desc_key(score[i]);
        a[kept].idx = (uint32_t)i;
        a[kept].pos = pos[i];
        kept++;
    }
    if (kept > 0) radix_sort(a, tmp, hist, kept);
    free(hist);
    /* cumulative weights, emitted at the last sample of each run of equal scores (equal keys) */
    double tp = 0, fp = 0;
    int64_t out = 0;
    for (int64_t j = 0; j < kept; j++) {
        double wi = w ? w[a[j].idx] : 1.0;
        if (a[j].pos) tp += wi;
        else fp += wi;
        if (j + 1 == kept || a[j + 1].key != a[j].key) {
            tps[out] = tp;
            fps[out] = w ? fp : (double)(j + 1) - tp;
            thr[out] = key_score(a[j].key);
            out++;
        }
    }
    *m = out;
    return 0;
}

void ml_curve_drop_intermediate(double *fps, double *tps, double *thr, int64_t *m) {
    int64_t n = *m;
    if (n <= 2) return;
    /* point i (1..n-2) stays when the second difference of fps or tps around it is non-zero;
     * the differences read the original values, which are never overwritten ahead of i */
    double pf = fps[0], pt = tps[0]; /* the original values at i - 1 */
    int64_t out = 1;
    for (int64_t i = 1; i < n - 1; i++) {
        double cf = fps[i], ct = tps[i];
        bool bend = (fps[i + 1] - cf) - (cf - pf) != 0 || (tps[i + 1] - ct) - (ct - pt) != 0;
        if (bend) fps[out] = cf, tps[out] = ct, thr[out] = thr[i], out++;
        pf = cf, pt = ct;
    }
    fps[out] = fps[n - 1], tps[out] = tps[n - 1], thr[out] = thr[n - 1], out++;
    *m = out;
}

double ml_curve_roc_auc(const double *fps, const double *tps, int64_t m) {
    double fl = fps[m - 1], tl = tps[m - 1];
    double area = 0, px = 0, py = 0;
    for (int64_t i = 0; i < m; i++) {
        double x = fps[i] / fl, y = tps[i] / tl;
        area += (x - px) * (y + py) / 2.0;
        px = x, py = y;
    }
    return area;
}

double ml_curve_average_precision(const double *fps, const double *tps, int64_t m) {
    double tl = tps[m - 1];
    /* scikit-learn walks the points from the last (recall 1) to the first, then to recall 0 */
    double ap = 0;
    for (int64_t j = m - 1; j >= 0; j--) {
        double ps = tps[j] + fps[j];
        double prec = ps != 0 ? tps[j] / ps : 0.0;
        double rec = tl == 0 ? 1.0 : tps[j] / tl;
        double next = j > 0 ? (tl == 0 ? 1.0 : tps[j - 1] / tl) : 0.0;
        ap -= (next - rec) * prec;
    }
    return ap;
}
