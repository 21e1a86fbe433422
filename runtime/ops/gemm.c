/* The backend of every float matrix product (see gemm.h). The rules below
 * come from scripts/bench/sgemm_ref.c on an AMD EPYC Zen 5 (family 26,
 * full-width AVX-512), OpenBLAS 0.3.21 pinned to Haswell, oneDNN 2.6.3:
 *   - up to 32^3 multiply-adds gemm_small.c's kernel beats both libraries
 *     (scripts/bench/gemm_small.sh: 0.46-0.83x the faster one's time at
 *     the tiny model's shapes and 32^3; still ahead of oneDNN at 64^3, by
 *     10%, within a shared machine's noise, so oneDNN keeps those);
 *   - oneDNN runs 1.8-2.1x OpenBLAS's GFLOP/s from 32x32x32 up (all four
 *     transpose combinations, skinny MLP shapes included); below about
 *     32x32x16 its ~0.25 us call overhead loses to OpenBLAS (8^3: 0.26 vs
 *     0.10 us; 32x32x10, the tiny model's layer: 0.52 vs 0.41 us).
 *   - a one-row product through sgemm is 6x slower than sgemv (784x512:
 *     127 vs 22 us); sgemv and dnnl_sgemm tie there, sgemv wins when small.
 *   - a second thread pays from about 2^24 multiply-adds for oneDNN (256^3:
 *     1.8x; 128x256x256: slower), later for OpenBLAS (see blas_threads).
 * Both libraries take their thread count from OpenMP's ICV, which
 * ml_blas_threads sets; inside one of our parallel regions they run on one.
 * oneDNN is opened with dlopen at its first use: linked, its 40 MB of code
 * added 10-15 ms to every start of `moonlab`; unavailable, OpenBLAS runs. */
#include "gemm.h"

#include <cblas.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/parallel.h"

#define ONEDNN_MIN_MNK (32 * 32 * 16) /* below: OpenBLAS (oneDNN's call overhead) */
#define ONEDNN_2T_MNK (1 << 24)       /* from here oneDNN runs on every thread */
#define GEMV_2T_ELEMS (1 << 20)       /* matrix elements from which gemv runs threaded */

/* ---- the rule in force ---------------------------------------------------- */
static const char *const rule_names[] = {"auto", "openblas", "onednn"};
static int rule = -1; /* not read yet */

static int rule_from(const char *name) {
    for (int i = 0; i < 3; i++)
        if (strcmp(name, rule_names[i]) == 0) return i;
    return -1;
}

ml_gemm_rule ml_gemm_rule_get(void) {
    if (rule < 0) {
        const char *e = getenv("MOONLAB_GEMM");
        int r = e && *e ? rule_from(e) : ML_GEMM_AUTO;
        if (r < 0) /* a typo falls back to auto, said once (as MOONLAB_ISA does); ml.config() shows the rule */
            fprintf(stderr, "moonlab: MOONLAB_GEMM=%s is not one of auto, openblas, onednn; using auto\n", e);
        rule = r < 0 ? ML_GEMM_AUTO : r;
    }
    return (ml_gemm_rule)rule;
}

int ml_gemm_rule_set(const char *name) {
    int r = rule_from(name);
    if (r < 0) return -1;
    rule = r;
    return 0;
}

const char *ml_gemm_rule_name(ml_gemm_rule r) { return rule_names[r]; }

const char *ml_gemm_kernel_name(ml_gemm_kernel k) {
    static const char *const names[] = {"openblas", "onednn", "gemv", "small"};
    return names[k];
}

/* ---- oneDNN, opened at first use ------------------------------------------ */
static struct {
    dnnl_status_t (*sgemm)(char, char, dnnl_dim_t, dnnl_dim_t, dnnl_dim_t, float, const float *, dnnl_dim_t,
                           const float *, dnnl_dim_t, float, float *, dnnl_dim_t);
    dnnl_cpu_isa_t (*isa)(void);
    const dnnl_version_t *(*version)(void);
} dnnl;
static pthread_once_t dnnl_once = PTHREAD_ONCE_INIT;

static void dnnl_open(void) {
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    *(void **)&dnnl.sgemm = dlsym(h, "dnnl_sgemm");
    *(void **)&dnnl.isa = dlsym(h, "dnnl_get_effective_cpu_isa");
    *(void **)&dnnl.version = dlsym(h, "dnnl_version");
    if (!dnnl.sgemm || !dnnl.isa || !dnnl.version) dnnl.sgemm = NULL; /* a library we do not know: unused */
}

static bool onednn_available(void) {
    pthread_once(&dnnl_once, dnnl_open);
    return dnnl.sgemm != NULL;
}

/* ---- the CPU -------------------------------------------------------------- */
const char *ml_gemm_onednn_isa(void) {
    if (!onednn_available()) return "unavailable";
    switch (dnnl.isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
    }
}

static unsigned cpu_family(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    unsigned base = (a >> 8) & 0xf;
    return base + (base == 0xf ? (a >> 20) & 0xff : 0);
}

/* AMD family 0x19 (Zen 4) runs AVX-512 on 256-bit halves; oneDNN's win
 * there was never measured, so auto keeps OpenBLAS on it. */
static bool half_width_avx512(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
    bool amd = b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163; /* "AuthenticAMD" */
    return amd && cpu_family() == 0x19;
}

bool ml_gemm_onednn_preferred(void) {
    static int yes = -1;
    if (yes < 0) {
        dnnl_cpu_isa_t isa = onednn_available() ? dnnl.isa() : dnnl_cpu_isa_all;
        bool avx512 = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core; /* the core ISA or above */
        yes = avx512 && !half_width_avx512();
    }
    return yes;
}

void ml_gemm_info_get(ml_gemm_info *info) {
    memset(info, 0, sizeof *info);
    info->openblas_config = openblas_get_config();
    /* the config starts "OpenBLAS 0.3.21 ..." */
    if (sscanf(info->openblas_config ? info->openblas_config : "", "OpenBLAS %15s", info->openblas_version) != 1)
        strcpy(info->openblas_version, "unknown");
    info->openblas_core = openblas_get_corename();
    int par = openblas_get_parallel();
    info->openblas_variant = par == 2 ? "openmp" : par == 1 ? "pthreads" : "sequential";
    const dnnl_version_t *v = onednn_available() ? dnnl.version() : NULL;
    if (v) snprintf(info->onednn_version, sizeof info->onednn_version, "%d.%d.%d", v->major, v->minor, v->patch);
    else strcpy(info->onednn_version, "unavailable");
    info->onednn_isa = ml_gemm_onednn_isa();
    info->onednn_preferred = ml_gemm_onednn_preferred();
    info->rule = ml_gemm_rule_name(ml_gemm_rule_get());
    unsigned brand[12] = {0};
    char name[49] = "unknown CPU";
    if (__get_cpuid(0x80000000, &brand[0], &brand[1], &brand[2], &brand[3]) && brand[0] >= 0x80000004) {
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002 + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2], &brand[4 * i + 3]);
        memcpy(name, brand, 48);
        name[48] = 0;
        char *e = name + strlen(name);
        while (e > name && e[-1] == ' ') *--e = 0; /* brand strings are padded */
    }
    const char *n = name;
    while (*n == ' ') n++;
    snprintf(info->cpu, sizeof info->cpu, "%s (family %u)", n, cpu_family());
}

/* A one-row or one-column product goes to OpenBLAS's gemv, on the operands
 * as they lie (the vector's stride as inc), when each output is the dot
 * product of a stored row with the vector (m = 1 with B stored transposed,
 * as x @ W^T; or n = 1 with A as stored), or when k is small. Otherwise
 * gemv is a chain of axpys adding k terms in a row into each output:
 * as accurate as gemm's sums within one K block (OpenBLAS's is 256 or
 * more), much less beyond (relative error 4e-3 at k = 5e5), so it stays
 * a gemm there. */
#define GEMV_AXPY_MAX_K 256

static bool dot_style(bool ta, bool tb, int64_t m, int64_t n) { return (m == 1 && tb) || (n == 1 && !ta); }

static bool use_gemv(bool ta, bool tb, int64_t m, int64_t n, int64_t k) {
    return (m == 1 || n == 1) && (dot_style(ta, tb, m, n) || k <= GEMV_AXPY_MAX_K);
}

/* ---- the plan --------------------------------------------------------------- */
/* OpenBLAS's 2-thread split makes small or skinny products slower
 * (measured 1.5x on an inner dimension of 10). */
static int blas_threads(int64_t m, int64_t n, int64_t k) {
    bool small = m * n * k < 64 * 64 * 64 || m <= 16 || n <= 16 || k <= 16;
    return small ? 1 : ml_get_threads();
}

ml_gemm_kernel ml_sgemm_plan(bool ta, bool tb, int64_t m, int64_t n, int64_t k, int *threads) {
    ml_gemm_rule r = ml_gemm_rule_get();
    if (r == ML_GEMM_AUTO && ml_small_wins(m, n, k)) {
        *threads = 1;
        return ML_KERNEL_SMALL;
    }
    int nt = ml_get_threads();
    if (use_gemv(ta, tb, m, n, k)) {
        *threads = (m == 1 ? n : m) * k >= GEMV_2T_ELEMS ? nt : 1;
        return ML_KERNEL_GEMV;
    }
    /* oneDNN sums a one-row or one-column product naively (relative error
     * 4e-3 at k = 5e5, against OpenBLAS's 2e-7): matrices only */
    bool big = m * n * k >= ONEDNN_MIN_MNK;
    if (m >= 2 && n >= 2 && ((r == ML_GEMM_ONEDNN && onednn_available()) ||
                             (r == ML_GEMM_AUTO && big && ml_gemm_onednn_preferred()))) {
        *threads = m * n * k >= ONEDNN_2T_MNK ? nt : 1;
        return ML_KERNEL_ONEDNN;
    }
    *threads = blas_threads(m, n, k);
    return ML_KERNEL_OPENBLAS;
}

/* Inside a parallel region both libraries run on the calling thread by
 * themselves (no nested parallelism): the ICV there is that thread's own,
 * so it is left alone. */
static void set_threads(int nt) {
    if (!omp_in_parallel()) ml_blas_threads(nt);
}

/* ---- the products ------------------------------------------------------------ */
/* the dot-style orientations first (see use_gemv) */
#define GEMV(pfx, T)                                                                                                   \
    static void pfx##gemv_of(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T *A, int64_t lda,    \
                             const T *B, int64_t ldb, T beta, T *C, int64_t ldc) {                                   \
        int64_t inca = ta ? lda : 1, incb = tb ? 1 : ldb;                                                            \
        if (m == 1 && tb) /* C[1, n] = B a, B stored [n, k] */                                                       \
            cblas_##pfx##gemv(CblasRowMajor, CblasNoTrans, n, k, alpha, B, ldb, A, inca, beta, C, 1);                \
        else if (n == 1 && !ta) /* C[m, 1] = A b, A stored [m, k] */                                                 \
            cblas_##pfx##gemv(CblasRowMajor, CblasNoTrans, m, k, alpha, A, lda, B, incb, beta, C, ldc);              \
        else if (m == 1) /* C[1, n] = B^T a, B stored [k, n] */                                                      \
            cblas_##pfx##gemv(CblasRowMajor, CblasTrans, k, n, alpha, B, ldb, A, inca, beta, C, 1);                  \
        else /* C[m, 1] = A^T b, A stored [k, m] */                                                                  \
            cblas_##pfx##gemv(CblasRowMajor, CblasTrans, k, m, alpha, A, lda, B, incb, beta, C, ldc);                \
    }
GEMV(s, float)
GEMV(d, double)

/* k = 0: the product is empty, C = beta * C (beta = 0 clears NaNs too). */
#define SCALE_ONLY(pfx, T)                                                                                          \
    static void pfx##scale_only(int64_t m, int64_t n, T beta, T *C, int64_t ldc) {                                 \
        for (int64_t i = 0; i < m; i++)                                                                            \
            for (int64_t j = 0; j < n; j++) C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j];                 \
    }
SCALE_ONLY(s, float)
SCALE_ONLY(d, double)

void ml_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *A, int64_t lda,
              const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { sscale_only(m, n, beta, C, ldc); return; }
    int nt;
    ml_gemm_kernel kern = ml_sgemm_plan(ta, tb, m, n, k, &nt);
    if (kern == ML_KERNEL_SMALL) { ml_small_sgemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); return; }
    set_threads(nt);
    if (kern == ML_KERNEL_ONEDNN &&
        dnnl.sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, A, lda, B, ldb, beta, C, ldc) == dnnl_success)
        return;
    if (kern == ML_KERNEL_GEMV) { sgemv_of(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); return; }
    /* OpenBLAS, or oneDNN refused the arguments */
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, A, lda, B,
                ldb, beta, C, ldc);
}

void ml_dgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double *A, int64_t lda,
              const double *B, int64_t ldb, double beta, double *C, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { dscale_only(m, n, beta, C, ldc); return; }
    if (ml_gemm_rule_get() == ML_GEMM_AUTO && ml_small_wins(m, n, k)) {
        ml_small_dgemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (use_gemv(ta, tb, m, n, k)) {
        set_threads((m == 1 ? n : m) * k >= GEMV_2T_ELEMS ? ml_get_threads() : 1);
        dgemv_of(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    set_threads(blas_threads(m, n, k));
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, A, lda, B,
                ldb, beta, C, ldc);
}
