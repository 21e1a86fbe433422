/* Vectorized transcendental math (SLEEF), dispatched at run time to the
 * widest instruction set the CPU has (AVX-512, AVX2, or scalar).
 *
 * The ISA is chosen once, at load time, from __builtin_cpu_supports; the
 * environment variable MOONLAB_ISA=avx512f|avx2|scalar forces a narrower one
 * (the tests check every path on one machine). Each kernel maps contiguous
 * arrays, o may alias x; the last partial vector is computed by the same
 * vector routine on a zero-padded copy, so an element's result never depends
 * on where a thread's range starts or ends. Accuracy: SLEEF's u10 routines,
 * at most 1.0 ULP; sigmoid and gelu compose them (see vecmath_kernels.h). */
#ifndef ML_OPS_VECMATH_H
#define ML_OPS_VECMATH_H

#include <stdint.h>

typedef enum {
    ML_VM_NONE, /* not a vecmath function (a table's default entry) */
    ML_VM_EXP,
    ML_VM_LOG,
    ML_VM_LOG1P,
    ML_VM_TANH,
    ML_VM_SIGMOID, /* 1 / (1 + exp(-x)) */
    ML_VM_GELU,    /* x * Phi(x), with erf (PyTorch's default gelu) */
    ML_VM_NFN
} ml_vm_fn;

/* o[i] = fn(x[i]) for i < n (o and x: (n)) */
void ml_vm_map_f32(ml_vm_fn fn, float *o, const float *x, int64_t n);
void ml_vm_map_f64(ml_vm_fn fn, double *o, const double *x, int64_t n);
/* o[i] = g[i] * gelu'(x[i]) = g[i] * (Phi(x) + x phi(x)) (o, g, x: (n)) */
void ml_vm_gelu_grad_f32(float *o, const float *g, const float *x, int64_t n);
void ml_vm_gelu_grad_f64(double *o, const double *g, const double *x, int64_t n);

/* The instruction set the vectorized math runs with ("avx512f", "avx2", "scalar"). */
const char *ml_vecmath_isa(void);
/* For tests: switch to the named ISA ("auto" for the widest the CPU has);
 * one the CPU lacks gives the widest it has below it. Returns the ISA now in
 * force, or NULL (nothing changed) for an unknown name. Not thread-safe: call
 * it only where no kernel runs. */
const char *ml_vecmath_select(const char *name);

#endif
