/* The vecmath kernels for AVX-512 (16 floats, 8 doubles a vector); only
 * called when the CPU has avx512f (vecmath.c checks). */
#pragma GCC target("avx512f")
#include <immintrin.h>
#include <sleef.h>

#define VM_TABLE ml_vm_avx512f
#define VM_ISA_NAME "avx512f"
#define VM_SCALAR 0
typedef __m512 VF;
typedef __m512d VD;
#define LF 16
#define LD 8
#define SF(fn, u) Sleef_##fn##f16_##u##avx512f
#define SD(fn, u) Sleef_##fn##d8_##u##avx512f
#define FMAF(a, b, c) _mm512_fmadd_ps(a, b, c)
#define FMAD(a, b, c) _mm512_fmadd_pd(a, b, c)
#include "vecmath_kernels.h"
