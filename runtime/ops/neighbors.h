/* Brute-force nearest neighbours: for each query row, the k reference rows
 * nearest in Euclidean distance, as scikit-learn's
 * NearestNeighbors(algorithm="brute") finds them.
 *
 * Candidates are ranked by |r|^2 - 2 q.r (the squared distance less |q|^2,
 * which orders a query's candidates the same), one matrix product per tile
 * (ml_sgemm / ml_dgemm), over blocks of query rows and
 * tiles of reference rows, so memory stays bounded (one tile per thread)
 * whatever m and n are. Each query row keeps its k best in a max-heap; ties
 * go to the lower reference index. The k found are then ordered by their
 * exact distance sqrt(sum (q - r)^2), recomputed directly (no cancellation),
 * ties again by index. Query blocks run in parallel (ml_parallel_for, the
 * threads knob); the products inside run on one thread each.
 *
 * The NaN-aware part is scikit-learn's nan_euclidean distance and its
 * KNNImputer transform.
 *
 * Nothing here knows about Lua. Functions return 0, or -1 with ml_error. */
#ifndef ML_OPS_NEIGHBORS_H
#define ML_OPS_NEIGHBORS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t k;           /* neighbours per query row: 1 <= k <= the candidates of every row */
    int64_t index_base;  /* idx values and skip values count from this (0 in C, 1 for moonlab's Lua) */
    const int64_t *skip; /* [m] or NULL: reference row skip[i] is no candidate of query i (index_base - 1: none) */
    bool skip_same;      /* query i skips reference row i (the queries are the reference rows themselves) */
    int p;               /* the Minkowski power: 2 (or 0, the default) Euclidean, 1 Manhattan (direct sums, no product) */
} ml_knn_opts;

/* idx [m, k]: the nearest reference rows of each query row, nearest first.
 * dist [m, k] or NULL: their Euclidean distances.
 * Q [m, d] and R [n, d] contiguous, finite (NaN or infinity: undefined order). */
int ml_knn_f32(int64_t *idx, float *dist, const float *Q, const float *R, int64_t m, int64_t n, int64_t d,
               const ml_knn_opts *opts);
int ml_knn_f64(int64_t *idx, double *dist, const double *Q, const double *R, int64_t m, int64_t n, int64_t d,
               const ml_knn_opts *opts);

/* scikit-learn's nan_euclidean_distances: D [m, n], D(i, j) =
 * sqrt(d / p * sum over the p coordinates present in both rows of (x - y)^2),
 * NaN when p = 0. X [m, d], Y [n, d] contiguous, NaN = missing. */
/* The kNN estimators' aggregation over idx [m, k] (1-based rows of the fitted
 * data, from ml_knn_*), weighted uniformly (dist NULL) or by 1 / dist [m, k]
 * as scikit-learn's _get_weights: a row with neighbours at distance 0 counts
 * those alone, with weight 1.
 * vote: proba [m, K] the weighted share of each class among the neighbours, codes [n] in 1..K.
 * average: out [m, t] the weighted mean of Y [n, t] over the neighbours. */
int ml_knn_vote_f64(double *proba, const int64_t *idx, const double *dist, const int64_t *codes, int64_t m, int64_t k, int64_t K);
int ml_knn_average_f64(double *out, const int64_t *idx, const double *dist, const double *Y, int64_t m, int64_t k, int64_t t);

int ml_nan_euclidean_f64(double *D, const double *X, const double *Y, int64_t m, int64_t n, int64_t d);

/* KNNImputer's transform (scikit-learn 1.2): each NaN of X [m, d] in a
 * column c with fit_valid[c] is replaced, in place, by the mean of column c
 * over the k rows of F [n, d] (the fitted data) nearest to the row by
 * nan_euclidean distance among those where F(., c) is present (all of them
 * when fewer), weighted by 1 / distance when distance_weights (rows at
 * distance 0 alone, when there are any; a NaN distance weighs 0); by
 * fit_mean[c] when the row's distance to every such donor is NaN. Columns
 * without fit_valid are left as they are. Rows run in parallel. */
int ml_knn_impute_f64(double *X, int64_t m, const double *F, int64_t n, int64_t d, int64_t k, bool distance_weights,
                      const double *fit_mean, const bool *fit_valid);

#endif
