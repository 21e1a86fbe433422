/* The threads knob and the parallel-for of our own loops. One number,
 * ml_set_threads(n), reaches OpenMP (our loops), OpenBLAS and oneDNN: both
 * libraries are built on the same libgomp pool and take their thread count
 * from OpenMP's ICV at each call. Neither is run threaded from inside one of
 * our parallel regions. */
#ifndef ML_CORE_PARALLEL_H
#define ML_CORE_PARALLEL_H

#include <stdint.h>

/* Threads used by OpenBLAS, oneDNN and our own loops (n < 1 means 1). */
void ml_set_threads(int n);
int ml_get_threads(void);
/* Threads the next OpenBLAS or oneDNN call runs with (ops/gemm.c chooses
 * per shape; 1 inside a parallel region is the caller's choice); cheap when
 * it does not change. Our parallel-for names its team size itself. */
void ml_blas_threads(int n);

/* Calls fn(ctx, start, end) over [0, n) split across threads when n is at
 * least 2 * grain, on one thread otherwise (or inside a parallel region). */
typedef void (*ml_range_fn)(void *ctx, int64_t start, int64_t end);
void ml_parallel_for(int64_t n, int64_t grain, ml_range_fn fn, void *ctx);

/* Elements below which a loop runs on one thread: waking a sleeping
 * (OMP_WAIT_POLICY=PASSIVE) worker costs more than a 64K-element ReLU. */
#define ML_PAR_GRAIN 262144

#endif
