/* The C side of scripts/bench/gemm_small.sh: one small float32 product,
 * row-major, through moonlab's small-product kernel (ml_small_sgemm, linked
 * from build/runtime/ops/gemm_small.o), OpenBLAS's cblas_sgemm and oneDNN's
 * dnnl_sgemm, with nothing in between; the three alternate in one process.
 *   gemm_small M N K NN|NT|TN|TT ROUNDS      wall clock
 *   gemm_small M N K TRANS 0 LIB CALLS       CALLS calls of LIB only (for
 *                                            callgrind: --toggle-collect=one_call)
 * Prints "ns small openblas onednn": the median over ROUNDS of each side's
 * ns per call, a round being enough calls for ~50 us of each side. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../runtime/ops/gemm.h"

#include "bench_clock.h"

static long m, n, k, lda, ldb;
static bool ta, tb;
static float *A, *B, *C;

__attribute__((noinline)) static void one_call(int lib) {
    if (lib == 0) {
        if (ml_small_fits(m, n, k)) ml_small_sgemm(ta, tb, m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, n);
    } else if (lib == 1)
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, A,
                    lda, B, ldb, 0.0f, C, n);
    else dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, n);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s M N K NN|NT|TN|TT ROUNDS | M N K TRANS 0 small|openblas|onednn CALLS\n", argv[0]);
        return 2;
    }
    m = atol(argv[1]), n = atol(argv[2]), k = atol(argv[3]);
    ta = argv[4][0] == 'T', tb = argv[4][1] == 'T';
    int rounds = atoi(argv[5]);
    omp_set_num_threads(1);
    lda = ta ? m : k, ldb = tb ? k : n;
    A = malloc(sizeof(float) * m * k), B = malloc(sizeof(float) * k * n), C = malloc(sizeof(float) * m * n);
    srand(1);
    for (long i = 0; i < m * k; i++) A[i] = (float)rand() / RAND_MAX - 0.5f;
    for (long i = 0; i < k * n; i++) B[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int lib = 0; lib < 3; lib++) one_call(lib); /* oneDNN's JIT, the pools */
    if (rounds == 0) {
        int lib = strcmp(argv[6], "small") == 0 ? 0 : strcmp(argv[6], "openblas") == 0 ? 1 : 2;
        long calls = atol(argv[7]);
        for (long i = 0; i < calls; i++) one_call(lib);
        return 0;
    }
    double t[3][1000];
    long reps[3];
    for (int lib = 0; lib < 3; lib++) { /* calls per sample: ~50 us */
        double t0 = now();
        for (int i = 0; i < 100; i++) one_call(lib);
        reps[lib] = (long)(50e-6 / ((now() - t0) / 100)) + 1;
    }
    if (rounds > 1000) rounds = 1000;
    for (int r = 0; r < rounds; r++)
        for (int lib = 0; lib < 3; lib++) {
            double t0 = now();
            for (long i = 0; i < reps[lib]; i++) one_call(lib);
            t[lib][r] = (now() - t0) / reps[lib];
        }
    printf("ns");
    for (int lib = 0; lib < 3; lib++) {
        qsort(t[lib], rounds, sizeof(double), cmp);
        if (lib == 0 && !ml_small_fits(m, n, k)) printf(" -"); /* beyond the kernel's stack buffer */
        else printf(" %.1f", t[lib][rounds / 2] * 1e9);
    }
    printf("\n");
    return 0;
}
