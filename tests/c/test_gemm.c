/* ops/gemm.c from C: ml_sgemm under each MOONLAB_GEMM rule (auto, openblas,
 * onednn) against a float64 product, for the four transpose combinations,
 * leading dimensions beyond the minimum, alpha and beta, k = 0, m = 1 and
 * n = 1, and C full of NaN with beta = 0; ml_dgemm likewise; the small
 * kernel (gemm_small.c) on each ISA; the plan's
 * choices (gemv for x @ W^T with one row, the small kernel for the tiny
 * model's products, oneDNN for the MLP's on a full-width AVX-512 CPU); and that a
 * product called from inside an OpenMP region gives the same bits.
 * Prints "N passed, M failed" last; exits 1 on a failure. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/core/parallel.h"
#include "../../runtime/ops/gemm.h"
#include "../../runtime/ops/vecmath.h"

#include "check.h"

static uint64_t rng = 88172645463325252ull;
static double uniform(void) { /* xorshift64, in [-0.5, 0.5) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0 - 0.5;
}

/* one case: op(A) [m, k] @ op(B) [k, n], leading dimensions padded by pad */
typedef struct {
    int64_t m, n, k;
    bool ta, tb;
    int64_t pad;
    double alpha, beta;
} gcase;

/* worst |got - want| / (sum_p |a_ip b_pj| + |beta c|), the error bound's scale */
static double run_case(const gcase *c, bool dbl) {
    int64_t ar = c->ta ? c->k : c->m, ac = c->ta ? c->m : c->k; /* A as stored */
    int64_t br = c->tb ? c->n : c->k, bc = c->tb ? c->k : c->n;
    int64_t lda = ac + c->pad, ldb = bc + c->pad, ldc = c->n + c->pad;
    size_t na = (size_t)(ar * lda + 1), nb = (size_t)(br * ldb + 1), nc = (size_t)(c->m * ldc + 1);
    double *A = malloc(na * 8), *B = malloc(nb * 8), *C0 = malloc(nc * 8);
    for (size_t i = 0; i < na; i++) A[i] = uniform();
    for (size_t i = 0; i < nb; i++) B[i] = uniform();
    for (size_t i = 0; i < nc; i++) C0[i] = c->beta == 0 ? NAN : uniform(); /* beta = 0 must not read C */
    float *Af = malloc(na * 4), *Bf = malloc(nb * 4), *Cf = malloc(nc * 4);
    double *Cd = malloc(nc * 8);
    for (size_t i = 0; i < na; i++) Af[i] = (float)A[i], A[i] = Af[i];
    for (size_t i = 0; i < nb; i++) Bf[i] = (float)B[i], B[i] = Bf[i];
    for (size_t i = 0; i < nc; i++) Cf[i] = (float)C0[i], C0[i] = Cf[i], Cd[i] = C0[i];
    if (dbl) ml_dgemm(c->ta, c->tb, c->m, c->n, c->k, c->alpha, A, lda, B, ldb, c->beta, Cd, ldc);
    else ml_sgemm(c->ta, c->tb, c->m, c->n, c->k, (float)c->alpha, Af, lda, Bf, ldb, (float)c->beta, Cf, ldc);
    double worst = 0;
    for (int64_t i = 0; i < c->m; i++)
        for (int64_t j = 0; j < c->n; j++) {
            double want = 0, scale = 0;
            for (int64_t p = 0; p < c->k; p++) {
                double a = c->ta ? A[p * lda + i] : A[i * lda + p], b = c->tb ? B[j * ldb + p] : B[p * ldb + j];
                want += a * b;
                scale += fabs(a * b);
            }
            want *= c->alpha;
            scale *= fabs(c->alpha);
            if (c->beta != 0) want += c->beta * C0[i * ldc + j], scale += fabs(c->beta * C0[i * ldc + j]);
            double got = dbl ? Cd[i * ldc + j] : Cf[i * ldc + j];
            double e = fabs(got - want) / (scale > 0 ? scale : 1);
            if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
        }
    /* the padding between rows of C is left alone */
    for (int64_t i = 0; i < c->m; i++)
        for (int64_t j = c->n; j < ldc && i * ldc + j < (int64_t)nc - 1; j++) {
            double got = dbl ? Cd[i * ldc + j] : Cf[i * ldc + j];
            if (!(got == C0[i * ldc + j] || (isnan(got) && isnan(C0[i * ldc + j])))) worst = INFINITY;
        }
    free(A), free(B), free(C0), free(Af), free(Bf), free(Cf), free(Cd);
    return worst;
}

static void test_values(void) {
    static const int64_t shapes[][3] = {
        {1, 1, 1},     {1, 1, 300},   {1, 7, 5},     {7, 1, 5},   {1, 512, 784}, {300, 1, 64}, {2, 2, 2},
        {1, 40, 256},  {40, 1, 256},  {1, 40, 257},  {40, 1, 257},
        {32, 32, 10},  {32, 10, 32},  {32, 1, 32},   {1, 32, 32}, {32, 32, 1},   {33, 17, 40}, {64, 64, 64},
        {128, 10, 256}, {10, 256, 128}, {128, 256, 10}, {96, 80, 72}, {300, 260, 270}, {5, 3, 0},
        /* the small kernel's edges: partial vectors and row tiles, dot products with a tail, its largest */
        {10, 32, 32},  {31, 33, 31},  {5, 70, 9},    {70, 5, 9},  {3, 3, 100},   {20, 2, 19},  {9, 3, 33},
        {4, 4, 400},   {1, 100, 60}, {32, 32, 32}, {16, 64, 32},
    };
    static const char *const rules[] = {"auto", "openblas", "onednn"};
    for (int r = 0; r < 3; r++) {
        CHECK(ml_gemm_rule_set(rules[r]) == 0);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int t = 0; t < 4; t++)
                for (int v = 0; v < 3; v++) { /* minimal ld, beta = 0; padded, alpha, beta; padded, beta = 0 */
                    gcase c = {shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, v ? 3 : 0,
                               v == 1 ? -0.75 : 1, v == 1 ? 0.5 : 0};
                    double es = run_case(&c, false), ed = r == 0 ? run_case(&c, true) : 0;
                    bool ok = es < 1e-6 && ed < 1e-14;
                    CHECK(ok);
                    if (!ok)
                        fprintf(stderr, "  rule %s: %lldx%lldx%lld ta=%d tb=%d pad=%lld beta=%g: float32 %.3g float64 %.3g\n",
                                rules[r], (long long)c.m, (long long)c.n, (long long)c.k, c.ta, c.tb, (long long)c.pad,
                                c.beta, es, ed);
                }
    }
    /* the small kernel on each narrower ISA (auto's choice ran above) */
    CHECK(ml_gemm_rule_set("auto") == 0);
    static const char *const isas[] = {"avx2", "scalar"};
    for (int i = 0; i < 2; i++) {
        ml_vecmath_select(isas[i]);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int t = 0; t < 4; t++) {
                gcase c = {shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, 3, -0.75, 0.5};
                double es = run_case(&c, false), ed = run_case(&c, true);
                bool ok = es < 1e-6 && ed < 1e-14;
                CHECK(ok);
                if (!ok)
                    fprintf(stderr, "  isa %s: %lldx%lldx%lld ta=%d tb=%d: float32 %.3g float64 %.3g\n", isas[i],
                            (long long)c.m, (long long)c.n, (long long)c.k, c.ta, c.tb, es, ed);
            }
    }
    ml_vecmath_select("auto");
    CHECK(ml_gemm_rule_set("fast") == -1);
    CHECK(ml_gemm_rule_set("auto") == 0);
}

static void test_plan(void) {
    int nt;
    ml_gemm_rule_set("auto");
    /* batch-1 inference: x [1, 784] @ W^T, W [512, 784] stored as it is */
    CHECK(ml_sgemm_plan(false, true, 1, 512, 784, &nt) == ML_KERNEL_GEMV && nt == 1);
    CHECK(ml_sgemm_plan(false, false, 300, 1, 64, &nt) == ML_KERNEL_GEMV);
    /* the other orientation of a vector product: gemv for small k, else a (blocked, accurate) gemm */
    CHECK(ml_sgemm_plan(false, false, 1, 512, 784, &nt) == ML_KERNEL_OPENBLAS);
    CHECK(ml_sgemm_plan(false, false, 1, 512, 256, &nt) == ML_KERNEL_GEMV);
    CHECK(ml_sgemm_plan(true, false, 300, 1, 200, &nt) == ML_KERNEL_GEMV);
    CHECK(ml_sgemm_plan(true, false, 32, 1, 300, &nt) == ML_KERNEL_OPENBLAS);
    /* the tiny model's products (and its h^T @ g): below any library's call overhead */
    CHECK(ml_sgemm_plan(true, false, 32, 1, 32, &nt) == ML_KERNEL_SMALL && nt == 1);
    CHECK(ml_sgemm_plan(false, true, 32, 32, 10, &nt) == ML_KERNEL_SMALL && nt == 1);
    CHECK(ml_sgemm_plan(true, false, 32, 10, 32, &nt) == ML_KERNEL_SMALL && nt == 1);
    CHECK(ml_sgemm_plan(false, false, 32, 32, 32, &nt) == ML_KERNEL_SMALL);
    CHECK(ml_sgemm_plan(false, false, 32, 32, 33, &nt) != ML_KERNEL_SMALL);
    ml_gemm_kernel big = ml_gemm_onednn_preferred() ? ML_KERNEL_ONEDNN : ML_KERNEL_OPENBLAS;
    CHECK(ml_sgemm_plan(false, true, 128, 512, 784, &nt) == big);
    CHECK(ml_sgemm_plan(true, false, 512, 784, 128, &nt) == big);
    CHECK(ml_sgemm_plan(false, false, 128, 10, 512, &nt) == big);
    if (big == ML_KERNEL_ONEDNN) { /* threads: one below 2^24 multiply-adds, all from there */
        int was = ml_get_threads();
        ml_set_threads(2);
        CHECK(ml_sgemm_plan(false, false, 128, 10, 512, &nt) == big && nt == 1);
        CHECK(ml_sgemm_plan(false, false, 256, 256, 256, &nt) == big && nt == 2);
        ml_set_threads(was);
    }
    ml_gemm_rule_set("openblas"); /* the libraries' rules force them, small products included */
    CHECK(ml_sgemm_plan(false, true, 128, 512, 784, &nt) == ML_KERNEL_OPENBLAS);
    CHECK(ml_sgemm_plan(false, true, 32, 32, 10, &nt) == ML_KERNEL_OPENBLAS);
    ml_gemm_rule_set("onednn");
    CHECK(ml_sgemm_plan(false, true, 32, 32, 10, &nt) == ML_KERNEL_ONEDNN);
    CHECK(ml_sgemm_plan(false, true, 1, 512, 784, &nt) == ML_KERNEL_GEMV); /* vectors: the same under every rule */
    ml_gemm_rule_set("auto");
    CHECK(strcmp(ml_gemm_rule_name(ml_gemm_rule_get()), "auto") == 0);
    CHECK(strcmp(ml_gemm_kernel_name(ML_KERNEL_ONEDNN), "onednn") == 0);
    ml_gemm_info info;
    ml_gemm_info_get(&info);
    CHECK(strcmp(info.openblas_variant, "openmp") == 0);
    CHECK(strchr(info.onednn_version, '.') && strchr(info.openblas_version, '.'));
    CHECK(strcmp(info.onednn_isa, "unknown") != 0);
}

/* the same product at 2 threads twice, and from inside a parallel region
 * (where it runs on one thread), gives the same bits: the plan depends on
 * the shape only, and a one-thread oneDNN call sums in a fixed order */
static void test_determinism(void) {
    int64_t m = 256, n = 256, k = 300;
    float *A = malloc(m * k * 4), *B = malloc(k * n * 4), *C1 = malloc(m * n * 4), *C2 = malloc(m * n * 4);
    for (int64_t i = 0; i < m * k; i++) A[i] = (float)uniform();
    for (int64_t i = 0; i < k * n; i++) B[i] = (float)uniform();
    int was = ml_get_threads();
    ml_set_threads(2);
    ml_sgemm(false, true, m, n, k, 1, A, k, B, k, 0, C1, n);
    ml_sgemm(false, true, m, n, k, 1, A, k, B, k, 0, C2, n);
    CHECK(memcmp(C1, C2, m * n * 4) == 0);
    ml_set_threads(1);
    ml_sgemm(false, true, 64, 64, 64, 1, A, k, B, k, 0, C1, n);
#pragma omp parallel num_threads(2)
    {
#pragma omp single
        ml_sgemm(false, true, 64, 64, 64, 1, A, k, B, k, 0, C2, n);
    }
    bool same = true;
    for (int i = 0; i < 64; i++) same &= memcmp(C1 + i * n, C2 + i * n, 64 * 4) == 0;
    CHECK(same);
    ml_set_threads(was);
    free(A), free(B), free(C1), free(C2);
}

int main(void) {
    test_values();
    test_plan();
    test_determinism();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
