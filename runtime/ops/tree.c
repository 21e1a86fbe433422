/* Decision trees (see tree.h): column ranks, the sort-based split search
 * (scikit-learn 1.2's BestSplitter and RandomSplitter semantics), the
 * depth-first and best-first builders, forests over OpenMP, prediction. */
#include "tree.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/parallel.h"

#define FEATURE_THRESHOLD 1e-7 /* values closer than this are one value, as in scikit-learn */
#define EPS DBL_EPSILON
#define ROW_MASK 0xffffffffull
/* Below this many keys a node's payload keys are quicksorted rather than radix-sorted (192 for row keys,
 * whose order among equal ranks must stay the same): a quicksort mispredicts a branch every other
 * comparison, and the radix passes are cheap while the histogram is small (2 x 7 bits for 16,000 rows);
 * callgrind: 5.4 M -> 1.9 M mispredicted branches for 10 trees on 16,000 x 20, the fit about 13% faster */
#define SMALL_SORT 32

/* ---- randomness: splitmix64 seeds an xorshift64* per tree ------------------------------- */

typedef struct { uint64_t s; } rng_t;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static rng_t rng_seeded(uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
    rng_t r = {splitmix64(&x)};
    if (!r.s) r.s = 1;
    return r;
}
static uint64_t rng_next(rng_t *r) {
    r->s ^= r->s >> 12, r->s ^= r->s << 25, r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}
static int64_t rng_int(rng_t *r, int64_t lo, int64_t hi) { return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo)); }
static double rng_uniform(rng_t *r, double lo, double hi) { return lo + (hi - lo) * ((double)(rng_next(r) >> 11) * 0x1.0p-53); }

/* ---- sorting (rank << 32 | row) keys ------------------------------------------------------ */

static void insertion_sort(uint64_t *a, int64_t m) {
    for (int64_t i = 1; i < m; i++) {
        uint64_t v = a[i];
        int64_t j = i - 1;
        while (j >= 0 && a[j] > v) a[j + 1] = a[j], j--;
        a[j + 1] = v;
    }
}

static void quick_sort(uint64_t *a, int64_t m) {
    while (m > 24) {
        uint64_t x = a[0], y = a[m / 2], z = a[m - 1]; /* median of three */
        uint64_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int64_t i = 0, j = m - 1;
        for (;;) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i >= j) break;
            uint64_t t = a[i];
            a[i++] = a[j], a[j--] = t;
        }
        /* recurse into the smaller side, loop on the larger */
        if (j + 1 < m - j - 1) quick_sort(a, j + 1), a += j + 1, m -= j + 1;
        else quick_sort(a + j + 1, m - j - 1), m = j + 1;
    }
    insertion_sort(a, m);
}

static int bit_length(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

/* Sorts a[0..m) by the key bits above 32 (bits of them in use); tmp has room for m keys. Small arrays
 * are quicksorted on the whole key: below 192 keys, or when any_order (the order among equal ranks is
 * free) below SMALL_SORT keys or while the radix histogram has more than 4 buckets a key. */
static void sort_keys(uint64_t *a, uint64_t *tmp, int64_t m, int bits, bool any_order) {
    if (m < 2) return;
    int passes = (bits + 10) / 11, digit = passes ? (bits + passes - 1) / passes : 0;
    bool quick = any_order ? m < SMALL_SORT || (m < 192 && (1ll << digit) > 4 * m) : m < 192;
    if (quick || bits == 0) {
        if (bits) quick_sort(a, m);
        return;
    }
    uint32_t hist[2048];
    uint64_t *src = a, *dst = tmp, mask = (1ull << digit) - 1;
    for (int p = 0; p < passes; p++) {
        int shift = 32 + p * digit;
        memset(hist, 0, sizeof(uint32_t) << digit);
        for (int64_t i = 0; i < m; i++) hist[(src[i] >> shift) & mask]++;
        uint32_t sum = 0;
        for (uint64_t b = 0; b <= mask; b++) {
            uint32_t c = hist[b];
            hist[b] = sum, sum += c;
        }
        for (int64_t i = 0; i < m; i++) dst[hist[(src[i] >> shift) & mask]++] = src[i];
        uint64_t *t = src;
        src = dst, dst = t;
    }
    if (src != a) memcpy(a, src, (size_t)m * sizeof *a);
}

/* ---- the data: column-major X, dense ranks, distinct values ------------------------------- */

static uint32_t float_order(float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

void ml_tree_data_free(ml_tree_data *D) {
    free(D->Xc), free(D->rank), free(D->distinct), free(D->n_distinct), free(D->rank16), free(D->close);
    D->Xc = NULL, D->rank = NULL, D->distinct = NULL, D->n_distinct = NULL, D->rank16 = NULL, D->close = NULL;
}

int ml_tree_data_init(ml_tree_data *D, const float *X) {
    int64_t n = D->n, d = D->d;
    if (n < 1 || d < 1 || n > 0x7fffffff) return ml_error("tree: X must have 1..2^31-1 rows and at least one column"), -1;
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite(X[i]))
            return ml_error("X holds NaN or infinite values at row %lld, column %lld (scikit-learn 1.2's trees refuse them too; impute them first)",
                            (long long)(i / d + 1), (long long)(i % d + 1)),
                   -1;
    D->Xc = malloc((size_t)(n * d) * sizeof(float));
    D->rank = malloc((size_t)(n * d) * sizeof(uint32_t));
    D->distinct = malloc((size_t)(n * d) * sizeof(float));
    D->n_distinct = malloc((size_t)d * sizeof(int64_t));
    D->close_words = (n + 63) / 64;
    D->close = calloc((size_t)(d * D->close_words), sizeof(uint64_t));
    D->rank16 = NULL;
    if (!D->Xc || !D->rank || !D->distinct || !D->n_distinct || !D->close) {
        ml_tree_data_free(D);
        return ml_error("tree: out of memory for %lld x %lld rows", (long long)n, (long long)d), -1;
    }
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(ml_get_threads() < d ? ml_get_threads() : (int)d)
    for (int64_t f = 0; f < d; f++) {
        uint64_t *keys = malloc((size_t)n * 2 * sizeof(uint64_t));
        if (!keys) {
            failed = 1;
            continue;
        }
        float *col = D->Xc + f * n, *vals = D->distinct + f * n;
        uint32_t *rank = D->rank + f * n;
        for (int64_t i = 0; i < n; i++) {
            col[i] = X[i * d + f];
            keys[i] = ((uint64_t)float_order(col[i]) << 32) | (uint64_t)i;
        }
        sort_keys(keys, keys + n, n, 32, false);
        int64_t r = -1;
        for (int64_t i = 0; i < n; i++) {
            uint32_t row = (uint32_t)(keys[i] & ROW_MASK);
            if (r < 0 || col[row] != vals[r]) vals[++r] = col[row];
            rank[row] = (uint32_t)r;
        }
        D->n_distinct[f] = r + 1;
        uint64_t *close = D->close + f * D->close_words;
        for (int64_t k = 0; k < r; k++)
            if (vals[k + 1] <= vals[k] + FEATURE_THRESHOLD) close[k >> 6] |= 1ull << (k & 63);
        free(keys);
    }
    if (failed) {
        ml_tree_data_free(D);
        return ml_error("tree: out of memory ranking the columns"), -1;
    }
    int64_t most = 0;
    for (int64_t f = 0; f < d; f++) most = D->n_distinct[f] > most ? D->n_distinct[f] : most;
    if (most <= 65536 && (D->rank16 = malloc((size_t)(n * d) * sizeof(uint16_t))))
        for (int64_t i = 0; i < n * d; i++) D->rank16[i] = (uint16_t)D->rank[i];
    return 0;
}

/* ---- the tree's arrays ------------------------------------------------------------------------ */

void ml_tree_free(ml_tree *t) {
    free(t->left), free(t->right), free(t->feature), free(t->n_samples);
    free(t->threshold), free(t->impurity), free(t->weighted_n), free(t->value);
    memset(t, 0, sizeof *t);
}

static int grow(ml_tree *t) {
    int64_t cap = t->capacity ? t->capacity * 2 : 64, k = t->n_values;
#define GROW(field, type, per)                                                    \
    do {                                                                          \
        type *p_ = realloc(t->field, (size_t)(cap * (per)) * sizeof(type));       \
        if (!p_) return -1;                                                       \
        t->field = p_;                                                            \
    } while (0)
    GROW(left, int64_t, 1);
    GROW(right, int64_t, 1);
    GROW(feature, int64_t, 1);
    GROW(n_samples, int64_t, 1);
    GROW(threshold, double, 1);
    GROW(impurity, double, 1);
    GROW(weighted_n, double, 1);
    GROW(value, double, k);
#undef GROW
    t->capacity = cap;
    return 0;
}

/* ---- one tree's builder ---------------------------------------------------------------------- */

typedef struct {
    const ml_tree_data *D;
    const ml_tree_params *p;
    const double *w;   /* (n) or NULL */
    int64_t K;         /* classes, or outputs */
    bool classify;
    int32_t *samples;  /* rows with weight > 0, partitioned node by node */
    uint32_t *pay;     /* (n) or NULL: class code << 16 | weight of samples[i], moved with it; set when every weight is
                        * a whole number up to 65,535 (bootstrap counts) and K <= 65,536, so the split search reads
                        * a node's classes and weights from its sorted keys rather than from rows all over memory */
    uint64_t *keys, *tmp;
    int64_t *features, *constant_features;
    double *node_stats, *left_stats, *best_left; /* (K): weighted class counts, or weighted target sums */
    double weighted_total, min_weight_leaf;
    int64_t min_samples_split;
    rng_t rng;
} builder;

typedef struct {
    int64_t pos, feature;   /* pos: the first row of the right child in samples; >= end when none found */
    double threshold, improvement, impurity_left, impurity_right;
} split_t;

static inline double weight_of(const builder *b, int32_t row) { return b->w ? b->w[row] : 1.0; }

/* stats (K) and the weight of samples[start, end); *sq the sum of w * y^2 over the outputs (regression) */
static double range_stats(const builder *b, int64_t start, int64_t end, double *stats, double *sq) {
    const int64_t K = b->K;
    double wsum = 0, s2 = 0;
    memset(stats, 0, (size_t)K * sizeof(double));
    if (b->pay) { /* the same sums in the same order, from the payloads */
        for (int64_t i = start; i < end; i++) {
            uint32_t p = b->pay[i];
            double wi = (double)(p & 0xffff);
            wsum += wi, stats[p >> 16] += wi;
        }
        if (sq) *sq = 0;
        return wsum;
    }
    for (int64_t i = start; i < end; i++) {
        int32_t row = b->samples[i];
        double wi = weight_of(b, row);
        wsum += wi;
        if (b->classify) stats[b->D->y_code[row]] += wi;
        else {
            const double *y = b->D->y + (int64_t)row * K;
            for (int64_t k = 0; k < K; k++) stats[k] += wi * y[k], s2 += wi * y[k] * y[k];
        }
    }
    if (sq) *sq = s2;
    return wsum;
}

static double impurity_of(const builder *b, const double *stats, double w, double sq) {
    const int64_t K = b->K;
    if (w <= 0) return 0;
    double imp = 0;
    switch (b->p->criterion) {
    case ML_TREE_GINI: {
        double s = 0;
        for (int64_t k = 0; k < K; k++) s += stats[k] * stats[k];
        return 1.0 - s / (w * w);
    }
    case ML_TREE_ENTROPY:
        for (int64_t k = 0; k < K; k++)
            if (stats[k] > 0) {
                double q = stats[k] / w;
                imp -= q * log2(q);
            }
        return imp;
    default:
        imp = sq / w;
        for (int64_t k = 0; k < K; k++) imp -= (stats[k] / w) * (stats[k] / w);
        return imp / (double)K;
    }
}

/* A score that orders the splits of one node as their impurity improvement does (scikit-learn's proxy). */
static inline double proxy_of(const builder *b, const double *left, const double *node, double wl, double wr) {
    const int64_t K = b->K;
    double s = 0;
    switch (b->p->criterion) {
    case ML_TREE_GINI: {
        double sl = 0, sr = 0;
        for (int64_t k = 0; k < K; k++) {
            double r = node[k] - left[k];
            sl += left[k] * left[k], sr += r * r;
        }
        return sl / wl + sr / wr;
    }
    case ML_TREE_ENTROPY:
        for (int64_t k = 0; k < K; k++) {
            double l = left[k], r = node[k] - left[k];
            if (l > 0) s += l * log(l / wl);
            if (r > 0) s += r * log(r / wr);
        }
        return s;
    default: {
        double sl = 0, sr = 0;
        for (int64_t k = 0; k < K; k++) {
            double r = node[k] - left[k];
            sl += left[k] * left[k], sr += r * r;
        }
        return sl / wl + sr / wr;
    }
    }
}

static inline void add_row(const builder *b, double *stats, int32_t row, double wi) {
    if (b->classify) stats[b->D->y_code[row]] += wi;
    else {
        const double *y = b->D->y + (int64_t)row * b->K;
        for (int64_t k = 0; k < b->K; k++) stats[k] += wi * y[k];
    }
}

/* keys[0, m) = rank << 32 | low for samples[start, start + m) of feature f, low the payload or the row;
 * *rmin, *rmax the smallest and largest rank. One loop per rank width and low part. */
#define GATHER(rank, low)                                                           \
    for (int64_t i = 0; i < m; i++) {                                               \
        int32_t row = b->samples[start + i];                                        \
        uint32_t r = rank[row];                                                     \
        lo = r < lo ? r : lo, hi = r > hi ? r : hi;                                 \
        b->keys[i] = ((uint64_t)r << 32) | (low);                                   \
    }
static void gather_keys(builder *b, int64_t f, int64_t start, int64_t m, uint32_t *rmin, uint32_t *rmax) {
    const ml_tree_data *D = b->D;
    const uint32_t *pay = b->pay + start;
    uint32_t lo = UINT32_MAX, hi = 0;
    if (D->rank16) {
        const uint16_t *rank = D->rank16 + f * D->n;
        if (b->pay) GATHER(rank, pay[i]) else GATHER(rank, (uint32_t)row)
    } else {
        const uint32_t *rank = D->rank + f * D->n;
        if (b->pay) GATHER(rank, pay[i]) else GATHER(rank, (uint32_t)row)
    }
    *rmin = lo, *rmax = hi;
}
#undef GATHER

/* Whether sorted ranks r < rn of column f are one value (within FEATURE_THRESHOLD): only when r and r + 1
 * are (vals[rn] >= vals[r + 1]), so the values are read only for those rare pairs. */
static inline bool one_value(const uint64_t *close, const float *vals, uint32_t r, uint32_t rn) {
    return ((close[r >> 6] >> (r & 63)) & 1) && vals[rn] <= vals[r] + FEATURE_THRESHOLD;
}

/* The best threshold of feature f over samples[start, end) (sorted by rank); *constant when all values
 * are one. Returns whether a split better than *best_proxy was found (then *best_rank, *thr are set). */
static bool scan_sorted(builder *b, int64_t f, int64_t start, int64_t end, double wn, double *best_proxy, uint32_t *best_rank,
                        double *thr, bool *constant) {
    const ml_tree_data *D = b->D;
    const int64_t n = D->n, m = end - start, msl = b->p->min_samples_leaf;
    const float *vals = D->distinct + f * n;
    const uint64_t *close = D->close + f * D->close_words;
    uint32_t rmin, rmax;
    gather_keys(b, f, start, m, &rmin, &rmax);
    *constant = vals[rmax] <= vals[rmin] + FEATURE_THRESHOLD;
    if (*constant) return false;
    for (int64_t i = 0; i < m; i++) b->keys[i] -= (uint64_t)rmin << 32;
    sort_keys(b->keys, b->tmp, m, bit_length(rmax - rmin), b->pay != NULL);
    double *left = b->left_stats, wl = 0;
    memset(left, 0, (size_t)b->K * sizeof(double));
    bool found = false;
    for (int64_t i = 0; i + 1 < m; i++) {
        uint64_t key = b->keys[i];
        double wi;
        if (b->pay) {
            uint32_t p = (uint32_t)key;
            wi = (double)(p & 0xffff), left[p >> 16] += wi;
        } else {
            int32_t row = (int32_t)(key & ROW_MASK);
            wi = weight_of(b, row);
            add_row(b, left, row, wi);
        }
        wl += wi;
        uint32_t r = (uint32_t)(key >> 32) + rmin, rn = (uint32_t)(b->keys[i + 1] >> 32) + rmin;
        if (rn == r || one_value(close, vals, r, rn)) continue;
        int64_t nl = i + 1;
        if (nl < msl) continue;
        if (m - nl < msl) break;
        double wr = wn - wl;
        if (wl < b->min_weight_leaf || wr < b->min_weight_leaf) continue;
        double proxy = proxy_of(b, left, b->node_stats, wl, wr);
        if (proxy > *best_proxy) {
            *best_proxy = proxy, *best_rank = r, found = true;
            double t = vals[r] / 2.0 + vals[rn] / 2.0;
            if (t == (double)vals[rn] || isinf(t)) t = vals[r];
            *thr = t;
        }
    }
    return found;
}

/* One uniform threshold for feature f (ExtraTrees): returns whether it beats *best_proxy. */
static bool scan_random(builder *b, int64_t f, int64_t start, int64_t end, double wn, double *best_proxy, double *thr, bool *constant) {
    const float *col = b->D->Xc + f * b->D->n;
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = start; i < end; i++) {
        float v = col[b->samples[i]];
        lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    *constant = hi <= lo + FEATURE_THRESHOLD;
    if (*constant) return false;
    double t = rng_uniform(&b->rng, lo, hi);
    if (t == (double)hi) t = lo;
    double *left = b->left_stats, wl = 0;
    memset(left, 0, (size_t)b->K * sizeof(double));
    int64_t nl = 0;
    for (int64_t i = start; i < end; i++) {
        int32_t row = b->samples[i];
        if (col[row] <= t) {
            double wi = weight_of(b, row);
            add_row(b, left, row, wi);
            wl += wi, nl++;
        }
    }
    int64_t msl = b->p->min_samples_leaf;
    if (nl < msl || (end - start) - nl < msl) return false;
    double wr = wn - wl;
    if (wl < b->min_weight_leaf || wr < b->min_weight_leaf) return false;
    double proxy = proxy_of(b, left, b->node_stats, wl, wr);
    if (proxy > *best_proxy) {
        *best_proxy = proxy, *thr = t;
        return true;
    }
    return false;
}

/* Moves the rows of samples[start, end) that go left first (and their payloads); returns the first right row.
 * Left: X[row, f] <= thr, which for a sorted split at rank r is rank[row] <= r (the node holds no rank
 * between r and the next one, whose value is above thr): the same rows, from the smaller rank arrays. */
#define PARTITION(goes_left)                                                         \
    while (i < j) {                                                                  \
        if (goes_left) i++;                                                          \
        else {                                                                       \
            int32_t t = s[--j];                                                      \
            s[j] = s[i], s[i] = t;                                                   \
            if (pay) {                                                               \
                uint32_t q = pay[j];                                                 \
                pay[j] = pay[i], pay[i] = q;                                         \
            }                                                                        \
        }                                                                            \
    }
static int64_t partition(builder *b, int64_t f, double thr, uint32_t rank, bool by_rank, int64_t start, int64_t end) {
    const ml_tree_data *D = b->D;
    int32_t *s = b->samples;
    uint32_t *pay = b->pay;
    int64_t i = start, j = end;
    if (!by_rank) {
        const float *col = D->Xc + f * D->n;
        PARTITION(col[s[i]] <= thr)
    } else if (D->rank16) {
        const uint16_t *rk = D->rank16 + f * D->n;
        PARTITION(rk[s[i]] <= rank)
    } else {
        const uint32_t *rk = D->rank + f * D->n;
        PARTITION(rk[s[i]] <= rank)
    }
    return i;
}
#undef PARTITION

/* The best split of samples[start, end) (node_stats hold its stats): the features are drawn without
 * replacement as scikit-learn does, skipping those known constant in the parent (features[0, *n_const))
 * and drawing on past max_features while only constant ones were found. Partitions samples on success. */
static split_t node_split(builder *b, int64_t start, int64_t end, double impurity, double wn, int64_t *n_const) {
    const int64_t d = b->D->d, max_features = b->p->max_features;
    int64_t *features = b->features;
    split_t best = {.pos = end, .feature = -1};
    double best_proxy = -INFINITY;
    uint32_t best_rank = 0;
    int64_t f_i = d, visited = 0, found_const = 0, drawn_const = 0, known_const = *n_const, total_const = known_const;
    while (f_i > total_const && (visited < max_features || visited <= found_const + drawn_const)) {
        visited++;
        int64_t f_j = rng_int(&b->rng, drawn_const, f_i - found_const);
        if (f_j < known_const) { /* a constant of the parent: set aside */
            int64_t t = features[drawn_const];
            features[drawn_const] = features[f_j], features[f_j] = t;
            drawn_const++;
            continue;
        }
        f_j += found_const;
        int64_t f = features[f_j];
        bool constant, better;
        double thr = 0;
        uint32_t r = 0;
        if (b->p->random_splitter) better = scan_random(b, f, start, end, wn, &best_proxy, &thr, &constant);
        else better = scan_sorted(b, f, start, end, wn, &best_proxy, &r, &thr, &constant);
        if (constant) {
            features[f_j] = features[total_const], features[total_const] = f;
            found_const++, total_const++;
            continue;
        }
        f_i--;
        features[f_j] = features[f_i], features[f_i] = f;
        if (better) best.feature = f, best.threshold = thr, best_rank = r;
    }
    /* the parent's constants keep their order for the siblings; the new ones follow them */
    memcpy(features, b->constant_features, (size_t)known_const * sizeof(int64_t));
    memcpy(b->constant_features + known_const, features + known_const, (size_t)found_const * sizeof(int64_t));
    *n_const = total_const;
    if (best.feature < 0) return best;
    best.pos = partition(b, best.feature, best.threshold, best_rank, !b->p->random_splitter, start, end);
    double sq_l = 0, sq_n = 0, *node = b->node_stats, *left = b->best_left;
    double wl = range_stats(b, start, best.pos, left, &sq_l), wr = wn - wl;
    if (!b->classify) range_stats(b, start, end, b->left_stats, &sq_n); /* the node's sum of squares */
    double *right = b->left_stats;
    for (int64_t k = 0; k < b->K; k++) right[k] = node[k] - left[k];
    best.impurity_left = impurity_of(b, left, wl, sq_l);
    best.impurity_right = impurity_of(b, right, wr, sq_n - sq_l);
    best.improvement = (wn / b->weighted_total) * (impurity - wr / wn * best.impurity_right - wl / wn * best.impurity_left);
    return best;
}

static int64_t add_node(ml_tree *t, const builder *b, int64_t parent, bool is_left, bool leaf, const split_t *s, double impurity,
                        int64_t n_node, double wn) {
    if (t->n_nodes == t->capacity && grow(t)) return -1;
    int64_t id = t->n_nodes++, K = b->K;
    t->left[id] = t->right[id] = -1;
    t->feature[id] = leaf ? -1 : s->feature;
    t->threshold[id] = leaf ? -2.0 : s->threshold;
    t->impurity[id] = impurity;
    t->n_samples[id] = n_node;
    t->weighted_n[id] = wn;
    double *v = t->value + id * K;
    if (b->classify) memcpy(v, b->node_stats, (size_t)K * sizeof(double));
    else
        for (int64_t k = 0; k < K; k++) v[k] = b->node_stats[k] / wn;
    if (parent >= 0) {
        if (is_left) t->left[parent] = id;
        else t->right[parent] = id;
    }
    return id;
}

typedef struct {
    int64_t start, end, depth, parent, n_const;
    bool is_left;
    double impurity;
} frame_t;

/* Whether a node of n rows and weight wn at depth stops without a split search. */
static bool stops(const builder *b, int64_t n_node, double wn, int64_t depth) {
    const ml_tree_params *p = b->p;
    return (p->max_depth >= 0 && depth >= p->max_depth) || n_node < b->min_samples_split || n_node < 2 * p->min_samples_leaf ||
           wn < 2 * b->min_weight_leaf;
}

static int build_depth_first(ml_tree *t, builder *b, int64_t n_in) {
    int64_t cap = 64, top = 0;
    frame_t *stack = malloc((size_t)cap * sizeof *stack);
    if (!stack) return -1;
    stack[top++] = (frame_t){0, n_in, 0, -1, 0, true, INFINITY};
    bool first = true;
    while (top > 0) {
        frame_t fr = stack[--top];
        int64_t n_node = fr.end - fr.start;
        double sq = 0, wn = range_stats(b, fr.start, fr.end, b->node_stats, &sq);
        bool leaf = stops(b, n_node, wn, fr.depth);
        double impurity = first ? impurity_of(b, b->node_stats, wn, sq) : fr.impurity;
        first = false;
        leaf = leaf || impurity <= EPS;
        split_t s = {.pos = fr.end};
        int64_t n_const = fr.n_const;
        if (!leaf) {
            s = node_split(b, fr.start, fr.end, impurity, wn, &n_const);
            leaf = s.pos >= fr.end || s.improvement + EPS < b->p->min_impurity_decrease;
        }
        int64_t id = add_node(t, b, fr.parent, fr.is_left, leaf, &s, impurity, n_node, wn);
        if (id < 0) {
            free(stack);
            return -1;
        }
        if (fr.depth > t->max_depth) t->max_depth = fr.depth;
        if (leaf) continue;
        if (top + 2 > cap) {
            frame_t *ns = realloc(stack, (size_t)(cap *= 2) * sizeof *stack);
            if (!ns) {
                free(stack);
                return -1;
            }
            stack = ns;
        }
        stack[top++] = (frame_t){s.pos, fr.end, fr.depth + 1, id, n_const, false, s.impurity_right};
        stack[top++] = (frame_t){fr.start, s.pos, fr.depth + 1, id, n_const, true, s.impurity_left};
    }
    free(stack);
    return 0;
}

/* ---- best-first (max_leaf_nodes): the frontier is a max-heap on improvement ---------------- */

typedef struct {
    int64_t id, start, end, pos, depth;
    bool leaf;
    double improvement, impurity_left, impurity_right;
} record_t;

static bool before(const record_t *a, const record_t *c) {
    return a->improvement > c->improvement || (a->improvement == c->improvement && a->id < c->id);
}

static void heap_push(record_t *h, int64_t *n, record_t r) {
    int64_t i = (*n)++;
    while (i > 0 && before(&r, &h[(i - 1) / 2])) h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
    h[i] = r;
}

static record_t heap_pop(record_t *h, int64_t *n) {
    record_t top = h[0], last = h[--(*n)];
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && before(&h[c + 1], &h[c])) c++;
        if (!before(&h[c], &last)) break;
        h[i] = h[c], i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

static int add_split_node(ml_tree *t, builder *b, int64_t start, int64_t end, double impurity, bool first, int64_t parent, bool is_left,
                          int64_t depth, record_t *rec) {
    int64_t n_node = end - start, n_const = 0;
    double sq = 0, wn = range_stats(b, start, end, b->node_stats, &sq);
    bool leaf = stops(b, n_node, wn, depth);
    if (first) impurity = impurity_of(b, b->node_stats, wn, sq);
    leaf = leaf || impurity <= EPS;
    split_t s = {.pos = end};
    if (!leaf) {
        s = node_split(b, start, end, impurity, wn, &n_const);
        leaf = s.pos >= end || s.improvement + EPS < b->p->min_impurity_decrease;
    }
    int64_t id = add_node(t, b, parent, is_left, leaf, &s, impurity, n_node, wn);
    if (id < 0) return -1;
    if (depth > t->max_depth) t->max_depth = depth;
    *rec = (record_t){id, start, end, s.pos, depth, leaf, leaf ? 0 : s.improvement, s.impurity_left, s.impurity_right};
    return 0;
}

static int build_best_first(ml_tree *t, builder *b, int64_t n_in) {
    int64_t max_splits = b->p->max_leaf_nodes - 1, n_heap = 0;
    record_t *heap = malloc((size_t)(2 * b->p->max_leaf_nodes + 2) * sizeof *heap), r;
    if (!heap || add_split_node(t, b, 0, n_in, INFINITY, true, -1, true, 0, &r)) goto fail;
    heap_push(heap, &n_heap, r);
    while (n_heap > 0) {
        record_t rec = heap_pop(heap, &n_heap);
        if (rec.leaf || max_splits <= 0) {
            t->left[rec.id] = t->right[rec.id] = -1, t->feature[rec.id] = -1, t->threshold[rec.id] = -2.0;
            continue;
        }
        max_splits--;
        record_t l, rr;
        if (add_split_node(t, b, rec.start, rec.pos, rec.impurity_left, false, rec.id, true, rec.depth + 1, &l) ||
            add_split_node(t, b, rec.pos, rec.end, rec.impurity_right, false, rec.id, false, rec.depth + 1, &rr))
            goto fail;
        heap_push(heap, &n_heap, l);
        heap_push(heap, &n_heap, rr);
    }
    free(heap);
    return 0;
fail:
    free(heap);
    return -1;
}

int ml_tree_fit(ml_tree *out, const ml_tree_data *D, const double *w, const ml_tree_params *p, uint64_t seed) {
    memset(out, 0, sizeof *out);
    builder b = {.D = D, .p = p, .w = w, .classify = D->y_code != NULL};
    b.K = b.classify ? D->n_classes : D->n_outputs;
    out->n_values = b.K;
    const int64_t n = D->n, d = D->d;
    b.samples = malloc((size_t)n * sizeof(int32_t));
    b.keys = malloc((size_t)n * 2 * sizeof(uint64_t));
    bool counts = b.classify && b.K <= 65536;
    for (int64_t i = 0; counts && w && i < n; i++) counts = w[i] == (double)(uint32_t)(w[i] >= 0 ? w[i] : 0) && w[i] <= 65535;
    if (counts) b.pay = malloc((size_t)n * sizeof(uint32_t));
    b.features = malloc((size_t)d * 2 * sizeof(int64_t));
    b.node_stats = malloc((size_t)b.K * 3 * sizeof(double));
    int rc = -1;
    if (!b.samples || !b.keys || !b.features || !b.node_stats || (counts && !b.pay)) goto done;
    b.tmp = b.keys + n, b.constant_features = b.features + d;
    b.left_stats = b.node_stats + b.K, b.best_left = b.node_stats + 2 * b.K;
    int64_t n_in = 0;
    double total = 0;
    for (int64_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (wi > 0) {
            if (b.pay) b.pay[n_in] = (uint32_t)D->y_code[i] << 16 | (uint32_t)wi;
            b.samples[n_in++] = (int32_t)i, total += wi;
        }
    }
    for (int64_t f = 0; f < d; f++) b.features[f] = f;
    b.weighted_total = total;
    b.min_weight_leaf = p->min_weight_fraction_leaf * total;
    b.min_samples_split = p->min_samples_split > 2 * p->min_samples_leaf ? p->min_samples_split : 2 * p->min_samples_leaf;
    b.rng = rng_seeded(seed, 1);
    if (n_in == 0) {
        ml_error("tree: every sample weight is 0; nothing to learn");
        goto done;
    }
    rc = p->max_leaf_nodes > 0 ? build_best_first(out, &b, n_in) : build_depth_first(out, &b, n_in);
    if (rc) ml_error("tree: out of memory growing the tree");
done:
    if (rc && !b.samples) ml_error("tree: out of memory for the builder's buffers");
    free(b.samples), free(b.keys), free(b.features), free(b.node_stats), free(b.pay);
    if (rc) ml_tree_free(out);
    return rc;
}

/* ---- forests --------------------------------------------------------------------------------- */

/* Each row's weight for tree t: its bootstrap count times its sample weight (and class weight). */
static void tree_weights(double *w, uint16_t *inbag, const ml_tree_data *D, const ml_forest_opts *o, uint64_t seed, int64_t *count,
                         double *cls) {
    const int64_t n = D->n;
    if (!o->bootstrap) {
        for (int64_t i = 0; i < n; i++) w[i] = o->sample_weight ? o->sample_weight[i] : 1.0;
        return;
    }
    rng_t r = rng_seeded(seed, 2);
    memset(count, 0, (size_t)n * sizeof *count);
    for (int64_t s = 0; s < o->max_samples; s++) count[rng_int(&r, 0, n)]++;
    if (o->balanced_subsample && D->y_code) {
        int64_t K = D->n_classes, present = 0;
        memset(cls, 0, (size_t)K * sizeof *cls);
        for (int64_t i = 0; i < n; i++) cls[D->y_code[i]] += (double)count[i];
        for (int64_t k = 0; k < K; k++) present += cls[k] > 0;
        for (int64_t k = 0; k < K; k++) cls[k] = cls[k] > 0 ? (double)o->max_samples / ((double)present * cls[k]) : 0;
    }
    for (int64_t i = 0; i < n; i++) {
        double wi = (double)count[i] * (o->sample_weight ? o->sample_weight[i] : 1.0);
        if (o->balanced_subsample && D->y_code) wi *= cls[D->y_code[i]];
        w[i] = wi;
        if (inbag) inbag[i] = (uint16_t)(count[i] < 65535 ? count[i] : 65535);
    }
}

int ml_forest_fit(ml_tree *trees, int64_t n_trees, const ml_tree_data *D, const ml_forest_opts *o, const ml_tree_params *p,
                  const uint64_t *seeds, int threads, uint16_t *inbag) {
    const int64_t n = D->n, K = D->y_code ? D->n_classes : 1;
    char message[256] = "";
    int failed = 0;
    memset(trees, 0, (size_t)n_trees * sizeof *trees);
    if (threads < 1) threads = 1;
    if (threads > n_trees) threads = (int)n_trees;
#pragma omp parallel num_threads(threads)
    {
        double *w = malloc((size_t)n * sizeof(double)), *cls = malloc((size_t)K * sizeof(double));
        int64_t *count = malloc((size_t)n * sizeof(int64_t));
        if (!w || !count || !cls) {
#pragma omp critical(ml_forest_error)
            if (!failed) failed = 1, snprintf(message, sizeof message, "forest: out of memory for the trees' weights");
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < n_trees; t++) {
            if (failed) continue;
            tree_weights(w, inbag ? inbag + t * n : NULL, D, o, seeds[t], count, cls);
            /* grown in a local struct: trees[t] and trees[t + 1] share a cache line, and add_node
             * updates n_nodes at every node (false sharing between the threads) */
            ml_tree local;
            if (ml_tree_fit(&local, D, w, p, seeds[t])) {
#pragma omp critical(ml_forest_error)
                if (!failed) failed = 1, snprintf(message, sizeof message, "%s", ml_last_error());
            } else
                trees[t] = local;
        }
        free(w), free(count), free(cls);
    }
    if (failed) {
        for (int64_t t = 0; t < n_trees; t++) ml_tree_free(&trees[t]);
        ml_error("%s", message);
        return -1;
    }
    return 0;
}

/* ---- prediction ------------------------------------------------------------------------------- */

/* Prediction walks a packed copy of the nodes, 16 bytes each (one cache line holds four), instead of
 * four separate arrays: the float32 x <= double t test is x <= t rounded down to float32, exactly. */
typedef struct {
    float threshold;
    int32_t feature;     /* 0-based; -1 at leaves */
    int32_t left, right; /* global node ids */
} packed_node;

static float round_down(double t) {
    float f = (float)t;
    return (double)f > t ? nextafterf(f, -INFINITY) : f;
}

static packed_node *pack(const ml_forest_view *f) {
    int64_t N = f->offsets[f->n_trees];
    if (N > INT32_MAX) return NULL; /* 32-bit node ids: 2^31 nodes are 64 GiB of forest */
    packed_node *p = malloc((size_t)(N ? N : 1) * sizeof *p);
    if (!p) return NULL;
    for (int64_t t = 0; t < f->n_trees; t++) {
        int64_t base = f->offsets[t];
        for (int64_t i = base; i < f->offsets[t + 1]; i++) {
            bool leaf = f->left[i] == 0;
            p[i] = (packed_node){leaf ? 0 : round_down(f->threshold[i]), leaf ? -1 : (int32_t)(f->feature[i] - 1),
                                 leaf ? 0 : (int32_t)(base + f->left[i] - 1), leaf ? 0 : (int32_t)(base + f->right[i] - 1)};
        }
    }
    return p;
}

static inline int64_t leaf_of(const packed_node *p, int64_t node, const float *x) {
    while (p[node].feature >= 0) node = x[p[node].feature] <= p[node].threshold ? p[node].left : p[node].right;
    return node;
}

typedef struct {
    const ml_forest_view *f;
    const packed_node *nodes;
    const float *X;
    int64_t n, d;
    int64_t *leaf;
    double *out, *count;
    bool normalize;
    const uint16_t *inbag;
} predict_ctx;

#define ROW_BLOCK 2048 /* rows walked through one tree before the next: the (packed) tree stays in L2 */

static void apply_range(void *vctx, int64_t s, int64_t e) {
    predict_ctx *c = vctx;
    const ml_forest_view *f = c->f;
    for (int64_t b0 = s; b0 < e; b0 += ROW_BLOCK) {
        int64_t b1 = b0 + ROW_BLOCK < e ? b0 + ROW_BLOCK : e;
        for (int64_t t = 0; t < f->n_trees; t++)
            for (int64_t i = b0; i < b1; i++)
                c->leaf[i * f->n_trees + t] = leaf_of(c->nodes, f->offsets[t], c->X + i * c->d) - f->offsets[t] + 1;
    }
}

int ml_forest_apply(int64_t *leaf, const ml_forest_view *f, const float *X, int64_t n, int64_t d) {
    predict_ctx c = {.f = f, .X = X, .n = n, .d = d, .leaf = leaf, .nodes = pack(f)};
    if (!c.nodes) return ml_error("tree: out of memory packing the nodes"), -1;
    ml_parallel_for(n, 256, apply_range, &c);
    free((void *)c.nodes);
    return 0;
}

static void predict_range(void *vctx, int64_t s, int64_t e) {
    predict_ctx *c = vctx;
    const ml_forest_view *f = c->f;
    const int64_t K = f->n_values;
    memset(c->out + s * K, 0, (size_t)((e - s) * K) * sizeof(double));
    if (c->count) memset(c->count + s, 0, (size_t)(e - s) * sizeof(double));
    for (int64_t b0 = s; b0 < e; b0 += ROW_BLOCK) {
        int64_t b1 = b0 + ROW_BLOCK < e ? b0 + ROW_BLOCK : e;
        for (int64_t t = 0; t < f->n_trees; t++)
            for (int64_t i = b0; i < b1; i++) {
                if (c->inbag && c->inbag[t * c->n + i]) continue;
                const double *v = f->value + leaf_of(c->nodes, f->offsets[t], c->X + i * c->d) * K;
                double *o = c->out + i * K, scale = 1.0;
                if (c->normalize) {
                    double sum = 0;
                    for (int64_t k = 0; k < K; k++) sum += v[k];
                    scale = sum > 0 ? 1.0 / sum : 1.0;
                }
                for (int64_t k = 0; k < K; k++) o[k] += v[k] * scale;
                if (c->count) c->count[i] += 1;
            }
    }
    for (int64_t i = s; i < e; i++) {
        double used = c->count ? c->count[i] : (double)f->n_trees;
        if (used > 0)
            for (int64_t k = 0; k < K; k++) c->out[i * K + k] /= used;
    }
}

int ml_forest_predict(double *out, double *count, const ml_forest_view *f, const float *X, int64_t n, int64_t d, bool normalize,
                      const uint16_t *inbag) {
    predict_ctx c = {.f = f, .X = X, .n = n, .d = d, .out = out, .count = count, .normalize = normalize, .inbag = inbag, .nodes = pack(f)};
    if (!c.nodes) return ml_error("tree: out of memory packing the nodes"), -1;
    ml_parallel_for(n, 256, predict_range, &c);
    free((void *)c.nodes);
    return 0;
}

void ml_tree_importances(double *imp, const ml_forest_view *f, const double *impurity, const double *weighted_n, int64_t t, int64_t d) {
    int64_t base = f->offsets[t], end = f->offsets[t + 1];
    memset(imp, 0, (size_t)d * sizeof(double));
    for (int64_t node = base; node < end; node++) {
        if (f->left[node] == 0) continue;
        int64_t l = base + f->left[node] - 1, r = base + f->right[node] - 1;
        imp[f->feature[node] - 1] += weighted_n[node] * impurity[node] - weighted_n[l] * impurity[l] - weighted_n[r] * impurity[r];
    }
    double total = 0;
    for (int64_t j = 0; j < d; j++) total += imp[j] /= weighted_n[base];
    if (total > 0)
        for (int64_t j = 0; j < d; j++) imp[j] /= total;
}
