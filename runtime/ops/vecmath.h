/* Vectorized transcendental math (SLEEF), dispatched at run time to the
 * widest instruction set the CPU has (AVX-512, AVX2, or scalar). */
#ifndef ML_OPS_VECMATH_H
#define ML_OPS_VECMATH_H

/* The instruction set the vectorized math runs with ("avx512f", "avx2", "scalar"). */
const char *ml_vecmath_isa(void);

#endif
