/* The linear estimators' kernels (see linear_models.h): LAPACK least squares
 * and Cholesky, elastic-net coordinate descent, the logistic loss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/parallel.h"
#include "gemm.h"
#include "linear_models.h"

/* LAPACK (OpenBLAS ships it; there is no lapacke.h): column-major, 32-bit
 * integers, and gfortran's hidden length argument after each character one. */
extern void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda, double *b, const int *ldb,
                    double *s, const double *rcond, int *rank, double *work, const int *lwork, int *iwork, int *info);
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);
extern void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda, double *b,
                    const int *ldb, int *info, size_t uplo_len);

static bool fits_int(int64_t v) { return v >= 0 && v <= 0x7fffffff; }

/* dgelsd on the column-major A [m, n] (overwritten) and B [ldb, nrhs] (the solution in its first n rows). */
static int gelsd(double *A, double *B, double *sv, int *rank, int m, int n, int nrhs, int ldb, double rcond) {
    int lda = m > 1 ? m : 1, info = 0, lwork = -1, iwq = 0;
    double wq = 0;
    dgelsd_(&m, &n, &nrhs, A, &lda, B, &ldb, sv, &rcond, rank, &wq, &lwork, &iwq, &info);
    if (info != 0) return ml_error("lstsq: dgelsd's workspace query failed (info %d)", info), -1;
    lwork = (int)wq + 1;
    double *work = malloc(sizeof(double) * (size_t)lwork);
    int *iwork = malloc(sizeof(int) * (size_t)(iwq > 1 ? iwq : 1));
    if (!work || !iwork) {
        free(work), free(iwork);
        return ml_error("lstsq: out of memory for dgelsd's workspace (%d doubles)", lwork), -1;
    }
    dgelsd_(&m, &n, &nrhs, A, &lda, B, &ldb, sv, &rcond, rank, work, &lwork, iwork, &info);
    free(work), free(iwork);
    if (info > 0) return ml_error("lstsq: the SVD did not converge (%d superdiagonals)", info), -1;
    if (info < 0) return ml_error("lstsq: dgelsd rejected argument %d", -info), -1;
    return 0;
}

int ml_lstsq_f64(double *coef, int64_t *rank, double *sv, const double *X, const double *Y, int64_t n, int64_t d,
                 int64_t t, double rcond) {
    int64_t ldb = n > d ? n : d;
    if (ldb < 1) ldb = 1;
    if (!fits_int(n) || !fits_int(d) || !fits_int(t) || !fits_int(n * d) || !fits_int(ldb * t))
        return ml_error("lstsq: %lld x %lld with %lld targets is beyond LAPACK's 32-bit sizes", (long long)n, (long long)d,
                        (long long)t), -1;
    double *A = malloc(sizeof(double) * (size_t)(n * d > 0 ? n * d : 1)); /* [d][n] column-major X */
    double *B = calloc((size_t)(ldb * t > 0 ? ldb * t : 1), sizeof(double)); /* [t][ldb] column-major Y */
    if (!A || !B) {
        free(A), free(B);
        return ml_error("lstsq: out of memory (%lld x %lld)", (long long)n, (long long)d), -1;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) A[j * n + i] = X[i * d + j];
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < t; c++) B[c * ldb + i] = Y[i * t + c];
    int r = 0;
    int rc = gelsd(A, B, sv, &r, (int)n, (int)d, (int)t, (int)ldb, rcond < 0 ? 2.220446049250313e-16 : rcond);
    if (rc == 0) {
        for (int64_t j = 0; j < d; j++)
            for (int64_t c = 0; c < t; c++) coef[j * t + c] = B[c * ldb + j];
        *rank = r;
    }
    free(A), free(B);
    return rc;
}

int ml_ridge_f64(double *coef, const double *X, const double *Y, const double *alpha, int64_t n, int64_t d, int64_t t) {
    if (!fits_int(d) || !fits_int(d * d)) return ml_error("ridge: %lld features is beyond LAPACK's 32-bit sizes", (long long)d), -1;
    double *G = malloc(sizeof(double) * (size_t)(d * d > 0 ? d * d : 1)); /* [d, d] X'X (symmetric: either layout) */
    double *F = malloc(sizeof(double) * (size_t)(d * d > 0 ? d * d : 1)); /* [d, d] its factor for one alpha */
    double *sv = malloc(sizeof(double) * (size_t)(d > 0 ? d : 1));
    if (!G || !F || !sv) {
        free(G), free(F), free(sv);
        return ml_error("ridge: out of memory (%lld features)", (long long)d), -1;
    }
    ml_dgemm(true, false, d, d, n, 1.0, X, d, X, d, 0.0, G, d);
    ml_dgemm(true, false, t, d, n, 1.0, Y, t, X, d, 0.0, coef, d); /* [t, d] = (X'Y)' : each row a right-hand side */
    int di = (int)d, one = 1, info = 0, rc = 0;
    double factored = NAN; /* the alpha F holds the factor of */
    for (int64_t c = 0; c < t && rc == 0; c++) {
        double *b = coef + c * d;
        if (!(alpha[c] == factored)) {
            memcpy(F, G, sizeof(double) * (size_t)(d * d));
            for (int64_t j = 0; j < d; j++) F[j * d + j] += alpha[c];
            dpotrf_("L", &di, F, &di, &info, 1);
            /* a factor whose pivots span more than 1e10 in square is numerically singular (alpha 0 on an exactly
             * rank-deficient X can still factor, into noise): the same fallback as a failed factorization */
            if (info == 0 && d > 0) {
                double lo = INFINITY, hi = 0;
                for (int64_t j = 0; j < d; j++) {
                    double p = F[j * d + j] * F[j * d + j];
                    if (p < lo) lo = p;
                    if (p > hi) hi = p;
                }
                if (!(lo > hi * 1e-10)) info = 1;
            }
            factored = info == 0 ? alpha[c] : NAN;
        }
        if (factored == alpha[c]) {
            dpotrs_("L", &di, &one, F, &di, b, &di, &info, 1);
            continue;
        }
        /* not positive definite (alpha 0, X rank-deficient): the minimum-norm solution of the normal equations */
        memcpy(F, G, sizeof(double) * (size_t)(d * d));
        for (int64_t j = 0; j < d; j++) F[j * d + j] += alpha[c];
        int rank = 0;
        rc = gelsd(F, b, sv, &rank, di, di, 1, di > 1 ? di : 1, 1e-10); /* the cut of the singularity test above */
    }
    free(G), free(F), free(sv);
    return rc;
}

/* ---- coordinate descent ------------------------------------------------- */

static double dot(const double *a, const double *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static void axpy(double *y, double a, const double *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return *s = x;
}

/* The duality gap of w with residual R = y - X w (scikit-learn's, in its n-times-scaled objective). */
static double enet_gap(const double *w, const double *R, const double *Xc, const double *y, int64_t n, int64_t d,
                       double l1, double l2, bool positive) {
    double dual_norm = 0, l1_norm = 0;
    for (int64_t j = 0; j < d; j++) {
        double xta = dot(Xc + j * n, R, n) - l2 * w[j];
        double v = positive ? xta : fabs(xta);
        if (v > dual_norm) dual_norm = v;
        l1_norm += fabs(w[j]);
    }
    double r2 = dot(R, R, n), w2 = dot(w, w, d), konst, gap;
    if (dual_norm > l1) {
        konst = l1 / dual_norm;
        gap = 0.5 * (r2 + r2 * konst * konst);
    } else {
        konst = 1.0;
        gap = r2;
    }
    return gap + l1 * l1_norm - konst * dot(R, y, n) + 0.5 * l2 * (1 + konst * konst) * w2;
}

int ml_enet_cd_f64(double *w, double *gap, int64_t *n_iter, const double *Xc, const double *y, int64_t n, int64_t d,
                   double l1, double l2, int64_t max_iter, double tol, int64_t seed, bool positive) {
    double *R = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));    /* [n] y - X w */
    double *norms = malloc(sizeof(double) * (size_t)(d > 0 ? d : 1)); /* [d] |X[:, j]|^2 */
    if (!R || !norms) {
        free(R), free(norms);
        return ml_error("enet_cd: out of memory (%lld rows, %lld features)", (long long)n, (long long)d), -1;
    }
    memcpy(R, y, sizeof(double) * (size_t)n);
    for (int64_t j = 0; j < d; j++) {
        norms[j] = dot(Xc + j * n, Xc + j * n, n);
        if (w[j] != 0) axpy(R, -w[j], Xc + j * n, n);
    }
    uint64_t state = 0x9E3779B97F4A7C15ull ^ (uint64_t)(seed < 0 ? 0 : seed);
    if (state == 0) state = 1;
    const double gap_tol = tol * dot(y, y, n);
    double g = 0;
    int64_t it = 0;
    for (it = 0; it < max_iter; it++) {
        double w_max = 0, dw_max = 0;
        for (int64_t f = 0; f < d; f++) {
            int64_t j = seed >= 0 ? (int64_t)(xorshift(&state) % (uint64_t)d) : f;
            if (norms[j] == 0) continue;
            const double *x = Xc + j * n;
            double old = w[j];
            if (old != 0) axpy(R, old, x, n);
            double tmp = dot(x, R, n), nw;
            if (positive && tmp < 0) nw = 0;
            else nw = copysign(fmax(fabs(tmp) - l1, 0), tmp) / (norms[j] + l2);
            w[j] = nw;
            if (nw != 0) axpy(R, -nw, x, n);
            if (fabs(nw - old) > dw_max) dw_max = fabs(nw - old);
            if (fabs(nw) > w_max) w_max = fabs(nw);
        }
        if (w_max == 0 || dw_max / w_max < tol || it == max_iter - 1) {
            g = enet_gap(w, R, Xc, y, n, d, l1, l2, positive);
            if (g < gap_tol) {
                it++;
                break;
            }
        }
    }
    if (max_iter == 0) g = enet_gap(w, R, Xc, y, n, d, l1, l2, positive);
    *gap = g, *n_iter = it > max_iter ? max_iter : it;
    free(R), free(norms);
    return 0;
}

/* ---- the logistic loss --------------------------------------------------- */

#define LOGISTIC_CHUNK 4096 /* rows per partial loss: a fixed split, so the sum is the same on any thread count */

typedef struct {
    double *Z; /* [n, K] scores in, residuals sw (p - y) out */
    double *partial;
    const int64_t *codes;
    const double *sw;
    int64_t n, K, positive;
} logistic_ctx;

/* log(1 + exp(z)) without overflow */
static inline double log1pexp(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

static void logistic_rows(void *vc, int64_t c0, int64_t c1) {
    logistic_ctx *c = vc;
    const int64_t K = c->K;
    for (int64_t ch = c0; ch < c1; ch++) {
        int64_t i0 = ch * LOGISTIC_CHUNK, i1 = i0 + LOGISTIC_CHUNK < c->n ? i0 + LOGISTIC_CHUNK : c->n;
        double loss = 0;
        for (int64_t i = i0; i < i1; i++) {
            double s = c->sw ? c->sw[i] : 1.0, *z = c->Z + i * K;
            if (K == 1) {
                double y = c->codes[i] == c->positive ? 1.0 : 0.0, p = 1.0 / (1.0 + exp(-z[0]));
                loss += s * (log1pexp(z[0]) - y * z[0]);
                z[0] = s * (p - y);
                continue;
            }
            int64_t yi = c->codes[i] - 1;
            double mx = z[0], sum = 0;
            for (int64_t q = 1; q < K; q++) mx = z[q] > mx ? z[q] : mx;
            for (int64_t q = 0; q < K; q++) sum += exp(z[q] - mx);
            loss += s * (mx + log(sum) - z[yi]);
            for (int64_t q = 0; q < K; q++) z[q] = s * exp(z[q] - mx) / sum;
            z[yi] -= s;
        }
        c->partial[ch] = loss;
    }
}

int ml_logistic_loss_grad_f64(double *loss, double *grad, const double *W, const double *X, const int64_t *codes,
                              const double *sw, int64_t n, int64_t d, int64_t K, bool intercept, int64_t positive,
                              double l2) {
    const int64_t b = intercept ? 1 : 0, ld = d + b, chunks = (n + LOGISTIC_CHUNK - 1) / LOGISTIC_CHUNK;
    double *Z = malloc(sizeof(double) * (size_t)(n * K > 0 ? n * K : 1)); /* [n, K] */
    double *partial = malloc(sizeof(double) * (size_t)(chunks > 0 ? chunks : 1));
    if (!Z || !partial) {
        free(Z), free(partial);
        return ml_error("logistic_loss: out of memory (%lld rows, %lld classes)", (long long)n, (long long)K), -1;
    }
    ml_dgemm(false, true, n, K, d, 1.0, X, d, W, ld, 0.0, Z, K); /* Z = X W[:, :d]' */
    if (intercept)
        for (int64_t i = 0; i < n; i++)
            for (int64_t q = 0; q < K; q++) Z[i * K + q] += W[q * ld + d];
    logistic_ctx c = {Z, partial, codes, sw, n, K, positive};
    ml_parallel_for(chunks, 1, logistic_rows, &c);
    double total = 0;
    for (int64_t ch = 0; ch < chunks; ch++) total += partial[ch];
    /* d loss / d W[:, :d] = R' X + l2 W; d loss / d intercept = the column sums of R */
    ml_dgemm(true, false, K, d, n, 1.0, Z, K, X, d, 0.0, grad, ld);
    double pen = 0;
    for (int64_t q = 0; q < K; q++) {
        for (int64_t j = 0; j < d; j++) {
            double w = W[q * ld + j];
            pen += w * w;
            grad[q * ld + j] += l2 * w;
        }
        if (intercept) {
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += Z[i * K + q];
            grad[q * ld + d] = s;
        }
    }
    *loss = total + 0.5 * l2 * pen;
    free(Z), free(partial);
    return 0;
}
