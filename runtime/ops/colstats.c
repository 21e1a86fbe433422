/* Column statistics and column-wise transforms (see colstats.h). Each
 * kernel is written once as a macro over the element type and instantiated
 * for float and double; the row-block split gives each thread its own
 * partial sums, combined in block order so results do not depend on timing. */
#include "colstats.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/parallel.h"

/* No fused multiply-add: (x - a) * b + c rounds the product as scikit-learn's
 * X *= scale; X += min does, on every CPU the clones below run on. */
#pragma GCC optimize("fp-contract=off")

/* The per-row loops are compiled for AVX-512, AVX2 and the baseline; the CPU picks at load time. */
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

/* Row blocks for a pass over n rows of d columns: one per thread, none below ~64K elements. */
static int64_t row_blocks(int64_t n, int64_t d) {
    int nt = ml_get_threads();
    if (nt <= 1 || omp_in_parallel()) return 1;
    int64_t by_size = (n * (d > 0 ? d : 1)) / 65536;
    int64_t b = by_size < nt ? by_size : nt;
    if (b > n) b = n;
    return b < 1 ? 1 : b;
}

static int check_dtype(const char *fn, ml_dtype dt) {
    if (dt != ML_FLOAT32 && dt != ML_FLOAT64) {
        ml_error("%s: expected a float32 or float64 matrix, got %s", fn, ml_dtype_name(dt));
        return -1;
    }
    return 0;
}

/* ---- count, mean, m2, min, max --------------------------------------------------- */

/* Pass 1 over rows [r0, r1): count, sum, min, max into the block's partials. */
#define DEF_PASS1(T, NAME)                                                                             \
    CLONES static void NAME(double *cnt, double *sum, double *mn, double *mx, const T *x, int64_t r0,         \
                     int64_t r1, int64_t d) {                                                          \
        for (int64_t i = r0; i < r1; i++) {                                                            \
            const T *restrict row = x + i * d;                                                         \
            for (int64_t j = 0; j < d; j++) {                                                          \
                double v = row[j];                                                                     \
                int ok = v == v;                                                                       \
                cnt[j] += ok;                                                                          \
                sum[j] += ok ? v : 0.0;                                                                \
                mn[j] = v < mn[j] ? v : mn[j];                                                         \
                mx[j] = v > mx[j] ? v : mx[j];                                                         \
            }                                                                                          \
        }                                                                                              \
    }
DEF_PASS1(float, pass1_f32)
DEF_PASS1(double, pass1_f64)

/* Pass 2: the sum of deviations from the mean and of their squares (NaN skipped). */
#define DEF_PASS2(T, NAME)                                                                             \
    CLONES static void NAME(double *dev, double *sq, const double *mean, const T *x, int64_t r0, int64_t r1,  \
                     int64_t d) {                                                                      \
        for (int64_t i = r0; i < r1; i++) {                                                            \
            const T *restrict row = x + i * d;                                                         \
            for (int64_t j = 0; j < d; j++) {                                                          \
                double t = (double)row[j] - mean[j];                                                   \
                int ok = t == t;                                                                       \
                dev[j] += ok ? t : 0.0;                                                                \
                sq[j] += ok ? t * t : 0.0;                                                             \
            }                                                                                          \
        }                                                                                              \
    }
DEF_PASS2(float, pass2_f32)
DEF_PASS2(double, pass2_f64)

int ml_colstats(double *count, double *mean, double *m2, double *min, double *max, const void *x, ml_dtype dt,
                int64_t n, int64_t d, bool with_var) {
    if (check_dtype("colstats", dt)) return -1;
    int64_t nb = row_blocks(n, d);
    /* partials per block: cnt, sum, min, max, dev, sq */
    double *part = malloc(sizeof(double) * (size_t)(6 * nb * d + 1));
    if (!part) { ml_error("colstats: out of memory"); return -1; }
    for (int64_t b = 0; b < nb; b++) {
        double *p = part + 6 * b * d;
        for (int64_t j = 0; j < d; j++) {
            p[j] = p[d + j] = p[4 * d + j] = p[5 * d + j] = 0;
            p[2 * d + j] = INFINITY;
            p[3 * d + j] = -INFINITY;
        }
    }
#pragma omp parallel for num_threads((int)nb) schedule(static) if (nb > 1)
    for (int64_t b = 0; b < nb; b++) {
        double *p = part + 6 * b * d;
        int64_t r0 = n * b / nb, r1 = n * (b + 1) / nb;
        if (dt == ML_FLOAT32) pass1_f32(p, p + d, p + 2 * d, p + 3 * d, x, r0, r1, d);
        else pass1_f64(p, p + d, p + 2 * d, p + 3 * d, x, r0, r1, d);
    }
    for (int64_t j = 0; j < d; j++) {
        double c = 0, s = 0, mn = INFINITY, mx = -INFINITY;
        for (int64_t b = 0; b < nb; b++) {
            double *p = part + 6 * b * d;
            c += p[j];
            s += p[d + j];
            mn = p[2 * d + j] < mn ? p[2 * d + j] : mn;
            mx = p[3 * d + j] > mx ? p[3 * d + j] : mx;
        }
        count[j] = c;
        mean[j] = c > 0 ? s / c : NAN;
        min[j] = c > 0 ? mn : NAN;
        max[j] = c > 0 ? mx : NAN;
    }
    if (!with_var) {
        for (int64_t j = 0; j < d; j++) m2[j] = NAN;
        free(part);
        return 0;
    }
#pragma omp parallel for num_threads((int)nb) schedule(static) if (nb > 1)
    for (int64_t b = 0; b < nb; b++) {
        double *p = part + 6 * b * d;
        int64_t r0 = n * b / nb, r1 = n * (b + 1) / nb;
        if (dt == ML_FLOAT32) pass2_f32(p + 4 * d, p + 5 * d, mean, x, r0, r1, d);
        else pass2_f64(p + 4 * d, p + 5 * d, mean, x, r0, r1, d);
    }
    for (int64_t j = 0; j < d; j++) {
        double dev = 0, sq = 0;
        for (int64_t b = 0; b < nb; b++) {
            dev += part[6 * b * d + 4 * d + j];
            sq += part[6 * b * d + 5 * d + j];
        }
        /* the correction term removes the rounding error of the mean (scikit-learn does the same) */
        m2[j] = count[j] > 0 ? sq - dev * dev / count[j] : NAN;
        if (m2[j] < 0) m2[j] = 0;
    }
    free(part);
    return 0;
}

/* ---- transforms --------------------------------------------------------------------- */

#define DEF_AFFINE(T, NAME)                                                                            \
    CLONES static void NAME(T *out, const T *x, const double *a, const double *b, const double *c, bool clip, \
                     double lo, double hi, int64_t r0, int64_t r1, int64_t d) {                        \
        for (int64_t i = r0; i < r1; i++) {                                                            \
            const T *row = x + i * d;                                                                  \
            T *o = out + i * d;                                                                        \
            if (clip) {                                                                                \
                for (int64_t j = 0; j < d; j++) {                                                      \
                    double v = ((double)row[j] - a[j]) * b[j] + (c ? c[j] : 0.0);                      \
                    v = v < lo ? lo : v;                                                               \
                    o[j] = (T)(v > hi ? hi : v);                                                       \
                }                                                                                      \
            } else if (c) {                                                                            \
                for (int64_t j = 0; j < d; j++) o[j] = (T)(((double)row[j] - a[j]) * b[j] + c[j]);     \
            } else {                                                                                   \
                for (int64_t j = 0; j < d; j++) o[j] = (T)(((double)row[j] - a[j]) * b[j]);            \
            }                                                                                          \
        }                                                                                              \
    }
DEF_AFFINE(float, affine_f32)
DEF_AFFINE(double, affine_f64)

int ml_col_affine(void *out, const void *x, ml_dtype dt, const double *a, const double *b, const double *c, bool clip,
                  double lo, double hi, int64_t n, int64_t d) {
    if (check_dtype("col_affine", dt)) return -1;
    int64_t nb = row_blocks(n, d);
#pragma omp parallel for num_threads((int)nb) schedule(static) if (nb > 1)
    for (int64_t k = 0; k < nb; k++) {
        int64_t r0 = n * k / nb, r1 = n * (k + 1) / nb;
        if (dt == ML_FLOAT32) affine_f32(out, x, a, b, c, clip, lo, hi, r0, r1, d);
        else affine_f64(out, x, a, b, c, clip, lo, hi, r0, r1, d);
    }
    return 0;
}

#define DEF_CLIP(T, NAME)                                                                              \
    CLONES static void NAME(T *out, const T *x, const double *lo, const double *hi, int64_t r0, int64_t r1,   \
                     int64_t d) {                                                                      \
        for (int64_t i = r0; i < r1; i++)                                                              \
            for (int64_t j = 0; j < d; j++) {                                                          \
                double v = x[i * d + j];                                                               \
                v = v < lo[j] ? lo[j] : v;                                                             \
                out[i * d + j] = (T)(v > hi[j] ? hi[j] : v);                                           \
            }                                                                                          \
    }
DEF_CLIP(float, clip_f32)
DEF_CLIP(double, clip_f64)

int ml_col_clip(void *out, const void *x, ml_dtype dt, const double *lo, const double *hi, int64_t n, int64_t d) {
    if (check_dtype("col_clip", dt)) return -1;
    int64_t nb = row_blocks(n, d);
#pragma omp parallel for num_threads((int)nb) schedule(static) if (nb > 1)
    for (int64_t k = 0; k < nb; k++) {
        int64_t r0 = n * k / nb, r1 = n * (k + 1) / nb;
        if (dt == ML_FLOAT32) clip_f32(out, x, lo, hi, r0, r1, d);
        else clip_f64(out, x, lo, hi, r0, r1, d);
    }
    return 0;
}

#define DEF_FILL(T, NAME)                                                                              \
    CLONES static void NAME(T *out, const T *x, const double *fill, int64_t r0, int64_t r1, int64_t d) {      \
        for (int64_t i = r0; i < r1; i++)                                                              \
            for (int64_t j = 0; j < d; j++) {                                                          \
                T v = x[i * d + j];                                                                    \
                out[i * d + j] = v == v ? v : (T)fill[j];                                              \
            }                                                                                          \
    }
DEF_FILL(float, fill_f32)
DEF_FILL(double, fill_f64)

int ml_col_fillnan(void *out, const void *x, ml_dtype dt, const double *fill, int64_t n, int64_t d) {
    if (check_dtype("col_fillnan", dt)) return -1;
    int64_t nb = row_blocks(n, d);
#pragma omp parallel for num_threads((int)nb) schedule(static) if (nb > 1)
    for (int64_t k = 0; k < nb; k++) {
        int64_t r0 = n * k / nb, r1 = n * (k + 1) / nb;
        if (dt == ML_FLOAT32) fill_f32(out, x, fill, r0, r1, d);
        else fill_f64(out, x, fill, r0, r1, d);
    }
    return 0;
}

/* ---- order statistics ------------------------------------------------------------------ */

/* Ascending, NaN last (and equal to NaN). */
static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    if (a != a) return b != b ? 0 : 1;
    if (b != b) return -1;
    return (a > b) - (a < b);
}

static double get_value(const void *x, ml_dtype dt, int64_t i) {
    return dt == ML_FLOAT32 ? (double)((const float *)x)[i] : ((const double *)x)[i];
}

/* The non-NaN values of one strided column, sorted, into buf; returns their count. */
static int64_t sorted_present(double *buf, const void *x, ml_dtype dt, int64_t stride, int64_t n) {
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = get_value(x, dt, i * stride);
        if (v == v) buf[m++] = v;
    }
    qsort(buf, (size_t)m, sizeof(double), cmp_double);
    return m;
}

/* NumPy's linear interpolation between neighbouring order statistics. */
static double lerp_quantile(const double *s, int64_t m, double q) {
    double pos = q * (double)(m - 1);
    int64_t lo = (int64_t)floor(pos);
    if (lo >= m - 1) return s[m - 1];
    double t = pos - (double)lo, a = s[lo], b = s[lo + 1], diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

int ml_col_quantiles(double *out, const void *x, ml_dtype dt, int64_t n, int64_t d, const double *q, int64_t nq) {
    if (check_dtype("col_quantiles", dt)) return -1;
    for (int64_t k = 0; k < nq; k++)
        if (!(q[k] >= 0 && q[k] <= 1)) { ml_error("col_quantiles: quantile %g is not in [0, 1]", q[k]); return -1; }
    int nt = ml_get_threads();
    if (nt > d) nt = (int)d;
    if (nt < 1 || omp_in_parallel() || n * d < 65536) nt = 1;
    double *bufs = malloc(sizeof(double) * (size_t)(nt * n + 1));
    if (!bufs) { ml_error("col_quantiles: out of memory"); return -1; }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (int64_t j = 0; j < d; j++) {
        double *buf = bufs + (int64_t)omp_get_thread_num() * n;
        const char *col = (const char *)x + (size_t)j * ml_dtype_size(dt);
        int64_t m = sorted_present(buf, col, dt, d, n);
        for (int64_t k = 0; k < nq; k++) out[k * d + j] = m > 0 ? lerp_quantile(buf, m, q[k]) : NAN;
    }
    free(bufs);
    return 0;
}

int64_t ml_col_unique(double *vals, int64_t *counts, const void *x, ml_dtype dt, int64_t stride, int64_t n) {
    if (check_dtype("col_unique", dt)) return -1;
    for (int64_t i = 0; i < n; i++) vals[i] = get_value(x, dt, i * stride);
    qsort(vals, (size_t)n, sizeof(double), cmp_double);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (k > 0 && cmp_double(&vals[k - 1], &vals[i]) == 0) { counts[k - 1]++; continue; }
        vals[k] = vals[i];
        counts[k++] = 1;
    }
    return k;
}

int ml_col_lookup(int64_t *out, const void *x, ml_dtype dt, int64_t stride, int64_t n, const double *cats, int64_t k) {
    if (check_dtype("col_lookup", dt)) return -1;
    int64_t kn = (k > 0 && cats[k - 1] != cats[k - 1]) ? k - 1 : k; /* the numbers before a NaN category */
    for (int64_t i = 0; i < n; i++) {
        double v = get_value(x, dt, i * stride);
        if (v != v) { out[i] = kn < k ? k : 0; continue; }
        int64_t lo = 0, hi = kn; /* first cats[pos] >= v */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (cats[mid] < v) lo = mid + 1;
            else hi = mid;
        }
        out[i] = (lo < kn && cats[lo] == v) ? lo + 1 : 0;
    }
    return 0;
}

/* ---- duplicate rows ----------------------------------------------------------------------- */

static double canon(double v) { return v != v ? NAN : (v == 0 ? 0.0 : v); }

static uint64_t hash_row(const void *x, ml_dtype dt, int64_t i, int64_t d) {
    uint64_t h = 1469598103934665603ull;
    for (int64_t j = 0; j < d; j++) {
        double v = canon(get_value(x, dt, i * d + j));
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        h ^= bits + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 1099511628211ull;
    }
    return h ^ (h >> 31);
}

static bool rows_equal(const void *x, ml_dtype dt, int64_t a, int64_t b, int64_t d) {
    for (int64_t j = 0; j < d; j++) {
        double u = get_value(x, dt, a * d + j), v = get_value(x, dt, b * d + j);
        if (!(u == v || (u != u && v != v))) return false;
    }
    return true;
}

int ml_rows_first_unique(bool *keep, const void *x, ml_dtype dt, int64_t n, int64_t d, bool keep_last) {
    if (check_dtype("rows_first_unique", dt)) return -1;
    int64_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    int64_t *slot = calloc((size_t)cap, sizeof(int64_t)); /* row + 1, 0 = empty */
    if (!slot) { ml_error("rows_first_unique: out of memory"); return -1; }
    for (int64_t s = 0; s < n; s++) {
        int64_t i = keep_last ? n - 1 - s : s;
        uint64_t h = hash_row(x, dt, i, d);
        int64_t p = (int64_t)(h & (uint64_t)(cap - 1));
        keep[i] = true;
        while (slot[p]) {
            if (rows_equal(x, dt, slot[p] - 1, i, d)) { keep[i] = false; break; }
            p = (p + 1) & (cap - 1);
        }
        if (keep[i]) slot[p] = i + 1;
    }
    free(slot);
    return 0;
}

/* ---- rolling windows ----------------------------------------------------------------------- */

int ml_rolling(double *out, const double *x, int64_t n, int64_t window, bool center, int64_t min_periods, bool median) {
    if (window < 1) { ml_error("rolling: window must be at least 1, got %lld", (long long)window); return -1; }
    double *buf = median ? malloc(sizeof(double) * (size_t)window) : NULL;
    if (median && !buf) { ml_error("rolling: out of memory"); return -1; }
    int64_t offset = center ? (window - 1) / 2 : 0; /* pandas' FixedWindowIndexer */
    for (int64_t i = 0; i < n; i++) {
        int64_t hi = i + offset, lo = hi - window + 1;
        if (lo < 0) lo = 0;
        if (hi > n - 1) hi = n - 1;
        int64_t m = 0;
        double s = 0;
        for (int64_t t = lo; t <= hi; t++) {
            double v = x[t];
            if (v != v) continue;
            if (median) buf[m] = v;
            s += v;
            m++;
        }
        if (m < min_periods || m == 0) { out[i] = NAN; continue; }
        if (!median) { out[i] = s / (double)m; continue; }
        qsort(buf, (size_t)m, sizeof(double), cmp_double);
        out[i] = (m & 1) ? buf[m / 2] : (buf[m / 2 - 1] + buf[m / 2]) / 2;
    }
    free(buf);
    return 0;
}

int ml_col_moments_add(double *acc, const void *x, ml_dtype dt, int64_t n, int64_t d) {
    if (dt != ML_FLOAT32 && dt != ML_FLOAT64) {
        ml_error("column moments: expected float32 or float64, got %s", ml_dtype_name(dt));
        return -1;
    }
    double *sum = acc + 1, *sq = acc + 1 + d;
    for (int64_t i = 0; i < n; i++) {
        if (dt == ML_FLOAT32) {
            const float *r = (const float *)x + i * d;
            for (int64_t j = 0; j < d; j++) { double v = r[j]; sum[j] += v; sq[j] += v * v; }
        } else {
            const double *r = (const double *)x + i * d;
            for (int64_t j = 0; j < d; j++) { double v = r[j]; sum[j] += v; sq[j] += v * v; }
        }
    }
    acc[0] += (double)n;
    return 0;
}
