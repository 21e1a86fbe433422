/* Internal: the broadcast iterator and threading helpers shared by the
 * elementwise kernels. A row function processes n elements whose input
 * strides are sa and sb (in elements; 0 means broadcast, 1 contiguous) and
 * writes n contiguous outputs. */
#ifndef ML_APPLY_H
#define ML_APPLY_H

#include "../tensor/tensor.h"

typedef void (*ml_row_fn)(void *o, const void *a, int64_t sa, const void *b, int64_t sb, int64_t n, const void *ctx);

/* out must be contiguous with the broadcast shape of a and b; a and b share
 * one dtype (the kernel's), out may have another (comparisons). */
void ml_apply_binary(ml_tensor *out, const ml_tensor *a, const ml_tensor *b, ml_row_fn fn, const void *ctx);

/* Calls fn(ctx, start, end) over [0, n) split across threads when n is large. */
typedef void (*ml_range_fn)(void *ctx, int64_t start, int64_t end);
void ml_parallel_for(int64_t n, int64_t grain, ml_range_fn fn, void *ctx);

/* Elements below which a loop runs on one thread: waking a sleeping
 * (OMP_WAIT_POLICY=PASSIVE) worker costs more than a 64K-element ReLU. */
#define ML_PAR_GRAIN 262144

#endif
