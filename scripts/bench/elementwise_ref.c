/* The C side of scripts/bench/elementwise.sh: c[i] = a[i] + b[i] (or *) on
 * N float32 elements, an OpenMP parallel loop with a static schedule.
 *   elementwise_ref N THREADS SECONDS add|mul fresh|reuse
 * fresh: c is malloc'd before and freed after every op (as a new tensor is);
 * reuse: one c for every op;
 * thp: as fresh, but c is 2 MiB-aligned and madvise(MADV_HUGEPAGE)d, so the
 *   kernel faults it in 2 MiB pages (a possible fix for fresh's page faults).
 * Prints "GBS <median> <best> <calls>", counting
 * 3*4*N bytes per op. */
#define _GNU_SOURCE
#include <omp.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"

static void add(float *restrict c, const float *restrict a, const float *restrict b, long n) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) c[i] = a[i] + b[i];
}

static void mul(float *restrict c, const float *restrict a, const float *restrict b, long n) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) c[i] = a[i] * b[i];
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s N THREADS SECONDS add|mul fresh|reuse|thp\n", argv[0]);
        return 2;
    }
    long n = atol(argv[1]);
    int nt = atoi(argv[2]);
    double budget = atof(argv[3]);
    void (*op)(float *restrict, const float *restrict, const float *restrict, long) = strcmp(argv[4], "mul") ? add : mul;
    int fresh = strcmp(argv[5], "fresh") == 0, thp = strcmp(argv[5], "thp") == 0;
    omp_set_num_threads(nt);
    size_t bytes = n * sizeof(float);
    float *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
    /* first touch in parallel, as the inputs would be after a parallel op */
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        a[i] = (float)(i % 1000) * 0.001f;
        b[i] = 1.0f - (float)(i % 777) * 0.001f;
        c[i] = 0;
    }
    for (int i = 0; i < 2; i++) op(c, a, b, n);
    enum { MAXS = 100000 };
    static double s[MAXS];
    int k = 0;
    double sink = 0, t_end = now() + budget;
    while ((k < 5 || now() < t_end) && k < MAXS) {
        double t0 = now();
        if (thp) {
            size_t big = (bytes + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
            float *o = aligned_alloc(2u << 20, big);
            madvise(o, big, MADV_HUGEPAGE);
            op(o, a, b, n);
            sink += o[n / 2];
            free(o);
        } else if (fresh) {
            float *o = malloc(bytes);
            op(o, a, b, n);
            sink += o[n / 2];
            free(o);
        } else {
            op(c, a, b, n);
            sink += c[n / 2];
        }
        s[k++] = now() - t0;
    }
    qsort(s, k, sizeof *s, cmp);
    double gb = 3.0 * 4.0 * n * 1e-9;
    printf("GBS %.2f %.2f %d\n", gb / s[k / 2], gb / s[0], k);
    if (sink == 12345.678) puts("");
    free(a);
    free(b);
    free(c);
    return 0;
}
