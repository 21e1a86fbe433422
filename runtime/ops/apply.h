/* Internal: the broadcast iterator and threading helpers shared by the
 * elementwise kernels (the parallel-for itself is core/parallel.h). A row function processes n elements whose input
 * strides are sa and sb (in elements; 0 means broadcast, 1 contiguous) and
 * writes n contiguous outputs. */
#ifndef ML_APPLY_H
#define ML_APPLY_H

#include "../core/parallel.h" /* ml_parallel_for, ML_PAR_GRAIN */
#include "../tensor/tensor.h"

typedef void (*ml_row_fn)(void *o, const void *a, int64_t sa, const void *b, int64_t sb, int64_t n, const void *ctx);

/* out must be contiguous with the broadcast shape of a and b; a and b share
 * one dtype (the kernel's), out may have another (comparisons). */
void ml_apply_binary(ml_tensor *out, const ml_tensor *a, const ml_tensor *b, ml_row_fn fn, const void *ctx);

/* A new tensor of a and b's broadcast shape and dtype out_dt: a and b
 * converted to dt (the row's input dtype), then fn over every row. fn_name
 * names the op in a shape error. NULL with the error set on failure. */
ml_tensor *ml_map_binary(const char *fn_name, ml_tensor *a, ml_tensor *b, ml_dtype dt, ml_dtype out_dt, ml_row_fn fn,
                         const void *ctx);

/* A new tensor of a's shape and dtype out_dt: fn over every element of a
 * (contiguous, in the row's input dtype) with the one element at s (of
 * that dtype) as the other operand, first when reversed. The scalar forms'
 * fast path: no 0-d tensor, no broadcast. NULL with the error set. */
ml_tensor *ml_map_scalar(ml_tensor *a, const void *s, bool reversed, ml_dtype out_dt, ml_row_fn fn, const void *ctx);

/* The number s of "tensor op number" as a 0-d tensor: in a's dtype when a
 * is float, else int64 for a whole number and float32 otherwise (the binary
 * ops' rule, PyTorch's). NULL when out of memory. */
ml_tensor *ml_scalar_operand(const ml_tensor *a, double s);

#endif
