/* The vecmath kernels one element at a time, through SLEEF's portable C
 * routines (the same accuracy bounds as the vector ones): for CPUs without
 * AVX2, and MOONLAB_ISA=scalar. */
#include <sleef.h>

#define VM_TABLE ml_vm_scalar
#define VM_ISA_NAME "scalar"
#define VM_SCALAR 1
typedef float VF;
typedef double VD;
#define LF 1
#define LD 1
#define SF(fn, u) Sleef_##fn##f1_##u##purec
#define SD(fn, u) Sleef_##fn##d1_##u##purec
#define FMAF(a, b, c) __builtin_fmaf(a, b, c)
#define FMAD(a, b, c) __builtin_fma(a, b, c)
#include "vecmath_kernels.h"
