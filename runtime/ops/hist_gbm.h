/* Histogram gradient boosting, scikit-learn's _hist_gradient_boosting
 * algorithm (1.2): features binned into at most max_bins quantile bins plus
 * one bin for missing values (uint8, feature-major), per-node gradient and
 * hessian histograms with the subtraction trick (sibling = parent - child),
 * best-first growth up to max_leaf_nodes / max_depth / min_samples_leaf,
 * the l2-regularized gain, shrinkage, and early stopping on a validation set.
 *
 *   hist_gbm_bin.c      the bin thresholds (quantile midpoints) and the mapping to bins
 *   hist_gbm_tree.c     histograms, the split search and one tree's growth
 *   hist_gbm.c          the boosting loop (losses, gradients, early stopping) and prediction
 *
 * A fitted model is a flat array of nodes, ML_HGB_NODE_COLS doubles each
 * (see ml_hgb_col), trees one after another (tree t's nodes start at
 * tree_start[t], child indices count from the tree's first node); tree t
 * adds to output t % n_outputs. Prediction on raw values compares with the
 * numeric thresholds: x <= threshold goes left, NaN goes where the split
 * learned (missing_left).
 *
 * Threads: histograms run in parallel over features, gradients, losses and
 * prediction over rows (OpenMP, the ml.threads knob). Nothing here knows
 * about Lua. Functions return 0, or -1 with ml_error. */
#ifndef ML_OPS_HIST_GBM_H
#define ML_OPS_HIST_GBM_H

#include <stdbool.h>
#include <stdint.h>

/* The columns of a node row. A leaf has feature -1. */
enum ml_hgb_col { HGB_FEATURE, HGB_THRESHOLD, HGB_LEFT, HGB_RIGHT, HGB_MISSING_LEFT, HGB_VALUE, HGB_BIN, ML_HGB_NODE_COLS };

typedef enum { ML_HGB_SQUARED_ERROR, ML_HGB_ABSOLUTE_ERROR, ML_HGB_LOG_LOSS } ml_hgb_loss;

/* The bin mapper: thresholds [d, max_bins - 1] (row j: feature j's increasing
 * thresholds, its first n_bins_non_missing[j] - 1 used), the missing bin is max_bins. */
typedef struct {
    int max_bins;                /* 2..255 */
    int64_t d;                   /* features */
    double *thresholds;          /* [d, max_bins - 1] */
    int32_t *n_bins_non_missing; /* [d] */
} ml_hgb_binner;

/* Fits the thresholds on the rows of X float64 [n, d] (row-major; NaN is
 * missing): a feature with at most max_bins distinct values gets the
 * midpoints between them, else the max_bins-quantile midpoints (numpy's
 * percentile, method "midpoint"), capped at 1e300. When n > subsample, a
 * seeded subsample of that many rows (without replacement) is used. */
int ml_hgb_bin_fit(ml_hgb_binner *b, const double *X, int64_t n, int64_t d, int max_bins, int64_t subsample, uint64_t seed);
void ml_hgb_binner_free(ml_hgb_binner *b);
/* Xb [d, n] (feature-major): the bin of each value; NaN -> max_bins. */
int ml_hgb_bin_map(uint8_t *Xb, const ml_hgb_binner *b, const double *X, int64_t n);

typedef struct {
    ml_hgb_loss loss;
    int n_outputs;            /* trees per iteration: 1, or K > 2 classes (softmax) with ML_HGB_LOG_LOSS */
    double learning_rate;
    int64_t max_iter;
    int64_t max_leaf_nodes;   /* 0: no limit */
    int64_t max_depth;        /* 0: no limit (edges from the root) */
    int64_t min_samples_leaf;
    double l2_regularization;
    bool early_stopping;      /* on the validation rows when there are any, else on the training loss */
    int64_t n_iter_no_change;
    double tol;
} ml_hgb_params;

/* What ml_hgb_fit grows (heap arrays, ml_hgb_model_free releases them). */
typedef struct {
    double *nodes;            /* [n_nodes, ML_HGB_NODE_COLS] */
    int64_t n_nodes, nodes_cap;
    int64_t *tree_start;      /* [n_trees + 1] */
    int64_t n_trees, trees_cap;
    double baseline[256];     /* [n_outputs] the raw prediction before the first tree */
    int n_outputs;
    int64_t n_iter;
    double *train_score, *val_score; /* [n_scores]: -loss before the first tree and after each iteration (early stopping) */
    int64_t n_scores;
} ml_hgb_model;

/* Boosts on the binned training rows Xb [d, n] (ml_hgb_bin_map) with targets
 * y [n] (regression: values; classification: class codes 0..K-1 as doubles)
 * and weights w [n] or NULL. Xv [d, nv], yv, wv: the validation rows (nv = 0:
 * none). The binner tells the thresholds and which bins are non-missing. */
int ml_hgb_fit(ml_hgb_model *m, const ml_hgb_params *p, const ml_hgb_binner *b, const uint8_t *Xb, int64_t n, const double *y,
               const double *w, const uint8_t *Xv, int64_t nv, const double *yv, const double *wv);
void ml_hgb_model_free(ml_hgb_model *m);

/* raw [n, n_outputs] += the sum of trees [0, n_trees) on X float64 [n, d] (row-major, NaN missing). */
void ml_hgb_predict_raw(double *raw, const double *X, int64_t n, int64_t d, const double *nodes, const int64_t *tree_start,
                        int64_t n_trees, int n_outputs);

/* ---- internal: shared by the files of hist_gbm ---- */

/* One histogram bin: sums of gradients and hessians, and the row count. */
typedef struct {
    double g, h;
    int64_t n;
} ml_hgb_bin;

/* The tree grower's working set, reused for every tree of a fit. */
typedef struct ml_hgb_grower ml_hgb_grower;
ml_hgb_grower *ml_hgb_grower_new(const ml_hgb_params *p, const ml_hgb_binner *b, const uint8_t *Xb, int64_t n, bool const_hessian);
void ml_hgb_grower_free(ml_hgb_grower *g);
/* Grows one tree on gradients g [n] and hessians h [n] (float32, as
 * scikit-learn), appends it to m, and adds its leaf values to raw[i * stride]
 * for every training row. abs_y [n] (absolute error) or NULL: each leaf's
 * value becomes the (w-weighted) median of abs_y - raw over its rows, shrunk. */
int ml_hgb_grow(ml_hgb_grower *gr, ml_hgb_model *m, const float *g, const float *h, double *raw, int64_t stride,
                const double *abs_y, const double *w);
/* The (weighted) median of v [n] (reordered); w NULL: numpy's median, else scikit-learn's _weighted_percentile(50). */
double ml_hgb_median(double *v, double *w, int64_t n);
/* An error message when the nodes [n_nodes, ML_HGB_NODE_COLS] and tree_start [n_trees + 1]
 * do not form trees over d features (a damaged file), else NULL. */
const char *ml_hgb_check_trees(const double *nodes, int64_t n_nodes, const int64_t *tree_start, int64_t n_trees, int64_t d);

#endif
