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

/* ---- describe ------------------------------------------------------------
 * The quantiles by radix selection: the values as order-preserving bits, a
 * histogram of their top 16 bits finds the bucket of each rank wanted, and
 * only those buckets' values are gathered and sorted. Two branch-free passes
 * over the column instead of a branchy quickselect per quantile. */
#define QBITS 16
#define QBUCKETS (1 << QBITS)

static inline uint64_t order_bits(double x) {
    uint64_t u;
    if (x == 0) x = 0; /* -0.0 is 0.0 */
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : u | (1ull << 63);
}

static inline double from_order_bits(uint64_t u) {
    u = (u >> 63) ? u & ~(1ull << 63) : ~u;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Sorts a[0..n) (one byte a pass, skipping bytes all keys share); tmp holds n. */
static void radix_sort_u64(uint64_t *a, uint64_t *tmp, int64_t n) {
    uint64_t *orig = a, all_or = 0, all_and = ~0ull;
    for (int64_t i = 0; i < n; i++) all_or |= a[i], all_and &= a[i];
    for (int shift = 0; shift < 64; shift += 8) {
        if ((((all_or ^ all_and) >> shift) & 0xff) == 0) continue;
        int64_t count[257] = {0};
        for (int64_t i = 0; i < n; i++) count[((a[i] >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++) count[b + 1] += count[b];
        for (int64_t i = 0; i < n; i++) tmp[count[(a[i] >> shift) & 0xff]++] = a[i];
        uint64_t *t = a; a = tmp; tmp = t;
    }
    if (a != orig) memcpy(orig, a, (size_t)n * sizeof *a);
}

/* out[j] = the value of 0-based rank ranks[j] among u[0..m) (order bits). */
static int select_ranks(double *out, const int64_t *ranks, int nr, const uint64_t *u, int64_t m) {
    int64_t *before = fs_calloc(QBUCKETS + 1, sizeof(int64_t)); /* before[b]: values in buckets < b */
    int64_t *start = fs_malloc(QBUCKETS * sizeof(int64_t));     /* a wanted bucket's place among the gathered */
    uint8_t *want = fs_calloc(QBUCKETS, 1);
    if (!before || !start || !want) { fs_free(before), fs_free(start), fs_free(want); return -1; }
    for (int64_t i = 0; i < m; i++) before[(u[i] >> (64 - QBITS)) + 1]++;
    for (int b = 0; b < QBUCKETS; b++) before[b + 1] += before[b];
    int bucket[128];
    for (int j = 0; j < nr; j++) {
        int lo = 0, hi = QBUCKETS - 1; /* the bucket b with before[b] <= rank < before[b + 1] */
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;
            if (before[mid] <= ranks[j]) lo = mid; else hi = mid - 1;
        }
        bucket[j] = lo;
        want[lo] = 1;
    }
    int64_t total = 0;
    for (int b = 0; b < QBUCKETS; b++)
        if (want[b]) start[b] = total, total += before[b + 1] - before[b];
    uint64_t *cand = fs_malloc((size_t)(total ? total : 1) * sizeof(uint64_t) * 2);
    if (!cand) { fs_free(before), fs_free(start), fs_free(want); return -1; }
    int64_t *fill = before; /* reused below: only the wanted buckets' starts are needed now */
    int64_t *rank_base = start;
    int64_t bases[128];
    for (int j = 0; j < nr; j++) bases[j] = ranks[j] - before[bucket[j]] + start[bucket[j]];
    for (int b = 0; b < QBUCKETS; b++) fill[b] = want[b] ? rank_base[b] : 0;
    for (int64_t i = 0; i < m; i++) {
        int b = (int)(u[i] >> (64 - QBITS));
        if (want[b]) cand[fill[b]++] = u[i];
    }
    radix_sort_u64(cand, cand + total, total); /* the buckets are contiguous and ascending */
    for (int j = 0; j < nr; j++) out[j] = from_order_bits(cand[bases[j]]);
    fs_free(cand), fs_free(before), fs_free(start), fs_free(want);
    return 0;
}

/* One column's statistics (count, mean, std, min, the nq quantiles q, max);
 * scratch holds n values. */
static int describe_one(double *out, const double *x, int64_t n, const double *q, int nq, uint64_t *scratch) {
    int64_t m = 0;
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        if (isnan(v)) continue;
        scratch[m++] = order_bits(v);
        sum += v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    out[0] = (double)m;
    if (m == 0) { for (int s = 1; s < 5 + nq; s++) out[s] = NAN; return 0; }
    double mean = sum / (double)m, ss = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        if (!isnan(d)) ss += d * d;
    }
    out[1] = mean;
    out[2] = m > 1 ? sqrt(ss / (double)(m - 1)) : NAN;
    out[3] = mn;
    out[4 + nq] = mx;
    /* numpy's linear interpolation between ranks k and k + 1 */
    int64_t ranks[128];
    double frac[64];
    int nr = 0;
    for (int k = 0; k < nq; k++) {
        double pos = q[k] * (double)(m - 1);
        int64_t r = (int64_t)floor(pos);
        frac[k] = pos - (double)r;
        ranks[nr++] = r;
        ranks[nr++] = r + 1 < m ? r + 1 : r;
    }
    double vals[128];
    if (select_ranks(vals, ranks, nr, scratch, m) < 0) return -1;
    for (int k = 0; k < nq; k++) {
        double a = vals[2 * k], b = vals[2 * k + 1];
        out[4 + k] = frac[k] == 0 ? a : a + (b - a) * frac[k];
    }
    return 0;
}

int ml_frame_describe_f64(double *out, const double *const *xs, int ncols, int64_t n, const double *q, int nq) {
    if (nq < 0 || nq > 64) { ml_error("expected 0 to 64 quantiles, got %d", nq); return -1; }
    for (int k = 0; k < nq; k++)
        if (!(q[k] >= 0 && q[k] <= 1) || (k > 0 && q[k] < q[k - 1])) {
            ml_error("quantiles must be ascending, in [0, 1]");
            return -1;
        }
    int failed = 0;
    #pragma omp parallel if (ncols > 1 && n * ncols >= 262144)
    {
        uint64_t *scratch = fs_malloc((size_t)(n ? n : 1) * sizeof(uint64_t));
        if (!scratch) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < ncols; c++)
            if (scratch && describe_one(out + (size_t)c * (5 + nq), xs[c], n, q, nq, scratch) < 0) {
                #pragma omp atomic write
                failed = 1;
            }
        fs_free(scratch);
    }
    if (failed) { ml_error("out of memory"); return -1; }
    return 0;
}
