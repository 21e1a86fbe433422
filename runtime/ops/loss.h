/* Fused losses (loss.c): cross-entropy on logits, negative log-likelihood on
 * log-probabilities, and binary cross-entropy on logits. Each returns a new
 * tensor (the per-element losses for ML_REDUCE_NONE, else a 0-d tensor) or
 * NULL with ml_error set, and records its backward rule on the tape when the
 * input requires grad. Class weights and pos_weight are not differentiated.
 *
 * Class targets are 0-based int64 here; the Lua binding converts moonlab's
 * 1-based labels. A target equal to ignore_index contributes nothing (and
 * nothing to the weight sum that "mean" divides by); any other target
 * outside [0, C) is an error. Pass ML_NO_IGNORE for none. */
#ifndef ML_LOSS_H
#define ML_LOSS_H

#include "../tensor/tensor.h"

typedef enum { ML_REDUCE_NONE = 0, ML_REDUCE_MEAN, ML_REDUCE_SUM } ml_reduction;

#define ML_NO_IGNORE INT64_MIN

/* Cross-entropy of softmax(logits) along dim 1 (0-based) against class
 * indices, as PyTorch's F.cross_entropy:
 *   logits (N, C) or (N, C, d1, ...), float; target (N) or (N, d1, ...), int64;
 *   weight (C) of logits' dtype, or NULL.
 *   loss_i = (1 - eps) * w[y_i] * (lse_i - x_i[y_i]) + eps / C * sum_c w[c] * (lse_i - x_i[c])
 * "mean" divides the sum by sum_i w[y_i] over the targets not ignored. */
ml_tensor *ml_cross_entropy(ml_tensor *logits, ml_tensor *target, ml_tensor *weight, double label_smoothing,
                            int64_t ignore_index, ml_reduction red);

/* Cross-entropy against class probabilities q shaped like the logits
 * (PyTorch's soft targets; mixup and cutmix labels):
 *   q' = (1 - eps) q + eps / C,  loss_i = sum_c w[c] q'_c (lse_i - x_ic)
 * probs has the logits' shape and dtype; weight (C) or NULL. Every lane
 * weighs 1 ("mean" divides by N * d1 * ..., as PyTorch). Differentiable in
 * the logits and in probs. */
ml_tensor *ml_cross_entropy_soft(ml_tensor *logits, ml_tensor *probs, ml_tensor *weight, double label_smoothing,
                                 ml_reduction red);

/* Negative log-likelihood on log-probabilities (PyTorch's F.nll_loss):
 *   loss_i = -w[y_i] * logp_i[y_i], shapes and "mean" as ml_cross_entropy. */
ml_tensor *ml_nll_loss(ml_tensor *logp, ml_tensor *target, ml_tensor *weight, int64_t ignore_index, ml_reduction red);

/* Binary cross-entropy on logits, stable for any x (PyTorch's
 * F.binary_cross_entropy_with_logits):
 *   loss = w * ((1 - y) * x + (1 + (pw - 1) * y) * softplus(-x)),
 *   softplus(-x) = max(-x, 0) + log1p(exp(-|x|))
 * x and y have one shape and dtype; weight and pos_weight (either may be
 * NULL) broadcast to it. Differentiable in x and y. "mean" divides by numel. */
ml_tensor *ml_bce_with_logits(ml_tensor *x, ml_tensor *y, ml_tensor *weight, ml_tensor *pos_weight, ml_reduction red);

/* Binary cross-entropy on probabilities x in [0, 1] (PyTorch's
 * F.binary_cross_entropy), logs clamped at -100 as PyTorch does:
 *   loss = -w (y max(log x, -100) + (1 - y) max(log(1 - x), -100))
 *   d/dx = w (x - y) / max(x (1 - x), 1e-12),  d/dy = w (max(log(1 - x), -100) - max(log x, -100))
 * Shapes as ml_bce_with_logits; the binding checks the range of x. */
ml_tensor *ml_bce(ml_tensor *x, ml_tensor *y, ml_tensor *weight, ml_reduction red);

/* Squared error (PyTorch's F.mse_loss): loss = (x - y)^2, x and y of one
 * shape and float dtype; differentiable in both. "mean" divides by numel. */
ml_tensor *ml_mse_loss(ml_tensor *x, ml_tensor *y, ml_reduction red);
/* Its kernel on contiguous arrays of dtype dt (n each; d2 may not alias):
 * d2 = 2 (x - y), returns sum (x - y)^2 in ml_mse_loss's order. */
double ml_mse_raw(ml_dtype dt, const void *x, const void *y, void *d2, int64_t n);

/* The fused training step's forms of two more (train_step.c), on contiguous
 * arrays of dtype dt, in the order of the tensor functions above:
 * cross-entropy of (N, C) logits x against 0-based y (N), no weight,
 * smoothing or ignored class: grad (N, C) = d loss_i / d x (unscaled),
 * lanes (2N) scratch; returns the sum of the row losses, *wsum the rows'
 * weight sum (mean's divisor). BCE on logits, no weights: dx (n) unscaled;
 * returns the sum of the losses. */
double ml_cross_entropy_raw(ml_dtype dt, const void *x, const int64_t *y, int64_t N, int64_t C, void *grad,
                            double *lanes, double *wsum);
double ml_bce_with_logits_raw(ml_dtype dt, const void *x, const void *y, void *dx, int64_t n);

#endif
