/* One tree of histogram gradient boosting, grown best-first as scikit-learn's
 * TreeGrower (1.2): the node with the largest gain splits next; a node's
 * rows are a slice of one partition array (stable, so rows stay in
 * increasing order and the binned columns are read forward); the smaller
 * child's histogram is built from its rows and the larger one's is the
 * parent's minus it, in the parent's buffer. Histogram buffers come from a
 * pool kept for the whole fit, so growing a node allocates nothing. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/parallel.h"
#include "hist_gbm.h"

#define MIN_HESSIAN_TO_SPLIT 1e-3
/* rows x features below which a histogram is built on one thread (waking the team costs more) */
#define PAR_MIN_WORK 65536

typedef struct {
    int64_t start, stop; /* rows: part[start, stop) */
    double sum_g, sum_h, value;
    int depth;
    int hist; /* pool slot, -1: none */
    bool is_leaf;
    int left, right;
    /* the best split found */
    double gain;
    int feature, bin;
    bool missing_left;
    double gl, hl, gr, hr;
    int64_t nl, nr;
} gnode;

struct ml_hgb_grower {
    const ml_hgb_params *p;
    const ml_hgb_binner *b;
    const uint8_t *Xb; /* [d, n] */
    int64_t n, d;
    int nbins; /* per feature histogram: max_bins + 1 (the last is the missing bin) */
    bool const_hessian;
    bool *has_missing; /* [d] */
    uint32_t *part, *tmp; /* [n] */
    float *og, *oh;       /* [n] gradients / hessians gathered in partition order */
    ml_hgb_bin **pool;   /* histograms [d * nbins] each */
    int *free_slots;
    int n_pool, n_free, pool_cap;
    gnode *nodes;
    int n_nodes, nodes_cap;
    int *heap; /* splittable nodes, max-heap on gain */
    int n_heap;
    int n_leaves_final;
};

void ml_hgb_grower_free(ml_hgb_grower *g) {
    if (!g) return;
    for (int i = 0; i < g->n_pool; i++) free(g->pool[i]);
    free(g->pool), free(g->free_slots), free(g->has_missing), free(g->part), free(g->tmp), free(g->og), free(g->oh);
    free(g->nodes), free(g->heap), free(g);
}

ml_hgb_grower *ml_hgb_grower_new(const ml_hgb_params *p, const ml_hgb_binner *b, const uint8_t *Xb, int64_t n, bool const_hessian) {
    ml_hgb_grower *g = calloc(1, sizeof *g);
    if (!g) return ml_error("out of memory");
    g->p = p, g->b = b, g->Xb = Xb, g->n = n, g->d = b->d, g->nbins = b->max_bins + 1, g->const_hessian = const_hessian;
    g->has_missing = calloc(g->d, sizeof *g->has_missing);
    g->part = malloc(sizeof *g->part * n), g->tmp = malloc(sizeof *g->tmp * n);
    g->og = malloc(sizeof *g->og * n), g->oh = malloc(sizeof *g->oh * n);
    if (!g->has_missing || !g->part || !g->tmp || !g->og || !g->oh) {
        ml_hgb_grower_free(g);
        return ml_error("out of memory for %lld rows", (long long)n);
    }
    for (int64_t j = 0; j < g->d; j++) {
        const uint8_t *col = Xb + j * n;
        for (int64_t i = 0; i < n; i++)
            if (col[i] == b->max_bins) {
                g->has_missing[j] = true;
                break;
            }
    }
    return g;
}

/* ---- the histogram pool ---- */

static int hist_take(ml_hgb_grower *g) {
    if (g->n_free) return g->free_slots[--g->n_free];
    if (g->n_pool == g->pool_cap) {
        int cap = g->pool_cap ? 2 * g->pool_cap : 16;
        ml_hgb_bin **np = realloc(g->pool, sizeof *np * cap);
        if (!np) return -1;
        g->pool = np;
        int *nf = realloc(g->free_slots, sizeof *nf * cap);
        if (!nf) return -1;
        g->free_slots = nf, g->pool_cap = cap;
    }
    ml_hgb_bin *h = malloc(sizeof *h * (size_t)g->d * g->nbins);
    if (!h) return -1;
    g->pool[g->n_pool] = h;
    return g->n_pool++;
}

static void hist_give(ml_hgb_grower *g, int slot) {
    if (slot >= 0) g->free_slots[g->n_free++] = slot;
}

/* ---- histograms ---- */

/* hist [d, nbins]: the sums over the node's rows (all rows, in order, for the root). */
static void build_hist(ml_hgb_grower *g, ml_hgb_bin *hist, const gnode *nd, const float *grad, const float *hess, bool root) {
    int64_t n = g->n, d = g->d, start = nd->start, m = nd->stop - nd->start;
    const uint32_t *rows = g->part + start;
    const float *og = root ? grad : g->og, *oh = root ? hess : g->oh;
    bool ch = g->const_hessian;
    int nb = g->nbins, nt = ml_get_threads();
    bool par = nt > 1 && m * d >= PAR_MIN_WORK;
#pragma omp parallel num_threads(nt) if (par)
    {
        if (!root) {
#pragma omp for schedule(static)
            for (int64_t k = 0; k < m; k++) {
                g->og[k] = grad[rows[k]];
                if (!ch) g->oh[k] = hess[rows[k]];
            }
        }
#pragma omp for schedule(static)
        for (int64_t j = 0; j < d; j++) {
            ml_hgb_bin *hj = hist + j * nb;
            memset(hj, 0, sizeof *hj * nb);
            const uint8_t *col = g->Xb + j * n;
            if (root) {
                if (ch)
                    for (int64_t i = 0; i < m; i++) hj[col[i]].g += og[i], hj[col[i]].n++;
                else
                    for (int64_t i = 0; i < m; i++) {
                        ml_hgb_bin *h = hj + col[i];
                        h->g += og[i], h->h += oh[i], h->n++;
                    }
            } else {
                if (ch)
                    for (int64_t k = 0; k < m; k++) {
                        ml_hgb_bin *h = hj + col[rows[k]];
                        h->g += og[k], h->n++;
                    }
                else
                    for (int64_t k = 0; k < m; k++) {
                        ml_hgb_bin *h = hj + col[rows[k]];
                        h->g += og[k], h->h += oh[k], h->n++;
                    }
            }
            if (ch)
                for (int k = 0; k < nb; k++) hj[k].h = (double)hj[k].n * hess[0];
        }
    }
}

/* big = parent - small, in the parent's buffer. */
static void subtract_hist(ml_hgb_bin *parent, const ml_hgb_bin *small, int64_t len) {
    for (int64_t k = 0; k < len; k++) parent[k].g -= small[k].g, parent[k].h -= small[k].h, parent[k].n -= small[k].n;
}

/* ---- the split search ---- */

static inline double node_value(double G, double H, double l2) { return -G / (H + l2 + 1e-15); }

static inline double split_gain(double gl, double hl, double gr, double hr, double loss_node, double l2) {
    return loss_node - gl * node_value(gl, hl, l2) - gr * node_value(gr, hr, l2);
}

/* nd's best split over all features (gain -1 when none is valid). */
static void find_split(ml_hgb_grower *g, gnode *nd, const ml_hgb_bin *hist) {
    const ml_hgb_params *p = g->p;
    double l2 = p->l2_regularization, G = nd->sum_g, H = nd->sum_h, loss_node = G * nd->value;
    int64_t N = nd->stop - nd->start, msl = p->min_samples_leaf;
    nd->gain = -1;
    for (int64_t j = 0; j < g->d; j++) {
        const ml_hgb_bin *hj = hist + j * g->nbins;
        int nbnm = g->b->n_bins_non_missing[j];
        bool miss = g->has_missing[j];
        double best = -1;
        int best_bin = -1;
        bool best_ml = false;
        double bgl = 0, bhl = 0;
        int64_t bnl = 0;
        /* left to right: the missing values go right */
        double gl = 0, hl = 0;
        int64_t nl = 0;
        int end = nbnm - 1 + (miss ? 1 : 0);
        for (int k = 0; k < end; k++) {
            nl += hj[k].n, hl += hj[k].h, gl += hj[k].g;
            int64_t nr = N - nl;
            double hr = H - hl, gr = G - gl;
            if (nl < msl) continue;
            if (nr < msl) break;
            if (hl < MIN_HESSIAN_TO_SPLIT) continue;
            if (hr < MIN_HESSIAN_TO_SPLIT) break;
            double gain = split_gain(gl, hl, gr, hr, loss_node, l2);
            if (gain > best && gain > 0) best = gain, best_bin = k, best_ml = false, bgl = gl, bhl = hl, bnl = nl;
        }
        if (miss) { /* right to left: the missing values go left */
            double gr = 0, hr = 0;
            int64_t nr = 0;
            for (int k = nbnm - 2; k >= 0; k--) {
                nr += hj[k + 1].n, hr += hj[k + 1].h, gr += hj[k + 1].g;
                int64_t nl2 = N - nr;
                double hl2 = H - hr, gl2 = G - gr;
                if (nr < msl) continue;
                if (nl2 < msl) break;
                if (hr < MIN_HESSIAN_TO_SPLIT) continue;
                if (hl2 < MIN_HESSIAN_TO_SPLIT) break;
                double gain = split_gain(gl2, hl2, gr, hr, loss_node, l2);
                if (gain > best && gain > 0) best = gain, best_bin = k, best_ml = true, bgl = gl2, bhl = hl2, bnl = nl2;
            }
        }
        if (best_bin >= 0 && best > nd->gain) {
            nd->gain = best, nd->feature = (int)j, nd->bin = best_bin, nd->missing_left = best_ml;
            nd->gl = bgl, nd->hl = bhl, nd->nl = bnl;
            nd->gr = G - bgl, nd->hr = H - bhl, nd->nr = N - bnl;
        }
    }
}

/* ---- the heap of splittable nodes (largest gain on top) ---- */

static void heap_push(ml_hgb_grower *g, int id) {
    int i = g->n_heap++;
    g->heap[i] = id;
    while (i > 0) {
        int up = (i - 1) / 2;
        if (g->nodes[g->heap[up]].gain >= g->nodes[g->heap[i]].gain) break;
        int t = g->heap[up];
        g->heap[up] = g->heap[i], g->heap[i] = t, i = up;
    }
}

static int heap_pop(ml_hgb_grower *g) {
    int top = g->heap[0];
    g->heap[0] = g->heap[--g->n_heap];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, big = i;
        if (l < g->n_heap && g->nodes[g->heap[l]].gain > g->nodes[g->heap[big]].gain) big = l;
        if (r < g->n_heap && g->nodes[g->heap[r]].gain > g->nodes[g->heap[big]].gain) big = r;
        if (big == i) break;
        int t = g->heap[big];
        g->heap[big] = g->heap[i], g->heap[i] = t, i = big;
    }
    return top;
}

/* ---- growth ---- */

static int new_node(ml_hgb_grower *g, int64_t start, int64_t stop, double G, double H, double value, int depth) {
    if (g->n_nodes == g->nodes_cap) {
        int cap = g->nodes_cap ? 2 * g->nodes_cap : 64;
        gnode *nn = realloc(g->nodes, sizeof *nn * cap);
        int *nh = realloc(g->heap, sizeof *nh * cap);
        if (nn) g->nodes = nn;
        if (nh) g->heap = nh;
        if (!nn || !nh) return -1;
        g->nodes_cap = cap;
    }
    gnode *nd = &g->nodes[g->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->start = start, nd->stop = stop, nd->sum_g = G, nd->sum_h = H, nd->value = value, nd->depth = depth;
    nd->hist = -1, nd->left = nd->right = -1, nd->gain = -1;
    return g->n_nodes++;
}

static void finalize_leaf(ml_hgb_grower *g, gnode *nd) {
    nd->is_leaf = true;
    hist_give(g, nd->hist);
    nd->hist = -1;
    g->n_leaves_final++;
}

/* A node with a histogram: split it later (pushed) or make it a leaf. */
static void split_or_leaf(ml_hgb_grower *g, int id) {
    gnode *nd = &g->nodes[id];
    find_split(g, nd, g->pool[nd->hist]);
    if (nd->gain <= 0) finalize_leaf(g, nd);
    else heap_push(g, id);
}

/* Stable partition of the node's rows: left rows first. Returns the left count. */
static int64_t partition_rows(ml_hgb_grower *g, const gnode *nd) {
    const uint8_t *col = g->Xb + (int64_t)nd->feature * g->n;
    uint32_t *rows = g->part + nd->start, *right = g->tmp;
    int64_t m = nd->stop - nd->start, nl = 0, nr = 0;
    int missing = g->b->max_bins, bin = nd->bin;
    bool ml_ = nd->missing_left;
    for (int64_t k = 0; k < m; k++) {
        uint32_t r = rows[k];
        int v = col[r];
        bool left = v == missing ? ml_ : v <= bin;
        if (left) rows[nl++] = r;
        else right[nr++] = r;
    }
    memcpy(rows + nl, right, sizeof *right * nr);
    return nl;
}

static int oom(void) { return ml_error("out of memory growing a tree"), -1; }

/* Splits the node on top of the heap (scikit-learn's split_next). */
static int split_next(ml_hgb_grower *g, const float *grad, const float *hess) {
    const ml_hgb_params *p = g->p;
    int id = heap_pop(g);
    int64_t nl = partition_rows(g, &g->nodes[id]);
    gnode nd = g->nodes[id]; /* a copy: new_node may move the array */
    int depth = nd.depth + 1;
    int64_t n_leaves = g->n_leaves_final + g->n_heap + 2;
    double l2 = p->l2_regularization;
    int L = new_node(g, nd.start, nd.start + nl, nd.gl, nd.hl, node_value(nd.gl, nd.hl, l2), depth);
    if (L < 0) return oom();
    int R = new_node(g, nd.start + nl, nd.stop, nd.gr, nd.hr, node_value(nd.gr, nd.hr, l2), depth);
    if (R < 0) return oom();
    gnode *P = &g->nodes[id];
    P->left = L, P->right = R;
    if (!g->has_missing[P->feature]) P->missing_left = nl > nd.stop - nd.start - nl; /* unseen NaN: to the bigger child */
    gnode *l = &g->nodes[L], *r = &g->nodes[R];
    int parent_hist = P->hist;
    P->hist = -1;
    if ((p->max_leaf_nodes > 0 && n_leaves == p->max_leaf_nodes) || (p->max_depth > 0 && depth == p->max_depth)) {
        bool all = p->max_leaf_nodes > 0 && n_leaves == p->max_leaf_nodes;
        finalize_leaf(g, l), finalize_leaf(g, r);
        hist_give(g, parent_hist);
        if (all)
            while (g->n_heap) finalize_leaf(g, &g->nodes[heap_pop(g)]);
        return 0;
    }
    if (l->stop - l->start < 2 * p->min_samples_leaf) finalize_leaf(g, l);
    if (r->stop - r->start < 2 * p->min_samples_leaf) finalize_leaf(g, r);
    if (l->is_leaf && r->is_leaf) {
        hist_give(g, parent_hist);
        return 0;
    }
    bool left_small = l->stop - l->start < r->stop - r->start;
    gnode *small = left_small ? l : r, *big = left_small ? r : l;
    int slot = hist_take(g);
    if (slot < 0) return oom();
    small->hist = slot;
    build_hist(g, g->pool[slot], small, grad, hess, false);
    subtract_hist(g->pool[parent_hist], g->pool[slot], g->d * g->nbins);
    big->hist = parent_hist;
    if (small->is_leaf) hist_give(g, small->hist), small->hist = -1;
    if (big->is_leaf) hist_give(g, big->hist), big->hist = -1;
    if (!l->is_leaf) split_or_leaf(g, L);
    if (!g->nodes[R].is_leaf) split_or_leaf(g, R);
    return 0;
}

static int reserve_nodes(ml_hgb_model *m, int64_t more) {
    if (m->n_nodes + more > m->nodes_cap) {
        int64_t cap = m->nodes_cap ? m->nodes_cap : 1024;
        while (cap < m->n_nodes + more) cap *= 2;
        double *nn = realloc(m->nodes, sizeof *nn * ML_HGB_NODE_COLS * cap);
        if (!nn) return -1;
        m->nodes = nn, m->nodes_cap = cap;
    }
    if (m->n_trees + 2 > m->trees_cap) {
        int64_t cap = m->trees_cap ? 2 * m->trees_cap : 256;
        int64_t *nt = realloc(m->tree_start, sizeof *nt * cap);
        if (!nt) return -1;
        m->tree_start = nt, m->trees_cap = cap;
    }
    return 0;
}

/* Writes the grown tree into m in depth-first order (left first), as scikit-learn's predictor. */
static int emit_tree(ml_hgb_grower *g, ml_hgb_model *m) {
    if (reserve_nodes(m, g->n_nodes) < 0) return oom();
    int64_t base = m->n_nodes;
    if (m->n_trees == 0) m->tree_start[0] = 0;
    int *stack = g->heap; /* free now: the heap is empty */
    int *slot = malloc(sizeof *slot * g->n_nodes);
    if (!slot) return oom();
    int top = 0, next = 0;
    stack[top++] = 0;
    while (top) { /* preorder numbering */
        int id = stack[--top];
        slot[id] = next++;
        gnode *nd = &g->nodes[id];
        if (!nd->is_leaf) stack[top++] = nd->right, stack[top++] = nd->left;
    }
    for (int id = 0; id < g->n_nodes; id++) {
        gnode *nd = &g->nodes[id];
        double *row = m->nodes + (base + slot[id]) * ML_HGB_NODE_COLS;
        if (nd->is_leaf) {
            row[HGB_FEATURE] = -1, row[HGB_THRESHOLD] = 0, row[HGB_LEFT] = row[HGB_RIGHT] = -1;
            row[HGB_MISSING_LEFT] = 0, row[HGB_VALUE] = nd->value, row[HGB_BIN] = 0;
        } else {
            int f = nd->feature;
            row[HGB_FEATURE] = f;
            row[HGB_THRESHOLD] = nd->bin == g->b->n_bins_non_missing[f] - 1
                                     ? INFINITY /* a split on NaN: every value left, the missing right */
                                     : g->b->thresholds[(int64_t)f * (g->b->max_bins - 1) + nd->bin];
            row[HGB_LEFT] = slot[nd->left], row[HGB_RIGHT] = slot[nd->right];
            row[HGB_MISSING_LEFT] = nd->missing_left, row[HGB_VALUE] = nd->value, row[HGB_BIN] = nd->bin;
        }
    }
    free(slot);
    m->n_nodes += g->n_nodes;
    m->n_trees++;
    m->tree_start[m->n_trees] = m->n_nodes;
    return 0;
}

/* Absolute error: a leaf's value is the median residual of its rows (scikit-learn's _update_leaves_values). */
static int median_leaves(ml_hgb_grower *g, const double *y, const double *w, const double *raw, int64_t stride) {
    double *v = malloc(sizeof *v * g->n), *vw = w ? malloc(sizeof *vw * g->n) : NULL;
    if (!v || (w && !vw)) return free(v), free(vw), oom();
    for (int id = 0; id < g->n_nodes; id++) {
        gnode *nd = &g->nodes[id];
        if (!nd->is_leaf) continue;
        int64_t m = 0;
        for (int64_t k = nd->start; k < nd->stop; k++, m++) {
            int64_t i = g->part[k];
            v[m] = y[i] - raw[i * stride];
            if (w) vw[m] = w[i];
        }
        nd->value = m ? ml_hgb_median(v, vw, m) : 0;
    }
    free(v), free(vw);
    return 0;
}

int ml_hgb_grow(ml_hgb_grower *g, ml_hgb_model *m, const float *grad, const float *hess, double *raw, int64_t stride,
                const double *abs_y, const double *w) {
    const ml_hgb_params *p = g->p;
    int64_t n = g->n;
    g->n_nodes = 0, g->n_heap = 0, g->n_leaves_final = 0;
    for (int64_t i = 0; i < n; i++) g->part[i] = (uint32_t)i;
    double G = 0, H = 0;
    for (int64_t i = 0; i < n; i++) G += grad[i];
    if (g->const_hessian) H = (double)hess[0] * n;
    else
        for (int64_t i = 0; i < n; i++) H += hess[i];
    int root = new_node(g, 0, n, G, H, 0, 0);
    if (root < 0) return oom();
    bool leaf = n < 2 * p->min_samples_leaf || H < MIN_HESSIAN_TO_SPLIT || p->max_leaf_nodes == 1;
    if (leaf) finalize_leaf(g, &g->nodes[root]);
    else {
        int slot = hist_take(g);
        if (slot < 0) return oom();
        g->nodes[root].hist = slot;
        build_hist(g, g->pool[slot], &g->nodes[root], grad, hess, true);
        split_or_leaf(g, root);
    }
    while (g->n_heap)
        if (split_next(g, grad, hess) < 0) return -1;
    if (abs_y && median_leaves(g, abs_y, w, raw, stride) < 0) return -1;
    double lr = p->learning_rate;
    for (int id = 0; id < g->n_nodes; id++) { /* shrinkage, and the training rows' raw predictions */
        gnode *nd = &g->nodes[id];
        if (!nd->is_leaf) continue;
        nd->value *= lr;
        double v = nd->value;
        for (int64_t k = nd->start; k < nd->stop; k++) raw[(int64_t)g->part[k] * stride] += v;
    }
    return emit_tree(g, m);
}
