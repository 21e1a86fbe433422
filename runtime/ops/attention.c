/* Fused scaled dot-product attention (see attention.h). One (batch, head)
 * block per task of the parallel loop; inside it the GEMMs run on one
 * thread (ml_sgemm does so inside a parallel region), so blocks never wait
 * on each other. Backward, per block, with P the softmax, Pd = P * keep / (1 - p):
 *   dV = Pd^T dO
 *   dP = (dO V^T) * keep / (1 - p)
 *   D_i = sum_j P_ij dP_ij
 *   dS = P * (dP - D)
 *   dQ = scale * dS K,  dK = scale * dS^T Q
 * P is recomputed from Q, K, the mask and the saved log-sum-exp. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "../core/parallel.h"
#include "attention.h"
#include "gemm.h"
#include "ops.h"
#include "random.h"
#include "vecmath.h"

enum { MASK_NONE, MASK_BOOL, MASK_ADD };

typedef struct {
    int64_t L, S, E, Ev;                 /* queries, keys, head dim, value dim */
    const char *q, *k, *v;               /* base of each tensor's data (bytes) */
    const int64_t *qo, *ko, *vo, *mo;    /* per block: element offset of its (L|S, E) matrix */
    int64_t ldq, ldk, ldv, mrs, mcs;     /* row strides; the mask's row and column strides */
    const char *mask;
    int mask_kind;
    bool causal;
    double scale, p;
    uint64_t seed;
    void *out;     /* (N, L, Ev) contiguous */
    void *lse;     /* (N, L) */
    void *weights; /* (N, L, S) or NULL */
    const void *gout;     /* backward: (N, L, Ev) contiguous */
    void *gq, *gk, *gv;   /* backward: contiguous (N, L, E), (N, S, E), (N, S, Ev), or NULL */
    int failed;
} attn_job;

/* The dropout decision of element idx of the (N, L, S) weights: a uniform
 * from splitmix64 of (seed, idx), so any thread and the backward agree. */
static inline bool dropped(uint64_t seed, uint64_t idx, double p) {
    uint64_t z = seed + (idx + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53 < p;
}

#define DEF_ATTN(T, GEMM, VM)                                                                                    \
    /* s (L, S) = scale * Q K^T, masked (-inf where a key does not take part) */                                \
    static void scores_##T(const attn_job *j, int64_t b, T *s) {                                                \
        int64_t L = j->L, S = j->S;                                                                             \
        const T *Q = (const T *)j->q + j->qo[b], *K = (const T *)j->k + j->ko[b];                               \
        GEMM(false, true, L, S, j->E, (T)j->scale, Q, j->ldq, K, j->ldk, 0, s, S);                              \
        if (j->mask_kind == MASK_BOOL) {                                                                        \
            const bool *m = (const bool *)j->mask + j->mo[b];                                                   \
            for (int64_t i = 0; i < L; i++)                                                                     \
                for (int64_t c = 0; c < S; c++)                                                                 \
                    if (!m[i * j->mrs + c * j->mcs]) s[i * S + c] = -INFINITY;                                  \
        } else if (j->mask_kind == MASK_ADD) {                                                                  \
            const T *m = (const T *)j->mask + j->mo[b];                                                         \
            for (int64_t i = 0; i < L; i++)                                                                     \
                for (int64_t c = 0; c < S; c++) s[i * S + c] += m[i * j->mrs + c * j->mcs];                     \
        }                                                                                                       \
        if (j->causal)                                                                                          \
            for (int64_t i = 0; i < L && i + 1 < S; i++)                                                        \
                for (int64_t c = i + 1; c < S; c++) s[i * S + c] = -INFINITY;                                   \
    }                                                                                                           \
    /* dropout of row i of block b in place: Pd = P * keep / (1 - p) */                                         \
    static void drop_row_##T(const attn_job *j, int64_t b, int64_t i, T *row) {                                 \
        T keep = (T)(1.0 / (1.0 - j->p));                                                                       \
        uint64_t base = ((uint64_t)b * j->L + i) * j->S;                                                        \
        for (int64_t c = 0; c < j->S; c++) row[c] = dropped(j->seed, base + c, j->p) ? 0 : row[c] * keep;       \
    }                                                                                                           \
    static void attn_fwd_##T(void *ctx, int64_t b0, int64_t b1) {                                               \
        attn_job *j = ctx;                                                                                      \
        int64_t L = j->L, S = j->S, Ev = j->Ev;                                                                 \
        T *s = malloc(sizeof(T) * (L * S > 0 ? L * S : 1));                                                     \
        if (!s) { j->failed = 1; return; }                                                                      \
        for (int64_t b = b0; b < b1; b++) {                                                                     \
            scores_##T(j, b, s);                                                                                \
            T *lse = (T *)j->lse + b * L;                                                                       \
            for (int64_t i = 0; i < L; i++) {                                                                   \
                T *row = s + i * S, m = -INFINITY;                                                              \
                for (int64_t c = 0; c < S; c++) m = row[c] > m ? row[c] : m;                                    \
                if (m == -INFINITY) { /* every key masked: zeros */                                            \
                    memset(row, 0, sizeof(T) * S);                                                              \
                    lse[i] = -INFINITY;                                                                         \
                    continue;                                                                                   \
                }                                                                                               \
                for (int64_t c = 0; c < S; c++) row[c] -= m;                                                    \
                VM(ML_VM_EXP, row, row, S);                                                                     \
                double sum = 0;                                                                                 \
                for (int64_t c = 0; c < S; c++) sum += row[c];                                                  \
                lse[i] = (T)(m + log(sum));                                                                     \
                T inv = (T)(1.0 / sum);                                                                         \
                for (int64_t c = 0; c < S; c++) row[c] *= inv;                                                  \
                if (j->p > 0) drop_row_##T(j, b, i, row);                                               \
            }                                                                                                   \
            if (j->weights) memcpy((T *)j->weights + b * L * S, s, sizeof(T) * L * S);                          \
            GEMM(false, false, L, Ev, S, 1, s, S, (const T *)j->v + j->vo[b], j->ldv, 0, (T *)j->out + b * L * Ev, \
                 Ev);                                                                                           \
        }                                                                                                       \
        free(s);                                                                                                \
    }                                                                                                           \
    static void attn_bwd_##T(void *ctx, int64_t b0, int64_t b1) {                                               \
        attn_job *j = ctx;                                                                                      \
        int64_t L = j->L, S = j->S, E = j->E, Ev = j->Ev, n = L * S > 0 ? L * S : 1;                            \
        bool drop = j->p > 0;                                                                                   \
        T *buf = malloc(sizeof(T) * n * (drop ? 3 : 2));                                                        \
        if (!buf) { j->failed = 1; return; }                                                                    \
        T *P = buf, *dP = buf + n, *Pd = drop ? buf + 2 * n : buf; /* P (L, S), dP (L, S), Pd (L, S) */         \
        for (int64_t b = b0; b < b1; b++) {                                                                     \
            const T *lse = (const T *)j->lse + b * L, *dO = (const T *)j->gout + b * L * Ev;                   \
            const T *Q = (const T *)j->q + j->qo[b], *K = (const T *)j->k + j->ko[b];                           \
            const T *V = (const T *)j->v + j->vo[b];                                                            \
            scores_##T(j, b, P);                                                                                \
            for (int64_t i = 0; i < L; i++) {                                                                   \
                T *row = P + i * S;                                                                             \
                if (lse[i] == -INFINITY) { memset(row, 0, sizeof(T) * S); continue; }                           \
                for (int64_t c = 0; c < S; c++) row[c] -= lse[i];                                               \
                VM(ML_VM_EXP, row, row, S);                                                                     \
                if (drop) {                                                                                     \
                    memcpy(Pd + i * S, row, sizeof(T) * S);                                                     \
                    drop_row_##T(j, b, i, Pd + i * S);                                                          \
                }                                                                                               \
            }                                                                                                   \
            if (j->gv) GEMM(true, false, S, Ev, L, 1, Pd, S, dO, Ev, 0, (T *)j->gv + b * S * Ev, Ev);           \
            if (!j->gq && !j->gk) continue;                                                                     \
            GEMM(false, true, L, S, Ev, 1, dO, Ev, V, j->ldv, 0, dP, S);                                        \
            for (int64_t i = 0; i < L; i++) {                                                                   \
                T *p = P + i * S, *g = dP + i * S;                                                              \
                if (drop) {                                                                                     \
                    T keep = (T)(1.0 / (1.0 - j->p));                                                           \
                    uint64_t base = ((uint64_t)b * L + i) * S;                                                  \
                    for (int64_t c = 0; c < S; c++) g[c] = dropped(j->seed, base + c, j->p) ? 0 : g[c] * keep;  \
                }                                                                                               \
                double D = 0;                                                                                   \
                for (int64_t c = 0; c < S; c++) D += (double)p[c] * g[c];                                       \
                for (int64_t c = 0; c < S; c++) g[c] = p[c] * (g[c] - (T)D);                                    \
            }                                                                                                   \
            if (j->gq) GEMM(false, false, L, E, S, (T)j->scale, dP, S, K, j->ldk, 0, (T *)j->gq + b * L * E, E); \
            if (j->gk) GEMM(true, false, S, E, L, (T)j->scale, dP, S, Q, j->ldq, 0, (T *)j->gk + b * S * E, E);  \
        }                                                                                                       \
        free(buf);                                                                                              \
    }
DEF_ATTN(float, ml_sgemm, ml_vm_map_f32)
DEF_ATTN(double, ml_dgemm, ml_vm_map_f64)

/* Element offset of each block's matrix: block b unravelled over the batch
 * dimensions (the first nb of shape) with t's strides (st). New array. */
static int64_t *block_offsets(int nb, const int64_t *shape, const int64_t *st, int64_t base, int64_t N) {
    int64_t *off = malloc(sizeof(int64_t) * (N > 0 ? N : 1));
    if (!off) return NULL;
    for (int64_t b = 0; b < N; b++) {
        int64_t r = b, o = base;
        for (int d = nb - 1; d >= 0; d--) {
            o += (r % shape[d]) * st[d];
            r /= shape[d];
        }
        off[b] = o;
    }
    return off;
}

typedef struct {
    int64_t *qo, *ko, *vo, *mo;
} attn_offsets;

static void offsets_free(attn_offsets *a) {
    free(a->qo);
    free(a->ko);
    free(a->vo);
    free(a->mo);
}

/* Fills the job's geometry from q, k, v and the mask (already checked). */
static int job_init(attn_job *j, attn_offsets *a, ml_tensor *q, ml_tensor *k, ml_tensor *v, ml_tensor *mask,
                    bool causal, double scale, double p, uint64_t seed) {
    memset(j, 0, sizeof *j);
    memset(a, 0, sizeof *a);
    int nd = q->ndim, nb = nd - 2;
    int64_t N = 1;
    for (int d = 0; d < nb; d++) N *= q->shape[d];
    j->L = q->shape[nd - 2];
    j->S = k->shape[nd - 2];
    j->E = q->shape[nd - 1];
    j->Ev = v->shape[nd - 1];
    j->q = (const char *)q->storage->data;
    j->k = (const char *)k->storage->data;
    j->v = (const char *)v->storage->data;
    j->ldq = q->strides[nd - 2];
    j->ldk = k->strides[nd - 2];
    j->ldv = v->strides[nd - 2];
    a->qo = block_offsets(nb, q->shape, q->strides, q->offset, N);
    a->ko = block_offsets(nb, k->shape, k->strides, k->offset, N);
    a->vo = block_offsets(nb, v->shape, v->strides, v->offset, N);
    if (mask) {
        int64_t full[ML_MAX_DIMS], st[ML_MAX_DIMS];
        memcpy(full, q->shape, sizeof(int64_t) * nd);
        full[nd - 1] = j->S;
        ml_broadcast_strides(mask, nd, full, st);
        a->mo = block_offsets(nb, full, st, mask->offset, N);
        j->mask = mask->storage->data;
        j->mask_kind = mask->dtype == ML_BOOL ? MASK_BOOL : MASK_ADD;
        j->mrs = st[nd - 2];
        j->mcs = st[nd - 1];
    }
    if (!a->qo || !a->ko || !a->vo || (mask && !a->mo)) {
        offsets_free(a);
        ml_error("attention: out of memory");
        return -1;
    }
    j->qo = a->qo;
    j->ko = a->ko;
    j->vo = a->vo;
    j->mo = a->mo;
    j->causal = causal;
    j->scale = scale;
    j->p = p;
    j->seed = seed;
    return 0;
}

static int64_t blocks_of(const ml_tensor *q) {
    int64_t N = 1;
    for (int d = 0; d < q->ndim - 2; d++) N *= q->shape[d];
    return N;
}

static int attention_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *q = ml_saved(n, 0), *k = q ? ml_saved(n, 1) : NULL, *v = k ? ml_saved(n, 2) : NULL;
    ml_tensor *lse = v ? ml_saved(n, 3) : NULL;
    if (!lse) return -1;
    ml_tensor *mask = NULL; /* the mask is a constant: no gradient, but it must not have changed */
    if (n->saved[4] && !(mask = ml_saved(n, 4))) return -1;
    ml_tensor *gc = ml_contiguous(g);
    if (!gc) return -1;
    ml_tensor *gq = n->needs[0] ? ml_empty(q->ndim, q->shape, q->dtype) : NULL;
    ml_tensor *gk = n->needs[1] ? ml_empty(k->ndim, k->shape, k->dtype) : NULL;
    ml_tensor *gv = n->needs[2] ? ml_empty(v->ndim, v->shape, v->dtype) : NULL;
    attn_job j;
    attn_offsets a;
    int rc = -1;
    if ((n->needs[0] && !gq) || (n->needs[1] && !gk) || (n->needs[2] && !gv)) goto done;
    const ml_node_ctx *c = &n->ctx;
    if (job_init(&j, &a, q, k, v, mask, c->attention.causal, c->attention.scale, c->attention.p, c->attention.seed) < 0)
        goto done;
    j.lse = ml_data(lse);
    j.gout = ml_data(gc);
    j.gq = gq ? ml_data(gq) : NULL;
    j.gk = gk ? ml_data(gk) : NULL;
    j.gv = gv ? ml_data(gv) : NULL;
    ml_parallel_for(blocks_of(q), 1, q->dtype == ML_FLOAT32 ? attn_bwd_float : attn_bwd_double, &j);
    offsets_free(&a);
    if (j.failed) {
        ml_error("attention backward: out of memory");
        goto done;
    }
    gin[0] = gq;
    gin[1] = gk;
    gin[2] = gv;
    gq = gk = gv = NULL;
    rc = 0;
done:
    ml_release(gc);
    ml_release(gq);
    ml_release(gk);
    ml_release(gv);
    return rc;
}

static void *shape_error(const char *fn, const char *what, const ml_tensor *t, const char *want) {
    char b[128];
    return ml_error("%s: %s must be %s, got shape %s", fn, what, want, ml_shape_str(b, sizeof b, t->ndim, t->shape));
}

/* Checks shapes and dtypes; returns 0 or -1 with ml_error set. */
static int check_inputs(const char *fn, ml_tensor *q, ml_tensor *k, ml_tensor *v, ml_tensor *mask) {
    char b1[128], b2[128];
    if (!ml_dtype_is_float(q->dtype)) return ml_error("%s: query must be float32 or float64, got %s", fn, ml_dtype_name(q->dtype)), -1;
    if (k->dtype != q->dtype || v->dtype != q->dtype)
        return ml_error("%s: query, key and value must have one dtype, got %s, %s and %s", fn, ml_dtype_name(q->dtype),
                        ml_dtype_name(k->dtype), ml_dtype_name(v->dtype)), -1;
    if (q->ndim < 2) return shape_error(fn, "query", q, "(..., L, E)"), -1;
    if (k->ndim != q->ndim || v->ndim != q->ndim)
        return ml_error("%s: query, key and value must have the same number of dimensions, got %d, %d and %d", fn,
                        q->ndim, k->ndim, v->ndim), -1;
    int nd = q->ndim;
    for (int d = 0; d < nd - 2; d++)
        if (k->shape[d] != q->shape[d] || v->shape[d] != q->shape[d])
            return ml_error("%s: key %s and value %s must have the batch dimensions of query %s", fn,
                            ml_shape_str(b1, sizeof b1, k->ndim, k->shape), ml_shape_str(b2, sizeof b2, v->ndim, v->shape),
                            ml_shape_str((char[128]){0}, 128, q->ndim, q->shape)), -1;
    if (k->shape[nd - 1] != q->shape[nd - 1])
        return ml_error("%s: key has %lld features, expected %lld (query's last dimension)", fn,
                        (long long)k->shape[nd - 1], (long long)q->shape[nd - 1]), -1;
    if (v->shape[nd - 2] != k->shape[nd - 2])
        return ml_error("%s: value has %lld positions, expected %lld (key's)", fn, (long long)v->shape[nd - 2],
                        (long long)k->shape[nd - 2]), -1;
    if (mask) {
        if (mask->dtype != ML_BOOL && mask->dtype != q->dtype)
            return ml_error("%s: attn_mask must be bool or %s (the query's dtype), got %s", fn, ml_dtype_name(q->dtype),
                            ml_dtype_name(mask->dtype)), -1;
        int64_t full[ML_MAX_DIMS];
        memcpy(full, q->shape, sizeof(int64_t) * nd);
        full[nd - 1] = k->shape[nd - 2];
        bool ok = mask->ndim <= nd;
        for (int d = 0; ok && d < mask->ndim; d++) {
            int64_t s = mask->shape[mask->ndim - 1 - d];
            ok = s == 1 || s == full[nd - 1 - d];
        }
        if (!ok)
            return ml_error("%s: attn_mask of shape %s does not broadcast to the scores' shape %s", fn,
                            ml_shape_str(b1, sizeof b1, mask->ndim, mask->shape), ml_shape_str(b2, sizeof b2, nd, full)), -1;
    }
    return 0;
}

/* Rows the GEMMs can read where they lie: the last dimension contiguous
 * (or of size 1) and a row stride of at least a row (BLAS refuses lda = 0,
 * as an expanded view has). Otherwise a contiguous copy. */
static ml_tensor *rows_contiguous(ml_tensor *t) {
    int l = t->ndim - 1;
    int64_t row = t->shape[l] > 1 ? t->shape[l] : 1;
    bool ok = (t->strides[l] == 1 || t->shape[l] <= 1) && t->strides[l - 1] >= row;
    return ok ? ml_retain(t) : ml_contiguous(t);
}

static uint64_t draw_seed(void) {
    int64_t one = 1;
    ml_tensor *r = ml_randint(0, INT64_MAX, 1, &one, ML_INT64);
    if (!r) return 0x243F6A8885A308D3ull;
    uint64_t s = (uint64_t)((int64_t *)ml_data(r))[0];
    ml_release(r);
    return s;
}

ml_tensor *ml_attention(const char *fn, ml_tensor *q0, ml_tensor *k0, ml_tensor *v0, const ml_attention_opts *o,
                        ml_tensor **weights) {
    if (weights) *weights = NULL;
    if (check_inputs(fn, q0, k0, v0, o->mask) < 0) return NULL;
    if (!(o->dropout_p >= 0 && o->dropout_p < 1)) return ml_error("%s: dropout_p must be in [0, 1), got %g", fn, o->dropout_p);
    ml_tensor *q = rows_contiguous(q0), *k = q ? rows_contiguous(k0) : NULL, *v = k ? rows_contiguous(v0) : NULL;
    ml_tensor *out = NULL, *lse = NULL, *w = NULL;
    if (!v) goto fail;
    int nd = q->ndim;
    int64_t shape[ML_MAX_DIMS];
    memcpy(shape, q->shape, sizeof(int64_t) * nd);
    shape[nd - 1] = v->shape[nd - 1];
    out = ml_empty(nd, shape, q->dtype);
    lse = out ? ml_empty(nd - 1, q->shape, q->dtype) : NULL;
    if (!lse) goto fail;
    if (weights) {
        shape[nd - 1] = k->shape[nd - 2];
        if (!(w = ml_empty(nd, shape, q->dtype))) goto fail;
    }
    double scale = o->scale > 0 ? o->scale : 1.0 / sqrt((double)(q->shape[nd - 1] > 0 ? q->shape[nd - 1] : 1));
    uint64_t seed = o->dropout_p > 0 ? draw_seed() : 0;
    attn_job j;
    attn_offsets a;
    if (job_init(&j, &a, q, k, v, o->mask, o->causal, scale, o->dropout_p, seed) < 0) goto fail;
    j.out = ml_data(out);
    j.lse = ml_data(lse);
    j.weights = w ? ml_data(w) : NULL;
    ml_parallel_for(blocks_of(q), 1, q->dtype == ML_FLOAT32 ? attn_fwd_float : attn_fwd_double, &j);
    offsets_free(&a);
    if (j.failed) {
        ml_error("%s: out of memory", fn);
        goto fail;
    }
    ml_tensor *in[3] = {q0, k0, v0};
    if (ml_needs_record(3, in)) {
        ml_node *n = ml_record(fn, attention_backward, out, 3, in);
        if (!n) goto fail;
        ml_save(n, 0, q);
        ml_save(n, 1, k);
        ml_save(n, 2, v);
        ml_save(n, 3, lse);
        ml_save(n, 4, o->mask);
        n->ctx.attention.scale = scale;
        n->ctx.attention.p = o->dropout_p;
        n->ctx.attention.seed = seed;
        n->ctx.attention.causal = o->causal;
    }
    ml_release(q);
    ml_release(k);
    ml_release(v);
    ml_release(lse);
    if (weights) *weights = w;
    return out;
fail:
    ml_release(q);
    ml_release(k);
    ml_release(v);
    ml_release(out);
    ml_release(lse);
    ml_release(w);
    return NULL;
}
