/* 2-D pooling (pool.c): max (with the argmax indices), average and the
 * adaptive forms, forward and backward, over x (N, C, H, W) -> (N, C, OH, OW).
 * The 1-D layers are the H = 1 case. Output sizes follow PyTorch:
 *   OH = floor_or_ceil((H + 2 pad - dil (k - 1) - 1) / stride) + 1,
 * and with ceil_mode the last window must start inside the input or the
 * left padding. Adaptive windows: [floor(i H / OH), ceil((i + 1) H / OH)). */
#ifndef ML_OPS_POOL_H
#define ML_OPS_POOL_H

#include <stdbool.h>

#include "../tensor/tensor.h"

typedef struct {
    int kernel[2], stride[2], pad[2], dil[2]; /* h, w; dilation is max pooling's only */
    bool ceil_mode;
    bool count_include_pad; /* average: divide by the window size including the padding */
} ml_pool_opts;

/* Max pooling; *indices (when not NULL) gets the 0-based flat position
 * (ih * W + iw) of each maximum in its plane, int64, shape of y. NaN wins. */
ml_tensor *ml_max_pool2d(ml_tensor *x, const ml_pool_opts *o, ml_tensor **indices);
ml_tensor *ml_avg_pool2d(ml_tensor *x, const ml_pool_opts *o);
/* Adaptive average (max = false) or max pooling to (OH, OW). */
ml_tensor *ml_adaptive_pool2d(ml_tensor *x, int64_t OH, int64_t OW, bool max, ml_tensor **indices);

/* The output size of one dimension, or -1 when the window does not fit. */
int64_t ml_pool_out_size(int64_t in, int k, int stride, int pad, int dil, bool ceil_mode);

#endif
