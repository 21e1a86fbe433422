/* ops/linear_models.c and the kNN additions of ops/neighbors.c from C:
 * least squares on an exact system and a rank-deficient one (minimum norm),
 * ridge against its normal equations, coordinate descent at alpha 0 (least
 * squares) and at a large alpha (all zeros, gap 0), the logistic loss's
 * gradient against finite differences (binary and multinomial, weights,
 * intercept), the Manhattan search against a naive one, and the vote and
 * average weights (a zero distance decides alone). Prints "N passed, M failed". */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/ops/linear_models.h"
#include "../../runtime/ops/neighbors.h"

#include "check.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static double uniform(void) { /* xorshift64, in [-0.5, 0.5) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0 - 0.5;
}

static void test_lstsq(void) {
    enum { n = 20, d = 3 };
    double X[n * d], Y[n], w[d] = {1.5, -2, 0.25}, coef[d], sv[d];
    for (int i = 0; i < n; i++) {
        Y[i] = 0;
        for (int j = 0; j < d; j++) X[i * d + j] = uniform(), Y[i] += X[i * d + j] * w[j];
    }
    int64_t rank = 0;
    CHECK(ml_lstsq_f64(coef, &rank, sv, X, Y, n, d, 1, -1) == 0);
    CHECK(rank == 3);
    for (int j = 0; j < d; j++) CHECK(fabs(coef[j] - w[j]) < 1e-12);
    CHECK(sv[0] >= sv[1] && sv[1] >= sv[2] && sv[2] > 0);
    /* two equal columns: rank 1, the minimum-norm solution splits the weight */
    double X2[n * 2], Y2[n], c2[2], s2[2];
    for (int i = 0; i < n; i++) X2[i * 2] = X2[i * 2 + 1] = X[i * d], Y2[i] = 2 * X[i * d];
    CHECK(ml_lstsq_f64(c2, &rank, s2, X2, Y2, n, 2, 1, -1) == 0);
    CHECK(rank == 1);
    CHECK(fabs(c2[0] - 1) < 1e-10 && fabs(c2[1] - 1) < 1e-10);
}

static void test_ridge(void) {
    enum { n = 15, d = 4 };
    double X[n * d], Y[n], coef[d], alpha = 0.7;
    for (int i = 0; i < n * d; i++) X[i] = uniform();
    for (int i = 0; i < n; i++) Y[i] = uniform();
    CHECK(ml_ridge_f64(coef, X, Y, &alpha, n, d, 1) == 0);
    /* (X'X + alpha I) coef = X'y */
    for (int a = 0; a < d; a++) {
        double lhs = alpha * coef[a], rhs = 0;
        for (int i = 0; i < n; i++) {
            double xw = 0;
            for (int b = 0; b < d; b++) xw += X[i * d + b] * coef[b];
            lhs += X[i * d + a] * xw, rhs += X[i * d + a] * Y[i];
        }
        CHECK(fabs(lhs - rhs) < 1e-12);
    }
}

static void test_enet(void) {
    enum { n = 30, d = 3 };
    double Xc[d * n], X[n * d], y[n], w[d] = {0}, ls[d], sv[d], gap = -1;
    for (int i = 0; i < n; i++) {
        y[i] = uniform();
        for (int j = 0; j < d; j++) X[i * d + j] = Xc[j * n + i] = uniform();
    }
    int64_t it = 0, rank = 0;
    CHECK(ml_enet_cd_f64(w, &gap, &it, Xc, y, n, d, 0, 0, 10000, 1e-14, -1, false) == 0);
    CHECK(ml_lstsq_f64(ls, &rank, sv, X, y, n, d, 1, -1) == 0);
    for (int j = 0; j < d; j++) CHECK(fabs(w[j] - ls[j]) < 1e-7);
    /* alpha above max |X'y|: all weights zero at once, duality gap 0 */
    double z[d] = {0};
    CHECK(ml_enet_cd_f64(z, &gap, &it, Xc, y, n, d, 1e6, 0, 100, 1e-4, -1, false) == 0);
    CHECK(z[0] == 0 && z[1] == 0 && z[2] == 0);
    CHECK(it == 1 && fabs(gap) < 1e-12);
}

/* central differences of the logistic loss in every coordinate of W */
static void check_logistic_grad(int64_t K, bool intercept, bool weights) {
    enum { n = 12, d = 3 };
    const int64_t ld = d + (intercept ? 1 : 0);
    double X[n * d], sw[n], W[4 * 4], G[4 * 4], loss;
    int64_t codes[n];
    for (int i = 0; i < n * d; i++) X[i] = 2 * uniform();
    for (int i = 0; i < n; i++) codes[i] = 1 + i % (K > 1 ? K : 2), sw[i] = 1 + uniform();
    for (int i = 0; i < K * ld; i++) W[i] = uniform();
    const double *s = weights ? sw : NULL;
    CHECK(ml_logistic_loss_grad_f64(&loss, G, W, X, codes, s, n, d, K, intercept, 2, 0.3) == 0);
    double worst = 0;
    for (int i = 0; i < K * ld; i++) {
        double keep = W[i], lp, lm, Gs[16], h = 1e-6;
        W[i] = keep + h;
        ml_logistic_loss_grad_f64(&lp, Gs, W, X, codes, s, n, d, K, intercept, 2, 0.3);
        W[i] = keep - h;
        ml_logistic_loss_grad_f64(&lm, Gs, W, X, codes, s, n, d, K, intercept, 2, 0.3);
        W[i] = keep;
        double e = fabs((lp - lm) / (2 * h) - G[i]);
        worst = e > worst ? e : worst;
    }
    CHECK(worst < 1e-7);
}

static void test_knn_l1_and_votes(void) {
    enum { m = 70, n = 1100, d = 5, k = 4 };
    double *Q = malloc(sizeof(double) * m * d), *R = malloc(sizeof(double) * n * d), dist[m * k];
    int64_t idx[m * k];
    for (int i = 0; i < m * d; i++) Q[i] = uniform();
    for (int i = 0; i < n * d; i++) R[i] = uniform();
    ml_knn_opts o = {.k = k, .index_base = 0, .p = 1};
    CHECK(ml_knn_f64(idx, dist, Q, R, m, n, d, &o) == 0);
    bool ok = true;
    for (int i = 0; i < m; i++) {
        double prev = -1;
        for (int a = 0; a < k; a++) {
            double s = 0;
            for (int p = 0; p < d; p++) s += fabs(Q[i * d + p] - R[idx[i * k + a] * d + p]);
            ok &= fabs(s - dist[i * k + a]) < 1e-12 && dist[i * k + a] >= prev;
            prev = dist[i * k + a];
        }
        /* no other row is nearer than the k-th */
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < d; p++) s += fabs(Q[i * d + p] - R[j * d + p]);
            bool in = false;
            for (int a = 0; a < k; a++) in |= idx[i * k + a] == j;
            ok &= in || s >= dist[i * k + k - 1];
        }
    }
    CHECK(ok);
    o.p = 3;
    CHECK(ml_knn_f64(idx, dist, Q, R, m, n, d, &o) == -1);
    free(Q), free(R);
    /* vote: one row at distance 0 decides; uniform counts */
    int64_t nidx[3] = {1, 2, 3}, codes[3] = {1, 2, 2};
    double nd[3] = {0, 1, 2}, proba[2], avg[1], Y[3] = {10, 20, 40};
    CHECK(ml_knn_vote_f64(proba, nidx, nd, codes, 1, 3, 2) == 0);
    CHECK(proba[0] == 1 && proba[1] == 0);
    CHECK(ml_knn_vote_f64(proba, nidx, NULL, codes, 1, 3, 2) == 0);
    CHECK(fabs(proba[0] - 1.0 / 3) < 1e-15 && fabs(proba[1] - 2.0 / 3) < 1e-15);
    double nd2[3] = {1, 2, 4};
    CHECK(ml_knn_average_f64(avg, nidx, nd2, Y, 1, 3, 1) == 0);
    CHECK(fabs(avg[0] - (10 + 10 + 10) / 1.75) < 1e-12);
}

int main(void) {
    test_lstsq();
    test_ridge();
    test_enet();
    check_logistic_grad(1, true, false);
    check_logistic_grad(1, false, true);
    check_logistic_grad(3, true, true);
    check_logistic_grad(4, false, false);
    test_knn_l1_and_votes();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
