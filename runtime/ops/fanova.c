/* fANOVA's per-tree variances (see fanova.h): the boxes of a tree's nodes,
 * the volume-weighted mean of each subtree, and per group of columns the
 * variance of the cell averages. One tree per task on the threads knob. */
#include "fanova.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/parallel.h"

/* One tree's scratch, sized for the largest tree of a range. */
typedef struct {
    double *lo, *hi;  /* (nodes, D) each node's box */
    double *w, *v;    /* (nodes) the box's volume and the volume-weighted mean of the subtree's leaves */
    double *card;     /* (nodes) the box's volume in the group's columns */
    double *cuts;     /* (nodes + 2 D) the group's columns' breakpoints: low, thresholds ascending, high */
    int64_t *stack;   /* (nodes) */
    int64_t *cols;    /* (D) the group's columns */
    int64_t *start;   /* (D + 1) where each of them starts in cuts */
    int64_t *at;      /* (D) the cell: the interval of each column */
    double *x;        /* (D) the cell's midpoint, by column */
    uint8_t *active;  /* (nodes) the subtree splits on a column of the group */
} scratch;

static void scratch_free(scratch *s) {
    free(s->lo), free(s->hi), free(s->w), free(s->v), free(s->card), free(s->cuts), free(s->stack), free(s->cols), free(s->start);
    free(s->at), free(s->x), free(s->active);
    memset(s, 0, sizeof *s);
}

static int scratch_init(scratch *s, int64_t n, int64_t D) {
    memset(s, 0, sizeof *s);
    size_t nd = (size_t)(n * D);
    s->lo = malloc(nd * sizeof(double)), s->hi = malloc(nd * sizeof(double));
    s->w = malloc((size_t)n * sizeof(double)), s->v = malloc((size_t)n * sizeof(double)), s->card = malloc((size_t)n * sizeof(double));
    s->cuts = malloc((size_t)(n + 2 * D) * sizeof(double)), s->stack = malloc((size_t)n * sizeof(int64_t));
    s->cols = malloc((size_t)D * sizeof(int64_t)), s->start = malloc((size_t)(D + 1) * sizeof(int64_t));
    s->at = malloc((size_t)D * sizeof(int64_t)), s->x = malloc((size_t)D * sizeof(double)), s->active = malloc((size_t)n);
    if (!s->lo || !s->hi || !s->w || !s->v || !s->card || !s->cuts || !s->stack || !s->cols || !s->start || !s->at || !s->x || !s->active) {
        scratch_free(s);
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A tree in local 0-based terms. */
typedef struct {
    const int64_t *left, *right, *feature; /* the forest's arrays from the tree's first node (1-based ids, 0 at leaves) */
    const double *threshold, *value;
    int64_t n, K;
} tree_ref;

static inline double width(double lo, double hi) { return hi > lo ? hi - lo : 0.0; }

/* Boxes, volumes and subtree means; returns the tree's variance over the box. Children come after
 * their parent (the forest's arrays are depth-first), so one pass down and one up suffice. */
static double tree_stats(scratch *s, const tree_ref *t, const double *bounds, int64_t D) {
    for (int64_t c = 0; c < D; c++) s->lo[c] = bounds[2 * c], s->hi[c] = bounds[2 * c + 1];
    for (int64_t i = 0; i < t->n; i++) {
        double *lo = s->lo + i * D, *hi = s->hi + i * D;
        if (t->left[i] == 0) {
            double vol = 1.0;
            for (int64_t c = 0; c < D; c++) vol *= width(lo[c], hi[c]);
            s->w[i] = vol, s->v[i] = t->value[i * t->K];
            continue;
        }
        int64_t l = t->left[i] - 1, r = t->right[i] - 1, f = t->feature[i] - 1;
        memcpy(s->lo + l * D, lo, (size_t)D * sizeof(double)), memcpy(s->hi + l * D, hi, (size_t)D * sizeof(double));
        memcpy(s->lo + r * D, lo, (size_t)D * sizeof(double)), memcpy(s->hi + r * D, hi, (size_t)D * sizeof(double));
        s->hi[l * D + f] = t->threshold[i]; /* left: x <= threshold */
        s->lo[r * D + f] = t->threshold[i];
    }
    for (int64_t i = t->n - 1; i >= 0; i--) {
        if (t->left[i] == 0) continue;
        int64_t l = t->left[i] - 1, r = t->right[i] - 1;
        double w = s->w[l] + s->w[r];
        s->w[i] = w;
        s->v[i] = w > 0 ? (s->v[l] * s->w[l] + s->v[r] * s->w[r]) / w : 0.5 * (s->v[l] + s->v[r]);
    }
    /* the leaves' volume-weighted variance (West's update: one pass, no cancellation) */
    double W = 0, mean = 0, S = 0;
    for (int64_t i = 0; i < t->n; i++) {
        if (t->left[i] != 0 || s->w[i] <= 0) continue;
        W += s->w[i];
        double delta = s->v[i] - mean;
        mean += s->w[i] / W * delta;
        S += s->w[i] * delta * (s->v[i] - mean);
    }
    return W > 0 && S > 0 ? S / W : 0.0;
}

/* The mean prediction at the cell's midpoint s->x (the group's columns), over the other columns:
 * *weight receives the other columns' volume it covers. */
static double cell_mean(scratch *s, const tree_ref *t, const int64_t *group, int64_t g, const int64_t *pos, double *weight) {
    int64_t top = 0;
    double sw = 0, swv = 0;
    s->stack[top++] = 0;
    while (top > 0) {
        int64_t i = s->stack[--top];
        if (t->left[i] != 0) {
            int64_t f = t->feature[i] - 1;
            if (group[f] == g) {
                s->stack[top++] = (s->x[pos[f]] <= t->threshold[i] ? t->left[i] : t->right[i]) - 1;
                continue;
            }
            if (s->active[i]) {
                s->stack[top++] = t->left[i] - 1;
                s->stack[top++] = t->right[i] - 1;
                continue;
            }
        }
        if (s->card[i] > 0) {
            double ww = s->w[i] / s->card[i];
            sw += ww, swv += ww * s->v[i];
        }
    }
    *weight = sw;
    return sw > 0 ? swv / sw : 0.0;
}

/* Group g's marginal variance in the tree: -1 when its cells outnumber max_cells (*cells receives how many). */
static int group_variance(double *out, int64_t *cells, scratch *s, const tree_ref *t, const double *bounds, const int64_t *group,
                          int64_t D, int64_t g, int64_t *pos, int64_t max_cells) {
    int64_t nc = 0;
    bool splits = false;
    for (int64_t c = 0; c < D; c++) pos[c] = -1;
    for (int64_t c = 0; c < D; c++)
        if (group[c] == g) pos[c] = nc, s->cols[nc++] = c;
    /* the breakpoints of each column: its bounds and the tree's distinct thresholds on it */
    int64_t at = 0;
    for (int64_t k = 0; k < nc; k++) {
        int64_t c = s->cols[k];
        s->start[k] = at;
        s->cuts[at++] = bounds[2 * c];
        int64_t first = at;
        for (int64_t i = 0; i < t->n; i++)
            if (t->left[i] != 0 && t->feature[i] - 1 == c) s->cuts[at++] = t->threshold[i];
        qsort(s->cuts + first, (size_t)(at - first), sizeof(double), cmp_double);
        int64_t u = first;
        for (int64_t j = first; j < at; j++)
            if (j == first || s->cuts[j] != s->cuts[u - 1]) s->cuts[u++] = s->cuts[j];
        if (u > first) splits = true;
        at = u;
        s->cuts[at++] = bounds[2 * c + 1];
    }
    s->start[nc] = at;
    *out = 0.0, *cells = 0;
    if (!splits) return 0; /* one cell: nothing varies */
    int64_t n_cells = 1;
    for (int64_t k = 0; k < nc; k++) {
        int64_t m = s->start[k + 1] - s->start[k] - 1;
        if (n_cells > max_cells / m) {
            *cells = n_cells > INT64_MAX / m ? INT64_MAX : n_cells * m;
            return -1;
        }
        n_cells *= m;
    }
    *cells = n_cells;
    /* which subtrees split on the group, and each node's volume in the group's columns */
    for (int64_t i = t->n - 1; i >= 0; i--) {
        double card = 1.0;
        for (int64_t k = 0; k < nc; k++) card *= width(s->lo[i * D + s->cols[k]], s->hi[i * D + s->cols[k]]);
        s->card[i] = card;
        s->active[i] = t->left[i] != 0 &&
                       (group[t->feature[i] - 1] == g || s->active[t->left[i] - 1] || s->active[t->right[i] - 1]);
    }
    for (int64_t k = 0; k < nc; k++) s->at[k] = 0;
    double W = 0, mean = 0, S = 0;
    for (int64_t cell = 0; cell < n_cells; cell++) {
        double size = 1.0;
        for (int64_t k = 0; k < nc; k++) {
            const double *b = s->cuts + s->start[k] + s->at[k];
            s->x[k] = 0.5 * (b[0] + b[1]);
            size *= b[1] - b[0];
        }
        double weight, value = cell_mean(s, t, group, g, pos, &weight);
        weight *= size;
        if (weight > 0) {
            W += weight;
            double delta = value - mean;
            mean += weight / W * delta;
            S += weight * delta * (value - mean);
        }
        for (int64_t k = nc - 1; k >= 0; k--) { /* the next cell: the last column fastest */
            if (++s->at[k] < s->start[k + 1] - s->start[k] - 1) break;
            s->at[k] = 0;
        }
    }
    *out = W > 0 && S > 0 ? S / W : 0.0;
    return 0;
}

typedef struct {
    double *marginal, *total;
    const ml_forest_view *f;
    const double *bounds;
    const int64_t *group;
    int64_t D, G, max_cells;
    int *status;      /* (n_trees) 0, 1 out of memory, 2 too many cells */
    int64_t *detail;  /* (n_trees, 2) the group and its cells, for status 2 */
} fanova_ctx;

static void fanova_range(void *vctx, int64_t s0, int64_t e0) {
    fanova_ctx *c = vctx;
    const ml_forest_view *f = c->f;
    int64_t nmax = 1;
    for (int64_t t = s0; t < e0; t++)
        if (f->offsets[t + 1] - f->offsets[t] > nmax) nmax = f->offsets[t + 1] - f->offsets[t];
    scratch s;
    int64_t *pos = malloc((size_t)c->D * sizeof(int64_t));
    if (!pos || scratch_init(&s, nmax, c->D)) {
        free(pos);
        for (int64_t t = s0; t < e0; t++) c->status[t] = 1;
        return;
    }
    for (int64_t t = s0; t < e0; t++) {
        int64_t off = f->offsets[t];
        tree_ref tr = {.left = f->left + off, .right = f->right + off, .feature = f->feature + off, .threshold = f->threshold + off,
                       .value = f->value + off * f->n_values, .n = f->offsets[t + 1] - off, .K = f->n_values};
        c->total[t] = tree_stats(&s, &tr, c->bounds, c->D);
        c->status[t] = 0;
        for (int64_t g = 0; g < c->G; g++) {
            int64_t cells;
            if (group_variance(c->marginal + t * c->G + g, &cells, &s, &tr, c->bounds, c->group, c->D, g, pos, c->max_cells)) {
                c->status[t] = 2, c->detail[2 * t] = g, c->detail[2 * t + 1] = cells;
                break;
            }
        }
    }
    free(pos);
    scratch_free(&s);
}

int ml_fanova(double *marginal, double *total, const ml_forest_view *f, const double *bounds, const int64_t *group, int64_t D,
              int64_t G, int64_t max_cells) {
    int64_t T = f->n_trees;
    int *status = calloc((size_t)(T ? T : 1), sizeof(int));
    int64_t *detail = calloc((size_t)(2 * T + 2), sizeof(int64_t));
    if (!status || !detail) {
        free(status), free(detail);
        return ml_error("fanova: out of memory for %lld trees", (long long)T), -1;
    }
    fanova_ctx c = {.marginal = marginal, .total = total, .f = f, .bounds = bounds, .group = group, .D = D, .G = G,
                    .max_cells = max_cells < 1 ? 1 : max_cells, .status = status, .detail = detail};
    ml_parallel_for(T, 1, fanova_range, &c);
    int rc = 0;
    for (int64_t t = 0; t < T && !rc; t++) {
        if (status[t] == 1) rc = -1, ml_error("fanova: out of memory for tree %lld", (long long)(t + 1));
        else if (status[t] == 2)
            rc = -1, ml_error("fanova: group %lld has %lld cells in tree %lld, more than max_cells = %lld", (long long)(detail[2 * t] + 1),
                              (long long)detail[2 * t + 1], (long long)(t + 1), (long long)c.max_cells);
    }
    free(status), free(detail);
    return rc;
}
