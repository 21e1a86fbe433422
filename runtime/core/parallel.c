/* The threads knob and the parallel-for (see parallel.h). */
#include "parallel.h"

#include <cblas.h>
#include <omp.h>

/* Per thread, so that each worker thread of a server (runtime/net/) runs its
 * kernels with its own share of the cores; OpenBLAS's OpenMP build and oneDNN
 * read the calling thread's OpenMP ICV, which is per thread too. */
static _Thread_local int n_threads = 0;     /* what the user asked for (0: not set yet) */
static _Thread_local int blas_threads = -1; /* what OpenBLAS and oneDNN run with right now */

/* OpenBLAS's OpenMP build sets omp_set_num_threads(n) itself, the ICV that
 * oneDNN's OpenMP runtime reads at each call: one setting for both. */
void ml_blas_threads(int n) {
    /* the knob's default is read from the ICV this call changes: read it first, or
     * a first small product (one thread) would leave ml.threads() at 1 for good */
    if (!n_threads) ml_get_threads();
    if (n != blas_threads) {
        openblas_set_num_threads(n);
        omp_set_num_threads(n);
        blas_threads = n;
    }
}

void ml_set_threads(int n) {
    if (n < 1) n = 1;
    n_threads = n;
    omp_set_num_threads(n);
    ml_blas_threads(n);
}

int ml_get_threads(void) {
    if (!n_threads) {
        n_threads = omp_get_max_threads();
        blas_threads = openblas_get_num_threads();
    }
    return n_threads;
}

void ml_parallel_for(int64_t n, int64_t grain, ml_range_fn fn, void *ctx) {
    int nt = ml_get_threads();
    if (nt <= 1 || n < 2 * grain || omp_in_parallel()) {
        fn(ctx, 0, n);
        return;
    }
    int64_t chunks = n / grain;
    if (chunks > nt) chunks = nt;
#pragma omp parallel for num_threads((int)chunks) schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t s = n * c / chunks, e = n * (c + 1) / chunks;
        fn(ctx, s, e);
    }
}
