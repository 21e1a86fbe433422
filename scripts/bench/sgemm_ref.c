/* The C side of scripts/bench/matmul.sh: raw cblas_sgemm on float32 n x n
 * row-major matrices, linked against the same OpenBLAS (OpenMP variant) as
 * moonlab.
 *   sgemm_ref N THREADS SECONDS [alloc]
 * Prints "GFLOPS <median> <best> <calls>". With "alloc", every call also
 * callocs and frees its output (what moonlab's ml.matmul does with ml_zeros),
 * to show what the allocation costs by itself. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern void openblas_set_num_threads(int);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s N THREADS SECONDS [alloc]\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[1]), nt = atoi(argv[2]);
    double budget = atof(argv[3]);
    int alloc = argc > 4 && strcmp(argv[4], "alloc") == 0;
    openblas_set_num_threads(nt);
    size_t bytes = (size_t)n * n * sizeof(float);
    float *a = aligned_alloc(64, bytes), *b = aligned_alloc(64, bytes), *c = aligned_alloc(64, bytes);
    srand(1);
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)rand() / RAND_MAX - 0.5f;
        b[i] = (float)rand() / RAND_MAX - 0.5f;
    }
    memset(c, 0, bytes);
    /* warm-up: thread pool, page faults, caches */
    for (int i = 0; i < 3; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    enum { MAXS = 100000 };
    static double s[MAXS];
    int k = 0;
    double t_end = now() + budget;
    while ((k < 5 || now() < t_end) && k < MAXS) {
        double t0 = now();
        float *o = c;
        if (alloc) {
            o = aligned_alloc(64, bytes);
            memset(o, 0, bytes);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, o, n);
        if (alloc) free(o);
        s[k++] = now() - t0;
    }
    qsort(s, k, sizeof *s, cmp);
    double flop = 2.0 * n * n * n;
    printf("GFLOPS %.2f %.2f %d\n", flop / s[k / 2] * 1e-9, flop / s[0] * 1e-9, k);
    free(a);
    free(b);
    free(c);
    return 0;
}
