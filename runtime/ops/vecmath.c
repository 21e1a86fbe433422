/* Vectorized transcendental math (see vecmath.h): the run-time choice of
 * ISA and the entry points. The kernels are in vecmath_kernels.h, built
 * once per ISA by vecmath_avx512.c, vecmath_avx2.c and vecmath_scalar.c. */
#include "vecmath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vecmath_kernels.h"

/* Widest first; a table is usable when the CPU has what its code needs. */
static const ml_vm_table *const isas[] = {&ml_vm_avx512f, &ml_vm_avx2, &ml_vm_scalar};
enum { N_ISAS = sizeof isas / sizeof isas[0] };

static int cpu_has(const ml_vm_table *t) {
    __builtin_cpu_init();
    if (t == &ml_vm_avx512f) return __builtin_cpu_supports("avx512f");
    if (t == &ml_vm_avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return 1;
}

static const ml_vm_table *vm = &ml_vm_scalar;

const char *ml_vecmath_select(const char *name) {
    int k = 0;
    if (strcmp(name, "auto") != 0) {
        if (strcmp(name, "avx512") == 0) name = "avx512f";
        while (k < N_ISAS && strcmp(isas[k]->name, name) != 0) k++;
        if (k == N_ISAS) return NULL;
    }
    while (!cpu_has(isas[k])) k++; /* scalar always qualifies */
    vm = isas[k];
    return vm->name;
}

/* Chosen once, before main (and before the Lua module's first call). */
__attribute__((constructor)) static void vecmath_init(void) {
    const char *env = getenv("MOONLAB_ISA");
    if (env && *env && !ml_vecmath_select(env)) {
        fprintf(stderr, "moonlab: MOONLAB_ISA=%s is not one of auto, avx512f, avx2, scalar; using auto\n", env);
        env = NULL;
    }
    if (!env || !*env) ml_vecmath_select("auto");
}

const char *ml_vecmath_isa(void) { return vm->name; }

void ml_vm_map_f32(ml_vm_fn fn, float *o, const float *x, int64_t n) {
    if (n > 0) vm->f32[fn](o, x, n);
}
void ml_vm_map_f64(ml_vm_fn fn, double *o, const double *x, int64_t n) {
    if (n > 0) vm->f64[fn](o, x, n);
}
void ml_vm_gelu_grad_f32(float *o, const float *g, const float *x, int64_t n) {
    if (n > 0) vm->gelu_grad_f32(o, g, x, n);
}
void ml_vm_gelu_grad_f64(double *o, const double *g, const double *x, int64_t n) {
    if (n > 0) vm->gelu_grad_f64(o, g, x, n);
}
