/* Which library runs a float matrix product, and on how many threads.
 * Under auto, products of at most 32^3 multiply-adds (either type, any
 * layout, vectors too) run in gemm_small.c on one thread: there a library
 * call costs more than the arithmetic. Beyond that,
 * float32: oneDNN's dnnl_sgemm where it was measured faster (AVX-512 CPUs
 * with full-width units, m and n >= 2, at least 32x32x16), OpenBLAS's
 * sgemv for one-row and one-column products (x @ W^T with one row: bound by
 * reading W) whose outputs are dot products of stored rows or whose k is
 * small (see use_gemv in gemm.c), and
 * OpenBLAS's sgemm otherwise. float64: OpenBLAS. The choice depends only on
 * the shape, the CPU and MOONLAB_GEMM, never on timings, so the same seed
 * and thread count give bit-identical results. */
#ifndef ML_OPS_GEMM_H
#define ML_OPS_GEMM_H

#include <stdbool.h>
#include <stdint.h>

/* MOONLAB_GEMM=auto|openblas|onednn (read once; auto when unset): the
 * library of float32 matrix-matrix products (m, n >= 2) whatever the shape
 * and CPU, small ones included; vector products go to gemv under both
 * library rules (to the small kernel under auto when small), and float64
 * products to OpenBLAS (the small kernel only under auto). */
typedef enum { ML_GEMM_AUTO, ML_GEMM_OPENBLAS, ML_GEMM_ONEDNN } ml_gemm_rule;
typedef enum { ML_KERNEL_OPENBLAS, ML_KERNEL_ONEDNN, ML_KERNEL_GEMV, ML_KERNEL_SMALL } ml_gemm_kernel;

ml_gemm_rule ml_gemm_rule_get(void);
/* For tests and benchmarks: overrides MOONLAB_GEMM. Returns -1 on an unknown name. */
int ml_gemm_rule_set(const char *name);
const char *ml_gemm_rule_name(ml_gemm_rule r);
const char *ml_gemm_kernel_name(ml_gemm_kernel k);
/* The instruction set oneDNN's JIT chose ("avx512_core_bf16", "avx2", ...),
 * and whether auto sends products to oneDNN on this CPU at all. */
const char *ml_gemm_onednn_isa(void);
bool ml_gemm_onednn_preferred(void);

/* What runs the products, for ml.config() and `moonlab --version`. */
typedef struct {
    char openblas_version[16];   /* "0.3.21" */
    const char *openblas_config; /* openblas_get_config() */
    const char *openblas_core;   /* the kernel family it runs: "Haswell" (OPENBLAS_CORETYPE) */
    const char *openblas_variant; /* "openmp", "pthreads" or "sequential" */
    char onednn_version[16];     /* "2.6.3" */
    const char *onednn_isa;      /* ml_gemm_onednn_isa() */
    bool onednn_preferred;       /* ml_gemm_onednn_preferred() */
    const char *rule;            /* "auto", "openblas", "onednn" */
    char cpu[64];                /* the CPU's brand string and family: "AMD EPYC (family 26)" */
} ml_gemm_info;
void ml_gemm_info_get(ml_gemm_info *info);

/* The kernel and thread count ml_sgemm uses for op(A) [m, k] @ op(B) [k, n]
 * outside a parallel region (inside one: always 1 thread). */
ml_gemm_kernel ml_sgemm_plan(bool ta, bool tb, int64_t m, int64_t n, int64_t k, int *threads);

/* C[m, n] = alpha * op(A) op(B) + beta * C, row-major; op(X) = X^T when tX.
 * A is m x k as stored (k x m when ta), lda its row stride; likewise B, C.
 * beta = 0 overwrites C (never reads it). k = 0 gives beta * C. */
void ml_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *A, int64_t lda,
              const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void ml_dgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double *A, int64_t lda,
              const double *B, int64_t ldb, double beta, double *C, int64_t ldc);

/* ---- gemm_small.c: products below a library call's overhead ---------------
 * Under auto, float32 and float64 products with m * n * k <= ML_SMALL_MNK
 * run there, whatever the layout: one thread, the same bits on every call.
 * Same arguments as ml_sgemm, k >= 1, and ml_small_fits (the operand it
 * copies fits its stack buffer: k * (max(m, n) + 16) <= 8192). */
#define ML_SMALL_MNK (32 * 32 * 32)
bool ml_small_fits(int64_t m, int64_t n, int64_t k);
static inline bool ml_small_wins(int64_t m, int64_t n, int64_t k) {
    return m * n * k <= ML_SMALL_MNK && ml_small_fits(m, n, k);
}
void ml_small_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void ml_small_dgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double *A, int64_t lda,
                    const double *B, int64_t ldb, double beta, double *C, int64_t ldc);

#endif
