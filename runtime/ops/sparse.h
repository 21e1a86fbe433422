/* CSR sparse matrices: the kernels behind ml.sparse (lualib/moonlab/sparse.lua).
 *
 * A matrix [rows, cols] is three tensors the caller owns: indptr int64
 * [rows + 1] (row r's entries are indptr[r] .. indptr[r+1]-1, indptr[0] = 0),
 * indices int64 [nnz] (0-based column of each entry) and values float32 or
 * float64 [nnz], all contiguous. Kernels validate shapes and dtypes and
 * return NULL (or -1) with ml_error set; they never abort. */
#ifndef ML_OPS_SPARSE_H
#define ML_OPS_SPARSE_H

#include "../tensor/tensor.h"

typedef struct {
    ml_tensor *indptr, *indices, *values; /* borrowed */
    int64_t rows, cols;
} ml_csr;

/* Checks the parts' dtypes and sizes; full also checks that indptr is
 * non-decreasing from 0 and every column is in [0, cols) (O(nnz)). */
int ml_csr_check(const char *fn, const ml_csr *s, bool full);

/* S @ D: dense [cols, m] (any strides, S's dtype) -> [rows, m]. Records a
 * backward node for D (d/dD = S^T @ g) when D requires grad. */
ml_tensor *ml_csr_matmul(const ml_csr *s, ml_tensor *dense);
/* S^T @ G: G [rows, m] -> [cols, m] (the backward of ml_csr_matmul). */
ml_tensor *ml_csr_t_matmul(const ml_csr *s, ml_tensor *g);

ml_tensor *ml_csr_to_dense(const ml_csr *s); /* [rows, cols], S's dtype */

/* The rows idx[0..n) (0-based, any order, repeats allowed) as new parts. */
int ml_csr_take_rows(const ml_csr *s, const int64_t *idx, int64_t n, ml_tensor **indptr, ml_tensor **indices,
                     ml_tensor **values);

/* Per-row reductions -> [rows] in S's dtype: p = 1 sum |v|, 2 sqrt(sum v^2), 0 sum v. */
ml_tensor *ml_csr_row_reduce(const ml_csr *s, int p);
/* Per-column sums -> [cols] in S's dtype (counts: int64 numbers of stored entries per column). */
ml_tensor *ml_csr_col_sums(const ml_csr *s, bool counts);

/* New values: v[k] * rowscale[row of k] * colscale[col of k]; either may be
 * NULL; each a contiguous vector of S's dtype ([rows] and [cols]). */
ml_tensor *ml_csr_scale(const ml_csr *s, const ml_tensor *rowscale, const ml_tensor *colscale);

#endif
