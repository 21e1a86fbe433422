/* The floor of scripts/bench/infer.sh: batch-1 inference of the MLP
 * 784-512-256-10 in plain C, three cblas_sgemv calls (OpenBLAS, the library
 * moonlab links) on weights stored [out, in] row-major as nn.Linear keeps
 * them, each output starting from the bias (beta = 1), the ReLUs as C loops.
 * Nothing is allocated per call; this is what reading the 2.1 MB of weights
 * costs. THREADS sets OpenMP's (and so OpenBLAS's) thread count.
 *   infer_ref THREADS SECONDS
 * Prints "US <median> <best> <calls>" (us per call). */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"

static float *filled(int n, float scale) {
    float *p = aligned_alloc(64, ((size_t)n * 4 + 63) / 64 * 64);
    for (int i = 0; i < n; i++) p[i] = scale * ((float)rand() / RAND_MAX * 2 - 1);
    return p;
}

enum { L = 3 };
static const int dims[L + 1] = {784, 512, 256, 10};
static float *W[L], *b[L], *act[L + 1];

static void forward(void) {
    for (int l = 0; l < L; l++) {
        int in = dims[l], out = dims[l + 1];
        memcpy(act[l + 1], b[l], out * sizeof(float));
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, W[l], in, act[l], 1, 1.0f, act[l + 1], 1);
        if (l < L - 1)
            for (int i = 0; i < out; i++) act[l + 1][i] = act[l + 1][i] > 0 ? act[l + 1][i] : 0;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s THREADS SECONDS\n", argv[0]);
        return 2;
    }
    omp_set_num_threads(atoi(argv[1]));
    double budget = atof(argv[2]);
    srand(0);
    act[0] = filled(dims[0], 0.5f);
    for (int l = 0; l < L; l++) {
        float bound = 1.0f / 28; /* about PyTorch's 1/sqrt(in) scale */
        W[l] = filled(dims[l] * dims[l + 1], bound);
        b[l] = filled(dims[l + 1], bound);
        act[l + 1] = filled(dims[l + 1], 0);
    }
    for (int i = 0; i < 20; i++) forward();
    enum { MAXS = 100000, REPS = 10 };
    static double s[MAXS];
    int k = 0;
    double t_end = now() + budget;
    while (k < MAXS && (k < 5 || now() < t_end)) {
        double t0 = now();
        for (int r = 0; r < REPS; r++) forward();
        s[k++] = (now() - t0) / REPS;
    }
    qsort(s, k, sizeof *s, cmp);
    printf("US %.3f %.3f %d\n", s[k / 2] * 1e6, s[0] * 1e6, k * REPS);
    return 0;
}
