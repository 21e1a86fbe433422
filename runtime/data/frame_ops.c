/* Keys to group ids, the stable multi-key sort, duplicated rows, fills and
 * the hash join (see frame_ops.h).
 *
 * One key is factorized either through a direct table (integers whose range
 * is small next to the row count: codes, small-integer keys) or through an
 * open-addressing hash of the value's bits. Several keys are combined one
 * at a time: the ids so far times the next key's group count plus its id,
 * factorized again, so sorted ids stay in lexicographic order. */
#include "frame_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "frame_scratch.h"

#define MISSING_MARK (-2) /* a row whose key is missing, before it gets its id */

/* ---- one key's values -------------------------------------------------- */
static inline bool key_missing(const ml_frame_key *k, int64_t i) {
    if (k->kind == ML_KEY_F64) return isnan(((const double *)k->values)[i]);
    if (k->valid && !k->valid[i]) return true;
    return k->zero_missing && k->kind == ML_KEY_I64 && ((const int64_t *)k->values)[i] == 0;
}

/* An integer key's value (a code's rank when the key has one). */
static inline int64_t key_int(const ml_frame_key *k, int64_t i) {
    if (k->kind == ML_KEY_U8) return ((const uint8_t *)k->values)[i];
    int64_t v = ((const int64_t *)k->values)[i];
    return k->rank ? k->rank[v] : v;
}

/* The bits that make two float keys equal (-0.0 is 0.0). */
static inline uint64_t f64_bits(double x) {
    if (x == 0) x = 0;
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* ---- the hash table: value bits -> group id ------------------------------ */
typedef struct {
    uint64_t *keys;
    int64_t *ids; /* -1: empty slot */
    int64_t cap, count;
} htab;

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static int htab_init(htab *h, int64_t cap) {
    h->cap = cap;
    h->count = 0;
    h->keys = fs_malloc((size_t)cap * sizeof(uint64_t));
    h->ids = fs_malloc((size_t)cap * sizeof(int64_t));
    if (!h->keys || !h->ids) {
        fs_free(h->keys), fs_free(h->ids);
        ml_error("out of memory");
        return -1;
    }
    memset(h->ids, 0xff, (size_t)cap * sizeof(int64_t));
    return 0;
}

static void htab_free(htab *h) { fs_free(h->keys), fs_free(h->ids); }

static int htab_grow(htab *h) {
    htab g;
    if (htab_init(&g, h->cap * 2) < 0) return -1;
    for (int64_t s = 0; s < h->cap; s++) {
        if (h->ids[s] < 0) continue;
        int64_t j = (int64_t)(mix64(h->keys[s]) & (uint64_t)(g.cap - 1));
        while (g.ids[j] >= 0) j = (j + 1) & (g.cap - 1);
        g.keys[j] = h->keys[s], g.ids[j] = h->ids[s];
    }
    g.count = h->count;
    htab_free(h);
    *h = g;
    return 0;
}

/* The id of key (a new one, h->count, when unseen); -1 on failure. */
static inline int64_t htab_id(htab *h, uint64_t key) {
    int64_t j = (int64_t)(mix64(key) & (uint64_t)(h->cap - 1));
    for (;; j = (j + 1) & (h->cap - 1)) {
        if (h->ids[j] < 0) break;
        if (h->keys[j] == key) return h->ids[j];
    }
    h->keys[j] = key, h->ids[j] = h->count++;
    if (2 * h->count > h->cap && htab_grow(h) < 0) return -1;
    return h->count - 1;
}

/* ---- sorting by value: LSD radix sort of (order-preserving bits, id) ---- */
typedef struct { uint64_t key; int64_t id; } sort_item;

/* Bits whose unsigned order is the value's order. */
static inline uint64_t order_bits_f64(double x) {
    uint64_t u = f64_bits(x);
    return (u >> 63) ? ~u : u | (1ull << 63);
}
static inline uint64_t order_bits_i64(int64_t v) { return (uint64_t)v ^ (1ull << 63); }

/* Sorts a[0..n) by key, stably (ids of equal keys keep their order), one
 * byte a pass, skipping the bytes every key shares. tmp holds n items;
 * the result is left in a. */
static void radix_sort(sort_item *a, sort_item *tmp, int64_t n) {
    sort_item *orig = a;
    uint64_t all_or = 0, all_and = ~0ull;
    for (int64_t i = 0; i < n; i++) all_or |= a[i].key, all_and &= a[i].key;
    for (int shift = 0; shift < 64; shift += 8) {
        if ((((all_or ^ all_and) >> shift) & 0xff) == 0) continue; /* every key has this byte */
        int64_t count[257] = {0};
        for (int64_t i = 0; i < n; i++) count[((a[i].key >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++) count[b + 1] += count[b];
        for (int64_t i = 0; i < n; i++) tmp[count[(a[i].key >> shift) & 0xff]++] = a[i];
        sort_item *t = a; a = tmp; tmp = t;
    }
    if (a != orig) memcpy(orig, a, (size_t)n * sizeof *a);
}

/* ids of first appearance (missing rows MISSING_MARK) through a hash; with
 * sort, renumbered in value order. Returns the number of distinct values. */
static int64_t factor_hash(int64_t *ids, const ml_frame_key *k, int64_t n, bool sort) {
    htab h;
    if (htab_init(&h, 1024) < 0) return -1;
    bool f = k->kind == ML_KEY_F64;
    const double *xf = k->values;
    for (int64_t i = 0; i < n; i++) {
        if (key_missing(k, i)) { ids[i] = MISSING_MARK; continue; }
        uint64_t bits = f ? f64_bits(xf[i]) : (uint64_t)key_int(k, i);
        if ((ids[i] = htab_id(&h, bits)) < 0) { htab_free(&h); return -1; }
    }
    int64_t g = h.count;
    if (sort && g > 1) {
        sort_item *items = fs_malloc((size_t)g * sizeof(sort_item));
        sort_item *tmp = fs_malloc((size_t)g * sizeof(sort_item));
        int64_t *newid = fs_malloc((size_t)g * sizeof(int64_t));
        if (!items || !tmp || !newid) { fs_free(items), fs_free(tmp), fs_free(newid), htab_free(&h); ml_error("out of memory"); return -1; }
        for (int64_t s = 0; s < h.cap; s++) {
            int64_t id = h.ids[s];
            if (id < 0) continue;
            double v;
            memcpy(&v, &h.keys[s], sizeof v);
            items[id] = (sort_item){f ? order_bits_f64(v) : order_bits_i64((int64_t)h.keys[s]), id};
        }
        radix_sort(items, tmp, g);
        for (int64_t r = 0; r < g; r++) newid[items[r].id] = r;
        for (int64_t i = 0; i < n; i++)
            if (ids[i] >= 0) ids[i] = newid[ids[i]];
        fs_free(items), fs_free(tmp), fs_free(newid);
    }
    htab_free(&h);
    return g;
}

/* The same for integers of a small range [lo, hi], through a direct table. */
static int64_t factor_direct(int64_t *ids, const ml_frame_key *k, int64_t n, bool sort, int64_t lo, int64_t hi) {
    int64_t range = hi - lo + 1;
    int64_t *map = fs_malloc((size_t)range * sizeof(int64_t));
    if (!map) { ml_error("out of memory"); return -1; }
    memset(map, 0xff, (size_t)range * sizeof(int64_t));
    int64_t g = 0;
    if (sort) {
        for (int64_t i = 0; i < n; i++)
            if (!key_missing(k, i)) map[key_int(k, i) - lo] = 0;
        for (int64_t v = 0; v < range; v++)
            if (map[v] == 0) map[v] = g++;
        for (int64_t i = 0; i < n; i++) ids[i] = key_missing(k, i) ? MISSING_MARK : map[key_int(k, i) - lo];
    } else {
        for (int64_t i = 0; i < n; i++) {
            if (key_missing(k, i)) { ids[i] = MISSING_MARK; continue; }
            int64_t *m = &map[key_int(k, i) - lo];
            if (*m < 0) *m = g++;
            ids[i] = *m;
        }
    }
    fs_free(map);
    return g;
}

/* Unsorted ids with the missing key a group of its own at the place of its
 * first appearance (pandas' order for merge keys). Returns G. */
static int64_t missing_in_place(int64_t *ids, int64_t n, int64_t g) {
    int64_t first = 0, before = 0;
    while (first < n && ids[first] != MISSING_MARK) {
        if (ids[first] >= before) before = ids[first] + 1;
        first++;
    }
    if (first == n) return g;
    for (int64_t i = 0; i < n; i++) ids[i] = ids[i] == MISSING_MARK ? before : ids[i] + (ids[i] >= before);
    return g + 1;
}

/* One key: ids 0..G-1 (missing last, or first with na_first when sorted, or
 * -1 with dropna), descending reversing the sorted order. Returns G. */
static int64_t factor_one(int64_t *ids, const ml_frame_key *k, int64_t n, bool sort, bool dropna) {
    int64_t g = -1;
    if (k->kind != ML_KEY_F64) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (int64_t i = 0; i < n; i++) {
            if (key_missing(k, i)) continue;
            int64_t v = key_int(k, i);
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        if (lo > hi) lo = hi = 0;
        /* hi - lo can overflow: compare as unsigned */
        if ((uint64_t)hi - (uint64_t)lo < (uint64_t)(2 * n + 65536)) g = factor_direct(ids, k, n, sort, lo, hi);
        else g = factor_hash(ids, k, n, sort);
    } else g = factor_hash(ids, k, n, sort);
    if (g < 0) return -1;
    if (!sort && !dropna) return missing_in_place(ids, n, g);
    bool any_missing = false;
    bool desc = sort && k->descending, first = sort && k->na_first && !dropna;
    for (int64_t i = 0; i < n; i++) {
        int64_t id = ids[i];
        if (id == MISSING_MARK) {
            any_missing = true;
            ids[i] = dropna ? -1 : first ? 0 : g;
        } else {
            if (desc) id = g - 1 - id;
            ids[i] = first ? id + 1 : id;
        }
    }
    /* "first" shifted every id by one: without a missing row, undo it */
    if (first && !any_missing)
        for (int64_t i = 0; i < n; i++) ids[i]--;
    return g + (any_missing && !dropna);
}

int64_t ml_frame_factorize(int64_t *ids, const ml_frame_key *keys, int nkeys, int64_t n, int flags) {
    bool sort = flags & ML_FACT_SORT, dropna = flags & ML_FACT_DROPNA;
    if (nkeys < 1) { ml_error("expected at least one key"); return -1; }
    int64_t G = factor_one(ids, &keys[0], n, sort, dropna);
    if (G < 0 || nkeys == 1) return G;
    int64_t *next = fs_malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    uint8_t *valid = fs_malloc((size_t)(n ? n : 1));
    if (!next || !valid) { fs_free(next), fs_free(valid); ml_error("out of memory"); return -1; }
    for (int k = 1; k < nkeys && G >= 0; k++) {
        int64_t g = factor_one(next, &keys[k], n, sort, dropna);
        if (g < 0) { G = -1; break; }
        if (G > 0 && g > INT64_MAX / G) { ml_error("too many key combinations"); G = -1; break; }
        for (int64_t i = 0; i < n; i++) {
            valid[i] = ids[i] >= 0 && next[i] >= 0;
            ids[i] = valid[i] ? ids[i] * g + next[i] : 0;
        }
        ml_frame_key comb = {.kind = ML_KEY_I64, .values = ids, .valid = valid};
        /* factor_one reads ids while it writes next: into next, then back */
        G = factor_one(next, &comb, n, sort, true);
        memcpy(ids, next, (size_t)n * sizeof(int64_t));
    }
    fs_free(next), fs_free(valid);
    return G;
}

/* ---- the stable sort ------------------------------------------------------ */
int ml_frame_argsort(int64_t *order, const ml_frame_key *keys, int nkeys, int64_t n) {
    int64_t *rank = fs_malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    if (!rank) { ml_error("out of memory"); return -1; }
    int64_t G = ml_frame_factorize(rank, keys, nkeys, n, ML_FACT_SORT);
    int64_t *start = G >= 0 ? fs_calloc((size_t)G + 1, sizeof(int64_t)) : NULL;
    if (!start) {
        fs_free(rank);
        if (G >= 0) ml_error("out of memory");
        return -1;
    }
    /* a counting sort over the dense ranks: stable by construction */
    for (int64_t i = 0; i < n; i++) start[rank[i] + 1]++;
    for (int64_t g = 0; g < G; g++) start[g + 1] += start[g];
    for (int64_t i = 0; i < n; i++) order[start[rank[i]]++] = i;
    fs_free(start), fs_free(rank);
    return 0;
}

/* qsort passes no context to its comparator: the pool goes through this
 * variable, under a critical section so two threads never share it. */
static const ml_strpool *rank_pool;
static int cmp_codes(const void *a, const void *b) {
    size_t la, lb;
    const char *sa = ml_strpool_get(rank_pool, *(const int64_t *)a, &la);
    const char *sb = ml_strpool_get(rank_pool, *(const int64_t *)b, &lb);
    int c = memcmp(sa, sb, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

int ml_frame_pool_ranks(int64_t *rank, const ml_strpool *p) {
    int64_t count = ml_strpool_count(p);
    int64_t *codes = fs_malloc((size_t)(count ? count : 1) * sizeof(int64_t));
    if (!codes) { ml_error("out of memory"); return -1; }
    for (int64_t k = 0; k < count; k++) codes[k] = k + 1;
    #pragma omp critical(ml_frame_rank_pool)
    {
        rank_pool = p;
        qsort(codes, (size_t)count, sizeof(int64_t), cmp_codes);
    }
    rank[0] = 0;
    for (int64_t r = 0; r < count; r++) rank[codes[r]] = r + 1;
    fs_free(codes);
    return 0;
}

/* ---- rows ---------------------------------------------------------------- */
int ml_frame_duplicated(uint8_t *dup, const int64_t *ids, int64_t n, int64_t G, ml_keep keep) {
    int64_t *seen = fs_calloc((size_t)(G ? G : 1), sizeof(int64_t));
    if (!seen) { ml_error("out of memory"); return -1; }
    if (keep == ML_KEEP_FIRST) {
        for (int64_t i = 0; i < n; i++) dup[i] = seen[ids[i]]++ > 0;
    } else if (keep == ML_KEEP_LAST) {
        for (int64_t i = n - 1; i >= 0; i--) dup[i] = seen[ids[i]]++ > 0;
    } else {
        for (int64_t i = 0; i < n; i++) seen[ids[i]]++;
        for (int64_t i = 0; i < n; i++) dup[i] = seen[ids[i]] > 1;
    }
    fs_free(seen);
    return 0;
}

void ml_frame_group_counts(int64_t *counts, const int64_t *ids, int64_t n, int64_t G) {
    memset(counts, 0, (size_t)G * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++)
        if (ids[i] >= 0) counts[ids[i]]++;
}

void ml_frame_fill_source(int64_t *src, const uint8_t *missing, int64_t n, bool backward, int64_t limit) {
    int64_t last = -1;
    for (int64_t s = 0; s < n; s++) {
        int64_t i = backward ? n - 1 - s : s;
        if (!missing[i]) { last = i; src[i] = i; continue; }
        int64_t gap = last < 0 ? 0 : (backward ? last - i : i - last);
        src[i] = last >= 0 && (limit < 0 || gap <= limit) ? last : i;
    }
}

/* ---- the join ------------------------------------------------------------- */
/* rows grouped by id: rows[start[g] .. start[g + 1]) in row order. */
static int buckets(int64_t **start, int64_t **rows, const int64_t *id, int64_t n, int64_t G) {
    *start = fs_calloc((size_t)G + 1, sizeof(int64_t));
    *rows = fs_malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    int64_t *fill = fs_malloc((size_t)(G ? G : 1) * sizeof(int64_t));
    if (!*start || !*rows || !fill) {
        fs_free(*start), fs_free(*rows), fs_free(fill);
        *start = *rows = NULL;
        ml_error("out of memory");
        return -1;
    }
    for (int64_t i = 0; i < n; i++) (*start)[id[i] + 1]++;
    for (int64_t g = 0; g < G; g++) (*start)[g + 1] += (*start)[g];
    memcpy(fill, *start, (size_t)G * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) (*rows)[fill[id[i]]++] = i;
    fs_free(fill);
    return 0;
}

#define EMIT(l, r) do { if (lidx) { lidx[m] = (l); ridx[m] = (r); } m++; } while (0)

int64_t ml_frame_join(int64_t *lidx, int64_t *ridx, const int64_t *lid, int64_t nl, const int64_t *rid, int64_t nr,
                      int64_t G, ml_join_how how) {
    for (int64_t i = 0; i < nl; i++)
        if (lid[i] < 0 || lid[i] >= G) { ml_error("left key id %lld out of range 0..%lld", (long long)lid[i], (long long)G - 1); return -1; }
    for (int64_t j = 0; j < nr; j++)
        if (rid[j] < 0 || rid[j] >= G) { ml_error("right key id %lld out of range 0..%lld", (long long)rid[j], (long long)G - 1); return -1; }
    int64_t *ls, *lr, *rs, *rr;
    if (buckets(&ls, &lr, lid, nl, G) < 0) return -1;
    if (buckets(&rs, &rr, rid, nr, G) < 0) { fs_free(ls), fs_free(lr); return -1; }
    int64_t m = 0;
    if (how == ML_JOIN_LEFT) {
        for (int64_t i = 0; i < nl; i++) {
            int64_t g = lid[i];
            if (rs[g] == rs[g + 1]) EMIT(i, -1);
            for (int64_t q = rs[g]; q < rs[g + 1]; q++) EMIT(i, rr[q]);
        }
    } else if (how == ML_JOIN_RIGHT) {
        for (int64_t j = 0; j < nr; j++) {
            int64_t g = rid[j];
            if (ls[g] == ls[g + 1]) EMIT(-1, j);
            for (int64_t p = ls[g]; p < ls[g + 1]; p++) EMIT(lr[p], j);
        }
    } else {
        for (int64_t g = 0; g < G; g++) {
            int64_t lc = ls[g + 1] - ls[g], rc = rs[g + 1] - rs[g];
            if (how == ML_JOIN_OUTER && rc == 0)
                for (int64_t p = ls[g]; p < ls[g + 1]; p++) EMIT(lr[p], -1);
            else if (how == ML_JOIN_OUTER && lc == 0)
                for (int64_t q = rs[g]; q < rs[g + 1]; q++) EMIT(-1, rr[q]);
            else
                for (int64_t p = ls[g]; p < ls[g + 1]; p++)
                    for (int64_t q = rs[g]; q < rs[g + 1]; q++) EMIT(lr[p], rr[q]);
        }
    }
    fs_free(ls), fs_free(lr), fs_free(rs), fs_free(rr);
    return m;
}
