/* Tensor operations. Each returns a new tensor (a new reference) or NULL
 * with ml_error set. Differentiable ops record their backward rule on the
 * tape themselves (the rule lives beside the forward kernel, in the same
 * file). Dimensions here are 0-based; the bindings convert from Lua's
 * 1-based ones. */
#ifndef ML_OPS_H
#define ML_OPS_H

#include "../core/parallel.h" /* ml_set_threads, ml_get_threads */
#include "../tensor/tensor.h"
#include "optable.h"

/* ---- elementwise (elementwise.c, unary.c, compare.c) ------------------ */
/* The ops of each family, from the tables in optable.h. */
#define ML_OP_ENUM(E, ...) E,
typedef enum { ML_BINARY_OPS(ML_OP_ENUM) ML_NBINARY } ml_binary_op;
typedef enum { ML_UNARY_OPS(ML_OP_ENUM) ML_NUNARY } ml_unary_op;
typedef enum { ML_COMPARE_OPS(ML_OP_ENUM) ML_NCOMPARE } ml_compare_op;
typedef enum { ML_REDUCE_OPS(ML_OP_ENUM) ML_NREDUCE } ml_reduce_op;

ml_tensor *ml_binary(ml_binary_op op, ml_tensor *a, ml_tensor *b);
ml_tensor *ml_add(ml_tensor *a, ml_tensor *b);
ml_tensor *ml_sub(ml_tensor *a, ml_tensor *b);
ml_tensor *ml_mul(ml_tensor *a, ml_tensor *b);
ml_tensor *ml_div(ml_tensor *a, ml_tensor *b);
/* a op s with a scalar, s op a when reversed (s - a, s / a, s ^ a). */
ml_tensor *ml_binary_scalar(ml_binary_op op, ml_tensor *a, double s, bool reversed);
/* In place, no autograd (refuses tensors that require grad while grad mode is on): a += alpha * b. */
int ml_add_inplace(ml_tensor *a, ml_tensor *b, double alpha);
int ml_mul_scalar_inplace(ml_tensor *a, double s);
int ml_fill_inplace(ml_tensor *a, double v);
/* In-place binary with broadcasting of b into a: a = a op b. */
int ml_binary_inplace(ml_binary_op op, ml_tensor *a, ml_tensor *b);

ml_tensor *ml_unary(ml_unary_op op, ml_tensor *a);
ml_tensor *ml_clamp(ml_tensor *a, double lo, double hi); /* NAN = no bound */
ml_tensor *ml_leaky_relu(ml_tensor *a, double slope);
ml_tensor *ml_where(ml_tensor *cond, ml_tensor *a, ml_tensor *b);

ml_tensor *ml_compare(ml_compare_op op, ml_tensor *a, ml_tensor *b);
ml_tensor *ml_isnan(ml_tensor *a);
ml_tensor *ml_isinf(ml_tensor *a);
ml_tensor *ml_logical_not(ml_tensor *a);
/* dtype conversion, differentiable between float dtypes */
ml_tensor *ml_to(ml_tensor *a, ml_dtype dt);

/* ---- reductions (reduce.c, softmax.c) --------------------------------- */
/* dim < 0: over all elements (keepdim ignored, result 0-d). ml_reduce runs
 * any row of ML_REDUCE_OPS; idx (max/min only, may be NULL) receives the
 * 0-based int64 indices. ml_sum ... ml_min are its rows by name. */
ml_tensor *ml_reduce(ml_reduce_op op, ml_tensor *a, int dim, bool keepdim, ml_tensor **idx);
ml_tensor *ml_sum(ml_tensor *a, int dim, bool keepdim);
ml_tensor *ml_sum_dim(ml_tensor *a, int dim, bool keepdim); /* no autograd: for backward rules */
ml_tensor *ml_mean(ml_tensor *a, int dim, bool keepdim);
ml_tensor *ml_prod(ml_tensor *a, int dim, bool keepdim);
/* values and (when idx != NULL) 0-based int64 indices */
ml_tensor *ml_max(ml_tensor *a, int dim, bool keepdim, ml_tensor **idx);
ml_tensor *ml_min(ml_tensor *a, int dim, bool keepdim, ml_tensor **idx);
ml_tensor *ml_argmax(ml_tensor *a, int dim, bool keepdim);
ml_tensor *ml_argmin(ml_tensor *a, int dim, bool keepdim);
ml_tensor *ml_var(ml_tensor *a, int dim, bool keepdim, bool unbiased);
ml_tensor *ml_std(ml_tensor *a, int dim, bool keepdim, bool unbiased);
ml_tensor *ml_norm(ml_tensor *a, double p, int dim, bool keepdim);
ml_tensor *ml_logsumexp(ml_tensor *a, int dim, bool keepdim);
ml_tensor *ml_softmax(ml_tensor *a, int dim);
ml_tensor *ml_log_softmax(ml_tensor *a, int dim);
ml_tensor *ml_cumsum(ml_tensor *a, int dim);

/* ---- linear algebra (linalg.c) ---------------------------------------- */
ml_tensor *ml_matmul(ml_tensor *a, ml_tensor *b);
ml_tensor *ml_dot(ml_tensor *a, ml_tensor *b);
ml_tensor *ml_outer(ml_tensor *a, ml_tensor *b);
/* beta * bias + alpha * (a @ b), bias broadcast to [n, m] */
ml_tensor *ml_addmm(ml_tensor *bias, ml_tensor *a, ml_tensor *b, double beta, double alpha);
/* x [m, in] @ w^T + bias (w [out, in], bias [out] or NULL): nn.Linear's product, w read transposed in place */
ml_tensor *ml_linear(ml_tensor *x, ml_tensor *w, ml_tensor *bias);

/* ---- views (shape.c): never copy ------------------------------------- */
/* shape may contain one -1. Copies only when the strides make a view impossible. */
ml_tensor *ml_reshape(ml_tensor *a, int ndim, const int64_t *shape);
ml_tensor *ml_view_shape(ml_tensor *a, int ndim, const int64_t *shape); /* errors instead of copying */
ml_tensor *ml_transpose(ml_tensor *a, int d0, int d1);
ml_tensor *ml_permute(ml_tensor *a, const int *perm);
ml_tensor *ml_narrow(ml_tensor *a, int dim, int64_t start, int64_t len); /* start 0-based */
ml_tensor *ml_select(ml_tensor *a, int dim, int64_t index);           /* index 0-based */
ml_tensor *ml_expand(ml_tensor *a, int ndim, const int64_t *shape);    /* -1 keeps a size */
ml_tensor *ml_squeeze(ml_tensor *a, int dim);                          /* dim < 0: all size-1 dims */
ml_tensor *ml_unsqueeze(ml_tensor *a, int dim);
ml_tensor *ml_contiguous_op(ml_tensor *a); /* differentiable contiguous() */
ml_tensor *ml_clone_op(ml_tensor *a);      /* differentiable clone() */
ml_tensor *ml_detach(ml_tensor *a);

/* ---- indexing (index.c, join.c, sort.c) -------------------------------- */
/* indices are 0-based int64 tensors at this level; the bindings convert. */
ml_tensor *ml_index_select(ml_tensor *a, int dim, ml_tensor *index);
ml_tensor *ml_gather(ml_tensor *a, int dim, ml_tensor *index);
ml_tensor *ml_scatter_add(ml_tensor *a, int dim, ml_tensor *index, ml_tensor *src);
ml_tensor *ml_masked_select(ml_tensor *a, ml_tensor *mask);
ml_tensor *ml_masked_fill(ml_tensor *a, ml_tensor *mask, double value);
ml_tensor *ml_cat(int n, ml_tensor *const *ts, int dim);
ml_tensor *ml_stack(int n, ml_tensor *const *ts, int dim);
ml_tensor *ml_sort(ml_tensor *a, int dim, bool descending, ml_tensor **indices);
ml_tensor *ml_topk(ml_tensor *a, int64_t k, int dim, bool largest, ml_tensor **indices);

#endif
