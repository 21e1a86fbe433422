/* The vecmath kernels, written once for every ISA (vecmath.h says what they
 * compute). An ISA file (vecmath_avx512.c ...) sets its target, includes
 * <sleef.h>, defines
 *   VM_TABLE            the table's name (ml_vm_avx512f ...)
 *   VM_ISA_NAME         what ml_vecmath_isa() reports
 *   VF, LF, VD, LD      the float and double vector types and their lanes
 *   SF(fn, u), SD(fn, u)  the SLEEF routine: SF(exp, u10) -> Sleef_expf16_u10avx512f
 *   FMAF, FMAD          fused multiply-add of vectors (exact products below)
 *   VM_SCALAR           1 when the "vectors" are plain float and double
 * and includes this file. The arithmetic is written with GCC's vector
 * extensions, so one expression serves __m512, __m256 and plain scalars.
 *
 * Beyond SLEEF's own routines, chosen for accuracy over the whole range at
 * the cost of a select or two:
 *   sigmoid(x) = (x >= 0 ? 1 : e) / (1 + e),  e = exp(-|x|): never overflows,
 *     keeps the tiny values of large negative x (1 / (1 + exp(-x)) gives 0 there);
 *   gelu(x) = x Phi(x), Phi from erfc (VM_PHI below): no cancellation for
 *     x < -1, where PyTorch's 0.5 x (1 + erf(x / sqrt 2)) loses digits (4%
 *     wrong at x = -5 in float32); gelu(-inf) = -0, not NaN;
 *   log1p above 1e37 (1e306), where SLEEF's returns inf (see log1p below);
 *   float32 tanh from SLEEF's u35 routine (see VM_TANH_float).
 * Errors measured by tests/c/test_vecmath.c. */
#ifndef ML_OPS_VECMATH_KERNELS_H
#define ML_OPS_VECMATH_KERNELS_H

#include <stdint.h>
#include <string.h>

#include "vecmath.h"

typedef void (*ml_vm_f32_fn)(float *o, const float *x, int64_t n);
typedef void (*ml_vm_f64_fn)(double *o, const double *x, int64_t n);
typedef void (*ml_vm_grad_f32_fn)(float *o, const float *g, const float *x, int64_t n);
typedef void (*ml_vm_grad_f64_fn)(double *o, const double *g, const double *x, int64_t n);

/* One ISA's kernels, indexed by ml_vm_fn (ML_VM_NONE's entry is NULL). */
typedef struct {
    const char *name;
    ml_vm_f32_fn f32[ML_VM_NFN];
    ml_vm_f64_fn f64[ML_VM_NFN];
    ml_vm_grad_f32_fn gelu_grad_f32;
    ml_vm_grad_f64_fn gelu_grad_f64;
} ml_vm_table;

extern const ml_vm_table ml_vm_avx512f, ml_vm_avx2, ml_vm_scalar;

#endif

#ifdef VM_TABLE
#define VM_SQRT1_2 0.70710678118654752440
#define VM_SQRT1_2_LO -4.833646656726457e-17 /* 1 / sqrt 2 - (double)VM_SQRT1_2 */
#define VM_INV_SQRT_2PI 0.39894228040143267794
#define VM_LN2_64 44.361419555836499802 /* 64 ln 2 */

/* m ? a : b lane by lane (m what a compare of vectors gives, a and b
 * vectors of one type), and |v| as a bit clear */
#if VM_SCALAR
#define VM_SEL(m, a, b) ((m) ? (a) : (b))
#define VM_ABS(v) _Generic((v), float: __builtin_fabsf, default: __builtin_fabs)(v)
#else
#define VM_SEL(m, a, b) ((__typeof__(a))(((__typeof__(m))(a) & (m)) | ((__typeof__(m))(b) & ~(m))))
#define VM_ABS(v) ((__typeof__(v))((__typeof__((v) >= 0))(v) & ~(__typeof__((v) >= 0))(-(__typeof__(v)){0})))
#endif

/* Map and map2 loops over whole vectors, then the tail on a zero-padded copy. */
#define VM_MAP(NAME, T, V, L, EXPR)                                                                           \
    static inline V NAME##_v(V v) { return EXPR; }                                                            \
    static void NAME(T *o, const T *x, int64_t n) {                                                           \
        int64_t i = 0;                                                                                        \
        /* two vectors a step: the second's arithmetic fills the first's latencies */                         \
        for (; i + 2 * L <= n; i += 2 * L) {                                                                  \
            V v, w;                                                                                           \
            memcpy(&v, x + i, sizeof v);                                                                      \
            memcpy(&w, x + i + L, sizeof w);                                                                  \
            v = NAME##_v(v);                                                                                  \
            w = NAME##_v(w);                                                                                  \
            memcpy(o + i, &v, sizeof v);                                                                      \
            memcpy(o + i + L, &w, sizeof w);                                                                  \
        }                                                                                                     \
        for (; i + L <= n; i += L) {                                                                          \
            V v;                                                                                              \
            memcpy(&v, x + i, sizeof v);                                                                      \
            v = NAME##_v(v);                                                                                  \
            memcpy(o + i, &v, sizeof v);                                                                      \
        }                                                                                                     \
        if (i < n) {                                                                                          \
            T buf[L] = {0};                                                                                   \
            V v;                                                                                              \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof(T));                                                  \
            memcpy(&v, buf, sizeof v);                                                                        \
            v = NAME##_v(v);                                                                                  \
            memcpy(buf, &v, sizeof v);                                                                        \
            memcpy(o + i, buf, (size_t)(n - i) * sizeof(T));                                                  \
        }                                                                                                     \
    }
#define VM_MAP2(NAME, T, V, L, EXPR)                                                                          \
    static inline V NAME##_v(V g, V v) { return EXPR; }                                                       \
    static void NAME(T *o, const T *gp, const T *x, int64_t n) {                                              \
        int64_t i = 0;                                                                                        \
        for (; i + L <= n; i += L) {                                                                          \
            V v, g;                                                                                           \
            memcpy(&v, x + i, sizeof v);                                                                      \
            memcpy(&g, gp + i, sizeof g);                                                                     \
            v = NAME##_v(g, v);                                                                               \
            memcpy(o + i, &v, sizeof v);                                                                      \
        }                                                                                                     \
        if (i < n) {                                                                                          \
            T bx[L] = {0}, bg[L] = {0};                                                                       \
            V v, g;                                                                                           \
            memcpy(bx, x + i, (size_t)(n - i) * sizeof(T));                                                   \
            memcpy(bg, gp + i, (size_t)(n - i) * sizeof(T));                                                  \
            memcpy(&v, bx, sizeof v);                                                                         \
            memcpy(&g, bg, sizeof g);                                                                         \
            v = NAME##_v(g, v);                                                                               \
            memcpy(bx, &v, sizeof v);                                                                         \
            memcpy(o + i, bx, (size_t)(n - i) * sizeof(T));                                                   \
        }                                                                                                     \
    }

/* Phi(v) = P(N(0,1) <= v) = v >= 0 ? 1 - h : h, h = erfc(|v| / sqrt 2) / 2,
 * accurate in both tails (1 + erf(v / sqrt 2) cancels for v < -1).
 * float64: SLEEF's erfc (u15), corrected for the rounding of z. float32: SLEEF's erfc is 2 ns an element,
 * more than the whole budget of gelu, so erfc comes from Numerical Recipes'
 * erfcc, a Chebyshev fit with relative error below 1.2e-7 for every z >= 0:
 *   erfc(z) = t exp(-z^2 + P(t)),  t = 1 / (1 + z / 2).
 * -z^2 = -v^2 / 2 is split exactly into hi + lo (FMA), and the rounding of
 * hi + P (up to 2^-24 * 81 near z = 9, which exp would turn into that much
 * relative error) is recovered by Fast2Sum and applied as exp(s)(1 + err + lo). */
#define VM_PHI_double(V, S, FMA, v)                                                                           \
    ({                                                                                                        \
        /* z = |v| / sqrt 2 rounds by d; erfc(z + d) = erfc(z)(1 - 2 z d), and 2 z^2 reaches 1e3 */           \
        V a_ = VM_ABS(v), z_ = a_ * VM_SQRT1_2;                                                               \
        V d_ = FMA(a_, (V){0} + VM_SQRT1_2, -z_) + a_ * VM_SQRT1_2_LO;                                        \
        V c_ = S(erfc, u15)(z_);                                                                              \
        V h_ = 0.5 * (c_ - c_ * (2 * z_ * d_));                                                               \
        h_ = VM_SEL(c_ == 0, (V){0}, h_); /* |v| huge or inf: d is NaN */                                     \
        VM_SEL((v) >= 0, 1 - h_, h_);                                                                         \
    })
/* float32 tanh is SLEEF's u35 routine (3.5 ULP documented, 2.3 measured):
 * 3x faster than its u10 one (0.37 vs 1.14 ns an element on AVX-512), which
 * cost more than a tiny model's whole matrix product; float64 keeps u10. */
#define VM_TANH_float(S, v) S(tanh, u35)(v)
#define VM_TANH_double(S, v) S(tanh, u10)(v)

#define VM_PHI_float(V, S, FMA, v)                                                                            \
    ({                                                                                                        \
        V t_ = 1 / (1 + VM_ABS(v) * (float)(0.5 * VM_SQRT1_2));                                               \
        /* P(t) by Estrin's scheme: a shorter dependency chain than Horner's */                              \
        V t2_ = t_ * t_, t4_ = t2_ * t2_;                                                                     \
        V p_ = ((-1.26551223f + t_ * 1.00002368f) + t2_ * (0.37409196f + t_ * 0.09678418f)) +                 \
               t4_ * (((-0.18628806f + t_ * 0.27886807f) + t2_ * (-1.13520398f + t_ * 1.48851587f)) +         \
                      t4_ * (-0.82215223f + t_ * 0.17087277f));                                               \
        V xx_ = (v) * (v), hi_ = -0.5f * xx_, lo_ = -0.5f * FMA(v, v, -xx_);                                  \
        /* Fast2Sum: exact where |hi| >= |P| (z >= 1.1); below, the error it misses is under an ULP */          \
        V s_ = hi_ + p_, er_ = (hi_ - s_) + p_;                                                               \
        V e_ = VM_EXPF_NEG(V, S, s_);                                                                         \
        V h_ = 0.5f * t_ * (e_ + e_ * (er_ + lo_));                                                           \
        h_ = VM_SEL(e_ == 0, (V){0}, h_); /* |v| huge: v * v is inf and lo NaN */                             \
        VM_SEL((v) >= 0, 1 - h_, h_);                                                                         \
    })

/* exp(s) for s <= 0, inline, for float32 gelu's erfc: SLEEF's exp is an
 * out-of-line call, and the spills around it cost more than the exp itself
 * there. Cephes' expf: s = n ln 2 + r (Cody-Waite), a degree-7 polynomial
 * for exp(r) (about 1 ULP), 2^n put in the exponent bits; 0 below -87
 * (where the result would be denormal). The scalar ISA keeps SLEEF's. */
#if VM_SCALAR
#define VM_EXPF_NEG(V, S, s) S(exp, u10)(s)
#else
#define VM_EXPF_NEG(V, S, s)                                                                                  \
    ({                                                                                                        \
        V k_ = (s) * 1.44269504088896341f + 12582912.0f; /* n + 1.5 * 2^23: n in the low bits */              \
        V n_ = k_ - 12582912.0f;                                                                              \
        V r_ = ((s) - n_ * 0.693359375f) - n_ * -2.12194440e-4f;                                              \
        V y_ = (((((1.9875691500e-4f * r_ + 1.3981999507e-3f) * r_ + 8.3334519073e-3f) * r_ + 4.1665795894e-2f) * \
                     r_ + 1.6666665459e-1f) * r_ + 5.0000001201e-1f) * (r_ * r_) + r_ + 1.0f;                 \
        __typeof__((s) >= 0) b_ = ((__typeof__((s) >= 0))k_ - 0x4B400000 + 127) << 23;                       \
        VM_SEL((s) < -87.0f, (V){0}, y_ * (V)b_); /* NaN stays NaN */                                         \
    })
#endif

/* exp(-v^2 / 2), with v^2 split exactly so its rounding does not reach the exponent */
#define VM_EXP_HALF_SQ(T, V, S, FMA, v)                                                                       \
    ({                                                                                                        \
        V xx_ = (v) * (v), e_ = S(exp, u10)((T)-0.5 * xx_);                                                   \
        VM_SEL(e_ == 0, (V){0}, e_ + e_ * ((T)-0.5 * FMA(v, v, -xx_)));                                       \
    })

#define VM_KERNELS(T, V, L, S, FMA, SUF)                                                                       \
    VM_MAP(exp_##SUF, T, V, L, S(exp, u10)(v))                                                                \
    VM_MAP(log_##SUF, T, V, L, S(log, u10)(v))                                                                \
    /* SLEEF's log1p gives inf above 1e38 (float) / 1e307 (double): there          \
     * log1p(x) = log1p(x 2^-64) + 64 ln 2 to far below an ULP */                                             \
    VM_MAP(log1p_##SUF, T, V, L, ({                                                                           \
               __typeof__(v > 0) big_ = v > (T)(sizeof(T) == 4 ? 1e37 : 1e306);                               \
               V r_ = S(log1p, u10)(VM_SEL(big_, v * (T)0x1p-64, v));                                         \
               VM_SEL(big_, r_ + (T)VM_LN2_64, r_); /* not r + 0: log1p(-0) is -0 */                          \
           }))                                                                                                \
    VM_MAP(tanh_##SUF, T, V, L, VM_TANH_##T(S, v))                                                            \
    VM_MAP(sigmoid_##SUF, T, V, L, ({                                                                         \
               V e_ = S(exp, u10)(-VM_ABS(v));                                                            \
               VM_SEL(v >= 0, (V){0} + 1, e_) / (1 + e_);                                                  \
           }))                                                                                                \
    /* where Phi underflows to 0 the answer is -0 (x Phi would be NaN at -inf) */                            \
    VM_MAP(gelu_##SUF, T, V, L, ({                                                                            \
               V p_ = VM_PHI_##T(V, S, FMA, v);                                                                     \
               VM_SEL(p_ == 0, -(V){0}, v * p_);                                                              \
           }))                                                                                                \
    /* d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi); x phi is 0 where phi           \
     * underflows (else NaN at +-inf) */                                                                      \
    VM_MAP2(gelu_grad_##SUF, T, V, L, ({                                                                      \
                V d_ = VM_EXP_HALF_SQ(T, V, S, FMA, v) * (T)VM_INV_SQRT_2PI;                                  \
                g * (VM_PHI_##T(V, S, FMA, v) + VM_SEL(d_ == 0, (V){0}, v * d_));                             \
            }))

VM_KERNELS(float, VF, LF, SF, FMAF, f32)
VM_KERNELS(double, VD, LD, SD, FMAD, f64)

const ml_vm_table VM_TABLE = {
    .name = VM_ISA_NAME,
    .f32 = {[ML_VM_EXP] = exp_f32, [ML_VM_LOG] = log_f32, [ML_VM_LOG1P] = log1p_f32, [ML_VM_TANH] = tanh_f32,
            [ML_VM_SIGMOID] = sigmoid_f32, [ML_VM_GELU] = gelu_f32},
    .f64 = {[ML_VM_EXP] = exp_f64, [ML_VM_LOG] = log_f64, [ML_VM_LOG1P] = log1p_f64, [ML_VM_TANH] = tanh_f64,
            [ML_VM_SIGMOID] = sigmoid_f64, [ML_VM_GELU] = gelu_f64},
    .gelu_grad_f32 = gelu_grad_f32,
    .gelu_grad_f64 = gelu_grad_f64,
};
#endif
