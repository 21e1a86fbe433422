/* The random generator: xoshiro256** seeded by splitmix64, and the tensor
 * fills built on it. See random.h for the documented stream. */
#include "random.h"

#include <math.h>
#include <string.h>

/* The normal draws must not depend on whether the compiler fuses a*b+c into
 * one FMA (it does by default on some targets), so contraction is off here. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* ---- the stream ------------------------------------------------------ */
/* The state ml_seed(0) gives: the first four splitmix64 outputs from 0. */
static uint64_t S[4] = {0xe220a8397b1dcdafULL, 0x6e789e6aa1b965f4ULL, 0x06c45d188009454fULL, 0xf88bb8a8724c81ecULL};
static uint64_t initial_seed = 0;

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t next(void) {
    uint64_t r = rotl(S[1] * 5, 7) * 9;
    uint64_t t = S[1] << 17;
    S[2] ^= S[0];
    S[3] ^= S[1];
    S[1] ^= S[2];
    S[0] ^= S[3];
    S[2] ^= t;
    S[3] = rotl(S[3], 45);
    return r;
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ml_seed(uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) S[i] = splitmix64(&x);
    initial_seed = seed;
}

uint64_t ml_initial_seed(void) { return initial_seed; }

static inline double u53(void) { return (double)(next() >> 11) * 0x1.0p-53; }
static inline float u24(void) { return (float)(next() >> 40) * 0x1.0p-24f; }

/* Uniform in [0, r), r >= 1, unbiased (Lemire 2019: multiply, keep the high
 * word, reject the few low words that would favour some values). */
static uint64_t bounded(uint64_t r) {
    __uint128_t m = (__uint128_t)next() * r;
    uint64_t low = (uint64_t)m;
    if (low < r) {
        uint64_t floor = -r % r; /* 2^64 mod r */
        while (low < floor) {
            m = (__uint128_t)next() * r;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* Uniform integer in [lo, hi); hi must be > lo (returns lo otherwise). */
static int64_t random_int(int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    return (int64_t)((uint64_t)lo + bounded((uint64_t)hi - (uint64_t)lo));
}

void ml_random_get_state(uint64_t state[4]) { memcpy(state, S, sizeof S); }

int ml_random_set_state(const uint64_t state[4]) {
    if (!(state[0] | state[1] | state[2] | state[3])) {
        ml_error("random state: all four words are zero (not a valid xoshiro256** state)");
        return -1;
    }
    memcpy(S, state, sizeof S);
    return 0;
}

/* ---- the log the normal draws use ------------------------------------ */
/* x = 2^e * m with m in [sqrt(1/2), sqrt(2)); f = m - 1 (exact);
 * log(1 + f) = 2 atanh(s), s = f / (2 + f), written as
 * f - f^2/2 + s (f^2/2 + R), R = sum_k 2 s^(2k) / (2k + 1), k = 1..10
 * (|s| < 0.172, so the first term left out is below 2^-60 of the result).
 * ln 2 is split in a high part with 21 trailing zero bits (e * hi is exact)
 * and a low part. < 1 ulp from the true value for positive normal doubles,
 * computed with + - * / only, so every machine agrees; NaN for x <= 0,
 * subnormals, inf and NaN. */
static double random_log(double x) {
    static const double ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int be = (int)((bits >> 52) & 0x7ff);
    if ((bits >> 63) || be == 0 || be == 0x7ff) return (double)NAN;
    int e = be - 1023;
    bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 0x1.6a09e667f3bcdp+0) { m *= 0.5; e++; } /* sqrt(2) */
    double f = m - 1.0;
    double s = f / (2.0 + f), s2 = s * s;
    double R = 2.0 / 21;
    R = 2.0 / 19 + s2 * R;
    R = 2.0 / 17 + s2 * R;
    R = 2.0 / 15 + s2 * R;
    R = 2.0 / 13 + s2 * R;
    R = 2.0 / 11 + s2 * R;
    R = 2.0 / 9 + s2 * R;
    R = 2.0 / 7 + s2 * R;
    R = 2.0 / 5 + s2 * R;
    R = 2.0 / 3 + s2 * R;
    R = s2 * R;
    double hfsq = 0.5 * f * f;
    double de = (double)e;
    return de * ln2_hi - ((hfsq - (s * (hfsq + R) + de * ln2_lo)) - f);
}

/* Two independent standard normals (Marsaglia's polar method). */
static inline void normal_pair(double *z0, double *z1) {
    double u, v, s;
    do {
        u = (double)(next() >> 11) * 0x1.0p-52 - 1.0; /* [-1, 1) */
        v = (double)(next() >> 11) * 0x1.0p-52 - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double k = sqrt(-2.0 * random_log(s) / s);
    *z0 = u * k;
    *z1 = v * k;
}

/* ---- contiguous generators ------------------------------------------- */
static void gen_uniform(ml_dtype dt, void *p, int64_t n, double lo, double hi) {
    double w = hi - lo;
    if (dt == ML_FLOAT32) {
        float *q = p;
        if (lo == 0.0 && hi == 1.0)
            for (int64_t i = 0; i < n; i++) q[i] = u24();
        else
            for (int64_t i = 0; i < n; i++) q[i] = (float)(lo + w * (double)u24());
    } else {
        double *q = p;
        for (int64_t i = 0; i < n; i++) q[i] = lo + w * u53();
    }
}

static void gen_normal(ml_dtype dt, void *p, int64_t n, double mean, double std) {
    double a, b;
    for (int64_t i = 0; i < n; i += 2) {
        normal_pair(&a, &b);
        if (dt == ML_FLOAT32) {
            float *q = p;
            q[i] = (float)(mean + std * a);
            if (i + 1 < n) q[i + 1] = (float)(mean + std * b);
        } else {
            double *q = p;
            q[i] = mean + std * a;
            if (i + 1 < n) q[i + 1] = mean + std * b;
        }
    }
}

static void gen_bernoulli(ml_dtype dt, void *p, int64_t n, double prob) {
    for (int64_t i = 0; i < n; i++) {
        int one = u53() < prob;
        switch (dt) {
        case ML_FLOAT32: ((float *)p)[i] = (float)one; break;
        case ML_FLOAT64: ((double *)p)[i] = one; break;
        case ML_INT64: ((int64_t *)p)[i] = one; break;
        case ML_BOOL: ((uint8_t *)p)[i] = (uint8_t)one; break;
        default: break;
        }
    }
}

static void gen_int(ml_dtype dt, void *p, int64_t n, int64_t lo, int64_t hi) {
    for (int64_t i = 0; i < n; i++) {
        int64_t v = random_int(lo, hi);
        switch (dt) {
        case ML_FLOAT32: ((float *)p)[i] = (float)v; break;
        case ML_FLOAT64: ((double *)p)[i] = (double)v; break;
        default: ((int64_t *)p)[i] = v; break;
        }
    }
}

/* ---- tensors --------------------------------------------------------- */
static int check_float(const char *fn, ml_dtype dt) {
    if (ml_dtype_is_float(dt)) return 0;
    ml_error("%s: dtype must be float32 or float64, got %s", fn, ml_dtype_name(dt));
    return -1;
}

static int check_not_bool(const char *fn, ml_dtype dt) {
    if (dt != ML_BOOL) return 0;
    ml_error("%s: dtype must be int64, float32 or float64, got bool", fn);
    return -1;
}

ml_tensor *ml_rand(int ndim, const int64_t *shape, ml_dtype dt) {
    if (check_float("rand", dt) < 0) return NULL;
    ml_tensor *t = ml_empty(ndim, shape, dt);
    if (t) gen_uniform(dt, ml_data(t), t->numel, 0.0, 1.0);
    return t;
}

ml_tensor *ml_randn(int ndim, const int64_t *shape, ml_dtype dt) {
    if (check_float("randn", dt) < 0) return NULL;
    ml_tensor *t = ml_empty(ndim, shape, dt);
    if (t) gen_normal(dt, ml_data(t), t->numel, 0.0, 1.0);
    return t;
}

ml_tensor *ml_randint(int64_t lo, int64_t hi, int ndim, const int64_t *shape, ml_dtype dt) {
    if (check_not_bool("randint", dt) < 0) return NULL;
    if (hi <= lo)
        return ml_error("randint: high (%lld) must be greater than low (%lld)", (long long)hi, (long long)lo);
    ml_tensor *t = ml_empty(ndim, shape, dt);
    if (t) gen_int(dt, ml_data(t), t->numel, lo, hi);
    return t;
}

ml_tensor *ml_randperm(int64_t n, ml_dtype dt) {
    if (check_not_bool("randperm", dt) < 0) return NULL;
    if (n < 0) return ml_error("randperm: n must be non-negative, got %lld", (long long)n);
    ml_tensor *t = ml_empty(1, &n, ML_INT64);
    if (!t) return NULL;
    int64_t *p = ml_data(t);
    for (int64_t i = 0; i < n; i++) p[i] = i + 1;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)bounded((uint64_t)i + 1);
        int64_t tmp = p[i];
        p[i] = p[j];
        p[j] = tmp;
    }
    if (dt == ML_INT64) return t;
    ml_tensor *c = ml_to_dtype(t, dt);
    ml_release(t);
    return c;
}

/* ---- in place -------------------------------------------------------- */
/* Generates into a contiguous buffer of t's dtype (t itself when it is
 * contiguous), then copies into t's strides: the same numbers in the same
 * row-major order either way. */
typedef struct {
    int kind; /* 0 uniform, 1 normal, 2 bernoulli */
    double a, b;
} fill_spec;

static int fill_in_place(const char *fn, ml_tensor *t, fill_spec sp) {
    if (ml_check_writable(fn, t) < 0) return -1;
    ml_tensor *buf = ml_is_contiguous(t) ? ml_retain(t) : ml_empty(t->ndim, t->shape, t->dtype);
    if (!buf) return -1;
    void *p = ml_data(buf);
    if (sp.kind == 0) gen_uniform(t->dtype, p, t->numel, sp.a, sp.b);
    else if (sp.kind == 1) gen_normal(t->dtype, p, t->numel, sp.a, sp.b);
    else gen_bernoulli(t->dtype, p, t->numel, sp.a);
    int rc = buf == t ? 0 : ml_copy_into(t, buf);
    ml_release(buf);
    ml_bump_version(t);
    return rc;
}

int ml_fill_uniform(ml_tensor *t, double lo, double hi) {
    if (check_float("uniform_", t->dtype) < 0) return -1;
    return fill_in_place("uniform_", t, (fill_spec){0, lo, hi});
}

int ml_fill_normal(ml_tensor *t, double mean, double std) {
    if (check_float("normal_", t->dtype) < 0) return -1;
    return fill_in_place("normal_", t, (fill_spec){1, mean, std});
}

int ml_fill_bernoulli(ml_tensor *t, double p) {
    if (!(p >= 0.0 && p <= 1.0)) {
        ml_error("bernoulli_: probability must be in [0, 1], got %g", p);
        return -1;
    }
    return fill_in_place("bernoulli_", t, (fill_spec){2, p, 0});
}
