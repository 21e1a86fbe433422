/* The tree kernels from C (runtime/ops/tree.c): ranks of columns with ties and
 * more than 2^11 distinct values (the radix passes), a perfectly separable
 * problem grown to pure leaves, the threshold halfway between float32 values,
 * a forest the same on 1 and 2 threads, prediction through the packed nodes, and the split search's
 * shortcuts (16-bit ranks, payload keys, the marks of values within 1e-7) against its general paths.
 * Prints "N passed, M failed" last; exits 1 on a failure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/core/error.h"
#include "../../runtime/ops/tree.h"

#include "check.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void test_ranks(void) {
    enum { n = 5000, d = 2 };
    float *X = malloc(sizeof(float) * n * d);
    for (int i = 0; i < n; i++) X[i * d] = (float)(next() % 3000) - 1500.f, X[i * d + 1] = (float)(i % 7);
    ml_tree_data D = {.n = n, .d = d};
    CHECK(ml_tree_data_init(&D, X) == 0);
    CHECK(D.n_distinct[1] == 7);
    int ok = 1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j += 97) {
            float a = X[i * d], b = X[j * d];
            uint32_t ra = D.rank[i], rb = D.rank[j];
            if ((a < b) != (ra < rb) || (a == b) != (ra == rb)) ok = 0;
        }
    CHECK(ok);
    for (int64_t r = 1; r < D.n_distinct[0]; r++) ok &= D.distinct[r] > D.distinct[r - 1];
    CHECK(ok);
    ml_tree_data_free(&D);
    float bad[2] = {1.f, NAN};
    ml_tree_data E = {.n = 1, .d = 2};
    CHECK(ml_tree_data_init(&E, bad) == -1);
    CHECK(strstr(ml_last_error(), "NaN") != NULL);
    free(X);
}

static ml_forest_view view_of(const ml_tree *t, int64_t *left, int64_t *right, int64_t *feat, int64_t *off) {
    for (int64_t i = 0; i < t->n_nodes; i++) left[i] = t->left[i] + 1, right[i] = t->right[i] + 1, feat[i] = t->feature[i] + 1;
    off[0] = 0, off[1] = t->n_nodes;
    return (ml_forest_view){.left = left, .right = right, .feature = feat, .offsets = off, .threshold = t->threshold,
                            .value = t->value, .n_trees = 1, .n_values = t->n_values};
}

static void test_separable(void) {
    /* class = x0 > 0.25: one split at the midpoint of the closest values on each side */
    enum { n = 400, d = 3 };
    float X[n * d];
    int64_t y[n];
    for (int i = 0; i < n; i++) {
        X[i * d] = (float)i / n, X[i * d + 1] = (float)(next() % 100), X[i * d + 2] = 1.f;
        y[i] = X[i * d] > 0.25f;
    }
    ml_tree_data D = {.n = n, .d = d, .y_code = y, .n_classes = 2};
    CHECK(ml_tree_data_init(&D, X) == 0);
    ml_tree_params p = {.criterion = ML_TREE_GINI, .max_depth = -1, .min_samples_split = 2, .min_samples_leaf = 1, .max_features = d};
    ml_tree t;
    CHECK(ml_tree_fit(&t, &D, NULL, &p, 1) == 0);
    CHECK(t.n_nodes == 3);
    CHECK(t.feature[0] == 0);
    CHECK(t.threshold[0] == (double)X[100 * d] / 2.0 + (double)X[101 * d] / 2.0);
    CHECK(t.value[1 * 2 + 0] == 101 && t.value[2 * 2 + 1] == 299);
    CHECK(t.impurity[1] == 0 && t.impurity[2] == 0);
    int64_t left[3], right[3], feat[3], off[2], leaf[n];
    ml_forest_view f = view_of(&t, left, right, feat, off);
    CHECK(ml_forest_apply(leaf, &f, X, n, d) == 0);
    int ok = 1;
    for (int i = 0; i < n; i++) ok &= leaf[i] == (y[i] ? 3 : 2);
    CHECK(ok);
    double proba[n * 2];
    CHECK(ml_forest_predict(proba, NULL, &f, X, n, d, true, NULL) == 0);
    CHECK(proba[0] == 1.0 && proba[2 * (n - 1) + 1] == 1.0);
    ml_tree_free(&t);
    ml_tree_data_free(&D);
}

static void test_forest_threads(void) {
    enum { n = 3000, d = 6, T = 8 };
    float *X = malloc(sizeof(float) * n * d);
    double *y = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) X[i * d + j] = (float)((double)(next() % 100000) / 1000.0);
        y[i] = X[i * d] * 2 - X[i * d + 3] + (double)(next() % 100) / 100.0;
    }
    ml_tree_data D = {.n = n, .d = d, .y = y, .n_outputs = 1};
    CHECK(ml_tree_data_init(&D, X) == 0);
    ml_tree_params p = {.criterion = ML_TREE_SQUARED_ERROR, .max_depth = -1, .min_samples_split = 2, .min_samples_leaf = 3,
                        .max_features = 2};
    ml_forest_opts o = {.bootstrap = true, .max_samples = n};
    uint64_t seeds[T];
    for (int t = 0; t < T; t++) seeds[t] = 1000 + t;
    ml_tree a[T], b[T];
    CHECK(ml_forest_fit(a, T, &D, &o, &p, seeds, 1, NULL) == 0);
    CHECK(ml_forest_fit(b, T, &D, &o, &p, seeds, 2, NULL) == 0);
    int ok = 1;
    for (int t = 0; t < T; t++) {
        ok &= a[t].n_nodes == b[t].n_nodes;
        for (int64_t i = 0; ok && i < a[t].n_nodes; i++) ok &= a[t].threshold[i] == b[t].threshold[i] && a[t].feature[i] == b[t].feature[i];
        int64_t leaves = 0, minleaf = n;
        for (int64_t i = 0; i < a[t].n_nodes; i++)
            if (a[t].left[i] < 0) leaves++, minleaf = a[t].n_samples[i] < minleaf ? a[t].n_samples[i] : minleaf;
        ok &= leaves * 2 - 1 == a[t].n_nodes && minleaf >= 3;
    }
    CHECK(ok);
    for (int t = 0; t < T; t++) ml_tree_free(&a[t]), ml_tree_free(&b[t]);
    ml_tree_data_free(&D);
    free(X), free(y);
}

/* The split search's shortcuts against its general paths, on a column whose distinct float32 values come
 * in clusters a few ulps apart (within 1e-7: one value to the search) and a column with ties:
 * 16-bit ranks against the 32-bit ones, the payload keys (whole-number weights) against the general
 * path (the same weights halved, so not whole: every sum and proxy exactly half, the same splits). */
static bool same_splits(const ml_tree *a, const ml_tree *b, double value_scale) {
    if (a->n_nodes != b->n_nodes) return false;
    for (int64_t i = 0; i < a->n_nodes; i++) {
        if (a->feature[i] != b->feature[i] || a->threshold[i] != b->threshold[i] || a->left[i] != b->left[i] ||
            a->n_samples[i] != b->n_samples[i] || a->impurity[i] != b->impurity[i] || a->weighted_n[i] * value_scale != b->weighted_n[i])
            return false;
        for (int64_t k = 0; k < a->n_values; k++)
            if (a->value[i * a->n_values + k] * value_scale != b->value[i * b->n_values + k]) return false;
    }
    return true;
}

static void test_search_paths(void) {
    enum { n = 4000, d = 3, K = 3 };
    float *X = malloc(sizeof(float) * n * d);
    int64_t *y = malloc(sizeof(int64_t) * n);
    double *w = malloc(sizeof(double) * n), *half = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++) {
        float base = 0.01f * (float)(next() % 40);
        X[i * d] = base + 3e-8f * (float)(next() % 4); /* clusters of values within 1e-7 */
        X[i * d + 1] = (float)(next() % 9);           /* ties */
        X[i * d + 2] = (float)(next() % 100000) / 997.f;
        y[i] = (X[i * d] + 0.02f * X[i * d + 1] + (float)(next() % 10) * 0.01f) > 0.3f ? 2 : X[i * d + 2] > 50.f;
        w[i] = (double)(next() % 4); /* bootstrap-like counts, zeros included */
        half[i] = w[i] * 0.5;
    }
    ml_tree_data D = {.n = n, .d = d, .y_code = y, .n_classes = K};
    CHECK(ml_tree_data_init(&D, X) == 0);
    CHECK(D.rank16 != NULL);
    int close = 0;
    for (int64_t r = 0; r + 1 < D.n_distinct[0]; r++) {
        bool bit = (D.close[r >> 6] >> (r & 63)) & 1;
        close += bit;
        if (bit != (D.distinct[r + 1] <= D.distinct[r] + 1e-7)) close = -1000000;
    }
    CHECK(close > 0); /* the close pairs are there and marked, and only they */
    ml_tree_params p = {.criterion = ML_TREE_GINI, .max_depth = -1, .min_samples_split = 2, .min_samples_leaf = 1, .max_features = 2};
    ml_tree a, b, c;
    CHECK(ml_tree_fit(&a, &D, w, &p, 3) == 0);
    CHECK(ml_tree_fit(&b, &D, half, &p, 3) == 0);
    CHECK(same_splits(&a, &b, 0.5));
    /* no split on column 0 parts two values the search takes as one: at each such node, the training
     * rows that go left and right are more than 1e-7 apart */
    double *lmax = malloc(sizeof(double) * a.n_nodes), *rmin = malloc(sizeof(double) * a.n_nodes);
    for (int64_t i = 0; i < a.n_nodes; i++) lmax[i] = -INFINITY, rmin[i] = INFINITY;
    for (int i = 0; i < n; i++) {
        if (w[i] == 0) continue;
        for (int64_t node = 0; a.left[node] >= 0;) {
            double v = X[i * d + a.feature[node]];
            bool go_left = v <= a.threshold[node];
            if (a.feature[node] == 0 && go_left) lmax[node] = v > lmax[node] ? v : lmax[node];
            if (a.feature[node] == 0 && !go_left) rmin[node] = v < rmin[node] ? v : rmin[node];
            node = go_left ? a.left[node] : a.right[node];
        }
    }
    int ok = 1, splits0 = 0;
    for (int64_t i = 0; i < a.n_nodes; i++)
        if (a.left[i] >= 0 && a.feature[i] == 0) splits0++, ok &= rmin[i] > lmax[i] + 1e-7;
    CHECK(ok && splits0 > 0);
    free(lmax), free(rmin);
    uint16_t *r16 = D.rank16;
    D.rank16 = NULL; /* the 32-bit ranks, as for a column of more than 65,536 distinct values */
    CHECK(ml_tree_fit(&c, &D, w, &p, 3) == 0);
    CHECK(same_splits(&a, &c, 1.0));
    D.rank16 = r16;
    ml_tree_free(&a), ml_tree_free(&b), ml_tree_free(&c);
    ml_tree_data_free(&D);
    free(X), free(y), free(w), free(half);
}

int main(void) {
    test_ranks();
    test_separable();
    test_forest_threads();
    test_search_paths();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
