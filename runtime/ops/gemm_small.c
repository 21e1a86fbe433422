/* Matrix products too small for a library call to pay (see gemm.h's
 * ml_small_fits): a register-tiled loop in plain C with GCC vector types,
 * built for AVX-512, AVX2+FMA and SSE2 (the ISA vecmath chose), one thread, no heap
 * (op(B) is copied, when it must be, to a buffer on the stack). OpenBLAS
 * spends ~4,500 instructions in its interface, packing and beta pass on a
 * 32x32x10 product whose arithmetic is 10,240 multiply-adds, 640 AVX-512
 * instructions. The kernel body is gemm_small_impl.h, once per type. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "gemm.h"
#include "vecmath.h"

#define ML_SMALL_PACK 8192 /* elements of the stack copy of op(B): 32 KB of float */

bool ml_small_fits(int64_t m, int64_t n, int64_t k) {
    int64_t wide = (m > n ? m : n) + 16;
    return k * wide <= ML_SMALL_PACK;
}

#define T float
#define VW 16
#define TARGET "avx512f"
#define NAME(x) s_avx512_##x
#include "gemm_small_impl.h"
#undef T
#undef VW
#undef TARGET
#undef NAME

#define T float
#define VW 8
#define TARGET "avx2,fma"
#define NAME(x) s_avx2_##x
#include "gemm_small_impl.h"
#undef T
#undef VW
#undef TARGET
#undef NAME

#define T float
#define VW 4
#define TARGET "sse2"
#define NAME(x) s_sse2_##x
#include "gemm_small_impl.h"
#undef T
#undef VW
#undef TARGET
#undef NAME

#define T double
#define VW 8
#define TARGET "avx512f"
#define NAME(x) d_avx512_##x
#include "gemm_small_impl.h"
#undef T
#undef VW
#undef TARGET
#undef NAME

#define T double
#define VW 4
#define TARGET "avx2,fma"
#define NAME(x) d_avx2_##x
#include "gemm_small_impl.h"
#undef T
#undef VW
#undef TARGET
#undef NAME

#define T double
#define VW 2
#define TARGET "sse2"
#define NAME(x) d_sse2_##x
#include "gemm_small_impl.h"
#undef T
#undef VW
#undef TARGET
#undef NAME

/* The ISA the vectorized math chose (MOONLAB_ISA narrows it, so the tests
 * reach every path): 0 AVX-512, 1 AVX2 + FMA, 2 SSE2. Cached by the name's
 * address, which changes only when ml_vecmath_select does. */
static int isa_index(void) {
    static const char *seen;
    static int idx;
    const char *isa = ml_vecmath_isa();
    if (isa != seen) {
        idx = strcmp(isa, "avx512f") == 0 ? 0 : strcmp(isa, "avx2") == 0 ? 1 : 2;
        seen = isa;
    }
    return idx;
}

void ml_small_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    switch (isa_index()) {
    case 0: s_avx512_small(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 1: s_avx2_small(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); break;
    default: s_sse2_small(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); break;
    }
}

void ml_small_dgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double *A, int64_t lda,
                    const double *B, int64_t ldb, double beta, double *C, int64_t ldc) {
    switch (isa_index()) {
    case 0: d_avx512_small(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 1: d_avx2_small(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); break;
    default: d_sse2_small(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); break;
    }
}
