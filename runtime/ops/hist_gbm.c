/* The boosting loop of histogram gradient boosting (scikit-learn's
 * BaseHistGradientBoosting.fit, 1.2) and prediction: the baseline, each
 * iteration's gradients and hessians (float32), one tree per output, the
 * training (and validation) raw predictions updated from the new trees, and
 * early stopping on the loss. */
#include <float.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/parallel.h"
#include "hist_gbm.h"

/* rows below which a loop over rows runs on one thread */
#define ROWS_GRAIN 16384

static int cmp_pair(const void *a, const void *b) {
    double x = ((const double *)a)[0], y = ((const double *)b)[0];
    return (x > y) - (x < y);
}
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double ml_hgb_median(double *v, double *w, int64_t n) {
    if (n <= 0) return 0;
    if (!w) {
        qsort(v, n, sizeof *v, cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) * 0.5;
    }
    double *pw = malloc(sizeof *pw * 2 * n);
    if (!pw) return NAN;
    for (int64_t i = 0; i < n; i++) pw[2 * i] = v[i], pw[2 * i + 1] = w[i];
    qsort(pw, n, 2 * sizeof *pw, cmp_pair);
    double total = 0, cum = 0;
    for (int64_t i = 0; i < n; i++) total += pw[2 * i + 1];
    double half = 0.5 * total, out = pw[2 * (n - 1)];
    for (int64_t i = 0; i < n; i++) { /* the first value whose cumulative weight reaches half */
        cum += pw[2 * i + 1];
        if (cum >= half) {
            out = pw[2 * i];
            break;
        }
    }
    free(pw);
    return out;
}

static double wmean(const double *v, const double *w, int64_t n) {
    double s = 0, sw = 0;
    for (int64_t i = 0; i < n; i++) s += w ? w[i] * v[i] : v[i], sw += w ? w[i] : 1;
    return sw > 0 ? s / sw : 0;
}

/* baseline [K]: the best constant raw prediction (scikit-learn's fit_intercept_only). */
static int baseline(double *out, const ml_hgb_params *p, const double *y, const double *w, int64_t n) {
    int K = p->n_outputs;
    if (p->loss == ML_HGB_SQUARED_ERROR) out[0] = wmean(y, w, n);
    else if (p->loss == ML_HGB_ABSOLUTE_ERROR) {
        double *v = malloc(sizeof *v * n), *vw = w ? malloc(sizeof *vw * n) : NULL;
        if (!v || (w && !vw)) return free(v), free(vw), ml_error("out of memory"), -1;
        memcpy(v, y, sizeof *v * n);
        if (w) memcpy(vw, w, sizeof *vw * n);
        out[0] = ml_hgb_median(v, vw, n);
        free(v), free(vw);
    } else if (K == 1) {
        double pr = wmean(y, w, n);
        pr = fmin(fmax(pr, DBL_EPSILON), 1 - DBL_EPSILON);
        out[0] = log(pr / (1 - pr));
    } else {
        double sw = 0, mean = 0;
        for (int k = 0; k < K; k++) out[k] = 0;
        for (int64_t i = 0; i < n; i++) out[(int)y[i]] += w ? w[i] : 1, sw += w ? w[i] : 1;
        for (int k = 0; k < K; k++) out[k] = log(fmin(fmax(out[k] / sw, DBL_EPSILON), 1 - DBL_EPSILON)), mean += out[k];
        for (int k = 0; k < K; k++) out[k] -= mean / K; /* the symmetric multinomial link */
    }
    return 0;
}

typedef struct {
    const ml_hgb_params *p;
    float *g, *h; /* [K, n] */
    const double *raw, *y, *w; /* raw [n, K] */
    int64_t n;
} grad_ctx;

static void gradients_range(void *vc, int64_t s, int64_t e) {
    grad_ctx *c = vc;
    int K = c->p->n_outputs;
    int64_t n = c->n;
    for (int64_t i = s; i < e; i++) {
        double wi = c->w ? c->w[i] : 1, y = c->y[i];
        const double *r = c->raw + i * K;
        if (c->p->loss == ML_HGB_SQUARED_ERROR) c->g[i] = (float)(wi * (r[0] - y)), c->h[i] = (float)wi;
        else if (c->p->loss == ML_HGB_ABSOLUTE_ERROR) c->g[i] = (float)(wi * (r[0] > y ? 1 : r[0] < y ? -1 : 0)), c->h[i] = (float)wi;
        else if (K == 1) { /* half binomial loss, as scikit-learn's stable form */
            double gr, he;
            if (r[0] > -37) {
                double e_ = exp(-r[0]);
                gr = ((1 - y) - y * e_) / (1 + e_), he = e_ / ((1 + e_) * (1 + e_));
            } else {
                double e_ = exp(r[0]);
                gr = e_ - y, he = e_;
            }
            c->g[i] = (float)(wi * gr), c->h[i] = (float)(wi * he);
        } else {
            double mx = r[0], sum = 0;
            for (int k = 1; k < K; k++) mx = fmax(mx, r[k]);
            double pk[256];
            for (int k = 0; k < K; k++) pk[k] = exp(r[k] - mx), sum += pk[k];
            for (int k = 0; k < K; k++) {
                double q = pk[k] / sum;
                c->g[k * n + i] = (float)(wi * (q - (k == (int)y))), c->h[k * n + i] = (float)(wi * q * (1 - q));
            }
        }
    }
}

/* The weighted mean loss of raw [n, K] (half squared error, absolute error, log loss). */
static double mean_loss(const ml_hgb_params *p, const double *raw, const double *y, const double *w, int64_t n) {
    int K = p->n_outputs;
    double s = 0, sw = 0;
    int nt = ml_get_threads();
#pragma omp parallel for num_threads(nt) reduction(+ : s, sw) schedule(static) if (nt > 1 && n >= ROWS_GRAIN)
    for (int64_t i = 0; i < n; i++) {
        const double *r = raw + i * K;
        double wi = w ? w[i] : 1, l;
        if (p->loss == ML_HGB_SQUARED_ERROR) l = 0.5 * (r[0] - y[i]) * (r[0] - y[i]);
        else if (p->loss == ML_HGB_ABSOLUTE_ERROR) l = fabs(r[0] - y[i]);
        else if (K == 1) l = (r[0] > 0 ? r[0] + log1p(exp(-r[0])) : log1p(exp(r[0]))) - y[i] * r[0];
        else {
            double mx = r[0], sum = 0;
            for (int k = 1; k < K; k++) mx = fmax(mx, r[k]);
            for (int k = 0; k < K; k++) sum += exp(r[k] - mx);
            l = mx + log(sum) - r[(int)y[i]];
        }
        s += wi * l, sw += wi;
    }
    return sw > 0 ? s / sw : 0;
}

/* scikit-learn's _should_stop: no score of the last n_iter_no_change beats the one before them by tol. */
static bool should_stop(const double *scores, int64_t len, int64_t n_iter_no_change, double tol) {
    int64_t ref = n_iter_no_change + 1;
    if (len < ref) return false;
    double reference = scores[len - ref] + tol;
    for (int64_t i = len - ref + 1; i < len; i++)
        if (scores[i] > reference) return false;
    return true;
}

/* raw[i * K + out] += tree's value on the binned rows Xb [d, n]. */
static void predict_binned(double *raw, int K, int out, const uint8_t *Xb, int64_t n, const double *tree, int missing_bin) {
    for (int64_t i = 0; i < n; i++) {
        const double *nd = tree;
        while (nd[HGB_FEATURE] >= 0) {
            int b = Xb[(int64_t)nd[HGB_FEATURE] * n + i];
            bool left = b == missing_bin ? nd[HGB_MISSING_LEFT] != 0 : b <= (int)nd[HGB_BIN];
            nd = tree + (int64_t)(left ? nd[HGB_LEFT] : nd[HGB_RIGHT]) * ML_HGB_NODE_COLS;
        }
        raw[i * K + out] += nd[HGB_VALUE];
    }
}

void ml_hgb_model_free(ml_hgb_model *m) {
    free(m->nodes), free(m->tree_start), free(m->train_score), free(m->val_score);
    memset(m, 0, sizeof *m);
}

int ml_hgb_fit(ml_hgb_model *m, const ml_hgb_params *p, const ml_hgb_binner *b, const uint8_t *Xb, int64_t n, const double *y,
               const double *w, const uint8_t *Xv, int64_t nv, const double *yv, const double *wv) {
    memset(m, 0, sizeof *m);
    int K = p->n_outputs;
    if (K < 1 || K > 256) return ml_error("%d outputs, expected 1..256", K), -1;
    m->n_outputs = K;
    if (baseline(m->baseline, p, y, w, n) < 0) return -1;
    double *raw = malloc(sizeof *raw * n * K), *rawv = nv ? malloc(sizeof *rawv * nv * K) : NULL;
    float *g = malloc(sizeof *g * n * K), *h = malloc(sizeof *h * n * K);
    m->train_score = malloc(sizeof(double) * (p->max_iter + 1));
    m->val_score = malloc(sizeof(double) * (p->max_iter + 1));
    bool const_h = !w && (p->loss == ML_HGB_SQUARED_ERROR || p->loss == ML_HGB_ABSOLUTE_ERROR);
    ml_hgb_grower *gr = raw && g && h && (rawv || !nv) && m->train_score && m->val_score ? ml_hgb_grower_new(p, b, Xb, n, const_h) : NULL;
    int rc = -1;
    if (!gr) {
        ml_error("out of memory boosting on %lld rows", (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < K; k++) raw[i * K + k] = m->baseline[k];
    for (int64_t i = 0; i < nv; i++)
        for (int k = 0; k < K; k++) rawv[i * K + k] = m->baseline[k];
    if (p->early_stopping) {
        m->train_score[0] = -mean_loss(p, raw, y, w, n);
        if (nv) m->val_score[0] = -mean_loss(p, rawv, yv, wv, nv);
        m->n_scores = 1;
    }
    grad_ctx gc = {.p = p, .g = g, .h = h, .raw = raw, .y = y, .w = w, .n = n};
    const double *abs_y = p->loss == ML_HGB_ABSOLUTE_ERROR ? y : NULL;
    for (int64_t it = 0; it < p->max_iter; it++) {
        ml_parallel_for(n, ROWS_GRAIN, gradients_range, &gc);
        for (int k = 0; k < K; k++) {
            if (ml_hgb_grow(gr, m, g + (int64_t)k * n, h + (int64_t)k * n, raw + k, K, abs_y, w) < 0) goto done;
            if (nv) predict_binned(rawv, K, k, Xv, nv, m->nodes + m->tree_start[m->n_trees - 1] * ML_HGB_NODE_COLS, b->max_bins);
        }
        m->n_iter = it + 1;
        if (p->early_stopping) {
            m->train_score[m->n_scores] = -mean_loss(p, raw, y, w, n);
            if (nv) m->val_score[m->n_scores] = -mean_loss(p, rawv, yv, wv, nv);
            m->n_scores++;
            if (should_stop(nv ? m->val_score : m->train_score, m->n_scores, p->n_iter_no_change, p->tol)) break;
        }
    }
    rc = 0;
done:
    ml_hgb_grower_free(gr);
    free(raw), free(rawv), free(g), free(h);
    if (rc) ml_hgb_model_free(m);
    return rc;
}

/* ---- prediction on raw values ---- */

typedef struct {
    double *raw;
    const double *X, *nodes;
    const int64_t *tree_start;
    int64_t d, n_trees;
    int K;
} pred_ctx;

static void predict_range(void *vc, int64_t s, int64_t e) {
    pred_ctx *c = vc;
    enum { BLOCK = 256 }; /* rows per pass over the trees: a tree stays in cache for the block */
    for (int64_t i0 = s; i0 < e; i0 += BLOCK) {
        int64_t i1 = i0 + BLOCK < e ? i0 + BLOCK : e;
        for (int64_t t = 0; t < c->n_trees; t++) {
            const double *tree = c->nodes + c->tree_start[t] * ML_HGB_NODE_COLS;
            int out = (int)(t % c->K);
            for (int64_t i = i0; i < i1; i++) {
                const double *x = c->X + i * c->d, *nd = tree;
                while (nd[HGB_FEATURE] >= 0) {
                    double v = x[(int64_t)nd[HGB_FEATURE]];
                    bool left = isnan(v) ? nd[HGB_MISSING_LEFT] != 0 : v <= nd[HGB_THRESHOLD];
                    nd = tree + (int64_t)(left ? nd[HGB_LEFT] : nd[HGB_RIGHT]) * ML_HGB_NODE_COLS;
                }
                c->raw[i * c->K + out] += nd[HGB_VALUE];
            }
        }
    }
}

void ml_hgb_predict_raw(double *raw, const double *X, int64_t n, int64_t d, const double *nodes, const int64_t *tree_start,
                        int64_t n_trees, int n_outputs) {
    pred_ctx c = {.raw = raw, .X = X, .nodes = nodes, .tree_start = tree_start, .d = d, .n_trees = n_trees, .K = n_outputs};
    ml_parallel_for(n, n_trees > 64 ? 512 : 4096, predict_range, &c);
}

const char *ml_hgb_check_trees(const double *nodes, int64_t n_nodes, const int64_t *tree_start, int64_t n_trees, int64_t d) {
    static _Thread_local char msg[160];
    if (n_trees < 0 || tree_start[0] != 0 || tree_start[n_trees] != n_nodes) return "the tree offsets do not cover the nodes";
    for (int64_t t = 0; t < n_trees; t++) {
        int64_t a = tree_start[t], z = tree_start[t + 1];
        if (z <= a) return "a tree has no nodes";
        for (int64_t i = a; i < z; i++) {
            const double *nd = nodes + i * ML_HGB_NODE_COLS;
            double f = nd[HGB_FEATURE];
            if (f == -1) continue;
            /* children come after their parent (depth-first order): no cycles */
            if (!(f >= 0 && f < d && f == floor(f)) || !(nd[HGB_LEFT] > i - a && nd[HGB_LEFT] < z - a) ||
                !(nd[HGB_RIGHT] > i - a && nd[HGB_RIGHT] < z - a) || nd[HGB_LEFT] != floor(nd[HGB_LEFT]) ||
                nd[HGB_RIGHT] != floor(nd[HGB_RIGHT])) {
                snprintf(msg, sizeof msg, "node %lld of tree %lld is not a valid split (feature %g of %lld, children %g, %g)",
                         (long long)(i - a + 1), (long long)(t + 1), f, (long long)d, nd[HGB_LEFT], nd[HGB_RIGHT]);
                return msg;
            }
        }
    }
    return NULL;
}
