/* The vecmath kernels for AVX2 with FMA (8 floats, 4 doubles a vector);
 * only called when the CPU has both (vecmath.c checks). */
#pragma GCC target("avx2,fma")
#include <immintrin.h>
#include <sleef.h>

#define VM_TABLE ml_vm_avx2
#define VM_ISA_NAME "avx2"
#define VM_SCALAR 0
typedef __m256 VF;
typedef __m256d VD;
#define LF 8
#define LD 4
#define SF(fn, u) Sleef_##fn##f8_##u##avx2
#define SD(fn, u) Sleef_##fn##d4_##u##avx2
#define FMAF(a, b, c) _mm256_fmadd_ps(a, b, c)
#define FMAD(a, b, c) _mm256_fmadd_pd(a, b, c)
#include "vecmath_kernels.h"
