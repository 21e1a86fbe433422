/* Decision trees: the split search, depth-first and best-first growing, and
 * prediction, for ml.models' DecisionTree, RandomForest and ExtraTrees
 * (scikit-learn 1.2's tree semantics).
 *
 * The split search is sort-based, as scikit-learn's BestSplitter, but sorts
 * integer keys instead of floats: ml_tree_data_init ranks every column once
 * per fit (shared by all trees of a forest), and a node sorts its rows by
 * (rank << 32 | row) with an LSD radix sort on the rank's bits (one pass
 * of 11 bits per 2,048 distinct values) or, for small nodes, an insertion /
 * quick sort. A histogram of ranks would lose exactness once a node is
 * smaller than its feature's distinct values; presorted index lists would
 * cost all d features per node when max_features draws a few.
 *
 * X is float32 as in scikit-learn (thresholds halfway between two sorted
 * float32 values, kept in double), y class codes 0..K-1 or float64
 * targets [n, t]. Nothing here knows about Lua. */
#ifndef ML_OPS_TREE_H
#define ML_OPS_TREE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { ML_TREE_GINI = 0, ML_TREE_ENTROPY, ML_TREE_SQUARED_ERROR } ml_tree_criterion;

typedef struct {
    ml_tree_criterion criterion;
    bool random_splitter;           /* ExtraTrees: one uniform threshold per drawn feature */
    int64_t max_depth;              /* < 0: unlimited */
    int64_t min_samples_split;      /* >= 2 */
    int64_t min_samples_leaf;       /* >= 1 */
    double min_weight_fraction_leaf; /* of the tree's total sample weight */
    int64_t max_features;           /* 1..d features drawn per node */
    int64_t max_leaf_nodes;         /* <= 0: unlimited (depth-first); else best-first */
    double min_impurity_decrease;
} ml_tree_params;

/* What every tree of a fit reads; ml_tree_data_init fills the derived parts. */
typedef struct {
    int64_t n, d;
    const int64_t *y_code; /* (n) class codes 0..K-1, or NULL for regression */
    int64_t n_classes;
    const double *y;       /* (n, n_outputs) targets, or NULL for classification */
    int64_t n_outputs;
    /* derived (owned) */
    float *Xc;             /* (d, n) X column-major */
    uint32_t *rank;        /* (d, n) dense rank of X[i, f] among column f's distinct values */
    float *distinct;       /* (d, n) column f's distinct values ascending, at distinct[f * n + r] */
    int64_t *n_distinct;   /* (d) */
    uint16_t *rank16;      /* (d, n) the ranks in 16 bits when no column has more than 65,536 distinct values, else NULL:
                            * the split search gathers a node's ranks from it (half the cache lines) */
    uint64_t *close;       /* (d, close_words) bit r of column f: distinct value r + 1 is within 1e-7 of value r (one
                            * value to the split search); such pairs are rare, so the search reads the values only then */
    int64_t close_words;
} ml_tree_data;

/* A grown tree in growable 0-based arrays (children -1 at leaves, feature -1). */
typedef struct {
    int64_t n_nodes, capacity, n_values, max_depth;
    int64_t *left, *right, *feature, *n_samples;
    double *threshold, *impurity, *weighted_n;
    double *value; /* (capacity, n_values): weighted class counts, or target means */
} ml_tree;

/* Fills D's derived arrays from X (n, d) row-major float32: -1 (message set) on allocation failure or NaN/inf. */
int ml_tree_data_init(ml_tree_data *D, const float *X);
void ml_tree_data_free(ml_tree_data *D);
void ml_tree_free(ml_tree *t);

/* Grows one tree on the rows with w[i] > 0 (w (n), NULL = all ones), randomness from seed. */
int ml_tree_fit(ml_tree *out, const ml_tree_data *D, const double *w, const ml_tree_params *p, uint64_t seed);

typedef struct {
    bool bootstrap;
    int64_t max_samples;         /* rows drawn per tree with bootstrap */
    bool balanced_subsample;     /* class weights from each tree's bootstrap draw */
    const double *sample_weight; /* (n) or NULL; class weights of "balanced"/dicts already folded in */
} ml_forest_opts;

/* Grows n_trees trees on `threads` threads (OpenMP over trees), tree t from seeds[t], so the forest
 * does not depend on the thread count. inbag (n_trees, n) or NULL receives each row's bootstrap count. */
int ml_forest_fit(ml_tree *trees, int64_t n_trees, const ml_tree_data *D, const ml_forest_opts *o, const ml_tree_params *p,
                  const uint64_t *seeds, int threads, uint16_t *inbag);

/* A fitted forest (or one tree) in flat arrays as the Lua side stores them: tree t's nodes are
 * [offsets[t], offsets[t+1]); children are 1-based node ids within the tree (0 at leaves),
 * feature 1-based (0 at leaves). value (nodes, n_values). */
typedef struct {
    const int64_t *left, *right, *feature, *offsets;
    const double *threshold, *value;
    int64_t n_trees, n_values;
} ml_forest_view;

/* Both return -1 (message set) when out of memory.
 * leaf (n, n_trees): 1-based leaf node ids within each tree, of the rows of X (n, d) float32 row-major. */
int ml_forest_apply(int64_t *leaf, const ml_forest_view *f, const float *X, int64_t n, int64_t d);
/* out (n, n_values): the mean over trees of each leaf's value, normalized to sum 1 per tree when
 * normalize (class probabilities). With inbag (n_trees, n), row i skips the trees t with inbag[t * n + i]
 * != 0 (out-of-bag predictions) and count (n) receives how many trees each row used (count NULL: all). */
int ml_forest_predict(double *out, double *count, const ml_forest_view *f, const float *X, int64_t n, int64_t d,
                       bool normalize, const uint16_t *skip_inbag);
/* importances (d): impurity decrease per feature of tree t (0-based), normalized to sum 1 (zeros for a stump). */
void ml_tree_importances(double *imp, const ml_forest_view *f, const double *impurity, const double *weighted_n, int64_t t,
                         int64_t d);

#endif
