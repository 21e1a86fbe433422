/* Matrix products: shapes, layouts and autograd of matmul (2-D, batched
 * with broadcast batch dims, matrix-vector), dot, outer, addmm. Which
 * library runs a product, on how many threads, is gemm.c's choice.
 * Transposed views go to BLAS as transposes, without a copy. */
#include <string.h>

#include "../autograd/autograd.h"
#include "gemm.h"
#include "ops.h"

/* ---- BLAS layout of a matrix view --------------------------------------- */
/* A 2-D view (rows r, cols c, strides sr, sc) is BLAS-ready as row-major
 * (NoTrans, ld = sr) when sc == 1, or as its transpose (Trans, ld = sc)
 * when sr == 1. */
static bool blas_layout(int64_t r, int64_t c, int64_t sr, int64_t sc, bool *trans, int64_t *ld) {
    if ((sc == 1 || c == 1) && (r == 1 || sr >= (c > 1 ? c : 1))) {
        *trans = false;
        *ld = r == 1 ? (c > 1 ? c : 1) : sr;
        return true;
    }
    if ((sr == 1 || r == 1) && (c == 1 || sc >= (r > 1 ? r : 1))) {
        *trans = true;
        *ld = c == 1 ? (r > 1 ? r : 1) : sc;
        return true;
    }
    return false;
}

/* C[m,n] = alpha * A[m,k] B[k,n] + beta * C for float dtypes; int64 by loops. */
static void gemm(ml_dtype dt, int64_t m, int64_t n, int64_t k, double alpha, const void *A, bool ta, int64_t lda,
                 const void *B, bool tb, int64_t ldb, double beta, void *C, int64_t ldc) {
    if (dt == ML_FLOAT32)
        ml_sgemm(ta, tb, m, n, k, (float)alpha, A, lda, B, ldb, (float)beta, C, ldc);
    else if (dt == ML_FLOAT64) {
        ml_dgemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
        const int64_t *a = A, *b = B;
        int64_t *c = C;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                int64_t acc = 0;
                for (int64_t p = 0; p < k; p++) acc += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = (int64_t)(alpha * acc) + (beta != 0 ? (int64_t)beta * c[i * ldc + j] : 0);
            }
    }
}

/* ---- 2-D products, transposes as flags -------------------------------------- */
/* op(x) for a 2-D x (x^T when tr) as BLAS reads it: x's own layout with
 * the transpose flag flipped for x^T. False when BLAS cannot read x. */
static bool operand_of(const ml_tensor *x, bool tr, bool *t, int64_t *ld) {
    if (!blas_layout(x->shape[0], x->shape[1], x->strides[0], x->strides[1], t, ld)) return false;
    *t ^= tr;
    return true;
}

/* The rows of out [m, n] (contiguous) set to bias when bias is a row
 * ([n] or [1, n], contiguous, out's dtype: addmm's and Linear's case), by
 * memcpy; any other broadcast goes through ml_copy_into. */
#define PRESET_ROWS(T)                                                                                     \
    __attribute__((target_clones("avx512f", "avx2", "default")))                                         \
    static void preset_rows_##T(T *restrict c, const T *restrict b, int64_t m, int64_t n) { /* c (m, n), b (n) */ \
        for (int64_t i = 0; i < m; i++)                                                                  \
            for (int64_t j = 0; j < n; j++) c[i * n + j] = b[j];                                         \
    }
/* a vector loop, not memcpy per row: rows here are a few elements (a library call each) */
#pragma GCC push_options
#pragma GCC optimize("no-tree-loop-distribute-patterns")
PRESET_ROWS(float)
PRESET_ROWS(double)
PRESET_ROWS(int64_t)
#pragma GCC pop_options

static int preset_bias(ml_tensor *out, const ml_tensor *bias) {
    int64_t m = out->shape[0], n = out->shape[1];
    bool row = bias->numel == n && bias->dtype == out->dtype && (bias->ndim == 1 || (bias->ndim == 2 && bias->shape[0] == 1)) &&
               (n == 1 || bias->strides[bias->ndim - 1] == 1);
    if (!row || out->dtype == ML_BOOL) return ml_copy_into(out, bias);
    if (out->dtype == ML_FLOAT32) preset_rows_float(ml_data(out), ml_data(bias), m, n);
    else if (out->dtype == ML_FLOAT64) preset_rows_double(ml_data(out), ml_data(bias), m, n);
    else preset_rows_int64_t(ml_data(out), ml_data(bias), m, n);
    return 0;
}

/* alpha * op(x) @ op(y) (+ beta * bias) for 2-D x, y of one dtype whose
 * shapes agree (the caller checked), op(t) = t^T when the flag is set: no
 * transposed views, and operands BLAS can read are neither retained nor
 * copied. want_t: the result computed as (op(y)^T op(x)^T) [n, m] and
 * returned as its transposed view (see product_in_layout); not with bias. */
static ml_tensor *product_2d(ml_tensor *x, bool tx, ml_tensor *y, bool ty, ml_tensor *bias, double beta, double alpha,
                             bool want_t) {
    int64_t m = x->shape[tx ? 1 : 0], k = x->shape[tx ? 0 : 1], n = y->shape[ty ? 0 : 1];
    int64_t oshape[2] = {want_t ? n : m, want_t ? m : n};
    ml_tensor *out = k == 0 && !bias ? ml_zeros(2, oshape, x->dtype) : ml_empty(2, oshape, x->dtype);
    if (!out) return NULL;
    if (bias && (k == 0 || beta != 0) && out->numel && preset_bias(out, bias) < 0) { ml_release(out); return NULL; }
    if (!bias) beta = 0; /* BLAS overwrites, so no need to zero */
    if (k == 0) { /* empty inner dimension: beta * bias, or zeros */
        if (bias && beta != 1 && ml_mul_scalar_inplace(out, beta) < 0) { ml_release(out); return NULL; }
    } else if (out->numel) {
        /* an operand BLAS cannot read (a strided slice) is copied once */
        int64_t ldx0 = 1, ldy0 = 1;
        bool opx = false, opy = false, dx = operand_of(x, tx, &opx, &ldx0), dy = operand_of(y, ty, &opy, &ldy0);
        ml_tensor *cx = dx ? NULL : ml_clone(x), *cy = dy ? NULL : ml_clone(y);
        if ((!dx && !cx) || (!dy && !cy)) { ml_release(cx); ml_release(cy); ml_release(out); return NULL; }
        int64_t ldx = ldx0, ldy = ldy0;
        if (cx) operand_of(cx, tx, &opx, &ldx);
        if (cy) operand_of(cy, ty, &opy, &ldy);
        const void *px = ml_data(cx ? cx : x), *py = ml_data(cy ? cy : y);
        if (want_t) /* C^T [n, m] = op(y)^T op(x)^T */
            gemm(x->dtype, n, m, k, alpha, py, !opy, ldy, px, !opx, ldx, beta, ml_data(out), m);
        else
            gemm(x->dtype, m, n, k, alpha, px, opx, ldx, py, opy, ldy, beta, ml_data(out), n);
        ml_release(cx);
        ml_release(cy);
    }
    if (!want_t) return out;
    ml_tensor *v = ml_transpose(out, 0, 1);
    ml_release(out);
    return v;
}

/* ---- batched matmul of >= 2-D operands ---------------------------------- */
static ml_tensor *matmul_raw(ml_tensor *a, ml_tensor *b, ml_tensor *bias, double beta, double alpha) {
    int64_t m = a->shape[a->ndim - 2], k = a->shape[a->ndim - 1];
    int64_t k2 = b->shape[b->ndim - 2], n = b->shape[b->ndim - 1];
    if (k != k2) {
        char b1[128], b2[128];
        return ml_error("matmul: shapes %s and %s do not align (%lld vs %lld)", ml_shape_str(b1, sizeof b1, a->ndim, a->shape),
                        ml_shape_str(b2, sizeof b2, b->ndim, b->shape), (long long)k, (long long)k2);
    }
    if (a->dtype != b->dtype)
        return ml_error("matmul: dtypes differ (%s and %s); convert one with :to()", ml_dtype_name(a->dtype), ml_dtype_name(b->dtype));
    if (a->dtype == ML_BOOL) return ml_error("matmul: bool tensors are not supported");
    if (a->ndim == 2 && b->ndim == 2) return product_2d(a, false, b, false, bias, beta, alpha, false);
    int bnd;
    int64_t bshape[ML_MAX_DIMS];
    if (ml_broadcast_shapes("matmul", a->ndim - 2, a->shape, b->ndim - 2, b->shape, &bnd, bshape) < 0) return NULL;
    int64_t oshape[ML_MAX_DIMS];
    memcpy(oshape, bshape, sizeof(int64_t) * bnd);
    oshape[bnd] = m;
    oshape[bnd + 1] = n;
    if (bnd + 2 > ML_MAX_DIMS) return ml_error("matmul: too many dimensions");
    ml_tensor *out;
    if (bias) {
        out = ml_empty(bnd + 2, oshape, a->dtype);
        if (out && ml_copy_into(out, bias) < 0) { ml_release(out); return NULL; }
    } else { /* beta = 0: BLAS overwrites, so no need to zero (except for k = 0 below) */
        out = k == 0 ? ml_zeros(bnd + 2, oshape, a->dtype) : ml_empty(bnd + 2, oshape, a->dtype);
        beta = 0;
    }
    if (!out || out->numel == 0) return out;
    /* operands whose matrices BLAS cannot read directly are copied once */
    bool ta = false, tb = false;
    int64_t lda = 1, ldb = 1;
    ml_tensor *ca = blas_layout(m, k, a->strides[a->ndim - 2], a->strides[a->ndim - 1], &ta, &lda) ? ml_retain(a) : ml_clone(a);
    ml_tensor *cb = blas_layout(k, n, b->strides[b->ndim - 2], b->strides[b->ndim - 1], &tb, &ldb) ? ml_retain(b) : ml_clone(b);
    if (!ca || !cb) { ml_release(ca); ml_release(cb); ml_release(out); return NULL; }
    blas_layout(m, k, ca->strides[ca->ndim - 2], ca->strides[ca->ndim - 1], &ta, &lda);
    blas_layout(k, n, cb->strides[cb->ndim - 2], cb->strides[cb->ndim - 1], &tb, &ldb);
    /* batch strides, 0 where a batch dim is broadcast */
    int64_t sa[ML_MAX_DIMS], sb[ML_MAX_DIMS];
    for (int i = 0; i < bnd; i++) {
        int ia = i - (bnd - (ca->ndim - 2)), ib = i - (bnd - (cb->ndim - 2));
        sa[i] = (ia < 0 || ca->shape[ia] == 1) ? 0 : ca->strides[ia];
        sb[i] = (ib < 0 || cb->shape[ib] == 1) ? 0 : cb->strides[ib];
    }
    int64_t batches = ml_numel_of(bnd, bshape);
    size_t es = ml_dtype_size(a->dtype);
    if (k == 0) { /* empty inner dimension: result is beta * bias (already there) or zeros */
        if (bias && beta != 1) ml_mul_scalar_inplace(out, beta);
        ml_release(ca);
        ml_release(cb);
        return out;
    }
    for (int64_t bi = 0; bi < batches; bi++) {
        int64_t rem = bi, oa = 0, ob = 0;
        for (int d = bnd - 1; d >= 0; d--) {
            int64_t i = rem % bshape[d];
            rem /= bshape[d];
            oa += i * sa[d];
            ob += i * sb[d];
        }
        gemm(a->dtype, m, n, k, alpha, (char *)ml_data(ca) + oa * es, ta, lda, (char *)ml_data(cb) + ob * es, tb, ldb,
             beta, (char *)ml_data(out) + bi * m * n * es, n);
    }
    ml_release(ca);
    ml_release(cb);
    return out;
}

/* ---- backward ------------------------------------------------------------ */
/* A matrix stored transposed (column-major), as W^T in a Linear layer. */
static bool stored_transposed(const ml_tensor *t) {
    int d = t->ndim;
    return t->shape[d - 2] > 1 && t->shape[d - 1] > 1 && t->strides[d - 2] == 1 && t->strides[d - 1] >= t->shape[d - 2];
}

static ml_tensor *transposed(ml_tensor *t) { return ml_transpose(t, t->ndim - 2, t->ndim - 1); }

/* x @ y, or, when want_t, (y^T @ x^T) returned as a transposed view: the
 * gradient of an operand stored transposed then comes out in that same
 * layout, so accumulating it into W's gradient is a contiguous add, not a
 * strided walk down the columns. */
static ml_tensor *product_in_layout(ml_tensor *x, ml_tensor *y, double alpha, bool want_t) {
    if (!want_t) return matmul_raw(x, y, NULL, 0, alpha);
    ml_tensor *xt = transposed(x), *yt = xt ? transposed(y) : NULL;
    ml_tensor *r = yt ? matmul_raw(yt, xt, NULL, 0, alpha) : NULL;
    ml_release(xt);
    ml_release(yt);
    if (!r) return NULL;
    ml_tensor *v = transposed(r);
    ml_release(r);
    return v;
}

/* addmm's and linear's bias: beta * g summed to the bias's shape */
static int bias_grad(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    if (n->n_in > 2 && n->needs[2]) {
        ml_tensor *s = ml_sum_to_shape(g, n->in_ndim[2], n->in_shape[2]);
        gin[2] = s && n->ctx.addmm.beta != 1 ? ml_binary_scalar(ML_MUL, s, n->ctx.addmm.beta, false) : ml_retain(s);
        ml_release(s);
        if (!gin[2]) return -1;
    }
    return 0;
}

/* d(a@b)/da = g @ b^T ; d(a@b)/db = a^T @ g (then reduced over broadcast batch dims) */
static int matmul_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *a = ml_saved(n, 0), *b = ml_saved(n, 1);
    if (!a || !b) return -1;
    double alpha = n->ctx.addmm.alpha;
    if (a->ndim == 2 && b->ndim == 2) { /* the same products, transposes as flags */
        if (n->needs[0] && !(gin[0] = product_2d(g, false, b, true, NULL, 0, alpha, stored_transposed(a)))) return -1;
        if (n->needs[1] && !(gin[1] = product_2d(a, true, g, false, NULL, 0, alpha, stored_transposed(b)))) return -1;
        return bias_grad(n, g, gin);
    }
    if (n->needs[0]) {
        ml_tensor *bt = transposed(b);
        ml_tensor *r = bt ? product_in_layout(g, bt, alpha, stored_transposed(a) && a->ndim == 2) : NULL;
        ml_release(bt);
        gin[0] = r ? ml_sum_to_shape(r, n->in_ndim[0], n->in_shape[0]) : NULL;
        ml_release(r);
        if (!gin[0]) return -1;
    }
    if (n->needs[1]) {
        ml_tensor *at = transposed(a);
        ml_tensor *r = at ? product_in_layout(at, g, alpha, stored_transposed(b) && b->ndim == 2) : NULL;
        ml_release(at);
        gin[1] = r ? ml_sum_to_shape(r, n->in_ndim[1], n->in_shape[1]) : NULL;
        ml_release(r);
        if (!gin[1]) return -1;
    }
    return bias_grad(n, g, gin);
}

static ml_tensor *matmul_nd(ml_tensor *a, ml_tensor *b, ml_tensor *bias, double beta, double alpha, const char *fn) {
    ml_tensor *out = matmul_raw(a, b, bias, beta, alpha);
    if (!out) return NULL;
    ml_tensor *in[3] = {a, b, bias};
    int nin = bias ? 3 : 2;
    if (ml_needs_record(nin, in)) {
        ml_node *n = ml_record(fn, matmul_backward, out, nin, in);
        if (!n) { ml_release(out); return NULL; }
        ml_save(n, 0, a);
        ml_save(n, 1, b);
        n->ctx.addmm.beta = beta;
        n->ctx.addmm.alpha = alpha;
    }
    return out;
}

/* 1-D operands become matrices by unsqueeze and are squeezed back after;
 * the view ops carry the gradient. */
ml_tensor *ml_matmul(ml_tensor *a, ml_tensor *b) {
    if (a->ndim == 0 || b->ndim == 0) return ml_error("matmul: both arguments need at least 1 dimension (got %d-d and %d-d); use * for scalars", a->ndim, b->ndim);
    if (a->ndim >= 2 && b->ndim >= 2) return matmul_nd(a, b, NULL, 0, 1, "matmul");
    ml_tensor *a2 = a->ndim == 1 ? ml_unsqueeze(a, 0) : ml_retain(a);
    ml_tensor *b2 = a2 ? (b->ndim == 1 ? ml_unsqueeze(b, 1) : ml_retain(b)) : NULL;
    if (!b2) { ml_release(a2); return NULL; }
    if (a->ndim == 1 && b->ndim == 1 && a->shape[0] != b->shape[0]) {
        ml_release(a2); ml_release(b2);
        return ml_error("matmul: vectors of different lengths (%lld vs %lld)", (long long)a->shape[0], (long long)b->shape[0]);
    }
    ml_tensor *r = matmul_nd(a2, b2, NULL, 0, 1, "matmul");
    ml_release(a2);
    ml_release(b2);
    if (!r) return NULL;
    ml_tensor *out = r;
    if (b->ndim == 1) {
        out = ml_squeeze(r, r->ndim - 1);
        ml_release(r);
        r = out;
        if (!r) return NULL;
    }
    if (a->ndim == 1) {
        out = ml_squeeze(r, r->ndim - (b->ndim == 1 ? 1 : 2));
        ml_release(r);
    }
    return out;
}

ml_tensor *ml_dot(ml_tensor *a, ml_tensor *b) {
    if (a->ndim != 1 || b->ndim != 1) return ml_error("dot: expected two 1-D tensors, got %d-d and %d-d", a->ndim, b->ndim);
    if (a->shape[0] != b->shape[0])
        return ml_error("dot: vectors of different lengths (%lld vs %lld)", (long long)a->shape[0], (long long)b->shape[0]);
    return ml_matmul(a, b);
}

ml_tensor *ml_outer(ml_tensor *a, ml_tensor *b) {
    if (a->ndim != 1 || b->ndim != 1) return ml_error("outer: expected two 1-D tensors, got %d-d and %d-d", a->ndim, b->ndim);
    ml_tensor *a2 = ml_unsqueeze(a, 1), *b2 = a2 ? ml_unsqueeze(b, 0) : NULL;
    ml_tensor *out = b2 ? ml_mul(a2, b2) : NULL;
    ml_release(a2);
    ml_release(b2);
    return out;
}

ml_tensor *ml_addmm(ml_tensor *bias, ml_tensor *a, ml_tensor *b, double beta, double alpha) {
    if (a->ndim != 2 || b->ndim != 2) return ml_error("addmm: expected 2-D matrices, got %d-d and %d-d", a->ndim, b->ndim);
    int nd;
    int64_t s[ML_MAX_DIMS], want[2] = {a->shape[0], b->shape[1]};
    if (ml_broadcast_shapes("addmm", bias->ndim, bias->shape, 2, want, &nd, s) < 0) return NULL;
    if (nd != 2 || s[0] != want[0] || s[1] != want[1]) {
        char b1[128], b2[128];
        return ml_error("addmm: bias of shape %s does not broadcast to the product's shape %s",
                        ml_shape_str(b1, sizeof b1, bias->ndim, bias->shape), ml_shape_str(b2, sizeof b2, 2, want));
    }
    if (bias->dtype != a->dtype) return ml_error("addmm: bias dtype %s differs from %s", ml_dtype_name(bias->dtype), ml_dtype_name(a->dtype));
    return matmul_nd(a, b, bias, beta, alpha, "addmm");
}

/* ---- nn.Linear: x @ w^T + bias, w [out, in] as stored --------------------- */
/* d/dx = g @ w ; d/dw = g^T @ x ; d/dbias = g summed over rows (bias_grad).
 * The products of addmm(bias, x, w:t()), without the transposed view of w
 * or its node. */
static int linear_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *x = ml_saved(n, 0), *w = ml_saved(n, 1);
    if (!x || !w) return -1;
    if (n->needs[0] && !(gin[0] = product_2d(g, false, w, false, NULL, 0, 1, stored_transposed(x)))) return -1;
    if (n->needs[1] && !(gin[1] = product_2d(g, true, x, false, NULL, 0, 1, stored_transposed(w)))) return -1;
    return bias_grad(n, g, gin);
}

ml_tensor *ml_linear(ml_tensor *x, ml_tensor *w, ml_tensor *bias) {
    if (x->ndim != 2 || w->ndim != 2 || x->shape[1] != w->shape[1] || x->dtype != w->dtype || x->dtype == ML_BOOL ||
        (bias && (bias->ndim != 1 || bias->shape[0] != w->shape[0] || bias->dtype != w->dtype))) {
        char b1[128], b2[128];
        return ml_error("linear: input %s (%s) and weight %s (%s) do not make x @ w^T", ml_shape_str(b1, sizeof b1, x->ndim, x->shape),
                        ml_dtype_name(x->dtype), ml_shape_str(b2, sizeof b2, w->ndim, w->shape), ml_dtype_name(w->dtype));
    }
    ml_tensor *out = product_2d(x, false, w, true, bias, 1, 1, false);
    if (!out) return NULL;
    ml_tensor *in[3] = {x, w, bias};
    int nin = bias ? 3 : 2;
    if (ml_needs_record(nin, in)) {
        /* named as before, when w^T was a view: PyTorch's names too */
        ml_node *n = ml_record(bias ? "addmm" : "matmul", linear_backward, out, nin, in);
        if (!n) { ml_release(out); return NULL; }
        ml_save(n, 0, x);
        ml_save(n, 1, w);
        n->ctx.addmm.beta = 1;
        n->ctx.addmm.alpha = 1;
    }
    return out;
}

/* the rules autograd/graph_rules.c knows by address (create_graph) */
const ml_backward_fn ml_rule_matmul = matmul_backward, ml_rule_linear = linear_backward;
