/* Segmented aggregations over group ids and describe's statistics (see
 * frame_ops.h). Each aggregation is one pass over the rows into per-group
 * accumulators (std: a second pass around the means, for accuracy);
 * several columns run on the threads of ml.threads, one column each. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "frame_scratch.h"
#include "frame_ops.h"

static const char *const agg_names[ML_AGG_NOPS] = {"sum", "mean", "count", "min", "max", "std", "first", "last"};

int ml_agg_from_name(const char *name, ml_agg_op *op) {
    for (int k = 0; k < ML_AGG_NOPS; k++)
        if (strcmp(name, agg_names[k]) == 0) { *op = (ml_agg_op)k; return 0; }
    return -1;
}

/* Per-group sums and counts of the present values (acc may be NULL). */
static void sums_counts(double *acc, int64_t *cnt, const int64_t *ids, const double *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        int64_t g = ids[i];
        double v = x[i];
        if (g < 0 || isnan(v)) continue;
        if (acc) acc[g] += v;
        cnt[g]++;
    }
}

void ml_frame_group_f64(double *out, ml_agg_op op, const int64_t *ids, const double *x, int64_t n, int64_t G) {
    if (op == ML_AGG_MIN || op == ML_AGG_MAX || op == ML_AGG_FIRST || op == ML_AGG_LAST) {
        for (int64_t g = 0; g < G; g++) out[g] = NAN;
        for (int64_t i = 0; i < n; i++) {
            int64_t g = ids[i];
            double v = x[i];
            if (g < 0 || isnan(v)) continue;
            double *o = &out[g];
            if (op == ML_AGG_LAST || isnan(*o) || (op == ML_AGG_MIN ? v < *o : op == ML_AGG_MAX && v > *o)) *o = v;
        }
        return;
    }
    if (op == ML_AGG_SUM) {
        memset(out, 0, (size_t)G * sizeof(double));
        for (int64_t i = 0; i < n; i++) {
            int64_t g = ids[i];
            if (g >= 0 && !isnan(x[i])) out[g] += x[i];
        }
        return;
    }
    int64_t *cnt = fs_calloc((size_t)(G ? G : 1), sizeof(int64_t));
    if (!cnt) { for (int64_t g = 0; g < G; g++) out[g] = NAN; return; } /* out of memory: NaN, never a crash */
    memset(out, 0, (size_t)G * sizeof(double));
    sums_counts(op == ML_AGG_COUNT ? NULL : out, cnt, ids, x, n);
    if (op == ML_AGG_COUNT) {
        for (int64_t g = 0; g < G; g++) out[g] = (double)cnt[g];
    } else {
        for (int64_t g = 0; g < G; g++) out[g] = cnt[g] ? out[g] / (double)cnt[g] : NAN;
        if (op == ML_AGG_STD) {
            double *ss = fs_calloc((size_t)(G ? G : 1), sizeof(double));
            if (ss) {
                for (int64_t i = 0; i < n; i++) {
                    int64_t g = ids[i];
                    if (g < 0 || isnan(x[i])) continue;
                    double d = x[i] - out[g];
                    ss[g] += d * d;
                }
            }
            for (int64_t g = 0; g < G; g++) out[g] = ss && cnt[g] > 1 ? sqrt(ss[g] / (double)(cnt[g] - 1)) : NAN;
            fs_free(ss);
        }
    }
    fs_free(cnt);
}

void ml_frame_group_i64(int64_t *out, uint8_t *out_valid, ml_agg_op op, const int64_t *ids, const int64_t *x,
                        const uint8_t *valid, int64_t n, int64_t G) {
    memset(out, 0, (size_t)G * sizeof(int64_t));
    bool counts_only = op == ML_AGG_SUM || op == ML_AGG_COUNT;
    memset(out_valid, counts_only, (size_t)G);
    for (int64_t i = 0; i < n; i++) {
        int64_t g = ids[i];
        if (g < 0 || (valid && !valid[i])) continue;
        int64_t v = x[i];
        if (op == ML_AGG_SUM) out[g] += v;
        else if (op == ML_AGG_COUNT) out[g]++;
        else {
            if (!out_valid[g] || op == ML_AGG_LAST || (op == ML_AGG_MIN ? v < out[g] : op == ML_AGG_MAX && v > out[g]))
                out[g] = v;
            out_valid[g] = 1;
        }
    }
}

void ml_frame_group_f64_many(double *const *outs, ml_agg_op op, const int64_t *ids, const double *const *xs, int ncols,
                             int64_t n, int64_t G) {
    /* one column per thread: each column's accumulators stay in its own cache */
    #pragma omp parallel for schedule(dynamic, 1) if (ncols > 1 && n * ncols >= 262144)
    for (int c = 0; c < ncols; c++) ml_frame_group_f64(outs[c], op, ids, xs[c], n, G);
}

int ml_frame_group_nunique(int64_t *out, const int64_t *ids, const int64_t *pair, int64_t n, int64_t G, int64_t P) {
    uint8_t *seen = fs_calloc((size_t)(P ? P : 1), 1);
    if (!seen) { ml_error("out of memory"); return -1; }
    memset(out, 0, (size_t)G * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) {
        int64_t g = ids[i], p = pair[i];
        if (g < 0 || p < 0 || seen[p]) continue;
        seen[p] = 1;
        out[g]++;
    }
    fs_free(seen);
    return 0;
}

/* ---- describe --------------------------------------------------------------- */
static inline void swap_d(double *a, double *b) { double t = *a; *a = *b; *b = t; }

/* Moves the k-th smallest of v[0..n) to v[k], smaller ones before it and
 * larger ones after (Hoare's selection, median-of-three pivots). */
static void select_kth(double *v, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        int64_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo]) swap_d(&v[mid], &v[lo]);
        if (v[hi] < v[lo]) swap_d(&v[hi], &v[lo]);
        if (v[hi] < v[mid]) swap_d(&v[hi], &v[mid]);
        double p = v[mid];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p) i++;
            while (v[j] > p) j--;
            if (i <= j) { swap_d(&v[i], &v[j]); i++, j--; }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return;
    }
}

/* The q-quantile of v[lo..n) with numpy's linear interpolation; v[0..lo)
 * holds values no larger (an earlier selection), so the search narrows. */
static double quantile(double *v, int64_t n, double q, int64_t *lo) {
    double pos = q * (double)(n - 1);
    int64_t k = (int64_t)floor(pos);
    double frac = pos - (double)k;
    select_kth(v + *lo, n - *lo, k - *lo);
    double a = v[k];
    *lo = k;
    if (frac == 0 || k + 1 >= n) return a;
    double b = v[k + 1];
    for (int64_t i = k + 2; i < n; i++) if (v[i] < b) b = v[i];
    return a + (b - a) * frac;
}

/* One column's statistics (count, mean, std, min, the nq quantiles q, max);
 * scratch holds n doubles. */
static void describe_one(double *out, const double *x, int64_t n, const double *q, int nq, double *scratch) {
    int64_t m = 0;
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (isnan(v)) continue;
        scratch[m++] = v;
        sum += v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    out[0] = (double)m;
    if (m == 0) { for (int s = 1; s < 5 + nq; s++) out[s] = NAN; return; }
    double mean = sum / (double)m, ss = 0;
    for (int64_t i = 0; i < m; i++) { double d = scratch[i] - mean; ss += d * d; }
    out[1] = mean;
    out[2] = m > 1 ? sqrt(ss / (double)(m - 1)) : NAN;
    out[3] = mn;
    int64_t lo = 0;
    for (int k = 0; k < nq; k++) out[4 + k] = quantile(scratch, m, q[k], &lo);
    out[4 + nq] = mx;
}

int ml_frame_describe_f64(double *out, const double *const *xs, int ncols, int64_t n, const double *q, int nq) {
    for (int k = 0; k < nq; k++)
        if (!(q[k] >= 0 && q[k] <= 1) || (k > 0 && q[k] < q[k - 1])) {
            ml_error("quantiles must be ascending, in [0, 1]");
            return -1;
        }
    int failed = 0;
    #pragma omp parallel if (ncols > 1 && n * ncols >= 262144)
    {
        double *scratch = fs_malloc((size_t)(n ? n : 1) * sizeof(double));
        if (!scratch) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < ncols; c++)
            if (scratch) describe_one(out + (size_t)c * (5 + nq), xs[c], n, q, nq, scratch);
        fs_free(scratch);
    }
    if (failed) { ml_error("out of memory"); return -1; }
    return 0;
}
