/* The kernels behind ml.metrics: label values to codes, confusion counts,
 * and the sorted cumulative counts behind ROC, precision-recall and average
 * precision (scikit-learn's _binary_clf_curve), each one pass or one sort
 * over the n samples.
 *
 * Codes are 1..K (moonlab's labels); code 0 means "not one of the classes".
 * Nothing here knows about Lua. Functions return 0, or -1 with ml_error. */
#ifndef ML_OPS_METRICS_H
#define ML_OPS_METRICS_H

#include <stdbool.h>
#include <stdint.h>

/* classes [na + nb] (capacity): the sorted distinct values of a [na] and b [nb] (b may be NULL);
 * *k their number. Small integer ranges go through a presence table (one pass), others a sort. */
int ml_label_unique_i64(int64_t *classes, int64_t *k, const int64_t *a, int64_t na, const int64_t *b, int64_t nb);
/* The same for float64 values (NaN: an error naming its position); -0.0 is 0.0. */
int ml_label_unique_f64(double *classes, int64_t *k, const double *a, int64_t na, const double *b, int64_t nb);

/* codes [n]: the 1-based position of y[i] in the sorted classes [k], 0 when absent;
 * *first_unseen the first such i (0-based), -1 when every value is a class. */
int ml_label_codes_i64(int64_t *codes, int64_t *first_unseen, const int64_t *y, int64_t n, const int64_t *classes, int64_t k);
int ml_label_codes_f64(int64_t *codes, int64_t *first_unseen, const double *y, int64_t n, const double *classes, int64_t k);

/* C [k, k] (overwritten): C(t, p) = the summed weight w (1 each when w is NULL) of the samples with
 * true code t and predicted code p. Codes outside 1..k: an error. */
int ml_confusion_counts(double *C, const int64_t *true_codes, const int64_t *pred_codes, const double *w, int64_t n, int64_t k);

/* tp, pred, truth [k] (overwritten): per class, the summed weight of the samples predicted right, of those
 * predicted as it, and of those truly of it, each summed in sample order (numpy's bincount, which
 * scikit-learn's multilabel_confusion_matrix uses). Codes outside 1..k: an error. */
int ml_class_sums(double *tp, double *pred, double *truth, const int64_t *true_codes, const int64_t *pred_codes, const double *w,
                  int64_t n, int64_t k);

/* One sample of the sort behind the curves (the scratch of ml_binary_clf_curve). */
typedef struct {
    uint64_t key; /* the score, as a key whose ascending order is the scores' descending one */
    uint32_t idx; /* the sample (n < 2^32) */
    uint32_t pos; /* whether it is positive */
} ml_curve_item;
#define ML_CURVE_MAX_N 4294967295LL

/* scikit-learn's _binary_clf_curve: the samples sorted by score, descending, ties grouped; for each
 * distinct score s (descending), fps/tps = the weight of negatives/positives scoring >= s, thr = s.
 * fps, tps, thr [n] (capacity), *m the number of distinct scores; scratch [2 n] (a caller's buffer, so a
 * cached block can be reused). score [n] finite; pos [n]: positive or not; w [n] or NULL (samples of
 * weight 0 are left out, as scikit-learn does); n <= ML_CURVE_MAX_N. One LSD radix sort (stable). */
int ml_binary_clf_curve(double *fps, double *tps, double *thr, int64_t *m, ml_curve_item *scratch, const double *score,
                        const bool *pos, const double *w, int64_t n);
/* roc_curve's drop_intermediate, in place: keeps the first and last points and those where fps or tps
 * bends (a non-zero second difference); *m shrinks. */
void ml_curve_drop_intermediate(double *fps, double *tps, double *thr, int64_t *m);
/* The area under the ROC curve through (0, 0) and (fps[i]/fps[m-1], tps[i]/tps[m-1]) (trapezoids). */
double ml_curve_roc_auc(const double *fps, const double *tps, int64_t m);
/* average_precision_score: sum over the points of (recall step) * precision, precision 0 where no
 * sample scores above the threshold, recall 1 everywhere when there are no positives. */
double ml_curve_average_precision(const double *fps, const double *tps, int64_t m);

#endif
