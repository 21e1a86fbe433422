/* The C side of scripts/bench/matmul.sh: one raw float32 product, row-major,
 * through OpenBLAS's cblas_sgemm (OpenMP variant, the library moonlab links)
 * or oneDNN's dnnl_sgemm, with no moonlab in between.
 *   sgemm_ref LIB M N K TRANS THREADS SECONDS
 * LIB: openblas | onednn. TRANS: NN, NT, TN or TT (op(A) is M x K, op(B) is
 * K x N; a T operand is stored transposed, as W in x @ W^T). Both libraries
 * take their thread count from OpenMP (omp_set_num_threads), as in moonlab.
 * Prints "GFLOPS <median> <best> <calls> <median us per call>". */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"

static float *filled(size_t n) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
    return p;
}

static void product(int dnnl, char ta, char tb, long m, long n, long k, const float *a, long lda, const float *b,
                    long ldb, float *c) {
    if (dnnl)
        dnnl_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
    else
        cblas_sgemm(CblasRowMajor, ta == 'T' ? CblasTrans : CblasNoTrans, tb == 'T' ? CblasTrans : CblasNoTrans, m, n, k,
                    1.0f, a, lda, b, ldb, 0.0f, c, n);
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: %s openblas|onednn M N K NN|NT|TN|TT THREADS SECONDS\n", argv[0]);
        return 2;
    }
    int dnnl = strcmp(argv[1], "onednn") == 0;
    long m = atol(argv[2]), n = atol(argv[3]), k = atol(argv[4]);
    char ta = argv[5][0], tb = argv[5][1];
    int nt = atoi(argv[6]);
    double budget = atof(argv[7]);
    omp_set_num_threads(nt);
    srand(1);
    float *a = filled((size_t)m * k), *b = filled((size_t)k * n), *c = filled((size_t)m * n);
    long lda = ta == 'T' ? m : k, ldb = tb == 'T' ? k : n;
    /* the first calls warm the thread pool, the caches and oneDNN's JIT;
     * a sample is `reps` calls, enough for ~20 us, so that the clock's
     * resolution does not show in tiny products */
    enum { MAXS = 100000 };
    static double s[MAXS];
    int calls = 0, reps = 1;
    double t0 = now();
    for (int i = 0; i < 3; i++) product(dnnl, ta, tb, m, n, k, a, lda, b, ldb, c);
    double once = (now() - t0) / 3;
    if (once < 20e-6) reps = (int)(20e-6 / (once > 1e-8 ? once : 1e-8)) + 1;
    double t_end = now() + budget;
    while (calls < MAXS && (calls < 5 || now() < t_end)) {
        t0 = now();
        for (int r = 0; r < reps; r++) product(dnnl, ta, tb, m, n, k, a, lda, b, ldb, c);
        s[calls++] = (now() - t0) / reps;
    }
    qsort(s, calls, sizeof *s, cmp);
    double flop = 2.0 * m * n * k;
    printf("GFLOPS %.2f %.2f %d %.3f\n", flop / s[calls / 2] * 1e-9, flop / s[0] * 1e-9, calls * reps, s[calls / 2] * 1e6);
    free(a);
    free(b);
    free(c);
    return 0;
}
