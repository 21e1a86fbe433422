/* Fused layer normalization (norm.c). */
#ifndef ML_NORM_H
#define ML_NORM_H

#include "../tensor/tensor.h"

/* Layer norm over the last k dimensions of x (1 <= k <= ndim), as
 * PyTorch's F.layer_norm: each of the M = numel / D rows of D = prod(last k
 * sizes) elements becomes
 *   y = (x - mean) * rstd * weight + bias,   rstd = 1 / sqrt(var + eps)
 * with the biased variance. weight and bias (each may be NULL) hold D
 * elements of x's dtype (any shape with that many elements; the binding
 * checks it is x's last k sizes). Records its backward rule (inputs x,
 * weight, bias). When mean / rstd are not NULL they receive the per-row
 * statistics, shape (M), x's dtype (new references). */
ml_tensor *ml_layer_norm(ml_tensor *x, int k, ml_tensor *weight, ml_tensor *bias, double eps, ml_tensor **mean,
                         ml_tensor **rstd);

#endif
