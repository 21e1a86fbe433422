/* Batch normalization in training mode over (N, C, P) (batch_norm.c): one
 * pass for the statistics and one for the output, per channel in parallel,
 * instead of the six reductions and five elementwise ops of the composed
 * form. BatchNorm2d passes (N, C, H*W); BatchNorm1d's (N, C, L) fits too. */
#ifndef ML_OPS_BATCH_NORM_H
#define ML_OPS_BATCH_NORM_H

#include "../tensor/tensor.h"

/* y = (x - mean_c) * rstd_c * weight_c + bias_c with the batch mean and
 * biased variance of channel c over N and P; rstd = 1 / sqrt(var + eps).
 * x (N, C, P) float; weight, bias (C) or NULL. Records its backward
 * (inputs x, weight, bias). *mean and *var (new references, (C), detached)
 * get the batch mean and the biased variance, for the running averages. */
ml_tensor *ml_batch_norm_train(ml_tensor *x, ml_tensor *weight, ml_tensor *bias, double eps, ml_tensor **mean,
                               ml_tensor **var);

#endif
