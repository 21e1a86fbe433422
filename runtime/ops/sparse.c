/* CSR kernels (see sparse.h): products with a dense matrix and their
 * backward, slicing, densifying, row and column reductions, scaling.
 * Float32 and float64 share one body per kernel through a macro. */
#include "sparse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/autograd.h"
#include "../core/parallel.h"

int ml_csr_check(const char *fn, const ml_csr *s, bool full) {
    const ml_tensor *p = s->indptr, *ix = s->indices, *v = s->values;
    if (s->rows < 0 || s->cols < 0) { ml_error("%s: negative shape [%lld, %lld]", fn, (long long)s->rows, (long long)s->cols); return -1; }
    if (p->dtype != ML_INT64 || p->ndim != 1 || p->numel != s->rows + 1) {
        ml_error("%s: indptr must be an int64 vector of rows + 1 = %lld entries, got %s of %lld", fn, (long long)(s->rows + 1),
                 ml_dtype_name(p->dtype), (long long)p->numel);
        return -1;
    }
    if (ix->dtype != ML_INT64 || ix->ndim != 1) { ml_error("%s: indices must be an int64 vector, got %s %d-d", fn, ml_dtype_name(ix->dtype), ix->ndim); return -1; }
    if (!ml_dtype_is_float(v->dtype) || v->ndim != 1 || v->numel != ix->numel) {
        ml_error("%s: values must be a float32 or float64 vector as long as indices (%lld), got %s of %lld", fn,
                 (long long)ix->numel, ml_dtype_name(v->dtype), (long long)v->numel);
        return -1;
    }
    if (!ml_is_contiguous(p) || !ml_is_contiguous(ix) || !ml_is_contiguous(v)) { ml_error("%s: the parts must be contiguous", fn); return -1; }
    const int64_t *pp = ml_data(p), nnz = ix->numel;
    if (pp[0] != 0 || pp[s->rows] != nnz) {
        ml_error("%s: indptr must start at 0 and end at nnz = %lld, got %lld .. %lld", fn, (long long)nnz, (long long)pp[0], (long long)pp[s->rows]);
        return -1;
    }
    if (!full) return 0;
    for (int64_t r = 0; r < s->rows; r++)
        if (pp[r + 1] < pp[r]) { ml_error("%s: indptr decreases at row %lld", fn, (long long)(r + 1)); return -1; }
    const int64_t *c = ml_data(ix);
    for (int64_t k = 0; k < nnz; k++)
        if (c[k] < 0 || c[k] >= s->cols) {
            ml_error("%s: column index %lld of entry %lld is outside 1..%lld", fn, (long long)(c[k] + 1), (long long)(k + 1), (long long)s->cols);
            return -1;
        }
    return 0;
}

/* Rows per parallel chunk: one thread when the whole product is small. */
static int64_t row_grain(const ml_csr *s, int64_t m) {
    int64_t work = s->indices->numel * (m > 0 ? m : 1);
    if (work < ML_PAR_GRAIN || s->rows < 2) return s->rows > 0 ? s->rows : 1;
    return 16;
}

/* ---- S @ D ------------------------------------------------------------- */
typedef struct {
    const int64_t *indptr, *indices;
    const void *values, *dense; /* dense [cols, m] with strides rs, cs */
    void *out;                  /* [rows, m] contiguous */
    int64_t m, rs, cs;
} spmm_ctx;

/* out[r, :] = sum_k v[k] * D[col[k], :]; rows of D walked as axpys when
 * they are contiguous, else each output element as a gathered dot. */
#define SPMM_BODY(T)                                                                  \
    const spmm_ctx *c = ctx;                                                          \
    const T *v = c->values, *d = c->dense;                                            \
    T *out = c->out;                                                                  \
    for (int64_t r = start; r < end; r++) {                                           \
        T *o = out + r * c->m;                                                        \
        int64_t k0 = c->indptr[r], k1 = c->indptr[r + 1];                             \
        if (c->cs == 1) {                                                             \
            for (int64_t j = 0; j < c->m; j++) o[j] = 0;                              \
            for (int64_t k = k0; k < k1; k++) {                                       \
                const T *dr = d + c->indices[k] * c->rs;                              \
                T vk = v[k];                                                          \
                for (int64_t j = 0; j < c->m; j++) o[j] += vk * dr[j];                \
            }                                                                         \
        } else {                                                                      \
            for (int64_t j = 0; j < c->m; j++) {                                      \
                const T *dc = d + j * c->cs;                                          \
                T acc = 0;                                                            \
                for (int64_t k = k0; k < k1; k++) acc += v[k] * dc[c->indices[k] * c->rs]; \
                o[j] = acc;                                                           \
            }                                                                         \
        }                                                                             \
    }
static void spmm_f32(void *ctx, int64_t start, int64_t end) { SPMM_BODY(float) }
static void spmm_f64(void *ctx, int64_t start, int64_t end) { SPMM_BODY(double) }

static ml_tensor *spmm_raw(const ml_csr *s, ml_tensor *dense) {
    int64_t m = dense->shape[1], shape[2] = {s->rows, m};
    ml_tensor *out = ml_empty(2, shape, dense->dtype);
    if (!out) return NULL;
    spmm_ctx c = {ml_data(s->indptr), ml_data(s->indices), ml_data(s->values), ml_data(dense), ml_data(out), m,
                  dense->strides[0], dense->strides[1]};
    ml_parallel_for(s->rows, row_grain(s, m), dense->dtype == ML_FLOAT32 ? spmm_f32 : spmm_f64, &c);
    return out;
}

/* The sparse operand rides in the saved slots: 0 indptr, 1 indices, 2 values. */
static int csr_matmul_backward(ml_node *n, ml_tensor *g, ml_tensor **gin) {
    ml_tensor *p = ml_saved(n, 0), *ix = ml_saved(n, 1), *v = ml_saved(n, 2);
    if (!p || !ix || !v) return -1;
    ml_csr s = {p, ix, v, p->numel - 1, n->in_shape[0][0]};
    /* d(S @ D)/dD = S^T @ g */
    return (gin[0] = ml_csr_t_matmul(&s, g)) ? 0 : -1;
}

ml_tensor *ml_csr_matmul(const ml_csr *s, ml_tensor *dense) {
    if (ml_csr_check("sparse.matmul", s, false) < 0) return NULL;
    if (dense->ndim != 2 || dense->shape[0] != s->cols) {
        char b[128];
        return ml_error("sparse.matmul: the dense side must be 2-D with %lld rows (the sparse matrix's columns), got %s",
                        (long long)s->cols, ml_shape_str(b, sizeof b, dense->ndim, dense->shape));
    }
    if (dense->dtype != s->values->dtype)
        return ml_error("sparse.matmul: the dense side is %s, the sparse values are %s (convert one with :to(dtype))",
                        ml_dtype_name(dense->dtype), ml_dtype_name(s->values->dtype));
    ml_tensor *out = spmm_raw(s, dense);
    if (!out) return NULL;
    if (ml_needs_record(1, &dense)) {
        ml_node *n = ml_record("sparse_matmul", csr_matmul_backward, out, 1, &dense);
        if (!n) { ml_release(out); return NULL; }
        ml_save(n, 0, s->indptr);
        ml_save(n, 1, s->indices);
        ml_save(n, 2, s->values);
    }
    return out;
}

/* ---- S^T @ G: through the transpose (CSC), so each output row has one writer */
typedef struct {
    const int64_t *colptr, *rowidx;
    const void *tvals, *g; /* g [rows, m] contiguous */
    void *out;             /* [cols, m] */
    int64_t m;
} spmm_t_ctx;

#define SPMM_T_BODY(T)                                                        \
    const spmm_t_ctx *c = ctx;                                                \
    const T *v = c->tvals, *g = c->g;                                         \
    T *out = c->out;                                                          \
    for (int64_t col = start; col < end; col++) {                             \
        T *o = out + col * c->m;                                              \
        for (int64_t j = 0; j < c->m; j++) o[j] = 0;                          \
        for (int64_t k = c->colptr[col]; k < c->colptr[col + 1]; k++) {       \
            const T *gr = g + c->rowidx[k] * c->m;                            \
            T vk = v[k];                                                      \
            for (int64_t j = 0; j < c->m; j++) o[j] += vk * gr[j];            \
        }                                                                     \
    }
static void spmm_t_f32(void *ctx, int64_t start, int64_t end) { SPMM_T_BODY(float) }
static void spmm_t_f64(void *ctx, int64_t start, int64_t end) { SPMM_T_BODY(double) }

ml_tensor *ml_csr_t_matmul(const ml_csr *s, ml_tensor *g) {
    if (ml_csr_check("sparse.t_matmul", s, false) < 0) return NULL;
    if (g->ndim != 2 || g->shape[0] != s->rows || g->dtype != s->values->dtype) {
        char b[128];
        return ml_error("sparse.t_matmul: expected a %s matrix with %lld rows, got %s %s", ml_dtype_name(s->values->dtype),
                        (long long)s->rows, ml_dtype_name(g->dtype), ml_shape_str(b, sizeof b, g->ndim, g->shape));
    }
    ml_tensor *gc = ml_contiguous(g);
    if (!gc) return NULL;
    int64_t nnz = s->indices->numel, m = g->shape[1], es = (int64_t)ml_dtype_size(g->dtype);
    int64_t *colptr = calloc((size_t)s->cols + 1, sizeof(int64_t)), *rowidx = malloc((size_t)(nnz ? nnz : 1) * sizeof(int64_t));
    char *tv = malloc((size_t)(nnz ? nnz : 1) * (size_t)es);
    int64_t shape[2] = {s->cols, m};
    ml_tensor *out = colptr && rowidx && tv ? ml_empty(2, shape, g->dtype) : NULL;
    if (!out) {
        free(colptr); free(rowidx); free(tv); ml_release(gc);
        return colptr && rowidx && tv ? NULL : ml_error("sparse.t_matmul: out of memory for the transpose (%lld entries)", (long long)nnz);
    }
    /* counting sort of the entries by column; rows stay in order within a column */
    const int64_t *p = ml_data(s->indptr), *ix = ml_data(s->indices);
    const char *v = ml_data(s->values);
    for (int64_t k = 0; k < nnz; k++) colptr[ix[k] + 1]++;
    for (int64_t c = 0; c < s->cols; c++) colptr[c + 1] += colptr[c];
    int64_t *fill = malloc((size_t)(s->cols ? s->cols : 1) * sizeof(int64_t));
    if (!fill) { free(colptr); free(rowidx); free(tv); ml_release(gc); ml_release(out); return ml_error("sparse.t_matmul: out of memory"); }
    memcpy(fill, colptr, (size_t)s->cols * sizeof(int64_t));
    for (int64_t r = 0; r < s->rows; r++)
        for (int64_t k = p[r]; k < p[r + 1]; k++) {
            int64_t dst = fill[ix[k]]++;
            rowidx[dst] = r;
            memcpy(tv + dst * es, v + k * es, (size_t)es);
        }
    free(fill);
    spmm_t_ctx c = {colptr, rowidx, tv, ml_data(gc), ml_data(out), m};
    int64_t grain = nnz * (m > 0 ? m : 1) < ML_PAR_GRAIN ? (s->cols > 0 ? s->cols : 1) : 64;
    ml_parallel_for(s->cols, grain, g->dtype == ML_FLOAT32 ? spmm_t_f32 : spmm_t_f64, &c);
    free(colptr); free(rowidx); free(tv);
    ml_release(gc);
    return out;
}

/* ---- densify, slice ------------------------------------------------------- */
ml_tensor *ml_csr_to_dense(const ml_csr *s) {
    if (ml_csr_check("sparse:to_dense", s, false) < 0) return NULL;
    int64_t shape[2] = {s->rows, s->cols};
    ml_tensor *out = ml_zeros(2, shape, s->values->dtype);
    if (!out) return NULL;
    const int64_t *p = ml_data(s->indptr), *ix = ml_data(s->indices);
    if (out->dtype == ML_FLOAT32) {
        float *o = ml_data(out); const float *v = ml_data(s->values);
        for (int64_t r = 0; r < s->rows; r++)
            for (int64_t k = p[r]; k < p[r + 1]; k++) o[r * s->cols + ix[k]] += v[k];
    } else {
        double *o = ml_data(out); const double *v = ml_data(s->values);
        for (int64_t r = 0; r < s->rows; r++)
            for (int64_t k = p[r]; k < p[r + 1]; k++) o[r * s->cols + ix[k]] += v[k];
    }
    return out;
}

int ml_csr_take_rows(const ml_csr *s, const int64_t *idx, int64_t n, ml_tensor **indptr, ml_tensor **indices, ml_tensor **values) {
    *indptr = *indices = *values = NULL;
    if (ml_csr_check("sparse:rows", s, false) < 0) return -1;
    const int64_t *p = ml_data(s->indptr);
    int64_t np = n + 1;
    if (!(*indptr = ml_empty(1, &np, ML_INT64))) return -1;
    int64_t *q = ml_data(*indptr), nnz = 0;
    q[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= s->rows) {
            ml_release(*indptr); *indptr = NULL;
            ml_error("sparse:rows: row %lld is outside 1..%lld", (long long)(idx[i] + 1), (long long)s->rows);
            return -1;
        }
        nnz += p[idx[i] + 1] - p[idx[i]];
        q[i + 1] = nnz;
    }
    *indices = ml_empty(1, &nnz, ML_INT64);
    *values = *indices ? ml_empty(1, &nnz, s->values->dtype) : NULL;
    if (!*values) { ml_release(*indptr); ml_release(*indices); *indptr = *indices = NULL; return -1; }
    size_t es = ml_dtype_size(s->values->dtype);
    const int64_t *ix = ml_data(s->indices);
    const char *v = ml_data(s->values);
    int64_t *oi = ml_data(*indices);
    char *ov = ml_data(*values);
    for (int64_t i = 0; i < n; i++) {
        int64_t k0 = p[idx[i]], len = p[idx[i] + 1] - k0;
        memcpy(oi + q[i], ix + k0, (size_t)len * sizeof(int64_t));
        memcpy(ov + (size_t)q[i] * es, v + (size_t)k0 * es, (size_t)len * es);
    }
    return 0;
}

/* ---- reductions and scaling ----------------------------------------------- */
#define ROW_REDUCE(T)                                                         \
    {                                                                         \
        const T *v = ml_data(s->values); T *o = ml_data(out);                 \
        for (int64_t r = 0; r < s->rows; r++) {                               \
            double acc = 0;                                                   \
            for (int64_t k = pp[r]; k < pp[r + 1]; k++)                       \
                acc += p == 2 ? (double)v[k] * v[k] : p == 1 ? fabs((double)v[k]) : (double)v[k]; \
            o[r] = (T)(p == 2 ? sqrt(acc) : acc);                             \
        }                                                                     \
    }
ml_tensor *ml_csr_row_reduce(const ml_csr *s, int p) {
    if (ml_csr_check("sparse:row_norms", s, false) < 0) return NULL;
    ml_tensor *out = ml_empty(1, &s->rows, s->values->dtype);
    if (!out) return NULL;
    const int64_t *pp = ml_data(s->indptr);
    if (out->dtype == ML_FLOAT32) ROW_REDUCE(float) else ROW_REDUCE(double)
    return out;
}

ml_tensor *ml_csr_col_sums(const ml_csr *s, bool counts) {
    if (ml_csr_check("sparse:sum", s, false) < 0) return NULL;
    ml_tensor *out = ml_zeros(1, &s->cols, counts ? ML_INT64 : s->values->dtype);
    if (!out) return NULL;
    const int64_t *ix = ml_data(s->indices), nnz = s->indices->numel;
    if (counts) {
        int64_t *o = ml_data(out);
        for (int64_t k = 0; k < nnz; k++) o[ix[k]]++;
    } else if (out->dtype == ML_FLOAT32) {
        float *o = ml_data(out); const float *v = ml_data(s->values);
        for (int64_t k = 0; k < nnz; k++) o[ix[k]] += v[k];
    } else {
        double *o = ml_data(out); const double *v = ml_data(s->values);
        for (int64_t k = 0; k < nnz; k++) o[ix[k]] += v[k];
    }
    return out;
}

#define SCALE(T)                                                                          \
    {                                                                                     \
        const T *v = ml_data(s->values), *rsc = rowscale ? ml_data(rowscale) : NULL,      \
                *csc = colscale ? ml_data(colscale) : NULL;                               \
        T *o = ml_data(out);                                                              \
        for (int64_t r = 0; r < s->rows; r++) {                                           \
            T f = rsc ? rsc[r] : (T)1;                                                    \
            for (int64_t k = pp[r]; k < pp[r + 1]; k++) o[k] = v[k] * f * (csc ? csc[ix[k]] : (T)1); \
        }                                                                                 \
    }
ml_tensor *ml_csr_scale(const ml_csr *s, const ml_tensor *rowscale, const ml_tensor *colscale) {
    if (ml_csr_check("sparse:scale", s, false) < 0) return NULL;
    const ml_tensor *sc[2] = {rowscale, colscale};
    int64_t want[2] = {s->rows, s->cols};
    for (int i = 0; i < 2; i++)
        if (sc[i] && (sc[i]->ndim != 1 || sc[i]->numel != want[i] || sc[i]->dtype != s->values->dtype || !ml_is_contiguous(sc[i])))
            return ml_error("sparse:scale: the %s scale must be a contiguous %s vector of %lld, got %s of %lld", i ? "column" : "row",
                            ml_dtype_name(s->values->dtype), (long long)want[i], ml_dtype_name(sc[i]->dtype), (long long)sc[i]->numel);
    ml_tensor *out = ml_empty(1, &s->values->numel, s->values->dtype);
    if (!out) return NULL;
    const int64_t *pp = ml_data(s->indptr), *ix = ml_data(s->indices);
    if (out->dtype == ML_FLOAT32) SCALE(float) else SCALE(double)
    return out;
}
