/* The k-nearest-neighbour search for one element type, included by
 * neighbors.c with T (float or double), GEMM (ml_sgemm or ml_dgemm) and
 * NAME(x) defined. See neighbors.h for what it computes. */

typedef struct {
    const T *Q, *R;
    const T *rnorm; /* [n] |r|^2 */
    int64_t m, n, d;
    const ml_knn_opts *o;
    int64_t *idx; /* [m, k] */
    T *dist;      /* [m, k] or NULL */
    int failed;   /* set by a range that could not allocate its buffers */
} NAME(ctx);

/* (v, j) before (w, i): the order of candidates, nearer first, then the lower index. */
static inline bool NAME(before)(T v, int64_t j, T w, int64_t i) { return v < w || (v == w && j < i); }

/* Offers candidate (v, j) to the max-heap hv/hi of cnt (<= k) entries; returns the new count. */
static inline int64_t NAME(offer)(T *hv, int64_t *hi, int64_t cnt, int64_t k, T v, int64_t j) {
    int64_t c;
    if (cnt < k) { /* sift up */
        c = cnt++;
        while (c > 0) {
            int64_t p = (c - 1) / 2;
            if (!NAME(before)(hv[p], hi[p], v, j)) break;
            hv[c] = hv[p], hi[c] = hi[p];
            c = p;
        }
        hv[c] = v, hi[c] = j;
        return cnt;
    }
    if (!NAME(before)(v, j, hv[0], hi[0])) return cnt;
    c = 0; /* replace the worst and sift down */
    for (;;) {
        int64_t l = 2 * c + 1, big = c;
        T bv = v;
        int64_t bi = j;
        if (l < k && NAME(before)(bv, bi, hv[l], hi[l])) big = l, bv = hv[l], bi = hi[l];
        if (l + 1 < k && NAME(before)(bv, bi, hv[l + 1], hi[l + 1])) big = l + 1;
        if (big == c) break;
        hv[c] = hv[big], hi[c] = hi[big];
        c = big;
    }
    hv[c] = v, hi[c] = j;
    return cnt;
}

/* Exact distances of query row q to its cnt candidates, then ordered by them
 * (insertion sort: k is small), written to the outputs of row i. */
static void NAME(finish)(NAME(ctx) *c, int64_t i, T *hv, int64_t *hi, int64_t cnt) {
    const T *q = c->Q + i * c->d;
    for (int64_t a = 0; a < cnt; a++) {
        const T *r = c->R + hi[a] * c->d;
        double s = 0;
        if (c->o->p == 1) {
            for (int64_t p = 0; p < c->d; p++) s += fabs((double)q[p] - (double)r[p]);
            hv[a] = (T)s;
            continue;
        }
        for (int64_t p = 0; p < c->d; p++) {
            double t = (double)q[p] - (double)r[p];
            s += t * t;
        }
        hv[a] = (T)sqrt(s);
    }
    for (int64_t a = 1; a < cnt; a++) {
        T v = hv[a];
        int64_t j = hi[a], b = a - 1;
        while (b >= 0 && NAME(before)(v, j, hv[b], hi[b])) hv[b + 1] = hv[b], hi[b + 1] = hi[b], b--;
        hv[b + 1] = v, hi[b + 1] = j;
    }
    int64_t k = c->o->k, base = c->o->index_base;
    for (int64_t a = 0; a < k; a++) {
        c->idx[i * k + a] = hi[a] + base;
        if (c->dist) c->dist[i * k + a] = hv[a];
    }
}

/* tile [qm, rn]: the Manhattan distances of qm query rows Q to rn reference rows R (the keys of p = 1). */
static void NAME(l1_tile)(T *tile, const T *Q, const T *R, int64_t qm, int64_t rn, int64_t d) {
    for (int64_t i = 0; i < qm; i++)
        for (int64_t j = 0; j < rn; j++) {
            const T *q = Q + i * d, *r = R + j * d;
            T s = 0;
            for (int64_t p = 0; p < d; p++) s += q[p] > r[p] ? q[p] - r[p] : r[p] - q[p];
            tile[i * rn + j] = s;
        }
}

/* Query blocks [b0, b1): one distance tile and one heap per block row, made once per range. */
static void NAME(range)(void *vctx, int64_t b0, int64_t b1) {
    NAME(ctx) *c = vctx;
    const int64_t m = c->m, n = c->n, d = c->d, k = c->o->k;
    const int64_t rb = n < KNN_REF_TILE ? n : KNN_REF_TILE;
    T *tile = malloc(sizeof(T) * KNN_QUERY_BLOCK * (rb > 0 ? rb : 1)); /* [QB, RB] -2 q.r */
    T *hv = malloc(sizeof(T) * KNN_QUERY_BLOCK * k);            /* [QB, k] heap keys */
    int64_t *hi = malloc(sizeof(int64_t) * KNN_QUERY_BLOCK * k); /* [QB, k] heap indices */
    int64_t *cnt = malloc(sizeof(int64_t) * KNN_QUERY_BLOCK);
    int64_t *skip = malloc(sizeof(int64_t) * KNN_QUERY_BLOCK);
    if (!tile || !hv || !hi || !cnt || !skip) {
        __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
        goto done;
    }
    for (int64_t b = b0; b < b1; b++) {
        int64_t q0 = b * KNN_QUERY_BLOCK, qm = m - q0 < KNN_QUERY_BLOCK ? m - q0 : KNN_QUERY_BLOCK;
        for (int64_t i = 0; i < qm; i++) {
            cnt[i] = 0;
            skip[i] = c->o->skip ? c->o->skip[q0 + i] - c->o->index_base : c->o->skip_same ? q0 + i : -1;
        }
        for (int64_t r0 = 0; r0 < n; r0 += rb) {
            int64_t rn = n - r0 < rb ? n - r0 : rb;
            if (c->o->p == 1)
                NAME(l1_tile)(tile, c->Q + q0 * d, c->R + r0 * d, qm, rn, d);
            else
                GEMM(false, true, qm, rn, d, (T)-2, c->Q + q0 * d, d, c->R + r0 * d, d, (T)0, tile, rn);
            for (int64_t i = 0; i < qm; i++) {
                const T *row = tile + i * rn, *rn2 = c->rnorm + r0;
                T *h = hv + i * k;
                int64_t *hj = hi + i * k, ci = cnt[i], s = skip[i] - r0;
                /* key |r|^2 - 2 q.r: the squared distance less |q|^2, the same order. Once the heap
                 * is full only keys below its worst enter (a later j loses a tie), which few do:
                 * a vector test of each 16 keys first, the heap only for a chunk with one. */
                T thr = ci == k ? h[0] : (T)INFINITY;
                int64_t j = 0;
                for (; j < rn; j += 16) {
                    int64_t e = rn - j < 16 ? rn - j : 16;
                    if (e == 16 && !NAME(any_below16)(row + j, rn2 + j, thr)) continue;
                    for (int64_t t = j; t < j + e; t++) {
                        T v = row[t] + rn2[t];
                        if (t == s || !(v < thr)) continue;
                        ci = NAME(offer)(h, hj, ci, k, v, r0 + t);
                        if (ci == k) thr = h[0];
                    }
                }
                cnt[i] = ci;
            }
        }
        for (int64_t i = 0; i < qm; i++) NAME(finish)(c, q0 + i, hv + i * k, hi + i * k, cnt[i]);
    }
done:
    free(tile), free(hv), free(hi), free(cnt), free(skip);
}

int NAME(knn)(int64_t *idx, T *dist, const T *Q, const T *R, int64_t m, int64_t n, int64_t d, const ml_knn_opts *o) {
    if (m < 0 || n < 0 || d < 0) return ml_error("knn: negative size (m %lld, n %lld, d %lld)", (long long)m, (long long)n, (long long)d), -1;
    int64_t avail = n - ((o->skip || o->skip_same) ? 1 : 0);
    if (o->k < 1 || o->k > avail)
        return ml_error("knn: k = %lld, expected 1..%lld (the candidates of each query row)", (long long)o->k, (long long)avail), -1;
    if (o->p != 0 && o->p != 1 && o->p != 2) return ml_error("knn: p = %d, expected 1 (Manhattan) or 2 (Euclidean)", o->p), -1;
    if (o->skip_same && m > n) return ml_error("knn: skip_same needs m <= n, got m %lld, n %lld", (long long)m, (long long)n), -1;
    if (m == 0) return 0;
    T *rnorm = malloc(sizeof(T) * n);
    if (!rnorm) return ml_error("knn: out of memory (%lld reference rows)", (long long)n), -1;
    for (int64_t j = 0; j < n; j++) {
        const T *r = R + j * d;
        double s = 0; /* in double for float32 too: the key's one term not from the product */
        if (o->p != 1) /* Manhattan keys are the distances themselves */
            for (int64_t p = 0; p < d; p++) s += (double)r[p] * r[p];
        rnorm[j] = (T)s;
    }
    NAME(ctx) c = {Q, R, rnorm, m, n, d, o, idx, dist, 0};
    int64_t blocks = (m + KNN_QUERY_BLOCK - 1) / KNN_QUERY_BLOCK;
    ml_parallel_for(blocks, 1, NAME(range), &c);
    free(rnorm);
    if (c.failed) return ml_error("knn: out of memory for the distance tiles"), -1;
    return 0;
}
